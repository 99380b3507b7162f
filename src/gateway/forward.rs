//! The forwarder: sends the outbox to the server in order over `ScanStream`, each scan with the
//! `event_id` it got when it entered the outbox, removes each once answered, and tells the
//! operator the answer. When the server cannot be reached it backs off (capped) and probes by
//! refreshing the cached catalog; when the server comes back, everything waiting is replayed
//! first, in order. A scan sent twice (the connection broke before its answer arrived, or the
//! gateway died before removing it) is answered by the server from its log and applied once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_stream::wrappers::ReceiverStream;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Endpoint;

use crate::client::{Bearer, Conn};
use tonic::{Code, Status};

use super::events::{Event, ServerState};
use super::hid::Feedback;
use super::outbox::{Completion, OutboxError, Waiting};
use super::rules::CachedRules;
use super::station::Shared;
use crate::domain::time::now_ms;
use crate::proto::v1 as pb;
use crate::server::{MESSAGE_BYTES_MAX, STREAM_IN_FLIGHT_MAX};

/// How long the gateway waits after a failed contact before trying again, at first and by
/// default at most (it doubles in between).
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX_DEFAULT: Duration = Duration::from_secs(2);

/// Tuning of the forwarder.
#[derive(Clone, Debug)]
pub struct ForwardOptions {
    pub server: String,
    /// The API token each call carries.
    pub token: Option<String>,
    /// The CA of an https:// server's certificate.
    pub ca_file: Option<std::path::PathBuf>,
    /// Scans sent and not yet answered, at most. Bounded by the server's stream window.
    pub window: usize,
    /// With scans in flight, a server silent for this long counts as gone.
    pub reply_timeout: Duration,
    /// Bound on connecting and on each catalog call.
    pub rpc_timeout: Duration,
    /// How often the cached catalog is fetched again while online.
    pub rules_refresh: Duration,
    /// The longest wait between two tries to reach the server.
    pub backoff_max: Duration,
}

impl ForwardOptions {
    pub fn new(server: &str) -> ForwardOptions {
        ForwardOptions {
            server: server.to_owned(),
            token: None,
            ca_file: None,
            window: STREAM_IN_FLIGHT_MAX,
            reply_timeout: Duration::from_secs(10),
            rpc_timeout: Duration::from_secs(5),
            rules_refresh: Duration::from_secs(300),
            backoff_max: BACKOFF_MAX_DEFAULT,
        }
    }
}

/// Answers taken out of the outbox in one write, at most.
const ANSWER_GROUP_LEN_MAX: usize = 256;

/// Why a drain stopped early.
enum Stop {
    /// The server is gone (or misbehaves): back off and probe.
    Offline(String),
    /// The outbox itself failed: nothing can be forwarded until it works again.
    Outbox(OutboxError),
}

impl From<OutboxError> for Stop {
    fn from(error: OutboxError) -> Stop {
        Stop::Outbox(error)
    }
}

fn status_text(status: &Status) -> String {
    format!("{} ({:?})", status.message(), status.code())
}

/// A status that says this request is wrong, not that the server is unwell: sending it again
/// would fail again.
/// (A token the server does not know is not such a status: fix the token and what waits
/// goes through; a role too low for one scan, say a BLOCK, is.)
fn refuses_the_request(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument | Code::OutOfRange | Code::PermissionDenied
    )
}

/// The endpoint the gateway talks to (TLS for an https:// server), and the token its calls
/// carry.
pub fn endpoint(options: &ForwardOptions) -> Result<(Endpoint, Bearer), String> {
    let endpoint = Endpoint::from_shared(options.server.clone())
        .map(|e| e.connect_timeout(options.rpc_timeout).tcp_nodelay(true))
        .map_err(|_| {
            format!(
                "--server {:?} is not a URL like http://127.0.0.1:50051",
                options.server
            )
        })?;
    let endpoint =
        crate::tls::client_endpoint(endpoint, &options.server, options.ca_file.as_deref())
            .map_err(|e| format!("{e:#}"))?;
    let bearer = Bearer::new(options.token.as_deref()).map_err(|e| format!("{e:#}"))?;
    Ok((endpoint, bearer))
}

struct Clients {
    scans: pb::scan_service_client::ScanServiceClient<Conn>,
    catalog: pb::catalog_service_client::CatalogServiceClient<Conn>,
}

/// Runs until aborted. Aborting is safe at any point: the outbox is the only state.
/// `left_behind` is the newest scan an earlier run left in the outbox.
pub async fn forward(
    shared: Arc<Shared>,
    options: ForwardOptions,
    (endpoint, bearer): (Endpoint, Bearer),
    left_behind: Option<u64>,
) {
    let channel = InterceptedService::new(endpoint.connect_lazy(), bearer);
    let mut clients = Clients {
        scans: pb::scan_service_client::ScanServiceClient::new(channel.clone())
            .max_decoding_message_size(MESSAGE_BYTES_MAX)
            .max_encoding_message_size(MESSAGE_BYTES_MAX),
        catalog: pb::catalog_service_client::CatalogServiceClient::new(channel)
            .max_decoding_message_size(MESSAGE_BYTES_MAX),
    };
    let mut backoff = BACKOFF_MIN;
    // Scans up to this sequence number were waiting when the server was last (re)gained: their
    // answers come after an outage.
    let mut replay_through = left_behind;
    let mut next_refresh = Instant::now();
    loop {
        let state = shared.server_state();
        if state != ServerState::Online {
            match refresh_rules(&mut clients, &shared, &options).await {
                Ok(()) => {
                    next_refresh = Instant::now() + options.rules_refresh;
                    if state == ServerState::Offline {
                        replay_through = shared.outbox.last_seq().unwrap_or(None);
                    }
                    shared
                        .set_server_state(ServerState::Online, String::new())
                        .await;
                }
                Err(reason) => {
                    shared.set_server_state(ServerState::Offline, reason).await;
                    sleep(backoff).await;
                    backoff = (backoff * 2).min(options.backoff_max.max(BACKOFF_MIN));
                    continue;
                }
            }
        }
        if shared.outbox.is_empty() {
            tokio::select! {
                () = shared.wake.notified() => {}
                () = sleep_until(next_refresh) => {}
            }
        }
        let result = if shared.outbox.is_empty() {
            Ok(())
        } else {
            drain(&mut clients, &shared, &options, replay_through).await
        };
        match result {
            // The backoff starts over only once scans went through: a server that answers the
            // catalog but fails every scan is not hammered.
            Ok(()) => backoff = BACKOFF_MIN,
            Err(Stop::Offline(reason)) => {
                shared.set_server_state(ServerState::Offline, reason).await;
                sleep(backoff).await;
                backoff = (backoff * 2).min(options.backoff_max.max(BACKOFF_MIN));
                continue;
            }
            Err(Stop::Outbox(error)) => {
                shared
                    .emit(Event::OutboxFailed {
                        message: error.to_string(),
                    })
                    .await;
                sleep(options.backoff_max).await;
            }
        }
        if Instant::now() >= next_refresh {
            if let Err(reason) = refresh_rules(&mut clients, &shared, &options).await {
                shared.set_server_state(ServerState::Offline, reason).await;
            }
            next_refresh = Instant::now() + options.rules_refresh;
        }
    }
}

/// Fetches the whole catalog and keeps it as the cached rules. Also the probe that finds the
/// server back.
async fn refresh_rules(
    clients: &mut Clients,
    shared: &Shared,
    options: &ForwardOptions,
) -> Result<(), String> {
    let mut items = Vec::new();
    let mut after_sku = String::new();
    loop {
        let request = pb::ListItemsRequest {
            after_sku: after_sku.clone(),
            limit: 0,
        };
        let page = timeout(options.rpc_timeout, clients.catalog.list_items(request))
            .await
            .map_err(|_| format!("no answer in {} s", options.rpc_timeout.as_secs()))?
            .map_err(|status| status_text(&status))?
            .into_inner();
        items.extend(page.items);
        if page.next_after_sku.is_empty() {
            break;
        }
        after_sku = page.next_after_sku;
    }
    let fetched_at_ms = now_ms();
    let outbox = shared.outbox.clone();
    let saved = items.clone();
    // A failed cache write only costs freshness; the copy in memory is still right.
    let _ = tokio::task::spawn_blocking(move || outbox.save_items(&saved, fetched_at_ms)).await;
    let n_items = items.len();
    shared.set_rules(CachedRules::new(items, Some(fetched_at_ms)));
    shared.emit(Event::RulesRefreshed { items: n_items }).await;
    Ok(())
}

/// Moves waiting scans (after `cursor`) into the stream, once a quarter of the window is free.
fn fill(
    shared: &Shared,
    tx: &mpsc::Sender<pb::ScanRequest>,
    inflight: &mut VecDeque<Waiting>,
    cursor: &mut Option<u64>,
    window: usize,
) -> Result<(), Stop> {
    if inflight.len() > window - window / 4 {
        return Ok(());
    }
    for waiting in shared
        .outbox
        .waiting_after(*cursor, window - inflight.len())?
    {
        *cursor = Some(waiting.seq);
        // The channel holds at most what is in flight, which the window bounds: never full.
        tx.try_send(waiting.request.clone())
            .map_err(|_| Stop::Offline("the stream to the server closed".into()))?;
        inflight.push_back(waiting);
    }
    Ok(())
}

/// Sends everything waiting over one `ScanStream` and handles the answers in order; returns
/// when the outbox is empty and every answer is in.
async fn drain(
    clients: &mut Clients,
    shared: &Shared,
    options: &ForwardOptions,
    replay_through: Option<u64>,
) -> Result<(), Stop> {
    let window = options.window.clamp(1, STREAM_IN_FLIGHT_MAX);
    let (tx, rx) = mpsc::channel(window);
    let mut inflight = VecDeque::new();
    let mut cursor = None;
    fill(shared, &tx, &mut inflight, &mut cursor, window)?;
    if inflight.is_empty() {
        return Ok(());
    }
    let mut tx = Some(tx);
    let mut replies = match timeout(
        options.rpc_timeout,
        clients.scans.scan_stream(ReceiverStream::new(rx)),
    )
    .await
    {
        Err(_) => {
            return Err(Stop::Offline(
                "the server did not open the scan stream".into(),
            ));
        }
        Ok(Err(status)) => return Err(Stop::Offline(status_text(&status))),
        Ok(Ok(response)) => response.into_inner(),
    };
    loop {
        let next = timeout(options.reply_timeout, replies.message())
            .await
            .map_err(|_| {
                Stop::Offline(format!(
                    "no answer for {} s with {} scans in flight",
                    options.reply_timeout.as_secs(),
                    inflight.len()
                ))
            })?;
        // Whatever else has arrived is taken along, so the outbox is written once per group.
        let mut replies_now = Vec::new();
        let mut end = None;
        match next {
            Ok(Some(reply)) => replies_now.push(reply),
            Ok(None) => end = Some(Ok(())),
            Err(status) => end = Some(Err(status)),
        }
        while end.is_none() && replies_now.len() < ANSWER_GROUP_LEN_MAX {
            // A zero timeout polls once: `message` is cancel safe, nothing is lost.
            match timeout(Duration::ZERO, replies.message()).await {
                Err(_) => break,
                Ok(Ok(Some(reply))) => replies_now.push(reply),
                Ok(Ok(None)) => end = Some(Ok(())),
                Ok(Err(status)) => end = Some(Err(status)),
            }
        }
        let mut group = Vec::with_capacity(replies_now.len());
        for reply in replies_now {
            let Some(waiting) = inflight.pop_front() else {
                return Err(Stop::Offline(
                    "the server answered a scan that was not sent".into(),
                ));
            };
            if reply.event_id != waiting.request.event_id {
                return Err(Stop::Offline(format!(
                    "the server answered {} where {} was expected",
                    reply.event_id, waiting.request.event_id
                )));
            }
            group.push((waiting, reply));
        }
        answered(shared, group, replay_through).await?;
        match end {
            None => {}
            Some(Ok(())) if inflight.is_empty() => return Ok(()),
            Some(Ok(())) => {
                return Err(Stop::Offline(format!(
                    "the server ended the stream with {} scans unanswered",
                    inflight.len()
                )));
            }
            Some(Err(status)) if refuses_the_request(status.code()) => {
                return match inflight.pop_front() {
                    Some(first) => {
                        retry_alone(clients, shared, options, first, replay_through).await
                    }
                    None => Err(Stop::Offline(status_text(&status))),
                };
            }
            Some(Err(status)) => return Err(Stop::Offline(status_text(&status))),
        }
        if let Some(sender) = &tx {
            fill(shared, sender, &mut inflight, &mut cursor, window)?;
            if inflight.is_empty() {
                // Caught up: end the request stream so the call ends with its last answer
                // (an idle stream would also hold up the server's graceful shutdown).
                tx = None;
            }
        }
    }
}

/// The server refused one request of a stream outright. Sent alone with unary `Scan` to be
/// sure which one; if it is refused again it leaves the outbox for the supervisor's list, so
/// one bad scan cannot hold up the ones behind it.
async fn retry_alone(
    clients: &mut Clients,
    shared: &Shared,
    options: &ForwardOptions,
    waiting: Waiting,
    replay_through: Option<u64>,
) -> Result<(), Stop> {
    match timeout(
        options.rpc_timeout,
        clients.scans.scan(waiting.request.clone()),
    )
    .await
    {
        Err(_) => Err(Stop::Offline("no answer to a single scan".into())),
        Ok(Ok(reply)) => {
            answered(shared, vec![(waiting, reply.into_inner())], replay_through).await
        }
        Ok(Err(status)) if refuses_the_request(status.code()) => {
            let message = status_text(&status);
            shared
                .outbox
                .complete(&waiting, None, Some(&message), now_ms())?;
            shared.send_feedback(&waiting.source, Feedback::BadRead);
            shared
                .emit(Event::RefusedByServer {
                    source: waiting.source,
                    event_id: waiting.request.event_id,
                    raw: waiting.request.raw,
                    message,
                    queued: shared.outbox.len(),
                })
                .await;
            shared.touch();
            Ok(())
        }
        Ok(Err(status)) => Err(Stop::Offline(status_text(&status))),
    }
}

fn feedback_for(reply: &pb::ScanReply) -> Feedback {
    match reply.outcome() {
        pb::Outcome::Rejected | pb::Outcome::Unspecified => Feedback::BadRead,
        pb::Outcome::Accepted | pb::Outcome::Warning => Feedback::GoodRead,
    }
}

/// Takes answered scans out of the outbox (one batch) and shows the answers.
async fn answered(
    shared: &Shared,
    group: Vec<(Waiting, pb::ScanReply)>,
    replay_through: Option<u64>,
) -> Result<(), Stop> {
    let after_outage = |waiting: &Waiting| replay_through.is_some_and(|last| waiting.seq <= last);
    let completions: Vec<Completion> = group
        .iter()
        .map(|(waiting, reply)| Completion {
            waiting,
            reply: Some(reply),
            keep: (after_outage(waiting) && reply.outcome() == pb::Outcome::Rejected).then_some(""),
        })
        .collect();
    shared.outbox.complete_many(&completions, now_ms())?;
    let left = shared.outbox.len();
    let n_answers = group.len();
    for (i, (waiting, reply)) in group.into_iter().enumerate() {
        let after_outage = after_outage(&waiting);
        // The operator has moved on from a scan answered after an outage: no beep for it now.
        if !after_outage {
            shared.send_feedback(&waiting.source, feedback_for(&reply));
        }
        shared
            .emit(Event::Result {
                source: waiting.source,
                reply,
                after_outage,
                // Still waiting when this answer came: the rest of the group, then the others.
                queued: left + (n_answers - i - 1),
            })
            .await;
    }
    shared.touch();
    Ok(())
}
