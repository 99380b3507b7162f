//! Starting and stopping a real server, clients for it, and running the real CLI binary.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serialtrack::proto::v1 as pb;
use serialtrack::server::{Access, ServeOptions};
use serialtrack::store::{CACHE_BYTES, KvEngine, PgStore, SledStore, Store};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub use pb::barcode_service_client::BarcodeServiceClient;
pub use pb::catalog_service_client::CatalogServiceClient;
pub use pb::scan_service_client::ScanServiceClient;
pub use pb::unit_service_client::UnitServiceClient;
pub use pb::warehouse_service_client::WarehouseServiceClient;

/// A server running in this process on a loopback port over its own data dir.
pub struct TestServer {
    pub url: String,
    pub dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    channel: Channel,
    // Keeps the temp dir for the server's life when the server created it.
    _temp: Option<TempDir>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        let temp = tempfile::tempdir().expect("temp dir");
        let dir = temp.path().join("data");
        let mut server = TestServer::start_in(&dir).await;
        server._temp = Some(temp);
        server
    }

    /// Starts a server over `dir` (which may hold an earlier server's data).
    pub async fn start_in(dir: &Path) -> TestServer {
        TestServer::start_at(dir, "127.0.0.1:0").await
    }

    /// [`TestServer::start_in`] over the sled engine whatever the suite's backend: for the
    /// tests that read or edit sled's files themselves, and so that sled data dirs (made before
    /// redb) stay tested.
    pub async fn start_sled_in(dir: &Path) -> TestServer {
        TestServer::start_engine_in(dir, KvEngine::Sled).await
    }

    /// [`TestServer::start_in`] over `engine`, embedded, whatever the suite's backend.
    pub async fn start_engine_in(dir: &Path, engine: KvEngine) -> TestServer {
        let store = SledStore::open_engine(dir, engine, CACHE_BYTES).expect("open store");
        TestServer::start_with(dir, "127.0.0.1:0", ServeOptions::open(), Some(store)).await
    }

    /// Starts a server over `dir` listening on `addr`: a restart on the address a client
    /// (the gateway) already has.
    pub async fn start_at(dir: &Path, addr: &str) -> TestServer {
        TestServer::start_with(dir, addr, ServeOptions::open(), None).await
    }

    /// Starts a server that needs tokens over a new temp dir, with its first ADMIN token
    /// created as `serve` creates it; answers the server and that token's text.
    pub async fn start_secured() -> (TestServer, String) {
        TestServer::start_secured_on(false).await
    }

    /// [`TestServer::start_secured`] on the embedded store whatever the suite's backend: for
    /// the tests that read the data dir's files.
    pub async fn start_secured_embedded() -> (TestServer, String) {
        TestServer::start_secured_on(true).await
    }

    async fn start_secured_on(embedded: bool) -> (TestServer, String) {
        let temp = tempfile::tempdir().expect("temp dir");
        let (mut server, admin) = TestServer::secured(&temp.path().join("data"), embedded).await;
        server._temp = Some(temp);
        (server, admin.expect("a new store has no token"))
    }

    /// Starts a server that needs tokens over `dir` again on the embedded store, as `serve`
    /// starts: answers it and the first ADMIN token it made (none when the store has tokens
    /// already).
    pub async fn restart_secured_embedded(dir: &Path) -> (TestServer, Option<String>) {
        TestServer::secured(dir, true).await
    }

    async fn secured(dir: &Path, embedded: bool) -> (TestServer, Option<String>) {
        let options = ServeOptions {
            access: Access::Tokens,
            tls: None,
            ..ServeOptions::open()
        };
        let database = if embedded {
            None
        } else {
            suite_database(dir).await
        };
        match database {
            Some(database) => {
                let store = PgStore::open(&database).expect("open the PostgreSQL store");
                let admin = serialtrack::server::auth::first_admin(&store)
                    .await
                    .expect("first admin");
                let server = TestServer::launch(store, dir, "127.0.0.1:0", options).await;
                (server, admin)
            }
            None => {
                let store = open_embedded(dir);
                let admin = serialtrack::server::auth::first_admin(&store)
                    .await
                    .expect("first admin");
                let server = TestServer::launch(store, dir, "127.0.0.1:0", options).await;
                (server, admin)
            }
        }
    }

    /// Starts a server over `dir` on `addr` as `options` say, with `store` when the caller
    /// opened it already.
    pub async fn start_with(
        dir: &Path,
        addr: &str,
        options: ServeOptions,
        store: Option<SledStore>,
    ) -> TestServer {
        match (store, suite_database(dir).await) {
            (None, Some(database)) => {
                let store = PgStore::open(&database).expect("open the PostgreSQL store");
                TestServer::launch(store, dir, addr, options).await
            }
            (store, _) => {
                let store = store.unwrap_or_else(|| open_embedded(dir));
                TestServer::launch(store, dir, addr, options).await
            }
        }
    }

    /// Serves `store` on `addr`; `dir` is what a restart passes again.
    async fn launch<S: Store>(
        store: S,
        dir: &Path,
        addr: &str,
        options: ServeOptions,
    ) -> TestServer {
        let listener = TcpListener::bind(addr).await.expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(run_server(listener, store, options, stop_rx));
        // The listener is bound before the server starts: connecting cannot race it.
        let channel = Channel::from_shared(url.clone())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        TestServer {
            url,
            dir: dir.to_owned(),
            stop: Some(stop_tx),
            task: Some(task),
            channel,
            _temp: None,
        }
    }

    /// Starts an instance over the PostgreSQL database at `database` (which other instances
    /// may share).
    pub async fn start_pg(database: &str) -> TestServer {
        let store = PgStore::open(database).expect("open the PostgreSQL store");
        TestServer::launch(store, Path::new(""), "127.0.0.1:0", ServeOptions::open()).await
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn catalog(&self) -> CatalogServiceClient<Channel> {
        CatalogServiceClient::new(self.channel.clone())
    }

    pub fn scans(&self) -> ScanServiceClient<Channel> {
        ScanServiceClient::new(self.channel.clone())
    }

    pub fn barcodes(&self) -> BarcodeServiceClient<Channel> {
        BarcodeServiceClient::new(self.channel.clone())
    }

    pub fn units(&self) -> UnitServiceClient<Channel> {
        UnitServiceClient::new(self.channel.clone())
    }

    pub fn warehouse(&self) -> WarehouseServiceClient<Channel> {
        WarehouseServiceClient::new(self.channel.clone())
    }

    /// A client on its own connection, like a second handheld.
    pub async fn new_scan_client(&self) -> ScanServiceClient<Channel> {
        let channel = Channel::from_shared(self.url.clone())
            .expect("url")
            .connect()
            .await
            .expect("connect");
        ScanServiceClient::new(channel)
    }

    /// Stops the server and waits until its store is closed and the data dir unlocked.
    /// Returns the temp dir (if the server made it) so that a restart can reuse it.
    pub async fn stop(mut self) -> (PathBuf, Option<TempDir>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        wait_for_sled_lock(&self.dir);
        (self.dir.clone(), self._temp.take())
    }

    /// Runs the real CLI binary against this server.
    pub async fn cli(&self, args: &[&str]) -> CliRun {
        self.cli_stdin(args, None).await
    }

    /// Runs the CLI and returns its stdout, failing the test unless it exits 0.
    pub async fn cli_ok(&self, args: &[&str]) -> String {
        let run = self.cli(args).await;
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        run.stdout
    }

    /// Runs the real CLI binary against this server, off the async runtime so that the
    /// in-process server keeps serving while the binary waits for it.
    pub async fn cli_stdin(&self, args: &[&str], stdin: Option<&str>) -> CliRun {
        let mut full = vec!["--server".to_owned(), self.url.clone()];
        full.extend(args.iter().map(|a| (*a).to_owned()));
        let stdin = stdin.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = full.iter().map(String::as_str).collect();
            run_cli(&args, stdin.as_deref())
        })
        .await
        .expect("cli task")
    }

    /// Every event in the store.
    pub async fn all_events(&self) -> Vec<pb::Event> {
        let mut events = Vec::new();
        let mut from_seq = 1;
        loop {
            let page = self
                .units()
                .list_events(pb::ListEventsRequest {
                    from_seq,
                    limit: 1000,
                })
                .await
                .expect("list events")
                .into_inner();
            events.extend(page.events);
            if page.next_from_seq == 0 {
                return events;
            }
            from_seq = page.next_from_seq;
        }
    }

    pub async fn add_item(&self, item: pb::Item) -> pb::Item {
        self.catalog()
            .put_item(pb::PutItemRequest { item: Some(item) })
            .await
            .expect("put item")
            .into_inner()
            .item
            .expect("item")
    }

    /// The unit with `serial`, or the status the lookup failed with.
    pub async fn unit(&self, serial: &str) -> Result<pb::Unit, tonic::Status> {
        let response = self
            .units()
            .get_unit(pb::GetUnitRequest {
                serial: serial.to_owned(),
                gtin: String::new(),
            })
            .await?;
        response
            .into_inner()
            .unit
            .ok_or_else(|| tonic::Status::internal("GetUnit answered without a unit"))
    }

    pub async fn scan(&self, request: pb::ScanRequest) -> pb::ScanReply {
        self.scans().scan(request).await.expect("scan").into_inner()
    }
}

/// Waits (up to a bound) until no handle holds sled's own lock on the files below `dir`:
/// sled's IO threads keep it a moment after the store is dropped, and a test that opens the
/// files itself right after a stop would find it held. Nothing to wait for without sled files.
fn wait_for_sled_lock(dir: &Path) {
    let Ok(file) = std::fs::File::open(dir.join("db").join("db")) else {
        return;
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // sled locks with flock, as File::try_lock does: the two exclude each other.
    while matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock))
        && std::time::Instant::now() < deadline
    {
        std::thread::yield_now();
    }
    let _ = file.unlock();
}

async fn run_server<S: Store>(
    listener: TcpListener,
    store: S,
    options: ServeOptions,
    stop: oneshot::Receiver<()>,
) {
    serialtrack::server::serve(listener, store, options, async {
        let _ = stop.await;
    })
    .await
    .expect("server ran");
}

/// The variable that names the throwaway PostgreSQL cluster the tests may use (a URL of a
/// database a new schema can be made in, e.g. `postgres://postgres@127.0.0.1:55432/postgres`).
pub const TEST_PG: &str = "SERIALTRACK_TEST_PG";
/// Set to `postgres` (with [`TEST_PG`]), the suite's servers keep their data in PostgreSQL
/// instead of sled, a schema of their own per data dir (`.ci/run` runs the suite both ways).
pub const TEST_STORE: &str = "SERIALTRACK_TEST_STORE";

/// The cluster's URL, or `None` after saying plainly why the PostgreSQL test is skipped. On CI
/// (`CI=true`) a missing cluster fails the test instead.
pub fn test_pg(test: &str) -> Option<String> {
    match std::env::var(TEST_PG) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test}: {TEST_PG} is not set on CI; .ci/run starts a PostgreSQL cluster and sets it"
        ),
        _ => {
            // Straight to the process's stderr: libtest captures eprintln! of passing tests,
            // and a skip must be seen in a plain `cargo test`.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: the PostgreSQL tests need {TEST_PG}=postgres://...; start a throwaway cluster with tools/pg-test-cluster (README, Tests)"
            );
            None
        }
    }
}

/// A fresh schema on the cluster and a URL whose connections use it, so tests stay
/// independent and run in parallel on one database (a schema costs a catalog entry; a
/// database per test would copy a template of several MB each).
pub async fn fresh_pg_schema(cluster: &str, name: &str) -> String {
    let (client, connection) = tokio_postgres::connect(cluster, tokio_postgres::NoTls)
        .await
        .expect("connect to the test cluster");
    let driver = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {name}"))
        .await
        .expect("create schema");
    drop(client);
    let _ = driver.await;
    let sep = if cluster.contains('?') { '&' } else { '?' };
    format!("{cluster}{sep}options=-csearch_path%3D{name}")
}

/// The PostgreSQL URL a suite server over `dir` keeps its data under when the suite runs on
/// PostgreSQL: one schema per data dir, so a restart over the same dir finds its data.
/// The embedded store over `dir`: on the engine the dir holds, or for a new dir on the suite's
/// (`SERIALTRACK_TEST_STORE=sled` runs the suite's servers on sled, as data dirs made before
/// redb are; otherwise redb, what `serve` makes).
fn open_embedded(dir: &Path) -> SledStore {
    let suite = match std::env::var(TEST_STORE).ok().as_deref() {
        Some("sled") => KvEngine::Sled,
        _ => KvEngine::Redb,
    };
    let engine = KvEngine::holding(dir).unwrap_or(suite);
    SledStore::open_engine(dir, engine, CACHE_BYTES).expect("open store")
}

async fn suite_database(dir: &Path) -> Option<String> {
    if std::env::var(TEST_STORE).ok().as_deref() != Some("postgres") {
        return None;
    }
    let cluster =
        std::env::var(TEST_PG).unwrap_or_else(|_| panic!("{TEST_STORE}=postgres needs {TEST_PG}"));
    use sha2::Digest;
    let digest = sha2::Sha256::digest(dir.to_string_lossy().as_bytes());
    let name: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    Some(fresh_pg_schema(&cluster, &format!("t_{name}")).await)
}

pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `serve` as its own process on a loopback port with `args`; answers it and the address it
/// listens on (its stderr stays piped for the caller).
pub fn spawn_serve(args: &[&str]) -> (Child, String) {
    let (child, mut lines) = spawn_serve_reading(args, 1);
    (child, lines.remove(0))
}

/// [`spawn_serve`] for a `serve` given `--metrics-listen` (a flag, a variable or its config
/// file): answers it, the gRPC address and the metrics endpoint's address, read from the line
/// it prints after the first.
pub fn spawn_serve_with_metrics(args: &[&str]) -> (Child, String, String) {
    let (child, mut lines) = spawn_serve_reading(args, 2);
    let metrics = lines
        .pop()
        .and_then(|line| {
            line.strip_prefix("serialtrack metrics on http://")
                .and_then(|rest| rest.strip_suffix("/metrics\n"))
                .map(str::to_owned)
        })
        .expect("the second line names the metrics address");
    (child, lines.remove(0), metrics)
}

/// Starts `serve` and reads `n_lines` of its stdout; answers the child and, first, the address
/// from the listening line, then the other lines as printed.
fn spawn_serve_reading(args: &[&str], n_lines: usize) -> (Child, Vec<String>) {
    let (child, mut lines) = spawn_serve_lines(args, n_lines);
    let first = &lines[0];
    lines[0] = first
        .strip_prefix("serialtrack listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    (child, lines)
}

/// Starts `serve` and answers the child and the first `n_lines` of its stdout as printed.
pub fn spawn_serve_lines(args: &[&str], n_lines: usize) -> (Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_serialtrack"))
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..n_lines {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        lines.push(line);
    }
    (child, lines)
}

pub fn run_cli(args: &[&str], stdin: Option<&str>) -> CliRun {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_serialtrack"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run serialtrack");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("wait");
    CliRun {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A plain item: serials of 1 to 64 characters of GS1 set 82.
pub fn item(sku: &str) -> pb::Item {
    pb::Item {
        sku: sku.to_owned(),
        description: format!("test item {sku}"),
        warranty_months: 24,
        ..Default::default()
    }
}

pub fn receive(sku: &str, raw: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        event_id: uuid::Uuid::new_v4().to_string(),
        station: "DOCK-1".to_owned(),
        operator: "alice".to_owned(),
        action: pb::Action::Receive.into(),
        raw: raw.as_bytes().to_vec(),
        sku: sku.to_owned(),
        lot: String::new(),
        entry_mode: pb::EntryMode::Scanned.into(),
        client_time_ms: 1_795_400_000_000,
        ..Default::default()
    }
}

/// Parses one JSON value per line of a `--json` output.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}
