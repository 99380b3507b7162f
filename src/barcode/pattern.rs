//! Serial patterns an operator can read without knowing regular expressions.
//!
//! One pattern character stands for one serial character:
//!
//! | pattern | matches |
//! |---|---|
//! | `9` | a digit 0-9 |
//! | `A` | an upper-case letter A-Z |
//! | `a` | a lower-case letter a-z |
//! | `X` | a digit or an upper-case letter |
//! | `*` | any character the item's charset allows |
//! | `\c` | the character `c` itself (to write a literal `9`, `A`, `a`, `X`, `*` or `\`) |
//! | anything else | itself |
//!
//! So `SN-9999-XX` matches `SN-0042-B7`, and the pattern fixes the serial's length.

use std::fmt;

/// The longest pattern text, in characters (a fully escaped 64-character serial).
pub const PATTERN_TEXT_LEN_MAX: usize = 128;

/// What one position of a pattern accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    Digit,
    Upper,
    Lower,
    DigitOrUpper,
    Any,
    Literal(char),
}

impl Slot {
    pub fn matches(self, c: char) -> bool {
        match self {
            Slot::Digit => c.is_ascii_digit(),
            Slot::Upper => c.is_ascii_uppercase(),
            Slot::Lower => c.is_ascii_lowercase(),
            Slot::DigitOrUpper => c.is_ascii_digit() || c.is_ascii_uppercase(),
            Slot::Any => true,
            Slot::Literal(l) => c == l,
        }
    }

    /// What the slot wants, for an operator: "a digit", "the character '-'".
    pub fn describe(self) -> String {
        match self {
            Slot::Digit => "a digit".to_owned(),
            Slot::Upper => "an upper-case letter".to_owned(),
            Slot::Lower => "a lower-case letter".to_owned(),
            Slot::DigitOrUpper => "a digit or an upper-case letter".to_owned(),
            Slot::Any => "any allowed character".to_owned(),
            Slot::Literal(c) => format!("the character {c:?}"),
        }
    }

    /// A character the slot accepts, used to check that a rule can be satisfied.
    pub fn example(self) -> char {
        match self {
            Slot::Digit | Slot::DigitOrUpper => '0',
            Slot::Upper => 'A',
            Slot::Lower => 'a',
            Slot::Any => '0',
            Slot::Literal(c) => c,
        }
    }
}

/// A parsed pattern; [`fmt::Display`] gives back the text it was parsed from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Pattern {
    text: String,
    slots: Vec<Slot>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("pattern is empty")]
    Empty,
    #[error("pattern has {len} characters; at most {PATTERN_TEXT_LEN_MAX} are allowed")]
    TooLong { len: usize },
    #[error("pattern ends with a lone backslash; write \\\\ for a literal backslash")]
    DanglingEscape,
    #[error("pattern character {ch:?} at position {position} is a control character")]
    Control { ch: char, position: usize },
}

/// Where a serial leaves its pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    Length {
        len: usize,
        expected: usize,
    },
    At {
        position: usize,
        found: char,
        slot: Slot,
    },
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let len = text.chars().count();
        if len == 0 {
            return Err(PatternError::Empty);
        }
        if len > PATTERN_TEXT_LEN_MAX {
            return Err(PatternError::TooLong { len });
        }
        let mut slots = Vec::with_capacity(len);
        let mut chars = text.chars().enumerate();
        while let Some((i, c)) = chars.next() {
            if c.is_control() {
                return Err(PatternError::Control {
                    ch: c,
                    position: i + 1,
                });
            }
            let slot = match c {
                '9' => Slot::Digit,
                'A' => Slot::Upper,
                'a' => Slot::Lower,
                'X' => Slot::DigitOrUpper,
                '*' => Slot::Any,
                '\\' => match chars.next() {
                    Some((j, escaped)) if escaped.is_control() => {
                        return Err(PatternError::Control {
                            ch: escaped,
                            position: j + 1,
                        });
                    }
                    Some((_, escaped)) => Slot::Literal(escaped),
                    None => return Err(PatternError::DanglingEscape),
                },
                other => Slot::Literal(other),
            };
            slots.push(slot);
        }
        Ok(Pattern {
            text: text.to_owned(),
            slots,
        })
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The number of serial characters the pattern matches.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The first place `serial` leaves the pattern, if any. Positions are 1-based characters.
    pub fn mismatch(&self, serial: &str) -> Option<Mismatch> {
        let len = serial.chars().count();
        if len != self.slots.len() {
            return Some(Mismatch::Length {
                len,
                expected: self.slots.len(),
            });
        }
        serial
            .chars()
            .zip(&self.slots)
            .enumerate()
            .find(|(_, (c, slot))| !slot.matches(*c))
            .map(|(i, (found, &slot))| Mismatch::At {
                position: i + 1,
                found,
                slot,
            })
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_literals_and_escapes() {
        let p = Pattern::parse(r"SN-9999-X\9a*").unwrap();
        assert_eq!(p.len(), 12);
        assert_eq!(p.to_string(), r"SN-9999-X\9a*");
        assert_eq!(p.mismatch("SN-0042-B9x%"), None);
        assert_eq!(p.mismatch("SN-0042-79z0"), None);
        assert_eq!(
            p.mismatch("SN-00A2-B9x%"),
            Some(Mismatch::At {
                position: 6,
                found: 'A',
                slot: Slot::Digit
            })
        );
        assert_eq!(
            p.mismatch("SN-0042-B8x%"),
            Some(Mismatch::At {
                position: 10,
                found: '8',
                slot: Slot::Literal('9')
            })
        );
        assert_eq!(
            p.mismatch("SN-0042"),
            Some(Mismatch::Length {
                len: 7,
                expected: 12
            })
        );
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert_eq!(Pattern::parse(""), Err(PatternError::Empty));
        assert_eq!(Pattern::parse(r"99\"), Err(PatternError::DanglingEscape));
        assert_eq!(
            Pattern::parse("9\t9"),
            Err(PatternError::Control {
                ch: '\t',
                position: 2
            })
        );
        let long = "9".repeat(PATTERN_TEXT_LEN_MAX + 1);
        assert_eq!(
            Pattern::parse(&long),
            Err(PatternError::TooLong {
                len: PATTERN_TEXT_LEN_MAX + 1
            })
        );
    }
}
