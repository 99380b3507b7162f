//! The real `serialtrack` binary: serve, item, scan, unit, events; text and JSON output; exit
//! statuses.
use crate::support::{TestServer, json_lines, run_cli, spawn_serve};

#[tokio::test]
async fn item_scan_unit_through_the_cli() {
    let server = TestServer::start().await;
    let run = server
        .cli(&[
            "item",
            "add",
            "--sku",
            "TV-65",
            "--gtin",
            "4006381333931",
            "--serial-min",
            "6",
            "--serial-max",
            "12",
            "--charset",
            "alnum-upper",
            "--prefix",
            "TV",
            "--warranty-months",
            "24",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.starts_with("created TV-65  gtin 04006381333931"),
        "{}",
        run.stdout
    );

    let run = server.cli(&["--json", "item", "show", "TV-65"]).await;
    let item = &json_lines(&run.stdout)[0];
    assert_eq!(item["serial_rule"]["charset"], "ALPHANUMERIC_UPPER");
    assert_eq!(item["serial_rule"]["prefix"], "TV");
    assert_eq!(item["warranty_months"], 24);

    let run = server
        .cli(&[
            "scan",
            "--action",
            "receive",
            "--station",
            "DOCK-1",
            "--sku",
            "TV-65",
            "TV0001",
            "TV0002",
        ])
        .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.lines().count(), 2);
    assert!(run.stdout.starts_with("ACCEPTED OK"), "{}", run.stdout);

    // Any rejection makes the exit status 1; every reply is still printed.
    let run = server
        .cli_stdin(
            &[
                "--json",
                "scan",
                "--action",
                "receive",
                "--station",
                "DOCK-2",
                "--operator",
                "bob",
                "--sku",
                "TV-65",
                "-",
            ],
            Some("TV0003\nTV0001\nXX\n"),
        )
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let replies = json_lines(&run.stdout);
    let reasons: Vec<_> = replies
        .iter()
        .map(|r| r["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reasons, ["OK", "DUPLICATE_SERIAL", "BAD_FORMAT"]);
    for key in [
        "event_id", "outcome", "reason", "message", "feedback", "state", "seq", "serial", "sku",
        "replayed",
    ] {
        assert!(replies[0].get(key).is_some(), "reply lacks {key}");
    }
    assert_eq!(replies[1]["feedback"], "BAD");
    assert_eq!(replies[1]["state"], "RECEIVED");

    let run = server.cli(&["unit", "show", "TV0001"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("state       RECEIVED"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("at DOCK-1 (event 1)"), "{}", run.stdout);
    let run = server.cli(&["--json", "unit", "history", "TV0001"]).await;
    let events = json_lines(&run.stdout);
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["station"], "DOCK-2");
    assert_eq!(events[1]["operator"], "bob");
    assert_eq!(events[1]["reason"], "DUPLICATE_SERIAL");

    let run = server
        .cli(&["--json", "events", "--from", "2", "--limit", "2"])
        .await;
    let seqs: Vec<_> = json_lines(&run.stdout)
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 3]);

    let run = server.cli(&["unit", "show", "NOPE"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no unit with serial NOPE"),
        "{}",
        run.stderr
    );
    let run = server
        .cli(&["item", "add", "--sku", "BAD", "--gtin", "123"])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("8, 12, 13 or 14 digits"),
        "{}",
        run.stderr
    );
}

#[test]
fn usage_and_connection_errors_exit_2() {
    let run = run_cli(&["scan", "--station", "S", "X"], None);
    assert_eq!(run.code, 2, "missing --action is a usage error");
    let run = run_cli(
        &["--server", "http://127.0.0.1:1", "unit", "show", "X"],
        None,
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("cannot reach serialtrack at http://127.0.0.1:1"),
        "{}",
        run.stderr
    );
    let run = run_cli(&["--server", "not a url", "unit", "show", "X"], None);
    assert_eq!(run.code, 2);
}

/// `serve` started as its own process, killed without warning, and started again: what it
/// accepted is still there.
#[test]
fn the_serve_binary_keeps_accepted_scans_across_a_kill() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let dir = dir.to_str().unwrap();
    let (mut child, addr) = spawn_serve(&["--data-dir", dir]);
    let url = format!("http://{addr}");
    // `serve` created the first ADMIN token in the data dir; the CLI sends it.
    let token_file = format!("{dir}/admin.token");
    let add = run_cli(
        &[
            "--server",
            &url,
            "--token-file",
            &token_file,
            "item",
            "add",
            "--sku",
            "X",
        ],
        None,
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    let scan = run_cli(
        &[
            "--server",
            &url,
            "--token-file",
            &token_file,
            "scan",
            "--action",
            "receive",
            "--station",
            "D",
            "--sku",
            "X",
            "K1",
        ],
        None,
    );
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    child.kill().unwrap();
    child.wait().unwrap();

    let (mut child, addr) = spawn_serve(&["--data-dir", dir]);
    let url = format!("http://{addr}");
    let show = run_cli(
        &[
            "--server",
            &url,
            "--token-file",
            &token_file,
            "--json",
            "unit",
            "show",
            "K1",
        ],
        None,
    );
    assert_eq!(show.code, 0, "{}", show.stderr);
    assert_eq!(json_lines(&show.stdout)[0]["sku"], "X");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// The bench runs end to end through the binary (tiny sizes: this checks that it works and
/// reports every figure, not how fast anything is).
#[test]
fn bench_receive_reports_every_figure() {
    let run = run_cli(
        &[
            "--json",
            "bench",
            "receive",
            "--units",
            "300",
            "--clients",
            "4",
            "--rate",
            "200",
            "--latency-seconds",
            "1",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = &json_lines(&run.stdout)[0];
    for key in [
        "raw_units_per_s",
        "unary_units_per_s",
        "unary_token_units_per_s",
        "unary_token_to_open",
        "stream_units_per_s",
        "batch_units_per_s",
        "latency_ms_p99",
        "store_bytes_per_unit",
    ] {
        assert!(
            report[key].as_f64().is_some_and(|v| v > 0.0),
            "{key}: {report}"
        );
    }
    assert_eq!(report["latency_scans"], 200);
    assert_eq!(report["store_units"], 3 * 300 + 200);
    let run = run_cli(&["bench", "receive", "--units", "0"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--units must be"), "{}", run.stderr);
}

/// The decode bench runs through the binary for a fraction of a second and reports every
/// figure, overall and per corpus class (this checks that it works, not how fast it is).
#[test]
fn bench_decode_reports_every_figure() {
    let run = run_cli(&["--json", "bench", "decode", "--seconds", "0.05"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = &json_lines(&run.stdout)[0];
    for key in ["baseline_scans_per_s", "decodes_per_s", "ratio"] {
        assert!(
            report[key].as_f64().is_some_and(|v| v > 0.0),
            "{key}: {report}"
        );
    }
    assert_eq!(report["threads"], 1);
    assert!(report["target_met"].is_boolean(), "{report}");
    for class in [
        "gs1_datamatrix",
        "gs1_128",
        "digital_link",
        "ean_13",
        "plain_serial",
        "invalid",
    ] {
        let figure = &report["classes"][class];
        assert!(
            figure["decodes_per_s"].as_f64().is_some_and(|v| v > 0.0),
            "{class}: {report}"
        );
        assert!(figure["scans"].as_u64().is_some_and(|n| n > 0), "{report}");
    }
    let run = run_cli(&["bench", "decode", "--seconds", "0"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--seconds must be"), "{}", run.stderr);
}

/// The recall bench runs through the binary at a tiny size and reports every figure; the
/// recall, its count and its report must agree (the bench checks that itself).
#[test]
fn bench_recall_reports_every_figure() {
    let run = run_cli(
        &[
            "--json",
            "bench",
            "recall",
            "--units",
            "1500",
            "--other-units",
            "300",
        ],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = &json_lines(&run.stdout)[0];
    for key in [
        "setup_ms",
        "raw_read_ms",
        "create_ms",
        "report_ms",
        "total_ms",
    ] {
        assert!(
            report[key].as_f64().is_some_and(|v| v > 0.0),
            "{key}: {report}"
        );
    }
    assert_eq!(report["units"], 1500);
    assert_eq!(report["reported"], 1500);
    let run = run_cli(&["bench", "recall", "--units", "0"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--units must be"), "{}", run.stderr);
}

/// The ASN bench runs through the binary at a tiny size; it checks itself that every expected
/// serial arrived and the close found no discrepancy.
#[test]
fn bench_asn_reports_every_figure() {
    let run = run_cli(&["--json", "bench", "asn", "--serials", "500"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = &json_lines(&run.stdout)[0];
    for key in [
        "plain_receive_ms",
        "create_ms",
        "receive_ms",
        "close_ms",
        "total_ms",
    ] {
        assert!(
            report[key].as_f64().is_some_and(|v| v > 0.0),
            "{key}: {report}"
        );
    }
    assert_eq!(report["discrepancies"], 0);
    let run = run_cli(&["bench", "asn", "--serials", "100001"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--serials must be 1 to 100000"),
        "{}",
        run.stderr
    );
}
