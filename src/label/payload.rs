//! What a unit's QR code carries, chosen per item: a GS1 Digital Link URI, a verification URL
//! whose last segment is the serial, or a GS1 element string. Pure: a strategy and a unit's
//! identifiers in, the payload text (or the precise reason there is none) out. It must not
//! know about printers or pictures; `zpl` and `render` take the [`Payload`] it makes.
//!
//! Every payload made here reads back through `crate::barcode` as the same serial, GTIN and lot
//! (the tests feed each one to `interpret_scan`).

use std::fmt;
use std::str::FromStr;

use crate::barcode::SERIAL_LEN_MAX;
use crate::barcode::ai_table::Cset;
use crate::barcode::digital_link::percent_encode;
use crate::domain::item::{ItemError, normalize_gtin};

/// The longest serial a GS1 form can carry (AI 21 is `X..20`). A longer one is refused for
/// `digital-link` and `structured` with [`PayloadError::SerialTooLong`].
pub const GS1_SERIAL_LEN_MAX: usize = 20;
/// The longest lot (AI 10 is `X..20`). A longer one is refused with [`PayloadError::LotTooLong`].
pub const GS1_LOT_LEN_MAX: usize = 20;
/// The longest Digital Link domain, in bytes (the DNS limit). A longer one is refused.
pub const DOMAIN_LEN_MAX: usize = 253;
/// The longest label of a domain, in bytes (the DNS limit). A longer one is refused.
pub const DOMAIN_LABEL_LEN_MAX: usize = 63;
/// The longest verification base URL, in bytes. A longer one is refused.
pub const BASE_URL_LEN_MAX: usize = 200;

/// The GS1 separator between a variable-length value and the next AI.
pub const GS: char = '\u{1D}';

/// How an item's unit labels encode the unit in their QR code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum QrStrategy {
    /// `https://{domain}/01/{gtin14}[/10/{lot}]/21/{serial}`: a GS1 Digital Link URI that a
    /// phone opens and a GS1 scanner reads. Needs the item's GTIN.
    DigitalLink { domain: String },
    /// `{base}/{serial}`: the serial is the verification id (random serials make it
    /// unguessable). Not a GS1 form: read back with [`parse_verify_url`].
    VerifyUrl { base: String },
    /// The GS1 element string `01{gtin14}21{serial}[<GS>10{lot}]`, the data of a GS1 QR Code
    /// (FNC1 in first position; scanners send it as `]Q3`). Needs the item's GTIN: a serial
    /// (AI 21) is only valid with one.
    Structured,
}

/// Which kind of QR symbol a payload must be printed as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QrSymbol {
    /// A plain QR Code (scanners send `]Q1`).
    Plain,
    /// A GS1 QR Code: FNC1 in first position, element string data (`]Q3`).
    Gs1,
}

/// The text a QR code carries and the symbol it must be printed as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payload {
    pub text: String,
    pub symbol: QrSymbol,
}

/// The identifiers of the unit a payload is made for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnitIds<'a> {
    pub serial: &'a str,
    /// The item's GTIN (8, 12, 13 or 14 digits; written as GTIN-14), when it has one.
    pub gtin: Option<&'a str>,
    /// The unit's lot, when it has one.
    pub lot: Option<&'a str>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error(
        "unknown QR strategy {0:?}; use digital-link:DOMAIN, verify-url:https://HOST/PATH or structured"
    )]
    UnknownStrategy(String),
    #[error("digital-link needs a domain, such as digital-link:id.example.com")]
    DomainMissing,
    #[error("domain has {0} bytes; at most {DOMAIN_LEN_MAX} are allowed")]
    DomainTooLong(usize),
    #[error(
        "domain character {ch:?} at position {position} is not allowed; use letters, digits, '-' and '.' (no scheme, no path)"
    )]
    DomainCharacter { ch: char, position: usize },
    #[error("domain {domain:?} {reason}")]
    DomainShape {
        domain: String,
        reason: &'static str,
    },
    #[error("verify-url base has {0} bytes; at most {BASE_URL_LEN_MAX} are allowed")]
    BaseUrlTooLong(usize),
    #[error("verify-url base {base:?} {reason}")]
    BaseUrl { base: String, reason: &'static str },
    #[error("the {strategy} strategy needs the item's GTIN; give the item one or use verify-url")]
    GtinMissing { strategy: &'static str },
    #[error(transparent)]
    Gtin(ItemError),
    #[error("serial is empty")]
    SerialEmpty,
    #[error("serial has {len} characters; the {strategy} strategy allows at most {max}")]
    SerialTooLong {
        len: usize,
        max: usize,
        strategy: &'static str,
    },
    #[error("serial character {ch:?} at position {position} is not in GS1 character set 82")]
    SerialCharacter { ch: char, position: usize },
    #[error("lot is empty; leave it out instead")]
    LotEmpty,
    #[error("lot has {0} characters; at most {GS1_LOT_LEN_MAX} are allowed")]
    LotTooLong(usize),
    #[error("lot character {ch:?} at position {position} is not in GS1 character set 82")]
    LotCharacter { ch: char, position: usize },
}

const DIGITAL_LINK: &str = "digital-link";
const VERIFY_URL: &str = "verify-url";
const STRUCTURED: &str = "structured";

impl QrStrategy {
    /// The strategy's name, as in its text form.
    pub fn name(&self) -> &'static str {
        match self {
            QrStrategy::DigitalLink { .. } => DIGITAL_LINK,
            QrStrategy::VerifyUrl { .. } => VERIFY_URL,
            QrStrategy::Structured => STRUCTURED,
        }
    }

    /// Checks the strategy's own settings (domain, base URL); [`QrStrategy::from_str`] does
    /// this, a strategy built by hand should be checked before it is stored.
    pub fn validate(&self) -> Result<(), PayloadError> {
        match self {
            QrStrategy::DigitalLink { domain } => validate_domain(domain),
            QrStrategy::VerifyUrl { base } => validate_base(base),
            QrStrategy::Structured => Ok(()),
        }
    }

    /// The QR payload for one unit.
    pub fn payload(&self, unit: &UnitIds<'_>) -> Result<Payload, PayloadError> {
        self.validate()?;
        let name = self.name();
        match self {
            QrStrategy::DigitalLink { domain } => {
                let gtin = required_gtin(unit.gtin, name)?;
                check_serial(unit.serial, GS1_SERIAL_LEN_MAX, name)?;
                let mut text = format!("https://{domain}/01/{gtin}");
                // Key qualifiers of (01) go in the path in the order 22, 10, 21.
                if let Some(lot) = unit.lot {
                    check_lot(lot)?;
                    text.push_str("/10/");
                    percent_encode(lot, &mut text);
                }
                text.push_str("/21/");
                percent_encode(unit.serial, &mut text);
                Ok(Payload {
                    text,
                    symbol: QrSymbol::Plain,
                })
            }
            QrStrategy::VerifyUrl { base } => {
                check_serial(unit.serial, SERIAL_LEN_MAX, name)?;
                let mut text = base.trim_end_matches('/').to_owned();
                text.push('/');
                percent_encode(unit.serial, &mut text);
                Ok(Payload {
                    text,
                    symbol: QrSymbol::Plain,
                })
            }
            QrStrategy::Structured => {
                check_serial(unit.serial, GS1_SERIAL_LEN_MAX, name)?;
                let gtin = required_gtin(unit.gtin, name)?;
                // (01) has a predefined length: no separator after it. (21) and (10) are
                // variable: a GS ends (21) when (10) follows; the last value ends the data.
                let mut text = format!("01{gtin}21");
                text.push_str(unit.serial);
                if let Some(lot) = unit.lot {
                    check_lot(lot)?;
                    text.push(GS);
                    text.push_str("10");
                    text.push_str(lot);
                }
                Ok(Payload {
                    text,
                    symbol: QrSymbol::Gs1,
                })
            }
        }
    }
}

impl fmt::Display for QrStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QrStrategy::DigitalLink { domain } => write!(f, "{DIGITAL_LINK}:{domain}"),
            QrStrategy::VerifyUrl { base } => write!(f, "{VERIFY_URL}:{base}"),
            QrStrategy::Structured => f.write_str(STRUCTURED),
        }
    }
}

impl FromStr for QrStrategy {
    type Err = PayloadError;

    /// `digital-link:DOMAIN`, `verify-url:URL` or `structured`, settings checked.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (name, setting) = match text.split_once(':') {
            Some((name, setting)) => (name, Some(setting)),
            None => (text, None),
        };
        let strategy = match (name, setting) {
            (DIGITAL_LINK, Some(domain)) => QrStrategy::DigitalLink {
                domain: domain.to_owned(),
            },
            (DIGITAL_LINK, None) => return Err(PayloadError::DomainMissing),
            (VERIFY_URL, Some(base)) => QrStrategy::VerifyUrl {
                base: base.to_owned(),
            },
            (STRUCTURED, None) => QrStrategy::Structured,
            _ => return Err(PayloadError::UnknownStrategy(text.to_owned())),
        };
        strategy.validate()?;
        Ok(strategy)
    }
}

fn validate_domain(domain: &str) -> Result<(), PayloadError> {
    if domain.is_empty() {
        return Err(PayloadError::DomainMissing);
    }
    if domain.len() > DOMAIN_LEN_MAX {
        return Err(PayloadError::DomainTooLong(domain.len()));
    }
    if let Some((i, ch)) = domain
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(PayloadError::DomainCharacter {
            ch,
            position: i + 1,
        });
    }
    let shape = |reason| {
        Err(PayloadError::DomainShape {
            domain: domain.to_owned(),
            reason,
        })
    };
    if !domain.contains('.') {
        return shape("needs at least one dot, such as id.example.com");
    }
    for label in domain.split('.') {
        if label.is_empty() {
            return shape("has an empty label (two dots in a row, or a dot at an end)");
        }
        if label.len() > DOMAIN_LABEL_LEN_MAX {
            return shape("has a label longer than 63 bytes");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return shape("has a label that starts or ends with '-'");
        }
    }
    Ok(())
}

fn validate_base(base: &str) -> Result<(), PayloadError> {
    if base.len() > BASE_URL_LEN_MAX {
        return Err(PayloadError::BaseUrlTooLong(base.len()));
    }
    let refuse = |reason| {
        Err(PayloadError::BaseUrl {
            base: base.to_owned(),
            reason,
        })
    };
    let Some(rest) = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"))
    else {
        return refuse("must start with https:// or http://");
    };
    if !base.bytes().all(|b| b.is_ascii_graphic()) {
        return refuse("must be printable ASCII without spaces");
    }
    if base.contains(['?', '#']) {
        return refuse("must not have a query or fragment: the serial is its last path segment");
    }
    if base.contains('%') {
        return refuse("must not contain percent-encoding");
    }
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return refuse("has no host");
    }
    Ok(())
}

/// The GTIN as a GTIN-14 (shorter forms are padded, as the catalog does), check digit valid.
fn required_gtin(gtin: Option<&str>, strategy: &'static str) -> Result<String, PayloadError> {
    normalize_gtin(gtin.ok_or(PayloadError::GtinMissing { strategy })?).map_err(PayloadError::Gtin)
}

fn first_outside_cset82(text: &str) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|(_, c)| !Cset::Cset82.allows(*c))
        .map(|(i, c)| (i + 1, c))
}

fn check_serial(serial: &str, max: usize, strategy: &'static str) -> Result<(), PayloadError> {
    if serial.is_empty() {
        return Err(PayloadError::SerialEmpty);
    }
    let len = serial.chars().count();
    if len > max {
        return Err(PayloadError::SerialTooLong { len, max, strategy });
    }
    if let Some((position, ch)) = first_outside_cset82(serial) {
        return Err(PayloadError::SerialCharacter { ch, position });
    }
    Ok(())
}

fn check_lot(lot: &str) -> Result<(), PayloadError> {
    if lot.is_empty() {
        return Err(PayloadError::LotEmpty);
    }
    let len = lot.chars().count();
    if len > GS1_LOT_LEN_MAX {
        return Err(PayloadError::LotTooLong(len));
    }
    if let Some((position, ch)) = first_outside_cset82(lot) {
        return Err(PayloadError::LotCharacter { ch, position });
    }
    Ok(())
}

/// The verification id (the serial) in a scanned verify URL made with `base`, or `None` when
/// `text` is not one: it must be `base`, `/`, then one percent-encoded segment; a query or
/// fragment after it is ignored. Scheme and host compare without regard to case.
pub fn parse_verify_url(base: &str, text: &str) -> Option<String> {
    let base = base.trim_end_matches('/');
    let head = text.get(..base.len())?;
    let scheme_host_len = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| {
            base.get(start..)
                .map(|rest| start + rest.find('/').unwrap_or(rest.len()))
        })
        .unwrap_or(base.len());
    let (base_sh, base_path) = base.split_at(scheme_host_len);
    let (head_sh, head_path) = head.split_at_checked(scheme_host_len)?;
    if !base_sh.eq_ignore_ascii_case(head_sh) || base_path != head_path {
        return None;
    }
    let rest = text.get(base.len()..)?.strip_prefix('/')?;
    let segment = rest.split(['?', '#']).next().unwrap_or_default();
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    let id = percent_decode(segment)?;
    check_serial(&id, SERIAL_LEN_MAX, VERIFY_URL).ok()?;
    Some(id)
}

/// Decodes `%XX` escapes; `None` on a malformed escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::barcode::{Date, interpret_scan};

    const TODAY: Date = Date::new(2026, 11, 23);
    const GTIN: &str = "09506000134352";
    const CSET82: &str =
        "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

    fn dl() -> QrStrategy {
        "digital-link:id.example.com".parse().unwrap()
    }

    fn verify() -> QrStrategy {
        "verify-url:https://brand.example/q".parse().unwrap()
    }

    fn unit<'a>(serial: &'a str, gtin: Option<&'a str>, lot: Option<&'a str>) -> UnitIds<'a> {
        UnitIds { serial, gtin, lot }
    }

    /// What a scanner sends for a payload: a plain QR as it is, a GS1 QR with `]Q3`.
    fn scanned(payload: &Payload) -> Vec<u8> {
        match payload.symbol {
            QrSymbol::Plain => payload.text.clone().into_bytes(),
            QrSymbol::Gs1 => format!("]Q3{}", payload.text).into_bytes(),
        }
    }

    #[test]
    fn digital_link_payloads() {
        let p = dl().payload(&unit("ABC/1", Some(GTIN), None)).unwrap();
        assert_eq!(
            p.text,
            "https://id.example.com/01/09506000134352/21/ABC%2F1"
        );
        assert_eq!(p.symbol, QrSymbol::Plain);
        let p = dl().payload(&unit("A+B 1", Some(GTIN), None));
        assert_eq!(
            p,
            Err(PayloadError::SerialCharacter {
                ch: ' ',
                position: 4
            })
        );
        let p = dl().payload(&unit("S1", Some(GTIN), Some("L 7")));
        assert_eq!(
            p,
            Err(PayloadError::LotCharacter {
                ch: ' ',
                position: 2
            })
        );
        let p = dl().payload(&unit("S1", Some(GTIN), Some("L%7"))).unwrap();
        assert_eq!(
            p.text,
            "https://id.example.com/01/09506000134352/10/L%257/21/S1"
        );
    }

    #[test]
    fn structured_and_verify_payloads() {
        let p = QrStrategy::Structured
            .payload(&unit("S1", Some(GTIN), Some("L7")))
            .unwrap();
        assert_eq!(p.text, "010950600013435221S1\u{1D}10L7");
        assert_eq!(p.symbol, QrSymbol::Gs1);
        let p = QrStrategy::Structured
            .payload(&unit("S1", Some(GTIN), None))
            .unwrap();
        assert_eq!(p.text, "010950600013435221S1");
        assert_eq!(
            QrStrategy::Structured.payload(&unit("S1", None, None)),
            Err(PayloadError::GtinMissing {
                strategy: "structured"
            })
        );
        let p = verify().payload(&unit("k7Q:x", None, None)).unwrap();
        assert_eq!(p.text, "https://brand.example/q/k7Q%3Ax");
        assert_eq!(
            parse_verify_url("https://brand.example/q", &p.text).as_deref(),
            Some("k7Q:x")
        );
    }

    #[test]
    fn refusals_name_the_problem() {
        let long = "x".repeat(65);
        let cases: Vec<(QrStrategy, UnitIds<'_>, PayloadError)> = vec![
            (
                dl(),
                unit("S1", None, None),
                PayloadError::GtinMissing {
                    strategy: "digital-link",
                },
            ),
            (
                dl(),
                unit("S1", Some("95060001343"), None),
                PayloadError::Gtin(ItemError::GtinShape("95060001343".into())),
            ),
            (
                dl(),
                unit("S1", Some("09506000134353"), None),
                PayloadError::Gtin(ItemError::GtinCheckDigit {
                    gtin: "09506000134353".into(),
                    found: '3',
                    expected: '2',
                }),
            ),
            (dl(), unit("", Some(GTIN), None), PayloadError::SerialEmpty),
            (
                dl(),
                unit("123456789012345678901", Some(GTIN), None),
                PayloadError::SerialTooLong {
                    len: 21,
                    max: 20,
                    strategy: "digital-link",
                },
            ),
            (
                QrStrategy::Structured,
                unit("S#1", Some(GTIN), None),
                PayloadError::SerialCharacter {
                    ch: '#',
                    position: 2,
                },
            ),
            (
                QrStrategy::Structured,
                unit("S1", Some(GTIN), Some("")),
                PayloadError::LotEmpty,
            ),
            (
                QrStrategy::Structured,
                unit("S1", Some(GTIN), Some("123456789012345678901")),
                PayloadError::LotTooLong(21),
            ),
            (
                verify(),
                unit(&long, None, None),
                PayloadError::SerialTooLong {
                    len: 65,
                    max: 64,
                    strategy: "verify-url",
                },
            ),
        ];
        for (strategy, ids, expected) in cases {
            assert_eq!(strategy.payload(&ids), Err(expected), "{strategy} {ids:?}");
        }
    }

    #[test]
    fn text_forms_round_trip_and_bad_ones_are_refused() {
        for text in [
            "digital-link:id.example.com",
            "verify-url:https://brand.example/q",
            "verify-url:http://10.0.0.1:8080/verify/",
            "structured",
        ] {
            let strategy: QrStrategy = text.parse().unwrap();
            assert_eq!(strategy.to_string(), text);
        }
        let bad: &[(&str, PayloadError)] = &[
            ("qr", PayloadError::UnknownStrategy("qr".into())),
            (
                "structured:x",
                PayloadError::UnknownStrategy("structured:x".into()),
            ),
            ("digital-link", PayloadError::DomainMissing),
            ("digital-link:", PayloadError::DomainMissing),
            (
                "digital-link:https://id.example.com",
                PayloadError::DomainCharacter {
                    ch: ':',
                    position: 6,
                },
            ),
            (
                "digital-link:localhost",
                PayloadError::DomainShape {
                    domain: "localhost".into(),
                    reason: "needs at least one dot, such as id.example.com",
                },
            ),
            (
                "digital-link:a..b",
                PayloadError::DomainShape {
                    domain: "a..b".into(),
                    reason: "has an empty label (two dots in a row, or a dot at an end)",
                },
            ),
            (
                "digital-link:-a.b",
                PayloadError::DomainShape {
                    domain: "-a.b".into(),
                    reason: "has a label that starts or ends with '-'",
                },
            ),
            (
                "verify-url:brand.example/q",
                PayloadError::BaseUrl {
                    base: "brand.example/q".into(),
                    reason: "must start with https:// or http://",
                },
            ),
            (
                "verify-url:https://brand.example/q?id=",
                PayloadError::BaseUrl {
                    base: "https://brand.example/q?id=".into(),
                    reason: "must not have a query or fragment: the serial is its last path segment",
                },
            ),
            (
                "verify-url:https:///q",
                PayloadError::BaseUrl {
                    base: "https:///q".into(),
                    reason: "has no host",
                },
            ),
            (
                "verify-url:https://a b/q",
                PayloadError::BaseUrl {
                    base: "https://a b/q".into(),
                    reason: "must be printable ASCII without spaces",
                },
            ),
        ];
        for (text, expected) in bad {
            assert_eq!(text.parse::<QrStrategy>().as_ref(), Err(expected), "{text}");
        }
        let long = format!("digital-link:{}.com", "a".repeat(64));
        assert!(matches!(
            long.parse::<QrStrategy>(),
            Err(PayloadError::DomainShape { .. })
        ));
        let long = format!("verify-url:https://b.example/{}", "q".repeat(200));
        assert_eq!(
            long.parse::<QrStrategy>(),
            Err(PayloadError::BaseUrlTooLong(218))
        );
    }

    #[test]
    fn verify_url_parsing() {
        let base = "https://brand.example/q";
        let cases: &[(&str, Option<&str>)] = &[
            ("https://brand.example/q/AB12", Some("AB12")),
            ("HTTPS://BRAND.EXAMPLE/q/AB12", Some("AB12")),
            ("https://brand.example/q/AB12?utm=x", Some("AB12")),
            ("https://brand.example/q/A%2FB", Some("A/B")),
            ("https://brand.example/Q/AB12", None),
            ("https://brand.example/q/", None),
            ("https://brand.example/q/a/b", None),
            ("https://brand.example/qq/AB12", None),
            ("https://brand.example/q/A%2", None),
            ("https://brand.example/q/A%20B", None),
            ("https://other.example/q/AB12", None),
            ("https://brand.example/q", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_verify_url(base, text).as_deref(), *expected, "{text}");
        }
        assert_eq!(
            parse_verify_url("https://brand.example/q/", "https://brand.example/q/Z9").as_deref(),
            Some("Z9")
        );
    }

    fn cset82_text(max: usize) -> impl Strategy<Value = String> {
        let chars: Vec<char> = CSET82.chars().collect();
        proptest::collection::vec(proptest::sample::select(chars), 1..=max)
            .prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        /// Every payload reads back through the scan path's interpreter as the same serial,
        /// GTIN and lot.
        #[test]
        fn payloads_read_back_as_the_same_unit(
            serial in cset82_text(20),
            lot in proptest::option::of(cset82_text(20)),
        ) {
            let ids = unit(&serial, Some(GTIN), lot.as_deref());
            let p = dl().payload(&ids).unwrap();
            let read = interpret_scan(&scanned(&p), TODAY).unwrap();
            prop_assert_eq!(read.serial.as_deref(), Some(serial.as_str()), "{}", p.text);
            prop_assert_eq!(read.gtin.as_deref(), Some(GTIN));
            prop_assert_eq!(read.lot.as_deref(), lot.as_deref());

            let p = QrStrategy::Structured.payload(&ids).unwrap();
            let read = interpret_scan(&scanned(&p), TODAY).unwrap();
            prop_assert_eq!(read.serial.as_deref(), Some(serial.as_str()), "{:?}", p.text);
            prop_assert_eq!(read.gtin.as_deref(), Some(GTIN));
            prop_assert_eq!(read.lot.as_deref(), lot.as_deref());

            let p = verify().payload(&ids).unwrap();
            prop_assert_eq!(
                parse_verify_url("https://brand.example/q", &p.text),
                Some(serial.clone())
            );
        }
    }
}
