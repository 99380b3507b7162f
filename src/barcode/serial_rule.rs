//! The serial format rule of an item: length range, character set, fixed prefix and an
//! optional check character. A plain value type; checking a serial against it is pure.

use std::fmt;

use super::check;

/// The longest serial the service stores. A longer scan is rejected as BAD_FORMAT.
pub const SERIAL_LEN_MAX: usize = 64;

/// Characters a serial may be made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Charset {
    /// 0-9.
    Numeric,
    /// 0-9 and A-Z.
    AlphanumericUpper,
    /// 0-9, A-Z and a-z.
    Alphanumeric,
    /// GS1 character set 82, the set AI 21 (serial) allows.
    Gs1Cset82,
}

impl Charset {
    pub fn allows(self, c: char) -> bool {
        match self {
            Charset::Numeric => c.is_ascii_digit(),
            Charset::AlphanumericUpper => c.is_ascii_digit() || c.is_ascii_uppercase(),
            Charset::Alphanumeric => c.is_ascii_alphanumeric(),
            Charset::Gs1Cset82 => is_cset82(c),
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Charset::Numeric => "digits 0-9",
            Charset::AlphanumericUpper => "digits and upper-case letters",
            Charset::Alphanumeric => "digits and letters",
            Charset::Gs1Cset82 => "GS1 character set 82",
        }
    }
}

/// GS1 character set 82: `!"%&'()*+,-./0-9:;<=>?A-Z_a-z`.
pub fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

/// How the last character of a serial checks the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckScheme {
    None,
    Gs1Mod10,
    Luhn,
    Mod37_36,
}

impl CheckScheme {
    fn name(self) -> &'static str {
        match self {
            CheckScheme::None => "none",
            CheckScheme::Gs1Mod10 => "GS1 mod-10",
            CheckScheme::Luhn => "Luhn",
            CheckScheme::Mod37_36 => "ISO 7064 MOD 37,36",
        }
    }

    /// The check character for `body`, or `None` when `body` is outside the scheme's alphabet.
    pub fn compute(self, body: &[u8]) -> Option<u8> {
        match self {
            CheckScheme::None => None,
            CheckScheme::Gs1Mod10 => check::gs1_mod10_digit(body),
            CheckScheme::Luhn => check::luhn_digit(body),
            CheckScheme::Mod37_36 => check::mod37_36_char(body),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SerialRule {
    /// Inclusive bounds on the whole serial's length in characters.
    pub length_min: usize,
    pub length_max: usize,
    pub charset: Charset,
    /// Every serial starts with this text; empty for none.
    pub prefix: String,
    pub check: CheckScheme,
}

impl Default for SerialRule {
    /// The loosest rule: 1 to [`SERIAL_LEN_MAX`] characters of GS1 set 82, no check.
    fn default() -> Self {
        SerialRule {
            length_min: 1,
            length_max: SERIAL_LEN_MAX,
            charset: Charset::Gs1Cset82,
            prefix: String::new(),
            check: CheckScheme::None,
        }
    }
}

/// Why a rule itself cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("length_min must be at least 1 and at most length_max (got {min}..{max})")]
    LengthRange { min: usize, max: usize },
    #[error("length_max must be at most {SERIAL_LEN_MAX} (got {0})")]
    LengthMaxTooLarge(usize),
    #[error("prefix {prefix:?} uses {ch:?}, which the charset ({charset}) does not allow")]
    PrefixCharset {
        prefix: String,
        ch: char,
        charset: &'static str,
    },
    #[error("prefix {prefix:?} leaves no room for the serial within length_max {max}")]
    PrefixTooLong { prefix: String, max: usize },
    #[error("check scheme {scheme} needs the {needs} charset")]
    CheckCharset {
        scheme: &'static str,
        needs: &'static str,
    },
}

/// Which part of a serial breaks its item's rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatViolation {
    #[error("serial is empty")]
    Empty,
    #[error("serial has {len} characters; this item needs {min} to {max}")]
    Length { len: usize, min: usize, max: usize },
    #[error("character {ch:?} at position {position} is not allowed; this item allows {charset}")]
    Character {
        ch: char,
        position: usize,
        charset: &'static str,
    },
    #[error("serial must start with {prefix:?}")]
    Prefix { prefix: String },
    #[error("check character is {found:?}, expected {expected:?} ({scheme})")]
    CheckCharacter {
        found: char,
        expected: char,
        scheme: &'static str,
    },
    #[error("{scheme} check character cannot be computed over {body:?}")]
    CheckAlphabet { body: String, scheme: &'static str },
}

impl SerialRule {
    /// Checks that the rule can be satisfied by at least one serial.
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.length_min == 0 || self.length_min > self.length_max {
            return Err(RuleError::LengthRange {
                min: self.length_min,
                max: self.length_max,
            });
        }
        if self.length_max > SERIAL_LEN_MAX {
            return Err(RuleError::LengthMaxTooLarge(self.length_max));
        }
        if let Some(ch) = self.prefix.chars().find(|&c| !self.charset.allows(c)) {
            return Err(RuleError::PrefixCharset {
                prefix: self.prefix.clone(),
                ch,
                charset: self.charset.describe(),
            });
        }
        let reserved = self.prefix.chars().count() + usize::from(self.check != CheckScheme::None);
        if reserved >= self.length_max {
            return Err(RuleError::PrefixTooLong {
                prefix: self.prefix.clone(),
                max: self.length_max,
            });
        }
        let needs = match self.check {
            CheckScheme::None => None,
            CheckScheme::Gs1Mod10 | CheckScheme::Luhn => {
                (self.charset != Charset::Numeric).then_some(Charset::Numeric)
            }
            CheckScheme::Mod37_36 => {
                (self.charset != Charset::AlphanumericUpper).then_some(Charset::AlphanumericUpper)
            }
        };
        if let Some(needs) = needs {
            return Err(RuleError::CheckCharset {
                scheme: self.check.name(),
                needs: needs.describe(),
            });
        }
        Ok(())
    }

    /// Checks `serial` against the rule and names the first part that is wrong.
    pub fn check(&self, serial: &str) -> Result<(), FormatViolation> {
        if serial.is_empty() {
            return Err(FormatViolation::Empty);
        }
        let len = serial.chars().count();
        if len < self.length_min || len > self.length_max {
            return Err(FormatViolation::Length {
                len,
                min: self.length_min,
                max: self.length_max,
            });
        }
        if let Some((i, ch)) = serial
            .chars()
            .enumerate()
            .find(|&(_, c)| !self.charset.allows(c))
        {
            return Err(FormatViolation::Character {
                ch,
                position: i + 1,
                charset: self.charset.describe(),
            });
        }
        if !serial.starts_with(&self.prefix) {
            return Err(FormatViolation::Prefix {
                prefix: self.prefix.clone(),
            });
        }
        if self.check != CheckScheme::None {
            // The charset check above made the serial ASCII.
            let bytes = serial.as_bytes();
            let (&found, body) = bytes.split_last().ok_or(FormatViolation::Empty)?;
            let expected =
                self.check
                    .compute(body)
                    .ok_or_else(|| FormatViolation::CheckAlphabet {
                        body: String::from_utf8_lossy(body).into_owned(),
                        scheme: self.check.name(),
                    })?;
            if expected != found {
                return Err(FormatViolation::CheckCharacter {
                    found: char::from(found),
                    expected: char::from(expected),
                    scheme: self.check.name(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for SerialRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}..{} of {}",
            self.length_min,
            self.length_max,
            self.charset.describe()
        )?;
        if !self.prefix.is_empty() {
            write!(f, ", prefix {:?}", self.prefix)?;
        }
        if self.check != CheckScheme::None {
            write!(f, ", check {}", self.check.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(
        min: usize,
        max: usize,
        charset: Charset,
        prefix: &str,
        check: CheckScheme,
    ) -> SerialRule {
        SerialRule {
            length_min: min,
            length_max: max,
            charset,
            prefix: prefix.to_owned(),
            check,
        }
    }

    #[test]
    fn each_violation_names_the_part() {
        let r = rule(
            6,
            8,
            Charset::AlphanumericUpper,
            "TV",
            CheckScheme::Mod37_36,
        );
        r.validate().unwrap();
        let body = "TV1234";
        let c = char::from(check::mod37_36_char(body.as_bytes()).unwrap());
        let good = format!("{body}{c}");
        assert_eq!(r.check(&good), Ok(()));
        let cases: &[(&str, &str)] = &[
            ("", "serial is empty"),
            ("TV12", "serial has 4 characters; this item needs 6 to 8"),
            (
                "TV12345678",
                "serial has 10 characters; this item needs 6 to 8",
            ),
            ("TV12a45", "character 'a' at position 5 is not allowed"),
            ("XX123456", "serial must start with \"TV\""),
        ];
        for (serial, want) in cases {
            let got = r.check(serial).unwrap_err().to_string();
            assert!(got.starts_with(want), "{serial}: {got}");
        }
        let wrong = if c == '0' { "TV12341" } else { "TV12340" };
        let got = r.check(wrong).unwrap_err();
        assert!(
            matches!(got, FormatViolation::CheckCharacter { .. }),
            "{got}"
        );
    }

    #[test]
    fn numeric_check_schemes() {
        let gs1 = rule(14, 14, Charset::Numeric, "", CheckScheme::Gs1Mod10);
        gs1.validate().unwrap();
        assert_eq!(gs1.check("09506000134352"), Ok(()));
        assert!(gs1.check("09506000134353").is_err());
        let luhn = rule(2, 20, Charset::Numeric, "", CheckScheme::Luhn);
        assert_eq!(luhn.check("79927398713"), Ok(()));
        assert!(luhn.check("79927398714").is_err());
    }

    #[test]
    fn unusable_rules_are_refused() {
        let bad = [
            rule(0, 5, Charset::Numeric, "", CheckScheme::None),
            rule(6, 5, Charset::Numeric, "", CheckScheme::None),
            rule(
                1,
                SERIAL_LEN_MAX + 1,
                Charset::Numeric,
                "",
                CheckScheme::None,
            ),
            rule(1, 5, Charset::Numeric, "AB", CheckScheme::None),
            rule(1, 3, Charset::AlphanumericUpper, "ABC", CheckScheme::None),
            rule(1, 5, Charset::Alphanumeric, "", CheckScheme::Luhn),
            rule(1, 5, Charset::Numeric, "", CheckScheme::Mod37_36),
        ];
        for r in bad {
            assert!(r.validate().is_err(), "{r:?}");
        }
        SerialRule::default().validate().unwrap();
    }

    #[test]
    fn cset82_excludes_the_gs_substitutes() {
        for c in [
            ' ', '#', '$', '@', '[', '\\', ']', '^', '`', '{', '|', '}', '~', '\u{1d}',
        ] {
            assert!(!is_cset82(c), "{c:?}");
        }
        for c in "!\"%&'()*+,-./09:;<=>?AZ_az".chars() {
            assert!(is_cset82(c), "{c:?}");
        }
    }
}
