//! `serialtrack report kpi`: the KPI report, as a table or JSON.

use crate::client::Conn;
use clap::Subcommand;
use serde_json::json;

use super::{EXIT_OK, request_failed};
use crate::proto::v1 as pb;
use crate::proto::v1::warehouse_service_client::WarehouseServiceClient;

#[derive(Subcommand, Debug)]
pub enum ReportCommand {
    /// Per day, station and operator: scans, scanned vs keyed, outcomes, rejections by reason;
    /// serial capture at receiving per receipt and verification at dispatch per shipment.
    Kpi {
        /// First UTC day, YYYY-MM-DD (today when left out).
        #[arg(long, default_value = "")]
        from: String,
        /// Last UTC day, YYYY-MM-DD, included (today when left out).
        #[arg(long, default_value = "")]
        to: String,
    },
}

pub async fn report(channel: Conn, json: bool, command: ReportCommand) -> anyhow::Result<u8> {
    let ReportCommand::Kpi { from, to } = command;
    let report = WarehouseServiceClient::new(channel)
        .kpi(pb::KpiRequest {
            from_day: from,
            to_day: to,
        })
        .await
        .map_err(request_failed)?
        .into_inner();
    if json {
        println!("{}", kpi_json(&report));
    } else {
        print_kpi(&report);
    }
    Ok(EXIT_OK)
}

fn reason_name(value: i32) -> String {
    pb::Reason::try_from(value).map_or_else(
        |_| value.to_string(),
        |r| {
            r.as_str_name()
                .strip_prefix("REASON_")
                .unwrap_or(r.as_str_name())
                .to_owned()
        },
    )
}

fn reasons_json(counts: &[pb::ReasonCount]) -> serde_json::Value {
    counts
        .iter()
        .map(|c| (reason_name(c.reason), json!(c.count)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn reasons_text(counts: &[pb::ReasonCount]) -> String {
    counts
        .iter()
        .map(|c| format!("{} {}", reason_name(c.reason), c.count))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kpi_json(report: &pb::KpiResponse) -> serde_json::Value {
    json!({
        "days": report.days.iter().map(|d| json!({
            "day": d.day,
            "scans": d.scans,
            "scanned_percent": d.scanned_percent,
            "rejected": d.rejected,
            "rejections": reasons_json(&d.rejections),
            "expected": d.expected,
            "captured": d.captured,
            "capture_percent": d.capture_percent,
            "picked": d.picked,
            "verified": d.verified,
            "verification_percent": d.verification_percent,
        })).collect::<Vec<_>>(),
        "rows": report.rows.iter().map(|r| json!({
            "day": r.day,
            "station": r.station,
            "operator": r.operator,
            "scans": r.scans,
            "keyed": r.keyed,
            "scanned_percent": r.scanned_percent,
            "accepted": r.accepted,
            "warnings": r.warnings,
            "rejected": r.rejected,
            "rejections": reasons_json(&r.rejections),
            "received": r.received,
            "received_on_receipt": r.received_on_receipt,
            "dispatched": r.dispatched,
        })).collect::<Vec<_>>(),
        "receipts": report.receipts.iter().map(|r| json!({
            "id": r.id,
            "closed_on": r.closed_on,
            "expected": r.expected,
            "captured": r.captured,
            "unexpected": r.unexpected,
            "capture_percent": r.capture_percent,
        })).collect::<Vec<_>>(),
        "shipments": report.shipments.iter().map(|s| json!({
            "id": s.id,
            "closed_on": s.closed_on,
            "picked": s.picked,
            "verified": s.verified,
            "verification_percent": s.verification_percent,
            "override_by": s.override_by,
        })).collect::<Vec<_>>(),
    })
}

/// `75.0% (3/4)`, or `-` when nothing was expected.
fn rate(percent: f64, part: u64, whole: u64) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        format!("{percent:.1}% ({part}/{whole})")
    }
}

fn print_kpi(report: &pb::KpiResponse) {
    if report.days.is_empty() && report.receipts.is_empty() {
        println!("no scans, receipts or shipments in the range");
        return;
    }
    println!(
        "{:<10}  {:>7}  {:>8}  {:>8}  {:>18}  {:>18}",
        "day", "scans", "scanned", "rejected", "capture", "verification"
    );
    for d in &report.days {
        println!(
            "{:<10}  {:>7}  {:>7.1}%  {:>8}  {:>18}  {:>18}",
            d.day,
            d.scans,
            d.scanned_percent,
            d.rejected,
            rate(d.capture_percent, d.captured, d.expected),
            rate(d.verification_percent, d.verified, d.picked),
        );
        if !d.rejections.is_empty() {
            println!("  rejections: {}", reasons_text(&d.rejections));
        }
    }
    if !report.rows.is_empty() {
        println!();
        println!(
            "{:<10}  {:<12} {:<12} {:>6} {:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
            "day",
            "station",
            "operator",
            "scans",
            "keyed",
            "scanned",
            "accepted",
            "warnings",
            "rejected",
            "received",
            "on receipt",
            "dispatched"
        );
    }
    for r in &report.rows {
        println!(
            "{:<10}  {:<12} {:<12} {:>6} {:>6} {:>7.1}% {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
            r.day,
            r.station,
            r.operator,
            r.scans,
            r.keyed,
            r.scanned_percent,
            r.accepted,
            r.warnings,
            r.rejected,
            r.received,
            r.received_on_receipt,
            r.dispatched
        );
        if !r.rejections.is_empty() {
            println!("  rejections: {}", reasons_text(&r.rejections));
        }
    }
    for r in &report.receipts {
        println!(
            "receipt {}  {}  captured {}/{} ({:.1}%)  unexpected {}",
            r.id,
            if r.closed_on.is_empty() {
                "open".to_owned()
            } else {
                format!("closed {}", r.closed_on)
            },
            r.captured,
            r.expected,
            r.capture_percent,
            r.unexpected
        );
    }
    for s in &report.shipments {
        println!(
            "shipment {}  closed {}  verified {}/{} ({:.1}%){}",
            s.id,
            s.closed_on,
            s.verified,
            s.picked,
            s.verification_percent,
            if s.override_by.is_empty() {
                String::new()
            } else {
                format!("  override by {}", s.override_by)
            }
        );
    }
}
