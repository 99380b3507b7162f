use std::io::{self, Read};

use super::*;

const HEADER: &str = "sku,serial,lot,batch,size,colour,po,mfg_unit,timestamp\n";

/// Every SKU is known; `LOT-ITEM` is lot-tracked; `GHOST` is not in the catalog.
fn catalog(sku: &str) -> Option<bool> {
    match sku {
        "GHOST" => None,
        "LOT-ITEM" => Some(true),
        _ => Some(false),
    }
}

type Parsed = Vec<Result<ImportRow, RejectedRow>>;

fn parse(input: &[u8]) -> Result<Parsed, ImportError> {
    RowParser::new(input, catalog)?.collect()
}

fn parse_ok(input: &str) -> Parsed {
    parse(input.as_bytes()).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn rejection(input: &str) -> (u64, RowError) {
    let rows = parse_ok(input);
    let rejected: Vec<&RejectedRow> = rows.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(rejected.len(), 1, "{input:?}: {rows:?}");
    (rejected[0].line, rejected[0].reason.clone())
}

#[test]
fn a_full_row_and_a_minimal_one() {
    let rows = parse_ok(&format!(
        "{HEADER}SHIRT-M,SN000123,L2611,B7,M,navy,PO-4411,plant-2,2026-11-23T10:00:00Z\nSHIRT-M,SN000124,,,,,,,\n"
    ));
    assert_eq!(
        rows[0],
        Ok(ImportRow {
            line: 2,
            sku: "SHIRT-M".into(),
            serial: "SN000123".into(),
            lot: Some("L2611".into()),
            batch: Some("B7".into()),
            size: Some("M".into()),
            colour: Some("navy".into()),
            po: Some("PO-4411".into()),
            mfg_unit: Some("plant-2".into()),
            timestamp_ms: Some(1_795_428_000_000),
        })
    );
    assert_eq!(
        rows[1],
        Ok(ImportRow {
            line: 3,
            sku: "SHIRT-M".into(),
            serial: "SN000124".into(),
            ..ImportRow::default()
        })
    );
    assert_eq!(rows.len(), 2);
}

#[test]
fn columns_in_any_order_and_any_case() {
    let rows = parse_ok("Serial, SKU ,timestamp\nA1,SHIRT-M,2026-11-23\n");
    let row = rows[0].as_ref().unwrap();
    assert_eq!((row.sku.as_str(), row.serial.as_str()), ("SHIRT-M", "A1"));
    assert_eq!(row.timestamp_ms, Some(1_795_392_000_000));
    let parser = RowParser::new("Serial, SKU \n".as_bytes(), catalog).unwrap();
    assert_eq!(parser.header(), ["Serial", "SKU"]);
    assert_eq!(parser.columns(), [Column::Serial, Column::Sku]);
}

#[test]
fn header_refusals() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"",
            "the file is empty; the first line must be the header sku,serial,lot,batch,size,colour,po,mfg_unit,timestamp",
        ),
        (
            b"sku,serial,color\n",
            "header column 3 \"color\" is not a template column; the columns are sku,serial,lot,batch,size,colour,po,mfg_unit,timestamp",
        ),
        (
            b"sku,serial,lot,LOT\n",
            "header names column lot twice (columns 3 and 4)",
        ),
        (b"sku,lot\n", "header has no serial column; it is required"),
        (b"serial\n", "header has no sku column; it is required"),
        (b"sku,\xFF\n", "header column 2 is not valid UTF-8"),
    ];
    for (input, expected) in cases {
        let err = parse(input).unwrap_err();
        assert_eq!(err.to_string(), *expected, "{input:?}");
    }
}

#[test]
fn each_bad_row_class_is_rejected_with_its_line_and_reason() {
    let h = "sku,serial,lot,po,timestamp\n";
    let cases: Vec<(String, u64, RowError, &str)> = vec![
        (
            format!("{h}SHIRT-M,A1,,\n"),
            2,
            RowError::FieldCount {
                found: 4,
                expected: 5,
            },
            "row has 4 fields; the header has 5",
        ),
        (
            format!("{h}SHIRT-M,A1,,,,\n"),
            2,
            RowError::FieldCount {
                found: 6,
                expected: 5,
            },
            "row has 6 fields; the header has 5",
        ),
        (
            format!("{h}SHIRT-M,,,,\n"),
            2,
            RowError::Missing {
                column: Column::Serial,
            },
            "serial is empty; it is required",
        ),
        (
            format!("{h},A1,,,\n"),
            2,
            RowError::Missing {
                column: Column::Sku,
            },
            "sku is empty; it is required",
        ),
        (
            format!("{h}LOT-ITEM,A1,,,\n"),
            2,
            RowError::LotRequired {
                sku: "LOT-ITEM".into(),
            },
            "lot is empty; item LOT-ITEM is lot-tracked, so every unit needs one",
        ),
        (
            format!("{h}GHOST,A1,,,\n"),
            2,
            RowError::UnknownSku {
                sku: "GHOST".into(),
            },
            "sku GHOST is not in the catalog; create the item first",
        ),
        (
            format!("{h}SHIRT M,A1,,,\n"),
            2,
            RowError::Sku(ItemError::SkuCharacter {
                ch: ' ',
                position: 6,
            }),
            "sku: sku character ' ' at position 6 is not allowed; use 0-9 A-Z a-z - _ . /",
        ),
        (
            format!("{h}{},A1,,,\n", "S".repeat(41)),
            2,
            RowError::Sku(ItemError::SkuTooLong(41)),
            "sku: sku has 41 characters; at most 40 are allowed",
        ),
        (
            format!("{h}SHIRT-M,{},,,\n", "9".repeat(21)),
            2,
            RowError::TooLong {
                column: Column::Serial,
                len: 21,
                max: 20,
            },
            "serial has 21 characters; at most 20 are allowed",
        ),
        (
            format!("{h}SHIRT-M,A 1,,,\n"),
            2,
            RowError::Character {
                column: Column::Serial,
                ch: ' ',
                position: 2,
                allowed: "GS1 character set 82 (letters, digits and !\"%&'()*+,-./:;<=>?_)",
            },
            "serial character ' ' at position 2 is not allowed; use GS1 character set 82 (letters, digits and !\"%&'()*+,-./:;<=>?_)",
        ),
        (
            format!("{h}SHIRT-M,A1,L#1,,\n"),
            2,
            RowError::Character {
                column: Column::Lot,
                ch: '#',
                position: 2,
                allowed: "GS1 character set 82 (letters, digits and !\"%&'()*+,-./:;<=>?_)",
            },
            "lot character '#' at position 2 is not allowed; use GS1 character set 82 (letters, digits and !\"%&'()*+,-./:;<=>?_)",
        ),
        (
            format!("{h}SHIRT-M,A1,{},,\n", "L".repeat(21)),
            2,
            RowError::TooLong {
                column: Column::Lot,
                len: 21,
                max: 20,
            },
            "lot has 21 characters; at most 20 are allowed",
        ),
        (
            format!("{h}SHIRT-M,A1,,{},\n", "P".repeat(65)),
            2,
            RowError::TooLong {
                column: Column::Po,
                len: 65,
                max: 64,
            },
            "po has 65 characters; at most 64 are allowed",
        ),
        (
            format!("{h}SHIRT-M,A1,,PO\u{200B}1,\n"),
            2,
            RowError::Character {
                column: Column::Po,
                ch: '\u{200B}',
                position: 3,
                allowed: "printable text (no control or invisible characters)",
            },
            "po character '\\u{200b}' at position 3 is not allowed; use printable text (no control or invisible characters)",
        ),
        (
            format!("{h}SHIRT-M,A1,,,2026-02-30\n"),
            2,
            RowError::Timestamp {
                value: "2026-02-30".into(),
                reason: "the day does not exist in that month",
            },
            "timestamp \"2026-02-30\": the day does not exist in that month",
        ),
        (
            format!("{h}SHIRT-M,A1,,,{}\n", "2".repeat(41)),
            2,
            RowError::TooLong {
                column: Column::Timestamp,
                len: 41,
                max: 40,
            },
            "timestamp has 41 characters; at most 40 are allowed",
        ),
        (
            format!("{h}SHIRT-M,A1,,,\nSHIRT-M,A2,,,\nSHIRT-M,A1,,,\n"),
            4,
            RowError::Duplicate {
                serial: "A1".into(),
                first_line: 2,
            },
            "serial A1 is already on line 2 of this file",
        ),
    ];
    for (input, line, reason, message) in cases {
        assert_eq!(rejection(&input), (line, reason.clone()), "{input:?}");
        assert_eq!(reason.to_string(), message);
    }
}

#[test]
fn non_utf8_bytes_reject_the_row_and_are_kept_for_the_reject_file() {
    let input = b"sku,serial,po\nSHIRT-M,A1,PO-\xE9\nSHIRT-M,A2,PO-2\n";
    let rows = parse(input).unwrap();
    let rejected = rows[0].as_ref().unwrap_err();
    assert_eq!(rejected.line, 2);
    assert_eq!(rejected.reason, RowError::NotUtf8 { column: Column::Po });
    assert_eq!(rejected.fields[2], b"PO-\xE9");
    assert!(rows[1].is_ok());
}

#[test]
fn a_rejected_serial_is_not_a_duplicate_of_a_later_row() {
    let rows = parse_ok("sku,serial,lot\nLOT-ITEM,A1,\nLOT-ITEM,A1,L1\n");
    assert!(rows[0].is_err());
    assert_eq!(rows[1].as_ref().unwrap().line, 3);
}

#[test]
fn quoting_commas_quotes_and_newlines_inside_fields() {
    let input = "sku,serial,colour,po\r\n\
                 SHIRT-M,\"A,1\",\"navy, \"\"deep\"\"\",PO1\r\n\
                 SHIRT-M,A2,\"two\r\nlines\",PO2\r\n\
                 SHIRT-M,A3,red,PO3\r\n";
    let rows = parse_ok(input);
    let row = rows[0].as_ref().unwrap();
    assert_eq!(row.serial, "A,1");
    assert_eq!(row.colour.as_deref(), Some("navy, \"deep\""));
    // A newline inside a field is a control character: the row is rejected, and the row
    // after it keeps its physical line number.
    let rejected = rows[1].as_ref().unwrap_err();
    assert_eq!(rejected.line, 3);
    assert!(matches!(
        rejected.reason,
        RowError::Character {
            column: Column::Colour,
            ch: '\r',
            position: 4,
            ..
        }
    ));
    assert_eq!(rows[2].as_ref().unwrap().line, 5);
    assert_eq!(rows[2].as_ref().unwrap().po.as_deref(), Some("PO3"));
}

#[test]
fn crlf_line_ends_a_bom_and_blank_lines() {
    let input = "\u{FEFF}sku,serial\r\nSHIRT-M,A1\r\n\r\nSHIRT-M,A2\r\n";
    let rows = parse_ok(input);
    let lines: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| {
            let r = r.as_ref().unwrap();
            (r.line, r.serial.as_str())
        })
        .collect();
    assert_eq!(lines, [(2, "A1"), (4, "A2")]);
    // Without a final line end the last row still counts.
    assert_eq!(parse_ok("sku,serial\nSHIRT-M,A1").len(), 1);
}

#[test]
fn a_long_row_is_rejected_and_the_next_one_read() {
    let long = "x".repeat(5000);
    let input = format!("sku,serial,po\nSHIRT-M,A1,{long}\nSHIRT-M,A2,PO2\n");
    let rows = parse_ok(&input);
    assert_eq!(
        rows[0].as_ref().unwrap_err().reason,
        RowError::RowTooLong { bytes: 5012 }
    );
    assert_eq!(rows[1].as_ref().unwrap().serial, "A2");
}

#[test]
fn an_unclosed_quote_stops_the_import_without_reading_everything() {
    /// Endless input after an opening quote; counts what was read.
    struct Endless {
        head: &'static [u8],
        read: u64,
    }
    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = if self.head.is_empty() {
                buf.fill(b'x');
                buf.len()
            } else {
                let n = self.head.len().min(buf.len());
                buf[..n].copy_from_slice(&self.head[..n]);
                self.head = &self.head[n..];
                n
            };
            self.read += n as u64;
            Ok(n)
        }
    }
    let mut input = Endless {
        head: b"sku,serial\nSHIRT-M,A1\nSHIRT-M,\"A2",
        read: 0,
    };
    let items: Vec<_> = RowParser::new(&mut input, catalog).unwrap().collect();
    assert_eq!(items.len(), 2);
    assert!(matches!(items[0], Ok(Ok(_))));
    let Err(err) = &items[1] else {
        panic!("{:?}", items[1]);
    };
    assert!(matches!(err, ImportError::RowRunaway { line: 3 }), "{err}");
    assert!(input.read < 2 * ROW_RUNAWAY_BYTES, "{}", input.read);
}

#[test]
fn reject_file_round_trips_through_the_csv_reader() {
    let input =
        b"sku,serial,colour\nSHIRT-M,A1,red\nSHIRT-M,A 2,\"navy, \"\"deep\"\"\"\nSHIRT-M,A3,\xFF\n";
    let mut parser = RowParser::new(&input[..], catalog).unwrap();
    let header = parser.header().to_vec();
    let mut writer = RejectWriter::new(Vec::new(), &header).unwrap();
    let mut accepted = 0;
    for item in &mut parser {
        match item.unwrap() {
            Ok(_) => accepted += 1,
            Err(rejected) => writer.write(&rejected).unwrap(),
        }
    }
    assert_eq!(accepted, 1);
    let out = writer.finish().unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&out[..]);
    let records: Vec<csv::ByteRecord> = reader.byte_records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(
        &records[0],
        vec!["sku", "serial", "colour", "line", "reason"]
    );
    assert_eq!(
        &records[1],
        vec![
            "SHIRT-M",
            "A 2",
            "navy, \"deep\"",
            "3",
            "serial character ' ' at position 2 is not allowed; use GS1 character set 82 (letters, digits and !\"%&'()*+,-./:;<=>?_)",
        ]
    );
    assert_eq!(records[2].get(2), Some(&b"\xFF"[..]));
    assert_eq!(records[2].get(4), Some(&b"colour is not valid UTF-8"[..]));
}

/// Generates `n` rows of the template on the fly, never the whole file.
struct Generated {
    n: u64,
    next: u64,
    pending: Vec<u8>,
    at: usize,
}

impl Generated {
    fn new(n: u64) -> Generated {
        Generated {
            n,
            next: 0,
            pending: HEADER.as_bytes().to_vec(),
            at: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.pending.len() {
            if self.next == self.n {
                return Ok(0);
            }
            self.pending.clear();
            self.at = 0;
            let i = self.next;
            self.next += 1;
            use std::io::Write;
            writeln!(
                self.pending,
                "SHIRT-M,SN{i:010},L{},B1,M,navy,PO-{},plant-1,2026-11-23T10:00:00Z",
                i % 97,
                i % 1000
            )?;
        }
        let n = (self.pending.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn count_generated(n: u64) {
    let mut accepted = 0u64;
    let mut last_line = 0;
    for item in RowParser::new(Generated::new(n), catalog).unwrap() {
        let row = item.unwrap().unwrap();
        last_line = row.line;
        accepted += 1;
    }
    assert_eq!(accepted, n);
    assert_eq!(last_line, n + 1);
}

#[test]
fn generated_rows_stream_through() {
    count_generated(50_000);
}

/// The bound itself: a million rows streamed, every serial kept for the duplicate check.
#[test]
#[ignore = "a million rows take several seconds in a debug build; run with --ignored"]
fn a_million_rows_stream_through() {
    count_generated(ROWS_MAX);
}

#[test]
fn one_row_past_the_bound_stops_the_import() {
    let mut parser = RowParser::new(Generated::new(1000), |_| Some(false))
        .unwrap()
        .with_rows_max(999);
    let err = parser.by_ref().find_map(Result::err).unwrap();
    assert_eq!(
        err.to_string(),
        "line 1001: the file has more rows than the 999 one import takes; split it (nothing from line 1001 on was imported)"
    );
    assert!(parser.next().is_none());
    let parser = RowParser::new(Generated::new(1), |_| Some(false)).unwrap();
    assert_eq!(parser.with_rows_max(u64::MAX).rows_max, ROWS_MAX);
}

/// The README's worked example, parsed and its reject file written, text for text.
#[test]
fn the_readme_example() {
    let input = "sku,serial,lot,batch,size,colour,po,mfg_unit,timestamp\n\
                 SHIRT-M,SN000123,L2611,B7,M,navy,PO-4411,plant-2,2026-11-23T10:00:00Z\n\
                 SHIRT-M,SN000124,,,,,,,2026-11-23\n\
                 LOT-ITEM,SN000125,,,,,,,\n\
                 SHIRT-M,SN000123,L2611,,,,,,\n";
    let mut parser = RowParser::new(input.as_bytes(), catalog).unwrap();
    let mut writer = RejectWriter::new(Vec::new(), parser.header()).unwrap();
    let mut accepted = Vec::new();
    for item in &mut parser {
        match item.unwrap() {
            Ok(row) => accepted.push(row.line),
            Err(rejected) => writer.write(&rejected).unwrap(),
        }
    }
    assert_eq!(accepted, [2, 3]);
    let out = String::from_utf8(writer.finish().unwrap()).unwrap();
    assert_eq!(
        out,
        "sku,serial,lot,batch,size,colour,po,mfg_unit,timestamp,line,reason\n\
         LOT-ITEM,SN000125,,,,,,,,4,\"lot is empty; item LOT-ITEM is lot-tracked, so every unit needs one\"\n\
         SHIRT-M,SN000123,L2611,,,,,,,5,serial SN000123 is already on line 2 of this file\n"
    );
    assert_eq!(
        template_header(),
        "sku,serial,lot,batch,size,colour,po,mfg_unit,timestamp"
    );
}

#[test]
fn line_numbers_count_lf_crlf_and_lone_cr_line_ends() {
    for (input, expected) in [
        ("sku,serial\nS,A1\n\n\nS,A2\n", [2, 5]),
        ("sku,serial\r\nS,A1\r\n\r\n\r\nS,A2\r\n", [2, 5]),
        ("sku,serial\rS,A1\r\r\rS,A2\r", [2, 5]),
        ("sku,serial\nS,\"A\n1\"\nS,A2\n", [2, 4]),
    ] {
        let lines: Vec<u64> = parse_ok(input)
            .iter()
            .map(|r| match r {
                Ok(row) => row.line,
                Err(rejected) => rejected.line,
            })
            .collect();
        assert_eq!(lines, expected, "{input:?}");
    }
}

/// The parser can be moved to a blocking thread (`spawn_blocking`) with its input.
#[test]
fn the_parser_is_send() {
    fn send<T: Send>(value: T) -> T {
        value
    }
    let parser = send(RowParser::new(&b"sku,serial\nSHIRT-M,A1\n"[..], catalog).unwrap());
    let rows = std::thread::spawn(move || parser.count()).join().unwrap();
    assert_eq!(rows, 1);
}
