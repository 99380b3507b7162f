//! Prometheus metrics through the real binary: `serve --metrics-listen 127.0.0.1:0`, scans of
//! each outcome, a replay, a batch and a watcher, then `/metrics` scraped over loopback with a
//! plain HTTP/1.1 request and its exposition text parsed and checked: every family typed
//! before its samples, counters equal to what the replies said, histograms cumulative with
//! `_count` equal to their `+Inf` bucket and the group sizes the requests made.

use std::collections::BTreeMap;
use std::process::Child;

use serialtrack::proto::v1 as pb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

use crate::lifecycle::at;
use crate::support::{item, receive, spawn_serve_with_metrics};

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: each family's TYPE and HELP, and the samples in order.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    helps: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    /// Parses the text format 0.0.4, failing the test on a line that is not in it or a sample
    /// whose family was not typed before it.
    fn parse(text: &str) -> Exposition {
        let mut exposition = Exposition::default();
        for line in text.lines() {
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
                assert!(
                    ["counter", "gauge", "histogram"].contains(&kind),
                    "type {kind:?}"
                );
                let earlier = exposition.types.insert(name.to_owned(), kind.to_owned());
                assert!(earlier.is_none(), "{name} typed twice");
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP name text");
                exposition.helps.insert(name.to_owned(), help.to_owned());
                continue;
            }
            assert!(!line.starts_with('#'), "unknown comment {line:?}");
            let sample = parse_sample(line);
            let family = exposition.family_of(&sample.name);
            assert!(
                family.is_some(),
                "sample {line:?} comes before its family's TYPE line"
            );
            exposition.samples.push(sample);
        }
        exposition
    }

    /// The typed family a sample name belongs to.
    fn family_of<'a>(&'a self, name: &'a str) -> Option<(&'a str, &'a str)> {
        if let Some(kind) = self.types.get(name) {
            return Some((name, kind.as_str()));
        }
        ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
            let family = name.strip_suffix(suffix)?;
            let kind = self.types.get(family)?;
            (kind == "histogram").then_some((family, kind.as_str()))
        })
    }

    /// The one sample named `name` with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name && s.labels == wanted)
            .collect();
        assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
        found[0].value
    }
}

fn parse_sample(line: &str) -> Sample {
    let (head, value) = line.rsplit_once(' ').expect("sample value");
    let value: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("value of {line:?}"));
    let (name, labels) = match head.split_once('{') {
        None => (head, BTreeMap::new()),
        Some((name, rest)) => {
            let inner = rest.strip_suffix('}').expect("closing brace");
            let labels = inner
                .split(',')
                .map(|pair| {
                    let (key, quoted) = pair.split_once('=').expect("label=value");
                    let value = quoted
                        .strip_prefix('"')
                        .and_then(|v| v.strip_suffix('"'))
                        .expect("quoted label value");
                    (key.to_owned(), value.to_owned())
                })
                .collect();
            (name, labels)
        }
    };
    assert!(
        name.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "name {name:?}"
    );
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// `GET path` over a plain TCP connection: the status line, the headers (lower-case names)
/// and the body.
async fn http_get(addr: &str, path: &str) -> (String, BTreeMap<String, String>, String) {
    http_request(addr, "GET", path).await
}

async fn http_request(
    addr: &str,
    method: &str,
    path: &str,
) -> (String, BTreeMap<String, String>, String) {
    let request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    exchange(addr, request.as_bytes()).await
}

/// Sends `request` as it is and reads the answer until the server closes.
async fn exchange(addr: &str, request: &[u8]) -> (String, BTreeMap<String, String>, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let response = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("status line").to_owned();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("header");
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    (status, headers, body.to_owned())
}

async fn scrape(addr: &str) -> Exposition {
    let (status, headers, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(
        headers.get("content-type").map(String::as_str),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    Exposition::parse(&body)
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The API name without its prefix, as the metrics label it: `ACTION_RECEIVE` → `RECEIVE`.
fn label(name: &str) -> &str {
    name.split_once('_').map_or(name, |(_, rest)| rest)
}

#[tokio::test]
async fn metrics_count_what_the_server_answered() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let (child, addr, metrics_addr) = spawn_serve_with_metrics(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--insecure-no-auth",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .expect("connect");
    let mut catalog = pb::catalog_service_client::CatalogServiceClient::new(channel.clone());
    let mut scans = pb::scan_service_client::ScanServiceClient::new(channel.clone());
    let mut units = pb::unit_service_client::UnitServiceClient::new(channel);

    // Nothing counted yet, every label set there with zeros.
    let fresh = scrape(&metrics_addr).await;
    assert_eq!(
        fresh.value(
            "serialtrack_scans_total",
            &[("action", "RECEIVE"), ("outcome", "ACCEPTED")]
        ),
        0.0
    );

    catalog
        .put_item(pb::PutItemRequest {
            item: Some(item("TV")),
        })
        .await
        .expect("put item");
    // Every outcome: accepted receives and putaway, a duplicate, an unreadable scan, a putaway
    // without a location; each its own call, so each its own group of one.
    let singles = [
        receive("TV", "U1"),
        receive("TV", "U2"),
        receive("TV", "U1"),
        receive("TV", "bad\u{1}serial"),
        at("A-01", "U1"),
        at("", "U2"),
    ];
    // What the replies said, as the metrics should count it.
    let mut expected: BTreeMap<(String, String), f64> = BTreeMap::new();
    let mut rejections: BTreeMap<String, f64> = BTreeMap::new();
    let mut count = |request: &pb::ScanRequest, reply: &pb::ScanReply| {
        assert!(!reply.replayed);
        let key = (
            label(request.action().as_str_name()).to_owned(),
            label(reply.outcome().as_str_name()).to_owned(),
        );
        *expected.entry(key).or_default() += 1.0;
        if reply.outcome() == pb::Outcome::Rejected {
            *rejections
                .entry(label(reply.reason().as_str_name()).to_owned())
                .or_default() += 1.0;
        }
    };
    for request in &singles {
        let reply = scans
            .scan(request.clone())
            .await
            .expect("scan")
            .into_inner();
        count(request, &reply);
    }
    // A retry of the first scan: answered from the log, counted apart.
    let replay = scans.scan(singles[0].clone()).await.expect("replay");
    assert!(replay.into_inner().replayed);
    // A batch of three: one call, one group of three scans.
    let batch: Vec<pb::ScanRequest> = ["U3", "U4", "U3"]
        .iter()
        .map(|serial| receive("TV", serial))
        .collect();
    let replies = scans
        .scan_batch(pb::ScanBatchRequest {
            scans: batch.clone(),
        })
        .await
        .expect("batch")
        .into_inner()
        .replies;
    for (request, reply) in batch.iter().zip(&replies) {
        count(request, reply);
    }
    assert!(
        expected.len() >= 3 && rejections.len() >= 2,
        "{expected:?} {rejections:?}"
    );
    // A watcher, counted once its first event arrived.
    let mut watch = units
        .watch_events(pb::WatchEventsRequest::default())
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(watch.message().await.expect("event").expect("one").seq, 1);

    let metrics = scrape(&metrics_addr).await;

    // Every family has its HELP and TYPE; counters end in _total, and only those.
    for (family, kind) in &metrics.types {
        assert!(metrics.helps.contains_key(family), "{family} has no HELP");
        assert_eq!(kind == "counter", family.ends_with("_total"), "{family}");
        assert!(family.starts_with("serialtrack_"), "{family}");
    }
    for sample in &metrics.samples {
        assert!(
            sample.value >= 0.0 && sample.value.is_finite(),
            "{sample:?}"
        );
    }

    // Scans by action and outcome: what the replies said, zero elsewhere.
    let mut label_sets = 0;
    for sample in metrics
        .samples
        .iter()
        .filter(|s| s.name == "serialtrack_scans_total")
    {
        let key = (
            sample.labels["action"].clone(),
            sample.labels["outcome"].clone(),
        );
        let want = expected.get(&key).copied().unwrap_or(0.0);
        assert_eq!(sample.value, want, "{key:?}");
        label_sets += 1;
    }
    assert_eq!(label_sets, 11 * 3, "every action × outcome");
    for sample in metrics
        .samples
        .iter()
        .filter(|s| s.name == "serialtrack_rejections_total")
    {
        let reason = &sample.labels["reason"];
        let want = rejections.get(reason).copied().unwrap_or(0.0);
        assert_eq!(sample.value, want, "{reason}");
    }
    for reason in rejections.keys() {
        metrics.value("serialtrack_rejections_total", &[("reason", reason)]);
    }
    assert_eq!(metrics.value("serialtrack_scans_replayed_total", &[]), 1.0);
    assert_eq!(metrics.value("serialtrack_write_failures_total", &[]), 0.0);
    assert_eq!(metrics.value("serialtrack_writer_queue_commands", &[]), 0.0);
    assert_eq!(metrics.value("serialtrack_watch_subscribers", &[]), 1.0);

    // Histograms: buckets in rising `le`, cumulative, ending in +Inf equal to _count.
    let histograms = check_histograms(&metrics);
    assert!(histograms >= 4, "{histograms} histogram series");

    // Group commits: the six single scans and the replay one scan each, the batch three.
    let group_calls = (singles.len() + 1 + 1) as f64;
    let groups = "serialtrack_group_commit_scans";
    assert_eq!(metrics.value(&format!("{groups}_count"), &[]), group_calls);
    assert_eq!(
        metrics.value(&format!("{groups}_sum"), &[]),
        (singles.len() + 1 + batch.len()) as f64
    );
    let bucket = |le: &str| metrics.value(&format!("{groups}_bucket"), &[("le", le)]);
    assert_eq!(bucket("1"), group_calls - 1.0);
    assert_eq!(bucket("2"), group_calls - 1.0);
    assert_eq!(bucket("4"), group_calls);
    // Every group was flushed: those of scans and the item's.
    assert_eq!(
        metrics.value("serialtrack_flush_duration_seconds_count", &[]),
        group_calls + 1.0
    );

    // RPC latency by method: one observation per call.
    let calls = |service: &str, method: &str| {
        metrics.value(
            "serialtrack_rpc_duration_seconds_count",
            &[("service", service), ("method", method)],
        )
    };
    assert_eq!(
        calls("serialtrack.v1.ScanService", "Scan"),
        (singles.len() + 1) as f64
    );
    assert_eq!(calls("serialtrack.v1.ScanService", "ScanBatch"), 1.0);
    assert_eq!(calls("serialtrack.v1.CatalogService", "PutItem"), 1.0);
    assert_eq!(calls("serialtrack.v1.UnitService", "WatchEvents"), 1.0);
    assert!(
        !metrics
            .samples
            .iter()
            .any(|s| s.labels.get("method").map(String::as_str) == Some("GetUnit")),
        "a method never called has no series"
    );

    // Anything but GET or HEAD /metrics is refused, and so is what is not HTTP.
    let (status, _, body) = http_get(&metrics_addr, "/").await;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert!(body.contains("/metrics"), "{body}");
    let (status, headers, _) = http_request(&metrics_addr, "POST", "/metrics").await;
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(headers.get("allow").map(String::as_str), Some("GET, HEAD"));
    let (status, _, _) = exchange(&metrics_addr, b"\x16\x03\x01 not http at all\r\n\r\n").await;
    assert_eq!(status, "HTTP/1.1 400 Bad Request");
    let (status, _, body) = http_request(&metrics_addr, "HEAD", "/metrics").await;
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", ""));
    drop(watch);
    stop(child);
}

/// Checks every histogram series (a family and its labels but `le`) and answers how many.
fn check_histograms(metrics: &Exposition) -> usize {
    /// A family and its labels but `le`.
    type Series = (String, Vec<(String, String)>);
    let mut series: BTreeMap<Series, Vec<(String, f64)>> = BTreeMap::new();
    let mut counts: BTreeMap<Series, f64> = BTreeMap::new();
    let mut sums = BTreeMap::new();
    for sample in &metrics.samples {
        let Some((family, "histogram")) = metrics.family_of(&sample.name) else {
            continue;
        };
        let mut labels = sample.labels.clone();
        let le = labels.remove("le");
        let key = (family.to_owned(), labels.into_iter().collect::<Vec<_>>());
        match sample.name.strip_prefix(family) {
            Some("_bucket") => series
                .entry(key)
                .or_default()
                .push((le.expect("a bucket has le"), sample.value)),
            Some("_count") => {
                assert!(le.is_none());
                counts.insert(key, sample.value);
            }
            Some("_sum") => {
                assert!(le.is_none());
                sums.insert(key, sample.value);
            }
            other => panic!("{} is not a histogram sample ({other:?})", sample.name),
        }
    }
    for (key, buckets) in &series {
        let (last_le, last) = buckets.last().expect("buckets");
        assert_eq!(last_le, "+Inf", "{key:?} ends in +Inf");
        let mut previous: Option<(f64, f64)> = None;
        for (le, value) in &buckets[..buckets.len() - 1] {
            let bound: f64 = le.parse().unwrap_or_else(|_| panic!("le {le:?}"));
            if let Some((previous_bound, previous_value)) = previous {
                assert!(
                    bound > previous_bound,
                    "{key:?}: le {le} after {previous_bound}"
                );
                assert!(*value >= previous_value, "{key:?}: not cumulative at {le}");
            }
            previous = Some((bound, *value));
        }
        if let Some((_, value)) = previous {
            assert!(*last >= value, "{key:?}: +Inf below the last bucket");
        }
        assert_eq!(counts.get(key), Some(last), "{key:?}: _count is not +Inf");
        assert!(sums.contains_key(key), "{key:?} has no _sum");
    }
    assert_eq!(series.len(), counts.len());
    series.len()
}
