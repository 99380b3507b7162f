//! Persistence: the [`Store`] trait every backend implements, and the embedded backend (redb,
//! or sled for data dirs made before redb).
//!
//! The domain decides, the store persists a decided batch atomically and answers queries. The
//! store knows the domain types, never tonic or prost-generated API types. Only this module
//! sees the engines and the key layout.

mod batch;
mod keys;
mod kv;
mod migrate;
mod pg_store;
mod reclaim;
mod records;
mod sled_store;
mod slot;
mod tokens;
mod webhooks;

use std::future::Future;

pub use kv::Engine as KvEngine;
pub use migrate::{MigrateReport, migrate_to_dir, migrate_to_pg};
pub use pg_store::{Engine, PgStore, redacted};
pub use records::event_hash;
pub use sled_store::{CACHE_BYTES, SledStore, dir_bytes, raw_ceiling};

use crate::barcode::Date;
use crate::domain::kpi::{KpiCounts, KpiKey};
use crate::domain::{
    DocumentAnswer, DocumentError, DocumentOp, Event, Item, Order, Pick, ReadScan, Recall,
    RecallScope, Receipt, ReceiptEntry, Rejection, Scan, Shipment, Unit, UnitSet,
};

/// Which units a listing returns. Every listing is in serial order and pages by the last
/// serial of the previous page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitQuery {
    /// What a recall covers: a lot (indexed), a serial range, or a receive-date range (a
    /// scan over every unit).
    Scope(RecallScope),
    /// Units at a location now (indexed).
    Location(String),
    /// Units picked for an order.
    Order(String),
    /// Units dispatched on a shipment.
    Shipment(String),
    /// Every unit (a scan over all of them).
    All,
}

/// The most scans one [`Store::scan`] call may carry. The server refuses a larger batch with
/// INVALID_ARGUMENT before it reaches the store.
pub const SCAN_BATCH_LEN_MAX: usize = 10_000;
/// The largest page any listing returns; a larger `limit` is refused with INVALID_ARGUMENT.
pub const PAGE_LEN_MAX: usize = 1000;
/// The page size used when a listing asks for 0.
pub const PAGE_LEN_DEFAULT: usize = 100;

/// A scan with what its raw bytes were read as (or why they could not be).
#[derive(Clone, Debug)]
pub struct PreparedScan {
    pub scan: Scan,
    pub read: Result<ReadScan, Rejection>,
}

/// The store's answer to one scan: the event it recorded, or recorded earlier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanAnswer {
    pub event: Event,
    /// True when the scan's `event_id` had already been applied and nothing was written.
    pub replayed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutItemAnswer {
    pub item: Item,
    pub created: bool,
}

/// Why an item cannot be written as asked, though the request itself is well formed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ItemConflict {
    #[error("gtin {gtin} already belongs to sku {sku}")]
    GtinTaken { gtin: String, sku: String },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "data dir {dir} is locked by another serialtrack ({holder}); stop it or pass --data-dir"
    )]
    Locked { dir: String, holder: String },
    #[error("data dir {dir}: {source}")]
    DataDir { dir: String, source: std::io::Error },
    #[error("storage failed: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Corruption { .. } => StoreError::Corrupt(e.to_string()),
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// A backend. Writes go through one writer per store with group commit: an answer means the
/// write is durable. Reads do not wait for the writer.
pub trait Store: Clone + Send + Sync + 'static {
    /// Creates or replaces an item (validated by the caller).
    fn put_item(
        &self,
        item: Item,
    ) -> impl Future<Output = Result<Result<PutItemAnswer, ItemConflict>, StoreError>> + Send;

    /// Decides and records the scans, in order, atomically and durably. One answer per scan.
    fn scan(
        &self,
        scans: Vec<PreparedScan>,
    ) -> impl Future<Output = Result<Vec<ScanAnswer>, StoreError>> + Send;

    /// Decides and records a change to the orders and shipments, durably.
    fn document(
        &self,
        op: DocumentOp,
    ) -> impl Future<Output = Result<Result<DocumentAnswer, DocumentError>, StoreError>> + Send;

    fn item(&self, sku: &str) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;

    /// Decides and records a token change (create, revoke), durably.
    fn token_op(
        &self,
        op: crate::auth::TokenOp,
    ) -> impl Future<
        Output = Result<Result<crate::auth::Token, crate::auth::TokenError>, StoreError>,
    > + Send;

    /// The token whose text has SHA-256 `hash`, revoked or not.
    fn token_by_hash(
        &self,
        hash: &[u8; 32],
    ) -> impl Future<Output = Result<Option<crate::auth::Token>, StoreError>> + Send;

    /// Every token, revoked ones included, by name.
    fn tokens(&self) -> impl Future<Output = Result<Vec<crate::auth::Token>, StoreError>> + Send;

    /// Decides and records a change to a webhook subscription (create, delete, delivery
    /// progress), durably. Answers the subscription after it (`None`: deleted).
    fn webhook_op(
        &self,
        op: crate::webhook::WebhookOp,
    ) -> impl Future<
        Output = Result<
            Result<Option<crate::webhook::Webhook>, crate::webhook::WebhookError>,
            StoreError,
        >,
    > + Send;

    /// Decides and records an issuing op (serials issued, a range allocated, a chunk of an
    /// import), durably, each new unit with its ISSUE event.
    fn issue(
        &self,
        op: crate::domain::issue::IssueOp,
    ) -> impl Future<
        Output = Result<
            Result<crate::domain::issue::IssueAnswer, crate::domain::issue::IssueError>,
            StoreError,
        >,
    > + Send;

    /// Every range of an item, by first value.
    fn ranges(
        &self,
        sku: &str,
    ) -> impl Future<Output = Result<Vec<crate::domain::issue::Range>, StoreError>> + Send;

    /// What a unit was issued or imported with (empty when nothing).
    fn facts(
        &self,
        serial: &str,
    ) -> impl Future<Output = Result<crate::domain::issue::UnitFacts, StoreError>> + Send;

    /// Template `name` at `version` (the current one when `None`).
    fn template(
        &self,
        name: &str,
        version: Option<u32>,
    ) -> impl Future<Output = Result<Option<crate::domain::label::Template>, StoreError>> + Send;

    /// The current version of every template, by name.
    fn templates(
        &self,
    ) -> impl Future<Output = Result<Vec<crate::domain::label::Template>, StoreError>> + Send;

    fn print_job(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<crate::domain::label::PrintJob>, StoreError>> + Send;

    /// Every webhook subscription, by id.
    fn webhooks(
        &self,
    ) -> impl Future<Output = Result<Vec<crate::webhook::Webhook>, StoreError>> + Send;

    fn order(&self, id: &str) -> impl Future<Output = Result<Option<Order>, StoreError>> + Send;

    /// The serials picked for an order, by line, then in pick order (empty for no order).
    fn order_picks(&self, id: &str) -> impl Future<Output = Result<Vec<Pick>, StoreError>> + Send;

    fn shipment(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Option<Shipment>, StoreError>> + Send;

    /// The serials scanned at dispatch for a shipment, in scan order (empty for no shipment).
    fn shipment_dispatched(
        &self,
        id: &str,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Items with a SKU strictly after `after_sku`, in SKU order.
    fn items(
        &self,
        after_sku: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Item>, StoreError>> + Send;

    /// A unit as clients see it: a unit an active recall covers shows that recall's hold.
    fn unit(&self, serial: &str) -> impl Future<Output = Result<Option<Unit>, StoreError>> + Send;

    /// The unit that carries manufacturer serial `mfr`, as [`Store::unit`] shows it.
    fn unit_by_mfr(
        &self,
        mfr: &str,
    ) -> impl Future<Output = Result<Option<Unit>, StoreError>> + Send;

    /// Up to `limit` stored units of `sku` not packed in a set, in pick order: first expiring
    /// first (unknown expiry last), then first received first. Holds are applied.
    fn stock(
        &self,
        sku: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Unit>, StoreError>> + Send;

    /// KPI counters from day `from` to day `to` (both included), by day, station and
    /// operator; at most `limit` rows.
    fn kpis(
        &self,
        from: Date,
        to: Date,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(KpiKey, KpiCounts)>, StoreError>> + Send;

    /// Every receipt and every shipment, for the document rates of the KPI report.
    fn receipts(&self) -> impl Future<Output = Result<Vec<Receipt>, StoreError>> + Send;
    fn shipments(&self) -> impl Future<Output = Result<Vec<Shipment>, StoreError>> + Send;

    /// The set whose parent is `id` (a kit serial or an SSCC).
    fn set(&self, id: &str) -> impl Future<Output = Result<Option<UnitSet>, StoreError>> + Send;

    fn recall(&self, id: &str) -> impl Future<Output = Result<Option<Recall>, StoreError>> + Send;

    /// Every recall, in the order they were made.
    fn recalls(&self) -> impl Future<Output = Result<Vec<Recall>, StoreError>> + Send;

    fn receipt(&self, id: &str)
    -> impl Future<Output = Result<Option<Receipt>, StoreError>> + Send;

    /// The serials of a receipt (expected ones and those received against it) after `after`,
    /// in serial order, with how each stands.
    fn receipt_entries(
        &self,
        id: &str,
        after: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ReceiptEntry>, StoreError>> + Send;

    /// Units `query` selects with a serial after `after`, in serial order, as [`Store::unit`]
    /// shows them.
    fn units(
        &self,
        query: &UnitQuery,
        after: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Unit>, StoreError>> + Send;

    /// The events recorded for `serial` with a sequence number above `after_seq`, oldest first.
    fn history(
        &self,
        serial: &str,
        after_seq: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;

    /// The highest sequence number on disk, and each later one as its group is flushed.
    fn committed(&self) -> tokio::sync::watch::Receiver<u64>;

    /// The counters the writer records scans and group commits into, which the server in
    /// front of the store shares.
    fn metrics(&self) -> &std::sync::Arc<crate::metrics::Metrics>;

    /// Events with a sequence number of at least `from_seq`, in order.
    fn events(
        &self,
        from_seq: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Event>, StoreError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::{keys, tokens, webhooks};

    /// Every record kind has a prefix byte of its own: two kinds sharing one would read each
    /// other's keys in a prefix scan (the layout key once shared `v` with the token hashes).
    #[test]
    fn key_prefixes_are_distinct() {
        let prefixes = [
            keys::ITEM,
            keys::GTIN,
            keys::UNIT,
            keys::EVENT,
            keys::EVENT_ID,
            keys::HISTORY,
            keys::ORDER,
            keys::SHIPMENT,
            keys::RECALL,
            keys::LOT,
            keys::PLACE,
            keys::RECEIPT,
            keys::MFR,
            keys::SET,
            keys::STOCK,
            keys::KPI,
            keys::PICK,
            keys::DISPATCH,
            keys::RECEIPT_ENTRY,
            keys::ISSUING,
            keys::FACTS,
            keys::LABEL,
            keys::LAYOUT[0],
            tokens::TOKEN,
            tokens::TOKEN_HASH,
            webhooks::WEBHOOK,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for prefix in prefixes {
            assert!(
                seen.insert(prefix),
                "prefix {:?} is used twice",
                prefix as char
            );
        }
    }
}
