//! The serial format rule of an item: length range, character set, fixed prefix, an optional
//! readable pattern, a confusable-character policy and an optional check character. A plain
//! value type; checking a serial against it is pure.

use std::borrow::Cow;
use std::fmt;

use super::check;
use super::pattern::{Mismatch, Pattern};

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
    super::ai_table::Cset::Cset82.allows(c)
}

/// How the last character of a serial checks the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckScheme {
    None,
    Gs1Mod10,
    Luhn,
    Mod37_36,
    /// Luhn mod N over [`check::CROCKFORD32`]: no check character reads as a digit.
    LuhnMod32,
}

impl CheckScheme {
    fn name(self) -> &'static str {
        match self {
            CheckScheme::None => "none",
            CheckScheme::Gs1Mod10 => "GS1 mod-10",
            CheckScheme::Luhn => "Luhn",
            CheckScheme::Mod37_36 => "ISO 7064 MOD 37,36",
            CheckScheme::LuhnMod32 => "Luhn mod 32 (Crockford base 32)",
        }
    }

    /// The check character for `body`, or `None` when `body` is outside the scheme's alphabet.
    pub fn compute(self, body: &[u8]) -> Option<u8> {
        match self {
            CheckScheme::None => None,
            CheckScheme::Gs1Mod10 => check::gs1_mod10_digit(body),
            CheckScheme::Luhn => check::luhn_digit(body),
            CheckScheme::Mod37_36 => check::mod37_36_char(body),
            CheckScheme::LuhnMod32 => check::luhn_mod32_char(body),
        }
    }
}

/// Letters that are read for digits on labels and keyed by hand, and the digit each looks like.
pub const CONFUSABLES: [(char, char); 4] = [('O', '0'), ('o', '0'), ('I', '1'), ('l', '1')];

/// What to do with a letter that looks like a digit (see [`CONFUSABLES`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Confusables {
    /// Treat them like any other character: the charset decides.
    #[default]
    Allow,
    /// Refuse them, naming the digit they look like. Serials issued for such an item never
    /// contain them, so a scan that does was misread or keyed wrong.
    Reject,
    /// Read them as the digit they look like before checking (numeric serials only): a keyed
    /// `12O45` is received as `12045`.
    MapToDigits,
}

impl Confusables {
    pub fn name(self) -> &'static str {
        match self {
            Confusables::Allow => "allow",
            Confusables::Reject => "reject",
            Confusables::MapToDigits => "map",
        }
    }
}

fn looks_like(c: char) -> Option<char> {
    CONFUSABLES
        .iter()
        .find(|(letter, _)| *letter == c)
        .map(|&(_, digit)| digit)
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
    /// When set, every serial matches it (and so has exactly its length).
    pub pattern: Option<Pattern>,
    pub confusables: Confusables,
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
            pattern: None,
            confusables: Confusables::Allow,
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
    #[error("pattern {pattern} matches {len} characters, outside length {min}..{max}")]
    PatternLength {
        pattern: String,
        len: usize,
        min: usize,
        max: usize,
    },
    #[error(
        "pattern {pattern} position {position} wants {wants}, which the charset ({charset}) does not allow"
    )]
    PatternCharset {
        pattern: String,
        position: usize,
        wants: String,
        charset: &'static str,
    },
    #[error("prefix {prefix:?} does not fit pattern {pattern} at position {position}")]
    PatternPrefix {
        prefix: String,
        pattern: String,
        position: usize,
    },
    #[error("confusables policy \"map\" needs the numeric charset")]
    MapNeedsNumeric,
    #[error("prefix {prefix:?} contains {ch:?}, which the confusables policy rejects")]
    PrefixConfusable { prefix: String, ch: char },
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
    #[error(
        "character {ch:?} at position {position} looks like the digit {digit}; this item does not allow it"
    )]
    Confusable {
        ch: char,
        position: usize,
        digit: char,
    },
    #[error("serial has {len} characters; pattern {pattern} needs {expected}")]
    PatternLength {
        len: usize,
        expected: usize,
        pattern: String,
    },
    #[error(
        "character {found:?} at position {position} does not fit pattern {pattern}: expected {expected}"
    )]
    Pattern {
        found: char,
        position: usize,
        expected: String,
        pattern: String,
    },
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
            CheckScheme::Mod37_36 | CheckScheme::LuhnMod32 => {
                (self.charset != Charset::AlphanumericUpper).then_some(Charset::AlphanumericUpper)
            }
        };
        if let Some(needs) = needs {
            return Err(RuleError::CheckCharset {
                scheme: self.check.name(),
                needs: needs.describe(),
            });
        }
        match self.confusables {
            Confusables::MapToDigits if self.charset != Charset::Numeric => {
                return Err(RuleError::MapNeedsNumeric);
            }
            Confusables::Reject => {
                if let Some(ch) = self.prefix.chars().find(|&c| looks_like(c).is_some()) {
                    return Err(RuleError::PrefixConfusable {
                        prefix: self.prefix.clone(),
                        ch,
                    });
                }
            }
            _ => {}
        }
        if let Some(pattern) = &self.pattern {
            self.validate_pattern(pattern)?;
        }
        Ok(())
    }

    fn validate_pattern(&self, pattern: &Pattern) -> Result<(), RuleError> {
        let len = pattern.len();
        if len < self.length_min || len > self.length_max {
            return Err(RuleError::PatternLength {
                pattern: pattern.to_string(),
                len,
                min: self.length_min,
                max: self.length_max,
            });
        }
        for (i, slot) in pattern.slots().iter().enumerate() {
            if !self.charset.allows(slot.example()) {
                return Err(RuleError::PatternCharset {
                    pattern: pattern.to_string(),
                    position: i + 1,
                    wants: slot.describe(),
                    charset: self.charset.describe(),
                });
            }
        }
        if let Some(i) = self
            .prefix
            .chars()
            .zip(pattern.slots())
            .position(|(c, slot)| !slot.matches(c))
        {
            return Err(RuleError::PatternPrefix {
                prefix: self.prefix.clone(),
                pattern: pattern.to_string(),
                position: i + 1,
            });
        }
        Ok(())
    }

    /// The serial as the item stores it: with the `map` confusables policy, letters that look
    /// like digits become those digits; otherwise unchanged.
    pub fn canonical<'a>(&self, serial: &'a str) -> Cow<'a, str> {
        if self.confusables != Confusables::MapToDigits
            || !serial.chars().any(|c| looks_like(c).is_some())
        {
            return Cow::Borrowed(serial);
        }
        Cow::Owned(serial.chars().map(|c| looks_like(c).unwrap_or(c)).collect())
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
        if self.confusables == Confusables::Reject
            && let Some((i, ch, digit)) = serial
                .chars()
                .enumerate()
                .find_map(|(i, c)| looks_like(c).map(|d| (i, c, d)))
        {
            return Err(FormatViolation::Confusable {
                ch,
                position: i + 1,
                digit,
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
        if let Some(pattern) = &self.pattern {
            match pattern.mismatch(serial) {
                None => {}
                Some(Mismatch::Length { len, expected }) => {
                    return Err(FormatViolation::PatternLength {
                        len,
                        expected,
                        pattern: pattern.to_string(),
                    });
                }
                Some(Mismatch::At {
                    position,
                    found,
                    slot,
                }) => {
                    return Err(FormatViolation::Pattern {
                        found,
                        position,
                        expected: slot.describe(),
                        pattern: pattern.to_string(),
                    });
                }
            }
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
        if let Some(pattern) = &self.pattern {
            write!(f, ", pattern {pattern}")?;
        }
        if self.confusables != Confusables::Allow {
            write!(f, ", confusables {}", self.confusables.name())?;
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
            pattern: None,
            confusables: Confusables::Allow,
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
    fn patterns_name_the_position_and_what_was_expected() {
        let mut r = rule(10, 10, Charset::AlphanumericUpper, "SN", CheckScheme::None);
        r.pattern = Some(Pattern::parse("SN-9999-XX").unwrap());
        r.charset = Charset::Gs1Cset82;
        r.validate().unwrap();
        assert_eq!(r.check("SN-0042-B7"), Ok(()));
        let got = r.check("SN-00B2-B7").unwrap_err().to_string();
        assert_eq!(
            got,
            "character 'B' at position 6 does not fit pattern SN-9999-XX: expected a digit"
        );
        let got = r.check("SN-0042-b7").unwrap_err().to_string();
        assert!(
            got.contains("expected a digit or an upper-case letter"),
            "{got}"
        );
        // The pattern must fit the rule it belongs to.
        let mut short = r.clone();
        short.length_max = 8;
        short.length_min = 1;
        assert!(matches!(
            short.validate(),
            Err(RuleError::PatternLength { .. })
        ));
        let mut numeric = rule(4, 4, Charset::Numeric, "", CheckScheme::None);
        numeric.pattern = Some(Pattern::parse("99A9").unwrap());
        assert!(matches!(
            numeric.validate(),
            Err(RuleError::PatternCharset { position: 3, .. })
        ));
        let mut prefix = rule(4, 4, Charset::AlphanumericUpper, "AB", CheckScheme::None);
        prefix.pattern = Some(Pattern::parse("9999").unwrap());
        assert!(matches!(
            prefix.validate(),
            Err(RuleError::PatternPrefix { position: 1, .. })
        ));
    }

    #[test]
    fn confusables_are_rejected_or_mapped() {
        let mut r = rule(5, 5, Charset::Numeric, "", CheckScheme::None);
        r.confusables = Confusables::Reject;
        r.validate().unwrap();
        let got = r.check("12O45").unwrap_err().to_string();
        assert_eq!(
            got,
            "character 'O' at position 3 looks like the digit 0; this item does not allow it"
        );
        assert_eq!(r.canonical("12O45"), "12O45");
        r.confusables = Confusables::MapToDigits;
        assert_eq!(r.canonical("l2O45"), "12045");
        assert!(matches!(r.canonical("12045"), Cow::Borrowed(_)));
        assert_eq!(r.check(&r.canonical("l2O45")), Ok(()));
        // Without the policy a numeric item still refuses the letter, as a charset violation.
        r.confusables = Confusables::Allow;
        assert!(matches!(
            r.check("12O45"),
            Err(FormatViolation::Character { .. })
        ));
        // Mapping only makes sense for numeric serials; rejecting works for any charset.
        let mut alnum = rule(1, 10, Charset::AlphanumericUpper, "", CheckScheme::None);
        alnum.confusables = Confusables::MapToDigits;
        assert_eq!(alnum.validate(), Err(RuleError::MapNeedsNumeric));
        alnum.confusables = Confusables::Reject;
        alnum.validate().unwrap();
        assert!(matches!(
            alnum.check("AB1I"),
            Err(FormatViolation::Confusable {
                position: 4,
                digit: '1',
                ..
            })
        ));
        alnum.prefix = "OK".to_owned();
        assert!(matches!(
            alnum.validate(),
            Err(RuleError::PrefixConfusable { ch: 'O', .. })
        ));
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
