//! Fuzz target `hid`: arbitrary bytes become a scanner setup and a sequence of HID input
//! reports fed to `gateway::hid::Decoder`, the decoder the gateway runs on every report a USB
//! scanner sends. The first byte picks the decoder: HID POS with one of the vendor layouts, or
//! keyboard wedge with a host layout, terminator, F8-as-GS option and report id. The rest is
//! cut into reports, each a length byte and that many bytes. Nothing may panic; every scan the
//! decoder completes is non-empty and at most `SCAN_LEN_MAX` bytes; a reset leaves no scan in
//! progress. The same bytes, when they are UTF-8, also go through the `--replay` text parser,
//! whose reports must print back (`format_report_hex`) to text that parses to the same reports.
//! This file owns no logic of its own beyond these checks.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serialtrack::gateway::hid::{
    Decoder, KeyboardConfig, LAYOUTS, NEWLAND, POS_EXAMPLE, SCAN_LEN_MAX, Terminator, VENDORS,
    decode_report, format_report_hex, parse_replay,
};

fn decoder(setup: u8, report_id: u8) -> Decoder {
    let choice = usize::from(setup >> 1);
    if setup & 1 == 0 {
        match choice % (VENDORS.len() + 2) {
            0 => Decoder::Pos(serialtrack::gateway::hid::PosAssembler::new(POS_EXAMPLE)),
            1 => Decoder::Pos(serialtrack::gateway::hid::PosAssembler::new(NEWLAND)),
            i => Decoder::pos_for_vendor(VENDORS[i - 2].vendor_id),
        }
    } else {
        Decoder::keyboard(KeyboardConfig {
            layout: &LAYOUTS[choice % LAYOUTS.len()],
            terminator: if choice & 0x10 == 0 {
                Terminator::Enter
            } else {
                Terminator::Tab
            },
            f8_is_gs: choice & 0x20 != 0,
            report_id: (choice & 0x40 != 0).then_some(report_id),
        })
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let mut decoder = decoder(data[0], data[1]);
    let mut rest = &data[2..];
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (report, tail) = tail.split_at(len);
        rest = tail;
        if let Decoder::Pos(assembler) = &decoder {
            let _ = decode_report(assembler.layout(), report);
        }
        if let Ok(Some(scan)) = decoder.feed(report) {
            assert!(
                !scan.is_empty() && scan.len() <= SCAN_LEN_MAX,
                "scan of {} bytes from {data:?}",
                scan.len()
            );
        }
    }
    decoder.reset();
    assert!(!decoder.is_mid_scan(), "a scan is in progress after reset: {data:?}");

    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(reports) = parse_replay(text)
    {
        let printed: String = reports.iter().map(|r| format_report_hex(r) + "\n").collect();
        assert_eq!(
            parse_replay(&printed).as_ref(),
            Ok(&reports),
            "{text:?} printed as {printed:?}"
        );
    }
});
