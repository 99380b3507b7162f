//! The tamper-evident trail: one SHA-256 chain over the event log.
//!
//! Every event carries the hash of the event before it (`prev_hash`); the first carries
//! [`GENESIS`]. An event's hash is the SHA-256 of its canonical record encoding
//! ([`crate::store::event_hash`]). Editing a stored event changes its hash, so the next event
//! no longer matches; deleting one leaves a gap in the sequence numbers. Only the newest event
//! has nothing after it to give it away: an auditor who keeps the head (its sequence number
//! and hash, `serialtrack audit head`) can check later that the log still leads to it.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::domain::Event;

/// What the first event of the log carries as the hash before it.
pub const GENESIS: [u8; 32] = [0; 32];

pub fn hash_record(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn hex(hash: &[u8; 32]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash from 64 hex digits.
pub fn parse_hex(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut hash = [0u8; 32];
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(hash)
}

/// Where the chain is broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Break {
    /// Events from `seq` on are missing before `next`.
    Missing { seq: u64, next: u64 },
    /// Event `seq` is not the event the one after it was chained to: one of the two was
    /// changed.
    Changed { seq: u64 },
    /// Event `seq` carries no chain hash although events before it do.
    Unchained { seq: u64 },
}

impl Break {
    /// The first event the break concerns.
    pub fn seq(&self) -> u64 {
        match self {
            Break::Missing { seq, .. } | Break::Changed { seq } | Break::Unchained { seq } => *seq,
        }
    }
}

impl fmt::Display for Break {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Break::Missing { seq, next } if next - seq == 1 => {
                write!(f, "event {seq} is missing (deleted)")
            }
            Break::Missing { seq, next } => {
                write!(f, "events {seq} to {} are missing (deleted)", next - 1)
            }
            Break::Changed { seq } => write!(
                f,
                "event {seq} does not hash to what event {} carries: event {seq} (or {}) was changed",
                seq + 1,
                seq + 1
            ),
            Break::Unchained { seq } => write!(
                f,
                "event {seq} carries no chain hash although the events before it do: it was replaced"
            ),
        }
    }
}

/// Walks the log in sequence order, one event at a time.
#[derive(Clone, Debug)]
pub struct Chain {
    next_seq: u64,
    last_hash: [u8; 32],
    /// Events before the first chained one (written before the chain existed).
    pub unchained: u64,
    pub first_chained: Option<u64>,
}

impl Default for Chain {
    fn default() -> Self {
        Chain {
            next_seq: 1,
            last_hash: GENESIS,
            unchained: 0,
            first_chained: None,
        }
    }
}

impl Chain {
    /// Checks the next event and moves on past it. After a break the chain goes on from this
    /// event, so a caller may look for more breaks.
    pub fn push(&mut self, event: &Event) -> Result<(), Break> {
        let expected = self.next_seq;
        let mut found = Ok(());
        if event.seq != expected {
            found = Err(Break::Missing {
                seq: expected,
                next: event.seq,
            });
        }
        match event.prev_hash {
            None if self.first_chained.is_some() => {
                found = found.and(Err(Break::Unchained { seq: event.seq }));
            }
            None => self.unchained += 1,
            Some(prev) => {
                // After a gap there is nothing to compare with: the gap is the break.
                if found.is_ok() && prev != self.last_hash {
                    found = Err(Break::Changed { seq: event.seq - 1 });
                }
                self.first_chained.get_or_insert(event.seq);
            }
        }
        self.last_hash = crate::store::event_hash(event);
        self.next_seq = event.seq + 1;
        found
    }

    /// The newest event checked and its hash (seq 0 and [`GENESIS`] before any).
    pub fn head(&self) -> (u64, [u8; 32]) {
        (self.next_seq - 1, self.last_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, EntryMode, Outcome, Reason};

    fn event(seq: u64, prev_hash: Option<[u8; 32]>) -> Event {
        Event {
            seq,
            event_id: uuid::Uuid::from_u128(u128::from(seq)),
            recorded_at_ms: 1_000 + i64::try_from(seq).unwrap(),
            client_time_ms: 0,
            station: "D".to_owned(),
            operator: "op".to_owned(),
            action: Action::Receive,
            raw: b"S".to_vec(),
            entry_mode: EntryMode::Scanned,
            serial: format!("S{seq}"),
            sku: "X".to_owned(),
            gtin: None,
            lot: None,
            expiry: None,
            outcome: Outcome::Accepted,
            reason: Reason::Ok,
            message: "received".to_owned(),
            state_after: None,
            location: None,
            reference: None,
            prev_hash,
        }
    }

    /// A log of `n` chained events after `legacy` unchained ones.
    fn log(legacy: u64, n: u64) -> Vec<Event> {
        let mut events = Vec::new();
        let mut last = GENESIS;
        for seq in 1..=legacy + n {
            let e = event(seq, (seq > legacy).then_some(last));
            last = crate::store::event_hash(&e);
            events.push(e);
        }
        events
    }

    fn check(events: &[Event]) -> (Vec<Break>, Chain) {
        let mut chain = Chain::default();
        let breaks = events.iter().filter_map(|e| chain.push(e).err()).collect();
        (breaks, chain)
    }

    #[test]
    fn an_intact_log_and_its_head() {
        let events = log(0, 5);
        let (breaks, chain) = check(&events);
        assert!(breaks.is_empty());
        assert_eq!(chain.head(), (5, crate::store::event_hash(&events[4])));
        assert_eq!(chain.first_chained, Some(1));
        assert_eq!(events[0].prev_hash, Some(GENESIS));
    }

    #[test]
    fn a_changed_event_is_named() {
        let mut events = log(0, 5);
        events[2].message = "received, honest".to_owned();
        assert_eq!(check(&events).0, [Break::Changed { seq: 3 }]);
        // The newest event has nothing after it: only the kept head shows the change.
        let mut events = log(0, 5);
        let kept = check(&events).1.head();
        events[4].operator = "someone".to_owned();
        let (breaks, chain) = check(&events);
        assert!(breaks.is_empty());
        assert_ne!(chain.head(), kept);
    }

    #[test]
    fn deleted_and_replaced_events_are_named() {
        let mut events = log(0, 6);
        events.remove(2);
        assert_eq!(check(&events).0, [Break::Missing { seq: 3, next: 4 }]);
        let mut events = log(0, 6);
        events.drain(1..4);
        let (breaks, _) = check(&events);
        assert_eq!(breaks, [Break::Missing { seq: 2, next: 5 }]);
        assert_eq!(breaks[0].to_string(), "events 2 to 4 are missing (deleted)");
        let mut events = log(0, 4);
        events[2].prev_hash = None;
        assert_eq!(check(&events).0[0], Break::Unchained { seq: 3 });
    }

    #[test]
    fn events_from_before_the_chain_are_counted_not_broken() {
        let (breaks, chain) = check(&log(3, 2));
        assert!(breaks.is_empty());
        assert_eq!((chain.unchained, chain.first_chained), (3, Some(4)));
    }

    #[test]
    fn hex_round_trip() {
        let hash = hash_record(b"abc");
        assert_eq!(
            hex(&hash),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_hex(&hex(&hash)), Some(hash));
        assert_eq!(parse_hex("xy"), None);
        assert_eq!(parse_hex(&"g".repeat(64)), None);
    }
}
