//! The station gateway end to end: the real `serialtrack gateway` binary against the real
//! server. Recorded HID reports go through the decoders the device loop uses (`--replay`);
//! `--stdin` stands in for a keyboard wedge. The server is stopped and restarted on the same
//! address mid-run, and the gateway is killed with SIGKILL, and every scan must still be
//! applied exactly once and in order. No sleeps: every wait is on an output line or a poll
//! with a deadline.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use serialtrack::proto::v1 as pb;
use tokio::sync::mpsc;

use crate::support::{TestServer, receive, run_cli};

/// The longest any one wait may take before the test fails (generous: the machines are shared).
const DEADLINE: Duration = Duration::from_secs(60);

fn fixture(name: &str) -> String {
    format!("{}/tests/it/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// An item whose serials are SER/KB + digits and letters, with the GTIN of the fixtures.
fn med_item() -> pb::Item {
    pb::Item {
        sku: "MED-1".into(),
        gtin: "09506000134352".into(),
        lot_tracked: true,
        serial_rule: Some(pb::SerialRule {
            length_min: 5,
            length_max: 12,
            charset: pb::Charset::AlphanumericUpper.into(),
            check: pb::CheckScheme::None.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The station and action of the tests' scans.
const BINDING: &[&str] = &[
    "--station",
    "DOCK-1",
    "--action",
    "receive",
    "--sku",
    "MED-1",
];

/// A running `serialtrack --json gateway run ...` with its output lines as JSON.
struct Gateway {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<Value>,
    /// Every event seen so far, in order.
    seen: Vec<Value>,
}

impl Gateway {
    fn start(server: &str, outbox: &Path, args: &[&str], stdin: bool) -> Gateway {
        let mut child = Command::new(env!("CARGO_BIN_EXE_serialtrack"))
            .args([
                "--json",
                "--server",
                server,
                "gateway",
                "run",
                "--retry-max-ms",
                "200",
            ])
            .arg("--outbox")
            .arg(outbox)
            .args(args)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start gateway");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                let value = serde_json::from_str(&line).unwrap_or_else(|e| {
                    panic!("gateway printed a line that is not JSON ({e}): {line}")
                });
                if tx.send(value).is_err() {
                    return;
                }
            }
        });
        Gateway {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// A gateway reading scans from stdin for DOCK-1 receiving MED-1.
    fn receiving(server: &str, outbox: &Path, extra: &[&str]) -> Gateway {
        let args = [&["--stdin", "--lot", "L1"], BINDING, extra].concat();
        Gateway::start(server, outbox, &args, true)
    }

    fn scan(&mut self, raw: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{raw}").expect("write scan");
        stdin.flush().expect("flush scan");
    }

    /// Waits for the next `n` events of kind `event` (others are kept in `seen`).
    async fn next(&mut self, event: &str, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + DEADLINE;
        let mut found = Vec::new();
        while found.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            let value = match tokio::time::timeout(left, self.lines.recv()).await {
                Ok(Some(value)) => value,
                Ok(None) => panic!("gateway exited waiting for {event}; saw {:#?}", self.seen),
                Err(_) => panic!(
                    "no {n} {event} events in {DEADLINE:?}; saw {:#?}",
                    self.seen
                ),
            };
            self.seen.push(value.clone());
            if value["event"] == event {
                found.push(value);
            }
        }
        found
    }

    /// Closes stdin and waits for the gateway to drain and exit; returns its exit code.
    async fn finish(mut self) -> (i32, Vec<Value>) {
        drop(self.stdin.take());
        while let Some(value) = self.lines.recv().await {
            self.seen.push(value);
        }
        let status = tokio::task::spawn_blocking(move || self.child.wait().expect("wait"))
            .await
            .expect("wait task");
        (status.code().unwrap_or(-1), self.seen)
    }

    /// SIGKILL: no chance to flush or tidy anything.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name].as_str().unwrap_or_default()
}

/// An address nothing listens on: a server that is down.
async fn dead_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}

/// `serialtrack --json gateway <command> --outbox DIR`, run until its JSON lines satisfy
/// `done` (a running gateway writes its status file a moment after things change).
async fn gateway_json_until(
    command: &'static str,
    outbox: &Path,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let dir = outbox.to_str().unwrap().to_owned();
        let run = tokio::task::spawn_blocking(move || {
            run_cli(&["--json", "gateway", command, "--outbox", &dir], None)
        })
        .await
        .unwrap();
        if run.code == 0 {
            let values: Vec<Value> = run
                .stdout
                .lines()
                .map(|line| serde_json::from_str(line).expect("json line"))
                .collect();
            if done(&values) {
                return values;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{command} never got there: {} {}",
            run.stdout,
            run.stderr
        );
        tokio::task::yield_now().await;
    }
}

/// `gateway status --json`, polled until `done` holds.
async fn status_until(outbox: &Path, done: impl Fn(&Value) -> bool) -> Value {
    let values = gateway_json_until("status", outbox, |v| v.len() == 1 && done(&v[0])).await;
    values[0].clone()
}

/// The reasons on the supervisor's list, once it holds `n` entries.
async fn rejected_reasons(outbox: &Path, n: usize) -> Vec<String> {
    gateway_json_until("rejected", outbox, |v| v.len() == n)
        .await
        .iter()
        .map(|entry| field(entry, "reason").to_owned())
        .collect()
}

/// The server's events by serial, in log order.
async fn serials_in_log(server: &TestServer) -> Vec<(String, String, String)> {
    server
        .all_events()
        .await
        .into_iter()
        .map(|e| {
            (
                e.serial,
                e.event_id,
                pb::Outcome::try_from(e.outcome)
                    .unwrap()
                    .as_str_name()
                    .to_owned(),
            )
        })
        .collect()
}

/// A recording, the decoder flags for it, and the (serial, outcome) of each scan it makes.
type Recording<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)]);

#[tokio::test]
async fn recorded_pos_and_wedge_reports_reach_the_server_as_scans() {
    let server = TestServer::start().await;
    server.add_item(med_item()).await;
    let outbox = tempfile::tempdir().unwrap();
    let cases: &[Recording] = &[
        (
            "gateway-pos.hex",
            &["--decoder", "pos", "--vendor-id", "0x0c2e"],
            &[
                ("SER0001", "ACCEPTED"),
                ("SER0002", "ACCEPTED"),
                ("", "REJECTED"),
            ],
        ),
        (
            "gateway-wedge-us.hex",
            &["--decoder", "keyboard", "--layout", "us"],
            &[("KB0001", "ACCEPTED")],
        ),
        (
            "gateway-wedge-de.hex",
            &["--decoder", "keyboard", "--layout", "de", "--lot", "LOT45"],
            &[("KBZY0002", "ACCEPTED")],
        ),
    ];
    for (file, decoder, expected) in cases {
        let path = fixture(file);
        let args = [&["--replay", path.as_str()], BINDING, decoder].concat();
        let gateway = Gateway::start(&server.url, outbox.path(), &args, false);
        let (code, seen) = gateway.finish().await;
        let results: Vec<(&str, &str)> = seen
            .iter()
            .filter(|v| v["event"] == "result")
            .map(|v| (field(v, "serial"), field(v, "outcome")))
            .collect();
        assert_eq!(&results, expected, "{file}: {seen:#?}");
        let rejected = expected.iter().any(|(_, outcome)| *outcome == "REJECTED");
        assert_eq!(code, if rejected { 1 } else { 0 }, "{file}");
        assert!(
            seen.last().is_some_and(|v| v["event"] == "drained"),
            "{seen:#?}"
        );
    }
    // The server got the scanner's bytes: AIM identifier, GS1 separators, lot and expiry.
    let events = server.all_events().await;
    let first = &events[0];
    assert_eq!(
        first.raw,
        b"]d201095060001343521727123110LOT42\x1d21SER0001"
    );
    assert_eq!(
        (first.lot.as_str(), first.expiry.as_str()),
        ("LOT42", "2027-12-31")
    );
    assert_eq!(events[1].lot, "LOT43");
    assert_eq!(
        pb::Reason::try_from(events[2].reason),
        Ok(pb::Reason::MissingField)
    );
    assert_eq!(events[3].raw, b"]d2010950600013435221KB0001\x1d10LOT44");
    assert_eq!(events[3].lot, "LOT44");
    assert_eq!(events[4].raw, b"KBZY0002");
    assert!(events.iter().all(|e| e.station == "DOCK-1"));
}

#[tokio::test]
async fn server_stopped_mid_run_then_restarted_gets_every_scan_once_in_order() {
    let server = TestServer::start().await;
    server.add_item(med_item()).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let outbox = tempfile::tempdir().unwrap();
    let mut gateway = Gateway::receiving(&server.url, outbox.path(), &[]);

    for serial in ["A0001", "A0002", "A0003"] {
        gateway.scan(serial);
    }
    let live = gateway.next("result", 3).await;
    assert!(
        live.iter()
            .all(|r| r["outcome"] == "ACCEPTED" && r["after_outage"] == false)
    );

    let (dir, temp) = server.stop().await;
    // The first scan after the outage is what finds the server gone.
    gateway.scan("B0001");
    let offline = gateway.next("server", 1).await;
    assert_eq!(offline[0]["state"], "offline", "{offline:?}");
    // A duplicate and a misread serial are taken too, and flagged from the cached rules.
    for serial in ["B0002", "A0001", "b-1", "B0003"] {
        gateway.scan(serial);
    }
    let mut queued = gateway.next("queued", 4).await;
    // B0001 itself may or may not be labelled QUEUED: that depends on whether its intake ran
    // before or after the forwarder found the server gone. Either way it fits the rules.
    if field(&queued[0], "raw") == "B0001" {
        assert_eq!(field(&queued[0], "check"), "fits");
        queued.remove(0);
        queued.extend(gateway.next("queued", 1).await);
    }
    let checks: Vec<(&str, &str)> = queued
        .iter()
        .map(|q| (field(q, "raw"), field(q, "check")))
        .collect();
    assert_eq!(
        checks,
        [
            ("B0002", "fits"),
            ("A0001", "fits"),
            ("b-1", "likely_rejected"),
            ("B0003", "fits")
        ]
    );
    assert_eq!(queued[2]["reason"], "BAD_FORMAT");
    assert_eq!(queued[3]["queued"], 5);
    let status = status_until(outbox.path(), |s| s["queued"] == 5).await;
    assert_eq!(status["running"], true);
    assert_eq!(status["server_state"], "offline");
    assert!(status["oldest_age_ms"].as_i64().unwrap() >= 0);

    // Back on the same address: the queue is replayed, in order, before anything else.
    let server = TestServer::start_at(&dir, &addr).await;
    let replayed = gateway.next("result", 5).await;
    let answers: Vec<(&str, bool)> = replayed
        .iter()
        .map(|r| (field(r, "reason"), r["after_outage"] == true))
        .collect();
    assert_eq!(
        answers,
        [
            ("OK", true),
            ("OK", true),
            ("DUPLICATE_SERIAL", true),
            ("BAD_FORMAT", true),
            ("OK", true),
        ]
    );
    // The supervisor can read the list while the gateway runs.
    assert_eq!(
        rejected_reasons(outbox.path(), 2).await,
        ["DUPLICATE_SERIAL", "BAD_FORMAT"]
    );
    gateway.scan("C0001");
    let after = gateway.next("result", 1).await;
    assert_eq!(
        (
            after[0]["outcome"].as_str(),
            after[0]["after_outage"].as_bool()
        ),
        (Some("ACCEPTED"), Some(false))
    );
    let (code, _) = gateway.finish().await;
    assert_eq!(code, 1, "two scans were rejected");

    let log = serials_in_log(&server).await;
    let serials: Vec<&str> = log.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(
        serials,
        [
            "A0001", "A0002", "A0003", "B0001", "B0002", "A0001", "b-1", "B0003", "C0001"
        ],
        "every scan once, in the order it was made"
    );
    let mut ids: Vec<&str> = log.iter().map(|(_, id, _)| id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), log.len(), "no event_id twice");

    // The supervisor's list holds the two replayed rejections.
    assert_eq!(
        rejected_reasons(outbox.path(), 2).await,
        ["DUPLICATE_SERIAL", "BAD_FORMAT"]
    );
    let status = status_until(outbox.path(), |_| true).await;
    assert_eq!(
        (status["queued"].as_u64(), status["rejected"].as_u64()),
        (Some(0), Some(2))
    );
    assert_eq!(status["running"], false);
    drop(server.stop().await);
    drop(temp);
}

#[tokio::test]
async fn a_gateway_killed_with_scans_waiting_resumes_without_loss_or_double() {
    const N: usize = 120;
    let server = TestServer::start().await;
    server.add_item(med_item()).await;
    let outbox = tempfile::tempdir().unwrap();

    // The server is unreachable: every scan waits in the outbox. Then SIGKILL.
    let mut first = Gateway::receiving(&dead_server().await, outbox.path(), &[]);
    assert_eq!(first.next("server", 1).await[0]["state"], "offline");
    for n in 0..N {
        first.scan(&format!("K{n:04}"));
    }
    let queued = first.next("queued", N).await;
    assert_eq!(queued[N - 1]["queued"], N);
    first.kill();

    // As if the first scan had reached the server just before the kill and its removal from
    // the outbox had been lost: the server already has its event_id.
    let mut applied = receive("MED-1", "K0000");
    applied.event_id = field(&queued[0], "event_id").to_owned();
    applied.lot = "L1".into();
    let original = server.scan(applied).await;
    assert_eq!(original.outcome(), pb::Outcome::Accepted);

    // Restarted against the real server: killed again as soon as the replay is under way.
    let mut second = Gateway::receiving(&server.url, outbox.path(), &[]);
    let started = second.next("started", 1).await;
    assert_eq!(started[0]["queued"], N);
    let resent = second.next("result", 1).await;
    // Sent again, answered from the server's log, applied once.
    assert_eq!(
        (field(&resent[0], "serial"), resent[0]["replayed"].as_bool()),
        ("K0000", Some(true))
    );
    assert_eq!(resent[0]["seq"], original.seq);
    second.kill();

    // The third run finishes the job and stops when the outbox is empty.
    let third = Gateway::start(
        &server.url,
        outbox.path(),
        &[&["--stdin"], BINDING].concat(),
        false,
    );
    let (code, seen) = third.finish().await;
    assert_eq!(code, 0, "{seen:#?}");
    assert!(
        seen.iter()
            .filter(|v| v["event"] == "result")
            .all(|r| r["outcome"] == "ACCEPTED")
    );

    let log = serials_in_log(&server).await;
    let expected: Vec<String> = (0..N).map(|n| format!("K{n:04}")).collect();
    let serials: Vec<&String> = log.iter().map(|(s, _, _)| s).collect();
    assert_eq!(
        serials,
        expected.iter().collect::<Vec<_>>(),
        "nothing lost, nothing doubled, in order"
    );
    assert!(
        log.iter()
            .all(|(_, _, outcome)| outcome == "OUTCOME_ACCEPTED")
    );
    let status = status_until(outbox.path(), |_| true).await;
    assert_eq!(status["queued"], 0);
    drop(server.stop().await);
}

#[tokio::test]
async fn a_full_outbox_refuses_new_scans_and_keeps_the_old_ones() {
    let outbox = tempfile::tempdir().unwrap();
    let mut gateway =
        Gateway::receiving(&dead_server().await, outbox.path(), &["--outbox-max", "2"]);
    assert_eq!(gateway.next("server", 1).await[0]["state"], "offline");
    for serial in ["F0001", "F0002", "F0003"] {
        gateway.scan(serial);
    }
    gateway.next("queued", 2).await;
    let refused = gateway.next("refused", 1).await;
    let message = field(&refused[0], "message");
    assert!(
        message.contains("outbox is full: 2 scans are waiting"),
        "{message}"
    );
    assert!(message.contains("NOT taken"), "{message}");

    let status = status_until(outbox.path(), |s| s["queued"] == 2).await;
    assert_eq!(status["max"], 2);
    // A second gateway on the same outbox is turned away, naming the first.
    let dir = outbox.path().to_str().unwrap();
    let second = run_cli(
        &[&["gateway", "run", "--stdin", "--outbox", dir], BINDING].concat(),
        Some(""),
    );
    assert_eq!(second.code, 2);
    assert!(
        second.stderr.contains(&format!(
            "in use by a running gateway (pid {})",
            gateway.child.id()
        )),
        "{}",
        second.stderr
    );
    gateway.kill();
    let status = status_until(outbox.path(), |_| true).await;
    assert_eq!(
        (status["queued"].as_u64(), status["running"].as_bool()),
        (Some(2), Some(false))
    );
}

#[test]
fn bad_gateway_input_gets_a_clear_error() {
    let temp = tempfile::tempdir().unwrap();
    let outbox = temp.path().join("outbox");
    let outbox = outbox.to_str().unwrap();
    let bad_hex = temp.path().join("bad.hex");
    std::fs::write(&bad_hex, "02 00\n02 0G\n").unwrap();
    let bad_config = temp.path().join("bad.json");
    std::fs::write(
        &bad_config,
        r#"{"scanners": [{"name": "a", "mode": "pos", "vendor": "1"}]}"#,
    )
    .unwrap();
    let (hex, config) = (bad_hex.to_str().unwrap(), bad_config.to_str().unwrap());
    let cases = [
        ("run".to_owned(), "nothing to read"),
        ("run --stdin".to_owned(), "need --station and --action"),
        (
            "run --stdin --station S --action sell".to_owned(),
            "action \"sell\" is not one of",
        ),
        (
            format!("run --replay {hex} --station S --action receive"),
            "replay line 2: 'G' at column 5 is not a hex digit",
        ),
        (format!("run --config {config}"), "unknown field `vendor`"),
        ("status".to_owned(), "no outbox at"),
        (
            "run --stdin --station S --action receive --outbox-max 0".to_owned(),
            "--outbox-max must be 1 to",
        ),
    ];
    for (args, expected) in cases {
        let args = [
            &["gateway"],
            &args.split_whitespace().collect::<Vec<_>>()[..],
            &["--outbox", outbox],
        ]
        .concat();
        let run = run_cli(&args, Some(""));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

#[tokio::test]
async fn a_scan_the_server_refuses_outright_is_set_aside_and_the_rest_go_on() {
    use serialtrack::gateway::outbox::NewScan;
    let server = TestServer::start().await;
    server.add_item(med_item()).await;
    let outbox = tempfile::tempdir().unwrap();
    // Written straight into the outbox, as an older gateway with laxer checks might have: a
    // station name over the server's 64-byte limit.
    let scan = |serial: &str, station: &str| {
        let mut request = receive("MED-1", serial);
        request.station = station.to_owned();
        request.lot = "L1".into();
        NewScan {
            request,
            source: "old".into(),
            accepted_at_ms: 1,
        }
    };
    let queue = serialtrack::gateway::Outbox::open(outbox.path(), 10).unwrap();
    queue
        .push_many(vec![
            scan("R0001", "DOCK-1"),
            scan("R0002", &"S".repeat(65)),
            scan("R0003", "DOCK-1"),
        ])
        .unwrap();
    drop(queue);

    let gateway = Gateway::start(
        &server.url,
        outbox.path(),
        &[&["--stdin"], BINDING].concat(),
        false,
    );
    let (code, seen) = gateway.finish().await;
    assert_eq!(code, 1, "{seen:#?}");
    let answers: Vec<(&str, &str)> = seen
        .iter()
        .filter(|v| v["event"] == "result" || v["event"] == "refused_by_server")
        .map(|v| (field(v, "event"), field(v, "raw")))
        .collect();
    assert_eq!(
        answers,
        [
            ("result", ""),
            ("refused_by_server", "R0002"),
            ("result", ""),
        ]
    );
    let serials: Vec<(String, String, String)> = serials_in_log(&server).await;
    let serials: Vec<&str> = serials.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(serials, ["R0001", "R0003"]);
    let list = gateway_json_until("rejected", outbox.path(), |v| v.len() == 1).await;
    assert_eq!(field(&list[0], "outcome"), "REFUSED");
    assert!(
        field(&list[0], "message").contains("InvalidArgument"),
        "{list:?}"
    );
}
