//! HID POS bar code scanner reports (usage page 0x8C): scanned-data input reports decoded by a
//! per-vendor layout kept as data, the assembler that joins a scan split over several reports,
//! and the good-read/bad-read output reports. Pure: it never opens a device.
//!
//! Facts the layouts follow:
//! - The HID POS example layout (Honeywell, Access-IS and others): a 64-byte input report with
//!   id 0x02; byte 1 the number of data bytes (0-56); bytes 2-4 the AIM symbology identifier
//!   (Symbology Identifier 1-3, usages 0xFB-0xFD); bytes 5-60 the data (Decoded Data, 0xFE),
//!   NUL padded; byte 63 bit 0 "more data follows" (Decode Data Continued, 0xFF). Bytes 61-62
//!   (a vendor symbology code and a reserved byte) are not read.
//! - Newland-style engines: the same id, length byte and continuation bit, but the data starts
//!   at byte 2 (at most 56 bytes) and a one-byte vendor symbology code sits at byte 62. That code
//!   is not an AIM identifier and is not put in front of the scan; a Newland scanner that
//!   should tell the symbology must be set to prefix the AIM identifier to its data.
//! - The data length byte is authoritative: data may contain NUL, the padding is never read.
//! - The usage tables name feedback usages (Good Read LED 0x7D, Sound Good Read Beep 0x86,
//!   Sound Error Beep 0x85) but define no report layout; which output report carries them is
//!   device-specific, so feedback layouts are data too (see [`FeedbackLayout`]).
//!
//! Vendors without a known layout of their own get the HID POS example layout. Zebra, Datalogic
//! and Opticon are listed with it as an assumption, unchecked against their devices.

use super::{HidError, SCAN_LEN_MAX};

/// The length of an AIM symbology identifier (`]d2`), in bytes.
pub const AIM_ID_LEN: usize = 3;

/// Where the fields of a vendor's scanned-data input report sit. Offsets count from byte 0,
/// the report id, as hidapi returns reports of devices with numbered reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PosLayout {
    /// A short name for messages and configuration.
    pub name: &'static str,
    /// The input report id of scanned-data reports.
    pub report_id: u8,
    /// The report length in bytes, report id included; other lengths are refused.
    pub report_len: usize,
    /// The byte that holds the number of data bytes in this report.
    pub length_offset: usize,
    /// The first of the three AIM identifier bytes, if the layout carries them.
    pub aim_offset: Option<usize>,
    /// A one-byte vendor symbology code, if the layout carries one (not an AIM identifier).
    pub symbology_offset: Option<usize>,
    /// The first data byte.
    pub data_offset: usize,
    /// The most data bytes one report carries.
    pub data_len_max: usize,
    /// The byte holding the "more data follows" flag.
    pub more_offset: usize,
    /// The flag's bit(s) in that byte.
    pub more_mask: u8,
}

impl PosLayout {
    /// Whether every field lies inside the report, after the report id, and the data area
    /// overlaps none of the other fields. Checked at compile time for the layouts here.
    pub const fn is_consistent(&self) -> bool {
        let data_end = self.data_offset + self.data_len_max;
        let fields_inside = self.length_offset >= 1
            && self.length_offset < self.report_len
            && self.data_offset >= 1
            && data_end <= self.report_len
            && self.more_offset >= 1
            && self.more_offset < self.report_len
            && self.more_mask != 0
            && self.data_len_max <= u8::MAX as usize;
        let aim_ok = match self.aim_offset {
            Some(aim) => {
                aim >= 1
                    && aim + AIM_ID_LEN <= self.report_len
                    && !overlaps(aim, AIM_ID_LEN, self.data_offset, self.data_len_max)
            }
            None => true,
        };
        let symbology_ok = match self.symbology_offset {
            Some(offset) => {
                offset >= 1
                    && offset < self.report_len
                    && !overlaps(offset, 1, self.data_offset, self.data_len_max)
            }
            None => true,
        };
        fields_inside
            && aim_ok
            && symbology_ok
            && !overlaps(self.length_offset, 1, self.data_offset, self.data_len_max)
            && !overlaps(self.more_offset, 1, self.data_offset, self.data_len_max)
    }

    fn more_flag(&self, report: &[u8]) -> Option<bool> {
        report
            .get(self.more_offset)
            .map(|&byte| byte & self.more_mask != 0)
    }
}

const fn overlaps(start: usize, len: usize, other_start: usize, other_len: usize) -> bool {
    start < other_start + other_len && other_start < start + len
}

/// The HID POS example layout (Honeywell, Access-IS and the default for unknown vendors).
pub const POS_EXAMPLE: PosLayout = PosLayout {
    name: "hid-pos-example",
    report_id: 0x02,
    report_len: 64,
    length_offset: 1,
    aim_offset: Some(2),
    symbology_offset: None,
    data_offset: 5,
    data_len_max: 56,
    more_offset: 63,
    more_mask: 0x01,
};

/// The Newland-style layout: data from byte 2, a vendor symbology code at byte 62. The data
/// area (bytes 2-57) and the continuation bit (byte 63 bit 0) are assumed from engines of the
/// same family; check them against a recording of the device.
pub const NEWLAND: PosLayout = PosLayout {
    name: "newland",
    report_id: 0x02,
    report_len: 64,
    length_offset: 1,
    aim_offset: None,
    symbology_offset: Some(62),
    data_offset: 2,
    data_len_max: 56,
    more_offset: 63,
    more_mask: 0x01,
};

const _: () = assert!(POS_EXAMPLE.is_consistent());
const _: () = assert!(NEWLAND.is_consistent());
// One report can never overflow a scan on its own: the bound is only reached by continuation.
const _: () = assert!(POS_EXAMPLE.data_len_max + AIM_ID_LEN < SCAN_LEN_MAX);

/// One decoded scanned-data report: a piece of a scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PosChunk<'a> {
    /// The AIM identifier, if the layout carries one and the scanner filled it in (all-NUL
    /// identifier bytes mean none was sent).
    pub aim_id: Option<[u8; AIM_ID_LEN]>,
    /// The vendor symbology code, if the layout carries one and it is not NUL.
    pub symbology: Option<u8>,
    /// This report's data bytes.
    pub data: &'a [u8],
    /// Whether more reports of the same scan follow.
    pub more: bool,
}

/// Decodes one scanned-data input report with `layout`.
pub fn decode_report<'a>(layout: &PosLayout, report: &'a [u8]) -> Result<PosChunk<'a>, HidError> {
    let Some(&report_id) = report.first() else {
        return Err(HidError::EmptyReport);
    };
    if report_id != layout.report_id {
        return Err(HidError::WrongReportId {
            layout: layout.name,
            found: report_id,
            expected: layout.report_id,
        });
    }
    if report.len() != layout.report_len {
        return Err(HidError::ReportLength {
            layout: layout.name,
            len: report.len(),
            expected: layout.report_len,
        });
    }
    // The length check above and `is_consistent` put every offset below inside the report.
    let length = usize::from(report[layout.length_offset]);
    if length > layout.data_len_max {
        return Err(HidError::LengthBeyondData {
            layout: layout.name,
            length,
            max: layout.data_len_max,
        });
    }
    let aim_id = match layout.aim_offset {
        Some(offset) => {
            let mut bytes = [0; AIM_ID_LEN];
            bytes.copy_from_slice(&report[offset..offset + AIM_ID_LEN]);
            match bytes {
                [0, 0, 0] => None,
                [b']', _, _] => Some(bytes),
                _ => return Err(HidError::InvalidAimId { bytes }),
            }
        }
        None => None,
    };
    let symbology = layout
        .symbology_offset
        .map(|offset| report[offset])
        .filter(|&code| code != 0);
    Ok(PosChunk {
        aim_id,
        symbology,
        data: &report[layout.data_offset..layout.data_offset + length],
        more: report[layout.more_offset] & layout.more_mask != 0,
    })
}

/// Joins the reports of one scan: the AIM identifier of the first report, then every report's
/// data, until a report without the "more data follows" flag. Holds at most [`SCAN_LEN_MAX`]
/// bytes.
#[derive(Clone, Debug)]
pub struct PosAssembler {
    layout: PosLayout,
    scan: Vec<u8>,
    /// A report of the current scan has been taken (the AIM identifier is already in `scan`).
    started: bool,
    /// The rest of a refused scan is being skipped: reports are dropped up to and including
    /// the next one without the continuation flag.
    skipping: bool,
}

impl PosAssembler {
    pub fn new(layout: PosLayout) -> PosAssembler {
        PosAssembler {
            layout,
            scan: Vec::new(),
            started: false,
            skipping: false,
        }
    }

    pub fn layout(&self) -> &PosLayout {
        &self.layout
    }

    /// Takes one input report; returns the scan it completes, if any. A completed scan with
    /// neither an AIM identifier nor data is not a scan and gives `None`.
    ///
    /// A report with another id is refused and changes nothing (the device may send other
    /// reports between a scan's pieces). Any other error drops the scan in progress, and if the
    /// bad report's continuation flag is readable and set, the rest of that scan is skipped.
    pub fn push(&mut self, report: &[u8]) -> Result<Option<Vec<u8>>, HidError> {
        let chunk = match decode_report(&self.layout, report) {
            Ok(chunk) => chunk,
            Err(error @ HidError::WrongReportId { .. }) => return Err(error),
            Err(error) => {
                let more = self.layout.more_flag(report).unwrap_or(false);
                self.drop_scan(more);
                return Err(error);
            }
        };
        if self.skipping {
            self.skipping = chunk.more;
            return Ok(None);
        }
        let aim = if self.started { None } else { chunk.aim_id };
        let added = aim.map_or(0, |_| AIM_ID_LEN) + chunk.data.len();
        if self.scan.len() + added > SCAN_LEN_MAX {
            self.drop_scan(chunk.more);
            return Err(HidError::ScanTooLong { max: SCAN_LEN_MAX });
        }
        self.started = true;
        if let Some(aim) = aim {
            self.scan.extend_from_slice(&aim);
        }
        self.scan.extend_from_slice(chunk.data);
        if chunk.more {
            return Ok(None);
        }
        self.started = false;
        let scan = std::mem::take(&mut self.scan);
        Ok((!scan.is_empty()).then_some(scan))
    }

    /// Drops a scan in progress and stops skipping.
    pub fn reset(&mut self) {
        self.drop_scan(false);
    }

    /// Whether a scan has started and not ended (or the rest of a refused one is awaited).
    pub fn is_mid_scan(&self) -> bool {
        self.started || self.skipping
    }

    fn drop_scan(&mut self, skip_rest: bool) {
        self.scan.clear();
        self.started = false;
        self.skipping = skip_rest;
    }
}

/// The reports a scanner using `layout` sends for one scan: `data` in pieces of at most
/// `data_len_max` bytes, each report but the last flagged "more data follows", the AIM
/// identifier in every report when the layout carries one (a layout without one drops it).
/// Empty data gives one report with length 0. For simulated scanners and tests.
pub fn encode_pos_scan(
    layout: &PosLayout,
    aim_id: Option<[u8; AIM_ID_LEN]>,
    data: &[u8],
) -> Vec<Vec<u8>> {
    let pieces: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(layout.data_len_max).collect()
    };
    let last = pieces.len() - 1;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            let mut report = vec![0; layout.report_len];
            report[0] = layout.report_id;
            // `chunks` bounds a piece by `data_len_max`, which `is_consistent` keeps within u8.
            report[layout.length_offset] =
                u8::try_from(piece.len()).expect("piece fits the length byte");
            if let (Some(offset), Some(aim)) = (layout.aim_offset, aim_id) {
                report[offset..offset + AIM_ID_LEN].copy_from_slice(&aim);
            }
            report[layout.data_offset..layout.data_offset + piece.len()].copy_from_slice(piece);
            if i < last {
                report[layout.more_offset] |= layout.more_mask;
            }
            report
        })
        .collect()
}

/// The feedback the gateway gives the operator after the scan path answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feedback {
    /// The scan was accepted: good-read LED and beep.
    GoodRead,
    /// The scan was refused: error beep.
    BadRead,
}

/// One bit in an output report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BitPosition {
    /// The byte, counting the report id as byte 0.
    pub byte: usize,
    pub mask: u8,
}

/// How a scanner is told to signal a good or bad read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedbackLayout {
    /// An output report whose bits are the HID POS usages Good Read LED (0x7D), Sound Good Read
    /// Beep (0x86) and Sound Error Beep (0x85). No standard fixes where they sit: the positions
    /// come from the device's report descriptor or its manual. Bits not named stay 0.
    UsageBits {
        name: &'static str,
        report_id: u8,
        report_len: usize,
        good_read_led: Option<BitPosition>,
        good_read_beep: Option<BitPosition>,
        error_beep: Option<BitPosition>,
    },
    /// A vendor command sent through a command output report laid out as
    /// `[report id, command length, command bytes..., NUL padding]`.
    Command {
        name: &'static str,
        report_id: u8,
        report_len: usize,
        good_read: Option<&'static [u8]>,
        bad_read: Option<&'static [u8]>,
    },
}

/// Honeywell's command output report: id 0xFD, then the length and a serial command;
/// `SYN BEL CR` sounds the beeper. Assumed from public notes on Honeywell and Access-IS
/// devices (64-byte report, zero padded); no bad-read command is known, so bad reads are
/// signalled by nothing.
pub const HONEYWELL_FEEDBACK: FeedbackLayout = FeedbackLayout::Command {
    name: "honeywell-command",
    report_id: 0xFD,
    report_len: 64,
    good_read: Some(&[0x16, 0x07, 0x0D]),
    bad_read: None,
};

/// The output report that makes the scanner signal `feedback`.
pub fn feedback_report(layout: &FeedbackLayout, feedback: Feedback) -> Result<Vec<u8>, HidError> {
    match *layout {
        FeedbackLayout::UsageBits {
            name,
            report_id,
            report_len,
            good_read_led,
            good_read_beep,
            error_beep,
        } => {
            let bits: Vec<BitPosition> = match feedback {
                Feedback::GoodRead => good_read_led.into_iter().chain(good_read_beep).collect(),
                Feedback::BadRead => error_beep.into_iter().collect(),
            };
            let fits = bits
                .iter()
                .all(|bit| bit.byte >= 1 && bit.byte < report_len);
            if bits.is_empty() || !fits {
                return Err(HidError::FeedbackUnsupported {
                    layout: name,
                    feedback,
                });
            }
            let mut report = vec![0; report_len];
            report[0] = report_id;
            for bit in bits {
                report[bit.byte] |= bit.mask;
            }
            Ok(report)
        }
        FeedbackLayout::Command {
            name,
            report_id,
            report_len,
            good_read,
            bad_read,
        } => {
            let command = match feedback {
                Feedback::GoodRead => good_read,
                Feedback::BadRead => bad_read,
            };
            let Some(command) = command.filter(|command| command.len() + 2 <= report_len) else {
                return Err(HidError::FeedbackUnsupported {
                    layout: name,
                    feedback,
                });
            };
            let mut report = vec![0; report_len];
            report[0] = report_id;
            // The filter above bounds the command by the report length, itself a small number.
            report[1] = u8::try_from(command.len()).expect("command shorter than its report");
            report[2..2 + command.len()].copy_from_slice(command);
            Ok(report)
        }
    }
}

/// A scanner maker by USB vendor id, with the layouts the gateway uses for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vendor {
    pub vendor_id: u16,
    pub name: &'static str,
    pub pos_layout: &'static PosLayout,
    /// `None` when no feedback output report is known: the gateway signals nothing.
    pub feedback: Option<&'static FeedbackLayout>,
}

/// The scanner vendor ids of the project's reference table, sorted by id.
pub const VENDORS: &[Vendor] = &[
    vendor_entry(
        0x0536,
        "Honeywell (Hand Held Products)",
        &POS_EXAMPLE,
        Some(&HONEYWELL_FEEDBACK),
    ),
    vendor_entry(0x05E0, "Zebra (ex-Symbol)", &POS_EXAMPLE, None),
    vendor_entry(0x05F9, "Datalogic (ex-PSC)", &POS_EXAMPLE, None),
    vendor_entry(0x065A, "Opticon", &POS_EXAMPLE, None),
    vendor_entry(0x080C, "Datalogic", &POS_EXAMPLE, None),
    vendor_entry(
        0x0C2E,
        "Honeywell (ex-Metrologic)",
        &POS_EXAMPLE,
        Some(&HONEYWELL_FEEDBACK),
    ),
    vendor_entry(0x1EAB, "Newland", &NEWLAND, None),
];

/// What unknown vendors get.
const UNKNOWN_VENDOR: Vendor = vendor_entry(0, "unknown vendor", &POS_EXAMPLE, None);

const fn vendor_entry(
    vendor_id: u16,
    name: &'static str,
    pos_layout: &'static PosLayout,
    feedback: Option<&'static FeedbackLayout>,
) -> Vendor {
    Vendor {
        vendor_id,
        name,
        pos_layout,
        feedback,
    }
}

/// The vendor entry for a USB vendor id; an unknown id gets the HID POS example layout and no
/// feedback.
pub fn vendor(vendor_id: u16) -> &'static Vendor {
    VENDORS
        .binary_search_by_key(&vendor_id, |vendor| vendor.vendor_id)
        .map_or(&UNKNOWN_VENDOR, |i| &VENDORS[i])
}
