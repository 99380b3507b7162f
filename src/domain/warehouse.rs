//! Orders, shipments, holds and recalls: the documents the warehouse stations scan against.
//! Plain values and pure checks; the store keeps them, `lifecycle` changes them.

use std::fmt;

use super::receipt::{ExpectedSerial, Receipt, ReceiptClosure, check_receipt};
use super::{REF_LEN_MAX, Unit, UnitState, item::validate_sku};

/// The most lines one order may have.
pub const ORDER_LINES_MAX: usize = 1000;
/// The most units one order may ask for, over all its lines. It bounds an order's pick list
/// (each pick is a key of its own in the store, beside the order's small record).
pub const ORDER_UNITS_MAX: u32 = 10_000;

/// Why a unit may not be picked or dispatched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HoldKind {
    Recalled,
    Blocked,
}

impl HoldKind {
    pub fn name(self) -> &'static str {
        match self {
            HoldKind::Recalled => "RECALLED",
            HoldKind::Blocked => "BLOCKED",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub kind: HoldKind,
    /// The recall id, or the reason given for a block.
    pub reference: String,
}

impl fmt::Display for Hold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.kind.name(), self.reference)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub sku: String,
    /// When set, only units of this lot fill the line.
    pub lot: Option<String>,
    pub quantity: u32,
    /// Picks on the line: the order's [`Pick`]s of this line, counted.
    pub n_picked: u32,
}

impl OrderLine {
    pub fn open(&self) -> bool {
        self.n_picked < self.quantity
    }

    pub fn accepts(&self, unit: &Unit) -> bool {
        self.sku == unit.sku
            && self
                .lot
                .as_ref()
                .is_none_or(|lot| unit.lot.as_ref() == Some(lot))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: String,
    pub customer: String,
    pub lines: Vec<OrderLine>,
    pub created_at_ms: i64,
    /// The order's shipment, once created (one per order).
    pub shipment_id: Option<String>,
    /// Picks ever made for the order, put back or not: the next pick's place in pick order.
    pub picks_made: u64,
}

/// A serial picked for an order. The serials are kept apart from the order (the store keeps
/// one key per pick), so that a pick changes the order by a count, not by its whole list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    pub order_id: String,
    pub serial: String,
    /// The line it fills: an index into the order's lines.
    pub line: usize,
    /// Its place in the order's pick order ([`Order::picks_made`] when it was picked).
    pub ordinal: u64,
}

/// A change a scan makes to an order's picks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PickChange {
    Picked(Pick),
    /// A picked unit put back: it leaves its order line.
    PutBack(Pick),
}

/// Orders picks as an order lists them: by line, then in pick order.
pub fn sort_picks(picks: &mut [Pick]) {
    picks.sort_by(|a, b| (a.line, a.ordinal, &a.serial).cmp(&(b.line, b.ordinal, &b.serial)));
}

/// A serial scanned at dispatch for a shipment, kept apart from the shipment like a [`Pick`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispatch {
    pub shipment_id: String,
    pub serial: String,
    /// Its place in scan order ([`Shipment::n_dispatched`] before it was scanned).
    pub ordinal: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentClosure {
    pub closed_at_ms: i64,
    /// Serials picked for the order and serials scanned at dispatch, when it was closed.
    pub picked: u32,
    pub dispatched: u32,
    /// The supervisor who closed it below 100 % verification.
    pub override_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shipment {
    pub id: String,
    pub order_id: String,
    pub customer: String,
    /// Serials scanned at dispatch: the shipment's [`Dispatch`]es, counted.
    pub n_dispatched: u32,
    pub created_at_ms: i64,
    pub closed: Option<ShipmentClosure>,
}

/// Why a warehouse document cannot be created or changed as asked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    #[error("{what} must be 1 to {REF_LEN_MAX} bytes without control characters")]
    BadReference { what: &'static str },
    #[error("order needs 1 to {ORDER_LINES_MAX} lines")]
    LineCount,
    #[error("line {line}: {problem}")]
    Line { line: usize, problem: String },
    #[error("order asks for {total} units; at most {ORDER_UNITS_MAX} per order")]
    TooManyUnits { total: u64 },
    #[error("{what} {id} already exists")]
    Exists { what: &'static str, id: String },
    #[error("no {what} {id}")]
    NotFound { what: &'static str, id: String },
    #[error("order {order} already has shipment {shipment}")]
    OrderShipped { order: String, shipment: String },
    #[error("shipment {0} is already closed")]
    AlreadyClosed(String),
    #[error("recall {0} is already released")]
    AlreadyReleased(String),
    #[error("receipt {0} is already closed")]
    ReceiptClosed(String),
    #[error("{0}")]
    Invalid(String),
    #[error(
        "shipment {id} verified {dispatched} of {picked} picked serials ({percent}%); not scanned at dispatch: {missing}. Scan them, or close with a supervisor override"
    )]
    Unverified {
        id: String,
        picked: u32,
        dispatched: u32,
        percent: u32,
        missing: String,
    },
}

/// Checks an id, location, customer or reference given by a client.
pub fn check_reference(what: &'static str, text: &str) -> Result<(), DocumentError> {
    if text.is_empty() || text.len() > REF_LEN_MAX || text.chars().any(char::is_control) {
        return Err(DocumentError::BadReference { what });
    }
    Ok(())
}

/// Checks a new order's shape (ids, SKUs, quantities, bounds).
pub fn check_order(order: &Order) -> Result<(), DocumentError> {
    check_reference("order id", &order.id)?;
    check_reference("customer", &order.customer)?;
    if order.lines.is_empty() || order.lines.len() > ORDER_LINES_MAX {
        return Err(DocumentError::LineCount);
    }
    let mut total = 0u64;
    for (i, line) in order.lines.iter().enumerate() {
        let bad = |problem: String| DocumentError::Line {
            line: i + 1,
            problem,
        };
        validate_sku(&line.sku).map_err(|e| bad(e.to_string()))?;
        if line.quantity == 0 {
            return Err(bad("quantity must be at least 1".to_owned()));
        }
        if let Some(lot) = &line.lot {
            check_reference("lot", lot).map_err(|e| bad(e.to_string()))?;
        }
        if line.n_picked != 0 {
            return Err(bad("a new order has nothing picked".to_owned()));
        }
        total += u64::from(line.quantity);
    }
    if total > u64::from(ORDER_UNITS_MAX) {
        return Err(DocumentError::TooManyUnits { total });
    }
    Ok(())
}

/// Closes a shipment: every serial picked for its order (`picks`, as [`sort_picks`] orders
/// them) must have been scanned at dispatch (`dispatched`), unless a supervisor overrides
/// (recorded in the closure).
pub fn close_shipment(
    shipment: &Shipment,
    picks: &[Pick],
    dispatched: &[String],
    override_by: Option<&str>,
    now_ms: i64,
) -> Result<Shipment, DocumentError> {
    if shipment.closed.is_some() {
        return Err(DocumentError::AlreadyClosed(shipment.id.clone()));
    }
    let picked: Vec<&String> = picks.iter().map(|p| &p.serial).collect();
    let dispatched: std::collections::HashSet<&String> = dispatched.iter().collect();
    let missing: Vec<&str> = picked
        .iter()
        .filter(|s| !dispatched.contains(*s))
        .map(|s| s.as_str())
        .collect();
    let to_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let (n_picked, n_dispatched) = (to_u32(picked.len()), to_u32(picked.len() - missing.len()));
    if !missing.is_empty() && override_by.is_none() {
        let shown: Vec<&str> = missing.iter().take(20).copied().collect();
        let more = missing.len() - shown.len();
        return Err(DocumentError::Unverified {
            id: shipment.id.clone(),
            picked: n_picked,
            dispatched: n_dispatched,
            percent: verification_percent(n_dispatched, n_picked),
            missing: if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            },
        });
    }
    Ok(Shipment {
        closed: Some(ShipmentClosure {
            closed_at_ms: now_ms,
            picked: n_picked,
            dispatched: n_dispatched,
            override_by: if missing.is_empty() {
                None
            } else {
                override_by.map(str::to_owned)
            },
        }),
        ..shipment.clone()
    })
}

/// Serials verified at dispatch as a whole percentage of serials picked (100 when none were
/// picked), rounded down so that 99.9 % never shows as 100.
pub fn verification_percent(dispatched: u32, picked: u32) -> u32 {
    if picked == 0 {
        return 100;
    }
    u32::try_from(u64::from(dispatched) * 100 / u64::from(picked)).unwrap_or(100)
}

/// What a recall selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecallScope {
    /// Every unit of a SKU's lot.
    Lot { sku: String, lot: String },
    /// Every serial from `first` to `last` inclusive, in byte order.
    SerialRange { first: String, last: String },
    /// Every unit received in `[from_ms, to_ms)`.
    ReceivedBetween { from_ms: i64, to_ms: i64 },
}

impl RecallScope {
    pub fn covers(&self, unit: &Unit) -> bool {
        match self {
            RecallScope::Lot { sku, lot } => &unit.sku == sku && unit.lot.as_ref() == Some(lot),
            RecallScope::SerialRange { first, last } => {
                unit.serial.as_str() >= first.as_str() && unit.serial.as_str() <= last.as_str()
            }
            RecallScope::ReceivedBetween { from_ms, to_ms } => {
                unit.received_at_ms >= *from_ms && unit.received_at_ms < *to_ms
            }
        }
    }

    pub fn check(&self) -> Result<(), DocumentError> {
        match self {
            RecallScope::Lot { sku, lot } => {
                validate_sku(sku).map_err(|e| DocumentError::Invalid(e.to_string()))?;
                check_reference("lot", lot)
            }
            RecallScope::SerialRange { first, last } => {
                check_reference("first serial", first)?;
                check_reference("last serial", last)?;
                if first > last {
                    return Err(DocumentError::Invalid(format!(
                        "serial range has first after last: {first:?} sorts after {last:?}"
                    )));
                }
                Ok(())
            }
            RecallScope::ReceivedBetween { from_ms, to_ms } => {
                if from_ms >= to_ms {
                    return Err(DocumentError::Invalid(format!(
                        "date range has from not before to: from_ms {from_ms} is not before to_ms {to_ms}"
                    )));
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for RecallScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecallScope::Lot { sku, lot } => write!(f, "lot {lot} of SKU {sku}"),
            RecallScope::SerialRange { first, last } => write!(f, "serials {first} to {last}"),
            RecallScope::ReceivedBetween { from_ms, to_ms } => write!(
                f,
                "units received from {} to {}",
                super::time::format_utc(*from_ms),
                super::time::format_utc(*to_ms)
            ),
        }
    }
}

/// The longest recall reason or block reason, in bytes.
pub const REASON_LEN_MAX: usize = 256;

/// A recall: a scope of units held from picking and dispatch until it is released. The hold
/// is derived, not written into each unit: every unit the scope covers is on hold while the
/// recall is active, including units received after the recall was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recall {
    pub id: String,
    pub scope: RecallScope,
    pub reason: String,
    pub created_by: String,
    pub created_at_ms: i64,
    pub released: Option<RecallRelease>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecallRelease {
    pub at_ms: i64,
    pub by: String,
}

impl Recall {
    pub fn active(&self) -> bool {
        self.released.is_none()
    }

    /// Checks a new recall's shape.
    pub fn check(&self) -> Result<(), DocumentError> {
        check_reference("recall id", &self.id)?;
        check_reference("operator", &self.created_by)?;
        if self.reason.is_empty()
            || self.reason.len() > REASON_LEN_MAX
            || self.reason.chars().any(char::is_control)
        {
            return Err(DocumentError::Invalid(format!(
                "recall reason must be 1 to {REASON_LEN_MAX} bytes without control characters (got {} bytes)",
                self.reason.len()
            )));
        }
        self.scope.check()
    }
}

/// The hold the first active recall covering `unit` puts on it.
pub fn recall_hold<'r>(recalls: impl IntoIterator<Item = &'r Recall>, unit: &Unit) -> Option<Hold> {
    recalls
        .into_iter()
        .find(|r| r.active() && r.scope.covers(unit))
        .map(|r| Hold {
            kind: HoldKind::Recalled,
            reference: r.id.clone(),
        })
}

/// Where a unit is now, for an operator: a location, or a customer and shipment.
pub fn whereabouts(unit: &Unit) -> String {
    match unit.state {
        UnitState::Dispatched => {
            format!(
                "DISPATCHED to {} on shipment {}",
                unit.customer.as_deref().unwrap_or("?"),
                unit.shipment_id.as_deref().unwrap_or("?")
            )
        }
        UnitState::Scrapped => "SCRAPPED".to_owned(),
        state => format!("{} at {}", state.name(), unit.location),
    }
}

/// A change to the warehouse documents, decided by [`decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentOp {
    CreateOrder(Order),
    CreateShipment {
        id: String,
        order_id: String,
    },
    CloseShipment {
        id: String,
        override_by: Option<String>,
    },
    /// A new recall; its `created_at_ms` is set when it is recorded.
    CreateRecall(Recall),
    /// A new receipt with the serials it expects.
    CreateReceipt {
        receipt: Receipt,
        expected: Vec<ExpectedSerial>,
    },
    CloseReceipt {
        id: String,
        by: String,
    },
    ReleaseRecall {
        id: String,
        by: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentAnswer {
    Order(Order),
    Shipment(Shipment),
    Recall(Recall),
    Receipt(Receipt),
}

/// What a document op writes, and what it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentChange {
    pub order: Option<Order>,
    pub shipment: Option<Shipment>,
    pub recall: Option<Recall>,
    pub receipt: Option<Receipt>,
    /// A new receipt's expected serials, to be written with it.
    pub expected: Vec<ExpectedSerial>,
    pub answer: DocumentAnswer,
}

/// Decides a document op against the current state. Pure apart from what `view` reads.
pub fn decide<V: super::View>(
    op: DocumentOp,
    view: &mut V,
    now_ms: i64,
) -> Result<Result<DocumentChange, DocumentError>, V::Error> {
    Ok(match op {
        DocumentOp::CreateOrder(order) => match view.order(&order.id)? {
            Some(_) => Err(DocumentError::Exists {
                what: "order",
                id: order.id,
            }),
            None => {
                let order = Order {
                    created_at_ms: now_ms,
                    shipment_id: None,
                    picks_made: 0,
                    ..order
                };
                Ok(DocumentChange {
                    order: Some(order.clone()),
                    shipment: None,
                    recall: None,
                    receipt: None,
                    expected: Vec::new(),
                    answer: DocumentAnswer::Order(order),
                })
            }
        },
        DocumentOp::CreateShipment { id, order_id } => {
            if view.shipment(&id)?.is_some() {
                return Ok(Err(DocumentError::Exists {
                    what: "shipment",
                    id,
                }));
            }
            match view.order(&order_id)? {
                None => Err(DocumentError::NotFound {
                    what: "order",
                    id: order_id,
                }),
                Some(Order {
                    shipment_id: Some(existing),
                    ..
                }) => Err(DocumentError::OrderShipped {
                    order: order_id,
                    shipment: existing,
                }),
                Some(order) => {
                    let shipment = Shipment {
                        id: id.clone(),
                        order_id,
                        customer: order.customer.clone(),
                        n_dispatched: 0,
                        created_at_ms: now_ms,
                        closed: None,
                    };
                    Ok(DocumentChange {
                        order: Some(Order {
                            shipment_id: Some(id),
                            ..order
                        }),
                        shipment: Some(shipment.clone()),
                        recall: None,
                        receipt: None,
                        expected: Vec::new(),
                        answer: DocumentAnswer::Shipment(shipment),
                    })
                }
            }
        }
        DocumentOp::CloseShipment { id, override_by } => {
            let Some(shipment) = view.shipment(&id)? else {
                return Ok(Err(DocumentError::NotFound {
                    what: "shipment",
                    id,
                }));
            };
            if view.order(&shipment.order_id)?.is_none() {
                return Ok(Err(DocumentError::NotFound {
                    what: "order",
                    id: shipment.order_id,
                }));
            }
            let picks = view.order_picks(&shipment.order_id)?;
            let dispatched = view.shipment_dispatched(&shipment.id)?;
            let closing = close_shipment(
                &shipment,
                &picks,
                &dispatched,
                override_by.as_deref(),
                now_ms,
            );
            closing.map(|closed| DocumentChange {
                order: None,
                shipment: Some(closed.clone()),
                recall: None,
                receipt: None,
                expected: Vec::new(),
                answer: DocumentAnswer::Shipment(closed),
            })
        }
        DocumentOp::CreateRecall(recall) => match view.recall(&recall.id)? {
            Some(_) => Err(DocumentError::Exists {
                what: "recall",
                id: recall.id,
            }),
            None => {
                let recall = Recall {
                    created_at_ms: now_ms,
                    released: None,
                    ..recall
                };
                Ok(recall_change(recall))
            }
        },
        DocumentOp::CreateReceipt { receipt, expected } => {
            if let Err(e) = check_receipt(&receipt, &expected) {
                return Ok(Err(e));
            }
            if view.receipt(&receipt.id)?.is_some() {
                return Ok(Err(DocumentError::Exists {
                    what: "receipt",
                    id: receipt.id,
                }));
            }
            let mut skus: Vec<&str> = expected
                .iter()
                .map(|e| e.sku.as_str())
                .chain(receipt.lines.iter().map(|l| l.sku.as_str()))
                .collect();
            skus.sort_unstable();
            skus.dedup();
            for sku in skus {
                if view.item(sku)?.is_none() {
                    return Ok(Err(DocumentError::NotFound {
                        what: "item",
                        id: sku.to_owned(),
                    }));
                }
            }
            let receipt = Receipt {
                expected_serials: u32::try_from(expected.len()).unwrap_or(u32::MAX),
                received_expected: 0,
                unexpected: 0,
                over: 0,
                created_at_ms: now_ms,
                closed: None,
                ..receipt
            };
            Ok(receipt_change(receipt, expected))
        }
        DocumentOp::CloseReceipt { id, by } => match view.receipt(&id)? {
            None => Err(DocumentError::NotFound {
                what: "receipt",
                id,
            }),
            Some(receipt) if receipt.closed.is_some() => {
                Err(DocumentError::ReceiptClosed(receipt.id))
            }
            Some(receipt) => Ok(receipt_change(
                Receipt {
                    closed: Some(ReceiptClosure { at_ms: now_ms, by }),
                    ..receipt
                },
                Vec::new(),
            )),
        },
        DocumentOp::ReleaseRecall { id, by } => match view.recall(&id)? {
            None => Err(DocumentError::NotFound { what: "recall", id }),
            Some(recall) if !recall.active() => Err(DocumentError::AlreadyReleased(id)),
            Some(recall) => Ok(recall_change(Recall {
                released: Some(RecallRelease { at_ms: now_ms, by }),
                ..recall
            })),
        },
    })
}

fn recall_change(recall: Recall) -> DocumentChange {
    DocumentChange {
        order: None,
        shipment: None,
        recall: Some(recall.clone()),
        receipt: None,
        expected: Vec::new(),
        answer: DocumentAnswer::Recall(recall),
    }
}

fn receipt_change(receipt: Receipt, expected: Vec<ExpectedSerial>) -> DocumentChange {
    DocumentChange {
        order: None,
        shipment: None,
        recall: None,
        receipt: Some(receipt.clone()),
        expected,
        answer: DocumentAnswer::Receipt(receipt),
    }
}
