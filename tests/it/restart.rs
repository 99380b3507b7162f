//! What survives a restart: units, events, idempotency answers, sequence numbers; and the
//! lock that keeps a second server off the same data dir.

use serialtrack::proto::v1 as pb;

use crate::support::{TestServer, item, receive, run_cli};

#[tokio::test]
async fn data_and_exactly_once_survive_a_restart() {
    let server = TestServer::start().await;
    server.add_item(item("X")).await;
    let first = receive("X", "KEEP-1");
    let original = server.scan(first.clone()).await;
    server.scan(receive("X", "KEEP-2")).await;
    let (dir, temp) = server.stop().await;

    let server = TestServer::start_in(&dir).await;
    let unit = server.unit("KEEP-1").await.unwrap();
    assert_eq!(unit.sku, "X");
    let retried = server.scan(first).await;
    assert!(retried.replayed);
    assert_eq!(
        pb::ScanReply {
            replayed: false,
            ..retried
        },
        original
    );
    let dup = server.scan(receive("X", "KEEP-2")).await;
    assert_eq!(dup.reason(), pb::Reason::DuplicateSerial);
    // Sequence numbers continue after the restart, without a gap.
    assert_eq!(dup.seq, 3);
    let item = server
        .catalog()
        .get_item(pb::GetItemRequest { sku: "X".into() })
        .await;
    assert!(item.is_ok());
    drop(server.stop().await);
    drop(temp);
}

#[tokio::test]
async fn a_second_serve_on_the_same_data_dir_fails_plainly() {
    // sled's data-dir lock: on sled whatever the suite's backend.
    let temp = tempfile::tempdir().unwrap();
    let server = TestServer::start_sled_in(&temp.path().join("data")).await;
    let dir = server.dir.to_str().unwrap().to_owned();
    let run = run_cli(
        &["serve", "--listen", "127.0.0.1:0", "--data-dir", &dir],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "data dir {dir} is locked by another serialtrack (pid {})",
            std::process::id()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("stop it or pass --data-dir"),
        "{}",
        run.stderr
    );
}
