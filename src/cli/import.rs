//! `import units FILE.csv`: serials made elsewhere, streamed from the file (never loaded
//! whole) to ImportUnits in messages of 1,000 rows. All or nothing by default: a first pass
//! checks every row and writes nothing, and only a clean file is then written. `--partial`
//! writes the good rows in one pass. Every bad row is reported with its line and reason, and
//! with `--rejects FILE` written to a CSV.

use std::fs::File;
use std::io::{BufReader, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{EXIT_OK, EXIT_REJECTED, request_failed};
use crate::client::Conn;
use crate::import::{Column, ImportRow, RejectWriter, RejectedRow, RowParser};
use crate::proto::v1 as pb;
use crate::proto::v1::issue_service_client::IssueServiceClient;

/// Rows per ImportUnits message (the server's bound).
const CHUNK_ROWS: usize = 1_000;
/// Rejected rows printed on stderr; the rest are counted (and in the --rejects file).
const REJECTS_SHOWN: usize = 20;
/// Progress lines when stderr is not a terminal: one per this many rows.
const PROGRESS_EVERY: u64 = 100_000;

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Units from the CSV template (sku, serial, lot, batch, size, colour, po, mfg_unit,
    /// timestamp) as ISSUED units (SUPERVISOR). Exit 0 when every row was imported, 1 when any
    /// was rejected.
    Units(ImportArgs),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    file: PathBuf,
    /// Every value must be inside this vendor's ranges.
    #[arg(long, default_value = "")]
    vendor: String,
    /// Import the good rows and report the bad ones (default: a bad row imports nothing).
    #[arg(long)]
    partial: bool,
    /// Check every row and write nothing.
    #[arg(long)]
    check: bool,
    /// Write the rejected rows here as CSV: the file's columns, then line and reason.
    #[arg(long)]
    rejects: Option<PathBuf>,
}

/// What one pass over the file found.
struct Pass {
    rows: u64,
    accepted: u64,
    imported: u64,
    /// Rows the file itself got wrong (shape, bounds, duplicates in the file).
    parse_rejects: Vec<RejectedRow>,
    parse_rejected: u64,
    /// Rows the server refused: line, serial, reason.
    server_rejects: Vec<pb::ImportRejection>,
    server_rejected: u64,
    header: Vec<String>,
    columns: Vec<Column>,
    seconds: f64,
}

impl Pass {
    fn rejected(&self) -> u64 {
        self.parse_rejected + self.server_rejected
    }
}

fn row_to_pb(row: ImportRow) -> pb::ImportRow {
    pb::ImportRow {
        line: row.line,
        sku: row.sku,
        serial: row.serial,
        lot: row.lot.unwrap_or_default(),
        batch: row.batch.unwrap_or_default(),
        size: row.size.unwrap_or_default(),
        colour: row.colour.unwrap_or_default(),
        po: row.po.unwrap_or_default(),
        mfg_unit: row.mfg_unit.unwrap_or_default(),
        made_at_ms: row.timestamp_ms.unwrap_or(0),
    }
}

/// Progress on stderr: a bar on a terminal, a plain line now and then otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    label: &'static str,
}

impl Progress {
    fn new(label: &'static str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_message(label);
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            label,
        }
    }

    fn rows(&self, n: u64) {
        match &self.bar {
            Some(bar) => bar.set_position(n),
            None if n.is_multiple_of(PROGRESS_EVERY) => {
                let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                eprintln!("{} {n} rows, {:.0} rows/s", self.label, n as f64 / secs);
            }
            None => {}
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Streams the file through the server once.
async fn pass(
    channel: Conn,
    path: &Path,
    vendor: &str,
    check_only: bool,
    partial: bool,
    label: &'static str,
) -> anyhow::Result<Pass> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let parser = RowParser::new(BufReader::new(file), |_: &str| Some(false))
        .with_context(|| format!("{} cannot be imported", path.display()))?;
    let header = parser.header().to_vec();
    let columns = parser.columns().to_vec();
    let (tx, rx) = mpsc::channel::<pb::ImportUnitsRequest>(4);
    let vendor = vendor.to_owned();
    let started = Instant::now();
    // The file is read on a thread of its own, a chunk at a time, while the server works.
    let reader =
        tokio::task::spawn_blocking(move || -> anyhow::Result<(u64, Vec<RejectedRow>, u64)> {
            let progress = Progress::new(label);
            let mut rows = Vec::with_capacity(CHUNK_ROWS);
            let mut rejects = Vec::new();
            let (mut seen, mut rejected) = (0u64, 0u64);
            let send = |rows: Vec<pb::ImportRow>| {
                tx.blocking_send(pb::ImportUnitsRequest {
                    vendor: vendor.clone(),
                    check_only,
                    partial,
                    rows,
                })
            };
            for row in parser {
                seen += 1;
                progress.rows(seen);
                match row? {
                    Ok(row) => rows.push(row_to_pb(row)),
                    Err(bad) => {
                        rejected += 1;
                        if rejects.len() < crate::server::IMPORT_REJECTED_LISTED_MAX {
                            rejects.push(bad);
                        }
                    }
                }
                if rows.len() == CHUNK_ROWS && send(std::mem::take(&mut rows)).is_err() {
                    break;
                }
            }
            // The first message carries the settings even when the file has no good row.
            if !rows.is_empty() || seen == 0 || rejected == seen {
                let _ = send(rows);
            }
            progress.done();
            Ok((seen, rejects, rejected))
        });
    let answer = IssueServiceClient::new(channel)
        .import_units(ReceiverStream::new(rx))
        .await;
    let (rows, parse_rejects, parse_rejected) =
        reader.await.context("the file reader failed")??;
    let answer = answer.map_err(request_failed)?.into_inner();
    Ok(Pass {
        rows,
        accepted: answer.accepted,
        imported: answer.imported,
        parse_rejects,
        parse_rejected,
        server_rejects: answer.rejected,
        server_rejected: answer.rejected_count,
        header,
        columns,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The value `column` had in a row the server refused, as the file will show it again.
fn column_text(row: &ImportRow, column: Column) -> String {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    match column {
        Column::Sku => row.sku.clone(),
        Column::Serial => row.serial.clone(),
        Column::Lot => text(&row.lot),
        Column::Batch => text(&row.batch),
        Column::Size => text(&row.size),
        Column::Colour => text(&row.colour),
        Column::Po => text(&row.po),
        Column::MfgUnit => text(&row.mfg_unit),
        Column::Timestamp => row
            .timestamp_ms
            .map(crate::domain::time::format_rfc3339_ms)
            .unwrap_or_default(),
    }
}

/// Writes every listed rejected row to `path`: the file's own rows for what the file got
/// wrong, and the server's refusals read again from the file.
fn write_rejects(path: &Path, source: &Path, found: &Pass) -> anyhow::Result<()> {
    let out = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut writer = RejectWriter::new(out, &found.header)?;
    for bad in &found.parse_rejects {
        writer.write(bad)?;
    }
    let out = writer.finish()?;
    let reasons: std::collections::HashMap<u64, &str> = found
        .server_rejects
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    let mut csv = csv::WriterBuilder::new().flexible(true).from_writer(out);
    if !reasons.is_empty() {
        let file = File::open(source)?;
        for row in RowParser::new(BufReader::new(file), |_: &str| Some(false))? {
            let Ok(row) = row? else { continue };
            if let Some(reason) = reasons.get(&row.line) {
                let mut record: Vec<String> = found
                    .columns
                    .iter()
                    .map(|c| column_text(&row, *c))
                    .collect();
                record.push(row.line.to_string());
                record.push((*reason).to_owned());
                csv.write_record(&record)?;
            }
        }
    }
    csv.flush()?;
    Ok(())
}

fn report(found: &Pass, json: bool, written: bool) {
    let rate = found.rows as f64 / found.seconds.max(1e-3);
    let mut rejects: Vec<(u64, String, String)> = found
        .parse_rejects
        .iter()
        .map(|r| {
            let serial = found
                .columns
                .iter()
                .position(|c| *c == Column::Serial)
                .and_then(|i| r.fields.get(i))
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .unwrap_or_default();
            (r.line, serial, r.reason.to_string())
        })
        .chain(
            found
                .server_rejects
                .iter()
                .map(|r| (r.line, r.serial.clone(), r.reason.clone())),
        )
        .collect();
    rejects.sort_by_key(|r| r.0);
    if json {
        println!(
            "{}",
            json!({
                "rows": found.rows,
                "accepted": found.accepted,
                "imported": found.imported,
                "rejected": found.rejected(),
                "written": written,
                "seconds": found.seconds,
                "rows_per_second": rate,
                "rejects": rejects.iter().take(REJECTS_SHOWN).map(|(line, serial, reason)| json!({
                    "line": line, "serial": serial, "reason": reason,
                })).collect::<Vec<_>>(),
            })
        );
        return;
    }
    for (line, serial, reason) in rejects.iter().take(REJECTS_SHOWN) {
        eprintln!("line {line}: {serial}: {reason}");
    }
    if found.rejected() > REJECTS_SHOWN as u64 {
        eprintln!(
            "... and {} more rejected rows",
            found.rejected() - REJECTS_SHOWN as u64
        );
    }
    println!(
        "{} rows  imported {}  rejected {}  in {:.1} s ({rate:.0} rows/s){}",
        found.rows,
        found.imported,
        found.rejected(),
        found.seconds,
        if written { "" } else { "  (nothing written)" }
    );
}

pub async fn import(channel: Conn, json: bool, command: ImportCommand) -> anyhow::Result<u8> {
    let ImportCommand::Units(args) = command;
    if args.partial && args.check {
        bail!("--partial writes and --check does not: give one of them");
    }
    let one_pass = args.partial || args.check;
    let first = pass(
        channel.clone(),
        &args.file,
        &args.vendor,
        !args.partial,
        args.partial,
        if one_pass { "importing" } else { "checking" },
    )
    .await?;
    let found = if one_pass || first.rejected() > 0 {
        first
    } else {
        pass(channel, &args.file, &args.vendor, false, false, "importing").await?
    };
    if let Some(path) = &args.rejects {
        write_rejects(path, &args.file, &found)?;
    }
    report(&found, json, found.imported > 0);
    Ok(if found.rejected() == 0 {
        EXIT_OK
    } else {
        EXIT_REJECTED
    })
}
