//! `bench soak` in a two-second form: it runs `serve` as a child, drives the mixed load, and
//! prints one line per interval with the server's RSS and the data dir's size. The figures are
//! for the person reading them (a benchmark); this only checks that the tool measures
//! something real: operations done, memory and disk read from the child, units counted.

use crate::support::run_cli;

#[test]
fn soak_reports_every_interval_with_memory_and_disk_of_the_served_store() {
    let run = run_cli(
        &[
            "bench",
            "soak",
            "--seconds",
            "2",
            "--interval-seconds",
            "1",
            "--clients",
            "2",
            "--rate",
            "200",
            "--json",
        ],
        None,
    );
    assert_eq!(
        run.code, 0,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    let samples: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect();
    assert_eq!(samples.len(), 2, "{}", run.stdout);
    for sample in &samples {
        assert!(sample["ops"].as_u64().unwrap() > 0, "{sample}");
        assert!(sample["rss_kib"].as_u64().unwrap() > 1024, "{sample}");
        assert!(sample["data_dir_bytes"].as_u64().unwrap() > 0, "{sample}");
    }
    let last = &samples[1];
    assert!(last["units"].as_u64().unwrap() > 0, "{last}");
    // Three writes per unit: every unit counted has its receive, and at most two more.
    let (units, events) = (
        last["units"].as_u64().unwrap(),
        last["events"].as_u64().unwrap(),
    );
    assert!(events >= units && events <= 3 * units, "{last}");
}

#[test]
fn soak_refuses_a_run_of_no_length() {
    let run = run_cli(&["bench", "soak", "--seconds", "0"], None);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("the run must last 1 s to 86400 s"),
        "{}",
        run.stderr
    );
}

#[test]
fn soak_serves_the_engine_asked_for() {
    for engine in ["sled", "redb"] {
        let run = run_cli(
            &[
                "bench",
                "soak",
                "--seconds",
                "1",
                "--interval-seconds",
                "1",
                "--clients",
                "1",
                "--rate",
                "50",
                "--engine",
                engine,
            ],
            None,
        );
        assert_eq!(
            run.code, 0,
            "stdout: {}\nstderr: {}",
            run.stdout, run.stderr
        );
        assert!(
            run.stdout.contains(&format!("soak on {engine}: ")),
            "{}",
            run.stdout
        );
    }
}
