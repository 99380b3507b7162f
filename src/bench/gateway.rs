//! `serialtrack bench gateway`: how fast the gateway replays an outbox full of scans queued
//! during an outage, against a baseline measured in the same run: the same number of scans sent
//! straight to the server over one `ScanStream` (what the gateway uses, without the outbox).
//! Also the intake: scans taken into the outbox one at a time, each flushed to disk, as the
//! gateway takes them from a scanner. The server runs in this process on loopback over a temp
//! dir; the gateway is the real one (`gateway::run`) over its own temp outbox.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{BenchServer, per_second, scan_request, stream_phase};
use crate::gateway::outbox::NewScan;
use crate::gateway::{self, Event, ForwardOptions, GatewayOptions, OUTBOX_LEN_MAX, Outbox};
use crate::proto::v1 as pb;

/// Scans written to the outbox per batch while filling it for the replay phase.
const FILL_BATCH_LEN: usize = 1000;

#[derive(clap::Args, Debug, Clone)]
pub struct GatewayBenchOptions {
    /// Scans queued during the outage and replayed, and sent directly for the baseline.
    #[arg(long, default_value_t = 10_000)]
    pub scans: usize,
    /// Scans taken into the outbox one at a time (each flushed) in the intake phase.
    #[arg(long, default_value_t = 1000)]
    pub intake_scans: usize,
}

#[derive(Debug, Clone)]
pub struct GatewayBenchReport {
    pub scans: usize,
    pub direct_scans_per_s: f64,
    pub replay_scans_per_s: f64,
    pub replay_seconds: f64,
    /// From the gateway's start to the first answer: opening the outbox and the first contact.
    pub first_answer_ms: f64,
    pub intake_scans: usize,
    pub intake_scans_per_s: f64,
}

impl GatewayBenchReport {
    pub fn replay_ratio(&self) -> f64 {
        self.replay_scans_per_s / self.direct_scans_per_s
    }

    pub fn to_text(&self) -> String {
        format!(
            "gateway bench, {scans} scans\n\
             direct ScanStream (baseline)            {direct:>10.0} scans/s   1.00x\n\
             gateway replay after an outage          {replay:>10.0} scans/s   {ratio:.2}x   ({secs:.2} s for the whole outbox, first answer after {first:.0} ms)\n\
             gateway intake, one flush per scan      {intake:>10.0} scans/s   {iratio:.2}x   ({n} scans)\n",
            scans = self.scans,
            direct = self.direct_scans_per_s,
            replay = self.replay_scans_per_s,
            ratio = self.replay_ratio(),
            secs = self.replay_seconds,
            first = self.first_answer_ms,
            intake = self.intake_scans_per_s,
            iratio = self.intake_scans_per_s / self.direct_scans_per_s,
            n = self.intake_scans,
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "scans": self.scans,
            "direct_scans_per_s": self.direct_scans_per_s,
            "replay_scans_per_s": self.replay_scans_per_s,
            "replay_ratio": self.replay_ratio(),
            "replay_seconds": self.replay_seconds,
            "first_answer_ms": self.first_answer_ms,
            "intake_scans": self.intake_scans,
            "intake_scans_per_s": self.intake_scans_per_s,
            "intake_ratio": self.intake_scans_per_s / self.direct_scans_per_s,
        })
    }
}

fn queued(serial: String) -> NewScan {
    NewScan {
        request: scan_request(serial),
        source: "bench".to_owned(),
        accepted_at_ms: 0,
    }
}

/// Runs the phases and reports the figures.
pub async fn gateway(options: &GatewayBenchOptions) -> anyhow::Result<GatewayBenchReport> {
    let scans = options.scans;
    anyhow::ensure!(
        (1..=OUTBOX_LEN_MAX).contains(&scans),
        "--scans must be 1 to {OUTBOX_LEN_MAX}"
    );
    anyhow::ensure!(
        (1..=OUTBOX_LEN_MAX).contains(&options.intake_scans),
        "--intake-scans must be 1 to {OUTBOX_LEN_MAX}"
    );
    let server = BenchServer::start().await?;
    let direct = stream_phase(&server.channel, 1, scans).await?;

    // The outage: scans pile up in the outbox while no server is there.
    let outbox_dir = tempfile::tempdir()?;
    let path = outbox_dir.path().to_owned();
    tokio::task::spawn_blocking(move || {
        let outbox = Outbox::open(&path, OUTBOX_LEN_MAX)?;
        let mut i = 0;
        while i < scans {
            let end = (i + FILL_BATCH_LEN).min(scans);
            outbox.push_many((i..end).map(|n| queued(format!("G{n:09}"))).collect())?;
            i = end;
        }
        anyhow::Ok(())
    })
    .await??;

    // The server is back: a gateway starts on that outbox and replays it until it is empty.
    let (events_tx, mut events_rx) = tokio::sync::mpsc::channel(gateway::station::EVENT_QUEUE_LEN);
    let started = Instant::now();
    let counter = tokio::spawn(async move {
        let (mut accepted, mut other) = (0usize, 0usize);
        let mut first_answer = None;
        while let Some(event) = events_rx.recv().await {
            if let Event::Result { reply, .. } = event {
                first_answer.get_or_insert_with(|| started.elapsed());
                if reply.outcome() == pb::Outcome::Accepted {
                    accepted += 1;
                } else {
                    other += 1;
                }
            }
        }
        (accepted, other, first_answer.unwrap_or_default())
    });
    gateway::run(
        GatewayOptions {
            outbox_dir: outbox_dir.path().to_owned(),
            outbox_max: OUTBOX_LEN_MAX,
            forward: ForwardOptions::new(&server.url),
            inputs: Vec::new(),
            exit_when_drained: true,
        },
        events_tx,
        std::future::pending(),
    )
    .await?;
    let replay = started.elapsed();
    let (accepted, other, first_answer) = counter.await?;
    anyhow::ensure!(
        accepted == scans && other == 0,
        "the replay answered {accepted} accepted and {other} other of {scans} scans"
    );

    let intake_dir = tempfile::tempdir()?;
    let path = intake_dir.path().to_owned();
    let intake_scans = options.intake_scans;
    let intake: Duration = tokio::task::spawn_blocking(move || {
        let outbox = Outbox::open(&path, OUTBOX_LEN_MAX)?;
        let started = Instant::now();
        for n in 0..intake_scans {
            outbox.push(queued(format!("I{n:09}")))?;
        }
        anyhow::Ok(started.elapsed())
    })
    .await??;
    drop(server.stop().await?);

    Ok(GatewayBenchReport {
        scans,
        direct_scans_per_s: per_second(scans, direct),
        replay_scans_per_s: per_second(scans, replay),
        replay_seconds: replay.as_secs_f64(),
        first_answer_ms: first_answer.as_secs_f64() * 1000.0,
        intake_scans,
        intake_scans_per_s: per_second(intake_scans, intake),
    })
}
