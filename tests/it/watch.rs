//! WatchEvents through the real server: the log from a sequence number, then live events as
//! they are flushed, filters, resuming without gaps or repeats, a slow consumer dropped with
//! RESOURCE_EXHAUSTED, a shutdown that ends the watch instead of waiting on it, bad filters.

use std::time::Duration;

use serialtrack::proto::v1 as pb;
use tonic::Code;
use tonic::codec::Streaming;

use crate::lifecycle::at;
use crate::support::{TestServer, item, receive};

/// A bound on waiting for the server, not a pause: a watch that never answers fails the test.
const BOUND: Duration = Duration::from_secs(30);

async fn watch(server: &TestServer, request: pb::WatchEventsRequest) -> Streaming<pb::Event> {
    server
        .units()
        .watch_events(request)
        .await
        .expect("watch")
        .into_inner()
}

async fn next(events: &mut Streaming<pb::Event>) -> pb::Event {
    tokio::time::timeout(BOUND, events.message())
        .await
        .expect("an event within the bound")
        .expect("no error")
        .expect("the watch goes on")
}

#[tokio::test]
async fn a_watch_catches_up_then_tails_live_filtered_and_resumable() {
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    for serial in ["U1", "U2"] {
        server.scan(receive("TV", serial)).await;
    }
    let mut all = watch(&server, pb::WatchEventsRequest::default()).await;
    let mut only_u2 = watch(
        &server,
        pb::WatchEventsRequest {
            serial: "U2".into(),
            ..Default::default()
        },
    )
    .await;
    let mut rejected_putaways = watch(
        &server,
        pb::WatchEventsRequest {
            action: pb::Action::Putaway.into(),
            outcome: pb::Outcome::Rejected.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!((next(&mut all).await.seq, next(&mut all).await.seq), (1, 2));
    assert_eq!(next(&mut only_u2).await.seq, 2);

    // Live: each new event as it is flushed, to each watcher whose filters it matches.
    server.scan(receive("TV", "U3")).await;
    server.scan(at("A-01", "U2")).await;
    server.scan(at("", "U1")).await; // no location: rejected
    let live: Vec<(u64, String)> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            let e = next(&mut all).await;
            v.push((e.seq, e.serial));
        }
        v
    };
    assert_eq!(live, [(3, "U3".into()), (4, "U2".into()), (5, "U1".into())]);
    let u2 = next(&mut only_u2).await;
    assert_eq!((u2.seq, u2.action()), (4, pb::Action::Putaway));
    let refused = next(&mut rejected_putaways).await;
    assert_eq!((refused.seq, refused.serial.as_str()), (5, "U1"));

    // Resuming from the last seq seen + 1 neither repeats nor misses.
    let mut resumed = watch(
        &server,
        pb::WatchEventsRequest {
            from_seq: 4,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        (next(&mut resumed).await.seq, next(&mut resumed).await.seq),
        (4, 5)
    );

    // Bad filters are refused before anything is watched.
    for (request, says) in [
        (
            pb::WatchEventsRequest {
                action: 99,
                ..Default::default()
            },
            "action 99",
        ),
        (
            pb::WatchEventsRequest {
                outcome: 99,
                ..Default::default()
            },
            "outcome 99",
        ),
        (
            pb::WatchEventsRequest {
                serial: "S".repeat(65),
                ..Default::default()
            },
            "serial has 65 bytes",
        ),
    ] {
        let status = server
            .units()
            .watch_events(request)
            .await
            .expect_err("bad filter");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains(says), "{}", status.message());
    }

    // Shutdown ends the watch with the seq to resume from, and does not wait on it.
    let stopping = tokio::spawn(server.stop());
    let ended = tokio::time::timeout(BOUND, all.message())
        .await
        .expect("the watch ends at shutdown")
        .expect_err("a status");
    assert_eq!(ended.code(), Code::Unavailable);
    assert!(
        ended.message().contains("resume with from_seq 6"),
        "{}",
        ended.message()
    );
    tokio::time::timeout(BOUND, stopping)
        .await
        .expect("the server stops with watchers connected")
        .expect("stop task");
}

#[tokio::test]
async fn a_watcher_that_falls_behind_is_dropped_not_buffered() {
    // On sled whatever the suite's backend: the watcher falls behind only when the store reads
    // its pages faster than HTTP/2 carries them to the client's buffers. Over PostgreSQL
    // (a few ms per page) the transport keeps up with 20,000 events and nobody is dropped.
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_sled_in(&temp.path().join("data")).await;
    server.add_item(item("TV")).await;
    // Watching, but not reading, while 20,000 events are written.
    let mut slow = watch(&server, pb::WatchEventsRequest::default()).await;
    for batch in 0..2 {
        let scans = (0..10_000)
            .map(|i| receive("TV", &format!("B{batch}-{i:05}")))
            .collect();
        server
            .scans()
            .scan_batch(pb::ScanBatchRequest { scans })
            .await
            .expect("batch");
    }
    let mut seen = 0u64;
    let status = loop {
        match tokio::time::timeout(BOUND, slow.message())
            .await
            .expect("the watch answers within the bound")
        {
            Ok(Some(event)) => {
                seen += 1;
                assert_eq!(event.seq, seen, "in order, without gaps");
            }
            Ok(None) => panic!("the watch ended without a status after {seen} events"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(seen < 20_000, "{seen}");
    assert!(
        status
            .message()
            .contains(&format!("resume with from_seq {}", seen + 1)),
        "{seen}: {}",
        status.message()
    );
}

#[tokio::test]
async fn the_cli_follows_the_log_with_filters() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    server.scan(receive("TV", "W1")).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_serialtrack"))
        .args([
            "--server",
            &server.url,
            "--json",
            "watch",
            "--action",
            "putaway",
            "--outcome",
            "accepted",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the CLI");
    let stdout = child.stdout.take().expect("stdout");
    server.scan(receive("TV", "W2")).await;
    server.scan(at("A-01", "W2")).await;
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(BOUND, line)
        .await
        .expect("a line within the bound")
        .expect("reader")
        .expect("read");
    child.kill().expect("kill");
    child.wait().expect("reap");
    let event: serde_json::Value = serde_json::from_str(line.trim()).expect("json");
    assert_eq!(
        (&event["serial"], &event["action"], &event["seq"]),
        (&"W2".into(), &"PUTAWAY".into(), &3.into())
    );
    let bad = server.cli(&["watch", "--outcome", "maybe"]).await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("not accepted, rejected or warning"),
        "{}",
        bad.stderr
    );
}
