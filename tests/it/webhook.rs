//! Webhooks through the real server: a receiver on loopback that is down (answers 503) for a
//! while and a server restart in the middle still get every matching event, signed, in order,
//! and nothing else; bad subscriptions are refused precisely.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serialtrack::proto::v1 as pb;
use serialtrack::server::ServeOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tonic::Code;

use crate::support::{TestServer, item, receive};

const SECRET: &str = "a-secret-of-some-length";

/// One POST the receiver got.
struct Delivery {
    headers: HashMap<String, String>,
    body: Vec<u8>,
    /// What the receiver answered.
    status: u16,
}

/// A plain HTTP/1.1 receiver: the first `failing` requests get 503, the rest 200.
async fn receiver(failing: usize) -> (String, mpsc::UnboundedReceiver<Delivery>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/st", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let (tx, seen) = (tx.clone(), Arc::clone(&seen));
            tokio::spawn(async move {
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    let n = socket.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
                let headers: HashMap<String, String> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let length: usize = headers["content-length"].parse().unwrap();
                while data.len() < head_end + length {
                    let n = socket.read(&mut buf).await.unwrap();
                    assert!(n > 0, "body cut short");
                    data.extend_from_slice(&buf[..n]);
                }
                let status = if seen.fetch_add(1, Ordering::SeqCst) < failing {
                    503
                } else {
                    200
                };
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                socket.write_all(answer.as_bytes()).await.unwrap();
                let _ = tx.send(Delivery {
                    headers,
                    body: data[head_end..head_end + length].to_vec(),
                    status,
                });
            });
        }
    });
    (url, rx)
}

async fn start(dir: &std::path::Path) -> TestServer {
    let options = ServeOptions {
        webhook_retry_max: Duration::from_millis(200),
        ..ServeOptions::open()
    };
    TestServer::start_with(dir, "127.0.0.1:0", options, None).await
}

fn webhooks(
    server: &TestServer,
) -> pb::webhook_service_client::WebhookServiceClient<tonic::transport::Channel> {
    pb::webhook_service_client::WebhookServiceClient::new(server.channel())
}

/// Takes deliveries until every seq in `want` was answered 200; fails after 60 s.
async fn until_delivered(
    rx: &mut mpsc::UnboundedReceiver<Delivery>,
    want: &BTreeSet<u64>,
    got: &mut Vec<Delivery>,
) {
    let done = |got: &Vec<Delivery>| {
        let ok: BTreeSet<u64> = got
            .iter()
            .filter(|d| d.status == 200)
            .map(|d| d.headers["x-serialtrack-seq"].parse().unwrap())
            .collect();
        want.is_subset(&ok)
    };
    while !done(got) {
        let delivery = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("the receiver waited 60 s for a delivery")
            .expect("receiver open");
        got.push(delivery);
    }
}

#[tokio::test]
async fn a_receiver_that_was_down_gets_every_matching_event_across_a_restart() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let (url, mut rx) = receiver(3).await;
    let server = start(&dir).await;
    server.add_item(item("TV")).await;
    server.add_item(item("CAM")).await;
    // An event before the subscription: not delivered (delivery starts at the next one).
    server.scan(receive("TV", "T0")).await;
    let created = webhooks(&server)
        .create_webhook(pb::CreateWebhookRequest {
            id: "tv-feed".to_owned(),
            url: url.clone(),
            secret: SECRET.to_owned(),
            filter: Some(pb::WatchEventsRequest {
                sku: "TV".to_owned(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .webhook
        .unwrap();
    assert_eq!(created.delivered_through, 1);
    let mut want = BTreeSet::new();
    for serial in ["T1", "C1", "T2", "T1"] {
        let sku = if serial.starts_with('C') { "CAM" } else { "TV" };
        let reply = server.scan(receive(sku, serial)).await;
        if sku == "TV" {
            want.insert(reply.seq);
        }
    }
    let mut got = Vec::new();
    until_delivered(&mut rx, &want, &mut got).await;
    assert!(
        got.iter().filter(|d| d.status == 503).count() == 3,
        "the first three tries met a receiver that was down"
    );

    // A restart: delivery resumes from the stored progress, and nothing is lost.
    server.stop().await;
    let server = start(&dir).await;
    for serial in ["T3", "C2", "T4"] {
        let sku = if serial.starts_with('C') { "CAM" } else { "TV" };
        let reply = server.scan(receive(sku, serial)).await;
        if sku == "TV" {
            want.insert(reply.seq);
        }
    }
    until_delivered(&mut rx, &want, &mut got).await;

    let mut last = 0;
    for delivery in &got {
        let seq: u64 = delivery.headers["x-serialtrack-seq"].parse().unwrap();
        // Signed with the secret, over the exact body.
        assert_eq!(
            delivery.headers["x-serialtrack-signature"],
            serialtrack::webhook::sign(SECRET, &delivery.body)
        );
        assert_eq!(delivery.headers["x-serialtrack-webhook"], "tv-feed");
        assert_eq!(delivery.headers["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_slice(&delivery.body).unwrap();
        assert_eq!(body["seq"], seq);
        assert_eq!(body["sku"], "TV", "only matching events: {body}");
        assert_eq!(body["event_id"], delivery.headers["x-serialtrack-event-id"]);
        assert!(want.contains(&seq), "event {seq} was not to be delivered");
        // In order; a repeat is allowed only of the newest (at least once).
        assert!(seq >= last, "event {seq} came after {last}");
        last = seq;
    }
    let rejected = got
        .iter()
        .find(|d| d.body.windows(16).any(|w| w == b"DUPLICATE_SERIAL"))
        .expect("the rejected duplicate is delivered too");
    assert_eq!(rejected.status, 200);
    let listed = webhooks(&server)
        .list_webhooks(pb::ListWebhooksRequest {})
        .await
        .unwrap()
        .into_inner()
        .webhooks;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].filter.as_ref().unwrap().sku, "TV");
    assert!(listed[0].delivered_through >= 1);
    server.stop().await;
}

#[tokio::test]
async fn bad_subscriptions_are_refused_precisely() {
    let server = TestServer::start().await;
    let mut client = webhooks(&server);
    let create = |id: &str, url: &str, secret: &str, outcome: i32| pb::CreateWebhookRequest {
        id: id.to_owned(),
        url: url.to_owned(),
        secret: secret.to_owned(),
        filter: Some(pb::WatchEventsRequest {
            outcome,
            ..Default::default()
        }),
    };
    let cases = [
        (
            create("w 1", "http://127.0.0.1:9/", SECRET, 0),
            "webhook id",
        ),
        (
            create("w1", "ftp://127.0.0.1/", SECRET, 0),
            "not an http:// or https:// URL",
        ),
        (create("w1", "http://127.0.0.1:9/", "short", 0), "16 to 256"),
        (create("w1", "http://127.0.0.1:9/", SECRET, 9), "outcome 9"),
    ];
    for (request, fragment) in cases {
        let status = client.create_webhook(request).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains(fragment), "{}", status.message());
    }
    client
        .create_webhook(create("w1", "http://127.0.0.1:9/", SECRET, 0))
        .await
        .unwrap();
    let again = client
        .create_webhook(create("w1", "http://127.0.0.1:9/", SECRET, 0))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    let removed = client
        .delete_webhook(pb::DeleteWebhookRequest {
            id: "w1".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(removed.into_inner().webhook.unwrap().id, "w1");
    let gone = client
        .delete_webhook(pb::DeleteWebhookRequest {
            id: "w1".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    // The CLI: a made secret printed once, the list, removal.
    let added = server
        .cli(&[
            "webhook",
            "add",
            "--id",
            "w2",
            "--url",
            "http://127.0.0.1:9/x",
            "--sku",
            "TV",
        ])
        .await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    let secret = added.stdout.lines().last().unwrap();
    assert!(secret.starts_with("st_"), "{}", added.stdout);
    assert!(added.stderr.contains("shown this once"));
    let list = server.cli_ok(&["webhook", "list"]).await;
    assert!(list.contains("w2") && list.contains("[sku TV]"), "{list}");
    assert!(!list.contains(secret), "the list shows no secret");
    server.stop().await;
}
