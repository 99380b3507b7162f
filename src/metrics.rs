//! The service's Prometheus metrics: counters, gauges and histograms kept in atomics, and their
//! text exposition (format 0.0.4). Every label set is known in advance (actions × outcomes,
//! reasons, the RPC paths `build.rs` lists from the proto), so recording is a few relaxed atomic
//! adds into fixed arrays: no lock, no map lookup, no allocation per scan or per call.
//!
//! The store's writer records scans and group commits into a [`Metrics`] it shares with the
//! server in front of it (`Store::metrics`); the server records RPC latencies and watchers, and
//! `server::serve_metrics` answers `GET /metrics` with [`Metrics::render`]. No I/O here.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::domain::{Action, Event, Outcome, Reason};

include!(concat!(env!("OUT_DIR"), "/rpc_paths.rs"));

/// Upper bounds of the latency buckets, in microseconds: 100 µs to 10 s. A slower observation
/// is counted in `+Inf` only.
pub const LATENCY_BUCKETS_US: [u64; 16] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];
/// Upper bounds of the group-size buckets, in scans. A group stops taking commands at
/// `GROUP_SCANS_MAX` (4096) scans but never splits a batch, so the largest groups land in
/// `+Inf` only.
pub const GROUP_BUCKETS_SCANS: [u64; 14] = [
    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
];

/// The RPC histogram slot of calls to a path that is not in [`RPC_PATHS`].
const RPC_OTHER: usize = RPC_PATHS.len();

/// Observations counted by bucket, with their sum. `counts[i]` holds the observations above
/// `bounds[i - 1]` and at most `bounds[i]` (cumulated only when rendered), `over` those above
/// the last bound.
struct Histogram<const B: usize> {
    bounds: &'static [u64; B],
    counts: [AtomicU64; B],
    over: AtomicU64,
    /// In the histogram's unit of sum: scans, or nanoseconds for latencies.
    sum: AtomicU64,
}

impl<const B: usize> Histogram<B> {
    const fn new(bounds: &'static [u64; B]) -> Self {
        Histogram {
            bounds,
            counts: [const { AtomicU64::new(0) }; B],
            over: AtomicU64::new(0),
            sum: AtomicU64::new(0),
        }
    }

    /// Counts `value` (in the bounds' unit) in its bucket and adds `sum` to the sum.
    fn observe(&self, value: u64, sum: u64) {
        match self.bounds.iter().position(|bound| value <= *bound) {
            Some(i) => self.counts[i].fetch_add(1, Relaxed),
            None => self.over.fetch_add(1, Relaxed),
        };
        self.sum.fetch_add(sum, Relaxed);
    }

    fn observe_duration(&self, elapsed: Duration) {
        let us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.observe(us, ns);
    }

    /// How many observations it holds.
    fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Relaxed)).sum::<u64>() + self.over.load(Relaxed)
    }

    /// Writes the `_bucket`, `_sum` and `_count` lines of one label set. `labels` is empty or
    /// ends with a comma; `le` and `sum` write a bound and the sum in the exposed unit. The
    /// count is the `+Inf` bucket itself, so the two always agree within one scrape.
    fn render(
        &self,
        out: &mut String,
        name: &str,
        labels: &str,
        le: fn(u64) -> String,
        sum: fn(u64) -> String,
    ) {
        let mut cumulative = 0;
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            cumulative += count.load(Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}le=\"{}\"}} {cumulative}",
                le(*bound)
            );
        }
        cumulative += self.over.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}le=\"+Inf\"}} {cumulative}");
        let braces = |labels: &str| match labels.strip_suffix(',') {
            Some(inner) => format!("{{{inner}}}"),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "{name}_sum{} {}",
            braces(labels),
            sum(self.sum.load(Relaxed))
        );
        let _ = writeln!(out, "{name}_count{} {cumulative}", braces(labels));
    }
}

/// Everything the service counts. One per store, shared by its writer and its server.
pub struct Metrics {
    /// Logged scans by `[action][outcome]`.
    scans: [[AtomicU64; Outcome::ALL.len()]; Action::ALL.len()],
    replayed: AtomicU64,
    /// Rejected scans by reason.
    rejections: [AtomicU64; Reason::ALL.len()],
    group_scans: Histogram<{ GROUP_BUCKETS_SCANS.len() }>,
    flush: Histogram<{ LATENCY_BUCKETS_US.len() }>,
    write_failures: AtomicU64,
    writer_queue: AtomicU64,
    watchers: AtomicU64,
    /// By the position of the path in [`RPC_PATHS`]; the last slot is for any other path.
    rpc: [Histogram<{ LATENCY_BUCKETS_US.len() }>; RPC_PATHS.len() + 1],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            scans: [const { [const { AtomicU64::new(0) }; Outcome::ALL.len()] }; Action::ALL.len()],
            replayed: AtomicU64::new(0),
            rejections: [const { AtomicU64::new(0) }; Reason::ALL.len()],
            group_scans: Histogram::new(&GROUP_BUCKETS_SCANS),
            flush: Histogram::new(&LATENCY_BUCKETS_US),
            write_failures: AtomicU64::new(0),
            writer_queue: AtomicU64::new(0),
            watchers: AtomicU64::new(0),
            rpc: [const { Histogram::new(&LATENCY_BUCKETS_US) }; RPC_PATHS.len() + 1],
        }
    }

    /// One scan's answer from the writer, once its group is on disk: a logged event, or a
    /// retry answered from the log (`replayed`), which logged nothing.
    pub fn scan_answered(&self, replayed: bool, event: &Event) {
        if replayed {
            self.replayed.fetch_add(1, Relaxed);
            return;
        }
        // Fieldless enums: the discriminant is the position in `ALL` (tested below).
        if let Some(counter) = self
            .scans
            .get(event.action as usize)
            .and_then(|by_outcome| by_outcome.get(event.outcome as usize))
        {
            counter.fetch_add(1, Relaxed);
        }
        if event.outcome == Outcome::Rejected
            && let Some(counter) = self.rejections.get(event.reason as usize)
        {
            counter.fetch_add(1, Relaxed);
        }
    }

    /// A group the writer wrote and flushed: how many scans it carried (0 for a group of
    /// items, documents or tokens only, which the group-size histogram leaves out) and how
    /// long sled's flush took.
    pub fn group_committed(&self, n_scans: usize, flush: Duration) {
        if n_scans > 0 {
            let n = u64::try_from(n_scans).unwrap_or(u64::MAX);
            self.group_scans.observe(n, n);
        }
        self.flush.observe_duration(flush);
    }

    /// A group whose `apply_batch` or flush failed (its callers were answered UNAVAILABLE).
    pub fn write_failed(&self) {
        self.write_failures.fetch_add(1, Relaxed);
    }

    /// Commands waiting for the writer, behind the group it is committing.
    pub fn writer_queue(&self, n_commands: usize) {
        self.writer_queue
            .store(u64::try_from(n_commands).unwrap_or(u64::MAX), Relaxed);
    }

    /// Counts a WatchEvents subscriber until the returned guard is dropped.
    pub fn watcher(self: &Arc<Self>) -> Watcher {
        self.watchers.fetch_add(1, Relaxed);
        Watcher(self.clone())
    }

    /// The slot of an RPC path for [`Metrics::rpc_finished`].
    pub fn rpc_slot(path: &str) -> usize {
        RPC_PATHS.binary_search(&path).unwrap_or(RPC_OTHER)
    }

    /// An RPC in `slot` answered (its response headers are ready) after `elapsed`.
    pub fn rpc_finished(&self, slot: usize, elapsed: Duration) {
        if let Some(histogram) = self.rpc.get(slot) {
            histogram.observe_duration(elapsed);
        }
    }

    /// The text exposition format 0.0.4 of every metric. The counters by label are written
    /// for every label value, zeros too; the RPC histogram only for methods called so far.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        family(
            &mut out,
            "serialtrack_scans_total",
            "counter",
            "Scans the writer logged, by action and outcome (a retry answered from the log is \
             counted in serialtrack_scans_replayed_total instead).",
        );
        for action in Action::ALL {
            for outcome in Outcome::ALL {
                let value = self.scans[action as usize][outcome as usize].load(Relaxed);
                let _ = writeln!(
                    out,
                    "serialtrack_scans_total{{action=\"{}\",outcome=\"{}\"}} {value}",
                    action.name(),
                    outcome.name()
                );
            }
        }
        counter(
            &mut out,
            "serialtrack_scans_replayed_total",
            "Scans whose event_id was already in the log: answered from it, nothing written.",
            self.replayed.load(Relaxed),
        );
        family(
            &mut out,
            "serialtrack_rejections_total",
            "counter",
            "Rejected scans by reason.",
        );
        for reason in Reason::ALL.into_iter().filter(|r| *r != Reason::Ok) {
            let value = self.rejections[reason as usize].load(Relaxed);
            let _ = writeln!(
                out,
                "serialtrack_rejections_total{{reason=\"{}\"}} {value}",
                reason.name()
            );
        }
        family(
            &mut out,
            "serialtrack_group_commit_scans",
            "histogram",
            "Scans per group commit of the writer (groups that carried scans).",
        );
        self.group_scans.render(
            &mut out,
            "serialtrack_group_commit_scans",
            "",
            |n| n.to_string(),
            |n| n.to_string(),
        );
        family(
            &mut out,
            "serialtrack_flush_duration_seconds",
            "histogram",
            "Time of sled's flush per group commit, which an answer waits for.",
        );
        self.flush.render(
            &mut out,
            "serialtrack_flush_duration_seconds",
            "",
            micros_as_seconds,
            nanos_as_seconds,
        );
        counter(
            &mut out,
            "serialtrack_write_failures_total",
            "Group commits whose write or flush failed; their callers were answered UNAVAILABLE.",
            self.write_failures.load(Relaxed),
        );
        gauge(
            &mut out,
            "serialtrack_writer_queue_commands",
            "Commands waiting for the writer behind the group it is committing.",
            self.writer_queue.load(Relaxed),
        );
        gauge(
            &mut out,
            "serialtrack_watch_subscribers",
            "WatchEvents streams open now.",
            self.watchers.load(Relaxed),
        );
        family(
            &mut out,
            "serialtrack_rpc_duration_seconds",
            "histogram",
            "Time from an RPC's request to its response headers, by method, token check \
             included (for a streaming RPC: until the stream starts).",
        );
        for (slot, histogram) in self.rpc.iter().enumerate() {
            if histogram.count() == 0 {
                continue;
            }
            let (service, method) = RPC_PATHS
                .get(slot)
                .and_then(|path| path.trim_start_matches('/').split_once('/'))
                .unwrap_or(("other", "other"));
            histogram.render(
                &mut out,
                "serialtrack_rpc_duration_seconds",
                &format!("service=\"{service}\",method=\"{method}\","),
                micros_as_seconds,
                nanos_as_seconds,
            );
        }
        out
    }
}

/// Holds one WatchEvents subscriber in the gauge while it lives.
pub struct Watcher(Arc<Metrics>);

impl Drop for Watcher {
    fn drop(&mut self) {
        self.0.watchers.fetch_sub(1, Relaxed);
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    family(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    family(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// `2500` → `0.0025`: exact decimal seconds, no float rounding.
fn micros_as_seconds(us: u64) -> String {
    fraction(us / 1_000_000, us % 1_000_000, 6)
}

fn nanos_as_seconds(ns: u64) -> String {
    fraction(ns / 1_000_000_000, ns % 1_000_000_000, 9)
}

fn fraction(whole: u64, part: u64, digits: usize) -> String {
    if part == 0 {
        return whole.to_string();
    }
    let part = format!("{part:0digits$}");
    format!("{whole}.{}", part.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_discriminants_are_positions_in_all() {
        for (i, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(action as usize, i, "{action:?}");
        }
        for (i, outcome) in Outcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome as usize, i, "{outcome:?}");
        }
        for (i, reason) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(reason as usize, i, "{reason:?}");
        }
    }

    #[test]
    fn seconds_are_written_exactly() {
        let cases = [
            (100, "0.0001"),
            (250, "0.00025"),
            (1_000_000, "1"),
            (2_500_000, "2.5"),
            (10_000_000, "10"),
        ];
        for (us, text) in cases {
            assert_eq!(micros_as_seconds(us), text);
        }
        assert_eq!(nanos_as_seconds(1_500_000_001), "1.500000001");
        assert_eq!(nanos_as_seconds(0), "0");
    }

    #[test]
    fn histogram_buckets_take_values_up_to_their_bound_and_render_cumulatively() {
        let histogram = Histogram::new(&[1, 4, 16]);
        for value in [0, 1, 2, 4, 5, 16, 17, 1000] {
            histogram.observe(value, value);
        }
        let mut out = String::new();
        histogram.render(
            &mut out,
            "h",
            "k=\"v\",",
            |n| n.to_string(),
            |n| n.to_string(),
        );
        assert_eq!(
            out,
            "h_bucket{k=\"v\",le=\"1\"} 2\n\
             h_bucket{k=\"v\",le=\"4\"} 4\n\
             h_bucket{k=\"v\",le=\"16\"} 6\n\
             h_bucket{k=\"v\",le=\"+Inf\"} 8\n\
             h_sum{k=\"v\"} 1045\n\
             h_count{k=\"v\"} 8\n"
        );
        let mut bare = String::new();
        histogram.render(&mut bare, "h", "", |n| n.to_string(), |n| n.to_string());
        assert!(
            bare.contains("h_bucket{le=\"+Inf\"} 8\nh_sum 1045\nh_count 8\n"),
            "{bare}"
        );
    }

    #[test]
    fn rpc_paths_are_sorted_and_found() {
        assert!(RPC_PATHS.is_sorted());
        let scan = Metrics::rpc_slot("/serialtrack.v1.ScanService/Scan");
        assert_eq!(RPC_PATHS[scan], "/serialtrack.v1.ScanService/Scan");
        assert_eq!(Metrics::rpc_slot("/nope.Service/Call"), RPC_OTHER);
        assert!(RPC_PATHS.contains(&"/grpc.health.v1.Health/Check"));
    }

    #[test]
    fn scans_count_by_action_outcome_and_reason_and_replays_apart() {
        let metrics = Arc::new(Metrics::new());
        let event = |action, outcome, reason| {
            crate::domain::kpi::tests::event(action, outcome, reason, false)
        };
        let accepted = event(Action::Receive, Outcome::Accepted, Reason::Ok);
        let duplicate = event(Action::Receive, Outcome::Rejected, Reason::DuplicateSerial);
        let late = event(Action::Disaggregate, Outcome::Rejected, Reason::SetFull);
        metrics.scan_answered(false, &accepted);
        metrics.scan_answered(false, &accepted);
        metrics.scan_answered(false, &duplicate);
        metrics.scan_answered(false, &late);
        metrics.scan_answered(true, &accepted);
        metrics.group_committed(5, Duration::from_micros(300));
        metrics.group_committed(0, Duration::from_micros(20));
        let watcher = metrics.watcher();
        let text = metrics.render();
        for line in [
            "serialtrack_scans_total{action=\"RECEIVE\",outcome=\"ACCEPTED\"} 2",
            "serialtrack_scans_total{action=\"RECEIVE\",outcome=\"REJECTED\"} 1",
            "serialtrack_scans_total{action=\"DISAGGREGATE\",outcome=\"REJECTED\"} 1",
            "serialtrack_scans_total{action=\"PICK\",outcome=\"WARNING\"} 0",
            "serialtrack_scans_replayed_total 1",
            "serialtrack_rejections_total{reason=\"DUPLICATE_SERIAL\"} 1",
            "serialtrack_rejections_total{reason=\"SET_FULL\"} 1",
            "serialtrack_group_commit_scans_bucket{le=\"4\"} 0",
            "serialtrack_group_commit_scans_bucket{le=\"8\"} 1",
            "serialtrack_group_commit_scans_count 1",
            "serialtrack_flush_duration_seconds_bucket{le=\"0.0001\"} 1",
            "serialtrack_flush_duration_seconds_sum 0.00032",
            "serialtrack_flush_duration_seconds_count 2",
            "serialtrack_watch_subscribers 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
        assert!(!text.contains("reason=\"OK\""));
        assert!(!text.contains("serialtrack_rpc_duration_seconds_bucket"));
        drop(watcher);
        metrics.rpc_finished(
            Metrics::rpc_slot("/serialtrack.v1.ScanService/Scan"),
            Duration::from_millis(3),
        );
        metrics.rpc_finished(Metrics::rpc_slot("/x.Y/Z"), Duration::from_secs(20));
        let text = metrics.render();
        for line in [
            "serialtrack_watch_subscribers 0",
            "serialtrack_rpc_duration_seconds_bucket{service=\"serialtrack.v1.ScanService\",method=\"Scan\",le=\"0.0025\"} 0",
            "serialtrack_rpc_duration_seconds_bucket{service=\"serialtrack.v1.ScanService\",method=\"Scan\",le=\"0.005\"} 1",
            "serialtrack_rpc_duration_seconds_count{service=\"serialtrack.v1.ScanService\",method=\"Scan\"} 1",
            "serialtrack_rpc_duration_seconds_bucket{service=\"other\",method=\"other\",le=\"10\"} 0",
            "serialtrack_rpc_duration_seconds_count{service=\"other\",method=\"other\"} 1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "no line {line:?} in\n{text}"
            );
        }
    }
}
