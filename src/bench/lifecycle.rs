//! `serialtrack bench lifecycle`: units through every station (receive, putaway, pick against
//! orders, dispatch against shipments, shipments closed) through the real server, against the
//! raw redb writes of the same number of units in the same run.

use std::time::{Duration, Instant};

use serde_json::json;

use super::warehouse::bench_scan;
use super::{BENCH_SKU, BENCH_UNITS_MAX, BenchServer, per_second};
use crate::domain::warehouse::ORDER_UNITS_MAX;
use crate::proto::v1 as pb;

#[derive(clap::Args, Debug, Clone)]
pub struct LifecycleOptions {
    /// Units taken through every station.
    #[arg(long, default_value_t = 10_000)]
    pub units: usize,
    /// Units per order (one line each) and so per shipment.
    #[arg(long, default_value_t = 100)]
    pub order_len: usize,
}

#[derive(Debug, Clone)]
pub struct LifecycleReport {
    pub units: usize,
    pub orders: usize,
    /// The same number of unit records and events written straight to sled.
    pub raw_ceiling: Duration,
    /// Each phase and how long it took.
    pub phases: Vec<(&'static str, Duration)>,
}

impl LifecycleReport {
    fn total(&self) -> Duration {
        self.phases.iter().map(|(_, d)| *d).sum()
    }

    pub fn to_text(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let ratio = |d: Duration| d.as_secs_f64() / self.raw_ceiling.as_secs_f64().max(1e-9);
        let mut out = format!(
            "lifecycle bench: {} units, {} orders and shipments\n{:<44} {:>9.1} ms  {:>9.0} units/s   1.00x\n",
            self.units,
            self.orders,
            "raw redb writes (the machine's floor)",
            ms(self.raw_ceiling),
            per_second(self.units, self.raw_ceiling)
        );
        for (name, d) in &self.phases {
            out.push_str(&format!(
                "{name:<44} {:>9.1} ms  {:>9.0} units/s   {:.2}x\n",
                ms(*d),
                per_second(self.units, *d),
                ratio(*d)
            ));
        }
        out.push_str(&format!(
            "{:<44} {:>9.1} ms  {:>9.0} units/s   {:.2}x\n",
            "every station, end to end",
            ms(self.total()),
            per_second(self.units, self.total()),
            ratio(self.total())
        ));
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        json!({
            "units": self.units,
            "orders": self.orders,
            "raw_ceiling_ms": ms(self.raw_ceiling),
            "phases": self.phases.iter().map(|(name, d)| json!({
                "phase": name,
                "ms": ms(*d),
                "units_per_second": per_second(self.units, *d),
                "ratio_to_raw": d.as_secs_f64() / self.raw_ceiling.as_secs_f64().max(1e-9),
            })).collect::<Vec<_>>(),
            "total_ms": ms(self.total()),
        })
    }
}

pub async fn lifecycle(options: &LifecycleOptions) -> anyhow::Result<LifecycleReport> {
    let n = options.units;
    anyhow::ensure!(
        (1..=BENCH_UNITS_MAX).contains(&n),
        "--units must be 1 to {BENCH_UNITS_MAX}"
    );
    anyhow::ensure!(
        (1..=ORDER_UNITS_MAX as usize).contains(&options.order_len),
        "--order-len must be 1 to {ORDER_UNITS_MAX}"
    );
    let order_len = options.order_len;
    let orders = n.div_ceil(order_len);
    let raw_dir = tempfile::tempdir()?;
    let raw_path = raw_dir.path().to_owned();
    let (raw_ceiling, _) = tokio::task::spawn_blocking(move || {
        crate::store::raw_ceiling(&raw_path, crate::store::KvEngine::Redb, n, 256)
    })
    .await??;
    drop(raw_dir);

    let server = BenchServer::start().await?;
    let mut warehouse =
        pb::warehouse_service_client::WarehouseServiceClient::new(server.channel.clone());
    let serial = |i: usize| format!("L{i:09}");
    let order_of = |i: usize| i / order_len;
    let mut phases = Vec::new();

    let scans = (0..n)
        .map(|i| pb::ScanRequest {
            sku: BENCH_SKU.to_owned(),
            ..bench_scan(pb::Action::Receive, serial(i))
        })
        .collect();
    let started = Instant::now();
    server.scan_all(scans).await?;
    phases.push(("receive", started.elapsed()));

    let scans = (0..n)
        .map(|i| pb::ScanRequest {
            location: format!("BIN-{:03}", i % 500),
            ..bench_scan(pb::Action::Putaway, serial(i))
        })
        .collect();
    let started = Instant::now();
    server.scan_all(scans).await?;
    phases.push(("putaway", started.elapsed()));

    let started = Instant::now();
    for o in 0..orders {
        let quantity = order_len.min(n - o * order_len);
        warehouse
            .create_order(pb::CreateOrderRequest {
                order: Some(pb::Order {
                    id: format!("O{o}"),
                    customer: format!("CUSTOMER-{}", o % 50),
                    lines: vec![pb::OrderLine {
                        sku: BENCH_SKU.to_owned(),
                        quantity: u32::try_from(quantity)?,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            })
            .await?;
    }
    phases.push(("create orders", started.elapsed()));

    let scans = (0..n)
        .map(|i| pb::ScanRequest {
            order_id: format!("O{}", order_of(i)),
            ..bench_scan(pb::Action::Pick, serial(i))
        })
        .collect();
    let started = Instant::now();
    server.scan_all(scans).await?;
    phases.push(("pick against orders", started.elapsed()));

    let started = Instant::now();
    for o in 0..orders {
        warehouse
            .create_shipment(pb::CreateShipmentRequest {
                id: format!("SH{o}"),
                order_id: format!("O{o}"),
            })
            .await?;
    }
    phases.push(("create shipments", started.elapsed()));

    let scans = (0..n)
        .map(|i| pb::ScanRequest {
            shipment_id: format!("SH{}", order_of(i)),
            ..bench_scan(pb::Action::Dispatch, serial(i))
        })
        .collect();
    let started = Instant::now();
    server.scan_all(scans).await?;
    phases.push(("dispatch against shipments", started.elapsed()));

    let started = Instant::now();
    for o in 0..orders {
        let shipment = warehouse
            .close_shipment(pb::CloseShipmentRequest {
                id: format!("SH{o}"),
                override_by: String::new(),
            })
            .await?
            .into_inner()
            .shipment
            .unwrap_or_default();
        anyhow::ensure!(
            shipment.closed,
            "shipment SH{o} did not close at 100 % verification"
        );
    }
    phases.push(("close shipments (100 % verified)", started.elapsed()));
    drop(server.stop().await?);
    Ok(LifecycleReport {
        units: n,
        orders,
        raw_ceiling,
        phases,
    })
}
