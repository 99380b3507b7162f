//! The pure domain: items, units, scans and the decision a scan leads to.
//!
//! [`read_scan`] turns a scan's raw bytes into a serial and item hints; [`apply`] decides what
//! a read scan does to a unit, reading the current state through a [`View`]. Nothing here
//! touches the database, the network or the clock: the store lends its view and the time, and
//! persists what comes back.

pub mod item;
pub mod time;
mod view;

pub use item::{Item, ItemError};
pub use view::{MemoryView, View};

use uuid::Uuid;

use crate::barcode::{self, SERIAL_LEN_MAX};

/// The longest station or operator name, in bytes. A longer one is refused with
/// INVALID_ARGUMENT before anything is written.
pub const STATION_LEN_MAX: usize = 64;
/// The longest lot, in characters (what GS1 AI 10 allows). A longer one is refused with
/// INVALID_ARGUMENT.
pub const LOT_LEN_MAX: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Receive,
    Putaway,
    Pick,
    Dispatch,
    Return,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Receive => "RECEIVE",
            Action::Putaway => "PUTAWAY",
            Action::Pick => "PICK",
            Action::Dispatch => "DISPATCH",
            Action::Return => "RETURN",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryMode {
    Scanned,
    Keyed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnitState {
    Received,
}

impl UnitState {
    pub fn name(self) -> &'static str {
        match self {
            UnitState::Received => "RECEIVED",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Accepted,
    Rejected,
    Warning,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Accepted => "ACCEPTED",
            Outcome::Rejected => "REJECTED",
            Outcome::Warning => "WARNING",
        }
    }

    /// The cue a handheld turns into a beep or a colour.
    pub fn feedback(self) -> Feedback {
        match self {
            Outcome::Accepted => Feedback::Good,
            Outcome::Rejected => Feedback::Bad,
            Outcome::Warning => Feedback::Warn,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Feedback {
    Good,
    Bad,
    Warn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Ok,
    DuplicateSerial,
    BadFormat,
    UnknownItem,
    MissingField,
    ConflictingFields,
    FieldIgnored,
    UnsupportedAction,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::Ok => "OK",
            Reason::DuplicateSerial => "DUPLICATE_SERIAL",
            Reason::BadFormat => "BAD_FORMAT",
            Reason::UnknownItem => "UNKNOWN_ITEM",
            Reason::MissingField => "MISSING_FIELD",
            Reason::ConflictingFields => "CONFLICTING_FIELDS",
            Reason::FieldIgnored => "FIELD_IGNORED",
            Reason::UnsupportedAction => "UNSUPPORTED_ACTION",
        }
    }
}

/// A serialized unit as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub serial: String,
    pub sku: String,
    pub gtin: Option<String>,
    pub lot: Option<String>,
    /// The expiry date the barcode carried (GS1 AI 17).
    pub expiry: Option<barcode::Date>,
    pub state: UnitState,
    pub location: String,
    pub first_seen_station: String,
    pub first_seen_at_ms: i64,
    pub first_seen_seq: u64,
    /// The event that last changed the unit.
    pub last_seq: u64,
}

/// A scan as a station sent it, already checked for shape (sizes, ids, enums).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scan {
    pub event_id: Uuid,
    pub station: String,
    pub operator: String,
    pub action: Action,
    pub raw: Vec<u8>,
    pub sku: Option<String>,
    pub lot: Option<String>,
    pub entry_mode: EntryMode,
    pub client_time_ms: i64,
}

/// What the raw bytes of a scan were read as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadScan {
    pub serial: String,
    pub gtin: Option<String>,
    /// The lot from the barcode, or else from the request.
    pub lot: Option<String>,
    pub expiry: Option<barcode::Date>,
    pub warnings: Vec<String>,
}

/// A scan that does not change any unit, with the reason an operator is shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub reason: Reason,
    pub message: String,
    /// The unit's state when the rejection is about an existing unit.
    pub state: Option<UnitState>,
}

impl Rejection {
    pub fn new(reason: Reason, message: impl Into<String>) -> Rejection {
        Rejection {
            reason,
            message: message.into(),
            state: None,
        }
    }
}

/// What an accepted scan does: the unit as it is afterwards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub unit: Unit,
    pub outcome: Outcome,
    pub reason: Reason,
    pub message: String,
}

/// A scan with the store's decision about it: the record of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub event_id: Uuid,
    pub recorded_at_ms: i64,
    pub client_time_ms: i64,
    pub station: String,
    pub operator: String,
    pub action: Action,
    pub raw: Vec<u8>,
    pub entry_mode: EntryMode,
    /// Empty when the scan could not be read as a serial.
    pub serial: String,
    pub sku: String,
    /// What the barcode carried besides the serial.
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub expiry: Option<barcode::Date>,
    pub outcome: Outcome,
    pub reason: Reason,
    pub message: String,
    pub state_after: Option<UnitState>,
}

/// Reads the raw bytes of a scan. Pure: `today` (UTC) only resolves the century of two-digit
/// barcode dates. The store calls [`apply`] with the result.
pub fn read_scan(scan: &Scan, today: barcode::Date) -> Result<ReadScan, Rejection> {
    if scan.station.is_empty() {
        return Err(Rejection::new(
            Reason::MissingField,
            "station is missing; configure the handheld's station name",
        ));
    }
    let ids = barcode::interpret_scan(&scan.raw, today).map_err(|e| {
        Rejection::new(Reason::BadFormat, format!("barcode could not be read: {e}"))
    })?;
    let Some(serial) = ids.serial else {
        return Err(Rejection::new(
            Reason::MissingField,
            "barcode carries no serial number; scan the unit's serial label",
        ));
    };
    if serial.chars().count() > SERIAL_LEN_MAX {
        return Err(Rejection::new(
            Reason::BadFormat,
            format!("serial is longer than {SERIAL_LEN_MAX} characters"),
        ));
    }
    let lot = match (ids.lot, &scan.lot) {
        (Some(from_barcode), Some(from_request)) if &from_barcode != from_request => {
            return Err(Rejection::new(
                Reason::ConflictingFields,
                format!("barcode says lot {from_barcode:?} but the scan says lot {from_request:?}"),
            ));
        }
        (Some(lot), _) => Some(lot),
        (None, lot) => lot.clone(),
    };
    Ok(ReadScan {
        serial,
        gtin: ids.gtin,
        lot,
        expiry: ids.expiry,
        warnings: ids.warnings,
    })
}

/// Decides what a scan does, reading what it needs through `view`. `seq` is the sequence
/// number the event will get and `now_ms` the server's time. The outer error is the view's
/// (a failed read); the inner one is the business answer.
pub fn apply<V: View>(
    scan: &Scan,
    read: &ReadScan,
    view: &mut V,
    seq: u64,
    now_ms: i64,
) -> Result<Result<Change, Rejection>, V::Error> {
    let item = match resolve_item(scan, read, view)? {
        Ok(item) => item,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let serial = item.serial_rule.canonical(&read.serial).into_owned();
    if let Err(violation) = item.serial_rule.check(&serial) {
        return Ok(Err(Rejection::new(
            Reason::BadFormat,
            format!(
                "serial {} does not fit SKU {}: {violation}",
                read.serial, item.sku
            ),
        )));
    }
    let mut notes = Vec::new();
    if serial != read.serial {
        notes.push(format!(
            "read {} as {serial} (letters that look like digits)",
            read.serial
        ));
    }
    notes.extend(read.warnings.iter().cloned());
    let current = view.unit(&serial)?;
    Ok(match scan.action {
        Action::Receive => receive(scan, read, &item, serial, current, notes, seq, now_ms),
        other => Err(Rejection::new(
            Reason::UnsupportedAction,
            format!(
                "action {} is not available on this server yet; only RECEIVE is",
                other.name()
            ),
        )),
    })
}

fn resolve_item<V: View>(
    scan: &Scan,
    read: &ReadScan,
    view: &mut V,
) -> Result<Result<Item, Rejection>, V::Error> {
    Ok(match (&read.gtin, &scan.sku) {
        (Some(gtin), sku) => match view.item_by_gtin(gtin)? {
            None => Err(Rejection::new(
                Reason::UnknownItem,
                format!("no item has GTIN {gtin}; add it to the catalog first"),
            )),
            Some(item) => match sku {
                Some(sku) if sku != &item.sku => Err(Rejection::new(
                    Reason::ConflictingFields,
                    format!("barcode GTIN {gtin} belongs to SKU {}, not {sku}", item.sku),
                )),
                _ => Ok(item),
            },
        },
        (None, Some(sku)) => view.item(sku)?.ok_or_else(|| {
            Rejection::new(
                Reason::UnknownItem,
                format!("no item has SKU {sku}; add it to the catalog first"),
            )
        }),
        (None, None) => Err(Rejection::new(
            Reason::MissingField,
            "barcode does not name the item; choose the SKU on the handheld",
        )),
    })
}

#[allow(clippy::too_many_arguments)]
fn receive(
    scan: &Scan,
    read: &ReadScan,
    item: &Item,
    serial: String,
    current: Option<Unit>,
    notes: Vec<String>,
    seq: u64,
    now_ms: i64,
) -> Result<Change, Rejection> {
    if let Some(unit) = current {
        return Err(Rejection {
            reason: Reason::DuplicateSerial,
            message: format!(
                "serial {} was already received at station {} on {} (event {})",
                unit.serial,
                unit.first_seen_station,
                time::format_utc(unit.first_seen_at_ms),
                unit.first_seen_seq
            ),
            state: Some(unit.state),
        });
    }
    let mut warnings = Vec::new();
    let lot = match (&read.lot, item.lot_tracked) {
        (None, true) => {
            return Err(Rejection::new(
                Reason::MissingField,
                format!("SKU {} is lot tracked; scan or enter the lot", item.sku),
            ));
        }
        (Some(lot), false) => {
            warnings.push(format!(
                "lot {lot} ignored: SKU {} is not lot tracked",
                item.sku
            ));
            None
        }
        (lot, true) => lot.clone(),
        (None, false) => None,
    };
    let unit = Unit {
        serial,
        sku: item.sku.clone(),
        gtin: item.gtin.clone(),
        lot,
        expiry: read.expiry,
        state: UnitState::Received,
        location: scan.station.clone(),
        first_seen_station: scan.station.clone(),
        first_seen_at_ms: now_ms,
        first_seen_seq: seq,
        last_seq: seq,
    };
    let mut message = format!("received {} ({})", unit.serial, unit.sku);
    for note in warnings.iter().chain(&notes) {
        message.push_str("; ");
        message.push_str(note);
    }
    // Scanner noise the barcode layer cleaned up is worth a note, not an operator's attention;
    // a field the scan carried that was dropped is.
    let (outcome, reason) = if warnings.is_empty() {
        (Outcome::Accepted, Reason::Ok)
    } else {
        (Outcome::Warning, Reason::FieldIgnored)
    };
    Ok(Change {
        unit,
        outcome,
        reason,
        message,
    })
}

#[cfg(test)]
mod tests;
