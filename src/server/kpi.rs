//! The Kpi RPC: the stored per-day, station and operator counters over a range of days, with
//! the capture and verification rates of the receipts and shipments closed in it.

use std::collections::BTreeMap;

use tonic::Status;

use super::{convert, store_status};
use crate::barcode::Date;
use crate::domain::kpi::{KPI_DAYS_MAX, KpiCounts, ReceiptRate, ShipmentRate, percent};
use crate::domain::{Reason, time};
use crate::proto::v1 as pb;
use crate::store::Store;

/// The most station-and-operator rows one report returns.
pub const KPI_ROWS_MAX: usize = 10_000;

/// A `YYYY-MM-DD` day, or today when empty.
fn day(field: &str, text: &str, today: Date) -> Result<Date, Status> {
    if text.is_empty() {
        return Ok(today);
    }
    let bad = || Status::invalid_argument(format!("{field} {text:?} is not a YYYY-MM-DD date"));
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let digits = format!("{y}{m}{d}");
    crate::barcode::date::parse_yyyymmdd(digits.as_bytes()).map_err(|_| bad())
}

fn day_number(d: Date) -> i64 {
    time::days_from_civil(i64::from(d.year), u32::from(d.month), u32::from(d.day))
}

fn rejections(counts: &BTreeMap<Reason, u64>) -> Vec<pb::ReasonCount> {
    counts
        .iter()
        .map(|(reason, n)| pb::ReasonCount {
            reason: convert::reason_to_pb(*reason).into(),
            count: *n,
        })
        .collect()
}

#[derive(Default)]
struct DayTotals {
    counts: KpiCounts,
    expected: u64,
    captured: u64,
    picked: u64,
    verified: u64,
}

pub async fn kpi<S: Store>(store: &S, request: pb::KpiRequest) -> Result<pb::KpiResponse, Status> {
    let today = time::date_utc(time::now_ms());
    let from = day("from_day", &request.from_day, today)?;
    let to = day("to_day", &request.to_day, today)?;
    if to < from {
        return Err(Status::invalid_argument(format!(
            "to_day {to} is before from_day {from}"
        )));
    }
    if day_number(to) - day_number(from) >= KPI_DAYS_MAX {
        return Err(Status::invalid_argument(format!(
            "a report covers at most {KPI_DAYS_MAX} days; {from} to {to} is longer"
        )));
    }
    let stored = store
        .kpis(from, to, KPI_ROWS_MAX + 1)
        .await
        .map_err(store_status)?;
    if stored.len() > KPI_ROWS_MAX {
        return Err(Status::out_of_range(format!(
            "more than {KPI_ROWS_MAX} station and operator rows from {from} to {to}; ask for fewer days"
        )));
    }
    let mut days: BTreeMap<Date, DayTotals> = BTreeMap::new();
    let mut rows = Vec::with_capacity(stored.len());
    // Keys sort by length-prefixed names; people read stations and operators alphabetically.
    let mut stored = stored;
    stored.sort_by(|(a, _), (b, _)| a.cmp(b));
    for (key, c) in stored {
        days.entry(key.day).or_default().counts.add(&c);
        rows.push(pb::KpiRow {
            day: key.day.to_string(),
            station: key.station,
            operator: key.operator,
            scans: c.scans,
            keyed: c.keyed,
            scanned_percent: percent(c.scans - c.keyed, c.scans),
            accepted: c.accepted,
            warnings: c.warnings,
            rejected: c.rejected,
            rejections: rejections(&c.rejections),
            received: c.received,
            received_on_receipt: c.received_on_receipt,
            dispatched: c.dispatched,
        });
    }
    let in_range = |d: Date| from <= d && d <= to;
    let mut receipts = Vec::new();
    for receipt in store.receipts().await.map_err(store_status)? {
        let rate = ReceiptRate::of(&receipt);
        let counted = match rate.closed_on {
            Some(d) if in_range(d) => {
                let totals = days.entry(d).or_default();
                totals.expected += rate.expected;
                totals.captured += rate.captured;
                true
            }
            Some(_) => false,
            // Open receipts are shown to date, in no day's totals.
            None => true,
        };
        if counted {
            receipts.push(pb::KpiReceipt {
                id: rate.id,
                closed_on: rate.closed_on.map(|d| d.to_string()).unwrap_or_default(),
                expected: rate.expected,
                captured: rate.captured,
                unexpected: rate.unexpected,
                capture_percent: percent(rate.captured, rate.expected),
            });
        }
    }
    let mut shipments = Vec::new();
    for shipment in store.shipments().await.map_err(store_status)? {
        let Some(rate) = ShipmentRate::of(&shipment).filter(|r| in_range(r.closed_on)) else {
            continue;
        };
        let totals = days.entry(rate.closed_on).or_default();
        totals.picked += rate.picked;
        totals.verified += rate.verified;
        shipments.push(pb::KpiShipment {
            id: rate.id,
            closed_on: rate.closed_on.to_string(),
            picked: rate.picked,
            verified: rate.verified,
            verification_percent: percent(rate.verified, rate.picked),
            override_by: rate.override_by.unwrap_or_default(),
        });
    }
    let days = days
        .into_iter()
        .map(|(d, t)| pb::KpiDay {
            day: d.to_string(),
            scans: t.counts.scans,
            scanned_percent: percent(t.counts.scans - t.counts.keyed, t.counts.scans),
            rejected: t.counts.rejected,
            rejections: rejections(&t.counts.rejections),
            expected: t.expected,
            captured: t.captured,
            capture_percent: percent(t.captured, t.expected),
            picked: t.picked,
            verified: t.verified,
            verification_percent: percent(t.verified, t.picked),
        })
        .collect();
    Ok(pb::KpiResponse {
        days,
        rows,
        receipts,
        shipments,
    })
}
