//! `serialtrack torture`: crash torture of the durability contract. Runs `serialtrack serve` as
//! a child process over a temp data dir, drives concurrent receive → putaway → pick load from
//! several clients, SIGKILLs the server after a random number of answers, starts it again on
//! the same data dir, and repeats. Clients retry a scan that got no answer with the same
//! `event_id` until one comes, and after each restart send one already answered scan again on
//! purpose.
//!
//! At the end, over a server started once more, it checks: every scan answered is in the log
//! with the answer the client got (seq, outcome, reason, serial, message); every `event_id`
//! appears once; sequence numbers run 1..=N without gaps or repeats; every unit is in the state
//! its last answered scan left it; every deliberate re-send came back `replayed` with the
//! original answer. Every answer must be ACCEPTED: each client scans only its own serials in a
//! valid order, so a rejection (UNKNOWN_UNIT after a lost receive, DUPLICATE_SERIAL on a retry)
//! is a broken promise.
//!
//! The kill points come from `--seed`; which scans are in flight at a kill depends on timing.
//! Owns child processes only through [`ServeChild`], which kills its child when dropped.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::json;
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};

use crate::proto::v1 as pb;

const TORTURE_SKU: &str = "TORTURE-1";
/// The most kill/restart rounds one run may be asked for.
pub const TORTURE_ROUNDS_MAX: u32 = 100_000;
/// The most concurrent clients.
pub const TORTURE_CLIENTS_MAX: usize = 256;
/// Picks per order: a client opens a new order after this many (an order's record holds its
/// picked serials and is rewritten with every pick, so it is kept short).
const ORDER_PICKS: u32 = 500;
/// How long a client waits for a new server after a failed call before trying the same server
/// again. Not a timing the checks depend on: a retry on the same server is always allowed.
const RETRY_WAIT: Duration = Duration::from_secs(2);
/// Failed attempts of one call before the run gives up (a server that never comes back).
const ATTEMPTS_MAX: u32 = 200;
/// How long the supervisor waits for the answers it kills after, or for a server to start.
const PROGRESS_WAIT: Duration = Duration::from_secs(60);

#[derive(clap::Args, Debug, Clone)]
pub struct TortureOptions {
    /// Kill/restart rounds.
    #[arg(long, default_value_t = 20)]
    pub rounds: u32,
    /// Seed of the kill points; a random one is chosen (and printed) when absent.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Concurrent clients, each on its own connection and its own serials.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Each round kills the server after 1 to this many answers (chosen from the seed).
    #[arg(long, default_value_t = 200)]
    pub kill_after_max: u64,
    /// The binary to run as `serve` (default: this one).
    #[arg(long)]
    pub serve_binary: Option<PathBuf>,
    /// Keep the data dir here instead of a temp dir that is removed afterwards.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Default)]
pub struct TortureReport {
    pub rounds: u32,
    pub seed: u64,
    pub clients: usize,
    pub restarts: u32,
    pub answered: usize,
    pub received: usize,
    pub put_away: usize,
    pub picked: usize,
    pub orders: usize,
    /// Scans whose call failed at least once (in flight at a kill) and were answered later.
    pub retried: usize,
    /// Of those, how many the server had applied before the kill (answered `replayed`).
    pub retried_applied: usize,
    pub resent: usize,
    pub events: u64,
    pub units_checked: usize,
    pub elapsed: Duration,
}

impl TortureReport {
    pub fn to_text(&self) -> String {
        format!(
            "torture: {rounds} kill/restart rounds (seed {seed}), {clients} clients, {secs:.1} s\n\
             scans answered      {answered} (receive {rx}, putaway {pa}, pick {pk}), every one ACCEPTED; {orders} orders\n\
             retried after a kill {retried} (applied before the kill, answered replayed: {applied}; not applied: {not})\n\
             re-sent on purpose  {resent}, every one replayed with its original answer\n\
             event log           {events} events, seq 1..{events} without gaps or repeats, one per event_id, each as answered\n\
             units               {units} checked, each in the state its last scan left it\n\
             store               opened {opens} times, every time\n",
            rounds = self.rounds,
            seed = self.seed,
            clients = self.clients,
            secs = self.elapsed.as_secs_f64(),
            answered = self.answered,
            rx = self.received,
            pa = self.put_away,
            pk = self.picked,
            orders = self.orders,
            retried = self.retried,
            applied = self.retried_applied,
            not = self.retried - self.retried_applied,
            resent = self.resent,
            events = self.events,
            units = self.units_checked,
            opens = self.restarts + 1,
        )
    }

    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "rounds": self.rounds,
            "seed": self.seed,
            "clients": self.clients,
            "store_opens": self.restarts + 1,
            "answered": self.answered,
            "received": self.received,
            "put_away": self.put_away,
            "picked": self.picked,
            "orders": self.orders,
            "retried": self.retried,
            "retried_applied": self.retried_applied,
            "resent": self.resent,
            "events": self.events,
            "units_checked": self.units_checked,
            "elapsed_s": self.elapsed.as_secs_f64(),
        })
    }
}

/// SplitMix64: a small, well-mixed generator, enough to pick kill points from a seed.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `1..=max` (`max` at least 1).
    pub(crate) fn one_to(&mut self, max: u64) -> u64 {
        1 + self.next_u64() % max.max(1)
    }
}

/// A `serialtrack serve` child process; killed (SIGKILL) and reaped when dropped. Also used
/// by the disk-trouble tests, which start it under a file-size limit.
pub struct ServeChild {
    child: Child,
    pub url: String,
    // Kept open so that the server never writes to a closed pipe.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl ServeChild {
    /// Starts `binary serve` on a free loopback port over `data_dir`, its log appended to
    /// `log`, and waits for the line that names its address. `configure` may adjust the
    /// command (limits for the disk tests).
    pub fn start(
        binary: &Path,
        data_dir: &Path,
        log: &Path,
        configure: impl FnOnce(&mut Command),
    ) -> anyhow::Result<ServeChild> {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("cannot open server log {}", log.display()))?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            // The torture is about durability, not access: its clients carry no token.
            .arg("--insecure-no-auth")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        configure(&mut command);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {} serve", binary.display()))?;
        let mut stdout = BufReader::new(child.stdout.take().context("serve child stdout")?);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let addr = line
            .strip_prefix("serialtrack listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned);
        match (read, addr) {
            (Ok(_), Some(addr)) => Ok(ServeChild {
                child,
                url: format!("http://{addr}"),
                _stdout: stdout,
            }),
            (read, _) => {
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                bail!(
                    "serve did not start ({status}; read {read:?}, printed {line:?}); its log ends: {}",
                    log_tail(log)
                )
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then wait until the process is gone (its data-dir lock with it).
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill().context("cannot kill the serve child")?;
        self.child.wait().context("cannot reap the serve child")?;
        Ok(())
    }

    /// The exit status, when the child has already exited.
    pub(crate) fn try_exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for ServeChild {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The last 2,000 bytes of a log file, for error messages.
pub fn log_tail(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(log) {
        let _ = file.read_to_string(&mut text);
    }
    let start = text
        .char_indices()
        .rev()
        .nth(2000)
        .map_or(0, |(index, _)| index);
    text[start..].trim().to_owned()
}

pub(crate) async fn connect(url: &str) -> anyhow::Result<Channel> {
    Ok(Endpoint::from_shared(url.to_owned())?.connect_lazy())
}

/// The server clients should use now: a new generation after every restart.
#[derive(Clone)]
struct Generation {
    n: u32,
    channel: Channel,
}

/// One answered scan, as the client saw it.
struct Answered {
    request: pb::ScanRequest,
    reply: pb::ScanReply,
}

#[derive(Default)]
struct ClientTally {
    answered: Vec<Answered>,
    /// Serial → the state its last scan left it in.
    units: HashMap<String, pb::UnitState>,
    retried: usize,
    retried_applied: usize,
    resent: usize,
    orders: usize,
}

/// Runs the torture and checks the store afterwards; an error names the broken promise.
pub async fn torture(options: &TortureOptions) -> anyhow::Result<TortureReport> {
    ensure!(
        (1..=TORTURE_ROUNDS_MAX).contains(&options.rounds),
        "--rounds must be 1 to {TORTURE_ROUNDS_MAX}"
    );
    ensure!(
        (1..=TORTURE_CLIENTS_MAX).contains(&options.clients),
        "--clients must be 1 to {TORTURE_CLIENTS_MAX}"
    );
    ensure!(
        options.kill_after_max >= 1,
        "--kill-after-max must be at least 1"
    );
    let binary = match &options.serve_binary {
        Some(binary) => binary.clone(),
        None => std::env::current_exe().context("cannot find this program to run as serve")?,
    };
    let temp = tempfile::tempdir()?;
    let data_dir = match &options.data_dir {
        Some(dir) => dir.clone(),
        None => temp.path().join("data"),
    };
    let log = temp.path().join("serve.log");
    let seed = options.seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        u64::from(nanos) ^ u64::from(std::process::id()) << 32
    });
    let mut rng = SplitMix64::new(seed);
    let started = Instant::now();

    let start = |binary: PathBuf, data_dir: PathBuf, log: PathBuf| {
        tokio::task::spawn_blocking(move || ServeChild::start(&binary, &data_dir, &log, |_| {}))
    };
    let mut server = start(binary.clone(), data_dir.clone(), log.clone()).await??;
    let channel = connect(&server.url).await?;
    put_item(&channel).await?;

    let (generation_tx, generation_rx) = watch::channel(Generation { n: 0, channel });
    let (answers_tx, mut answers_rx) = watch::channel(0u64);
    let answers_tx = Arc::new(answers_tx);
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::with_capacity(options.clients);
    for c in 0..options.clients {
        let generations = generation_rx.clone();
        let answers = answers_tx.clone();
        let stop = stop.clone();
        clients.push(tokio::spawn(async move {
            client_loop(c, generations, answers, stop).await
        }));
    }

    let mut restarts = 0;
    for round in 1..=options.rounds {
        let target = *answers_rx.borrow() + rng.one_to(options.kill_after_max);
        let progress = tokio::time::timeout(
            PROGRESS_WAIT,
            answers_rx.wait_for(|answered| *answered >= target),
        )
        .await;
        if let Some(finished) = clients.iter().position(|c| c.is_finished()) {
            // A client that stopped early failed a check: its error says which.
            let failed = clients.swap_remove(finished);
            failed.await??;
            bail!("client {finished} stopped before the run ended");
        }
        match progress {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => bail!("every client stopped"),
            Err(_) => bail!(
                "round {round}: fewer than {target} scans answered after {} s; server log ends: {}",
                PROGRESS_WAIT.as_secs(),
                log_tail(&log)
            ),
        }
        if let Some(status) = server.try_exited() {
            bail!(
                "the server exited on its own ({status}); its log ends: {}",
                log_tail(&log)
            );
        }
        server.kill()?;
        server = start(binary.clone(), data_dir.clone(), log.clone())
            .await?
            .with_context(|| format!("round {round}: the store did not open after SIGKILL"))?;
        restarts += 1;
        let channel = connect(&server.url).await?;
        generation_tx.send_replace(Generation { n: round, channel });
    }

    stop.store(true, Ordering::SeqCst);
    let mut tallies = Vec::with_capacity(clients.len());
    for client in clients {
        tallies.push(client.await??);
    }

    // One more crash, so that the checks read only what a restart finds on disk.
    server.kill()?;
    let server = start(binary, data_dir, log.clone())
        .await?
        .context("the store did not open after the last SIGKILL")?;
    restarts += 1;
    let channel = connect(&server.url).await?;
    let mut report = check(&channel, &tallies).await?;
    server.kill()?;
    drop(temp);

    report.rounds = options.rounds;
    report.seed = seed;
    report.clients = options.clients;
    report.restarts = restarts;
    report.elapsed = started.elapsed();
    Ok(report)
}

async fn put_item(channel: &Channel) -> anyhow::Result<()> {
    let mut catalog = pb::catalog_service_client::CatalogServiceClient::new(channel.clone());
    catalog
        .put_item(pb::PutItemRequest {
            item: Some(pb::Item {
                sku: TORTURE_SKU.to_owned(),
                description: "torture item".to_owned(),
                ..Default::default()
            }),
        })
        .await
        .context("cannot create the torture item")?;
    Ok(())
}

/// Whether a failed call may be tried again: the server went away (or is going), as opposed
/// to a refusal of the request itself.
fn retryable(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled
    )
}

/// Waits for a server newer than `current`, or `RETRY_WAIT`, whichever comes first.
async fn next_generation(
    generations: &mut watch::Receiver<Generation>,
    current: &Generation,
) -> anyhow::Result<Generation> {
    let n = current.n;
    match tokio::time::timeout(RETRY_WAIT, generations.wait_for(|g| g.n > n)).await {
        Ok(Ok(generation)) => Ok(generation.clone()),
        Ok(Err(_)) => bail!("the supervisor stopped"),
        Err(_) => Ok(current.clone()),
    }
}

async fn client_loop(
    c: usize,
    mut generations: watch::Receiver<Generation>,
    answers: Arc<watch::Sender<u64>>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<ClientTally> {
    let mut tally = ClientTally::default();
    let mut generation = generations.borrow().clone();
    let mut n_serials = 0u32;
    let mut order = String::new();
    let mut picks_on_order = ORDER_PICKS;
    while !stop.load(Ordering::SeqCst) {
        let serial = format!("T{c:03}-{n_serials:07}");
        n_serials += 1;
        let location = format!("BIN-{c}-{}", n_serials % 50);
        for action in [pb::Action::Receive, pb::Action::Putaway, pb::Action::Pick] {
            if action == pb::Action::Pick && picks_on_order == ORDER_PICKS {
                order = format!("T{c:03}-ORDER-{}", tally.orders);
                create_order(&order, &mut generations, &mut generation).await?;
                tally.orders += 1;
                picks_on_order = 0;
            }
            let request = pb::ScanRequest {
                event_id: uuid::Uuid::new_v4().to_string(),
                station: format!("TORTURE-{c}"),
                operator: "torture".to_owned(),
                action: action.into(),
                raw: serial.clone().into_bytes(),
                sku: TORTURE_SKU.to_owned(),
                entry_mode: pb::EntryMode::Scanned.into(),
                location: if action == pb::Action::Putaway {
                    location.clone()
                } else {
                    String::new()
                },
                order_id: if action == pb::Action::Pick {
                    order.clone()
                } else {
                    String::new()
                },
                ..Default::default()
            };
            let before = generation.n;
            let (reply, failures) = call_scan(&request, &mut generations, &mut generation).await?;
            if failures > 0 {
                tally.retried += 1;
                tally.retried_applied += usize::from(reply.replayed);
            } else {
                ensure!(
                    !reply.replayed,
                    "client {c}: {action:?} {serial} sent once was answered as a replay (seq {})",
                    reply.seq
                );
            }
            ensure!(
                reply.outcome() == pb::Outcome::Accepted && reply.serial == serial,
                "client {c}: {action:?} {serial} answered {:?} {:?} for {:?} (seq {}, after {failures} failed attempts): {}",
                reply.outcome(),
                reply.reason(),
                reply.serial,
                reply.seq,
                reply.message
            );
            if action == pb::Action::Pick {
                picks_on_order += 1;
            }
            tally.units.insert(serial.clone(), reply.state());
            tally.answered.push(Answered { request, reply });
            answers.send_modify(|n| *n += 1);
            if generation.n != before {
                // A new server: an answered scan sent again must come back as the original.
                let earlier = &tally.answered[tally.answered.len() / 2];
                let (again, _) =
                    call_scan(&earlier.request, &mut generations, &mut generation).await?;
                // The first answer may itself have been a replay (a retry after a kill).
                let unmarked = |reply: &pb::ScanReply| pb::ScanReply {
                    replayed: false,
                    ..reply.clone()
                };
                ensure!(
                    again.replayed && unmarked(&again) == unmarked(&earlier.reply),
                    "client {c}: scan {} sent again after a restart was applied anew or answered differently: first {:?}, again {:?}",
                    earlier.request.event_id,
                    earlier.reply,
                    again
                );
                tally.resent += 1;
            }
        }
    }
    Ok(tally)
}

/// Sends a scan until it is answered, moving to a newer server when one comes. Returns the
/// reply and how many attempts failed.
async fn call_scan(
    request: &pb::ScanRequest,
    generations: &mut watch::Receiver<Generation>,
    generation: &mut Generation,
) -> anyhow::Result<(pb::ScanReply, u32)> {
    let mut failures = 0;
    loop {
        let mut client =
            pb::scan_service_client::ScanServiceClient::new(generation.channel.clone());
        match client.scan(request.clone()).await {
            Ok(reply) => return Ok((reply.into_inner(), failures)),
            Err(status) if retryable(&status) && failures < ATTEMPTS_MAX => {
                failures += 1;
                *generation = next_generation(generations, generation).await?;
            }
            Err(status) => bail!(
                "scan {} refused after {failures} failed attempts: {:?} {}",
                request.event_id,
                status.code(),
                status.message()
            ),
        }
    }
}

async fn create_order(
    id: &str,
    generations: &mut watch::Receiver<Generation>,
    generation: &mut Generation,
) -> anyhow::Result<()> {
    let order = pb::Order {
        id: id.to_owned(),
        customer: "torture".to_owned(),
        lines: vec![pb::OrderLine {
            sku: TORTURE_SKU.to_owned(),
            quantity: ORDER_PICKS,
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut failures = 0;
    loop {
        let mut client =
            pb::warehouse_service_client::WarehouseServiceClient::new(generation.channel.clone());
        match client
            .create_order(pb::CreateOrderRequest {
                order: Some(order.clone()),
            })
            .await
        {
            Ok(_) => return Ok(()),
            // Created by an attempt whose answer was lost in a kill: it is ours.
            Err(status) if status.code() == tonic::Code::AlreadyExists && failures > 0 => {
                return Ok(());
            }
            Err(status) if retryable(&status) && failures < ATTEMPTS_MAX => {
                failures += 1;
                *generation = next_generation(generations, generation).await?;
            }
            Err(status) => bail!(
                "order {id} refused after {failures} failed attempts: {:?} {}",
                status.code(),
                status.message()
            ),
        }
    }
}

/// Every event of the store, in sequence order.
pub async fn all_events(channel: &Channel) -> anyhow::Result<Vec<pb::Event>> {
    let mut units = pb::unit_service_client::UnitServiceClient::new(channel.clone());
    let mut events = Vec::new();
    let mut from_seq = 1;
    loop {
        let page = units
            .list_events(pb::ListEventsRequest {
                from_seq,
                limit: 1000,
            })
            .await
            .context("cannot list events")?
            .into_inner();
        events.extend(page.events);
        if page.next_from_seq == 0 {
            return Ok(events);
        }
        from_seq = page.next_from_seq;
    }
}

/// Sequence numbers 1..=N in order, each `event_id` once. Returns N.
pub fn check_sequence(events: &[pb::Event]) -> anyhow::Result<u64> {
    let mut ids = HashSet::with_capacity(events.len());
    for (index, event) in events.iter().enumerate() {
        let expected = u64::try_from(index)? + 1;
        ensure!(
            event.seq == expected,
            "event log has seq {} where {expected} belongs (a gap or a repeat)",
            event.seq
        );
        ensure!(
            ids.insert(event.event_id.as_str()),
            "event_id {} is in the log twice (seq {}): a retry was applied again",
            event.event_id,
            event.seq
        );
    }
    Ok(u64::try_from(events.len())?)
}

async fn check(channel: &Channel, tallies: &[ClientTally]) -> anyhow::Result<TortureReport> {
    let events = all_events(channel).await?;
    let n_events = check_sequence(&events)?;
    // The hash chain survived every kill and reopen: no event was written from a stale head.
    let audit = pb::audit_service_client::AuditServiceClient::new(channel.clone())
        .verify(pb::VerifyAuditRequest { expect_head: None })
        .await?
        .into_inner();
    ensure!(
        audit.intact && audit.events_checked == n_events,
        "the event chain is broken after the rounds: {} (event {}, {} of {n_events} checked)",
        audit.break_reason,
        audit.break_seq,
        audit.events_checked
    );
    let by_id: HashMap<&str, &pb::Event> =
        events.iter().map(|e| (e.event_id.as_str(), e)).collect();
    let mut report = TortureReport {
        events: n_events,
        ..TortureReport::default()
    };
    let mut sent = HashSet::new();
    for tally in tallies {
        for Answered { request, reply } in &tally.answered {
            sent.insert(request.event_id.as_str());
            let event = by_id.get(request.event_id.as_str()).with_context(|| {
                format!(
                    "scan {} answered {:?} seq {} is not in the log after a restart",
                    request.event_id,
                    reply.outcome(),
                    reply.seq
                )
            })?;
            ensure!(
                event.seq == reply.seq
                    && event.outcome == reply.outcome
                    && event.reason == reply.reason
                    && event.serial == reply.serial
                    && event.message == reply.message
                    && event.action == request.action,
                "scan {} was answered {reply:?} but the log holds {event:?}",
                request.event_id
            );
            match request.action() {
                pb::Action::Receive => report.received += 1,
                pb::Action::Putaway => report.put_away += 1,
                _ => report.picked += 1,
            }
        }
        report.answered += tally.answered.len();
        report.retried += tally.retried;
        report.retried_applied += tally.retried_applied;
        report.resent += tally.resent;
        report.orders += tally.orders;
    }
    if let Some(stray) = events.iter().find(|e| !sent.contains(e.event_id.as_str())) {
        bail!(
            "the log holds event {} (seq {}) that no client sent",
            stray.event_id,
            stray.seq
        );
    }
    ensure!(
        n_events == u64::try_from(report.answered)?,
        "the log holds {n_events} events for {} scans answered",
        report.answered
    );
    let mut units = pb::unit_service_client::UnitServiceClient::new(channel.clone());
    for tally in tallies {
        for (serial, state) in &tally.units {
            let unit = units
                .get_unit(pb::GetUnitRequest {
                    serial: serial.clone(),
                    gtin: String::new(),
                })
                .await
                .with_context(|| format!("unit {serial} was answered but is not found"))?
                .into_inner()
                .unit
                .context("GetUnit answered without a unit")?;
            ensure!(
                unit.state == i32::from(*state),
                "unit {serial} is {:?} but its last scan left it {state:?}",
                unit.state()
            );
            report.units_checked += 1;
        }
    }
    Ok(report)
}
