//! A unit's life through the real server, the tonic client and the CLI: putaway and moves,
//! picking against orders, dispatch against shipments and its verified close, the returns
//! desk, quarantine and scrap, with each rejection reason and a restart between steps.

use serde_json::Value;
use serialtrack::proto::v1 as pb;

use crate::support::{TestServer, item, receive};

pub fn scan(action: pb::Action, serial: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        action: action.into(),
        station: "PACK-1".to_owned(),
        ..receive("", serial)
    }
}

pub fn at(location: &str, serial: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        location: location.to_owned(),
        ..scan(pb::Action::Putaway, serial)
    }
}

pub fn pick(order: &str, serial: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        order_id: order.to_owned(),
        ..scan(pb::Action::Pick, serial)
    }
}

pub fn dispatch(shipment: &str, serial: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        shipment_id: shipment.to_owned(),
        ..scan(pb::Action::Dispatch, serial)
    }
}

fn give_back(customer: &str, serial: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        customer: customer.to_owned(),
        rma: "RMA-7".to_owned(),
        ..scan(pb::Action::Return, serial)
    }
}

pub async fn expect(
    server: &TestServer,
    request: pb::ScanRequest,
    reason: pb::Reason,
    says: &str,
) -> pb::ScanReply {
    let serial = String::from_utf8_lossy(&request.raw).into_owned();
    let reply = server.scan(request).await;
    assert_eq!(reply.reason(), reason, "{serial}: {}", reply.message);
    assert!(reply.message.contains(says), "{serial}: {}", reply.message);
    reply
}

#[tokio::test]
async fn receive_putaway_pick_dispatch_return_through_the_server() {
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    server.add_item(item("PHONE")).await;
    for serial in ["U1", "U2", "U3", "U4"] {
        assert_eq!(
            server.scan(receive("TV", serial)).await.outcome(),
            pb::Outcome::Accepted
        );
    }
    use pb::Reason as R;

    // Putaway needs a location; moves between locations while stored.
    expect(
        &server,
        scan(pb::Action::Putaway, "U1"),
        R::MissingField,
        "needs the location",
    )
    .await;
    let reply = expect(&server, at("A-01", "U1"), R::Ok, "stored U1 at A-01").await;
    assert_eq!(reply.state(), pb::UnitState::Stored);
    expect(
        &server,
        at("A-02", "U1"),
        R::Ok,
        "moved U1 from A-01 to A-02",
    )
    .await;
    expect(&server, at("B-01", "U2"), R::Ok, "stored U2").await;
    expect(&server, at("NOPE", "U9"), R::UnknownUnit, "U9 is unknown").await;
    assert_eq!(server.unit("U1").await.unwrap().location, "A-02");

    // Orders through the CLI; picking checks SKU, state and quantity.
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
    let run = server
        .cli(&[
            "order",
            "create",
            "--id",
            "O2",
            "--customer",
            "ACME",
            "--line",
            "PHONE:1",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = server
        .cli(&[
            "order",
            "create",
            "--id",
            "O1",
            "--customer",
            "X",
            "--line",
            "TV:1",
        ])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("order O1 already exists"),
        "{}",
        run.stderr
    );
    expect(
        &server,
        pick("O1", "U3"),
        R::WrongState,
        "U3 is RECEIVED; PICK is not allowed from there (allowed now: PUTAWAY, QUARANTINE, SCRAP)",
    )
    .await;
    expect(&server, pick("O9", "U1"), R::UnknownOrder, "no order O9").await;
    expect(
        &server,
        pick("O2", "U1"),
        R::WrongSku,
        "order O2 still needs PHONE",
    )
    .await;
    expect(&server, pick("O1", "U1"), R::Ok, "line 1/2").await;
    expect(&server, pick("O1", "U2"), R::Ok, "line 2/2").await;
    expect(&server, at("B-02", "U3"), R::Ok, "stored").await;
    expect(
        &server,
        pick("O1", "U3"),
        R::OverPick,
        "already has every TV",
    )
    .await;

    // The order and its picks survive a restart.
    let (dir, temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;
    let run = server.cli(&["--json", "order", "show", "O1"]).await;
    let order: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(order["lines"][0]["picked"], serde_json::json!(["U1", "U2"]));

    // Dispatch against the order's shipment; closing checks the verification rate.
    let run = server
        .cli(&["shipment", "create", "--id", "SH1", "--order", "O1"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = server
        .cli(&["shipment", "create", "--id", "SH2", "--order", "O1"])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("order O1 already has shipment SH1"),
        "{}",
        run.stderr
    );
    // A unit picked for O1 does not go out on another order's shipment.
    for args in [
        &[
            "order",
            "create",
            "--id",
            "O7",
            "--customer",
            "BETA",
            "--line",
            "PHONE:1",
        ][..],
        &["shipment", "create", "--id", "SH3", "--order", "O7"],
    ] {
        let run = server.cli(args).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    expect(
        &server,
        dispatch("SH3", "U1"),
        R::WrongOrder,
        "U1 was picked for order O1, but shipment SH3 is for order O7",
    )
    .await;
    expect(
        &server,
        dispatch("SH1", "U3"),
        R::WrongState,
        "U3 is STORED",
    )
    .await;
    expect(
        &server,
        dispatch("SH9", "U1"),
        R::UnknownShipment,
        "no shipment SH9",
    )
    .await;
    let reply = expect(
        &server,
        dispatch("SH1", "U1"),
        R::Ok,
        "dispatched U1 to ACME on shipment SH1",
    )
    .await;
    assert_eq!(reply.state(), pb::UnitState::Dispatched);
    let run = server.cli(&["shipment", "close", "SH1"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("verified 1 of 2 picked serials (50%); not scanned at dispatch: U2"),
        "{}",
        run.stderr
    );
    let run = server
        .cli(&["--json", "shipment", "close", "SH1", "--override-by", "kim"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let closed: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(closed["closed"], true);
    assert_eq!(closed["verification_percent"], 50);
    assert_eq!(closed["override_by"], "kim");
    expect(
        &server,
        dispatch("SH1", "U2"),
        R::Closed,
        "shipment SH1 is closed",
    )
    .await;
    // A picked unit goes back to stock and off its order.
    expect(
        &server,
        at("B-03", "U2"),
        R::Ok,
        "put U2 back at B-03, off order O1",
    )
    .await;
    let order = server.cli(&["--json", "order", "show", "O1"]).await;
    let order: Value = serde_json::from_str(order.stdout.trim()).unwrap();
    assert_eq!(order["lines"][0]["picked"], serde_json::json!(["U1"]));

    // Returns desk.
    expect(
        &server,
        give_back("ACME", "FAKE-1"),
        R::SuspectCounterfeit,
        "never received or sold by us",
    )
    .await;
    // Flagged for review: the supervisor lists them by reason.
    let run = server
        .cli(&["--json", "events", "--reason", "suspect_counterfeit"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let flagged: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(flagged.len(), 1, "{}", run.stdout);
    assert_eq!(flagged[0]["serial"], "FAKE-1");
    let run = server.cli(&["events", "--reason", "NOPE"]).await;
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("is not a reason"), "{}", run.stderr);
    expect(
        &server,
        give_back("ACME", "U3"),
        R::WrongState,
        "was never sold",
    )
    .await;
    expect(
        &server,
        give_back("OTHER", "U1"),
        R::WrongCustomer,
        "sold to ACME, not OTHER",
    )
    .await;
    let reply = expect(
        &server,
        give_back("ACME", "U1"),
        R::Ok,
        "returned U1 (TV) sold to ACME",
    )
    .await;
    assert_eq!(reply.state(), pb::UnitState::Returned);
    expect(
        &server,
        give_back("ACME", "U1"),
        R::AlreadyReturned,
        "already returned",
    )
    .await;
    // Restocked by receiving it again: the same unit, its sale kept.
    expect(&server, receive("TV", "U1"), R::Ok, "received again U1").await;
    let unit = server.unit("U1").await.unwrap();
    assert_eq!(
        (unit.state(), unit.customer.as_str()),
        (pb::UnitState::Received, "ACME")
    );
    // A dispatched unit is not received at goods-in.
    expect(
        &server,
        scan(pb::Action::Quarantine, "U4"),
        R::Ok,
        "quarantined U4",
    )
    .await;
    expect(&server, scan(pb::Action::Scrap, "U4"), R::Ok, "scrapped U4").await;
    expect(
        &server,
        at("A-01", "U4"),
        R::WrongState,
        "U4 is SCRAPPED; PUTAWAY is not allowed from there (allowed now: none)",
    )
    .await;

    // Every rejection is in the log, and the units' history shows the moves.
    let events = server.all_events().await;
    let rejected = events
        .iter()
        .filter(|e| e.outcome() == pb::Outcome::Rejected)
        .count();
    assert_eq!(rejected, 15, "{events:#?}");
    let locations: Vec<String> = server
        .units()
        .history(pb::HistoryRequest {
            serial: "U1".to_owned(),
            after_seq: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner()
        .events
        .iter()
        .filter(|e| e.outcome() != pb::Outcome::Rejected && !e.location.is_empty())
        .map(|e| e.location.clone())
        .collect();
    assert_eq!(locations, ["A-01", "A-02"]);
    drop(temp);
}

#[tokio::test]
async fn scan_references_are_bounded_at_64_bytes_and_refusals_write_nothing() {
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    assert_eq!(
        server.scan(receive("TV", "B1")).await.outcome(),
        pb::Outcome::Accepted
    );
    let at_bound = "L".repeat(64);
    let reply = server.scan(at(&at_bound, "B1")).await;
    assert_eq!(reply.reason(), pb::Reason::Ok, "{}", reply.message);
    assert_eq!(server.unit("B1").await.unwrap().location, at_bound);
    let before = server.all_events().await.len();
    for field in ["location", "order_id", "shipment_id", "customer", "rma"] {
        let mut request = scan(pb::Action::Putaway, "B1");
        let over = "X".repeat(65);
        match field {
            "location" => request.location = over,
            "order_id" => request.order_id = over,
            "shipment_id" => request.shipment_id = over,
            "customer" => request.customer = over,
            _ => request.rma = over,
        }
        let status = server.scans().scan(request).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{field}");
        assert!(
            status.message().contains(field),
            "{field}: {}",
            status.message()
        );
    }
    assert_eq!(server.all_events().await.len(), before);
}
