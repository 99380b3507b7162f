//! Catalog items: SKU, GTIN, lot tracking, warranty and the serial format rule, with the
//! checks an item must pass before it is stored.

use crate::barcode::{RuleError, SerialRule, check};

/// The longest SKU, in characters. A longer one is refused with INVALID_ARGUMENT.
pub const SKU_LEN_MAX: usize = 40;
/// The longest item description, in bytes. A longer one is refused with INVALID_ARGUMENT.
pub const DESCRIPTION_LEN_MAX: usize = 500;
/// The longest warranty, in months (100 years). A longer one is refused with INVALID_ARGUMENT.
pub const WARRANTY_MONTHS_MAX: u32 = 1200;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub sku: String,
    /// GTIN-14, check digit valid.
    pub gtin: Option<String>,
    pub description: String,
    pub lot_tracked: bool,
    pub warranty_months: u32,
    pub serial_rule: SerialRule,
    /// When the item was last written; set by the store.
    pub updated_at_ms: i64,
    /// How its serials are issued before the units arrive; `None`: the units come with
    /// serials of their own (a supplier's), first seen at goods-in.
    pub issuing: Option<super::issue::Issuing>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("sku is required")]
    SkuMissing,
    #[error("sku has {0} characters; at most {SKU_LEN_MAX} are allowed")]
    SkuTooLong(usize),
    #[error("sku character {ch:?} at position {position} is not allowed; use 0-9 A-Z a-z - _ . /")]
    SkuCharacter { ch: char, position: usize },
    #[error("gtin {0:?} must be 8, 12, 13 or 14 digits")]
    GtinShape(String),
    #[error("gtin {gtin:?} has check digit {found}, expected {expected}")]
    GtinCheckDigit {
        gtin: String,
        found: char,
        expected: char,
    },
    #[error("description has {0} bytes; at most {DESCRIPTION_LEN_MAX} are allowed")]
    DescriptionTooLong(usize),
    #[error("warranty of {0} months is more than the {WARRANTY_MONTHS_MAX} allowed")]
    WarrantyTooLong(u32),
    #[error("serial rule: {0}")]
    Rule(#[from] RuleError),
    #[error("issuing: {0}")]
    Issuing(#[from] super::issue::IssueError),
}

/// Checks a SKU's length and characters.
pub fn validate_sku(sku: &str) -> Result<(), ItemError> {
    if sku.is_empty() {
        return Err(ItemError::SkuMissing);
    }
    let len = sku.chars().count();
    if len > SKU_LEN_MAX {
        return Err(ItemError::SkuTooLong(len));
    }
    if let Some((i, ch)) = sku
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || "-_./".contains(c)))
    {
        return Err(ItemError::SkuCharacter {
            ch,
            position: i + 1,
        });
    }
    Ok(())
}

/// A GTIN-8, -12, -13 or -14 as a GTIN-14 (left-padded with zeros), check digit validated.
pub fn normalize_gtin(text: &str) -> Result<String, ItemError> {
    let shape_ok =
        matches!(text.len(), 8 | 12 | 13 | 14) && text.bytes().all(|b| b.is_ascii_digit());
    if !shape_ok {
        return Err(ItemError::GtinShape(text.to_owned()));
    }
    let gtin = format!("{text:0>14}");
    let bytes = gtin.as_bytes();
    let (&found, body) = bytes
        .split_last()
        .ok_or_else(|| ItemError::GtinShape(text.to_owned()))?;
    let expected =
        check::gs1_mod10_digit(body).ok_or_else(|| ItemError::GtinShape(text.to_owned()))?;
    if found != expected {
        return Err(ItemError::GtinCheckDigit {
            gtin: text.to_owned(),
            found: char::from(found),
            expected: char::from(expected),
        });
    }
    Ok(gtin)
}

impl Item {
    /// Checks every field and brings the GTIN to its 14-digit form.
    pub fn validated(mut self) -> Result<Item, ItemError> {
        validate_sku(&self.sku)?;
        if let Some(gtin) = &self.gtin {
            self.gtin = Some(normalize_gtin(gtin)?);
        }
        if self.description.len() > DESCRIPTION_LEN_MAX {
            return Err(ItemError::DescriptionTooLong(self.description.len()));
        }
        if self.warranty_months > WARRANTY_MONTHS_MAX {
            return Err(ItemError::WarrantyTooLong(self.warranty_months));
        }
        self.serial_rule.validate()?;
        if let Some(issuing) = &self.issuing {
            issuing.strategy.validate(&self)?;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(sku: &str, gtin: Option<&str>) -> Item {
        Item {
            sku: sku.to_owned(),
            gtin: gtin.map(str::to_owned),
            description: String::new(),
            lot_tracked: false,
            warranty_months: 24,
            serial_rule: SerialRule::default(),
            updated_at_ms: 0,
            issuing: None,
        }
    }

    #[test]
    fn gtins_are_padded_and_checked() {
        let ok = item("TV-65", Some("4006381333931")).validated().unwrap();
        assert_eq!(ok.gtin.as_deref(), Some("04006381333931"));
        assert_eq!(
            normalize_gtin("4006381333932"),
            Err(ItemError::GtinCheckDigit {
                gtin: "4006381333932".into(),
                found: '2',
                expected: '1'
            })
        );
        for bad in ["123", "40063813339311", "4006381333a31", ""] {
            assert!(normalize_gtin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn skus_are_bounded() {
        assert_eq!(validate_sku(""), Err(ItemError::SkuMissing));
        assert_eq!(
            validate_sku(&"A".repeat(41)),
            Err(ItemError::SkuTooLong(41))
        );
        assert_eq!(
            validate_sku("TV 65"),
            Err(ItemError::SkuCharacter {
                ch: ' ',
                position: 3
            })
        );
        validate_sku("TV-65/B_x.1").unwrap();
    }
}
