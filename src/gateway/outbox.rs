//! The durable outbox: every scan is written here, flushed to disk, before anything else
//! happens to it; the forwarder sends them in order and removes each once the server has
//! answered. Also kept here: the rejected results of scans replayed after an outage (the
//! supervisor's list) and the cached copy of the catalog's format rules. The only module that
//! sees sled in the gateway.
//!
//! One sled tree under `<dir>/db`, one prefix byte per record kind (sequence numbers big-endian,
//! so key order is scan order): `q` + seq → a waiting scan, `r` + seq → a rejected replayed
//! scan, `i` + SKU → a cached item, `m` + name → metadata. sled locks the directory: a second
//! gateway on the same outbox is refused, and `gateway status` reads `status.json`, which the
//! running gateway keeps current, instead.
//!
//! Durability: [`Outbox::push`] returns only after `flush`. Removing an answered scan is not
//! flushed: if the removal is lost in a crash the scan is sent again, and the server answers
//! it from its log (`event_id`) without applying it twice.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use prost::Message;
use serde::{Deserialize, Serialize};

use crate::proto::v1 as pb;

/// The default bound on waiting scans.
pub const OUTBOX_LEN_DEFAULT: usize = 100_000;
/// The largest bound that may be configured. When the outbox holds its bound, new scans are
/// refused (loudly, with the bad-read signal); waiting scans are never dropped.
pub const OUTBOX_LEN_MAX: usize = 10_000_000;
/// sled's page cache for the outbox, in bytes.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;
/// Waiting scans read from disk per call of [`Outbox::waiting_after`] at most.
pub const READ_CHUNK_LEN_MAX: usize = 1024;
const DB_DIR: &str = "db";
const STATUS_FILE: &str = "status.json";

const QUEUED: u8 = b'q';
const REJECTED: u8 = b'r';
const ITEM: u8 = b'i';
const META_ITEMS_AT: &[u8] = b"mitems_at";

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(
        "outbox {dir} is in use by a running gateway ({holder}); stop it or pass another --outbox"
    )]
    Locked { dir: String, holder: String },
    #[error("cannot open outbox {dir}: {source}")]
    Open { dir: String, source: sled::Error },
    #[error("outbox write failed: {0}")]
    Write(#[from] sled::Error),
    #[error(
        "outbox is full: {len} scans are waiting for the server (bound {max}); the scan was NOT taken"
    )]
    Full { len: usize, max: usize },
    #[error("outbox record {key} is unreadable: {why}")]
    Corrupt { key: String, why: String },
}

#[derive(Clone, PartialEq, Message)]
struct QueuedRecord {
    #[prost(message, optional, tag = "1")]
    request: Option<pb::ScanRequest>,
    #[prost(string, tag = "2")]
    source: String,
    #[prost(int64, tag = "3")]
    accepted_at_ms: i64,
}

#[derive(Clone, PartialEq, Message)]
struct RejectedRecord {
    #[prost(message, optional, tag = "1")]
    queued: Option<QueuedRecord>,
    #[prost(message, optional, tag = "2")]
    reply: Option<pb::ScanReply>,
    #[prost(int64, tag = "3")]
    answered_at_ms: i64,
    /// Set when the server refused the request itself (a gRPC error, not an in-band answer).
    #[prost(string, tag = "4")]
    refused: String,
}

/// A scan waiting in the outbox.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    pub seq: u64,
    pub request: pb::ScanRequest,
    /// The input it came from (a scanner's name, `stdin`, `replay`).
    pub source: String,
    pub accepted_at_ms: i64,
}

/// A replayed scan the server rejected, kept for the supervisor.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejected {
    pub waiting: Waiting,
    /// The server's answer; `None` when it refused the request outright (see `refused`).
    pub reply: Option<pb::ScanReply>,
    pub answered_at_ms: i64,
    pub refused: String,
}

/// Counts for `gateway status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxCounts {
    pub queued: usize,
    pub oldest_at_ms: Option<i64>,
    pub rejected: usize,
    pub max: usize,
}

struct Inner {
    db: sled::Db,
    max: usize,
    len: AtomicUsize,
    /// Serializes pushes, so the bound check and the sequence numbers follow one order.
    push: Mutex<()>,
}

/// The outbox; cheap to clone (one database behind an `Arc`).
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
    dir: PathBuf,
}

fn key(prefix: u8, seq: u64) -> [u8; 9] {
    let mut key = [0; 9];
    key[0] = prefix;
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

fn seq_of(key: &[u8]) -> Result<u64, OutboxError> {
    key.get(1..9)
        .and_then(|bytes| <[u8; 8]>::try_from(bytes).ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| corrupt(key, "key is not a prefix and a sequence number"))
}

fn corrupt(key: &[u8], why: impl Into<String>) -> OutboxError {
    OutboxError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        why: why.into(),
    }
}

fn decode_waiting(key: &[u8], value: &[u8]) -> Result<Waiting, OutboxError> {
    let record = QueuedRecord::decode(value).map_err(|e| corrupt(key, e.to_string()))?;
    waiting(seq_of(key)?, record).ok_or_else(|| corrupt(key, "record has no request"))
}

fn waiting(seq: u64, record: QueuedRecord) -> Option<Waiting> {
    let request = record.request?;
    // Checked again after reading what was checked before writing: the id is a UUID.
    uuid::Uuid::parse_str(&request.event_id).ok()?;
    Some(Waiting {
        seq,
        request,
        source: record.source,
        accepted_at_ms: record.accepted_at_ms,
    })
}

fn record_of(waiting: &Waiting) -> QueuedRecord {
    QueuedRecord {
        request: Some(waiting.request.clone()),
        source: waiting.source.clone(),
        accepted_at_ms: waiting.accepted_at_ms,
    }
}

/// An answered scan to take out of the outbox: the server's reply (none when it refused the
/// request outright), and `keep` = `Some(refusal)` to put it on the supervisor's list.
pub struct Completion<'a> {
    pub waiting: &'a Waiting,
    pub reply: Option<&'a pb::ScanReply>,
    pub keep: Option<&'a str>,
}

/// A scan to put in the outbox.
#[derive(Clone, Debug)]
pub struct NewScan {
    pub request: pb::ScanRequest,
    pub source: String,
    pub accepted_at_ms: i64,
}

impl Outbox {
    /// Opens (or creates) the outbox in `dir`, bounded to `max` waiting scans.
    pub fn open(dir: &Path, max: usize) -> Result<Outbox, OutboxError> {
        let dir_text = dir.display().to_string();
        let db = sled::Config::new()
            .path(dir.join(DB_DIR))
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|source| match source {
                sled::Error::Io(ref e) if e.to_string().contains("could not acquire lock") => {
                    OutboxError::Locked {
                        dir: dir_text.clone(),
                        holder: read_status(dir)
                            .map_or_else(|| "pid unknown".to_owned(), |s| format!("pid {}", s.pid)),
                    }
                }
                source => OutboxError::Open {
                    dir: dir_text.clone(),
                    source,
                },
            })?;
        let len = db.scan_prefix([QUEUED]).count();
        Ok(Outbox {
            inner: Arc::new(Inner {
                db,
                max: max.clamp(1, OUTBOX_LEN_MAX),
                len: AtomicUsize::new(len),
                push: Mutex::new(()),
            }),
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Waiting scans.
    pub fn len(&self) -> usize {
        self.inner.len.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn max(&self) -> usize {
        self.inner.max
    }

    /// Writes one scan and flushes; returns its sequence number. Blocks on the disk: call it
    /// off the async runtime.
    pub fn push(&self, scan: NewScan) -> Result<u64, OutboxError> {
        let seqs = self.push_many(vec![scan])?;
        seqs.first()
            .copied()
            .ok_or_else(|| corrupt(&[QUEUED], "push wrote nothing"))
    }

    /// Writes scans in one batch and one flush (all or none); returns their sequence numbers.
    /// Refused whole when they do not all fit under the bound.
    pub fn push_many(&self, scans: Vec<NewScan>) -> Result<Vec<u64>, OutboxError> {
        let _order = self.inner.push.lock().unwrap_or_else(|p| p.into_inner());
        let len = self.len();
        if len + scans.len() > self.inner.max {
            return Err(OutboxError::Full {
                len,
                max: self.inner.max,
            });
        }
        let mut batch = sled::Batch::default();
        let mut seqs = Vec::with_capacity(scans.len());
        for scan in scans {
            let seq = self.inner.db.generate_id()?;
            let record = QueuedRecord {
                request: Some(scan.request),
                source: scan.source,
                accepted_at_ms: scan.accepted_at_ms,
            };
            batch.insert(&key(QUEUED, seq), record.encode_to_vec());
            seqs.push(seq);
        }
        self.inner.db.apply_batch(batch)?;
        self.inner.db.flush()?;
        self.inner.len.fetch_add(seqs.len(), Ordering::AcqRel);
        Ok(seqs)
    }

    /// Up to `limit` waiting scans after sequence number `after` (from the oldest when `None`),
    /// in order.
    pub fn waiting_after(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Waiting>, OutboxError> {
        let start = match after {
            Some(seq) => key(QUEUED, seq.saturating_add(1)),
            None => key(QUEUED, 0),
        };
        let end = key(QUEUED + 1, 0);
        let mut out = Vec::new();
        for entry in self
            .inner
            .db
            .range(start..end)
            .take(limit.min(READ_CHUNK_LEN_MAX))
        {
            let (key, value) = entry?;
            out.push(decode_waiting(&key, &value)?);
        }
        Ok(out)
    }

    /// The newest waiting scan's sequence number.
    pub fn last_seq(&self) -> Result<Option<u64>, OutboxError> {
        match self.inner.db.scan_prefix([QUEUED]).next_back() {
            Some(entry) => Ok(Some(seq_of(&entry?.0)?)),
            None => Ok(None),
        }
    }

    /// Removes an answered scan; a rejected replayed one goes to the supervisor's list in the
    /// same atomic batch. Not flushed (see the module comment).
    pub fn complete(
        &self,
        waiting: &Waiting,
        reply: Option<&pb::ScanReply>,
        keep: Option<&str>,
        now_ms: i64,
    ) -> Result<(), OutboxError> {
        self.complete_many(
            &[Completion {
                waiting,
                reply,
                keep,
            }],
            now_ms,
        )
    }

    /// [`Outbox::complete`] for several answered scans in one batch. A scan no longer waiting
    /// (completed before) is skipped.
    pub fn complete_many(&self, done: &[Completion<'_>], now_ms: i64) -> Result<(), OutboxError> {
        let mut batch = sled::Batch::default();
        let mut removed = 0;
        for completion in done {
            let queued_key = key(QUEUED, completion.waiting.seq);
            if !self.inner.db.contains_key(queued_key)? {
                continue;
            }
            batch.remove(&queued_key);
            removed += 1;
            if let Some(refused) = completion.keep {
                let record = RejectedRecord {
                    queued: Some(record_of(completion.waiting)),
                    reply: completion.reply.cloned(),
                    answered_at_ms: now_ms,
                    refused: refused.to_owned(),
                };
                batch.insert(
                    &key(REJECTED, completion.waiting.seq),
                    record.encode_to_vec(),
                );
            }
        }
        self.inner.db.apply_batch(batch)?;
        self.inner.len.fetch_sub(removed, Ordering::AcqRel);
        Ok(())
    }

    /// The supervisor's list, oldest first.
    pub fn rejected(&self) -> Result<Vec<Rejected>, OutboxError> {
        let mut out = Vec::new();
        for entry in self.inner.db.scan_prefix([REJECTED]) {
            let (key, value) = entry?;
            out.push(decode_rejected(seq_of(&key)?, &value)?);
        }
        Ok(out)
    }

    /// The newest `n` entries of the supervisor's list as stored, oldest first (for the status
    /// file; [`decode_rejected`] reads them).
    pub fn rejected_records(&self, n: usize) -> Result<Vec<(u64, Vec<u8>)>, OutboxError> {
        let mut out = Vec::new();
        for entry in self.inner.db.scan_prefix([REJECTED]).rev().take(n) {
            let (key, value) = entry?;
            out.push((seq_of(&key)?, value.to_vec()));
        }
        out.reverse();
        Ok(out)
    }

    /// Empties the supervisor's list (after review); returns how many entries it held.
    pub fn clear_rejected(&self) -> Result<usize, OutboxError> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for entry in self.inner.db.scan_prefix([REJECTED]) {
            batch.remove(entry?.0);
            n += 1;
        }
        self.inner.db.apply_batch(batch)?;
        self.inner.db.flush()?;
        Ok(n)
    }

    pub fn counts(&self) -> Result<OutboxCounts, OutboxError> {
        let oldest_at_ms = match self.inner.db.scan_prefix([QUEUED]).next() {
            Some(entry) => {
                let (key, value) = entry?;
                Some(decode_waiting(&key, &value)?.accepted_at_ms)
            }
            None => None,
        };
        Ok(OutboxCounts {
            queued: self.len(),
            oldest_at_ms,
            rejected: self.inner.db.scan_prefix([REJECTED]).count(),
            max: self.inner.max,
        })
    }

    /// Replaces the cached catalog with `items`, fetched at `now_ms`.
    pub fn save_items(&self, items: &[pb::Item], now_ms: i64) -> Result<(), OutboxError> {
        let mut batch = sled::Batch::default();
        for entry in self.inner.db.scan_prefix([ITEM]) {
            batch.remove(entry?.0);
        }
        for item in items {
            let mut key = vec![ITEM];
            key.extend_from_slice(item.sku.as_bytes());
            batch.insert(key, item.encode_to_vec());
        }
        batch.insert(META_ITEMS_AT, &now_ms.to_be_bytes());
        self.inner.db.apply_batch(batch)?;
        self.inner.db.flush()?;
        Ok(())
    }

    /// The cached catalog and when it was fetched (`None` when never).
    pub fn items(&self) -> Result<(Vec<pb::Item>, Option<i64>), OutboxError> {
        let mut items = Vec::new();
        for entry in self.inner.db.scan_prefix([ITEM]) {
            let (key, value) = entry?;
            items.push(pb::Item::decode(&*value).map_err(|e| corrupt(&key, e.to_string()))?);
        }
        let at = self
            .inner
            .db
            .get(META_ITEMS_AT)?
            .and_then(|v| <[u8; 8]>::try_from(&*v).ok())
            .map(i64::from_be_bytes);
        Ok((items, at))
    }

    /// Flushes everything (on a clean stop).
    pub fn flush(&self) -> Result<(), OutboxError> {
        self.inner.db.flush()?;
        Ok(())
    }
}

/// One stored entry of the supervisor's list.
pub fn decode_rejected(seq: u64, value: &[u8]) -> Result<Rejected, OutboxError> {
    let key = key(REJECTED, seq);
    let record = RejectedRecord::decode(value).map_err(|e| corrupt(&key, e.to_string()))?;
    let waiting = record
        .queued
        .and_then(|queued| waiting(seq, queued))
        .ok_or_else(|| corrupt(&key, "record has no scan"))?;
    Ok(Rejected {
        waiting,
        reply: record.reply,
        answered_at_ms: record.answered_at_ms,
        refused: record.refused,
    })
}

/// The status file carries at most this many of the newest entries of the supervisor's list;
/// `gateway rejected` shows those while the gateway runs.
pub const STATUS_REJECTED_LEN_MAX: usize = 50;

/// What a running gateway says about itself in `<outbox>/status.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusFile {
    pub pid: u32,
    pub updated_at_ms: i64,
    pub server: String,
    /// `online`, `offline` or `unknown` (not reached yet).
    pub server_state: String,
    pub server_since_ms: i64,
    #[serde(flatten)]
    pub counts: OutboxCounts,
    /// The scanners open now, by name.
    pub devices: Vec<String>,
    /// The newest entries of the supervisor's list, as stored (sequence number, record).
    #[serde(default)]
    pub rejected_recent: Vec<(u64, Vec<u8>)>,
}

/// Writes the status file (a temporary file renamed over it, so readers never see half).
pub fn write_status(dir: &Path, status: &StatusFile) -> std::io::Result<()> {
    let temp = dir.join(format!("{STATUS_FILE}.tmp"));
    std::fs::write(&temp, serde_json::to_vec_pretty(status)?)?;
    std::fs::rename(temp, dir.join(STATUS_FILE))
}

/// The status file's content, if there is a readable one.
pub fn read_status(dir: &Path) -> Option<StatusFile> {
    let text = std::fs::read(dir.join(STATUS_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens the outbox again after this process dropped it. sled writes its IO buffers from
    /// a thread pool, and a job still running keeps the files (and sled's lock on them) for a
    /// moment after the last handle is gone; a gateway never reopens its own outbox, a test
    /// does, so the wait is here and not in `Outbox::open` (where a held lock means another
    /// gateway).
    fn reopen(dir: &Path, max: usize) -> Outbox {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            match Outbox::open(dir, max) {
                Err(OutboxError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::yield_now();
                }
                other => return other.unwrap(),
            }
        }
    }

    fn scan(n: u32) -> NewScan {
        NewScan {
            request: pb::ScanRequest {
                event_id: uuid::Uuid::new_v4().to_string(),
                station: "S".into(),
                raw: format!("SN{n}").into_bytes(),
                ..Default::default()
            },
            source: "test".into(),
            accepted_at_ms: 1000 + i64::from(n),
        }
    }

    #[test]
    fn scans_wait_in_order_survive_reopening_and_leave_once_answered() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path(), 3).unwrap();
        let seqs: Vec<u64> = (1..=3).map(|n| outbox.push(scan(n)).unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]));
        // Full: refused, nothing dropped.
        assert!(matches!(
            outbox.push(scan(4)),
            Err(OutboxError::Full { len: 3, max: 3 })
        ));
        assert!(matches!(
            outbox.push_many(vec![scan(5)]),
            Err(OutboxError::Full { .. })
        ));
        drop(outbox);

        let outbox = reopen(dir.path(), 3);
        assert_eq!(outbox.len(), 3);
        let waiting = outbox.waiting_after(None, 10).unwrap();
        let raws: Vec<&[u8]> = waiting.iter().map(|w| w.request.raw.as_slice()).collect();
        assert_eq!(raws, [b"SN1", b"SN2", b"SN3"]);
        assert_eq!(
            outbox.waiting_after(Some(waiting[0].seq), 1).unwrap()[0],
            waiting[1]
        );
        assert_eq!(outbox.last_seq().unwrap(), Some(waiting[2].seq));
        assert_eq!(
            outbox.counts().unwrap(),
            OutboxCounts {
                queued: 3,
                oldest_at_ms: Some(1001),
                rejected: 0,
                max: 3
            }
        );

        let reply = pb::ScanReply {
            event_id: waiting[1].request.event_id.clone(),
            outcome: pb::Outcome::Rejected.into(),
            ..Default::default()
        };
        outbox.complete(&waiting[0], None, None, 5).unwrap();
        outbox
            .complete(&waiting[1], Some(&reply), Some(""), 6)
            .unwrap();
        // A second completion of the same scan changes nothing.
        outbox
            .complete(&waiting[1], Some(&reply), Some(""), 7)
            .unwrap();
        assert_eq!(outbox.len(), 1);
        let rejected = outbox.rejected().unwrap();
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].waiting, waiting[1]);
        assert_eq!(rejected[0].reply.as_ref(), Some(&reply));
        assert_eq!(rejected[0].answered_at_ms, 6);
        assert_eq!(outbox.counts().unwrap().oldest_at_ms, Some(1003));
        let records = outbox.rejected_records(STATUS_REJECTED_LEN_MAX).unwrap();
        let (seq, bytes) = &records[0];
        assert_eq!(decode_rejected(*seq, bytes).unwrap(), rejected[0]);
        assert_eq!(outbox.clear_rejected().unwrap(), 1);
        assert!(outbox.rejected().unwrap().is_empty());
    }

    #[test]
    fn a_second_opener_is_refused_and_the_item_cache_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path(), 10).unwrap();
        write_status(
            dir.path(),
            &StatusFile {
                pid: 4242,
                ..StatusFile::default()
            },
        )
        .unwrap();
        let error = Outbox::open(dir.path(), 10).err().unwrap().to_string();
        assert!(
            error.contains("in use by a running gateway (pid 4242)"),
            "{error}"
        );

        assert_eq!(outbox.items().unwrap(), (vec![], None));
        let item = |sku: &str| pb::Item {
            sku: sku.into(),
            ..Default::default()
        };
        outbox.save_items(&[item("A"), item("B")], 77).unwrap();
        outbox.save_items(&[item("C")], 78).unwrap();
        assert_eq!(outbox.items().unwrap(), (vec![item("C")], Some(78)));
    }
}
