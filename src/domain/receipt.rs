//! Goods-in against an expected list (an ASN or a PO): receipts with expected serials, or
//! expected quantities per SKU and lot, and how each receive scan matches them.

use super::warehouse::check_reference;
use super::{Change, LOT_LEN_MAX};
use super::{DocumentError, Outcome, Reason, Rejection, Scan, View, item::validate_sku};
use crate::barcode::SERIAL_LEN_MAX;

/// The most serials one receipt may expect.
pub const RECEIPT_SERIALS_MAX: usize = 100_000;
/// The most quantity lines one receipt may have.
pub const RECEIPT_LINES_MAX: usize = 1000;

/// What a receipt does with a unit it does not expect, or one over a line's quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnexpectedPolicy {
    /// Receive it with a WARNING, and report it at close.
    Warn,
    /// Refuse the scan: the unit stays on the dock.
    Reject,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptLine {
    pub sku: String,
    /// When set, only units of this lot fill the line.
    pub lot: Option<String>,
    pub quantity: u32,
    pub received: u32,
}

/// A serial a receipt expects, and its SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedSerial {
    pub serial: String,
    pub sku: String,
}

/// How a serial stands on a receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mark {
    /// Expected, not received yet.
    Expected,
    /// Expected and received.
    Received,
    /// Received against a quantity line.
    OnLine,
    /// Received though not expected (WARN policy).
    Unexpected,
    /// Received beyond a line's quantity (WARN policy).
    Over,
}

impl Mark {
    pub fn name(self) -> &'static str {
        match self {
            Mark::Expected => "SHORT",
            Mark::Received => "RECEIVED",
            Mark::OnLine => "RECEIVED_ON_LINE",
            Mark::Unexpected => "UNEXPECTED",
            Mark::Over => "OVER",
        }
    }
}

/// One serial on a receipt: what the close report lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptEntry {
    pub serial: String,
    pub sku: String,
    pub mark: Mark,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptClosure {
    pub at_ms: i64,
    pub by: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub id: String,
    /// The supplier or the PO/ASN reference, for people.
    pub supplier: String,
    pub policy: UnexpectedPolicy,
    pub lines: Vec<ReceiptLine>,
    /// Serials expected, and how many of them were received.
    pub expected_serials: u32,
    pub received_expected: u32,
    pub unexpected: u32,
    pub over: u32,
    pub created_at_ms: i64,
    pub closed: Option<ReceiptClosure>,
}

impl Receipt {
    /// Units expected and not received: expected serials not scanned, and what the lines
    /// still miss.
    pub fn short(&self) -> u64 {
        let serials = u64::from(self.expected_serials.saturating_sub(self.received_expected));
        let lines: u64 = self
            .lines
            .iter()
            .map(|l| u64::from(l.quantity.saturating_sub(l.received)))
            .sum();
        serials + lines
    }

    /// Units received against the receipt in any way.
    pub fn received(&self) -> u64 {
        u64::from(self.received_expected)
            + u64::from(self.unexpected)
            + u64::from(self.over)
            + self
                .lines
                .iter()
                .map(|l| u64::from(l.received))
                .sum::<u64>()
    }
}

fn line_accepts(line: &ReceiptLine, sku: &str, lot: Option<&String>) -> bool {
    line.sku == sku && line.lot.as_ref().is_none_or(|l| lot == Some(l))
}

/// Checks a new receipt: its id, lines and expected serials (unique, bounded, well formed).
pub fn check_receipt(receipt: &Receipt, expected: &[ExpectedSerial]) -> Result<(), DocumentError> {
    check_reference("receipt id", &receipt.id)?;
    if receipt.supplier.len() > super::REF_LEN_MAX || receipt.supplier.chars().any(char::is_control)
    {
        return Err(DocumentError::BadReference { what: "supplier" });
    }
    if receipt.lines.is_empty() && expected.is_empty() {
        return Err(DocumentError::Invalid(
            "a receipt expects serials, quantity lines, or both".to_owned(),
        ));
    }
    if receipt.lines.len() > RECEIPT_LINES_MAX {
        return Err(DocumentError::Invalid(format!(
            "a receipt has at most {RECEIPT_LINES_MAX} lines"
        )));
    }
    if expected.len() > RECEIPT_SERIALS_MAX {
        return Err(DocumentError::Invalid(format!(
            "a receipt expects at most {RECEIPT_SERIALS_MAX} serials, not {}",
            expected.len()
        )));
    }
    for (i, line) in receipt.lines.iter().enumerate() {
        let bad = |problem: String| DocumentError::Line {
            line: i + 1,
            problem,
        };
        validate_sku(&line.sku).map_err(|e| bad(e.to_string()))?;
        if line.quantity == 0 {
            return Err(bad("quantity must be at least 1".to_owned()));
        }
        if let Some(lot) = &line.lot
            && (lot.is_empty() || lot.chars().count() > LOT_LEN_MAX)
        {
            return Err(bad(format!("lot must be 1 to {LOT_LEN_MAX} characters")));
        }
        if line.received != 0 {
            return Err(bad("a new receipt has nothing received".to_owned()));
        }
    }
    let mut seen = std::collections::HashMap::with_capacity(expected.len());
    for (i, e) in expected.iter().enumerate() {
        let bad = |problem: String| {
            DocumentError::Invalid(format!("expected serial {}: {problem}", i + 1))
        };
        if e.serial.is_empty()
            || e.serial.chars().count() > SERIAL_LEN_MAX
            || e.serial.chars().any(char::is_control)
        {
            return Err(bad(format!(
                "serial must be 1 to {SERIAL_LEN_MAX} characters without control characters"
            )));
        }
        validate_sku(&e.sku).map_err(|err| bad(err.to_string()))?;
        if let Some(first) = seen.insert(e.serial.as_str(), i + 1) {
            return Err(bad(format!(
                "{} is listed twice (also number {first})",
                e.serial
            )));
        }
    }
    Ok(())
}

/// Matches an accepted receive against the receipt the scan names: an expected serial, a
/// quantity line with room, or (by the receipt's policy) an unexpected or over-quantity unit
/// received with a WARNING or refused. Scans without a receipt pass unchanged.
pub fn match_receipt<V: View>(
    scan: &Scan,
    mut change: Change,
    view: &mut V,
) -> Result<Result<Change, Rejection>, V::Error> {
    let Some(id) = &scan.receipt_id else {
        return Ok(Ok(change));
    };
    let Some(mut receipt) = view.receipt(id)? else {
        return Ok(Err(Rejection::new(
            Reason::UnknownReceipt,
            format!("no receipt {id}"),
        )));
    };
    if receipt.closed.is_some() {
        return Ok(Err(Rejection::new(
            Reason::Closed,
            format!("receipt {id} is closed"),
        )));
    }
    let Some(unit) = &change.unit else {
        return Ok(Ok(change));
    };
    let entry = view.receipt_entry(id, &unit.serial)?;
    let (mark, note, warning) = match entry {
        Some((Mark::Expected, sku)) if sku != unit.sku => {
            return Ok(Err(Rejection::new(
                Reason::WrongSku,
                format!(
                    "receipt {id} expects {} as SKU {sku}, not {}",
                    unit.serial, unit.sku
                ),
            )));
        }
        Some((Mark::Expected, _)) => {
            receipt.received_expected += 1;
            (
                Mark::Received,
                format!(
                    "expected on receipt {id} ({}/{})",
                    receipt.received_expected, receipt.expected_serials
                ),
                None,
            )
        }
        Some((mark, _)) => {
            return Ok(Err(Rejection::new(
                Reason::DuplicateSerial,
                format!(
                    "{} was already received on receipt {id} ({})",
                    unit.serial,
                    mark.name()
                ),
            )));
        }
        None => {
            let lot = unit.lot.as_ref();
            let open = receipt
                .lines
                .iter_mut()
                .enumerate()
                .find(|(_, l)| line_accepts(l, &unit.sku, lot) && l.received < l.quantity);
            if let Some((i, line)) = open {
                line.received += 1;
                (
                    Mark::OnLine,
                    format!(
                        "receipt {id} line {} {}/{}",
                        i + 1,
                        line.received,
                        line.quantity
                    ),
                    None,
                )
            } else if receipt
                .lines
                .iter()
                .any(|l| line_accepts(l, &unit.sku, lot))
            {
                let text = format!(
                    "receipt {id} already has every {}{} it expects",
                    unit.sku,
                    lot.map(|l| format!(" lot {l}")).unwrap_or_default()
                );
                if receipt.policy == UnexpectedPolicy::Reject {
                    return Ok(Err(Rejection::new(
                        Reason::OverQuantity,
                        format!("{text}; leave {} on the dock", unit.serial),
                    )));
                }
                receipt.over += 1;
                (Mark::Over, text, Some(Reason::OverQuantity))
            } else {
                let text = format!("{} ({}) is not on receipt {id}", unit.serial, unit.sku);
                if receipt.policy == UnexpectedPolicy::Reject {
                    return Ok(Err(Rejection::new(
                        Reason::Unexpected,
                        format!("{text}; leave it on the dock for the supervisor"),
                    )));
                }
                receipt.unexpected += 1;
                (Mark::Unexpected, text, Some(Reason::Unexpected))
            }
        }
    };
    change.message = format!("{}; {note}", change.message);
    if let Some(reason) = warning {
        change.outcome = Outcome::Warning;
        change.reason = reason;
    }
    change.receipt = Some((receipt, mark));
    Ok(Ok(change))
}
