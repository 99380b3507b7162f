//! The entry point of barcode interpretation: cleans a raw scan (in scanner mode), strips the
//! AIM symbology identifier, decides what the data is (GS1 element string, bracketed AI data,
//! GS1 Digital Link URI, EAN/UPC/ITF-14 GTIN, or a plain serial), reads it with the strict
//! GS1 rules and checks the associations between AIs.

use std::borrow::Cow;

use super::ai_table::Cset;
use super::aim::{self, AIM_ID_LEN, Symbology};
use super::date::{self, Date};
use super::digital_link;
use super::element::{self, Element, GS};
use super::normalize::{self, DEFAULT_GS_SUBSTITUTES, Normalization};
use super::small_list::SmallList;
use super::{BarcodeError, RAW_SCAN_LEN_MAX, check};

/// The length of a GTIN once padded (GTIN-14).
pub const GTIN14_LEN: usize = 14;

/// How forgiving the reading is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// GS1 syntax exactly: a doubled separator, a trailing CR or a missing requisite AI is an
    /// error.
    Strict,
    /// Scanner noise is cleaned up first (and reported as warnings), then the strict rules
    /// apply. The default on the scan path.
    #[default]
    Scanner,
}

/// How to read a scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub mode: Mode,
    /// Text a keyboard wedge sends instead of GS; replaced (scanner mode only) when the data
    /// is a GS1 element string.
    pub gs_substitutes: Vec<String>,
    /// The reference date for the GS1 century rule of YYMMDD dates.
    pub today: Date,
}

impl Options {
    /// Scanner mode with the default GS substitutes ([`DEFAULT_GS_SUBSTITUTES`]).
    pub fn scanner(today: Date) -> Self {
        Options {
            mode: Mode::Scanner,
            gs_substitutes: DEFAULT_GS_SUBSTITUTES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            today,
        }
    }

    /// Strict mode; no substitutes are applied.
    pub fn strict(today: Date) -> Self {
        Options {
            mode: Mode::Strict,
            gs_substitutes: Vec::new(),
            today,
        }
    }
}

/// What the scan's data was read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// GS1 AI data, GS-separated or in the bracketed form.
    Gs1ElementString,
    /// A GS1 Digital Link URI.
    DigitalLink,
    /// A bare GTIN from EAN-13, EAN-8, UPC-A, UPC-E or ITF-14 (element `01`, padded to 14).
    Gtin,
    /// Anything else: the data is the serial.
    Plain,
}

/// A scan, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpretation {
    pub symbology: Option<Symbology>,
    pub kind: Kind,
    /// The cleaned data after the AIM identifier (GS substitutes already replaced).
    pub data: String,
    /// The AIs in the order read (Digital Link: key, qualifiers, query attributes); exact
    /// repeats are dropped.
    pub elements: Vec<Element>,
    /// The 2- or 5-digit add-on of an EAN/UPC symbol.
    pub add_on: Option<String>,
    pub warnings: Vec<Normalization>,
    /// The reference date the dates were read against.
    pub today: Date,
}

impl Interpretation {
    /// The value of `ai`, if present.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.elements
            .iter()
            .find(|e| e.ai == ai)
            .map(|e| e.value.as_str())
    }

    /// The GTIN-14 (AI 01).
    pub fn gtin(&self) -> Option<&str> {
        self.get("01")
    }

    /// The serial: AI 21, or the whole data of a plain scan.
    pub fn serial(&self) -> Option<&str> {
        match self.kind {
            Kind::Plain => Some(self.data.as_str()),
            _ => self.get("21"),
        }
    }

    /// The batch or lot (AI 10).
    pub fn lot(&self) -> Option<&str> {
        self.get("10")
    }

    /// The expiry date (AI 17); DD=00 is read as the last day of the month.
    pub fn expiry(&self) -> Option<Date> {
        let value = self.get("17")?;
        date::parse_yymmdd(value.as_bytes(), self.today.year, true).ok()
    }

    /// The elements as a GS-separated element string.
    pub fn to_element_string(&self) -> Result<String, BarcodeError> {
        element::to_element_string(&self.elements)
    }

    /// The elements in the bracketed human-readable form.
    pub fn to_bracketed(&self) -> Result<String, BarcodeError> {
        element::to_bracketed(&self.elements)
    }

    /// The elements as a GS1 Digital Link URI on `base_url`.
    pub fn to_digital_link(&self, base_url: &str) -> Result<String, BarcodeError> {
        digital_link::to_digital_link(&self.elements, base_url)
    }
}

/// Where one element read from element string data stands in the reading's data, in bytes:
/// the AI from `ai`, its value from `value` to `end`. A scan is at most [`RAW_SCAN_LEN_MAX`]
/// bytes, so every place fits in a `u16`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    ai: u16,
    value: u16,
    end: u16,
}

const _: () = assert!(RAW_SCAN_LEN_MAX <= u16::MAX as usize);

impl Span {
    fn ai(self) -> usize {
        usize::from(self.ai)
    }

    fn value(self) -> usize {
        usize::from(self.value)
    }

    fn end(self) -> usize {
        usize::from(self.end)
    }
}

/// A scan, read, holding what it carries without copying it where it can: the values of
/// element string data (nearly every scan) are slices of the scan itself, or of the cleaned
/// copy when scanner mode had to rewrite it. What [`read`] returns; [`interpret`] turns it into
/// the owned [`Interpretation`] with [`Reading::into_interpretation`].
#[derive(Clone, Debug)]
pub struct Reading<'a> {
    pub symbology: Option<Symbology>,
    pub kind: Kind,
    /// The cleaned data after the AIM identifier (GS substitutes already replaced).
    data: Cow<'a, str>,
    /// The elements read from element string data, as places in `data`.
    spans: SmallList<Span>,
    /// The elements that changed on the way in (percent-decoded, unescaped, zero-padded), so
    /// are held as copies: Digital Link, bracketed data, EAN/UPC. A reading has elements in
    /// `spans` or here, never in both.
    copies: Vec<Element>,
    /// The 2- or 5-digit add-on of an EAN/UPC symbol.
    pub add_on: Option<String>,
    pub warnings: Vec<Normalization>,
    /// The reference date the dates were read against.
    pub today: Date,
}

impl<'a> Reading<'a> {
    /// The cleaned data after the AIM identifier, as [`Interpretation::data`].
    pub fn data(&self) -> &str {
        &self.data
    }

    /// How many elements were read (exact repeats dropped).
    pub fn element_count(&self) -> usize {
        self.spans.len() + self.copies.len()
    }

    /// The AI and value of the `i`th element, in the order read.
    pub fn element(&self, i: usize) -> Option<(&str, &str)> {
        if let Some(e) = self.copies.get(i) {
            return Some((e.ai.as_str(), e.value.as_str()));
        }
        let span = *self.spans.as_slice().get(i)?;
        Some((
            self.data.get(span.ai()..span.value())?,
            self.data.get(span.value()..span.end())?,
        ))
    }

    /// The AI and value of each element, in the order read.
    pub fn elements(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        (0..self.element_count()).filter_map(|i| self.element(i))
    }

    /// The value of `ai`, if present.
    pub fn get(&self, ai: &str) -> Option<&str> {
        self.elements().find(|(a, _)| *a == ai).map(|(_, v)| v)
    }

    /// The GTIN-14 (AI 01).
    pub fn gtin(&self) -> Option<&str> {
        self.get("01")
    }

    /// The serial: AI 21, or the whole data of a plain scan.
    pub fn serial(&self) -> Option<&str> {
        match self.kind {
            Kind::Plain => Some(self.data()),
            _ => self.get("21"),
        }
    }

    /// The batch or lot (AI 10).
    pub fn lot(&self) -> Option<&str> {
        self.get("10")
    }

    /// The expiry date (AI 17); DD=00 is read as the last day of the month.
    pub fn expiry(&self) -> Option<Date> {
        let value = self.get("17")?;
        date::parse_yymmdd(value.as_bytes(), self.today.year, true).ok()
    }

    /// The same reading, owning its data.
    pub fn into_owned(self) -> Reading<'static> {
        Reading {
            data: Cow::Owned(self.data.into_owned()),
            symbology: self.symbology,
            kind: self.kind,
            spans: self.spans,
            copies: self.copies,
            add_on: self.add_on,
            warnings: self.warnings,
            today: self.today,
        }
    }

    /// The owned [`Interpretation`]: every AI and value copied out.
    pub fn into_interpretation(self) -> Interpretation {
        let mut elements = Vec::with_capacity(self.element_count());
        elements.extend(self.spans.as_slice().iter().map(|&s| {
            Element::new(
                self.data.get(s.ai()..s.value()).unwrap_or_default(),
                self.data.get(s.value()..s.end()).unwrap_or_default(),
            )
        }));
        elements.extend(self.copies);
        Interpretation {
            symbology: self.symbology,
            kind: self.kind,
            data: self.data.into_owned(),
            elements,
            add_on: self.add_on,
            warnings: self.warnings,
            today: self.today,
        }
    }
}

/// Expands an 8-digit UPC-E (number system, six digits, check) to the 12-digit UPC-A.
fn expand_upc_e(d: &[u8]) -> Option<Vec<u8>> {
    let [ns @ (b'0' | b'1'), x1, x2, x3, x4, x5, x6, c] = *d else {
        return None;
    };
    let body: Vec<u8> = match x6 {
        b'0'..=b'2' => vec![x1, x2, x6, b'0', b'0', b'0', b'0', x3, x4, x5],
        b'3' => vec![x1, x2, x3, b'0', b'0', b'0', b'0', b'0', x4, x5],
        b'4' => vec![x1, x2, x3, x4, b'0', b'0', b'0', b'0', b'0', x5],
        _ => vec![x1, x2, x3, x4, x5, b'0', b'0', b'0', b'0', x6],
    };
    let mut out = vec![ns];
    out.extend(body);
    out.push(c);
    Some(out)
}

/// Reads the data of an EAN/UPC/ITF symbol as a GTIN-14 and an optional add-on.
fn read_gtin(
    symbology: Symbology,
    data: &str,
    offset: usize,
) -> Result<(String, Option<String>), BarcodeError> {
    if let Some((i, ch)) = data.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        return Err(BarcodeError::CharacterNotAllowed {
            ai: "01".to_owned(),
            position: offset + i + 1,
            ch,
            expected: "digits",
        });
    }
    let digits = data.as_bytes();
    let len = digits.len();
    let wrong_length = |expected: &'static str| BarcodeError::GtinLength {
        symbology: symbology.name(),
        len,
        expected,
    };
    let (code, add_on): (Vec<u8>, Option<&[u8]>) = match symbology {
        Symbology::Ean13 => match len {
            12 | 13 => (digits.to_vec(), None),
            8 => (
                expand_upc_e(digits).ok_or(wrong_length("13 or 12 digits, or 8 for UPC-E"))?,
                None,
            ),
            _ => return Err(wrong_length("13 or 12 digits, or 8 for UPC-E")),
        },
        Symbology::Ean8 if len == 8 => (digits.to_vec(), None),
        Symbology::Ean8 => return Err(wrong_length("8 digits")),
        Symbology::EanWithAddOn if len == 15 || len == 18 => {
            let (main, add) = digits
                .split_at_checked(13)
                .ok_or(wrong_length("13 digits and a 2- or 5-digit add-on"))?;
            (main.to_vec(), Some(add))
        }
        Symbology::EanWithAddOn => {
            return Err(wrong_length("13 digits and a 2- or 5-digit add-on"));
        }
        _ if len == GTIN14_LEN => (digits.to_vec(), None),
        _ => return Err(wrong_length("14 digits")),
    };
    let check_position = offset + code.len().min(len);
    if let Some((&found, body)) = code.split_last() {
        let expected = check::gs1_mod10_digit(body).unwrap_or(b'0');
        if expected != found {
            return Err(BarcodeError::CheckDigit {
                ai: "01".to_owned(),
                position: check_position,
                found: char::from(found),
                expected: char::from(expected),
            });
        }
    }
    let mut gtin = "0".repeat(GTIN14_LEN.saturating_sub(code.len()));
    gtin.extend(code.iter().map(|&b| char::from(b)));
    Ok((
        gtin,
        add_on.map(|a| a.iter().map(|&b| char::from(b)).collect()),
    ))
}

/// Reads GS1 element string data; in scanner mode, substitutes and separator noise first.
/// Returns the data read (the cleaned copy when a cleanup changed it) and puts where each
/// element stands in it in `spans`.
fn read_element_string<'a>(
    data: &'a str,
    offset: usize,
    options: &Options,
    warnings: &mut Vec<Normalization>,
    spans: &mut SmallList<Span>,
) -> Result<Cow<'a, str>, BarcodeError> {
    if options.mode == Mode::Scanner && substitutes_cannot_hide(&options.gs_substitutes) {
        // Read first, clean only if needed. None of the substitutes can be in data that reads
        // (see `substitutes_cannot_hide`), and the reader says when it stepped over separator
        // noise; without either, both cleanups would change nothing and this is the reading.
        // Otherwise the data is read again below the careful way, cleanups first, so that
        // warnings, errors and their positions are what they always were.
        let mut elements = SmallList::default();
        let mut found = Vec::new();
        let year = options.today.year;
        if let Ok(false) = element::read_checked_refs_into(
            data,
            offset,
            Mode::Scanner,
            year,
            &mut elements,
            &mut found,
        ) {
            push_spans(&elements, spans);
            warnings.extend(found);
            return Ok(Cow::Borrowed(data));
        }
    }
    let mut text = Cow::Borrowed(data);
    let mut found = Vec::new();
    // Both cleanups copy the text; most scans need neither, and then they would change nothing.
    if options.mode == Mode::Scanner {
        if normalize::has_substitute(&text, &options.gs_substitutes) {
            let (substituted, w) = normalize::substitute_separators(&text, &options.gs_substitutes);
            found.extend(w);
            text = Cow::Owned(substituted);
        }
        if normalize::has_separator_noise(&text) {
            let (tidy, w) = normalize::tidy_separators(&text);
            found.extend(w);
            text = Cow::Owned(tidy);
        }
    }
    let mut elements = SmallList::default();
    element::read_checked_refs_into(
        &text,
        offset,
        options.mode,
        options.today.year,
        &mut elements,
        &mut found,
    )?;
    push_spans(&elements, spans);
    warnings.extend(found);
    Ok(text)
}

/// True when no substitute can be hiding in element string data that reads without error:
/// each starts with a byte that is neither GS nor a digit nor in any character set, so it
/// could stand neither in an AI nor in a value. All the default substitutes are so.
fn substitutes_cannot_hide(substitutes: &[String]) -> bool {
    substitutes.iter().all(|s| {
        s.as_bytes()
            .first()
            .is_none_or(|&b| b != 0x1D && !b.is_ascii_digit() && !Cset::any_allows_byte(b))
    })
}

/// Where each element read stands in the text it was read from.
fn push_spans(elements: &element::ElementRefs<'_>, spans: &mut SmallList<Span>) {
    // The text is at most as long as the scan (cleanups only remove or shorten), so every
    // place fits the span's u16.
    let place = |i: usize| u16::try_from(i).unwrap_or(u16::MAX);
    for e in elements.as_slice() {
        let value = e.at + e.ai.len();
        spans.push(Span {
            ai: place(e.at),
            value: place(value),
            end: place(value + e.value.len()),
        });
    }
}

/// Characters that print as nothing and would make two serials look alike.
pub(crate) const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{200E}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{2060}',
    '\u{FEFF}',
];

fn read_plain(data: &str, offset: usize) -> Result<(), BarcodeError> {
    for (i, c) in data.chars().enumerate() {
        let position = offset + i + 1;
        if c.is_control() {
            return Err(BarcodeError::ControlCharacter {
                byte: u8::try_from(u32::from(c)).unwrap_or(u8::MAX),
                position,
            });
        }
        if INVISIBLE.contains(&c) {
            return Err(BarcodeError::InvisibleCharacter { ch: c, position });
        }
    }
    Ok(())
}

/// Reads a raw scan into an owned [`Interpretation`]: [`read`], every value then copied out.
/// Positions in errors are 1-based and count characters of the cleaned scan (after
/// scanner-mode cleanup, including the AIM identifier); `NotUtf8` counts bytes.
pub fn interpret(raw: &[u8], options: &Options) -> Result<Interpretation, BarcodeError> {
    read(raw, options).map(Reading::into_interpretation)
}

/// Reads a raw scan (see [`interpret`] for the positions in errors) without copying what it
/// carries where nothing had to change: element string values stay slices of `raw`.
pub fn read<'a>(raw: &'a [u8], options: &Options) -> Result<Reading<'a>, BarcodeError> {
    if raw.is_empty() {
        return Err(BarcodeError::Empty);
    }
    if raw.len() > RAW_SCAN_LEN_MAX {
        return Err(BarcodeError::TooLong {
            len: raw.len(),
            max: RAW_SCAN_LEN_MAX,
        });
    }
    if options.mode == Mode::Scanner && normalize::has_byte_noise(raw) {
        let (bytes, warnings) = normalize::clean_bytes_borrowed(raw);
        return match bytes {
            Cow::Borrowed(bytes) => read_clean(bytes, options, warnings),
            Cow::Owned(bytes) => read_clean(&bytes, options, warnings).map(Reading::into_owned),
        };
    }
    read_clean(raw, options, Vec::new())
}

/// [`read`] once byte noise is gone; `warnings` says what was removed.
fn read_clean<'a>(
    bytes: &'a [u8],
    options: &Options,
    mut warnings: Vec<Normalization>,
) -> Result<Reading<'a>, BarcodeError> {
    let scanner = options.mode == Mode::Scanner;
    let text =
        std::str::from_utf8(bytes).map_err(|e| BarcodeError::NotUtf8(e.valid_up_to() + 1))?;
    let (symbology, data) = aim::split_aim(text);
    if data.is_empty() {
        return Err(BarcodeError::Empty);
    }
    let offset = if symbology.is_some() { AIM_ID_LEN } else { 0 };
    let year = options.today.year;
    let mut result = Reading {
        symbology,
        kind: Kind::Plain,
        // Element string data is replaced by its cleaned text below.
        data: Cow::Borrowed(data),
        spans: SmallList::default(),
        copies: Vec::new(),
        add_on: None,
        warnings: Vec::new(),
        today: options.today,
    };
    let gs1_symbol = symbology.filter(Symbology::is_gs1);
    let gtin_symbol = symbology
        .filter(Symbology::carries_gtin)
        .filter(|s| !matches!(s, Symbology::Itf { .. }) || data.len() == GTIN14_LEN);
    let is_uri = digital_link::is_uri(data);

    if let (Some(sym), true) = (gs1_symbol, is_uri) {
        if !(scanner && sym.may_carry_uri()) {
            return Err(BarcodeError::UriInGs1Symbol {
                symbology: sym.name(),
            });
        }
        warnings.push(Normalization::UriInGs1Symbol { symbology: sym });
    }
    if is_uri {
        let (elements, w) = digital_link::parse_digital_link(data, offset, options.mode, year)?;
        warnings.extend(w);
        result.kind = Kind::DigitalLink;
        result.copies = element::check_associations_owned(elements)?;
    } else if gs1_symbol.is_some() {
        result.data = read_element_string(data, offset, options, &mut warnings, &mut result.spans)?;
        result.kind = Kind::Gs1ElementString;
    } else if let Some(sym) = gtin_symbol {
        let (gtin, add_on) = read_gtin(sym, data, offset)?;
        result.kind = Kind::Gtin;
        result.copies = vec![Element::new("01", gtin)];
        result.add_on = add_on;
    } else if data.starts_with('(') {
        let elements = element::parse_bracketed(data, offset, year)?;
        result.kind = Kind::Gs1ElementString;
        result.copies = element::check_associations_owned(elements)?;
    } else if symbology.is_none() && data.contains(GS) {
        result.data = read_element_string(data, offset, options, &mut warnings, &mut result.spans)?;
        result.kind = Kind::Gs1ElementString;
    } else if let Some(text) =
        (symbology.is_none() && scanner && normalize::has_substitute(data, &options.gs_substitutes))
            .then(|| {
                let mut w = Vec::new();
                let mut spans = SmallList::default();
                let text = read_element_string(data, offset, options, &mut w, &mut spans).ok()?;
                warnings.extend(w);
                result.spans = spans;
                Some(text)
            })
            .flatten()
    {
        // Only data that reads as a valid element string once the substitutes are GS is
        // taken as GS1; anything else stays a plain serial.
        result.kind = Kind::Gs1ElementString;
        result.data = text;
    } else {
        read_plain(data, offset)?;
    }
    result.warnings = warnings;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Date = Date::new(2026, 3, 15);

    fn strict() -> Options {
        Options::strict(TODAY)
    }

    fn scanner() -> Options {
        Options::scanner(TODAY)
    }

    /// What a case expects: the kind, the elements, and the warnings as text.
    struct Want<'a> {
        kind: Kind,
        elements: &'a [(&'a str, &'a str)],
        warnings: &'a [&'a str],
    }

    fn check(input: &[u8], options: &Options, expected: Result<Want<'_>, &str>) {
        let got = interpret(input, options);
        match (got, expected) {
            (Ok(got), Ok(want)) => {
                let elements: Vec<(&str, &str)> = got
                    .elements
                    .iter()
                    .map(|e| (e.ai.as_str(), e.value.as_str()))
                    .collect();
                let warnings: Vec<String> = got.warnings.iter().map(|w| w.to_string()).collect();
                assert_eq!(got.kind, want.kind, "{input:?}");
                assert_eq!(elements, want.elements, "{input:?}");
                assert_eq!(warnings, want.warnings, "{input:?}");
            }
            (Err(e), Err(want)) => assert_eq!(e.to_string(), want, "{input:?}"),
            (got, want) => panic!("{:?}: got {got:?}, want {:?}", input, want.err()),
        }
    }

    const GTIN: &str = "09506000134352";

    #[test]
    fn gs1_examples() {
        use Kind::*;
        let both = [strict(), scanner()];
        for o in &both {
            check(
                b"(01)09506000134352(21)ABC123",
                o,
                Ok(Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("21", "ABC123")],
                    warnings: &[],
                }),
            );
            check(
                b"]C101095060001343521012345\x1d21ABC",
                o,
                Ok(Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("10", "12345"), ("21", "ABC")],
                    warnings: &[],
                }),
            );
            check(
                b"]d201095060001343521727010010L1",
                o,
                Ok(Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("17", "270100"), ("10", "L1")],
                    warnings: &[],
                }),
            );
            check(
                b"https://id.gs1.org/01/09506000134352/10/ABC%2F1/21/12345?17=270101",
                o,
                Ok(Want {
                    kind: DigitalLink,
                    elements: &[
                        ("01", GTIN),
                        ("10", "ABC/1"),
                        ("21", "12345"),
                        ("17", "270101"),
                    ],
                    warnings: &[],
                }),
            );
            check(
                b"]Q1https://example.com/p/01/09506000134352/21/S1",
                o,
                Ok(Want {
                    kind: DigitalLink,
                    elements: &[("01", GTIN), ("21", "S1")],
                    warnings: &[],
                }),
            );
            check(
                b"]E04006381333931",
                o,
                Ok(Want {
                    kind: Gtin,
                    elements: &[("01", "04006381333931")],
                    warnings: &[],
                }),
            );
            check(
                b"]E496385074",
                o,
                Ok(Want {
                    kind: Gtin,
                    elements: &[("01", "00000096385074")],
                    warnings: &[],
                }),
            );
            check(
                b"]E0012345678905",
                o,
                Ok(Want {
                    kind: Gtin,
                    elements: &[("01", "00012345678905")],
                    warnings: &[],
                }),
            );
            check(
                b"]E001234565",
                o,
                Ok(Want {
                    kind: Gtin,
                    elements: &[("01", "00012345000065")],
                    warnings: &[],
                }),
            );
            check(
                b"]I109506000134352",
                o,
                Ok(Want {
                    kind: Gtin,
                    elements: &[("01", GTIN)],
                    warnings: &[],
                }),
            );
            check(
                b"]I112345",
                o,
                Ok(Want {
                    kind: Plain,
                    elements: &[],
                    warnings: &[],
                }),
            );
            check(
                b"SN-000123",
                o,
                Ok(Want {
                    kind: Plain,
                    elements: &[],
                    warnings: &[],
                }),
            );
            check(
                b"]C0SN-000123",
                o,
                Ok(Want {
                    kind: Plain,
                    elements: &[],
                    warnings: &[],
                }),
            );
            check(
                b"0109506000134352",
                o,
                Ok(Want {
                    kind: Plain,
                    elements: &[],
                    warnings: &[],
                }),
            );
            check(
                b"]e00109506000134352",
                o,
                Ok(Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN)],
                    warnings: &[],
                }),
            );
            check(
                b"]J10109506000134352",
                o,
                Ok(Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN)],
                    warnings: &[],
                }),
            );
            check(
                b"01095060001343521012345\x1d21ABC",
                o,
                Ok(Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("10", "12345"), ("21", "ABC")],
                    warnings: &[],
                }),
            );
        }
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "scan is empty"),
            (b"]C1", "scan is empty"),
            (b"AB\xFFC", "scan is not valid UTF-8 at byte 3"),
            (
                b"AB\x07C",
                "control character 0x07 at position 3 is not allowed in a plain serial",
            ),
            (
                b"]C10109506000134353",
                "bad check digit in AI (01) at position 19: found 3, expected 2",
            ),
            (
                b"]C117270230",
                "invalid date 270230 in AI (17) at position 6: day 30 does not exist (the month has 28 days)",
            ),
            (
                b"]C1010950600013435210ABCDEFGHIJKLMNOPQRSTU",
                "value of AI (10) at position 22 has 21 characters; at most 20 are allowed",
            ),
            (
                b"]C1010950600013435221A B",
                "character ' ' at position 23 is not allowed in AI (21); expected GS1 character set 82",
            ),
            (b"]C12399", "unknown AI starting \"2399\" at position 4"),
            (
                b"]C121ABC",
                "missing requisite AI: AI (21) needs (01), (03) or (8006)",
            ),
            (
                b"]C10109506000134352030950600013435210A",
                "conflicting AIs: AI (03) must not appear together with AI (01)",
            ),
            (
                b"]C1010950600013435221A\x1d21B",
                "repeated AI (21) with different values",
            ),
            (
                b"]E04006381333932",
                "bad check digit in AI (01) at position 16: found 2, expected 1",
            ),
            (
                b"]E040063813339",
                "wrong length for EAN-13/UPC data: 11 characters, expected 13 or 12 digits, or 8 for UPC-E",
            ),
            (
                b"]E4963850",
                "wrong length for EAN-8 data: 6 characters, expected 8 digits",
            ),
            (
                b"]E0400638133393X",
                "character 'X' at position 16 is not allowed in AI (01); expected digits",
            ),
            (
                b"https://a.b/about",
                "not a GS1 Digital Link URI: the path has no GS1 primary key such as /01/",
            ),
        ];
        for o in [strict(), scanner()] {
            for (input, want) in cases {
                check(input, &o, Err(want));
            }
        }
        let too_long = vec![b'A'; RAW_SCAN_LEN_MAX + 1];
        check(
            &too_long,
            &scanner(),
            Err("scan has 4097 bytes; at most 4096 are accepted"),
        );
    }

    #[test]
    fn strict_and_scanner_on_the_same_noisy_input() {
        use Kind::*;
        let cases: &[(&[u8], &str, Want<'_>)] = &[
            (
                b"]C101095060001343521012345\x1d21ABC\r\n",
                "character '\\r' at position 33 is not allowed in AI (21); expected GS1 character set 82",
                Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("10", "12345"), ("21", "ABC")],
                    warnings: &["trailing line ending removed"],
                },
            ),
            (
                b"]C10109506000134352\x1d10A\x1d\x1d21B\x1d",
                "unexpected separator at position 25: a doubled separator",
                Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("10", "A"), ("21", "B")],
                    warnings: &[
                        "1 doubled GS separator(s) removed",
                        "trailing GS separator removed",
                        "unneeded GS separator after AI (01) removed",
                    ],
                },
            ),
            (
                b"]C1\x1d010950600013435210A",
                "unexpected separator at position 4: a separator before the first AI",
                Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("10", "A")],
                    warnings: &["leading GS separator removed"],
                },
            ),
            (
                b"\xEF\xBB\xBF]C1010950600013435221S\0\0",
                "character '\\u{feff}' at position 1 is not allowed in a plain serial",
                Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("21", "S")],
                    warnings: &["2 NUL byte(s) removed", "byte order mark removed"],
                },
            ),
            (
                b"]C1010950600013435210L@21S",
                "character '@' at position 23 is not allowed in AI (10); expected GS1 character set 82",
                Want {
                    kind: Gs1ElementString,
                    elements: &[("01", GTIN), ("10", "L"), ("21", "S")],
                    warnings: &["1 \"@\" read as GS separator"],
                },
            ),
            (
                b"]Q3https://id.gs1.org/01/09506000134352/21/S",
                "expected a GS1 element string in GS1 QR Code data, found a URI",
                Want {
                    kind: DigitalLink,
                    elements: &[("01", GTIN), ("21", "S")],
                    warnings: &["Digital Link URI read from GS1 QR Code (]Q3)"],
                },
            ),
            (
                b"https://id.gs1.org/01/9506000134352/21/S",
                "value of AI (01) at position 23 has 13 characters; at least 14 are needed",
                Want {
                    kind: DigitalLink,
                    elements: &[("01", GTIN), ("21", "S")],
                    warnings: &["13-digit GTIN zero-padded to 14 digits"],
                },
            ),
            (
                b"https://id.gs1.org/01/09506000134352?21=S",
                "key qualifier AI (21) belongs in the Digital Link path, not the query string",
                Want {
                    kind: DigitalLink,
                    elements: &[("01", GTIN), ("21", "S")],
                    warnings: &["key qualifier AI (21) taken from the query string"],
                },
            ),
            (
                b"SN-1\r\n",
                "control character 0x0D at position 5 is not allowed in a plain serial",
                Want {
                    kind: Plain,
                    elements: &[],
                    warnings: &["trailing line ending removed"],
                },
            ),
            (
                b"SN\x001",
                "control character 0x00 at position 3 is not allowed in a plain serial",
                Want {
                    kind: Plain,
                    elements: &[],
                    warnings: &["1 NUL byte(s) removed"],
                },
            ),
        ];
        for (input, strict_error, scanner_want) in cases {
            let got = interpret(input, &strict()).unwrap_err().to_string();
            assert!(got.starts_with(strict_error), "{input:?}: {got}");
            let Want {
                kind,
                elements,
                warnings,
            } = scanner_want;
            check(
                input,
                &scanner(),
                Ok(Want {
                    kind: *kind,
                    elements,
                    warnings,
                }),
            );
        }
    }

    #[test]
    fn substitutes_only_where_the_data_is_gs1() {
        // Not a valid element string once '@' is GS: stays a plain serial.
        let got = interpret(b"USER@EXAMPLE", &scanner()).unwrap();
        assert_eq!(
            (got.kind, got.serial()),
            (Kind::Plain, Some("USER@EXAMPLE"))
        );
        // Strict mode applies no substitutes; without an AIM identifier this is a serial.
        let data = b"010950600013435210L{GS}21S";
        let got = interpret(data, &strict()).unwrap();
        assert_eq!(got.kind, Kind::Plain);
        let got = interpret(data, &scanner()).unwrap();
        assert_eq!(
            (got.kind, got.lot(), got.serial()),
            (Kind::Gs1ElementString, Some("L"), Some("S"))
        );
        assert_eq!(
            got.warnings,
            [Normalization::GsSubstitute {
                substitute: "{GS}".into(),
                count: 1
            }]
        );
        // A non-GS1 symbology is never rewritten.
        let got = interpret(b"]C010A@21B", &scanner()).unwrap();
        assert_eq!((got.kind, got.serial()), (Kind::Plain, Some("10A@21B")));
        // Custom substitute list.
        let mut o = scanner();
        o.gs_substitutes = vec!["<GS>".to_owned()];
        let got = interpret(b"]C1010950600013435210L<GS>21S", &o).unwrap();
        assert_eq!((got.lot(), got.serial()), (Some("L"), Some("S")));
    }

    /// The reading borrows element string data from the scan when nothing had to change,
    /// and holds a copy only when scanner mode rewrote it; either way it says what
    /// `interpret` says.
    #[test]
    fn reading_borrows_what_it_can() {
        let cases: &[(&[u8], bool)] = &[
            (b"]d201095060001343521727020010LOT7\x1d21SER9", true),
            (b"]C101095060001343521012345\x1d21ABC\r\n", true),
            (b"SN-000123\r", true),
            (b"]C1010950600013435210L@21S", false),
            (b"]C10109506000134352\x1d10A\x1d\x1d21B", false),
            (b"A\0B", false),
        ];
        for &(raw, borrowed) in cases {
            let reading = read(raw, &scanner()).unwrap();
            assert_eq!(
                matches!(reading.data, Cow::Borrowed(_)),
                borrowed,
                "{raw:?}"
            );
            let elements: Vec<(String, String)> = reading
                .elements()
                .map(|(a, v)| (a.to_owned(), v.to_owned()))
                .collect();
            assert_eq!(reading.element(reading.element_count()), None);
            let want = interpret(raw, &scanner()).unwrap();
            let want_elements: Vec<(String, String)> = want
                .elements
                .iter()
                .map(|e| (e.ai.clone(), e.value.clone()))
                .collect();
            assert_eq!(elements, want_elements, "{raw:?}");
            assert_eq!(reading.into_owned().into_interpretation(), want, "{raw:?}");
        }
    }

    #[test]
    fn accessors() {
        let got = interpret(b"]d201095060001343521727020010LOT7\x1d21SER9", &scanner()).unwrap();
        assert_eq!(got.symbology, Some(Symbology::Gs1DataMatrix));
        assert_eq!(got.gtin(), Some(GTIN));
        assert_eq!(got.lot(), Some("LOT7"));
        assert_eq!(got.serial(), Some("SER9"));
        assert_eq!(got.expiry(), Some(Date::new(2027, 2, 28)));
        assert_eq!(got.get("99"), None);
        assert_eq!(
            got.to_bracketed().unwrap(),
            "(01)09506000134352(17)270200(10)LOT7(21)SER9"
        );
        assert_eq!(
            got.to_digital_link("https://id.gs1.org").unwrap(),
            "https://id.gs1.org/01/09506000134352/10/LOT7/21/SER9?17=270200"
        );
        assert_eq!(
            got.to_element_string().unwrap(),
            "01095060001343521727020010LOT7\u{1d}21SER9"
        );
        let ean = interpret(b"]E3400638133393112", &scanner()).unwrap();
        assert_eq!(
            (ean.gtin(), ean.add_on.as_deref()),
            (Some("04006381333931"), Some("12"))
        );
        let plain = interpret(b"]A0ABC-1", &strict()).unwrap();
        assert_eq!(
            (plain.kind, plain.serial(), plain.gtin()),
            (Kind::Plain, Some("ABC-1"), None)
        );
        assert_eq!(plain.symbology.map(|s| s.name()), Some("Code 39"));
    }
}
