//! Parent/child sets through the real server, the tonic client and the CLI: units packed into
//! a case, the case onto a pallet (an SSCC read from a GS1-128 label), the pallet moved, picked
//! and dispatched as one, a trace of the tree, unpacking, a restart in between, and every
//! refusal.

use serde_json::Value;
use serialtrack::proto::v1 as pb;
use tonic::Code;

use crate::lifecycle::{at, dispatch, expect, pick, scan};
use crate::support::{TestServer, item, receive};

const CASE: &str = "095060001343520017";
const PALLET: &str = "095060001343520024";

fn pack(child: &str, parent: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        parent: parent.to_owned(),
        ..scan(pb::Action::Aggregate, child)
    }
}

/// A GS1-128 logistics label: symbology `]C1`, AI 00 and the SSCC.
fn label(sscc: &str) -> String {
    format!("]C100{sscc}")
}

#[tokio::test]
async fn a_pallet_moves_picks_and_dispatches_as_one_and_traces_as_a_tree() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    for serial in ["U1", "U2", "U3", "U4"] {
        expect(&server, receive("TV", serial), R::Ok, "received").await;
        expect(&server, at("A-01", serial), R::Ok, "stored").await;
    }
    // Two units into a case from the CLI, the case and a third unit onto the pallet.
    server
        .cli_ok(&[
            "scan",
            "--station",
            "PACK-1",
            "--action",
            "aggregate",
            "--parent",
            CASE,
            "U1",
            "U2",
        ])
        .await;
    expect(&server, pack(CASE, PALLET), R::Ok, "packed").await;
    expect(&server, pack("U3", PALLET), R::Ok, "(2 children, 3 units)").await;

    // Refusals: packed twice, into itself, into a pallet inside it, a parent that is no
    // SSCC, an unknown unit, no parent at all.
    expect(&server, pack("U1", PALLET), R::AlreadyInSet, CASE).await;
    expect(
        &server,
        pack(PALLET, CASE),
        R::ConflictingFields,
        "cannot hold itself",
    )
    .await;
    expect(
        &server,
        pack("U4", "U4"),
        R::ConflictingFields,
        "into itself",
    )
    .await;
    expect(&server, pack("U4", "NOT-AN-SSCC"), R::UnknownUnit, "SSCC").await;
    expect(&server, pack("U9", PALLET), R::UnknownUnit, "U9").await;
    expect(
        &server,
        scan(pb::Action::Aggregate, "U4"),
        R::MissingField,
        "parent",
    )
    .await;

    // A packed unit does not move, and a case does not leave its pallet, on its own.
    expect(&server, at("B-07", "U1"), R::AlreadyInSet, CASE).await;
    expect(&server, at("B-07", CASE), R::AlreadyInSet, PALLET).await;

    // The sets survive a restart.
    let (dir, temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;

    // The pallet's label moves all three units in one event.
    let moved = expect(
        &server,
        at("B-07", &label(PALLET)),
        R::Ok,
        "with the 3 units",
    )
    .await;
    assert_eq!(moved.serial, PALLET);
    assert_eq!(moved.sku, "TV");
    assert_eq!(moved.state(), pb::UnitState::Stored);
    for serial in ["U1", "U2", "U3"] {
        let unit = server.unit(serial).await.expect("unit");
        assert_eq!(unit.location, "B-07", "{serial}");
        assert_eq!(unit.last_seq, moved.seq, "{serial}");
    }
    assert_eq!(server.unit("U4").await.expect("U4").location, "A-01");
    assert_eq!(server.unit("U1").await.expect("U1").parent, CASE);

    // The trace of a unit deep in the pallet: where it is packed, the whole tree, its events.
    let out = server.cli_ok(&["--json", "unit", "trace", "U1"]).await;
    let trace: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(trace["ancestors"], serde_json::json!([CASE, PALLET]));
    let nodes: Vec<(String, u64, String)> = trace["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_owned(),
                n["depth"].as_u64().unwrap(),
                n["kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, String)> = [
        (PALLET, 0, "SSCC"),
        (CASE, 1, "SSCC"),
        ("U1", 2, "UNIT"),
        ("U2", 2, "UNIT"),
        ("U3", 1, "UNIT"),
    ]
    .iter()
    .map(|(i, d, k)| ((*i).to_owned(), *d, (*k).to_owned()))
    .collect();
    assert_eq!(nodes, expected);
    // U1's own events, its refusals included, and the pallet's move that carried it.
    let events: Vec<String> = trace["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| format!("{} {} {}", e["action"], e["reason"], e["serial"]))
        .collect();
    assert_eq!(
        events,
        [
            r#""RECEIVE" "OK" "U1""#.to_owned(),
            r#""PUTAWAY" "OK" "U1""#.to_owned(),
            r#""AGGREGATE" "OK" "U1""#.to_owned(),
            r#""AGGREGATE" "ALREADY_IN_SET" "U1""#.to_owned(),
            r#""PUTAWAY" "ALREADY_IN_SET" "U1""#.to_owned(),
            format!(r#""PUTAWAY" "OK" "{PALLET}""#),
        ]
    );
    let text = server.cli_ok(&["unit", "trace", "U1"]).await;
    assert!(
        text.contains(&format!("U1: packed in {CASE} in {PALLET}")),
        "{text}"
    );
    assert!(text.contains("UNIT U1  TV  STORED  B-07  <-"), "{text}");
    assert!(
        text.contains(&format!("SSCC {PALLET}    (2 children, 3 units)")),
        "{text}"
    );
    let missing = server
        .units()
        .trace(pb::TraceRequest {
            id: "NOPE".to_owned(),
        })
        .await
        .expect_err("unknown id");
    assert_eq!(missing.code(), Code::NotFound);

    // Picked and dispatched as one; a pallet too big for the order is refused whole.
    server
        .cli_ok(&[
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
    expect(&server, pick("O1", PALLET), R::OverPick, "unit U3").await;
    for serial in ["U1", "U2", "U3"] {
        let unit = server.unit(serial).await.expect("unit");
        assert_eq!(unit.state(), pb::UnitState::Stored, "{serial}");
    }
    server
        .cli_ok(&[
            "order",
            "create",
            "--id",
            "O2",
            "--customer",
            "ACME",
            "--line",
            "TV:3",
        ])
        .await;
    expect(&server, pick("O2", PALLET), R::Ok, "picked").await;
    server
        .cli_ok(&["shipment", "create", "--id", "S2", "--order", "O2"])
        .await;
    expect(&server, dispatch("S2", PALLET), R::Ok, "dispatched").await;
    let out = server.cli_ok(&["--json", "shipment", "close", "S2"]).await;
    assert!(out.contains("\"verification_percent\":100"), "{out}");
    for serial in ["U1", "U2", "U3"] {
        let unit = server.unit(serial).await.expect("unit");
        assert_eq!(unit.state(), pb::UnitState::Dispatched, "{serial}");
        assert_eq!(unit.customer, "ACME", "{serial}");
    }
    drop(temp);
}

#[tokio::test]
async fn unpacking_frees_units_and_bad_parents_write_nothing() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    for serial in ["K1", "C1", "C2"] {
        expect(&server, receive("TV", serial), R::Ok, "received").await;
    }
    // A kit: a unit that holds others; scrapping one component alone takes it out.
    expect(&server, pack("C1", "K1"), R::Ok, "packed C1 into K1").await;
    expect(&server, pack("C2", "K1"), R::Ok, "packed C2 into K1").await;
    expect(&server, at("A-02", "K1"), R::Ok, "with the 2 units").await;
    assert_eq!(server.unit("C2").await.expect("C2").location, "A-02");
    expect(
        &server,
        scan(pb::Action::Scrap, "C1"),
        R::Ok,
        "taken out of K1",
    )
    .await;
    assert_eq!(server.unit("C1").await.expect("C1").parent, "");
    // Unpacking the kit frees the rest; then there is nothing to unpack.
    expect(
        &server,
        scan(pb::Action::Disaggregate, "K1"),
        R::Ok,
        "unpacked K1",
    )
    .await;
    assert_eq!(server.unit("C2").await.expect("C2").parent, "");
    expect(
        &server,
        scan(pb::Action::Disaggregate, "K1"),
        R::NotInSet,
        "K1",
    )
    .await;
    expect(&server, at("A-03", "C2"), R::Ok, "moved C2").await;

    // A parent longer than any reference is refused before anything is written.
    let before = server.all_events().await.len();
    let status = server
        .scans()
        .scan(pack("C2", &"9".repeat(65)))
        .await
        .expect_err("oversize parent");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("parent"), "{}", status.message());
    assert_eq!(server.all_events().await.len(), before);
}

#[tokio::test]
async fn nesting_is_bounded_and_a_pallet_is_not_received() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    expect(&server, receive("TV", "U1"), R::Ok, "received").await;
    let levels = [
        "095060001343520031",
        "095060001343520048",
        "095060001343520055",
        "095060001343520062",
        "095060001343520079",
    ];
    // A unit in a case on a pallet on a pallet on a pallet: four levels of sets.
    expect(&server, pack("U1", levels[0]), R::Ok, "packed").await;
    for pair in levels[..4].windows(2) {
        expect(&server, pack(pair[0], pair[1]), R::Ok, "packed").await;
    }
    // A fifth is refused, and the tree is as it was.
    expect(&server, pack(levels[3], levels[4]), R::SetFull, "at most 4").await;
    let trace = server
        .units()
        .trace(pb::TraceRequest {
            id: "U1".to_owned(),
        })
        .await
        .expect("trace")
        .into_inner();
    assert_eq!(trace.ancestors, &levels[..4]);
    // A set's label at goods-in names no unit to receive.
    let pallet = pb::ScanRequest {
        raw: label(levels[3]).into_bytes(),
        ..receive("TV", "")
    };
    expect(&server, pallet, R::UnsupportedAction, "receive each unit").await;
}
