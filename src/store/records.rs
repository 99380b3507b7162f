//! On-disk record encoding. Records are prost messages private to the store: compact, and a
//! field can be added later without a migration (old records decode with the new field at its
//! default). Enums are stored as their stable numbers below, never as Rust discriminants.
//!
//! Every record is checked on the way in ([`encode_*`] take domain types that were validated)
//! and again on the way out ([`decode_*`] refuse unknown enum numbers and bad ids).

use prost::Message;
use uuid::Uuid;

use crate::barcode::{Charset, CheckScheme, Confusables, Date, Pattern, SerialRule};
use crate::domain::issue::{Issuing, OwnerKind, Range, ReprintPolicy, Strategy, UnitFacts};
use crate::domain::label::{PrintJob, PrintLine, Template};
use crate::domain::{
    Action, EntryMode, Event, Hold, HoldKind, Item, Mark, Order, OrderLine, Outcome, Reason,
    Recall, RecallRelease, RecallScope, Receipt, ReceiptLine, SetKind, Shipment, ShipmentClosure,
    UnexpectedPolicy, Unit, UnitSet, UnitState, kpi::KpiCounts, receipt::ReceiptClosure,
};

use super::StoreError;

#[derive(Clone, PartialEq, Message)]
struct ItemRecord {
    #[prost(string, tag = "1")]
    sku: String,
    #[prost(string, tag = "2")]
    gtin: String,
    #[prost(string, tag = "3")]
    description: String,
    #[prost(bool, tag = "4")]
    lot_tracked: bool,
    #[prost(uint32, tag = "5")]
    warranty_months: u32,
    #[prost(uint32, tag = "6")]
    length_min: u32,
    #[prost(uint32, tag = "7")]
    length_max: u32,
    #[prost(uint32, tag = "8")]
    charset: u32,
    #[prost(string, tag = "9")]
    prefix: String,
    #[prost(uint32, tag = "10")]
    check: u32,
    #[prost(int64, tag = "11")]
    updated_at_ms: i64,
    #[prost(string, tag = "12")]
    pattern: String,
    #[prost(uint32, tag = "13")]
    confusables: u32,
    /// 0: no issuing policy.
    #[prost(uint32, tag = "14")]
    issue_strategy: u32,
    #[prost(string, tag = "15")]
    issue_prefix: String,
    #[prost(uint32, tag = "16")]
    issue_width: u32,
    #[prost(uint32, tag = "17")]
    reprint: u32,
    #[prost(string, tag = "18")]
    qr: String,
}

#[derive(Clone, PartialEq, Message)]
struct UnitRecord {
    #[prost(string, tag = "1")]
    serial: String,
    #[prost(string, tag = "2")]
    sku: String,
    #[prost(string, tag = "3")]
    gtin: String,
    #[prost(string, tag = "4")]
    lot: String,
    #[prost(uint32, tag = "5")]
    state: u32,
    #[prost(string, tag = "6")]
    location: String,
    #[prost(string, tag = "7")]
    first_seen_station: String,
    #[prost(int64, tag = "8")]
    first_seen_at_ms: i64,
    #[prost(uint64, tag = "9")]
    first_seen_seq: u64,
    #[prost(uint64, tag = "10")]
    last_seq: u64,
    /// YYYYMMDD, 0 for none.
    #[prost(uint32, tag = "11")]
    expiry: u32,
    #[prost(int64, tag = "12")]
    received_at_ms: i64,
    /// 0 for none.
    #[prost(uint32, tag = "13")]
    hold: u32,
    #[prost(string, tag = "14")]
    hold_reference: String,
    #[prost(string, tag = "15")]
    order_id: String,
    #[prost(string, tag = "16")]
    shipment_id: String,
    #[prost(string, tag = "17")]
    customer: String,
    #[prost(int64, tag = "18")]
    dispatched_at_ms: i64,
    #[prost(string, tag = "19")]
    mfr_serial: String,
    #[prost(string, tag = "20")]
    parent: String,
    #[prost(string, tag = "21")]
    replaced_by: String,
    #[prost(string, tag = "22")]
    replaces: String,
}

#[derive(Clone, PartialEq, Message)]
struct KpiRecord {
    #[prost(uint64, tag = "1")]
    scans: u64,
    #[prost(uint64, tag = "2")]
    keyed: u64,
    #[prost(uint64, tag = "3")]
    accepted: u64,
    #[prost(uint64, tag = "4")]
    warnings: u64,
    #[prost(uint64, tag = "5")]
    rejected: u64,
    /// Rejections by reason: stable reason codes and their counts, in step.
    #[prost(uint32, repeated, tag = "6")]
    reasons: Vec<u32>,
    #[prost(uint64, repeated, tag = "7")]
    reason_counts: Vec<u64>,
    #[prost(uint64, tag = "8")]
    received: u64,
    #[prost(uint64, tag = "9")]
    received_on_receipt: u64,
    #[prost(uint64, tag = "10")]
    dispatched: u64,
}

#[derive(Clone, PartialEq, Message)]
struct SetRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(uint32, tag = "2")]
    kind: u32,
    #[prost(string, repeated, tag = "3")]
    children: Vec<String>,
    #[prost(uint32, tag = "4")]
    units: u32,
    #[prost(string, tag = "5")]
    parent: String,
    #[prost(int64, tag = "6")]
    packed_at_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
struct EventRecord {
    #[prost(uint64, tag = "1")]
    seq: u64,
    #[prost(bytes = "vec", tag = "2")]
    event_id: Vec<u8>,
    #[prost(int64, tag = "3")]
    recorded_at_ms: i64,
    #[prost(int64, tag = "4")]
    client_time_ms: i64,
    #[prost(string, tag = "5")]
    station: String,
    #[prost(string, tag = "6")]
    operator: String,
    #[prost(uint32, tag = "7")]
    action: u32,
    #[prost(bytes = "vec", tag = "8")]
    raw: Vec<u8>,
    #[prost(uint32, tag = "9")]
    entry_mode: u32,
    #[prost(string, tag = "10")]
    serial: String,
    #[prost(string, tag = "11")]
    sku: String,
    #[prost(string, tag = "12")]
    lot: String,
    #[prost(string, tag = "19")]
    location: String,
    #[prost(string, tag = "20")]
    reference: String,
    #[prost(string, tag = "17")]
    gtin: String,
    /// YYYYMMDD, 0 for none.
    #[prost(uint32, tag = "18")]
    expiry: u32,
    #[prost(uint32, tag = "13")]
    outcome: u32,
    #[prost(uint32, tag = "14")]
    reason: u32,
    #[prost(string, tag = "15")]
    message: String,
    /// 0 when no unit exists.
    #[prost(uint32, tag = "16")]
    state_after: u32,
    /// The hash of the event before (see `crate::audit`); empty in events written before the
    /// chain existed.
    #[prost(bytes = "vec", tag = "21")]
    prev_hash: Vec<u8>,
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn opt(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// Stable numbers of the stored enums. Changing one breaks every store on disk.
macro_rules! stable_codes {
    ($to:ident, $from:ident, $ty:ty { $($variant:path = $code:literal),+ $(,)? }) => {
        pub(super) fn $to(value: $ty) -> u32 {
            match value { $($variant => $code),+ }
        }
        pub(super) fn $from(code: u32) -> Result<$ty, StoreError> {
            match code {
                $($code => Ok($variant),)+
                other => Err(corrupt(stringify!($ty), format!("unknown code {other}"))),
            }
        }
    };
}

stable_codes!(charset_code, charset_from, Charset {
    Charset::Numeric = 1, Charset::AlphanumericUpper = 2, Charset::Alphanumeric = 3, Charset::Gs1Cset82 = 4,
});
stable_codes!(check_code, check_from, CheckScheme {
    CheckScheme::None = 1, CheckScheme::Gs1Mod10 = 2, CheckScheme::Luhn = 3, CheckScheme::Mod37_36 = 4,
    CheckScheme::LuhnMod32 = 5,
});
stable_codes!(confusables_code, confusables_from, Confusables {
    Confusables::Allow = 1, Confusables::Reject = 2, Confusables::MapToDigits = 3,
});
stable_codes!(state_code, state_from, UnitState {
    UnitState::Received = 1, UnitState::Stored = 2, UnitState::Picked = 3, UnitState::Dispatched = 4,
    UnitState::Returned = 5, UnitState::Quarantined = 6, UnitState::Scrapped = 7,
    UnitState::Issued = 8, UnitState::Voided = 9,
});
stable_codes!(reprint_code, reprint_from, ReprintPolicy {
    ReprintPolicy::Reuse = 1, ReprintPolicy::Replace = 2,
});

fn strategy_code(strategy: &Strategy) -> u32 {
    match strategy {
        Strategy::Sequential { .. } => 1,
        Strategy::Dated { .. } => 2,
        Strategy::Plant { .. } => 3,
        Strategy::Random { .. } => 4,
        Strategy::Sgtin => 5,
    }
}
stable_codes!(hold_code, hold_from, HoldKind { HoldKind::Recalled = 1, HoldKind::Blocked = 2 });
stable_codes!(action_code, action_from, Action {
    Action::Receive = 1, Action::Putaway = 2, Action::Pick = 3, Action::Dispatch = 4, Action::Return = 5,
    Action::Quarantine = 6, Action::Scrap = 7, Action::Block = 8, Action::Release = 9,
    Action::Aggregate = 10, Action::Disaggregate = 11, Action::Issue = 12, Action::Void = 13,
});
stable_codes!(set_kind_code, set_kind_from, SetKind { SetKind::Sscc = 1, SetKind::Kit = 2 });
stable_codes!(entry_code, entry_from, EntryMode { EntryMode::Scanned = 1, EntryMode::Keyed = 2 });
stable_codes!(outcome_code, outcome_from, Outcome {
    Outcome::Accepted = 1, Outcome::Rejected = 2, Outcome::Warning = 3,
});
stable_codes!(reason_code, reason_from, Reason {
    Reason::Ok = 1, Reason::DuplicateSerial = 2, Reason::BadFormat = 3, Reason::UnknownItem = 4,
    Reason::MissingField = 5, Reason::ConflictingFields = 6, Reason::FieldIgnored = 7,
    Reason::UnsupportedAction = 8, Reason::WrongState = 9, Reason::OnHold = 10, Reason::WrongSku = 11,
    Reason::OverPick = 12, Reason::UnknownUnit = 13, Reason::UnknownOrder = 14,
    Reason::UnknownShipment = 15, Reason::WrongOrder = 16, Reason::Closed = 17,
    Reason::SuspectCounterfeit = 18, Reason::WrongCustomer = 19, Reason::AlreadyReturned = 20,
    Reason::OutOfWarranty = 21, Reason::UnknownReceipt = 22, Reason::Unexpected = 23,
    Reason::OverQuantity = 24, Reason::AlreadyInSet = 25, Reason::NotInSet = 26, Reason::SetFull = 27,
    Reason::NotIssued = 28, Reason::Voided = 29,
});
stable_codes!(mark_code, mark_from, Mark {
    Mark::Expected = 1, Mark::Received = 2, Mark::OnLine = 3, Mark::Unexpected = 4, Mark::Over = 5,
});
stable_codes!(policy_code, policy_from, UnexpectedPolicy {
    UnexpectedPolicy::Warn = 1, UnexpectedPolicy::Reject = 2,
});

fn date_code(date: Option<Date>) -> u32 {
    date.map_or(0, super::keys::day_code)
}

fn date_from(code: u32) -> Result<Option<Date>, StoreError> {
    if code == 0 {
        return Ok(None);
    }
    let date = Date::new(
        i32::try_from(code / 10_000).map_err(|e| corrupt("date", e))?,
        u8::try_from(code / 100 % 100).map_err(|e| corrupt("date", e))?,
        u8::try_from(code % 100).map_err(|e| corrupt("date", e))?,
    );
    if !date.is_valid() {
        return Err(corrupt("date", format!("{code} is not a date")));
    }
    Ok(Some(date))
}

fn usize_to_u32(n: usize) -> u32 {
    // Rule lengths are bounded by SERIAL_LEN_MAX long before u32 runs out.
    u32::try_from(n).unwrap_or(u32::MAX)
}

pub fn encode_item(item: &Item) -> Vec<u8> {
    ItemRecord {
        sku: item.sku.clone(),
        gtin: item.gtin.clone().unwrap_or_default(),
        description: item.description.clone(),
        lot_tracked: item.lot_tracked,
        warranty_months: item.warranty_months,
        length_min: usize_to_u32(item.serial_rule.length_min),
        length_max: usize_to_u32(item.serial_rule.length_max),
        charset: charset_code(item.serial_rule.charset),
        prefix: item.serial_rule.prefix.clone(),
        check: check_code(item.serial_rule.check),
        pattern: item
            .serial_rule
            .pattern
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        confusables: confusables_code(item.serial_rule.confusables),
        updated_at_ms: item.updated_at_ms,
        issue_strategy: item
            .issuing
            .as_ref()
            .map_or(0, |i| strategy_code(&i.strategy)),
        issue_prefix: match item.issuing.as_ref().map(|i| &i.strategy) {
            Some(Strategy::Sequential { prefix, .. } | Strategy::Dated { prefix }) => {
                prefix.clone()
            }
            _ => String::new(),
        },
        issue_width: match item.issuing.as_ref().map(|i| &i.strategy) {
            Some(Strategy::Sequential { width, .. } | Strategy::Plant { width }) => {
                u32::from(*width)
            }
            Some(Strategy::Random { length }) => u32::from(*length),
            _ => 0,
        },
        reprint: item.issuing.as_ref().map_or(0, |i| reprint_code(i.reprint)),
        qr: item
            .issuing
            .as_ref()
            .map(|i| i.qr.clone())
            .unwrap_or_default(),
    }
    .encode_to_vec()
}

pub fn decode_item(bytes: &[u8]) -> Result<Item, StoreError> {
    let r = ItemRecord::decode(bytes).map_err(|e| corrupt("item record", e))?;
    let item = Item {
        sku: r.sku,
        gtin: opt(r.gtin),
        description: r.description,
        lot_tracked: r.lot_tracked,
        warranty_months: r.warranty_months,
        serial_rule: SerialRule {
            length_min: usize::try_from(r.length_min).map_err(|e| corrupt("item length_min", e))?,
            length_max: usize::try_from(r.length_max).map_err(|e| corrupt("item length_max", e))?,
            charset: charset_from(r.charset)?,
            prefix: r.prefix,
            check: check_from(r.check)?,
            pattern: match r.pattern.as_str() {
                "" => None,
                text => Some(Pattern::parse(text).map_err(|e| corrupt("item pattern", e))?),
            },
            // Records written before the policy existed carry 0: allow.
            confusables: match r.confusables {
                0 => Confusables::Allow,
                code => confusables_from(code)?,
            },
        },
        updated_at_ms: r.updated_at_ms,
        issuing: match r.issue_strategy {
            0 => None,
            code => {
                let width =
                    u8::try_from(r.issue_width).map_err(|e| corrupt("item issue_width", e))?;
                Some(Issuing {
                    strategy: match code {
                        1 => Strategy::Sequential {
                            prefix: r.issue_prefix,
                            width,
                        },
                        2 => Strategy::Dated {
                            prefix: r.issue_prefix,
                        },
                        3 => Strategy::Plant { width },
                        4 => Strategy::Random { length: width },
                        5 => Strategy::Sgtin,
                        other => {
                            return Err(corrupt(
                                "item issue_strategy",
                                format!("unknown code {other}"),
                            ));
                        }
                    },
                    reprint: reprint_from(r.reprint)?,
                    qr: r.qr,
                })
            }
        },
    };
    // The pair of the validation done before the write.
    item.clone()
        .validated()
        .map_err(|e| corrupt("item record", e))
}

pub fn encode_unit(unit: &Unit) -> Vec<u8> {
    UnitRecord {
        serial: unit.serial.clone(),
        sku: unit.sku.clone(),
        gtin: unit.gtin.clone().unwrap_or_default(),
        lot: unit.lot.clone().unwrap_or_default(),
        state: state_code(unit.state),
        location: unit.location.clone(),
        first_seen_station: unit.first_seen_station.clone(),
        first_seen_at_ms: unit.first_seen_at_ms,
        first_seen_seq: unit.first_seen_seq,
        last_seq: unit.last_seq,
        expiry: date_code(unit.expiry),
        received_at_ms: unit.received_at_ms,
        hold: unit.hold.as_ref().map_or(0, |h| hold_code(h.kind)),
        hold_reference: unit
            .hold
            .as_ref()
            .map(|h| h.reference.clone())
            .unwrap_or_default(),
        order_id: unit.order_id.clone().unwrap_or_default(),
        shipment_id: unit.shipment_id.clone().unwrap_or_default(),
        customer: unit.customer.clone().unwrap_or_default(),
        dispatched_at_ms: unit.dispatched_at_ms,
        mfr_serial: unit.mfr_serial.clone().unwrap_or_default(),
        parent: unit.parent.clone().unwrap_or_default(),
        replaced_by: unit.replaced_by.clone().unwrap_or_default(),
        replaces: unit.replaces.clone().unwrap_or_default(),
    }
    .encode_to_vec()
}

pub fn decode_unit(bytes: &[u8]) -> Result<Unit, StoreError> {
    let r = UnitRecord::decode(bytes).map_err(|e| corrupt("unit record", e))?;
    if r.serial.is_empty() || r.first_seen_seq == 0 || r.last_seq < r.first_seen_seq {
        return Err(corrupt(
            "unit record",
            format!("inconsistent unit {:?}", r.serial),
        ));
    }
    let state = state_from(r.state)?;
    Ok(Unit {
        serial: r.serial,
        sku: r.sku,
        gtin: opt(r.gtin),
        lot: opt(r.lot),
        expiry: date_from(r.expiry)?,
        state,
        location: r.location,
        first_seen_station: r.first_seen_station,
        first_seen_at_ms: r.first_seen_at_ms,
        first_seen_seq: r.first_seen_seq,
        last_seq: r.last_seq,
        // Units written before re-receipt existed were received once, when first seen; an
        // issued one was not received yet.
        received_at_ms: if r.received_at_ms == 0 && state != UnitState::Issued {
            r.first_seen_at_ms
        } else {
            r.received_at_ms
        },
        hold: match r.hold {
            0 => None,
            code => Some(Hold {
                kind: hold_from(code)?,
                reference: r.hold_reference,
            }),
        },
        order_id: opt(r.order_id),
        shipment_id: opt(r.shipment_id),
        customer: opt(r.customer),
        dispatched_at_ms: r.dispatched_at_ms,
        mfr_serial: opt(r.mfr_serial),
        parent: opt(r.parent),
        replaced_by: opt(r.replaced_by),
        replaces: opt(r.replaces),
    })
}

pub fn encode_kpi(counts: &KpiCounts) -> Vec<u8> {
    KpiRecord {
        scans: counts.scans,
        keyed: counts.keyed,
        accepted: counts.accepted,
        warnings: counts.warnings,
        rejected: counts.rejected,
        reasons: counts.rejections.keys().map(|r| reason_code(*r)).collect(),
        reason_counts: counts.rejections.values().copied().collect(),
        received: counts.received,
        received_on_receipt: counts.received_on_receipt,
        dispatched: counts.dispatched,
    }
    .encode_to_vec()
}

pub fn decode_kpi(bytes: &[u8]) -> Result<KpiCounts, StoreError> {
    let r = KpiRecord::decode(bytes).map_err(|e| corrupt("kpi record", e))?;
    if r.reasons.len() != r.reason_counts.len() {
        return Err(corrupt("kpi record", "reasons and counts differ in length"));
    }
    let mut rejections = std::collections::BTreeMap::new();
    for (code, n) in r.reasons.iter().zip(&r.reason_counts) {
        rejections.insert(reason_from(*code)?, *n);
    }
    Ok(KpiCounts {
        scans: r.scans,
        keyed: r.keyed,
        accepted: r.accepted,
        warnings: r.warnings,
        rejected: r.rejected,
        rejections,
        received: r.received,
        received_on_receipt: r.received_on_receipt,
        dispatched: r.dispatched,
    })
}

pub fn encode_set(set: &UnitSet) -> Vec<u8> {
    SetRecord {
        id: set.id.clone(),
        kind: set_kind_code(set.kind),
        children: set.children.clone(),
        units: set.units,
        parent: set.parent.clone().unwrap_or_default(),
        packed_at_ms: set.packed_at_ms,
    }
    .encode_to_vec()
}

pub fn decode_set(bytes: &[u8]) -> Result<UnitSet, StoreError> {
    let r = SetRecord::decode(bytes).map_err(|e| corrupt("set record", e))?;
    if r.id.is_empty() {
        return Err(corrupt("set record", "empty id"));
    }
    Ok(UnitSet {
        id: r.id,
        kind: set_kind_from(r.kind)?,
        children: r.children,
        units: r.units,
        parent: opt(r.parent),
        packed_at_ms: r.packed_at_ms,
    })
}

pub fn encode_event(event: &Event) -> Vec<u8> {
    EventRecord {
        seq: event.seq,
        event_id: event.event_id.as_bytes().to_vec(),
        recorded_at_ms: event.recorded_at_ms,
        client_time_ms: event.client_time_ms,
        station: event.station.clone(),
        operator: event.operator.clone(),
        action: action_code(event.action),
        raw: event.raw.clone(),
        entry_mode: entry_code(event.entry_mode),
        serial: event.serial.clone(),
        sku: event.sku.clone(),
        lot: event.lot.clone().unwrap_or_default(),
        gtin: event.gtin.clone().unwrap_or_default(),
        expiry: date_code(event.expiry),
        location: event.location.clone().unwrap_or_default(),
        reference: event.reference.clone().unwrap_or_default(),
        outcome: outcome_code(event.outcome),
        reason: reason_code(event.reason),
        message: event.message.clone(),
        state_after: event.state_after.map_or(0, state_code),
        prev_hash: event.prev_hash.map(|h| h.to_vec()).unwrap_or_default(),
    }
    .encode_to_vec()
}

/// The hash of an event as the chain uses it: SHA-256 of its record encoding (prost encodes a
/// message's fields in tag order, so the same event always gives the same bytes).
pub fn event_hash(event: &Event) -> [u8; 32] {
    crate::audit::hash_record(&encode_event(event))
}

pub fn decode_event(bytes: &[u8]) -> Result<Event, StoreError> {
    let r = EventRecord::decode(bytes).map_err(|e| corrupt("event record", e))?;
    if r.seq == 0 {
        return Err(corrupt("event record", "sequence number 0"));
    }
    Ok(Event {
        seq: r.seq,
        event_id: Uuid::from_slice(&r.event_id).map_err(|e| corrupt("event id", e))?,
        recorded_at_ms: r.recorded_at_ms,
        client_time_ms: r.client_time_ms,
        station: r.station,
        operator: r.operator,
        action: action_from(r.action)?,
        raw: r.raw,
        entry_mode: entry_from(r.entry_mode)?,
        serial: r.serial,
        sku: r.sku,
        gtin: opt(r.gtin),
        lot: opt(r.lot),
        expiry: date_from(r.expiry)?,
        outcome: outcome_from(r.outcome)?,
        reason: reason_from(r.reason)?,
        message: r.message,
        state_after: match r.state_after {
            0 => None,
            code => Some(state_from(code)?),
        },
        location: opt(r.location),
        reference: opt(r.reference),
        prev_hash: match r.prev_hash.len() {
            0 => None,
            _ => Some(
                <[u8; 32]>::try_from(r.prev_hash.as_slice())
                    .map_err(|_| corrupt("event record", "a chain hash that is not 32 bytes"))?,
            ),
        },
    })
}

#[derive(Clone, PartialEq, Message)]
struct OrderLineRecord {
    #[prost(string, tag = "1")]
    sku: String,
    #[prost(string, tag = "2")]
    lot: String,
    #[prost(uint32, tag = "3")]
    quantity: u32,
    /// Layout 1 only: the serials picked for the line (layout 2 keeps them as `q` keys).
    #[prost(string, repeated, tag = "4")]
    legacy_picked: Vec<String>,
    #[prost(uint32, tag = "5")]
    n_picked: u32,
}

#[derive(Clone, PartialEq, Message)]
struct OrderRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    customer: String,
    #[prost(message, repeated, tag = "3")]
    lines: Vec<OrderLineRecord>,
    #[prost(int64, tag = "4")]
    created_at_ms: i64,
    #[prost(string, tag = "5")]
    shipment_id: String,
    #[prost(uint64, tag = "6")]
    picks_made: u64,
}

/// Encodes an order's record: its lines with their pick counts, never the picked serials, so
/// that it keeps one size however many units are picked.
pub fn encode_order(order: &Order) -> Vec<u8> {
    OrderRecord {
        id: order.id.clone(),
        customer: order.customer.clone(),
        lines: order
            .lines
            .iter()
            .map(|l| OrderLineRecord {
                sku: l.sku.clone(),
                lot: l.lot.clone().unwrap_or_default(),
                quantity: l.quantity,
                legacy_picked: Vec::new(),
                n_picked: l.n_picked,
            })
            .collect(),
        created_at_ms: order.created_at_ms,
        shipment_id: order.shipment_id.clone().unwrap_or_default(),
        picks_made: order.picks_made,
    }
    .encode_to_vec()
}

pub fn decode_order(bytes: &[u8]) -> Result<Order, StoreError> {
    let r = OrderRecord::decode(bytes).map_err(|e| corrupt("order record", e))?;
    if r.lines.iter().any(|l| !l.legacy_picked.is_empty()) {
        return Err(corrupt(
            "order record",
            format!(
                "order {:?} still holds its picked serials (layout 1), which opening the store moves to keys of their own",
                r.id
            ),
        ));
    }
    order_from_record(r)
}

fn order_from_record(r: OrderRecord) -> Result<Order, StoreError> {
    // A line never holds more picks than it asks for, nor the order more than were made.
    let over_picked = r.lines.iter().any(|l| l.n_picked > l.quantity);
    let n_picked: u64 = r.lines.iter().map(|l| u64::from(l.n_picked)).sum();
    if r.id.is_empty() || r.lines.is_empty() || over_picked || n_picked > r.picks_made {
        return Err(corrupt(
            "order record",
            format!("inconsistent order {:?}", r.id),
        ));
    }
    Ok(Order {
        id: r.id,
        customer: r.customer,
        lines: r
            .lines
            .into_iter()
            .map(|l| OrderLine {
                sku: l.sku,
                lot: opt(l.lot),
                quantity: l.quantity,
                n_picked: l.n_picked,
            })
            .collect(),
        created_at_ms: r.created_at_ms,
        shipment_id: opt(r.shipment_id),
        picks_made: r.picks_made,
    })
}

/// Each line's picked serials, in pick order.
pub type LinePicks = Vec<Vec<String>>;

/// A layout-1 order record as layout 2 keeps it: the order, with each line's picked serials
/// beside it. `None` when the record is layout 2 already.
pub fn upgrade_order(bytes: &[u8]) -> Result<Option<(Order, LinePicks)>, StoreError> {
    let mut r = OrderRecord::decode(bytes).map_err(|e| corrupt("order record", e))?;
    if r.lines.iter().all(|l| l.legacy_picked.is_empty()) {
        return Ok(None);
    }
    let picked: Vec<Vec<String>> = r
        .lines
        .iter_mut()
        .map(|l| std::mem::take(&mut l.legacy_picked))
        .collect();
    for (line, serials) in r.lines.iter_mut().zip(&picked) {
        line.n_picked = u32::try_from(serials.len()).map_err(|e| corrupt("order record", e))?;
    }
    r.picks_made = r.lines.iter().map(|l| u64::from(l.n_picked)).sum();
    Ok(Some((order_from_record(r)?, picked)))
}

/// A pick key's value: the index of the line it fills.
pub fn encode_pick_line(line: usize) -> Result<[u8; 4], StoreError> {
    let line = u32::try_from(line).map_err(|e| corrupt("pick", e))?;
    Ok(line.to_be_bytes())
}

pub fn decode_pick_line(value: &[u8]) -> Result<usize, StoreError> {
    let line: [u8; 4] = value
        .try_into()
        .map_err(|_| corrupt("pick", format!("line of {} bytes", value.len())))?;
    usize::try_from(u32::from_be_bytes(line)).map_err(|e| corrupt("pick", e))
}

#[derive(Clone, PartialEq, Message)]
struct ShipmentRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    order_id: String,
    #[prost(string, tag = "3")]
    customer: String,
    /// Layout 1 only: the serials scanned at dispatch (layout 2 keeps them as `d` keys).
    #[prost(string, repeated, tag = "4")]
    legacy_dispatched: Vec<String>,
    #[prost(int64, tag = "5")]
    created_at_ms: i64,
    #[prost(bool, tag = "6")]
    closed: bool,
    #[prost(int64, tag = "7")]
    closed_at_ms: i64,
    #[prost(uint32, tag = "8")]
    picked: u32,
    #[prost(uint32, tag = "9")]
    verified: u32,
    #[prost(string, tag = "10")]
    override_by: String,
    #[prost(uint32, tag = "11")]
    n_dispatched: u32,
}

/// Encodes a shipment's record: the count of serials scanned at dispatch, never the serials.
pub fn encode_shipment(shipment: &Shipment) -> Vec<u8> {
    let closure = shipment.closed.as_ref();
    ShipmentRecord {
        id: shipment.id.clone(),
        order_id: shipment.order_id.clone(),
        customer: shipment.customer.clone(),
        legacy_dispatched: Vec::new(),
        n_dispatched: shipment.n_dispatched,
        created_at_ms: shipment.created_at_ms,
        closed: closure.is_some(),
        closed_at_ms: closure.map_or(0, |c| c.closed_at_ms),
        picked: closure.map_or(0, |c| c.picked),
        verified: closure.map_or(0, |c| c.dispatched),
        override_by: closure
            .and_then(|c| c.override_by.clone())
            .unwrap_or_default(),
    }
    .encode_to_vec()
}

pub fn decode_shipment(bytes: &[u8]) -> Result<Shipment, StoreError> {
    let r = ShipmentRecord::decode(bytes).map_err(|e| corrupt("shipment record", e))?;
    if !r.legacy_dispatched.is_empty() {
        return Err(corrupt(
            "shipment record",
            format!(
                "shipment {:?} still holds its dispatched serials (layout 1), which opening the store moves to keys of their own",
                r.id
            ),
        ));
    }
    shipment_from_record(r)
}

fn shipment_from_record(r: ShipmentRecord) -> Result<Shipment, StoreError> {
    if r.id.is_empty() || r.order_id.is_empty() {
        return Err(corrupt(
            "shipment record",
            format!("inconsistent shipment {:?}", r.id),
        ));
    }
    Ok(Shipment {
        id: r.id,
        order_id: r.order_id,
        customer: r.customer,
        n_dispatched: r.n_dispatched,
        created_at_ms: r.created_at_ms,
        closed: r.closed.then(|| ShipmentClosure {
            closed_at_ms: r.closed_at_ms,
            picked: r.picked,
            dispatched: r.verified,
            override_by: opt(r.override_by),
        }),
    })
}

/// A layout-1 shipment record as layout 2 keeps it: the shipment, with its dispatched
/// serials in scan order beside it. `None` when the record is layout 2 already.
pub fn upgrade_shipment(bytes: &[u8]) -> Result<Option<(Shipment, Vec<String>)>, StoreError> {
    let mut r = ShipmentRecord::decode(bytes).map_err(|e| corrupt("shipment record", e))?;
    if r.legacy_dispatched.is_empty() {
        return Ok(None);
    }
    let dispatched = std::mem::take(&mut r.legacy_dispatched);
    r.n_dispatched = u32::try_from(dispatched.len()).map_err(|e| corrupt("shipment record", e))?;
    Ok(Some((shipment_from_record(r)?, dispatched)))
}

/// Layout-1 records, as an earlier serialtrack wrote them, for the upgrade's tests.
#[cfg(test)]
pub mod layout1 {
    use prost::Message;

    use super::{OrderLineRecord, OrderRecord, ShipmentRecord};
    use crate::domain::{Order, Shipment};

    /// `order` with `picked[i]` as line i's picked serials.
    pub fn order(order: &Order, picked: &[&[&str]]) -> Vec<u8> {
        OrderRecord {
            id: order.id.clone(),
            customer: order.customer.clone(),
            lines: order
                .lines
                .iter()
                .zip(picked)
                .map(|(l, serials)| OrderLineRecord {
                    sku: l.sku.clone(),
                    lot: l.lot.clone().unwrap_or_default(),
                    quantity: l.quantity,
                    legacy_picked: serials.iter().map(|s| (*s).to_owned()).collect(),
                    n_picked: 0,
                })
                .collect(),
            created_at_ms: order.created_at_ms,
            shipment_id: order.shipment_id.clone().unwrap_or_default(),
            picks_made: 0,
        }
        .encode_to_vec()
    }

    pub fn shipment(shipment: &Shipment, dispatched: &[&str]) -> Vec<u8> {
        ShipmentRecord {
            id: shipment.id.clone(),
            order_id: shipment.order_id.clone(),
            customer: shipment.customer.clone(),
            legacy_dispatched: dispatched.iter().map(|s| (*s).to_owned()).collect(),
            created_at_ms: shipment.created_at_ms,
            ..ShipmentRecord::default()
        }
        .encode_to_vec()
    }
}

#[derive(Clone, PartialEq, Message)]
struct RecallRecord {
    #[prost(string, tag = "1")]
    id: String,
    /// 1 lot, 2 serial range, 3 received between.
    #[prost(uint32, tag = "2")]
    scope: u32,
    /// Lot scope: SKU and lot; serial range: first and last serial.
    #[prost(string, tag = "3")]
    a: String,
    #[prost(string, tag = "4")]
    b: String,
    #[prost(int64, tag = "5")]
    from_ms: i64,
    #[prost(int64, tag = "6")]
    to_ms: i64,
    #[prost(string, tag = "7")]
    reason: String,
    #[prost(string, tag = "8")]
    created_by: String,
    #[prost(int64, tag = "9")]
    created_at_ms: i64,
    #[prost(bool, tag = "10")]
    released: bool,
    #[prost(int64, tag = "11")]
    released_at_ms: i64,
    #[prost(string, tag = "12")]
    released_by: String,
}

pub fn encode_recall(recall: &Recall) -> Vec<u8> {
    let mut r = RecallRecord {
        id: recall.id.clone(),
        reason: recall.reason.clone(),
        created_by: recall.created_by.clone(),
        created_at_ms: recall.created_at_ms,
        released: recall.released.is_some(),
        released_at_ms: recall.released.as_ref().map_or(0, |r| r.at_ms),
        released_by: recall
            .released
            .as_ref()
            .map(|r| r.by.clone())
            .unwrap_or_default(),
        ..RecallRecord::default()
    };
    match &recall.scope {
        RecallScope::Lot { sku, lot } => (r.scope, r.a, r.b) = (1, sku.clone(), lot.clone()),
        RecallScope::SerialRange { first, last } => {
            (r.scope, r.a, r.b) = (2, first.clone(), last.clone());
        }
        RecallScope::ReceivedBetween { from_ms, to_ms } => {
            (r.scope, r.from_ms, r.to_ms) = (3, *from_ms, *to_ms);
        }
    }
    r.encode_to_vec()
}

pub fn decode_recall(bytes: &[u8]) -> Result<Recall, StoreError> {
    let r = RecallRecord::decode(bytes).map_err(|e| corrupt("recall record", e))?;
    let scope = match r.scope {
        1 => RecallScope::Lot { sku: r.a, lot: r.b },
        2 => RecallScope::SerialRange {
            first: r.a,
            last: r.b,
        },
        3 => RecallScope::ReceivedBetween {
            from_ms: r.from_ms,
            to_ms: r.to_ms,
        },
        other => return Err(corrupt("recall record", format!("unknown scope {other}"))),
    };
    if r.id.is_empty() {
        return Err(corrupt("recall record", "empty id"));
    }
    Ok(Recall {
        id: r.id,
        scope,
        reason: r.reason,
        created_by: r.created_by,
        created_at_ms: r.created_at_ms,
        released: r.released.then_some(RecallRelease {
            at_ms: r.released_at_ms,
            by: r.released_by,
        }),
    })
}

#[derive(Clone, PartialEq, Message)]
struct ReceiptLineRecord {
    #[prost(string, tag = "1")]
    sku: String,
    #[prost(string, tag = "2")]
    lot: String,
    #[prost(uint32, tag = "3")]
    quantity: u32,
    #[prost(uint32, tag = "4")]
    received: u32,
}

#[derive(Clone, PartialEq, Message)]
struct ReceiptRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    supplier: String,
    #[prost(uint32, tag = "3")]
    policy: u32,
    #[prost(message, repeated, tag = "4")]
    lines: Vec<ReceiptLineRecord>,
    #[prost(uint32, tag = "5")]
    expected_serials: u32,
    #[prost(uint32, tag = "6")]
    received_expected: u32,
    #[prost(uint32, tag = "7")]
    unexpected: u32,
    #[prost(uint32, tag = "8")]
    over: u32,
    #[prost(int64, tag = "9")]
    created_at_ms: i64,
    #[prost(bool, tag = "10")]
    closed: bool,
    #[prost(int64, tag = "11")]
    closed_at_ms: i64,
    #[prost(string, tag = "12")]
    closed_by: String,
}

pub fn encode_receipt(receipt: &Receipt) -> Vec<u8> {
    ReceiptRecord {
        id: receipt.id.clone(),
        supplier: receipt.supplier.clone(),
        policy: policy_code(receipt.policy),
        lines: receipt
            .lines
            .iter()
            .map(|l| ReceiptLineRecord {
                sku: l.sku.clone(),
                lot: l.lot.clone().unwrap_or_default(),
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
        closed_by: receipt
            .closed
            .as_ref()
            .map(|c| c.by.clone())
            .unwrap_or_default(),
    }
    .encode_to_vec()
}

pub fn decode_receipt(bytes: &[u8]) -> Result<Receipt, StoreError> {
    let r = ReceiptRecord::decode(bytes).map_err(|e| corrupt("receipt record", e))?;
    if r.id.is_empty() {
        return Err(corrupt("receipt record", "empty id"));
    }
    Ok(Receipt {
        id: r.id,
        supplier: r.supplier,
        policy: policy_from(r.policy)?,
        lines: r
            .lines
            .into_iter()
            .map(|l| ReceiptLine {
                sku: l.sku,
                lot: opt(l.lot),
                quantity: l.quantity,
                received: l.received,
            })
            .collect(),
        expected_serials: r.expected_serials,
        received_expected: r.received_expected,
        unexpected: r.unexpected,
        over: r.over,
        created_at_ms: r.created_at_ms,
        closed: r.closed.then_some(ReceiptClosure {
            at_ms: r.closed_at_ms,
            by: r.closed_by,
        }),
    })
}

/// A receipt entry's value: the mark's code (one byte), then the SKU.
pub fn encode_receipt_entry(mark: Mark, sku: &str) -> Vec<u8> {
    let mut value = Vec::with_capacity(1 + sku.len());
    value.push(u8::try_from(mark_code(mark)).unwrap_or(0));
    value.extend_from_slice(sku.as_bytes());
    value
}

pub fn decode_receipt_entry(value: &[u8]) -> Result<(Mark, String), StoreError> {
    let Some((&code, sku)) = value.split_first() else {
        return Err(corrupt("receipt entry", "empty"));
    };
    let sku = String::from_utf8(sku.to_vec()).map_err(|e| corrupt("receipt entry", e))?;
    Ok((mark_from(u32::from(code))?, sku))
}

#[derive(Clone, PartialEq, Message)]
struct RangeRecord {
    #[prost(string, tag = "1")]
    sku: String,
    #[prost(string, tag = "2")]
    owner: String,
    #[prost(uint32, tag = "3")]
    kind: u32,
    #[prost(uint64, tag = "4")]
    first: u64,
    #[prost(uint64, tag = "5")]
    last: u64,
    #[prost(uint64, tag = "6")]
    next: u64,
    #[prost(string, tag = "7")]
    created_by: String,
    #[prost(int64, tag = "8")]
    created_at_ms: i64,
}

stable_codes!(owner_kind_code, owner_kind_from, OwnerKind {
    OwnerKind::Vendor = 1, OwnerKind::Plant = 2,
});

pub fn encode_range(range: &Range) -> Vec<u8> {
    RangeRecord {
        sku: range.sku.clone(),
        owner: range.owner.clone(),
        kind: owner_kind_code(range.kind),
        first: range.first,
        last: range.last,
        next: range.next,
        created_by: range.created_by.clone(),
        created_at_ms: range.created_at_ms,
    }
    .encode_to_vec()
}

pub fn decode_range(bytes: &[u8]) -> Result<Range, StoreError> {
    let r = RangeRecord::decode(bytes).map_err(|e| corrupt("range record", e))?;
    if r.first == 0 || r.first > r.last || r.next < r.first {
        return Err(corrupt(
            "range record",
            format!("inconsistent range {}-{} next {}", r.first, r.last, r.next),
        ));
    }
    Ok(Range {
        sku: r.sku,
        owner: r.owner,
        kind: owner_kind_from(r.kind)?,
        first: r.first,
        last: r.last,
        next: r.next,
        created_by: r.created_by,
        created_at_ms: r.created_at_ms,
    })
}

#[derive(Clone, PartialEq, Message)]
struct FactsRecord {
    #[prost(string, tag = "1")]
    batch: String,
    #[prost(string, tag = "2")]
    size: String,
    #[prost(string, tag = "3")]
    colour: String,
    #[prost(string, tag = "4")]
    po: String,
    #[prost(string, tag = "5")]
    mfg_unit: String,
    #[prost(int64, tag = "6")]
    made_at_ms: i64,
    #[prost(uint32, tag = "7")]
    prints: u32,
    #[prost(string, tag = "8")]
    last_job: String,
}

pub fn encode_facts(facts: &UnitFacts) -> Vec<u8> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    FactsRecord {
        batch: text(&facts.batch),
        size: text(&facts.size),
        colour: text(&facts.colour),
        po: text(&facts.po),
        mfg_unit: text(&facts.mfg_unit),
        made_at_ms: facts.made_at_ms,
        prints: facts.prints,
        last_job: text(&facts.last_job),
    }
    .encode_to_vec()
}

pub fn decode_facts(bytes: &[u8]) -> Result<UnitFacts, StoreError> {
    let r = FactsRecord::decode(bytes).map_err(|e| corrupt("facts record", e))?;
    Ok(UnitFacts {
        batch: opt(r.batch),
        size: opt(r.size),
        colour: opt(r.colour),
        po: opt(r.po),
        mfg_unit: opt(r.mfg_unit),
        made_at_ms: r.made_at_ms,
        prints: r.prints,
        last_job: opt(r.last_job),
    })
}

#[derive(Clone, PartialEq, Message)]
struct TemplateRecord {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(uint32, tag = "2")]
    version: u32,
    #[prost(bool, tag = "3")]
    locked: bool,
    #[prost(uint32, tag = "4")]
    width_mm: u32,
    #[prost(uint32, tag = "5")]
    height_mm: u32,
    #[prost(uint32, tag = "6")]
    dpi: u32,
    #[prost(string, repeated, tag = "7")]
    fields: Vec<String>,
    #[prost(string, repeated, tag = "8")]
    required: Vec<String>,
    #[prost(string, tag = "9")]
    updated_by: String,
    #[prost(int64, tag = "10")]
    updated_at_ms: i64,
}

pub fn encode_template(t: &Template) -> Vec<u8> {
    TemplateRecord {
        name: t.name.clone(),
        version: t.version,
        locked: t.locked,
        width_mm: t.width_mm,
        height_mm: t.height_mm,
        dpi: t.dpi,
        fields: t.fields.clone(),
        required: t.required.clone(),
        updated_by: t.updated_by.clone(),
        updated_at_ms: t.updated_at_ms,
    }
    .encode_to_vec()
}

pub fn decode_template(bytes: &[u8]) -> Result<Template, StoreError> {
    let r = TemplateRecord::decode(bytes).map_err(|e| corrupt("template record", e))?;
    let t = Template {
        name: r.name,
        version: r.version,
        locked: r.locked,
        width_mm: r.width_mm,
        height_mm: r.height_mm,
        dpi: r.dpi,
        fields: r.fields,
        required: r.required,
        updated_by: r.updated_by,
        updated_at_ms: r.updated_at_ms,
    };
    if t.version == 0 {
        return Err(corrupt("template record", "version 0"));
    }
    t.validate().map_err(|e| corrupt("template record", e))?;
    Ok(t)
}

/// The current version of each template from every version's record in key order (a name's
/// versions follow each other, oldest first).
pub fn current_templates(
    records: impl IntoIterator<Item = impl AsRef<[u8]>>,
) -> Result<Vec<Template>, StoreError> {
    let mut current: Vec<Template> = Vec::new();
    for record in records {
        let t = decode_template(record.as_ref())?;
        match current.last_mut() {
            Some(last) if last.name == t.name => *last = t,
            _ => current.push(t),
        }
    }
    Ok(current)
}

#[derive(Clone, PartialEq, Message)]
struct PrintLineRecord {
    #[prost(string, tag = "1")]
    serial: String,
    #[prost(string, tag = "2")]
    sku: String,
    #[prost(string, tag = "3")]
    replaced: String,
    #[prost(uint32, tag = "4")]
    prints: u32,
}

#[derive(Clone, PartialEq, Message)]
struct PrintJobRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    template: String,
    #[prost(uint32, tag = "3")]
    template_version: u32,
    #[prost(string, tag = "4")]
    operator: String,
    #[prost(int64, tag = "5")]
    created_at_ms: i64,
    #[prost(bool, tag = "6")]
    reprint: bool,
    #[prost(string, tag = "7")]
    reason: String,
    #[prost(message, repeated, tag = "8")]
    lines: Vec<PrintLineRecord>,
}

pub fn encode_print_job(job: &PrintJob) -> Vec<u8> {
    PrintJobRecord {
        id: job.id.clone(),
        template: job.template.clone(),
        template_version: job.template_version,
        operator: job.operator.clone(),
        created_at_ms: job.created_at_ms,
        reprint: job.reprint,
        reason: job.reason.clone().unwrap_or_default(),
        lines: job
            .lines
            .iter()
            .map(|l| PrintLineRecord {
                serial: l.serial.clone(),
                sku: l.sku.clone(),
                replaced: l.replaced.clone().unwrap_or_default(),
                prints: l.prints,
            })
            .collect(),
    }
    .encode_to_vec()
}

pub fn decode_print_job(bytes: &[u8]) -> Result<PrintJob, StoreError> {
    let r = PrintJobRecord::decode(bytes).map_err(|e| corrupt("print job record", e))?;
    Ok(PrintJob {
        id: r.id,
        template: r.template,
        template_version: r.template_version,
        operator: r.operator,
        created_at_ms: r.created_at_ms,
        reprint: r.reprint,
        reason: opt(r.reason),
        lines: r
            .lines
            .into_iter()
            .map(|l| PrintLine {
                serial: l.serial,
                sku: l.sku,
                replaced: opt(l.replaced),
                prints: l.prints,
            })
            .collect(),
    })
}
