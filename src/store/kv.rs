//! The embedded key-value engines under [`SledStore`](super::SledStore): one ordered map of
//! byte keys to byte values (the layout of `keys.rs`), read by point lookups and ranges and
//! written one durable [`Batch`] per group.
//!
//! Two engines keep that map:
//! - **redb** (a copy-on-write B-tree in one file, `store.redb`): what a new data dir gets.
//!   Its index lives on disk and only its page cache in memory, so the process's memory stays
//!   at the cache's size however many units the store holds (README, "Memory").
//! - **sled** 0.34 (the directory `db/`): what data dirs made before redb hold, and still
//!   opened as such. sled keeps bookkeeping in memory for every page it has ever written,
//!   cached or not, so its memory grows with the data (about 0.3 KB per unit in the soak).
//!
//! Which one a data dir holds is read off its files; nothing else in the store depends on it.

use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use redb::ReadableDatabase;
use sled::IVec;

use super::StoreError;
use super::batch::Batch;
use super::pg_store::prefix_end;

/// sled's directory inside the data dir.
pub(super) const SLED_DIR: &str = "db";
/// redb's file inside the data dir.
pub(super) const REDB_FILE: &str = "store.redb";
/// The one redb table: every key of `keys.rs`.
const TABLE: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("kv");

/// The engine a data dir holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sled,
    Redb,
}

impl Engine {
    /// What `dir` holds: sled when it has sled's directory, otherwise redb (also for a new,
    /// empty dir).
    pub fn of_dir(dir: &Path) -> Engine {
        Engine::holding(dir).unwrap_or(Engine::Redb)
    }

    /// The engine whose files `dir` holds, if any.
    pub fn holding(dir: &Path) -> Option<Engine> {
        if dir.join(SLED_DIR).is_dir() {
            Some(Engine::Sled)
        } else if dir.join(REDB_FILE).exists() {
            Some(Engine::Redb)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Sled => "sled",
            Engine::Redb => "redb",
        }
    }
}

/// An open engine. Clones share it.
#[derive(Clone)]
pub(super) enum Kv {
    Sled(sled::Db),
    Redb(Arc<redb::Database>),
}

fn redb_error(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        e @ redb::Error::Corrupted(_) => StoreError::Corrupt(e.to_string()),
        e => StoreError::Unavailable(e.to_string()),
    }
}

/// Whether opening failed only because a handle of this process on its way out still holds
/// the engine's own lock on its files (see [`Kv::open_waiting`]).
fn still_held(e: &StoreError) -> bool {
    match e {
        StoreError::Unavailable(why) => {
            why.contains("could not acquire lock") || why.contains("already open")
        }
        _ => false,
    }
}

impl Kv {
    /// Opens (or creates) `engine` below `dir` with a page cache of `cache_bytes`.
    pub(super) fn open(dir: &Path, engine: Engine, cache_bytes: u64) -> Result<Kv, StoreError> {
        match engine {
            Engine::Sled => {
                let db = sled::Config::new()
                    .path(dir.join(SLED_DIR))
                    .cache_capacity(cache_bytes)
                    .mode(sled::Mode::HighThroughput)
                    // The writer flushes every group itself; a background flusher would only
                    // compete.
                    .flush_every_ms(None)
                    .open()?;
                Ok(Kv::Sled(db))
            }
            Engine::Redb => {
                let cache = usize::try_from(cache_bytes).unwrap_or(usize::MAX);
                let db = redb::Builder::new()
                    .set_cache_size(cache)
                    .create(dir.join(REDB_FILE))
                    .map_err(redb_error)?;
                // The table exists from the first open on, so readers never meet its absence.
                let txn = db.begin_write().map_err(redb_error)?;
                txn.open_table(TABLE).map_err(redb_error)?;
                txn.commit().map_err(redb_error)?;
                Ok(Kv::Redb(Arc::new(db)))
            }
        }
    }

    /// [`Kv::open`], waiting up to `wait` while the engine's own lock on its files is still
    /// held. Whoever calls this holds the data-dir lock, so the holder is a handle of this
    /// process on its way out (sled writes its IO buffers from a thread pool; a redb range a
    /// reader still iterates keeps the file open).
    pub(super) fn open_waiting(
        dir: &Path,
        engine: Engine,
        cache_bytes: u64,
        wait: std::time::Duration,
    ) -> Result<Kv, StoreError> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match Kv::open(dir, engine, cache_bytes) {
                Err(e) if still_held(&e) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => return other,
            }
        }
    }

    pub(super) fn engine(&self) -> Engine {
        match self {
            Kv::Sled(_) => Engine::Sled,
            Kv::Redb(_) => Engine::Redb,
        }
    }

    pub(super) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<IVec>, StoreError> {
        match self {
            Kv::Sled(db) => Ok(db.get(key)?),
            Kv::Redb(db) => {
                let txn = db.begin_read().map_err(redb_error)?;
                let table = txn.open_table(TABLE).map_err(redb_error)?;
                let value = table.get(key.as_ref()).map_err(redb_error)?;
                Ok(value.map(|v| IVec::from(v.value())))
            }
        }
    }

    /// Every key starting with `prefix`, in key order (lazily).
    pub(super) fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> KvIter {
        let prefix = prefix.as_ref();
        match self {
            Kv::Sled(db) => KvIter::Sled(Box::new(db.scan_prefix(prefix))),
            Kv::Redb(db) => {
                let end = match prefix_end(prefix) {
                    Some(end) => Bound::Excluded(end),
                    None => Bound::Unbounded,
                };
                redb_range(db, Bound::Included(prefix.to_vec()), end)
            }
        }
    }

    /// The keys in `range`, in key order (lazily).
    pub(super) fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> KvIter {
        match self {
            Kv::Sled(db) => KvIter::Sled(Box::new(db.range(range))),
            Kv::Redb(db) => {
                let owned = |b: Bound<&K>| match b {
                    Bound::Included(k) => Bound::Included(k.as_ref().to_vec()),
                    Bound::Excluded(k) => Bound::Excluded(k.as_ref().to_vec()),
                    Bound::Unbounded => Bound::Unbounded,
                };
                redb_range(db, owned(range.start_bound()), owned(range.end_bound()))
            }
        }
    }

    /// Writes `batch` atomically and durably: when this returns `Ok`, it is on disk.
    pub(super) fn write(&self, batch: Batch) -> Result<(), StoreError> {
        match self {
            Kv::Sled(db) => {
                db.apply_batch(batch.into_sled())?;
                db.flush()?;
                Ok(())
            }
            Kv::Redb(db) => {
                let mut txn = db.begin_write().map_err(redb_error)?;
                // The allocator's state goes with each commit, so that opening after a crash
                // reads it instead of walking the whole tree (bounded restart time).
                txn.set_quick_repair(true);
                {
                    let mut table = txn.open_table(TABLE).map_err(redb_error)?;
                    for (key, value) in batch.into_writes() {
                        match value {
                            Some(value) => {
                                table
                                    .insert(key.as_ref(), value.as_ref())
                                    .map_err(redb_error)?;
                            }
                            None => {
                                table.remove(key.as_ref()).map_err(redb_error)?;
                            }
                        }
                    }
                }
                txn.commit().map_err(redb_error)
            }
        }
    }
}

/// The keys of redb's table from `start` to `end`, in key order (lazily).
fn redb_range(db: &redb::Database, start: Bound<Vec<u8>>, end: Bound<Vec<u8>>) -> KvIter {
    // redb refuses (panics on) a range whose start lies after its end; an empty one is
    // what the caller means.
    let inverted = match (&start, &end) {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        _ => false,
    };
    if inverted {
        return KvIter::Empty;
    }
    let opened = db
        .begin_read()
        .map_err(redb_error)
        .and_then(|txn| txn.open_table(TABLE).map_err(redb_error))
        .and_then(|table| {
            let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (as_slice(&start), as_slice(&end));
            table.range::<&[u8]>(bounds).map_err(redb_error)
        });
    match opened {
        Ok(range) => KvIter::Redb(Box::new(range)),
        Err(e) => KvIter::Failed(Some(e)),
    }
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match bound {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

type RedbRange = redb::Range<'static, &'static [u8], &'static [u8]>;

/// A range of keys and values of either engine, or the failure that stopped it before its
/// first entry (yielded once).
pub(super) enum KvIter {
    Sled(Box<sled::Iter>),
    Redb(Box<RedbRange>),
    Failed(Option<StoreError>),
    Empty,
}

type Entry = Result<(IVec, IVec), StoreError>;

/// A redb range's entry: key and value, borrowed from the pages the range keeps alive.
type RedbEntry = Result<
    (
        redb::AccessGuard<'static, &'static [u8]>,
        redb::AccessGuard<'static, &'static [u8]>,
    ),
    redb::StorageError,
>;

fn redb_entry(entry: RedbEntry) -> Entry {
    entry
        .map(|(k, v)| (IVec::from(k.value()), IVec::from(v.value())))
        .map_err(redb_error)
}

impl Iterator for KvIter {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        match self {
            KvIter::Sled(iter) => iter.next().map(|e| e.map_err(StoreError::from)),
            KvIter::Redb(range) => range.next().map(redb_entry),
            KvIter::Failed(error) => error.take().map(Err),
            KvIter::Empty => None,
        }
    }
}

impl DoubleEndedIterator for KvIter {
    fn next_back(&mut self) -> Option<Entry> {
        match self {
            KvIter::Sled(iter) => iter.next_back().map(|e| e.map_err(StoreError::from)),
            KvIter::Redb(range) => range.next_back().map(redb_entry),
            KvIter::Failed(error) => error.take().map(Err),
            KvIter::Empty => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(dir: &Path, engine: Engine) -> Kv {
        let kv = Kv::open(dir, engine, 1 << 20).expect("open");
        let mut batch = Batch::default();
        for key in [&b"a1"[..], b"a2", b"a\xff", b"b", b"\xff\xff"] {
            batch.insert(key.to_vec(), key.to_vec());
        }
        kv.write(batch).expect("write");
        kv
    }

    fn keys(iter: KvIter) -> Vec<Vec<u8>> {
        iter.map(|e| e.expect("entry").0.to_vec()).collect()
    }

    #[test]
    fn both_engines_read_the_same_ranges_and_survive_a_reopen() {
        for engine in [Engine::Sled, Engine::Redb] {
            let dir = tempfile::tempdir().expect("temp dir");
            let kv = filled(dir.path(), engine);
            assert_eq!(Engine::of_dir(dir.path()), engine);
            assert_eq!(kv.engine(), engine);
            assert_eq!(
                keys(kv.scan_prefix(b"a")),
                vec![b"a1".to_vec(), b"a2".to_vec(), b"a\xff".to_vec()],
                "{engine:?}"
            );
            assert_eq!(keys(kv.scan_prefix(b"\xff")), vec![b"\xff\xff".to_vec()]);
            assert_eq!(keys(kv.scan_prefix(b"c")), Vec::<Vec<u8>>::new());
            assert_eq!(
                keys(kv.range(&b"a2"[..]..&b"b"[..])),
                vec![b"a2".to_vec(), b"a\xff".to_vec()]
            );
            assert_eq!(keys(kv.range(&b"b"[..]..&b"a"[..])), Vec::<Vec<u8>>::new());
            assert_eq!(keys(kv.range(&b"b"[..]..=&b"b"[..])), vec![b"b".to_vec()]);
            let last = kv
                .scan_prefix(b"a")
                .next_back()
                .expect("last")
                .expect("entry");
            assert_eq!(last.0.as_ref(), b"a\xff");
            let mut batch = Batch::default();
            batch.remove(b"a1".to_vec());
            batch.insert(b"a2".to_vec(), b"new".to_vec());
            kv.write(batch).expect("write");
            drop(kv);
            let kv = Kv::open_waiting(
                dir.path(),
                engine,
                1 << 20,
                std::time::Duration::from_secs(2),
            )
            .expect("reopen");
            assert_eq!(kv.get(b"a1").expect("get"), None, "{engine:?}");
            assert_eq!(kv.get(b"a2").expect("get").expect("a2").as_ref(), b"new");
        }
    }

    #[test]
    fn a_new_dir_is_redb() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(Engine::holding(dir.path()), None);
        assert_eq!(Engine::of_dir(dir.path()), Engine::Redb);
    }
}
