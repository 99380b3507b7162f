//! Standard gRPC tooling against the real server: health checking (`grpc.health.v1`) for the
//! server and each service, and server reflection listing and describing our services
//! without our `.proto` files.

use prost::Message;
use serialtrack::server::SERVICE_NAMES;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::support::TestServer;

#[tokio::test]
async fn health_reports_every_service_serving_until_shutdown() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel());
    for name in std::iter::once("").chain(SERVICE_NAMES) {
        let status = health
            .check(HealthCheckRequest {
                service: name.to_owned(),
            })
            .await
            .expect("check")
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::Serving, "{name:?}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "serialtrack.v1.Nope".to_owned(),
        })
        .await
        .expect_err("unknown service");
    assert_eq!(unknown.code(), Code::NotFound);

    // A watcher hears NOT_SERVING when shutdown begins, and the shutdown does not wait on it.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch
        .message()
        .await
        .expect("first status")
        .expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);
    // A bound, not a wait: a watch that never ended would hang the suite here.
    let bound = std::time::Duration::from_secs(30);
    let stopping = tokio::spawn(server.stop());
    let heard = tokio::time::timeout(bound, async {
        let mut heard = Vec::new();
        while let Ok(Some(update)) = watch.message().await {
            heard.push(update.status());
        }
        heard
    })
    .await
    .expect("the watch ends when shutdown begins");
    assert_eq!(heard, [ServingStatus::NotServing]);
    tokio::time::timeout(bound, stopping)
        .await
        .expect("the server stops with a watcher connected")
        .expect("stop task");
}

#[tokio::test]
async fn reflection_lists_and_describes_our_services() {
    let server = TestServer::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel());
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("serialtrack.v1.ScanService".to_owned()),
        MessageRequest::FileContainingSymbol("serialtrack.v1.NoSuchThing".to_owned()),
    ]
    .map(|request| ServerReflectionRequest {
        host: String::new(),
        message_request: Some(request),
    });
    let mut answers = reflection
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("reflection")
        .into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) = answers
        .message()
        .await
        .expect("answer")
        .and_then(|a| a.message_response)
    else {
        panic!("not a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for name in SERVICE_NAMES.iter().chain(&["grpc.health.v1.Health"]) {
        assert!(
            names.iter().any(|n| n == name),
            "{name} missing from {names:?}"
        );
    }

    let Some(MessageResponse::FileDescriptorResponse(files)) = answers
        .message()
        .await
        .expect("answer")
        .and_then(|a| a.message_response)
    else {
        panic!("not a file descriptor");
    };
    let file = prost_types::FileDescriptorProto::decode(files.file_descriptor_proto[0].as_slice())
        .expect("descriptor");
    assert_eq!(file.package(), "serialtrack.v1");
    let scan = file
        .service
        .iter()
        .find(|s| s.name() == "ScanService")
        .expect("ScanService");
    let methods: Vec<&str> = scan.method.iter().map(|m| m.name()).collect();
    assert_eq!(methods, ["Scan", "ScanBatch", "ScanStream"]);

    // An unknown symbol ends the stream with NOT_FOUND naming it.
    let missing = answers.message().await.expect_err("unknown symbol");
    assert_eq!(missing.code(), Code::NotFound);
    assert!(
        missing.message().contains("NoSuchThing"),
        "{}",
        missing.message()
    );
}

/// A station gateway keeps its ScanStream open for good: shutdown must not wait for it. The
/// scans it sent are answered, then the stream ends with UNAVAILABLE and the server stops.
#[tokio::test]
async fn an_open_scan_stream_ends_at_shutdown_after_its_answers() {
    let server = TestServer::start().await;
    server.add_item(crate::support::item("TV")).await;
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let mut replies = server
        .scans()
        .scan_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(crate::support::receive("TV", "K1")).await.unwrap();
    let first = replies.message().await.unwrap().expect("an answer");
    assert_eq!(first.serial, "K1");
    // The client keeps sending side open; the server stops all the same.
    let stopping = tokio::spawn(server.stop());
    let end = replies.message().await.unwrap_err();
    assert_eq!(end.code(), tonic::Code::Unavailable);
    assert!(end.message().contains("shutting down"), "{}", end.message());
    stopping.await.unwrap();
    drop(tx);
}
