//! Scanner-mode noise cleanup: the bytes scanners and keyboard wedges add or mangle (a trailing
//! CR, a BOM, NUL padding, GS stand-ins, doubled separators) are removed or restored before the
//! strict rules run, and every change is reported as a [`Normalization`].

use std::borrow::Cow;
use std::fmt;

use super::aim::Symbology;
use super::element::GS;

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The GS stand-ins applied by default: none of these characters is in GS1 character set 82,
/// so they can never be part of a value.
pub const DEFAULT_GS_SUBSTITUTES: &[&str] = &["@", "~", "|", "{GS}"];

/// One change made to a scan before reading it; shown to the operator as a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Normalization {
    /// CR, LF or TAB at the end of the scan.
    TrailingLineEnd,
    /// A UTF-8 byte order mark at the start.
    ByteOrderMark,
    /// NUL bytes (HID report padding).
    NulBytes { count: usize },
    /// A keyboard-wedge stand-in for the GS separator.
    GsSubstitute { substitute: String, count: usize },
    /// A GS before the first AI.
    LeadingSeparator,
    /// GS separators directly after another GS.
    DoubledSeparator { count: usize },
    /// A GS after the last value.
    TrailingSeparator,
    /// A GS after a predefined-length AI value, where none is needed.
    SeparatorAfterPredefined { ai: String },
    /// A Digital Link URI read from a symbology that should carry an element string.
    UriInGs1Symbol { symbology: Symbology },
    /// An 8-, 12- or 13-digit GTIN in a Digital Link path, zero-padded to 14 digits.
    GtinZeroPadded { len: usize },
    /// A key qualifier given as a query attribute instead of in the path.
    KeyQualifierInQuery { ai: String },
    /// A `/` at the end of a Digital Link path.
    TrailingSlash,
}

impl fmt::Display for Normalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Normalization::TrailingLineEnd => write!(f, "trailing line ending removed"),
            Normalization::ByteOrderMark => write!(f, "byte order mark removed"),
            Normalization::NulBytes { count } => write!(f, "{count} NUL byte(s) removed"),
            Normalization::GsSubstitute { substitute, count } => {
                write!(f, "{count} {substitute:?} read as GS separator")
            }
            Normalization::LeadingSeparator => write!(f, "leading GS separator removed"),
            Normalization::DoubledSeparator { count } => {
                write!(f, "{count} doubled GS separator(s) removed")
            }
            Normalization::TrailingSeparator => write!(f, "trailing GS separator removed"),
            Normalization::SeparatorAfterPredefined { ai } => {
                write!(f, "unneeded GS separator after AI ({ai}) removed")
            }
            Normalization::UriInGs1Symbol { symbology } => {
                write!(f, "Digital Link URI read from {symbology}")
            }
            Normalization::GtinZeroPadded { len } => {
                write!(f, "{len}-digit GTIN zero-padded to 14 digits")
            }
            Normalization::KeyQualifierInQuery { ai } => {
                write!(f, "key qualifier AI ({ai}) taken from the query string")
            }
            Normalization::TrailingSlash => write!(f, "trailing slash in Digital Link ignored"),
        }
    }
}

/// Removes NUL bytes, a leading byte order mark and trailing CR/LF/TAB.
pub fn clean_bytes(raw: &[u8]) -> (Vec<u8>, Vec<Normalization>) {
    let mut warnings = Vec::new();
    let mut bytes: Vec<u8> = raw.iter().copied().filter(|&b| b != 0).collect();
    let nuls = raw.len() - bytes.len();
    if nuls > 0 {
        warnings.push(Normalization::NulBytes { count: nuls });
    }
    if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
        warnings.push(Normalization::ByteOrderMark);
    }
    let kept = bytes.len()
        - bytes
            .iter()
            .rev()
            .take_while(|&&b| matches!(b, b'\r' | b'\n' | b'\t'))
            .count();
    if kept != bytes.len() {
        bytes.truncate(kept);
        warnings.push(Normalization::TrailingLineEnd);
    }
    (bytes, warnings)
}

/// [`clean_bytes`] without the copy when there is no NUL to remove: the BOM and the line end
/// are then cut off the ends of `raw`. Same bytes, same warnings.
pub fn clean_bytes_borrowed(raw: &[u8]) -> (Cow<'_, [u8]>, Vec<Normalization>) {
    if contains_byte(raw, 0) {
        let (bytes, warnings) = clean_bytes(raw);
        return (Cow::Owned(bytes), warnings);
    }
    let mut warnings = Vec::new();
    let mut bytes = raw;
    if let Some(rest) = bytes.strip_prefix(BOM) {
        bytes = rest;
        warnings.push(Normalization::ByteOrderMark);
    }
    let line_end = bytes
        .iter()
        .rev()
        .take_while(|&&b| matches!(b, b'\r' | b'\n' | b'\t'))
        .count();
    if line_end > 0 {
        bytes = bytes.get(..bytes.len() - line_end).unwrap_or_default();
        warnings.push(Normalization::TrailingLineEnd);
    }
    (Cow::Borrowed(bytes), warnings)
}

/// True when `byte` is in `bytes`. Written without an early exit so that the compiler can
/// compare many bytes at once: scans are short, and most do not contain what is looked for.
#[inline]
pub fn contains_byte(bytes: &[u8], byte: u8) -> bool {
    bytes.iter().fold(false, |found, &b| found | (b == byte))
}

/// True when [`clean_bytes`] would change `raw`.
pub fn has_byte_noise(raw: &[u8]) -> bool {
    raw.starts_with(BOM)
        || raw
            .last()
            .is_some_and(|b| matches!(b, b'\r' | b'\n' | b'\t'))
        || contains_byte(raw, 0)
}

/// True when [`tidy_separators`] would change `text`: a GS at the start, at the end, or
/// directly after another GS.
pub fn has_separator_noise(text: &str) -> bool {
    const GS_BYTE: u8 = 0x1D;
    if text.starts_with(GS) || text.ends_with(GS) {
        return true;
    }
    // Each byte against the next, without an early exit, so that many are compared at once.
    let bytes = text.as_bytes();
    let next = bytes.get(1..).unwrap_or_default();
    bytes.iter().zip(next).fold(false, |doubled, (&a, &b)| {
        doubled | ((a == GS_BYTE) & (b == GS_BYTE))
    })
}

/// Replaces each non-empty substitute in `text` with GS, reporting how many were replaced.
pub fn substitute_separators(text: &str, substitutes: &[String]) -> (String, Vec<Normalization>) {
    let mut out = text.to_owned();
    let mut warnings = Vec::new();
    for s in substitutes.iter().filter(|s| !s.is_empty()) {
        let count = out.matches(s.as_str()).count();
        if count > 0 {
            out = out.replace(s.as_str(), "\u{1d}");
            warnings.push(Normalization::GsSubstitute {
                substitute: s.clone(),
                count,
            });
        }
    }
    (out, warnings)
}

/// True when `text` contains any non-empty substitute. A substitute's first byte is looked for
/// first, many bytes at a time; only when it is there is the whole substitute looked for.
pub fn has_substitute(text: &str, substitutes: &[String]) -> bool {
    let bytes = text.as_bytes();
    substitutes.iter().any(|s| match s.as_bytes() {
        [] => false,
        [only] => contains_byte(bytes, *only),
        [first, ..] => {
            contains_byte(bytes, *first) && bytes.windows(s.len()).any(|w| w == s.as_bytes())
        }
    })
}

/// Removes GS separators at the start, at the end, and directly after another GS.
pub fn tidy_separators(text: &str) -> (String, Vec<Normalization>) {
    let mut warnings = Vec::new();
    let trimmed_start = text.trim_start_matches(GS);
    if trimmed_start.len() != text.len() {
        warnings.push(Normalization::LeadingSeparator);
    }
    let trimmed = trimmed_start.trim_end_matches(GS);
    let trailing = trimmed.len() != trimmed_start.len();
    let mut out = String::with_capacity(trimmed.len());
    let mut doubled = 0;
    let mut previous_gs = false;
    for c in trimmed.chars() {
        if c == GS && previous_gs {
            doubled += 1;
            continue;
        }
        previous_gs = c == GS;
        out.push(c);
    }
    if doubled > 0 {
        warnings.push(Normalization::DoubledSeparator { count: doubled });
    }
    if trailing {
        warnings.push(Normalization::TrailingSeparator);
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_bytes(input: &[u8], expected: &[u8], warnings: &[Normalization]) {
        let (bytes, got) = clean_bytes(input);
        assert_eq!(bytes, expected, "{input:?}");
        assert_eq!(got, warnings, "{input:?}");
        assert_eq!(has_byte_noise(input), !got.is_empty(), "{input:?}");
        let (borrowed, borrowed_warnings) = clean_bytes_borrowed(input);
        assert_eq!(
            (&*borrowed, borrowed_warnings.as_slice()),
            (expected, warnings),
            "{input:?}"
        );
        assert_eq!(
            matches!(borrowed, Cow::Borrowed(_)),
            !input.contains(&0),
            "{input:?}"
        );
    }

    #[test]
    fn byte_noise() {
        use Normalization::*;
        check_bytes(b"ABC", b"ABC", &[]);
        check_bytes(b"ABC\r\n", b"ABC", &[TrailingLineEnd]);
        check_bytes(b"ABC\t", b"ABC", &[TrailingLineEnd]);
        check_bytes(b"A\rBC", b"A\rBC", &[]);
        check_bytes(b"\xEF\xBB\xBFABC", b"ABC", &[ByteOrderMark]);
        check_bytes(b"AB\0C\0\0", b"ABC", &[NulBytes { count: 3 }]);
        check_bytes(
            b"\xEF\xBB\xBFA\r\n\0",
            b"A",
            &[NulBytes { count: 1 }, ByteOrderMark, TrailingLineEnd],
        );
        check_bytes(b"\r\n", b"", &[TrailingLineEnd]);
        check_bytes(b"", b"", &[]);
    }

    /// The searches without an early exit answer as plain ones wherever in a long scan the
    /// byte or the doubled GS stands.
    #[test]
    fn block_searches_agree_with_plain_ones() {
        for len in 0..70 {
            for at in 0..len {
                let mut bytes = vec![b'A'; len];
                if let Some(b) = bytes.get_mut(at) {
                    *b = b'@';
                }
                assert_eq!(contains_byte(&bytes, b'@'), bytes.contains(&b'@'));
                assert!(!contains_byte(&bytes, b'~'));
                let mut text = "A".repeat(len);
                text.insert(at, GS);
                let single = has_separator_noise(&text);
                text.insert(at, GS);
                let doubled = has_separator_noise(&text);
                let at_an_end = at == 0 || at == len;
                assert_eq!(single, at_an_end, "{len} {at}");
                assert!(doubled, "{len} {at}");
            }
        }
    }

    fn check_tidy(input: &str, expected: &str, warnings: &[Normalization]) {
        let (text, got) = tidy_separators(input);
        assert_eq!(text, expected, "{input:?}");
        assert_eq!(got, warnings, "{input:?}");
        assert_eq!(has_separator_noise(input), text != input, "{input:?}");
    }

    #[test]
    fn separators() {
        use Normalization::*;
        check_tidy("10A\u{1d}21B", "10A\u{1d}21B", &[]);
        check_tidy("\u{1d}10A", "10A", &[LeadingSeparator]);
        check_tidy("10A\u{1d}", "10A", &[TrailingSeparator]);
        check_tidy(
            "10A\u{1d}\u{1d}\u{1d}21B",
            "10A\u{1d}21B",
            &[DoubledSeparator { count: 2 }],
        );
        check_tidy(
            "\u{1d}\u{1d}10A\u{1d}\u{1d}21B\u{1d}\u{1d}",
            "10A\u{1d}21B",
            &[
                LeadingSeparator,
                DoubledSeparator { count: 1 },
                TrailingSeparator,
            ],
        );
        check_tidy("\u{1d}", "", &[LeadingSeparator]);
    }

    #[test]
    fn substitutes() {
        let subs: Vec<String> = DEFAULT_GS_SUBSTITUTES
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (text, got) = substitute_separators("10A@21B{GS}22C", &subs);
        assert_eq!(text, "10A\u{1d}21B\u{1d}22C");
        assert_eq!(
            got,
            [
                Normalization::GsSubstitute {
                    substitute: "@".into(),
                    count: 1
                },
                Normalization::GsSubstitute {
                    substitute: "{GS}".into(),
                    count: 1
                },
            ]
        );
        let (text, got) = substitute_separators("10A<GS>21B", &["<GS>".to_owned(), String::new()]);
        assert_eq!(text, "10A\u{1d}21B");
        assert_eq!(got.len(), 1);
        assert!(has_substitute("A|B", &subs) && !has_substitute("AB", &subs));
        assert!(!has_substitute("AB", &[String::new()]));
        for s in DEFAULT_GS_SUBSTITUTES {
            assert!(
                !s.chars().any(super::super::serial_rule::is_cset82) || s.contains('{'),
                "{s}"
            );
        }
    }

    /// The one-pass search says what `str::contains` says, one substitute or several.
    #[test]
    fn has_substitute_agrees_with_contains() {
        let subs = ["@", "{GS}", "é", "<GS>", "", "ab"];
        let texts = [
            "",
            "{GS",
            "A{G}S{GS}",
            "{{GS}",
            "café",
            "cafe",
            "<G<GS>",
            "a",
            "xab",
            "@",
            "10A\u{1d}",
        ];
        for text in texts {
            for sub in subs {
                assert_eq!(
                    has_substitute(text, &[sub.to_owned()]),
                    !sub.is_empty() && text.contains(sub),
                    "{text:?} {sub:?}"
                );
            }
            let all: Vec<String> = subs.iter().map(|s| (*s).to_owned()).collect();
            let any = subs.iter().any(|s| !s.is_empty() && text.contains(s));
            assert_eq!(has_substitute(text, &all), any, "{text:?}");
        }
    }

    #[test]
    fn messages() {
        let cases = [
            (
                Normalization::TrailingLineEnd,
                "trailing line ending removed",
            ),
            (
                Normalization::NulBytes { count: 2 },
                "2 NUL byte(s) removed",
            ),
            (
                Normalization::GsSubstitute {
                    substitute: "~".into(),
                    count: 2,
                },
                "2 \"~\" read as GS separator",
            ),
            (
                Normalization::UriInGs1Symbol {
                    symbology: Symbology::Gs1Qr,
                },
                "Digital Link URI read from GS1 QR Code (]Q3)",
            ),
        ];
        for (n, want) in cases {
            assert_eq!(n.to_string(), want);
        }
    }
}
