//! GS1 EPCIS 2.0 export: the log's events as EPCIS events of a JSON-LD `EPCISDocument`, with
//! the business steps, dispositions, business transaction types and source/destination types
//! of CBV 2.0. Pure: the caller reads the store, resolves what an event does not carry itself
//! ([`Facts`]) and passes the creation time; nothing here does I/O or reads the clock.
//!
//! Identifiers. A unit whose item has a GTIN and whose serial is a valid GS1 AI (21) value is
//! an SGTIN, written as a canonical GS1 Digital Link URI (`https://id.gs1.org/01/{gtin}/21/
//! {serial}`); an SSCC is `https://id.gs1.org/00/{sscc}`. The EPC URN form
//! (`urn:epc:id:sgtin:...`) is not written: it needs the length of the GS1 company prefix,
//! which a GTIN does not carry. Everything else (units without a GTIN, stations, locations,
//! customers, orders, shipments, receipts, RMAs) gets a URN in serialtrack's own namespace,
//! `urn:serialtrack:{kind}:{value}` with the value percent-encoded: see [`urn`].

use serde::Serialize;

use crate::barcode::digital_link::percent_encode;
use crate::barcode::element::validate_plain;
use crate::barcode::{Element, to_digital_link};
use crate::domain::time::format_rfc3339_ms;
use crate::domain::{Action, Event, Outcome, UnitState};

/// The JSON-LD context every EPCIS 2.0 document names.
pub const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld";
pub const SCHEMA_VERSION: &str = "2.0";
/// GS1 identifiers in EPCIS events are canonical Digital Link URIs on GS1's own domain.
pub const DIGITAL_LINK_BASE: &str = "https://id.gs1.org";
/// The prefix of every identifier outside GS1's.
pub const URN_PREFIX: &str = "urn:serialtrack:";
/// The log keeps UTC times only, so every event is said to happen at offset zero.
pub const TIME_ZONE_OFFSET: &str = "+00:00";
/// Between two events of the document's event list.
pub const EVENT_SEPARATOR: &str = ",\n";
/// What closes the event list and the document.
pub const DOCUMENT_TAIL: &str = "\n]}}\n";

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    ObjectEvent,
    AggregationEvent,
}

/// How an event relates to the life of its objects (EPCIS 2.0 section 7.3.2): ADD an identifier
/// is tied to its object for the first time, or children are packed into a parent; OBSERVE
/// neither; DELETE the object ends, or children are taken out.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum EpcisAction {
    Add,
    Observe,
    Delete,
}

/// The CBV 2.0 business steps the export uses.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BizStep {
    Commissioning,
    Receiving,
    Storing,
    Picking,
    Shipping,
    Holding,
    Inspecting,
    Destroying,
    Packing,
    Unpacking,
}

impl BizStep {
    pub const ALL: [BizStep; 10] = [
        BizStep::Commissioning,
        BizStep::Receiving,
        BizStep::Storing,
        BizStep::Picking,
        BizStep::Shipping,
        BizStep::Holding,
        BizStep::Inspecting,
        BizStep::Destroying,
        BizStep::Packing,
        BizStep::Unpacking,
    ];
}

/// The CBV 2.0 dispositions the export uses.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Active,
    SellableNotAccessible,
    InProgress,
    InTransit,
    Returned,
    NonSellableOther,
    Destroyed,
}

impl Disposition {
    pub const ALL: [Disposition; 7] = [
        Disposition::Active,
        Disposition::SellableNotAccessible,
        Disposition::InProgress,
        Disposition::InTransit,
        Disposition::Returned,
        Disposition::NonSellableOther,
        Disposition::Destroyed,
    ];

    /// What a unit in `state` is, for the events that leave the state as it was.
    pub fn of(state: UnitState) -> Disposition {
        match state {
            UnitState::Received | UnitState::Stored => Disposition::SellableNotAccessible,
            UnitState::Picked => Disposition::InProgress,
            UnitState::Dispatched => Disposition::InTransit,
            UnitState::Returned => Disposition::Returned,
            UnitState::Quarantined => Disposition::NonSellableOther,
            UnitState::Scrapped => Disposition::Destroyed,
            UnitState::Issued => Disposition::Active,
            UnitState::Voided => Disposition::Destroyed,
        }
    }
}

/// The CBV 2.0 business transaction types the export uses.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BizTransactionType {
    /// Our orders: what a customer ordered.
    Po,
    /// Our shipments, and goods-in receipts (an ASN is a despatch advice).
    Desadv,
    Rma,
}

impl BizTransactionType {
    pub const ALL: [BizTransactionType; 3] = [
        BizTransactionType::Po,
        BizTransactionType::Desadv,
        BizTransactionType::Rma,
    ];
}

/// The CBV 2.0 source/destination types the export uses.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceDestType {
    OwningParty,
    Location,
}

impl SourceDestType {
    pub const ALL: [SourceDestType; 2] = [SourceDestType::OwningParty, SourceDestType::Location];
}

/// A read point or business location.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Id {
    pub id: String,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BizTransaction {
    #[serde(rename = "type")]
    pub kind: BizTransactionType,
    pub biz_transaction: String,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Source {
    #[serde(rename = "type")]
    pub kind: SourceDestType,
    pub source: String,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Destination {
    #[serde(rename = "type")]
    pub kind: SourceDestType,
    pub destination: String,
}

/// Instance/lot master data a commissioning event carries (CBV 2.0 master data attributes).
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct Ilmd {
    #[serde(rename = "cbvmda:lotNumber", skip_serializing_if = "Option::is_none")]
    pub lot_number: Option<String>,
    #[serde(
        rename = "cbvmda:itemExpirationDate",
        skip_serializing_if = "Option::is_none"
    )]
    pub item_expiration_date: Option<String>,
}

/// One EPCIS event, its fields in the order the standard lists them.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct EpcisEvent {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub event_time: String,
    pub record_time: String,
    pub event_time_zone_offset: &'static str,
    #[serde(rename = "eventID")]
    pub event_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epc_list: Option<Vec<String>>,
    #[serde(rename = "parentID", skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    #[serde(rename = "childEPCs", skip_serializing_if = "Option::is_none")]
    pub child_epcs: Option<Vec<String>>,
    pub action: EpcisAction,
    pub biz_step: BizStep,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    pub read_point: Id,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_location: Option<Id>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub biz_transaction_list: Vec<BizTransaction>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_list: Vec<Source>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destination_list: Vec<Destination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ilmd: Option<Ilmd>,
}

/// What an event's serial, or a set's id, names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    /// A unit (a kit is a unit too), with its item's GTIN when it has one.
    Unit {
        serial: String,
        gtin: Option<String>,
    },
    /// A case or pallet named by its SSCC.
    Sscc(String),
}

impl Object {
    /// The object's EPC: an SGTIN or SSCC Digital Link URI, or else `urn:serialtrack:unit:...`.
    pub fn epc(&self) -> String {
        match self {
            Object::Unit {
                serial,
                gtin: Some(gtin),
            } => sgtin(gtin, serial).unwrap_or_else(|| urn("unit", serial)),
            Object::Unit { serial, gtin: None } => urn("unit", serial),
            Object::Sscc(sscc) => validate_plain("00", sscc, 1, 2000)
                .ok()
                .and_then(|()| to_digital_link(&[Element::new("00", sscc)], DIGITAL_LINK_BASE).ok())
                .unwrap_or_else(|| urn("unit", sscc)),
        }
    }
}

/// The SGTIN Digital Link URI of `serial` of `gtin`, when both are valid GS1 values (the
/// serial of AI 21 is 1 to 20 characters of GS1 set 82).
fn sgtin(gtin: &str, serial: &str) -> Option<String> {
    // The reference year only matters for date AIs.
    validate_plain("01", gtin, 1, 2000).ok()?;
    validate_plain("21", serial, 1, 2000).ok()?;
    to_digital_link(
        &[Element::new("01", gtin), Element::new("21", serial)],
        DIGITAL_LINK_BASE,
    )
    .ok()
}

/// `urn:serialtrack:{kind}:{value}`: every byte of the value but ASCII letters, digits and
/// `-._~` percent-encoded, so that any station, location or reference gives a valid URI and
/// two different values never give the same one.
pub fn urn(kind: &str, value: &str) -> String {
    let mut out = format!("{URN_PREFIX}{kind}:");
    percent_encode(value, &mut out);
    out
}

/// What an event does not carry itself, looked up by the caller in the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Facts {
    /// What the event's serial names.
    pub subject: Object,
    /// AGGREGATE and DISAGGREGATE: the set in the event's reference.
    pub parent: Option<Object>,
    /// RECEIVE: this receive created the unit (its first event).
    pub created_unit: bool,
    /// DISPATCH: the order the shipment is for.
    pub order_id: Option<String>,
    /// DISPATCH: the shipment's customer; RETURN: the customer the unit was sold to.
    pub customer: Option<String>,
}

impl Facts {
    pub fn new(subject: Object) -> Facts {
        Facts {
            subject,
            parent: None,
            created_unit: false,
            order_id: None,
            customer: None,
        }
    }
}

/// Why an event of the log is not in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeftOut {
    /// A rejected scan changed nothing: not a business event.
    Rejected,
    /// An AGGREGATE or DISAGGREGATE logged without its set (before the log kept it): an
    /// AggregationEvent cannot be written without its parent.
    WithoutSet,
}

/// What an accepted event of `action` is in EPCIS: the event type, its action, business step
/// and disposition. `created_unit`: the receive created the unit; `state`: the unit's state
/// after the event. The README has this as a table.
pub fn classify(
    action: Action,
    created_unit: bool,
    state: Option<UnitState>,
) -> (EventType, EpcisAction, BizStep, Option<Disposition>) {
    use BizStep::*;
    use Disposition::*;
    use EpcisAction::*;
    use EventType::*;
    match action {
        Action::Receive if created_unit => (ObjectEvent, Add, Commissioning, Some(Active)),
        Action::Receive => (ObjectEvent, Observe, Receiving, Some(SellableNotAccessible)),
        Action::Putaway => (ObjectEvent, Observe, Storing, Some(SellableNotAccessible)),
        Action::Pick => (ObjectEvent, Observe, Picking, Some(InProgress)),
        Action::Dispatch => (ObjectEvent, Observe, Shipping, Some(InTransit)),
        Action::Return => (ObjectEvent, Observe, Receiving, Some(Returned)),
        Action::Quarantine | Action::Block => {
            (ObjectEvent, Observe, Holding, Some(NonSellableOther))
        }
        Action::Scrap => (ObjectEvent, Delete, Destroying, Some(Destroyed)),
        // A block lifted after review: the unit is what its state says again.
        Action::Release => (ObjectEvent, Observe, Inspecting, state.map(Disposition::of)),
        Action::Aggregate => (AggregationEvent, Add, Packing, None),
        Action::Disaggregate => (AggregationEvent, Delete, Unpacking, None),
        // An issued serial is a commissioned EPC; a voided one's label was destroyed.
        Action::Issue => (ObjectEvent, Add, Commissioning, Some(Active)),
        Action::Void => (ObjectEvent, Delete, Destroying, Some(Destroyed)),
    }
}

/// The EPCIS event for one event of the log.
pub fn event(event: &Event, facts: &Facts) -> Result<EpcisEvent, LeftOut> {
    if event.outcome == Outcome::Rejected {
        return Err(LeftOut::Rejected);
    }
    let (kind, action, biz_step, disposition) =
        classify(event.action, facts.created_unit, event.state_after);
    let station = urn("station", &event.station);
    // The station's own place: where receive, pick, return and quarantine leave the unit.
    let at_station = Some(Id {
        id: urn("location", &event.station),
    });
    let reference = event.reference.as_deref();
    let link = |kind, document, id: Option<&str>| {
        id.map(|id| BizTransaction {
            kind,
            biz_transaction: urn(document, id),
        })
    };
    let customer = facts.customer.as_ref().map(|c| urn("customer", c));
    let mut e = EpcisEvent {
        kind,
        // When the handheld saw the scan if it said, else when the server decided it.
        event_time: format_rfc3339_ms(if event.client_time_ms > 0 {
            event.client_time_ms
        } else {
            event.recorded_at_ms
        }),
        record_time: format_rfc3339_ms(event.recorded_at_ms),
        event_time_zone_offset: TIME_ZONE_OFFSET,
        event_id: format!("urn:uuid:{}", event.event_id),
        epc_list: Some(vec![facts.subject.epc()]),
        parent_id: None,
        child_epcs: None,
        action,
        biz_step,
        disposition,
        read_point: Id {
            id: station.clone(),
        },
        biz_location: None,
        biz_transaction_list: Vec::new(),
        source_list: Vec::new(),
        destination_list: Vec::new(),
        ilmd: None,
    };
    match event.action {
        Action::Receive => {
            e.biz_location = at_station;
            e.biz_transaction_list
                .extend(link(BizTransactionType::Desadv, "receipt", reference));
            if facts.created_unit && (event.lot.is_some() || event.expiry.is_some()) {
                e.ilmd = Some(Ilmd {
                    lot_number: event.lot.clone(),
                    item_expiration_date: event.expiry.map(|d| d.to_string()),
                });
            }
        }
        Action::Putaway => {
            e.biz_location = event.location.as_ref().map(|l| Id {
                id: urn("location", l),
            });
        }
        Action::Pick => {
            e.biz_location = at_station;
            e.biz_transaction_list
                .extend(link(BizTransactionType::Po, "order", reference));
        }
        Action::Dispatch => {
            e.biz_transaction_list.extend(link(
                BizTransactionType::Po,
                "order",
                facts.order_id.as_deref(),
            ));
            e.biz_transaction_list
                .extend(link(BizTransactionType::Desadv, "shipment", reference));
            // CBV: a source of type location at the shipping end is the event's read point.
            e.source_list.push(Source {
                kind: SourceDestType::Location,
                source: station,
            });
            e.destination_list.extend(customer.map(|c| Destination {
                kind: SourceDestType::OwningParty,
                destination: c,
            }));
        }
        Action::Return => {
            e.biz_location = at_station;
            e.biz_transaction_list
                .extend(link(BizTransactionType::Rma, "rma", reference));
            e.source_list.extend(customer.map(|c| Source {
                kind: SourceDestType::OwningParty,
                source: c,
            }));
            e.destination_list.push(Destination {
                kind: SourceDestType::Location,
                destination: station,
            });
        }
        Action::Quarantine => e.biz_location = at_station,
        Action::Scrap | Action::Block | Action::Release | Action::Void => {}
        // Commissioning carries the lot the serial was issued or imported with.
        Action::Issue => {
            e.ilmd = event.lot.as_ref().map(|lot| Ilmd {
                lot_number: Some(lot.clone()),
                item_expiration_date: None,
            });
        }
        Action::Aggregate | Action::Disaggregate => {
            let (Some(set), Some(parent)) = (reference, &facts.parent) else {
                return Err(LeftOut::WithoutSet);
            };
            e.epc_list = None;
            e.parent_id = Some(parent.epc());
            // A parent that was unpacked lets go of every child: no list (EPCIS 2.0 7.4.3).
            e.child_epcs = (set != event.serial).then(|| vec![facts.subject.epc()]);
        }
    }
    Ok(e)
}

/// The document up to the first event: context, type, version, creation date, and the opening
/// of the event list. The events follow, separated by [`EVENT_SEPARATOR`], then
/// [`DOCUMENT_TAIL`].
pub fn document_head(creation_ms: i64) -> String {
    format!(
        "{{\"@context\":[\"{CONTEXT}\"],\"type\":\"EPCISDocument\",\"schemaVersion\":\"{SCHEMA_VERSION}\",\"creationDate\":\"{}\",\"epcisBody\":{{\"eventList\":[\n",
        format_rfc3339_ms(creation_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::barcode::Date;
    use crate::domain::{EntryMode, Reason};
    use serde_json::{Value, json};
    use uuid::Uuid;

    const GTIN: &str = "04006381333931";

    fn log_event(action: Action, serial: &str) -> Event {
        Event {
            seq: 7,
            event_id: Uuid::from_u128(0x1234),
            recorded_at_ms: 1_795_422_605_042,
            client_time_ms: 1_795_422_600_000,
            station: "DOCK 1".to_owned(),
            operator: "alice".to_owned(),
            action,
            raw: serial.as_bytes().to_vec(),
            entry_mode: EntryMode::Scanned,
            serial: serial.to_owned(),
            sku: "TV".to_owned(),
            gtin: None,
            lot: None,
            expiry: None,
            outcome: Outcome::Accepted,
            reason: Reason::Ok,
            message: String::new(),
            state_after: Some(UnitState::Received),
            location: None,
            reference: None,
            prev_hash: None,
        }
    }

    fn unit(serial: &str) -> Facts {
        Facts::new(Object::Unit {
            serial: serial.to_owned(),
            gtin: Some(GTIN.to_owned()),
        })
    }

    fn json_of(event: &Event, facts: &Facts) -> Value {
        serde_json::to_value(super::event(event, facts).expect("mapped")).expect("json")
    }

    #[test]
    fn identifiers_are_digital_link_uris_where_gs1_allows_else_our_urns() {
        let cases = [
            (
                Object::Unit {
                    serial: "TV1".into(),
                    gtin: Some(GTIN.into()),
                },
                "https://id.gs1.org/01/04006381333931/21/TV1",
            ),
            // Characters of set 82 that are not unreserved in a URI are percent-encoded.
            (
                Object::Unit {
                    serial: "A/B+C".into(),
                    gtin: Some(GTIN.into()),
                },
                "https://id.gs1.org/01/04006381333931/21/A%2FB%2BC",
            ),
            // 21 characters: not an AI (21) value, so not an SGTIN.
            (
                Object::Unit {
                    serial: "X".repeat(21),
                    gtin: Some(GTIN.into()),
                },
                "urn:serialtrack:unit:XXXXXXXXXXXXXXXXXXXXX",
            ),
            // A bad check digit is no GTIN.
            (
                Object::Unit {
                    serial: "TV1".into(),
                    gtin: Some("04006381333932".into()),
                },
                "urn:serialtrack:unit:TV1",
            ),
            (
                Object::Unit {
                    serial: "sn 1:é".into(),
                    gtin: None,
                },
                "urn:serialtrack:unit:sn%201%3A%C3%A9",
            ),
            (
                Object::Sscc("106141412345678908".into()),
                "https://id.gs1.org/00/106141412345678908",
            ),
        ];
        for (object, uri) in cases {
            assert_eq!(object.epc(), uri, "{object:?}");
        }
    }

    #[test]
    fn each_action_maps_to_its_event_type_action_step_and_disposition() {
        use Action::*;
        // (action, created unit, type, action, bizStep, disposition)
        let table = [
            (
                Receive,
                true,
                "ObjectEvent",
                "ADD",
                "commissioning",
                Some("active"),
            ),
            (
                Receive,
                false,
                "ObjectEvent",
                "OBSERVE",
                "receiving",
                Some("sellable_not_accessible"),
            ),
            (
                Putaway,
                false,
                "ObjectEvent",
                "OBSERVE",
                "storing",
                Some("sellable_not_accessible"),
            ),
            (
                Pick,
                false,
                "ObjectEvent",
                "OBSERVE",
                "picking",
                Some("in_progress"),
            ),
            (
                Dispatch,
                false,
                "ObjectEvent",
                "OBSERVE",
                "shipping",
                Some("in_transit"),
            ),
            (
                Return,
                false,
                "ObjectEvent",
                "OBSERVE",
                "receiving",
                Some("returned"),
            ),
            (
                Quarantine,
                false,
                "ObjectEvent",
                "OBSERVE",
                "holding",
                Some("non_sellable_other"),
            ),
            (
                Scrap,
                false,
                "ObjectEvent",
                "DELETE",
                "destroying",
                Some("destroyed"),
            ),
            (
                Block,
                false,
                "ObjectEvent",
                "OBSERVE",
                "holding",
                Some("non_sellable_other"),
            ),
            (
                Release,
                false,
                "ObjectEvent",
                "OBSERVE",
                "inspecting",
                Some("sellable_not_accessible"),
            ),
            (Aggregate, false, "AggregationEvent", "ADD", "packing", None),
            (
                Disaggregate,
                false,
                "AggregationEvent",
                "DELETE",
                "unpacking",
                None,
            ),
        ];
        for (action, created, kind, epcis_action, step, disposition) in table {
            let mut logged = log_event(action, "TV1");
            logged.reference = Some("KIT1".to_owned());
            let facts = Facts {
                created_unit: created,
                parent: Some(Object::Unit {
                    serial: "KIT1".into(),
                    gtin: None,
                }),
                ..unit("TV1")
            };
            let e = json_of(&logged, &facts);
            let name = action.name();
            assert_eq!(e["type"], kind, "{name}");
            assert_eq!(e["action"], epcis_action, "{name}");
            assert_eq!(e["bizStep"], step, "{name}");
            assert_eq!(
                e.get("disposition").and_then(Value::as_str),
                disposition,
                "{name}"
            );
            assert_eq!(
                e["readPoint"],
                json!({"id": "urn:serialtrack:station:DOCK%201"})
            );
            assert_eq!(
                e["eventID"],
                "urn:uuid:00000000-0000-0000-0000-000000001234"
            );
            assert_eq!(e["eventTime"], "2026-11-23T08:30:00.000Z");
            assert_eq!(e["recordTime"], "2026-11-23T08:30:05.042Z");
            assert_eq!(e["eventTimeZoneOffset"], "+00:00");
        }
    }

    #[test]
    fn documents_links_parties_and_places_are_where_the_event_says() {
        let mut dispatch = log_event(Action::Dispatch, "TV1");
        dispatch.reference = Some("SH1".to_owned());
        dispatch.client_time_ms = 0;
        let facts = Facts {
            order_id: Some("O1".into()),
            customer: Some("ACME Ltd".into()),
            ..unit("TV1")
        };
        let e = json_of(&dispatch, &facts);
        assert_eq!(
            e["eventTime"], e["recordTime"],
            "no client time: the server's"
        );
        assert_eq!(
            e["epcList"],
            json!(["https://id.gs1.org/01/04006381333931/21/TV1"])
        );
        assert_eq!(
            e["bizTransactionList"],
            json!([
                {"type": "po", "bizTransaction": "urn:serialtrack:order:O1"},
                {"type": "desadv", "bizTransaction": "urn:serialtrack:shipment:SH1"},
            ])
        );
        assert_eq!(
            e["sourceList"],
            json!([{"type": "location", "source": "urn:serialtrack:station:DOCK%201"}])
        );
        assert_eq!(
            e["destinationList"],
            json!([{"type": "owning_party", "destination": "urn:serialtrack:customer:ACME%20Ltd"}])
        );
        assert!(e.get("bizLocation").is_none(), "in transit: no location");

        let mut putaway = log_event(Action::Putaway, "TV1");
        putaway.location = Some("A-02".to_owned());
        let e = json_of(&putaway, &unit("TV1"));
        assert_eq!(
            e["bizLocation"],
            json!({"id": "urn:serialtrack:location:A-02"})
        );
        assert!(e.get("bizTransactionList").is_none());

        let mut receive = log_event(Action::Receive, "TV1");
        receive.lot = Some("L7".to_owned());
        receive.expiry = Some(Date::new(2027, 1, 31));
        receive.reference = Some("ASN-1".to_owned());
        let created = Facts {
            created_unit: true,
            ..unit("TV1")
        };
        let e = json_of(&receive, &created);
        assert_eq!(
            e["ilmd"],
            json!({"cbvmda:lotNumber": "L7", "cbvmda:itemExpirationDate": "2027-01-31"})
        );
        assert_eq!(
            e["bizTransactionList"],
            json!([{"type": "desadv", "bizTransaction": "urn:serialtrack:receipt:ASN-1"}])
        );
        assert_eq!(
            e["bizLocation"],
            json!({"id": "urn:serialtrack:location:DOCK%201"})
        );
        // Master data belongs to commissioning only: a restock carries none.
        assert!(json_of(&receive, &unit("TV1")).get("ilmd").is_none());

        let mut back = log_event(Action::Return, "TV1");
        back.reference = Some("RMA-7".to_owned());
        let facts = Facts {
            customer: Some("ACME Ltd".into()),
            ..unit("TV1")
        };
        let e = json_of(&back, &facts);
        assert_eq!(
            e["sourceList"],
            json!([{"type": "owning_party", "source": "urn:serialtrack:customer:ACME%20Ltd"}])
        );
        assert_eq!(
            e["destinationList"],
            json!([{"type": "location", "destination": "urn:serialtrack:station:DOCK%201"}])
        );
        assert_eq!(
            e["bizTransactionList"],
            json!([{"type": "rma", "bizTransaction": "urn:serialtrack:rma:RMA-7"}])
        );
    }

    #[test]
    fn aggregations_name_parent_and_child_and_an_unpacked_parent_lets_go_of_all() {
        let sscc = "106141412345678908";
        let parent = Some(Object::Sscc(sscc.into()));
        let mut packed = log_event(Action::Aggregate, "TV1");
        packed.reference = Some(sscc.to_owned());
        let facts = Facts {
            parent: parent.clone(),
            ..unit("TV1")
        };
        let e = json_of(&packed, &facts);
        assert_eq!(e["parentID"], "https://id.gs1.org/00/106141412345678908");
        assert_eq!(
            e["childEPCs"],
            json!(["https://id.gs1.org/01/04006381333931/21/TV1"])
        );
        assert!(e.get("epcList").is_none() && e.get("disposition").is_none());

        let mut unpacked = log_event(Action::Disaggregate, sscc);
        unpacked.reference = Some(sscc.to_owned());
        let facts = Facts {
            parent,
            ..Facts::new(Object::Sscc(sscc.into()))
        };
        let e = json_of(&unpacked, &facts);
        assert_eq!(e["action"], "DELETE");
        assert_eq!(e["parentID"], "https://id.gs1.org/00/106141412345678908");
        assert!(e.get("childEPCs").is_none(), "{e}");

        // Logged before the log kept the set: no parent to name.
        let old = log_event(Action::Aggregate, "TV1");
        assert_eq!(event(&old, &unit("TV1")), Err(LeftOut::WithoutSet));
    }

    #[test]
    fn rejected_scans_are_left_out() {
        let mut rejected = log_event(Action::Pick, "TV1");
        rejected.outcome = Outcome::Rejected;
        assert_eq!(event(&rejected, &unit("TV1")), Err(LeftOut::Rejected));
        let mut warning = log_event(Action::Return, "TV1");
        warning.outcome = Outcome::Warning;
        assert!(
            event(&warning, &unit("TV1")).is_ok(),
            "a warning was applied"
        );
    }

    #[test]
    fn the_document_is_json_with_the_epcis_header() {
        let events: Vec<String> = [Action::Receive, Action::Putaway]
            .into_iter()
            .map(|a| {
                let e = event(&log_event(a, "TV1"), &unit("TV1")).expect("mapped");
                serde_json::to_string(&e).expect("json")
            })
            .collect();
        for list in [Vec::new(), events] {
            let text = format!(
                "{}{}{DOCUMENT_TAIL}",
                document_head(1_795_422_605_042),
                list.join(EVENT_SEPARATOR)
            );
            let doc: Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(doc["@context"], json!([CONTEXT]));
            assert_eq!(doc["type"], "EPCISDocument");
            assert_eq!(doc["schemaVersion"], "2.0");
            assert_eq!(doc["creationDate"], "2026-11-23T08:30:05.042Z");
            assert_eq!(
                doc["epcisBody"]["eventList"].as_array().map(Vec::len),
                Some(list.len())
            );
        }
    }
}
