//! Recalls, blocks and unit lookups through the real server, the tonic client and the CLI:
//! a recall while units are mid-pick, its report of where every unit is, units of the lot
//! received later, release, a restart in between, and every refusal.

use serde_json::Value;
use serialtrack::proto::v1 as pb;
use tonic::Code;

use crate::lifecycle::{at, dispatch, expect, pick, scan};
use crate::support::{TestServer, item, json_lines, receive};

fn lot_item(sku: &str) -> pb::Item {
    pb::Item {
        lot_tracked: true,
        ..item(sku)
    }
}

fn receive_lot(sku: &str, serial: &str, lot: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        lot: lot.to_owned(),
        ..receive(sku, serial)
    }
}

#[tokio::test]
async fn a_recall_holds_its_lot_mid_pick_and_reports_where_every_unit_is() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(lot_item("TV")).await;
    for serial in ["U1", "U2", "U3", "U4", "U5", "U6"] {
        expect(&server, receive_lot("TV", serial, "L1"), R::Ok, "received").await;
        expect(&server, at("A-01", serial), R::Ok, "stored").await;
    }
    expect(&server, receive_lot("TV", "U7", "L2"), R::Ok, "received").await;
    expect(&server, at("A-01", "U7"), R::Ok, "stored").await;
    expect(&server, at("B-02", "U6"), R::Ok, "moved U6").await;
    server
        .cli_ok(&[
            "order",
            "create",
            "--id",
            "O1",
            "--customer",
            "ACME",
            "--line",
            "TV:4",
        ])
        .await;
    expect(&server, pick("O1", "U1"), R::Ok, "picked U1").await;
    server
        .cli_ok(&["shipment", "create", "--id", "S1", "--order", "O1"])
        .await;
    expect(&server, dispatch("S1", "U1"), R::Ok, "dispatched U1").await;
    expect(&server, pick("O1", "U2"), R::Ok, "picked U2").await;

    // The recall, mid-pick: U1 is with the customer, U2 picked, U3-U6 stored.
    let out = server
        .cli_ok(&[
            "--json",
            "recall",
            "create",
            "--id",
            "RC-1",
            "--lot",
            "TV:L1",
            "--reason",
            "supplier notice 44",
            "--operator",
            "sam",
        ])
        .await;
    let recall: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(recall["affected"], 6);
    assert_eq!(
        recall["by_state"],
        serde_json::json!({"STORED": 4, "PICKED": 1, "DISPATCHED": 1})
    );
    assert_eq!(recall["created_by"], "sam");
    assert_eq!(recall["released"], false);

    // Held units can neither be picked nor dispatched; moves still work; other lots are free.
    expect(
        &server,
        pick("O1", "U3"),
        R::OnHold,
        "on hold RECALLED (RC-1)",
    )
    .await;
    expect(
        &server,
        dispatch("S1", "U2"),
        R::OnHold,
        "DISPATCH is stopped",
    )
    .await;
    expect(&server, at("Q-01", "U4"), R::Ok, "moved U4").await;
    expect(&server, pick("O1", "U7"), R::Ok, "picked U7").await;
    let held = server.unit("U3").await.unwrap();
    assert_eq!(
        (held.hold.as_str(), held.hold_reference.as_str()),
        ("RECALLED", "RC-1")
    );
    assert_eq!(server.unit("U7").await.unwrap().hold, "");

    // A unit of the lot received after the recall is held too.
    expect(&server, receive_lot("TV", "U8", "L1"), R::Ok, "received U8").await;
    assert_eq!(server.unit("U8").await.unwrap().hold, "RECALLED");

    // The report: every unit with where it is now, in serial order.
    let out = server.cli_ok(&["--json", "recall", "report", "RC-1"]).await;
    let lines = json_lines(&out);
    let serials: Vec<&str> = lines
        .iter()
        .map(|u| u["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials, ["U1", "U2", "U3", "U4", "U5", "U6", "U8"]);
    assert_eq!(lines[0]["state"], "DISPATCHED");
    assert_eq!(
        (
            lines[0]["customer"].as_str(),
            lines[0]["shipment_id"].as_str()
        ),
        (Some("ACME"), Some("S1"))
    );
    assert_eq!(
        (lines[1]["state"].as_str(), lines[1]["location"].as_str()),
        (Some("PICKED"), Some("PACK-1"))
    );
    assert_eq!(lines[1]["order_id"], "O1");
    assert_eq!(lines[3]["location"], "Q-01");
    assert_eq!(lines[5]["location"], "B-02");
    assert!(lines.iter().all(|u| u["hold_reference"] == "RC-1"));
    let text = server.cli_ok(&["recall", "report", "RC-1"]).await;
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("U1  TV  lot L1  DISPATCHED  customer ACME shipment S1"),
        "{text}"
    );

    // Refusals: the same id again, a bad scope, no scope, an unknown recall.
    let mut warehouse = server.warehouse();
    let create = |id: &str, scope: Option<pb::recall::Scope>| pb::CreateRecallRequest {
        recall: Some(pb::Recall {
            id: id.to_owned(),
            scope,
            reason: "r".to_owned(),
            created_by: "sam".to_owned(),
            ..Default::default()
        }),
    };
    let lot = |sku: &str, lot: &str| {
        Some(pb::recall::Scope::Lot(pb::LotScope {
            sku: sku.into(),
            lot: lot.into(),
        }))
    };
    for (request, code, says) in [
        (
            create("RC-1", lot("TV", "L2")),
            Code::AlreadyExists,
            "recall RC-1 already exists",
        ),
        (create("RC-2", lot("", "L2")), Code::InvalidArgument, "sku"),
        (create("RC-2", lot("TV", "")), Code::InvalidArgument, "lot"),
        (create("RC-2", None), Code::InvalidArgument, "needs a scope"),
        (
            create(
                "RC-2",
                Some(pb::recall::Scope::Serials(pb::SerialRangeScope {
                    first: "B".into(),
                    last: "A".into(),
                })),
            ),
            Code::InvalidArgument,
            "first after last",
        ),
        (
            create(
                "RC-2",
                Some(pb::recall::Scope::Received(pb::ReceivedScope {
                    from_ms: 5,
                    to_ms: 5,
                })),
            ),
            Code::InvalidArgument,
            "from not before to",
        ),
        (
            create("", lot("TV", "L2")),
            Code::InvalidArgument,
            "recall id",
        ),
        (
            pb::CreateRecallRequest { recall: None },
            Code::InvalidArgument,
            "recall is required",
        ),
    ] {
        let status = warehouse.create_recall(request).await.unwrap_err();
        assert_eq!(status.code(), code, "{}", status.message());
        assert!(status.message().contains(says), "{}", status.message());
    }
    let missing = warehouse
        .get_recall(pb::GetRecallRequest { id: "RC-9".into() })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    let list = server.cli_ok(&["--json", "recall", "list"]).await;
    assert_eq!(
        json_lines(&list).len(),
        1,
        "refused recalls wrote nothing: {list}"
    );

    // The hold survives a restart; releasing lifts it, once.
    let (dir, _temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;
    expect(&server, pick("O1", "U3"), R::OnHold, "RC-1").await;
    let out = server
        .cli_ok(&["--json", "recall", "release", "RC-1", "--by", "lee"])
        .await;
    let released: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            released["released"].as_bool(),
            released["released_by"].as_str()
        ),
        (Some(true), Some("lee"))
    );
    expect(&server, pick("O1", "U3"), R::Ok, "picked U3").await;
    assert_eq!(server.unit("U5").await.unwrap().hold, "");
    let again = server
        .cli(&["recall", "release", "RC-1", "--by", "lee"])
        .await;
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("recall RC-1 is already released"),
        "{}",
        again.stderr
    );
    let shown = server.cli_ok(&["recall", "show", "RC-1"]).await;
    assert!(shown.contains("RELEASED by lee"), "{shown}");
}

#[tokio::test]
async fn serial_range_and_receive_date_recalls_and_unit_listings() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(lot_item("CAM")).await;
    for i in 1..=9 {
        let serial = format!("C{i:02}");
        expect(
            &server,
            receive_lot("CAM", &serial, if i <= 5 { "A" } else { "B" }),
            R::Ok,
            "received",
        )
        .await;
        if i % 2 == 0 {
            expect(&server, at("BIN-7", &serial), R::Ok, "stored").await;
        }
    }
    let mut warehouse = server.warehouse();
    let range = warehouse
        .create_recall(pb::CreateRecallRequest {
            recall: Some(pb::Recall {
                id: "RC-R".into(),
                scope: Some(pb::recall::Scope::Serials(pb::SerialRangeScope {
                    first: "C03".into(),
                    last: "C05".into(),
                })),
                reason: "bad batch of screens".into(),
                created_by: "sam".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .recall
        .unwrap();
    assert_eq!(range.affected, 3);
    assert!(range.created_at_ms > 0);
    let now = serialtrack::domain::time::now_ms();
    let dated = warehouse
        .create_recall(pb::CreateRecallRequest {
            recall: Some(pb::Recall {
                id: "RC-D".into(),
                scope: Some(pb::recall::Scope::Received(pb::ReceivedScope {
                    from_ms: now - 3_600_000,
                    to_ms: now + 3_600_000,
                })),
                reason: "dock contamination".into(),
                created_by: "sam".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .recall
        .unwrap();
    assert_eq!(dated.affected, 9);
    // The first recall that covers a unit is the one its hold names.
    assert_eq!(server.unit("C04").await.unwrap().hold_reference, "RC-R");
    assert_eq!(server.unit("C07").await.unwrap().hold_reference, "RC-D");

    // Listings by location, lot and serial range, through the CLI and paged over gRPC.
    let out = server
        .cli_ok(&["--json", "unit", "list", "--location", "BIN-7"])
        .await;
    let serials: Vec<String> = json_lines(&out)
        .iter()
        .map(|u| u["serial"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(serials, ["C02", "C04", "C06", "C08"]);
    let out = server
        .cli_ok(&["--json", "unit", "list", "--lot", "CAM:B"])
        .await;
    assert_eq!(json_lines(&out).len(), 4);
    let out = server
        .cli_ok(&["unit", "list", "--serials", "C08..C99"])
        .await;
    assert_eq!(out.lines().count(), 2, "{out}");
    let out = server
        .cli_ok(&[
            "--json",
            "unit",
            "list",
            "--received",
            "2000-01-01..2000-01-02",
        ])
        .await;
    assert_eq!(out, "");
    let mut units = server.units();
    let mut pages = Vec::new();
    let mut after_serial = String::new();
    loop {
        let page = units
            .list_units(pb::ListUnitsRequest {
                filter: Some(pb::list_units_request::Filter::Lot(pb::LotScope {
                    sku: "CAM".into(),
                    lot: "A".into(),
                })),
                after_serial,
                limit: 2,
            })
            .await
            .unwrap()
            .into_inner();
        pages.push(
            page.units
                .iter()
                .map(|u| u.serial.clone())
                .collect::<Vec<_>>(),
        );
        if page.next_after_serial.is_empty() {
            break;
        }
        after_serial = page.next_after_serial;
    }
    assert_eq!(pages, [vec!["C01", "C02"], vec!["C03", "C04"], vec!["C05"]]);
    // A move leaves the old location's listing.
    expect(&server, at("BIN-8", "C02"), R::Ok, "moved C02").await;
    let out = server
        .cli_ok(&["unit", "list", "--location", "BIN-7"])
        .await;
    assert!(!out.contains("C02") && out.contains("C04"), "{out}");
    for (request, says) in [
        (
            pb::ListUnitsRequest {
                filter: None,
                after_serial: String::new(),
                limit: 0,
            },
            "filter is required",
        ),
        (
            pb::ListUnitsRequest {
                filter: Some(pb::list_units_request::Filter::Location("B".into())),
                after_serial: String::new(),
                limit: 1001,
            },
            "limit 1001",
        ),
        (
            pb::ListUnitsRequest {
                filter: Some(pb::list_units_request::Filter::Location(String::new())),
                after_serial: String::new(),
                limit: 0,
            },
            "location",
        ),
    ] {
        let status = units.list_units(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{}", status.message());
        assert!(status.message().contains(says), "{}", status.message());
    }
    let bad = server
        .cli(&["unit", "list", "--received", "2026-02-30x..2026-03-01"])
        .await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("not a date"), "{}", bad.stderr);
}

#[tokio::test]
async fn a_supervisor_blocks_and_releases_a_unit() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    expect(&server, receive("TV", "B1"), R::Ok, "received").await;
    expect(&server, at("A-01", "B1"), R::Ok, "stored").await;
    server
        .cli_ok(&[
            "order",
            "create",
            "--id",
            "O1",
            "--customer",
            "ACME",
            "--line",
            "TV:1",
        ])
        .await;
    let run = server
        .cli(&["scan", "--action", "block", "--station", "SUP-1", "B1"])
        .await;
    assert_eq!(
        run.code, 1,
        "a block without a reason is refused: {}",
        run.stdout
    );
    assert!(
        run.stdout.contains("block needs a reason"),
        "{}",
        run.stdout
    );
    let run = server
        .cli(&[
            "scan",
            "--action",
            "block",
            "--station",
            "SUP-1",
            "--reason",
            "crushed box",
            "B1",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("blocked B1 (TV): crushed box"),
        "{}",
        run.stdout
    );
    expect(
        &server,
        pick("O1", "B1"),
        R::OnHold,
        "on hold BLOCKED (crushed box)",
    )
    .await;
    expect(
        &server,
        scan(pb::Action::Block, "B1"),
        R::MissingField,
        "needs a reason",
    )
    .await;
    let unit = server.unit("B1").await.unwrap();
    assert_eq!(
        (unit.state(), unit.hold.as_str()),
        (pb::UnitState::Stored, "BLOCKED")
    );
    let run = server
        .cli(&[
            "scan",
            "--action",
            "release",
            "--station",
            "SUP-1",
            "B1",
            "B1",
        ])
        .await;
    assert_eq!(
        run.code, 1,
        "the second release finds no block: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("released B1 (TV) from block: crushed box"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("not blocked"), "{}", run.stdout);
    expect(&server, pick("O1", "B1"), R::Ok, "picked B1").await;
    // The block is in the unit's history with its reason.
    let out = server.cli_ok(&["--json", "unit", "history", "B1"]).await;
    let events = json_lines(&out);
    let block = events
        .iter()
        .find(|e| e["action"] == "BLOCK" && e["outcome"] == "ACCEPTED")
        .unwrap();
    assert_eq!(block["reference"], "crushed box");
    assert_eq!(block["station"], "SUP-1");
}
