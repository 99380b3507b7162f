//! Directed picking through the real server and the CLI: first expiring first among units
//! with a known expiry (read from GS1 barcodes), first received first otherwise, passing over
//! held, expired, other-lot and packed units, and each refusal.

use serde_json::Value;
use serialtrack::proto::v1 as pb;
use tonic::Code;

use crate::lifecycle::{at, expect, pick, scan};
use crate::support::{TestServer, item, receive};

const MILK_GTIN: &str = "09506000134352";

/// A GS1 DataMatrix of a MILK unit: GTIN, expiry (YYMMDD), lot and serial.
fn milk(serial: &str, expiry: &str, lot: &str) -> pb::ScanRequest {
    receive(
        "",
        &format!("]d201{MILK_GTIN}17{expiry}10{lot}\u{1d}21{serial}"),
    )
}

async fn advise(
    server: &TestServer,
    order: &str,
    line: u32,
) -> Result<pb::NextPickResponse, tonic::Status> {
    server
        .warehouse()
        .next_pick(pb::NextPickRequest {
            order_id: order.to_owned(),
            line,
        })
        .await
        .map(tonic::Response::into_inner)
}

fn serial(advice: &pb::NextPickResponse) -> &str {
    advice.unit.as_ref().map_or("", |u| u.serial.as_str())
}

#[tokio::test]
async fn the_next_pick_is_first_expiring_then_first_received() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            gtin: MILK_GTIN.to_owned(),
            lot_tracked: true,
            ..item("MILK")
        })
        .await;
    server.add_item(item("TV")).await;
    // M3 expired long ago, M2 expires before M1; M4 (lot B) expires first of all.
    for (s, expiry, lot) in [
        ("M1", "400331", "A"),
        ("M2", "400131", "A"),
        ("M3", "200131", "A"),
        ("M4", "391231", "B"),
    ] {
        expect(&server, milk(s, expiry, lot), R::Ok, "received").await;
        expect(&server, at("C-01", s), R::Ok, "stored").await;
    }
    // Received but not yet stored: not on any shelf to pick from.
    expect(&server, milk("M5", "350101", "A"), R::Ok, "received").await;
    // TVs have no expiry: first received first.
    for s in ["T2", "T1", "T3"] {
        expect(&server, receive("TV", s), R::Ok, "received").await;
        expect(&server, at("D-01", s), R::Ok, "stored").await;
    }
    let mut server_cli = server
        .cli(&[
            "order",
            "create",
            "--id",
            "O1",
            "--customer",
            "ACME",
            "--line",
            "MILK:2:A",
            "--line",
            "TV:2",
        ])
        .await;
    assert_eq!(server_cli.code, 0, "{}", server_cli.stderr);

    // Line 1 wants lot A: M4 (lot B) and M3 (expired) are passed over, M2 expires first.
    let advice = advise(&server, "O1", 0).await.expect("advice");
    assert_eq!((advice.line, serial(&advice)), (1, "M2"));
    assert_eq!(advice.strategy, "FEFO");
    assert_eq!(advice.skipped_expired, 1);
    assert_eq!(advice.remaining, 2);
    assert_eq!(advice.unit.as_ref().unwrap().location, "C-01");
    assert_eq!(advice.unit.as_ref().unwrap().expiry, "2040-01-31");

    // A block on M2 passes it over; M1 is next. Released, M2 is back.
    let blocked = pb::ScanRequest {
        hold_reason: "dented".to_owned(),
        ..scan(pb::Action::Block, "M2")
    };
    expect(&server, blocked, R::Ok, "blocked").await;
    let advice = advise(&server, "O1", 1).await.expect("advice");
    assert_eq!((serial(&advice), advice.skipped_held), ("M1", 1));
    expect(&server, scan(pb::Action::Release, "M2"), R::Ok, "released").await;
    expect(&server, pick("O1", "M2"), R::Ok, "picked").await;
    let advice = advise(&server, "O1", 1).await.expect("advice");
    assert_eq!((serial(&advice), advice.remaining), ("M1", 1));
    expect(&server, pick("O1", "M1"), R::Ok, "picked").await;
    let done = advise(&server, "O1", 1).await.expect_err("line done");
    assert_eq!(done.code(), Code::FailedPrecondition);
    assert!(
        done.message()
            .contains("line 1 of order O1 is picked in full"),
        "{}",
        done.message()
    );

    // Line 2, FIFO: the TV received first, whatever its serial (a tie in time goes by serial).
    let times: Vec<(i64, String)> = {
        let mut t = Vec::new();
        for s in ["T2", "T1", "T3"] {
            t.push((
                server.unit(s).await.expect("tv").received_at_ms,
                s.to_owned(),
            ));
        }
        t.sort();
        t
    };
    let advice = advise(&server, "O1", 0).await.expect("advice");
    assert_eq!((advice.line, advice.strategy.as_str()), (2, "FIFO"));
    assert_eq!(serial(&advice), times[0].1);
    // A unit packed in a case is not offered: the case moves whole.
    expect(
        &server,
        pb::ScanRequest {
            parent: "095060001343520017".to_owned(),
            ..scan(pb::Action::Aggregate, &times[0].1)
        },
        R::Ok,
        "packed",
    )
    .await;
    let advice = advise(&server, "O1", 2).await.expect("advice");
    assert_eq!(serial(&advice), times[1].1);

    // The CLI says the same, as text and JSON.
    server_cli = server.cli(&["order", "next", "O1"]).await;
    assert_eq!(server_cli.code, 0, "{}", server_cli.stderr);
    assert!(
        server_cli.stdout.contains(&format!(
            "pick {} at D-01 for order O1 line 2 (TV, 2 to go); FIFO: received",
            times[1].1
        )),
        "{}",
        server_cli.stdout
    );
    server_cli = server
        .cli(&["--json", "order", "next", "O1", "--line", "2"])
        .await;
    let json: Value = serde_json::from_str(server_cli.stdout.trim()).expect("json");
    assert_eq!(json["unit"]["serial"], times[1].1.as_str());

    // Refusals: no such order, no such line, no free unit.
    let missing = advise(&server, "O9", 0).await.expect_err("no order");
    assert_eq!(missing.code(), Code::NotFound);
    let no_line = advise(&server, "O1", 3).await.expect_err("no line");
    assert_eq!(no_line.code(), Code::FailedPrecondition);
    assert!(
        no_line.message().contains("has 2 lines"),
        "{}",
        no_line.message()
    );
    let run = server
        .cli(&[
            "order",
            "create",
            "--id",
            "O2",
            "--customer",
            "ACME",
            "--line",
            "MILK:1:Z",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let none = advise(&server, "O2", 0).await.expect_err("no stock");
    assert_eq!(none.code(), Code::FailedPrecondition);
    assert!(
        none.message()
            .contains("no unit of SKU MILK lot Z is free to pick"),
        "{}",
        none.message()
    );
    let run = server.cli(&["order", "next", "O2"]).await;
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("lot Z"), "{}", run.stderr);
}
