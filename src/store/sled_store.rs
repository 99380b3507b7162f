//! The embedded backend: one ordered map of keys in redb (or sled, for data dirs made before
//! redb; `kv.rs`), one writer thread with group commit, reads that do not wait for it.
//!
//! The writer thread is the only code that writes to the engine. It takes every command
//! waiting in its queue (up to [`GROUP_SCANS_MAX`] scans), decides each scan against the stored
//! state plus what earlier commands of the same group changed, writes the whole group as one
//! durable batch (`Kv::write`: a redb commit, or sled's `apply_batch` and a flush, since sled
//! acknowledges writes before they reach disk), and only then answers: "accepted" means "on
//! disk".

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::batch::Batch;
use super::keys;
use super::kv::{Engine, Kv};
use super::reclaim;
use super::records::{
    current_templates, decode_facts, decode_print_job, decode_range, decode_template,
};
use super::records::{
    decode_event, decode_item, decode_kpi, decode_order, decode_pick_line, decode_recall,
    decode_receipt, decode_receipt_entry, decode_set, decode_shipment, decode_unit, encode_event,
    encode_item, encode_kpi, encode_order, encode_pick_line, encode_recall, encode_receipt,
    encode_receipt_entry, encode_set, encode_shipment, encode_unit, event_hash, upgrade_order,
    upgrade_shipment,
};
use super::slot::TreeSlot;
use super::tokens;
use super::webhooks;
use super::{ItemConflict, PreparedScan, PutItemAnswer, ScanAnswer, Store, StoreError, UnitQuery};
use crate::auth::{self, Token, TokenError, TokenOp};
use crate::domain::issue::{IssueAnswer, IssueError, IssueOp, Range, UnitFacts};
use crate::domain::kpi::{KpiCounts, KpiKey};
use crate::domain::label::{PrintJob, Template};
use crate::domain::warehouse::{recall_hold, sort_picks};
use crate::domain::{self, Event, Hold, Item, Outcome, Unit, time};
use crate::domain::{
    Dispatch, DocumentAnswer, DocumentError, DocumentOp, Mark, Order, Pick, PickChange, Recall,
    Receipt, ReceiptEntry, Shipment, UnitSet,
};
use crate::metrics::Metrics;
use crate::webhook::{self, Webhook, WebhookError, WebhookOp};

/// The most commands waiting for the writer. Callers beyond it wait for room (backpressure),
/// they are never dropped.
pub const WRITER_QUEUE_LEN_MAX: usize = 4096;
/// A group stops taking further commands once it holds this many scans (a single batch
/// command is never split, so a group can exceed it by one batch).
pub const GROUP_SCANS_MAX: usize = 4096;
/// The engine's page cache, in bytes. redb (new data dirs) holds about this much: the soak's
/// server settles near 122-130 MiB of RSS within three minutes and stays there. sled (older
/// data dirs) counts a cached page by its size in the log and holds it in memory at two to
/// three times that (near 260 MiB of RSS after five minutes of the soak), and beyond the cache
/// keeps a few hundred bytes per unit stored for its page table and log bookkeeping (README,
/// soak).
pub const CACHE_BYTES: u64 = 64 * 1024 * 1024;

const LOCK_FILE: &str = "serialtrack.lock";
/// How long opening waits for a data dir lock that is held, before saying who holds it.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

type ScanReply = oneshot::Sender<Result<Vec<ScanAnswer>, StoreError>>;
type ItemReply = oneshot::Sender<Result<Result<PutItemAnswer, ItemConflict>, StoreError>>;
type DocumentReply = oneshot::Sender<Result<Result<DocumentAnswer, DocumentError>, StoreError>>;
type TokenReply = oneshot::Sender<Result<Result<Token, TokenError>, StoreError>>;
type WebhookReply = oneshot::Sender<Result<Result<Option<Webhook>, WebhookError>, StoreError>>;
type IssueReply = oneshot::Sender<Result<Result<IssueAnswer, IssueError>, StoreError>>;

pub(super) enum Command {
    Document {
        op: DocumentOp,
        reply: DocumentReply,
    },
    Scans {
        scans: Vec<PreparedScan>,
        reply: ScanReply,
    },
    PutItem {
        item: Item,
        reply: ItemReply,
    },
    Token {
        op: TokenOp,
        reply: TokenReply,
    },
    Webhook {
        op: WebhookOp,
        reply: WebhookReply,
    },
    Issue {
        op: IssueOp,
        reply: IssueReply,
    },
}

/// What a caller is told to do after a write failure.
pub(super) const RETRY_HINT: &str = "nothing of this request was acknowledged: retry it (with the same event_id) once the disk has room and is writable";

impl Command {
    /// Answers the command with UNAVAILABLE without deciding it.
    pub(super) fn refuse(self, why: &str) {
        let error = || StoreError::Unavailable(why.to_owned());
        match self {
            Command::Scans { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Command::PutItem { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Command::Document { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Command::Token { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Command::Webhook { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
            Command::Issue { reply, .. } => {
                let _ = reply.send(Err(error()));
            }
        }
    }

    pub(super) fn n_scans(&self) -> usize {
        match self {
            Command::Scans { scans, .. } => scans.len(),
            Command::Issue { op, .. } => op.len(),
            Command::PutItem { .. }
            | Command::Document { .. }
            | Command::Token { .. }
            | Command::Webhook { .. } => 1,
        }
    }
}

/// A handle to an open store. Clones share one writer; the store closes when the last
/// handle is dropped (the writer finishes its queue, then the data dir is unlocked).
#[derive(Clone)]
pub struct SledStore {
    inner: Arc<Inner>,
}

/// Every recall in the order they were made. Few (a recall is a business event), so kept in
/// memory: every pick and dispatch checks the active ones, every unit read shows their hold.
pub(super) type Recalls = Arc<RwLock<Arc<Vec<Recall>>>>;

struct Inner {
    /// The database readers use; empty while the writer reopens it after a failed write.
    tree: Arc<TreeSlot>,
    recalls: Recalls,
    /// The highest sequence number on disk, raised after each flush.
    committed: tokio::sync::watch::Receiver<u64>,
    commands: Mutex<Option<mpsc::Sender<Command>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    metrics: Arc<Metrics>,
    dir: PathBuf,
    engine: Engine,
    // Dropped last: the lock outlives the database handle.
    _lock: File,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue ends the writer loop after the commands already queued.
        drop(self.commands.lock().map(|mut c| c.take()));
        if let Ok(mut writer) = self.writer.lock()
            && let Some(handle) = writer.take()
        {
            let _ = handle.join();
        }
    }
}

pub(super) fn lock_data_dir(dir: &Path) -> Result<File, StoreError> {
    let dir_text = dir.display().to_string();
    let io = |source| StoreError::DataDir {
        dir: dir_text.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(LOCK_FILE))
        .map_err(io)?;
    // A process forked by this one (a child about to exec) shares the lock for a moment after
    // the store that held it closed: wait briefly before calling the directory taken.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    let mut locked = file.try_lock();
    while matches!(locked, Err(TryLockError::WouldBlock)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        locked = file.try_lock();
    }
    match locked {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = match holder.trim() {
                "" => "pid unknown".to_owned(),
                pid => format!("pid {pid}"),
            };
            return Err(StoreError::Locked {
                dir: dir_text,
                holder,
            });
        }
        Err(TryLockError::Error(e)) => return Err(io(e)),
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(file)
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, locking it against a second process.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with_cache(dir, CACHE_BYTES)
    }

    /// [`SledStore::open`] with a page cache of `cache_bytes` (`serve --cache-mib`).
    pub fn open_with_cache(dir: &Path, cache_bytes: u64) -> Result<SledStore, StoreError> {
        SledStore::open_engine(dir, Engine::of_dir(dir), cache_bytes)
    }

    /// [`SledStore::open_with_cache`] on `engine`, which must be the one the data dir already
    /// holds, if any (a test or bench making a sled store).
    pub fn open_engine(
        dir: &Path,
        engine: Engine,
        cache_bytes: u64,
    ) -> Result<SledStore, StoreError> {
        let lock = lock_data_dir(dir)?;
        if let Some(found) = Engine::holding(dir)
            && found != engine
        {
            return Err(StoreError::Corrupt(format!(
                "the data dir {} holds a {} store, not {}",
                dir.display(),
                found.name(),
                engine.name()
            )));
        }
        let kv = Kv::open_waiting(dir, engine, cache_bytes, LOCK_WAIT)?;
        upgrade_layout(&kv)?;
        let (next_seq, last_hash, recalls) = read_writer_state(&kv)?;
        let recalls: Recalls = Arc::new(RwLock::new(Arc::new(recalls)));
        let engine = kv.engine();
        let slot = Arc::new(TreeSlot::new(kv.clone()));
        let (tx, rx) = mpsc::channel(WRITER_QUEUE_LEN_MAX);
        let (committed_tx, committed) = tokio::sync::watch::channel(next_seq - 1);
        let metrics = Arc::new(Metrics::new());
        let writer = Writer {
            open: Some(kv),
            engine,
            slot: slot.clone(),
            dir: dir.to_owned(),
            cache_bytes,
            next_seq,
            last_hash,
            recalls: recalls.clone(),
            committed: committed_tx,
            metrics: metrics.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("serialtrack-writer".to_owned())
            .spawn(move || writer.run(rx))
            .map_err(|source| StoreError::DataDir {
                dir: dir.display().to_string(),
                source,
            })?;
        Ok(SledStore {
            inner: Arc::new(Inner {
                tree: slot,
                recalls,
                committed,
                commands: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(handle)),
                metrics,
                dir: dir.to_owned(),
                engine,
                _lock: lock,
            }),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The engine the data dir holds.
    pub fn engine(&self) -> Engine {
        self.inner.engine
    }

    /// Bytes the data directory takes on disk now.
    pub fn disk_bytes(&self) -> u64 {
        dir_bytes(&self.inner.dir)
    }

    async fn send(&self, command: Command) -> Result<(), StoreError> {
        let sender = self
            .inner
            .commands
            .lock()
            .map_err(|_| StoreError::Closed)?
            .clone()
            .ok_or(StoreError::Closed)?;
        sender.send(command).await.map_err(|_| StoreError::Closed)
    }

    fn recalls(&self) -> Arc<Vec<Recall>> {
        self.inner
            .recalls
            .read()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |r| r.clone())
    }

    /// A unit as clients see it: with the hold an active recall puts on it.
    fn as_seen(&self, mut unit: Unit, recalls: &[Recall]) -> Unit {
        if unit.hold.is_none() {
            unit.hold = recall_hold(recalls, &unit);
        }
        unit
    }

    /// The units behind the keys of an index prefix, after `after` in serial order.
    fn indexed_units(
        &self,
        prefix: Option<Vec<u8>>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Unit>, StoreError> {
        let Some(prefix) = prefix else {
            return Ok(Vec::new());
        };
        let start = std::ops::Bound::Excluded(keys::indexed(&prefix, after));
        let mut units = Vec::with_capacity(limit.min(1024));
        for entry in self
            .inner
            .tree
            .range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded))
        {
            let (key, _) = entry?;
            let Some(serial) = key.strip_prefix(prefix.as_slice()) else {
                break;
            };
            let serial = std::str::from_utf8(serial)
                .map_err(|e| StoreError::Corrupt(format!("index key: {e}")))?;
            let unit = read_unit(&self.inner.tree, serial)?
                .ok_or_else(|| StoreError::Corrupt(format!("index names missing unit {serial}")))?;
            units.push(unit);
            if units.len() == limit {
                break;
            }
        }
        Ok(units)
    }

    /// The units of a document's serial list, after `after` in serial order.
    fn listed_units(
        &self,
        mut serials: Vec<String>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Unit>, StoreError> {
        serials.sort();
        serials.dedup();
        serials
            .iter()
            .filter(|s| s.as_str() > after)
            .take(limit)
            .filter_map(|s| read_unit(&self.inner.tree, s).transpose())
            .collect()
    }

    /// Units in serial order after `after` that `keep` accepts, from the serial `from` on.
    fn scanned_units(
        &self,
        from: &str,
        last: Option<&str>,
        after: &str,
        limit: usize,
        keep: impl Fn(&Unit) -> bool,
    ) -> Result<Vec<Unit>, StoreError> {
        let start = if after >= from {
            std::ops::Bound::Excluded(keys::unit(after))
        } else {
            std::ops::Bound::Included(keys::unit(from))
        };
        let end = match last {
            Some(last) => std::ops::Bound::Included(keys::unit(last)),
            None => std::ops::Bound::Excluded(vec![keys::UNIT + 1]),
        };
        let mut units = Vec::with_capacity(limit.min(1024));
        for entry in self.inner.tree.range::<Vec<u8>, _>((start, end)) {
            let unit = decode_unit(&entry?.1)?;
            if keep(&unit) {
                units.push(unit);
                if units.len() == limit {
                    break;
                }
            }
        }
        Ok(units)
    }

    fn get_event(&self, seq: u64) -> Result<Option<Event>, StoreError> {
        self.inner
            .tree
            .get(keys::event(seq))?
            .map(|v| decode_event(&v))
            .transpose()
    }
}

/// Bytes the files below `dir` take on disk.
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&entry.path()),
            // Blocks allocated, as `du` counts them: redb grows its file in doubling steps
            // with a sparse tail, which takes no disk until written.
            Ok(m) => std::os::unix::fs::MetadataExt::blocks(&m) * 512,
            Err(_) => 0,
        })
        .sum()
}

impl Store for SledStore {
    async fn put_item(
        &self,
        item: Item,
    ) -> Result<Result<PutItemAnswer, ItemConflict>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::PutItem { item, reply }).await?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn scan(&self, scans: Vec<PreparedScan>) -> Result<Vec<ScanAnswer>, StoreError> {
        if scans.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.send(Command::Scans { scans, reply }).await?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn document(
        &self,
        op: DocumentOp,
    ) -> Result<Result<DocumentAnswer, DocumentError>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Document { op, reply }).await?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn item(&self, sku: &str) -> Result<Option<Item>, StoreError> {
        read_item(&self.inner.tree, sku)
    }

    async fn token_op(&self, op: TokenOp) -> Result<Result<Token, TokenError>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Token { op, reply }).await?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<Token>, StoreError> {
        tokens::read_token_by_hash(&self.inner.tree, hash)
    }

    async fn webhook_op(
        &self,
        op: WebhookOp,
    ) -> Result<Result<Option<Webhook>, WebhookError>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Webhook { op, reply }).await?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn issue(&self, op: IssueOp) -> Result<Result<IssueAnswer, IssueError>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Issue { op, reply }).await?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn ranges(&self, sku: &str) -> Result<Vec<Range>, StoreError> {
        let mut ranges = Vec::new();
        if let Some(prefix) = keys::range_prefix(sku) {
            for entry in self.inner.tree.scan_prefix(prefix) {
                ranges.push(decode_range(&entry?.1)?);
            }
        }
        Ok(ranges)
    }

    async fn facts(&self, serial: &str) -> Result<UnitFacts, StoreError> {
        self.inner
            .tree
            .get(keys::facts(serial))?
            .map_or_else(|| Ok(UnitFacts::default()), |v| decode_facts(&v))
    }

    async fn template(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<Template>, StoreError> {
        match version {
            None => printing::read_template(&self.inner.tree, name),
            Some(v) => match keys::template(name, v) {
                Some(key) => self
                    .inner
                    .tree
                    .get(key)?
                    .map(|b| decode_template(&b))
                    .transpose(),
                None => Ok(None),
            },
        }
    }

    async fn templates(&self) -> Result<Vec<Template>, StoreError> {
        let records = self.inner.tree.prefix(keys::TEMPLATES)?;
        current_templates(records.iter().map(|(_, v)| v))
    }

    async fn print_job(&self, id: &str) -> Result<Option<PrintJob>, StoreError> {
        self.inner
            .tree
            .get(keys::print_job(id))?
            .map(|b| decode_print_job(&b))
            .transpose()
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        webhooks::read_webhooks(self.inner.tree.scan_prefix([webhooks::WEBHOOK]))
    }

    async fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        tokens::read_tokens(self.inner.tree.scan_prefix([tokens::TOKEN]))
    }

    async fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        read_order(&self.inner.tree, id)
    }

    async fn order_picks(&self, id: &str) -> Result<Vec<Pick>, StoreError> {
        read_picks(&self.inner.tree, id)
    }

    async fn shipment(&self, id: &str) -> Result<Option<Shipment>, StoreError> {
        read_shipment(&self.inner.tree, id)
    }

    async fn shipment_dispatched(&self, id: &str) -> Result<Vec<String>, StoreError> {
        read_dispatched(&self.inner.tree, id)
    }

    async fn items(&self, after_sku: &str, limit: usize) -> Result<Vec<Item>, StoreError> {
        let start = std::ops::Bound::Excluded(keys::item(after_sku));
        let end = std::ops::Bound::Excluded(vec![keys::ITEM + 1]);
        self.inner
            .tree
            .range::<Vec<u8>, _>((start, end))
            .take(limit)
            .map(|entry| decode_item(&entry?.1))
            .collect()
    }

    async fn unit(&self, serial: &str) -> Result<Option<Unit>, StoreError> {
        let recalls = self.recalls();
        Ok(read_unit(&self.inner.tree, serial)?.map(|u| self.as_seen(u, &recalls)))
    }

    async fn unit_by_mfr(&self, mfr: &str) -> Result<Option<Unit>, StoreError> {
        match read_serial_by_mfr(&self.inner.tree, mfr)? {
            Some(serial) => self.unit(&serial).await,
            None => Ok(None),
        }
    }

    async fn stock(&self, sku: &str, limit: usize) -> Result<Vec<Unit>, StoreError> {
        let Some(prefix) = keys::stock_prefix(sku) else {
            return Ok(Vec::new());
        };
        let recalls = self.recalls();
        let mut units = Vec::with_capacity(limit.min(1024));
        for entry in self.inner.tree.scan_prefix(&prefix).take(limit) {
            let (key, _) = entry?;
            let serial = key
                .get(prefix.len() + keys::STOCK_ORDER_LEN..)
                .and_then(|s| std::str::from_utf8(s).ok())
                .ok_or_else(|| StoreError::Corrupt("stock index key".to_owned()))?;
            let unit = read_unit(&self.inner.tree, serial)?.ok_or_else(|| {
                StoreError::Corrupt(format!("stock index names missing unit {serial}"))
            })?;
            units.push(self.as_seen(unit, &recalls));
        }
        Ok(units)
    }

    async fn kpis(
        &self,
        from: crate::barcode::Date,
        to: crate::barcode::Date,
        limit: usize,
    ) -> Result<Vec<(KpiKey, KpiCounts)>, StoreError> {
        let mut rows = Vec::new();
        for entry in self
            .inner
            .tree
            .range(keys::kpi_day(from)..keys::kpi_after_day(to))
            .take(limit)
        {
            let (key, value) = entry?;
            let (day, station, operator) =
                keys::kpi_parts(&key).ok_or_else(|| StoreError::Corrupt("kpi key".to_owned()))?;
            rows.push((
                KpiKey {
                    day,
                    station,
                    operator,
                },
                decode_kpi(&value)?,
            ));
        }
        Ok(rows)
    }

    async fn receipts(&self) -> Result<Vec<Receipt>, StoreError> {
        self.inner
            .tree
            .scan_prefix([keys::RECEIPT])
            .map(|entry| decode_receipt(&entry?.1))
            .collect()
    }

    async fn shipments(&self) -> Result<Vec<Shipment>, StoreError> {
        self.inner
            .tree
            .scan_prefix([keys::SHIPMENT])
            .map(|entry| decode_shipment(&entry?.1))
            .collect()
    }

    async fn set(&self, id: &str) -> Result<Option<UnitSet>, StoreError> {
        read_set(&self.inner.tree, id)
    }

    async fn recall(&self, id: &str) -> Result<Option<Recall>, StoreError> {
        Ok(self.recalls().iter().find(|r| r.id == id).cloned())
    }

    async fn recalls(&self) -> Result<Vec<Recall>, StoreError> {
        Ok(self.recalls().as_ref().clone())
    }

    async fn receipt(&self, id: &str) -> Result<Option<Receipt>, StoreError> {
        read_receipt(&self.inner.tree, id)
    }

    async fn receipt_entries(
        &self,
        id: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<ReceiptEntry>, StoreError> {
        let Some(prefix) = keys::receipt_prefix(id) else {
            return Ok(Vec::new());
        };
        let start = std::ops::Bound::Excluded(keys::indexed(&prefix, after));
        let mut entries = Vec::with_capacity(limit.min(1024));
        for entry in self
            .inner
            .tree
            .range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded))
        {
            let (key, value) = entry?;
            let Some(serial) = key.strip_prefix(prefix.as_slice()) else {
                break;
            };
            let serial = String::from_utf8(serial.to_vec())
                .map_err(|e| StoreError::Corrupt(format!("receipt entry key: {e}")))?;
            let (mark, sku) = decode_receipt_entry(&value)?;
            entries.push(ReceiptEntry { serial, sku, mark });
            if entries.len() == limit {
                break;
            }
        }
        Ok(entries)
    }

    async fn units(
        &self,
        query: &UnitQuery,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Unit>, StoreError> {
        use domain::RecallScope;
        let units = match query {
            UnitQuery::Scope(RecallScope::Lot { sku, lot }) => {
                self.indexed_units(keys::lot_prefix(sku, lot), after, limit)?
            }
            UnitQuery::Location(location) => {
                self.indexed_units(keys::place_prefix(location), after, limit)?
            }
            UnitQuery::Scope(RecallScope::SerialRange { first, last }) => {
                self.scanned_units(first, Some(last), after, limit, |_| true)?
            }
            UnitQuery::All => self.scanned_units("", None, after, limit, |_| true)?,
            UnitQuery::Scope(scope @ RecallScope::ReceivedBetween { .. }) => {
                self.scanned_units("", None, after, limit, |u| scope.covers(u))?
            }
            UnitQuery::Order(id) => {
                let picks = read_picks(&self.inner.tree, id)?;
                self.listed_units(picks.into_iter().map(|p| p.serial).collect(), after, limit)?
            }
            UnitQuery::Shipment(id) => {
                self.listed_units(read_dispatched(&self.inner.tree, id)?, after, limit)?
            }
        };
        let recalls = self.recalls();
        Ok(units
            .into_iter()
            .map(|u| self.as_seen(u, &recalls))
            .collect())
    }

    async fn history(
        &self,
        serial: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let (Some(start), Some(end)) = (
            after_seq
                .checked_add(1)
                .and_then(|s| keys::history(serial, s)),
            keys::history(serial, u64::MAX),
        ) else {
            return Ok(Vec::new());
        };
        let mut events = Vec::new();
        for entry in self.inner.tree.range(start..=end).take(limit) {
            let (key, _) = entry?;
            let seq = keys::history_seq(&key)
                .ok_or_else(|| StoreError::Corrupt("history key".to_owned()))?;
            let event = self
                .get_event(seq)?
                .ok_or_else(|| StoreError::Corrupt(format!("history names missing event {seq}")))?;
            events.push(event);
        }
        Ok(events)
    }

    fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    fn committed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.committed.clone()
    }

    async fn events(&self, from_seq: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let start = keys::event(from_seq.max(1));
        let end = keys::event(u64::MAX);
        self.inner
            .tree
            .range(start..=end)
            .take(limit)
            .map(|entry| decode_event(&entry?.1))
            .collect()
    }
}

/// The point lookup and prefix scan the read helpers need, on the writer's tree or the
/// readers' slot.
pub(super) trait Get {
    fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<sled::IVec>, StoreError>;
    /// Every key with `prefix` and its value, in key order.
    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(sled::IVec, sled::IVec)>, StoreError>;
}

impl Get for Kv {
    fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<sled::IVec>, StoreError> {
        Kv::get(self, key)
    }

    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(sled::IVec, sled::IVec)>, StoreError> {
        self.scan_prefix(prefix).collect()
    }
}

impl Get for Arc<TreeSlot> {
    fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<sled::IVec>, StoreError> {
        TreeSlot::get(self, key)
    }

    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(sled::IVec, sled::IVec)>, StoreError> {
        self.scan_prefix(prefix).collect()
    }
}

/// Upgrades a store of an earlier key layout to [`keys::LAYOUT_VERSION`], or refuses one of a
/// later layout. From layout 1, every order's picked serials and every shipment's dispatched
/// serials move out of their record into keys of their own (`q`, `d`), a chunk of documents
/// per batch; a document is upgraded with its keys atomically, so an upgrade cut short goes on
/// at the next open.
pub(super) fn upgrade_layout(db: &Kv) -> Result<(), StoreError> {
    /// Documents upgraded per batch.
    const UPGRADE_CHUNK_LEN: usize = 256;
    let version = match db.get(keys::LAYOUT)? {
        None => 1,
        Some(v) => u32::from_be_bytes(
            v.as_ref()
                .try_into()
                .map_err(|_| StoreError::Corrupt("layout version".to_owned()))?,
        ),
    };
    if version > keys::LAYOUT_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the data dir has key layout {version}, written by a later serialtrack; this one reads layout {} and older: run the later serialtrack",
            keys::LAYOUT_VERSION
        )));
    }
    if version == keys::LAYOUT_VERSION {
        return Ok(());
    }
    let mut batch = Batch::default();
    let mut n_upgraded = 0usize;
    let mut in_batch = 0usize;
    let flush = |batch: &mut Batch| db.write(std::mem::take(batch));
    for entry in db.scan_prefix([keys::ORDER]) {
        let (key, value) = entry?;
        let Some((order, picked)) = upgrade_order(&value)? else {
            continue;
        };
        let mut ordinal = 0u64;
        for (line, serials) in picked.iter().enumerate() {
            for serial in serials {
                let pick = keys::pick(&order.id, serial, ordinal)
                    .ok_or_else(|| StoreError::Corrupt(format!("order {} pick", order.id)))?;
                batch.insert(pick, &encode_pick_line(line)?[..]);
                ordinal += 1;
            }
        }
        batch.insert(key, encode_order(&order));
        (n_upgraded, in_batch) = (n_upgraded + 1, in_batch + 1);
        if in_batch == UPGRADE_CHUNK_LEN {
            flush(&mut batch)?;
            in_batch = 0;
        }
    }
    for entry in db.scan_prefix([keys::SHIPMENT]) {
        let (key, value) = entry?;
        let Some((shipment, dispatched)) = upgrade_shipment(&value)? else {
            continue;
        };
        for (ordinal, serial) in dispatched.iter().enumerate() {
            let ordinal = u32::try_from(ordinal)
                .map_err(|e| StoreError::Corrupt(format!("shipment {}: {e}", shipment.id)))?;
            let dispatch = keys::dispatch(&shipment.id, ordinal)
                .ok_or_else(|| StoreError::Corrupt(format!("shipment {} dispatch", shipment.id)))?;
            batch.insert(dispatch, serial.as_bytes());
        }
        batch.insert(key, encode_shipment(&shipment));
        (n_upgraded, in_batch) = (n_upgraded + 1, in_batch + 1);
        if in_batch == UPGRADE_CHUNK_LEN {
            flush(&mut batch)?;
            in_batch = 0;
        }
    }
    batch.insert(keys::LAYOUT, &keys::LAYOUT_VERSION.to_be_bytes()[..]);
    flush(&mut batch)?;
    if n_upgraded > 0 {
        tracing::info!(
            documents = n_upgraded,
            "store upgraded to key layout {}",
            keys::LAYOUT_VERSION
        );
    }
    Ok(())
}

/// The picks of an order (or, with a longer `prefix`, of one serial for it) from its keys.
pub(super) fn picks_from(
    order_id: &str,
    order_prefix_len: usize,
    entries: impl IntoIterator<Item = (impl AsRef<[u8]>, impl AsRef<[u8]>)>,
) -> Result<Vec<Pick>, StoreError> {
    let mut picks = entries
        .into_iter()
        .map(|(key, value)| {
            let (serial, ordinal) = keys::pick_parts(key.as_ref(), order_prefix_len)
                .ok_or_else(|| StoreError::Corrupt(format!("pick key of order {order_id}")))?;
            Ok(Pick {
                order_id: order_id.to_owned(),
                serial,
                line: decode_pick_line(value.as_ref())?,
                ordinal,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    sort_picks(&mut picks);
    Ok(picks)
}

/// The serials of a shipment's dispatch keys, in scan order.
pub(super) fn dispatched_from(
    shipment_id: &str,
    entries: impl IntoIterator<Item = (impl AsRef<[u8]>, impl AsRef<[u8]>)>,
) -> Result<Vec<String>, StoreError> {
    entries
        .into_iter()
        .map(|(_, value)| {
            String::from_utf8(value.as_ref().to_vec()).map_err(|e| {
                StoreError::Corrupt(format!("dispatched serial of shipment {shipment_id}: {e}"))
            })
        })
        .collect()
}

fn read_picks(tree: &impl Get, order_id: &str) -> Result<Vec<Pick>, StoreError> {
    let Some(prefix) = keys::pick_prefix(order_id) else {
        return Ok(Vec::new());
    };
    picks_from(order_id, prefix.len(), tree.prefix(&prefix)?)
}

fn read_dispatched(tree: &impl Get, shipment_id: &str) -> Result<Vec<String>, StoreError> {
    let Some(prefix) = keys::dispatch_prefix(shipment_id) else {
        return Ok(Vec::new());
    };
    dispatched_from(shipment_id, tree.prefix(&prefix)?)
}

/// What the writer needs to know at open: the next sequence number, the hash of the last
/// event (which the next one carries), and every recall.
pub(super) fn read_writer_state(tree: &Kv) -> Result<(u64, [u8; 32], Vec<Recall>), StoreError> {
    let (next_seq, last_hash) = match tree.scan_prefix([keys::EVENT]).next_back() {
        Some(entry) => {
            let (key, value) = entry?;
            let last = keys::seq_from_event_key(&key)
                .ok_or_else(|| StoreError::Corrupt("event key".to_owned()))?;
            (last + 1, event_hash(&decode_event(&value)?))
        }
        None => (1, crate::audit::GENESIS),
    };
    let mut recalls = tree
        .scan_prefix([keys::RECALL])
        .map(|entry| decode_recall(&entry?.1))
        .collect::<Result<Vec<Recall>, StoreError>>()?;
    recalls.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
    Ok((next_seq, last_hash, recalls))
}

fn read_item(tree: &impl Get, sku: &str) -> Result<Option<Item>, StoreError> {
    tree.get(keys::item(sku))?
        .map(|v| decode_item(&v))
        .transpose()
}

fn read_order(tree: &impl Get, id: &str) -> Result<Option<Order>, StoreError> {
    tree.get(keys::order(id))?
        .map(|v| decode_order(&v))
        .transpose()
}

fn read_serial_by_mfr(tree: &impl Get, mfr: &str) -> Result<Option<String>, StoreError> {
    tree.get(keys::mfr(mfr))?
        .map(|v| {
            String::from_utf8(v.to_vec())
                .map_err(|e| StoreError::Corrupt(format!("manufacturer serial index: {e}")))
        })
        .transpose()
}

fn read_receipt(tree: &impl Get, id: &str) -> Result<Option<Receipt>, StoreError> {
    tree.get(keys::receipt(id))?
        .map(|v| decode_receipt(&v))
        .transpose()
}

fn read_set(tree: &impl Get, id: &str) -> Result<Option<UnitSet>, StoreError> {
    tree.get(keys::set(id))?.map(|v| decode_set(&v)).transpose()
}

fn read_shipment(tree: &impl Get, id: &str) -> Result<Option<Shipment>, StoreError> {
    tree.get(keys::shipment(id))?
        .map(|v| decode_shipment(&v))
        .transpose()
}

fn read_unit(tree: &impl Get, serial: &str) -> Result<Option<Unit>, StoreError> {
    let Some(bytes) = tree.get(keys::unit(serial))? else {
        return Ok(None);
    };
    let unit = decode_unit(&bytes)?;
    if unit.serial != serial {
        return Err(StoreError::Corrupt(format!(
            "unit key {serial:?} holds unit {:?}",
            unit.serial
        )));
    }
    Ok(Some(unit))
}

fn read_sku_by_gtin(tree: &impl Get, gtin: &str) -> Result<Option<String>, StoreError> {
    tree.get(keys::gtin(gtin))?
        .map(|v| {
            String::from_utf8(v.to_vec())
                .map_err(|e| StoreError::Corrupt(format!("gtin index: {e}")))
        })
        .transpose()
}

struct Writer {
    /// The engine; `None` after a failed write until the reopen succeeds.
    open: Option<Kv>,
    /// Which engine the data dir holds, for the reopen.
    engine: Engine,
    /// The readers' handle, emptied and refilled with `open`.
    slot: Arc<TreeSlot>,
    dir: PathBuf,
    /// The engine's page cache, kept for a reopen.
    cache_bytes: u64,
    next_seq: u64,
    /// The hash of the last event on disk (the chain's genesis value before the first), which
    /// the next event carries.
    last_hash: [u8; 32],
    recalls: Recalls,
    /// Tells watchers the highest sequence number on disk.
    committed: tokio::sync::watch::Sender<u64>,
    metrics: Arc<Metrics>,
}

/// What one group has decided so far: the writes, and the state they create, which later
/// commands of the group must see.
pub(super) struct Group<'t, T: Get = Kv> {
    tree: &'t T,
    batch: Batch,
    next_seq: u64,
    /// The hash of the group's last event so far (or of the last one on disk).
    last_hash: [u8; 32],
    now_ms: i64,
    /// Units read or changed by the group (`None`: no such unit).
    units: HashMap<String, Option<Unit>>,
    /// Every recall, with the group's changes; published once the group is on disk.
    recalls: Arc<Vec<Recall>>,
    recalls_changed: bool,
    items: HashMap<String, Option<Item>>,
    gtins: HashMap<String, Option<String>>,
    events: HashMap<Uuid, Event>,
    orders: HashMap<String, Option<Order>>,
    shipments: HashMap<String, Option<Shipment>>,
    receipts: HashMap<String, Option<Receipt>>,
    /// Manufacturer serial → our serial, as read or changed by the group.
    mfrs: HashMap<String, Option<String>>,
    /// Receipt entries read or changed by the group, by (receipt id, serial).
    receipt_entries: HashMap<(String, String), Option<(Mark, String)>>,
    dirty_receipts: BTreeSet<String>,
    /// Documents changed by the group, encoded once when the group is written (an order
    /// changes with every pick).
    dirty_orders: BTreeSet<String>,
    dirty_shipments: BTreeSet<String>,
    /// Sets read or changed by the group, by parent id.
    sets: HashMap<String, Option<UnitSet>>,
    dirty_sets: BTreeSet<String>,
    /// KPI counters the group's events added to, written with the group.
    kpis: HashMap<KpiKey, KpiCounts>,
    /// Tokens read or changed by the group, by name, and how many are stored.
    tokens: HashMap<String, Option<Token>>,
    token_count: Option<usize>,
    /// Webhook subscriptions read or changed by the group, by id.
    webhooks: HashMap<String, Option<Webhook>>,
    /// Pick and dispatch keys the group wrote (`None`: removed), which later commands of the
    /// group read over the tree's.
    list_keys: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Issuing's counters (by SKU and scope) and ranges (by SKU) as read or changed by the
    /// group, and which changed; written when the group is (`issuing.rs`).
    counters: HashMap<(String, String), u64>,
    issue_ranges: HashMap<String, Vec<Range>>,
    dirty_counters: BTreeSet<(String, String)>,
    dirty_ranges: BTreeSet<(String, u64)>,
    /// Units' issue facts and label templates (current version) read or changed by the group,
    /// and the next print job number.
    unit_facts: HashMap<String, UnitFacts>,
    templates: HashMap<String, Option<Template>>,
    next_job: Option<u64>,
}

/// Where a command's answer goes.
pub(super) enum Reply {
    Scans(ScanReply),
    Item(ItemReply),
    Document(DocumentReply),
    Token(TokenReply),
    Webhook(WebhookReply),
    Issue(IssueReply),
}

/// A command's answer, decided but not yet on disk.
pub(super) enum Decided {
    Scans(Vec<ScanAnswer>),
    Item(Result<PutItemAnswer, ItemConflict>),
    Document(Result<DocumentAnswer, DocumentError>),
    Token(Result<Token, TokenError>),
    Webhook(Result<Option<Webhook>, WebhookError>),
    Issue(Result<IssueAnswer, IssueError>),
}

impl Reply {
    fn send(self, answer: Result<Decided, StoreError>) {
        // A caller that went away (a cancelled RPC) no longer needs its answer.
        let mixed_up = || StoreError::Unavailable("writer mixed up answers".to_owned());
        match (self, answer) {
            (Reply::Scans(reply), Ok(Decided::Scans(answers))) => {
                let _ = reply.send(Ok(answers));
            }
            (Reply::Item(reply), Ok(Decided::Item(answer))) => {
                let _ = reply.send(Ok(answer));
            }
            (Reply::Document(reply), Ok(Decided::Document(answer))) => {
                let _ = reply.send(Ok(answer));
            }
            (Reply::Token(reply), Ok(Decided::Token(answer))) => {
                let _ = reply.send(Ok(answer));
            }
            (Reply::Webhook(reply), Ok(Decided::Webhook(answer))) => {
                let _ = reply.send(Ok(answer));
            }
            (Reply::Issue(reply), Ok(Decided::Issue(answer))) => {
                let _ = reply.send(Ok(answer));
            }
            (Reply::Scans(reply), answer) => {
                let _ = reply.send(Err(answer.err().unwrap_or_else(mixed_up)));
            }
            (Reply::Item(reply), answer) => {
                let _ = reply.send(Err(answer.err().unwrap_or_else(mixed_up)));
            }
            (Reply::Document(reply), answer) => {
                let _ = reply.send(Err(answer.err().unwrap_or_else(mixed_up)));
            }
            (Reply::Token(reply), answer) => {
                let _ = reply.send(Err(answer.err().unwrap_or_else(mixed_up)));
            }
            (Reply::Webhook(reply), answer) => {
                let _ = reply.send(Err(answer.err().unwrap_or_else(mixed_up)));
            }
            (Reply::Issue(reply), answer) => {
                let _ = reply.send(Err(answer.err().unwrap_or_else(mixed_up)));
            }
        }
    }
}

impl Writer {
    fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        while let Some(first) = commands.blocking_recv() {
            let mut n_scans = first.n_scans();
            let mut group = vec![first];
            while n_scans < GROUP_SCANS_MAX {
                match commands.try_recv() {
                    Ok(command) => {
                        n_scans += command.n_scans();
                        group.push(command);
                    }
                    Err(_) => break,
                }
            }
            self.metrics.writer_queue(commands.len());
            if let Err(why) = self.reopen_if_failed() {
                for command in group {
                    command.refuse(&why);
                }
                continue;
            }
            match self.commit_group(group) {
                // After the callers have their answers: free the nodes the group replaced
                // (sled only; redb frees its pages itself).
                Ok(writes) => {
                    let sled = self.engine == Engine::Sled;
                    if sled && !reclaim::reclaim(reclaim::rounds_for(writes)) {
                        tracing::debug!(writes, "old sled nodes still pinned after a group");
                    }
                }
                // Done now rather than at the next command, so that readers see the data on
                // disk again as soon as it can be read.
                Err(_) => {
                    let _ = self.reopen_if_failed();
                }
            }
            self.metrics.writer_queue(commands.len());
        }
    }

    /// After a failed `apply_batch` or `flush`: sled keeps the failed group in memory and
    /// refuses every later write, so readers stop reading this database at once and every
    /// handle to it is dropped, ready for [`Writer::reopen_if_failed`].
    fn close_after_failure(&mut self, failure: &str) {
        tracing::error!("{failure}");
        self.slot.fail(format!(
            "the store is reopening the data dir {} after a failed write ({failure})",
            self.dir.display()
        ));
        self.open = None;
    }

    /// Opens the database again from disk when a failed write closed it, with the sequence
    /// number and recalls found there. Returns the message callers get while it cannot.
    fn reopen_if_failed(&mut self) -> Result<(), String> {
        if self.open.is_some() {
            return Ok(());
        }
        // A reader may hold a handle to the old database for the moment its read takes.
        let reopened = Kv::open_waiting(&self.dir, self.engine, self.cache_bytes, LOCK_WAIT)
            .and_then(|kv| {
                let state = read_writer_state(&kv)?;
                Ok((kv, state))
            });
        match reopened {
            Ok((kv, (next_seq, last_hash, recalls))) => {
                self.next_seq = next_seq;
                self.last_hash = last_hash;
                if let Ok(mut shared) = self.recalls.write() {
                    *shared = Arc::new(recalls);
                }
                self.slot.put(kv.clone());
                self.open = Some(kv);
                tracing::info!(next_seq, "store reopened from disk after a failed write");
                Ok(())
            }
            Err(e) => Err(format!(
                "the store cannot reopen the data dir {} after a failed write ({e}); {RETRY_HINT}",
                self.dir.display()
            )),
        }
    }

    /// Decides, writes and flushes one group and answers its callers. Returns how many keys
    /// it wrote, or the failure when the write or the flush failed (the database is then
    /// closed and must be reopened).
    fn commit_group(&mut self, commands: Vec<Command>) -> Result<usize, String> {
        let Some(tree) = self.open.clone() else {
            return Err("the store has no open database".to_owned());
        };
        let mut group = Group::new(
            &tree,
            self.next_seq,
            self.last_hash,
            self.recalls
                .read()
                .map_or_else(|poisoned| poisoned.into_inner().clone(), |r| r.clone()),
        );
        let (pending, read_failure, n_scans) = group.decide(commands);
        let t_decided = std::time::Instant::now();
        let n_cmds = pending.len();
        let (batch, next_seq, last_hash, recalls) = group.finish();
        let writes = batch.len();
        let mut write_failure = None;
        let t_write = std::time::Instant::now();
        let written = match read_failure {
            // The decisions of the whole group may rest on the failed read: write none of it.
            Some(e) => Err(StoreError::Unavailable(format!(
                "a read failed while deciding: {e}"
            ))),
            None => match tree.write(batch) {
                Ok(()) => {
                    let flush_time = t_write.elapsed();
                    count_committed(&self.metrics, n_scans, flush_time, &pending);
                    self.next_seq = next_seq;
                    self.last_hash = last_hash;
                    self.committed.send_replace(next_seq - 1);
                    // Applied recalls take effect for readers only once on disk.
                    if let Some(recalls) = recalls
                        && let Ok(mut shared) = self.recalls.write()
                    {
                        *shared = recalls;
                    }
                    Ok(())
                }
                // Nothing of the group is answered as done, and the database is reopened from
                // disk before the next group: the sequence numbers and recalls come from there.
                Err(e) => {
                    let failure = format!("cannot write the data dir {}: {e}", self.dir.display());
                    // Readers stop seeing the failed group before any caller hears of it.
                    self.close_after_failure(&failure);
                    self.metrics.write_failed();
                    let answer = StoreError::Unavailable(format!("{failure}; {RETRY_HINT}"));
                    write_failure = Some(failure);
                    Err(answer)
                }
            },
        };
        tracing::trace!(
            commands = n_cmds,
            write_flush_us = t_decided.elapsed().as_micros(),
            "group committed"
        );
        answer_group(pending, &written);
        write_failure.map_or(Ok(writes), Err)
    }
}

impl<'t, T: Get> Group<'t, T> {
    /// An empty group over `tree`: its events are numbered from `next_seq` and chained to
    /// `last_hash`, its decisions see `recalls`.
    pub(super) fn new(
        tree: &'t T,
        next_seq: u64,
        last_hash: [u8; 32],
        recalls: Arc<Vec<Recall>>,
    ) -> Self {
        Group {
            tree,
            batch: Batch::default(),
            next_seq,
            last_hash,
            now_ms: time::now_ms(),
            units: HashMap::new(),
            recalls,
            recalls_changed: false,
            items: HashMap::new(),
            gtins: HashMap::new(),
            events: HashMap::new(),
            orders: HashMap::new(),
            shipments: HashMap::new(),
            receipts: HashMap::new(),
            mfrs: HashMap::new(),
            receipt_entries: HashMap::new(),
            dirty_receipts: BTreeSet::new(),
            dirty_orders: BTreeSet::new(),
            dirty_shipments: BTreeSet::new(),
            sets: HashMap::new(),
            dirty_sets: BTreeSet::new(),
            kpis: HashMap::new(),
            tokens: HashMap::new(),
            token_count: None,
            webhooks: HashMap::new(),
            list_keys: BTreeMap::new(),
            counters: HashMap::new(),
            issue_ranges: HashMap::new(),
            dirty_counters: BTreeSet::new(),
            dirty_ranges: BTreeSet::new(),
            unit_facts: HashMap::new(),
            templates: HashMap::new(),
            next_job: None,
        }
    }

    /// Decides the commands in order, each against what the earlier ones changed. Answers
    /// each caller's reply with its decision (not yet sent), the first failed read (its caller
    /// is answered already) and the number of scans.
    pub(super) fn decide(
        &mut self,
        commands: Vec<Command>,
    ) -> (Vec<(Reply, Decided)>, Option<StoreError>, usize) {
        let n_scans: usize = commands
            .iter()
            .map(|command| match command {
                Command::Scans { scans, .. } => scans.len(),
                Command::PutItem { .. }
                | Command::Document { .. }
                | Command::Token { .. }
                | Command::Webhook { .. }
                | Command::Issue { .. } => 0,
            })
            .sum();
        let mut pending = Vec::with_capacity(commands.len());
        let mut read_failure = None;
        for command in commands {
            let (reply, decided) = match command {
                Command::Scans { scans, reply } => {
                    (Reply::Scans(reply), self.scans(scans).map(Decided::Scans))
                }
                Command::PutItem { item, reply } => {
                    (Reply::Item(reply), self.put_item(item).map(Decided::Item))
                }
                Command::Document { op, reply } => (
                    Reply::Document(reply),
                    self.document(op).map(Decided::Document),
                ),
                Command::Token { op, reply } => {
                    (Reply::Token(reply), self.token(op).map(Decided::Token))
                }
                Command::Webhook { op, reply } => (
                    Reply::Webhook(reply),
                    self.webhook(op).map(Decided::Webhook),
                ),
                Command::Issue { op, reply } => {
                    (Reply::Issue(reply), self.issue(op).map(Decided::Issue))
                }
            };
            match decided {
                Ok(decided) => pending.push((reply, decided)),
                Err(e) => {
                    reply.send(Err(StoreError::Unavailable(e.to_string())));
                    read_failure.get_or_insert(e);
                }
            }
        }
        (pending, read_failure, n_scans)
    }

    /// Takes what the group decided to write, with the state after it: the next sequence
    /// number, the last event's hash, and the recalls if the group changed them.
    pub(super) fn finish(mut self) -> (Batch, u64, [u8; 32], Option<Arc<Vec<Recall>>>) {
        self.write_documents();
        self.write_issuing();
        let recalls = self.recalls_changed.then_some(self.recalls);
        (self.batch, self.next_seq, self.last_hash, recalls)
    }
}

/// Counts a committed group in the metrics, before anyone is answered: a caller that has its
/// answer finds it there.
pub(super) fn count_committed(
    metrics: &Metrics,
    n_scans: usize,
    flush_time: std::time::Duration,
    pending: &[(Reply, Decided)],
) {
    metrics.group_committed(n_scans, flush_time);
    for (_, decided) in pending {
        if let Decided::Scans(answers) = decided {
            for answer in answers {
                metrics.scan_answered(answer.replayed, &answer.event);
            }
        }
    }
}

/// Sends every caller of a group its answer, or the group's failure.
pub(super) fn answer_group(pending: Vec<(Reply, Decided)>, written: &Result<(), StoreError>) {
    for (reply, decided) in pending {
        match written {
            Ok(()) => reply.send(Ok(decided)),
            Err(StoreError::Unavailable(e)) => {
                reply.send(Err(StoreError::Unavailable(e.clone())));
            }
            Err(e) => reply.send(Err(StoreError::Unavailable(e.to_string()))),
        }
    }
}

impl<T: Get> domain::View for Group<'_, T> {
    type Error = StoreError;

    fn item(&mut self, sku: &str) -> Result<Option<Item>, StoreError> {
        Group::item(self, sku)
    }

    fn item_by_gtin(&mut self, gtin: &str) -> Result<Option<Item>, StoreError> {
        match self.sku_by_gtin(gtin)? {
            Some(sku) => Group::item(self, &sku),
            None => Ok(None),
        }
    }

    fn unit(&mut self, serial: &str) -> Result<Option<Unit>, StoreError> {
        Group::unit(self, serial)
    }

    fn order(&mut self, id: &str) -> Result<Option<Order>, StoreError> {
        if let Some(order) = self.orders.get(id) {
            return Ok(order.clone());
        }
        let order = read_order(self.tree, id)?;
        self.orders.insert(id.to_owned(), order.clone());
        Ok(order)
    }

    fn picks_of(&mut self, order_id: &str, serial: &str) -> Result<Vec<Pick>, StoreError> {
        let (Some(order_prefix), Some(prefix)) = (
            keys::pick_prefix(order_id),
            keys::pick_serial_prefix(order_id, serial),
        ) else {
            return Ok(Vec::new());
        };
        picks_from(order_id, order_prefix.len(), self.list(&prefix)?)
    }

    fn order_picks(&mut self, order_id: &str) -> Result<Vec<Pick>, StoreError> {
        let Some(prefix) = keys::pick_prefix(order_id) else {
            return Ok(Vec::new());
        };
        picks_from(order_id, prefix.len(), self.list(&prefix)?)
    }

    fn shipment(&mut self, id: &str) -> Result<Option<Shipment>, StoreError> {
        if let Some(shipment) = self.shipments.get(id) {
            return Ok(shipment.clone());
        }
        let shipment = read_shipment(self.tree, id)?;
        self.shipments.insert(id.to_owned(), shipment.clone());
        Ok(shipment)
    }

    fn shipment_dispatched(&mut self, shipment_id: &str) -> Result<Vec<String>, StoreError> {
        let Some(prefix) = keys::dispatch_prefix(shipment_id) else {
            return Ok(Vec::new());
        };
        dispatched_from(shipment_id, self.list(&prefix)?)
    }

    fn recall(&mut self, id: &str) -> Result<Option<Recall>, StoreError> {
        Ok(self.recalls.iter().find(|r| r.id == id).cloned())
    }

    fn recall_hold(&mut self, unit: &Unit) -> Result<Option<Hold>, StoreError> {
        Ok(recall_hold(self.recalls.iter(), unit))
    }

    fn receipt(&mut self, id: &str) -> Result<Option<Receipt>, StoreError> {
        if let Some(receipt) = self.receipts.get(id) {
            return Ok(receipt.clone());
        }
        let receipt = read_receipt(self.tree, id)?;
        self.receipts.insert(id.to_owned(), receipt.clone());
        Ok(receipt)
    }

    fn serial_by_mfr(&mut self, mfr: &str) -> Result<Option<String>, StoreError> {
        if let Some(serial) = self.mfrs.get(mfr) {
            return Ok(serial.clone());
        }
        let serial = read_serial_by_mfr(self.tree, mfr)?;
        self.mfrs.insert(mfr.to_owned(), serial.clone());
        Ok(serial)
    }

    fn receipt_entry(
        &mut self,
        id: &str,
        serial: &str,
    ) -> Result<Option<(Mark, String)>, StoreError> {
        let at = (id.to_owned(), serial.to_owned());
        if let Some(entry) = self.receipt_entries.get(&at) {
            return Ok(entry.clone());
        }
        let entry = match keys::receipt_prefix(id) {
            Some(prefix) => self
                .tree
                .get(keys::indexed(&prefix, serial))?
                .map(|v| decode_receipt_entry(&v))
                .transpose()?,
            None => None,
        };
        self.receipt_entries.insert(at, entry.clone());
        Ok(entry)
    }

    fn set(&mut self, id: &str) -> Result<Option<UnitSet>, StoreError> {
        if let Some(set) = self.sets.get(id) {
            return Ok(set.clone());
        }
        let set = read_set(self.tree, id)?;
        self.sets.insert(id.to_owned(), set.clone());
        Ok(set)
    }
}

impl<T: Get> Group<'_, T> {
    fn unit(&mut self, serial: &str) -> Result<Option<Unit>, StoreError> {
        if let Some(unit) = self.units.get(serial) {
            return Ok(unit.clone());
        }
        let unit = read_unit(self.tree, serial)?;
        self.units.insert(serial.to_owned(), unit.clone());
        Ok(unit)
    }

    /// Writes a changed unit and keeps the lot and location indexes in step with it.
    fn put_unit(&mut self, unit: Unit) -> Result<(), StoreError> {
        let old = self.unit(&unit.serial)?;
        let lot_key = |u: &Unit| {
            u.lot
                .as_ref()
                .and_then(|lot| keys::lot_prefix(&u.sku, lot))
                .map(|p| keys::indexed(&p, &u.serial))
        };
        let place_key = |u: &Unit| {
            (!u.location.is_empty())
                .then(|| keys::place_prefix(&u.location))
                .flatten()
                .map(|p| keys::indexed(&p, &u.serial))
        };
        // Stored units not packed in a set are what directed picking chooses from.
        let stock_key = |u: &Unit| {
            (u.state == domain::UnitState::Stored && u.parent.is_none())
                .then(|| keys::stock(&u.sku, u.expiry, u.received_at_ms, &u.serial))
                .flatten()
        };
        for key_of in [
            &lot_key as &dyn Fn(&Unit) -> Option<Vec<u8>>,
            &place_key,
            &stock_key,
        ] {
            let (before, after) = (old.as_ref().and_then(key_of), key_of(&unit));
            if before != after {
                if let Some(key) = before {
                    self.batch.remove(key);
                }
                if let Some(key) = after {
                    self.batch.insert(key, &[]);
                }
            }
        }
        let old_mfr = old.as_ref().and_then(|u| u.mfr_serial.clone());
        if old_mfr != unit.mfr_serial {
            if let Some(mfr) = old_mfr {
                self.batch.remove(keys::mfr(&mfr));
                self.mfrs.insert(mfr, None);
            }
            if let Some(mfr) = &unit.mfr_serial {
                self.batch.insert(keys::mfr(mfr), unit.serial.as_bytes());
                self.mfrs.insert(mfr.clone(), Some(unit.serial.clone()));
            }
        }
        self.batch
            .insert(keys::unit(&unit.serial), encode_unit(&unit));
        self.units.insert(unit.serial.clone(), Some(unit));
        Ok(())
    }

    fn item(&mut self, sku: &str) -> Result<Option<Item>, StoreError> {
        if let Some(item) = self.items.get(sku) {
            return Ok(item.clone());
        }
        let item = read_item(self.tree, sku)?;
        self.items.insert(sku.to_owned(), item.clone());
        Ok(item)
    }

    fn sku_by_gtin(&mut self, gtin: &str) -> Result<Option<String>, StoreError> {
        if let Some(sku) = self.gtins.get(gtin) {
            return Ok(sku.clone());
        }
        let sku = read_sku_by_gtin(self.tree, gtin)?;
        self.gtins.insert(gtin.to_owned(), sku.clone());
        Ok(sku)
    }

    fn earlier_answer(&self, event_id: &Uuid) -> Result<Option<Event>, StoreError> {
        if let Some(event) = self.events.get(event_id) {
            return Ok(Some(event.clone()));
        }
        let Some(seq) = self.tree.get(keys::event_id(event_id))? else {
            return Ok(None);
        };
        let seq = keys::seq_from_value(&seq)
            .ok_or_else(|| StoreError::Corrupt("event id index".to_owned()))?;
        let bytes = self.tree.get(keys::event(seq))?.ok_or_else(|| {
            StoreError::Corrupt(format!("event id index names missing event {seq}"))
        })?;
        decode_event(&bytes).map(Some)
    }

    fn put_item(
        &mut self,
        mut item: Item,
    ) -> Result<Result<PutItemAnswer, ItemConflict>, StoreError> {
        let old = self.item(&item.sku)?;
        if let Some(gtin) = &item.gtin
            && let Some(owner) = self.sku_by_gtin(gtin)?
            && owner != item.sku
        {
            return Ok(Err(ItemConflict::GtinTaken {
                gtin: gtin.clone(),
                sku: owner,
            }));
        }
        if let Some(old_gtin) = old.as_ref().and_then(|o| o.gtin.clone())
            && item.gtin.as_ref() != Some(&old_gtin)
        {
            self.batch.remove(keys::gtin(&old_gtin));
            self.gtins.insert(old_gtin, None);
        }
        if let Some(gtin) = &item.gtin {
            self.batch.insert(keys::gtin(gtin), item.sku.as_bytes());
            self.gtins.insert(gtin.clone(), Some(item.sku.clone()));
        }
        item.updated_at_ms = self.now_ms;
        self.batch.insert(keys::item(&item.sku), encode_item(&item));
        self.items.insert(item.sku.clone(), Some(item.clone()));
        Ok(Ok(PutItemAnswer {
            item,
            created: old.is_none(),
        }))
    }

    fn keep_order(&mut self, order: Order) {
        self.dirty_orders.insert(order.id.clone());
        self.orders.insert(order.id.clone(), Some(order));
    }

    fn keep_shipment(&mut self, shipment: Shipment) {
        self.dirty_shipments.insert(shipment.id.clone());
        self.shipments.insert(shipment.id.clone(), Some(shipment));
    }

    /// Writes a pick or dispatch key (`None` removes it), seen by the rest of the group.
    fn put_list_key(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        match &value {
            Some(v) => self.batch.insert(key.as_slice(), v.as_slice()),
            None => self.batch.remove(key.as_slice()),
        }
        self.list_keys.insert(key, value);
    }

    /// The pick or dispatch keys under `prefix` as the group has left them, in key order.
    fn list(&self, prefix: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, StoreError> {
        let mut entries: BTreeMap<Vec<u8>, Vec<u8>> = self
            .tree
            .prefix(prefix)?
            .into_iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        for (key, value) in self
            .list_keys
            .range::<[u8], _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            match value {
                Some(v) => entries.insert(key.clone(), v.clone()),
                None => entries.remove(key),
            };
        }
        Ok(entries)
    }

    /// Writes what a scan changed in orders' picks and shipments' dispatched serials.
    fn put_lists(
        &mut self,
        picks: Vec<PickChange>,
        dispatches: Vec<Dispatch>,
    ) -> Result<(), StoreError> {
        for change in picks {
            let (pick, picked) = match change {
                PickChange::Picked(pick) => (pick, true),
                PickChange::PutBack(pick) => (pick, false),
            };
            let key = keys::pick(&pick.order_id, &pick.serial, pick.ordinal)
                .ok_or_else(|| StoreError::Corrupt(format!("order {} pick key", pick.order_id)))?;
            let value = picked
                .then(|| encode_pick_line(pick.line).map(|l| l.to_vec()))
                .transpose()?;
            self.put_list_key(key, value);
        }
        for dispatch in dispatches {
            let key = keys::dispatch(&dispatch.shipment_id, dispatch.ordinal).ok_or_else(|| {
                StoreError::Corrupt(format!("shipment {} dispatch key", dispatch.shipment_id))
            })?;
            self.put_list_key(key, Some(dispatch.serial.into_bytes()));
        }
        Ok(())
    }

    fn keep_receipt(&mut self, receipt: Receipt) {
        self.dirty_receipts.insert(receipt.id.clone());
        self.receipts.insert(receipt.id.clone(), Some(receipt));
    }

    fn put_receipt_entry(&mut self, id: &str, serial: &str, mark: Mark, sku: &str) {
        if let Some(prefix) = keys::receipt_prefix(id) {
            self.batch.insert(
                keys::indexed(&prefix, serial),
                encode_receipt_entry(mark, sku),
            );
        }
        self.receipt_entries.insert(
            (id.to_owned(), serial.to_owned()),
            Some((mark, sku.to_owned())),
        );
    }

    fn keep_set(&mut self, set: UnitSet) {
        self.dirty_sets.insert(set.id.clone());
        let id = set.id.clone();
        self.sets
            .insert(id, (!set.children.is_empty()).then_some(set));
    }

    /// Adds an event to its day's, station's and operator's KPI counters.
    fn count_kpi(&mut self, event: &Event, units: u64) -> Result<(), StoreError> {
        let key = KpiKey::of(event);
        if !self.kpis.contains_key(&key) {
            let stored = match keys::kpi(key.day, &key.station, &key.operator) {
                Some(k) => self.tree.get(k)?.map(|v| decode_kpi(&v)).transpose()?,
                None => None,
            };
            self.kpis.insert(key.clone(), stored.unwrap_or_default());
        }
        if let Some(counts) = self.kpis.get_mut(&key) {
            counts.count(event, units);
        }
        Ok(())
    }

    /// Encodes the orders, shipments, receipts, sets and KPI counters the group changed into
    /// its batch.
    fn write_documents(&mut self) {
        for (key, counts) in std::mem::take(&mut self.kpis) {
            if let Some(k) = keys::kpi(key.day, &key.station, &key.operator) {
                self.batch.insert(k, encode_kpi(&counts));
            }
        }
        for id in std::mem::take(&mut self.dirty_sets) {
            match self.sets.get(&id) {
                Some(Some(set)) => self.batch.insert(keys::set(&id), encode_set(set)),
                _ => self.batch.remove(keys::set(&id)),
            }
        }
        for id in std::mem::take(&mut self.dirty_receipts) {
            if let Some(Some(receipt)) = self.receipts.get(&id) {
                self.batch
                    .insert(keys::receipt(&id), encode_receipt(receipt));
            }
        }
        for id in std::mem::take(&mut self.dirty_orders) {
            if let Some(Some(order)) = self.orders.get(&id) {
                self.batch.insert(keys::order(&id), encode_order(order));
            }
        }
        for id in std::mem::take(&mut self.dirty_shipments) {
            if let Some(Some(shipment)) = self.shipments.get(&id) {
                self.batch
                    .insert(keys::shipment(&id), encode_shipment(shipment));
            }
        }
    }

    /// Decides a token change; a created token is written with its hash index.
    fn token(&mut self, op: TokenOp) -> Result<Result<Token, TokenError>, StoreError> {
        let name = match &op {
            TokenOp::Create { name, .. } | TokenOp::Revoke { name, .. } => name.clone(),
        };
        let current = match self.tokens.get(&name) {
            Some(token) => token.clone(),
            None => tokens::read_token(self.tree, &name)?,
        };
        let count = match self.token_count {
            Some(n) => n,
            None => self.tree.prefix(&[tokens::TOKEN])?.len(),
        };
        let created = current.is_none();
        let decided = auth::decide(op, current, count, self.now_ms);
        if let Ok(token) = &decided {
            self.batch
                .insert(tokens::token_key(&token.name), tokens::encode_token(token));
            if created {
                self.batch
                    .insert(tokens::hash_key(&token.hash), token.name.as_bytes());
            }
            self.tokens.insert(name, Some(token.clone()));
        }
        self.token_count = Some(count + usize::from(created && decided.is_ok()));
        Ok(decided)
    }

    /// Decides a change to a webhook subscription.
    fn webhook(
        &mut self,
        op: WebhookOp,
    ) -> Result<Result<Option<Webhook>, WebhookError>, StoreError> {
        let id = match &op {
            WebhookOp::Create(w) => w.id.clone(),
            WebhookOp::Delete { id } | WebhookOp::Advance { id, .. } => id.clone(),
        };
        let current = match self.webhooks.get(&id) {
            Some(webhook) => webhook.clone(),
            None => webhooks::read_webhook(self.tree, &id)?,
        };
        let count = match &op {
            WebhookOp::Create(_) => {
                // Those on disk, as the group has changed them.
                let mut ids = BTreeSet::new();
                for (id, _) in self.tree.prefix(&[webhooks::WEBHOOK])? {
                    ids.insert(id.to_vec());
                }
                for (id, webhook) in &self.webhooks {
                    let key = webhooks::webhook_key(id);
                    if webhook.is_some() {
                        ids.insert(key);
                    } else {
                        ids.remove(&key);
                    }
                }
                ids.len()
            }
            _ => 0,
        };
        let decided = webhook::decide(op, current, count, self.now_ms);
        if let Ok(after) = &decided {
            match after {
                Some(w) => self
                    .batch
                    .insert(webhooks::webhook_key(&id), webhooks::encode_webhook(w)),
                None => self.batch.remove(webhooks::webhook_key(&id)),
            }
            self.webhooks.insert(id, after.clone());
        }
        Ok(decided)
    }

    fn document(
        &mut self,
        op: DocumentOp,
    ) -> Result<Result<DocumentAnswer, DocumentError>, StoreError> {
        let now_ms = self.now_ms;
        Ok(domain::warehouse::decide(op, self, now_ms)?.map(|change| {
            if let Some(order) = change.order {
                self.keep_order(order);
            }
            if let Some(shipment) = change.shipment {
                self.keep_shipment(shipment);
            }
            if let Some(receipt) = change.receipt {
                for expected in &change.expected {
                    self.put_receipt_entry(
                        &receipt.id,
                        &expected.serial,
                        Mark::Expected,
                        &expected.sku,
                    );
                }
                self.keep_receipt(receipt);
            }
            if let Some(recall) = change.recall {
                self.batch
                    .insert(keys::recall(&recall.id), encode_recall(&recall));
                let recalls = Arc::make_mut(&mut self.recalls);
                match recalls.iter_mut().find(|r| r.id == recall.id) {
                    Some(old) => *old = recall,
                    None => recalls.push(recall),
                }
                self.recalls_changed = true;
            }
            change.answer
        }))
    }

    fn scans(&mut self, scans: Vec<PreparedScan>) -> Result<Vec<ScanAnswer>, StoreError> {
        scans.into_iter().map(|s| self.scan(s)).collect()
    }

    fn scan(&mut self, prepared: PreparedScan) -> Result<ScanAnswer, StoreError> {
        let PreparedScan { scan, read } = prepared;
        if let Some(event) = self.earlier_answer(&scan.event_id)? {
            return Ok(ScanAnswer {
                event,
                replayed: true,
            });
        }
        let seq = self.next_seq;
        let now_ms = self.now_ms;
        let decision = match &read {
            Ok(read) => domain::apply(&scan, read, self, seq, now_ms)?,
            Err(rejection) => Err(rejection.clone()),
        };
        let (read_serial, read_gtin, read_expiry) = match &read {
            Ok(r) => (r.serial.clone(), r.gtin.clone(), r.expiry),
            Err(_) => (String::new(), None, None),
        };
        // Besides the scanned serial, the units a set carried and the sets changed get the
        // event in their history.
        let mut also = Vec::new();
        let mut units_changed = 1u64;
        let mut set = None;
        let (serial, sku, lot, outcome, reason, message, state_after) = match decision {
            Ok(change) => {
                set.clone_from(&change.set);
                // A set's scan names the SKU, lot and state its units share, if they share one.
                let first = change.unit.as_ref().or(change.carried.first());
                let all = change.unit.iter().chain(&change.carried);
                let shared = |f: &dyn Fn(&Unit) -> Option<String>| {
                    let v = first.and_then(f);
                    all.clone().all(|u| f(u) == v).then_some(v).flatten()
                };
                let fields = (
                    change.subject.clone(),
                    shared(&|u| Some(u.sku.clone())).unwrap_or_default(),
                    shared(&|u| u.lot.clone()),
                    change.outcome,
                    change.reason,
                    change.message,
                    first
                        .map(|u| u.state)
                        .filter(|s| all.clone().all(|u| u.state == *s)),
                );
                if let Some((receipt, mark)) = change.receipt
                    && let Some(unit) = &change.unit
                {
                    self.put_receipt_entry(&receipt.id, &unit.serial, mark, &unit.sku);
                    self.keep_receipt(receipt);
                }
                units_changed = (change.carried.len() + usize::from(change.unit.is_some())) as u64;
                for unit in change.unit.into_iter().chain(change.carried) {
                    if unit.serial != change.subject {
                        also.push(unit.serial.clone());
                    }
                    self.put_unit(unit)?;
                }
                for set in change.sets {
                    if set.id != change.subject && !also.contains(&set.id) {
                        also.push(set.id.clone());
                    }
                    self.keep_set(set);
                }
                if let Some(order) = change.order {
                    self.keep_order(order);
                }
                if let Some(shipment) = change.shipment {
                    self.keep_shipment(shipment);
                }
                self.put_lists(change.picks, change.dispatches)?;
                fields
            }
            Err(rejection) => (
                read_serial,
                scan.sku.unwrap_or_default(),
                read.ok().and_then(|r| r.lot),
                Outcome::Rejected,
                rejection.reason,
                rejection.message,
                rejection.state,
            ),
        };
        let reference = match scan.action {
            domain::Action::Pick => scan.order_id,
            domain::Action::Dispatch => scan.shipment_id,
            domain::Action::Return => scan.rma,
            domain::Action::Block => scan.hold_reason,
            domain::Action::Receive => scan.receipt_id,
            domain::Action::Aggregate | domain::Action::Disaggregate => set,
            _ => None,
        };
        let event = Event {
            location: scan.location,
            reference,
            seq,
            event_id: scan.event_id,
            recorded_at_ms: self.now_ms,
            client_time_ms: scan.client_time_ms,
            station: scan.station,
            operator: scan.operator,
            action: scan.action,
            raw: scan.raw,
            entry_mode: scan.entry_mode,
            serial,
            sku,
            gtin: read_gtin,
            lot,
            expiry: read_expiry,
            outcome,
            reason,
            message,
            state_after,
            prev_hash: Some(self.last_hash),
        };
        self.count_kpi(&event, units_changed)?;
        self.append_event(&event, &also);
        Ok(ScanAnswer {
            event,
            replayed: false,
        })
    }

    /// Writes `event` (which has the group's next sequence number) as the log's next: its
    /// record in the hash chain, its id, and its place in the history of its serial and of
    /// `also`.
    fn append_event(&mut self, event: &Event, also: &[String]) {
        let seq = event.seq;
        let record = encode_event(event);
        self.last_hash = crate::audit::hash_record(&record);
        self.batch.insert(&keys::event(seq), record);
        self.batch
            .insert(&keys::event_id(&event.event_id), &seq.to_be_bytes());
        for serial in std::iter::once(&event.serial).chain(also) {
            if !serial.is_empty()
                && let Some(key) = keys::history(serial, seq)
            {
                self.batch.insert(key, &[]);
            }
        }
        self.next_seq += 1;
        self.events.insert(event.event_id, event.clone());
    }
}

/// The raw ceiling the benches compare against: `units` units written to `engine` with the
/// same keys and record sizes the writer produces for a receive, `group_len` units per durable
/// batch, with no server, no decisions and no reads. Returns the time it took and the bytes the
/// directory holds afterwards.
pub fn raw_ceiling(
    dir: &Path,
    engine: Engine,
    units: usize,
    group_len: usize,
) -> Result<(std::time::Duration, u64), StoreError> {
    let db = Kv::open(dir, engine, CACHE_BYTES)?;
    let now_ms = time::now_ms();
    let started = std::time::Instant::now();
    let mut seq = 1u64;
    let mut last_hash = crate::audit::GENESIS;
    let mut written = 0;
    while written < units {
        let mut batch = Batch::default();
        let end = (written + group_len).min(units);
        for i in written..end {
            let serial = format!("R{i:09}");
            let unit = Unit {
                serial: serial.clone(),
                sku: "BENCH-1".to_owned(),
                gtin: None,
                lot: None,
                expiry: None,
                received_at_ms: now_ms,
                hold: None,
                order_id: None,
                shipment_id: None,
                customer: None,
                dispatched_at_ms: 0,
                mfr_serial: None,
                parent: None,
                replaced_by: None,
                replaces: None,
                state: domain::UnitState::Received,
                location: "BENCH-DOCK".to_owned(),
                first_seen_station: "BENCH-DOCK".to_owned(),
                first_seen_at_ms: now_ms,
                first_seen_seq: seq,
                last_seq: seq,
            };
            let event = Event {
                seq,
                event_id: Uuid::new_v4(),
                recorded_at_ms: now_ms,
                client_time_ms: 0,
                station: "BENCH-DOCK".to_owned(),
                operator: "bench".to_owned(),
                action: domain::Action::Receive,
                raw: serial.clone().into_bytes(),
                entry_mode: domain::EntryMode::Scanned,
                serial: serial.clone(),
                sku: "BENCH-1".to_owned(),
                gtin: None,
                lot: None,
                expiry: None,
                location: None,
                reference: None,
                outcome: Outcome::Accepted,
                reason: domain::Reason::Ok,
                message: format!("received {serial} (BENCH-1)"),
                state_after: Some(domain::UnitState::Received),
                prev_hash: Some(last_hash),
            };
            batch.insert(keys::unit(&serial), encode_unit(&unit));
            // Chained like the writer's events, so the floor pays for the hash too.
            let record = encode_event(&event);
            last_hash = crate::audit::hash_record(&record);
            batch.insert(&keys::event(seq)[..], record);
            batch.insert(&keys::event_id(&event.event_id)[..], &seq.to_be_bytes()[..]);
            if let Some(key) = keys::history(&serial, seq) {
                batch.insert(key, &[][..]);
            }
            if let Some(place) = keys::place_prefix(&unit.location) {
                batch.insert(keys::indexed(&place, &serial), &[][..]);
            }
            seq += 1;
        }
        db.write(batch)?;
        written = end;
    }
    let elapsed = started.elapsed();
    drop(db);
    Ok((elapsed, dir_bytes(dir)))
}

#[cfg(test)]
mod tests;

mod issuing;
mod printing;
