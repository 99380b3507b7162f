//! The tonic face of the service: catalog, scanning and unit lookups. Thin: it checks the
//! shape of each request, converts it to domain types, lets the domain and the store decide,
//! and converts the answer back. The only place that maps errors to `tonic::Status`.

mod audit;
pub mod auth;
mod convert;
mod epcis;
mod health;
mod issue;
pub use issue::IMPORT_REJECTED_LISTED_MAX;
mod kpi;
mod label;
mod metrics;
mod trace;
mod watch;
mod webhooks;

use std::future::Future;
use std::pin::Pin;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::barcode::{RAW_SCAN_LEN_MAX, SERIAL_LEN_MAX};
use crate::domain::{self, DocumentAnswer, DocumentError, DocumentOp, item::SKU_LEN_MAX};
use crate::proto::v1 as pb;
use crate::store::{
    ItemConflict, PAGE_LEN_MAX, PreparedScan, SCAN_BATCH_LEN_MAX, Store, StoreError, UnitQuery,
};

pub use auth::Access;
pub use convert::{DEFAULT_RESOLVER, check_resolver, decode_to_pb, item_from_pb, item_to_pb};
pub use epcis::{EPCIS_CHUNK_BYTES, EPCIS_EVENTS_MAX};
pub use metrics::{
    METRICS_CONNECTIONS_MAX, METRICS_CONTENT_TYPE, METRICS_HEADER_TIMEOUT, serve_metrics,
};

/// The largest gRPC message accepted or sent, in bytes. A larger request is refused by tonic
/// with OUT_OF_RANGE before it is decoded. Fits a full batch of typical scans
/// ([`SCAN_BATCH_LEN_MAX`] × ~300 bytes) with room to spare.
pub const MESSAGE_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Scans of one `ScanStream` that may wait for the store at once. The stream stops reading
/// requests while this many are outstanding.
pub const STREAM_IN_FLIGHT_MAX: usize = 1024;

const _: () = assert!(SCAN_BATCH_LEN_MAX * 300 < MESSAGE_BYTES_MAX);

/// Maps a store failure to the status a client sees.
fn store_status(error: StoreError) -> Status {
    match error {
        StoreError::Corrupt(_) => Status::data_loss(error.to_string()),
        StoreError::Locked { .. }
        | StoreError::DataDir { .. }
        | StoreError::Unavailable(_)
        | StoreError::Closed => Status::unavailable(error.to_string()),
    }
}

fn conflict_status(conflict: ItemConflict) -> Status {
    Status::already_exists(conflict.to_string())
}

/// Why the server stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Every service we serve, by its full gRPC name (health checking reports each).
pub const SERVICE_NAMES: [&str; 10] = [
    pb::label_service_server::SERVICE_NAME,
    pb::issue_service_server::SERVICE_NAME,
    pb::webhook_service_server::SERVICE_NAME,
    pb::audit_service_server::SERVICE_NAME,
    pb::auth_service_server::SERVICE_NAME,
    pb::catalog_service_server::SERVICE_NAME,
    pb::scan_service_server::SERVICE_NAME,
    pb::unit_service_server::SERVICE_NAME,
    pb::barcode_service_server::SERVICE_NAME,
    pb::warehouse_service_server::SERVICE_NAME,
];

/// How a server runs: who may call it, and TLS.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub access: Access,
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    /// The longest wait between two tries of a failing webhook delivery.
    pub webhook_retry_max: std::time::Duration,
}

impl ServeOptions {
    /// Plain TCP, no tokens: benchmarks and tests that are not about access.
    pub fn open() -> ServeOptions {
        ServeOptions {
            access: Access::Open,
            tls: None,
            webhook_retry_max: webhooks::RETRY_MAX_DEFAULT,
        }
    }
}

/// Serves every service on `listener` until `shutdown` completes.
pub async fn serve<S: Store>(
    listener: TcpListener,
    store: S,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    // grpc.health.v1: the whole server ("") and each service SERVING until shutdown begins.
    // Streams watch the same flag and end when it turns false.
    let (serving, health_service) = health::health_service();
    let latency = metrics::RpcLatencyLayer {
        metrics: store.metrics().clone(),
    };
    let guard = auth::GuardLayer {
        store: store.clone(),
        access: options.access,
    };
    let audit = pb::audit_service_server::AuditServiceServer::new(audit::Audit {
        store: store.clone(),
    })
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let tokens = pb::auth_service_server::AuthServiceServer::new(auth::Tokens {
        store: store.clone(),
    })
    .max_decoding_message_size(MESSAGE_BYTES_MAX)
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let catalog = pb::catalog_service_server::CatalogServiceServer::new(Catalog {
        store: store.clone(),
    })
    .max_decoding_message_size(MESSAGE_BYTES_MAX)
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let scans = pb::scan_service_server::ScanServiceServer::new(Scans {
        store: store.clone(),
        serving: serving.subscribe(),
    })
    .max_decoding_message_size(MESSAGE_BYTES_MAX)
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let warehouse = pb::warehouse_service_server::WarehouseServiceServer::new(Warehouse {
        store: store.clone(),
    })
    .max_decoding_message_size(MESSAGE_BYTES_MAX)
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let deliveries = std::sync::Arc::new(webhooks::Deliveries::default());
    let webhook_service =
        pb::webhook_service_server::WebhookServiceServer::new(webhooks::Webhooks {
            store: store.clone(),
            deliveries: deliveries.clone(),
        });
    let delivering = tokio::spawn(webhooks::run(
        store.clone(),
        deliveries,
        options.webhook_retry_max,
        serving.subscribe(),
    ));
    let issuing = pb::issue_service_server::IssueServiceServer::new(issue::Issuing {
        store: store.clone(),
        clones: std::sync::Arc::new(issue::CloneWatch::default()),
    })
    .max_decoding_message_size(MESSAGE_BYTES_MAX)
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let labels = pb::label_service_server::LabelServiceServer::new(label::Labels {
        store: store.clone(),
    })
    .max_decoding_message_size(MESSAGE_BYTES_MAX)
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let units = pb::unit_service_server::UnitServiceServer::new(Units {
        store,
        serving: serving.subscribe(),
    })
    .max_decoding_message_size(MESSAGE_BYTES_MAX)
    .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let barcodes = pb::barcode_service_server::BarcodeServiceServer::new(Barcodes)
        .max_decoding_message_size(MESSAGE_BYTES_MAX)
        .max_encoding_message_size(MESSAGE_BYTES_MAX);
    let shutdown = async move {
        shutdown.await;
        let _ = serving.send(false);
    };
    // Server reflection, so that grpcurl and other languages' tools need no .proto files.
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // The builder's `tcp_nodelay` does not reach a listener we bound ourselves: set it on the
    // incoming stream, or small replies wait out the peer's delayed ACK (about 40 ms).
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = options.tls {
        builder = builder.tls_config(tls)?;
    }
    // The first layer is the outermost: the latency includes the token check.
    builder
        .layer(latency)
        .layer(guard)
        .add_service(tokens)
        .add_service(audit)
        .add_service(webhook_service)
        .add_service(catalog)
        .add_service(scans)
        .add_service(units)
        .add_service(barcodes)
        .add_service(warehouse)
        .add_service(issuing)
        .add_service(labels)
        .add_service(health_service)
        .add_service(reflection)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    // The deliveries stop when serving turns false; wait for them, so that the store can
    // close.
    let _ = delivering.await;
    Ok(())
}

struct Catalog<S> {
    store: S,
}

#[tonic::async_trait]
impl<S: Store> pb::catalog_service_server::CatalogService for Catalog<S> {
    async fn put_item(
        &self,
        request: Request<pb::PutItemRequest>,
    ) -> Result<Response<pb::PutItemResponse>, Status> {
        let item = request
            .into_inner()
            .item
            .ok_or_else(|| Status::invalid_argument("item is required"))?;
        let item = item_from_pb(item)?;
        let answer = self
            .store
            .put_item(item)
            .await
            .map_err(store_status)?
            .map_err(conflict_status)?;
        Ok(Response::new(pb::PutItemResponse {
            item: Some(item_to_pb(answer.item)),
            created: answer.created,
        }))
    }

    async fn get_item(
        &self,
        request: Request<pb::GetItemRequest>,
    ) -> Result<Response<pb::GetItemResponse>, Status> {
        let sku = request.into_inner().sku;
        convert::lookup_sku(&sku)?;
        match self.store.item(&sku).await.map_err(store_status)? {
            Some(item) => Ok(Response::new(pb::GetItemResponse {
                item: Some(item_to_pb(item)),
            })),
            None => Err(Status::not_found(format!("no item has sku {sku}"))),
        }
    }

    async fn list_items(
        &self,
        request: Request<pb::ListItemsRequest>,
    ) -> Result<Response<pb::ListItemsResponse>, Status> {
        let request = request.into_inner();
        if request.after_sku.len() > SKU_LEN_MAX {
            return Err(Status::invalid_argument(format!(
                "after_sku is longer than {SKU_LEN_MAX} bytes"
            )));
        }
        let limit = convert::page_len(request.limit)?;
        let items = self
            .store
            .items(&request.after_sku, limit)
            .await
            .map_err(store_status)?;
        let next_after_sku = match items.last() {
            Some(last) if items.len() == limit => last.sku.clone(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListItemsResponse {
            items: items.into_iter().map(item_to_pb).collect(),
            next_after_sku,
        }))
    }
}

/// How a refused document change reaches the client.
fn document_status(error: DocumentError) -> Status {
    match error {
        DocumentError::Exists { .. } | DocumentError::OrderShipped { .. } => {
            Status::already_exists(error.to_string())
        }
        DocumentError::NotFound { .. } => Status::not_found(error.to_string()),
        DocumentError::AlreadyClosed(_)
        | DocumentError::AlreadyReleased(_)
        | DocumentError::ReceiptClosed(_)
        | DocumentError::Unverified { .. } => Status::failed_precondition(error.to_string()),
        DocumentError::Invalid(_)
        | DocumentError::BadReference { .. }
        | DocumentError::LineCount
        | DocumentError::Line { .. }
        | DocumentError::TooManyUnits { .. } => Status::invalid_argument(error.to_string()),
    }
}

struct Warehouse<S> {
    store: S,
}

impl<S: Store> Warehouse<S> {
    async fn decide(&self, op: DocumentOp) -> Result<DocumentAnswer, Status> {
        self.store
            .document(op)
            .await
            .map_err(store_status)?
            .map_err(document_status)
    }

    /// An order as clients see it: with the serials picked for it.
    async fn order_response(
        &self,
        answer: DocumentAnswer,
    ) -> Result<Response<pb::OrderResponse>, Status> {
        let DocumentAnswer::Order(order) = answer else {
            return Err(Status::internal("store answered another document"));
        };
        let picks = self
            .store
            .order_picks(&order.id)
            .await
            .map_err(store_status)?;
        Ok(Response::new(pb::OrderResponse {
            order: Some(convert::order_to_pb(order, picks)),
        }))
    }

    /// A shipment as clients see it: with the serials scanned at dispatch for it.
    async fn shipment_response(
        &self,
        answer: DocumentAnswer,
    ) -> Result<Response<pb::ShipmentResponse>, Status> {
        let DocumentAnswer::Shipment(shipment) = answer else {
            return Err(Status::internal("store answered another document"));
        };
        let dispatched = self
            .store
            .shipment_dispatched(&shipment.id)
            .await
            .map_err(store_status)?;
        Ok(Response::new(pb::ShipmentResponse {
            shipment: Some(convert::shipment_to_pb(shipment, dispatched)),
        }))
    }
}

/// Units per recall report chunk.
pub const REPORT_CHUNK_LEN: usize = 1000;

/// Counts the units a recall covers now, by state, in the order of [`domain::UnitState::ALL`].
async fn count_by_state<S: Store>(
    store: &S,
    scope: &domain::RecallScope,
) -> Result<Vec<(domain::UnitState, u64)>, Status> {
    let query = UnitQuery::Scope(scope.clone());
    let mut counts = [0u64; domain::UnitState::ALL.len()];
    let mut after = String::new();
    loop {
        let page = store
            .units(&query, &after, PAGE_LEN_MAX)
            .await
            .map_err(store_status)?;
        for unit in &page {
            if let Some(i) = domain::UnitState::ALL.iter().position(|s| *s == unit.state) {
                counts[i] += 1;
            }
        }
        match page.last() {
            Some(last) if page.len() == PAGE_LEN_MAX => after.clone_from(&last.serial),
            _ => break,
        }
    }
    Ok(domain::UnitState::ALL
        .into_iter()
        .zip(counts)
        .filter(|&(_, n)| n > 0)
        .collect())
}

impl<S: Store> Warehouse<S> {
    async fn recall_response(
        &self,
        recall: domain::Recall,
    ) -> Result<Response<pb::RecallResponse>, Status> {
        let counts = count_by_state(&self.store, &recall.scope).await?;
        Ok(Response::new(pb::RecallResponse {
            recall: Some(convert::recall_to_pb(recall, &counts)),
        }))
    }

    async fn stored_recall(&self, id: &str) -> Result<domain::Recall, Status> {
        convert::reference("recall id", id)?;
        self.store
            .recall(id)
            .await
            .map_err(store_status)?
            .ok_or_else(|| Status::not_found(format!("no recall {id}")))
    }
}

fn receipt_response(answer: DocumentAnswer) -> Result<Response<pb::ReceiptResponse>, Status> {
    match answer {
        DocumentAnswer::Receipt(receipt) => Ok(Response::new(pb::ReceiptResponse {
            receipt: Some(convert::receipt_to_pb(receipt)),
        })),
        _ => Err(Status::internal("store answered another document")),
    }
}

type ReceiptReportStream =
    Pin<Box<dyn Stream<Item = Result<pb::ReceiptReportChunk, Status>> + Send + 'static>>;

/// Streams a report a page of [`REPORT_CHUNK_LEN`] at a time: `fetch` reads the page after
/// a serial, `serial` names a row's serial (the next page's start), `chunk` turns a page into a
/// message (`None`: nothing to send). A store failure ends the stream with its status.
fn report_stream<T, M, Fut>(
    mut fetch: impl FnMut(String) -> Fut + Send + 'static,
    serial: impl Fn(&T) -> String + Send + 'static,
    chunk: impl Fn(Vec<T>) -> Option<M> + Send + 'static,
) -> Pin<Box<dyn Stream<Item = Result<M, Status>> + Send + 'static>>
where
    T: Send + 'static,
    M: Send + 'static,
    Fut: Future<Output = Result<Vec<T>, StoreError>> + Send,
{
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut after = String::new();
        loop {
            let page = match fetch(after.clone()).await {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(store_status(e))).await;
                    return;
                }
            };
            let full = page.len() == REPORT_CHUNK_LEN;
            if let Some(last) = page.last() {
                after = serial(last);
            }
            if let Some(message) = chunk(page)
                && tx.send(Ok(message)).await.is_err()
            {
                return;
            }
            if !full {
                return;
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}

fn recall_answer(answer: DocumentAnswer) -> Result<domain::Recall, Status> {
    match answer {
        DocumentAnswer::Recall(recall) => Ok(recall),
        _ => Err(Status::internal("store answered another document")),
    }
}

type ReportStream =
    Pin<Box<dyn Stream<Item = Result<pb::RecallReportChunk, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl<S: Store> pb::warehouse_service_server::WarehouseService for Warehouse<S> {
    async fn create_order(
        &self,
        request: Request<pb::CreateOrderRequest>,
    ) -> Result<Response<pb::OrderResponse>, Status> {
        let order = request
            .into_inner()
            .order
            .ok_or_else(|| Status::invalid_argument("order is required"))?;
        let order = convert::order_from_pb(order)?;
        self.order_response(self.decide(DocumentOp::CreateOrder(order)).await?)
            .await
    }

    async fn get_order(
        &self,
        request: Request<pb::GetOrderRequest>,
    ) -> Result<Response<pb::OrderResponse>, Status> {
        let id = request.into_inner().id;
        convert::reference("order id", &id)?;
        match self.store.order(&id).await.map_err(store_status)? {
            Some(order) => self.order_response(DocumentAnswer::Order(order)).await,
            None => Err(Status::not_found(format!("no order {id}"))),
        }
    }

    async fn kpi(
        &self,
        request: Request<pb::KpiRequest>,
    ) -> Result<Response<pb::KpiResponse>, Status> {
        kpi::kpi(&self.store, request.into_inner())
            .await
            .map(Response::new)
    }

    async fn next_pick(
        &self,
        request: Request<pb::NextPickRequest>,
    ) -> Result<Response<pb::NextPickResponse>, Status> {
        use domain::picking;
        let request = request.into_inner();
        convert::reference("order id", &request.order_id)?;
        let Some(order) = self
            .store
            .order(&request.order_id)
            .await
            .map_err(store_status)?
        else {
            return Err(Status::not_found(format!("no order {}", request.order_id)));
        };
        let unavailable = |e: picking::NoPick| Status::failed_precondition(e.to_string());
        let wanted = (request.line != 0).then_some(request.line as usize);
        let line = picking::pick_line(&order, wanted).map_err(unavailable)?;
        let stock = self
            .store
            .stock(&order.lines[line - 1].sku, picking::STOCK_SCAN_MAX)
            .await
            .map_err(store_status)?;
        let today = domain::time::date_utc(domain::time::now_ms());
        let advice = picking::next_pick(&order, line, &stock, today).map_err(unavailable)?;
        Ok(Response::new(pb::NextPickResponse {
            order_id: order.id,
            line: u32::try_from(advice.line).unwrap_or(u32::MAX),
            sku: advice.sku,
            lot: advice.lot.unwrap_or_default(),
            remaining: advice.remaining,
            unit: Some(convert::unit_to_pb(advice.unit)),
            strategy: advice.strategy.name().to_owned(),
            skipped_held: advice.skipped_held,
            skipped_expired: advice.skipped_expired,
        }))
    }

    async fn create_shipment(
        &self,
        request: Request<pb::CreateShipmentRequest>,
    ) -> Result<Response<pb::ShipmentResponse>, Status> {
        let request = request.into_inner();
        convert::reference("shipment id", &request.id)?;
        convert::reference("order id", &request.order_id)?;
        let answer = self
            .decide(DocumentOp::CreateShipment {
                id: request.id,
                order_id: request.order_id,
            })
            .await?;
        self.shipment_response(answer).await
    }

    async fn get_shipment(
        &self,
        request: Request<pb::GetShipmentRequest>,
    ) -> Result<Response<pb::ShipmentResponse>, Status> {
        let id = request.into_inner().id;
        convert::reference("shipment id", &id)?;
        match self.store.shipment(&id).await.map_err(store_status)? {
            Some(shipment) => {
                self.shipment_response(DocumentAnswer::Shipment(shipment))
                    .await
            }
            None => Err(Status::not_found(format!("no shipment {id}"))),
        }
    }

    async fn close_shipment(
        &self,
        request: Request<pb::CloseShipmentRequest>,
    ) -> Result<Response<pb::ShipmentResponse>, Status> {
        let caller = auth::caller(&request);
        let request = request.into_inner();
        convert::reference("shipment id", &request.id)?;
        let override_by = match request.override_by.as_str() {
            "" => None,
            name => {
                convert::reference("override_by", name)?;
                Some(auth::acting_name(caller.as_ref(), name))
            }
        };
        let answer = self
            .decide(DocumentOp::CloseShipment {
                id: request.id,
                override_by,
            })
            .await?;
        self.shipment_response(answer).await
    }

    async fn create_recall(
        &self,
        request: Request<pb::CreateRecallRequest>,
    ) -> Result<Response<pb::RecallResponse>, Status> {
        let caller = auth::caller(&request);
        let mut recall = request
            .into_inner()
            .recall
            .ok_or_else(|| Status::invalid_argument("recall is required"))?;
        recall.created_by = auth::acting_name(caller.as_ref(), &recall.created_by);
        let recall = convert::recall_from_pb(recall)?;
        let recall = recall_answer(self.decide(DocumentOp::CreateRecall(recall)).await?)?;
        self.recall_response(recall).await
    }

    async fn get_recall(
        &self,
        request: Request<pb::GetRecallRequest>,
    ) -> Result<Response<pb::RecallResponse>, Status> {
        let recall = self.stored_recall(&request.into_inner().id).await?;
        self.recall_response(recall).await
    }

    async fn list_recalls(
        &self,
        _request: Request<pb::ListRecallsRequest>,
    ) -> Result<Response<pb::ListRecallsResponse>, Status> {
        let recalls = self.store.recalls().await.map_err(store_status)?;
        Ok(Response::new(pb::ListRecallsResponse {
            recalls: recalls
                .into_iter()
                .map(|r| convert::recall_to_pb(r, &[]))
                .collect(),
        }))
    }

    async fn release_recall(
        &self,
        request: Request<pb::ReleaseRecallRequest>,
    ) -> Result<Response<pb::RecallResponse>, Status> {
        let caller = auth::caller(&request);
        let request = request.into_inner();
        convert::reference("recall id", &request.id)?;
        // With a token, an empty released_by is the token's name.
        let by = auth::acting_name(caller.as_ref(), &request.released_by);
        convert::reference("released_by", &by)?;
        let recall = recall_answer(
            self.decide(DocumentOp::ReleaseRecall { id: request.id, by })
                .await?,
        )?;
        self.recall_response(recall).await
    }

    async fn create_receipt(
        &self,
        request: Request<pb::CreateReceiptRequest>,
    ) -> Result<Response<pb::ReceiptResponse>, Status> {
        let request = request.into_inner();
        let receipt = request
            .receipt
            .ok_or_else(|| Status::invalid_argument("receipt is required"))?;
        let (receipt, expected) = convert::receipt_from_pb(receipt, request.expected)?;
        receipt_response(
            self.decide(DocumentOp::CreateReceipt { receipt, expected })
                .await?,
        )
    }

    async fn get_receipt(
        &self,
        request: Request<pb::GetReceiptRequest>,
    ) -> Result<Response<pb::ReceiptResponse>, Status> {
        let id = request.into_inner().id;
        convert::reference("receipt id", &id)?;
        match self.store.receipt(&id).await.map_err(store_status)? {
            Some(receipt) => receipt_response(DocumentAnswer::Receipt(receipt)),
            None => Err(Status::not_found(format!("no receipt {id}"))),
        }
    }

    async fn close_receipt(
        &self,
        request: Request<pb::CloseReceiptRequest>,
    ) -> Result<Response<pb::ReceiptResponse>, Status> {
        let caller = auth::caller(&request);
        let request = request.into_inner();
        convert::reference("receipt id", &request.id)?;
        // With a token, an empty closed_by is the token's name.
        let by = auth::acting_name(caller.as_ref(), &request.closed_by);
        convert::reference("closed_by", &by)?;
        receipt_response(
            self.decide(DocumentOp::CloseReceipt { id: request.id, by })
                .await?,
        )
    }

    type ReceiptReportStream = ReceiptReportStream;

    async fn receipt_report(
        &self,
        request: Request<pb::ReceiptReportRequest>,
    ) -> Result<Response<ReceiptReportStream>, Status> {
        let request = request.into_inner();
        convert::reference("receipt id", &request.id)?;
        if self
            .store
            .receipt(&request.id)
            .await
            .map_err(store_status)?
            .is_none()
        {
            return Err(Status::not_found(format!("no receipt {}", request.id)));
        }
        let store = self.store.clone();
        let id = request.id;
        let discrepancies_only = request.discrepancies_only;
        let stream = report_stream(
            move |after| {
                let (store, id) = (store.clone(), id.clone());
                async move { store.receipt_entries(&id, &after, REPORT_CHUNK_LEN).await }
            },
            |e: &domain::ReceiptEntry| e.serial.clone(),
            move |page| {
                let entries: Vec<_> = page
                    .into_iter()
                    .filter(|e| {
                        !discrepancies_only
                            || matches!(
                                e.mark,
                                domain::Mark::Expected
                                    | domain::Mark::Unexpected
                                    | domain::Mark::Over
                            )
                    })
                    .map(convert::receipt_entry_to_pb)
                    .collect();
                (!entries.is_empty()).then_some(pb::ReceiptReportChunk { entries })
            },
        );
        Ok(Response::new(stream))
    }

    type RecallReportStream = ReportStream;

    async fn recall_report(
        &self,
        request: Request<pb::RecallReportRequest>,
    ) -> Result<Response<ReportStream>, Status> {
        let recall = self.stored_recall(&request.into_inner().id).await?;
        let query = UnitQuery::Scope(recall.scope);
        let store = self.store.clone();
        let stream = report_stream(
            move |after| {
                let (store, query) = (store.clone(), query.clone());
                async move { store.units(&query, &after, REPORT_CHUNK_LEN).await }
            },
            |u: &domain::Unit| u.serial.clone(),
            |page| {
                (!page.is_empty()).then(|| pb::RecallReportChunk {
                    units: page.into_iter().map(convert::unit_to_pb).collect(),
                })
            },
        );
        Ok(Response::new(stream))
    }
}

struct Barcodes;

#[tonic::async_trait]
impl pb::barcode_service_server::BarcodeService for Barcodes {
    async fn decode(
        &self,
        request: Request<pb::DecodeRequest>,
    ) -> Result<Response<pb::DecodeResponse>, Status> {
        let request = request.into_inner();
        if request.raw.len() > RAW_SCAN_LEN_MAX {
            return Err(Status::invalid_argument(format!(
                "raw has {} bytes; at most {RAW_SCAN_LEN_MAX} are accepted",
                request.raw.len()
            )));
        }
        let resolver = match request.resolver.as_str() {
            "" => DEFAULT_RESOLVER,
            given => given,
        };
        convert::check_resolver(resolver).map_err(Status::invalid_argument)?;
        let today = domain::time::date_utc(domain::time::now_ms());
        Ok(Response::new(convert::decode_to_pb(
            &request.raw,
            request.strict,
            resolver,
            today,
        )))
    }
}

/// Resolves once shutdown has begun (or the flag's sender is gone).
async fn shutting_down(serving: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = serving.wait_for(|serving| !serving).await;
}

struct Scans<S> {
    store: S,
    /// Turns false when shutdown begins: open scan streams then stop taking scans.
    serving: tokio::sync::watch::Receiver<bool>,
}

fn prepare(scan: domain::Scan) -> PreparedScan {
    let read = domain::read_scan(&scan, domain::time::date_utc(domain::time::now_ms()));
    PreparedScan { scan, read }
}

type ReplyStream = Pin<Box<dyn Stream<Item = Result<pb::ScanReply, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl<S: Store> pb::scan_service_server::ScanService for Scans<S> {
    async fn scan(
        &self,
        request: Request<pb::ScanRequest>,
    ) -> Result<Response<pb::ScanReply>, Status> {
        let caller = auth::caller(&request);
        let mut scan = request.into_inner();
        auth::stamp_scan(caller.as_ref(), &mut scan)?;
        let scan = convert::scan_from_pb(scan, None)?;
        let answers = self
            .store
            .scan(vec![prepare(scan)])
            .await
            .map_err(store_status)?;
        let answer = answers
            .first()
            .ok_or_else(|| Status::internal("store answered no scan"))?;
        Ok(Response::new(convert::reply_to_pb(answer)))
    }

    async fn scan_batch(
        &self,
        request: Request<pb::ScanBatchRequest>,
    ) -> Result<Response<pb::ScanBatchResponse>, Status> {
        let caller = auth::caller(&request);
        let scans = request.into_inner().scans;
        if scans.len() > SCAN_BATCH_LEN_MAX {
            return Err(Status::invalid_argument(format!(
                "batch has {} scans; at most {SCAN_BATCH_LEN_MAX} are allowed, split it",
                scans.len()
            )));
        }
        // Every scan is checked before any is decided: a malformed batch writes nothing.
        let prepared = scans
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                auth::stamp_scan(caller.as_ref(), &mut s)
                    .and_then(|()| convert::scan_from_pb(s, Some(i)))
                    .map(prepare)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let answers = self.store.scan(prepared).await.map_err(store_status)?;
        Ok(Response::new(pb::ScanBatchResponse {
            replies: answers.iter().map(convert::reply_to_pb).collect(),
        }))
    }

    type ScanStreamStream = ReplyStream;

    async fn scan_stream(
        &self,
        request: Request<Streaming<pb::ScanRequest>>,
    ) -> Result<Response<ReplyStream>, Status> {
        let caller = auth::caller(&request);
        let mut inbound = request.into_inner();
        let (checked_tx, mut checked_rx) =
            mpsc::channel::<Result<PreparedScan, Status>>(STREAM_IN_FLIGHT_MAX);
        let (out_tx, out_rx) = mpsc::channel(STREAM_IN_FLIGHT_MAX);
        // Reader: checks each scan's shape and queues it; it keeps reading while the store
        // works on the scans before, so they arrive at the writer in large chunks. At
        // shutdown it stops reading: what was queued is still decided and answered, then the
        // stream ends with UNAVAILABLE, so an open stream never holds the shutdown up.
        let mut serving = self.serving.clone();
        tokio::spawn(async move {
            let mut index = 0usize;
            loop {
                let message = tokio::select! {
                    message = inbound.next() => message,
                    () = shutting_down(&mut serving) => {
                        let _ = checked_tx
                            .send(Err(Status::unavailable(format!(
                                "the server is shutting down: the {index} scans sent were \
                                 answered or are being answered; send the rest (same event_id) \
                                 again once it is back"
                            ))))
                            .await;
                        return;
                    }
                };
                let Some(message) = message else {
                    return;
                };
                let checked = message
                    .and_then(|mut m| {
                        auth::stamp_scan(caller.as_ref(), &mut m)?;
                        convert::scan_from_pb(m, Some(index))
                    })
                    .map(prepare);
                index += 1;
                let stop = checked.is_err();
                if checked_tx.send(checked).await.is_err() || stop {
                    return;
                }
            }
        });
        // Decider: hands what is queued to the store as one chunk, in request order, and
        // answers in the same order.
        let store = self.store.clone();
        tokio::spawn(async move {
            while let Some(first) = checked_rx.recv().await {
                let mut chunk = Vec::new();
                let mut failure = None;
                let mut next = Some(first);
                while let Some(checked) = next.take() {
                    match checked {
                        Ok(scan) => chunk.push(scan),
                        Err(status) => {
                            failure = Some(status);
                            break;
                        }
                    }
                    if chunk.len() < STREAM_IN_FLIGHT_MAX {
                        next = checked_rx.try_recv().ok();
                    }
                }
                match store.scan(chunk).await {
                    Ok(answers) => {
                        for answer in &answers {
                            if out_tx.send(Ok(convert::reply_to_pb(answer))).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(e) => {
                        let _ = out_tx.send(Err(store_status(e))).await;
                        return;
                    }
                }
                if let Some(status) = failure {
                    let _ = out_tx.send(Err(status)).await;
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(out_rx))))
    }
}

struct Units<S> {
    store: S,
    /// False once shutdown has begun: event watches end then.
    serving: tokio::sync::watch::Receiver<bool>,
}

fn lookup_serial(serial: &str) -> Result<(), Status> {
    if serial.is_empty() {
        return Err(Status::invalid_argument("serial is required"));
    }
    if serial.chars().count() > SERIAL_LEN_MAX {
        return Err(Status::invalid_argument(format!(
            "serial is longer than {SERIAL_LEN_MAX} characters"
        )));
    }
    Ok(())
}

#[tonic::async_trait]
impl<S: Store> pb::unit_service_server::UnitService for Units<S> {
    async fn get_unit(
        &self,
        request: Request<pb::GetUnitRequest>,
    ) -> Result<Response<pb::GetUnitResponse>, Status> {
        let request = request.into_inner();
        lookup_serial(&request.serial)?;
        let gtin = if request.gtin.is_empty() {
            None
        } else {
            Some(
                domain::item::normalize_gtin(&request.gtin)
                    .map_err(|e| Status::invalid_argument(e.to_string()))?,
            )
        };
        // Our serial first; else the manufacturer's serial a unit carries.
        let unit = match self.store.unit(&request.serial).await {
            Ok(None) => self.store.unit_by_mfr(&request.serial).await,
            found => found,
        }
        .map_err(store_status)?
        .filter(|unit| gtin.is_none() || unit.gtin == gtin);
        match unit {
            Some(unit) => Ok(Response::new(pb::GetUnitResponse {
                unit: Some(convert::unit_to_pb(unit)),
            })),
            None => Err(Status::not_found(match gtin {
                Some(gtin) => format!("no unit with serial {} and gtin {gtin}", request.serial),
                None => format!("no unit with serial {}", request.serial),
            })),
        }
    }

    async fn list_units(
        &self,
        request: Request<pb::ListUnitsRequest>,
    ) -> Result<Response<pb::ListUnitsResponse>, Status> {
        let request = request.into_inner();
        let query = convert::unit_query_from_pb(request.filter)?;
        let limit = convert::page_len(request.limit)?;
        let units = self
            .store
            .units(&query, &request.after_serial, limit)
            .await
            .map_err(store_status)?;
        let next_after_serial = match units.last() {
            Some(last) if units.len() == limit => last.serial.clone(),
            _ => String::new(),
        };
        Ok(Response::new(pb::ListUnitsResponse {
            units: units.into_iter().map(convert::unit_to_pb).collect(),
            next_after_serial,
        }))
    }

    async fn history(
        &self,
        request: Request<pb::HistoryRequest>,
    ) -> Result<Response<pb::HistoryResponse>, Status> {
        let request = request.into_inner();
        lookup_serial(&request.serial)?;
        let limit = convert::page_len(request.limit)?;
        let events = self
            .store
            .history(&request.serial, request.after_seq, limit)
            .await
            .map_err(store_status)?;
        let next_after_seq = match events.last() {
            Some(last) if events.len() == limit => last.seq,
            _ => 0,
        };
        Ok(Response::new(pb::HistoryResponse {
            events: events.into_iter().map(convert::event_to_pb).collect(),
            next_after_seq,
        }))
    }

    type WatchEventsStream = watch::EventStream;

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<watch::EventStream>, Status> {
        watch::watch(
            self.store.clone(),
            self.serving.clone(),
            &request.into_inner(),
        )
        .map(Response::new)
    }

    type ExportEpcisStream = epcis::ChunkStream;

    async fn export_epcis(
        &self,
        request: Request<pb::ExportEpcisRequest>,
    ) -> Result<Response<epcis::ChunkStream>, Status> {
        epcis::export(
            self.store.clone(),
            self.serving.clone(),
            &request.into_inner(),
        )
        .map(Response::new)
    }

    async fn trace(
        &self,
        request: Request<pb::TraceRequest>,
    ) -> Result<Response<pb::TraceResponse>, Status> {
        let request = request.into_inner();
        lookup_serial(&request.id)?;
        trace::trace(&self.store, &request.id)
            .await
            .map(Response::new)
    }

    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let request = request.into_inner();
        let limit = convert::page_len(request.limit)?;
        let events = self
            .store
            .events(request.from_seq, limit)
            .await
            .map_err(store_status)?;
        let next_from_seq = match events.last() {
            Some(last) if events.len() == limit => last.seq + 1,
            _ => 0,
        };
        Ok(Response::new(pb::ListEventsResponse {
            events: events.into_iter().map(convert::event_to_pb).collect(),
            next_from_seq,
        }))
    }
}
