//! Crash torture in its short form (CI): the real binary's `torture` runs `serve` as a child
//! process, SIGKILLs it after a random number of answers 20 times, restarts it on the same
//! data dir, and checks every answer against the log afterwards (see `bench/torture.rs`).

use crate::support::run_cli;

#[test]
fn twenty_sigkills_under_load_lose_no_accepted_scan_and_apply_no_retry_twice() {
    let run = run_cli(
        &["torture", "--rounds", "20", "--clients", "4", "--json"],
        None,
    );
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json report");
    assert_eq!(report["rounds"], 20, "{report}");
    // Started once, restarted after each of the 20 kills and once more for the checks.
    assert_eq!(report["store_opens"], 22, "{report}");
    let answered = report["answered"].as_u64().unwrap();
    assert!(
        answered >= 20,
        "each round kills after at least one answer: {report}"
    );
    assert_eq!(report["events"].as_u64().unwrap(), answered, "{report}");
    // Every kill leaves scans in flight that are retried with their event_id, and every
    // client sends an answered scan again after it moves to a new server.
    assert!(report["retried"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["resent"].as_u64().unwrap() >= 1, "{report}");
}

#[test]
fn torture_refuses_a_bad_round_count_plainly() {
    let run = run_cli(&["torture", "--rounds", "0"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--rounds must be 1 to 100000"),
        "{}",
        run.stderr
    );
}
