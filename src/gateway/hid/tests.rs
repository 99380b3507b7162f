//! Recorded-report tests: fixtures in the `--replay` text format, written by hand from the
//! layouts in `pos.rs` and the key usages in `tables.rs`, and every error path.

use super::*;

/// Feeds every report of a recording to `decoder` and returns what each report gave, for
/// the reports that gave something (a scan or an error), with its 1-based report number.
fn run(decoder: &mut Decoder, recording: &str) -> Vec<(usize, Result<Vec<u8>, HidError>)> {
    let reports = parse_replay(recording).expect("fixture parses");
    let mut results = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        match decoder.feed(report) {
            Ok(None) => {}
            Ok(Some(scan)) => results.push((i + 1, Ok(scan))),
            Err(error) => results.push((i + 1, Err(error))),
        }
    }
    results
}

/// The scans a recording gives; fails on any error.
fn scans(decoder: &mut Decoder, recording: &str) -> Vec<Vec<u8>> {
    run(decoder, recording)
        .into_iter()
        .map(|(n, result)| result.unwrap_or_else(|error| panic!("report {n}: {error}")))
        .collect()
}

fn check(decoder: &mut Decoder, recording: &str, expected: &[&[u8]]) {
    let got = scans(decoder, recording);
    let got: Vec<&[u8]> = got.iter().map(Vec::as_slice).collect();
    assert_eq!(
        got,
        expected,
        "scans as text: {:?}",
        got.iter()
            .map(|s| String::from_utf8_lossy(s))
            .collect::<Vec<_>>()
    );
}

fn keyboard(layout: &'static KeyboardLayout) -> Decoder {
    Decoder::keyboard(KeyboardConfig {
        layout,
        ..KeyboardConfig::default()
    })
}

const GS1_DATAMATRIX_SCAN: &[u8] = b"]d2010950600013435217261231\
10LOT42\x1d21SER123";

// ----- HID POS -------------------------------------------------------------------------------

/// A GS1 DataMatrix over two POS-example reports: the first flagged "more data follows". The
/// scanner split it at an AI boundary; the second report repeats the AIM identifier.
const POS_GS1_TWO_REPORTS: &str = "
# ]d2 0109506000134352 17261231 (24 data bytes), more
02 18 5D 64 32 30 31 30 39 35 30 36 30 30 30 31 33 34 33 35 32 31 37 32 36 31 32 33 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01
# ]d2 10LOT42 GS 21SER123 (16 data bytes), last
02 10 5D 64 32 31 30 4C 4F 54 34 32 1D 32 31 53 45 52 31 32 33 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
";

/// An EAN-13 in one report.
const POS_EAN13: &str = "
02 0D 5D 45 30 34 30 30 36 33 38 31 33 33 33 39 33 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
";

/// A 66-byte Digital Link URI in a QR code: the first report full (56 bytes), the rest in the
/// second, as devices split long scans.
const POS_URI_FULL_FIRST_REPORT: &str = "
02 38 5D 51 31 68 74 74 70 73 3A 2F 2F 65 78 61 6D 70 6C 65 2E 63 6F 6D 2F 30 31 2F 30 39 35 30 36 30 30 30 31 33 34 33 35 32 2F 31 30 2F 4C 4F 54 34 32 2F 32 31 2F 53 45 52 31 32 33 00 00 01
02 0A 5D 51 31 3F 31 37 3D 32 36 31 32 33 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
";

/// The same EAN-13 from a Newland-style engine: data from byte 2, vendor symbology code 0x64
/// at byte 62, no AIM identifier.
const NEWLAND_EAN13: &str = "
02 0D 34 30 30 36 33 38 31 33 33 33 39 33 31 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 64 00
";

#[test]
fn pos_gs1_datamatrix_over_two_reports() {
    let mut decoder = Decoder::pos_for_vendor(0x0C2E);
    let results = run(&mut decoder, POS_GS1_TWO_REPORTS);
    // Nothing after the first report, the whole scan after the second.
    assert_eq!(results, vec![(2, Ok(GS1_DATAMATRIX_SCAN.to_vec()))]);
    assert!(!decoder.is_mid_scan());
}

#[test]
fn pos_ean13_and_uri_back_to_back() {
    let mut decoder = Decoder::pos_for_vendor(0x0536);
    let recording = format!("{POS_EAN13}{POS_URI_FULL_FIRST_REPORT}{POS_GS1_TWO_REPORTS}");
    check(
        &mut decoder,
        &recording,
        &[
            b"]E04006381333931",
            b"]Q1https://example.com/01/09506000134352/10/LOT42/21/SER123?17=261231",
            GS1_DATAMATRIX_SCAN,
        ],
    );
}

#[test]
fn pos_single_report_decodes_to_a_chunk() {
    let report = &parse_replay(POS_GS1_TWO_REPORTS).unwrap()[0];
    let chunk = decode_report(&POS_EXAMPLE, report).unwrap();
    assert_eq!(
        chunk,
        PosChunk {
            aim_id: Some(*b"]d2"),
            symbology: None,
            data: b"010950600013435217261231",
            more: true,
        }
    );
}

#[test]
fn newland_layout_reads_data_from_byte_2_and_the_symbology_code() {
    let report = &parse_replay(NEWLAND_EAN13).unwrap()[0];
    let chunk = decode_report(&NEWLAND, report).unwrap();
    assert_eq!(chunk.aim_id, None);
    assert_eq!(chunk.symbology, Some(0x64));
    assert_eq!(chunk.data, b"4006381333931");
    assert!(!chunk.more);
    check(
        &mut Decoder::pos_for_vendor(0x1EAB),
        NEWLAND_EAN13,
        &[b"4006381333931"],
    );
    // Read with the wrong layout, the same bytes are refused, not misread.
    assert_eq!(
        decode_report(&POS_EXAMPLE, report),
        Err(HidError::InvalidAimId { bytes: *b"400" })
    );
}

#[test]
fn vendors_pick_their_layouts() {
    let cases: &[(u16, &str)] = &[
        (0x0536, "hid-pos-example"),
        (0x0C2E, "hid-pos-example"),
        (0x05E0, "hid-pos-example"),
        (0x05F9, "hid-pos-example"),
        (0x080C, "hid-pos-example"),
        (0x065A, "hid-pos-example"),
        (0x1EAB, "newland"),
        (0x1234, "hid-pos-example"),
    ];
    for &(vendor_id, layout) in cases {
        assert_eq!(
            vendor(vendor_id).pos_layout.name,
            layout,
            "vendor 0x{vendor_id:04X}"
        );
    }
    assert!(
        VENDORS.windows(2).all(|w| w[0].vendor_id < w[1].vendor_id),
        "sorted for lookup"
    );
    assert_eq!(vendor(0x0536).feedback, Some(&HONEYWELL_FEEDBACK));
    assert_eq!(vendor(0x1EAB).feedback, None);
    assert_eq!(vendor(0x1234).feedback, None);
}

fn pos_report(length: u8, aim: &[u8; 3], data: &[u8], more: bool) -> Vec<u8> {
    let mut report = vec![0; 64];
    report[0] = 0x02;
    report[1] = length;
    report[2..5].copy_from_slice(aim);
    report[5..5 + data.len()].copy_from_slice(data);
    report[63] = u8::from(more);
    report
}

#[test]
fn pos_report_errors() {
    let good = pos_report(3, b"]E0", b"123", false);
    let mut wrong_id = good.clone();
    wrong_id[0] = 0x04;
    let mut long = good.clone();
    long.push(0);
    let cases: Vec<(Vec<u8>, HidError)> = vec![
        (vec![], HidError::EmptyReport),
        (
            wrong_id,
            HidError::WrongReportId {
                layout: "hid-pos-example",
                found: 0x04,
                expected: 0x02,
            },
        ),
        (
            good[..63].to_vec(),
            HidError::ReportLength {
                layout: "hid-pos-example",
                len: 63,
                expected: 64,
            },
        ),
        (
            long,
            HidError::ReportLength {
                layout: "hid-pos-example",
                len: 65,
                expected: 64,
            },
        ),
        (
            pos_report(57, b"]E0", b"", false),
            HidError::LengthBeyondData {
                layout: "hid-pos-example",
                length: 57,
                max: 56,
            },
        ),
        (
            pos_report(255, b"]E0", b"", false),
            HidError::LengthBeyondData {
                layout: "hid-pos-example",
                length: 255,
                max: 56,
            },
        ),
        (
            pos_report(3, b"E0]", b"123", false),
            HidError::InvalidAimId { bytes: *b"E0]" },
        ),
    ];
    for (report, expected) in cases {
        assert_eq!(decode_report(&POS_EXAMPLE, &report), Err(expected.clone()));
        let mut assembler = PosAssembler::new(POS_EXAMPLE);
        assert_eq!(assembler.push(&report), Err(expected));
    }
    // At the limit: 56 data bytes are fine, and no AIM identifier (all NUL) is fine.
    let full = pos_report(56, &[0; 3], &[b'7'; 56], false);
    assert_eq!(
        decode_report(&POS_EXAMPLE, &full).unwrap().data,
        &[b'7'; 56]
    );
    assert_eq!(decode_report(&POS_EXAMPLE, &full).unwrap().aim_id, None);
}

#[test]
fn pos_data_length_is_authoritative_even_with_nul_in_the_data() {
    let report = pos_report(4, b"]d1", b"A\0B\0", false);
    let mut assembler = PosAssembler::new(POS_EXAMPLE);
    assert_eq!(assembler.push(&report), Ok(Some(b"]d1A\0B\0".to_vec())));
}

#[test]
fn pos_other_report_ids_leave_a_scan_in_progress_alone() {
    let reports = parse_replay(POS_GS1_TWO_REPORTS).unwrap();
    let mut trigger_report = vec![0; 64];
    trigger_report[0] = 0x04;
    let mut assembler = PosAssembler::new(POS_EXAMPLE);
    assert_eq!(assembler.push(&reports[0]), Ok(None));
    assert!(matches!(
        assembler.push(&trigger_report),
        Err(HidError::WrongReportId { found: 0x04, .. })
    ));
    assert_eq!(
        assembler.push(&reports[1]),
        Ok(Some(GS1_DATAMATRIX_SCAN.to_vec()))
    );
}

#[test]
fn pos_bad_report_mid_scan_drops_the_scan_and_skips_its_rest() {
    let mut assembler = PosAssembler::new(POS_EXAMPLE);
    assert_eq!(
        assembler.push(&pos_report(2, b"]C1", b"01", true)),
        Ok(None)
    );
    // A corrupt middle report that still says more follows.
    assert!(assembler.push(&pos_report(60, b"]C1", b"", true)).is_err());
    assert!(assembler.is_mid_scan());
    // The rest of that scan is skipped, up to its last report.
    assert_eq!(
        assembler.push(&pos_report(2, b"]C1", b"95", true)),
        Ok(None)
    );
    assert_eq!(
        assembler.push(&pos_report(2, b"]C1", b"06", false)),
        Ok(None)
    );
    assert!(!assembler.is_mid_scan());
    // The next scan is whole.
    assert_eq!(
        assembler.push(&pos_report(3, b"]E0", b"123", false)),
        Ok(Some(b"]E0123".to_vec()))
    );
    // A corrupt report that says it is the last ends the skipping at once.
    assert!(assembler.push(&pos_report(2, b"]C1", b"01", true)).is_ok());
    assert!(assembler.push(&pos_report(60, b"]C1", b"", false)).is_err());
    assert!(!assembler.is_mid_scan());
}

#[test]
fn pos_scan_length_bound() {
    // 3 AIM bytes + 73 reports of 56 bytes = 4091, then 5 more bytes reach exactly 4096.
    let mut assembler = PosAssembler::new(POS_EXAMPLE);
    for _ in 0..73 {
        assert_eq!(
            assembler.push(&pos_report(56, b"]d1", &[b'x'; 56], true)),
            Ok(None)
        );
    }
    let scan = assembler
        .push(&pos_report(5, b"]d1", b"yyyyy", false))
        .unwrap()
        .unwrap();
    assert_eq!(scan.len(), SCAN_LEN_MAX);
    assert!(scan.starts_with(b"]d1xxx") && scan.ends_with(b"xyyyyy"));

    // One byte more is refused, the bytes so far dropped and the rest of that scan skipped.
    for _ in 0..73 {
        assert_eq!(
            assembler.push(&pos_report(56, b"]d1", &[b'x'; 56], true)),
            Ok(None)
        );
    }
    assert_eq!(
        assembler.push(&pos_report(6, b"]d1", b"zzzzzz", true)),
        Err(HidError::ScanTooLong { max: SCAN_LEN_MAX })
    );
    assert_eq!(
        assembler.push(&pos_report(56, b"]d1", &[b'x'; 56], true)),
        Ok(None)
    );
    assert_eq!(
        assembler.push(&pos_report(1, b"]d1", b"x", false)),
        Ok(None)
    );
    assert_eq!(
        assembler.push(&pos_report(3, b"]E0", b"123", false)),
        Ok(Some(b"]E0123".to_vec()))
    );
}

#[test]
fn pos_empty_report_is_not_a_scan_and_reset_drops_a_partial_one() {
    let mut decoder = Decoder::pos_for_vendor(0x0536);
    assert_eq!(decoder.feed(&pos_report(0, &[0; 3], b"", false)), Ok(None));
    assert_eq!(decoder.feed(&pos_report(2, b"]C1", b"01", true)), Ok(None));
    assert!(decoder.is_mid_scan());
    decoder.reset();
    assert!(!decoder.is_mid_scan());
    assert_eq!(
        decoder.feed(&pos_report(3, b"]E0", b"123", false)),
        Ok(Some(b"]E0123".to_vec()))
    );
}

#[test]
fn pos_encoder_splits_like_the_fixtures() {
    let reports = encode_pos_scan(
        &POS_EXAMPLE,
        Some(*b"]Q1"),
        b"https://example.com/01/09506000134352/10/LOT42/21/SER123?17=261231",
    );
    assert_eq!(reports, parse_replay(POS_URI_FULL_FIRST_REPORT).unwrap());
    assert_eq!(
        encode_pos_scan(&NEWLAND, None, b"4006381333931")[0][..62],
        parse_replay(NEWLAND_EAN13).unwrap()[0][..62]
    );
}

#[test]
fn feedback_reports() {
    let good = feedback_report(&HONEYWELL_FEEDBACK, Feedback::GoodRead).unwrap();
    assert_eq!(good.len(), 64);
    assert_eq!(good[..5], [0xFD, 0x03, 0x16, 0x07, 0x0D]);
    assert!(good[5..].iter().all(|&b| b == 0));
    assert_eq!(
        feedback_report(&HONEYWELL_FEEDBACK, Feedback::BadRead),
        Err(HidError::FeedbackUnsupported {
            layout: "honeywell-command",
            feedback: Feedback::BadRead,
        })
    );

    let bits = FeedbackLayout::UsageBits {
        name: "test-bits",
        report_id: 0x05,
        report_len: 3,
        good_read_led: Some(BitPosition {
            byte: 1,
            mask: 0x01,
        }),
        good_read_beep: Some(BitPosition {
            byte: 1,
            mask: 0x04,
        }),
        error_beep: Some(BitPosition {
            byte: 2,
            mask: 0x80,
        }),
    };
    assert_eq!(
        feedback_report(&bits, Feedback::GoodRead),
        Ok(vec![0x05, 0x05, 0x00])
    );
    assert_eq!(
        feedback_report(&bits, Feedback::BadRead),
        Ok(vec![0x05, 0x00, 0x80])
    );

    let outside = FeedbackLayout::UsageBits {
        name: "outside",
        report_id: 0x05,
        report_len: 2,
        good_read_led: None,
        good_read_beep: Some(BitPosition {
            byte: 2,
            mask: 0x01,
        }),
        error_beep: None,
    };
    for feedback in [Feedback::GoodRead, Feedback::BadRead] {
        assert_eq!(
            feedback_report(&outside, feedback),
            Err(HidError::FeedbackUnsupported {
                layout: "outside",
                feedback,
            })
        );
    }
}

// ----- keyboard wedge ------------------------------------------------------------------------

/// `0109506000134352` Ctrl+] `21ABC` Enter from a US keyboard-wedge scanner, with the habits
/// of real devices: a key held across two reports, an Error RollOver report while a key is
/// down, the next key pressed before the previous is released, Shift sent in its own report
/// before the key, and Right Shift.
const WEDGE_GS1_US: &str = "
00 00 27 00 00 00 00 00  # 0
00 00 27 00 00 00 00 00  # 0 still held: not a second press
00 00 00 00 00 00 00 00
00 00 1E 00 00 00 00 00  # 1
00 00 00 00 00 00 00 00
00 00 27 00 00 00 00 00  # 0
00 00 00 00 00 00 00 00
00 00 26 00 00 00 00 00  # 9
00 00 00 00 00 00 00 00
00 00 22 00 00 00 00 00  # 5
00 00 00 00 00 00 00 00
00 00 27 00 00 00 00 00  # 0
00 00 00 00 00 00 00 00
00 00 23 00 00 00 00 00  # 6
00 00 00 00 00 00 00 00
00 00 27 00 00 00 00 00  # 0
00 00 00 00 00 00 00 00
00 00 27 00 00 00 00 00  # 0
00 00 00 00 00 00 00 00
00 00 27 00 00 00 00 00  # 0
00 00 00 00 00 00 00 00
00 00 1E 00 00 00 00 00  # 1
00 00 00 00 00 00 00 00
00 00 20 00 00 00 00 00  # 3
00 00 01 01 01 01 01 01  # Error RollOver: ignored
00 00 20 00 00 00 00 00  # 3 still held
00 00 00 00 00 00 00 00
00 00 21 00 00 00 00 00  # 4
00 00 00 00 00 00 00 00
00 00 20 00 00 00 00 00  # 3
00 00 00 00 00 00 00 00
00 00 22 00 00 00 00 00  # 5
00 00 00 00 00 00 00 00
00 00 1F 00 00 00 00 00  # 2
00 00 00 00 00 00 00 00
01 00 30 00 00 00 00 00  # Left Ctrl + ]: GS
00 00 00 00 00 00 00 00
00 00 1F 00 00 00 00 00  # 2
00 00 1F 1E 00 00 00 00  # 1 pressed while 2 is still down
00 00 1E 00 00 00 00 00
00 00 00 00 00 00 00 00
02 00 04 00 00 00 00 00  # Left Shift + a: A
00 00 00 00 00 00 00 00
02 00 00 00 00 00 00 00  # Left Shift alone first
02 00 05 00 00 00 00 00  # B
02 00 00 00 00 00 00 00
00 00 00 00 00 00 00 00
20 00 06 00 00 00 00 00  # Right Shift + c: C
00 00 00 00 00 00 00 00
00 00 28 00 00 00 00 00  # Enter
00 00 00 00 00 00 00 00
";

#[test]
fn wedge_gs1_scan_us() {
    let mut decoder = keyboard(&US);
    let results = run(&mut decoder, WEDGE_GS1_US);
    let last = parse_replay(WEDGE_GS1_US).unwrap().len() - 1;
    assert_eq!(
        results,
        vec![(last, Ok(b"0109506000134352\x1d21ABC".to_vec()))]
    );
    assert!(!decoder.is_mid_scan());
}

/// `10LOT42` F8 `21X` keypad-Enter, from a scanner set to send GS as F8 (and its digits `4`,
/// `2` from the keypad).
const WEDGE_F8_GS: &str = "
00 00 1E 00 00 00 00 00  # 1
00 00 00 00 00 00 00 00
00 00 27 00 00 00 00 00  # 0
00 00 00 00 00 00 00 00
02 00 0F 00 00 00 00 00  # L
00 00 00 00 00 00 00 00
02 00 12 00 00 00 00 00  # O
00 00 00 00 00 00 00 00
02 00 17 00 00 00 00 00  # T
00 00 00 00 00 00 00 00
00 00 5C 00 00 00 00 00  # keypad 4
00 00 00 00 00 00 00 00
00 00 5A 00 00 00 00 00  # keypad 2
00 00 00 00 00 00 00 00
00 00 41 00 00 00 00 00  # F8
00 00 00 00 00 00 00 00
00 00 1F 00 00 00 00 00  # 2
00 00 00 00 00 00 00 00
00 00 1E 00 00 00 00 00  # 1
00 00 00 00 00 00 00 00
02 00 1B 00 00 00 00 00  # X
00 00 00 00 00 00 00 00
00 00 58 00 00 00 00 00  # keypad Enter
00 00 00 00 00 00 00 00
";

#[test]
fn wedge_f8_as_gs_when_configured() {
    let mut decoder = Decoder::keyboard(KeyboardConfig {
        f8_is_gs: true,
        ..KeyboardConfig::default()
    });
    check(&mut decoder, WEDGE_F8_GS, &[b"10LOT42\x1d21X"]);

    // Without the setting F8 is an unknown key: an error naming it, and the rest of the scan
    // is skipped up to its terminator.
    let results = run(&mut keyboard(&US), WEDGE_F8_GS);
    assert_eq!(
        results,
        vec![(
            15,
            Err(HidError::UnmappedKey {
                usage: 0x41,
                name: "Keyboard F8",
                modifiers: 0,
                layout: "us",
            })
        )]
    );
}

/// `10X-4/Y` Ctrl+(usage 0x30) `21Z$%+` Enter from a scanner set to German QWERTZ.
const WEDGE_QWERTZ: &str = "
00 00 1E 00 00 00 00 00  # 1
00 00 00 00 00 00 00 00
00 00 27 00 00 00 00 00  # 0
00 00 00 00 00 00 00 00
02 00 1B 00 00 00 00 00  # X
00 00 00 00 00 00 00 00
00 00 38 00 00 00 00 00  # - (US /)
00 00 00 00 00 00 00 00
00 00 21 00 00 00 00 00  # 4
00 00 00 00 00 00 00 00
02 00 24 00 00 00 00 00  # Shift+7: /
00 00 00 00 00 00 00 00
02 00 1D 00 00 00 00 00  # Y (US Z position)
00 00 00 00 00 00 00 00
01 00 30 00 00 00 00 00  # Ctrl + usage 0x30: GS
00 00 00 00 00 00 00 00
00 00 1F 00 00 00 00 00  # 2
00 00 00 00 00 00 00 00
00 00 1E 00 00 00 00 00  # 1
00 00 00 00 00 00 00 00
02 00 1C 00 00 00 00 00  # Z (US Y position)
00 00 00 00 00 00 00 00
02 00 21 00 00 00 00 00  # Shift+4: $
00 00 00 00 00 00 00 00
02 00 22 00 00 00 00 00  # Shift+5: %
00 00 00 00 00 00 00 00
00 00 30 00 00 00 00 00  # + (US ])
00 00 00 00 00 00 00 00
00 00 28 00 00 00 00 00  # Enter
00 00 00 00 00 00 00 00
";

#[test]
fn wedge_qwertz_and_why_the_layout_matters() {
    check(
        &mut keyboard(&GERMAN),
        WEDGE_QWERTZ,
        &[b"10X-4/Y\x1d21Z$%+"],
    );
    // Read as US, the same reports are a different, plausible-looking scan.
    check(&mut keyboard(&US), WEDGE_QWERTZ, &[b"10X/4&Z\x1d21Y$%]"]);
}

/// `]C1` `10AB.5~` Enter from a scanner set to French AZERTY with the AIM prefix on: `]` is
/// AltGr (Right Alt) + usage 0x2D, digits need Shift, and `~` is a dead key (AltGr as
/// Ctrl + Left Alt here) followed by Space.
const WEDGE_AZERTY: &str = "
40 00 2D 00 00 00 00 00  # AltGr + ): ]
00 00 00 00 00 00 00 00
02 00 06 00 00 00 00 00  # C
00 00 00 00 00 00 00 00
02 00 1E 00 00 00 00 00  # Shift+&: 1
00 00 00 00 00 00 00 00
02 00 1E 00 00 00 00 00  # 1
00 00 00 00 00 00 00 00
02 00 27 00 00 00 00 00  # 0
00 00 00 00 00 00 00 00
02 00 14 00 00 00 00 00  # A (US Q position)
00 00 00 00 00 00 00 00
02 00 05 00 00 00 00 00  # B
00 00 00 00 00 00 00 00
02 00 36 00 00 00 00 00  # Shift+;: .
00 00 00 00 00 00 00 00
02 00 22 00 00 00 00 00  # 5
00 00 00 00 00 00 00 00
05 00 1F 00 00 00 00 00  # Ctrl+Left Alt (AltGr) + é: dead ~
00 00 00 00 00 00 00 00
00 00 2C 00 00 00 00 00  # Space: types the ~
00 00 00 00 00 00 00 00
00 00 28 00 00 00 00 00  # Enter
00 00 00 00 00 00 00 00
";

#[test]
fn wedge_azerty() {
    check(&mut keyboard(&FRENCH), WEDGE_AZERTY, &[b"]C110AB.5~"]);
}

fn press(modifiers: u8, usage: u8) -> [u8; 8] {
    [modifiers, 0, usage, 0, 0, 0, 0, 0]
}

const RELEASE: [u8; 8] = [0; 8];

/// Feeds typed keys (each pressed and released) and returns every non-empty result.
fn type_keys(decoder: &mut KeyboardDecoder, keys: &[(u8, u8)]) -> Vec<Result<Vec<u8>, HidError>> {
    let mut results = Vec::new();
    for &(modifiers, usage) in keys {
        for report in [press(modifiers, usage), RELEASE] {
            match decoder.push(&report) {
                Ok(None) => {}
                Ok(Some(scan)) => results.push(Ok(scan)),
                Err(error) => results.push(Err(error)),
            }
        }
    }
    results
}

const ENTER: (u8, u8) = (0, 0x28);
/// Types `0` on every layout (the digit row needs Shift on AZERTY).
const KEYPAD_0: (u8, u8) = (0, 0x62);

#[test]
fn wedge_control_codes_alt_codes_and_ignored_keys() {
    let mut decoder = KeyboardDecoder::new(KeyboardConfig::default());
    let keys = [
        (0x00, 0x39), // Caps Lock: ignored
        (0x00, 0x53), // Num Lock: ignored
        (0x10, 0x07), // Right Ctrl + d: EOT
        (0x01, 0x23), // Ctrl + 6: RS
        (0x02, 0xE1), // Left Shift usage in a key slot: ignored
        (0x00, 0x2C), // Space
        (0x00, 0x2B), // Tab is data when Enter terminates
        ENTER,
    ];
    assert_eq!(
        type_keys(&mut decoder, &keys),
        vec![Ok(b"\x04\x1e \t".to_vec())]
    );

    // Alt + keypad 0, 2, 9 typed while Alt is held; the character comes on Alt release.
    for report in [
        press(0x04, 0),
        press(0x04, 0x62),
        press(0x04, 0),
        press(0x04, 0x5A),
        press(0x04, 0),
        press(0x04, 0x61),
        press(0x04, 0),
        RELEASE,
    ] {
        assert_eq!(decoder.push(&report), Ok(None));
    }
    assert_eq!(
        type_keys(&mut decoder, &[(0, 0x04), ENTER]),
        vec![Ok(b"\x1da".to_vec())]
    );
}

#[test]
fn wedge_tab_terminator() {
    let mut decoder = KeyboardDecoder::new(KeyboardConfig {
        terminator: Terminator::Tab,
        ..KeyboardConfig::default()
    });
    let keys = [(0, 0x1E), ENTER, (0, 0x58), (0, 0x1F), (0, 0x2B)];
    assert_eq!(type_keys(&mut decoder, &keys), vec![Ok(b"1\r\r2".to_vec())]);
}

#[test]
fn wedge_terminator_alone_is_no_scan() {
    let mut decoder = KeyboardDecoder::new(KeyboardConfig::default());
    assert_eq!(type_keys(&mut decoder, &[ENTER, (0, 0x58)]), vec![]);
}

#[test]
fn wedge_numbered_reports() {
    let mut decoder = KeyboardDecoder::new(KeyboardConfig {
        report_id: Some(0x01),
        ..KeyboardConfig::default()
    });
    let with_id = |report: [u8; 8]| [&[0x01], &report[..]].concat();
    assert_eq!(decoder.push(&with_id(press(0, 0x1E))), Ok(None));
    assert_eq!(decoder.push(&with_id(RELEASE)), Ok(None));
    assert_eq!(
        decoder.push(&[&[0x02], &RELEASE[..]].concat()),
        Err(HidError::WrongReportId {
            layout: "keyboard",
            found: 0x02,
            expected: 0x01,
        })
    );
    // A report of another id does not break the scan.
    assert_eq!(
        decoder.push(&with_id(press(0, 0x28))),
        Ok(Some(b"1".to_vec()))
    );
    assert_eq!(decoder.push(&[]), Err(HidError::EmptyReport));
    assert_eq!(
        decoder.push(&[0x01, 0, 0, 0, 0, 0, 0, 0]),
        Err(HidError::KeyboardReportLength {
            len: 8,
            expected: 9,
        })
    );
}

/// A layout, the keys typed and what they give.
type ErrorCase = (
    &'static KeyboardLayout,
    Vec<(u8, u8)>,
    Vec<Result<Vec<u8>, HidError>>,
);

#[test]
fn wedge_errors_drop_the_scan_and_skip_to_its_terminator() {
    let unmapped = |usage: u8, name: &'static str, modifiers: u8, layout: &'static str| {
        Err(HidError::UnmappedKey {
            usage,
            name,
            modifiers,
            layout,
        })
    };
    let cases: Vec<ErrorCase> = vec![
        // An unknown key in the middle: error, the rest ('2') skipped, Enter ends the skip.
        (
            &US,
            vec![(0, 0x1E), (0, 0x3A), (0, 0x1F), ENTER],
            vec![unmapped(0x3A, "Keyboard F1", 0, "us")],
        ),
        (
            &US,
            vec![(0, 0x52)],
            vec![unmapped(0x52, "Keyboard UpArrow", 0, "us")],
        ),
        // A usage the table does not list.
        (
            &US,
            vec![(0, 0xF0)],
            vec![unmapped(0xF0, "reserved", 0, "us")],
        ),
        // AltGr types nothing on US.
        (
            &US,
            vec![(0x40, 0x14)],
            vec![unmapped(0x14, "Keyboard Q", 0x40, "us")],
        ),
        // Left Alt + a letter is a shortcut, not a character.
        (
            &US,
            vec![(0x04, 0x04)],
            vec![unmapped(0x04, "Keyboard A", 0x04, "us")],
        ),
        // Ctrl + a key without a control code.
        (
            &US,
            vec![(0x01, 0x1E)],
            vec![unmapped(0x1E, "Keyboard 1 ! (Bang)", 0x01, "us")],
        ),
        // Ctrl on a letter position that AZERTY gave a comma.
        (
            &FRENCH,
            vec![(0x01, 0x10)],
            vec![unmapped(0x10, "Keyboard M", 0x01, "fr")],
        ),
        // A non-ASCII key: ß on German.
        (
            &GERMAN,
            vec![(0, 0x2D)],
            vec![unmapped(0x2D, "Keyboard - _ (Dash Underscore)", 0, "de")],
        ),
        // A dead key followed by something other than Space.
        (
            &GERMAN,
            vec![(0, 0x35), (0, 0x04)],
            vec![Err(HidError::DeadKeySequence {
                dead: '^',
                usage: 0x04,
                name: "Keyboard A",
            })],
        ),
        (
            &GERMAN,
            vec![(0, 0x35), ENTER],
            vec![Err(HidError::DeadKeySequence {
                dead: '^',
                usage: 0x28,
                name: "Keyboard Enter",
            })],
        ),
    ];
    for (layout, keys, expected) in cases {
        let mut decoder = KeyboardDecoder::new(KeyboardConfig {
            layout,
            ..KeyboardConfig::default()
        });
        let mut results = type_keys(&mut decoder, &keys);
        // Whatever went wrong, the scan after the next terminator is whole.
        results.extend(type_keys(&mut decoder, &[ENTER, KEYPAD_0, ENTER]));
        let mut expected = expected;
        expected.push(Ok(b"0".to_vec()));
        assert_eq!(results, expected, "{} {keys:02X?}", layout.name);
    }
}

#[test]
fn wedge_scan_broken_at_its_terminator_skips_nothing_after() {
    let mut decoder = KeyboardDecoder::new(KeyboardConfig {
        layout: &GERMAN,
        ..KeyboardConfig::default()
    });
    let results = type_keys(&mut decoder, &[(0, 0x35), ENTER]);
    assert!(matches!(
        results[..],
        [Err(HidError::DeadKeySequence { .. })]
    ));
    assert!(!decoder.is_mid_scan());
    assert_eq!(
        type_keys(&mut decoder, &[(0, 0x27), ENTER]),
        vec![Ok(b"0".to_vec())]
    );
}

#[test]
fn wedge_alt_code_errors() {
    let alt_code = |digits: &[u8]| {
        let mut decoder = KeyboardDecoder::new(KeyboardConfig::default());
        let mut results = Vec::new();
        for &digit in digits {
            results.push(decoder.push(&press(0x04, digit)));
            results.push(decoder.push(&press(0x04, 0)));
        }
        results.push(decoder.push(&RELEASE));
        results
            .into_iter()
            .filter(|r| r != &Ok(None))
            .collect::<Vec<_>>()
    };
    // Keypad 3 0 0: not ASCII.
    assert_eq!(
        alt_code(&[0x5B, 0x62, 0x62]),
        vec![Err(HidError::AltCode { value: 300 })]
    );
    // Keypad 0: NUL is refused too.
    assert_eq!(alt_code(&[0x62]), vec![Err(HidError::AltCode { value: 0 })]);
    // Five digits.
    assert_eq!(
        alt_code(&[0x62, 0x62, 0x59, 0x5A, 0x5B]),
        vec![Err(HidError::AltCode { value: 123 })]
    );
}

#[test]
fn wedge_scan_length_bound() {
    let mut decoder = KeyboardDecoder::new(KeyboardConfig::default());
    let digit = [(0, 0x1E)];
    for _ in 0..SCAN_LEN_MAX {
        assert_eq!(type_keys(&mut decoder, &digit), vec![]);
    }
    let scan = type_keys(&mut decoder, &[ENTER]);
    assert_eq!(scan, vec![Ok(vec![b'1'; SCAN_LEN_MAX])]);

    for _ in 0..SCAN_LEN_MAX {
        type_keys(&mut decoder, &digit);
    }
    assert_eq!(
        type_keys(&mut decoder, &digit),
        vec![Err(HidError::ScanTooLong { max: SCAN_LEN_MAX })]
    );
    // The rest of the runaway scan is skipped, then scanning goes on.
    assert_eq!(type_keys(&mut decoder, &[(0, 0x1F), ENTER]), vec![]);
    assert_eq!(
        type_keys(&mut decoder, &[(0, 0x20), ENTER]),
        vec![Ok(b"3".to_vec())]
    );
}

#[test]
fn wedge_report_length_errors_and_reset() {
    let mut decoder = Decoder::keyboard(KeyboardConfig::default());
    assert_eq!(decoder.feed(&press(0, 0x1E)), Ok(None));
    assert_eq!(
        decoder.feed(&[0; 7]),
        Err(HidError::KeyboardReportLength {
            len: 7,
            expected: 8,
        })
    );
    assert!(
        decoder.is_mid_scan(),
        "waiting for the broken scan's terminator"
    );
    // The inactivity timeout's reset ends the skipping; the next scan is whole.
    decoder.reset();
    assert!(!decoder.is_mid_scan());
    for report in [RELEASE, press(0, 0x1F), RELEASE, press(0, 0x28)] {
        if let Some(scan) = decoder.feed(&report).unwrap() {
            assert_eq!(scan, b"2");
        }
    }
}

#[test]
fn layout_tables_are_sorted_and_cover_printable_ascii() {
    for layout in LAYOUTS {
        for rows in [layout.keys, layout.overrides] {
            assert!(
                rows.windows(2).all(|w| w[0].usage < w[1].usage),
                "{} sorted",
                layout.name
            );
        }
        for byte in 0x20..=0x7E {
            assert!(
                layout.find_char(byte).is_some(),
                "{} cannot type {:?}",
                layout.name,
                char::from(byte)
            );
        }
        assert_eq!(
            layout.control_code(0x30),
            Some(GS),
            "{}: GS is Ctrl + usage 0x30",
            layout.name
        );
    }
    // Ctrl + Z is the key labelled Z: usage 0x1C on QWERTZ, 0x1A on AZERTY.
    assert_eq!(GERMAN.control_code(0x1C), Some(0x1A));
    assert_eq!(FRENCH.control_code(0x1A), Some(0x1A));
    assert_eq!(GERMAN.key(0x63, Level::Plain), Key::Char(b','));
    assert_eq!(FRENCH.key(0x63, Level::Plain), Key::Char(b'.'));
    assert_eq!(layout_by_name("de"), Some(&GERMAN));
    assert_eq!(layout_by_name("ch"), None);
}

#[test]
fn encoder_matches_the_hand_written_fixture() {
    let reports = encode_scan(&FRENCH, b"]C110AB.5~", Terminator::Enter).unwrap();
    let fixture = parse_replay(WEDGE_AZERTY).unwrap();
    // The fixture sends AltGr for `~` as Ctrl + Left Alt; the encoder as Right Alt.
    let differs: Vec<usize> = (0..fixture.len())
        .filter(|&i| reports[i][..] != fixture[i][..])
        .collect();
    assert_eq!(differs, vec![18]);
    assert_eq!(
        encode_scan(&US, b"a\x7f", Terminator::Enter),
        Err(HidError::Unencodable {
            byte: 0x7F,
            layout: "us",
        })
    );
}

// ----- replay format -------------------------------------------------------------------------

#[test]
fn replay_format() {
    let text = "# a recording\n\n02 0A 5d  # trailing comment\n   \n020A5D\n\t01 02\n";
    assert_eq!(
        parse_replay(text),
        Ok(vec![
            vec![0x02, 0x0A, 0x5D],
            vec![0x02, 0x0A, 0x5D],
            vec![0x01, 0x02]
        ])
    );
    assert_eq!(parse_replay(""), Ok(vec![]));
    let report: Vec<u8> = (0..=255).collect();
    assert_eq!(parse_replay(&format_report_hex(&report)), Ok(vec![report]));
    assert_eq!(format_report_hex(&[0x02, 0xAB]), "02 AB");
}

#[test]
fn replay_errors_name_the_line() {
    let too_long = "00".repeat(REPLAY_REPORT_LEN_MAX + 1);
    let at_limit = "00".repeat(REPLAY_REPORT_LEN_MAX);
    assert_eq!(
        parse_replay(&at_limit).unwrap()[0].len(),
        REPLAY_REPORT_LEN_MAX
    );
    let cases: Vec<(String, usize, ReplayProblem)> = vec![
        (
            "02 0G".into(),
            1,
            ReplayProblem::NotHex { column: 5, ch: 'G' },
        ),
        (
            "# x\n02\n0x02".into(),
            3,
            ReplayProblem::NotHex { column: 2, ch: 'x' },
        ),
        ("02 0 2".into(), 1, ReplayProblem::HalfByte { column: 4 }),
        ("\n\n02 0".into(), 3, ReplayProblem::HalfByte { column: 4 }),
        ("020".into(), 1, ReplayProblem::HalfByte { column: 3 }),
        (
            "02,03".into(),
            1,
            ReplayProblem::NotHex { column: 3, ch: ',' },
        ),
        (
            too_long,
            1,
            ReplayProblem::TooLong {
                max: REPLAY_REPORT_LEN_MAX,
            },
        ),
    ];
    for (text, line, problem) in cases {
        assert_eq!(
            parse_replay(&text),
            Err(HidError::Replay { line, problem }),
            "{text:?}"
        );
    }
    let message = parse_replay("00\n02 0G").unwrap_err().to_string();
    assert_eq!(message, "replay line 2: 'G' at column 5 is not a hex digit");
}

#[test]
fn error_messages_read_well() {
    let cases: Vec<(HidError, &str)> = vec![
        (
            HidError::UnmappedKey {
                usage: 0x3A,
                name: "Keyboard F1",
                modifiers: 0,
                layout: "us",
            },
            "key usage 0x3A (Keyboard F1) with modifiers 0x00 types nothing on the us layout; \
             the scan was dropped (check the scanner's keyboard layout setting)",
        ),
        (
            HidError::InvalidAimId { bytes: *b"400" },
            "AIM identifier bytes [34, 30, 30] do not start with ']'; the layout does not match \
             the scanner",
        ),
        (
            HidError::KeyboardReportLength {
                len: 8,
                expected: 9,
            },
            "keyboard report has 8 bytes; expected 9 (8-byte boot report after the report id)",
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}
