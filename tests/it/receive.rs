//! Receiving units through gRPC: the decisions, the limits, exactly-once and concurrency.

use serialtrack::proto::v1 as pb;
use tonic::Code;

use crate::support::{TestServer, item, receive};

fn rule(
    min: u32,
    max: u32,
    charset: pb::Charset,
    prefix: &str,
    check: pb::CheckScheme,
) -> Option<pb::SerialRule> {
    Some(pb::SerialRule {
        length_min: min,
        length_max: max,
        charset: charset.into(),
        prefix: prefix.to_owned(),
        check: check.into(),
        ..Default::default()
    })
}

#[tokio::test]
async fn receive_then_get_then_history() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            gtin: "4006381333931".to_owned(),
            ..item("TV-65")
        })
        .await;
    let reply = server.scan(receive("TV-65", "TV-0001\r\n")).await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    assert_eq!(reply.reason(), pb::Reason::Ok);
    assert_eq!(reply.feedback(), pb::Feedback::Good);
    assert_eq!(reply.state(), pb::UnitState::Received);
    assert_eq!(reply.seq, 1);
    assert_eq!(
        (reply.serial.as_str(), reply.sku.as_str()),
        ("TV-0001", "TV-65")
    );
    assert!(!reply.replayed);

    let unit = server.unit("TV-0001").await.unwrap();
    assert_eq!(unit.sku, "TV-65");
    assert_eq!(unit.gtin, "04006381333931");
    assert_eq!(unit.state(), pb::UnitState::Received);
    assert_eq!(unit.location, "DOCK-1");
    assert_eq!(unit.first_seen_station, "DOCK-1");
    assert_eq!((unit.first_seen_seq, unit.last_seq), (1, 1));
    assert!(unit.first_seen_at_ms > 1_700_000_000_000);

    // GTIN + serial finds the unit only under its own GTIN.
    let by_gtin = server
        .units()
        .get_unit(pb::GetUnitRequest {
            serial: "TV-0001".to_owned(),
            gtin: "04006381333931".to_owned(),
        })
        .await;
    assert!(by_gtin.is_ok());
    let wrong_gtin = server
        .units()
        .get_unit(pb::GetUnitRequest {
            serial: "TV-0001".to_owned(),
            gtin: "09506000134352".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong_gtin.code(), Code::NotFound);
    let missing = server.unit("NOPE").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    server.scan(receive("TV-65", "TV-0001")).await;
    let history = server
        .units()
        .history(pb::HistoryRequest {
            serial: "TV-0001".to_owned(),
            after_seq: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let seqs: Vec<_> = history
        .events
        .iter()
        .map(|e| (e.seq, e.outcome(), e.reason()))
        .collect();
    assert_eq!(
        seqs,
        [
            (1, pb::Outcome::Accepted, pb::Reason::Ok),
            (2, pb::Outcome::Rejected, pb::Reason::DuplicateSerial)
        ]
    );
    let first = &history.events[0];
    assert_eq!(first.operator, "alice");
    assert_eq!(first.raw, b"TV-0001\r\n");
    assert_eq!(first.client_time_ms, 1_795_400_000_000);
    assert_eq!(first.action(), pb::Action::Receive);
    // Another serial's history stays separate, also for serials that extend this one.
    server.scan(receive("TV-65", "TV-00011")).await;
    let other = server
        .units()
        .history(pb::HistoryRequest {
            serial: "TV-00011".to_owned(),
            after_seq: 0,
            limit: 0,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(other.events.len(), 1);
}

#[tokio::test]
async fn duplicate_serial_says_when_and_where_it_was_first_received() {
    let server = TestServer::start().await;
    server.add_item(item("PHONE")).await;
    server.add_item(item("CASE")).await;
    let first = server.scan(receive("PHONE", "SN-77")).await;
    assert_eq!(first.outcome(), pb::Outcome::Accepted);
    let mut again = receive("CASE", "SN-77");
    again.station = "DOCK-9".to_owned();
    let dup = server.scan(again).await;
    assert_eq!(dup.outcome(), pb::Outcome::Rejected);
    assert_eq!(dup.reason(), pb::Reason::DuplicateSerial);
    assert_eq!(dup.feedback(), pb::Feedback::Bad);
    assert_eq!(dup.state(), pb::UnitState::Received);
    assert!(
        dup.message.contains("RECEIVED at DOCK-1"),
        "{}",
        dup.message
    );
    assert!(dup.message.contains("since event 1"), "{}", dup.message);
    assert!(dup.message.contains(" UTC"), "{}", dup.message);
    // The unit is unchanged.
    let unit = server.unit("SN-77").await.unwrap();
    assert_eq!((unit.sku.as_str(), unit.last_seq), ("PHONE", 1));
}

#[tokio::test]
async fn bad_format_names_the_part_that_is_wrong() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            serial_rule: rule(
                8,
                10,
                pb::Charset::AlphanumericUpper,
                "LT",
                pb::CheckScheme::Iso7064Mod3736,
            ),
            ..item("LAPTOP")
        })
        .await;
    server
        .add_item(pb::Item {
            serial_rule: rule(11, 11, pb::Charset::Numeric, "", pb::CheckScheme::Luhn),
            ..item("METER")
        })
        .await;
    let cases = [
        (
            "LAPTOP",
            "LT123",
            "serial has 5 characters; this item needs 8 to 10",
        ),
        ("LAPTOP", "LT12345678901", "serial has 13 characters"),
        (
            "LAPTOP",
            "LT12a4567",
            "character 'a' at position 5 is not allowed",
        ),
        ("LAPTOP", "XX12345678", "serial must start with \"LT\""),
        ("LAPTOP", "LT1234567", "check character is"),
        (
            "METER",
            "79927398710",
            "check character is '0', expected '3' (Luhn)",
        ),
        ("METER", "7992739871X", "character 'X' at position 11"),
    ];
    for (sku, serial, want) in cases {
        let reply = server.scan(receive(sku, serial)).await;
        assert_eq!(
            reply.reason(),
            pb::Reason::BadFormat,
            "{serial}: {}",
            reply.message
        );
        assert_eq!(reply.outcome(), pb::Outcome::Rejected);
        assert!(reply.message.contains(want), "{serial}: {}", reply.message);
        assert_eq!(reply.state(), pb::UnitState::Unspecified);
    }
    assert_eq!(
        server.scan(receive("METER", "79927398713")).await.outcome(),
        pb::Outcome::Accepted
    );
    // Non-UTF-8 and control characters in a plain serial are format errors too.
    let mut binary = receive("METER", "");
    binary.raw = vec![0xff, 0xfe, b'1'];
    let reply = server.scan(binary).await;
    assert_eq!(reply.reason(), pb::Reason::BadFormat, "{}", reply.message);
    // Rejections were recorded; no unit was created for them.
    let units = server.all_events().await;
    assert_eq!(units.len(), cases.len() + 2);
    let missing = server.unit("LT123").await.unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
}

#[tokio::test]
async fn unknown_items_and_missing_fields_are_rejected_in_band() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            lot_tracked: true,
            ..item("VACCINE")
        })
        .await;
    server.add_item(item("PLAIN")).await;

    let unknown = server.scan(receive("NO-SUCH-SKU", "A1")).await;
    assert_eq!(unknown.reason(), pb::Reason::UnknownItem);
    assert!(
        unknown.message.contains("NO-SUCH-SKU"),
        "{}",
        unknown.message
    );

    let no_sku = server.scan(receive("", "A2")).await;
    assert_eq!(no_sku.reason(), pb::Reason::MissingField);
    assert!(no_sku.message.contains("SKU"), "{}", no_sku.message);

    let mut no_station = receive("PLAIN", "A3");
    no_station.station = String::new();
    let reply = server.scan(no_station).await;
    assert_eq!(reply.reason(), pb::Reason::MissingField);
    assert!(reply.message.contains("station"), "{}", reply.message);

    let no_lot = server.scan(receive("VACCINE", "V1")).await;
    assert_eq!(no_lot.reason(), pb::Reason::MissingField);
    assert!(no_lot.message.contains("lot"), "{}", no_lot.message);

    let mut with_lot = receive("VACCINE", "V1");
    with_lot.lot = "L2026-11".to_owned();
    let reply = server.scan(with_lot).await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);

    // A lot for an item without lot tracking is dropped, and the operator is told.
    let mut extra_lot = receive("PLAIN", "P1");
    extra_lot.lot = "L9".to_owned();
    let reply = server.scan(extra_lot).await;
    assert_eq!(reply.outcome(), pb::Outcome::Warning);
    assert_eq!(reply.reason(), pb::Reason::FieldIgnored);
    assert_eq!(reply.feedback(), pb::Feedback::Warn);

    let mut putaway = receive("PLAIN", "P2");
    putaway.action = pb::Action::Putaway.into();
    let reply = server.scan(putaway).await;
    assert_eq!(reply.reason(), pb::Reason::UnknownUnit);
    assert_eq!(reply.outcome(), pb::Outcome::Rejected);

    let unit = server.unit("V1").await.unwrap();
    assert_eq!(unit.lot, "L2026-11");
}

#[tokio::test]
async fn malformed_and_oversize_requests_are_refused_and_write_nothing() {
    let server = TestServer::start().await;
    server.add_item(item("X")).await;
    type Mutate = fn(&mut pb::ScanRequest);
    let cases: &[(&str, Mutate)] = &[
        ("event_id", |r| r.event_id = "not-a-uuid".to_owned()),
        ("nil UUID", |r| r.event_id = uuid::Uuid::nil().to_string()),
        ("action is required", |r| r.action = 0),
        ("action 99", |r| r.action = 99),
        ("entry_mode 7", |r| r.entry_mode = 7),
        ("station has 65 bytes", |r| r.station = "S".repeat(65)),
        ("operator has 65 bytes", |r| r.operator = "O".repeat(65)),
        ("sku has 41 bytes", |r| r.sku = "K".repeat(41)),
        ("lot has 21 bytes", |r| r.lot = "L".repeat(21)),
        ("raw has 4097 bytes", |r| r.raw = vec![b'1'; 4097]),
    ];
    for (want, mutate) in cases {
        let mut request = receive("X", "S1");
        mutate(&mut request);
        let status = server.scans().scan(request.clone()).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{want}");
        assert!(
            status.message().contains(want),
            "{want}: {}",
            status.message()
        );
        // In a batch the bad scan is named by index and the good ones are not applied either.
        let batch = vec![receive("X", "GOOD-1"), request];
        let status = server
            .scans()
            .scan_batch(pb::ScanBatchRequest { scans: batch })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().starts_with("scan 1: "),
            "{}",
            status.message()
        );
    }
    // Exactly at every bound is allowed.
    let mut at_bounds = receive(&"K".repeat(40), "S1");
    at_bounds.station = "S".repeat(64);
    at_bounds.operator = "O".repeat(64);
    at_bounds.lot = "L".repeat(20);
    at_bounds.raw = vec![b'1'; 4096];
    let reply = server.scan(at_bounds).await;
    // A 4,096-byte scan passes the shape check and is decided: too long for a serial.
    assert_eq!(
        (reply.seq, reply.reason()),
        (1, pb::Reason::BadFormat),
        "{}",
        reply.message
    );
    assert!(
        reply.message.contains("longer than 64"),
        "{}",
        reply.message
    );
    let oversize: Vec<_> = (0..10_001)
        .map(|i| receive("X", &format!("B{i}")))
        .collect();
    let status = server
        .scans()
        .scan_batch(pb::ScanBatchRequest { scans: oversize })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("10001 scans; at most 10000"),
        "{}",
        status.message()
    );
    // Larger than the message limit: refused by the transport before decoding.
    let huge: Vec<_> = (0..3000)
        .map(|i| {
            let mut r = receive("X", &format!("H{i}"));
            r.raw = vec![b'9'; 4000];
            r
        })
        .collect();
    let status = server
        .scans()
        .scan_batch(pb::ScanBatchRequest { scans: huge })
        .await
        .unwrap_err();
    assert!(
        matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{status:?}"
    );

    // Only the scan at the bounds was written; every refused request wrote nothing.
    assert_eq!(
        server.all_events().await.len(),
        1,
        "a refused request wrote events"
    );
    let listed = server
        .units()
        .list_events(pb::ListEventsRequest {
            from_seq: 1,
            limit: 1001,
        })
        .await
        .unwrap_err();
    assert_eq!(listed.code(), Code::InvalidArgument);
    // The server is still healthy.
    assert_eq!(server.scan(receive("X", "AFTER")).await.seq, 2);
}

#[tokio::test]
async fn a_retried_event_id_gets_the_original_reply_and_writes_nothing() {
    let server = TestServer::start().await;
    server.add_item(item("X")).await;
    let request = receive("X", "R-1");
    let original = server.scan(request.clone()).await;
    assert!(!original.replayed);
    let retried = server.scan(request.clone()).await;
    assert!(retried.replayed);
    assert_eq!(
        pb::ScanReply {
            replayed: false,
            ..retried
        },
        original
    );
    // The answer stands even when the retry differs (a client bug must not apply twice).
    let mut changed = request.clone();
    changed.raw = b"R-2".to_vec();
    let reply = server.scan(changed).await;
    assert_eq!(
        (reply.seq, reply.serial.as_str(), reply.replayed),
        (1, "R-1", true)
    );
    // A rejected scan's answer is replayed too, even after the cause went away.
    let unknown = receive("LATER", "R-3");
    let first = server.scan(unknown.clone()).await;
    assert_eq!(first.reason(), pb::Reason::UnknownItem);
    server.add_item(item("LATER")).await;
    let again = server.scan(unknown).await;
    assert_eq!(
        (again.reason(), again.seq, again.replayed),
        (pb::Reason::UnknownItem, first.seq, true)
    );
    // Duplicated within one batch: decided once.
    let twice = receive("X", "R-4");
    let replies = server
        .scans()
        .scan_batch(pb::ScanBatchRequest {
            scans: vec![twice.clone(), twice],
        })
        .await
        .unwrap()
        .into_inner()
        .replies;
    assert_eq!(replies[0].seq, replies[1].seq);
    assert!(!replies[0].replayed && replies[1].replayed);
    assert_eq!(server.all_events().await.len(), 3);
}

#[tokio::test]
async fn concurrent_receives_of_one_serial_accept_exactly_one() {
    let server = TestServer::start().await;
    server.add_item(item("X")).await;
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let mut client = server.new_scan_client().await;
        tasks.push(tokio::spawn(async move {
            client
                .scan(receive("X", "CONTESTED"))
                .await
                .unwrap()
                .into_inner()
        }));
    }
    let mut accepted = 0;
    let mut duplicates = 0;
    for task in tasks {
        match task.await.unwrap().reason() {
            pb::Reason::Ok => accepted += 1,
            pb::Reason::DuplicateSerial => duplicates += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((accepted, duplicates), (1, 31));
    let events = server.all_events().await;
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=32).collect::<Vec<_>>(),
        "sequence numbers have gaps or repeats"
    );
}

#[tokio::test]
async fn stream_and_batch_answer_in_order() {
    let server = TestServer::start().await;
    server.add_item(item("X")).await;
    let requests: Vec<_> = ["A", "B", "A", "C", ""]
        .iter()
        .map(|s| receive("X", s))
        .collect();
    let mut replies = server
        .scans()
        .scan_stream(tokio_stream::iter(requests.clone()))
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    while let Some(reply) = replies.message().await.unwrap() {
        got.push((reply.event_id.clone(), reply.reason()));
    }
    let want: Vec<_> = requests
        .iter()
        .map(|r| r.event_id.clone())
        .zip([
            pb::Reason::Ok,
            pb::Reason::Ok,
            pb::Reason::DuplicateSerial,
            pb::Reason::Ok,
            pb::Reason::BadFormat,
        ])
        .collect();
    assert_eq!(got, want);

    // A malformed scan ends the stream with INVALID_ARGUMENT after the answers before it.
    let mut bad = receive("X", "E");
    bad.event_id = "nope".to_owned();
    let mut replies = server
        .scans()
        .scan_stream(tokio_stream::iter(vec![
            receive("X", "D"),
            bad,
            receive("X", "F"),
        ]))
        .await
        .unwrap()
        .into_inner();
    let first = replies.message().await.unwrap().unwrap();
    assert_eq!(first.serial, "D");
    let status = replies.message().await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("scan 1: "),
        "{}",
        status.message()
    );

    let batch: Vec<_> = (0..500)
        .map(|i| receive("X", &format!("BATCH-{i}")))
        .collect();
    let replies = server
        .scans()
        .scan_batch(pb::ScanBatchRequest {
            scans: batch.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .replies;
    assert_eq!(replies.len(), 500);
    for (request, reply) in batch.iter().zip(&replies) {
        assert_eq!(request.event_id, reply.event_id);
        assert_eq!(reply.outcome(), pb::Outcome::Accepted);
    }
    let seqs: Vec<_> = replies.iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
    assert!(server.unit("F").await.is_err());
}

#[tokio::test]
async fn gs1_barcodes_name_the_item_by_gtin() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            gtin: "09506000134352".to_owned(),
            lot_tracked: true,
            ..item("GS1-ITEM")
        })
        .await;
    server.add_item(item("OTHER")).await;
    // GS1-128 with AIM id: GTIN, lot (variable length, ended by GS), serial.
    let reply = server
        .scan(receive("", "]C1010950600013435210LOT7\u{1d}21SN-1\r"))
        .await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    assert_eq!(
        (reply.serial.as_str(), reply.sku.as_str()),
        ("SN-1", "GS1-ITEM")
    );
    assert_eq!(server.unit("SN-1").await.unwrap().lot, "LOT7");
    // A GS1 Digital Link URI in a QR code.
    let reply = server
        .scan(receive(
            "",
            "]Q1https://id.example.com/01/09506000134352/10/LOT8/21/SN-2",
        ))
        .await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    assert_eq!(server.unit("SN-2").await.unwrap().lot, "LOT8");
    // A wrong GTIN check digit is a format error that names the AI.
    let reply = server
        .scan(receive("", "]C10109506000134353\u{1d}21SN-3"))
        .await;
    assert_eq!(reply.reason(), pb::Reason::BadFormat, "{}", reply.message);
    assert!(reply.message.contains("01"), "{}", reply.message);
    // The barcode's GTIN belongs to another SKU than the handheld chose.
    let reply = server
        .scan(receive("OTHER", "]C10109506000134352\u{1d}21SN-4"))
        .await;
    assert_eq!(
        reply.reason(),
        pb::Reason::ConflictingFields,
        "{}",
        reply.message
    );
    // The barcode's lot and the lot the handheld sent disagree.
    let mut lots_differ = receive("", "]C1010950600013435210LOT7\u{1d}21SN-6");
    lots_differ.lot = "LOT9".to_owned();
    let reply = server.scan(lots_differ).await;
    assert_eq!(
        reply.reason(),
        pb::Reason::ConflictingFields,
        "{}",
        reply.message
    );
    assert!(
        reply.message.contains("\"LOT7\"") && reply.message.contains("\"LOT9\""),
        "{}",
        reply.message
    );
    // A GTIN nobody owns.
    let reply = server
        .scan(receive("", "]C10104006381333931\u{1d}21SN-5"))
        .await;
    assert_eq!(reply.reason(), pb::Reason::UnknownItem, "{}", reply.message);
}
