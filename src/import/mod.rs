//! Importing units from a CSV file: the header is checked, then each data row becomes an
//! [`ImportRow`] or a [`RejectedRow`] with its physical line number and a precise reason, one
//! row at a time over any `io::Read` (never the whole file in memory), and [`RejectWriter`]
//! writes the rejected rows back out as CSV with `line,reason` appended. This module only
//! parses and checks rows: it never writes units (the caller sends accepted rows on to the
//! store) and knows nothing about gRPC.
//!
//! The template (RFC 4180 quoting, `,` separated, UTF-8, optional BOM, LF or CRLF):
//!
//! ```text
//! sku,serial,lot,batch,size,colour,po,mfg_unit,timestamp
//! SHIRT-M,SN000123,L2611,B7,M,navy,PO-4411,plant-2,2026-11-23T10:00:00Z
//! ```
//!
//! `sku` and `serial` are required columns; the others may be left out, and columns may come
//! in any order. A column the template does not know, or one named twice, refuses the file.
//! An empty cell is an absent value. `lot` is required in the rows of lot-tracked items: the
//! caller says which SKUs are (see [`RowParser::new`]).

pub mod timestamp;

use std::collections::HashMap;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};

use crate::barcode::ai_table::Cset;
use crate::barcode::interpret::INVISIBLE;
use crate::domain::LOT_LEN_MAX;
use crate::domain::REF_LEN_MAX;
use crate::domain::item::{ItemError, validate_sku};

pub use timestamp::parse_timestamp_ms;

/// The longest serial, in characters: what GS1 AI 21 holds, so that every imported serial can
/// be printed with every QR strategy. A longer one rejects the row.
pub const SERIAL_LEN_MAX: usize = 20;
/// The longest batch, size, colour, PO or manufacturing unit, in characters. A longer one
/// rejects the row.
pub const TEXT_LEN_MAX: usize = REF_LEN_MAX;
/// The longest timestamp cell, in characters. A longer one rejects the row.
pub const TIMESTAMP_LEN_MAX: usize = 40;
/// The longest row, in bytes (line end included). A longer row is rejected; the next row is
/// read normally.
pub const ROW_BYTES_MAX: u64 = 4096;
/// A row longer than this many bytes stops the import ([`ImportError::RowRunaway`]): it is
/// almost always an unclosed quote swallowing the rest of the file, and reading on would
/// hold it all in memory.
pub const ROW_RUNAWAY_BYTES: u64 = 64 * 1024;
/// The CSV reader's buffer, in bytes.
pub const READ_BUFFER_BYTES: usize = 8192;
/// The most data rows in one file. The row after this stops the import
/// ([`ImportError::TooManyRows`]): the duplicate check keeps every accepted serial in memory,
/// about 80 bytes each (80 MB at this bound).
pub const ROWS_MAX: u64 = 1_000_000;

/// A column of the template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Sku,
    Serial,
    Lot,
    Batch,
    Size,
    Colour,
    Po,
    MfgUnit,
    Timestamp,
}

impl Column {
    /// Every column in template order.
    pub const ALL: [Column; 9] = [
        Column::Sku,
        Column::Serial,
        Column::Lot,
        Column::Batch,
        Column::Size,
        Column::Colour,
        Column::Po,
        Column::MfgUnit,
        Column::Timestamp,
    ];

    /// The column's name in the header.
    pub fn name(self) -> &'static str {
        match self {
            Column::Sku => "sku",
            Column::Serial => "serial",
            Column::Lot => "lot",
            Column::Batch => "batch",
            Column::Size => "size",
            Column::Colour => "colour",
            Column::Po => "po",
            Column::MfgUnit => "mfg_unit",
            Column::Timestamp => "timestamp",
        }
    }

    fn from_header(name: &str) -> Option<Column> {
        let name = name.trim();
        Column::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The template's header line, for documentation and `--template` style output.
pub fn template_header() -> String {
    Column::ALL.map(Column::name).join(",")
}

/// One unit to import, every value checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportRow {
    /// The physical line the row starts on (the header is line 1).
    pub line: u64,
    pub sku: String,
    pub serial: String,
    pub lot: Option<String>,
    pub batch: Option<String>,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub po: Option<String>,
    pub mfg_unit: Option<String>,
    /// The production or issue time, Unix milliseconds.
    pub timestamp_ms: Option<i64>,
}

/// Why a data row was not imported.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("row has {found} fields; the header has {expected}")]
    FieldCount { found: usize, expected: usize },
    #[error("row has {bytes} bytes; at most {ROW_BYTES_MAX} are allowed")]
    RowTooLong { bytes: u64 },
    #[error("{column} is not valid UTF-8")]
    NotUtf8 { column: Column },
    #[error("{column} is empty; it is required")]
    Missing { column: Column },
    #[error("lot is empty; item {sku} is lot-tracked, so every unit needs one")]
    LotRequired { sku: String },
    #[error("sku {sku} is not in the catalog; create the item first")]
    UnknownSku { sku: String },
    #[error("sku: {0}")]
    Sku(ItemError),
    #[error("{column} has {len} characters; at most {max} are allowed")]
    TooLong {
        column: Column,
        len: usize,
        max: usize,
    },
    #[error("{column} character {ch:?} at position {position} is not allowed; use {allowed}")]
    Character {
        column: Column,
        ch: char,
        position: usize,
        allowed: &'static str,
    },
    #[error("timestamp {value:?}: {reason}")]
    Timestamp { value: String, reason: &'static str },
    #[error("serial {serial} is already on line {first_line} of this file")]
    Duplicate { serial: String, first_line: u64 },
}

impl RowError {
    /// A stable snake_case name of the rejection class, for machines.
    pub fn kind(&self) -> &'static str {
        match self {
            RowError::FieldCount { .. } => "field_count",
            RowError::RowTooLong { .. } => "row_too_long",
            RowError::NotUtf8 { .. } => "not_utf8",
            RowError::Missing { .. } => "missing",
            RowError::LotRequired { .. } => "lot_required",
            RowError::UnknownSku { .. } => "unknown_sku",
            RowError::Sku(_) => "sku",
            RowError::TooLong { .. } => "too_long",
            RowError::Character { .. } => "character",
            RowError::Timestamp { .. } => "timestamp",
            RowError::Duplicate { .. } => "duplicate",
        }
    }
}

/// A data row that was not imported: where it is, why, and its fields as they were.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RejectedRow {
    pub line: u64,
    pub reason: RowError,
    /// The row's fields as read (unquoted), bytes as in the file.
    pub fields: Vec<Vec<u8>>,
}

impl fmt::Display for RejectedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Why the import as a whole stops.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "the file is empty; the first line must be the header {}",
        template_header()
    )]
    NoHeader,
    #[error("header column {position} is not valid UTF-8")]
    HeaderNotUtf8 { position: usize },
    #[error(
        "header column {position} {name:?} is not a template column; the columns are {}",
        template_header()
    )]
    UnknownColumn { name: String, position: usize },
    #[error("header names column {name} twice (columns {first} and {second})")]
    DuplicateColumn {
        name: Column,
        first: usize,
        second: usize,
    },
    #[error("header has no {0} column; it is required")]
    MissingColumn(Column),
    #[error(
        "line {line}: a row runs past {ROW_RUNAWAY_BYTES} bytes, probably an unclosed quote; nothing after line {line} was read"
    )]
    RowRunaway { line: u64 },
    #[error(
        "line {line}: the file has more rows than the {rows_max} one import takes; split it (nothing from line {line} on was imported)"
    )]
    TooManyRows { line: u64, rows_max: u64 },
    #[error("line {line}: cannot read the file: {message}")]
    Read { line: u64, message: String },
}

/// What the input adapter shares with the parser: how far the CSV reader may read, and the
/// bytes it has read that no row has been counted past yet (for physical line numbers).
struct Shared {
    limit: u64,
    window: VecDeque<u8>,
    window_start: u64,
}

/// Hands the CSV reader bytes up to a limit the parser moves forward after each row, so that
/// a runaway row cannot pull the whole input into memory, and keeps a copy of them until the
/// parser has counted their line ends.
struct Bounded<R> {
    inner: R,
    delivered: u64,
    shared: Arc<Mutex<Shared>>,
}

impl<R: io::Read> io::Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let limit = lock(&self.shared).limit;
        let room = limit.saturating_sub(self.delivered);
        if room == 0 {
            return Err(io::Error::other(RUNAWAY));
        }
        let take = usize::try_from(room).unwrap_or(usize::MAX).min(buf.len());
        let chunk = buf.get_mut(..take).unwrap_or_default();
        let n = self.inner.read(chunk)?;
        self.delivered += u64::try_from(n).unwrap_or(u64::MAX);
        lock(&self.shared)
            .window
            .extend(chunk.get(..n).unwrap_or_default());
        Ok(n)
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    // Nothing panics while holding the lock; a poisoned one still holds consistent data.
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

const RUNAWAY: &str = "row runaway";

/// Reads rows of the template from a CSV stream. Iterating yields, for each data row,
/// `Ok(Ok(row))` or `Ok(Err(rejected))`, and `Err` once when the import must stop, after
/// which it yields nothing.
pub struct RowParser<R, F> {
    reader: csv::Reader<Bounded<R>>,
    shared: Arc<Mutex<Shared>>,
    /// Where the last row counted starts, and how many line ends come before it.
    counted_to: u64,
    lines_before: u64,
    rows_max: u64,
    header: Vec<String>,
    /// For each field of a row, the column it holds.
    columns: Vec<Column>,
    lot_tracked: F,
    /// Accepted serials and the line each is on.
    seen: HashMap<Box<str>, u64>,
    record: csv::ByteRecord,
    rows: u64,
    done: bool,
}

impl<R: io::Read, F: FnMut(&str) -> Option<bool>> RowParser<R, F> {
    /// Reads and checks the header. `lot_tracked(sku)` says whether an item is lot-tracked
    /// (`Some(true)`: its rows need a lot) or is unknown (`None`: its rows are rejected as
    /// [`RowError::UnknownSku`]); pass `|_| Some(false)` to leave both checks to the caller.
    pub fn new(input: R, lot_tracked: F) -> Result<Self, ImportError> {
        let shared = Arc::new(Mutex::new(Shared {
            limit: ROW_RUNAWAY_BYTES + ROW_BYTES_MAX,
            window: VecDeque::new(),
            window_start: 0,
        }));
        let bounded = Bounded {
            inner: input,
            delivered: 0,
            shared: Arc::clone(&shared),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(READ_BUFFER_BYTES)
            .from_reader(bounded);
        let mut record = csv::ByteRecord::new();
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| read_error(&e, 1))?;
        if !more {
            return Err(ImportError::NoHeader);
        }
        let mut header = Vec::with_capacity(record.len());
        let mut columns: Vec<Column> = Vec::with_capacity(record.len());
        for (i, field) in record.iter().enumerate() {
            let position = i + 1;
            // A UTF-8 byte order mark may open the file.
            let field = if i == 0 {
                field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field)
            } else {
                field
            };
            let name =
                std::str::from_utf8(field).map_err(|_| ImportError::HeaderNotUtf8 { position })?;
            let column = Column::from_header(name).ok_or_else(|| ImportError::UnknownColumn {
                name: name.to_owned(),
                position,
            })?;
            if let Some(first) = columns.iter().position(|c| *c == column) {
                return Err(ImportError::DuplicateColumn {
                    name: column,
                    first: first + 1,
                    second: position,
                });
            }
            header.push(name.trim().to_owned());
            columns.push(column);
        }
        for required in [Column::Sku, Column::Serial] {
            if !columns.contains(&required) {
                return Err(ImportError::MissingColumn(required));
            }
        }
        lock(&shared).limit = reader.position().byte() + ROW_RUNAWAY_BYTES + ROW_BYTES_MAX;
        Ok(RowParser {
            reader,
            shared,
            counted_to: 0,
            lines_before: 0,
            rows_max: ROWS_MAX,
            header,
            columns,
            lot_tracked,
            seen: HashMap::new(),
            record,
            rows: 0,
            done: false,
        })
    }

    /// The header's column names as given (trimmed), in file order.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The columns of the file, in file order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Stops the import after `rows` data rows instead of [`ROWS_MAX`] (never more).
    pub fn with_rows_max(mut self, rows: u64) -> Self {
        self.rows_max = rows.min(ROWS_MAX);
        self
    }

    /// Finds where the row just read starts (the CSV reader skips blank lines before it
    /// without saying so), counts the line ends before it, and returns its line and length.
    fn locate_row(&mut self, previous_end: u64, end: u64) -> (u64, u64) {
        let mut shared = lock(&self.shared);
        let Shared {
            window,
            window_start,
            limit,
        } = &mut *shared;
        let offset =
            |at: u64| usize::try_from(at.saturating_sub(*window_start)).unwrap_or(usize::MAX);
        let mut start = previous_end.max(self.counted_to);
        while let Some(b'\r' | b'\n') = window.get(offset(start)) {
            start += 1;
        }
        let from = offset(self.counted_to).min(window.len());
        let to = offset(start).min(window.len());
        // A line ends at LF, at CR LF, or at a CR alone (the CSV reader takes all three).
        let line_ends = window
            .range(from..to)
            .zip(window.range((from + 1).min(window.len())..).chain([&0]))
            .filter(|&(&b, &next)| b == b'\n' || (b == b'\r' && next != b'\n'))
            .count();
        self.lines_before += u64::try_from(line_ends).unwrap_or(u64::MAX);
        self.counted_to = start;
        window.drain(..to);
        *window_start += u64::try_from(to).unwrap_or(u64::MAX);
        *limit = end + ROW_RUNAWAY_BYTES + ROW_BYTES_MAX;
        (self.lines_before + 1, end.saturating_sub(start))
    }

    fn next_row(&mut self) -> Result<Option<Result<ImportRow, RejectedRow>>, ImportError> {
        let previous_end = self.reader.position().byte();
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|e| read_error(&e, self.lines_before + 2))?;
        if !more {
            return Ok(None);
        }
        let end = self.reader.position().byte();
        let (line, bytes) = self.locate_row(previous_end, end);
        self.rows += 1;
        if self.rows > self.rows_max {
            return Err(ImportError::TooManyRows {
                line,
                rows_max: self.rows_max,
            });
        }
        let checked = if bytes > ROW_BYTES_MAX {
            Err(RowError::RowTooLong { bytes })
        } else {
            self.check_row(line)
        };
        Ok(Some(checked.map_err(|reason| RejectedRow {
            line,
            reason,
            fields: self.record.iter().map(<[u8]>::to_vec).collect(),
        })))
    }

    fn check_row(&mut self, line: u64) -> Result<ImportRow, RowError> {
        if self.record.len() != self.columns.len() {
            return Err(RowError::FieldCount {
                found: self.record.len(),
                expected: self.columns.len(),
            });
        }
        let mut row = ImportRow {
            line,
            ..ImportRow::default()
        };
        for (field, &column) in self.record.iter().zip(&self.columns) {
            let value = std::str::from_utf8(field).map_err(|_| RowError::NotUtf8 { column })?;
            if value.is_empty() {
                continue;
            }
            let value = value.to_owned();
            match column {
                Column::Sku => {
                    validate_sku(&value).map_err(RowError::Sku)?;
                    row.sku = value;
                }
                Column::Serial => {
                    check_cset82(column, &value, SERIAL_LEN_MAX)?;
                    row.serial = value;
                }
                Column::Lot => {
                    check_cset82(column, &value, LOT_LEN_MAX)?;
                    row.lot = Some(value);
                }
                Column::Batch => row.batch = Some(check_text(column, value)?),
                Column::Size => row.size = Some(check_text(column, value)?),
                Column::Colour => row.colour = Some(check_text(column, value)?),
                Column::Po => row.po = Some(check_text(column, value)?),
                Column::MfgUnit => row.mfg_unit = Some(check_text(column, value)?),
                Column::Timestamp => {
                    let len = value.chars().count();
                    if len > TIMESTAMP_LEN_MAX {
                        return Err(RowError::TooLong {
                            column,
                            len,
                            max: TIMESTAMP_LEN_MAX,
                        });
                    }
                    let ms = parse_timestamp_ms(&value)
                        .map_err(|reason| RowError::Timestamp { value, reason })?;
                    row.timestamp_ms = Some(ms);
                }
            }
        }
        for (column, value) in [(Column::Sku, &row.sku), (Column::Serial, &row.serial)] {
            if value.is_empty() {
                return Err(RowError::Missing { column });
            }
        }
        match (self.lot_tracked)(&row.sku) {
            None => {
                return Err(RowError::UnknownSku {
                    sku: row.sku.clone(),
                });
            }
            Some(true) if row.lot.is_none() => {
                return Err(RowError::LotRequired {
                    sku: row.sku.clone(),
                });
            }
            Some(_) => {}
        }
        if let Some(&first_line) = self.seen.get(row.serial.as_str()) {
            return Err(RowError::Duplicate {
                serial: row.serial.clone(),
                first_line,
            });
        }
        self.seen.insert(row.serial.clone().into_boxed_str(), line);
        Ok(row)
    }
}

impl<R: io::Read, F: FnMut(&str) -> Option<bool>> Iterator for RowParser<R, F> {
    type Item = Result<Result<ImportRow, RejectedRow>, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_row() {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

fn read_error(e: &csv::Error, line: u64) -> ImportError {
    if let csv::ErrorKind::Io(io) = e.kind()
        && io.to_string() == RUNAWAY
    {
        return ImportError::RowRunaway { line };
    }
    ImportError::Read {
        line,
        message: e.to_string(),
    }
}

fn check_cset82(column: Column, value: &str, max: usize) -> Result<(), RowError> {
    let len = value.chars().count();
    if len > max {
        return Err(RowError::TooLong { column, len, max });
    }
    if let Some((i, ch)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| !Cset::Cset82.allows(*c))
    {
        return Err(RowError::Character {
            column,
            ch,
            position: i + 1,
            allowed: "GS1 character set 82 (letters, digits and !\"%&'()*+,-./:;<=>?_)",
        });
    }
    Ok(())
}

fn check_text(column: Column, value: String) -> Result<String, RowError> {
    let len = value.chars().count();
    if len > TEXT_LEN_MAX {
        return Err(RowError::TooLong {
            column,
            len,
            max: TEXT_LEN_MAX,
        });
    }
    if let Some((i, ch)) = value
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || INVISIBLE.contains(c))
    {
        return Err(RowError::Character {
            column,
            ch,
            position: i + 1,
            allowed: "printable text (no control or invisible characters)",
        });
    }
    Ok(value)
}

/// Writes rejected rows as CSV: the file's header with `line,reason` appended, then each
/// rejected row's fields as they were with its line number and reason.
pub struct RejectWriter<W: io::Write> {
    writer: csv::Writer<W>,
}

impl<W: io::Write> RejectWriter<W> {
    /// Writes the header line.
    pub fn new(output: W, header: &[String]) -> csv::Result<Self> {
        let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(output);
        let mut line: Vec<&str> = header.iter().map(String::as_str).collect();
        line.extend(["line", "reason"]);
        writer.write_record(&line)?;
        Ok(RejectWriter { writer })
    }

    pub fn write(&mut self, rejected: &RejectedRow) -> csv::Result<()> {
        let line = rejected.line.to_string();
        let reason = rejected.reason.to_string();
        let record = rejected
            .fields
            .iter()
            .map(Vec::as_slice)
            .chain([line.as_bytes(), reason.as_bytes()]);
        self.writer.write_record(record)
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> Result<W, io::Error> {
        self.writer
            .into_inner()
            .map_err(|e| io::Error::other(e.error().to_string()))
    }
}

#[cfg(test)]
mod tests;
