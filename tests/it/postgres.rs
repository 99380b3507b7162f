//! The PostgreSQL-wire store with several `serve` instances on one database: a serial
//! received at two instances at once is accepted once, an `event_id` retried at the other
//! instance gets the original answer, a watch resumed at the other instance misses and
//! repeats nothing, the schema is applied once by instances starting together. Needs
//! `SERIALTRACK_TEST_PG` (`.ci/run` sets it; each test says plainly when it is skipped, and
//! fails on CI without it). The rest of the suite runs on PostgreSQL too with
//! `SERIALTRACK_TEST_STORE=postgres`.

use std::collections::BTreeSet;
use std::time::Duration;

use serialtrack::proto::v1 as pb;
use serialtrack::store::{KvEngine, PgStore};
use tonic::codec::Streaming;

use crate::support::{TestServer, fresh_pg_schema, item, receive, test_pg};

/// A bound on waiting for a server, not a pause.
const BOUND: Duration = Duration::from_secs(30);

/// A fresh schema on the test cluster, or `None` when the test is skipped.
async fn database(test: &str) -> Option<String> {
    let cluster = test_pg(test)?;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    Some(fresh_pg_schema(&cluster, &name).await)
}

/// Two instances on one fresh database.
async fn two_instances(test: &str) -> Option<(TestServer, TestServer)> {
    let database = database(test).await?;
    let a = TestServer::start_pg(&database).await;
    let b = TestServer::start_pg(&database).await;
    Some((a, b))
}

/// A plain SQL connection to the test's database, and the task that drives it.
async fn sql(database: &str) -> (tokio_postgres::Client, tokio::task::JoinHandle<()>) {
    let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    (client, driver)
}

async fn next(events: &mut Streaming<pb::Event>) -> pb::Event {
    tokio::time::timeout(BOUND, events.message())
        .await
        .expect("an event within the bound")
        .expect("no error")
        .expect("the watch goes on")
}

#[tokio::test]
async fn a_serial_received_at_two_instances_at_once_is_accepted_once() {
    let Some((a, b)) = two_instances("postgres::a_serial_received_at_two_instances_at_once").await
    else {
        return;
    };
    a.add_item(item("TV")).await;
    const ROUNDS: usize = 40;
    for round in 0..ROUNDS {
        let serial = format!("TWICE-{round:03}");
        let (at_a, at_b) = tokio::join!(
            a.scan(receive("TV", &serial)),
            b.scan(receive("TV", &serial))
        );
        let mut reasons = [at_a.reason(), at_b.reason()];
        reasons.sort_by_key(|r| *r as i32);
        assert_eq!(
            reasons,
            [pb::Reason::Ok, pb::Reason::DuplicateSerial],
            "round {round}: {at_a:?} {at_b:?}"
        );
        assert_ne!(at_a.seq, at_b.seq);
    }
    // One log for both, gap-free, chained across the instances' groups.
    let events = b.all_events().await;
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=2 * ROUNDS as u64).collect::<Vec<_>>());
    let accepted = events
        .iter()
        .filter(|e| e.outcome() == pb::Outcome::Accepted)
        .count();
    assert_eq!(accepted, ROUNDS);
    // A reads up to the sequence it has seen committed, which follows B's last group within
    // its watermark poll (20 ms): the check waits for that, then wants the whole chain intact.
    let deadline = tokio::time::Instant::now() + BOUND;
    let verify = loop {
        let verify = a.cli(&["audit", "verify"]).await;
        assert_eq!(verify.code, 0, "{}{}", verify.stdout, verify.stderr);
        let whole = format!("intact: {} events checked", 2 * ROUNDS);
        if verify.stdout.starts_with(&whole) || tokio::time::Instant::now() >= deadline {
            break verify;
        }
    };
    assert!(
        verify
            .stdout
            .starts_with(&format!("intact: {} events checked", 2 * ROUNDS)),
        "{}",
        verify.stdout
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn an_event_id_retried_at_the_other_instance_gets_the_original_answer() {
    let Some((a, b)) = two_instances("postgres::an_event_id_retried_at_the_other_instance").await
    else {
        return;
    };
    a.add_item(item("TV")).await;
    let first = receive("TV", "R1");
    let original = a.scan(first.clone()).await;
    assert_eq!(
        (original.reason(), original.replayed),
        (pb::Reason::Ok, false)
    );
    // The same scan again, at the other instance: the stored answer, nothing written.
    let retried = b.scan(first).await;
    assert!(retried.replayed);
    assert_eq!(
        (
            retried.seq,
            retried.outcome(),
            retried.reason(),
            &retried.message
        ),
        (
            original.seq,
            original.outcome(),
            original.reason(),
            &original.message
        )
    );
    // A rejected scan's retry gets its rejection back, not a fresh decision.
    let dup = receive("TV", "R1");
    let rejected = b.scan(dup.clone()).await;
    assert_eq!(rejected.reason(), pb::Reason::DuplicateSerial);
    let again = a.scan(dup).await;
    assert!(again.replayed);
    assert_eq!(
        (again.seq, again.reason()),
        (rejected.seq, rejected.reason())
    );
    assert_eq!(a.all_events().await.len(), 2, "the retries wrote nothing");
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_watch_resumed_at_the_other_instance_misses_nothing_and_repeats_nothing() {
    let Some((a, b)) = two_instances("postgres::a_watch_resumed_at_the_other_instance").await
    else {
        return;
    };
    a.add_item(item("TV")).await;
    const PER_INSTANCE: usize = 60;
    let total = 2 * PER_INSTANCE as u64;
    let mut first_watch = b
        .units()
        .watch_events(pb::WatchEventsRequest::default())
        .await
        .expect("watch")
        .into_inner();
    // Both instances write at once, so their groups interleave in the log.
    let writers = [
        ("A", a.new_scan_client().await),
        ("B", b.new_scan_client().await),
    ]
    .map(|(name, mut client)| {
        tokio::spawn(async move {
            for i in 0..PER_INSTANCE {
                client
                    .scan(receive("TV", &format!("{name}-{i:03}")))
                    .await
                    .expect("scan");
            }
        })
    });
    let mut seen = Vec::new();
    for _ in 0..total / 2 {
        seen.push(next(&mut first_watch).await);
    }
    drop(first_watch);
    let resume_at = seen.last().map_or(1, |e| e.seq + 1);
    let mut resumed = a
        .units()
        .watch_events(pb::WatchEventsRequest {
            from_seq: resume_at,
            ..Default::default()
        })
        .await
        .expect("resume")
        .into_inner();
    while (seen.len() as u64) < total {
        seen.push(next(&mut resumed).await);
    }
    for writer in writers {
        writer.await.expect("writer");
    }
    let seqs: Vec<u64> = seen.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=total).collect::<Vec<_>>(),
        "every event once, in order"
    );
    let serials: BTreeSet<&str> = seen.iter().map(|e| e.serial.as_str()).collect();
    assert_eq!(serials.len(), 2 * PER_INSTANCE);
    let from_a = seen.iter().filter(|e| e.serial.starts_with("A-")).count();
    assert_eq!(from_a, PER_INSTANCE);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn instances_starting_together_apply_the_schema_once_and_a_later_one_is_refused() {
    let Some(database) = database("postgres::instances_starting_together_apply_the_schema").await
    else {
        return;
    };
    let opened: Vec<_> = (0..3)
        .map(|_| {
            let database = database.clone();
            std::thread::spawn(move || PgStore::open(&database).map(drop))
        })
        .collect();
    for open in opened {
        open.join().expect("open thread").expect("open");
    }
    let (client, driver) = sql(&database).await;
    let versions: Vec<i32> = client
        .query("SELECT version FROM serialtrack_schema", &[])
        .await
        .expect("schema table")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1]);
    let metas: i64 = client
        .query_one("SELECT count(*) FROM meta", &[])
        .await
        .expect("meta")
        .get(0);
    assert_eq!(metas, 1);
    client
        .batch_execute("INSERT INTO serialtrack_schema (version) VALUES (99)")
        .await
        .expect("a later version");
    let refused = PgStore::open(&database)
        .map(drop)
        .expect_err("a later schema");
    assert!(
        refused
            .to_string()
            .contains("schema version 99, written by a later serialtrack"),
        "{refused}"
    );
    drop(client);
    let _ = driver.await;
}

#[tokio::test]
async fn two_serve_processes_share_one_database_given_by_flag_or_variable() {
    use crate::support::{CatalogServiceClient, ScanServiceClient, spawn_serve};
    let Some(database) = database("postgres::two_serve_processes_share_one_database").await else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().to_str().unwrap();
    let (mut first, at_first) = spawn_serve(&[
        "--store",
        &database,
        "--insecure-no-auth",
        "--data-dir",
        dir,
    ]);
    // The second takes the URL from its variable, as a deployment's unit file would give it.
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_serialtrack"))
        .args(["serve", "--listen", "127.0.0.1:0", "--insecure-no-auth"])
        .args(["--data-dir", dir])
        .env("SERIALTRACK_STORE", &database)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(second.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.contains("(store postgres://"), "{line}");
    assert!(!line.contains("data dir"), "{line}");
    let at_second = line
        .strip_prefix("serialtrack listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    CatalogServiceClient::connect(format!("http://{at_first}"))
        .await
        .unwrap()
        .put_item(pb::PutItemRequest {
            item: Some(item("TV")),
        })
        .await
        .unwrap();
    let mut a = ScanServiceClient::connect(format!("http://{at_first}"))
        .await
        .unwrap();
    let mut b = ScanServiceClient::connect(format!("http://{at_second}"))
        .await
        .unwrap();
    for round in 0..10 {
        let serial = format!("P-{round}");
        let (x, y) = tokio::join!(
            a.scan(receive("TV", &serial)),
            b.scan(receive("TV", &serial))
        );
        let mut reasons = [
            x.unwrap().into_inner().reason(),
            y.unwrap().into_inner().reason(),
        ];
        reasons.sort_by_key(|r| *r as i32);
        assert_eq!(reasons, [pb::Reason::Ok, pb::Reason::DuplicateSerial]);
    }
    for child in [&mut first, &mut second] {
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

#[tokio::test]
async fn migrate_copies_a_sled_store_whole_and_writers_go_on_from_it() {
    let Some(database) = database("postgres::migrate_copies_a_sled_store_whole").await else {
        return;
    };
    migrate_copies_whole(KvEngine::Sled, &database).await;
}

#[tokio::test]
async fn migrate_copies_a_redb_store_whole_and_writers_go_on_from_it() {
    let Some(database) = database("postgres::migrate_copies_a_redb_store_whole").await else {
        return;
    };
    migrate_copies_whole(KvEngine::Redb, &database).await;
}

/// A data dir on `engine` copied into `database` by the real binary, then served from there.
async fn migrate_copies_whole(engine: KvEngine, database: &str) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let embedded = TestServer::start_engine_in(&dir, engine).await;
    embedded.add_item(item("TV")).await;
    for serial in ["M1", "M2", "M3", "M1"] {
        embedded.scan(receive("TV", serial)).await;
    }
    let before = embedded.all_events().await;
    let retried = receive("TV", "M4");
    let original = embedded.scan(retried.clone()).await;
    embedded.stop().await;

    let dir_text = dir.to_str().unwrap();
    let run = crate::support::run_cli(
        &["--json", "migrate", "--from", dir_text, "--to", database],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(report["verified"], true);
    assert_eq!(report["events"], 5);
    assert_eq!(report["keys_by_kind"]["e"], 5);
    assert_eq!(report["keys_by_kind"]["u"], 4);
    assert_eq!(report["keys_by_kind"]["i"], 1);

    // The copy serves: the same log, a retry answered from it, new events chained on.
    let pg = TestServer::start_pg(database).await;
    let after: Vec<pb::Event> = pg.all_events().await;
    assert_eq!(after[..before.len()], before[..]);
    let again = pg.scan(retried).await;
    assert!(again.replayed);
    assert_eq!(again.seq, original.seq);
    let next = pg.scan(receive("TV", "M5")).await;
    assert_eq!((next.reason(), next.seq), (pb::Reason::Ok, 6));
    let verify = pg.cli(&["audit", "verify"]).await;
    assert_eq!(verify.code, 0, "{}", verify.stdout);
    assert!(
        verify.stdout.starts_with("intact: 6 events checked"),
        "{}",
        verify.stdout
    );
    pg.stop().await;

    // A database that holds a store is not copied into.
    let refused = crate::support::run_cli(&["migrate", "--from", dir_text, "--to", database], None);
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("already holds a store"),
        "{}",
        refused.stderr
    );
}

#[tokio::test]
async fn a_database_being_migrated_into_takes_no_writes() {
    let Some(database) = database("postgres::a_database_being_migrated_into_takes_no_writes").await
    else {
        return;
    };
    let server = TestServer::start_pg(&database).await;
    server.add_item(item("TV")).await;
    let (client, driver) = sql(&database).await;
    // What `migrate` sets while it copies.
    client
        .batch_execute("UPDATE meta SET next_seq = 0 WHERE id = 1")
        .await
        .expect("mark");
    let status = server
        .scans()
        .scan(receive("TV", "G1"))
        .await
        .expect_err("no write while a migration runs");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(
        status.message().contains("serialtrack migrate"),
        "{}",
        status.message()
    );
    let refused = PgStore::open(&database)
        .map(drop)
        .expect_err("no open either");
    assert!(
        refused.to_string().contains("serialtrack migrate"),
        "{refused}"
    );
    // Nothing was written: once the mark is gone the scan is the log's first event.
    client
        .batch_execute("UPDATE meta SET next_seq = 1 WHERE id = 1")
        .await
        .expect("unmark");
    let accepted = server.scan(receive("TV", "G1")).await;
    assert_eq!((accepted.reason(), accepted.seq), (pb::Reason::Ok, 1));
    server.stop().await;
    drop(client);
    let _ = driver.await;
}

#[tokio::test]
async fn a_group_that_fails_to_serialize_is_decided_again_a_bounded_number_of_times() {
    let Some(database) = database("postgres::a_group_that_fails_to_serialize").await else {
        return;
    };
    let server = TestServer::start_pg(&database).await;
    server.add_item(item("TV")).await;
    let (client, driver) = sql(&database).await;
    // Each group's move of the `meta` row fails with SQLSTATE 40001, as a distributed engine's
    // transaction may, while a sequence (which no rollback resets) is at most `fail_until`.
    client
        .batch_execute(
            "CREATE SEQUENCE injected; \
             CREATE TABLE fail_until (n BIGINT NOT NULL); \
             INSERT INTO fail_until VALUES (2); \
             CREATE FUNCTION inject() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               IF nextval('injected') <= (SELECT n FROM fail_until) THEN \
                 RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; \
               END IF; \
               RETURN NEW; \
             END $$; \
             CREATE TRIGGER inject BEFORE UPDATE ON meta FOR EACH ROW EXECUTE FUNCTION inject();",
        )
        .await
        .expect("inject");
    let attempts = || async {
        client
            .query_one("SELECT last_value FROM injected", &[])
            .await
            .expect("sequence")
            .get::<_, i64>(0)
    };
    // Two failures, then the third attempt commits: one answer, one event.
    let first = server.scan(receive("TV", "F1")).await;
    assert_eq!(
        (first.reason(), first.seq, first.replayed),
        (pb::Reason::Ok, 1, false)
    );
    assert_eq!(attempts().await, 3);
    // Failing every attempt: UNAVAILABLE after GROUP_ATTEMPTS_MAX, nothing written.
    client
        .batch_execute("UPDATE fail_until SET n = 3 + 4")
        .await
        .expect("fail more");
    let retried = receive("TV", "F2");
    let status = server
        .scans()
        .scan(retried.clone())
        .await
        .expect_err("every attempt failed");
    assert_eq!(status.code(), tonic::Code::Unavailable);
    assert!(status.message().contains("40001"), "{}", status.message());
    assert_eq!(attempts().await, 3 + 4);
    assert_eq!(server.all_events().await.len(), 1);
    // The client's retry with the same event_id is decided afresh and accepted once.
    let again = server.scan(retried).await;
    assert_eq!(
        (again.reason(), again.seq, again.replayed),
        (pb::Reason::Ok, 2, false)
    );
    server.stop().await;
    drop(client);
    let _ = driver.await;
}
