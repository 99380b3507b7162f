//! CSV export of units and events through the real CLI against the real server: a header,
//! one row per unit or event, fields quoted where they must be.

use serialtrack::proto::v1 as pb;

use crate::support::{TestServer, item, receive};

/// Splits one CSV record into fields (RFC 4180 quoting; no line breaks in these fields).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

#[tokio::test]
async fn units_and_events_export_as_csv() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            lot_tracked: true,
            ..item("TV")
        })
        .await;
    // A lot with a comma and a quote (GS1 allows both) must survive the round trip.
    for serial in ["E1", "E2"] {
        let scan = pb::ScanRequest {
            lot: "L,\"7".to_owned(),
            ..receive("TV", serial)
        };
        assert_eq!(server.scan(scan).await.outcome(), pb::Outcome::Accepted);
    }
    let refused = receive("TV", "E3"); // no lot: MISSING_FIELD
    assert_eq!(server.scan(refused).await.outcome(), pb::Outcome::Rejected);

    let run = server.cli(&["export", "units", "--all"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<Vec<String>> = run.stdout.lines().map(fields).collect();
    assert_eq!(rows.len(), 3, "{}", run.stdout);
    assert_eq!(&rows[0][..4], ["serial", "sku", "gtin", "lot"]);
    assert_eq!(rows[1][0], "E1");
    assert_eq!(rows[1][3], "L,\"7");
    assert_eq!(rows[1][5], "RECEIVED");
    assert!(rows.iter().all(|r| r.len() == rows[0].len()), "{rows:?}");

    let run = server.cli(&["export", "events", "--from", "2"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<Vec<String>> = run.stdout.lines().map(fields).collect();
    let header = &rows[0];
    let col = |name: &str| header.iter().position(|h| h == name).expect(name);
    assert_eq!(rows.len(), 3, "{}", run.stdout);
    assert_eq!(rows[1][col("seq")], "2");
    assert_eq!(rows[2][col("serial")], "E3");
    assert_eq!(rows[2][col("outcome")], "REJECTED");
    assert_eq!(rows[2][col("reason")], "MISSING_FIELD");
    assert!(rows[2][col("recorded_at")].ends_with('Z'));
    assert!(rows.iter().all(|r| r.len() == header.len()), "{rows:?}");

    let run = server.cli(&["export", "units"]).await;
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("--all"), "{}", run.stderr);
}
