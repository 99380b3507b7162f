//! The tamper-evident trail through the real server and CLI: every event chained to the one
//! before it, `audit head`, and `audit verify` finding an edited, a deleted and an edited
//! newest event (the last only against a kept head), after editing the sled files directly
//! (sled only, whatever the suite's backend: the tests edit its files).

use std::path::Path;

use serialtrack::proto::v1 as pb;

use crate::support::{TestServer, item, json_lines, receive};

/// Starts a server over `dir` and receives `serials` (each once; `dup` again, rejected).
async fn log_of(dir: &Path, serials: &[&str], dup: &str) -> TestServer {
    let server = TestServer::start_sled_in(dir).await;
    server.add_item(item("TV")).await;
    for serial in serials.iter().chain([&dup]) {
        server.scan(receive("TV", serial)).await;
    }
    server
}

/// Edits the stored record of event `seq` in place: `from` becomes `to` (same length).
fn edit_event(dir: &Path, seq: u64, from: &[u8], to: &[u8]) {
    edit_in(&sled::open(dir.join("db")).unwrap(), seq, from, to);
}

/// As [`edit_event`], in a database the caller opened. (sled lets go of its file lock only
/// when its background threads have, so a second open right after a first one's drop can
/// find it still held.)
fn edit_in(db: &sled::Db, seq: u64, from: &[u8], to: &[u8]) {
    let key = [&[b'e'][..], &seq.to_be_bytes()].concat();
    let mut record = db.get(&key).unwrap().expect("event stored").to_vec();
    let at = record
        .windows(from.len())
        .position(|w| w == from)
        .expect("text in the record");
    record[at..at + to.len()].copy_from_slice(to);
    db.insert(&key, record).unwrap();
    db.flush().unwrap();
}

fn delete_in(db: &sled::Db, seq: u64) {
    db.remove([&[b'e'][..], &seq.to_be_bytes()].concat())
        .unwrap();
    db.flush().unwrap();
}

async fn verify(server: &TestServer, extra: &[&str]) -> (i32, serde_json::Value) {
    let run = server
        .cli(&[&["--json", "audit", "verify"], extra].concat())
        .await;
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    (run.code, json_lines(&run.stdout).remove(0))
}

#[tokio::test]
async fn every_event_is_chained_and_an_intact_log_verifies() {
    let temp = tempfile::tempdir().unwrap();
    let server = log_of(temp.path(), &["S1", "S2", "S3"], "S1").await;
    let events = server.all_events().await;
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[0].prev_hash,
        vec![0u8; 32],
        "the first carries zeros"
    );
    for pair in events.windows(2) {
        assert_eq!(pair[1].prev_hash.len(), 32);
        assert_ne!(pair[1].prev_hash, pair[0].prev_hash);
    }
    let head = server.cli_ok(&["audit", "head"]).await;
    let head = head.trim();
    assert!(head.starts_with("4:") && head.len() == 2 + 64, "{head}");
    let text = server.cli(&["audit", "verify"]).await;
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert_eq!(
        text.stdout.trim(),
        format!("intact: 4 events checked, head {head}")
    );
    let (code, report) = verify(&server, &["--expect-head", head]).await;
    assert_eq!((code, &report["intact"]), (0, &serde_json::json!(true)));
    // A bad kept head is refused before any walk.
    let bad = server
        .cli(&["audit", "verify", "--expect-head", "4:abc"])
        .await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("64 hex digits"), "{}", bad.stderr);
    // The RPC refuses a hash of the wrong length.
    let status = pb::audit_service_client::AuditServiceClient::new(server.channel())
        .verify(pb::VerifyAuditRequest {
            expect_head: Some(pb::AuditHead {
                seq: 1,
                hash: vec![1, 2, 3],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn an_edited_or_deleted_event_is_found() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = log_of(&dir, &["S1", "S2", "S3", "S4"], "S2").await;
    server.stop().await;
    // The operator of event 2 rewritten.
    edit_event(&dir, 2, b"alice", b"mally");
    let server = TestServer::start_sled_in(&dir).await;
    let (code, report) = verify(&server, &[]).await;
    assert_eq!(code, 1);
    assert_eq!(report["break_seq"], 2, "{report}");
    assert!(
        report["break_reason"]
            .as_str()
            .unwrap()
            .contains("event 2 does not hash to what event 3 carries"),
        "{report}"
    );
    let text = server.cli(&["audit", "verify"]).await;
    assert!(
        text.stdout.starts_with("BROKEN at event 2"),
        "{}",
        text.stdout
    );
    server.stop().await;

    // Put it back and delete event 4 instead: a gap.
    let db = sled::open(dir.join("db")).unwrap();
    edit_in(&db, 2, b"mally", b"alice");
    delete_in(&db, 4);
    drop(db);
    let server = TestServer::start_sled_in(&dir).await;
    let (code, report) = verify(&server, &[]).await;
    assert_eq!((code, &report["break_seq"]), (1, &serde_json::json!(4)));
    assert!(
        report["break_reason"]
            .as_str()
            .unwrap()
            .contains("event 4 is missing"),
        "{report}"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_edited_newest_event_shows_against_the_kept_head() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = log_of(&dir, &["S1", "S2"], "S1").await;
    let kept = server.cli_ok(&["audit", "head"]).await.trim().to_owned();
    server.stop().await;
    edit_event(&dir, 3, b"alice", b"mally");
    let server = TestServer::start_sled_in(&dir).await;
    // Nothing after event 3 gives it away...
    let (code, _) = verify(&server, &[]).await;
    assert_eq!(code, 0);
    // ... but the head the auditor kept does.
    let (code, report) = verify(&server, &["--expect-head", &kept]).await;
    assert_eq!((code, &report["break_seq"]), (1, &serde_json::json!(3)));
    assert!(
        report["break_reason"]
            .as_str()
            .unwrap()
            .contains("changed after the head was taken"),
        "{report}"
    );
    // A kept head past the end of the log: events were deleted.
    let (code, report) = verify(&server, &["--expect-head", &format!("9{}", &kept[1..])]).await;
    assert_eq!(code, 1);
    assert!(
        report["break_reason"]
            .as_str()
            .unwrap()
            .contains("before the kept head 9"),
        "{report}"
    );
    // New events chain on from the log as it now is.
    server.scan(receive("TV", "S9")).await;
    assert_eq!(verify(&server, &[]).await.0, 0);
    server.stop().await;
}
