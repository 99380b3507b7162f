//! `serialtrack bench recall`: a recall of one lot of many units and its full report, through
//! the real server on loopback, against the store reading the same units in the same run.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::domain::RecallScope;
use crate::proto::v1 as pb;
use crate::store::{PAGE_LEN_MAX, Store, UnitQuery};

use super::{BENCH_UNITS_MAX, BenchServer, per_second};

const RECALL_SKU: &str = "BENCH-LOT";
const RECALLED_LOT: &str = "L-RECALL";
const OTHER_LOT: &str = "L-OTHER";

impl BenchServer {
    pub async fn put_item(&self, item: pb::Item) -> anyhow::Result<()> {
        pb::catalog_service_client::CatalogServiceClient::new(self.channel.clone())
            .put_item(pb::PutItemRequest { item: Some(item) })
            .await?;
        Ok(())
    }

    /// Sends the scans over one ScanStream, as a station gateway does (each answer comes
    /// once its scan is on disk; the writer commits them in groups while more arrive); fails
    /// unless every one is accepted.
    pub async fn scan_all(&self, scans: Vec<pb::ScanRequest>) -> anyhow::Result<()> {
        let mut client = pb::scan_service_client::ScanServiceClient::new(self.channel.clone());
        let expected = scans.len();
        let mut replies = client
            .scan_stream(tokio_stream::iter(scans))
            .await?
            .into_inner();
        let mut answered = 0;
        while let Some(reply) = replies.message().await? {
            anyhow::ensure!(
                reply.outcome() != pb::Outcome::Rejected,
                "bench scan {} was refused: {}",
                reply.serial,
                reply.message
            );
            answered += 1;
        }
        anyhow::ensure!(
            answered == expected,
            "the stream answered {answered} of {expected} scans"
        );
        Ok(())
    }
}

/// A scan at a bench station.
pub(crate) fn bench_scan(action: pb::Action, serial: String) -> pb::ScanRequest {
    pb::ScanRequest {
        event_id: uuid::Uuid::new_v4().to_string(),
        station: "BENCH-DOCK".to_owned(),
        operator: "bench".to_owned(),
        action: action.into(),
        raw: serial.into_bytes(),
        entry_mode: pb::EntryMode::Scanned.into(),
        ..Default::default()
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct RecallOptions {
    /// Units in the recalled lot.
    #[arg(long, default_value_t = 100_000)]
    pub units: usize,
    /// Units of another lot of the same SKU, which the recall must leave alone.
    #[arg(long, default_value_t = 10_000)]
    pub other_units: usize,
}

#[derive(Debug, Clone)]
pub struct RecallReport {
    pub units: usize,
    pub other_units: usize,
    /// Receiving every unit through ScanBatch, to set the bench up.
    pub setup: Duration,
    /// The store reading the lot's units through its lot index, in process (the baseline).
    pub raw_read: Duration,
    /// CreateRecall: the recall recorded and the affected units counted by state.
    pub create: Duration,
    /// RecallReport: every affected unit streamed to the client.
    pub report: Duration,
    pub reported: usize,
}

impl RecallReport {
    fn total(&self) -> Duration {
        self.create + self.report
    }

    pub fn to_text(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ratio = |d: Duration| d.as_secs_f64() / self.raw_read.as_secs_f64().max(1e-9);
        format!(
            "recall bench: a lot of {units} units ({other} units of another lot beside it)\n\
             setup: received {all} units in {setup:.0} ms ({setup_rate:.0} units/s)\n\
             store reads the lot, warm (baseline)  {raw:>9.1} ms   1.00x\n\
             CreateRecall (record + count)         {create:>9.1} ms   {rc:.2}x\n\
             RecallReport ({reported:>7} units)        {report:>9.1} ms   {rr:.2}x\n\
             recall and its report, end to end     {total:>9.1} ms   {rt:.2}x   (target: under 1,000 ms)\n",
            units = self.units,
            other = self.other_units,
            all = self.units + self.other_units,
            setup = ms(self.setup),
            setup_rate = per_second(self.units + self.other_units, self.setup),
            raw = ms(self.raw_read),
            create = ms(self.create),
            rc = ratio(self.create),
            reported = self.reported,
            report = ms(self.report),
            rr = ratio(self.report),
            total = ms(self.total()),
            rt = ratio(self.total()),
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        json!({
            "units": self.units,
            "other_units": self.other_units,
            "setup_ms": ms(self.setup),
            "raw_read_ms": ms(self.raw_read),
            "create_ms": ms(self.create),
            "report_ms": ms(self.report),
            "total_ms": ms(self.total()),
            "total_ratio": self.total().as_secs_f64() / self.raw_read.as_secs_f64().max(1e-9),
            "reported": self.reported,
        })
    }
}

pub async fn recall(options: &RecallOptions) -> anyhow::Result<RecallReport> {
    anyhow::ensure!(
        (1..=BENCH_UNITS_MAX).contains(&options.units) && options.other_units <= BENCH_UNITS_MAX,
        "--units must be 1 to {BENCH_UNITS_MAX}, --other-units at most that"
    );
    let server = BenchServer::start().await?;
    server
        .put_item(pb::Item {
            sku: RECALL_SKU.to_owned(),
            description: "bench lot item".to_owned(),
            lot_tracked: true,
            ..Default::default()
        })
        .await?;
    let receive = |i: usize, lot: &str| pb::ScanRequest {
        sku: RECALL_SKU.to_owned(),
        lot: lot.to_owned(),
        ..bench_scan(pb::Action::Receive, format!("R{i:09}"))
    };
    let total = options.units + options.other_units;
    // The other lot's units are spread evenly among the recalled ones, as lots interleave on
    // a real dock.
    let scans: Vec<_> = (0..total)
        .map(|i| {
            let other = (i + 1) * options.other_units / total > i * options.other_units / total;
            receive(i, if other { OTHER_LOT } else { RECALLED_LOT })
        })
        .collect();
    let started = Instant::now();
    server.scan_all(scans).await?;
    let setup = started.elapsed();

    let scope = RecallScope::Lot {
        sku: RECALL_SKU.to_owned(),
        lot: RECALLED_LOT.to_owned(),
    };
    let query = UnitQuery::Scope(scope);
    // Twice: the first pass also warms sled's cache; the faster pass is the baseline.
    let mut raw_read = Duration::MAX;
    let mut raw_count = 0;
    for _ in 0..2 {
        let started = Instant::now();
        let mut after = String::new();
        raw_count = 0;
        loop {
            let page = server.store.units(&query, &after, PAGE_LEN_MAX).await?;
            raw_count += page.len();
            match page.last() {
                Some(last) if page.len() == PAGE_LEN_MAX => after.clone_from(&last.serial),
                _ => break,
            }
        }
        raw_read = raw_read.min(started.elapsed());
    }

    let mut warehouse =
        pb::warehouse_service_client::WarehouseServiceClient::new(server.channel.clone());
    let started = Instant::now();
    let recall = warehouse
        .create_recall(pb::CreateRecallRequest {
            recall: Some(pb::Recall {
                id: "BENCH-RECALL".to_owned(),
                scope: Some(pb::recall::Scope::Lot(pb::LotScope {
                    sku: RECALL_SKU.to_owned(),
                    lot: RECALLED_LOT.to_owned(),
                })),
                reason: "bench".to_owned(),
                created_by: "bench".to_owned(),
                ..Default::default()
            }),
        })
        .await?
        .into_inner()
        .recall
        .unwrap_or_default();
    let create = started.elapsed();
    let started = Instant::now();
    let mut chunks = warehouse
        .recall_report(pb::RecallReportRequest {
            id: "BENCH-RECALL".to_owned(),
        })
        .await?
        .into_inner();
    let mut reported = 0;
    while let Some(chunk) = chunks.message().await? {
        reported += chunk.units.len();
    }
    let report = started.elapsed();
    drop(server.stop().await?);
    let affected = usize::try_from(recall.affected)?;
    anyhow::ensure!(
        raw_count == options.units && affected == options.units && reported == options.units,
        "the store read {raw_count} units, the recall counted {affected}, the report streamed {reported}"
    );
    Ok(RecallReport {
        units: affected,
        other_units: options.other_units,
        setup,
        raw_read,
        create,
        report,
        reported,
    })
}

#[derive(clap::Args, Debug, Clone)]
pub struct AsnOptions {
    /// Serials the ASN expects (and the dock receives).
    #[arg(long, default_value_t = 10_000)]
    pub serials: usize,
}

#[derive(Debug, Clone)]
pub struct AsnReport {
    pub serials: usize,
    /// The same number of unit records and events written straight to sled, in groups of
    /// 256 with a flush each: the machine's floor for this run.
    pub raw_ceiling: Duration,
    /// The same number of units received with no receipt, over one ScanStream (the baseline).
    pub plain_receive: Duration,
    pub create: Duration,
    pub receive: Duration,
    pub close: Duration,
    /// Units the close report listed as discrepancies (0: every expected serial arrived).
    pub discrepancies: usize,
}

impl AsnReport {
    fn total(&self) -> Duration {
        self.create + self.receive + self.close
    }

    pub fn to_text(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ratio = |d: Duration| d.as_secs_f64() / self.plain_receive.as_secs_f64().max(1e-9);
        format!(
            "ASN bench: {n} expected serials\n\
             raw redb writes of {n} units (the machine's floor) {raw:>8.1} ms   {rw:.2}x\n\
             plain receive of {n} units, no receipt (baseline) {plain:>8.1} ms   1.00x\n\
             CreateReceipt with {n} expected serials          {create:>8.1} ms   {rc:.2}x\n\
             receive {n} units against it                     {receive:>8.1} ms   {rr:.2}x\n\
             CloseReceipt + discrepancy report ({d})          {close:>8.1} ms   {rl:.2}x\n\
             ASN created, received and closed, end to end     {total:>8.1} ms   {rt:.2}x   (target: under 1,000 ms)\n",
            n = self.serials,
            raw = ms(self.raw_ceiling),
            rw = ratio(self.raw_ceiling),
            plain = ms(self.plain_receive),
            create = ms(self.create),
            rc = ratio(self.create),
            receive = ms(self.receive),
            rr = ratio(self.receive),
            d = self.discrepancies,
            close = ms(self.close),
            rl = ratio(self.close),
            total = ms(self.total()),
            rt = ratio(self.total()),
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        json!({
            "serials": self.serials,
            "raw_ceiling_ms": ms(self.raw_ceiling),
            "plain_receive_ms": ms(self.plain_receive),
            "create_ms": ms(self.create),
            "receive_ms": ms(self.receive),
            "close_ms": ms(self.close),
            "total_ms": ms(self.total()),
            "total_ratio": self.total().as_secs_f64() / self.plain_receive.as_secs_f64().max(1e-9),
            "discrepancies": self.discrepancies,
        })
    }
}

/// Creates an ASN of `--serials` expected serials, receives every one of them against it and
/// closes it with its discrepancy report, against plain receives of as many units.
pub async fn asn(options: &AsnOptions) -> anyhow::Result<AsnReport> {
    anyhow::ensure!(
        (1..=crate::domain::receipt::RECEIPT_SERIALS_MAX).contains(&options.serials),
        "--serials must be 1 to {}",
        crate::domain::receipt::RECEIPT_SERIALS_MAX
    );
    let n = options.serials;
    let raw_dir = tempfile::tempdir()?;
    let raw_path = raw_dir.path().to_owned();
    let (raw_ceiling, _) = tokio::task::spawn_blocking(move || {
        crate::store::raw_ceiling(&raw_path, crate::store::KvEngine::Redb, n, 256)
    })
    .await??;
    drop(raw_dir);
    let server = BenchServer::start().await?;
    server
        .put_item(pb::Item {
            sku: RECALL_SKU.to_owned(),
            description: "bench item".to_owned(),
            ..Default::default()
        })
        .await?;
    let receive = |serial: String, receipt: &str| pb::ScanRequest {
        sku: RECALL_SKU.to_owned(),
        receipt_id: receipt.to_owned(),
        ..bench_scan(pb::Action::Receive, serial)
    };
    let plain: Vec<_> = (0..n).map(|i| receive(format!("P{i:09}"), "")).collect();
    let started = Instant::now();
    server.scan_all(plain).await?;
    let plain_receive = started.elapsed();

    let mut warehouse =
        pb::warehouse_service_client::WarehouseServiceClient::new(server.channel.clone());
    let expected = (0..n)
        .map(|i| pb::ExpectedSerial {
            serial: format!("A{i:09}"),
            sku: RECALL_SKU.to_owned(),
        })
        .collect();
    let started = Instant::now();
    warehouse
        .create_receipt(pb::CreateReceiptRequest {
            receipt: Some(pb::Receipt {
                id: "BENCH-ASN".to_owned(),
                ..Default::default()
            }),
            expected,
        })
        .await?;
    let create = started.elapsed();
    let scans: Vec<_> = (0..n)
        .map(|i| receive(format!("A{i:09}"), "BENCH-ASN"))
        .collect();
    let started = Instant::now();
    server.scan_all(scans).await?;
    let receive = started.elapsed();
    let started = Instant::now();
    let closed = warehouse
        .close_receipt(pb::CloseReceiptRequest {
            id: "BENCH-ASN".to_owned(),
            closed_by: "bench".to_owned(),
        })
        .await?
        .into_inner()
        .receipt
        .unwrap_or_default();
    let mut chunks = warehouse
        .receipt_report(pb::ReceiptReportRequest {
            id: "BENCH-ASN".to_owned(),
            discrepancies_only: true,
        })
        .await?
        .into_inner();
    let mut discrepancies = 0;
    while let Some(chunk) = chunks.message().await? {
        discrepancies += chunk.entries.len();
    }
    let close = started.elapsed();
    drop(server.stop().await?);
    anyhow::ensure!(
        usize::try_from(closed.received_expected)? == n && closed.short == 0 && discrepancies == 0,
        "the ASN closed with {} of {n} expected serials received, {} short, {discrepancies} discrepancies",
        closed.received_expected,
        closed.short
    );
    Ok(AsnReport {
        serials: n,
        raw_ceiling,
        plain_receive,
        create,
        receive,
        close,
        discrepancies,
    })
}
