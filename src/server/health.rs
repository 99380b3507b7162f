//! `grpc.health.v1.Health`: the server ("") and each of our services are SERVING until
//! shutdown begins, then NOT_SERVING. Watchers hear the change and their streams end, so a
//! load balancer's watch never holds a graceful shutdown open.

use std::pin::Pin;

use tokio::sync::{mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use super::SERVICE_NAMES;

pub struct HealthService {
    /// True while serving; false once shutdown has begun.
    serving: watch::Receiver<bool>,
}

/// The health service, and the sender that ends serving (send `false`).
pub fn health_service() -> (watch::Sender<bool>, HealthServer<HealthService>) {
    let (tx, serving) = watch::channel(true);
    (tx, HealthServer::new(HealthService { serving }))
}

fn known(service: &str) -> bool {
    service.is_empty() || SERVICE_NAMES.contains(&service)
}

fn response(status: ServingStatus) -> HealthCheckResponse {
    HealthCheckResponse {
        status: status.into(),
    }
}

fn status_of(service: &str, serving: bool) -> ServingStatus {
    match (known(service), serving) {
        (false, _) => ServingStatus::ServiceUnknown,
        (true, true) => ServingStatus::Serving,
        (true, false) => ServingStatus::NotServing,
    }
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<HealthCheckResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Health for HealthService {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        let service = request.into_inner().service;
        if !known(&service) {
            return Err(Status::not_found(format!("no service {service:?} here")));
        }
        Ok(Response::new(response(status_of(
            &service,
            *self.serving.borrow(),
        ))))
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let service = request.into_inner().service;
        let mut serving = self.serving.clone();
        let (tx, rx) = mpsc::channel(2);
        tokio::spawn(async move {
            loop {
                let now = *serving.borrow_and_update();
                if tx
                    .send(Ok(response(status_of(&service, now))))
                    .await
                    .is_err()
                    || !now
                {
                    // The watcher left, or shutdown began: the stream ends.
                    return;
                }
                tokio::select! {
                    changed = serving.changed() => if changed.is_err() { return },
                    () = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
