//! `bench receive --store postgres://...`: the receive bench's unary, stream and batch phases
//! on the PostgreSQL-wire store, with one `serve` instance and with two on the same database,
//! as ratios to the embedded store's phases of the same run.
//!
//! The servers run in this process, each with its own `PgStore` (writer thread, connections),
//! as separate processes would. Everything is written into a schema the bench makes for itself
//! and drops at the end, so the database named is left as it was.

use std::time::Instant;

use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::Channel;

use super::{ReceiveOptions, ReceiveReport, batch_phase, per_second, stream_phase};
use crate::proto::v1 as pb;
use crate::store::PgStore;

/// The figures of the PostgreSQL phases, units per second.
#[derive(Debug, Clone)]
pub struct PgReport {
    pub url: String,
    pub engine: String,
    pub unary_units_per_s: f64,
    pub stream_units_per_s: f64,
    pub batch_units_per_s: f64,
    /// Two instances at once on the same database: half the clients (or senders) each.
    pub two_unary_units_per_s: f64,
    pub two_batch_units_per_s: f64,
}

impl PgReport {
    pub fn to_text(&self, embedded: &ReceiveReport) -> String {
        let of = |pg: f64, base: f64| pg / base.max(1e-9);
        format!(
            "PostgreSQL store {url} ({engine}), same phases; ratios to {e}'s phase above\n\
             unary Scan, {clients:>3} clients        {unary:>10.0} units/s   {ru:.2}x {e}\n\
             ScanStream                         {stream:>10.0} units/s   {rs:.2}x {e}\n\
             ScanBatch, {senders:>2} senders            {batch:>10.0} units/s   {rb:.2}x {e}\n\
             two instances, one database:\n\
             unary Scan, {clients:>3} clients split    {two_unary:>10.0} units/s   {tu:.2}x {e}   {tu1:.2}x one instance\n\
             ScanBatch, {senders:>2} senders split       {two_batch:>10.0} units/s   {tb:.2}x {e}   {tb1:.2}x one instance\n",
            e = embedded.engine.name(),
            url = self.url,
            engine = self.engine,
            clients = embedded.clients,
            senders = embedded.batch_senders,
            unary = self.unary_units_per_s,
            ru = of(self.unary_units_per_s, embedded.unary_units_per_s),
            stream = self.stream_units_per_s,
            rs = of(self.stream_units_per_s, embedded.stream_units_per_s),
            batch = self.batch_units_per_s,
            rb = of(self.batch_units_per_s, embedded.batch_units_per_s),
            two_unary = self.two_unary_units_per_s,
            tu = of(self.two_unary_units_per_s, embedded.unary_units_per_s),
            tu1 = of(self.two_unary_units_per_s, self.unary_units_per_s),
            two_batch = self.two_batch_units_per_s,
            tb = of(self.two_batch_units_per_s, embedded.batch_units_per_s),
            tb1 = of(self.two_batch_units_per_s, self.batch_units_per_s),
        )
    }

    pub fn to_json(&self, embedded: &ReceiveReport) -> serde_json::Value {
        let of = |pg: f64, base: f64| pg / base.max(1e-9);
        json!({
            "url": self.url,
            "engine": self.engine,
            "unary_units_per_s": self.unary_units_per_s,
            "unary_to_embedded": of(self.unary_units_per_s, embedded.unary_units_per_s),
            "stream_units_per_s": self.stream_units_per_s,
            "stream_to_embedded": of(self.stream_units_per_s, embedded.stream_units_per_s),
            "batch_units_per_s": self.batch_units_per_s,
            "batch_to_embedded": of(self.batch_units_per_s, embedded.batch_units_per_s),
            "two_unary_units_per_s": self.two_unary_units_per_s,
            "two_unary_to_one": of(self.two_unary_units_per_s, self.unary_units_per_s),
            "two_batch_units_per_s": self.two_batch_units_per_s,
            "two_batch_to_one": of(self.two_batch_units_per_s, self.batch_units_per_s),
        })
    }
}

/// One `serve` over the database in this process.
struct Instance {
    url: String,
    channel: Channel,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), crate::server::ServeError>>,
}

impl Instance {
    async fn start(database: &str) -> anyhow::Result<Instance> {
        let database = database.to_owned();
        let store = tokio::task::spawn_blocking(move || PgStore::open(&database)).await??;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::server::serve(
            listener,
            store,
            crate::server::ServeOptions::open(),
            async {
                let _ = stop_rx.await;
            },
        ));
        let channel = Channel::from_shared(url.clone())?.connect().await?;
        Ok(Instance {
            url,
            channel,
            stop,
            task,
        })
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await??;
        Ok(())
    }
}

/// A database connection's URL with its searches (and tables) in `schema`.
fn in_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

async fn admin(url: &str, sql: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    client.batch_execute(sql).await?;
    drop(client);
    let _ = driver.await;
    Ok(())
}

pub async fn receive(url: &str, options: &ReceiveOptions) -> anyhow::Result<PgReport> {
    let schema = format!("serialtrack_bench_{}", uuid::Uuid::new_v4().simple());
    admin(url, &format!("CREATE SCHEMA {schema}")).await?;
    let measured = phases(&in_schema(url, &schema), options).await;
    let dropped = admin(url, &format!("DROP SCHEMA {schema} CASCADE")).await;
    let mut report = measured?;
    dropped?;
    report.url = crate::store::redacted(url);
    Ok(report)
}

async fn phases(database: &str, options: &ReceiveOptions) -> anyhow::Result<PgReport> {
    let units = options.units;
    let one = Instance::start(database).await?;
    let engine = {
        let database = database.to_owned();
        tokio::task::spawn_blocking(move || PgStore::open(&database).map(|s| s.engine())).await??
    };
    pb::catalog_service_client::CatalogServiceClient::new(one.channel.clone())
        .put_item(super::bench_item())
        .await?;
    let unary = super::unary_phase(&one.url, options.clients, units, "U").await?;
    let stream = stream_phase(&one.channel, options.streams, units).await?;
    let batch = batch_phase(&one.channel, options.streams, units, options.batch_len, "B").await?;

    // Two instances: each takes half the clients and half the units, on serials of its own.
    let two = Instance::start(database).await?;
    let half_clients = options.clients.div_ceil(2);
    let half_units = units / 2;
    let started = Instant::now();
    let (a, b) = tokio::join!(
        super::unary_phase(&one.url, half_clients, half_units, "V"),
        super::unary_phase(&two.url, half_clients, units - half_units, "W"),
    );
    a?;
    b?;
    let two_unary = started.elapsed();
    let half_senders = options.streams.div_ceil(2);
    let started = Instant::now();
    let (a, b) = tokio::join!(
        batch_phase(
            &one.channel,
            half_senders,
            half_units,
            options.batch_len,
            "C"
        ),
        batch_phase(
            &two.channel,
            half_senders,
            units - half_units,
            options.batch_len,
            "D"
        ),
    );
    a?;
    b?;
    let two_batch = started.elapsed();
    one.stop().await?;
    two.stop().await?;
    Ok(PgReport {
        url: String::new(),
        engine: format!("{engine:?}"),
        unary_units_per_s: per_second(units, unary),
        stream_units_per_s: per_second(units, stream),
        batch_units_per_s: per_second(units, batch),
        two_unary_units_per_s: per_second(units, two_unary),
        two_batch_units_per_s: per_second(units, two_batch),
    })
}
