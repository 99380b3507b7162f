//! Directed picking: which unit an order line should take next, and from where. First
//! expiring first (FEFO) among units whose expiry is known, then first received first (FIFO).
//! Pure: the store hands over the SKU's stored units in that order.

use super::{Order, Unit};
use crate::barcode::Date;

/// How many stored units of one SKU the store reads, in pick order, to find the next pick.
pub const STOCK_SCAN_MAX: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickStrategy {
    /// First expiring first: the unit's expiry date is known.
    Fefo,
    /// First received first: no expiry date is known.
    Fifo,
}

impl PickStrategy {
    pub fn name(self) -> &'static str {
        match self {
            PickStrategy::Fefo => "FEFO",
            PickStrategy::Fifo => "FIFO",
        }
    }
}

/// The unit to pick next for one line of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickAdvice {
    /// 1-based line number.
    pub line: usize,
    pub sku: String,
    pub lot: Option<String>,
    /// Units the line still needs.
    pub remaining: u32,
    pub unit: Unit,
    pub strategy: PickStrategy,
    /// Units passed over before this one: on hold, or past their expiry date.
    pub skipped_held: u32,
    pub skipped_expired: u32,
}

/// Why there is nothing to pick.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoPick {
    #[error("order {order} has {lines} lines; there is no line {line}")]
    NoLine {
        order: String,
        line: usize,
        lines: usize,
    },
    #[error("line {line} of order {order} is picked in full")]
    LineDone { order: String, line: usize },
    #[error("order {order} is picked in full")]
    OrderDone { order: String },
    #[error(
        "no unit of SKU {sku}{} is free to pick: {held} on hold, {expired} past expiry among the {looked} stored units looked at",
        lot.as_ref().map(|l| format!(" lot {l}")).unwrap_or_default()
    )]
    NoStock {
        sku: String,
        lot: Option<String>,
        held: u32,
        expired: u32,
        looked: usize,
    },
}

/// The line to advise for: `line` (1-based), or the first open line when `None`.
pub fn pick_line(order: &Order, line: Option<usize>) -> Result<usize, NoPick> {
    match line {
        Some(n) => {
            let Some(l) = n.checked_sub(1).and_then(|i| order.lines.get(i)) else {
                return Err(NoPick::NoLine {
                    order: order.id.clone(),
                    line: n,
                    lines: order.lines.len(),
                });
            };
            if l.open() {
                Ok(n)
            } else {
                Err(NoPick::LineDone {
                    order: order.id.clone(),
                    line: n,
                })
            }
        }
        None => order
            .lines
            .iter()
            .position(|l| l.open())
            .map(|i| i + 1)
            .ok_or_else(|| NoPick::OrderDone {
                order: order.id.clone(),
            }),
    }
}

/// The next unit for line `line` (from [`pick_line`]) out of `stock`: the line's SKU's stored
/// units in pick order (first expiring, then first received), holds already applied. Units of
/// another lot, on hold or past their expiry on `today` are passed over.
pub fn next_pick(
    order: &Order,
    line: usize,
    stock: &[Unit],
    today: Date,
) -> Result<PickAdvice, NoPick> {
    let wanted = &order.lines[line - 1];
    let (mut held, mut expired) = (0u32, 0u32);
    for unit in stock {
        if !wanted.accepts(unit) {
            continue;
        }
        if unit.hold.is_some() {
            held += 1;
            continue;
        }
        if unit.expiry.is_some_and(|e| e < today) {
            expired += 1;
            continue;
        }
        return Ok(PickAdvice {
            line,
            sku: wanted.sku.clone(),
            lot: wanted.lot.clone(),
            remaining: wanted.quantity.saturating_sub(wanted.n_picked),
            unit: unit.clone(),
            strategy: if unit.expiry.is_some() {
                PickStrategy::Fefo
            } else {
                PickStrategy::Fifo
            },
            skipped_held: held,
            skipped_expired: expired,
        });
    }
    Err(NoPick::NoStock {
        sku: wanted.sku.clone(),
        lot: wanted.lot.clone(),
        held,
        expired,
        looked: stock.len(),
    })
}
