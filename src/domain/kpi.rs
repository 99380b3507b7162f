//! Operational KPIs: per UTC day, station and operator, what was scanned and how it ended,
//! counted as each event is written; and the document rates (serial capture at receiving,
//! verification at dispatch) computed from receipts and shipments closed on a day.

use std::collections::BTreeMap;

use super::{Action, EntryMode, Event, Outcome, Reason, Receipt, Shipment, time};
use crate::barcode::Date;

/// The longest date range one KPI report covers, in days.
pub const KPI_DAYS_MAX: i64 = 366;

/// Whose counters: one UTC day at one station by one operator.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KpiKey {
    pub day: Date,
    pub station: String,
    pub operator: String,
}

/// What one station and operator did on one day.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KpiCounts {
    pub scans: u64,
    /// Scans keyed in by hand rather than scanned.
    pub keyed: u64,
    pub accepted: u64,
    pub warnings: u64,
    pub rejected: u64,
    pub rejections: BTreeMap<Reason, u64>,
    /// Units received (serial captured), and of those, received against a receipt.
    pub received: u64,
    pub received_on_receipt: u64,
    /// Units dispatched (a pallet's scan counts every unit it carried).
    pub dispatched: u64,
}

impl KpiCounts {
    /// Counts one new event; `units` is how many units it changed (more than one when a set's
    /// parent was scanned).
    pub fn count(&mut self, event: &Event, units: u64) {
        self.scans += 1;
        if event.entry_mode == EntryMode::Keyed {
            self.keyed += 1;
        }
        match event.outcome {
            Outcome::Accepted => self.accepted += 1,
            Outcome::Warning => self.warnings += 1,
            Outcome::Rejected => {
                self.rejected += 1;
                *self.rejections.entry(event.reason).or_default() += 1;
                return;
            }
        }
        match event.action {
            Action::Receive => {
                self.received += units;
                if event.reference.is_some() {
                    self.received_on_receipt += units;
                }
            }
            Action::Dispatch => self.dispatched += units,
            _ => {}
        }
    }

    pub fn add(&mut self, other: &KpiCounts) {
        self.scans += other.scans;
        self.keyed += other.keyed;
        self.accepted += other.accepted;
        self.warnings += other.warnings;
        self.rejected += other.rejected;
        for (reason, n) in &other.rejections {
            *self.rejections.entry(*reason).or_default() += n;
        }
        self.received += other.received;
        self.received_on_receipt += other.received_on_receipt;
        self.dispatched += other.dispatched;
    }
}

impl KpiKey {
    pub fn of(event: &Event) -> KpiKey {
        KpiKey {
            day: time::date_utc(event.recorded_at_ms),
            station: event.station.clone(),
            operator: event.operator.clone(),
        }
    }
}

/// Serial capture at receiving for one receipt: of the units it expected, how many were
/// scanned against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRate {
    pub id: String,
    /// The day it was closed; `None` while open (counted to date).
    pub closed_on: Option<Date>,
    pub expected: u64,
    pub captured: u64,
    pub unexpected: u64,
}

impl ReceiptRate {
    pub fn of(receipt: &Receipt) -> ReceiptRate {
        let line_expected: u64 = receipt.lines.iter().map(|l| u64::from(l.quantity)).sum();
        let line_captured: u64 = receipt
            .lines
            .iter()
            .map(|l| u64::from(l.received.min(l.quantity)))
            .sum();
        ReceiptRate {
            id: receipt.id.clone(),
            closed_on: receipt.closed.as_ref().map(|c| time::date_utc(c.at_ms)),
            expected: u64::from(receipt.expected_serials) + line_expected,
            captured: u64::from(receipt.received_expected) + line_captured,
            unexpected: u64::from(receipt.unexpected) + u64::from(receipt.over),
        }
    }
}

/// Verification at dispatch for one closed shipment: serials scanned at dispatch of those
/// picked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipmentRate {
    pub id: String,
    pub closed_on: Date,
    pub picked: u64,
    pub verified: u64,
    /// The supervisor who closed it below 100 %.
    pub override_by: Option<String>,
}

impl ShipmentRate {
    pub fn of(shipment: &Shipment) -> Option<ShipmentRate> {
        let closed = shipment.closed.as_ref()?;
        Some(ShipmentRate {
            id: shipment.id.clone(),
            closed_on: time::date_utc(closed.closed_at_ms),
            picked: u64::from(closed.picked),
            verified: u64::from(closed.dispatched.min(closed.picked)),
            override_by: closed.override_by.clone(),
        })
    }
}

/// `part / whole` in percent with one decimal; 100 when nothing was expected.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 100.0;
    }
    // Counts stay far below 2^52: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let ratio = part as f64 / whole as f64;
    (ratio * 1000.0).round() / 10.0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use uuid::Uuid;

    /// An event of station DOCK-1 with these fields (the metrics' tests use it too).
    pub(crate) fn event(action: Action, outcome: Outcome, reason: Reason, keyed: bool) -> Event {
        Event {
            seq: 1,
            event_id: Uuid::from_u128(1),
            recorded_at_ms: 1_795_422_605_000,
            client_time_ms: 0,
            station: "DOCK-1".to_owned(),
            operator: "alice".to_owned(),
            action,
            raw: Vec::new(),
            entry_mode: if keyed {
                EntryMode::Keyed
            } else {
                EntryMode::Scanned
            },
            serial: "S1".to_owned(),
            sku: "A".to_owned(),
            gtin: None,
            lot: None,
            expiry: None,
            outcome,
            reason,
            message: String::new(),
            state_after: None,
            prev_hash: None,
            location: None,
            reference: None,
        }
    }

    #[test]
    fn counts_split_by_outcome_entry_and_station_kind() {
        let mut c = KpiCounts::default();
        c.count(
            &event(Action::Receive, Outcome::Accepted, Reason::Ok, false),
            1,
        );
        c.count(
            &event(
                Action::Receive,
                Outcome::Warning,
                Reason::FieldIgnored,
                true,
            ),
            1,
        );
        c.count(
            &event(
                Action::Receive,
                Outcome::Rejected,
                Reason::DuplicateSerial,
                false,
            ),
            1,
        );
        c.count(
            &event(Action::Dispatch, Outcome::Accepted, Reason::Ok, false),
            12,
        );
        c.count(
            &event(Action::Pick, Outcome::Rejected, Reason::OnHold, true),
            1,
        );
        assert_eq!((c.scans, c.keyed), (5, 2));
        assert_eq!((c.accepted, c.warnings, c.rejected), (2, 1, 2));
        assert_eq!((c.received, c.dispatched), (2, 12));
        assert_eq!(c.rejections[&Reason::DuplicateSerial], 1);
        assert_eq!(c.rejections[&Reason::OnHold], 1);
        let mut total = c.clone();
        total.add(&c);
        assert_eq!((total.scans, total.rejections[&Reason::OnHold]), (10, 2));
        assert_eq!(
            KpiKey::of(&event(Action::Pick, Outcome::Accepted, Reason::Ok, false)).day,
            Date::new(2026, 11, 23)
        );
    }

    #[test]
    fn percentages_round_to_one_decimal() {
        assert!((percent(2, 3) - 66.7).abs() < 1e-9);
        assert!((percent(0, 0) - 100.0).abs() < 1e-9);
        assert!((percent(0, 5)).abs() < 1e-9);
    }
}
