//! The KPI report through the real server and the CLI: counters per day, station and
//! operator (scanned vs keyed, outcomes, rejections by reason, received, dispatched), capture
//! at receiving and verification at dispatch, a retry counted once, a restart, bad ranges.

use std::collections::BTreeMap;

use serde_json::Value;
use serialtrack::domain::time;
use serialtrack::proto::v1 as pb;

use crate::lifecycle::{at, dispatch, expect, pick};
use crate::support::{TestServer, item, receive};

fn on_receipt(serial: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        receipt_id: "ASN-1".to_owned(),
        ..receive("TV", serial)
    }
}

/// The report's rows summed per station and operator (a run across midnight UTC splits a
/// station's day in two).
fn rows_by_station(report: &Value) -> BTreeMap<(String, String), Value> {
    let mut out: BTreeMap<(String, String), Value> = BTreeMap::new();
    for row in report["rows"].as_array().expect("rows") {
        let key = (
            row["station"].as_str().unwrap().to_owned(),
            row["operator"].as_str().unwrap().to_owned(),
        );
        let sum = out.entry(key).or_insert_with(|| serde_json::json!({}));
        for field in [
            "scans",
            "keyed",
            "accepted",
            "warnings",
            "rejected",
            "received",
            "received_on_receipt",
            "dispatched",
        ] {
            let total = sum[field].as_u64().unwrap_or(0) + row[field].as_u64().unwrap();
            sum[field] = total.into();
        }
        for (reason, n) in row["rejections"].as_object().expect("rejections") {
            let total = sum["rejections"][reason].as_u64().unwrap_or(0) + n.as_u64().unwrap();
            sum["rejections"][reason] = total.into();
        }
    }
    out
}

#[tokio::test]
async fn kpis_count_per_station_and_operator_and_rate_receipts_and_shipments() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    let files = tempfile::tempdir().expect("temp dir");
    let asn = files.path().join("asn.csv");
    std::fs::write(&asn, "TV,S1\nTV,S2\nTV,S3\nTV,S4\n").expect("asn");
    let run = server
        .cli(&[
            "receipt",
            "create",
            "--id",
            "ASN-1",
            "--serials",
            asn.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    // alice at DOCK-1: three expected units (one keyed in), an unexpected one, a duplicate.
    expect(&server, on_receipt("S1"), R::Ok, "expected").await;
    let keyed = pb::ScanRequest {
        entry_mode: pb::EntryMode::Keyed.into(),
        ..on_receipt("S2")
    };
    expect(&server, keyed.clone(), R::Ok, "expected").await;
    // A retry of the same scan is the same event: counted once.
    assert!(server.scan(keyed).await.replayed);
    expect(&server, on_receipt("S3"), R::Ok, "expected").await;
    expect(&server, on_receipt("X9"), R::Unexpected, "not on receipt").await;
    expect(&server, on_receipt("S1"), R::DuplicateSerial, "already").await;
    let run = server
        .cli(&["receipt", "close", "ASN-1", "--by", "sam"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    // bob at PACK-1: store, pick two, dispatch one, close with an override.
    for serial in ["S1", "S2"] {
        let mut put = at("A-01", serial);
        put.operator = "bob".to_owned();
        expect(&server, put, R::Ok, "stored").await;
    }
    let run = server
        .cli(&[
            "order",
            "create",
            "--id",
            "O1",
            "--customer",
            "ACME",
            "--line",
            "TV:2",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for serial in ["S1", "S2"] {
        let mut p = pick("O1", serial);
        p.operator = "bob".to_owned();
        expect(&server, p, R::Ok, "picked").await;
    }
    let run = server
        .cli(&["shipment", "create", "--id", "SH1", "--order", "O1"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut d = dispatch("SH1", "S1");
    d.operator = "bob".to_owned();
    expect(&server, d, R::Ok, "dispatched").await;
    let mut wrong = dispatch("SH1", "S3");
    wrong.operator = "bob".to_owned();
    expect(&server, wrong, R::WrongState, "S3").await;
    let run = server
        .cli(&["shipment", "close", "SH1", "--override-by", "kim"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    // The counters survive a restart.
    let (dir, temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;
    let now = time::now_ms();
    let yesterday = time::date_utc(now - 86_400_000).to_string();
    let tomorrow = time::date_utc(now + 86_400_000).to_string();
    let run = server
        .cli(&[
            "--json", "report", "kpi", "--from", &yesterday, "--to", &tomorrow,
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(run.stdout.trim()).expect("json");
    let rows = rows_by_station(&report);
    let alice = &rows[&("DOCK-1".to_owned(), "alice".to_owned())];
    assert_eq!(alice["scans"], 5);
    assert_eq!(alice["keyed"], 1);
    assert_eq!(
        (&alice["accepted"], &alice["warnings"], &alice["rejected"]),
        (&3.into(), &1.into(), &1.into())
    );
    assert_eq!(alice["rejections"]["DUPLICATE_SERIAL"], 1);
    assert_eq!(
        (&alice["received"], &alice["received_on_receipt"]),
        (&4.into(), &4.into())
    );
    let bob = &rows[&("PACK-1".to_owned(), "bob".to_owned())];
    assert_eq!((&bob["scans"], &bob["dispatched"]), (&6.into(), &1.into()));
    assert_eq!(bob["rejections"]["WRONG_STATE"], 1);
    assert_eq!(rows.len(), 2, "{rows:?}");

    let receipts = report["receipts"].as_array().expect("receipts");
    assert_eq!(receipts.len(), 1);
    assert_eq!(
        (&receipts[0]["captured"], &receipts[0]["expected"]),
        (&3.into(), &4.into())
    );
    assert_eq!(receipts[0]["capture_percent"], 75.0);
    assert_eq!(receipts[0]["unexpected"], 1);
    let shipments = report["shipments"].as_array().expect("shipments");
    assert_eq!(shipments[0]["verification_percent"], 50.0);
    assert_eq!(shipments[0]["override_by"], "kim");
    let days = report["days"].as_array().expect("days");
    let scans: u64 = days.iter().map(|d| d["scans"].as_u64().unwrap()).sum();
    assert_eq!(scans, 11);
    let captured: u64 = days.iter().map(|d| d["captured"].as_u64().unwrap()).sum();
    assert_eq!(captured, 3);

    // The table names the same things.
    let run = server
        .cli(&["report", "kpi", "--from", &yesterday, "--to", &tomorrow])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("receipt ASN-1  closed"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("captured 3/4 (75.0%)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("verified 1/2 (50.0%)  override by kim"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("rejections: DUPLICATE_SERIAL 1"),
        "{}",
        run.stdout
    );

    // Bad ranges are refused with the reason.
    for (from, to, says) in [
        ("2026-13-01", "", "is not a YYYY-MM-DD date"),
        ("20261101", "", "is not a YYYY-MM-DD date"),
        ("2026-11-02", "2026-11-01", "is before"),
        ("2024-01-01", "2026-01-01", "at most 366 days"),
    ] {
        let run = server
            .cli(&["report", "kpi", "--from", from, "--to", to])
            .await;
        assert_ne!(run.code, 0, "{from} {to}");
        assert!(run.stderr.contains(says), "{from} {to}: {}", run.stderr);
    }
    drop(temp);
}
