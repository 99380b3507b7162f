//! GS1 element strings: reading AI data (GS-separated as scanners send it, or the bracketed
//! human-readable form), checking each value against its AI's components and linters, checking
//! the associations between AIs, and writing elements back out in either form.

use std::borrow::Cow;

use super::BarcodeError;
use super::ai_table::{self, AiEntry, Component, Cset, Linter};
use super::check;
use super::date::{self, DateProblem};
use super::interpret::Mode;
use super::normalize::Normalization;
use super::small_list::SmallList;

/// The group separator (ASCII 29) that stands for FNC1 between values.
pub const GS: char = '\u{1d}';

/// One AI and its value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Element {
    pub ai: String,
    pub value: String,
}

impl Element {
    pub fn new(ai: impl Into<String>, value: impl Into<String>) -> Self {
        Element {
            ai: ai.into(),
            value: value.into(),
        }
    }
}

/// A value being checked, with the 1-based position of each character in the cleaned data.
pub struct Located<'a> {
    pub chars: &'a [char],
    pub positions: &'a [usize],
    /// The position reported when the value is empty or too short.
    pub start: usize,
}

impl Located<'_> {
    fn at(&self, i: usize) -> usize {
        self.positions.get(i).copied().unwrap_or(self.start)
    }
}

/// A character of the data being read: a byte when the data is ASCII (character and byte
/// indices then agree and nothing needs decoding), a `char` otherwise.
pub trait Unit: Copy + PartialEq {
    /// The group separator.
    const GS: Self;
    fn to_char(self) -> char;
    /// True when the character is in `set`.
    fn in_set(self, set: Cset) -> bool;
    /// The units as bytes; only asked of units already known to be in a character set, so
    /// ASCII.
    fn ascii(units: &[Self]) -> Cow<'_, [u8]>;
}

impl Unit for u8 {
    const GS: u8 = 0x1D;

    fn to_char(self) -> char {
        char::from(self)
    }

    fn in_set(self, set: Cset) -> bool {
        set.allows_byte(self)
    }

    fn ascii(units: &[u8]) -> Cow<'_, [u8]> {
        Cow::Borrowed(units)
    }
}

impl Unit for char {
    const GS: char = GS;

    fn to_char(self) -> char {
        self
    }

    fn in_set(self, set: Cset) -> bool {
        set.allows(self)
    }

    fn ascii(units: &[char]) -> Cow<'_, [u8]> {
        Cow::Owned(units.iter().filter_map(|&c| u8::try_from(c).ok()).collect())
    }
}

const _: () = assert!(<u8 as Unit>::GS as u32 == GS as u32);

/// A value being checked: its characters and where each stands in the cleaned data.
pub trait ValueText {
    type Unit: Unit;
    fn units(&self) -> &[Self::Unit];
    /// The 1-based position of character `i`, or [`ValueText::start`] past the end.
    fn position(&self, i: usize) -> usize;
    /// The position reported when the value is empty or too short.
    fn start(&self) -> usize;
}

impl ValueText for Located<'_> {
    type Unit = char;

    fn units(&self) -> &[char] {
        self.chars
    }

    fn position(&self, i: usize) -> usize {
        self.at(i)
    }

    fn start(&self) -> usize {
        self.start
    }
}

/// A value whose characters stand at consecutive positions from `start`: no positions list
/// to build.
pub struct Run<'a, T> {
    pub units: &'a [T],
    pub start: usize,
}

impl<T: Unit> ValueText for Run<'_, T> {
    type Unit = T;

    fn units(&self) -> &[T] {
        self.units
    }

    fn position(&self, i: usize) -> usize {
        if i < self.units.len() {
            self.start + i
        } else {
            self.start
        }
    }

    fn start(&self) -> usize {
        self.start
    }
}

/// Why a linter refused a component, and where inside it.
enum Lint {
    Check { found: char, expected: char },
    Date(DateProblem),
    Other(&'static str),
}

fn digits_value(v: &[u8]) -> Option<u64> {
    v.iter().try_fold(0u64, |acc, &b| {
        b.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u64::from(b - b'0')))
            .flatten()
    })
}

fn in_range(v: &[u8], max: u64) -> bool {
    digits_value(v).is_some_and(|n| n <= max)
}

fn iban_valid(v: &[u8]) -> bool {
    let shape = v.len() >= 5
        && v.iter().take(2).all(u8::is_ascii_uppercase)
        && v.iter().skip(2).take(2).all(u8::is_ascii_digit)
        && v.iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    if !shape {
        return false;
    }
    let mut remainder: u32 = 0;
    for &b in v.iter().skip(4).chain(v.iter().take(4)) {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        let scale = if value >= 10 { 100 } else { 10 };
        remainder = (remainder * scale + value) % 97;
    }
    remainder == 1
}

/// True when this crate checks `linter`; the others depend on code lists (GS1 Company
/// Prefixes, ISO 3166/4217 codes, coupon structures) that are not embedded.
pub fn is_enforced(linter: Linter) -> bool {
    !matches!(
        linter,
        Linter::CsumAlpha
            | Linter::GcpPos1
            | Linter::GcpPos2
            | Linter::Iso4217
            | Linter::Iso3166
            | Linter::Iso3166999
            | Linter::ImporterIndex
            | Linter::PackageType
            | Linter::MediaType
            | Linter::CouponCode
            | Linter::CouponPosOffer
    )
}

/// Applies one linter to a component already known to be in its character set (so ASCII).
fn lint(linter: Linter, v: &[u8], reference_year: i32) -> Result<(), (usize, Lint)> {
    let fail = |at: usize, why: &'static str| Err((at, Lint::Other(why)));
    match linter {
        Linter::Csum => {
            let Some((&found, body)) = v.split_last() else {
                return fail(0, "a check digit is missing");
            };
            match check::gs1_mod10_digit(body) {
                Some(expected) if expected == found => Ok(()),
                Some(expected) => Err((
                    body.len(),
                    Lint::Check {
                        found: char::from(found),
                        expected: char::from(expected),
                    },
                )),
                None => fail(0, "the check digit cannot be computed"),
            }
        }
        Linter::Yymmd0 | Linter::Yymmdd => {
            date::parse_yymmdd(v, reference_year, linter == Linter::Yymmd0)
                .map(drop)
                .map_err(|p| (0, Lint::Date(p)))
        }
        Linter::Yyyymmdd => date::parse_yyyymmdd(v)
            .map(drop)
            .map_err(|p| (0, Lint::Date(p))),
        Linter::Hhmi => {
            if !v.get(..2).is_some_and(|h| in_range(h, 23)) {
                fail(0, "the hour must be 00 to 23")
            } else if !v.get(2..).is_some_and(|m| m.len() == 2 && in_range(m, 59)) {
                fail(2, "the minute must be 00 to 59")
            } else {
                Ok(())
            }
        }
        Linter::Hh if !in_range(v, 23) => fail(0, "the hour must be 00 to 23"),
        Linter::Mi if !in_range(v, 59) => fail(0, "the minute must be 00 to 59"),
        Linter::Ss if !in_range(v, 59) => fail(0, "the second must be 00 to 59"),
        Linter::YesNo if v != b"0" && v != b"1" => fail(0, "must be 0 or 1"),
        Linter::Hyphen if v.iter().any(|&b| b != b'-') => fail(0, "must be '-'"),
        Linter::Zero if v.iter().any(|&b| b != b'0') => fail(0, "must be 0"),
        Linter::NonZero if v.iter().all(|&b| b == b'0') => fail(0, "must not be all zeros"),
        Linter::Winding if !matches!(v, b"0" | b"1" | b"9") => fail(0, "must be 0, 1 or 9"),
        Linter::Iso5218 if !matches!(v, b"0" | b"1" | b"2" | b"9") => {
            fail(0, "must be 0, 1, 2 or 9")
        }
        Linter::PieceOfTotal => {
            let piece = v.get(..2).and_then(digits_value).unwrap_or(0);
            let total = v.get(2..).and_then(digits_value).unwrap_or(0);
            if piece == 0 || total == 0 || piece > total || v.len() != 4 {
                fail(0, "must be piece NN of total NN, 01 to the total")
            } else {
                Ok(())
            }
        }
        Linter::PosInSeqSlash => match v {
            [p @ b'1'..=b'9', b'/', t @ b'1'..=b'9'] if p <= t => Ok(()),
            _ => fail(0, "must be a position in a sequence written n/m"),
        },
        Linter::NoZeroPrefix if v.len() > 1 && v.first() == Some(&b'0') => {
            fail(0, "must not start with 0")
        }
        Linter::HasNonDigit if v.iter().all(u8::is_ascii_digit) => {
            fail(0, "must contain a character that is not a digit")
        }
        Linter::PercentEncoded => {
            for (i, &b) in v.iter().enumerate() {
                if b == b'%'
                    && !v
                        .get(i + 1..i + 3)
                        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
                {
                    return fail(i, "'%' must start a %XX escape");
                }
            }
            Ok(())
        }
        Linter::Latitude if !in_range(v, 1_800_000_000) => {
            fail(0, "latitude must be 0000000000 to 1800000000")
        }
        Linter::Longitude if !in_range(v, 3_599_999_999) => {
            fail(0, "longitude must be 0000000000 to 3599999999")
        }
        Linter::Iban if !iban_valid(v) => fail(0, "not a valid IBAN"),
        Linter::Iso3166Alpha2 if !(v.len() == 2 && v.iter().all(u8::is_ascii_uppercase)) => {
            fail(0, "must be a two-letter country code")
        }
        _ => Ok(()),
    }
}

fn check_component<V: ValueText + ?Sized>(
    ai: &str,
    component: &Component,
    value: &V,
    from: usize,
    to: usize,
    reference_year: i32,
) -> Result<(), BarcodeError> {
    let chars = value.units().get(from..to).unwrap_or_default();
    let mut refused = chars.iter().position(|c| !c.in_set(component.charset));
    if component.charset == Cset::Cset64 {
        // In set 64, '=' is only padding at the end: when anything but '=' follows the first
        // '=', that '=' is the first one out of place.
        let padding = chars.iter().position(|c| c.to_char() == '=').filter(|&i| {
            chars
                .get(i..)
                .unwrap_or_default()
                .iter()
                .any(|p| p.to_char() != '=')
        });
        refused = match (refused, padding) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    if let Some(i) = refused
        && let Some(&c) = chars.get(i)
    {
        return Err(BarcodeError::CharacterNotAllowed {
            ai: ai.to_owned(),
            position: value.position(from + i),
            ch: c.to_char(),
            expected: component.charset.describe(),
        });
    }
    if component.linters.is_empty() {
        return Ok(());
    }
    // Every character set is ASCII, so this is the component byte for byte.
    let bytes = V::Unit::ascii(chars);
    for &linter in component.linters {
        if let Err((at, lint)) = lint(linter, &bytes, reference_year) {
            let position = value.position(from + at);
            let ai = ai.to_owned();
            return Err(match lint {
                Lint::Check { found, expected } => BarcodeError::CheckDigit {
                    ai,
                    position,
                    found,
                    expected,
                },
                Lint::Date(problem) => BarcodeError::InvalidDate {
                    ai,
                    position,
                    date: chars.iter().map(|c| c.to_char()).collect(),
                    problem,
                },
                Lint::Other(reason) => BarcodeError::InvalidValue {
                    ai,
                    position,
                    reason,
                },
            });
        }
    }
    Ok(())
}

/// Checks a value against its AI's length, components, character sets and linters.
pub fn validate_value<V: ValueText + ?Sized>(
    ai: &str,
    entry: &AiEntry,
    value: &V,
    reference_year: i32,
) -> Result<(), BarcodeError> {
    let len = value.units().len();
    if len < entry.min_len {
        return Err(BarcodeError::ValueTooShort {
            ai: ai.to_owned(),
            position: value.start(),
            len,
            min: entry.min_len,
        });
    }
    if len > entry.max_len {
        return Err(BarcodeError::ValueTooLong {
            ai: ai.to_owned(),
            position: value.start(),
            len,
            max: entry.max_len,
        });
    }
    let mut at = 0;
    for component in entry.components {
        let remaining = len - at;
        if remaining == 0 && component.optional {
            break;
        }
        let take = if component.min == component.max {
            if remaining < component.min {
                return Err(BarcodeError::ValueTooShort {
                    ai: ai.to_owned(),
                    position: value.start(),
                    len,
                    min: at + component.min,
                });
            }
            component.min
        } else {
            remaining.min(component.max)
        };
        check_component(ai, component, value, at, at + take, reference_year)?;
        at += take;
    }
    if at < len {
        return Err(BarcodeError::ValueTooLong {
            ai: ai.to_owned(),
            position: value.start(),
            len,
            max: at,
        });
    }
    Ok(())
}

/// Checks `value` of `ai` where every character sits at consecutive positions from `start`.
pub fn validate_plain(
    ai: &str,
    value: &str,
    start: usize,
    reference_year: i32,
) -> Result<(), BarcodeError> {
    let entry = ai_table::lookup(ai).ok_or_else(|| BarcodeError::UnknownAi {
        digits: ai.to_owned(),
        position: start,
    })?;
    if value.is_ascii() {
        let units = value.as_bytes();
        return validate_value(ai, entry, &Run { units, start }, reference_year);
    }
    let chars: Vec<char> = value.chars().collect();
    validate_value(
        ai,
        entry,
        &Run {
            units: &chars,
            start,
        },
        reference_year,
    )
}

/// The AI at `units[i..]` (its length in characters and its table row), or the error naming
/// what is there instead.
fn read_ai<T: Unit>(
    units: &[T],
    i: usize,
    position: usize,
) -> Result<(usize, &'static AiEntry), BarcodeError> {
    let rest = units.get(i..).unwrap_or_default();
    let found = rest.first().map_or(' ', |u| u.to_char());
    if !found.is_ascii_digit() {
        return Err(BarcodeError::ExpectedAi { position, found });
    }
    // An AI is ASCII digits, so at most its first AI_LEN_MAX characters matter.
    let mut head = [0u8; ai_table::AI_LEN_MAX];
    let head_len = rest
        .iter()
        .take(ai_table::AI_LEN_MAX)
        .map_while(|u| u8::try_from(u.to_char()).ok())
        .zip(head.iter_mut())
        .map(|(b, slot)| *slot = b)
        .count();
    if let Some(known) = ai_table::match_prefix_bytes(head.get(..head_len).unwrap_or_default()) {
        return Ok(known);
    }
    let digits: String = rest
        .iter()
        .take(ai_table::AI_LEN_MAX)
        .map(|u| u.to_char())
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.len() == rest.len() && digits.len() < ai_table::AI_LEN_MAX {
        Err(BarcodeError::IncompleteAi { digits, position })
    } else {
        Err(BarcodeError::UnknownAi { digits, position })
    }
}

/// One element as read from data: its AI and value as slices of the data, and the AI's table
/// row, carried along so that nothing looks the AI up again.
#[derive(Clone, Copy, Debug)]
pub struct ElementRef<'a> {
    pub ai: &'a str,
    pub value: &'a str,
    /// The byte index of the AI in the data it was read from; the value follows the AI.
    pub at: usize,
    pub entry: &'static AiEntry,
}

/// The elements of one element string, inline for a typical label.
pub type ElementRefs<'a> = SmallList<ElementRef<'a>>;

impl ElementRef<'_> {
    pub fn to_element(&self) -> Element {
        Element::new(self.ai, self.value)
    }
}

/// Reads a GS-separated element string (see [`parse_element_string`]), each value checked
/// against its AI. ASCII data, nearly every scan, is read byte by byte; other data character
/// by character, so that lengths and positions still count characters.
pub fn read_element_refs(
    data: &str,
    offset: usize,
    mode: Mode,
    reference_year: i32,
) -> Result<(ElementRefs<'_>, Vec<Normalization>), BarcodeError> {
    let mut elements = SmallList::default();
    let mut warnings = Vec::new();
    read_element_refs_into(
        data,
        offset,
        mode,
        reference_year,
        &mut elements,
        &mut warnings,
    )?;
    Ok((elements, warnings))
}

/// [`read_element_refs`] into lists the caller holds, so that nothing is moved on the way out.
/// Returns true when, in scanner mode, it stepped over separator noise: a GS at the start, at
/// the end or after another GS (what [`normalize::has_separator_noise`] looks for; strict mode
/// refuses these instead).
///
/// [`normalize::has_separator_noise`]: super::normalize::has_separator_noise
pub fn read_element_refs_into<'a>(
    data: &'a str,
    offset: usize,
    mode: Mode,
    reference_year: i32,
    elements: &mut ElementRefs<'a>,
    warnings: &mut Vec<Normalization>,
) -> Result<bool, BarcodeError> {
    let reader = ElementReader {
        data,
        offset,
        mode,
        reference_year,
    };
    if data.is_ascii() {
        return reader.read(data.as_bytes(), |i| i, elements, warnings);
    }
    let mut chars: Vec<char> = Vec::with_capacity(data.len());
    let mut byte_at: Vec<usize> = Vec::with_capacity(data.len() + 1);
    for (b, c) in data.char_indices() {
        chars.push(c);
        byte_at.push(b);
    }
    byte_at.push(data.len());
    let byte_index = |i: usize| byte_at.get(i).copied().unwrap_or(data.len());
    reader.read(&chars, byte_index, elements, warnings)
}

/// What [`read_element_refs`] reads with.
struct ElementReader<'a> {
    data: &'a str,
    offset: usize,
    mode: Mode,
    reference_year: i32,
}

impl<'a> ElementReader<'a> {
    /// Reads `units`, the characters of `self.data`; `byte_index` turns a character index
    /// into the byte index in the data.
    fn read<T: Unit>(
        &self,
        units: &[T],
        byte_index: impl Fn(usize) -> usize,
        elements: &mut ElementRefs<'a>,
        warnings: &mut Vec<Normalization>,
    ) -> Result<bool, BarcodeError> {
        let n = units.len();
        let mut separator_noise = false;
        let pos = |i: usize| self.offset + i + 1;
        let text = |from: usize, to: usize| {
            self.data
                .get(byte_index(from)..byte_index(to))
                .unwrap_or_default()
        };
        if n == 0 {
            return Err(BarcodeError::Empty);
        }
        let mut i = 0;
        while i < n {
            if units.get(i) == Some(&T::GS) {
                if self.mode == Mode::Scanner {
                    // A GS where an AI should start: at the start or after another GS.
                    separator_noise = true;
                    i += 1;
                    continue;
                }
                let reason = if i == 0 {
                    "a separator before the first AI"
                } else {
                    "a doubled separator"
                };
                return Err(BarcodeError::UnexpectedSeparator {
                    position: pos(i),
                    reason,
                });
            }
            let (ai_len, entry) = read_ai(units, i, pos(i))?;
            let ai = text(i, i + ai_len);
            i += ai_len;
            let start = i;
            let end = if entry.predefined_length {
                let available = units
                    .get(i..n.min(i + entry.max_len))
                    .unwrap_or_default()
                    .iter()
                    .take_while(|&&c| c != T::GS)
                    .count();
                i + available
            } else {
                units
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .position(|&c| c == T::GS)
                    .map_or(n, |p| i + p)
            };
            let value = Run {
                units: units.get(start..end).unwrap_or_default(),
                start: pos(start),
            };
            validate_value(ai, entry, &value, self.reference_year)?;
            elements.push(ElementRef {
                ai,
                value: text(start, end),
                at: byte_index(start - ai_len),
                entry,
            });
            i = end;
            if units.get(i) == Some(&T::GS) {
                let last = i + 1 == n;
                separator_noise |= last;
                // GS1's Barcode Syntax Engine skips one separator after a predefined-length
                // value too, so strict mode accepts it; scanner mode says it was there.
                match (self.mode, entry.predefined_length, last) {
                    (Mode::Strict, _, true) => {
                        return Err(BarcodeError::UnexpectedSeparator {
                            position: pos(i),
                            reason: "a separator after the last value",
                        });
                    }
                    (Mode::Scanner, true, _) => {
                        warnings
                            .push(Normalization::SeparatorAfterPredefined { ai: ai.to_owned() });
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        Ok(separator_noise)
    }
}

/// Reads a GS-separated element string. `offset` is the number of characters before `data`
/// in the cleaned scan (the AIM identifier), so that positions count from the scan's start.
/// One GS after a predefined-length value is allowed (scanner mode notes it); in strict mode a
/// leading, doubled or trailing GS is an error.
pub fn parse_element_string(
    data: &str,
    offset: usize,
    mode: Mode,
    reference_year: i32,
) -> Result<(Vec<Element>, Vec<Normalization>), BarcodeError> {
    let (elements, warnings) = read_element_refs(data, offset, mode, reference_year)?;
    Ok((
        elements
            .as_slice()
            .iter()
            .map(ElementRef::to_element)
            .collect(),
        warnings,
    ))
}

/// [`parse_element_string`] followed by [`check_associations`], without copying the values
/// until they have passed both.
pub fn parse_checked_element_string(
    data: &str,
    offset: usize,
    mode: Mode,
    reference_year: i32,
) -> Result<(Vec<Element>, Vec<Normalization>), BarcodeError> {
    let (elements, warnings) = read_checked_refs(data, offset, mode, reference_year)?;
    Ok((
        elements
            .as_slice()
            .iter()
            .map(ElementRef::to_element)
            .collect(),
        warnings,
    ))
}

/// [`read_element_refs`] followed by [`check_associations`]: the elements that passed both,
/// exact repeats dropped, as slices of `data`. Nothing is copied.
pub fn read_checked_refs(
    data: &str,
    offset: usize,
    mode: Mode,
    reference_year: i32,
) -> Result<(ElementRefs<'_>, Vec<Normalization>), BarcodeError> {
    let mut elements = SmallList::default();
    let mut warnings = Vec::new();
    read_checked_refs_into(
        data,
        offset,
        mode,
        reference_year,
        &mut elements,
        &mut warnings,
    )?;
    Ok((elements, warnings))
}

/// [`read_checked_refs`] into lists the caller holds, so that nothing is moved on the way out.
/// Returns what [`read_element_refs_into`] returns: whether separator noise was stepped over.
pub fn read_checked_refs_into<'a>(
    data: &'a str,
    offset: usize,
    mode: Mode,
    reference_year: i32,
    elements: &mut ElementRefs<'a>,
    warnings: &mut Vec<Normalization>,
) -> Result<bool, BarcodeError> {
    let separator_noise =
        read_element_refs_into(data, offset, mode, reference_year, elements, warnings)?;
    let kept = check_associations_in_place(elements.as_mut_slice())?;
    elements.truncate(kept);
    Ok(separator_noise)
}

/// Reads the bracketed human-readable form `(01)09506000134352(21)ABC123`. A literal `(` in a
/// value is written `\(`.
pub fn parse_bracketed(
    text: &str,
    offset: usize,
    reference_year: i32,
) -> Result<Vec<Element>, BarcodeError> {
    // Sized up front: collecting chars would grow the Vec from a quarter of the byte length.
    let mut chars: Vec<char> = Vec::with_capacity(text.len());
    chars.extend(text.chars());
    let n = chars.len();
    let pos = |i: usize| offset + i + 1;
    let mut elements = Vec::new();
    let mut i = 0;
    if n == 0 {
        return Err(BarcodeError::Empty);
    }
    while i < n {
        if chars.get(i) != Some(&'(') {
            return Err(BarcodeError::BracketSyntax {
                position: pos(i),
                reason: "expected '('",
            });
        }
        let ai_start = i + 1;
        let close = chars
            .get(ai_start..)
            .unwrap_or_default()
            .iter()
            .position(|&c| c == ')')
            .map(|p| ai_start + p)
            .ok_or(BarcodeError::BracketSyntax {
                position: pos(i),
                reason: "missing ')'",
            })?;
        let ai: String = chars
            .get(ai_start..close)
            .unwrap_or_default()
            .iter()
            .collect();
        let known = ai.bytes().all(|b| b.is_ascii_digit())
            && (ai_table::AI_LEN_MIN..=ai_table::AI_LEN_MAX).contains(&ai.len());
        let entry = ai_table::lookup(&ai)
            .filter(|_| known)
            .ok_or(BarcodeError::UnknownAi {
                digits: ai.clone(),
                position: pos(ai_start),
            })?;
        i = close + 1;
        let start = i;
        let mut value = Vec::new();
        let mut positions = Vec::new();
        while let Some(&c) = chars.get(i) {
            if c == '(' {
                break;
            }
            if c == '\\' && chars.get(i + 1) == Some(&'(') {
                i += 1;
                value.push('(');
            } else {
                value.push(c);
            }
            positions.push(pos(i));
            i += 1;
        }
        validate_value(
            &ai,
            entry,
            &Located {
                chars: &value,
                positions: &positions,
                start: pos(start),
            },
            reference_year,
        )?;
        elements.push(Element::new(ai, value.into_iter().collect::<String>()));
    }
    Ok(elements)
}

fn describe_alternatives(group: &[&[&str]]) -> String {
    let names: Vec<String> = group
        .iter()
        .map(|alt| {
            alt.iter()
                .map(|ai| format!("({ai})"))
                .collect::<Vec<_>>()
                .join(" with ")
        })
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// Checks the associations between AIs: the same AI twice with different values, the
/// requisite AIs each AI needs (`req=`), and the pairs that must not appear together
/// (`ex=`). Returns the elements with exact repeats dropped.
pub fn check_associations(elements: &[Element]) -> Result<Vec<Element>, BarcodeError> {
    check_associations_owned(elements.to_vec())
}

/// What the association checks need to know of an element.
trait Associated {
    fn ai(&self) -> &str;
    fn value(&self) -> &str;
    /// The AI's table row; `None` when the AI is unknown.
    fn entry(&self) -> Option<&'static AiEntry>;
}

impl Associated for Element {
    fn ai(&self) -> &str {
        &self.ai
    }

    fn value(&self) -> &str {
        &self.value
    }

    fn entry(&self) -> Option<&'static AiEntry> {
        ai_table::lookup(&self.ai)
    }
}

impl Associated for ElementRef<'_> {
    fn ai(&self) -> &str {
        self.ai
    }

    fn value(&self) -> &str {
        self.value
    }

    fn entry(&self) -> Option<&'static AiEntry> {
        Some(self.entry)
    }
}

/// [`check_associations`] on elements the caller gives up, so that none is copied.
pub fn check_associations_owned(mut unique: Vec<Element>) -> Result<Vec<Element>, BarcodeError> {
    let kept = check_associations_in_place(&mut unique)?;
    unique.truncate(kept);
    Ok(unique)
}

/// `a == b` for AIs, a few ASCII digits: compared inline, where `==` on `str` calls
/// `memcmp`.
fn same_ai(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// [`check_associations`] in place: the unique elements end up first, in order, and their
/// number is returned.
fn check_associations_in_place<E: Associated>(elements: &mut [E]) -> Result<usize, BarcodeError> {
    // Keep the first of each AI in place, in order: `kept` elements are unique so far.
    let mut kept = 0;
    for i in 0..elements.len() {
        let (seen, rest) = elements.split_at(i);
        let Some(e) = rest.first() else { break };
        match seen
            .get(..kept)
            .unwrap_or_default()
            .iter()
            .find(|u| same_ai(u.ai(), e.ai()))
        {
            Some(u) if u.value() != e.value() => {
                return Err(BarcodeError::RepeatedAi {
                    ai: e.ai().to_owned(),
                });
            }
            Some(_) => {}
            None => {
                elements.swap(kept, i);
                kept += 1;
            }
        }
    }
    let unique = elements.get(..kept).unwrap_or_default();
    let present = |pattern: &str| {
        unique
            .iter()
            .any(|u| ai_table::pattern_matches(pattern, u.ai()))
    };
    for e in unique {
        let Some(entry) = e.entry() else {
            return Err(BarcodeError::UnknownAi {
                digits: e.ai().to_owned(),
                position: 0,
            });
        };
        for group in entry.requires {
            if !group.iter().any(|alt| alt.iter().all(|p| present(p))) {
                return Err(BarcodeError::MissingRequisite {
                    ai: e.ai().to_owned(),
                    needs: describe_alternatives(group),
                });
            }
        }
        for pattern in entry.excludes {
            if let Some(other) = unique
                .iter()
                .find(|u| !same_ai(u.ai(), e.ai()) && ai_table::pattern_matches(pattern, u.ai()))
            {
                return Err(BarcodeError::ConflictingAis {
                    ai: e.ai().to_owned(),
                    other: other.ai().to_owned(),
                });
            }
        }
    }
    Ok(kept)
}

fn known_entry(e: &Element, target: &'static str) -> Result<&'static AiEntry, BarcodeError> {
    let entry = ai_table::lookup(&e.ai).ok_or_else(|| BarcodeError::Conversion {
        target,
        reason: format!("AI ({}) is unknown", e.ai),
    })?;
    if e.value.is_empty() || e.value.contains(GS) {
        return Err(BarcodeError::Conversion {
            target,
            reason: format!("the value of AI ({}) is empty or contains GS", e.ai),
        });
    }
    Ok(entry)
}

/// Writes elements as a GS-separated element string (as a scanner sends it, without AIM
/// identifier), with a GS only after values that are not of predefined length and not last.
pub fn to_element_string(elements: &[Element]) -> Result<String, BarcodeError> {
    let mut out = String::new();
    for (i, e) in elements.iter().enumerate() {
        let entry = known_entry(e, "an element string")?;
        if entry.predefined_length && e.value.chars().count() != entry.max_len {
            return Err(BarcodeError::Conversion {
                target: "an element string",
                reason: format!("AI ({}) needs exactly {} characters", e.ai, entry.max_len),
            });
        }
        out.push_str(&e.ai);
        out.push_str(&e.value);
        if !entry.predefined_length && i + 1 < elements.len() {
            out.push(GS);
        }
    }
    Ok(out)
}

/// Writes elements in the bracketed human-readable form, escaping `(` in values as `\(`.
pub fn to_bracketed(elements: &[Element]) -> Result<String, BarcodeError> {
    let mut out = String::new();
    for e in elements {
        known_entry(e, "the bracketed form")?;
        out.push('(');
        out.push_str(&e.ai);
        out.push(')');
        out.push_str(&e.value.replace('(', "\\("));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i32 = 2026;

    /// (AI, value) pairs written out in a test table.
    type Pairs = &'static [(&'static str, &'static str)];

    fn els(pairs: &[(&str, &str)]) -> Vec<Element> {
        pairs.iter().map(|(a, v)| Element::new(*a, *v)).collect()
    }

    fn check(input: &str, mode: Mode, expected: Result<&[(&str, &str)], &str>) {
        let got = parse_element_string(input, 0, mode, YEAR);
        match (got, expected) {
            (Ok((e, _)), Ok(want)) => assert_eq!(e, els(want), "{input:?}"),
            (Err(e), Err(want)) => assert_eq!(e.to_string(), want, "{input:?}"),
            (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn element_strings() {
        let s = Mode::Strict;
        check(
            "01095060001343521012345\u{1d}21ABC",
            s,
            Ok(&[("01", "09506000134352"), ("10", "12345"), ("21", "ABC")]),
        );
        check(
            "0109506000134352172701003103000195",
            s,
            Ok(&[
                ("01", "09506000134352"),
                ("17", "270100"),
                ("3103", "000195"),
            ]),
        );
        // A missing GS between variable-length AIs cannot be seen.
        check("10ABC21XYZ", s, Ok(&[("10", "ABC21XYZ")]));
        check(
            "7003270101123\u{1d}10A",
            s,
            Err("value of AI (7003) at position 5 has 9 characters; at least 10 are needed"),
        );
        let cases: &[(&str, &str)] = &[
            ("", "scan is empty"),
            (
                "0109506000134353",
                "bad check digit in AI (01) at position 16: found 3, expected 2",
            ),
            (
                "01095060001343",
                "value of AI (01) at position 3 has 12 characters; at least 14 are needed",
            ),
            (
                "0109506000134352\u{1d}",
                "unexpected separator at position 17: a separator after the last value",
            ),
            (
                "10A\u{1d}\u{1d}21B",
                "unexpected separator at position 5: a doubled separator",
            ),
            (
                "\u{1d}10A",
                "unexpected separator at position 1: a separator before the first AI",
            ),
            (
                "10A\u{1d}",
                "unexpected separator at position 4: a separator after the last value",
            ),
            (
                "10A\r",
                "character '\\r' at position 4 is not allowed in AI (10); expected GS1 character set 82",
            ),
            (
                "0109506000134352\r",
                "expected an AI at position 17, found '\\r'",
            ),
            ("2399", "unknown AI starting \"2399\" at position 1"),
            (
                "0109506000134352 9",
                "expected an AI at position 17, found ' '",
            ),
            ("01095060001343529", "incomplete AI \"9\" at position 17"),
            (
                "10ABCDEFGHIJKLMNOPQRSTU",
                "value of AI (10) at position 3 has 21 characters; at most 20 are allowed",
            ),
            (
                "10AB#",
                "character '#' at position 5 is not allowed in AI (10); expected GS1 character set 82",
            ),
            (
                "17270230",
                "invalid date 270230 in AI (17) at position 3: day 30 does not exist (the month has 28 days)",
            ),
            (
                "17271301",
                "invalid date 271301 in AI (17) at position 3: month 13 does not exist",
            ),
            (
                "7006270100",
                "invalid date 270100 in AI (7006) at position 5: day 00 is not allowed for this AI",
            ),
            (
                "70032701012460",
                "invalid value in AI (7003) at position 11: the hour must be 00 to 23",
            ),
            (
                "800609506000134352 102",
                "character ' ' at position 19 is not allowed in AI (8006); expected digits",
            ),
            (
                "8006095060001343520302",
                "invalid value in AI (8006) at position 19: must be piece NN of total NN, 01 to the total",
            ),
            (
                "3103ABC",
                "value of AI (3103) at position 5 has 3 characters; at least 6 are needed",
            ),
            (
                "4321",
                "value of AI (4321) at position 5 has 0 characters; at least 1 are needed",
            ),
            (
                "43212",
                "invalid value in AI (4321) at position 5: must be 0 or 1",
            ),
        ];
        for (input, want) in cases {
            check(input, s, Err(want));
        }
    }

    #[test]
    fn dates_allow_day_zero_only_where_the_table_says() {
        let s = Mode::Strict;
        for ai in ["11", "13", "15", "16", "17"] {
            let input = format!("{ai}270200");
            check(&input, s, Ok(&[(ai, "270200")]));
        }
        check(
            "4324270200",
            s,
            Err("value of AI (4324) at position 5 has 6 characters; at least 10 are needed"),
        );
        check("43242702001200", s, Ok(&[("4324", "2702001200")]));
        check(
            "43262702000",
            s,
            Err("value of AI (4326) at position 5 has 7 characters; at most 6 are allowed"),
        );
        check(
            "4326270200",
            s,
            Err(
                "invalid date 270200 in AI (4326) at position 5: day 00 is not allowed for this AI",
            ),
        );
        check(
            "70032702001200",
            s,
            Err(
                "invalid date 270200 in AI (7003) at position 5: day 00 is not allowed for this AI",
            ),
        );
        // Leap days, on the century the reference year gives.
        check("17280229", s, Ok(&[("17", "280229")]));
        check(
            "17270229",
            s,
            Err(
                "invalid date 270229 in AI (17) at position 3: day 29 does not exist (the month has 28 days)",
            ),
        );
        check("17000229", s, Ok(&[("17", "000229")]));
        check(
            "7250",
            s,
            Err("value of AI (7250) at position 5 has 0 characters; at least 8 are needed"),
        );
        check(
            "725019000229",
            s,
            Err(
                "invalid date 19000229 in AI (7250) at position 5: day 29 does not exist (the month has 28 days)",
            ),
        );
        check("725020000229", s, Ok(&[("7250", "20000229")]));
    }

    #[test]
    fn character_sets() {
        let s = Mode::Strict;
        // '=' is in set 82; in set 64 it is only trailing padding.
        check("10A=B", s, Ok(&[("10", "A=B")]));
        check("8010ABC#-/1", s, Ok(&[("8010", "ABC#-/1")]));
        check(
            "8010abc",
            s,
            Err(
                "character 'a' at position 5 is not allowed in AI (8010); expected GS1 character set 39",
            ),
        );
        check(
            "10Aé",
            s,
            Err(
                "character 'é' at position 4 is not allowed in AI (10); expected GS1 character set 82",
            ),
        );
    }

    /// Data that is not ASCII is read by characters, not bytes: lengths, the end of a
    /// predefined-length value and positions count characters.
    #[test]
    fn data_beyond_ascii_counts_characters() {
        let s = Mode::Strict;
        let cases = [
            (
                "01095060001343é2",
                "character 'é' at position 15 is not allowed in AI (01); expected digits",
            ),
            (
                "10ABCDEFGHIJKLMNOPQRSTé",
                "value of AI (10) at position 3 has 21 characters; at most 20 are allowed",
            ),
            (
                "10ABCDEFGHIJKLMNOPQRSé",
                "character 'é' at position 22 is not allowed in AI (10); expected GS1 character set 82",
            ),
            (
                "0109506000134352\u{1d}10AB\u{1d}21é",
                "character 'é' at position 25 is not allowed in AI (21); expected GS1 character set 82",
            ),
            (
                "0109506000134352é",
                "expected an AI at position 17, found 'é'",
            ),
            ("1é", "unknown AI starting \"1\" at position 1"),
        ];
        for (input, want) in cases {
            check(input, s, Err(want));
            let scanner = parse_element_string(input, 3, Mode::Scanner, YEAR).unwrap_err();
            let strict = parse_element_string(input, 0, s, YEAR).unwrap_err();
            assert_eq!(
                scanner.position(),
                strict.position().map(|p| p + 3),
                "{input}"
            );
        }
    }

    #[test]
    fn scanner_mode_tolerates_separators() {
        let (e, w) = parse_element_string(
            "0109506000134352\u{1d}10A\u{1d}\u{1d}21B",
            0,
            Mode::Scanner,
            YEAR,
        )
        .unwrap();
        assert_eq!(
            e,
            els(&[("01", "09506000134352"), ("10", "A"), ("21", "B")])
        );
        assert_eq!(
            w,
            [Normalization::SeparatorAfterPredefined { ai: "01".into() }]
        );
    }

    #[test]
    fn other_linters() {
        let s = Mode::Strict;
        check(
            "8007DE89370400440532013000",
            s,
            Ok(&[("8007", "DE89370400440532013000")]),
        );
        check(
            "8007DE89370400440532013001",
            s,
            Err("invalid value in AI (8007) at position 5: not a valid IBAN"),
        );
        check("72581/2", s, Ok(&[("7258", "1/2")]));
        check(
            "72583/2",
            s,
            Err(
                "invalid value in AI (7258) at position 5: must be a position in a sequence written n/m",
            ),
        );
        check("80110", s, Ok(&[("8011", "0")]));
        check(
            "801101",
            s,
            Err("invalid value in AI (8011) at position 5: must not start with 0"),
        );
        check("4302A%2FB", s, Ok(&[("4302", "A%2FB")]));
        check(
            "4302A%2",
            s,
            Err("invalid value in AI (4302) at position 6: '%' must start a %XX escape"),
        );
        check(
            "43300123-",
            s,
            Err("value of AI (4330) at position 5 has 5 characters; at least 6 are needed"),
        );
        check("4330000123-", s, Ok(&[("4330", "000123-")]));
        check(
            "4330000123+",
            s,
            Err("invalid value in AI (4330) at position 11: must be '-'"),
        );
        check(
            "43090000000000",
            s,
            Err("value of AI (4309) at position 5 has 10 characters; at least 20 are needed"),
        );
        check(
            "430918000000013599999999",
            s,
            Err(
                "invalid value in AI (4309) at position 5: latitude must be 0000000000 to 1800000000",
            ),
        );
        check(
            "430918000000003599999999",
            s,
            Ok(&[("4309", "18000000003599999999")]),
        );
        check("8030AB-_==", s, Ok(&[("8030", "AB-_==")]));
        check(
            "8030A=B",
            s,
            Err(
                "character '=' at position 6 is not allowed in AI (8030); expected GS1 character set 64",
            ),
        );
        check(
            "8014123",
            s,
            Err(
                "invalid value in AI (8014) at position 5: must contain a character that is not a digit",
            ),
        );
        check(
            "8001000110000210011",
            s,
            Err("value of AI (8001) at position 5 has 15 characters; at most 14 are allowed"),
        );
        check(
            "80010001100002101",
            s,
            Err("value of AI (8001) at position 5 has 13 characters; at least 14 are needed"),
        );
        check("800100011000021001", s, Ok(&[("8001", "00011000021001")]));
        check(
            "800100011000021051",
            s,
            Err("invalid value in AI (8001) at position 17: must be 0, 1 or 9"),
        );
        check(
            "800100000000021001",
            s,
            Err("invalid value in AI (8001) at position 5: must not be all zeros"),
        );
    }

    #[test]
    fn bracketed_form() {
        let cases: &[(&str, Result<Pairs, &str>)] = &[
            (
                "(01)09506000134352(21)ABC123",
                Ok(&[("01", "09506000134352"), ("21", "ABC123")]),
            ),
            ("(10)A\\(B(21)C", Ok(&[("10", "A(B"), ("21", "C")])),
            ("(3103)000195", Ok(&[("3103", "000195")])),
            (
                "(01)0950600013435",
                Err("value of AI (01) at position 5 has 13 characters; at least 14 are needed"),
            ),
            ("(23)X", Err("unknown AI starting \"23\" at position 2")),
            ("(0123)X", Err("unknown AI starting \"0123\" at position 2")),
            (
                "(01",
                Err("malformed bracketed data at position 1: missing ')'"),
            ),
            (
                "01(10)A",
                Err("malformed bracketed data at position 1: expected '('"),
            ),
            (
                "(10)",
                Err("value of AI (10) at position 5 has 0 characters; at least 1 are needed"),
            ),
            (
                "(21)A B",
                Err(
                    "character ' ' at position 6 is not allowed in AI (21); expected GS1 character set 82",
                ),
            ),
        ];
        for (input, want) in cases {
            let got = parse_bracketed(input, 0, YEAR);
            match (got, want) {
                (Ok(e), Ok(w)) => assert_eq!(e, els(w), "{input}"),
                (Err(e), Err(w)) => assert_eq!(e.to_string(), *w, "{input}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
        let e = els(&[("01", "09506000134352"), ("10", "A(B"), ("21", "C")]);
        let text = to_bracketed(&e).unwrap();
        assert_eq!(text, "(01)09506000134352(10)A\\(B(21)C");
        assert_eq!(parse_bracketed(&text, 0, YEAR).unwrap(), e);
    }

    #[test]
    fn same_ai_is_equality() {
        let ais = [
            "", "0", "01", "02", "10", "010", "011", "3103", "3102", "31031", "A1", "01",
        ];
        for a in ais {
            for b in ais {
                assert_eq!(same_ai(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn associations() {
        let cases: &[(Pairs, Result<usize, &str>)] = &[
            (&[("01", "09506000134352"), ("21", "A")], Ok(2)),
            (
                &[("21", "A")],
                Err("missing requisite AI: AI (21) needs (01), (03) or (8006)"),
            ),
            (
                &[("10", "A")],
                Err("missing requisite AI: AI (10) needs (01), (02), (03), (8006) or (8026)"),
            ),
            (
                &[("01", "09506000134352"), ("03", "09506000134352")],
                Err("conflicting AIs: AI (03) must not appear together with AI (01)"),
            ),
            (&[("01", "09506000134352"), ("21", "A"), ("21", "A")], Ok(2)),
            (
                &[("01", "09506000134352"), ("21", "A"), ("21", "B")],
                Err("repeated AI (21) with different values"),
            ),
            (
                &[
                    ("01", "09506000134352"),
                    ("3103", "000195"),
                    ("3102", "001950"),
                ],
                Err("conflicting AIs: AI (3103) must not appear together with AI (3102)"),
            ),
            (
                &[("01", "09506000134352"), ("8040", "123456789012345")],
                Err("missing requisite AI: AI (8040) needs (01) with (21)"),
            ),
            (
                &[
                    ("01", "09506000134352"),
                    ("21", "S"),
                    ("8040", "123456789012345"),
                ],
                Ok(3),
            ),
            (
                &[("00", "106141411234567897"), ("37", "5")],
                Err("missing requisite AI: AI (37) needs (02) or (8026)"),
            ),
            (
                &[("01", "09506000134352"), ("250", "X")],
                Err("missing requisite AI: AI (250) needs (21)"),
            ),
            (
                &[("01", "09506000134352"), ("3922", "100"), ("30", "5")],
                Ok(3),
            ),
            (
                &[("01", "09506000134352"), ("3922", "100")],
                Err("missing requisite AI: AI (3922) needs (30), (31nn), (32nn), (35nn) or (36nn)"),
            ),
            (
                &[
                    ("01", "09506000134352"),
                    ("3922", "100"),
                    ("3102", "000100"),
                ],
                Ok(3),
            ),
        ];
        // Exact repeats are dropped and the first of each AI keeps its place.
        let repeated = els(&[
            ("01", "09506000134352"),
            ("21", "A"),
            ("21", "A"),
            ("01", "09506000134352"),
            ("10", "B"),
            ("21", "A"),
            ("17", "270101"),
        ]);
        assert_eq!(
            check_associations(&repeated).unwrap(),
            els(&[
                ("01", "09506000134352"),
                ("21", "A"),
                ("10", "B"),
                ("17", "270101")
            ])
        );
        for (input, want) in cases {
            let got = check_associations(&els(input));
            match (got, want) {
                (Ok(e), Ok(n)) => assert_eq!(e.len(), *n, "{input:?}"),
                (Err(e), Err(w)) => assert_eq!(e.to_string(), *w, "{input:?}"),
                (got, want) => panic!("{input:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn writing_element_strings() {
        let e = els(&[
            ("01", "09506000134352"),
            ("10", "12345"),
            ("17", "270101"),
            ("21", "ABC"),
        ]);
        assert_eq!(
            to_element_string(&e).unwrap(),
            "01095060001343521012345\u{1d}1727010121ABC"
        );
        for bad in [
            els(&[("23", "X")]),
            els(&[("01", "123")]),
            els(&[("10", "A\u{1d}B")]),
            els(&[("10", "")]),
        ] {
            assert!(to_element_string(&bad).is_err(), "{bad:?}");
        }
        assert!(to_bracketed(&els(&[("23", "X")])).is_err());
    }
}
