//! Fuzz target `import_row`: arbitrary bytes are a CSV import file for `import::RowParser`,
//! the parser behind `serialtrack import units`. Nothing may panic, and what it yields must
//! hold what the module promises: the parse ends after at most one `ImportError`; accepted
//! rows have valid SKUs, serials of 1 to 20 GS1 character set 82 characters, distinct
//! serials, and line numbers that only grow; every rejected row's fields go through
//! `RejectWriter` and read back with the csv reader as the same fields plus `line,reason`.
//! SKUs starting `L` are lot-tracked and SKUs starting `X` are unknown, so those checks run.
//! This file owns no logic of its own beyond these checks.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use serialtrack::barcode::ai_table::Cset;
use serialtrack::domain::item::validate_sku;
use serialtrack::import::{RejectWriter, RejectedRow, RowParser, SERIAL_LEN_MAX};

fn catalog(sku: &str) -> Option<bool> {
    match sku.as_bytes().first() {
        Some(b'X') => None,
        Some(b'L') => Some(true),
        _ => Some(false),
    }
}

fn check_reject_file(header: &[String], rejected: &[RejectedRow]) {
    let mut writer = RejectWriter::new(Vec::new(), header).expect("reject header");
    for row in rejected {
        writer.write(row).expect("reject row");
    }
    let out = writer.finish().expect("reject file");
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&out[..]);
    let records: Vec<csv::ByteRecord> = reader
        .byte_records()
        .map(|r| r.expect("reject file reads back"))
        .collect();
    assert_eq!(records.len(), rejected.len() + 1, "{out:?}");
    for (record, row) in records.iter().skip(1).zip(rejected) {
        let mut expected: Vec<&[u8]> = row.fields.iter().map(Vec::as_slice).collect();
        let line = row.line.to_string();
        let reason = row.reason.to_string();
        expected.push(line.as_bytes());
        expected.push(reason.as_bytes());
        // A row of one empty field is written as an empty line, which a reader skips; with
        // `line,reason` appended no rejected row is that short.
        assert_eq!(record.iter().collect::<Vec<_>>(), expected, "{out:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(parser) = RowParser::new(data, catalog) else {
        return;
    };
    let header = parser.header().to_vec();
    let mut serials = HashSet::new();
    let mut rejected = Vec::new();
    let mut last_line = 1;
    let mut errors = 0;
    for item in parser {
        assert_eq!(errors, 0, "an item after the import stopped: {data:?}");
        match item {
            Err(_) => errors += 1,
            Ok(Ok(row)) => {
                assert!(row.line > last_line, "line {} after {last_line}: {data:?}", row.line);
                last_line = row.line;
                assert!(validate_sku(&row.sku).is_ok(), "{row:?}");
                let n = row.serial.chars().count();
                assert!((1..=SERIAL_LEN_MAX).contains(&n), "{row:?}");
                assert!(row.serial.chars().all(|c| Cset::Cset82.allows(c)), "{row:?}");
                if catalog(&row.sku) == Some(true) {
                    assert!(row.lot.is_some(), "{row:?}");
                }
                assert!(serials.insert(row.serial.clone()), "duplicate {row:?}");
            }
            Ok(Err(row)) => {
                assert!(row.line > last_line, "line {} after {last_line}: {data:?}", row.line);
                last_line = row.line;
                rejected.push(row);
            }
        }
    }
    check_reject_file(&header, &rejected);
});
