//! serve's settings through the real binary: flags over `SERIALTRACK_*` variables over the
//! TOML config file over defaults, as `config check` reports them and as `serve` uses them;
//! and each way a config is refused (exit 2, the place and the key named).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{CliRun, json_lines, run_cli, spawn_serve_with_metrics};

/// The binary with `args` and exactly the `SERIALTRACK_*` variables in `env` (none inherited).
fn serialtrack(args: &[&str], env: &[(&str, &str)]) -> CliRun {
    let mut command = Command::new(env!("CARGO_BIN_EXE_serialtrack"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SERIALTRACK_") {
            command.env_remove(name);
        }
    }
    let output = command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run serialtrack");
    CliRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `config check --json`: each setting's (value, source, line).
fn check(args: &[&str], env: &[(&str, &str)]) -> Vec<serde_json::Value> {
    let mut full = vec!["--json", "config", "check"];
    full.extend(args);
    let run = serialtrack(&full, env);
    assert_eq!(run.code, 0, "{args:?} {env:?}: {}", run.stderr);
    json_lines(&run.stdout)
}

fn setting<'a>(rows: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|row| row["setting"] == name)
        .unwrap_or_else(|| panic!("no {name} in {rows:?}"))
}

#[test]
fn flags_win_over_variables_which_win_over_the_file_which_wins_over_defaults() {
    let temp = tempfile::tempdir().unwrap();
    let file = write(
        temp.path(),
        "serialtrack.toml",
        "# serve's settings\n\
         listen = \"127.0.0.1:1111\"\n\
         data_dir = \"data\"\n\
         metrics_listen = \"127.0.0.1:9464\"\n",
    );
    let env = [
        ("SERIALTRACK_CONFIG", file.as_str()),
        ("SERIALTRACK_LISTEN", "127.0.0.1:2222"),
    ];
    let all = check(&["--listen", "127.0.0.1:3333"], &env);
    assert_eq!(setting(&all, "config")["value"], file.as_str());
    assert_eq!(setting(&all, "config")["source"], "env");
    assert_eq!(setting(&all, "config")["from"], "SERIALTRACK_CONFIG");
    assert_eq!(setting(&all, "listen")["value"], "127.0.0.1:3333");
    assert_eq!(setting(&all, "listen")["source"], "flag");
    assert_eq!(setting(&all, "listen")["from"], "--listen");
    // A relative path in the file is read from the file's folder.
    let data = temp.path().join("data");
    assert_eq!(setting(&all, "data_dir")["value"], data.to_str().unwrap());
    assert_eq!(setting(&all, "data_dir")["source"], "file");
    assert_eq!(setting(&all, "data_dir")["line"], 3);
    assert_eq!(setting(&all, "metrics_listen")["value"], "127.0.0.1:9464");
    assert_eq!(setting(&all, "metrics_listen")["line"], 4);
    assert_eq!(setting(&all, "tls_cert")["value"], serde_json::Value::Null);
    assert_eq!(setting(&all, "tls_cert")["source"], "default");
    assert_eq!(setting(&all, "insecure_no_auth")["value"], false);

    let no_flag = check(&[], &env);
    assert_eq!(setting(&no_flag, "listen")["value"], "127.0.0.1:2222");
    assert_eq!(setting(&no_flag, "listen")["source"], "env");

    let file_only = check(&["--config", &file], &[]);
    assert_eq!(setting(&file_only, "listen")["value"], "127.0.0.1:1111");
    assert_eq!(setting(&file_only, "listen")["source"], "file");
    assert_eq!(setting(&file_only, "config")["source"], "flag");

    let dir = temp.path().join("elsewhere");
    let defaults = check(&["--data-dir", dir.to_str().unwrap()], &[]);
    assert_eq!(setting(&defaults, "listen")["value"], "127.0.0.1:50051");
    assert_eq!(setting(&defaults, "listen")["source"], "default");
    assert_eq!(
        setting(&defaults, "config")["value"],
        serde_json::Value::Null
    );
    assert_eq!(setting(&defaults, "metrics_listen")["source"], "default");
    assert!(!dir.exists(), "config check created the data dir");

    // The text form: one line per setting, its value and where it came from.
    let text = serialtrack(
        &[
            "config",
            "check",
            "--insecure-no-auth",
            "--listen",
            "127.0.0.1:3333",
        ],
        &env,
    );
    assert_eq!(text.code, 0, "{}", text.stderr);
    let line = |name: &str| {
        text.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line in {}", text.stdout))
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(line("listen"), "127.0.0.1:3333 flag --listen");
    assert_eq!(line("config"), format!("{file} env SERIALTRACK_CONFIG"));
    assert_eq!(line("data_dir"), format!("{} file, line 3", data.display()));
    assert_eq!(line("tls_key"), "- default");
    assert_eq!(line("insecure_no_auth"), "true flag --insecure-no-auth");
    assert!(
        text.stdout
            .ends_with("ok: serve would start with these settings\n"),
        "{}",
        text.stdout
    );
}

#[test]
fn serve_takes_its_settings_from_the_config_file() {
    let temp = tempfile::tempdir().unwrap();
    let file = write(
        temp.path(),
        "serve.toml",
        "data_dir = \"from-file\"\ninsecure_no_auth = true\nmetrics_listen = \"127.0.0.1:0\"\n\
         cache_mib = 8\n",
    );
    let (mut child, addr, metrics) = spawn_serve_with_metrics(&["--config", &file]);
    assert!(
        temp.path().join("from-file/store.redb").is_file(),
        "data dir from the file"
    );
    // No token needed: insecure_no_auth came from the file.
    let url = format!("http://{addr}");
    let run = run_cli(&["--server", &url, "item", "add", "--sku", "X"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let scrape = std::net::TcpStream::connect(&metrics);
    assert!(scrape.is_ok(), "metrics endpoint from the file: {scrape:?}");
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("WARNING: --insecure-no-auth"), "{stderr}");
}

#[test]
fn refused_configs_exit_2_naming_the_place() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let data = data.to_str().unwrap();
    let plain_file = write(temp.path(), "plain-file", "not a folder\n");
    let missing = temp.path().join("missing.pem");
    let missing = missing.to_str().unwrap();
    let under_file = format!("{plain_file}/data");
    // (config file text, variables, extra flags, what stderr must say)
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, Vec<&'a str>, Vec<String>);
    let cases: Vec<Case> = vec![
        (
            "listen = \"127.0.0.1:7001\"\n\nlistn = \"127.0.0.1:7002\"\n".into(),
            vec![],
            vec![],
            vec!["line 3".into(), "unknown key `listn`".into()],
        ),
        (
            "listen = 127.0.0.1:7001\n".into(),
            vec![],
            vec![],
            vec!["line 1, column".into()],
        ),
        (
            "insecure_no_auth = true\nmetrics_listen = \"localhost:9464\"\n".into(),
            vec![],
            vec![],
            vec!["line 2: metrics_listen = \"localhost:9464\" is not an address".into()],
        ),
        (
            format!("tls_cert = \"{missing}\"\ntls_key = \"{missing}\"\n"),
            vec![],
            vec![],
            vec![format!("cannot read the TLS certificate {missing}")],
        ),
        (
            "tls_key = \"key.pem\"\n".into(),
            vec![],
            vec![],
            vec!["tls_key is set (file, line 1) but tls_cert is not".into()],
        ),
        (
            String::new(),
            vec![],
            vec!["--data-dir", &under_file],
            vec![
                format!("{plain_file} is not a directory"),
                "cannot be created".into(),
            ],
        ),
        (
            String::new(),
            vec![("SERIALTRACK_METRICS_LISTEN", "9464")],
            vec![],
            vec!["SERIALTRACK_METRICS_LISTEN=\"9464\" is not an address".into()],
        ),
        (
            "\ncache_mib = 0\n".into(),
            vec![],
            vec![],
            vec!["line 2: cache_mib = 0 is not a number of MiB from 1 to 1048576".into()],
        ),
        (
            String::new(),
            vec![("SERIALTRACK_CACHE_MIB", "lots")],
            vec![],
            vec![
                "SERIALTRACK_CACHE_MIB".into(),
                "is not a number of MiB".into(),
            ],
        ),
    ];
    for (text, env, flags, expected) in cases {
        let file = write(temp.path(), "case.toml", &text);
        let mut args = vec!["config", "check", "--config", &file];
        if !flags.contains(&"--data-dir") {
            args.extend(["--data-dir", data]);
        }
        args.extend(flags.iter().copied());
        let run = serialtrack(&args, &env);
        assert_eq!(run.code, 2, "{text:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{text:?}: {}", run.stdout);
        for part in &expected {
            assert!(
                run.stderr.contains(part.as_str()),
                "{text:?}: {} lacks {part:?}",
                run.stderr
            );
        }
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
    }
    assert!(
        !Path::new(data).exists(),
        "config check created the data dir"
    );

    // serve refuses the same way, before it starts anything.
    let file = write(temp.path(), "bad.toml", "data_dir = \"d\"\nport = 1\n");
    let run = serialtrack(&["serve", "--config", &file], &[]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("line 2"), "{}", run.stderr);
    assert!(run.stderr.contains("unknown key `port`"), "{}", run.stderr);
    assert!(!temp.path().join("d").exists(), "serve opened a data dir");
    let unreadable = serialtrack(&["config", "check", "--config", missing], &[]);
    assert_eq!(unreadable.code, 2);
    assert!(
        unreadable
            .stderr
            .contains(&format!("cannot read the config file {missing}")),
        "{}",
        unreadable.stderr
    );
}
