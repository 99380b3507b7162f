//! Hostile input through the real server: every RPC given empty, oversize, malformed bytes,
//! huge repeated fields, unknown enum values and negative or absurd numbers. Each case must be
//! answered with its precise status (code and a fragment of the message), write nothing (the
//! store's events, units, items, recalls and documents are compared before and after), and
//! leave the server healthy (a real receive is accepted at the end).
//!
//! Messages that cannot be built with the generated types (a non-UTF-8 `string`, bytes that are
//! no protobuf at all, groups nested past prost's recursion limit) are sent through a codec
//! for a hand-written message with the same tags. tonic answers a request it cannot decode with
//! INTERNAL, as gRPC's status code table prescribes for a message that fails to parse.

use prost::Message;
use serialtrack::proto::v1 as pb;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use crate::support::{TestServer, item, receive};

/// A message whose field 1 is bytes: sent where field 1 is a `string`, it carries any bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct BytesField1 {
    #[prost(bytes = "vec", tag = "1")]
    field1: Vec<u8>,
}

/// Already encoded bytes, sent as they are.
#[derive(Clone, Debug)]
struct Encoded(Vec<u8>);

/// A codec that sends [`Encoded`] bytes untouched and decodes the answer as `R`.
#[derive(Clone, Copy, Default)]
struct RawCodec<R>(std::marker::PhantomData<R>);

struct RawEncoder;

impl tonic::codec::Encoder for RawEncoder {
    type Item = Encoded;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Encoded,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item.0);
        Ok(())
    }
}

impl<R: Message + Default + Send + 'static> tonic::codec::Codec for RawCodec<R> {
    type Encode = Encoded;
    type Decode = R;
    type Encoder = RawEncoder;
    type Decoder = <tonic_prost::ProstCodec<R, R> as tonic::codec::Codec>::Decoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        tonic::codec::Codec::decoder(&mut tonic_prost::ProstCodec::<R, R>::default())
    }
}

async fn raw_unary<R: Message + Default + Send + 'static>(
    channel: &Channel,
    path: &'static str,
    bytes: Vec<u8>,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    grpc.unary(
        tonic::Request::new(Encoded(bytes)),
        PathAndQuery::from_static(path),
        RawCodec::<R>::default(),
    )
    .await
    .map(|_| ())
}

/// One hostile request.
enum Call {
    PutItem(pb::PutItemRequest),
    GetItem(pb::GetItemRequest),
    ListItems(pb::ListItemsRequest),
    Scan(pb::ScanRequest),
    ScanBatch(pb::ScanBatchRequest),
    ScanStream(Vec<pb::ScanRequest>),
    GetUnit(pb::GetUnitRequest),
    History(pb::HistoryRequest),
    ListEvents(pb::ListEventsRequest),
    ExportEpcis(pb::ExportEpcisRequest),
    ListUnits(pb::ListUnitsRequest),
    Decode(pb::DecodeRequest),
    CreateOrder(pb::CreateOrderRequest),
    GetOrder(pb::GetOrderRequest),
    CreateShipment(pb::CreateShipmentRequest),
    GetShipment(pb::GetShipmentRequest),
    CloseShipment(pb::CloseShipmentRequest),
    CreateRecall(pb::CreateRecallRequest),
    GetRecall(pb::GetRecallRequest),
    ReleaseRecall(pb::ReleaseRecallRequest),
    RecallReport(pb::RecallReportRequest),
    CreateReceipt(pb::CreateReceiptRequest),
    GetReceipt(pb::GetReceiptRequest),
    CloseReceipt(pb::CloseReceiptRequest),
    ReceiptReport(pb::ReceiptReportRequest),
    Trace(pb::TraceRequest),
    NextPick(pb::NextPickRequest),
    Kpi(pb::KpiRequest),
    CreateToken(pb::CreateTokenRequest),
    VerifyAudit(pb::VerifyAuditRequest),
    CreateWebhook(pb::CreateWebhookRequest),
    DeleteWebhook(pb::DeleteWebhookRequest),
    RevokeToken(pb::RevokeTokenRequest),
    IssueSerials(pb::IssueSerialsRequest),
    AllocateRange(pb::AllocateRangeRequest),
    ImportUnits(Vec<pb::ImportUnitsRequest>),
    Verify(pb::VerifyRequest),
    PutTemplate(pb::PutTemplateRequest),
    Print(pb::PrintRequest),
    GetPrintJob(pb::GetPrintJobRequest),
    /// Bytes sent to a unary method whose answer is decoded as `GetUnitResponse` (any answer
    /// type will do: only errors are expected).
    Raw(&'static str, Vec<u8>),
}

fn issuing(server: &TestServer) -> pb::issue_service_client::IssueServiceClient<Channel> {
    pb::issue_service_client::IssueServiceClient::new(server.channel())
}

fn labels(server: &TestServer) -> pb::label_service_client::LabelServiceClient<Channel> {
    pb::label_service_client::LabelServiceClient::new(server.channel())
}

fn tokens(server: &TestServer) -> pb::auth_service_client::AuthServiceClient<Channel> {
    pb::auth_service_client::AuthServiceClient::new(server.channel())
}

async fn call(server: &TestServer, call: Call) -> Result<(), tonic::Status> {
    let w = || server.warehouse();
    match call {
        Call::PutItem(r) => server.catalog().put_item(r).await.map(|_| ()),
        Call::GetItem(r) => server.catalog().get_item(r).await.map(|_| ()),
        Call::ListItems(r) => server.catalog().list_items(r).await.map(|_| ()),
        Call::Scan(r) => server.scans().scan(r).await.map(|_| ()),
        Call::ScanBatch(r) => server.scans().scan_batch(r).await.map(|_| ()),
        Call::ScanStream(requests) => {
            let mut replies = server
                .scans()
                .scan_stream(tokio_stream::iter(requests))
                .await?
                .into_inner();
            while replies.message().await?.is_some() {}
            Ok(())
        }
        Call::GetUnit(r) => server.units().get_unit(r).await.map(|_| ()),
        Call::Trace(r) => server.units().trace(r).await.map(|_| ()),
        Call::NextPick(r) => w().next_pick(r).await.map(|_| ()),
        Call::Kpi(r) => w().kpi(r).await.map(|_| ()),
        Call::History(r) => server.units().history(r).await.map(|_| ()),
        Call::ListEvents(r) => server.units().list_events(r).await.map(|_| ()),
        Call::ExportEpcis(r) => {
            let mut chunks = server.units().export_epcis(r).await?.into_inner();
            while chunks.message().await?.is_some() {}
            Ok(())
        }
        Call::ListUnits(r) => server.units().list_units(r).await.map(|_| ()),
        Call::Decode(r) => server.barcodes().decode(r).await.map(|_| ()),
        Call::CreateOrder(r) => w().create_order(r).await.map(|_| ()),
        Call::GetOrder(r) => w().get_order(r).await.map(|_| ()),
        Call::CreateShipment(r) => w().create_shipment(r).await.map(|_| ()),
        Call::GetShipment(r) => w().get_shipment(r).await.map(|_| ()),
        Call::CloseShipment(r) => w().close_shipment(r).await.map(|_| ()),
        Call::CreateRecall(r) => w().create_recall(r).await.map(|_| ()),
        Call::GetRecall(r) => w().get_recall(r).await.map(|_| ()),
        Call::ReleaseRecall(r) => w().release_recall(r).await.map(|_| ()),
        Call::RecallReport(r) => {
            let mut chunks = w().recall_report(r).await?.into_inner();
            while chunks.message().await?.is_some() {}
            Ok(())
        }
        Call::CreateReceipt(r) => w().create_receipt(r).await.map(|_| ()),
        Call::GetReceipt(r) => w().get_receipt(r).await.map(|_| ()),
        Call::CloseReceipt(r) => w().close_receipt(r).await.map(|_| ()),
        Call::ReceiptReport(r) => {
            let mut chunks = w().receipt_report(r).await?.into_inner();
            while chunks.message().await?.is_some() {}
            Ok(())
        }
        Call::CreateToken(r) => tokens(server).create_token(r).await.map(|_| ()),
        Call::VerifyAudit(r) => pb::audit_service_client::AuditServiceClient::new(server.channel())
            .verify(r)
            .await
            .map(|_| ()),
        Call::CreateWebhook(r) => {
            pb::webhook_service_client::WebhookServiceClient::new(server.channel())
                .create_webhook(r)
                .await
                .map(|_| ())
        }
        Call::DeleteWebhook(r) => {
            pb::webhook_service_client::WebhookServiceClient::new(server.channel())
                .delete_webhook(r)
                .await
                .map(|_| ())
        }
        Call::RevokeToken(r) => tokens(server).revoke_token(r).await.map(|_| ()),
        Call::IssueSerials(r) => issuing(server).issue_serials(r).await.map(|_| ()),
        Call::AllocateRange(r) => issuing(server).allocate_range(r).await.map(|_| ()),
        Call::ImportUnits(messages) => issuing(server)
            .import_units(tokio_stream::iter(messages))
            .await
            .map(|_| ()),
        Call::Verify(r) => issuing(server).verify(r).await.map(|_| ()),
        Call::PutTemplate(r) => labels(server).put_template(r).await.map(|_| ()),
        Call::Print(r) => labels(server).print(r).await.map(|_| ()),
        Call::GetPrintJob(r) => labels(server).get_print_job(r).await.map(|_| ()),
        Call::Raw(path, bytes) => {
            let channel = Channel::from_shared(server.url.clone())
                .expect("url")
                .connect()
                .await
                .expect("connect");
            raw_unary::<pb::GetUnitResponse>(&channel, path, bytes).await
        }
    }
}

/// What the store holds, as far as any request could change it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    events: usize,
    units: Vec<pb::Unit>,
    items: Vec<pb::Item>,
    recalls: Vec<pb::Recall>,
    order: pb::Order,
    shipment: pb::Shipment,
    receipt: pb::Receipt,
    hostile_ids_absent: bool,
    tokens: Vec<pb::Token>,
    webhooks: Vec<pb::Webhook>,
}

async fn snapshot(server: &TestServer) -> Snapshot {
    let units = server
        .units()
        .list_units(pb::ListUnitsRequest {
            filter: Some(pb::list_units_request::Filter::Serials(
                pb::SerialRangeScope {
                    first: "!".into(),
                    last: "~".repeat(64),
                },
            )),
            after_serial: String::new(),
            limit: 1000,
        })
        .await
        .expect("list units")
        .into_inner()
        .units;
    let items = server
        .catalog()
        .list_items(pb::ListItemsRequest::default())
        .await
        .expect("list items")
        .into_inner()
        .items;
    let recalls = server
        .warehouse()
        .list_recalls(pb::ListRecallsRequest {})
        .await
        .expect("list recalls")
        .into_inner()
        .recalls;
    let w = || server.warehouse();
    let order = w()
        .get_order(pb::GetOrderRequest { id: "O-1".into() })
        .await
        .expect("order")
        .into_inner()
        .order
        .unwrap();
    let shipment = w()
        .get_shipment(pb::GetShipmentRequest { id: "S-1".into() })
        .await
        .expect("shipment")
        .into_inner()
        .shipment
        .unwrap();
    let receipt = w()
        .get_receipt(pb::GetReceiptRequest { id: "RC-1".into() })
        .await
        .expect("receipt")
        .into_inner()
        .receipt
        .unwrap();
    let hostile_ids_absent = w()
        .get_order(pb::GetOrderRequest { id: "H-1".into() })
        .await
        .is_err_and(|s| s.code() == Code::NotFound)
        && w()
            .get_receipt(pb::GetReceiptRequest { id: "H-1".into() })
            .await
            .is_err_and(|s| s.code() == Code::NotFound)
        && w()
            .get_shipment(pb::GetShipmentRequest { id: "H-1".into() })
            .await
            .is_err_and(|s| s.code() == Code::NotFound)
        && server
            .catalog()
            .get_item(pb::GetItemRequest { sku: "H-1".into() })
            .await
            .is_err_and(|s| s.code() == Code::NotFound);
    Snapshot {
        events: server.all_events().await.len(),
        units,
        items,
        recalls,
        order,
        shipment,
        receipt,
        hostile_ids_absent,
        tokens: tokens(server)
            .list_tokens(pb::ListTokensRequest {})
            .await
            .expect("tokens")
            .into_inner()
            .tokens,
        webhooks: pb::webhook_service_client::WebhookServiceClient::new(server.channel())
            .list_webhooks(pb::ListWebhooksRequest {})
            .await
            .expect("webhooks")
            .into_inner()
            .webhooks,
    }
}

fn scan(raw: &[u8]) -> pb::ScanRequest {
    pb::ScanRequest {
        raw: raw.to_vec(),
        ..receive("H", "unused")
    }
}

fn order(lines: Vec<pb::OrderLine>) -> pb::CreateOrderRequest {
    pb::CreateOrderRequest {
        order: Some(pb::Order {
            id: "H-1".into(),
            customer: "ACME".into(),
            lines,
            ..Default::default()
        }),
    }
}

fn line(sku: &str, quantity: u32) -> pb::OrderLine {
    pb::OrderLine {
        sku: sku.into(),
        quantity,
        ..Default::default()
    }
}

fn recall(scope: pb::recall::Scope) -> pb::CreateRecallRequest {
    pb::CreateRecallRequest {
        recall: Some(pb::Recall {
            id: "H-1".into(),
            scope: Some(scope),
            reason: "supplier notice".into(),
            created_by: "qa".into(),
            ..Default::default()
        }),
    }
}

fn receipt(lines: Vec<pb::ReceiptLine>, expected: Vec<pb::ExpectedSerial>) -> Call {
    Call::CreateReceipt(pb::CreateReceiptRequest {
        receipt: Some(pb::Receipt {
            id: "H-1".into(),
            lines,
            ..Default::default()
        }),
        expected,
    })
}

fn serial_rule(rule: pb::SerialRule) -> Call {
    Call::PutItem(pb::PutItemRequest {
        item: Some(pb::Item {
            serial_rule: Some(rule),
            ..item("H-1")
        }),
    })
}

/// Protobuf tag bytes: field number and wire type as a varint.
fn tag(field: u32, wire_type: u32) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_varint(u64::from(field << 3 | wire_type), &mut out);
    out
}

fn cases() -> Vec<(&'static str, Call, Code, &'static str)> {
    use Code::{AlreadyExists, Internal, InvalidArgument, NotFound, OutOfRange};
    let long = |n: usize| "X".repeat(n);
    let non_utf8 = BytesField1 {
        field1: vec![0xff, 0xfe, b'A'],
    }
    .encode_to_vec();
    // 200,000 nested groups of an unknown field: far past prost's recursion limit of 100.
    let nested: Vec<u8> = std::iter::repeat_n(tag(99, 3), 200_000).flatten().collect();
    let over_limit = vec![b'9'; 9 * 1024 * 1024];
    let huge_batch = pb::ScanBatchRequest {
        scans: (0..10_001)
            .map(|i| receive("H", &format!("B{i}")))
            .collect(),
    };
    let mut bad_last_in_batch = huge_batch.scans[..3].to_vec();
    bad_last_in_batch[2].action = 99;
    let webhook = |id: &str, url: &str, secret: &str, action: i32| {
        Call::CreateWebhook(pb::CreateWebhookRequest {
            id: id.to_owned(),
            url: url.to_owned(),
            secret: secret.to_owned(),
            filter: Some(pb::WatchEventsRequest {
                action,
                ..Default::default()
            }),
        })
    };
    let token = |name: &str, role: i32| {
        Call::CreateToken(pb::CreateTokenRequest {
            name: name.to_owned(),
            role,
        })
    };
    vec![
        // --- IssueService
        (
            "IssueSerials of none",
            Call::IssueSerials(pb::IssueSerialsRequest {
                sku: "H".into(),
                count: 0,
                ..Default::default()
            }),
            Code::InvalidArgument,
            "count must be 1 to 10000",
        ),
        (
            "IssueSerials of 4 billion",
            Call::IssueSerials(pb::IssueSerialsRequest {
                sku: "H".into(),
                count: 4_000_000_000,
                ..Default::default()
            }),
            Code::InvalidArgument,
            "count must be 1 to 10000",
        ),
        (
            "IssueSerials without a SKU",
            Call::IssueSerials(pb::IssueSerialsRequest {
                count: 1,
                ..Default::default()
            }),
            Code::InvalidArgument,
            "sku is required",
        ),
        (
            "IssueSerials of an item without a policy",
            Call::IssueSerials(pb::IssueSerialsRequest {
                sku: "H".into(),
                count: 1,
                ..Default::default()
            }),
            Code::FailedPrecondition,
            "no issuing policy",
        ),
        (
            "IssueSerials from an owner of 65 bytes",
            Call::IssueSerials(pb::IssueSerialsRequest {
                sku: "H".into(),
                count: 1,
                owner: "o".repeat(65),
                ..Default::default()
            }),
            Code::InvalidArgument,
            "owner has 65 bytes",
        ),
        (
            "AllocateRange without an owner",
            Call::AllocateRange(pb::AllocateRangeRequest {
                sku: "H".into(),
                count: 10,
                ..Default::default()
            }),
            Code::InvalidArgument,
            "owner must be 1 to 64 bytes",
        ),
        (
            "AllocateRange of an unknown owner kind",
            Call::AllocateRange(pb::AllocateRangeRequest {
                sku: "H".into(),
                owner: "ACME".into(),
                kind: 99,
                count: 10,
                ..Default::default()
            }),
            Code::InvalidArgument,
            "kind 99",
        ),
        (
            "AllocateRange for an item without a policy",
            Call::AllocateRange(pb::AllocateRangeRequest {
                sku: "H".into(),
                owner: "ACME".into(),
                count: 10,
                ..Default::default()
            }),
            Code::FailedPrecondition,
            "no issuing policy",
        ),
        (
            "ImportUnits of 1,001 rows in a message",
            Call::ImportUnits(vec![pb::ImportUnitsRequest {
                rows: (0..1001)
                    .map(|i| pb::ImportRow {
                        line: i,
                        sku: "H".into(),
                        serial: format!("H-IMP-{i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }]),
            Code::InvalidArgument,
            "1001 rows",
        ),
        (
            "ImportUnits changing its vendor mid-stream",
            Call::ImportUnits(vec![
                pb::ImportUnitsRequest {
                    vendor: "ACME".into(),
                    check_only: true,
                    ..Default::default()
                },
                pb::ImportUnitsRequest {
                    vendor: "BETA".into(),
                    check_only: true,
                    ..Default::default()
                },
            ]),
            Code::InvalidArgument,
            "the first message's",
        ),
        (
            "Verify nothing",
            Call::Verify(pb::VerifyRequest::default()),
            Code::InvalidArgument,
            "code is required",
        ),
        (
            "Verify a code of 513 bytes",
            Call::Verify(pb::VerifyRequest {
                code: "H".repeat(513),
                place: String::new(),
            }),
            Code::InvalidArgument,
            "code has 513 bytes",
        ),
        // --- LabelService
        (
            "PutTemplate without a template",
            Call::PutTemplate(pb::PutTemplateRequest { template: None }),
            Code::InvalidArgument,
            "template is required",
        ),
        (
            "PutTemplate at 250 dpi",
            Call::PutTemplate(pb::PutTemplateRequest {
                template: Some(pb::LabelTemplate {
                    name: "H-1".into(),
                    width_mm: 50,
                    height_mm: 30,
                    dpi: 250,
                    fields: vec!["qr".into()],
                    ..Default::default()
                }),
            }),
            Code::InvalidArgument,
            "dpi 250",
        ),
        (
            "PutTemplate of a 5 km label",
            Call::PutTemplate(pb::PutTemplateRequest {
                template: Some(pb::LabelTemplate {
                    name: "H-1".into(),
                    width_mm: 5_000_000,
                    height_mm: 30,
                    dpi: 203,
                    fields: vec!["qr".into()],
                    ..Default::default()
                }),
            }),
            Code::InvalidArgument,
            "label size 5000000x30 mm",
        ),
        (
            "PutTemplate with 100,000 fields",
            Call::PutTemplate(pb::PutTemplateRequest {
                template: Some(pb::LabelTemplate {
                    name: "H-1".into(),
                    width_mm: 50,
                    height_mm: 30,
                    dpi: 203,
                    fields: vec!["qr".into(); 100_000],
                    ..Default::default()
                }),
            }),
            Code::InvalidArgument,
            "at most 32 fields",
        ),
        (
            "Print nothing",
            Call::Print(pb::PrintRequest {
                template: "H-1".into(),
                ..Default::default()
            }),
            Code::InvalidArgument,
            "1 to 10000 serials",
        ),
        (
            "Print a serial of 65 bytes",
            Call::Print(pb::PrintRequest {
                template: "H-1".into(),
                serials: vec!["S".repeat(65)],
                ..Default::default()
            }),
            Code::InvalidArgument,
            "must be 1 to 64 bytes",
        ),
        (
            "Print with an unknown template",
            Call::Print(pb::PrintRequest {
                template: "H-1".into(),
                serials: vec!["H-UNIT-1".into()],
                ..Default::default()
            }),
            Code::NotFound,
            "template H-1 does not exist",
        ),
        (
            "GetPrintJob without an id",
            Call::GetPrintJob(pb::GetPrintJobRequest { id: String::new() }),
            Code::InvalidArgument,
            "id must be 1 to 32 bytes",
        ),
        // --- AuditService and WebhookService
        (
            "Verify with a kept head of 3 bytes",
            Call::VerifyAudit(pb::VerifyAuditRequest {
                expect_head: Some(pb::AuditHead {
                    seq: 1,
                    hash: vec![1, 2, 3],
                }),
            }),
            InvalidArgument,
            "has 3 bytes; a SHA-256 has 32",
        ),
        (
            "CreateWebhook with no id",
            webhook("", "http://127.0.0.1:9/", "0123456789abcdef", 0),
            InvalidArgument,
            "1 to 64 characters",
        ),
        (
            "CreateWebhook with a URL over 2,048 bytes",
            webhook(
                "w1",
                &format!("http://127.0.0.1:9/{}", long(2048)),
                "0123456789abcdef",
                0,
            ),
            InvalidArgument,
            "at most 2048",
        ),
        (
            "CreateWebhook with a non-HTTP URL",
            webhook("w1", "file:///etc/passwd", "0123456789abcdef", 0),
            InvalidArgument,
            "not an http:// or https:// URL",
        ),
        (
            "CreateWebhook with a short secret",
            webhook("w1", "http://127.0.0.1:9/", "short", 0),
            InvalidArgument,
            "16 to 256",
        ),
        (
            "CreateWebhook with a control character in the secret",
            webhook("w1", "http://127.0.0.1:9/", "0123456789abcde\u{0}", 0),
            InvalidArgument,
            "printable",
        ),
        (
            "CreateWebhook with an unknown action filter",
            webhook("w1", "http://127.0.0.1:9/", "0123456789abcdef", 99),
            InvalidArgument,
            "99",
        ),
        (
            "DeleteWebhook of no such webhook",
            Call::DeleteWebhook(pb::DeleteWebhookRequest {
                id: "nope".to_owned(),
            }),
            NotFound,
            "no webhook is named \"nope\"",
        ),
        // --- AuthService
        (
            "CreateToken with no name",
            token("", 1),
            InvalidArgument,
            "1 to 64 characters",
        ),
        (
            "CreateToken with a 65-character name",
            token(&long(65), 1),
            InvalidArgument,
            "not 65",
        ),
        (
            "CreateToken with a control character in the name",
            token("a\u{7}b", 1),
            InvalidArgument,
            "not '\\u{7}'",
        ),
        (
            "CreateToken with no role",
            token("t1", 0),
            InvalidArgument,
            "role 0 is not",
        ),
        (
            "CreateToken with an unknown role",
            token("t1", 99),
            InvalidArgument,
            "role 99 is not",
        ),
        (
            "CreateToken with a negative role",
            token("t1", -1),
            InvalidArgument,
            "role -1 is not",
        ),
        (
            "RevokeToken with no name",
            Call::RevokeToken(pb::RevokeTokenRequest {
                name: String::new(),
            }),
            InvalidArgument,
            "1 to 64 characters",
        ),
        (
            "RevokeToken of no such token",
            Call::RevokeToken(pb::RevokeTokenRequest {
                name: "nobody".to_owned(),
            }),
            NotFound,
            "no token is named \"nobody\"",
        ),
        // --- CatalogService
        (
            "PutItem without an item",
            Call::PutItem(pb::PutItemRequest { item: None }),
            InvalidArgument,
            "item is required",
        ),
        (
            "PutItem with an empty SKU",
            Call::PutItem(pb::PutItemRequest {
                item: Some(item("")),
            }),
            InvalidArgument,
            "sku",
        ),
        (
            "PutItem with a 41-byte SKU",
            Call::PutItem(pb::PutItemRequest {
                item: Some(item(&long(41))),
            }),
            InvalidArgument,
            "sku",
        ),
        (
            "PutItem with a 501-byte description",
            Call::PutItem(pb::PutItemRequest {
                item: Some(pb::Item {
                    description: long(501),
                    ..item("H-1")
                }),
            }),
            InvalidArgument,
            "description",
        ),
        (
            "PutItem with a warranty of u32::MAX months",
            Call::PutItem(pb::PutItemRequest {
                item: Some(pb::Item {
                    warranty_months: u32::MAX,
                    ..item("H-1")
                }),
            }),
            InvalidArgument,
            "warranty",
        ),
        (
            "PutItem with a GTIN of letters",
            Call::PutItem(pb::PutItemRequest {
                item: Some(pb::Item {
                    gtin: "ABCDEFGHIJKLM".into(),
                    ..item("H-1")
                }),
            }),
            InvalidArgument,
            "gtin",
        ),
        (
            "PutItem with an unknown charset",
            serial_rule(pb::SerialRule {
                charset: 77,
                ..Default::default()
            }),
            InvalidArgument,
            "charset 77",
        ),
        (
            "PutItem with an unknown check scheme",
            serial_rule(pb::SerialRule {
                check: -5,
                ..Default::default()
            }),
            InvalidArgument,
            "check",
        ),
        (
            "PutItem with an unknown confusables policy",
            serial_rule(pb::SerialRule {
                confusables: 1_000_000,
                ..Default::default()
            }),
            InvalidArgument,
            "confusables",
        ),
        (
            "PutItem with length_min above length_max",
            serial_rule(pb::SerialRule {
                length_min: u32::MAX,
                length_max: 3,
                ..Default::default()
            }),
            InvalidArgument,
            "length",
        ),
        (
            "PutItem with a 10,000-character pattern",
            serial_rule(pb::SerialRule {
                pattern: "9".repeat(10_000),
                ..Default::default()
            }),
            InvalidArgument,
            "pattern",
        ),
        (
            "PutItem with a 1 MiB prefix",
            serial_rule(pb::SerialRule {
                prefix: long(1 << 20),
                ..Default::default()
            }),
            InvalidArgument,
            "prefix",
        ),
        (
            "PutItem with the GTIN of another SKU",
            Call::PutItem(pb::PutItemRequest {
                item: Some(pb::Item {
                    gtin: "4006381333931".into(),
                    ..item("H-1")
                }),
            }),
            AlreadyExists,
            "already belongs to sku H",
        ),
        (
            "GetItem with an empty SKU",
            Call::GetItem(pb::GetItemRequest { sku: String::new() }),
            InvalidArgument,
            "sku",
        ),
        (
            "GetItem with a 1 MiB SKU",
            Call::GetItem(pb::GetItemRequest { sku: long(1 << 20) }),
            InvalidArgument,
            "sku",
        ),
        (
            "GetItem with a non-UTF-8 SKU",
            Call::Raw("/serialtrack.v1.CatalogService/GetItem", non_utf8.clone()),
            Internal,
            "not UTF-8",
        ),
        (
            "ListItems with a limit of u32::MAX",
            Call::ListItems(pb::ListItemsRequest {
                after_sku: String::new(),
                limit: u32::MAX,
            }),
            InvalidArgument,
            "above the maximum page of 1000",
        ),
        (
            "ListItems after a 1 MiB SKU",
            Call::ListItems(pb::ListItemsRequest {
                after_sku: long(1 << 20),
                limit: 0,
            }),
            InvalidArgument,
            "after_sku is longer than 40 bytes",
        ),
        // --- ScanService
        (
            "Scan, all fields empty",
            Call::Scan(pb::ScanRequest::default()),
            InvalidArgument,
            "event_id \"\" is not a UUID",
        ),
        (
            "Scan with the nil UUID",
            Call::Scan(pb::ScanRequest {
                event_id: uuid::Uuid::nil().to_string(),
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "nil UUID",
        ),
        (
            "Scan with a 1 MiB event_id",
            Call::Scan(pb::ScanRequest {
                event_id: long(1 << 20),
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "is not a UUID",
        ),
        (
            "Scan with an unknown action",
            Call::Scan(pb::ScanRequest {
                action: 42,
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "action 42 is not a known action",
        ),
        (
            "Scan with a negative action",
            Call::Scan(pb::ScanRequest {
                action: -1,
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "action -1 is not a known action",
        ),
        (
            "Scan without an action",
            Call::Scan(pb::ScanRequest {
                action: 0,
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "action is required",
        ),
        (
            "Scan with an unknown entry mode",
            Call::Scan(pb::ScanRequest {
                entry_mode: i32::MIN,
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "entry_mode",
        ),
        (
            "Scan with 4,097 raw bytes",
            Call::Scan(scan(&[b'7'; 4097])),
            InvalidArgument,
            "raw has 4097 bytes; at most 4096 are allowed",
        ),
        (
            "Scan with a 65-byte station",
            Call::Scan(pb::ScanRequest {
                station: long(65),
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "station has 65 bytes; at most 64 are allowed",
        ),
        (
            "Scan with a 1 MiB location",
            Call::Scan(pb::ScanRequest {
                location: long(1 << 20),
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "location has 1048576 bytes",
        ),
        (
            "Scan with a 257-byte hold reason",
            Call::Scan(pb::ScanRequest {
                hold_reason: long(257),
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "hold_reason has 257 bytes",
        ),
        (
            "Scan to aggregate into a 65-byte parent",
            Call::Scan(pb::ScanRequest {
                action: pb::Action::Aggregate.into(),
                parent: long(65),
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "parent has 65 bytes",
        ),
        (
            "Scan with a negative client time",
            Call::Scan(pb::ScanRequest {
                client_time_ms: -1,
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "client_time_ms -1 is negative",
        ),
        (
            "Scan with a client time of i64::MIN",
            Call::Scan(pb::ScanRequest {
                client_time_ms: i64::MIN,
                ..scan(b"H-2")
            }),
            InvalidArgument,
            "client_time_ms -9223372036854775808 is negative",
        ),
        (
            "Scan with a non-UTF-8 station",
            Call::Raw(
                "/serialtrack.v1.ScanService/Scan",
                [
                    tag(1, 2),
                    vec![36],
                    uuid::Uuid::new_v4().to_string().into_bytes(),
                    tag(2, 2),
                    vec![2, 0xc3, 0x28],
                ]
                .concat(),
            ),
            Internal,
            "not UTF-8",
        ),
        (
            "Scan that is no protobuf at all",
            Call::Raw(
                "/serialtrack.v1.ScanService/Scan",
                vec![
                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                ],
            ),
            Internal,
            "failed to decode Protobuf message",
        ),
        (
            "Scan with 200,000 nested groups",
            Call::Raw("/serialtrack.v1.ScanService/Scan", nested.clone()),
            Internal,
            "recursion limit reached",
        ),
        (
            "Scan of 9 MiB",
            Call::Raw("/serialtrack.v1.ScanService/Scan", {
                let mut message = tag(5, 2);
                prost::encoding::encode_varint(over_limit.len() as u64, &mut message);
                message.extend_from_slice(&over_limit);
                message
            }),
            OutOfRange,
            "message length too large",
        ),
        (
            "ScanBatch of 10,001 scans",
            Call::ScanBatch(huge_batch),
            InvalidArgument,
            "batch has 10001 scans; at most 10000 are allowed",
        ),
        (
            "ScanBatch whose third scan has an unknown action",
            Call::ScanBatch(pb::ScanBatchRequest {
                scans: bad_last_in_batch.clone(),
            }),
            InvalidArgument,
            "scan 2: action 99 is not a known action",
        ),
        (
            // A stream is not atomic (scans before a bad one stand); nothing after it is read.
            "ScanStream whose first scan has an unknown action",
            Call::ScanStream(vec![
                bad_last_in_batch[2].clone(),
                bad_last_in_batch[0].clone(),
            ]),
            InvalidArgument,
            "scan 0: action 99 is not a known action",
        ),
        // --- UnitService
        (
            "GetUnit with an empty serial",
            Call::GetUnit(pb::GetUnitRequest::default()),
            InvalidArgument,
            "serial is required",
        ),
        (
            "GetUnit with a 65-character serial",
            Call::GetUnit(pb::GetUnitRequest {
                serial: long(65),
                gtin: String::new(),
            }),
            InvalidArgument,
            "serial is longer than 64 characters",
        ),
        (
            "GetUnit with a bad GTIN",
            Call::GetUnit(pb::GetUnitRequest {
                serial: "H-UNIT-1".into(),
                gtin: "12".into(),
            }),
            InvalidArgument,
            "gtin",
        ),
        (
            "GetUnit with a non-UTF-8 serial",
            Call::Raw("/serialtrack.v1.UnitService/GetUnit", non_utf8.clone()),
            Internal,
            "not UTF-8",
        ),
        (
            "Trace with an empty id",
            Call::Trace(pb::TraceRequest::default()),
            InvalidArgument,
            "serial is required",
        ),
        (
            "Trace with a 65-character id",
            Call::Trace(pb::TraceRequest { id: long(65) }),
            InvalidArgument,
            "serial is longer than 64 characters",
        ),
        (
            "Trace of an id nobody has",
            Call::Trace(pb::TraceRequest {
                id: "H-NOBODY".into(),
            }),
            NotFound,
            "no unit or set H-NOBODY",
        ),
        (
            "Trace with a non-UTF-8 id",
            Call::Raw("/serialtrack.v1.UnitService/Trace", non_utf8.clone()),
            Internal,
            "not UTF-8",
        ),
        (
            "NextPick with an empty order id",
            Call::NextPick(pb::NextPickRequest::default()),
            InvalidArgument,
            "order id",
        ),
        (
            "NextPick with a 65-byte order id",
            Call::NextPick(pb::NextPickRequest {
                order_id: long(65),
                line: 1,
            }),
            InvalidArgument,
            "order id",
        ),
        (
            "NextPick of an unknown order at line u32::MAX",
            Call::NextPick(pb::NextPickRequest {
                order_id: "H-NO-ORDER".into(),
                line: u32::MAX,
            }),
            NotFound,
            "no order H-NO-ORDER",
        ),
        (
            "Kpi with a day that is no date",
            Call::Kpi(pb::KpiRequest {
                from_day: "2026-02-30".into(),
                to_day: String::new(),
            }),
            InvalidArgument,
            "is not a YYYY-MM-DD date",
        ),
        (
            "Kpi with an absurd day",
            Call::Kpi(pb::KpiRequest {
                from_day: long(65),
                to_day: "-1".into(),
            }),
            InvalidArgument,
            "is not a YYYY-MM-DD date",
        ),
        (
            "Kpi with the days backwards",
            Call::Kpi(pb::KpiRequest {
                from_day: "2026-11-02".into(),
                to_day: "2026-11-01".into(),
            }),
            InvalidArgument,
            "is before",
        ),
        (
            "Kpi over ten years",
            Call::Kpi(pb::KpiRequest {
                from_day: "2016-01-01".into(),
                to_day: "2026-01-01".into(),
            }),
            InvalidArgument,
            "at most 366 days",
        ),
        (
            "History with an empty serial",
            Call::History(pb::HistoryRequest::default()),
            InvalidArgument,
            "serial is required",
        ),
        (
            "History with a limit of u32::MAX",
            Call::History(pb::HistoryRequest {
                serial: "H-UNIT-1".into(),
                after_seq: u64::MAX,
                limit: u32::MAX,
            }),
            InvalidArgument,
            "above the maximum page",
        ),
        (
            "ListEvents with a limit of 1,001",
            Call::ListEvents(pb::ListEventsRequest {
                from_seq: u64::MAX,
                limit: 1001,
            }),
            InvalidArgument,
            "limit 1001 is above the maximum page of 1000",
        ),
        (
            "ExportEpcis with a limit of u32::MAX",
            Call::ExportEpcis(pb::ExportEpcisRequest {
                since_seq: 0,
                limit: u32::MAX,
            }),
            InvalidArgument,
            "limit 4294967295 is above the maximum of 100000 events per export",
        ),
        (
            "ExportEpcis since u64::MAX",
            Call::ExportEpcis(pb::ExportEpcisRequest {
                since_seq: u64::MAX,
                limit: 0,
            }),
            OutOfRange,
            "since_seq 18446744073709551615 is past the end of the log",
        ),
        (
            "ListUnits without a filter",
            Call::ListUnits(pb::ListUnitsRequest::default()),
            InvalidArgument,
            "a filter is required",
        ),
        (
            "ListUnits with a serial range backwards",
            Call::ListUnits(pb::ListUnitsRequest {
                filter: Some(pb::list_units_request::Filter::Serials(
                    pb::SerialRangeScope {
                        first: "Z".into(),
                        last: "A".into(),
                    },
                )),
                ..Default::default()
            }),
            InvalidArgument,
            "serial range has first after last: \"Z\" sorts after \"A\"",
        ),
        (
            "ListUnits with a date range backwards",
            Call::ListUnits(pb::ListUnitsRequest {
                filter: Some(pb::list_units_request::Filter::Received(
                    pb::ReceivedScope {
                        from_ms: i64::MAX,
                        to_ms: i64::MIN,
                    },
                )),
                ..Default::default()
            }),
            InvalidArgument,
            "from_ms 9223372036854775807 is not before to_ms -9223372036854775808",
        ),
        (
            "ListUnits with a 1 MiB location",
            Call::ListUnits(pb::ListUnitsRequest {
                filter: Some(pb::list_units_request::Filter::Location(long(1 << 20))),
                ..Default::default()
            }),
            InvalidArgument,
            "location must be 1 to 64 bytes",
        ),
        (
            "ListUnits with an empty lot",
            Call::ListUnits(pb::ListUnitsRequest {
                filter: Some(pb::list_units_request::Filter::Lot(pb::LotScope {
                    sku: "H".into(),
                    lot: String::new(),
                })),
                ..Default::default()
            }),
            InvalidArgument,
            "lot must be 1 to 64 bytes",
        ),
        // --- BarcodeService
        (
            "Decode with 4,097 bytes",
            Call::Decode(pb::DecodeRequest {
                raw: vec![0xff; 4097],
                ..Default::default()
            }),
            InvalidArgument,
            "raw has 4097 bytes; at most 4096 are accepted",
        ),
        (
            "Decode with a resolver that is no URL",
            Call::Decode(pb::DecodeRequest {
                raw: b"12345".to_vec(),
                strict: false,
                resolver: "javascript:alert(1)".into(),
            }),
            InvalidArgument,
            "must be an http:// or https:// base URL",
        ),
        (
            "Decode with a 1 MiB resolver",
            Call::Decode(pb::DecodeRequest {
                raw: b"12345".to_vec(),
                strict: false,
                resolver: format!("https://{}", long(1 << 20)),
            }),
            InvalidArgument,
            "resolver is longer than 200 bytes",
        ),
        // --- WarehouseService: orders and shipments
        (
            "CreateOrder without an order",
            Call::CreateOrder(pb::CreateOrderRequest { order: None }),
            InvalidArgument,
            "order is required",
        ),
        (
            "CreateOrder without lines",
            Call::CreateOrder(order(vec![])),
            InvalidArgument,
            "order needs 1 to 1000 lines",
        ),
        (
            "CreateOrder with 1,001 lines",
            Call::CreateOrder(order((0..1001).map(|_| line("H", 1)).collect())),
            InvalidArgument,
            "order has 1001 lines; at most 1000 are allowed",
        ),
        (
            "CreateOrder with 100,000 lines",
            Call::CreateOrder(order((0..100_000).map(|_| line("H", 1)).collect())),
            InvalidArgument,
            "order has 100000 lines",
        ),
        (
            "CreateOrder with a quantity of 0",
            Call::CreateOrder(order(vec![line("H", 0)])),
            InvalidArgument,
            "line 1: quantity must be at least 1",
        ),
        (
            "CreateOrder for u32::MAX units",
            Call::CreateOrder(order(vec![line("H", u32::MAX)])),
            InvalidArgument,
            "order asks for 4294967295 units; at most 10000 per order",
        ),
        (
            "CreateOrder whose quantities overflow u32 when added",
            Call::CreateOrder(order(vec![line("H", u32::MAX), line("H", u32::MAX)])),
            InvalidArgument,
            "order asks for 8589934590 units",
        ),
        (
            "CreateOrder with serials already picked",
            Call::CreateOrder(order(vec![pb::OrderLine {
                picked: vec!["H-UNIT-1".into()],
                ..line("H", 1)
            }])),
            InvalidArgument,
            "line 1: a new order has nothing picked",
        ),
        (
            "CreateOrder with an existing id",
            Call::CreateOrder(pb::CreateOrderRequest {
                order: Some(pb::Order {
                    id: "O-1".into(),
                    ..order(vec![line("H", 1)]).order.unwrap()
                }),
            }),
            AlreadyExists,
            "order O-1 already exists",
        ),
        (
            "GetOrder with a 65-byte id",
            Call::GetOrder(pb::GetOrderRequest { id: long(65) }),
            InvalidArgument,
            "order id must be 1 to 64 bytes",
        ),
        (
            "GetOrder with a control character",
            Call::GetOrder(pb::GetOrderRequest {
                id: "O\u{0}1".into(),
            }),
            InvalidArgument,
            "order id must be 1 to 64 bytes without control characters",
        ),
        (
            "CreateShipment for no order",
            Call::CreateShipment(pb::CreateShipmentRequest {
                id: "H-1".into(),
                order_id: "NOPE".into(),
            }),
            NotFound,
            "no order NOPE",
        ),
        (
            "CreateShipment with an empty id",
            Call::CreateShipment(pb::CreateShipmentRequest {
                id: String::new(),
                order_id: "O-1".into(),
            }),
            InvalidArgument,
            "shipment id must be 1 to 64 bytes",
        ),
        (
            "GetShipment with an empty id",
            Call::GetShipment(pb::GetShipmentRequest { id: String::new() }),
            InvalidArgument,
            "shipment id must be 1 to 64 bytes",
        ),
        (
            "CloseShipment with a 1 MiB override",
            Call::CloseShipment(pb::CloseShipmentRequest {
                id: "S-1".into(),
                override_by: long(1 << 20),
            }),
            InvalidArgument,
            "override_by must be 1 to 64 bytes",
        ),
        (
            "CloseShipment for no shipment",
            Call::CloseShipment(pb::CloseShipmentRequest {
                id: "NOPE".into(),
                override_by: String::new(),
            }),
            NotFound,
            "no shipment NOPE",
        ),
        // --- WarehouseService: recalls
        (
            "CreateRecall without a recall",
            Call::CreateRecall(pb::CreateRecallRequest { recall: None }),
            InvalidArgument,
            "recall is required",
        ),
        (
            "CreateRecall without a scope",
            Call::CreateRecall(pb::CreateRecallRequest {
                recall: Some(pb::Recall {
                    scope: None,
                    ..recall(pb::recall::Scope::Lot(pb::LotScope::default()))
                        .recall
                        .unwrap()
                }),
            }),
            InvalidArgument,
            "recall needs a scope",
        ),
        (
            "CreateRecall with an empty reason",
            Call::CreateRecall(pb::CreateRecallRequest {
                recall: Some(pb::Recall {
                    reason: String::new(),
                    ..recall(pb::recall::Scope::Serials(pb::SerialRangeScope {
                        first: "A".into(),
                        last: "B".into(),
                    }))
                    .recall
                    .unwrap()
                }),
            }),
            InvalidArgument,
            "recall reason must be 1 to 256 bytes without control characters (got 0 bytes)",
        ),
        (
            "CreateRecall with a date range backwards",
            Call::CreateRecall(recall(pb::recall::Scope::Received(pb::ReceivedScope {
                from_ms: 0,
                to_ms: i64::MIN,
            }))),
            InvalidArgument,
            "from_ms 0 is not before to_ms -9223372036854775808",
        ),
        (
            "CreateRecall with a 1 MiB lot",
            Call::CreateRecall(recall(pb::recall::Scope::Lot(pb::LotScope {
                sku: "H".into(),
                lot: long(1 << 20),
            }))),
            InvalidArgument,
            "lot must be 1 to 64 bytes",
        ),
        (
            "GetRecall with an empty id",
            Call::GetRecall(pb::GetRecallRequest { id: String::new() }),
            InvalidArgument,
            "recall id must be 1 to 64 bytes",
        ),
        (
            "ReleaseRecall of no recall",
            Call::ReleaseRecall(pb::ReleaseRecallRequest {
                id: "NOPE".into(),
                released_by: "qa".into(),
            }),
            NotFound,
            "no recall NOPE",
        ),
        (
            "ReleaseRecall without a name",
            Call::ReleaseRecall(pb::ReleaseRecallRequest {
                id: "NOPE".into(),
                released_by: String::new(),
            }),
            InvalidArgument,
            "released_by must be 1 to 64 bytes",
        ),
        (
            "RecallReport of a 65-byte id",
            Call::RecallReport(pb::RecallReportRequest { id: long(65) }),
            InvalidArgument,
            "recall id must be 1 to 64 bytes",
        ),
        // --- WarehouseService: receipts
        (
            "CreateReceipt without a receipt",
            Call::CreateReceipt(pb::CreateReceiptRequest {
                receipt: None,
                expected: vec![],
            }),
            InvalidArgument,
            "receipt is required",
        ),
        (
            "CreateReceipt expecting nothing",
            receipt(vec![], vec![]),
            InvalidArgument,
            "a receipt expects serials, quantity lines, or both",
        ),
        (
            "CreateReceipt with an unknown policy",
            Call::CreateReceipt(pb::CreateReceiptRequest {
                receipt: Some(pb::Receipt {
                    id: "H-1".into(),
                    policy: 3,
                    lines: vec![pb::ReceiptLine {
                        sku: "H".into(),
                        quantity: 1,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                expected: vec![],
            }),
            InvalidArgument,
            "policy 3 is not a known policy",
        ),
        (
            "CreateReceipt with a line already received",
            receipt(
                vec![pb::ReceiptLine {
                    sku: "H".into(),
                    quantity: 5,
                    received: u32::MAX,
                    ..Default::default()
                }],
                vec![],
            ),
            InvalidArgument,
            "line 1: a new receipt has nothing received",
        ),
        (
            "CreateReceipt expecting 100,001 serials",
            receipt(
                vec![],
                (0..100_001)
                    .map(|i| pb::ExpectedSerial {
                        serial: format!("E{i}"),
                        sku: "H".into(),
                    })
                    .collect(),
            ),
            InvalidArgument,
            "at most 100000 serials, not 100001",
        ),
        (
            "CreateReceipt expecting one serial twice",
            receipt(
                vec![],
                (0..2)
                    .map(|_| pb::ExpectedSerial {
                        serial: "E1".into(),
                        sku: "H".into(),
                    })
                    .collect(),
            ),
            InvalidArgument,
            "expected serial 2",
        ),
        (
            "CreateReceipt with an existing id",
            Call::CreateReceipt(pb::CreateReceiptRequest {
                receipt: Some(pb::Receipt {
                    id: "RC-1".into(),
                    lines: vec![pb::ReceiptLine {
                        sku: "H".into(),
                        quantity: 1,
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                expected: vec![],
            }),
            AlreadyExists,
            "receipt RC-1 already exists",
        ),
        (
            "GetReceipt with an empty id",
            Call::GetReceipt(pb::GetReceiptRequest { id: String::new() }),
            InvalidArgument,
            "receipt id must be 1 to 64 bytes",
        ),
        (
            "CloseReceipt with a control character in the name",
            Call::CloseReceipt(pb::CloseReceiptRequest {
                id: "RC-1".into(),
                closed_by: "a\nb".into(),
            }),
            InvalidArgument,
            "closed_by must be 1 to 64 bytes without control characters",
        ),
        (
            "ReceiptReport of no receipt",
            Call::ReceiptReport(pb::ReceiptReportRequest {
                id: "NOPE".into(),
                discrepancies_only: true,
            }),
            NotFound,
            "no receipt NOPE",
        ),
        (
            "CreateReceipt that is no protobuf at all",
            Call::Raw(
                "/serialtrack.v1.WarehouseService/CreateReceipt",
                nested[..10].to_vec(),
            ),
            Internal,
            "failed to decode Protobuf message",
        ),
    ]
}

#[tokio::test]
async fn every_rpc_refuses_hostile_input_precisely_writes_nothing_and_stays_healthy() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            gtin: "4006381333931".into(),
            ..item("H")
        })
        .await;
    for (serial, action) in [
        ("H-UNIT-1", pb::Action::Receive),
        ("H-UNIT-1", pb::Action::Putaway),
    ] {
        let reply = server
            .scan(pb::ScanRequest {
                action: action.into(),
                location: "BIN-1".into(),
                ..receive("H", serial)
            })
            .await;
        assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{reply:?}");
    }
    let mut w = server.warehouse();
    w.create_order(pb::CreateOrderRequest {
        order: Some(pb::Order {
            id: "O-1".into(),
            ..order(vec![line("H", 1)]).order.unwrap()
        }),
    })
    .await
    .expect("order");
    w.create_shipment(pb::CreateShipmentRequest {
        id: "S-1".into(),
        order_id: "O-1".into(),
    })
    .await
    .expect("shipment");
    w.create_receipt(pb::CreateReceiptRequest {
        receipt: Some(pb::Receipt {
            id: "RC-1".into(),
            lines: vec![pb::ReceiptLine {
                sku: "H".into(),
                quantity: 5,
                ..Default::default()
            }],
            ..Default::default()
        }),
        expected: vec![],
    })
    .await
    .expect("receipt");

    let before = snapshot(&server).await;
    assert!(before.hostile_ids_absent);
    let mut wrong = Vec::new();
    for (name, request, code, fragment) in cases() {
        match call(&server, request).await {
            Ok(()) => wrong.push(format!(
                "{name}: answered OK, expected {code:?} {fragment:?}"
            )),
            Err(status) if status.code() == code && status.message().contains(fragment) => {}
            Err(status) => wrong.push(format!(
                "{name}: answered {:?} {:?}, expected {code:?} containing {fragment:?}",
                status.code(),
                truncate(status.message())
            )),
        }
        let after = snapshot(&server).await;
        if after != before {
            wrong.push(format!("{name}: the store changed"));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cases wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );

    // Still healthy: a real receive is accepted and counted.
    let reply = server.scan(receive("H", "H-UNIT-2")).await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{reply:?}");
    assert_eq!(snapshot(&server).await.events, before.events + 1);
    drop(server.stop().await);
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}
