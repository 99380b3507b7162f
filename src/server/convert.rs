//! Conversions between the wire types (`crate::proto::v1`) and the domain, with the shape
//! checks every request passes before anything reaches the store: sizes, ids and enums.

use tonic::Status;
use uuid::Uuid;

use crate::barcode::{self, Charset, CheckScheme, Confusables, Pattern, SerialRule};
use crate::domain::issue::{Issuing, ReprintPolicy, Strategy};
use crate::domain::{
    self, Action, EntryMode, Event, Feedback, Item, LOT_LEN_MAX, Order, OrderLine, Outcome, Pick,
    REF_LEN_MAX, Reason, Recall, RecallRelease, RecallScope, STATION_LEN_MAX, Scan, Shipment, Unit,
    UnitState, item::SKU_LEN_MAX, warehouse::REASON_LEN_MAX,
};
use crate::proto::v1 as pb;
use crate::store::{PAGE_LEN_DEFAULT, PAGE_LEN_MAX, ScanAnswer, UnitQuery};

/// The longest QR strategy text of an item's issuing policy, in bytes.
pub const QR_STRATEGY_LEN_MAX: usize = 256;

fn invalid(message: impl Into<String>) -> Status {
    Status::invalid_argument(message)
}

pub fn bounded_text(field: &str, value: &str, max_bytes: usize) -> Result<(), Status> {
    if value.len() > max_bytes {
        return Err(invalid(format!(
            "{field} has {} bytes; at most {max_bytes} are allowed",
            value.len()
        )));
    }
    Ok(())
}

pub fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// A page size from a request: 0 means the default, above the maximum is refused.
pub fn page_len(limit: u32) -> Result<usize, Status> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match limit {
        0 => Ok(PAGE_LEN_DEFAULT),
        n if n > PAGE_LEN_MAX => Err(invalid(format!(
            "limit {n} is above the maximum page of {PAGE_LEN_MAX}"
        ))),
        n => Ok(n),
    }
}

pub fn action_from_pb(value: i32) -> Result<Action, Status> {
    match pb::Action::try_from(value) {
        Ok(pb::Action::Receive) => Ok(Action::Receive),
        Ok(pb::Action::Putaway) => Ok(Action::Putaway),
        Ok(pb::Action::Pick) => Ok(Action::Pick),
        Ok(pb::Action::Dispatch) => Ok(Action::Dispatch),
        Ok(pb::Action::Return) => Ok(Action::Return),
        Ok(pb::Action::Quarantine) => Ok(Action::Quarantine),
        Ok(pb::Action::Scrap) => Ok(Action::Scrap),
        Ok(pb::Action::Block) => Ok(Action::Block),
        Ok(pb::Action::Release) => Ok(Action::Release),
        Ok(pb::Action::Aggregate) => Ok(Action::Aggregate),
        Ok(pb::Action::Disaggregate) => Ok(Action::Disaggregate),
        Ok(pb::Action::Unspecified) => Err(invalid("action is required")),
        Ok(pb::Action::Issue | pb::Action::Void) => Err(invalid(format!(
            "action {value} is logged by issuing and printing, not scanned: use IssueService or LabelService"
        ))),
        Err(_) => Err(invalid(format!("action {value} is not a known action"))),
    }
}

pub(super) fn action_to_pb(action: Action) -> pb::Action {
    match action {
        Action::Receive => pb::Action::Receive,
        Action::Putaway => pb::Action::Putaway,
        Action::Pick => pb::Action::Pick,
        Action::Dispatch => pb::Action::Dispatch,
        Action::Return => pb::Action::Return,
        Action::Quarantine => pb::Action::Quarantine,
        Action::Scrap => pb::Action::Scrap,
        Action::Block => pb::Action::Block,
        Action::Release => pb::Action::Release,
        Action::Aggregate => pb::Action::Aggregate,
        Action::Disaggregate => pb::Action::Disaggregate,
        Action::Issue => pb::Action::Issue,
        Action::Void => pb::Action::Void,
    }
}

fn entry_mode_from_pb(value: i32) -> Result<EntryMode, Status> {
    match pb::EntryMode::try_from(value) {
        // A client that does not say is a scanner: keyed entry is the exception worth marking.
        Ok(pb::EntryMode::Unspecified | pb::EntryMode::Scanned) => Ok(EntryMode::Scanned),
        Ok(pb::EntryMode::Keyed) => Ok(EntryMode::Keyed),
        Err(_) => Err(invalid(format!(
            "entry_mode {value} is not a known entry mode"
        ))),
    }
}

fn entry_mode_to_pb(mode: EntryMode) -> pb::EntryMode {
    match mode {
        EntryMode::Scanned => pb::EntryMode::Scanned,
        EntryMode::Keyed => pb::EntryMode::Keyed,
    }
}

pub fn state_to_pb(state: Option<UnitState>) -> pb::UnitState {
    match state {
        None => pb::UnitState::Unspecified,
        Some(UnitState::Received) => pb::UnitState::Received,
        Some(UnitState::Stored) => pb::UnitState::Stored,
        Some(UnitState::Picked) => pb::UnitState::Picked,
        Some(UnitState::Dispatched) => pb::UnitState::Dispatched,
        Some(UnitState::Returned) => pb::UnitState::Returned,
        Some(UnitState::Quarantined) => pb::UnitState::Quarantined,
        Some(UnitState::Scrapped) => pb::UnitState::Scrapped,
        Some(UnitState::Issued) => pb::UnitState::Issued,
        Some(UnitState::Voided) => pb::UnitState::Voided,
    }
}

pub(super) fn outcome_to_pb(outcome: Outcome) -> pb::Outcome {
    match outcome {
        Outcome::Accepted => pb::Outcome::Accepted,
        Outcome::Rejected => pb::Outcome::Rejected,
        Outcome::Warning => pb::Outcome::Warning,
    }
}

pub fn reason_to_pb(reason: Reason) -> pb::Reason {
    match reason {
        Reason::Ok => pb::Reason::Ok,
        Reason::DuplicateSerial => pb::Reason::DuplicateSerial,
        Reason::BadFormat => pb::Reason::BadFormat,
        Reason::UnknownItem => pb::Reason::UnknownItem,
        Reason::MissingField => pb::Reason::MissingField,
        Reason::ConflictingFields => pb::Reason::ConflictingFields,
        Reason::FieldIgnored => pb::Reason::FieldIgnored,
        Reason::UnsupportedAction => pb::Reason::UnsupportedAction,
        Reason::WrongState => pb::Reason::WrongState,
        Reason::OnHold => pb::Reason::OnHold,
        Reason::WrongSku => pb::Reason::WrongSku,
        Reason::OverPick => pb::Reason::OverPick,
        Reason::UnknownUnit => pb::Reason::UnknownUnit,
        Reason::UnknownOrder => pb::Reason::UnknownOrder,
        Reason::UnknownShipment => pb::Reason::UnknownShipment,
        Reason::WrongOrder => pb::Reason::WrongOrder,
        Reason::Closed => pb::Reason::Closed,
        Reason::SuspectCounterfeit => pb::Reason::SuspectCounterfeit,
        Reason::WrongCustomer => pb::Reason::WrongCustomer,
        Reason::UnknownReceipt => pb::Reason::UnknownReceipt,
        Reason::Unexpected => pb::Reason::Unexpected,
        Reason::OverQuantity => pb::Reason::OverQuantity,
        Reason::AlreadyInSet => pb::Reason::AlreadyInSet,
        Reason::NotInSet => pb::Reason::NotInSet,
        Reason::SetFull => pb::Reason::SetFull,
        Reason::NotIssued => pb::Reason::NotIssued,
        Reason::Voided => pb::Reason::Voided,
        Reason::AlreadyReturned => pb::Reason::AlreadyReturned,
        Reason::OutOfWarranty => pb::Reason::OutOfWarranty,
    }
}

fn feedback_to_pb(feedback: Feedback) -> pb::Feedback {
    match feedback {
        Feedback::Good => pb::Feedback::Good,
        Feedback::Bad => pb::Feedback::Bad,
        Feedback::Warn => pb::Feedback::Warn,
    }
}

/// Checks a scan's shape and turns it into a domain scan. `index` names the scan in a batch.
pub fn scan_from_pb(request: pb::ScanRequest, index: Option<usize>) -> Result<Scan, Status> {
    let at = |message: String| match index {
        Some(i) => invalid(format!("scan {i}: {message}")),
        None => invalid(message),
    };
    let event_id = Uuid::parse_str(&request.event_id).map_err(|_| {
        at(format!(
            "event_id {:?} is not a UUID",
            truncated(&request.event_id)
        ))
    })?;
    if event_id.is_nil() {
        return Err(at("event_id must not be the nil UUID".to_owned()));
    }
    let check = |field: &str, value: &str, max: usize| {
        bounded_text(field, value, max).map_err(|s| at(s.message().to_owned()))
    };
    check("station", &request.station, STATION_LEN_MAX)?;
    check("operator", &request.operator, STATION_LEN_MAX)?;
    check("sku", &request.sku, SKU_LEN_MAX)?;
    check("lot", &request.lot, LOT_LEN_MAX)?;
    for (field, value) in [
        ("location", &request.location),
        ("order_id", &request.order_id),
        ("shipment_id", &request.shipment_id),
        ("customer", &request.customer),
        ("rma", &request.rma),
        ("receipt_id", &request.receipt_id),
        ("mfr_serial", &request.mfr_serial),
        ("parent", &request.parent),
    ] {
        check(field, value, REF_LEN_MAX)?;
    }
    check("hold_reason", &request.hold_reason, REASON_LEN_MAX)?;
    if request.raw.len() > barcode::RAW_SCAN_LEN_MAX {
        return Err(at(format!(
            "raw has {} bytes; at most {} are allowed",
            request.raw.len(),
            barcode::RAW_SCAN_LEN_MAX
        )));
    }
    if request.client_time_ms < 0 {
        return Err(at(format!(
            "client_time_ms {} is negative; send 0 when the time is unknown",
            request.client_time_ms
        )));
    }
    let action = action_from_pb(request.action).map_err(|s| at(s.message().to_owned()))?;
    let entry_mode =
        entry_mode_from_pb(request.entry_mode).map_err(|s| at(s.message().to_owned()))?;
    Ok(Scan {
        event_id,
        station: request.station,
        operator: request.operator,
        action,
        raw: request.raw,
        sku: non_empty(request.sku),
        lot: non_empty(request.lot),
        entry_mode,
        client_time_ms: request.client_time_ms,
        location: non_empty(request.location),
        order_id: non_empty(request.order_id),
        shipment_id: non_empty(request.shipment_id),
        customer: non_empty(request.customer),
        rma: non_empty(request.rma),
        hold_reason: non_empty(request.hold_reason),
        receipt_id: non_empty(request.receipt_id),
        mfr_serial: non_empty(request.mfr_serial),
        parent: non_empty(request.parent),
    })
}

fn truncated(text: &str) -> String {
    text.chars().take(40).collect()
}

fn date_text(date: Option<barcode::Date>) -> String {
    date.map(|d| d.to_string()).unwrap_or_default()
}

pub fn reply_to_pb(answer: &ScanAnswer) -> pb::ScanReply {
    let event = &answer.event;
    pb::ScanReply {
        event_id: event.event_id.to_string(),
        outcome: outcome_to_pb(event.outcome).into(),
        reason: reason_to_pb(event.reason).into(),
        message: event.message.clone(),
        feedback: feedback_to_pb(event.outcome.feedback()).into(),
        state: state_to_pb(event.state_after).into(),
        seq: event.seq,
        serial: event.serial.clone(),
        sku: event.sku.clone(),
        replayed: answer.replayed,
        gtin: event.gtin.clone().unwrap_or_default(),
        lot: event.lot.clone().unwrap_or_default(),
        expiry: date_text(event.expiry),
    }
}

pub fn event_to_pb(event: Event) -> pb::Event {
    pb::Event {
        seq: event.seq,
        event_id: event.event_id.to_string(),
        recorded_at_ms: event.recorded_at_ms,
        client_time_ms: event.client_time_ms,
        station: event.station,
        operator: event.operator,
        action: action_to_pb(event.action).into(),
        raw: event.raw,
        entry_mode: entry_mode_to_pb(event.entry_mode).into(),
        serial: event.serial,
        sku: event.sku,
        lot: event.lot.unwrap_or_default(),
        outcome: outcome_to_pb(event.outcome).into(),
        reason: reason_to_pb(event.reason).into(),
        message: event.message,
        state_after: state_to_pb(event.state_after).into(),
        gtin: event.gtin.unwrap_or_default(),
        expiry: date_text(event.expiry),
        location: event.location.unwrap_or_default(),
        reference: event.reference.unwrap_or_default(),
        prev_hash: event.prev_hash.map(|h| h.to_vec()).unwrap_or_default(),
    }
}

pub fn unit_to_pb(unit: Unit) -> pb::Unit {
    pb::Unit {
        serial: unit.serial,
        sku: unit.sku,
        gtin: unit.gtin.unwrap_or_default(),
        lot: unit.lot.unwrap_or_default(),
        state: state_to_pb(Some(unit.state)).into(),
        location: unit.location,
        first_seen_station: unit.first_seen_station,
        first_seen_at_ms: unit.first_seen_at_ms,
        first_seen_seq: unit.first_seen_seq,
        last_seq: unit.last_seq,
        expiry: date_text(unit.expiry),
        received_at_ms: unit.received_at_ms,
        hold: unit
            .hold
            .as_ref()
            .map(|h| h.kind.name().to_owned())
            .unwrap_or_default(),
        hold_reference: unit.hold.map(|h| h.reference).unwrap_or_default(),
        order_id: unit.order_id.unwrap_or_default(),
        shipment_id: unit.shipment_id.unwrap_or_default(),
        customer: unit.customer.unwrap_or_default(),
        dispatched_at_ms: unit.dispatched_at_ms,
        mfr_serial: unit.mfr_serial.unwrap_or_default(),
        parent: unit.parent.unwrap_or_default(),
        replaced_by: unit.replaced_by.unwrap_or_default(),
        replaces: unit.replaces.unwrap_or_default(),
    }
}

fn charset_from_pb(value: i32) -> Result<Charset, Status> {
    match pb::Charset::try_from(value) {
        // An item that does not say allows what a GS1 serial (AI 21) allows.
        Ok(pb::Charset::Unspecified | pb::Charset::Gs182) => Ok(Charset::Gs1Cset82),
        Ok(pb::Charset::Numeric) => Ok(Charset::Numeric),
        Ok(pb::Charset::AlphanumericUpper) => Ok(Charset::AlphanumericUpper),
        Ok(pb::Charset::Alphanumeric) => Ok(Charset::Alphanumeric),
        Err(_) => Err(invalid(format!(
            "serial_rule.charset {value} is not a known charset"
        ))),
    }
}

fn charset_to_pb(charset: Charset) -> pb::Charset {
    match charset {
        Charset::Numeric => pb::Charset::Numeric,
        Charset::AlphanumericUpper => pb::Charset::AlphanumericUpper,
        Charset::Alphanumeric => pb::Charset::Alphanumeric,
        Charset::Gs1Cset82 => pb::Charset::Gs182,
    }
}

fn check_from_pb(value: i32) -> Result<CheckScheme, Status> {
    match pb::CheckScheme::try_from(value) {
        Ok(pb::CheckScheme::Unspecified | pb::CheckScheme::None) => Ok(CheckScheme::None),
        Ok(pb::CheckScheme::Gs1Mod10) => Ok(CheckScheme::Gs1Mod10),
        Ok(pb::CheckScheme::Luhn) => Ok(CheckScheme::Luhn),
        Ok(pb::CheckScheme::Iso7064Mod3736) => Ok(CheckScheme::Mod37_36),
        Ok(pb::CheckScheme::LuhnMod32) => Ok(CheckScheme::LuhnMod32),
        Err(_) => Err(invalid(format!(
            "serial_rule.check {value} is not a known check scheme"
        ))),
    }
}

fn check_to_pb(check: CheckScheme) -> pb::CheckScheme {
    match check {
        CheckScheme::None => pb::CheckScheme::None,
        CheckScheme::Gs1Mod10 => pb::CheckScheme::Gs1Mod10,
        CheckScheme::Luhn => pb::CheckScheme::Luhn,
        CheckScheme::Mod37_36 => pb::CheckScheme::Iso7064Mod3736,
        CheckScheme::LuhnMod32 => pb::CheckScheme::LuhnMod32,
    }
}

fn confusables_from_pb(value: i32) -> Result<Confusables, Status> {
    match pb::Confusables::try_from(value) {
        Ok(pb::Confusables::Unspecified | pb::Confusables::Allow) => Ok(Confusables::Allow),
        Ok(pb::Confusables::Reject) => Ok(Confusables::Reject),
        Ok(pb::Confusables::MapToDigits) => Ok(Confusables::MapToDigits),
        Err(_) => Err(invalid(format!(
            "serial_rule.confusables {value} is not a known policy"
        ))),
    }
}

fn confusables_to_pb(policy: Confusables) -> pb::Confusables {
    match policy {
        Confusables::Allow => pb::Confusables::Allow,
        Confusables::Reject => pb::Confusables::Reject,
        Confusables::MapToDigits => pb::Confusables::MapToDigits,
    }
}

/// A wire item as a validated domain item (GTIN brought to 14 digits).
pub fn item_from_pb(item: pb::Item) -> Result<Item, Status> {
    let rule = match item.serial_rule {
        None => SerialRule::default(),
        Some(rule) => {
            let default = SerialRule::default();
            let to_usize = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
            SerialRule {
                length_min: if rule.length_min == 0 {
                    default.length_min
                } else {
                    to_usize(rule.length_min)
                },
                length_max: if rule.length_max == 0 {
                    default.length_max
                } else {
                    to_usize(rule.length_max)
                },
                charset: charset_from_pb(rule.charset)?,
                prefix: rule.prefix,
                check: check_from_pb(rule.check)?,
                pattern: match rule.pattern.as_str() {
                    "" => None,
                    text => Some(
                        Pattern::parse(text)
                            .map_err(|e| invalid(format!("serial_rule.pattern: {e}")))?,
                    ),
                },
                confusables: confusables_from_pb(rule.confusables)?,
            }
        }
    };
    bounded_text("serial_rule.prefix", &rule.prefix, barcode::SERIAL_LEN_MAX)?;
    let item = Item {
        sku: item.sku,
        gtin: non_empty(item.gtin),
        description: item.description,
        lot_tracked: item.lot_tracked,
        warranty_months: item.warranty_months,
        serial_rule: rule,
        updated_at_ms: 0,
        issuing: item.issuing.map(issuing_from_pb).transpose()?,
    };
    crate::label::unit::check_item_qr(&item).map_err(|e| invalid(format!("issuing.qr: {e}")))?;
    item.validated().map_err(|e| invalid(e.to_string()))
}

fn issuing_from_pb(policy: pb::IssuePolicy) -> Result<Issuing, Status> {
    let narrow = |field: &str, n: u32| {
        u8::try_from(n).map_err(|_| invalid(format!("issuing.{field} {n} is out of range")))
    };
    bounded_text(
        "issuing.prefix",
        &policy.prefix,
        domain::issue::PREFIX_LEN_MAX,
    )?;
    bounded_text("issuing.qr", &policy.qr, QR_STRATEGY_LEN_MAX)?;
    let strategy = match pb::IssueStrategy::try_from(policy.strategy) {
        Ok(pb::IssueStrategy::Sequential) => Strategy::Sequential {
            prefix: policy.prefix,
            width: narrow("width", policy.width)?,
        },
        Ok(pb::IssueStrategy::Dated) => Strategy::Dated {
            prefix: policy.prefix,
        },
        Ok(pb::IssueStrategy::Plant) => Strategy::Plant {
            width: narrow("width", policy.width)?,
        },
        Ok(pb::IssueStrategy::Random) => Strategy::Random {
            length: narrow("random_length", policy.random_length)?,
        },
        Ok(pb::IssueStrategy::Sgtin) => Strategy::Sgtin,
        Ok(pb::IssueStrategy::Unspecified) => {
            return Err(invalid("issuing.strategy is required"));
        }
        Err(_) => {
            return Err(invalid(format!(
                "issuing.strategy {} is not a known strategy",
                policy.strategy
            )));
        }
    };
    let reprint = match pb::ReprintPolicy::try_from(policy.reprint) {
        Ok(pb::ReprintPolicy::Unspecified | pb::ReprintPolicy::Reuse) => ReprintPolicy::Reuse,
        Ok(pb::ReprintPolicy::Replace) => ReprintPolicy::Replace,
        Err(_) => {
            return Err(invalid(format!(
                "issuing.reprint {} is not a known policy",
                policy.reprint
            )));
        }
    };
    Ok(Issuing {
        strategy,
        reprint,
        qr: policy.qr,
    })
}

fn issuing_to_pb(issuing: Issuing) -> pb::IssuePolicy {
    let (strategy, prefix, width, random_length) = match issuing.strategy {
        Strategy::Sequential { prefix, width } => {
            (pb::IssueStrategy::Sequential, prefix, u32::from(width), 0)
        }
        Strategy::Dated { prefix } => (pb::IssueStrategy::Dated, prefix, 0, 0),
        Strategy::Plant { width } => (pb::IssueStrategy::Plant, String::new(), u32::from(width), 0),
        Strategy::Random { length } => (
            pb::IssueStrategy::Random,
            String::new(),
            0,
            u32::from(length),
        ),
        Strategy::Sgtin => (pb::IssueStrategy::Sgtin, String::new(), 0, 0),
    };
    pb::IssuePolicy {
        strategy: strategy.into(),
        prefix,
        width,
        random_length,
        reprint: match issuing.reprint {
            ReprintPolicy::Reuse => pb::ReprintPolicy::Reuse,
            ReprintPolicy::Replace => pb::ReprintPolicy::Replace,
        }
        .into(),
        qr: issuing.qr,
    }
}

pub fn item_to_pb(item: Item) -> pb::Item {
    let rule = item.serial_rule;
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    pb::Item {
        sku: item.sku,
        gtin: item.gtin.unwrap_or_default(),
        description: item.description,
        lot_tracked: item.lot_tracked,
        warranty_months: item.warranty_months,
        serial_rule: Some(pb::SerialRule {
            length_min: to_u32(rule.length_min),
            length_max: to_u32(rule.length_max),
            charset: charset_to_pb(rule.charset).into(),
            prefix: rule.prefix,
            check: check_to_pb(rule.check).into(),
            pattern: rule.pattern.map(|p| p.to_string()).unwrap_or_default(),
            confusables: confusables_to_pb(rule.confusables).into(),
        }),
        updated_at_ms: item.updated_at_ms,
        issuing: item.issuing.map(issuing_to_pb),
    }
}

/// Checks a SKU named in a lookup.
pub fn lookup_sku(sku: &str) -> Result<(), Status> {
    domain::item::validate_sku(sku).map_err(|e| invalid(e.to_string()))
}

/// The Digital Link base used when a decode request names none.
pub const DEFAULT_RESOLVER: &str = "https://id.gs1.org";
/// The longest resolver base URL accepted.
pub const RESOLVER_LEN_MAX: usize = 200;

/// Checks a Digital Link base URL given to `Decode`.
pub fn check_resolver(resolver: &str) -> Result<(), String> {
    if resolver.len() > RESOLVER_LEN_MAX {
        return Err(format!("resolver is longer than {RESOLVER_LEN_MAX} bytes"));
    }
    if !(resolver.starts_with("https://") || resolver.starts_with("http://"))
        || resolver
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '?' || c == '#')
    {
        return Err(format!(
            "resolver {resolver:?} must be an http:// or https:// base URL without query or fragment"
        ));
    }
    Ok(())
}

/// Reads raw scanner bytes as `Decode` answers: the RPC and the offline `serialtrack decode`
/// both print this, so they cannot disagree. `today` resolves the century of YYMMDD dates.
pub fn decode_to_pb(
    raw: &[u8],
    strict: bool,
    resolver: &str,
    today: barcode::Date,
) -> pb::DecodeResponse {
    let options = if strict {
        barcode::Options::strict(today)
    } else {
        barcode::Options::scanner(today)
    };
    let read = match barcode::interpret(raw, &options) {
        Ok(read) => read,
        Err(e) => {
            return pb::DecodeResponse {
                valid: false,
                error: Some(pb::DecodeError {
                    kind: e.kind().to_owned(),
                    ai: e.ai().unwrap_or_default().to_owned(),
                    position: e
                        .position()
                        .map_or(0, |p| u32::try_from(p).unwrap_or(u32::MAX)),
                    message: e.to_string(),
                }),
                ..Default::default()
            };
        }
    };
    let has_elements = !read.elements.is_empty();
    pb::DecodeResponse {
        valid: true,
        symbology: read.symbology.map(|s| s.aim_id()).unwrap_or_default(),
        symbology_name: read
            .symbology
            .map(|s| s.name().to_owned())
            .unwrap_or_default(),
        kind: match read.kind {
            barcode::Kind::Gs1ElementString => "GS1_ELEMENT_STRING",
            barcode::Kind::DigitalLink => "DIGITAL_LINK",
            barcode::Kind::Gtin => "GTIN",
            barcode::Kind::Plain => "PLAIN",
        }
        .to_owned(),
        elements: read
            .elements
            .iter()
            .map(|e| pb::DecodedElement {
                ai: e.ai.clone(),
                title: barcode::ai_table::lookup(&e.ai)
                    .map(|entry| entry.title.to_owned())
                    .unwrap_or_default(),
                value: e.value.clone(),
            })
            .collect(),
        gtin: read.gtin().unwrap_or_default().to_owned(),
        serial: read.serial().unwrap_or_default().to_owned(),
        lot: read.lot().unwrap_or_default().to_owned(),
        expiry: date_text(read.expiry()),
        // Elements without a primary key (a lot alone) have no Digital Link form.
        digital_link: if has_elements {
            read.to_digital_link(resolver).unwrap_or_default()
        } else {
            String::new()
        },
        bracketed: if has_elements {
            read.to_bracketed().unwrap_or_default()
        } else {
            String::new()
        },
        warnings: read.warnings.iter().map(ToString::to_string).collect(),
        error: None,
    }
}

/// A wire order as a new domain order, checked for shape.
pub fn order_from_pb(order: pb::Order) -> Result<Order, Status> {
    if order.lines.len() > domain::warehouse::ORDER_LINES_MAX {
        return Err(invalid(format!(
            "order has {} lines; at most {} are allowed",
            order.lines.len(),
            domain::warehouse::ORDER_LINES_MAX
        )));
    }
    let order = Order {
        id: order.id,
        customer: order.customer,
        lines: order
            .lines
            .into_iter()
            .map(|l| OrderLine {
                sku: l.sku,
                lot: non_empty(l.lot),
                quantity: l.quantity,
                // A new order has nothing picked: `check_order` refuses a count above 0.
                n_picked: u32::try_from(l.picked.len()).unwrap_or(u32::MAX),
            })
            .collect(),
        created_at_ms: 0,
        shipment_id: None,
        picks_made: 0,
    };
    domain::warehouse::check_order(&order).map_err(|e| invalid(e.to_string()))?;
    Ok(order)
}

/// An order with its picks (by line, then in pick order, as the store lists them).
pub fn order_to_pb(order: Order, picks: Vec<Pick>) -> pb::Order {
    let mut picked = vec![Vec::new(); order.lines.len()];
    for pick in picks {
        if let Some(line) = picked.get_mut(pick.line) {
            line.push(pick.serial);
        }
    }
    pb::Order {
        id: order.id,
        customer: order.customer,
        lines: order
            .lines
            .into_iter()
            .zip(picked)
            .map(|(l, picked)| pb::OrderLine {
                sku: l.sku,
                lot: l.lot.unwrap_or_default(),
                quantity: l.quantity,
                picked,
            })
            .collect(),
        created_at_ms: order.created_at_ms,
        shipment_id: order.shipment_id.unwrap_or_default(),
    }
}

/// A shipment with the serials scanned at dispatch for it, in scan order.
pub fn shipment_to_pb(shipment: Shipment, dispatched: Vec<String>) -> pb::Shipment {
    let closure = shipment.closed;
    pb::Shipment {
        id: shipment.id,
        order_id: shipment.order_id,
        customer: shipment.customer,
        dispatched,
        created_at_ms: shipment.created_at_ms,
        closed: closure.is_some(),
        closed_at_ms: closure.as_ref().map_or(0, |c| c.closed_at_ms),
        picked: closure.as_ref().map_or(0, |c| c.picked),
        verified: closure.as_ref().map_or(0, |c| c.dispatched),
        verification_percent: closure.as_ref().map_or(0, |c| {
            domain::warehouse::verification_percent(c.dispatched, c.picked)
        }),
        override_by: closure.and_then(|c| c.override_by).unwrap_or_default(),
    }
}

/// Checks an id or name given in a warehouse request.
pub fn reference(what: &'static str, value: &str) -> Result<(), Status> {
    domain::warehouse::check_reference(what, value).map_err(|e| invalid(e.to_string()))
}

fn scope_to_pb(scope: RecallScope) -> pb::recall::Scope {
    match scope {
        RecallScope::Lot { sku, lot } => pb::recall::Scope::Lot(pb::LotScope { sku, lot }),
        RecallScope::SerialRange { first, last } => {
            pb::recall::Scope::Serials(pb::SerialRangeScope { first, last })
        }
        RecallScope::ReceivedBetween { from_ms, to_ms } => {
            pb::recall::Scope::Received(pb::ReceivedScope { from_ms, to_ms })
        }
    }
}

fn lot_scope(lot: pb::LotScope) -> RecallScope {
    RecallScope::Lot {
        sku: lot.sku,
        lot: lot.lot,
    }
}

fn serials_scope(range: pb::SerialRangeScope) -> RecallScope {
    RecallScope::SerialRange {
        first: range.first,
        last: range.last,
    }
}

fn received_scope(range: pb::ReceivedScope) -> RecallScope {
    RecallScope::ReceivedBetween {
        from_ms: range.from_ms,
        to_ms: range.to_ms,
    }
}

/// A recall as the server answers it, with the counts of the units it covers by state.
pub fn recall_to_pb(recall: Recall, by_state: &[(UnitState, u64)]) -> pb::Recall {
    pb::Recall {
        id: recall.id,
        scope: Some(scope_to_pb(recall.scope)),
        reason: recall.reason,
        created_by: recall.created_by,
        created_at_ms: recall.created_at_ms,
        released: recall.released.is_some(),
        released_at_ms: recall.released.as_ref().map_or(0, |r| r.at_ms),
        released_by: recall.released.map(|r| r.by).unwrap_or_default(),
        affected: by_state.iter().map(|(_, n)| n).sum(),
        by_state: by_state
            .iter()
            .map(|&(state, units)| pb::StateCount {
                state: state_to_pb(Some(state)).into(),
                units,
            })
            .collect(),
    }
}

/// A new recall from a request, checked for shape.
pub fn recall_from_pb(recall: pb::Recall) -> Result<Recall, Status> {
    let scope = match recall.scope {
        Some(pb::recall::Scope::Lot(lot)) => lot_scope(lot),
        Some(pb::recall::Scope::Serials(range)) => serials_scope(range),
        Some(pb::recall::Scope::Received(range)) => received_scope(range),
        None => return Err(invalid("recall needs a scope: lot, serials or received")),
    };
    let recall = Recall {
        id: recall.id,
        scope,
        reason: recall.reason,
        created_by: recall.created_by,
        created_at_ms: 0,
        released: None::<RecallRelease>,
    };
    recall.check().map_err(|e| invalid(e.to_string()))?;
    Ok(recall)
}

/// The units a listing asks for, checked for shape.
pub fn unit_query_from_pb(
    filter: Option<pb::list_units_request::Filter>,
) -> Result<UnitQuery, Status> {
    use pb::list_units_request::Filter;
    let query = match filter {
        None => {
            return Err(invalid(
                "a filter is required: lot, location, order_id, shipment_id, serials, received or all",
            ));
        }
        Some(Filter::Lot(lot)) => UnitQuery::Scope(lot_scope(lot)),
        Some(Filter::Serials(range)) => UnitQuery::Scope(serials_scope(range)),
        Some(Filter::Received(range)) => UnitQuery::Scope(received_scope(range)),
        Some(Filter::All(true)) => UnitQuery::All,
        Some(Filter::All(false)) => return Err(invalid("the all filter must be true")),
        Some(Filter::Location(location)) => {
            reference("location", &location)?;
            UnitQuery::Location(location)
        }
        Some(Filter::OrderId(id)) => {
            reference("order id", &id)?;
            UnitQuery::Order(id)
        }
        Some(Filter::ShipmentId(id)) => {
            reference("shipment id", &id)?;
            UnitQuery::Shipment(id)
        }
    };
    if let UnitQuery::Scope(scope) = &query {
        scope.check().map_err(|e| invalid(e.to_string()))?;
    }
    Ok(query)
}

pub fn receipt_to_pb(receipt: domain::Receipt) -> pb::Receipt {
    pb::Receipt {
        short: receipt.short(),
        received: receipt.received(),
        id: receipt.id,
        supplier: receipt.supplier,
        policy: match receipt.policy {
            domain::UnexpectedPolicy::Warn => pb::UnexpectedPolicy::Warn,
            domain::UnexpectedPolicy::Reject => pb::UnexpectedPolicy::Reject,
        }
        .into(),
        lines: receipt
            .lines
            .into_iter()
            .map(|l| pb::ReceiptLine {
                sku: l.sku,
                lot: l.lot.unwrap_or_default(),
                quantity: l.quantity,
                received: l.received,
            })
            .collect(),
        expected_serials: receipt.expected_serials,
        received_expected: receipt.received_expected,
        unexpected: receipt.unexpected,
        over: receipt.over,
        created_at_ms: receipt.created_at_ms,
        closed: receipt.closed.is_some(),
        closed_at_ms: receipt.closed.as_ref().map_or(0, |c| c.at_ms),
        closed_by: receipt.closed.map(|c| c.by).unwrap_or_default(),
    }
}

/// A new receipt and its expected serials from a request; the domain checks the rest.
pub fn receipt_from_pb(
    receipt: pb::Receipt,
    expected: Vec<pb::ExpectedSerial>,
) -> Result<(domain::Receipt, Vec<domain::ExpectedSerial>), Status> {
    let policy = match pb::UnexpectedPolicy::try_from(receipt.policy) {
        Ok(pb::UnexpectedPolicy::Unspecified | pb::UnexpectedPolicy::Warn) => {
            domain::UnexpectedPolicy::Warn
        }
        Ok(pb::UnexpectedPolicy::Reject) => domain::UnexpectedPolicy::Reject,
        Err(_) => {
            return Err(invalid(format!(
                "policy {} is not a known policy",
                receipt.policy
            )));
        }
    };
    let receipt = domain::Receipt {
        id: receipt.id,
        supplier: receipt.supplier,
        policy,
        lines: receipt
            .lines
            .into_iter()
            .map(|l| domain::ReceiptLine {
                sku: l.sku,
                lot: non_empty(l.lot),
                quantity: l.quantity,
                received: l.received,
            })
            .collect(),
        expected_serials: 0,
        received_expected: 0,
        unexpected: 0,
        over: 0,
        created_at_ms: 0,
        closed: None,
    };
    let expected = expected
        .into_iter()
        .map(|e| domain::ExpectedSerial {
            serial: e.serial,
            sku: e.sku,
        })
        .collect();
    Ok((receipt, expected))
}

pub fn receipt_entry_to_pb(entry: domain::ReceiptEntry) -> pb::ReceiptEntry {
    use domain::Mark;
    pb::ReceiptEntry {
        status: match entry.mark {
            Mark::Expected => pb::ReceiptStatus::Short,
            Mark::Received => pb::ReceiptStatus::Received,
            Mark::OnLine => pb::ReceiptStatus::ReceivedOnLine,
            Mark::Unexpected => pb::ReceiptStatus::Unexpected,
            Mark::Over => pb::ReceiptStatus::Over,
        }
        .into(),
        serial: entry.serial,
        sku: entry.sku,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Reason::ALL` (which the metrics count rejections by) lists every reason: the API has
    /// one value per domain reason, and every one of them is reached from the list.
    #[test]
    fn every_reason_is_in_the_domain_list() {
        let listed: std::collections::BTreeSet<i32> = Reason::ALL
            .into_iter()
            .map(|r| reason_to_pb(r) as i32)
            .collect();
        assert_eq!(listed.len(), Reason::ALL.len(), "two reasons map to one");
        let api: std::collections::BTreeSet<i32> = (1..1000)
            .filter(|code| pb::Reason::try_from(*code).is_ok())
            .collect();
        assert_eq!(listed, api);
    }
}
