//! The embedded engines: a data dir sled made (before redb) is served on sled, a new one is made
//! on redb, and `migrate --to DIR` moves a data dir to a new one on redb, verified.

use serialtrack::proto::v1 as pb;
use serialtrack::store::KvEngine;

use crate::support::{TestServer, item, json_lines, receive, run_cli, spawn_serve_lines};

/// A data dir sled made (before redb) is served on sled, with its data, and gets no redb file;
/// a new data dir is served on redb. The listening line names the engine.
#[tokio::test]
async fn a_sled_data_dir_stays_on_sled_and_a_new_one_is_made_on_redb() {
    let temp = tempfile::tempdir().unwrap();
    let old = temp.path().join("old");
    let server = TestServer::start_sled_in(&old).await;
    server.add_item(item("TV")).await;
    server.scan(receive("TV", "OLD-1")).await;
    drop(server.stop().await);
    for (dir, engine, serial) in [
        (old.clone(), "sled", "OLD-2"),
        (temp.path().join("new"), "redb", "NEW-1"),
    ] {
        let dir_text = dir.to_str().unwrap();
        let (mut child, lines) =
            spawn_serve_lines(&["--insecure-no-auth", "--data-dir", dir_text], 1);
        assert!(
            lines[0].ends_with(&format!("(data dir {dir_text} ({engine}))\n")),
            "{}",
            lines[0]
        );
        let addr = lines[0]
            .strip_prefix("serialtrack listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap();
        let url = format!("http://{addr}");
        let cli = |args: &[&str]| run_cli(&[&["--server", &url][..], args].concat(), None);
        if engine == "redb" {
            assert_eq!(cli(&["item", "add", "--sku", "TV"]).code, 0);
        }
        let scanned = cli(&[
            "scan",
            "--action",
            "receive",
            "--station",
            "DOCK",
            "--sku",
            "TV",
            serial,
        ]);
        assert_eq!(scanned.code, 0, "{}{}", scanned.stdout, scanned.stderr);
        assert!(
            scanned.stdout.starts_with("ACCEPTED OK"),
            "{}",
            scanned.stdout
        );
        let shown = cli(&["--json", "unit", "show", serial]);
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        if engine == "sled" {
            let kept = cli(&["--json", "unit", "show", "OLD-1"]);
            assert_eq!(
                kept.code, 0,
                "the sled dir's data is served: {}",
                kept.stderr
            );
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(dir.join("db").is_dir(), engine == "sled", "{engine}");
        assert_eq!(
            dir.join("store.redb").is_file(),
            engine == "redb",
            "{engine}"
        );
    }
}

#[tokio::test]
async fn migrate_moves_a_sled_data_dir_to_a_new_redb_one_verified() {
    let temp = tempfile::tempdir().unwrap();
    let old = temp.path().join("old");
    let server = TestServer::start_sled_in(&old).await;
    server.add_item(item("TV")).await;
    for serial in ["M1", "M2", "M3", "M1"] {
        server.scan(receive("TV", serial)).await;
    }
    let retried = receive("TV", "M4");
    let original = server.scan(retried.clone()).await;
    let before = server.all_events().await;
    drop(server.stop().await);
    std::fs::write(old.join("admin.token"), "st_secret\n").unwrap();
    let (old_text, new) = (old.to_str().unwrap(), temp.path().join("new"));
    let new_text = new.to_str().unwrap();
    // What a run cut short left is replaced.
    std::fs::create_dir_all(temp.path().join("new.partial/leftover")).unwrap();

    let run = run_cli(
        &["--json", "migrate", "--from", old_text, "--to", new_text],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = json_lines(&run.stdout).remove(0);
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["events"], 5);
    assert_eq!(report["keys_by_kind"]["e"], 5);
    assert_eq!(report["keys_by_kind"]["u"], 4);
    assert_eq!(report["to"], new_text);
    assert!(new.join("store.redb").is_file() && !new.join("db").exists());
    assert!(!temp.path().join("new.partial").exists());
    assert_eq!(
        std::fs::read_to_string(new.join("admin.token")).unwrap(),
        "st_secret\n"
    );
    let text = run_cli(&["migrate", "--from", old_text, "--to", new_text], None);
    assert_eq!(text.code, 2, "{}", text.stderr);
    assert!(
        text.stderr
            .contains("already exists; migrate copies into a new data dir only"),
        "{}",
        text.stderr
    );
    let url = run_cli(
        &["migrate", "--from", old_text, "--to", "http://db:5432/st"],
        None,
    );
    assert_eq!(url.code, 2);
    assert!(
        url.stderr
            .contains("neither a postgres:// URL nor a directory"),
        "{}",
        url.stderr
    );

    let missing = temp.path().join("typo");
    let nothing = run_cli(
        &[
            "migrate",
            "--from",
            missing.to_str().unwrap(),
            "--to",
            temp.path().join("x").to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(nothing.code, 2);
    assert!(
        nothing.stderr.contains("holds no serialtrack store"),
        "{}",
        nothing.stderr
    );
    assert!(!missing.exists() && !temp.path().join("x").exists());

    // The copy serves on redb: the same log, a retry answered from it, new events chained on.
    let server = TestServer::start_engine_in(&new, KvEngine::Redb).await;
    assert_eq!(server.all_events().await, before);
    let again = server.scan(retried).await;
    assert!(again.replayed);
    assert_eq!(again.seq, original.seq);
    let next = server.scan(receive("TV", "M5")).await;
    assert_eq!((next.reason(), next.seq), (pb::Reason::Ok, 6));
    let verify = server.cli(&["audit", "verify"]).await;
    assert!(
        verify.stdout.starts_with("intact: 6 events checked"),
        "{}",
        verify.stdout
    );
    drop(server.stop().await);
}

/// The suite's own servers run on the engine `SERIALTRACK_TEST_STORE` names (sled, or redb
/// when unset), so that `.ci/run`'s pass on sled really is on sled.
#[tokio::test]
async fn the_suite_runs_on_the_engine_it_was_asked_for() {
    let wanted = match std::env::var(crate::support::TEST_STORE).ok().as_deref() {
        Some("postgres") => return,
        Some("sled") => "db",
        _ => "store.redb",
    };
    let server = TestServer::start().await;
    server.add_item(item("TV")).await;
    assert!(
        server.dir.join(wanted).exists(),
        "{wanted} in {}",
        server.dir.display()
    );
    drop(server.stop().await);
}
