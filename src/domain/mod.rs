//! The pure domain: items, units, scans and the decision a scan leads to.
//!
//! [`read_scan`] turns a scan's raw bytes into a serial and item hints; [`apply`] decides what
//! a read scan does to a unit, reading the current state through a [`View`]. Nothing here
//! touches the database, the network or the clock: the store lends its view and the time, and
//! persists what comes back.

pub mod issue;
pub mod item;
pub mod kpi;
pub mod label;
mod lifecycle;
pub mod picking;
pub mod receipt;
pub mod sets;
pub mod time;
mod view;
pub mod warehouse;

pub use item::{Item, ItemError};
pub use lifecycle::{TRANSITIONS, allowed_actions, apply, next_state};
pub use receipt::{ExpectedSerial, Mark, Receipt, ReceiptEntry, ReceiptLine, UnexpectedPolicy};
pub use sets::{SetKind, UnitSet};
pub use view::{MemoryView, View};
pub use warehouse::{
    Dispatch, DocumentAnswer, DocumentChange, DocumentError, DocumentOp, Hold, HoldKind, Order,
    OrderLine, Pick, PickChange, Recall, RecallRelease, RecallScope, Shipment, ShipmentClosure,
};

use uuid::Uuid;

use crate::barcode::{self, SERIAL_LEN_MAX};

/// The longest station or operator name, in bytes. A longer one is refused with
/// INVALID_ARGUMENT before anything is written.
pub const STATION_LEN_MAX: usize = 64;
/// The longest lot, in characters (what GS1 AI 10 allows). A longer one is refused with
/// INVALID_ARGUMENT.
pub const LOT_LEN_MAX: usize = 20;
/// The longest location, order id, shipment id, customer or RMA reference, in bytes.
pub const REF_LEN_MAX: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Receive,
    Putaway,
    Pick,
    Dispatch,
    Return,
    Quarantine,
    Scrap,
    /// A supervisor stops a unit from being picked or dispatched, with a reason.
    Block,
    /// A supervisor lifts a block.
    Release,
    /// Packs the scanned unit (or SSCC) into the parent the scan names.
    Aggregate,
    /// Takes the scanned unit (or SSCC) out of its set, or unpacks the set it is the parent of.
    Disaggregate,
    /// A serial issued (generated or imported) before the unit exists: the unit starts ISSUED.
    /// Logged by issuing, never sent as a scan.
    Issue,
    /// A serial voided because its label was replaced by a new serial. Logged by printing,
    /// never sent as a scan.
    Void,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Receive => "RECEIVE",
            Action::Putaway => "PUTAWAY",
            Action::Pick => "PICK",
            Action::Dispatch => "DISPATCH",
            Action::Return => "RETURN",
            Action::Quarantine => "QUARANTINE",
            Action::Scrap => "SCRAP",
            Action::Block => "BLOCK",
            Action::Release => "RELEASE",
            Action::Aggregate => "AGGREGATE",
            Action::Disaggregate => "DISAGGREGATE",
            Action::Issue => "ISSUE",
            Action::Void => "VOID",
        }
    }

    /// Every action a station may scan with (not ISSUE and VOID, which only the issuing and
    /// printing paths log).
    pub const ALL: [Action; 11] = [
        Action::Receive,
        Action::Putaway,
        Action::Pick,
        Action::Dispatch,
        Action::Return,
        Action::Quarantine,
        Action::Scrap,
        Action::Block,
        Action::Release,
        Action::Aggregate,
        Action::Disaggregate,
    ];
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntryMode {
    Scanned,
    Keyed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnitState {
    /// Issued (generated or imported) and not yet received: ours, but not yet in our hands.
    Issued,
    Received,
    Stored,
    Picked,
    Dispatched,
    Returned,
    Quarantined,
    Scrapped,
    /// Its label was replaced by another serial (`Unit::replaced_by`); nothing more happens to it.
    Voided,
}

impl UnitState {
    pub fn name(self) -> &'static str {
        match self {
            UnitState::Issued => "ISSUED",
            UnitState::Received => "RECEIVED",
            UnitState::Stored => "STORED",
            UnitState::Picked => "PICKED",
            UnitState::Dispatched => "DISPATCHED",
            UnitState::Returned => "RETURNED",
            UnitState::Quarantined => "QUARANTINED",
            UnitState::Scrapped => "SCRAPPED",
            UnitState::Voided => "VOIDED",
        }
    }

    pub const ALL: [UnitState; 9] = [
        UnitState::Issued,
        UnitState::Received,
        UnitState::Stored,
        UnitState::Picked,
        UnitState::Dispatched,
        UnitState::Returned,
        UnitState::Quarantined,
        UnitState::Scrapped,
        UnitState::Voided,
    ];
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

    pub const ALL: [Outcome; 3] = [Outcome::Accepted, Outcome::Rejected, Outcome::Warning];

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Ok,
    DuplicateSerial,
    BadFormat,
    UnknownItem,
    MissingField,
    ConflictingFields,
    FieldIgnored,
    UnsupportedAction,
    WrongState,
    OnHold,
    WrongSku,
    OverPick,
    UnknownUnit,
    UnknownOrder,
    UnknownShipment,
    WrongOrder,
    Closed,
    SuspectCounterfeit,
    WrongCustomer,
    AlreadyReturned,
    OutOfWarranty,
    UnknownReceipt,
    Unexpected,
    OverQuantity,
    AlreadyInSet,
    NotInSet,
    SetFull,
    NotIssued,
    Voided,
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
            Reason::WrongState => "WRONG_STATE",
            Reason::OnHold => "ON_HOLD",
            Reason::WrongSku => "WRONG_SKU",
            Reason::OverPick => "OVER_PICK",
            Reason::UnknownUnit => "UNKNOWN_UNIT",
            Reason::UnknownOrder => "UNKNOWN_ORDER",
            Reason::UnknownShipment => "UNKNOWN_SHIPMENT",
            Reason::WrongOrder => "WRONG_ORDER",
            Reason::Closed => "CLOSED",
            Reason::SuspectCounterfeit => "SUSPECT_COUNTERFEIT",
            Reason::WrongCustomer => "WRONG_CUSTOMER",
            Reason::AlreadyReturned => "ALREADY_RETURNED",
            Reason::OutOfWarranty => "OUT_OF_WARRANTY",
            Reason::UnknownReceipt => "UNKNOWN_RECEIPT",
            Reason::Unexpected => "UNEXPECTED",
            Reason::OverQuantity => "OVER_QUANTITY",
            Reason::AlreadyInSet => "ALREADY_IN_SET",
            Reason::NotInSet => "NOT_IN_SET",
            Reason::SetFull => "SET_FULL",
            Reason::NotIssued => "NOT_ISSUED",
            Reason::Voided => "VOIDED",
        }
    }

    /// Every reason, in declaration order (a test checks it against the API's list).
    pub const ALL: [Reason; 29] = [
        Reason::Ok,
        Reason::DuplicateSerial,
        Reason::BadFormat,
        Reason::UnknownItem,
        Reason::MissingField,
        Reason::ConflictingFields,
        Reason::FieldIgnored,
        Reason::UnsupportedAction,
        Reason::WrongState,
        Reason::OnHold,
        Reason::WrongSku,
        Reason::OverPick,
        Reason::UnknownUnit,
        Reason::UnknownOrder,
        Reason::UnknownShipment,
        Reason::WrongOrder,
        Reason::Closed,
        Reason::SuspectCounterfeit,
        Reason::WrongCustomer,
        Reason::AlreadyReturned,
        Reason::OutOfWarranty,
        Reason::UnknownReceipt,
        Reason::Unexpected,
        Reason::OverQuantity,
        Reason::AlreadyInSet,
        Reason::NotInSet,
        Reason::SetFull,
        Reason::NotIssued,
        Reason::Voided,
    ];
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
    /// Where the unit is: the receiving station, then its storage location, then the picking
    /// station; empty once dispatched.
    pub location: String,
    pub first_seen_station: String,
    pub first_seen_at_ms: i64,
    pub first_seen_seq: u64,
    /// The event that last changed the unit.
    pub last_seq: u64,
    /// When the unit was last received (a restocked return is received again).
    pub received_at_ms: i64,
    /// A recall or block: the unit may not be picked or dispatched.
    pub hold: Option<Hold>,
    /// The order the unit is picked for, while picked or after dispatch.
    pub order_id: Option<String>,
    pub shipment_id: Option<String>,
    /// Who the unit was dispatched to, and when.
    pub customer: Option<String>,
    pub dispatched_at_ms: i64,
    /// The manufacturer's own serial, when the unit carries one besides ours.
    pub mfr_serial: Option<String>,
    /// The set (kit serial or SSCC) the unit is packed in.
    pub parent: Option<String>,
    /// The serial that replaced this one when its label was reprinted under the REPLACE
    /// policy (the unit is VOIDED), or the serial this one replaced (the unit is the new one).
    pub replaced_by: Option<String>,
    pub replaces: Option<String>,
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
    /// Putaway: the storage location.
    pub location: Option<String>,
    /// Pick: the order.
    pub order_id: Option<String>,
    /// Dispatch: the shipment.
    pub shipment_id: Option<String>,
    /// Return: the customer on the RMA, and the RMA reference.
    pub customer: Option<String>,
    pub rma: Option<String>,
    /// Block: why the unit is blocked.
    pub hold_reason: Option<String>,
    /// Receive: the receipt (ASN or PO) the unit is matched against.
    pub receipt_id: Option<String>,
    /// Receive: the manufacturer's serial on the unit, besides ours.
    pub mfr_serial: Option<String>,
    /// Aggregate: the kit serial or SSCC the unit is packed into.
    pub parent: Option<String>,
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

/// What an accepted scan does: the unit as it is afterwards, the units a set carried along,
/// and the documents and sets it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// What the scan named: a unit's serial, or a set's id (an SSCC).
    pub subject: String,
    /// The unit the scan named, as it is afterwards; `None` when it named an SSCC.
    pub unit: Option<Unit>,
    /// Other units the scan changed: the units in a set whose parent was scanned.
    pub carried: Vec<Unit>,
    /// Sets the scan created or changed; a set left with no children is removed.
    pub sets: Vec<UnitSet>,
    /// AGGREGATE: the set the subject was packed into; DISAGGREGATE: the set it was taken out
    /// of, or the subject itself when it was a parent that was unpacked. The log keeps it as
    /// the event's reference.
    pub set: Option<String>,
    pub order: Option<Order>,
    /// Serials the scan added to or took off `order`'s picks, in the order they happened.
    pub picks: Vec<PickChange>,
    pub shipment: Option<Shipment>,
    /// Serials the scan dispatched on `shipment`.
    pub dispatches: Vec<Dispatch>,
    /// The receipt a receive matched, and how the unit stands on it.
    pub receipt: Option<(Receipt, Mark)>,
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
    /// Where the scan put the unit (putaway), when it names a location.
    pub location: Option<String>,
    /// The order (pick), shipment (dispatch) or RMA (return) the scan was made for.
    pub reference: Option<String>,
    /// The hash of the event before it in the log (`crate::audit`); `None` in events written
    /// before the chain existed.
    pub prev_hash: Option<[u8; 32]>,
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
    // A case or pallet label names its SSCC: the id of the set it carries.
    let Some(serial) = ids.serial.or(ids.sscc) else {
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

#[cfg(test)]
mod tests;
