//! The running gateway: opens the outbox, starts the inputs (scanners, `--stdin`, `--replay`),
//! takes every scan into the outbox (flushed) before anything else, and runs the forwarder
//! beside it. Inputs feed one bounded channel; one intake task writes the outbox, so scans
//! keep the order they were made in across all inputs.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use super::config::{Binding, Config, DecoderSpec, SCAN_BYTES_MAX};
use super::events::{DeviceState, Event, ServerState};
use super::forward::{self, ForwardOptions};
use super::hid::{self, Feedback};
use super::outbox::{
    NewScan, Outbox, OutboxError, STATUS_REJECTED_LEN_MAX, StatusFile, write_status,
};
use super::rules::{CachedRules, Precheck};
use crate::domain::time::now_ms;

/// Inputs waiting for the intake, at most; a scanner thread blocks when it is full (a person
/// cannot scan that fast, a replay simply waits).
pub const INPUT_QUEUE_LEN: usize = 256;
/// Events waiting for the display, at most; the gateway waits for a slow display.
pub const EVENT_QUEUE_LEN: usize = 1024;
/// The status file is written at most this often.
const STATUS_WRITE_INTERVAL: Duration = Duration::from_millis(200);

/// Something an input produced.
pub enum Input {
    Scan {
        source: String,
        binding: Arc<Binding>,
        raw: Vec<u8>,
    },
    /// Reports that made no scan.
    Problem { source: String, message: String },
    Device {
        source: String,
        state: DeviceState,
        message: String,
        /// Where good-read / bad-read signals for this scanner go, when it takes them.
        feedback: Option<std::sync::mpsc::Sender<Feedback>>,
    },
    /// A finite input is done.
    Ended { source: String },
}

/// Where scans come from.
pub enum InputSpec {
    /// One scan per line on standard input (a keyboard wedge typing into a terminal).
    Stdin { binding: Binding },
    /// Recorded reports, decoded exactly as a device's are.
    Replay {
        path: PathBuf,
        decoder: DecoderSpec,
        binding: Binding,
    },
    /// The USB scanners the configuration describes, found and re-found as they come and go.
    Devices { config: Config },
}

pub struct GatewayOptions {
    pub outbox_dir: PathBuf,
    pub outbox_max: usize,
    pub forward: ForwardOptions,
    pub inputs: Vec<InputSpec>,
    /// Stop once every finite input has ended and the outbox is empty.
    pub exit_when_drained: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("{0}")]
    Input(String),
}

/// What the intake, the forwarder and the inputs share.
pub struct Shared {
    pub outbox: Outbox,
    /// Woken when a scan enters the outbox.
    pub wake: Notify,
    server: String,
    state: Mutex<(ServerState, i64)>,
    rules: RwLock<CachedRules>,
    events: mpsc::Sender<Event>,
    feedback: Mutex<HashMap<String, std::sync::mpsc::Sender<Feedback>>>,
    devices: Mutex<BTreeSet<String>>,
    status_dirty: Notify,
    queued: watch::Sender<usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub fn new(
        outbox: Outbox,
        server: &str,
        rules: CachedRules,
        events: mpsc::Sender<Event>,
    ) -> Shared {
        let queued = watch::Sender::new(outbox.len());
        Shared {
            outbox,
            wake: Notify::new(),
            server: server.to_owned(),
            state: Mutex::new((ServerState::Unknown, now_ms())),
            rules: RwLock::new(rules),
            events,
            feedback: Mutex::new(HashMap::new()),
            devices: Mutex::new(BTreeSet::new()),
            status_dirty: Notify::new(),
            queued,
        }
    }

    pub fn server_state(&self) -> ServerState {
        lock(&self.state).0
    }

    /// Records a change of the server's state and tells the operator; repeats say nothing.
    pub async fn set_server_state(&self, state: ServerState, message: String) {
        {
            let mut current = lock(&self.state);
            if current.0 == state {
                return;
            }
            *current = (state, now_ms());
        }
        let queued = self.outbox.len();
        self.emit(Event::Server {
            state,
            message,
            queued,
        })
        .await;
        if state == ServerState::Online {
            self.wake.notify_one();
        }
    }

    pub fn set_rules(&self, rules: CachedRules) {
        *self
            .rules
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = rules;
    }

    fn precheck(&self, scan: &crate::domain::Scan, now_ms: i64) -> Precheck {
        self.rules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .precheck(scan, now_ms)
    }

    /// Publishes the outbox's length (for the drain wait and the status file). Called once
    /// what changed it has been told: whoever waits for the outbox to empty speaks after the
    /// last answer.
    pub fn touch(&self) {
        self.queued.send_replace(self.outbox.len());
        self.status_dirty.notify_one();
    }

    /// Tells the operator. Waits while the display is behind.
    pub async fn emit(&self, event: Event) {
        // The display only goes away when the whole gateway stops.
        let _ = self.events.send(event).await;
        self.status_dirty.notify_one();
    }

    /// Signals a good or bad read on the scanner `source`, if it takes signals.
    pub fn send_feedback(&self, source: &str, feedback: Feedback) {
        if let Some(sender) = lock(&self.feedback).get(source) {
            let _ = sender.send(feedback);
        }
    }

    fn status(&self) -> Result<StatusFile, OutboxError> {
        let (state, since) = *lock(&self.state);
        Ok(StatusFile {
            pid: std::process::id(),
            updated_at_ms: now_ms(),
            server: self.server.clone(),
            server_state: state.name().to_owned(),
            server_since_ms: since,
            counts: self.outbox.counts()?,
            devices: lock(&self.devices).iter().cloned().collect(),
            rejected_recent: self.outbox.rejected_records(STATUS_REJECTED_LEN_MAX)?,
        })
    }
}

async fn write_status_now(shared: &Arc<Shared>) {
    let shared = Arc::clone(shared);
    // The status file is a convenience for `gateway status`: failing to write it changes
    // nothing about the scans.
    let _ = tokio::task::spawn_blocking(move || {
        if let Ok(status) = shared.status() {
            let _ = write_status(shared.outbox.dir(), &status);
        }
    })
    .await;
}

async fn keep_status(shared: Arc<Shared>) {
    loop {
        shared.status_dirty.notified().await;
        write_status_now(&shared).await;
        tokio::time::sleep(STATUS_WRITE_INTERVAL).await;
    }
}

/// The reports of a recording as inputs: scans, problems, then the end.
async fn replay(
    reports: Vec<Vec<u8>>,
    decoder: DecoderSpec,
    binding: Arc<Binding>,
    inputs: mpsc::Sender<Input>,
) {
    const SOURCE: &str = "replay";
    let mut decoder = decoder.decoder();
    let mut messages = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        let input = match decoder.feed(report) {
            Ok(None) => continue,
            Ok(Some(raw)) => Input::Scan {
                source: SOURCE.to_owned(),
                binding: Arc::clone(&binding),
                raw,
            },
            Err(error) => Input::Problem {
                source: SOURCE.to_owned(),
                message: format!("report {}: {error}", i + 1),
            },
        };
        messages.push(input);
    }
    if decoder.is_mid_scan() {
        messages.push(Input::Problem {
            source: SOURCE.to_owned(),
            message: "the recording ends in the middle of a scan; that scan was dropped".into(),
        });
    }
    messages.push(Input::Ended {
        source: SOURCE.to_owned(),
    });
    for message in messages {
        if inputs.send(message).await.is_err() {
            return;
        }
    }
}

/// Standard input, one scan per line, on its own thread (reading blocks).
fn read_stdin(binding: Arc<Binding>, inputs: mpsc::Sender<Input>) {
    const SOURCE: &str = "stdin";
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().split(b'\n') {
            let input = match line {
                Ok(mut raw) => {
                    if raw.last() == Some(&b'\r') {
                        raw.pop();
                    }
                    if raw.is_empty() {
                        continue;
                    }
                    Input::Scan {
                        source: SOURCE.to_owned(),
                        binding: Arc::clone(&binding),
                        raw,
                    }
                }
                Err(error) => Input::Problem {
                    source: SOURCE.to_owned(),
                    message: format!("cannot read standard input: {error}"),
                },
            };
            let failed = matches!(input, Input::Problem { .. });
            if inputs.blocking_send(input).is_err() || failed {
                break;
            }
        }
        let _ = inputs.blocking_send(Input::Ended {
            source: SOURCE.to_owned(),
        });
    });
}

/// Takes one scan into the outbox, or refuses it loudly.
async fn take(shared: &Arc<Shared>, source: String, binding: &Binding, raw: Vec<u8>) -> bool {
    if raw.len() > SCAN_BYTES_MAX {
        shared.send_feedback(&source, Feedback::BadRead);
        let message = format!(
            "scan has {} bytes; at most {SCAN_BYTES_MAX} are taken; the scan was NOT taken",
            raw.len()
        );
        shared.emit(Event::Refused { source, message }).await;
        return false;
    }
    let now = now_ms();
    let event_id = uuid::Uuid::new_v4();
    let scan = NewScan {
        request: binding.request(event_id, raw.clone(), now),
        source: source.clone(),
        accepted_at_ms: now,
    };
    let outbox = shared.outbox.clone();
    let pushed = tokio::task::spawn_blocking(move || outbox.push(scan))
        .await
        .unwrap_or_else(|e| {
            Err(OutboxError::Corrupt {
                key: String::new(),
                why: format!("outbox writer task failed: {e}"),
            })
        });
    if let Err(error) = pushed {
        shared.send_feedback(&source, Feedback::BadRead);
        let message = match error {
            OutboxError::Full { .. } => format!(
                "{error}; set the unit aside and scan it again once the server is back \
                 (see `serialtrack gateway status`)"
            ),
            error => format!("{error}; the scan was NOT taken"),
        };
        shared.emit(Event::Refused { source, message }).await;
        return false;
    }
    shared.wake.notify_one();
    shared.touch();
    // Until the first contact the server is not known to be away: no QUEUED label yet.
    if shared.server_state() == ServerState::Offline {
        let check = shared.precheck(&binding.domain_scan(event_id, raw.clone(), now), now);
        let feedback = match check {
            Precheck::LikelyRejected { .. } => Feedback::BadRead,
            Precheck::Fits(_) | Precheck::Unchecked(_) => Feedback::GoodRead,
        };
        shared.send_feedback(&source, feedback);
        let queued = shared.outbox.len();
        shared
            .emit(Event::Queued {
                source,
                event_id: event_id.to_string(),
                raw,
                check,
                queued,
            })
            .await;
    }
    true
}

/// Runs the gateway until `shutdown` completes, or (with `exit_when_drained`) until every
/// finite input has ended and the outbox is empty. Events for the operator go to `events`.
pub async fn run(
    options: GatewayOptions,
    events: mpsc::Sender<Event>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), GatewayError> {
    let endpoint = forward::endpoint(&options.forward).map_err(GatewayError::Input)?;
    // Recordings are read before the outbox is touched: a bad file changes nothing.
    let mut recordings = Vec::new();
    for input in &options.inputs {
        if let InputSpec::Replay { path, .. } = input {
            let text = std::fs::read_to_string(path).map_err(|e| {
                GatewayError::Input(format!("cannot read replay file {}: {e}", path.display()))
            })?;
            let reports = hid::parse_replay(&text)
                .map_err(|e| GatewayError::Input(format!("replay file {}: {e}", path.display())))?;
            recordings.push(reports);
        }
    }
    let dir = options.outbox_dir.clone();
    let max = options.outbox_max;
    let outbox = tokio::task::spawn_blocking(move || Outbox::open(&dir, max))
        .await
        .map_err(|e| GatewayError::Input(format!("cannot open the outbox: {e}")))??;
    let (items, fetched_at_ms) = outbox.items()?;
    let rules = CachedRules::new(items, fetched_at_ms);
    let counts = outbox.counts()?;
    // What waits now was left by an earlier run: its answers come after an outage.
    let left_behind = outbox.last_seq()?;
    let shared = Arc::new(Shared::new(outbox, &options.forward.server, rules, events));

    let (inputs_tx, mut inputs_rx) = mpsc::channel(INPUT_QUEUE_LEN);
    let mut finite = 0usize;
    let mut has_devices = false;
    let stop_devices = Arc::new(AtomicBool::new(false));
    let mut recordings = recordings.into_iter();
    for input in options.inputs {
        match input {
            InputSpec::Stdin { binding } => {
                finite += 1;
                read_stdin(Arc::new(binding), inputs_tx.clone());
            }
            InputSpec::Replay {
                decoder, binding, ..
            } => {
                finite += 1;
                let reports = recordings.next().unwrap_or_default();
                tokio::spawn(replay(
                    reports,
                    decoder,
                    Arc::new(binding),
                    inputs_tx.clone(),
                ));
            }
            InputSpec::Devices { config } => {
                has_devices = true;
                super::device::watch(config, inputs_tx.clone(), Arc::clone(&stop_devices));
            }
        }
    }
    drop(inputs_tx);

    shared
        .emit(Event::Started {
            outbox: shared.outbox.dir().display().to_string(),
            server: options.forward.server.clone(),
            queued: counts.queued,
            rejected: counts.rejected,
        })
        .await;
    let forwarder = tokio::spawn(forward::forward(
        Arc::clone(&shared),
        options.forward,
        endpoint,
        left_behind,
    ));
    let status = tokio::spawn(keep_status(Arc::clone(&shared)));

    let exit_when_drained = options.exit_when_drained && !has_devices;
    // Cleared when every input is gone; then only the drain (or the shutdown) ends the run.
    let mut inputs_open = true;
    tokio::pin!(shutdown);
    loop {
        let mut queued = shared.queued.subscribe();
        let drained = async move {
            let _ = queued.wait_for(|n| *n == 0).await;
        };
        tokio::select! {
            () = &mut shutdown => break,
            () = drained, if exit_when_drained && finite == 0 => {
                if shared.outbox.is_empty() {
                    shared.emit(Event::Drained).await;
                    break;
                }
            }
            input = inputs_rx.recv(), if inputs_open => match input {
                None => {
                    inputs_open = false;
                    finite = 0;
                }
                Some(input) => handle(&shared, input, &mut finite).await,
            },
        }
    }
    stop_devices.store(true, Ordering::Release);
    forwarder.abort();
    status.abort();
    write_status_now(&shared).await;
    let outbox = shared.outbox.clone();
    tokio::task::spawn_blocking(move || outbox.flush())
        .await
        .map_err(|e| GatewayError::Input(format!("cannot flush the outbox: {e}")))??;
    Ok(())
}

async fn handle(shared: &Arc<Shared>, input: Input, finite: &mut usize) {
    match input {
        Input::Scan {
            source,
            binding,
            raw,
        } => {
            take(shared, source, &binding, raw).await;
        }
        Input::Problem { source, message } => {
            shared.send_feedback(&source, Feedback::BadRead);
            shared.emit(Event::ScanError { source, message }).await;
        }
        Input::Device {
            source,
            state,
            message,
            feedback,
        } => {
            match state {
                DeviceState::Connected => {
                    lock(&shared.devices).insert(source.clone());
                    if let Some(sender) = feedback {
                        lock(&shared.feedback).insert(source.clone(), sender);
                    }
                }
                DeviceState::Unplugged => {
                    lock(&shared.devices).remove(&source);
                    lock(&shared.feedback).remove(&source);
                }
                DeviceState::CannotOpen | DeviceState::Unbound | DeviceState::NoneFound => {}
            }
            shared
                .emit(Event::Device {
                    source,
                    state,
                    message,
                })
                .await;
        }
        Input::Ended { source } => {
            *finite = finite.saturating_sub(1);
            shared.emit(Event::InputEnded { source }).await;
        }
    }
}
