//! Keyboard layouts as data: which character a keyboard-wedge scanner meant by a usage on page
//! 0x07 plus Shift or AltGr, for the host layout the scanner was configured to emulate. The US
//! layout comes generated from the usage table (`tables.rs`); German QWERTZ and French AZERTY
//! are written here by hand for the printable ASCII a barcode can carry, which on those layouts
//! is all of it. This module only looks characters up; the report state machine is
//! `keyboard.rs`.
//!
//! Facts the tables follow (Windows layouts, which scanners emulate):
//! - usages name key positions on a US keyboard, so on QWERTZ usage 0x1C (US `Y`) types `z`,
//!   and on AZERTY the digits need Shift and `]` is AltGr + usage 0x2D;
//! - AltGr arrives as Right Alt, or as Ctrl + Left Alt (Windows treats both the same);
//! - a few characters are dead keys (`^`, `` ` `` on both, `~` on AZERTY): the key is followed
//!   by Space to type the character itself;
//! - non-ASCII characters (`é`, `ß`, `§`, `£`, `€` ...) are not in the tables: a barcode's
//!   bytes are ASCII in keyboard-wedge mode, and such a key is refused as unmapped;
//! - control codes are typed as Ctrl + key: on a letter key the letter the layout puts there
//!   (`Ctrl+Z` is usage 0x1C on QWERTZ), on any other key the US position's code, so GS is
//!   Ctrl + usage 0x30 on every layout (assumed: scanners send GS positionally).

use super::tables::{US_CTRL_CODES, US_KEYS};

/// What one key produces at one shift level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// Nothing (the key has no character at this level on this layout).
    None,
    /// This ASCII byte.
    Char(u8),
    /// A dead key for this ASCII byte: followed by Space it types the byte.
    Dead(u8),
}

/// One key of a layout: its usage and what it types plain, with Shift and with AltGr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRow {
    pub usage: u8,
    pub plain: Key,
    pub shift: Key,
    pub altgr: Key,
}

impl KeyRow {
    pub const fn new(usage: u8, plain: Key, shift: Key, altgr: Key) -> KeyRow {
        KeyRow {
            usage,
            plain,
            shift,
            altgr,
        }
    }

    fn at(&self, level: Level) -> Key {
        match level {
            Level::Plain => self.plain,
            Level::Shift => self.shift,
            Level::AltGr => self.altgr,
        }
    }
}

/// The shift level a key is read at. Shift + AltGr is not used by the characters in these
/// tables and is read as AltGr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Plain,
    Shift,
    AltGr,
}

/// A host keyboard layout as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyboardLayout {
    /// A short name for messages and configuration (`us`, `de`, `fr`).
    pub name: &'static str,
    /// The keys of the main block, sorted by usage.
    pub keys: &'static [KeyRow],
    /// Keys that differ from the US layout outside the main block (the keypad decimal key on
    /// German), sorted by usage; consulted before the keys common to all
    /// layouts (Enter, Tab, Space, keypad).
    pub overrides: &'static [KeyRow],
}

/// Usages whose characters are the same on every layout here: Enter, Escape, Backspace, Tab,
/// Space and the keypad (Num Lock on). The German and French `keys` do not repeat them.
const COMMON_KEYS: [std::ops::RangeInclusive<u8>; 2] = [0x28..=0x2C, 0x54..=0x63];

impl KeyboardLayout {
    /// What `usage` types at `level`, or `Key::None`.
    pub fn key(&self, usage: u8, level: Level) -> Key {
        self.row(usage).map_or(Key::None, |row| row.at(level))
    }

    fn row(&self, usage: u8) -> Option<&'static KeyRow> {
        find_row(self.overrides, usage)
            .or_else(|| find_row(self.keys, usage))
            .or_else(|| is_common(usage).then(|| find_row(US_KEYS, usage)).flatten())
    }

    /// The control code Ctrl + `usage` types, if any (see the module docs for the rule).
    pub fn control_code(&self, usage: u8) -> Option<u8> {
        if let Key::Char(letter) = self.key(usage, Level::Plain)
            && letter.is_ascii_lowercase()
        {
            return Some(letter - b'a' + 1);
        }
        // A US letter position that this layout gave a non-letter types no control code: the
        // letter's code moved with the letter.
        if let Key::Char(us_letter) = US.key(usage, Level::Plain)
            && us_letter.is_ascii_lowercase()
        {
            return None;
        }
        US_CTRL_CODES
            .binary_search_by_key(&usage, |&(u, _)| u)
            .ok()
            .map(|i| US_CTRL_CODES[i].1)
    }

    /// How to type `byte` on this layout: the usage, the level and whether it is a dead key,
    /// preferring a key that is not a dead key. Control codes are found with
    /// [`KeyboardLayout::control_key`].
    pub fn find_char(&self, byte: u8) -> Option<(u8, Level, bool)> {
        let mut dead = None;
        for row in self.all_rows() {
            for level in [Level::Plain, Level::Shift, Level::AltGr] {
                match row.at(level) {
                    Key::Char(c) if c == byte => return Some((row.usage, level, false)),
                    Key::Dead(c) if c == byte && dead.is_none() => {
                        dead = Some((row.usage, level, true));
                    }
                    _ => {}
                }
            }
        }
        dead
    }

    /// The usage that, with Ctrl, types control code `code` on this layout.
    pub fn control_key(&self, code: u8) -> Option<u8> {
        (0x04..=0x38).find(|&usage| self.control_code(usage) == Some(code))
    }

    fn all_rows(&self) -> impl Iterator<Item = &'static KeyRow> {
        let common = US_KEYS.iter().filter(|row| is_common(row.usage));
        self.overrides
            .iter()
            .chain(self.keys.iter())
            .chain(common.filter(|row| find_row(self.overrides, row.usage).is_none()))
    }
}

fn is_common(usage: u8) -> bool {
    COMMON_KEYS.iter().any(|range| range.contains(&usage))
}

fn find_row(rows: &'static [KeyRow], usage: u8) -> Option<&'static KeyRow> {
    rows.binary_search_by_key(&usage, |row| row.usage)
        .ok()
        .map(|i| &rows[i])
}

/// The US ANSI layout, from the usage table (its `keys` include the common keys).
pub const US: KeyboardLayout = KeyboardLayout {
    name: "us",
    keys: US_KEYS,
    overrides: &[],
};

use Key::{Char as C, Dead as D, None as N};

/// German QWERTZ (Windows "German"): the main block. `§`, `°`, `ß`, umlauts, `´`, `²`, `³`,
/// `€` and `µ` are left out (non-ASCII).
pub const GERMAN: KeyboardLayout = KeyboardLayout {
    name: "de",
    keys: GERMAN_KEYS,
    overrides: &[
        // The keypad decimal key types a comma on German layouts.
        KeyRow::new(0x63, C(b','), C(b','), N),
    ],
};

const GERMAN_KEYS: &[KeyRow] = &[
    KeyRow::new(0x04, C(b'a'), C(b'A'), N),
    KeyRow::new(0x05, C(b'b'), C(b'B'), N),
    KeyRow::new(0x06, C(b'c'), C(b'C'), N),
    KeyRow::new(0x07, C(b'd'), C(b'D'), N),
    KeyRow::new(0x08, C(b'e'), C(b'E'), N),
    KeyRow::new(0x09, C(b'f'), C(b'F'), N),
    KeyRow::new(0x0A, C(b'g'), C(b'G'), N),
    KeyRow::new(0x0B, C(b'h'), C(b'H'), N),
    KeyRow::new(0x0C, C(b'i'), C(b'I'), N),
    KeyRow::new(0x0D, C(b'j'), C(b'J'), N),
    KeyRow::new(0x0E, C(b'k'), C(b'K'), N),
    KeyRow::new(0x0F, C(b'l'), C(b'L'), N),
    KeyRow::new(0x10, C(b'm'), C(b'M'), N),
    KeyRow::new(0x11, C(b'n'), C(b'N'), N),
    KeyRow::new(0x12, C(b'o'), C(b'O'), N),
    KeyRow::new(0x13, C(b'p'), C(b'P'), N),
    KeyRow::new(0x14, C(b'q'), C(b'Q'), C(b'@')),
    KeyRow::new(0x15, C(b'r'), C(b'R'), N),
    KeyRow::new(0x16, C(b's'), C(b'S'), N),
    KeyRow::new(0x17, C(b't'), C(b'T'), N),
    KeyRow::new(0x18, C(b'u'), C(b'U'), N),
    KeyRow::new(0x19, C(b'v'), C(b'V'), N),
    KeyRow::new(0x1A, C(b'w'), C(b'W'), N),
    KeyRow::new(0x1B, C(b'x'), C(b'X'), N),
    KeyRow::new(0x1C, C(b'z'), C(b'Z'), N),
    KeyRow::new(0x1D, C(b'y'), C(b'Y'), N),
    KeyRow::new(0x1E, C(b'1'), C(b'!'), N),
    KeyRow::new(0x1F, C(b'2'), C(b'"'), N),
    KeyRow::new(0x20, C(b'3'), N, N),
    KeyRow::new(0x21, C(b'4'), C(b'$'), N),
    KeyRow::new(0x22, C(b'5'), C(b'%'), N),
    KeyRow::new(0x23, C(b'6'), C(b'&'), N),
    KeyRow::new(0x24, C(b'7'), C(b'/'), C(b'{')),
    KeyRow::new(0x25, C(b'8'), C(b'('), C(b'[')),
    KeyRow::new(0x26, C(b'9'), C(b')'), C(b']')),
    KeyRow::new(0x27, C(b'0'), C(b'='), C(b'}')),
    KeyRow::new(0x2D, N, C(b'?'), C(b'\\')),
    KeyRow::new(0x2E, N, D(b'`'), N),
    KeyRow::new(0x30, C(b'+'), C(b'*'), C(b'~')),
    KeyRow::new(0x31, C(b'#'), C(b'\''), N),
    KeyRow::new(0x32, C(b'#'), C(b'\''), N),
    KeyRow::new(0x35, D(b'^'), N, N),
    KeyRow::new(0x36, C(b','), C(b';'), N),
    KeyRow::new(0x37, C(b'.'), C(b':'), N),
    KeyRow::new(0x38, C(b'-'), C(b'_'), N),
    KeyRow::new(0x64, C(b'<'), C(b'>'), C(b'|')),
];

/// French AZERTY (Windows "French"): the main block. Digits need Shift; `é`, `è`, `ç`, `à`,
/// `ù`, `°`, `£`, `¤`, `µ`, `§`, `²`, `¨` and `€` are left out (non-ASCII).
pub const FRENCH: KeyboardLayout = KeyboardLayout {
    name: "fr",
    keys: FRENCH_KEYS,
    overrides: &[],
};

const FRENCH_KEYS: &[KeyRow] = &[
    KeyRow::new(0x04, C(b'q'), C(b'Q'), N),
    KeyRow::new(0x05, C(b'b'), C(b'B'), N),
    KeyRow::new(0x06, C(b'c'), C(b'C'), N),
    KeyRow::new(0x07, C(b'd'), C(b'D'), N),
    KeyRow::new(0x08, C(b'e'), C(b'E'), N),
    KeyRow::new(0x09, C(b'f'), C(b'F'), N),
    KeyRow::new(0x0A, C(b'g'), C(b'G'), N),
    KeyRow::new(0x0B, C(b'h'), C(b'H'), N),
    KeyRow::new(0x0C, C(b'i'), C(b'I'), N),
    KeyRow::new(0x0D, C(b'j'), C(b'J'), N),
    KeyRow::new(0x0E, C(b'k'), C(b'K'), N),
    KeyRow::new(0x0F, C(b'l'), C(b'L'), N),
    KeyRow::new(0x10, C(b','), C(b'?'), N),
    KeyRow::new(0x11, C(b'n'), C(b'N'), N),
    KeyRow::new(0x12, C(b'o'), C(b'O'), N),
    KeyRow::new(0x13, C(b'p'), C(b'P'), N),
    KeyRow::new(0x14, C(b'a'), C(b'A'), N),
    KeyRow::new(0x15, C(b'r'), C(b'R'), N),
    KeyRow::new(0x16, C(b's'), C(b'S'), N),
    KeyRow::new(0x17, C(b't'), C(b'T'), N),
    KeyRow::new(0x18, C(b'u'), C(b'U'), N),
    KeyRow::new(0x19, C(b'v'), C(b'V'), N),
    KeyRow::new(0x1A, C(b'z'), C(b'Z'), N),
    KeyRow::new(0x1B, C(b'x'), C(b'X'), N),
    KeyRow::new(0x1C, C(b'y'), C(b'Y'), N),
    KeyRow::new(0x1D, C(b'w'), C(b'W'), N),
    KeyRow::new(0x1E, C(b'&'), C(b'1'), N),
    KeyRow::new(0x1F, N, C(b'2'), D(b'~')),
    KeyRow::new(0x20, C(b'"'), C(b'3'), C(b'#')),
    KeyRow::new(0x21, C(b'\''), C(b'4'), C(b'{')),
    KeyRow::new(0x22, C(b'('), C(b'5'), C(b'[')),
    KeyRow::new(0x23, C(b'-'), C(b'6'), C(b'|')),
    KeyRow::new(0x24, N, C(b'7'), D(b'`')),
    KeyRow::new(0x25, C(b'_'), C(b'8'), C(b'\\')),
    KeyRow::new(0x26, N, C(b'9'), C(b'^')),
    KeyRow::new(0x27, N, C(b'0'), C(b'@')),
    KeyRow::new(0x2D, C(b')'), N, C(b']')),
    KeyRow::new(0x2E, C(b'='), C(b'+'), C(b'}')),
    KeyRow::new(0x2F, D(b'^'), N, N),
    KeyRow::new(0x30, C(b'$'), N, N),
    KeyRow::new(0x31, C(b'*'), N, N),
    KeyRow::new(0x32, C(b'*'), N, N),
    KeyRow::new(0x33, C(b'm'), C(b'M'), N),
    KeyRow::new(0x34, N, C(b'%'), N),
    KeyRow::new(0x36, C(b';'), C(b'.'), N),
    KeyRow::new(0x37, C(b':'), C(b'/'), N),
    KeyRow::new(0x38, C(b'!'), N, N),
    KeyRow::new(0x64, C(b'<'), C(b'>'), N),
];

/// Every layout, for configuration by name.
pub const LAYOUTS: &[KeyboardLayout] = &[US, GERMAN, FRENCH];

/// The layout called `name` (`us`, `de`, `fr`).
pub fn layout_by_name(name: &str) -> Option<&'static KeyboardLayout> {
    LAYOUTS.iter().find(|layout| layout.name == name)
}
