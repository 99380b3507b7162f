//! Property tests: arbitrary report bytes never panic and never grow a scan past the bound,
//! and scans encoded as reports decode back to themselves, for every layout.

use proptest::prelude::*;

use super::*;

fn any_pos_layout() -> impl Strategy<Value = PosLayout> {
    prop_oneof![Just(POS_EXAMPLE), Just(NEWLAND)]
}

fn any_keyboard_layout() -> impl Strategy<Value = &'static KeyboardLayout> {
    (0..LAYOUTS.len()).prop_map(|i| &LAYOUTS[i])
}

fn any_keyboard_config() -> impl Strategy<Value = KeyboardConfig> {
    (
        any_keyboard_layout(),
        prop_oneof![Just(Terminator::Enter), Just(Terminator::Tab)],
        any::<bool>(),
        prop::option::of(any::<u8>()),
    )
        .prop_map(|(layout, terminator, f8_is_gs, report_id)| KeyboardConfig {
            layout,
            terminator,
            f8_is_gs,
            report_id,
        })
}

/// Reports that are mostly the right length with a biased first byte, so the decoders get
/// past their first checks, plus some of any length.
fn any_report(len: usize, first: u8) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), len).prop_map(move |mut report| {
            report[0] = first;
            report
        }),
        1 => prop::collection::vec(any::<u8>(), 0..80),
    ]
}

/// Printable ASCII plus the control codes barcodes carry (GS, RS, EOT).
fn scan_text() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![8 => 0x20u8..=0x7E, 1 => prop::sample::select(vec![0x1D, 0x1E, 0x04])];
    prop::collection::vec(byte, 1..200)
}

proptest! {
    #[test]
    fn pos_never_panics_and_stays_bounded(
        layout in any_pos_layout(),
        reports in prop::collection::vec(any_report(64, 0x02), 0..120),
    ) {
        let mut assembler = PosAssembler::new(layout);
        for report in &reports {
            let _ = decode_report(&layout, report);
            if let Ok(Some(scan)) = assembler.push(report) {
                prop_assert!(!scan.is_empty() && scan.len() <= SCAN_LEN_MAX);
            }
        }
    }

    #[test]
    fn keyboard_never_panics_and_stays_bounded(
        config in any_keyboard_config(),
        reports in prop::collection::vec(any_report(8, 0x00), 0..300),
    ) {
        let mut decoder = KeyboardDecoder::new(config);
        for report in &reports {
            if let Ok(Some(scan)) = decoder.push(report) {
                prop_assert!(!scan.is_empty() && scan.len() <= SCAN_LEN_MAX);
            }
        }
    }

    #[test]
    fn keyboard_round_trip(
        layout in any_keyboard_layout(),
        terminator in prop_oneof![Just(Terminator::Enter), Just(Terminator::Tab)],
        scan in scan_text(),
    ) {
        let reports = encode_scan(layout, &scan, terminator).expect("every layout types these");
        let mut decoder = KeyboardDecoder::new(KeyboardConfig {
            layout,
            terminator,
            ..KeyboardConfig::default()
        });
        let mut completed = Vec::new();
        for report in &reports {
            if let Some(done) = decoder.push(report).expect("encoded reports decode") {
                completed.push(done);
            }
        }
        prop_assert_eq!(completed, vec![scan]);
        prop_assert!(!decoder.is_mid_scan());
    }

    #[test]
    fn pos_round_trip(
        layout in any_pos_layout(),
        aim in prop::option::of(prop::sample::select(vec![*b"]d2", *b"]C1", *b"]Q1", *b"]E0"])),
        data in prop::collection::vec(any::<u8>(), 1..600),
    ) {
        let mut assembler = PosAssembler::new(layout);
        let mut completed = Vec::new();
        for report in encode_pos_scan(&layout, aim, &data) {
            if let Some(done) = assembler.push(&report).expect("encoded reports decode") {
                completed.push(done);
            }
        }
        let mut expected = match (layout.aim_offset, aim) {
            (Some(_), Some(aim)) => aim.to_vec(),
            _ => Vec::new(),
        };
        expected.extend_from_slice(&data);
        prop_assert_eq!(completed, vec![expected]);
    }

    #[test]
    fn replay_round_trip(reports in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..70), 0..10)) {
        let text: String = reports.iter().map(|r| format_report_hex(r) + "  # note\n\n").collect();
        prop_assert_eq!(parse_replay(&text), Ok(reports));
    }
}
