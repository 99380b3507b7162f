//! Webhook subscriptions: which events go where, signed how, and how far delivery has got.
//!
//! A subscription names a URL, a secret, and the same filters as `WatchEvents`. The server
//! POSTs each matching event as JSON, one per request, in sequence order, with the header
//! `X-Serialtrack-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`; it retries
//! a failed delivery with capped backoff and moves on only after a 2xx answer. How far it has
//! got (`delivered_through`) is stored, so a restart resumes there: at least once, and each
//! delivery carries the event's sequence number for the receiver to drop repeats.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::domain::{Action, Event, Outcome, time};

/// Subscriptions a store may hold.
pub const WEBHOOKS_MAX: usize = 100;
pub const WEBHOOK_ID_MAX: usize = 64;
pub const URL_LEN_MAX: usize = 2048;
/// Secrets: long enough to be worth signing with, short enough to be a header's worth.
pub const SECRET_LEN_MIN: usize = 16;
pub const SECRET_LEN_MAX: usize = 256;

/// What a watcher or a subscription wants to see; `None` fields match anything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub serial: Option<String>,
    pub sku: Option<String>,
    pub lot: Option<String>,
    pub action: Option<Action>,
    pub outcome: Option<Outcome>,
}

impl EventFilter {
    pub fn matches(&self, event: &Event) -> bool {
        self.serial.as_ref().is_none_or(|s| &event.serial == s)
            && self.sku.as_ref().is_none_or(|s| &event.sku == s)
            && self
                .lot
                .as_ref()
                .is_none_or(|l| event.lot.as_ref() == Some(l))
            && self.action.is_none_or(|a| event.action == a)
            && self.outcome.is_none_or(|o| event.outcome == o)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub secret: String,
    pub filter: EventFilter,
    pub created_at_ms: i64,
    pub created_by: String,
    /// Every event up to this sequence number was delivered or did not match.
    pub delivered_through: u64,
}

#[derive(Clone, Debug)]
pub enum WebhookOp {
    Create(Webhook),
    Delete {
        id: String,
    },
    /// Delivery reached `through`; never moves back.
    Advance {
        id: String,
        through: u64,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("a webhook named {0:?} exists already")]
    Exists(String),
    #[error("no webhook is named {0:?}")]
    NotFound(String),
    #[error("the store holds {WEBHOOKS_MAX} webhooks, the most it may")]
    Full,
}

/// Decides a change: `current` is the subscription of the op's id, `count` how many exist.
/// Answers what to store (`None`: delete it).
pub fn decide(
    op: WebhookOp,
    current: Option<Webhook>,
    count: usize,
    now_ms: i64,
) -> Result<Option<Webhook>, WebhookError> {
    match op {
        WebhookOp::Create(webhook) => {
            if current.is_some() {
                return Err(WebhookError::Exists(webhook.id));
            }
            if count >= WEBHOOKS_MAX {
                return Err(WebhookError::Full);
            }
            Ok(Some(Webhook {
                created_at_ms: now_ms,
                ..webhook
            }))
        }
        WebhookOp::Delete { id } => match current {
            Some(_) => Ok(None),
            None => Err(WebhookError::NotFound(id)),
        },
        WebhookOp::Advance { id, through } => match current {
            Some(webhook) => Ok(Some(Webhook {
                delivered_through: webhook.delivered_through.max(through),
                ..webhook
            })),
            None => Err(WebhookError::NotFound(id)),
        },
    }
}

/// Checks a subscription's id, URL and secret.
pub fn check(id: &str, url: &str, secret: &str) -> Result<(), String> {
    crate::auth::check_name(id).map_err(|e| e.replace("token name", "webhook id"))?;
    if url.len() > URL_LEN_MAX {
        return Err(format!(
            "the URL has {} bytes; at most {URL_LEN_MAX}",
            url.len()
        ));
    }
    let scheme_ok = ["http://", "https://"].iter().any(|s| {
        url.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    if !scheme_ok || url.parse::<http::Uri>().is_err() || url.chars().any(char::is_whitespace) {
        return Err(format!("{url:?} is not an http:// or https:// URL"));
    }
    if !(SECRET_LEN_MIN..=SECRET_LEN_MAX).contains(&secret.len())
        || secret.chars().any(|c| c.is_control())
    {
        return Err(format!(
            "the secret has {SECRET_LEN_MIN} to {SECRET_LEN_MAX} printable characters"
        ));
    }
    Ok(())
}

/// The signature header's value for `body`: `sha256=` and the hex HMAC-SHA256.
pub fn sign(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(body);
    let tag: [u8; 32] = mac.finalize().into_bytes().into();
    format!("sha256={}", crate::audit::hex(&tag))
}

/// The JSON body POSTed for `event`.
pub fn payload(webhook_id: &str, event: &Event) -> Vec<u8> {
    json!({
        "webhook": webhook_id,
        "seq": event.seq,
        "event_id": event.event_id.to_string(),
        "recorded_at": time::format_rfc3339_ms(event.recorded_at_ms),
        "station": event.station,
        "operator": event.operator,
        "action": event.action.name(),
        "serial": event.serial,
        "sku": event.sku,
        "gtin": event.gtin,
        "lot": event.lot,
        "expiry": event.expiry.map(|d| d.to_string()),
        "outcome": event.outcome.name(),
        "reason": event.reason.name(),
        "message": event.message,
        "state_after": event.state_after.map(|s| s.name()),
        "location": event.location,
        "reference": event.reference,
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(id: &str) -> Webhook {
        Webhook {
            id: id.to_owned(),
            url: "http://127.0.0.1:9/hook".to_owned(),
            secret: "0123456789abcdef".to_owned(),
            filter: EventFilter::default(),
            created_at_ms: 0,
            created_by: "sam".to_owned(),
            delivered_through: 4,
        }
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn decisions() {
        let made = decide(WebhookOp::Create(webhook("w1")), None, 0, 7).unwrap();
        assert_eq!(made.as_ref().unwrap().created_at_ms, 7);
        assert_eq!(
            decide(WebhookOp::Create(webhook("w1")), made.clone(), 1, 8),
            Err(WebhookError::Exists("w1".to_owned()))
        );
        assert_eq!(
            decide(WebhookOp::Create(webhook("w2")), None, WEBHOOKS_MAX, 8),
            Err(WebhookError::Full)
        );
        assert!(decide(WebhookOp::Create(webhook("w2")), None, WEBHOOKS_MAX - 1, 8).is_ok());
        let advance = |through| WebhookOp::Advance {
            id: "w1".to_owned(),
            through,
        };
        let on = decide(advance(9), made.clone(), 1, 8).unwrap().unwrap();
        assert_eq!(on.delivered_through, 9);
        let back = decide(advance(2), Some(on), 1, 8).unwrap().unwrap();
        assert_eq!(back.delivered_through, 9, "never moves back");
        assert_eq!(
            decide(
                WebhookOp::Delete {
                    id: "w1".to_owned()
                },
                made,
                1,
                9
            ),
            Ok(None)
        );
        assert_eq!(
            decide(advance(3), None, 0, 9),
            Err(WebhookError::NotFound("w1".to_owned()))
        );
    }

    #[test]
    fn checks() {
        let secret = "0123456789abcdef";
        assert!(check("w1", "http://127.0.0.1:8080/hook", secret).is_ok());
        assert!(check("w1", "https://hooks.example.com/a?b=c", secret).is_ok());
        assert!(check("w 1", "http://x/", secret).is_err());
        assert!(check("w1", "ftp://x/", secret).is_err());
        assert!(check("w1", "http://x/ y", secret).is_err());
        assert!(check("w1", "http://x/", "short").is_err());
        assert!(
            check(
                "w1",
                &format!("http://x/{}", "a".repeat(URL_LEN_MAX)),
                secret
            )
            .is_err()
        ); // At the bounds: a URL of exactly URL_LEN_MAX bytes and secrets of 16 and 256.
        let url_at = format!("http://x/{}", "a".repeat(URL_LEN_MAX - "http://x/".len()));
        assert_eq!(url_at.len(), URL_LEN_MAX);
        assert!(check("w1", &url_at, secret).is_ok());
        assert!(check("w1", &format!("{url_at}a"), secret).is_err());
        assert!(check("w1", "http://x/", &"s".repeat(SECRET_LEN_MIN)).is_ok());
        assert!(check("w1", "http://x/", &"s".repeat(SECRET_LEN_MIN - 1)).is_err());
        assert!(check("w1", "http://x/", &"s".repeat(SECRET_LEN_MAX)).is_ok());
        assert!(check("w1", "http://x/", &"s".repeat(SECRET_LEN_MAX + 1)).is_err());
    }
}
