//! The PostgreSQL-wire backend: the sled key layout in one table, several `serve` instances
//! sharing one database (PostgreSQL; the SQL is kept to what CockroachDB and YugabyteDB also
//! accept).
//!
//! Writes go through the same writer as sled's (`Group`: the commands, the decisions, the
//! batch), run on a thread of its own per instance. One group is one transaction: it first
//! locks the single `meta` row (`SELECT ... FOR UPDATE`), so the groups of every instance
//! take turns; it reads the next sequence number and the chain's last hash from that row, not
//! from memory, decides its commands against the table (read in the transaction, after the
//! lock), writes its batch, moves the row on and commits. Only then are the callers answered:
//! "accepted" means committed. Reads do not go through the writer: they use a few
//! connections of their own. The committed watermark comes from the `meta` row, which only a
//! committed group moves, polled every [`POLL_INTERVAL`] while the writer is idle.
//!
//! Must not: write anywhere but in the writer's transaction holding the `meta` lock (the
//! `migrate` copy excepted, which runs before any writer); answer a caller before COMMIT
//! returned.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, Statement};

use super::keys;
use super::records::{
    current_templates, decode_facts, decode_print_job, decode_range, decode_template,
};
use super::records::{
    decode_event, decode_item, decode_kpi, decode_order, decode_recall, decode_receipt,
    decode_receipt_entry, decode_set, decode_shipment, decode_unit,
};
use super::sled_store::{
    Command, GROUP_SCANS_MAX, Get, Group, RETRY_HINT, Recalls, WRITER_QUEUE_LEN_MAX, answer_group,
    count_committed, dispatched_from, picks_from,
};
use super::tokens;
use super::webhooks;
use super::{ItemConflict, PreparedScan, PutItemAnswer, ScanAnswer, Store, StoreError, UnitQuery};
use crate::auth::{Token, TokenError, TokenOp};
use crate::domain::issue::{IssueAnswer, IssueError, IssueOp, Range, UnitFacts};
use crate::domain::kpi::{KpiCounts, KpiKey};
use crate::domain::label::{PrintJob, Template};
use crate::domain::warehouse::recall_hold;
use crate::domain::{
    self, DocumentAnswer, DocumentError, DocumentOp, Event, Item, Order, Pick, Recall, Receipt,
    ReceiptEntry, Shipment, Unit, UnitSet,
};
use crate::metrics::Metrics;
use crate::webhook::{Webhook, WebhookError, WebhookOp};

/// How often an idle writer reads the `meta` row for what other instances committed (the
/// watermark WatchEvents and webhooks follow, and recall changes). A busy writer learns it
/// from each group's locked read of the same row.
pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);
/// Connections the readers of one store share (each carries many queries at once).
pub const READER_CONNECTIONS: usize = 4;
/// How often a group is decided and written again after its writes or COMMIT failed with a
/// serialization failure or a deadlock (which PostgreSQL, every group holding the `meta` lock
/// first, does not raise; a distributed engine may). After the last, its callers get
/// UNAVAILABLE and retry with the same `event_id`.
pub const GROUP_ATTEMPTS_MAX: usize = 4;
/// How often a group's start (BEGIN and the `meta` lock) is tried again after a
/// serialization failure or a deadlock (SQLSTATE 40001, 40P01) before the group is refused.
pub const LOCK_ATTEMPTS_MAX: usize = 8;
/// The most rows one upsert or delete statement carries; a larger batch takes several.
pub const WRITE_ROWS_MAX: usize = 8192;
/// How often the schema migration is tried when instances starting together race in the
/// catalog (a table or its type created by the other one a moment before).
pub const MIGRATION_ATTEMPTS_MAX: usize = 5;
/// How long connecting to the database may take before open fails.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The schema, one entry per version, applied in order at open. Every statement is
/// idempotent, so two instances starting at once (or a start cut short) apply it safely.
/// `{KEY}` is the key column's primary-key clause, which differs by engine (YugabyteDB
/// hash-shards a primary key unless it says ASC; PostgreSQL refuses ASC there).
const MIGRATIONS: &[(i32, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE IF NOT EXISTS kv (k BYTEA NOT NULL, v BYTEA NOT NULL, {KEY})",
        "CREATE TABLE IF NOT EXISTS meta (id INT NOT NULL PRIMARY KEY, next_seq BIGINT NOT NULL, last_hash BYTEA NOT NULL, recalls_gen BIGINT NOT NULL)",
        "INSERT INTO meta (id, next_seq, last_hash, recalls_gen) VALUES (1, 1, $1, 0) ON CONFLICT (id) DO NOTHING",
    ],
)];

/// Which engine speaks the protocol: what the schema must say differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Cockroach,
    Yugabyte,
}

impl Engine {
    fn of(version: &str) -> Engine {
        if version.contains("CockroachDB") {
            Engine::Cockroach
        } else if version.contains("-YB-") || version.contains("Yugabyte") {
            Engine::Yugabyte
        } else {
            Engine::Postgres
        }
    }

    fn key_clause(self) -> &'static str {
        match self {
            // Range-sharded, so prefix scans read one range in key order.
            Engine::Yugabyte => "PRIMARY KEY (k ASC)",
            // Both order a BYTEA primary key bytewise (CockroachDB ranges are ordered).
            Engine::Postgres | Engine::Cockroach => "PRIMARY KEY (k)",
        }
    }
}

pub(super) fn pg_error(e: &tokio_postgres::Error) -> StoreError {
    // The server's own message says more than the driver's summary.
    let text = match e.as_db_error() {
        Some(db) => format!("{}: {} ({})", db.severity(), db.message(), db.code().code()),
        None => e.to_string(),
    };
    StoreError::Unavailable(format!("database: {text}"))
}

/// True for the failures a transaction is retried after.
fn is_retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// A database URL as logs and errors may show it: without its password.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// One connection with the statements the store reads and writes with, prepared once.
pub(super) struct Conn {
    pub(super) client: Client,
    get: Statement,
    /// Range reads by (lower bound kind, upper bound kind): `>=` or `>`, and `<=`, `<` or none.
    ranges: [Statement; 6],
}

impl Conn {
    async fn connect(url: &str, io: &tokio::runtime::Handle) -> Result<Conn, StoreError> {
        let (client, connection) =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(url, NoTls))
                .await
                .map_err(|_| {
                    StoreError::Unavailable(format!(
                        "cannot reach the database at {} within {CONNECT_TIMEOUT:?}",
                        redacted(url)
                    ))
                })?
                .map_err(|e| {
                    StoreError::Unavailable(format!(
                        "cannot connect to the database at {}: {}",
                        redacted(url),
                        pg_error(&e)
                    ))
                })?;
        io.spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "database connection ended");
            }
        });
        Conn::prepare(client).await
    }

    /// Prepares the store's statements; before the schema exists they cannot be.
    pub(super) async fn prepare(client: Client) -> Result<Conn, StoreError> {
        let p = |sql: String| {
            let client = &client;
            async move { client.prepare(&sql).await.map_err(|e| pg_error(&e)) }
        };
        let range = |lower: &str, upper: Option<&str>| {
            let upper = upper.map_or(String::new(), |op| format!(" AND k {op} $2"));
            format!("SELECT k, v FROM kv WHERE k {lower} $1{upper} ORDER BY k LIMIT $3")
        };
        let get = p("SELECT v FROM kv WHERE k = $1".to_owned()).await?;
        let ranges = [
            p(range(">=", Some("<="))).await?,
            p(range(">=", Some("<"))).await?,
            p(range(">=", None).replace("LIMIT $3", "LIMIT $2")).await?,
            p(range(">", Some("<="))).await?,
            p(range(">", Some("<"))).await?,
            p(range(">", None).replace("LIMIT $3", "LIMIT $2")).await?,
        ];
        Ok(Conn {
            client,
            get,
            ranges,
        })
    }

    pub(super) async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self
            .client
            .query_opt(&self.get, &[&key])
            .await
            .map_err(|e| pg_error(&e))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Keys and values from `lower` to `upper` in key order, at most `limit`.
    pub(super) async fn range(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let (low, low_at) = match lower {
            Bound::Included(k) => (0, k),
            Bound::Excluded(k) => (3, k),
            Bound::Unbounded => (0, &[][..]),
        };
        let rows = match upper {
            Bound::Included(up) => {
                self.client
                    .query(&self.ranges[low], &[&low_at, &up, &limit])
                    .await
            }
            Bound::Excluded(up) => {
                self.client
                    .query(&self.ranges[low + 1], &[&low_at, &up, &limit])
                    .await
            }
            Bound::Unbounded => {
                self.client
                    .query(&self.ranges[low + 2], &[&low_at, &limit])
                    .await
            }
        }
        .map_err(|e| pg_error(&e))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub(super) async fn prefix(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        match prefix_end(prefix) {
            Some(end) => {
                self.range(Bound::Included(prefix), Bound::Excluded(&end), limit)
                    .await
            }
            None => {
                self.range(Bound::Included(prefix), Bound::Unbounded, limit)
                    .await
            }
        }
    }
}

/// The first key after every key that starts with `prefix` (`None`: there is none).
pub(super) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Writes rows given as two arrays (keys, values), replacing the value of a key present.
pub(super) const UPSERT_SQL: &str = "INSERT INTO kv (k, v) SELECT * FROM unnest($1::BYTEA[], $2::BYTEA[]) ON CONFLICT (k) DO UPDATE SET v = excluded.v";

/// The largest number of rows any unbounded read of the store returns in one go (the lists
/// the domain bounds itself: an order's picks, a shipment's serials, tokens, webhooks,
/// recalls, receipts, shipments).
pub(super) const LIST_ROWS_MAX: usize = 1_000_000;

/// Applies the schema migrations not applied yet, and refuses a database a later serialtrack
/// migrated further. Answers the engine.
pub(super) async fn migrate_schema(client: &Client) -> Result<Engine, StoreError> {
    let version: String = client
        .query_one("SELECT version()", &[])
        .await
        .map_err(|e| pg_error(&e))?
        .get(0);
    let engine = Engine::of(&version);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match apply_migrations(client, engine).await {
            Ok(()) => return Ok(engine),
            // Two instances creating the same table at once: one of them loses a race in the
            // catalog (a duplicate or a serialization failure); the next attempt sees it done.
            Err(e)
                if attempt < MIGRATION_ATTEMPTS_MAX
                    && matches!(
                        e.code(),
                        Some(c) if *c == SqlState::UNIQUE_VIOLATION
                            || *c == SqlState::DUPLICATE_TABLE
                            || *c == SqlState::DUPLICATE_OBJECT
                            || *c == SqlState::T_R_SERIALIZATION_FAILURE
                    ) => {}
            Err(e) => return Err(pg_error(&e)),
        }
    }
}

async fn apply_migrations(client: &Client, engine: Engine) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS serialtrack_schema (version INT NOT NULL PRIMARY KEY)",
        )
        .await?;
    let applied: Vec<i32> = client
        .query(
            "SELECT version FROM serialtrack_schema ORDER BY version",
            &[],
        )
        .await?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    for (version, statements) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        for statement in *statements {
            let sql = statement.replace("{KEY}", engine.key_clause());
            // The one parameter a migration takes is the event chain's start.
            if sql.contains("$1") {
                client.execute(&sql, &[&&crate::audit::GENESIS[..]]).await?;
            } else {
                client.batch_execute(&sql).await?;
            }
        }
        client
            .execute(
                "INSERT INTO serialtrack_schema (version) VALUES ($1) ON CONFLICT (version) DO NOTHING",
                &[version],
            )
            .await?;
    }
    // The key layout the table holds: sled's, whose version the layout key names.
    client
        .execute(
            "INSERT INTO kv (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING",
            &[&keys::LAYOUT, &&keys::LAYOUT_VERSION.to_be_bytes()[..]],
        )
        .await?;
    Ok(())
}

/// The schema version this build writes; a database with a later one is refused.
fn schema_version_max() -> i32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Checks that the database is not of a later schema or key layout than this build reads.
async fn check_versions(conn: &Conn) -> Result<(), StoreError> {
    let later: Option<i32> = conn
        .client
        .query_one("SELECT max(version) FROM serialtrack_schema", &[])
        .await
        .map_err(|e| pg_error(&e))?
        .get(0);
    if let Some(v) = later
        && v > schema_version_max()
    {
        return Err(StoreError::Corrupt(format!(
            "the database has schema version {v}, written by a later serialtrack; this one knows up to {}: run the later serialtrack",
            schema_version_max()
        )));
    }
    let layout = conn.get(keys::LAYOUT).await?;
    let layout = layout
        .as_deref()
        .and_then(|v| <[u8; 4]>::try_from(v).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt("layout version".to_owned()))?;
    if layout != keys::LAYOUT_VERSION {
        return Err(StoreError::Corrupt(format!(
            "the database has key layout {layout}; this serialtrack reads layout {}",
            keys::LAYOUT_VERSION
        )));
    }
    Ok(())
}

/// Every recall from its keys, in the order they were made (as the sled writer keeps them).
fn recalls_from(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Result<Vec<Recall>, StoreError> {
    let mut recalls = entries
        .iter()
        .map(|(_, v)| decode_recall(v))
        .collect::<Result<Vec<Recall>, StoreError>>()?;
    recalls.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
    Ok(recalls)
}

/// A handle to the PostgreSQL-wire store. Clones share one writer and one set of reader
/// connections; the writer finishes its queue when the last handle is dropped.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<PgInner>,
}

struct PgInner {
    url: String,
    readers: Vec<tokio::sync::Mutex<Option<Arc<Conn>>>>,
    next_reader: AtomicUsize,
    recalls: Recalls,
    committed: tokio::sync::watch::Receiver<u64>,
    commands: Mutex<Option<mpsc::Sender<Command>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    metrics: Arc<Metrics>,
    engine: Engine,
    /// Drives every connection of the store; shut down last.
    io: Mutex<Option<tokio::runtime::Runtime>>,
    io_handle: tokio::runtime::Handle,
}

impl Drop for PgInner {
    fn drop(&mut self) {
        drop(self.commands.lock().map(|mut c| c.take()));
        if let Ok(mut writer) = self.writer.lock()
            && let Some(handle) = writer.take()
        {
            let _ = handle.join();
        }
        // Not waiting: a store may be dropped on an async runtime, where blocking is refused.
        if let Ok(mut io) = self.io.lock()
            && let Some(io) = io.take()
        {
            io.shutdown_background();
        }
    }
}

/// What the writer thread hands back once it has connected and migrated.
struct Opened {
    next_seq: u64,
    recalls: Vec<Recall>,
    engine: Engine,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`), applies the schema
    /// migrations it lacks and starts this instance's writer. Other instances may be running
    /// on the same database.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("serialtrack-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(format!("database runtime: {e}")))?;
        let io_handle = io.handle().clone();
        let (tx, rx) = mpsc::channel(WRITER_QUEUE_LEN_MAX);
        let (committed_tx, committed) = tokio::sync::watch::channel(0);
        let metrics = Arc::new(Metrics::new());
        let recalls: Recalls = Arc::new(RwLock::new(Arc::new(Vec::new())));
        let (opened_tx, opened_rx) = std::sync::mpsc::sync_channel(1);
        let writer = PgWriter {
            url: url.to_owned(),
            io: io_handle.clone(),
            conn: None,
            recalls: recalls.clone(),
            recalls_gen: None,
            committed: committed_tx,
            metrics: metrics.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("serialtrack-pg-writer".to_owned())
            .spawn(move || writer.run(rx, opened_tx))
            .map_err(|e| StoreError::Unavailable(format!("writer thread: {e}")))?;
        let opened = match opened_rx.recv() {
            Ok(Ok(opened)) => opened,
            Ok(Err(e)) => {
                drop(tx);
                let _ = handle.join();
                io.shutdown_background();
                return Err(e);
            }
            Err(_) => {
                io.shutdown_background();
                return Err(StoreError::Unavailable(
                    "the database writer ended while opening".to_owned(),
                ));
            }
        };
        if let Ok(mut shared) = recalls.write() {
            *shared = Arc::new(opened.recalls);
        }
        let store = PgStore {
            inner: Arc::new(PgInner {
                url: url.to_owned(),
                readers: (0..READER_CONNECTIONS)
                    .map(|_| tokio::sync::Mutex::new(None))
                    .collect(),
                next_reader: AtomicUsize::new(0),
                recalls,
                committed,
                commands: Mutex::new(Some(tx)),
                writer: Mutex::new(Some(handle)),
                metrics,
                engine: opened.engine,
                io: Mutex::new(Some(io)),
                io_handle,
            }),
        };
        debug_assert!(*store.inner.committed.borrow() >= opened.next_seq - 1);
        Ok(store)
    }

    /// The engine behind the URL, as its `version()` names it.
    pub fn engine(&self) -> Engine {
        self.inner.engine
    }

    /// The database URL without its password.
    pub fn url(&self) -> String {
        redacted(&self.inner.url)
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

    /// A reader connection, connected (again) when it has none or its connection ended.
    async fn conn(&self) -> Result<Arc<Conn>, StoreError> {
        let i = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % READER_CONNECTIONS;
        let mut slot = self.inner.readers[i].lock().await;
        if let Some(conn) = slot.as_ref()
            && !conn.client.is_closed()
        {
            return Ok(conn.clone());
        }
        let conn = Arc::new(Conn::connect(&self.inner.url, &self.inner.io_handle).await?);
        *slot = Some(conn.clone());
        Ok(conn)
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.conn().await?.get(key).await
    }

    async fn prefix(&self, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        self.conn().await?.prefix(prefix, LIST_ROWS_MAX).await
    }

    fn recalls_now(&self) -> Arc<Vec<Recall>> {
        self.inner
            .recalls
            .read()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |r| r.clone())
    }

    fn as_seen(unit: Unit, recalls: &[Recall]) -> Unit {
        let mut unit = unit;
        if unit.hold.is_none() {
            unit.hold = recall_hold(recalls, &unit);
        }
        unit
    }

    async fn read_unit(&self, serial: &str) -> Result<Option<Unit>, StoreError> {
        let Some(bytes) = self.get(&keys::unit(serial)).await? else {
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

    async fn read_picks(&self, order_id: &str) -> Result<Vec<Pick>, StoreError> {
        let Some(prefix) = keys::pick_prefix(order_id) else {
            return Ok(Vec::new());
        };
        picks_from(order_id, prefix.len(), self.prefix(&prefix).await?)
    }

    async fn read_dispatched(&self, shipment_id: &str) -> Result<Vec<String>, StoreError> {
        let Some(prefix) = keys::dispatch_prefix(shipment_id) else {
            return Ok(Vec::new());
        };
        dispatched_from(shipment_id, self.prefix(&prefix).await?)
    }

    /// The units behind the keys of an index prefix, after `after` in serial order.
    async fn indexed_units(
        &self,
        prefix: Option<Vec<u8>>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Unit>, StoreError> {
        let Some(prefix) = prefix else {
            return Ok(Vec::new());
        };
        let start = keys::indexed(&prefix, after);
        let end = prefix_end(&prefix);
        let conn = self.conn().await?;
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let mut units = Vec::with_capacity(limit.min(1024));
        for (key, _) in conn.range(Bound::Excluded(&start), upper, limit).await? {
            let serial = key
                .strip_prefix(prefix.as_slice())
                .and_then(|s| std::str::from_utf8(s).ok())
                .ok_or_else(|| StoreError::Corrupt("index key".to_owned()))?;
            let unit = self
                .read_unit(serial)
                .await?
                .ok_or_else(|| StoreError::Corrupt(format!("index names missing unit {serial}")))?;
            units.push(unit);
        }
        Ok(units)
    }

    async fn listed_units(
        &self,
        mut serials: Vec<String>,
        after: &str,
        limit: usize,
    ) -> Result<Vec<Unit>, StoreError> {
        serials.sort();
        serials.dedup();
        let mut units = Vec::new();
        for serial in serials.iter().filter(|s| s.as_str() > after).take(limit) {
            if let Some(unit) = self.read_unit(serial).await? {
                units.push(unit);
            }
        }
        Ok(units)
    }

    /// Units in serial order after `after` that `keep` accepts, from the serial `from` on,
    /// read a page at a time.
    async fn scanned_units(
        &self,
        from: &str,
        last: Option<&str>,
        after: &str,
        limit: usize,
        keep: impl Fn(&Unit) -> bool,
    ) -> Result<Vec<Unit>, StoreError> {
        /// Units read per query while filtering.
        const PAGE_ROWS: usize = 1000;
        let conn = self.conn().await?;
        let mut start = if after >= from {
            (keys::unit(after), false)
        } else {
            (keys::unit(from), true)
        };
        let end = match last {
            Some(last) => (keys::unit(last), true),
            None => (vec![keys::UNIT + 1], false),
        };
        let mut units = Vec::with_capacity(limit.min(1024));
        loop {
            let lower = if start.1 {
                Bound::Included(start.0.as_slice())
            } else {
                Bound::Excluded(start.0.as_slice())
            };
            let upper = if end.1 {
                Bound::Included(end.0.as_slice())
            } else {
                Bound::Excluded(end.0.as_slice())
            };
            let page = conn.range(lower, upper, PAGE_ROWS).await?;
            let full = page.len() == PAGE_ROWS;
            let mut last_key = None;
            for (key, value) in page {
                let unit = decode_unit(&value)?;
                if keep(&unit) {
                    units.push(unit);
                    if units.len() == limit {
                        return Ok(units);
                    }
                }
                last_key = Some(key);
            }
            match (full, last_key) {
                (true, Some(key)) => start = (key, false),
                _ => return Ok(units),
            }
        }
    }
}

impl Store for PgStore {
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
        self.get(&keys::item(sku))
            .await?
            .map(|v| decode_item(&v))
            .transpose()
    }

    async fn token_op(&self, op: TokenOp) -> Result<Result<Token, TokenError>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Token { op, reply }).await?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn token_by_hash(&self, hash: &[u8; 32]) -> Result<Option<Token>, StoreError> {
        let conn = self.conn().await?;
        let Some(name) = conn.get(&tokens::hash_key(hash)).await? else {
            return Ok(None);
        };
        let name = String::from_utf8(name)
            .map_err(|_| StoreError::Corrupt("a token hash names a non-UTF-8 token".to_owned()))?;
        let token = conn
            .get(&tokens::token_key(&name))
            .await?
            .map(|v| tokens::decode_token(&v))
            .transpose()?;
        match token {
            Some(token) if token.hash == *hash => Ok(Some(token)),
            Some(_) => Err(StoreError::Corrupt(format!(
                "the token index and token {name:?} disagree on its hash"
            ))),
            None => Err(StoreError::Corrupt(format!(
                "a token hash names token {name:?}, which is not stored"
            ))),
        }
    }

    async fn tokens(&self) -> Result<Vec<Token>, StoreError> {
        self.prefix(&[tokens::TOKEN])
            .await?
            .iter()
            .map(|(_, v)| tokens::decode_token(v))
            .collect()
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
        let Some(prefix) = keys::range_prefix(sku) else {
            return Ok(Vec::new());
        };
        self.prefix(&prefix)
            .await?
            .iter()
            .map(|(_, v)| decode_range(v))
            .collect()
    }

    async fn facts(&self, serial: &str) -> Result<UnitFacts, StoreError> {
        self.get(&keys::facts(serial))
            .await?
            .map_or_else(|| Ok(UnitFacts::default()), |v| decode_facts(&v))
    }

    async fn template(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<Template>, StoreError> {
        match version {
            Some(v) => match keys::template(name, v) {
                Some(key) => self
                    .get(&key)
                    .await?
                    .map(|b| decode_template(&b))
                    .transpose(),
                None => Ok(None),
            },
            None => match keys::template_prefix(name) {
                Some(prefix) => self
                    .prefix(&prefix)
                    .await?
                    .pop()
                    .map(|(_, b)| decode_template(&b))
                    .transpose(),
                None => Ok(None),
            },
        }
    }

    async fn templates(&self) -> Result<Vec<Template>, StoreError> {
        let records = self.prefix(keys::TEMPLATES).await?;
        current_templates(records.iter().map(|(_, v)| v))
    }

    async fn print_job(&self, id: &str) -> Result<Option<PrintJob>, StoreError> {
        self.get(&keys::print_job(id))
            .await?
            .map(|b| decode_print_job(&b))
            .transpose()
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        self.prefix(&[webhooks::WEBHOOK])
            .await?
            .iter()
            .map(|(_, v)| webhooks::decode_webhook(v))
            .collect()
    }

    async fn order(&self, id: &str) -> Result<Option<Order>, StoreError> {
        self.get(&keys::order(id))
            .await?
            .map(|v| decode_order(&v))
            .transpose()
    }

    async fn order_picks(&self, id: &str) -> Result<Vec<Pick>, StoreError> {
        self.read_picks(id).await
    }

    async fn shipment(&self, id: &str) -> Result<Option<Shipment>, StoreError> {
        self.get(&keys::shipment(id))
            .await?
            .map(|v| decode_shipment(&v))
            .transpose()
    }

    async fn shipment_dispatched(&self, id: &str) -> Result<Vec<String>, StoreError> {
        self.read_dispatched(id).await
    }

    async fn items(&self, after_sku: &str, limit: usize) -> Result<Vec<Item>, StoreError> {
        let start = keys::item(after_sku);
        let end = [keys::ITEM + 1];
        self.conn()
            .await?
            .range(Bound::Excluded(&start), Bound::Excluded(&end), limit)
            .await?
            .iter()
            .map(|(_, v)| decode_item(v))
            .collect()
    }

    async fn unit(&self, serial: &str) -> Result<Option<Unit>, StoreError> {
        let recalls = self.recalls_now();
        Ok(self
            .read_unit(serial)
            .await?
            .map(|u| Self::as_seen(u, &recalls)))
    }

    async fn unit_by_mfr(&self, mfr: &str) -> Result<Option<Unit>, StoreError> {
        let serial = self
            .get(&keys::mfr(mfr))
            .await?
            .map(|v| {
                String::from_utf8(v)
                    .map_err(|e| StoreError::Corrupt(format!("manufacturer serial index: {e}")))
            })
            .transpose()?;
        match serial {
            Some(serial) => self.unit(&serial).await,
            None => Ok(None),
        }
    }

    async fn stock(&self, sku: &str, limit: usize) -> Result<Vec<Unit>, StoreError> {
        let Some(prefix) = keys::stock_prefix(sku) else {
            return Ok(Vec::new());
        };
        let recalls = self.recalls_now();
        let entries = self.conn().await?.prefix(&prefix, limit).await?;
        let mut units = Vec::with_capacity(entries.len());
        for (key, _) in entries {
            let serial = key
                .get(prefix.len() + keys::STOCK_ORDER_LEN..)
                .and_then(|s| std::str::from_utf8(s).ok())
                .ok_or_else(|| StoreError::Corrupt("stock index key".to_owned()))?;
            let unit = self.read_unit(serial).await?.ok_or_else(|| {
                StoreError::Corrupt(format!("stock index names missing unit {serial}"))
            })?;
            units.push(Self::as_seen(unit, &recalls));
        }
        Ok(units)
    }

    async fn kpis(
        &self,
        from: crate::barcode::Date,
        to: crate::barcode::Date,
        limit: usize,
    ) -> Result<Vec<(KpiKey, KpiCounts)>, StoreError> {
        let (start, end) = (keys::kpi_day(from), keys::kpi_after_day(to));
        let mut rows = Vec::new();
        if start >= end {
            return Ok(rows);
        }
        for (key, value) in self
            .conn()
            .await?
            .range(Bound::Included(&start), Bound::Excluded(&end), limit)
            .await?
        {
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
        self.prefix(&[keys::RECEIPT])
            .await?
            .iter()
            .map(|(_, v)| decode_receipt(v))
            .collect()
    }

    async fn shipments(&self) -> Result<Vec<Shipment>, StoreError> {
        self.prefix(&[keys::SHIPMENT])
            .await?
            .iter()
            .map(|(_, v)| decode_shipment(v))
            .collect()
    }

    async fn set(&self, id: &str) -> Result<Option<UnitSet>, StoreError> {
        self.get(&keys::set(id))
            .await?
            .map(|v| decode_set(&v))
            .transpose()
    }

    async fn recall(&self, id: &str) -> Result<Option<Recall>, StoreError> {
        Ok(self.recalls_now().iter().find(|r| r.id == id).cloned())
    }

    async fn recalls(&self) -> Result<Vec<Recall>, StoreError> {
        Ok(self.recalls_now().as_ref().clone())
    }

    async fn receipt(&self, id: &str) -> Result<Option<Receipt>, StoreError> {
        self.get(&keys::receipt(id))
            .await?
            .map(|v| decode_receipt(&v))
            .transpose()
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
        let start = keys::indexed(&prefix, after);
        let end = prefix_end(&prefix);
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        let mut entries = Vec::with_capacity(limit.min(1024));
        for (key, value) in self
            .conn()
            .await?
            .range(Bound::Excluded(&start), upper, limit)
            .await?
        {
            let serial = key
                .strip_prefix(prefix.as_slice())
                .map(|s| String::from_utf8(s.to_vec()))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("receipt entry key: {e}")))?
                .ok_or_else(|| StoreError::Corrupt("receipt entry key".to_owned()))?;
            let (mark, sku) = decode_receipt_entry(&value)?;
            entries.push(ReceiptEntry { serial, sku, mark });
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
                self.indexed_units(keys::lot_prefix(sku, lot), after, limit)
                    .await?
            }
            UnitQuery::Location(location) => {
                self.indexed_units(keys::place_prefix(location), after, limit)
                    .await?
            }
            UnitQuery::Scope(RecallScope::SerialRange { first, last }) => {
                self.scanned_units(first, Some(last), after, limit, |_| true)
                    .await?
            }
            UnitQuery::All => self.scanned_units("", None, after, limit, |_| true).await?,
            UnitQuery::Scope(scope @ RecallScope::ReceivedBetween { .. }) => {
                self.scanned_units("", None, after, limit, |u| scope.covers(u))
                    .await?
            }
            UnitQuery::Order(id) => {
                let picks = self.read_picks(id).await?;
                self.listed_units(picks.into_iter().map(|p| p.serial).collect(), after, limit)
                    .await?
            }
            UnitQuery::Shipment(id) => {
                let serials = self.read_dispatched(id).await?;
                self.listed_units(serials, after, limit).await?
            }
        };
        let recalls = self.recalls_now();
        Ok(units
            .into_iter()
            .map(|u| Self::as_seen(u, &recalls))
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
        let conn = self.conn().await?;
        let mut events = Vec::new();
        for (key, _) in conn
            .range(Bound::Included(&start), Bound::Included(&end), limit)
            .await?
        {
            let seq = keys::history_seq(&key)
                .ok_or_else(|| StoreError::Corrupt("history key".to_owned()))?;
            let event = conn
                .get(&keys::event(seq))
                .await?
                .map(|v| decode_event(&v))
                .transpose()?
                .ok_or_else(|| StoreError::Corrupt(format!("history names missing event {seq}")))?;
            events.push(event);
        }
        Ok(events)
    }

    fn committed(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.committed.clone()
    }

    fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    async fn events(&self, from_seq: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let start = keys::event(from_seq.max(1));
        let end = keys::event(u64::MAX);
        self.conn()
            .await?
            .range(Bound::Included(&start), Bound::Included(&end), limit)
            .await?
            .iter()
            .map(|(_, v)| decode_event(v))
            .collect()
    }
}

/// The writer's transaction as the shared writer reads it: every read waits for its answer
/// on the store's IO runtime (the writer is a thread of its own, never a runtime's).
struct Tx<'c> {
    conn: &'c Conn,
    io: &'c tokio::runtime::Handle,
    /// Keys read ahead for the whole group in one query (`None`: not stored). The table does
    /// not change under the group (it holds the `meta` lock), and the group keeps what it
    /// writes itself, so these stay right for the whole group.
    known: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Get for Tx<'_> {
    fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<sled::IVec>, StoreError> {
        if let Some(value) = self.known.get(key.as_ref()) {
            return Ok(value.as_deref().map(sled::IVec::from));
        }
        Ok(self
            .io
            .block_on(self.conn.get(key.as_ref()))?
            .map(sled::IVec::from))
    }

    fn prefix(&self, prefix: &[u8]) -> Result<Vec<(sled::IVec, sled::IVec)>, StoreError> {
        Ok(self
            .io
            .block_on(self.conn.prefix(prefix, LIST_ROWS_MAX))?
            .into_iter()
            .map(|(k, v)| (sled::IVec::from(k), sled::IVec::from(v)))
            .collect())
    }
}

struct PgWriter {
    url: String,
    io: tokio::runtime::Handle,
    /// The writer's connection; `None` until connected and after it broke.
    conn: Option<Conn>,
    recalls: Recalls,
    /// The `meta` row's recall generation the cached recalls are of (`None`: not loaded).
    recalls_gen: Option<i64>,
    committed: tokio::sync::watch::Sender<u64>,
    metrics: Arc<Metrics>,
}

/// The `meta` row's `next_seq` while `serialtrack migrate` copies into the database: no
/// writer starts a group on it.
pub(super) const MIGRATING: i64 = 0;

/// The `meta` row: what every group starts from.
struct Meta {
    next_seq: u64,
    last_hash: [u8; 32],
    recalls_gen: i64,
}

fn meta_from(row: &tokio_postgres::Row) -> Result<Meta, StoreError> {
    let next_seq: i64 = row.get(0);
    if next_seq == MIGRATING {
        return Err(StoreError::Unavailable(
            "a `serialtrack migrate` into this database is running or was cut short: wait for it, or run it again"
                .to_owned(),
        ));
    }
    let last_hash: Vec<u8> = row.get(1);
    Ok(Meta {
        next_seq: u64::try_from(next_seq)
            .map_err(|_| StoreError::Corrupt(format!("meta next_seq {next_seq}")))?,
        last_hash: last_hash
            .try_into()
            .map_err(|_| StoreError::Corrupt("meta last_hash".to_owned()))?,
        recalls_gen: row.get(2),
    })
}

impl PgWriter {
    fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        opened: std::sync::mpsc::SyncSender<Result<Opened, StoreError>>,
    ) {
        let io = self.io.clone();
        let first = io.block_on(self.open());
        let failed = first.is_err();
        let _ = opened.send(first);
        if failed {
            return;
        }
        loop {
            let next =
                io.block_on(async { tokio::time::timeout(POLL_INTERVAL, commands.recv()).await });
            let first = match next {
                Ok(Some(command)) => command,
                Ok(None) => return,
                Err(_) => {
                    // Idle: learn what other instances committed.
                    if let Err(e) = self.poll() {
                        tracing::warn!(error = %e, "reading the database's watermark failed");
                        self.conn = None;
                    }
                    continue;
                }
            };
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
            self.commit_group(group);
        }
    }

    async fn open(&mut self) -> Result<Opened, StoreError> {
        let (client, connection) =
            tokio::time::timeout(CONNECT_TIMEOUT, tokio_postgres::connect(&self.url, NoTls))
                .await
                .map_err(|_| {
                    StoreError::Unavailable(format!(
                        "cannot reach the database at {} within {CONNECT_TIMEOUT:?}",
                        redacted(&self.url)
                    ))
                })?
                .map_err(|e| {
                    StoreError::Unavailable(format!(
                        "cannot connect to the database at {}: {}",
                        redacted(&self.url),
                        pg_error(&e)
                    ))
                })?;
        self.io.spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(error = %e, "database connection ended");
            }
        });
        let engine = migrate_schema(&client).await?;
        let conn = Conn::prepare(client).await?;
        check_versions(&conn).await?;
        let row = conn
            .client
            .query_one(
                "SELECT next_seq, last_hash, recalls_gen FROM meta WHERE id = 1",
                &[],
            )
            .await
            .map_err(|e| pg_error(&e))?;
        let meta = meta_from(&row)?;
        let recalls = recalls_from(conn.prefix(&[keys::RECALL], LIST_ROWS_MAX).await?)?;
        self.recalls_gen = Some(meta.recalls_gen);
        self.committed.send_replace(meta.next_seq - 1);
        self.conn = Some(conn);
        Ok(Opened {
            next_seq: meta.next_seq,
            recalls,
            engine,
        })
    }

    /// Connects again when the connection broke. Returns the message callers get while it
    /// cannot.
    fn reconnect_if_needed(&mut self) -> Result<(), String> {
        if let Some(conn) = &self.conn
            && !conn.client.is_closed()
        {
            return Ok(());
        }
        self.conn = None;
        match self.io.block_on(Conn::connect(&self.url, &self.io)) {
            Ok(conn) => {
                self.conn = Some(conn);
                Ok(())
            }
            Err(e) => Err(format!("{e}; {RETRY_HINT}")),
        }
    }

    /// Raises the watermark to what the `meta` row says is committed, and reloads the
    /// recalls when another instance changed them.
    fn poll(&mut self) -> Result<(), StoreError> {
        self.reconnect_if_needed()
            .map_err(StoreError::Unavailable)?;
        let Some(conn) = &self.conn else {
            return Ok(());
        };
        let row = self
            .io
            .block_on(conn.client.query_one(
                "SELECT next_seq, last_hash, recalls_gen FROM meta WHERE id = 1",
                &[],
            ))
            .map_err(|e| pg_error(&e))?;
        let meta = meta_from(&row)?;
        if self.recalls_gen != Some(meta.recalls_gen) {
            let recalls = recalls_from(
                self.io
                    .block_on(conn.prefix(&[keys::RECALL], LIST_ROWS_MAX))?,
            )?;
            self.publish_recalls(Arc::new(recalls), meta.recalls_gen);
        }
        self.raise_watermark(meta.next_seq - 1);
        Ok(())
    }

    fn publish_recalls(&mut self, recalls: Arc<Vec<Recall>>, generation: i64) {
        if let Ok(mut shared) = self.recalls.write() {
            *shared = recalls;
        }
        self.recalls_gen = Some(generation);
    }

    fn raise_watermark(&self, seq: u64) {
        self.committed.send_if_modified(|now| {
            let raise = seq > *now;
            if raise {
                *now = seq;
            }
            raise
        });
    }

    /// BEGIN and the `meta` row's lock, tried again after a serialization failure.
    fn begin(&self, conn: &Conn) -> Result<Meta, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = self.io.block_on(async {
                conn.client
                    .batch_execute("START TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    .await?;
                conn.client
                    .query_one(
                        "SELECT next_seq, last_hash, recalls_gen FROM meta WHERE id = 1 FOR UPDATE",
                        &[],
                    )
                    .await
            });
            match started {
                Ok(row) => {
                    let meta = meta_from(&row);
                    if meta.is_err() {
                        // Not left open holding the lock (a migration runs, or the row is bad).
                        let _ = self.io.block_on(conn.client.batch_execute("ROLLBACK"));
                    }
                    return meta;
                }
                Err(e) => {
                    let _ = self.io.block_on(conn.client.batch_execute("ROLLBACK"));
                    if !(is_retryable(&e) && attempt < LOCK_ATTEMPTS_MAX) {
                        return Err(pg_error(&e));
                    }
                }
            }
        }
    }

    /// Decides, writes and commits one group and answers its callers. A group whose writes or
    /// COMMIT fail with a serialization failure or a deadlock is decided again from the start
    /// (fresh reads, fresh sequence numbers), up to [`GROUP_ATTEMPTS_MAX`] times: each attempt
    /// decides copies of the commands, and the callers get the last attempt's answers.
    fn commit_group(&mut self, commands: Vec<Command>) {
        if let Err(why) = self.reconnect_if_needed() {
            for command in commands {
                command.refuse(&why);
            }
            return;
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (copies, proxies): (Vec<Command>, Vec<Proxy>) =
                commands.iter().map(Proxy::of).unzip();
            let retry = self.try_group(copies) && attempt < GROUP_ATTEMPTS_MAX;
            if !retry {
                for (command, proxy) in commands.into_iter().zip(proxies) {
                    proxy.forward(command);
                }
                return;
            }
            tracing::info!(attempt, "group decided again after a serialization failure");
        }
    }

    /// One attempt at a group: answers the commands (here: the copies) and returns whether
    /// it failed in a way that deciding it again may cure.
    fn try_group(&mut self, commands: Vec<Command>) -> bool {
        let Some(conn) = self.conn.take() else {
            for command in commands {
                command.refuse("the store has no database connection");
            }
            return false;
        };
        let meta = match self.begin(&conn) {
            Ok(meta) => meta,
            Err(e) => {
                let why = format!("cannot start a transaction: {e}; {RETRY_HINT}");
                for command in commands {
                    command.refuse(&why);
                }
                self.conn = Some(conn);
                return false;
            }
        };
        // Another instance's groups committed before this one got the lock: all below
        // `next_seq` is committed.
        self.raise_watermark(meta.next_seq - 1);
        let recalls = if self.recalls_gen == Some(meta.recalls_gen) {
            Ok(self
                .recalls
                .read()
                .map_or_else(|poisoned| poisoned.into_inner().clone(), |r| r.clone()))
        } else {
            self.io
                .block_on(conn.prefix(&[keys::RECALL], LIST_ROWS_MAX))
                .and_then(recalls_from)
                .map(Arc::new)
        };
        let recalls = match recalls {
            Ok(recalls) => {
                self.publish_recalls(recalls.clone(), meta.recalls_gen);
                recalls
            }
            Err(e) => {
                let _ = self.io.block_on(conn.client.batch_execute("ROLLBACK"));
                let why = format!("{e}; {RETRY_HINT}");
                for command in commands {
                    command.refuse(&why);
                }
                self.conn = Some(conn);
                return false;
            }
        };
        let known = match self.io.block_on(read_ahead(&conn, &commands)) {
            Ok(known) => known,
            Err(e) => {
                let _ = self.io.block_on(conn.client.batch_execute("ROLLBACK"));
                let why = format!("{e}; {RETRY_HINT}");
                for command in commands {
                    command.refuse(&why);
                }
                self.conn = Some(conn);
                return false;
            }
        };
        let tx = Tx {
            conn: &conn,
            io: &self.io,
            known,
        };
        let mut group = Group::new(&tx, meta.next_seq, meta.last_hash, recalls);
        let (pending, read_failure, n_scans) = group.decide(commands);
        let (batch, next_seq, last_hash, changed_recalls) = group.finish();
        let recalls_gen = meta.recalls_gen + i64::from(changed_recalls.is_some());
        let t_write = std::time::Instant::now();
        let mut retryable = false;
        let written = match read_failure {
            Some(e) => Err(StoreError::Unavailable(format!(
                "a read failed while deciding: {e}"
            ))),
            None => self
                .io
                .block_on(write_group(&conn, batch, next_seq, last_hash, recalls_gen))
                .map_err(|e| {
                    retryable = is_retryable(&e);
                    StoreError::Unavailable(format!("{}; {RETRY_HINT}", pg_error(&e)))
                }),
        };
        let write_time = t_write.elapsed();
        match &written {
            Ok(()) => {
                count_committed(&self.metrics, n_scans, write_time, &pending);
                self.raise_watermark(next_seq - 1);
                if let Some(recalls) = changed_recalls {
                    self.publish_recalls(recalls, recalls_gen);
                }
            }
            Err(_) => {
                // Nothing of the group is committed: ROLLBACK (a COMMIT that failed ended the
                // transaction already, and a broken connection is replaced).
                let _ = self.io.block_on(conn.client.batch_execute("ROLLBACK"));
                self.metrics.write_failed();
                // The cached recalls may be the group's: read them again next time.
                self.recalls_gen = None;
            }
        }
        answer_group(pending, &written);
        self.conn = Some(conn);
        retryable
    }
}

/// A copy of a command with a reply of its own, so that a group can be decided again; the
/// caller's reply gets the answer of the attempt that counts.
enum Proxy {
    Scans(oneshot::Receiver<Result<Vec<ScanAnswer>, StoreError>>),
    Item(oneshot::Receiver<Result<Result<PutItemAnswer, ItemConflict>, StoreError>>),
    Document(oneshot::Receiver<Result<Result<DocumentAnswer, DocumentError>, StoreError>>),
    Token(oneshot::Receiver<Result<Result<Token, TokenError>, StoreError>>),
    Webhook(oneshot::Receiver<Result<Result<Option<Webhook>, WebhookError>, StoreError>>),
    Issue(oneshot::Receiver<Result<Result<IssueAnswer, IssueError>, StoreError>>),
}

impl Proxy {
    /// The copy to decide, and where its answer will be.
    fn of(command: &Command) -> (Command, Proxy) {
        match command {
            Command::Scans { scans, .. } => {
                let (reply, answer) = oneshot::channel();
                let scans = scans.clone();
                (Command::Scans { scans, reply }, Proxy::Scans(answer))
            }
            Command::PutItem { item, .. } => {
                let (reply, answer) = oneshot::channel();
                let item = item.clone();
                (Command::PutItem { item, reply }, Proxy::Item(answer))
            }
            Command::Document { op, .. } => {
                let (reply, answer) = oneshot::channel();
                let op = op.clone();
                (Command::Document { op, reply }, Proxy::Document(answer))
            }
            Command::Token { op, .. } => {
                let (reply, answer) = oneshot::channel();
                let op = op.clone();
                (Command::Token { op, reply }, Proxy::Token(answer))
            }
            Command::Webhook { op, .. } => {
                let (reply, answer) = oneshot::channel();
                let op = op.clone();
                (Command::Webhook { op, reply }, Proxy::Webhook(answer))
            }
            Command::Issue { op, .. } => {
                let (reply, answer) = oneshot::channel();
                let op = op.clone();
                (Command::Issue { op, reply }, Proxy::Issue(answer))
            }
        }
    }

    /// Gives the copy's answer (sent already: the writer answers before it returns) to the
    /// caller of `command`.
    fn forward(self, command: Command) {
        fn pass<T>(
            reply: oneshot::Sender<Result<T, StoreError>>,
            mut answer: oneshot::Receiver<Result<T, StoreError>>,
        ) {
            let answer = answer.try_recv().unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "the writer lost an answer; {RETRY_HINT}"
                )))
            });
            let _ = reply.send(answer);
        }
        match (command, self) {
            (Command::Scans { reply, .. }, Proxy::Scans(answer)) => pass(reply, answer),
            (Command::PutItem { reply, .. }, Proxy::Item(answer)) => pass(reply, answer),
            (Command::Document { reply, .. }, Proxy::Document(answer)) => pass(reply, answer),
            (Command::Token { reply, .. }, Proxy::Token(answer)) => pass(reply, answer),
            (Command::Webhook { reply, .. }, Proxy::Webhook(answer)) => pass(reply, answer),
            (Command::Issue { reply, .. }, Proxy::Issue(answer)) => pass(reply, answer),
            (command, _) => command.refuse("the writer mixed up answers"),
        }
    }
}

/// Reads in one query what a group's scans read first, each its own key otherwise: whether
/// their `event_id` is logged, and their unit. Saves a round trip per key and scan.
async fn read_ahead(
    conn: &Conn,
    commands: &[Command],
) -> Result<HashMap<Vec<u8>, Option<Vec<u8>>>, StoreError> {
    let mut known: HashMap<Vec<u8>, Option<Vec<u8>>> = HashMap::new();
    for command in commands {
        if let Command::Scans { scans, .. } = command {
            for prepared in scans {
                known.insert(keys::event_id(&prepared.scan.event_id).to_vec(), None);
                if let Ok(read) = &prepared.read {
                    known.insert(keys::unit(&read.serial), None);
                }
            }
        }
    }
    let wanted: Vec<Vec<u8>> = known.keys().cloned().collect();
    for chunk in wanted.chunks(WRITE_ROWS_MAX) {
        let chunk: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        let rows = conn
            .client
            .query("SELECT k, v FROM kv WHERE k = ANY($1)", &[&chunk])
            .await
            .map_err(|e| pg_error(&e))?;
        for row in rows {
            known.insert(row.get(0), Some(row.get(1)));
        }
    }
    Ok(known)
}

/// Writes a decided group in its transaction, moves the `meta` row on and commits.
pub(super) async fn write_group(
    conn: &Conn,
    batch: super::batch::Batch,
    next_seq: u64,
    last_hash: [u8; 32],
    recalls_gen: i64,
) -> Result<(), tokio_postgres::Error> {
    let mut put_keys: Vec<sled::IVec> = Vec::new();
    let mut put_values: Vec<sled::IVec> = Vec::new();
    let mut removed: Vec<sled::IVec> = Vec::new();
    for (key, value) in batch.into_writes() {
        match value {
            Some(value) => {
                put_keys.push(key);
                put_values.push(value);
            }
            None => removed.push(key),
        }
    }
    for chunk in removed.chunks(WRITE_ROWS_MAX) {
        let chunk: Vec<&[u8]> = chunk.iter().map(|k| k.as_ref()).collect();
        conn.client
            .execute("DELETE FROM kv WHERE k = ANY($1)", &[&chunk])
            .await?;
    }
    for (keys, values) in put_keys
        .chunks(WRITE_ROWS_MAX)
        .zip(put_values.chunks(WRITE_ROWS_MAX))
    {
        let keys: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
        let values: Vec<&[u8]> = values.iter().map(|v| v.as_ref()).collect();
        conn.client.execute(UPSERT_SQL, &[&keys, &values]).await?;
    }
    let next_seq = i64::try_from(next_seq).unwrap_or(i64::MAX);
    conn.client
        .execute(
            "UPDATE meta SET next_seq = $1, last_hash = $2, recalls_gen = $3 WHERE id = 1",
            &[&next_seq, &&last_hash[..], &recalls_gen],
        )
        .await?;
    conn.client.batch_execute("COMMIT").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_before_the_next_prefix() {
        assert_eq!(prefix_end(b"u"), Some(b"v".to_vec()));
        assert_eq!(prefix_end(&[b'q', 0, 3, 0xff]), Some(vec![b'q', 0, 4]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        assert_eq!(prefix_end(&[]), None);
        // Every key with the prefix sorts below the end, bytewise as the database sorts.
        let end = prefix_end(&[b'a', 0xff]).unwrap();
        assert!([b'a', 0xff, 0xff, 0xff].as_slice() < end.as_slice());
    }

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            redacted("postgres://st:secret@db:5432/st"),
            "postgres://st:***@db:5432/st"
        );
        assert_eq!(redacted("postgres://st@db/st"), "postgres://st@db/st");
        assert_eq!(
            redacted("postgresql://a:b:c@db/st?sslmode=disable"),
            "postgresql://a:***@db/st?sslmode=disable"
        );
        assert_eq!(redacted("not a url"), "not a url");
    }

    #[test]
    fn the_engine_decides_the_key_clause() {
        let yb = "PostgreSQL 11.2-YB-2.20.1.0-b0 on x86_64-pc-linux-gnu";
        let crdb = "CockroachDB CCL v24.1.0 (x86_64-pc-linux-gnu, built 2024/05/15)";
        let pg = "PostgreSQL 15.8 (Debian 15.8-0+deb12u1) on x86_64-pc-linux-gnu";
        assert_eq!(Engine::of(yb), Engine::Yugabyte);
        assert_eq!(Engine::of(crdb), Engine::Cockroach);
        assert_eq!(Engine::of(pg), Engine::Postgres);
        assert_eq!(Engine::Yugabyte.key_clause(), "PRIMARY KEY (k ASC)");
        assert_eq!(Engine::Postgres.key_clause(), "PRIMARY KEY (k)");
    }
}
