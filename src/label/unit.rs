//! A stored unit's label: its item's QR strategy (parsed from the policy's text), a template
//! as a [`LabelSpec`], and the unit's values as [`LabelData`]. Pure: the server reads the item,
//! unit and facts and passes them in.

use std::collections::BTreeMap;

use super::payload::{Payload, PayloadError, QrStrategy, QrSymbol, UnitIds};
use super::zpl::{Dpi, LabelData, LabelError, LabelSpec};
use crate::domain::issue::UnitFacts;
use crate::domain::label::Template;
use crate::domain::{Item, Unit};

/// The resolver domain of the default Digital Link, for items with a GTIN and no QR text.
pub const DEFAULT_RESOLVER_DOMAIN: &str = "id.example.com";

/// Why a unit's label cannot be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitLabelError {
    #[error("SKU {sku}'s QR strategy: {error}")]
    Payload { sku: String, error: PayloadError },
    #[error("template {template}: {error}")]
    Layout { template: String, error: LabelError },
    #[error("template {template} is {dpi} dpi; labels print at 203 or 300")]
    Dpi { template: String, dpi: u32 },
}

/// The item's QR strategy: the policy's text, else a Digital Link on
/// [`DEFAULT_RESOLVER_DOMAIN`] for an item with a GTIN; `None` prints the bare serial.
pub fn qr_strategy(item: &Item) -> Result<Option<QrStrategy>, PayloadError> {
    let text = item.issuing.as_ref().map_or("", |i| i.qr.as_str());
    if !text.is_empty() {
        return text.parse().map(Some);
    }
    Ok(item.gtin.as_ref().map(|_| QrStrategy::DigitalLink {
        domain: DEFAULT_RESOLVER_DOMAIN.to_owned(),
    }))
}

/// Checks an item's QR text against the item: it parses and its strategy has what it needs
/// (a GTIN for Digital Link and the element string).
pub fn check_item_qr(item: &Item) -> Result<(), PayloadError> {
    let Some(strategy) = qr_strategy(item)? else {
        return Ok(());
    };
    strategy.validate()?;
    if item.gtin.is_none() && !matches!(strategy, QrStrategy::VerifyUrl { .. }) {
        return Err(PayloadError::GtinMissing {
            strategy: strategy.name(),
        });
    }
    Ok(())
}

/// What the QR code of `serial` (of `item`, with `lot`) carries.
pub fn payload(item: &Item, serial: &str, lot: Option<&str>) -> Result<Payload, UnitLabelError> {
    let wrap = |error| UnitLabelError::Payload {
        sku: item.sku.clone(),
        error,
    };
    match qr_strategy(item).map_err(wrap)? {
        Some(strategy) => strategy
            .payload(&UnitIds {
                serial,
                gtin: item.gtin.as_deref(),
                lot,
            })
            .map_err(wrap),
        None => Ok(Payload {
            text: serial.to_owned(),
            symbol: QrSymbol::Plain,
        }),
    }
}

/// The template as the printer's layout sees it.
pub fn spec(template: &Template) -> Result<LabelSpec, UnitLabelError> {
    let dpi = Dpi::from_number(template.dpi).ok_or_else(|| UnitLabelError::Dpi {
        template: template.name.clone(),
        dpi: template.dpi,
    })?;
    let has = |f: &str| template.fields.iter().any(|x| x == f);
    let spec = LabelSpec {
        width_mm: u16::try_from(template.width_mm).unwrap_or(u16::MAX),
        height_mm: u16::try_from(template.height_mm).unwrap_or(u16::MAX),
        dpi,
        qr: has("qr"),
        sku_text: has("sku"),
        serial_text: has("serial"),
        code128: has("code128"),
        extra_fields: template
            .fields
            .iter()
            .filter(|f| !matches!(f.as_str(), "qr" | "sku" | "serial" | "code128"))
            .cloned()
            .collect(),
    };
    spec.validate().map_err(|error| UnitLabelError::Layout {
        template: template.name.clone(),
        error,
    })?;
    Ok(spec)
}

/// One unit's values for `spec`. A printed field the unit has no value for prints `-`
/// (required fields were checked before the job was recorded).
pub fn data(
    spec: &LabelSpec,
    item: &Item,
    unit: &Unit,
    facts: &UnitFacts,
) -> Result<LabelData, UnitLabelError> {
    let fields: BTreeMap<String, String> = spec
        .extra_fields
        .iter()
        .map(|f| {
            let value = Template::value(f, unit, facts).filter(|v| !v.is_empty());
            (f.clone(), value.unwrap_or_else(|| "-".to_owned()))
        })
        .collect();
    Ok(LabelData {
        sku: unit.sku.clone(),
        serial: unit.serial.clone(),
        payload: payload(item, &unit.serial, unit.lot.as_deref())?,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::barcode::SerialRule;
    use crate::domain::issue::{Issuing, ReprintPolicy, Strategy};

    fn item(gtin: Option<&str>, qr: &str) -> Item {
        Item {
            sku: "TV".into(),
            gtin: gtin.map(str::to_owned),
            description: String::new(),
            lot_tracked: false,
            warranty_months: 0,
            serial_rule: SerialRule::default(),
            updated_at_ms: 0,
            issuing: Some(Issuing {
                strategy: Strategy::Sequential {
                    prefix: "TV".into(),
                    width: 6,
                },
                reprint: ReprintPolicy::Reuse,
                qr: qr.into(),
            }),
        }
    }

    #[test]
    fn the_qr_strategy_defaults_by_gtin_and_is_checked_against_the_item() {
        let gtin = Some("09506000134352");
        assert_eq!(
            payload(&item(gtin, ""), "TV000001", None).unwrap().text,
            "https://id.example.com/01/09506000134352/21/TV000001"
        );
        assert_eq!(
            payload(&item(None, ""), "TV000001", None).unwrap().text,
            "TV000001"
        );
        assert_eq!(
            payload(
                &item(None, "verify-url:https://brand.example/q"),
                "TV000001",
                None
            )
            .unwrap()
            .text,
            "https://brand.example/q/TV000001"
        );
        check_item_qr(&item(gtin, "structured")).unwrap();
        assert!(matches!(
            check_item_qr(&item(None, "digital-link:id.example.com")),
            Err(PayloadError::GtinMissing { .. })
        ));
        assert!(matches!(
            check_item_qr(&item(gtin, "telepathy")),
            Err(PayloadError::UnknownStrategy(_))
        ));
    }
}
