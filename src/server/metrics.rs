//! The server's side of the metrics: [`RpcLatencyLayer`], the tower layer that times every RPC
//! into its method's histogram, and [`serve_metrics`], the HTTP/1.1 endpoint on its own
//! listener that answers `GET /metrics` with the Prometheus text exposition. It renders what
//! the store and this layer counted ([`crate::metrics`]); it never reads the store.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::Bytes;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::metrics::Metrics;

/// Connections the metrics endpoint serves at once; later ones wait in the listener's backlog
/// until one closes.
pub const METRICS_CONNECTIONS_MAX: usize = 16;
/// A metrics connection that has not sent a whole request head in this time is closed.
pub const METRICS_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the endpoint waits after a failed `accept` (out of file descriptors, say) before
/// it accepts again, so that it does not spin.
const ACCEPT_RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The media type of the text exposition format 0.0.4.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Times every call from its request to its response headers (the whole call for a unary
/// RPC, its start for a streaming one). Outside the access check, so refused calls count too.
#[derive(Clone)]
pub struct RpcLatencyLayer {
    pub metrics: Arc<Metrics>,
}

impl<I> tower_layer::Layer<I> for RpcLatencyLayer {
    type Service = RpcLatency<I>;

    fn layer(&self, inner: I) -> Self::Service {
        RpcLatency {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct RpcLatency<I> {
    inner: I,
    metrics: Arc<Metrics>,
}

impl<I, B> tower_service::Service<http::Request<B>> for RpcLatency<I>
where
    I: tower_service::Service<http::Request<B>>,
{
    type Response = I::Response;
    type Error = I::Error;
    type Future = Timed<I::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        Timed {
            slot: Metrics::rpc_slot(request.uri().path()),
            start: Instant::now(),
            metrics: self.metrics.clone(),
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// A call's response future, which records the call's time when it completes.
    pub struct Timed<F> {
        #[pin]
        inner: F,
        slot: usize,
        start: Instant,
        metrics: Arc<Metrics>,
    }
}

impl<F: Future> Future for Timed<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = std::task::ready!(this.inner.poll(cx));
        this.metrics.rpc_finished(*this.slot, this.start.elapsed());
        Poll::Ready(output)
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()>,
) {
    let connections = Arc::new(Semaphore::new(METRICS_CONNECTIONS_MAX));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => return,
            permit = connections.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("metrics endpoint: cannot accept a connection: {e}");
                    tokio::time::sleep(ACCEPT_RETRY_PAUSE).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |request| {
                let response = answer(&request, &metrics);
                async move { Ok::<_, Infallible>(response) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(METRICS_HEADER_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                tracing::debug!("metrics endpoint: connection ended: {e}");
            }
        });
    }
}

/// The endpoint's answer: the metrics at `/metrics`, 405 for another method there, 404
/// elsewhere.
fn answer<B>(request: &http::Request<B>, metrics: &Metrics) -> http::Response<Full<Bytes>> {
    let plain = |status: http::StatusCode, text: &str| {
        let mut response = http::Response::new(Full::new(Bytes::from(text.to_owned())));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    };
    if request.uri().path() != "/metrics" {
        return plain(
            http::StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        );
    }
    if request.method() != http::Method::GET && request.method() != http::Method::HEAD {
        let mut response = plain(
            http::StatusCode::METHOD_NOT_ALLOWED,
            "/metrics answers GET and HEAD only\n",
        );
        response.headers_mut().insert(
            http::header::ALLOW,
            http::HeaderValue::from_static("GET, HEAD"),
        );
        return response;
    }
    let mut response = http::Response::new(Full::new(Bytes::from(metrics.render())));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(METRICS_CONTENT_TYPE),
    );
    response
}
