//! GS1 EPCIS 2.0 export through the real server: a unit driven from receive to scrap, another
//! through quarantine, a block and packing into a case, exported with the real CLI and with the
//! ExportEpcis RPC, each event checked field by field and against the published GS1 JSON Schema
//! (`fixtures/epcis-json-schema.json`); paging with `--since`; refused arguments.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use serialtrack::domain::time::format_rfc3339_ms;
use serialtrack::proto::v1 as pb;
use serialtrack::server::{EPCIS_CHUNK_BYTES, EPCIS_EVENTS_MAX};
use tonic::Code;

use crate::lifecycle::{at, dispatch, pick, scan};
use crate::support::{TestServer, item, receive};

const SCHEMA: &str = include_str!("fixtures/epcis-json-schema.json");
const CASE: &str = "095060001343520017";
const TV: &str = "https://id.gs1.org/01/04006381333931/21";

/// `request` as scanned at `station`.
fn by(station: &str, request: pb::ScanRequest) -> pb::ScanRequest {
    pb::ScanRequest {
        station: station.to_owned(),
        ..request
    }
}

async fn accepted(server: &TestServer, request: pb::ScanRequest) {
    let serial = String::from_utf8_lossy(&request.raw).into_owned();
    let reply = server.scan(request).await;
    assert_ne!(
        reply.outcome(),
        pb::Outcome::Rejected,
        "{serial}: {}",
        reply.message
    );
}

/// Receive, putaway, pick, dispatch, return and scrap of a unit with a GTIN (one duplicate
/// receive rejected on the way), then two units without one through quarantine, a restock, a
/// block and its release, packed into a case and unpacked. 17 events, 16 of them business events.
async fn drive_a_life(server: &TestServer) {
    server
        .add_item(pb::Item {
            gtin: "4006381333931".to_owned(),
            ..item("TV")
        })
        .await;
    server
        .add_item(pb::Item {
            lot_tracked: true,
            ..item("CAB")
        })
        .await;
    let w = || server.warehouse();
    w().create_receipt(pb::CreateReceiptRequest {
        receipt: Some(pb::Receipt {
            id: "ASN-1".into(),
            supplier: "ACME Ltd".into(),
            policy: pb::UnexpectedPolicy::Warn.into(),
            lines: vec![pb::ReceiptLine {
                sku: "TV".into(),
                quantity: 1,
                ..Default::default()
            }],
            ..Default::default()
        }),
        expected: Vec::new(),
    })
    .await
    .expect("receipt");
    w().create_order(pb::CreateOrderRequest {
        order: Some(pb::Order {
            id: "O1".into(),
            customer: "ACME Ltd".into(),
            lines: vec![pb::OrderLine {
                sku: "TV".into(),
                quantity: 1,
                ..Default::default()
            }],
            ..Default::default()
        }),
    })
    .await
    .expect("order");
    w().create_shipment(pb::CreateShipmentRequest {
        id: "SH1".into(),
        order_id: "O1".into(),
    })
    .await
    .expect("shipment");

    // 1-7: the unit with a GTIN, and a duplicate receive (2) that is rejected.
    accepted(
        server,
        pb::ScanRequest {
            receipt_id: "ASN-1".into(),
            ..receive("TV", "U1")
        },
    )
    .await;
    let duplicate = server.scan(receive("TV", "U1")).await;
    assert_eq!(duplicate.reason(), pb::Reason::DuplicateSerial);
    accepted(server, by("AISLE-1", at("A-02", "U1"))).await;
    accepted(server, by("PICK-1", pick("O1", "U1"))).await;
    accepted(server, by("DOCK-2", dispatch("SH1", "U1"))).await;
    let give_back = pb::ScanRequest {
        customer: "ACME Ltd".into(),
        rma: "RMA-7".into(),
        ..scan(pb::Action::Return, "U1")
    };
    accepted(server, by("RETURNS", give_back)).await;
    accepted(server, by("SCRAP-1", scan(pb::Action::Scrap, "U1"))).await;

    // 8-13: two units without a GTIN; one goes through quarantine, a restock and a block.
    for serial in ["C1", "C2"] {
        let request = pb::ScanRequest {
            lot: "L7".into(),
            ..receive("CAB", serial)
        };
        accepted(server, request).await;
    }
    accepted(server, by("QA", scan(pb::Action::Quarantine, "C2"))).await;
    accepted(server, receive("CAB", "C2")).await;
    let block = pb::ScanRequest {
        hold_reason: "crushed box".into(),
        ..scan(pb::Action::Block, "C2")
    };
    accepted(server, by("SUPERVISOR", block)).await;
    accepted(server, by("SUPERVISOR", scan(pb::Action::Release, "C2"))).await;

    // 14-17: both packed into a case, one taken out, the case unpacked (scanned from its
    // GS1-128 label).
    for serial in ["C1", "C2"] {
        let pack = pb::ScanRequest {
            parent: CASE.into(),
            ..scan(pb::Action::Aggregate, serial)
        };
        accepted(server, pack).await;
    }
    accepted(server, scan(pb::Action::Disaggregate, "C1")).await;
    let label = format!("]C100{CASE}");
    accepted(server, scan(pb::Action::Disaggregate, &label)).await;
}

fn station(name: &str) -> Value {
    json!({ "id": format!("urn:serialtrack:station:{name}") })
}

fn place(name: &str) -> Value {
    json!({ "id": format!("urn:serialtrack:location:{name}") })
}

fn tx(kind: &str, document: &str, id: &str) -> Value {
    json!({ "type": kind, "bizTransaction": format!("urn:serialtrack:{document}:{id}") })
}

/// What each business event of `drive_a_life` must be, by sequence number, without the fields
/// every event has (time, zone, eventID, type ObjectEvent unless said).
fn expected_events() -> Vec<(u64, Value)> {
    let acme = "urn:serialtrack:customer:ACME%20Ltd";
    let case = format!("https://id.gs1.org/00/{CASE}");
    vec![
        (
            1,
            json!({
                "epcList": [format!("{TV}/U1")], "action": "ADD", "bizStep": "commissioning",
                "disposition": "active", "readPoint": station("DOCK-1"), "bizLocation": place("DOCK-1"),
                "bizTransactionList": [tx("desadv", "receipt", "ASN-1")],
            }),
        ),
        (
            3,
            json!({
                "epcList": [format!("{TV}/U1")], "action": "OBSERVE", "bizStep": "storing",
                "disposition": "sellable_not_accessible", "readPoint": station("AISLE-1"),
                "bizLocation": place("A-02"),
            }),
        ),
        (
            4,
            json!({
                "epcList": [format!("{TV}/U1")], "action": "OBSERVE", "bizStep": "picking",
                "disposition": "in_progress", "readPoint": station("PICK-1"),
                "bizLocation": place("PICK-1"), "bizTransactionList": [tx("po", "order", "O1")],
            }),
        ),
        (
            5,
            json!({
                "epcList": [format!("{TV}/U1")], "action": "OBSERVE", "bizStep": "shipping",
                "disposition": "in_transit", "readPoint": station("DOCK-2"),
                "bizTransactionList": [tx("po", "order", "O1"), tx("desadv", "shipment", "SH1")],
                "sourceList": [{"type": "location", "source": "urn:serialtrack:station:DOCK-2"}],
                "destinationList": [{"type": "owning_party", "destination": acme}],
            }),
        ),
        (
            6,
            json!({
                "epcList": [format!("{TV}/U1")], "action": "OBSERVE", "bizStep": "receiving",
                "disposition": "returned", "readPoint": station("RETURNS"),
                "bizLocation": place("RETURNS"), "bizTransactionList": [tx("rma", "rma", "RMA-7")],
                "sourceList": [{"type": "owning_party", "source": acme}],
                "destinationList": [{"type": "location", "destination": "urn:serialtrack:station:RETURNS"}],
            }),
        ),
        (
            7,
            json!({
                "epcList": [format!("{TV}/U1")], "action": "DELETE", "bizStep": "destroying",
                "disposition": "destroyed", "readPoint": station("SCRAP-1"),
            }),
        ),
        (
            8,
            json!({
                "epcList": ["urn:serialtrack:unit:C1"], "action": "ADD", "bizStep": "commissioning",
                "disposition": "active", "readPoint": station("DOCK-1"), "bizLocation": place("DOCK-1"),
                "ilmd": {"cbvmda:lotNumber": "L7"},
            }),
        ),
        (
            9,
            json!({
                "epcList": ["urn:serialtrack:unit:C2"], "action": "ADD", "bizStep": "commissioning",
                "disposition": "active", "readPoint": station("DOCK-1"), "bizLocation": place("DOCK-1"),
                "ilmd": {"cbvmda:lotNumber": "L7"},
            }),
        ),
        (
            10,
            json!({
                "epcList": ["urn:serialtrack:unit:C2"], "action": "OBSERVE", "bizStep": "holding",
                "disposition": "non_sellable_other", "readPoint": station("QA"), "bizLocation": place("QA"),
            }),
        ),
        (
            11,
            json!({
                "epcList": ["urn:serialtrack:unit:C2"], "action": "OBSERVE", "bizStep": "receiving",
                "disposition": "sellable_not_accessible", "readPoint": station("DOCK-1"),
                "bizLocation": place("DOCK-1"),
            }),
        ),
        (
            12,
            json!({
                "epcList": ["urn:serialtrack:unit:C2"], "action": "OBSERVE", "bizStep": "holding",
                "disposition": "non_sellable_other", "readPoint": station("SUPERVISOR"),
            }),
        ),
        (
            13,
            json!({
                "epcList": ["urn:serialtrack:unit:C2"], "action": "OBSERVE", "bizStep": "inspecting",
                "disposition": "sellable_not_accessible", "readPoint": station("SUPERVISOR"),
            }),
        ),
        (
            14,
            json!({
                "type": "AggregationEvent", "parentID": case, "childEPCs": ["urn:serialtrack:unit:C1"],
                "action": "ADD", "bizStep": "packing", "readPoint": station("PACK-1"),
            }),
        ),
        (
            15,
            json!({
                "type": "AggregationEvent", "parentID": case, "childEPCs": ["urn:serialtrack:unit:C2"],
                "action": "ADD", "bizStep": "packing", "readPoint": station("PACK-1"),
            }),
        ),
        (
            16,
            json!({
                "type": "AggregationEvent", "parentID": case, "childEPCs": ["urn:serialtrack:unit:C1"],
                "action": "DELETE", "bizStep": "unpacking", "readPoint": station("PACK-1"),
            }),
        ),
        // The case itself unpacked: every child let go, so no list.
        (
            17,
            json!({
                "type": "AggregationEvent", "parentID": case, "action": "DELETE",
                "bizStep": "unpacking", "readPoint": station("PACK-1"),
            }),
        ),
    ]
}

/// The whole expected event: the fields of `fields` and the ones every event has, from the
/// logged event.
fn whole_event(logged: &pb::Event, fields: Value) -> Value {
    let mut event = json!({
        "type": "ObjectEvent",
        "eventTime": format_rfc3339_ms(logged.client_time_ms),
        "recordTime": format_rfc3339_ms(logged.recorded_at_ms),
        "eventTimeZoneOffset": "+00:00",
        "eventID": format!("urn:uuid:{}", logged.event_id),
    });
    for (key, value) in fields.as_object().expect("object") {
        event[key] = value.clone();
    }
    event
}

/// The document's events, after its header is checked.
fn event_list(document: &Value) -> &Vec<Value> {
    assert_eq!(
        document["@context"],
        json!(["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"])
    );
    assert_eq!(document["type"], "EPCISDocument");
    assert_eq!(document["schemaVersion"], "2.0");
    let created = document["creationDate"].as_str().expect("creationDate");
    assert!(
        created.len() == 24 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "{created}"
    );
    document["epcisBody"]["eventList"]
        .as_array()
        .expect("eventList")
}

/// The strings of the `enum` under `definitions.{name}` (directly or in one of its `anyOf`).
fn schema_enum<'a>(schema: &'a Value, name: &str) -> BTreeSet<&'a str> {
    let definition = &schema["definitions"][name];
    let mut found = BTreeSet::new();
    let candidates = std::iter::once(definition).chain(
        definition["anyOf"].as_array().into_iter().flatten().chain(
            definition["propertyNames"]["anyOf"]
                .as_array()
                .into_iter()
                .flatten(),
        ),
    );
    for candidate in candidates {
        for value in candidate["enum"].as_array().into_iter().flatten() {
            found.insert(value.as_str().expect("string enum"));
        }
    }
    assert!(!found.is_empty(), "no enum under {name}");
    found
}

/// The property names an event type allows and the fields it requires, from the schema.
fn event_shape<'a>(schema: &'a Value, kind: &str) -> (BTreeSet<&'a str>, BTreeSet<&'a str>) {
    let mut allowed = schema_enum(schema, "common-event-properties");
    let mut required: BTreeSet<&str> = schema["definitions"]["Event"]["required"]
        .as_array()
        .expect("Event.required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for part in schema["definitions"][kind]["allOf"]
        .as_array()
        .expect("allOf")
    {
        for branch in part["propertyNames"]["anyOf"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for name in branch["enum"].as_array().into_iter().flatten() {
                allowed.insert(name.as_str().expect("name"));
            }
        }
        for name in part["required"].as_array().into_iter().flatten() {
            required.insert(name.as_str().expect("name"));
        }
    }
    (allowed, required)
}

/// An absolute URI: a scheme, a colon, and no character a URI may not hold as is.
fn is_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_graphic() && !"\"<>\\^`{|}".contains(c))
}

/// Checks `document` against what the published schema says, part by part: the document's
/// required and allowed fields, each event's, the vocabularies, the shapes of read points,
/// business transactions, sources and destinations, and that every identifier is a URI.
fn check_against_schema(document: &Value) {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema fixture");
    let definition = &schema["definitions"]["epcisDocument"];
    let keys: BTreeSet<&str> = document
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    for name in definition["required"].as_array().expect("required") {
        assert!(
            keys.contains(name.as_str().unwrap()),
            "document lacks {name}"
        );
    }
    let allowed = schema_enum(&schema, "epcisDocument");
    assert!(keys.is_subset(&allowed), "{keys:?} not all in {allowed:?}");

    let vocabulary = |name| schema_enum(&schema, name);
    let (biz_steps, dispositions) = (vocabulary("bizStep"), vocabulary("disposition"));
    let (actions, tx_types) = (vocabulary("action"), vocabulary("bizTransaction-type"));
    let place_types = vocabulary("source-dest-type");
    for event in event_list(document) {
        let kind = event["type"].as_str().expect("type");
        let (allowed, required) = event_shape(&schema, kind);
        let keys: BTreeSet<&str> = event
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            keys.is_subset(&allowed),
            "{kind} {keys:?} not all in {allowed:?}"
        );
        assert!(
            required.is_subset(&keys),
            "{kind} lacks some of {required:?}: {event}"
        );
        assert!(
            actions.contains(event["action"].as_str().unwrap()),
            "{event}"
        );
        assert!(
            biz_steps.contains(event["bizStep"].as_str().unwrap()),
            "{event}"
        );
        if let Some(d) = event.get("disposition") {
            assert!(dispositions.contains(d.as_str().unwrap()), "{event}");
        }
        assert_eq!(event["eventTimeZoneOffset"], "+00:00");
        let mut uris = vec![&event["eventID"], &event["readPoint"]["id"]];
        uris.extend(event.get("parentID"));
        uris.extend(event.get("bizLocation").map(|l| &l["id"]));
        for list in ["epcList", "childEPCs"] {
            uris.extend(
                event
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
        }
        for t in event
            .get("bizTransactionList")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            assert!(tx_types.contains(t["type"].as_str().unwrap()), "{t}");
            assert_eq!(t.as_object().unwrap().len(), 2, "{t}");
            uris.push(&t["bizTransaction"]);
        }
        for (list, field) in [("sourceList", "source"), ("destinationList", "destination")] {
            for s in event
                .get(list)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                assert!(place_types.contains(s["type"].as_str().unwrap()), "{s}");
                assert_eq!(s.as_object().unwrap().len(), 2, "{s}");
                uris.push(&s[field]);
            }
        }
        for uri in uris {
            assert!(is_uri(uri.as_str().expect("a string")), "{uri} is no URI");
        }
        if kind == "AggregationEvent" {
            let children = event.get("childEPCs").and_then(Value::as_array);
            assert!(
                children.is_some_and(|c| !c.is_empty()) || event["action"] == "DELETE",
                "only a DELETE may name no child: {event}"
            );
        }
    }
    validate_with_python(document);
}

/// The whole published schema, when this machine's python3 has the `jsonschema` package (the
/// Rust registry here has no JSON Schema crate); else only the checks above have run.
fn validate_with_python(document: &Value) {
    let python = |args: &[&str]| std::process::Command::new("python3").args(args).output();
    match python(&["-c", "import jsonschema"]) {
        Ok(out) if out.status.success() => {}
        _ => {
            eprintln!(
                "note: python3 with jsonschema not found: checked against the schema's parts only"
            );
            return;
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.jsonld");
    std::fs::write(&path, document.to_string()).expect("write document");
    let schema = format!(
        "{}/tests/it/fixtures/epcis-json-schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        document = json.load(open(sys.argv[2]))\n\
        jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker()).validate(document)";
    let out = python(&["-c", script, &schema, path.to_str().unwrap()]).expect("run python3");
    assert!(
        out.status.success(),
        "the document does not validate against the GS1 schema:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The document an ExportEpcis call streams, and its last chunk.
async fn export_rpc(
    server: &TestServer,
    since_seq: u64,
    limit: u32,
) -> Result<(String, pb::ExportEpcisChunk, usize), tonic::Status> {
    let mut chunks = server
        .units()
        .export_epcis(pb::ExportEpcisRequest { since_seq, limit })
        .await?
        .into_inner();
    let mut text = String::new();
    let mut count = 0;
    while let Some(chunk) = chunks.message().await? {
        count += 1;
        assert!(
            chunk.text.len() < EPCIS_CHUNK_BYTES + 4096,
            "chunk of {}",
            chunk.text.len()
        );
        text.push_str(&chunk.text);
        if chunk.last {
            assert!(
                chunks.message().await?.is_none(),
                "nothing after the last chunk"
            );
            return Ok((text, chunk, count));
        }
        assert_eq!(
            chunk.through_seq, 0,
            "only the last chunk says where it ends"
        );
    }
    panic!("the export ended without its last chunk");
}

#[tokio::test]
async fn a_units_life_exports_as_epcis_events_field_by_field() {
    let server = TestServer::start().await;
    drive_a_life(&server).await;
    let logged = server.all_events().await;
    assert_eq!(logged.len(), 17);
    // The log keeps the set of a packing scan: the case packed into, left, or unpacked.
    assert!(
        logged[13..].iter().all(|e| e.reference == CASE),
        "{logged:?}"
    );

    let run = server.cli(&["export", "epcis"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("16 EPCIS events from 17 log events, seq 1..17; left out: 1 rejected scans")
            && run.stderr.contains("export later events with --since 17"),
        "{}",
        run.stderr
    );
    let document: Value = serde_json::from_str(&run.stdout).expect("the document is JSON");
    let events = event_list(&document);
    let expected = expected_events();
    assert_eq!(events.len(), expected.len());
    for (event, (seq, fields)) in events.iter().zip(expected) {
        let logged = &logged[usize::try_from(seq - 1).unwrap()];
        assert_eq!(logged.seq, seq);
        assert_eq!(*event, whole_event(logged, fields), "seq {seq}");
    }
    check_against_schema(&document);

    // The RPC streams the same document; only its creation date differs.
    let (text, end, _) = export_rpc(&server, 0, 0).await.expect("export");
    let streamed: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(event_list(&streamed), events);
    assert_eq!(
        (
            end.events_read,
            end.events_exported,
            end.rejected_left_out,
            end.without_set_left_out
        ),
        (17, 16, 1, 0)
    );
    assert_eq!((end.through_seq, end.more), (17, false));
}

#[tokio::test]
async fn since_and_limit_page_the_log_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    // Enough events for several chunks of the stream, one in seven rejected.
    let scans: Vec<pb::ScanRequest> = (0..1400)
        .map(|i| {
            receive(
                "TV",
                &format!("P{:05}", i - i % 7 * usize::from(i % 7 == 6)),
            )
        })
        .collect();
    let replies = server
        .scans()
        .scan_batch(pb::ScanBatchRequest { scans })
        .await
        .expect("batch")
        .into_inner()
        .replies;
    let rejected = replies
        .iter()
        .filter(|r| r.outcome() == pb::Outcome::Rejected)
        .count();
    assert_eq!(rejected, 200);

    let (text, end, chunks) = export_rpc(&server, 0, 0).await.expect("export");
    assert!(chunks > 1, "{} bytes came in one chunk", text.len());
    let whole: Value = serde_json::from_str(&text).expect("JSON");
    let ids: Vec<&Value> = event_list(&whole).iter().map(|e| &e["eventID"]).collect();
    assert_eq!(ids.len(), 1200);
    assert_eq!(
        (end.events_read, end.through_seq, end.more),
        (1400, 1400, false)
    );

    // In parts of at most 500 log events each, through the RPC: the same events, in order.
    let mut paged = Vec::new();
    let mut since = 0;
    loop {
        let (text, end, _) = export_rpc(&server, since, 500).await.expect("part");
        let part: Value = serde_json::from_str(&text).expect("JSON");
        assert!(end.events_read <= 500);
        paged.extend(event_list(&part).iter().map(|e| e["eventID"].clone()));
        since = end.through_seq;
        if !end.more {
            break;
        }
    }
    assert_eq!(since, 1400);
    assert_eq!(paged.iter().collect::<Vec<_>>(), ids);

    // And through the CLI, which says where the next part starts.
    let run = server
        .cli(&["export", "epcis", "--since", "1000", "--limit", "300"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("seq 1001..1300")
            && run
                .stderr
                .contains("more events follow: export them with --since 1300"),
        "{}",
        run.stderr
    );
    let part: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let first = &event_list(&part)[0]["eventID"];
    let at = ids
        .iter()
        .position(|id| *id == first)
        .expect("a known event");
    let expected: Vec<&Value> = ids[at..]
        .iter()
        .take(event_list(&part).len())
        .copied()
        .collect();
    let got: Vec<&Value> = event_list(&part).iter().map(|e| &e["eventID"]).collect();
    assert_eq!(got, expected);

    // At the end of the log: an empty document, and the same place to go on from.
    let run = server.cli(&["export", "epcis", "--since", "1400"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let empty: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert!(event_list(&empty).is_empty());
    assert!(
        run.stderr.contains("no events after seq 1400") && run.stderr.contains("--since 1400"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn bad_since_and_limit_are_refused_precisely() {
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    for serial in ["A", "B", "C"] {
        accepted(&server, receive("TV", serial)).await;
    }
    let over = EPCIS_EVENTS_MAX + 1;
    for (since, limit, code, says) in [
        (
            4,
            0,
            Code::OutOfRange,
            "since_seq 4 is past the end of the log: the last event on disk is 3".to_owned(),
        ),
        (
            u64::MAX,
            0,
            Code::OutOfRange,
            format!("since_seq {} is past the end of the log", u64::MAX),
        ),
        (
            0,
            over,
            Code::InvalidArgument,
            format!("limit {over} is above the maximum of 100000 events per export"),
        ),
        (
            0,
            u32::MAX,
            Code::InvalidArgument,
            format!("limit {} is above the maximum", u32::MAX),
        ),
    ] {
        let status = export_rpc(&server, since, limit)
            .await
            .expect_err("refused");
        assert_eq!(status.code(), code, "{since} {limit}: {}", status.message());
        assert!(status.message().contains(&says), "{}", status.message());
    }

    let over = over.to_string();
    for (args, says) in [
        (
            vec!["--since", "-1"],
            "invalid value '-1' for '--since <SINCE>': -1 is negative",
        ),
        (vec!["--limit", "-5"], "-5 is negative; give 0 or more"),
        (vec!["--since", "x"], "x: invalid digit found in string"),
        (vec!["--limit", "5000000000"], "number too large"),
        (
            vec!["--since", "9"],
            "since_seq 9 is past the end of the log: the last event on disk is 3",
        ),
        (
            vec!["--limit", over.as_str()],
            "is above the maximum of 100000 events per export",
        ),
    ] {
        let mut full = vec!["export", "epcis"];
        full.extend(&args);
        let run = server.cli(&full).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(
            run.stdout.is_empty(),
            "{args:?}: nothing written: {}",
            run.stdout
        );
    }
}
