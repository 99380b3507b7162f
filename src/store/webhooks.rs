//! Webhook subscriptions in the sled store: `w` id → subscription record (URL, secret,
//! filters, how far delivery has got).

use prost::Message;

use crate::webhook::{EventFilter, Webhook};

use super::StoreError;
use super::records::{action_code, action_from, outcome_code, outcome_from};
use super::sled_store::Get;

pub const WEBHOOK: u8 = b'w';

pub fn webhook_key(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + id.len());
    key.push(WEBHOOK);
    key.extend_from_slice(id.as_bytes());
    key
}

#[derive(Clone, PartialEq, Message)]
struct WebhookRecord {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    url: String,
    #[prost(string, tag = "3")]
    secret: String,
    #[prost(string, tag = "4")]
    serial: String,
    #[prost(string, tag = "5")]
    sku: String,
    #[prost(string, tag = "6")]
    lot: String,
    /// 0: any.
    #[prost(uint32, tag = "7")]
    action: u32,
    /// 0: any.
    #[prost(uint32, tag = "8")]
    outcome: u32,
    #[prost(int64, tag = "9")]
    created_at_ms: i64,
    #[prost(string, tag = "10")]
    created_by: String,
    #[prost(uint64, tag = "11")]
    delivered_through: u64,
}

pub fn encode_webhook(webhook: &Webhook) -> Vec<u8> {
    let f = &webhook.filter;
    WebhookRecord {
        id: webhook.id.clone(),
        url: webhook.url.clone(),
        secret: webhook.secret.clone(),
        serial: f.serial.clone().unwrap_or_default(),
        sku: f.sku.clone().unwrap_or_default(),
        lot: f.lot.clone().unwrap_or_default(),
        action: f.action.map_or(0, action_code),
        outcome: f.outcome.map_or(0, outcome_code),
        created_at_ms: webhook.created_at_ms,
        created_by: webhook.created_by.clone(),
        delivered_through: webhook.delivered_through,
    }
    .encode_to_vec()
}

pub fn decode_webhook(bytes: &[u8]) -> Result<Webhook, StoreError> {
    let r = WebhookRecord::decode(bytes)
        .map_err(|e| StoreError::Corrupt(format!("webhook record: {e}")))?;
    let some = |s: String| (!s.is_empty()).then_some(s);
    Ok(Webhook {
        filter: EventFilter {
            serial: some(r.serial),
            sku: some(r.sku),
            lot: some(r.lot),
            action: match r.action {
                0 => None,
                code => Some(action_from(code)?),
            },
            outcome: match r.outcome {
                0 => None,
                code => Some(outcome_from(code)?),
            },
        },
        id: r.id,
        url: r.url,
        secret: r.secret,
        created_at_ms: r.created_at_ms,
        created_by: r.created_by,
        delivered_through: r.delivered_through,
    })
}

pub fn read_webhook(tree: &impl Get, id: &str) -> Result<Option<Webhook>, StoreError> {
    tree.get(webhook_key(id))?
        .map(|v| decode_webhook(&v))
        .transpose()
}

pub fn read_webhooks(
    entries: impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>>,
) -> Result<Vec<Webhook>, StoreError> {
    entries.map(|entry| decode_webhook(&entry?.1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, Outcome};

    #[test]
    fn records_round_trip() {
        let webhook = Webhook {
            id: "recalls".to_owned(),
            url: "https://hooks.example.com/x".to_owned(),
            secret: "0123456789abcdef".to_owned(),
            filter: EventFilter {
                serial: None,
                sku: Some("TV".to_owned()),
                lot: Some("L7".to_owned()),
                action: Some(Action::Pick),
                outcome: Some(Outcome::Rejected),
            },
            created_at_ms: 5,
            created_by: "sam".to_owned(),
            delivered_through: 42,
        };
        assert_eq!(decode_webhook(&encode_webhook(&webhook)).unwrap(), webhook);
        let plain = Webhook {
            filter: EventFilter::default(),
            ..webhook
        };
        assert_eq!(decode_webhook(&encode_webhook(&plain)).unwrap(), plain);
    }
}
