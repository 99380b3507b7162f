//! Pure decoding of USB barcode-scanner HID reports into scan bytes: HID POS scanned-data
//! reports (usage page 0x8C, `pos.rs`) and keyboard-wedge boot reports (usage page 0x07,
//! `keyboard.rs`, with host layouts as data in `layouts.rs` and the generated US table in
//! `tables.rs`), the good-read/bad-read output reports, and the recorded-report text format of
//! `--replay` (`replay.rs`). A completed scan is the bytes the scan path reads: the AIM
//! identifier (`]d2`) if the scanner sent one, then the data, GS as byte 0x1D.
//!
//! Nothing here does I/O, calls hidapi or reads a clock: the device loop moves bytes and calls
//! [`Decoder::feed`]; a scan that never ends (a wedge scan without its terminator) is dropped by
//! the caller's inactivity timeout calling [`Decoder::reset`]. Printable GS stand-ins (`@`, `~`)
//! are left as they are; the barcode module restores them.

mod keyboard;
mod layouts;
mod pos;
mod replay;
mod tables;

#[cfg(test)]
mod property_tests;
#[cfg(test)]
mod tests;

pub use keyboard::{
    BOOT_REPORT_LEN, KeyboardConfig, KeyboardDecoder, Terminator, encode_scan, usage_name,
};
pub use layouts::{
    FRENCH, GERMAN, Key, KeyRow, KeyboardLayout, LAYOUTS, Level, US, layout_by_name,
};
pub use pos::{
    AIM_ID_LEN, BitPosition, Feedback, FeedbackLayout, HONEYWELL_FEEDBACK, NEWLAND, POS_EXAMPLE,
    PosAssembler, PosChunk, PosLayout, VENDORS, Vendor, decode_report, encode_pos_scan,
    feedback_report, vendor,
};
pub use replay::{REPLAY_REPORT_LEN_MAX, ReplayProblem, format_report_hex, parse_replay};

/// The longest scan assembled, in bytes (the largest 2D symbols carry about 3 KB). A scan that
/// would grow past it is refused with [`HidError::ScanTooLong`], the bytes so far are dropped
/// and the rest of that scan is skipped. Equal to the barcode module's `RAW_SCAN_LEN_MAX`.
pub const SCAN_LEN_MAX: usize = 4096;

/// The ASCII group separator, FNC1 in a GS1 element string.
pub const GS: u8 = 0x1D;

/// Why a report could not be decoded. After any error the scan in progress is dropped (except
/// for [`HidError::WrongReportId`], which leaves it alone), so a scan is delivered whole or
/// not at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HidError {
    #[error("report is empty")]
    EmptyReport,
    #[error(
        "report id 0x{found:02X} is not the {layout} scanned-data report id 0x{expected:02X}; \
         check the scanner's USB mode and the layout chosen for its vendor id"
    )]
    WrongReportId {
        layout: &'static str,
        found: u8,
        expected: u8,
    },
    #[error("{layout} report has {len} bytes; the layout's reports have exactly {expected}")]
    ReportLength {
        layout: &'static str,
        len: usize,
        expected: usize,
    },
    #[error("{layout} report says {length} data bytes; its data area holds at most {max}")]
    LengthBeyondData {
        layout: &'static str,
        length: usize,
        max: usize,
    },
    #[error(
        "AIM identifier bytes {bytes:02X?} do not start with ']'; the layout does not match \
         the scanner"
    )]
    InvalidAimId { bytes: [u8; AIM_ID_LEN] },
    #[error(
        "scan grew past {max} bytes without ending; it was dropped and the rest of it is skipped"
    )]
    ScanTooLong { max: usize },
    #[error(
        "keyboard report has {len} bytes; expected {expected} (8-byte boot report{id_note})",
        id_note = if *expected == 9 { " after the report id" } else { "" }
    )]
    KeyboardReportLength { len: usize, expected: usize },
    #[error(
        "key usage 0x{usage:02X} ({name}) with modifiers 0x{modifiers:02X} types nothing on the \
         {layout} layout; the scan was dropped (check the scanner's keyboard layout setting)"
    )]
    UnmappedKey {
        usage: u8,
        name: &'static str,
        modifiers: u8,
        layout: &'static str,
    },
    #[error(
        "dead key {dead:?} was followed by key usage 0x{usage:02X} ({name}), not Space; \
         the scan was dropped"
    )]
    DeadKeySequence {
        dead: char,
        usage: u8,
        name: &'static str,
    },
    #[error("Alt + keypad code {value} is not an ASCII character; the scan was dropped")]
    AltCode { value: u32 },
    #[error("character 0x{byte:02X} cannot be typed on the {layout} layout")]
    Unencodable { byte: u8, layout: &'static str },
    #[error("the {layout} feedback layout has no {feedback:?} signal")]
    FeedbackUnsupported {
        layout: &'static str,
        feedback: Feedback,
    },
    #[error("replay line {line}: {problem}")]
    Replay { line: usize, problem: ReplayProblem },
}

/// A scanner's report decoder, chosen when the device is opened: HID POS reports (by the USB
/// vendor id) or keyboard-wedge reports (by the configured host layout).
#[derive(Clone, Debug)]
pub enum Decoder {
    Pos(PosAssembler),
    Keyboard(KeyboardDecoder),
}

impl Decoder {
    /// A HID POS decoder with the layout for this USB vendor id.
    pub fn pos_for_vendor(vendor_id: u16) -> Decoder {
        Decoder::Pos(PosAssembler::new(*vendor(vendor_id).pos_layout))
    }

    /// A keyboard-wedge decoder.
    pub fn keyboard(config: KeyboardConfig) -> Decoder {
        Decoder::Keyboard(KeyboardDecoder::new(config))
    }

    /// Takes one input report; returns the scan it completes, if any.
    pub fn feed(&mut self, report: &[u8]) -> Result<Option<Vec<u8>>, HidError> {
        match self {
            Decoder::Pos(assembler) => assembler.push(report),
            Decoder::Keyboard(decoder) => decoder.push(report),
        }
    }

    /// Drops a scan in progress (the device loop calls this after an inactivity timeout).
    pub fn reset(&mut self) {
        match self {
            Decoder::Pos(assembler) => assembler.reset(),
            Decoder::Keyboard(decoder) => decoder.reset(),
        }
    }

    /// Whether a scan has started and not ended.
    pub fn is_mid_scan(&self) -> bool {
        match self {
            Decoder::Pos(assembler) => assembler.is_mid_scan(),
            Decoder::Keyboard(decoder) => decoder.is_mid_scan(),
        }
    }
}
