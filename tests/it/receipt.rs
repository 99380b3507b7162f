//! Goods-in against receipts (ASN / PO) through the real server, the tonic client and the CLI:
//! expected serials and quantity lines, unexpected and over-quantity units under both
//! policies, a restart mid-receipt, the close report unit by unit, and every refusal.

use serde_json::Value;
use serialtrack::proto::v1 as pb;
use tonic::Code;

use crate::lifecycle::expect;
use crate::support::{TestServer, item, json_lines, receive};

fn against(receipt: &str, sku: &str, serial: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        receipt_id: receipt.to_owned(),
        ..receive(sku, serial)
    }
}

#[tokio::test]
async fn an_asn_is_matched_scan_by_scan_and_reported_at_close() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    server.add_item(item("CAM")).await;
    let file = server.dir.parent().unwrap().join("asn.csv");
    std::fs::write(&file, "sku,serial\nTV,S1\nTV,S2\nTV,S3\nTV,S4\n").unwrap();
    let run = server
        .cli(&[
            "--json",
            "receipt",
            "create",
            "--id",
            "ASN-1",
            "--supplier",
            "ACME Ltd",
            "--expect",
            "CAM:2",
            "--serials",
            file.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let created: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        (
            created["expected_serials"].as_u64(),
            created["short"].as_u64()
        ),
        (Some(4), Some(6))
    );
    assert_eq!(created["policy"], "WARN");

    expect(
        &server,
        against("ASN-1", "TV", "S1"),
        R::Ok,
        "received S1 (TV); expected on receipt ASN-1 (1/4)",
    )
    .await;
    expect(&server, against("ASN-1", "TV", "S2"), R::Ok, "(2/4)").await;
    expect(
        &server,
        against("ASN-1", "TV", "S1"),
        R::DuplicateSerial,
        "already here",
    )
    .await;
    let reply = expect(
        &server,
        against("ASN-1", "TV", "X9"),
        R::Unexpected,
        "X9 (TV) is not on receipt ASN-1",
    )
    .await;
    assert_eq!(reply.outcome(), pb::Outcome::Warning);
    assert!(
        server.unit("X9").await.is_ok(),
        "a WARN receipt receives the unexpected unit"
    );
    expect(
        &server,
        against("ASN-1", "CAM", "C1"),
        R::Ok,
        "receipt ASN-1 line 1 1/2",
    )
    .await;
    // A restart mid-receipt keeps what was matched.
    let (dir, _temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;
    expect(&server, against("ASN-1", "CAM", "C2"), R::Ok, "line 1 2/2").await;
    let reply = expect(
        &server,
        against("ASN-1", "CAM", "C3"),
        R::OverQuantity,
        "already has every CAM it expects",
    )
    .await;
    assert_eq!(reply.outcome(), pb::Outcome::Warning);
    expect(
        &server,
        against("ASN-1", "CAM", "S3"),
        R::WrongSku,
        "expects S3 as SKU TV, not CAM",
    )
    .await;
    expect(
        &server,
        against("ASN-9", "TV", "S3"),
        R::UnknownReceipt,
        "no receipt ASN-9",
    )
    .await;
    assert_eq!(
        server.unit("S3").await.unwrap_err().code(),
        Code::NotFound,
        "refused scans receive nothing"
    );

    // Close: the counts, then the discrepancies unit by unit.
    let run = server
        .cli(&["receipt", "close", "ASN-1", "--by", "sam"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("receipt ASN-1  CLOSED by sam"),
        "{}",
        run.stdout
    );
    assert_eq!(
        lines[1],
        "  received 6  expected serials 2/4  short 2  unexpected 1  over 1"
    );
    assert_eq!(lines[2], "  line 1: CAM 2/2");
    let rest: Vec<Vec<&str>> = lines[3..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rest,
        [
            vec!["OVER", "C3", "CAM"],
            vec!["SHORT", "S3", "TV"],
            vec!["SHORT", "S4", "TV"],
            vec!["UNEXPECTED", "X9", "TV"],
        ]
    );
    let run = server.cli(&["--json", "receipt", "report", "ASN-1"]).await;
    let all = json_lines(&run.stdout);
    let statuses: Vec<(&str, &str)> = all
        .iter()
        .map(|e| (e["serial"].as_str().unwrap(), e["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("C1", "RECEIVED_ON_LINE"),
            ("C2", "RECEIVED_ON_LINE"),
            ("C3", "OVER"),
            ("S1", "RECEIVED"),
            ("S2", "RECEIVED"),
            ("S3", "SHORT"),
            ("S4", "SHORT"),
            ("X9", "UNEXPECTED")
        ]
    );
    expect(
        &server,
        against("ASN-1", "TV", "S3"),
        R::Closed,
        "receipt ASN-1 is closed",
    )
    .await;
    let again = server
        .cli(&["receipt", "close", "ASN-1", "--by", "sam"])
        .await;
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("receipt ASN-1 is already closed"),
        "{}",
        again.stderr
    );
    // Every scan naming the receipt is in the log with it as the reference.
    let events = server.all_events().await;
    assert!(events.iter().filter(|e| e.reference == "ASN-1").count() >= 9);
}

#[tokio::test]
async fn a_reject_policy_leaves_unexpected_and_surplus_units_on_the_dock() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            lot_tracked: true,
            ..item("TV")
        })
        .await;
    let mut warehouse = server.warehouse();
    warehouse
        .create_receipt(pb::CreateReceiptRequest {
            receipt: Some(pb::Receipt {
                id: "PO-7".into(),
                policy: pb::UnexpectedPolicy::Reject.into(),
                lines: vec![pb::ReceiptLine {
                    sku: "TV".into(),
                    lot: "L1".into(),
                    quantity: 1,
                    received: 0,
                }],
                ..Default::default()
            }),
            expected: Vec::new(),
        })
        .await
        .unwrap();
    let with_lot = |serial: &str, lot: &str| pb::ScanRequest {
        lot: lot.into(),
        ..against("PO-7", "TV", serial)
    };
    expect(
        &server,
        with_lot("T1", "L2"),
        R::Unexpected,
        "leave it on the dock",
    )
    .await;
    expect(&server, with_lot("T1", "L1"), R::Ok, "line 1 1/1").await;
    let reply = expect(
        &server,
        with_lot("T2", "L1"),
        R::OverQuantity,
        "already has every TV lot L1",
    )
    .await;
    assert_eq!(reply.outcome(), pb::Outcome::Rejected);
    assert_eq!(server.unit("T2").await.unwrap_err().code(), Code::NotFound);
    let receipt = warehouse
        .get_receipt(pb::GetReceiptRequest { id: "PO-7".into() })
        .await
        .unwrap()
        .into_inner()
        .receipt
        .unwrap();
    assert_eq!(
        (
            receipt.received,
            receipt.short,
            receipt.unexpected,
            receipt.over
        ),
        (1, 0, 0, 0)
    );
}

#[tokio::test]
async fn malformed_receipts_are_refused_with_nothing_written() {
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    let mut warehouse = server.warehouse();
    let serial = |s: &str, sku: &str| pb::ExpectedSerial {
        serial: s.into(),
        sku: sku.into(),
    };
    let request = |id: &str, expected: Vec<pb::ExpectedSerial>| pb::CreateReceiptRequest {
        receipt: Some(pb::Receipt {
            id: id.into(),
            ..Default::default()
        }),
        expected,
    };
    warehouse
        .create_receipt(request("R1", vec![serial("A", "TV")]))
        .await
        .unwrap();
    let too_many: Vec<_> = (0..100_001)
        .map(|i| serial(&format!("N{i}"), "TV"))
        .collect();
    for (request, code, says) in [
        (
            request("R1", vec![serial("B", "TV")]),
            Code::AlreadyExists,
            "receipt R1 already exists",
        ),
        (
            request("R2", vec![]),
            Code::InvalidArgument,
            "expects serials, quantity lines, or both",
        ),
        (
            request(
                "R2",
                vec![serial("A", "TV"), serial("B", "TV"), serial("A", "TV")],
            ),
            Code::InvalidArgument,
            "expected serial 3: A is listed twice (also number 1)",
        ),
        (
            request("R2", vec![serial("A", "RADIO")]),
            Code::NotFound,
            "no item RADIO",
        ),
        (
            request("R2", vec![serial("", "TV")]),
            Code::InvalidArgument,
            "expected serial 1: serial must be",
        ),
        (
            request("R2", too_many),
            Code::InvalidArgument,
            "at most 100000 serials, not 100001",
        ),
        (
            request("", vec![serial("A", "TV")]),
            Code::InvalidArgument,
            "receipt id",
        ),
        (
            pb::CreateReceiptRequest {
                receipt: Some(pb::Receipt {
                    id: "R2".into(),
                    policy: 9,
                    ..Default::default()
                }),
                expected: vec![serial("A", "TV")],
            },
            Code::InvalidArgument,
            "policy 9",
        ),
        (
            pb::CreateReceiptRequest {
                receipt: Some(pb::Receipt {
                    id: "R2".into(),
                    lines: vec![pb::ReceiptLine {
                        sku: "TV".into(),
                        lot: String::new(),
                        quantity: 0,
                        received: 0,
                    }],
                    ..Default::default()
                }),
                expected: vec![],
            },
            Code::InvalidArgument,
            "line 1: quantity must be at least 1",
        ),
        (
            pb::CreateReceiptRequest {
                receipt: None,
                expected: vec![],
            },
            Code::InvalidArgument,
            "receipt is required",
        ),
    ] {
        let status = warehouse.create_receipt(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{}", status.message());
        assert!(status.message().contains(says), "{}", status.message());
    }
    let missing = warehouse
        .get_receipt(pb::GetReceiptRequest { id: "R2".into() })
        .await
        .unwrap_err();
    assert_eq!(
        missing.code(),
        Code::NotFound,
        "no refused receipt was written"
    );
    let missing = warehouse
        .close_receipt(pb::CloseReceiptRequest {
            id: "R2".into(),
            closed_by: "sam".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let bad = server
        .cli(&[
            "receipt",
            "create",
            "--id",
            "R3",
            "--serials",
            "/nonexistent/asn.csv",
        ])
        .await;
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("cannot read /nonexistent/asn.csv"),
        "{}",
        bad.stderr
    );
}

#[tokio::test]
async fn a_unit_is_found_by_its_manufacturer_serial_too() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    let run = server
        .cli(&[
            "scan",
            "--action",
            "receive",
            "--station",
            "DOCK-1",
            "--sku",
            "TV",
            "--mfr-serial",
            "SAMS-998877",
            "OUR-1",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    let by_mfr = server.unit("SAMS-998877").await.unwrap();
    assert_eq!(
        (by_mfr.serial.as_str(), by_mfr.mfr_serial.as_str()),
        ("OUR-1", "SAMS-998877")
    );
    // The manufacturer serial belongs to one unit.
    let taken = pb::ScanRequest {
        mfr_serial: "SAMS-998877".into(),
        ..receive("TV", "OUR-2")
    };
    expect(
        &server,
        taken,
        R::ConflictingFields,
        "manufacturer serial SAMS-998877 is already on unit OUR-1",
    )
    .await;
    assert_eq!(
        server.unit("OUR-2").await.unwrap_err().code(),
        Code::NotFound
    );
    let run = server
        .cli(&[
            "scan",
            "--action",
            "receive",
            "--station",
            "DOCK-1",
            "--sku",
            "TV",
            "--mfr-serial",
            "X",
            "A",
            "B",
        ])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("scan one RAW with it"),
        "{}",
        run.stderr
    );
    // Found by either after a restart, through the CLI too.
    let (dir, _temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;
    let run = server.cli(&["--json", "unit", "show", "SAMS-998877"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let unit: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        (unit["serial"].as_str(), unit["mfr_serial"].as_str()),
        (Some("OUR-1"), Some("SAMS-998877"))
    );
    let long = pb::ScanRequest {
        mfr_serial: "M".repeat(65),
        ..receive("TV", "OUR-3")
    };
    let status = server.scans().scan(long).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("mfr_serial has 65 bytes"),
        "{}",
        status.message()
    );
}
