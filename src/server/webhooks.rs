//! WebhookService, and the deliveries: one task per subscription follows the log (only events
//! on disk), POSTs each matching event until a 2xx answer, and records its progress in the
//! store after each delivery, so that a restart resumes where it stopped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tonic::{Request, Response, Status};

use super::{auth, convert, store_status, watch::filter_from_pb};
use crate::domain::time;
use crate::proto::v1 as pb;
use crate::store::Store;
use crate::webhook::{self, Webhook, WebhookError, WebhookOp};

/// The first wait after a failed delivery; it doubles up to the configured cap.
pub const RETRY_MIN: Duration = Duration::from_millis(100);
pub const RETRY_MAX_DEFAULT: Duration = Duration::from_secs(30);
/// A receiver that has not answered in this long has failed this try.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// Events read from the log at a time.
const PAGE: usize = 256;

/// How the deliveries stand, shared by the tasks and the service, and the bell that tells the
/// manager the subscriptions changed.
#[derive(Default)]
pub struct Deliveries {
    failing: Mutex<HashMap<String, Failing>>,
    changed: Notify,
}

#[derive(Clone, Debug, Default)]
struct Failing {
    failures: u32,
    last_error: String,
    next_attempt_ms: i64,
}

impl Deliveries {
    fn set(&self, id: &str, failing: Option<Failing>) {
        let mut map = self
            .failing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match failing {
            Some(f) => map.insert(id.to_owned(), f),
            None => map.remove(id),
        };
    }

    fn get(&self, id: &str) -> Failing {
        self.failing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .unwrap_or_default()
    }
}

type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

fn http_client() -> HttpClient {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Runs the deliveries until `serving` turns false.
pub async fn run<S: Store>(
    store: S,
    deliveries: Arc<Deliveries>,
    retry_max: Duration,
    mut serving: watch::Receiver<bool>,
) {
    let client = http_client();
    let mut tasks: HashMap<String, JoinHandle<()>> = HashMap::new();
    loop {
        // Armed before the list is read: a change made meanwhile is not missed.
        let changed = deliveries.changed.notified();
        match store.webhooks().await {
            Ok(webhooks) => {
                tasks.retain(|id, task| {
                    let keep = webhooks.iter().any(|w| &w.id == id) && !task.is_finished();
                    if !keep {
                        task.abort();
                    }
                    keep
                });
                for webhook in webhooks {
                    if !tasks.contains_key(&webhook.id) {
                        let id = webhook.id.clone();
                        let task = tokio::spawn(follow(
                            store.clone(),
                            client.clone(),
                            Arc::clone(&deliveries),
                            webhook,
                            retry_max,
                        ));
                        tasks.insert(id, task);
                    }
                }
            }
            Err(e) => tracing::warn!("webhooks: cannot read the subscriptions: {e}"),
        }
        tokio::select! {
            () = changed => {}
            // A task that ended (its store call failed) is started again on the next round.
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = serving.changed() => {
                if !*serving.borrow() {
                    break;
                }
            }
        }
    }
    // What is under way is at least once: the progress of a delivery cut short is not yet
    // recorded, and it is sent again after the restart.
    for task in tasks.into_values() {
        task.abort();
    }
}

/// One subscription: follows the log from where delivery stopped.
async fn follow<S: Store>(
    store: S,
    client: HttpClient,
    deliveries: Arc<Deliveries>,
    webhook: Webhook,
    retry_max: Duration,
) {
    let mut through = webhook.delivered_through;
    let mut committed = store.committed();
    loop {
        let head = *committed.borrow_and_update();
        if through >= head {
            if committed.changed().await.is_err() {
                return;
            }
            continue;
        }
        let events = match store.events(through + 1, PAGE).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(webhook = webhook.id, "webhooks: cannot read the log: {e}");
                return;
            }
        };
        let mut recorded = through;
        for event in events.iter().take_while(|e| e.seq <= head) {
            through = event.seq;
            if !webhook.filter.matches(event) {
                continue;
            }
            deliver(&client, &deliveries, &webhook, event, retry_max).await;
            if !advance(&store, &webhook.id, through).await {
                return;
            }
            recorded = through;
        }
        // Events that did not match: recorded once per page.
        if through > recorded && !advance(&store, &webhook.id, through).await {
            return;
        }
    }
}

/// Records delivery progress; false when the subscription is gone or the store failed.
async fn advance<S: Store>(store: &S, id: &str, through: u64) -> bool {
    let op = WebhookOp::Advance {
        id: id.to_owned(),
        through,
    };
    match store.webhook_op(op).await {
        Ok(Ok(_)) => true,
        Ok(Err(_)) => false,
        Err(e) => {
            tracing::warn!(webhook = id, "webhooks: cannot record progress: {e}");
            false
        }
    }
}

/// POSTs one event until a receiver answers 2xx, backing off between tries.
async fn deliver(
    client: &HttpClient,
    deliveries: &Deliveries,
    webhook: &Webhook,
    event: &crate::domain::Event,
    retry_max: Duration,
) {
    let body = Bytes::from(webhook::payload(&webhook.id, event));
    let signature = webhook::sign(&webhook.secret, &body);
    let mut wait = RETRY_MIN;
    let mut failures = 0u32;
    loop {
        let request = http::Request::post(&webhook.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header("x-serialtrack-signature", &signature)
            .header("x-serialtrack-seq", event.seq.to_string())
            .header("x-serialtrack-event-id", event.event_id.to_string())
            .header("x-serialtrack-webhook", &webhook.id)
            .body(Full::new(body.clone()));
        let outcome = match request {
            Err(e) => Err(format!("cannot build the request: {e}")),
            Ok(request) => {
                match tokio::time::timeout(DELIVERY_TIMEOUT, client.request(request)).await {
                    Err(_) => Err(format!("no answer within {} s", DELIVERY_TIMEOUT.as_secs())),
                    Ok(Err(e)) => Err(format!("{e}")),
                    Ok(Ok(answer)) if answer.status().is_success() => Ok(()),
                    Ok(Ok(answer)) => Err(format!("the receiver answered {}", answer.status())),
                }
            }
        };
        match outcome {
            Ok(()) => {
                deliveries.set(&webhook.id, None);
                return;
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::warn!(
                    webhook = webhook.id,
                    seq = event.seq,
                    failures,
                    "webhook delivery failed: {error}"
                );
                let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
                deliveries.set(
                    &webhook.id,
                    Some(Failing {
                        failures,
                        last_error: format!("event {}: {error}", event.seq),
                        next_attempt_ms: time::now_ms().saturating_add(wait_ms),
                    }),
                );
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(retry_max.max(RETRY_MIN));
            }
        }
    }
}

pub struct Webhooks<S> {
    pub store: S,
    pub deliveries: Arc<Deliveries>,
}

impl<S: Store> Webhooks<S> {
    fn to_pb(&self, webhook: Webhook) -> pb::Webhook {
        let failing = self.deliveries.get(&webhook.id);
        let f = webhook.filter;
        pb::Webhook {
            id: webhook.id,
            url: webhook.url,
            filter: Some(pb::WatchEventsRequest {
                from_seq: 0,
                serial: f.serial.unwrap_or_default(),
                sku: f.sku.unwrap_or_default(),
                lot: f.lot.unwrap_or_default(),
                action: f.action.map_or(0, |a| convert::action_to_pb(a).into()),
                outcome: f.outcome.map_or(0, |o| convert::outcome_to_pb(o).into()),
            }),
            created_at_ms: webhook.created_at_ms,
            created_by: webhook.created_by,
            delivered_through: webhook.delivered_through,
            failures: failing.failures,
            last_error: failing.last_error,
            next_attempt_ms: failing.next_attempt_ms,
        }
    }

    async fn decide(&self, op: WebhookOp) -> Result<Option<Webhook>, Status> {
        let answer = match self.store.webhook_op(op).await.map_err(store_status)? {
            Ok(answer) => answer,
            Err(e @ WebhookError::Exists(_)) => return Err(Status::already_exists(e.to_string())),
            Err(e @ WebhookError::NotFound(_)) => return Err(Status::not_found(e.to_string())),
            Err(e @ WebhookError::Full) => {
                return Err(Status::resource_exhausted(e.to_string()));
            }
        };
        self.deliveries.changed.notify_one();
        Ok(answer)
    }
}

#[tonic::async_trait]
impl<S: Store> pb::webhook_service_server::WebhookService for Webhooks<S> {
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::WebhookResponse>, Status> {
        let by = auth::caller(&request).map(|c| c.name).unwrap_or_default();
        let request = request.into_inner();
        webhook::check(&request.id, &request.url, &request.secret)
            .map_err(Status::invalid_argument)?;
        let filter_request = request.filter.unwrap_or_default();
        let filter = filter_from_pb(&filter_request)?;
        // Delivery starts at `from_seq`, or after the newest event on disk.
        let delivered_through = match filter_request.from_seq {
            0 => *self.store.committed().borrow(),
            from => from - 1,
        };
        let webhook = Webhook {
            id: request.id,
            url: request.url,
            secret: request.secret,
            filter,
            created_at_ms: 0,
            created_by: by,
            delivered_through,
        };
        let created = self
            .decide(WebhookOp::Create(webhook))
            .await?
            .ok_or_else(|| Status::internal("the store answered no webhook"))?;
        Ok(Response::new(pb::WebhookResponse {
            webhook: Some(self.to_pb(created)),
        }))
    }

    async fn list_webhooks(
        &self,
        _request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        let webhooks = self.store.webhooks().await.map_err(store_status)?;
        Ok(Response::new(pb::ListWebhooksResponse {
            webhooks: webhooks.into_iter().map(|w| self.to_pb(w)).collect(),
        }))
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::WebhookResponse>, Status> {
        let id = request.into_inner().id;
        crate::auth::check_name(&id)
            .map_err(|e| Status::invalid_argument(e.replace("token name", "webhook id")))?;
        let existing = self
            .store
            .webhooks()
            .await
            .map_err(store_status)?
            .into_iter()
            .find(|w| w.id == id);
        self.decide(WebhookOp::Delete { id: id.clone() }).await?;
        self.deliveries.set(&id, None);
        Ok(Response::new(pb::WebhookResponse {
            webhook: existing.map(|w| self.to_pb(w)),
        }))
    }
}
