//! Pure barcode interpretation: the bytes a scanner sent become the identifiers the scan path
//! needs (serial, GTIN, lot, expiry and any other GS1 AI), plus the check-character schemes and
//! serial format rules. GS1 element strings, the bracketed form, GS1 Digital Link URIs,
//! EAN/UPC/ITF-14 and plain serials are read here.
//! No I/O, no tonic or sled types, no clock: everything here is a function of its arguments.

pub mod ai_table;
pub mod aim;
pub mod check;
pub mod date;
pub mod digital_link;
pub mod element;
pub mod interpret;
pub mod normalize;
pub mod pattern;
pub mod serial_rule;
pub mod small_list;

#[cfg(test)]
mod property_tests;

pub use aim::Symbology;
pub use date::{Date, DateProblem};
pub use digital_link::{parse_digital_link, to_digital_link};
pub use element::{
    Element, parse_bracketed, parse_element_string, to_bracketed, to_element_string,
};
pub use interpret::{Interpretation, Kind, Mode, Options, Reading, interpret, read};
pub use normalize::{DEFAULT_GS_SUBSTITUTES, Normalization};
pub use pattern::{Pattern, PatternError};
pub use serial_rule::{
    Charset, CheckScheme, Confusables, FormatViolation, RuleError, SERIAL_LEN_MAX, SerialRule,
};

/// The longest raw scan accepted, in bytes. A longer one is refused with INVALID_ARGUMENT
/// before anything is written (the largest 2D symbols carry about 3 KB).
pub const RAW_SCAN_LEN_MAX: usize = 4096;

/// What a scan was read as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanIdentifiers {
    pub gtin: Option<String>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    /// The expiry date (AI 17); DD=00 is read as the month's last day.
    pub expiry: Option<Date>,
    /// The SSCC (AI 00) of a case or pallet label.
    pub sscc: Option<String>,
    /// Noise that was cleaned up on the way (a trailing CR, a BOM); shown to the operator.
    pub warnings: Vec<String>,
}

/// Why a scan could not be read. Positions are 1-based; see [`interpret`] for what they count.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("scan is empty")]
    Empty,
    #[error("scan has {len} bytes; at most {max} are accepted")]
    TooLong { len: usize, max: usize },
    #[error("scan is not valid UTF-8 at byte {0}")]
    NotUtf8(usize),
    #[error(
        "control character 0x{byte:02X} at position {position} is not allowed in a plain serial"
    )]
    ControlCharacter { byte: u8, position: usize },
    #[error("character {ch:?} at position {position} is not allowed in a plain serial")]
    InvisibleCharacter { ch: char, position: usize },
    #[error("expected an AI at position {position}, found {found:?}")]
    ExpectedAi { position: usize, found: char },
    #[error("incomplete AI {digits:?} at position {position}")]
    IncompleteAi { digits: String, position: usize },
    #[error("unknown AI starting {digits:?} at position {position}")]
    UnknownAi { digits: String, position: usize },
    #[error(
        "value of AI ({ai}) at position {position} has {len} characters; at least {min} are needed"
    )]
    ValueTooShort {
        ai: String,
        position: usize,
        len: usize,
        min: usize,
    },
    #[error(
        "value of AI ({ai}) at position {position} has {len} characters; at most {max} are allowed"
    )]
    ValueTooLong {
        ai: String,
        position: usize,
        len: usize,
        max: usize,
    },
    #[error(
        "character {ch:?} at position {position} is not allowed in AI ({ai}); expected {expected}"
    )]
    CharacterNotAllowed {
        ai: String,
        position: usize,
        ch: char,
        expected: &'static str,
    },
    #[error(
        "bad check digit in AI ({ai}) at position {position}: found {found}, expected {expected}"
    )]
    CheckDigit {
        ai: String,
        position: usize,
        found: char,
        expected: char,
    },
    #[error("invalid date {date} in AI ({ai}) at position {position}: {problem}")]
    InvalidDate {
        ai: String,
        position: usize,
        date: String,
        problem: DateProblem,
    },
    #[error("invalid value in AI ({ai}) at position {position}: {reason}")]
    InvalidValue {
        ai: String,
        position: usize,
        reason: &'static str,
    },
    #[error("unexpected separator at position {position}: {reason}")]
    UnexpectedSeparator {
        position: usize,
        reason: &'static str,
    },
    #[error("malformed bracketed data at position {position}: {reason}")]
    BracketSyntax {
        position: usize,
        reason: &'static str,
    },
    #[error("missing requisite AI: AI ({ai}) needs {needs}")]
    MissingRequisite { ai: String, needs: String },
    #[error("conflicting AIs: AI ({ai}) must not appear together with AI ({other})")]
    ConflictingAis { ai: String, other: String },
    #[error("repeated AI ({ai}) with different values")]
    RepeatedAi { ai: String },
    #[error("wrong length for {symbology} data: {len} characters, expected {expected}")]
    GtinLength {
        symbology: &'static str,
        len: usize,
        expected: &'static str,
    },
    #[error("expected a GS1 element string in {symbology} data, found a URI")]
    UriInGs1Symbol { symbology: &'static str },
    #[error("not a GS1 Digital Link URI: {reason}")]
    NotDigitalLink { reason: &'static str },
    #[error("malformed Digital Link at position {position}: {reason}")]
    DigitalLinkSyntax {
        position: usize,
        reason: &'static str,
    },
    #[error("bad percent-encoding at position {position}")]
    PercentEncoding { position: usize },
    #[error("AI ({ai}) is not a key qualifier of primary key AI ({key})")]
    NotAQualifier { ai: String, key: String },
    #[error("key qualifier AI ({ai}) is out of order after primary key AI ({key})")]
    QualifierOrder { ai: String, key: String },
    #[error("key qualifier AI ({ai}) belongs in the Digital Link path, not the query string")]
    KeyQualifierInQuery { ai: String },
    #[error("AI ({ai}) is not allowed as a Digital Link query attribute")]
    NotAllowedInQuery { ai: String },
    #[error("cannot convert to {target}: {reason}")]
    Conversion {
        target: &'static str,
        reason: String,
    },
}

impl BarcodeError {
    /// A stable snake_case name of the error class, for machines (`decode --json`, the
    /// Decode RPC).
    pub fn kind(&self) -> &'static str {
        match self {
            BarcodeError::Empty => "empty",
            BarcodeError::TooLong { .. } => "too_long",
            BarcodeError::NotUtf8(_) => "not_utf8",
            BarcodeError::ControlCharacter { .. } => "control_character",
            BarcodeError::InvisibleCharacter { .. } => "invisible_character",
            BarcodeError::ExpectedAi { .. } => "expected_ai",
            BarcodeError::IncompleteAi { .. } => "incomplete_ai",
            BarcodeError::UnknownAi { .. } => "unknown_ai",
            BarcodeError::ValueTooShort { .. } => "value_too_short",
            BarcodeError::ValueTooLong { .. } => "value_too_long",
            BarcodeError::CharacterNotAllowed { .. } => "character_not_allowed",
            BarcodeError::CheckDigit { .. } => "check_digit",
            BarcodeError::InvalidDate { .. } => "invalid_date",
            BarcodeError::InvalidValue { .. } => "invalid_value",
            BarcodeError::UnexpectedSeparator { .. } => "unexpected_separator",
            BarcodeError::BracketSyntax { .. } => "bracket_syntax",
            BarcodeError::MissingRequisite { .. } => "missing_requisite",
            BarcodeError::ConflictingAis { .. } => "conflicting_ais",
            BarcodeError::RepeatedAi { .. } => "repeated_ai",
            BarcodeError::GtinLength { .. } => "gtin_length",
            BarcodeError::UriInGs1Symbol { .. } => "uri_in_gs1_symbol",
            BarcodeError::NotDigitalLink { .. } => "not_digital_link",
            BarcodeError::DigitalLinkSyntax { .. } => "digital_link_syntax",
            BarcodeError::PercentEncoding { .. } => "percent_encoding",
            BarcodeError::NotAQualifier { .. } => "not_a_qualifier",
            BarcodeError::QualifierOrder { .. } => "qualifier_order",
            BarcodeError::KeyQualifierInQuery { .. } => "key_qualifier_in_query",
            BarcodeError::NotAllowedInQuery { .. } => "not_allowed_in_query",
            BarcodeError::Conversion { .. } => "conversion",
        }
    }

    /// The AI the error is about, when it is about one.
    pub fn ai(&self) -> Option<&str> {
        match self {
            BarcodeError::ValueTooShort { ai, .. } => Some(ai),
            BarcodeError::ValueTooLong { ai, .. } => Some(ai),
            BarcodeError::CharacterNotAllowed { ai, .. } => Some(ai),
            BarcodeError::CheckDigit { ai, .. } => Some(ai),
            BarcodeError::InvalidDate { ai, .. } => Some(ai),
            BarcodeError::InvalidValue { ai, .. } => Some(ai),
            BarcodeError::MissingRequisite { ai, .. } => Some(ai),
            BarcodeError::ConflictingAis { ai, .. } => Some(ai),
            BarcodeError::RepeatedAi { ai, .. } => Some(ai),
            BarcodeError::NotAQualifier { ai, .. } => Some(ai),
            BarcodeError::QualifierOrder { ai, .. } => Some(ai),
            BarcodeError::KeyQualifierInQuery { ai, .. } => Some(ai),
            BarcodeError::NotAllowedInQuery { ai, .. } => Some(ai),
            _ => None,
        }
    }

    /// The 1-based position the error points at, when it points at one (see [`interpret`]).
    pub fn position(&self) -> Option<usize> {
        match self {
            BarcodeError::NotUtf8(p) => Some(*p),
            BarcodeError::ControlCharacter { position, .. } => Some(*position),
            BarcodeError::InvisibleCharacter { position, .. } => Some(*position),
            BarcodeError::ExpectedAi { position, .. } => Some(*position),
            BarcodeError::IncompleteAi { position, .. } => Some(*position),
            BarcodeError::UnknownAi { position, .. } => Some(*position),
            BarcodeError::ValueTooShort { position, .. } => Some(*position),
            BarcodeError::ValueTooLong { position, .. } => Some(*position),
            BarcodeError::CharacterNotAllowed { position, .. } => Some(*position),
            BarcodeError::CheckDigit { position, .. } => Some(*position),
            BarcodeError::InvalidDate { position, .. } => Some(*position),
            BarcodeError::InvalidValue { position, .. } => Some(*position),
            BarcodeError::UnexpectedSeparator { position, .. } => Some(*position),
            BarcodeError::BracketSyntax { position, .. } => Some(*position),
            BarcodeError::DigitalLinkSyntax { position, .. } => Some(*position),
            BarcodeError::PercentEncoding { position, .. } => Some(*position),
            _ => None,
        }
    }
}

/// Reads a scan in scanner mode (see [`interpret`]) and keeps the identifiers the scan path
/// stores: GTIN (AI 01), serial (AI 21, or the whole plain scan) and lot (AI 10). `today` is
/// the reference date for the GS1 century rule.
pub fn interpret_scan(raw: &[u8], today: Date) -> Result<ScanIdentifiers, BarcodeError> {
    // Only the identifiers kept are copied out of the scan.
    let reading = read(raw, &Options::scanner(today))?;
    Ok(ScanIdentifiers {
        gtin: reading.gtin().map(str::to_owned),
        serial: reading.serial().map(str::to_owned),
        lot: reading.lot().map(str::to_owned),
        expiry: reading.expiry(),
        sscc: reading.get("00").map(str::to_owned),
        // Every keyboard-wedge scan ends with Enter: that is the end of the scan, not noise
        // worth showing an operator. `decode` still lists it.
        warnings: reading
            .warnings
            .iter()
            .filter(|w| **w != Normalization::TrailingLineEnd)
            .map(ToString::to_string)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Date = Date::new(2026, 3, 15);

    fn check(input: &[u8], expected: Result<ScanIdentifiers, BarcodeError>) {
        assert_eq!(interpret_scan(input, TODAY), expected, "{input:?}");
    }

    fn ids(
        gtin: Option<&str>,
        serial: Option<&str>,
        lot: Option<&str>,
        w: &[&str],
    ) -> ScanIdentifiers {
        ScanIdentifiers {
            gtin: gtin.map(str::to_owned),
            serial: serial.map(str::to_owned),
            lot: lot.map(str::to_owned),
            expiry: None,
            sscc: None,
            warnings: w.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn scan_path() {
        check(
            b"SN-000123\r\n",
            Ok(ids(None, Some("SN-000123"), None, &[])),
        );
        check(
            b"]C101095060001343521012345\x1d21ABC\r",
            Ok(ids(Some("09506000134352"), Some("ABC"), Some("12345"), &[])),
        );
        check(
            b"https://id.gs1.org/01/09506000134352/10/ABC%2F1/21/12345?17=270100",
            Ok(ScanIdentifiers {
                expiry: Some(Date::new(2027, 1, 31)),
                ..ids(Some("09506000134352"), Some("12345"), Some("ABC/1"), &[])
            }),
        );
        // Other scanner noise is still worth a note on the scan path.
        check(
            b"\xEF\xBB\xBFSN-1",
            Ok(ids(None, Some("SN-1"), None, &["byte order mark removed"])),
        );
        check(
            b"]C100095060001343520000",
            Ok(ScanIdentifiers {
                sscc: Some("095060001343520000".to_owned()),
                ..ids(None, None, None, &[])
            }),
        );
        check(
            b"]E04006381333931",
            Ok(ids(Some("04006381333931"), None, None, &[])),
        );
        check(b"\r\n", Err(BarcodeError::Empty));
        check(b"", Err(BarcodeError::Empty));
        check(
            b"A\x01B",
            Err(BarcodeError::ControlCharacter {
                byte: 1,
                position: 2,
            }),
        );
        check(b"A\xC3", Err(BarcodeError::NotUtf8(2)));
    }

    #[test]
    fn messages_start_lowercase_and_have_no_period() {
        let errors = [
            interpret_scan(b"]C10109506000134353", TODAY),
            interpret_scan(b"]C121A", TODAY),
            interpret_scan(b"]C1(01)", TODAY),
            interpret_scan(b"https://a.b/c", TODAY),
        ];
        for e in errors {
            let text = e.unwrap_err().to_string();
            assert!(text.starts_with(|c: char| c.is_lowercase()), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }
}
