//! Checks a scan against the cached copy of the catalog while the server cannot be reached, so
//! the operator learns at once that a queued scan will likely be refused (a misread barcode, a
//! serial that breaks the item's format). Pure: the same reading and format decision the server
//! makes (`domain::read_scan`, `domain::apply` for a receipt over a view of the cached items);
//! the server still decides when the scan is replayed.

use crate::domain::{self, Action, MemoryView, Reason};
use crate::proto::v1 as pb;

/// The cached catalog, as domain items.
#[derive(Clone, Debug, Default)]
pub struct CachedRules {
    view: MemoryView,
    /// When the copy was fetched; `None` when the gateway never reached the server.
    pub fetched_at_ms: Option<i64>,
}

/// What the cached rules say about a queued scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Precheck {
    /// It reads, and (for a receipt) fits its item's format.
    Fits(String),
    /// The server will most likely refuse it, for this reason.
    LikelyRejected { reason: Reason, message: String },
    /// Nothing to check against.
    Unchecked(String),
}

impl CachedRules {
    /// Builds the rules from cached wire items; an item that no longer converts is left out
    /// (the server has the last word anyway).
    pub fn new(items: Vec<pb::Item>, fetched_at_ms: Option<i64>) -> CachedRules {
        let items = items
            .into_iter()
            .filter_map(|item| crate::server::item_from_pb(item).ok());
        CachedRules {
            view: MemoryView::with_items(items),
            fetched_at_ms,
        }
    }

    pub fn len(&self) -> usize {
        self.view.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.view.items.is_empty()
    }

    /// Checks `scan` as the server would on its reading and format steps. `now_ms` dates
    /// two-digit barcode years.
    pub fn precheck(&self, scan: &domain::Scan, now_ms: i64) -> Precheck {
        let read = match domain::read_scan(scan, domain::time::date_utc(now_ms)) {
            Ok(read) => read,
            Err(rejection) => {
                return Precheck::LikelyRejected {
                    reason: rejection.reason,
                    message: rejection.message,
                };
            }
        };
        if scan.action != Action::Receive {
            return Precheck::Fits(format!("reads as serial {}", read.serial));
        }
        if self.fetched_at_ms.is_none() {
            return Precheck::Unchecked(format!(
                "reads as serial {}; no cached format rules yet (the server was never reached)",
                read.serial
            ));
        }
        // Only the catalog is cached: a unit view with nothing in it makes every receipt a new
        // unit, so what can come back is the item and format decision.
        let mut view = self.view.clone();
        match domain::apply(scan, &read, &mut view, 0, now_ms) {
            Ok(Ok(change)) => Precheck::Fits(match &change.unit {
                Some(unit) => format!("serial {} fits {} (cached rules)", unit.serial, unit.sku),
                None => format!("{} (cached rules)", change.message),
            }),
            // The cache holds no units: only the server knows what was issued.
            Ok(Err(rejection)) if rejection.reason == Reason::NotIssued => Precheck::Fits(format!(
                "serial {} fits its SKU's format (cached rules); the server checks it was issued",
                read.serial
            )),
            Ok(Err(rejection)) => Precheck::LikelyRejected {
                reason: rejection.reason,
                message: format!("{} (cached rules)", rejection.message),
            },
            Err(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::config::BindingConfig;

    fn rules() -> CachedRules {
        let item = pb::Item {
            sku: "TV-65".into(),
            gtin: "09506000134352".into(),
            serial_rule: Some(pb::SerialRule {
                length_min: 6,
                length_max: 12,
                charset: pb::Charset::AlphanumericUpper.into(),
                prefix: "TV".into(),
                check: pb::CheckScheme::None.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        CachedRules::new(vec![item], Some(1))
    }

    fn scan(action: &str, sku: &str, raw: &[u8]) -> domain::Scan {
        BindingConfig {
            station: "DOCK-1".into(),
            action: action.into(),
            sku: sku.into(),
            ..BindingConfig::default()
        }
        .check()
        .unwrap()
        .domain_scan(uuid::Uuid::new_v4(), raw.to_vec(), 0)
    }

    /// Action, SKU, raw scan, and the start of the note or the reason expected.
    type Case<'a> = (&'a str, &'a str, &'a [u8], Result<&'a str, Reason>);

    #[test]
    fn cached_rules_judge_queued_scans() {
        let now = 1_795_400_000_000;
        let rules = rules();
        let cases: &[Case] = &[
            (
                "receive",
                "TV-65",
                b"TV12345\r",
                Ok("serial TV12345 fits TV-65"),
            ),
            ("receive", "TV-65", b"tv1", Err(Reason::BadFormat)),
            ("receive", "NOPE", b"TV12345", Err(Reason::UnknownItem)),
            // GS1 with a separator: the GTIN names the item.
            (
                "receive",
                "",
                b"]d201095060001343521712123110LOT\x1d21TV99999",
                Ok("serial TV99999 fits TV-65"),
            ),
            (
                "receive",
                "",
                b"]C10109506000134353",
                Err(Reason::BadFormat),
            ),
            ("putaway", "", b"ANY-1", Ok("reads as serial ANY-1")),
            ("putaway", "", b"A\x01B", Err(Reason::BadFormat)),
        ];
        for &(action, sku, raw, ref expected) in cases {
            let got = rules.precheck(&scan(action, sku, raw), now);
            match (expected, &got) {
                (Ok(text), Precheck::Fits(message)) => {
                    assert!(message.starts_with(text), "{got:?}")
                }
                (Err(reason), Precheck::LikelyRejected { reason: r, .. }) => {
                    assert_eq!(r, reason, "{got:?}");
                }
                _ => panic!("{action} {raw:?}: expected {expected:?}, got {got:?}"),
            }
        }
        let never = CachedRules::new(vec![], None);
        assert!(matches!(
            never.precheck(&scan("receive", "TV-65", b"TV12345"), now),
            Precheck::Unchecked(_)
        ));
    }
}
