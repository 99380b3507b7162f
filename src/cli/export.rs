//! `serialtrack export units|events`: CSV on stdout (RFC 4180: a header row, fields with a
//! comma, quote or line break quoted, quotes doubled), paged from the server; `export epcis`:
//! the GS1 EPCIS 2.0 document the server streams, on stdout as it comes, with what it holds
//! and where to go on from on stderr.

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;

use crate::client::Conn;

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
    /// The log's business events as a GS1 EPCIS 2.0 JSON-LD document (rejected scans are left
    /// out), in sequence order after `--since`.
    Epcis {
        /// Only events with a sequence number above this one (0: the whole log).
        #[arg(long, default_value_t = 0, value_parser = whole::<u64>, allow_negative_numbers = true)]
        since: u64,
        /// Read at most this many events of the log (0: the server's maximum, 100,000).
        #[arg(long, default_value_t = 0, value_parser = whole::<u32>, allow_negative_numbers = true)]
        limit: u32,
    },
}

/// A whole number of 0 or more; a negative one is named as such (clap would otherwise take
/// `-1` for an unknown flag).
fn whole<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    if text.starts_with('-') {
        return Err(format!("{text} is negative; give 0 or more"));
    }
    text.parse().map_err(|e| format!("{text}: {e}"))
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
        ExportCommand::Epcis { since, limit } => {
            let mut chunks = client
                .export_epcis(pb::ExportEpcisRequest {
                    since_seq: since,
                    limit,
                })
                .await
                .map_err(request_failed)?
                .into_inner();
            loop {
                let chunk = match chunks.message().await {
                    Ok(Some(chunk)) => chunk,
                    Ok(None) => bail!(
                        "the server ended the export before the end of the document; the document on stdout is incomplete: export again"
                    ),
                    Err(status) => bail!(
                        "{}; the document on stdout is incomplete: export again",
                        request_failed(status)
                    ),
                };
                out.write_all(chunk.text.as_bytes())?;
                if chunk.last {
                    out.flush()?;
                    eprintln!("{}", epcis_summary(since, &chunk));
                    break;
                }
            }
        }
    }
    out.flush()?;
    Ok(EXIT_OK)
}

/// What an EPCIS export holds and where the next one starts.
fn epcis_summary(since: u64, end: &pb::ExportEpcisChunk) -> String {
    let through = end.through_seq;
    let mut text = if end.events_read == 0 {
        format!("no events after seq {since}: the document has none")
    } else {
        format!(
            "{} EPCIS events from {} log events, seq {}..{through}; left out: {} rejected scans",
            end.events_exported,
            end.events_read,
            since + 1,
            end.rejected_left_out,
        )
    };
    if end.without_set_left_out > 0 {
        text.push_str(&format!(
            ", {} aggregations logged without their set",
            end.without_set_left_out
        ));
    }
    if end.more {
        text.push_str(&format!(
            "\nmore events follow: export them with --since {through}"
        ));
    } else {
        text.push_str(&format!(
            "\nthat is the end of the log: export later events with --since {through}"
        ));
    }
    text
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
