//! `serialtrack export units|events`: CSV on stdout (RFC 4180: a header row, fields with a
//! comma, quote or line break quoted, quotes doubled), paged from the server.

use std::io::Write;

use crate::client::Conn;
use clap::Subcommand;

use super::output::{action, entry_mode, outcome, reason, state};
use super::warehouse::{UnitFilter, each_unit};
use super::{EXIT_OK, request_failed};
use crate::domain::time::format_utc;
use crate::proto::v1 as pb;
use crate::proto::v1::unit_service_client::UnitServiceClient;

#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// Units as CSV, one row per unit in serial order (`--all` for every unit).
    Units(UnitFilter),
    /// Events as CSV, in sequence order, from `--from`.
    Events {
        #[arg(long, default_value_t = 1)]
        from: u64,
    },
}

pub const UNIT_COLUMNS: &[&str] = &[
    "serial",
    "sku",
    "gtin",
    "lot",
    "expiry",
    "state",
    "location",
    "parent",
    "hold",
    "hold_reference",
    "order_id",
    "shipment_id",
    "customer",
    "dispatched_at",
    "received_at",
    "first_seen_station",
    "first_seen_at",
    "first_seen_seq",
    "last_seq",
    "mfr_serial",
];

pub const EVENT_COLUMNS: &[&str] = &[
    "seq",
    "recorded_at",
    "station",
    "operator",
    "action",
    "entry_mode",
    "raw",
    "serial",
    "sku",
    "gtin",
    "lot",
    "expiry",
    "outcome",
    "reason",
    "state_after",
    "location",
    "reference",
    "message",
    "event_id",
];

/// One CSV field: quoted when it holds a comma, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn row(out: &mut impl Write, fields: &[String]) -> std::io::Result<()> {
    let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
    writeln!(out, "{}", line.join(","))
}

/// An ISO 8601 UTC time, or empty for 0 (never).
fn time(ms: i64) -> String {
    if ms == 0 {
        return String::new();
    }
    format_utc(ms).replacen(' ', "T", 1).replace(" UTC", "Z")
}

/// Scanned bytes as text: control characters and invalid UTF-8 as `\xHH`, a backslash as `\\`.
fn raw_text(raw: &[u8]) -> String {
    let mut out = String::new();
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

fn unit_row(u: &pb::Unit) -> Vec<String> {
    vec![
        u.serial.clone(),
        u.sku.clone(),
        u.gtin.clone(),
        u.lot.clone(),
        u.expiry.clone(),
        state(u.state),
        u.location.clone(),
        u.parent.clone(),
        u.hold.clone(),
        u.hold_reference.clone(),
        u.order_id.clone(),
        u.shipment_id.clone(),
        u.customer.clone(),
        time(u.dispatched_at_ms),
        time(u.received_at_ms),
        u.first_seen_station.clone(),
        time(u.first_seen_at_ms),
        u.first_seen_seq.to_string(),
        u.last_seq.to_string(),
        u.mfr_serial.clone(),
    ]
}

fn event_row(e: &pb::Event) -> Vec<String> {
    vec![
        e.seq.to_string(),
        time(e.recorded_at_ms),
        e.station.clone(),
        e.operator.clone(),
        action(e.action),
        entry_mode(e.entry_mode),
        raw_text(&e.raw),
        e.serial.clone(),
        e.sku.clone(),
        e.gtin.clone(),
        e.lot.clone(),
        e.expiry.clone(),
        outcome(e.outcome),
        reason(e.reason),
        if e.state_after == 0 {
            String::new()
        } else {
            state(e.state_after)
        },
        e.location.clone(),
        e.reference.clone(),
        e.message.clone(),
        e.event_id.clone(),
    ]
}

pub async fn export(channel: Conn, command: ExportCommand) -> anyhow::Result<u8> {
    let mut client = UnitServiceClient::new(channel);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match command {
        ExportCommand::Units(filter) => {
            let filter = filter.to_pb()?;
            row(
                &mut out,
                &UNIT_COLUMNS
                    .iter()
                    .map(|c| (*c).to_owned())
                    .collect::<Vec<_>>(),
            )?;
            let mut failed = None;
            each_unit(&mut client, filter, |u| {
                if failed.is_none()
                    && let Err(e) = row(&mut out, &unit_row(u))
                {
                    failed = Some(e);
                }
            })
            .await?;
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        ExportCommand::Events { from } => {
            row(
                &mut out,
                &EVENT_COLUMNS
                    .iter()
                    .map(|c| (*c).to_owned())
                    .collect::<Vec<_>>(),
            )?;
            let mut from_seq = from;
            loop {
                let page = client
                    .list_events(pb::ListEventsRequest { from_seq, limit: 0 })
                    .await
                    .map_err(request_failed)?
                    .into_inner();
                for event in &page.events {
                    row(&mut out, &event_row(event))?;
                }
                if page.next_from_seq == 0 {
                    break;
                }
                from_seq = page.next_from_seq;
            }
        }
    }
    out.flush()?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(raw_text(b"]d2\x1d01\xff\\"), "]d2\\x1d01\\xff\\\\");
        assert_eq!(time(0), "");
        assert_eq!(time(1_795_422_605_000), "2026-11-23T08:30:05Z");
    }
}
