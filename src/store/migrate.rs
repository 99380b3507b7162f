//! `serialtrack migrate`: a data dir (either engine) copied whole into a PostgreSQL-wire
//! database, or into a new data dir on redb, then verified (every key and value read back, counted per record kind and digested; the event
//! chain walked) before the database is opened for writers.
//!
//! While it copies, the target's `meta` row holds [`MIGRATING`](super::pg_store::MIGRATING)
//! as its next sequence number, so no `serve` starts a group there; only a verified copy sets
//! the real one. A copy cut short leaves the marker, and a second run clears what the first
//! one wrote and starts over. The data dir stays locked for the whole run, so no `serve`
//! writes to it meanwhile.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;

use sha2::{Digest, Sha256};
use tokio_postgres::NoTls;

use super::StoreError;
use super::keys;
use super::kv::{Engine, Kv};
use super::pg_store::{Conn, MIGRATING, UPSERT_SQL, migrate_schema, pg_error, redacted};
use super::records::decode_event;
use super::sled_store::{lock_data_dir, read_writer_state, upgrade_layout};
use crate::audit::Chain;

/// Rows written per statement (each its own transaction) while copying and read per query
/// while verifying.
pub const COPY_CHUNK_ROWS: usize = 4096;

/// What a migration copied and checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrateReport {
    /// Keys copied per record kind (the key's prefix byte), equal on both sides.
    pub keys_by_kind: BTreeMap<char, u64>,
    pub keys: u64,
    /// SHA-256 over every key and value in key order, equal on both sides.
    pub digest: [u8; 32],
    /// The event chain's head after the walk: the last event and its hash.
    pub head: (u64, [u8; 32]),
    /// Events from before the chain existed (counted, not hash-checked).
    pub unchained: u64,
}

/// Counts and digests keys and values in key order.
#[derive(Default)]
struct Tally {
    by_kind: BTreeMap<char, u64>,
    keys: u64,
    digest: Sha256,
}

impl Tally {
    fn add(&mut self, key: &[u8], value: &[u8]) {
        let kind = key.first().map_or('?', |b| char::from(*b));
        *self.by_kind.entry(kind).or_default() += 1;
        self.keys += 1;
        // Length-prefixed, so that no two different rows digest alike.
        for part in [key, value] {
            self.digest
                .update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            self.digest.update(part);
        }
    }
}

/// The data dir a migration copies, opened and locked for the whole run.
struct Source {
    kv: Kv,
    /// The next sequence number and the chain's head, which the copy must end at.
    next_seq: u64,
    last_hash: [u8; 32],
    _lock: std::fs::File,
}

impl Source {
    /// Locks and opens `dir` on the engine it holds (upgraded to the current key layout), or
    /// refuses a dir that holds no store: a mistyped path copies nothing.
    fn open(dir: &Path) -> Result<Source, StoreError> {
        let Some(engine) = Engine::holding(dir) else {
            return Err(StoreError::Unavailable(format!(
                "{} holds no serialtrack store (neither store.redb nor db/)",
                dir.display()
            )));
        };
        let lock = lock_data_dir(dir)?;
        let kv = Kv::open_waiting(
            dir,
            engine,
            super::sled_store::CACHE_BYTES,
            std::time::Duration::from_secs(2),
        )?;
        upgrade_layout(&kv)?;
        let (next_seq, last_hash, _) = read_writer_state(&kv)?;
        Ok(Source {
            kv,
            next_seq,
            last_hash,
            _lock: lock,
        })
    }
}

/// Copies the data dir `dir` (either engine) into the database at `url` (which must hold no
/// data, or a copy an earlier run cut short) and verifies the copy. Blocks: call it off any
/// async runtime.
pub fn migrate_to_pg(dir: &Path, url: &str) -> Result<MigrateReport, StoreError> {
    let source = Source::open(dir)?;
    let (db, next_seq, last_hash) = (&source.kv, source.next_seq, source.last_hash);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Unavailable(format!("runtime: {e}")))?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot connect to the database at {}: {}",
                redacted(url),
                pg_error(&e)
            ))
        })?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "database connection ended");
            }
        });
        migrate_schema(&client).await?;
        let conn = Conn::prepare(client).await?;
        claim(&conn).await?;
        let copied = copy(db, &conn).await?;
        let (read_back, head, unchained) = read_back(&conn).await?;
        let report = verified(copied, read_back, head, unchained, (next_seq, last_hash))?;
        // Verified: writers may start from the data dir's next sequence number.
        let next = i64::try_from(next_seq)
            .map_err(|_| StoreError::Corrupt(format!("sequence number {next_seq}")))?;
        conn.client
            .execute(
                "UPDATE meta SET next_seq = $1, last_hash = $2, recalls_gen = recalls_gen + 1 WHERE id = 1 AND next_seq = $3",
                &[&next, &&last_hash[..], &MIGRATING],
            )
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(report)
    })
}

/// Marks the database as being migrated into, after checking that no writer has used it, and
/// clears what a run cut short left.
async fn claim(conn: &Conn) -> Result<(), StoreError> {
    let e = |e: tokio_postgres::Error| pg_error(&e);
    conn.client.batch_execute("BEGIN").await.map_err(e)?;
    let next_seq: i64 = conn
        .client
        .query_one("SELECT next_seq FROM meta WHERE id = 1 FOR UPDATE", &[])
        .await
        .map_err(e)?
        .get(0);
    let others: i64 = conn
        .client
        .query_one("SELECT count(*) FROM kv WHERE k <> $1", &[&keys::LAYOUT])
        .await
        .map_err(e)?
        .get(0);
    if next_seq != MIGRATING && (next_seq != 1 || others != 0) {
        let _ = conn.client.batch_execute("ROLLBACK").await;
        return Err(StoreError::Unavailable(format!(
            "the target database already holds a store ({others} keys, next event {next_seq}); migrate copies into an empty one only"
        )));
    }
    conn.client
        .execute("UPDATE meta SET next_seq = $1 WHERE id = 1", &[&MIGRATING])
        .await
        .map_err(e)?;
    conn.client.batch_execute("COMMIT").await.map_err(e)?;
    // A run cut short: its rows go, a chunk per statement (a distributed engine bounds the
    // size of one transaction).
    loop {
        let deleted = conn
            .client
            .execute(
                "DELETE FROM kv WHERE k IN (SELECT k FROM kv WHERE k <> $1 ORDER BY k LIMIT 4096)",
                &[&keys::LAYOUT],
            )
            .await
            .map_err(e)?;
        if deleted == 0 {
            return Ok(());
        }
    }
}

async fn copy(db: &Kv, conn: &Conn) -> Result<Tally, StoreError> {
    let mut tally = Tally::default();
    let mut chunk: Vec<(sled::IVec, sled::IVec)> = Vec::with_capacity(COPY_CHUNK_ROWS);
    let mut entries = db.range::<&[u8], _>(..);
    loop {
        let entry = entries.next().transpose()?;
        let done = entry.is_none();
        if let Some((key, value)) = entry {
            tally.add(&key, &value);
            chunk.push((key, value));
        }
        if chunk.len() == COPY_CHUNK_ROWS || (done && !chunk.is_empty()) {
            let keys: Vec<&[u8]> = chunk.iter().map(|(k, _)| k.as_ref()).collect();
            let values: Vec<&[u8]> = chunk.iter().map(|(_, v)| v.as_ref()).collect();
            conn.client
                .execute(UPSERT_SQL, &[&keys, &values])
                .await
                .map_err(|e| pg_error(&e))?;
            chunk.clear();
        }
        if done {
            return Ok(tally);
        }
    }
}

/// Every key and value of the database, tallied, and the event chain walked.
async fn read_back(conn: &Conn) -> Result<(Tally, (u64, [u8; 32]), u64), StoreError> {
    let mut tally = Tally::default();
    let mut chain = Chain::default();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let lower = after.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let page = conn.range(lower, Bound::Unbounded, COPY_CHUNK_ROWS).await?;
        for (key, value) in &page {
            tally.add(key, value);
            if key.first() == Some(&keys::EVENT) {
                let event = decode_event(value)?;
                chain.push(&event).map_err(|broken| {
                    StoreError::Corrupt(format!("the copy's event chain breaks: {broken}"))
                })?;
            }
        }
        if page.len() < COPY_CHUNK_ROWS {
            return Ok((tally, chain.head(), chain.unchained));
        }
        after = page.last().map(|(k, _)| k.clone());
    }
}

/// The suffix of the directory a copy into a new data dir is written to before it is verified
/// and renamed into place.
const PARTIAL_SUFFIX: &str = ".partial";

/// Copies the data dir `dir` (either engine) into the new data dir `to` on redb and verifies
/// the copy like [`migrate_to_pg`]: every key and value read back and digested, the event
/// chain walked. The copy is written to `TO.partial` and renamed to `to` only once verified, so
/// `to` never holds half a store; a run cut short leaves `TO.partial`, which the next run
/// replaces. `to` must not exist yet. The first ADMIN token's file comes along. Blocks: call it
/// off any async runtime.
pub fn migrate_to_dir(dir: &Path, to: &Path) -> Result<MigrateReport, StoreError> {
    let io = |path: &Path| {
        let shown = path.display().to_string();
        move |source| StoreError::DataDir { dir: shown, source }
    };
    if to.exists() {
        return Err(StoreError::Unavailable(format!(
            "{} already exists; migrate copies into a new data dir only",
            to.display()
        )));
    }
    let opened = Source::open(dir)?;
    let (source, next_seq, last_hash) = (&opened.kv, opened.next_seq, opened.last_hash);
    let mut partial = to.as_os_str().to_owned();
    partial.push(PARTIAL_SUFFIX);
    let partial = std::path::PathBuf::from(partial);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    let (copied, read_back, head, unchained) = {
        let target = Kv::open(&partial, Engine::Redb, super::sled_store::CACHE_BYTES)?;
        let mut copied = Tally::default();
        let mut batch = super::batch::Batch::default();
        for entry in source.range::<&[u8], _>(..) {
            let (key, value) = entry?;
            copied.add(&key, &value);
            batch.insert(key, value);
            if batch.len() == COPY_CHUNK_ROWS {
                target.write(std::mem::take(&mut batch))?;
            }
        }
        target.write(batch)?;
        let mut read_back = Tally::default();
        let mut chain = Chain::default();
        for entry in target.range::<&[u8], _>(..) {
            let (key, value) = entry?;
            read_back.add(&key, &value);
            if key.first() == Some(&keys::EVENT) {
                chain.push(&decode_event(&value)?).map_err(|broken| {
                    StoreError::Corrupt(format!("the copy's event chain breaks: {broken}"))
                })?;
            }
        }
        (copied, read_back, chain.head(), chain.unchained)
    };
    let report = verified(copied, read_back, head, unchained, (next_seq, last_hash))?;
    let token = dir.join(crate::auth::ADMIN_TOKEN_FILE);
    if token.exists() {
        std::fs::copy(&token, partial.join(crate::auth::ADMIN_TOKEN_FILE)).map_err(io(&token))?;
    }
    std::fs::rename(&partial, to).map_err(io(to))?;
    Ok(report)
}

/// The report of a copy whose tallies agree and whose chain ends where the source's does, or
/// what differs.
fn verified(
    copied: Tally,
    read_back: Tally,
    head: (u64, [u8; 32]),
    unchained: u64,
    (next_seq, last_hash): (u64, [u8; 32]),
) -> Result<MigrateReport, StoreError> {
    if (copied.keys, &copied.by_kind) != (read_back.keys, &read_back.by_kind) {
        return Err(StoreError::Corrupt(format!(
            "the copy holds other keys than the data dir: {} keys {:?} copied, {} keys {:?} read back",
            copied.keys, copied.by_kind, read_back.keys, read_back.by_kind
        )));
    }
    let (digest, back) = (copied.digest.finalize(), read_back.digest.finalize());
    if digest != back {
        return Err(StoreError::Corrupt(
            "the copy's keys and values differ from the data dir's (digests differ)".to_owned(),
        ));
    }
    if head != (next_seq - 1, last_hash) {
        return Err(StoreError::Corrupt(format!(
            "the copy's event chain ends at event {} but the data dir's at event {}",
            head.0,
            next_seq - 1
        )));
    }
    Ok(MigrateReport {
        keys_by_kind: copied.by_kind,
        keys: copied.keys,
        digest: digest.into(),
        head,
        unchained,
    })
}
