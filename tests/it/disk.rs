//! Disk trouble: the data dir stops taking writes during load, then takes them again.
//!
//! The real binary's `serve` runs as a child process (it catches SIGXFSZ itself, so that a
//! file-size limit fails the write instead of killing it); once it holds some data, its
//! RLIMIT_FSIZE is lowered (prlimit, no root needed) to just above the size of its files, so that sled's writes fail with EFBIG mid-load, as on a full disk. Required: every
//! failed write is answered UNAVAILABLE with a message that says what happened and what to do;
//! nothing is acknowledged that is not on disk; a scan answered UNAVAILABLE is not visible to
//! readers (sled keeps a failed batch in memory: the store must not answer from it); and once
//! the limit is raised again the same server accepts writes, and retries with the same
//! `event_id` are applied exactly once. A final SIGKILL and restart checks the disk.
//!
//! (A read-only data dir cannot be made here: the suite runs as root, which ignores file
//! modes, and sled keeps its files open; the file-size limit is the failure it can cause.)

use std::collections::HashSet;
use std::path::Path;

use serialtrack::bench::torture::{ServeChild, log_tail};
use serialtrack::proto::v1 as pb;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{ScanServiceClient, UnitServiceClient, item, receive};

/// Headroom above the files' size when the limit is lowered: a few groups' worth.
const HEADROOM_BYTES: u64 = 64 * 1024;
/// Failed writes to collect before space returns.
const FAILURES_WANTED: usize = 12;
/// Scans the load may send before the test calls the limit ineffective.
const SCANS_MAX: usize = 50_000;
const CLIENTS: usize = 4;

fn set_file_size_limit(pid: u32, bytes: Option<u64>) {
    let limit = libc::rlimit {
        rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    };
    let pid = libc::pid_t::try_from(pid).expect("pid");
    // SAFETY: prlimit reads `limit` and writes nothing (old limit pointer is null).
    let done = unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()) };
    assert_eq!(done, 0, "prlimit: {}", std::io::Error::last_os_error());
}

fn largest_file(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("read data dir")
        .flatten()
        .map(|entry| {
            let meta = entry.metadata().expect("metadata");
            if meta.is_dir() {
                largest_file(&entry.path())
            } else {
                meta.len()
            }
        })
        .max()
        .unwrap_or(0)
}

fn start(data: &Path, log: &Path) -> ServeChild {
    // No signal set-up here: `serve` itself turns SIGXFSZ into a failed write.
    ServeChild::start(
        Path::new(env!("CARGO_BIN_EXE_serialtrack")),
        data,
        log,
        |_| {},
    )
    .expect("start serve")
}

async fn connect(server: &ServeChild) -> Channel {
    Channel::from_shared(server.url.clone())
        .expect("url")
        .connect()
        .await
        .expect("connect")
}

/// One scan and how it was answered.
struct Sent {
    request: pb::ScanRequest,
    answer: Result<pb::ScanReply, tonic::Status>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_acknowledges_nothing_unwritten_and_recovers() {
    let temp = tempfile::tempdir().expect("temp dir");
    let data = temp.path().join("data");
    let log = temp.path().join("serve.log");
    let server = start(&data, &log);
    let channel = connect(&server).await;
    pb::catalog_service_client::CatalogServiceClient::new(channel.clone())
        .put_item(pb::PutItemRequest {
            item: Some(item("D")),
        })
        .await
        .expect("put item");
    let mut scans = ScanServiceClient::new(channel.clone());
    for i in 0..50 {
        let reply = scans
            .scan(receive("D", &format!("BEFORE-{i}")))
            .await
            .expect("scan before the limit")
            .into_inner();
        assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{reply:?}");
    }

    // The disk fills up under load.
    set_file_size_limit(server.pid(), Some(largest_file(&data) + HEADROOM_BYTES));
    let failures = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let mut scans = ScanServiceClient::new(channel.clone());
        let failures = failures.clone();
        tasks.push(tokio::spawn(async move {
            let mut sent = Vec::new();
            let mut i = 0;
            while failures.load(std::sync::atomic::Ordering::SeqCst) < FAILURES_WANTED
                && i < SCANS_MAX / CLIENTS
            {
                let request = receive("D", &format!("FULL-{c}-{i}"));
                i += 1;
                let answer = scans.scan(request.clone()).await.map(|r| r.into_inner());
                if answer.is_err() {
                    failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                sent.push(Sent { request, answer });
            }
            sent
        }));
    }
    let mut sent: Vec<Sent> = Vec::new();
    for task in tasks {
        sent.extend(task.await.expect("load task"));
    }
    let failed: Vec<&Sent> = sent.iter().filter(|s| s.answer.is_err()).collect();
    assert!(
        failed.len() >= FAILURES_WANTED,
        "only {} of {} writes failed under the file-size limit; server log: {}",
        failed.len(),
        sent.len(),
        log_tail(&log)
    );
    let mut saw_efbig = false;
    for s in &failed {
        let status = s.answer.as_ref().unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(
            status.message().contains("the data dir")
                && status.message().contains(
                    "retry it (with the same event_id) once the disk has room and is writable"
                ),
            "{status:?}"
        );
        saw_efbig |= status.message().contains("File too large");
    }
    assert!(saw_efbig, "no failure named the cause (EFBIG)");

    // While the disk is full, a scan answered UNAVAILABLE is not there for readers: sled still
    // holds the failed batch in memory, and the store must not answer from it.
    let mut units = UnitServiceClient::new(channel.clone());
    for s in &failed {
        let serial = String::from_utf8(s.request.raw.clone()).unwrap();
        match units
            .get_unit(pb::GetUnitRequest {
                serial: serial.clone(),
                gtin: String::new(),
            })
            .await
        {
            Err(status) if matches!(status.code(), Code::NotFound | Code::Unavailable) => {}
            other => panic!("unit {serial} answered UNAVAILABLE at receive is readable: {other:?}"),
        }
    }

    // Space returns: the same server takes writes again, and each refused scan, retried with
    // its event_id, is applied once (or answered from the log when it had reached the disk).
    set_file_size_limit(server.pid(), None);
    for s in &failed {
        let reply = scans
            .scan(s.request.clone())
            .await
            .expect("retry after space returned")
            .into_inner();
        assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{reply:?}");
    }
    let reply = scans
        .scan(receive("D", "AFTER-1"))
        .await
        .expect("scan after space returned")
        .into_inner();
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{reply:?}");

    // What the disk holds, after a crash: every acknowledged scan once, no gaps.
    server.kill().expect("kill");
    let server = start(&data, &log);
    let channel = connect(&server).await;
    let mut units = UnitServiceClient::new(channel.clone());
    let events = serialtrack::bench::torture::all_events(&channel)
        .await
        .expect("events");
    let n = serialtrack::bench::torture::check_sequence(&events).expect("sequence");
    let ids: HashSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
    // 50 before, every scan of the load (each accepted at first or on its retry), one after.
    assert_eq!(n, u64::try_from(50 + sent.len() + 1).unwrap());
    for s in &sent {
        assert!(
            ids.contains(s.request.event_id.as_str()),
            "{}",
            s.request.event_id
        );
        let serial = String::from_utf8(s.request.raw.clone()).unwrap();
        let unit = units
            .get_unit(pb::GetUnitRequest {
                serial: serial.clone(),
                gtin: String::new(),
            })
            .await
            .unwrap_or_else(|e| panic!("acknowledged unit {serial} lost: {e:?}"));
        assert_eq!(
            unit.into_inner().unit.unwrap().state(),
            pb::UnitState::Received
        );
    }
    server.kill().expect("kill");
}
