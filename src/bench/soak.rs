//! `serialtrack bench soak`: steady mixed load against a served store for minutes, reporting
//! at every interval the throughput, latency percentiles, the server's resident memory and
//! the data dir's size, so that growth shows. The server is a `serve` child process over a temp
//! data dir ([`ServeChild`]); its RSS is read from `/proc/PID/status`. Clients run in this
//! process: each takes its own serials through receive, putaway (to one of 50 bins) and pick
//! (against orders of 500 it creates), and reads every unit back once (GetUnit), at a fixed
//! offered rate shared between them.
//!
//! A figure here is a measurement, not a check: the run fails only when the server refuses or
//! rejects an operation of the load (which would make the figures meaningless).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::json;
use tokio::time::MissedTickBehavior;
use tonic::transport::Channel;

use super::EngineArg;
use super::torture::{ServeChild, connect};
use crate::proto::v1 as pb;
use crate::store::{CACHE_BYTES, KvEngine, SledStore, dir_bytes};

const SOAK_SKU: &str = "SOAK-1";
/// Picks per order (each pick writes one key beside the order's constant-size record).
const ORDER_PICKS: u32 = 500;
/// The longest soak, in seconds (a day).
pub const SOAK_SECONDS_MAX: u64 = 24 * 3600;

#[derive(clap::Args, Debug, Clone)]
pub struct SoakOptions {
    /// Length of the run in minutes.
    #[arg(long, default_value_t = 30, conflicts_with = "seconds")]
    pub minutes: u64,
    /// Length of the run in seconds, instead of --minutes (for short checks).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Seconds between two report lines.
    #[arg(long, default_value_t = 60)]
    pub interval_seconds: u64,
    /// Concurrent clients, each on its own connection.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Offered operations per second, all clients together (3 writes and 1 read per unit).
    #[arg(long, default_value_t = 1000)]
    pub rate: u32,
    /// Leave the picks out (receive, putaway and read only): shows what the picks cost on
    /// disk and in memory.
    #[arg(long)]
    pub no_pick: bool,
    /// The served store's page cache in MiB (`serve --cache-mib`; its default without this).
    #[arg(long, value_name = "MIB")]
    pub cache_mib: Option<u64>,
    /// The embedded engine of the served data dir: redb (what a new data dir gets) or sled
    /// (what data dirs made before redb hold), to compare the two in one session.
    #[arg(long, value_enum, default_value_t = EngineArg::Redb)]
    pub engine: EngineArg,
}

/// One report line: what happened in one interval, and the state at its end.
#[derive(Debug, Clone)]
pub struct SoakSample {
    pub elapsed_s: f64,
    pub ops: u64,
    pub ops_per_s: f64,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    pub latency_ms_max: f64,
    pub rss_kib: u64,
    pub data_dir_bytes: u64,
    pub units: u64,
    pub events: u64,
}

impl SoakSample {
    pub fn bytes_per_unit(&self) -> f64 {
        ratio(self.data_dir_bytes, self.units)
    }

    pub fn header() -> &'static str {
        "  time    ops/s   p50 ms   p99 ms   max ms   RSS MiB  data MiB     units    events  bytes/unit"
    }

    pub fn to_text(&self) -> String {
        format!(
            "{:>5.0}s {:>8.0} {:>8.2} {:>8.2} {:>8.2} {:>9.1} {:>9.1} {:>9} {:>9} {:>11.0}",
            self.elapsed_s,
            self.ops_per_s,
            self.latency_ms_p50,
            self.latency_ms_p99,
            self.latency_ms_max,
            mib(self.rss_kib * 1024),
            mib(self.data_dir_bytes),
            self.units,
            self.events,
            self.bytes_per_unit(),
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "elapsed_s": self.elapsed_s,
            "ops": self.ops,
            "ops_per_s": self.ops_per_s,
            "latency_ms_p50": self.latency_ms_p50,
            "latency_ms_p99": self.latency_ms_p99,
            "latency_ms_max": self.latency_ms_max,
            "rss_kib": self.rss_kib,
            "data_dir_bytes": self.data_dir_bytes,
            "units": self.units,
            "events": self.events,
            "bytes_per_unit": self.bytes_per_unit(),
        })
    }
}

#[allow(clippy::cast_precision_loss)]
fn ratio(a: u64, b: u64) -> f64 {
    a as f64 / b.max(1) as f64
}

#[allow(clippy::cast_precision_loss)]
fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The whole run: one sample per interval, and what changed from the first to the last.
#[derive(Debug, Clone)]
pub struct SoakReport {
    pub engine: KvEngine,
    pub offered_per_s: u32,
    pub clients: usize,
    pub samples: Vec<SoakSample>,
}

impl SoakReport {
    pub fn summary(&self) -> String {
        let (Some(first), Some(last)) = (self.samples.first(), self.samples.last()) else {
            return "no interval completed\n".to_owned();
        };
        let total_ops: u64 = self.samples.iter().map(|s| s.ops).sum();
        let half = self.second_half().map_or_else(String::new, |(rss, data)| {
            format!(
                "second half: each unit written added {rss:.0} bytes of RSS and {data:.0} bytes of data dir\n"
            )
        });
        format!(
            "soak on {engine}: {ops} operations in {secs:.0} s ({rate:.0}/s of {offered}/s offered, {clients} clients)\n\
             RSS {rss0:.1} MiB after the first interval, {rss1:.1} MiB at the end ({rss_ratio:.2}x)\n\
             data dir {b0:.0} bytes/unit after the first interval, {b1:.0} at the end ({b_ratio:.2}x)\n\
             p99 latency {p0:.2} ms in the first interval, {p1:.2} ms in the last\n\
             {half}",
            engine = self.engine.name(),
            ops = total_ops,
            secs = last.elapsed_s,
            rate = total_ops as f64 / last.elapsed_s.max(1e-9),
            offered = self.offered_per_s,
            clients = self.clients,
            rss0 = mib(first.rss_kib * 1024),
            rss1 = mib(last.rss_kib * 1024),
            rss_ratio = ratio(last.rss_kib, first.rss_kib),
            b0 = first.bytes_per_unit(),
            b1 = last.bytes_per_unit(),
            b_ratio = last.bytes_per_unit() / first.bytes_per_unit().max(1e-9),
            p0 = first.latency_ms_p99,
            p1 = last.latency_ms_p99,
        )
    }

    /// What each unit written in the second half of the run added to the server's RSS and to
    /// the data dir, in bytes: the growth left once the cache has filled. `None` with fewer
    /// than two samples or no unit written in that half.
    pub fn second_half(&self) -> Option<(f64, f64)> {
        let last = self.samples.last()?;
        let middle = self.samples.get((self.samples.len() - 1) / 2)?;
        let units = last.units.checked_sub(middle.units).filter(|&n| n > 0)?;
        #[allow(clippy::cast_precision_loss)]
        let per_unit = |from: u64, to: u64| (to as f64 - from as f64) / units as f64;
        Some((
            per_unit(middle.rss_kib * 1024, last.rss_kib * 1024),
            per_unit(middle.data_dir_bytes, last.data_dir_bytes),
        ))
    }
}

/// The server's resident set, from `/proc/PID/status`.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line in /proc status")
}

struct Shared {
    latencies_us: Mutex<Vec<u32>>,
    units: AtomicU64,
    events: AtomicU64,
    stop: AtomicBool,
}

/// Runs the soak; `on_sample` sees each interval's line as it is measured.
pub async fn soak(
    options: &SoakOptions,
    mut on_sample: impl FnMut(&SoakSample),
) -> anyhow::Result<SoakReport> {
    let seconds = options
        .seconds
        .unwrap_or(options.minutes.saturating_mul(60));
    ensure!(
        (1..=SOAK_SECONDS_MAX).contains(&seconds),
        "the run must last 1 s to {SOAK_SECONDS_MAX} s (--minutes or --seconds)"
    );
    ensure!(
        options.interval_seconds >= 1,
        "--interval-seconds must be at least 1"
    );
    ensure!(
        (1..=1024).contains(&options.clients),
        "--clients must be 1 to 1024"
    );
    ensure!(
        (1..=1_000_000).contains(&options.rate),
        "--rate must be 1 to 1000000"
    );
    let binary = std::env::current_exe().context("cannot find this program to run as serve")?;
    let temp = tempfile::tempdir()?;
    let data = temp.path().join("data");
    let log = temp.path().join("serve.log");
    let (b, d, l) = (binary.clone(), data.clone(), log.clone());
    let cache_mib = options.cache_mib;
    let engine = options.engine.engine();
    let server = tokio::task::spawn_blocking(move || {
        // A data dir made on sled first, as older serialtracks made them: serve keeps the
        // engine a data dir holds.
        if engine == KvEngine::Sled {
            drop(SledStore::open_engine(&d, engine, CACHE_BYTES)?);
        }
        ServeChild::start(&b, &d, &l, |command| {
            if let Some(mib) = cache_mib {
                command.arg("--cache-mib").arg(mib.to_string());
            }
        })
    })
    .await??;
    let channel = connect(&server.url).await?;
    pb::catalog_service_client::CatalogServiceClient::new(channel.clone())
        .put_item(pb::PutItemRequest {
            item: Some(pb::Item {
                sku: SOAK_SKU.to_owned(),
                description: "soak item".to_owned(),
                ..Default::default()
            }),
        })
        .await
        .context("cannot create the soak item")?;

    let shared = Arc::new(Shared {
        latencies_us: Mutex::new(Vec::new()),
        units: AtomicU64::new(0),
        events: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let per_client = Duration::from_secs_f64(
        f64::from(u32::try_from(options.clients)?) / f64::from(options.rate),
    );
    let mut workers = Vec::with_capacity(options.clients);
    for c in 0..options.clients {
        let channel = connect(&server.url).await?;
        let shared = shared.clone();
        let pick = !options.no_pick;
        workers.push(tokio::spawn(async move {
            worker(c, channel, per_client, pick, shared).await
        }));
    }

    let started = Instant::now();
    let mut samples = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(options.interval_seconds));
    ticker.tick().await;
    let intervals = seconds.div_ceil(options.interval_seconds);
    for _ in 0..intervals {
        ticker.tick().await;
        if let Some(failed) = workers.iter().position(|w| w.is_finished()) {
            workers.swap_remove(failed).await??;
            bail!("a soak client stopped early");
        }
        let mut latencies = std::mem::take(
            &mut *shared
                .latencies_us
                .lock()
                .map_err(|_| anyhow::anyhow!("latency list poisoned"))?,
        );
        latencies.sort_unstable();
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
            f64::from(latencies[index.min(latencies.len() - 1)]) / 1000.0
        };
        let elapsed = started.elapsed();
        let ops = u64::try_from(latencies.len())?;
        let previous = samples.last().map_or(0.0, |s: &SoakSample| s.elapsed_s);
        let sample = SoakSample {
            elapsed_s: elapsed.as_secs_f64(),
            ops,
            ops_per_s: ratio(ops, 1) / (elapsed.as_secs_f64() - previous).max(1e-9),
            latency_ms_p50: pick(0.50),
            latency_ms_p99: pick(0.99),
            latency_ms_max: pick(1.0),
            rss_kib: rss_kib(server.pid())?,
            data_dir_bytes: dir_bytes(&data),
            units: shared.units.load(Ordering::SeqCst),
            events: shared.events.load(Ordering::SeqCst),
        };
        on_sample(&sample);
        samples.push(sample);
    }
    shared.stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.await??;
    }
    server.kill()?;
    // Read off the served data dir's files: what serve really ran on.
    let engine = KvEngine::of_dir(&data);
    drop(temp);
    Ok(SoakReport {
        engine,
        offered_per_s: options.rate,
        clients: options.clients,
        samples,
    })
}

async fn worker(
    c: usize,
    channel: Channel,
    period: Duration,
    pick: bool,
    shared: Arc<Shared>,
) -> anyhow::Result<()> {
    let mut scans = pb::scan_service_client::ScanServiceClient::new(channel.clone());
    let mut units = pb::unit_service_client::UnitServiceClient::new(channel.clone());
    let mut warehouse = pb::warehouse_service_client::WarehouseServiceClient::new(channel);
    let mut ticker = tokio::time::interval(period);
    // Behind schedule, the client goes on at its pace rather than bursting to catch up.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut n = 0u64;
    let mut order = String::new();
    let mut picks_on_order = ORDER_PICKS;
    while !shared.stop.load(Ordering::SeqCst) {
        let serial = format!("K{c:04}-{n:09}");
        n += 1;
        for step in 0..4 {
            if step == 2 && !pick {
                continue;
            }
            ticker.tick().await;
            if step == 2 && picks_on_order == ORDER_PICKS {
                order = format!("K{c:04}-ORDER-{n}");
                warehouse
                    .create_order(pb::CreateOrderRequest {
                        order: Some(pb::Order {
                            id: order.clone(),
                            customer: "soak".to_owned(),
                            lines: vec![pb::OrderLine {
                                sku: SOAK_SKU.to_owned(),
                                quantity: ORDER_PICKS,
                                ..Default::default()
                            }],
                            ..Default::default()
                        }),
                    })
                    .await
                    .with_context(|| format!("cannot create order {order}"))?;
                picks_on_order = 0;
            }
            let sent = Instant::now();
            if step == 3 {
                let unit = units
                    .get_unit(pb::GetUnitRequest {
                        serial: serial.clone(),
                        gtin: String::new(),
                    })
                    .await
                    .with_context(|| format!("cannot read unit {serial}"))?
                    .into_inner()
                    .unit
                    .context("GetUnit answered without a unit")?;
                let expected = if pick {
                    pb::UnitState::Picked
                } else {
                    pb::UnitState::Stored
                };
                ensure!(
                    unit.state() == expected,
                    "unit {serial} reads {:?} after its last scan; expected {expected:?}",
                    unit.state()
                );
            } else {
                let action = [pb::Action::Receive, pb::Action::Putaway, pb::Action::Pick][step];
                let reply = scans
                    .scan(pb::ScanRequest {
                        event_id: uuid::Uuid::new_v4().to_string(),
                        station: format!("SOAK-{c}"),
                        operator: "soak".to_owned(),
                        action: action.into(),
                        raw: serial.clone().into_bytes(),
                        sku: SOAK_SKU.to_owned(),
                        entry_mode: pb::EntryMode::Scanned.into(),
                        location: if step == 1 {
                            format!("BIN-{}", n % 50)
                        } else {
                            String::new()
                        },
                        order_id: if step == 2 {
                            order.clone()
                        } else {
                            String::new()
                        },
                        ..Default::default()
                    })
                    .await
                    .with_context(|| format!("{action:?} {serial} failed"))?
                    .into_inner();
                ensure!(
                    reply.outcome() == pb::Outcome::Accepted,
                    "{action:?} {serial} answered {:?}: {}",
                    reply.reason(),
                    reply.message
                );
                shared.events.fetch_add(1, Ordering::SeqCst);
                if step == 0 {
                    shared.units.fetch_add(1, Ordering::SeqCst);
                } else if step == 2 {
                    picks_on_order += 1;
                }
            }
            let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
            shared
                .latencies_us
                .lock()
                .map_err(|_| anyhow::anyhow!("latency list poisoned"))?
                .push(micros);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(elapsed_s: f64, rss_mib: u64, data_mib: u64, units: u64) -> SoakSample {
        SoakSample {
            elapsed_s,
            ops: 1,
            ops_per_s: 1.0,
            latency_ms_p50: 1.0,
            latency_ms_p99: 1.0,
            latency_ms_max: 1.0,
            rss_kib: rss_mib * 1024,
            data_dir_bytes: data_mib * 1024 * 1024,
            units,
            events: units * 3,
        }
    }

    #[test]
    fn second_half_growth_is_per_unit_written_after_the_middle_sample() {
        let report = SoakReport {
            engine: KvEngine::Redb,
            offered_per_s: 1000,
            clients: 16,
            samples: vec![
                sample(60.0, 100, 10, 1_000),
                sample(120.0, 200, 20, 2_000),
                sample(180.0, 201, 30, 3_048),
            ],
        };
        let (rss, data) = report.second_half().unwrap();
        assert!((rss - 1024.0 * 1024.0 / 1048.0).abs() < 1e-6, "{rss}");
        assert!(
            (data - 10.0 * 1024.0 * 1024.0 / 1048.0).abs() < 1e-6,
            "{data}"
        );
        assert!(
            report
                .summary()
                .contains("added 1001 bytes of RSS and 10005 bytes")
        );
        let shrinking = SoakReport {
            samples: vec![sample(60.0, 300, 10, 1_000), sample(120.0, 200, 20, 2_000)],
            ..report.clone()
        };
        assert!(shrinking.second_half().unwrap().0 < 0.0);
        let idle = SoakReport {
            samples: vec![sample(60.0, 100, 10, 1_000), sample(120.0, 100, 10, 1_000)],
            ..report
        };
        assert_eq!(idle.second_half(), None);
    }
}
