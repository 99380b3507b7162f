//! Keyboard-wedge scanners (usage page 0x07): 8-byte boot keyboard reports
//! `[modifiers, reserved, key1..key6]` become scan bytes through a host layout
//! (`layouts.rs`), and scan bytes become reports again for simulated scanners and tests. Pure:
//! no device, no clock (a scan that never gets its terminator is the caller's timeout).
//!
//! Facts and decisions:
//! - A report lists the keys down now; a key is pressed when it appears in a report and was not
//!   in the previous one, so a key held across reports types once. Modifiers are read from
//!   the report that presses the key. Modifier byte bits: 0 LCtrl, 1 LShift, 2 LAlt, 3 LGUI,
//!   4 RCtrl, 5 RShift, 6 RAlt, 7 RGUI.
//! - A report with Error RollOver (0x01), POST Fail (0x02) or Error Undefined (0x03) in a key
//!   slot says nothing reliable about the keys: it is ignored and the previous state kept.
//! - GS (0x1D) arrives as Ctrl + usage 0x30 (`]` on US) on every layout, or as F8 when
//!   [`KeyboardConfig::f8_is_gs`] is set; other Ctrl + key control codes (`Ctrl+D` EOT,
//!   `Ctrl+6` RS) follow the layout rule in `layouts.rs`. Printable GS stand-ins (`@`, `~`)
//!   stay as typed: the barcode module restores them.
//! - Enter (0x28) and keypad Enter (0x58) end a scan, or Tab (0x2B) does when configured so;
//!   the key that is not the terminator is data (CR or TAB). A terminator with nothing before it
//!   gives no scan.
//! - Caps Lock, Num Lock, Scroll Lock and modifier usages in the key slots are ignored: the
//!   scanner's own shift state is in the modifier byte, and the keypad reads as Num Lock on.
//! - Left Alt + keypad digits type the character with that decimal code when Alt is released
//!   (scanners' "Alt mode"); only ASCII codes 1-127 are accepted, the code page of others is
//!   not known.
//! - Any other key that types nothing on the layout is an error naming the usage: a silently
//!   skipped key could turn one serial into another valid-looking one. After an error the rest
//!   of that scan is skipped up to its terminator, so a scan is delivered whole or not at all.

use super::layouts::{Key, KeyboardLayout, Level, US};
use super::tables::USAGE_NAMES;
use super::{GS, HidError, SCAN_LEN_MAX};

/// The length of a boot keyboard report, in bytes.
pub const BOOT_REPORT_LEN: usize = 8;

const LEFT_CTRL: u8 = 0x01;
const LEFT_SHIFT: u8 = 0x02;
const LEFT_ALT: u8 = 0x04;
const RIGHT_CTRL: u8 = 0x10;
const RIGHT_SHIFT: u8 = 0x20;
const RIGHT_ALT: u8 = 0x40;

const USAGE_ENTER: u8 = 0x28;
const USAGE_TAB: u8 = 0x2B;
const USAGE_SPACE: u8 = 0x2C;
const USAGE_F8: u8 = 0x41;
const USAGE_KEYPAD_ENTER: u8 = 0x58;
const USAGE_KEYPAD_1: u8 = 0x59;
const USAGE_KEYPAD_0: u8 = 0x62;

/// The most keypad digits an Alt code may have (`0126`); more are refused.
const ALT_CODE_DIGITS_MAX: u8 = 4;

/// The key that ends a scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Terminator {
    /// Enter or keypad Enter (the usual scanner suffix).
    #[default]
    Enter,
    /// Tab.
    Tab,
}

impl Terminator {
    fn ends_with(self, usage: u8) -> bool {
        match self {
            Terminator::Enter => usage == USAGE_ENTER || usage == USAGE_KEYPAD_ENTER,
            Terminator::Tab => usage == USAGE_TAB,
        }
    }

    fn usage(self) -> u8 {
        match self {
            Terminator::Enter => USAGE_ENTER,
            Terminator::Tab => USAGE_TAB,
        }
    }
}

/// How a keyboard-wedge scanner is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyboardConfig {
    /// The host layout the scanner emulates.
    pub layout: &'static KeyboardLayout,
    pub terminator: Terminator,
    /// F8 types GS (a Honeywell option).
    pub f8_is_gs: bool,
    /// The report id in front of each report, for devices with numbered reports.
    pub report_id: Option<u8>,
}

impl Default for KeyboardConfig {
    fn default() -> KeyboardConfig {
        KeyboardConfig {
            layout: &US,
            terminator: Terminator::Enter,
            f8_is_gs: false,
            report_id: None,
        }
    }
}

/// Turns a keyboard-wedge scanner's reports into scans. Holds at most [`SCAN_LEN_MAX`] bytes.
#[derive(Clone, Debug)]
pub struct KeyboardDecoder {
    config: KeyboardConfig,
    /// The key slots of the previous report.
    keys_down: [u8; 6],
    /// The modifier byte of the previous report.
    modifiers: u8,
    scan: Vec<u8>,
    /// A dead key waiting for Space.
    dead: Option<u8>,
    /// An Alt code being typed: its value and digit count.
    alt_code: Option<(u32, u8)>,
    /// The rest of a refused scan is being skipped up to its terminator.
    skipping: bool,
}

impl KeyboardDecoder {
    pub fn new(config: KeyboardConfig) -> KeyboardDecoder {
        KeyboardDecoder {
            config,
            keys_down: [0; 6],
            modifiers: 0,
            scan: Vec::new(),
            dead: None,
            alt_code: None,
            skipping: false,
        }
    }

    pub fn config(&self) -> &KeyboardConfig {
        &self.config
    }

    /// Takes one input report; returns the scan it completes, if any.
    ///
    /// If one report both completes a scan and breaks the next one (no scanner sends keys that
    /// fast), the error is returned and both are dropped.
    pub fn push(&mut self, report: &[u8]) -> Result<Option<Vec<u8>>, HidError> {
        let body = match self.body(report) {
            Ok(body) => body,
            Err(error) => {
                if !matches!(error, HidError::WrongReportId { .. }) {
                    self.fail();
                }
                return Err(error);
            }
        };
        let modifiers = body[0];
        let slots: [u8; 6] = [body[2], body[3], body[4], body[5], body[6], body[7]];
        if slots.iter().any(|&usage| (0x01..=0x03).contains(&usage)) {
            return Ok(None);
        }
        let previous_keys = std::mem::replace(&mut self.keys_down, slots);
        let previous_modifiers = std::mem::replace(&mut self.modifiers, modifiers);

        let mut completed = None;
        let mut first_error = None;
        let alt_released = previous_modifiers & LEFT_ALT != 0 && modifiers & LEFT_ALT == 0;
        if alt_released && let Err(error) = self.finish_alt_code() {
            first_error = Some(error);
            self.fail();
        }
        for usage in slots {
            if usage == 0 || previous_keys.contains(&usage) {
                continue;
            }
            match self.press(usage, modifiers) {
                Ok(Some(scan)) => completed = Some(scan),
                Ok(None) => {}
                Err(error) => {
                    first_error.get_or_insert(error);
                    // A scan that broke at its terminator is over: nothing is left to skip.
                    if self.config.terminator.ends_with(usage) {
                        self.reset();
                    } else {
                        self.fail();
                    }
                }
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(completed),
        }
    }

    /// Drops a scan in progress and stops skipping; key and modifier state are kept.
    pub fn reset(&mut self) {
        self.scan.clear();
        self.dead = None;
        self.alt_code = None;
        self.skipping = false;
    }

    /// Whether a scan has started and not ended (or a refused one's terminator is awaited).
    pub fn is_mid_scan(&self) -> bool {
        !self.scan.is_empty() || self.dead.is_some() || self.alt_code.is_some() || self.skipping
    }

    fn body<'a>(&self, report: &'a [u8]) -> Result<&'a [u8], HidError> {
        let body = match self.config.report_id {
            None => report,
            Some(expected) => {
                let Some((&found, body)) = report.split_first() else {
                    return Err(HidError::EmptyReport);
                };
                if found != expected {
                    return Err(HidError::WrongReportId {
                        layout: "keyboard",
                        found,
                        expected,
                    });
                }
                body
            }
        };
        if body.len() != BOOT_REPORT_LEN {
            let id_len = usize::from(self.config.report_id.is_some());
            return Err(HidError::KeyboardReportLength {
                len: report.len(),
                expected: BOOT_REPORT_LEN + id_len,
            });
        }
        Ok(body)
    }

    fn fail(&mut self) {
        self.reset();
        self.skipping = true;
    }

    fn press(&mut self, usage: u8, modifiers: u8) -> Result<Option<Vec<u8>>, HidError> {
        let ctrl = modifiers & (LEFT_CTRL | RIGHT_CTRL) != 0;
        let shift = modifiers & (LEFT_SHIFT | RIGHT_SHIFT) != 0;
        let left_alt = modifiers & LEFT_ALT != 0;
        let altgr = modifiers & RIGHT_ALT != 0 || (ctrl && left_alt);
        let alt_only = left_alt && !altgr;
        let unmapped = || HidError::UnmappedKey {
            usage,
            name: usage_name(usage),
            modifiers,
            layout: self.config.layout.name,
        };

        if self.config.terminator.ends_with(usage) {
            if self.skipping {
                self.reset();
                return Ok(None);
            }
            if let Some(dead) = self.dead {
                return Err(self.dead_key_error(dead, usage));
            }
            if self.alt_code.is_some() {
                return Err(unmapped());
            }
            let scan = std::mem::take(&mut self.scan);
            return Ok((!scan.is_empty()).then_some(scan));
        }
        if self.skipping || is_ignored(usage) {
            return Ok(None);
        }
        if let Some(dead) = self.dead.take() {
            if usage == USAGE_SPACE && !ctrl && !altgr && !left_alt {
                return self.append(dead);
            }
            return Err(self.dead_key_error(dead, usage));
        }
        if alt_only {
            return match keypad_digit(usage) {
                Some(digit) => self.alt_digit(digit),
                None => Err(unmapped()),
            };
        }
        if ctrl && !altgr {
            return match self.config.layout.control_code(usage) {
                Some(code) => self.append(code),
                None => Err(unmapped()),
            };
        }
        if usage == USAGE_F8 && self.config.f8_is_gs && !altgr {
            return self.append(GS);
        }
        let level = match (altgr, shift) {
            (true, _) => Level::AltGr,
            (false, true) => Level::Shift,
            (false, false) => Level::Plain,
        };
        match self.config.layout.key(usage, level) {
            Key::Char(byte) => self.append(byte),
            Key::Dead(byte) => {
                self.dead = Some(byte);
                Ok(None)
            }
            Key::None => Err(unmapped()),
        }
    }

    fn dead_key_error(&self, dead: u8, usage: u8) -> HidError {
        HidError::DeadKeySequence {
            dead: char::from(dead),
            usage,
            name: usage_name(usage),
        }
    }

    fn append(&mut self, byte: u8) -> Result<Option<Vec<u8>>, HidError> {
        if self.scan.len() >= SCAN_LEN_MAX {
            return Err(HidError::ScanTooLong { max: SCAN_LEN_MAX });
        }
        self.scan.push(byte);
        Ok(None)
    }

    fn alt_digit(&mut self, digit: u8) -> Result<Option<Vec<u8>>, HidError> {
        let (value, digits) = self.alt_code.unwrap_or((0, 0));
        let value = value * 10 + u32::from(digit);
        if digits + 1 > ALT_CODE_DIGITS_MAX {
            return Err(HidError::AltCode { value });
        }
        self.alt_code = Some((value, digits + 1));
        Ok(None)
    }

    fn finish_alt_code(&mut self) -> Result<(), HidError> {
        let Some((value, _)) = self.alt_code.take() else {
            return Ok(());
        };
        if self.skipping {
            return Ok(());
        }
        match u8::try_from(value) {
            Ok(byte @ 1..=0x7F) => self.append(byte).map(|_| ()),
            _ => Err(HidError::AltCode { value }),
        }
    }
}

fn is_ignored(usage: u8) -> bool {
    matches!(usage, 0x39 | 0x47 | 0x53 | 0x82..=0x84 | 0xE0..=0xE7)
}

fn keypad_digit(usage: u8) -> Option<u8> {
    match usage {
        USAGE_KEYPAD_0 => Some(0),
        USAGE_KEYPAD_1..=0x61 => Some(usage - USAGE_KEYPAD_1 + 1),
        _ => None,
    }
}

/// The usage table's name for a key usage on page 0x07.
pub fn usage_name(usage: u8) -> &'static str {
    USAGE_NAMES
        .binary_search_by_key(&usage, |&(u, _)| u)
        .map_or("reserved", |i| USAGE_NAMES[i].1)
}

/// The boot reports a keyboard-wedge scanner set to `layout` sends for `scan`: for each byte a
/// press and a release report (dead keys followed by Space), control codes as Ctrl + key (GS
/// as Ctrl + usage 0x30), then the terminator. For simulated scanners and tests.
pub fn encode_scan(
    layout: &KeyboardLayout,
    scan: &[u8],
    terminator: Terminator,
) -> Result<Vec<[u8; BOOT_REPORT_LEN]>, HidError> {
    const RELEASE: [u8; BOOT_REPORT_LEN] = [0; BOOT_REPORT_LEN];
    let press = |modifiers: u8, usage: u8| [modifiers, 0, usage, 0, 0, 0, 0, 0];
    let mut reports = Vec::with_capacity(2 * scan.len() + 2);
    for &byte in scan {
        let unencodable = HidError::Unencodable {
            byte,
            layout: layout.name,
        };
        if byte.is_ascii_control() {
            let usage = layout.control_key(byte).ok_or(unencodable)?;
            reports.extend([press(LEFT_CTRL, usage), RELEASE]);
            continue;
        }
        let (usage, level, dead) = layout.find_char(byte).ok_or(unencodable)?;
        let modifiers = match level {
            Level::Plain => 0,
            Level::Shift => LEFT_SHIFT,
            Level::AltGr => RIGHT_ALT,
        };
        reports.extend([press(modifiers, usage), RELEASE]);
        if dead {
            reports.extend([press(0, USAGE_SPACE), RELEASE]);
        }
    }
    reports.extend([press(0, terminator.usage()), RELEASE]);
    Ok(reports)
}
