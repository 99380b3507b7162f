//! `serialtrack bench receive`: receive throughput and latency, measured in one run against a
//! baseline from the same run (the machines are shared and noisy, so ratios carry over and
//! absolute figures do not).
//!
//! Phases, each on fresh serials: the raw redb ceiling (the store's own keys and records written
//! in one durable commit per group, no server), unary `Scan` from many concurrent clients,
//! `ScanStream`, `ScanBatch`, and the latency of unary scans at a fixed offered rate. The server
//! runs in this process on a loopback port over a temp dir; clients use real gRPC.
//!
//! `serialtrack bench decode` (barcode decodes per second on one thread) lives in [`decode`].

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::client::{Bearer, Conn};

use crate::proto::v1 as pb;
use crate::store::{self, SledStore};

pub mod decode;
pub mod gateway;
pub mod lifecycle;
pub mod pg;
pub mod soak;
pub mod torture;
pub mod warehouse;

pub use decode::{DecodeOptions, DecodeReport};
pub use warehouse::{AsnOptions, AsnReport, RecallOptions, RecallReport};

/// The most units one phase may be asked for.
pub const BENCH_UNITS_MAX: usize = 10_000_000;
pub(crate) const BENCH_SKU: &str = "BENCH-1";

/// `--engine` of the benches: the embedded engine their store runs on.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineArg {
    Redb,
    Sled,
}

impl EngineArg {
    pub fn engine(self) -> store::KvEngine {
        match self {
            EngineArg::Redb => store::KvEngine::Redb,
            EngineArg::Sled => store::KvEngine::Sled,
        }
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct ReceiveOptions {
    /// Units received in each throughput phase.
    #[arg(long, default_value_t = 100_000)]
    pub units: usize,
    /// Concurrent unary clients, each on its own connection.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Concurrent streams in the stream phase, and concurrent senders in the batch phase.
    #[arg(long, default_value_t = 4)]
    pub streams: usize,
    /// Scans per ScanBatch request in the batch phase.
    #[arg(long, default_value_t = 1000)]
    pub batch_len: usize,
    /// Offered rate of the latency phase, scans per second.
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Length of the latency phase, seconds.
    #[arg(long, default_value_t = 5)]
    pub latency_seconds: u32,
    /// Units per group in the raw engine phase.
    #[arg(long, default_value_t = 256)]
    pub raw_group_len: usize,
    /// The embedded engine of the raw phase and of the served store: redb (what a new data
    /// dir gets) or sled (what data dirs made before redb hold).
    #[arg(long, value_enum, default_value_t = EngineArg::Redb)]
    pub engine: EngineArg,
    /// Also run the unary, stream and batch phases on this PostgreSQL-wire database, with one
    /// serve instance and with two, and print them as ratios to the embedded phases of the
    /// same run. The bench writes into a schema of its own there and drops it at the end.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ReceiveReport {
    pub engine: store::KvEngine,
    pub units: usize,
    pub clients: usize,
    pub batch_senders: usize,
    pub raw_units_per_s: f64,
    pub raw_bytes_per_unit: f64,
    pub unary_units_per_s: f64,
    /// The same unary phase against a server that checks an API token on every call.
    pub unary_token_units_per_s: f64,
    pub stream_units_per_s: f64,
    pub batch_units_per_s: f64,
    pub offered_per_s: u32,
    pub latency_scans: usize,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    pub store_units: usize,
    pub store_bytes_per_unit: f64,
    /// The same phases on the PostgreSQL-wire store, when `--store` was given.
    pub pg: Option<pg::PgReport>,
}

impl ReceiveReport {
    pub fn to_text(&self) -> String {
        let ratio = |v: f64| v / self.raw_units_per_s;
        format!(
            "receive bench on {engine}, {units} units per phase\n\
             raw {engine} ceiling (durable groups){raw:>10.0} units/s   1.00x   {rawb:.0} bytes/unit on disk\n\
             unary Scan, {clients:>3} clients        {unary:>10.0} units/s   {ru:.2}x\n\
             unary Scan, {clients:>3} clients, tokens{token:>10.0} units/s   {rt:.2}x   ({tu:.2}x the unary phase without)\n\
             ScanStream                         {stream:>10.0} units/s   {rs:.2}x\n\
             ScanBatch, {senders:>2} senders            {batch:>10.0} units/s   {rb:.2}x\n\
             unary latency at {offered} scans/s offered ({n} scans): p50 {p50:.2} ms  p99 {p99:.2} ms  max {max:.2} ms\n\
             store after the run: {su} units, {sb:.0} bytes/unit on disk\n",
            engine = self.engine.name(),
            units = self.units,
            raw = self.raw_units_per_s,
            rawb = self.raw_bytes_per_unit,
            clients = self.clients,
            unary = self.unary_units_per_s,
            ru = ratio(self.unary_units_per_s),
            token = self.unary_token_units_per_s,
            rt = ratio(self.unary_token_units_per_s),
            tu = self.unary_token_units_per_s / self.unary_units_per_s.max(1e-9),
            stream = self.stream_units_per_s,
            rs = ratio(self.stream_units_per_s),
            senders = self.batch_senders,
            batch = self.batch_units_per_s,
            rb = ratio(self.batch_units_per_s),
            offered = self.offered_per_s,
            n = self.latency_scans,
            p50 = self.latency_ms_p50,
            p99 = self.latency_ms_p99,
            max = self.latency_ms_max,
            su = self.store_units,
            sb = self.store_bytes_per_unit,
        ) + &self
            .pg
            .as_ref()
            .map_or(String::new(), |pg| pg.to_text(self))
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "engine": self.engine.name(),
            "units": self.units,
            "clients": self.clients,
            "batch_senders": self.batch_senders,
            "raw_units_per_s": self.raw_units_per_s,
            "raw_bytes_per_unit": self.raw_bytes_per_unit,
            "unary_units_per_s": self.unary_units_per_s,
            "unary_ratio": self.unary_units_per_s / self.raw_units_per_s,
            "unary_token_units_per_s": self.unary_token_units_per_s,
            "unary_token_to_open": self.unary_token_units_per_s / self.unary_units_per_s.max(1e-9),
            "stream_units_per_s": self.stream_units_per_s,
            "stream_ratio": self.stream_units_per_s / self.raw_units_per_s,
            "batch_units_per_s": self.batch_units_per_s,
            "batch_ratio": self.batch_units_per_s / self.raw_units_per_s,
            "offered_per_s": self.offered_per_s,
            "latency_scans": self.latency_scans,
            "latency_ms_p50": self.latency_ms_p50,
            "latency_ms_p99": self.latency_ms_p99,
            "latency_ms_max": self.latency_ms_max,
            "store_units": self.store_units,
            "store_bytes_per_unit": self.store_bytes_per_unit,
            "pg": self.pg.as_ref().map(|pg| pg.to_json(self)),
        })
    }
}

pub(crate) fn per_second(n: usize, elapsed: Duration) -> f64 {
    // Unit counts in a bench stay far below 2^52, where f64 is exact.
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    n / elapsed.as_secs_f64().max(1e-9)
}

fn scan_request(serial: String) -> pb::ScanRequest {
    pb::ScanRequest {
        event_id: uuid::Uuid::new_v4().to_string(),
        station: "BENCH-DOCK".to_owned(),
        operator: "bench".to_owned(),
        action: pb::Action::Receive.into(),
        raw: serial.into_bytes(),
        sku: BENCH_SKU.to_owned(),
        lot: String::new(),
        entry_mode: pb::EntryMode::Scanned.into(),
        client_time_ms: 0,
        ..Default::default()
    }
}

fn check_accepted(reply: &pb::ScanReply) -> anyhow::Result<()> {
    if reply.outcome() != pb::Outcome::Accepted {
        anyhow::bail!(
            "bench scan {} was not accepted: {}",
            reply.serial,
            reply.message
        );
    }
    Ok(())
}

/// Runs every phase and reports the figures.
pub async fn receive(options: &ReceiveOptions) -> anyhow::Result<ReceiveReport> {
    anyhow::ensure!(
        (1..=BENCH_UNITS_MAX).contains(&options.units),
        "--units must be 1 to {BENCH_UNITS_MAX}"
    );
    anyhow::ensure!(
        options.clients >= 1 && options.streams >= 1,
        "--clients and --streams must be at least 1"
    );
    anyhow::ensure!(
        (1..=store::SCAN_BATCH_LEN_MAX).contains(&options.batch_len),
        "--batch-len must be 1 to {}",
        store::SCAN_BATCH_LEN_MAX
    );
    anyhow::ensure!(
        options.rate >= 1 && options.raw_group_len >= 1,
        "--rate and --raw-group-len must be at least 1"
    );

    let raw_dir = tempfile::tempdir()?;
    let units = options.units;
    let group_len = options.raw_group_len;
    let raw_path = raw_dir.path().to_owned();
    let engine = options.engine;
    let (raw_elapsed, raw_bytes) = tokio::task::spawn_blocking(move || {
        store::raw_ceiling(&raw_path, engine.engine(), units, group_len)
    })
    .await??;
    drop(raw_dir);

    let server = BenchServer::start_on(crate::server::Access::Open, engine.engine()).await?;
    let (url, channel) = (server.url.clone(), server.channel.clone());

    let unary_elapsed = unary_phase(&url, options.clients, units, "U").await?;
    let stream_elapsed = stream_phase(&channel, options.streams, units).await?;
    let batch_elapsed =
        batch_phase(&channel, options.streams, units, options.batch_len, "B").await?;
    let latencies =
        latency_phase(&url, options.clients, options.rate, options.latency_seconds).await?;

    let (store, dir) = server.stop().await?;
    // The token check's cost: the unary phase again, on a server that needs tokens.
    let secured = BenchServer::start_on(crate::server::Access::Tokens, engine.engine()).await?;
    let unary_token_elapsed = unary_phase_with(
        &secured.url,
        secured.token.as_deref(),
        options.clients,
        units,
        "T",
    )
    .await?;
    drop(secured.stop().await?);
    let store_units = 3 * units + latencies.len();
    let store_bytes = store.disk_bytes();
    drop(store);
    drop(dir);

    let pick = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let index = ((latencies.len() - 1) as f64 * q).round() as usize;
        latencies[index.min(latencies.len() - 1)].as_secs_f64() * 1000.0
    };
    #[allow(clippy::cast_precision_loss)]
    let per_unit = |bytes: u64, n: usize| bytes as f64 / n.max(1) as f64;
    let pg = match &options.store {
        Some(url) => Some(pg::receive(url, options).await?),
        None => None,
    };
    Ok(ReceiveReport {
        engine: engine.engine(),
        pg,
        units,
        clients: options.clients,
        batch_senders: options.streams,
        raw_units_per_s: per_second(units, raw_elapsed),
        raw_bytes_per_unit: per_unit(raw_bytes, units),
        unary_units_per_s: per_second(units, unary_elapsed),
        unary_token_units_per_s: per_second(units, unary_token_elapsed),
        stream_units_per_s: per_second(units, stream_elapsed),
        batch_units_per_s: per_second(units, batch_elapsed),
        offered_per_s: options.rate,
        latency_scans: latencies.len(),
        latency_ms_p50: pick(0.50),
        latency_ms_p99: pick(0.99),
        latency_ms_max: pick(1.0),
        store_units,
        store_bytes_per_unit: per_unit(store_bytes, store_units),
    })
}

/// The item every bench scan receives.
pub(crate) fn bench_item() -> pb::PutItemRequest {
    pb::PutItemRequest {
        item: Some(pb::Item {
            sku: BENCH_SKU.to_owned(),
            description: "bench item".to_owned(),
            ..Default::default()
        }),
    }
}

/// A server in this process on a loopback port over a temp dir, with the bench item.
pub(crate) struct BenchServer {
    pub(crate) url: String,
    pub(crate) channel: Channel,
    pub(crate) store: SledStore,
    /// The ADMIN token, when the server needs tokens.
    pub(crate) token: Option<String>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), crate::server::ServeError>>,
    _dir: tempfile::TempDir,
}

impl BenchServer {
    pub(crate) async fn start() -> anyhow::Result<BenchServer> {
        BenchServer::start_with(crate::server::Access::Open).await
    }

    /// With [`crate::server::Access::Tokens`], the first ADMIN token is made as `serve`
    /// makes it, and `channel` carries no token: use `token`.
    pub(crate) async fn start_with(access: crate::server::Access) -> anyhow::Result<BenchServer> {
        BenchServer::start_on(access, store::KvEngine::Redb).await
    }

    /// [`BenchServer::start_with`] over a new data dir on `engine`.
    pub(crate) async fn start_on(
        access: crate::server::Access,
        engine: store::KvEngine,
    ) -> anyhow::Result<BenchServer> {
        let dir = tempfile::tempdir()?;
        let store = SledStore::open_engine(dir.path(), engine, store::CACHE_BYTES)?;
        let token = match access {
            crate::server::Access::Tokens => crate::server::auth::first_admin(&store).await?,
            crate::server::Access::Open => None,
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::server::serve(
            listener,
            store.clone(),
            crate::server::ServeOptions {
                access,
                ..crate::server::ServeOptions::open()
            },
            async {
                let _ = stop_rx.await;
            },
        ));
        let channel = Channel::from_shared(url.clone())?.connect().await?;
        let mut catalog = pb::catalog_service_client::CatalogServiceClient::new(
            InterceptedService::new(channel.clone(), Bearer::new(token.as_deref())?),
        );
        catalog.put_item(bench_item()).await?;
        Ok(BenchServer {
            url,
            channel,
            store,
            token,
            stop,
            task,
            _dir: dir,
        })
    }

    /// Stops the server; the store and its directory stay for measuring until dropped.
    pub(crate) async fn stop(self) -> anyhow::Result<(SledStore, tempfile::TempDir)> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok((self.store, self._dir))
    }
}

/// `n` clients, each on its own connection, each call carrying `token` when there is one.
async fn client_pool(
    url: &str,
    token: Option<&str>,
    n: usize,
) -> anyhow::Result<Vec<pb::scan_service_client::ScanServiceClient<Conn>>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        let channel = Channel::from_shared(url.to_owned())?.connect().await?;
        clients.push(pb::scan_service_client::ScanServiceClient::new(
            InterceptedService::new(channel, Bearer::new(token)?),
        ));
    }
    Ok(clients)
}

async fn unary_phase(
    url: &str,
    n_clients: usize,
    units: usize,
    tag: &str,
) -> anyhow::Result<Duration> {
    unary_phase_with(url, None, n_clients, units, tag).await
}

async fn unary_phase_with(
    url: &str,
    token: Option<&str>,
    n_clients: usize,
    units: usize,
    tag: &str,
) -> anyhow::Result<Duration> {
    let clients = client_pool(url, token, n_clients).await?;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n_clients);
    for (c, mut client) in clients.into_iter().enumerate() {
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut i = c;
            while i < units {
                let reply = client
                    .scan(scan_request(format!("{tag}{i:09}")))
                    .await?
                    .into_inner();
                check_accepted(&reply)?;
                i += n_clients;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

async fn stream_phase(
    channel: &Channel,
    n_streams: usize,
    units: usize,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n_streams);
    for s in 0..n_streams {
        let mut client = pb::scan_service_client::ScanServiceClient::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            let requests: Vec<_> = (s..units)
                .step_by(n_streams)
                .map(|i| scan_request(format!("S{i:09}")))
                .collect();
            let expected = requests.len();
            let mut replies = client
                .scan_stream(tokio_stream::iter(requests))
                .await?
                .into_inner();
            let mut n = 0;
            while let Some(reply) = replies.message().await? {
                check_accepted(&reply)?;
                n += 1;
            }
            anyhow::ensure!(n == expected, "stream answered {n} of {expected} scans");
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

async fn batch_phase(
    channel: &Channel,
    n_senders: usize,
    units: usize,
    batch_len: usize,
    tag: &'static str,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n_senders);
    for sender in 0..n_senders {
        let mut client = pb::scan_service_client::ScanServiceClient::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            // Sender k sends batches k, k + n, k + 2n, ... so that batches are in flight while
            // the writer commits others.
            let mut start = sender * batch_len;
            while start < units {
                let end = (start + batch_len).min(units);
                let scans = (start..end)
                    .map(|i| scan_request(format!("{tag}{i:09}")))
                    .collect();
                let replies = client
                    .scan_batch(pb::ScanBatchRequest { scans })
                    .await?
                    .into_inner()
                    .replies;
                anyhow::ensure!(
                    replies.len() == end - start,
                    "batch answered {} of {} scans",
                    replies.len(),
                    end - start
                );
                for reply in &replies {
                    check_accepted(reply)?;
                }
                start += n_senders * batch_len;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

/// Offers unary scans at a fixed rate, each on its own task, and returns their latencies,
/// sorted.
async fn latency_phase(
    url: &str,
    n_clients: usize,
    rate: u32,
    seconds: u32,
) -> anyhow::Result<Vec<Duration>> {
    let clients = client_pool(url, None, n_clients).await?;
    let total = usize::try_from(u64::from(rate) * u64::from(seconds))?;
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate);
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        ticker.tick().await;
        let mut client = clients[i % clients.len()].clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let reply = client
                .scan(scan_request(format!("L{i:09}")))
                .await?
                .into_inner();
            check_accepted(&reply)?;
            anyhow::Ok(sent.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.push(task.await??);
    }
    latencies.sort();
    Ok(latencies)
}
