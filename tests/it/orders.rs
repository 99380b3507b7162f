//! An order's picks and a shipment's dispatched serials, which the store keeps as keys of
//! their own beside small records (issue 9, the soak's bytes-per-unit growth): every
//! behaviour that read them from the record, through the real server and across restarts.

use serialtrack::proto::v1 as pb;
use serialtrack::proto::v1::list_units_request::Filter;

use crate::lifecycle::{at, dispatch, expect, pick};
use crate::support::{TestServer, item, receive};

/// Each line's picked serials, in pick order.
async fn picked(server: &TestServer, id: &str) -> Vec<Vec<String>> {
    let order = server
        .warehouse()
        .get_order(pb::GetOrderRequest { id: id.to_owned() })
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    order.lines.into_iter().map(|l| l.picked).collect()
}

/// One page of a unit listing: its serials and where the next page starts.
async fn listed(
    server: &TestServer,
    filter: Filter,
    after: &str,
    limit: u32,
) -> (Vec<String>, String) {
    let page = server
        .units()
        .list_units(pb::ListUnitsRequest {
            filter: Some(filter),
            after_serial: after.to_owned(),
            limit,
        })
        .await
        .unwrap()
        .into_inner();
    let serials = page.units.into_iter().map(|u| u.serial).collect();
    (serials, page.next_after_serial)
}

async fn shipment(server: &TestServer, id: &str) -> pb::Shipment {
    server
        .warehouse()
        .get_shipment(pb::GetShipmentRequest { id: id.to_owned() })
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap()
}

async fn restart(server: TestServer) -> (TestServer, Option<tempfile::TempDir>) {
    let (dir, temp) = server.stop().await;
    (TestServer::start_in(&dir).await, temp)
}

fn strings(serials: &[&str]) -> Vec<String> {
    serials.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn picks_and_dispatches_keep_every_behaviour_across_restarts() {
    use pb::Reason as R;
    let server = TestServer::start().await;
    server.add_item(item("A")).await;
    server.add_item(item("B")).await;
    for (sku, serial) in [
        ("A", "U1"),
        ("A", "U2"),
        ("A", "U3"),
        ("A", "U4"),
        ("A", "U5"),
        ("B", "V1"),
    ] {
        expect(&server, receive(sku, serial), R::Ok, "received").await;
        expect(&server, at("BIN-1", serial), R::Ok, "stored").await;
    }
    let line = |sku: &str, quantity: u32| pb::OrderLine {
        sku: sku.to_owned(),
        quantity,
        ..Default::default()
    };
    server
        .warehouse()
        .create_order(pb::CreateOrderRequest {
            order: Some(pb::Order {
                id: "O1".to_owned(),
                customer: "ACME".to_owned(),
                lines: vec![line("A", 3), line("B", 1)],
                ..Default::default()
            }),
        })
        .await
        .unwrap();

    // Picks fill their lines in pick order; a full line refuses another unit of its SKU.
    expect(&server, pick("O1", "U3"), R::Ok, "line 1/3").await;
    expect(&server, pick("O1", "U1"), R::Ok, "line 2/3").await;
    expect(&server, pick("O1", "V1"), R::Ok, "line 1/1").await;
    expect(&server, pick("O1", "U2"), R::Ok, "line 3/3").await;
    let over = "order O1 already has every A it asks for; put U4 back";
    expect(&server, pick("O1", "U4"), R::OverPick, over).await;
    let (server, _temp) = restart(server).await;
    let expected = vec![strings(&["U3", "U1", "U2"]), strings(&["V1"])];
    assert_eq!(picked(&server, "O1").await, expected);

    // A unit put back leaves its line, which takes another unit, after a restart too.
    expect(
        &server,
        at("B-03", "U1"),
        R::Ok,
        "put U1 back at B-03, off order O1",
    )
    .await;
    let expected = vec![strings(&["U3", "U2"]), strings(&["V1"])];
    assert_eq!(picked(&server, "O1").await, expected);
    let (server, _temp2) = restart(server).await;
    let over = "order O1 already has every A it asks for; put U5 back";
    expect(&server, pick("O1", "U4"), R::Ok, "line 3/3").await;
    expect(&server, pick("O1", "U5"), R::OverPick, over).await;
    let expected = vec![strings(&["U3", "U2", "U4"]), strings(&["V1"])];
    assert_eq!(picked(&server, "O1").await, expected);

    // Units by order, in serial order, page by page.
    let by_order = || Filter::OrderId("O1".to_owned());
    let (page, next) = listed(&server, by_order(), "", 2).await;
    assert_eq!((page, next.as_str()), (strings(&["U2", "U3"]), "U3"));
    let (page, _) = listed(&server, by_order(), &next, 2).await;
    assert_eq!(page, strings(&["U4", "V1"]));

    // Dispatch, and the close that checks every picked serial was scanned.
    server
        .warehouse()
        .create_shipment(pb::CreateShipmentRequest {
            id: "SH1".to_owned(),
            order_id: "O1".to_owned(),
        })
        .await
        .unwrap();
    expect(&server, dispatch("SH1", "U3"), R::Ok, "dispatched U3").await;
    expect(&server, dispatch("SH1", "V1"), R::Ok, "dispatched V1").await;
    let close = || pb::CloseShipmentRequest {
        id: "SH1".to_owned(),
        ..Default::default()
    };
    let refused = server
        .warehouse()
        .close_shipment(close())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::FailedPrecondition);
    assert!(
        refused
            .message()
            .contains("verified 2 of 4 picked serials (50%); not scanned at dispatch: U2, U4"),
        "{}",
        refused.message()
    );
    let (server, _temp3) = restart(server).await;
    assert_eq!(shipment(&server, "SH1").await.dispatched, ["U3", "V1"]);
    expect(&server, dispatch("SH1", "U2"), R::Ok, "dispatched U2").await;
    expect(&server, dispatch("SH1", "U4"), R::Ok, "dispatched U4").await;
    let (page, _) = listed(&server, Filter::ShipmentId("SH1".to_owned()), "", 0).await;
    assert_eq!(page, strings(&["U2", "U3", "U4", "V1"]));
    let closed = server
        .warehouse()
        .close_shipment(close())
        .await
        .unwrap()
        .into_inner()
        .shipment
        .unwrap();
    assert_eq!(closed.dispatched, ["U3", "V1", "U2", "U4"]);
    let rate = (closed.picked, closed.verified, closed.verification_percent);
    assert_eq!(rate, (4, 4, 100));

    // The trace of a dispatched unit still tells its order and shipment, with its events.
    let trace = server
        .units()
        .trace(pb::TraceRequest {
            id: "U4".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let unit = trace.nodes[0].unit.as_ref().unwrap();
    assert_eq!(
        (unit.order_id.as_str(), unit.shipment_id.as_str()),
        ("O1", "SH1")
    );
    let events: Vec<(pb::Action, pb::Reason)> = trace
        .events
        .iter()
        .map(|e| (e.action(), e.reason()))
        .collect();
    use pb::Action as A;
    let expected = [
        (A::Receive, R::Ok),
        (A::Putaway, R::Ok),
        (A::Pick, R::OverPick),
        (A::Pick, R::Ok),
        (A::Dispatch, R::Ok),
    ];
    assert_eq!(events, expected);
    assert_eq!(trace.events[3].reference, "O1");
    drop(server.stop().await);
}
