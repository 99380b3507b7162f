//! AIM symbology identifiers: the `]` + code letter + modifier prefix a scanner may put in
//! front of the data. This module names the symbology and says what kind of data it implies
//! (a GS1 element string, a GTIN, or anything).

use std::fmt;

/// The length of an AIM symbology identifier in characters (`]C1`).
pub const AIM_ID_LEN: usize = 3;

/// The symbology a scan was read from, as its AIM identifier says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Symbology {
    /// `]C1`.
    Gs1_128,
    /// `]C0` and other Code 128 modifiers.
    Code128 { modifier: char },
    /// `]d2`.
    Gs1DataMatrix,
    /// `]d1` and other Data Matrix modifiers.
    DataMatrix { modifier: char },
    /// `]Q3`.
    Gs1Qr,
    /// `]Q1` and other QR Code modifiers.
    Qr { modifier: char },
    /// `]e0`.
    Gs1DataBar,
    /// `]E0`: EAN-13, UPC-A and UPC-E.
    Ean13,
    /// `]E4`.
    Ean8,
    /// `]E3`: EAN/UPC with a 2- or 5-digit add-on.
    EanWithAddOn,
    /// `]I0`, `]I1`: Interleaved 2 of 5 (ITF-14 carries a GTIN).
    Itf { modifier: char },
    /// `]J1`.
    Gs1DotCode,
    /// `]J0` and other DotCode modifiers.
    DotCode { modifier: char },
    /// `]A0` to `]A7`.
    Code39 { modifier: char },
    /// Any other AIM identifier.
    Other { code: char, modifier: char },
}

impl Symbology {
    /// Reads the code letter and modifier of an AIM identifier.
    pub fn from_aim(code: char, modifier: char) -> Symbology {
        match (code, modifier) {
            ('C', '1') => Symbology::Gs1_128,
            ('C', m) => Symbology::Code128 { modifier: m },
            ('d', '2') => Symbology::Gs1DataMatrix,
            ('d', m) => Symbology::DataMatrix { modifier: m },
            ('Q', '3') => Symbology::Gs1Qr,
            ('Q', m) => Symbology::Qr { modifier: m },
            ('e', '0') => Symbology::Gs1DataBar,
            ('E', '0') => Symbology::Ean13,
            ('E', '4') => Symbology::Ean8,
            ('E', '3') => Symbology::EanWithAddOn,
            ('I', m) => Symbology::Itf { modifier: m },
            ('J', '1') => Symbology::Gs1DotCode,
            ('J', m) => Symbology::DotCode { modifier: m },
            ('A', m) => Symbology::Code39 { modifier: m },
            (code, modifier) => Symbology::Other { code, modifier },
        }
    }

    /// The AIM identifier, such as `]C1`.
    pub fn aim_id(&self) -> String {
        let (code, modifier) = match *self {
            Symbology::Gs1_128 => ('C', '1'),
            Symbology::Code128 { modifier } => ('C', modifier),
            Symbology::Gs1DataMatrix => ('d', '2'),
            Symbology::DataMatrix { modifier } => ('d', modifier),
            Symbology::Gs1Qr => ('Q', '3'),
            Symbology::Qr { modifier } => ('Q', modifier),
            Symbology::Gs1DataBar => ('e', '0'),
            Symbology::Ean13 => ('E', '0'),
            Symbology::Ean8 => ('E', '4'),
            Symbology::EanWithAddOn => ('E', '3'),
            Symbology::Itf { modifier } => ('I', modifier),
            Symbology::Gs1DotCode => ('J', '1'),
            Symbology::DotCode { modifier } => ('J', modifier),
            Symbology::Code39 { modifier } => ('A', modifier),
            Symbology::Other { code, modifier } => (code, modifier),
        };
        format!("]{code}{modifier}")
    }

    /// The symbology's name for an operator.
    pub fn name(&self) -> &'static str {
        match self {
            Symbology::Gs1_128 => "GS1-128",
            Symbology::Code128 { .. } => "Code 128",
            Symbology::Gs1DataMatrix => "GS1 DataMatrix",
            Symbology::DataMatrix { .. } => "Data Matrix",
            Symbology::Gs1Qr => "GS1 QR Code",
            Symbology::Qr { .. } => "QR Code",
            Symbology::Gs1DataBar => "GS1 DataBar",
            Symbology::Ean13 => "EAN-13/UPC",
            Symbology::Ean8 => "EAN-8",
            Symbology::EanWithAddOn => "EAN/UPC with add-on",
            Symbology::Itf { .. } => "ITF",
            Symbology::Gs1DotCode => "GS1 DotCode",
            Symbology::DotCode { .. } => "DotCode",
            Symbology::Code39 { .. } => "Code 39",
            Symbology::Other { .. } => "other symbology",
        }
    }

    /// True when the symbology carries a GS1 element string (FNC1 in first position).
    pub fn is_gs1(&self) -> bool {
        matches!(
            self,
            Symbology::Gs1_128
                | Symbology::Gs1DataMatrix
                | Symbology::Gs1Qr
                | Symbology::Gs1DataBar
                | Symbology::Gs1DotCode
        )
    }

    /// True when the data is a bare GTIN (EAN/UPC, ITF-14).
    pub fn carries_gtin(&self) -> bool {
        matches!(
            self,
            Symbology::Ean13 | Symbology::Ean8 | Symbology::EanWithAddOn | Symbology::Itf { .. }
        )
    }

    /// True for the 2D symbologies that may carry a GS1 Digital Link URI.
    pub fn may_carry_uri(&self) -> bool {
        matches!(
            self,
            Symbology::Gs1Qr
                | Symbology::Qr { .. }
                | Symbology::Gs1DataMatrix
                | Symbology::DataMatrix { .. }
        )
    }
}

impl fmt::Display for Symbology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.aim_id())
    }
}

/// Splits a leading AIM identifier off `text`: `]`, an ASCII letter, and an ASCII letter or
/// digit. Text without one comes back whole.
pub fn split_aim(text: &str) -> (Option<Symbology>, &str) {
    // An identifier is three ASCII characters, so its bytes are its characters.
    if let [b']', code, modifier, ..] = *text.as_bytes()
        && code.is_ascii_alphabetic()
        && modifier.is_ascii_alphanumeric()
        && let Some(rest) = text.get(AIM_ID_LEN..)
    {
        let symbology = Symbology::from_aim(char::from(code), char::from(modifier));
        return (Some(symbology), rest);
    }
    (None, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: (Option<Symbology>, &str)) {
        assert_eq!(split_aim(input), expected, "{input:?}");
    }

    #[test]
    fn identifiers() {
        use Symbology::*;
        check("]C1010", (Some(Gs1_128), "010"));
        check("]C0ABC", (Some(Code128 { modifier: '0' }), "ABC"));
        check("]d2x", (Some(Gs1DataMatrix), "x"));
        check(
            "]d1https://a",
            (Some(DataMatrix { modifier: '1' }), "https://a"),
        );
        check("]Q3", (Some(Gs1Qr), ""));
        check("]Q1x", (Some(Qr { modifier: '1' }), "x"));
        check("]e001", (Some(Gs1DataBar), "01"));
        check("]E04006381333931", (Some(Ean13), "4006381333931"));
        check("]E496385074", (Some(Ean8), "96385074"));
        check("]I112345", (Some(Itf { modifier: '1' }), "12345"));
        check("]J1x", (Some(Gs1DotCode), "x"));
        check("]A0X", (Some(Code39 { modifier: '0' }), "X"));
        check(
            "]z9X",
            (
                Some(Other {
                    code: 'z',
                    modifier: '9',
                }),
                "X",
            ),
        );
        check("]C", (None, "]C"));
        check("]1C", (None, "]1C"));
        check("]C-", (None, "]C-"));
        check("ABC", (None, "ABC"));
        check("", (None, ""));
        check("]é1", (None, "]é1"));
    }

    #[test]
    fn round_trip_and_roles() {
        for id in [
            "]C1", "]C0", "]d2", "]d1", "]Q3", "]Q1", "]e0", "]E0", "]E4", "]E3", "]I1",
        ] {
            let (s, rest) = split_aim(id);
            assert_eq!(rest, "");
            assert_eq!(s.map(|s| s.aim_id()).as_deref(), Some(id));
        }
        assert!(Symbology::Gs1Qr.is_gs1() && !Symbology::Qr { modifier: '1' }.is_gs1());
        assert!(Symbology::Ean8.carries_gtin() && !Symbology::Gs1_128.carries_gtin());
        assert_eq!(Symbology::Gs1_128.to_string(), "GS1-128 (]C1)");
    }
}
