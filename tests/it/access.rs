//! Who may do what, through the real server: tokens and roles against each RPC family,
//! revocation, the operator a token records, hashed storage, the first ADMIN token `serve`
//! writes, `--insecure-no-auth`, and TLS with a certificate made in the test.

use std::path::Path;
use std::process::Child;

use serialtrack::client::Bearer;
use serialtrack::proto::v1 as pb;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::support::{TestServer, item, json_lines, run_cli, spawn_serve};

/// A receive that names no operator: the token's name is recorded.
fn receive(sku: &str, serial: &str) -> pb::ScanRequest {
    pb::ScanRequest {
        operator: String::new(),
        ..crate::support::receive(sku, serial)
    }
}

type Authed = InterceptedService<Channel, Bearer>;

fn with(server: &TestServer, token: Option<&str>) -> Authed {
    InterceptedService::new(server.channel(), Bearer::new(token).unwrap())
}

async fn create_token(server: &TestServer, admin: &str, name: &str, role: pb::Role) -> String {
    pb::auth_service_client::AuthServiceClient::new(with(server, Some(admin)))
        .create_token(pb::CreateTokenRequest {
            name: name.to_owned(),
            role: role.into(),
        })
        .await
        .expect("create token")
        .into_inner()
        .secret
}

/// The whole log (the tests here write a few events), read with `token`.
async fn events(server: &TestServer, token: &str) -> Vec<pb::Event> {
    pb::unit_service_client::UnitServiceClient::new(with(server, Some(token)))
        .list_events(pb::ListEventsRequest {
            from_seq: 1,
            limit: 1000,
        })
        .await
        .expect("list events")
        .into_inner()
        .events
}

/// What one call answered: OK, or its status code and message.
type Answer = Result<(), (Code, String)>;

fn answer<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Answer {
    result
        .map(|_| ())
        .map_err(|s| (s.code(), s.message().to_owned()))
}

/// One call of each RPC family, made with `token`.
async fn calls(server: &TestServer, token: Option<&str>, n: usize) -> Vec<(&'static str, Answer)> {
    let conn = with(server, token);
    let mut catalog = pb::catalog_service_client::CatalogServiceClient::new(conn.clone());
    let mut scans = pb::scan_service_client::ScanServiceClient::new(conn.clone());
    let mut units = pb::unit_service_client::UnitServiceClient::new(conn.clone());
    let mut warehouse = pb::warehouse_service_client::WarehouseServiceClient::new(conn.clone());
    let mut tokens = pb::auth_service_client::AuthServiceClient::new(conn.clone());
    let mut barcodes = pb::barcode_service_client::BarcodeServiceClient::new(conn.clone());
    let mut issuing = pb::issue_service_client::IssueServiceClient::new(conn);
    let serial = format!("AC{n}");
    vec![
        (
            "GetItem",
            answer(
                catalog
                    .get_item(pb::GetItemRequest {
                        sku: "TV".to_owned(),
                    })
                    .await,
            ),
        ),
        (
            "Scan receive",
            answer(scans.scan(receive("TV", &serial)).await),
        ),
        (
            "GetUnit",
            answer(
                units
                    .get_unit(pb::GetUnitRequest {
                        serial: "AC-BASE".to_owned(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "Decode",
            answer(
                barcodes
                    .decode(pb::DecodeRequest {
                        raw: b"0104012345678901".to_vec(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "Scan block",
            answer(
                scans
                    .scan(pb::ScanRequest {
                        action: pb::Action::Block.into(),
                        hold_reason: "damaged".to_owned(),
                        ..receive("TV", "AC-BASE")
                    })
                    .await,
            ),
        ),
        (
            "CreateOrder",
            answer(
                warehouse
                    .create_order(pb::CreateOrderRequest {
                        order: Some(pb::Order {
                            id: format!("O{n}"),
                            customer: "ACME".to_owned(),
                            lines: vec![pb::OrderLine {
                                sku: "TV".to_owned(),
                                quantity: 1,
                                ..Default::default()
                            }],
                            ..Default::default()
                        }),
                    })
                    .await,
            ),
        ),
        (
            "Kpi",
            answer(warehouse.kpi(pb::KpiRequest::default()).await),
        ),
        (
            "PutItem",
            answer(
                catalog
                    .put_item(pb::PutItemRequest {
                        item: Some(item(&format!("SKU{n}"))),
                    })
                    .await,
            ),
        ),
        (
            "ListTokens",
            answer(tokens.list_tokens(pb::ListTokensRequest {}).await),
        ),
        (
            "Verify",
            answer(
                issuing
                    .verify(pb::VerifyRequest {
                        code: "AC-BASE".to_owned(),
                        place: String::new(),
                    })
                    .await,
            ),
        ),
        (
            "AllocateRange",
            answer(
                issuing
                    .allocate_range(pb::AllocateRangeRequest {
                        sku: "IS".to_owned(),
                        owner: format!("V{n}"),
                        count: 10,
                        ..Default::default()
                    })
                    .await,
            ),
        ),
    ]
}

#[tokio::test]
async fn each_role_against_each_rpc_family() {
    let (server, admin) = TestServer::start_secured().await;
    let admin_conn = with(&server, Some(&admin));
    pb::catalog_service_client::CatalogServiceClient::new(admin_conn.clone())
        .put_item(pb::PutItemRequest {
            item: Some(item("TV")),
        })
        .await
        .unwrap();
    pb::catalog_service_client::CatalogServiceClient::new(admin_conn.clone())
        .put_item(pb::PutItemRequest {
            item: Some(pb::Item {
                issuing: Some(pb::IssuePolicy {
                    strategy: pb::IssueStrategy::Sequential.into(),
                    width: 6,
                    ..Default::default()
                }),
                ..item("IS")
            }),
        })
        .await
        .unwrap();
    pb::scan_service_client::ScanServiceClient::new(admin_conn)
        .scan(receive("TV", "AC-BASE"))
        .await
        .unwrap();
    let operator = create_token(&server, &admin, "op-1", pb::Role::Operator).await;
    let supervisor = create_token(&server, &admin, "sup-1", pb::Role::Supervisor).await;

    let ok = |_: &str| None;
    let needs = |role: &'static str| move |_: &str| Some(role);
    type Expect<'a> = &'a dyn Fn(&str) -> Option<&'static str>;
    // None: allowed. Some(role): PERMISSION_DENIED naming that role.
    let table: [(&str, Option<&str>, [Expect; 11]); 3] = [
        (
            "OPERATOR",
            Some(operator.as_str()),
            [
                &ok,
                &ok,
                &ok,
                &ok,
                &needs("SUPERVISOR"),
                &needs("SUPERVISOR"),
                &needs("SUPERVISOR"),
                &needs("ADMIN"),
                &needs("ADMIN"),
                &ok,
                &needs("SUPERVISOR"),
            ],
        ),
        (
            "SUPERVISOR",
            Some(supervisor.as_str()),
            [
                &ok,
                &ok,
                &ok,
                &ok,
                &ok,
                &ok,
                &ok,
                &needs("ADMIN"),
                &needs("ADMIN"),
                &ok,
                &ok,
            ],
        ),
        (
            "ADMIN",
            Some(admin.as_str()),
            [&ok, &ok, &ok, &ok, &ok, &ok, &ok, &ok, &ok, &ok, &ok],
        ),
    ];
    for (n, (role, token, expected)) in table.iter().enumerate() {
        let answers = calls(&server, *token, n).await;
        for ((call, answer), expect) in answers.iter().zip(expected) {
            match (expect(call), answer) {
                (None, Ok(())) => {}
                (Some(needed), Err((Code::PermissionDenied, message))) => assert!(
                    message.contains(needed) && message.contains(role),
                    "{role} {call}: {message}"
                ),
                (expect, answer) => panic!("{role} {call}: expected {expect:?}, got {answer:?}"),
            }
        }
    }
    // No token, a garbage token, a malformed header: UNAUTHENTICATED on every family.
    for token in [None, Some("st_0000"), Some("not-a-token")] {
        for (call, answer) in calls(&server, token, 9).await {
            let Err((code, message)) = answer else {
                panic!("{call} with {token:?} was allowed");
            };
            assert_eq!(code, Code::Unauthenticated, "{call}: {message}");
        }
    }
    // Refused calls wrote nothing: only the calls allowed above are in the log (three
    // receives plus AC-BASE, two BLOCKs).
    let events = events(&server, &admin).await;
    let scans: Vec<_> = events.iter().map(|e| e.serial.as_str()).collect();
    assert_eq!(
        scans,
        ["AC-BASE", "AC0", "AC1", "AC-BASE", "AC2", "AC-BASE"],
        "{scans:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn health_and_reflection_need_no_token() {
    let (server, _admin) = TestServer::start_secured().await;
    let health = tonic_health::pb::health_client::HealthClient::new(server.channel())
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health without a token")
        .into_inner();
    assert_eq!(health.status, 1, "SERVING");
    let request = tonic_reflection::pb::v1::ServerReflectionRequest {
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
        ..Default::default()
    };
    let mut answers =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(
            server.channel(),
        )
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection without a token")
        .into_inner();
    let listed = format!("{:?}", answers.message().await.unwrap());
    assert!(listed.contains("serialtrack.v1.AuthService"), "{listed}");
    server.stop().await;
}

#[tokio::test]
async fn events_record_the_token_name_whatever_the_client_names() {
    let (server, admin) = TestServer::start_secured().await;
    pb::catalog_service_client::CatalogServiceClient::new(with(&server, Some(&admin)))
        .put_item(pb::PutItemRequest {
            item: Some(item("TV")),
        })
        .await
        .unwrap();
    let dock = create_token(&server, &admin, "dock-1", pb::Role::Operator).await;
    let mut scans = pb::scan_service_client::ScanServiceClient::new(with(&server, Some(&dock)));
    // Whatever operator the client names (none, the token's own name, someone else's), the
    // event records the token's name: in a unary scan, a batch and a stream.
    let named = |serial: &str, operator: &str| pb::ScanRequest {
        operator: operator.to_owned(),
        ..receive("TV", serial)
    };
    for (serial, operator) in [("N1", ""), ("N2", "dock-1"), ("N3", "mallory")] {
        let reply = scans
            .scan(named(serial, operator))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    }
    scans
        .scan_batch(pb::ScanBatchRequest {
            scans: vec![named("N4", "mallory")],
        })
        .await
        .unwrap();
    let mut stream = scans
        .scan_stream(tokio_stream::iter([named("N5", "admin")]))
        .await
        .unwrap()
        .into_inner();
    assert!(stream.message().await.unwrap().is_some());
    // Documents record the token too.
    let mut warehouse =
        pb::warehouse_service_client::WarehouseServiceClient::new(with(&server, Some(&admin)));
    warehouse
        .create_receipt(pb::CreateReceiptRequest {
            receipt: Some(pb::Receipt {
                id: "R1".to_owned(),
                ..Default::default()
            }),
            expected: vec![pb::ExpectedSerial {
                serial: "E1".to_owned(),
                sku: "TV".to_owned(),
            }],
        })
        .await
        .unwrap();
    let closed = warehouse
        .close_receipt(pb::CloseReceiptRequest {
            id: "R1".to_owned(),
            closed_by: "someone-else".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .receipt
        .unwrap();
    assert_eq!(closed.closed_by, "admin");
    let operators: Vec<_> = events(&server, &admin)
        .await
        .into_iter()
        .map(|e| (e.serial, e.operator))
        .collect();
    let expected: Vec<_> = ["N1", "N2", "N3", "N4", "N5"]
        .iter()
        .map(|s| (s.to_string(), "dock-1".to_owned()))
        .collect();
    assert_eq!(operators, expected);
    server.stop().await;
}

#[tokio::test]
async fn revoking_takes_effect_at_once_and_tokens_survive_a_restart() {
    // Embedded whatever the suite's backend: the end reads the data dir's files.
    let (server, admin) = TestServer::start_secured_embedded().await;
    let sam = create_token(&server, &admin, "sam", pb::Role::Supervisor).await;
    let mut tokens = pb::auth_service_client::AuthServiceClient::new(with(&server, Some(&sam)));
    let me = tokens
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner()
        .token
        .unwrap();
    assert_eq!((me.name.as_str(), me.role()), ("sam", pb::Role::Supervisor));
    assert_eq!(me.created_by, "admin");
    // A name is never reused, and bad requests are refused precisely.
    let mut admin_tokens =
        pb::auth_service_client::AuthServiceClient::new(with(&server, Some(&admin)));
    let again = admin_tokens
        .create_token(pb::CreateTokenRequest {
            name: "sam".to_owned(),
            role: pb::Role::Operator.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    for (name, role) in [("", 1), ("a b", 1), ("ok", 0), ("ok", 9)] {
        let bad = admin_tokens
            .create_token(pb::CreateTokenRequest {
                name: name.to_owned(),
                role,
            })
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument, "{name:?} {role}");
    }
    let unknown = admin_tokens
        .revoke_token(pb::RevokeTokenRequest {
            name: "nobody".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    let revoked = admin_tokens
        .revoke_token(pb::RevokeTokenRequest {
            name: "sam".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .token
        .unwrap();
    assert!(revoked.revoked && revoked.revoked_by == "admin");
    let status = tokens.who_am_i(pb::WhoAmIRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("revoked"), "{}", status.message());

    // Restart over the same data dir: the ADMIN token still works, sam's still does not, and
    // no new first ADMIN token is made.
    let dir = server.dir.clone();
    let (_, temp) = server.stop().await;
    let (server, new_admin) = TestServer::restart_secured_embedded(&dir).await;
    assert!(new_admin.is_none());
    let listed = pb::auth_service_client::AuthServiceClient::new(with(&server, Some(&admin)))
        .list_tokens(pb::ListTokensRequest {})
        .await
        .unwrap()
        .into_inner()
        .tokens;
    let names: Vec<_> = listed
        .iter()
        .map(|t| (t.name.as_str(), t.revoked))
        .collect();
    assert_eq!(names, [("admin", false), ("sam", true)]);
    let status = pb::auth_service_client::AuthServiceClient::new(with(&server, Some(&sam)))
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    // Only hashes are stored: no file in the data dir holds a token's text, while the
    // SHA-256 of each is there (so the search itself works).
    server.stop().await;
    let files = files_under(&dir);
    for secret in [&admin, &sam] {
        let hash = serialtrack::auth::hash_secret(secret);
        assert!(
            files
                .iter()
                .all(|bytes| !contains(bytes, secret.as_bytes()))
        );
        assert!(files.iter().any(|bytes| contains(bytes, &hash)));
    }
    drop(temp);
}

fn files_under(dir: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(std::fs::read(&path).unwrap());
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn stderr_of(mut child: Child) -> String {
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serve_writes_the_first_admin_token_for_its_owner_and_the_cli_manages_tokens() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let dir = dir.to_str().unwrap();
    let (child, addr) = spawn_serve(&["--data-dir", dir]);
    let url = format!("http://{addr}");
    let admin_file = format!("{dir}/admin.token");
    let mode = std::fs::metadata(&admin_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let cli = |args: &[&str]| {
        let mut all = vec![
            "--server",
            url.as_str(),
            "--token-file",
            admin_file.as_str(),
        ];
        all.extend_from_slice(args);
        run_cli(&all, None)
    };
    let created = cli(&["token", "create", "--role", "operator", "--name", "gun-7"]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    let secret = created.stdout.trim().to_owned();
    assert!(secret.starts_with("st_") && secret.len() == 67, "{secret}");
    assert!(
        created.stderr.contains("shown this once"),
        "{}",
        created.stderr
    );
    // The operator token scans; its name is the operator.
    assert_eq!(cli(&["item", "add", "--sku", "X"]).code, 0);
    let scan = run_cli(
        &[
            "--server",
            &url,
            "--token",
            &secret,
            "--json",
            "scan",
            "--action",
            "receive",
            "--station",
            "D",
            "--sku",
            "X",
            "K1",
        ],
        None,
    );
    assert_eq!(scan.code, 0, "{}", scan.stderr);
    let history = cli(&["--json", "unit", "history", "K1"]);
    assert_eq!(
        json_lines(&history.stdout)[0]["operator"],
        "gun-7",
        "{}",
        history.stdout
    );
    // ... and may not add items: the message names the role needed.
    let denied = run_cli(
        &[
            "--server", &url, "--token", &secret, "item", "add", "--sku", "Y",
        ],
        None,
    );
    assert_ne!(denied.code, 0);
    assert!(
        denied.stderr.contains("needs the ADMIN role")
            && denied.stderr.contains("PermissionDenied"),
        "{}",
        denied.stderr
    );
    // No token at all: UNAUTHENTICATED, said plainly.
    let anonymous = run_cli(&["--server", &url, "unit", "show", "K1"], None);
    assert!(
        anonymous.stderr.contains("needs an API token")
            && anonymous.stderr.contains("Unauthenticated"),
        "{}",
        anonymous.stderr
    );
    let list = cli(&["--json", "token", "list"]);
    let names: Vec<_> = json_lines(&list.stdout)
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("admin".to_owned(), "ADMIN".to_owned()),
            ("gun-7".to_owned(), "OPERATOR".to_owned())
        ]
    );
    let revoke = cli(&["token", "revoke", "gun-7"]);
    assert!(revoke.stdout.contains("REVOKED"), "{}", revoke.stdout);
    let after = run_cli(
        &["--server", &url, "--token", &secret, "unit", "show", "K1"],
        None,
    );
    assert!(after.stderr.contains("was revoked"), "{}", after.stderr);
    let stderr = stderr_of(child);
    assert!(
        stderr.contains("created the ADMIN token") && stderr.contains(&admin_file),
        "{stderr}"
    );
    // The second start finds the token and writes no new one.
    let before = std::fs::read_to_string(&admin_file).unwrap();
    let (child, _) = spawn_serve(&["--data-dir", dir]);
    let stderr = stderr_of(child);
    assert!(!stderr.contains("created the ADMIN token"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&admin_file).unwrap(), before);
}

#[test]
fn insecure_no_auth_says_so_loudly_and_needs_no_token() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let (child, addr) = spawn_serve(&["--insecure-no-auth", "--data-dir", dir.to_str().unwrap()]);
    let url = format!("http://{addr}");
    let add = run_cli(&["--server", &url, "item", "add", "--sku", "X"], None);
    assert_eq!(add.code, 0, "{}", add.stderr);
    let stderr = stderr_of(child);
    assert!(stderr.contains("WARNING: --insecure-no-auth"), "{stderr}");
    assert!(!dir.join("admin.token").exists());
}

#[test]
fn tls_round_trip_with_a_certificate_made_here() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let temp = tempfile::tempdir().unwrap();
    let path = |name: &str| temp.path().join(name).to_str().unwrap().to_owned();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    std::fs::write(path("ca.pem"), ca.pem()).unwrap();
    std::fs::write(path("cert.pem"), cert.pem()).unwrap();
    std::fs::write(path("key.pem"), key.serialize_pem()).unwrap();
    // Another CA, which did not sign the server's certificate.
    let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
    other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let other = CertifiedIssuer::self_signed(other, KeyPair::generate().unwrap()).unwrap();
    std::fs::write(path("other.pem"), other.pem()).unwrap();

    let data = path("data");
    let (child, addr) = spawn_serve(&[
        "--data-dir",
        &data,
        "--tls-cert",
        &path("cert.pem"),
        "--tls-key",
        &path("key.pem"),
    ]);
    let token_file = format!("{data}/admin.token");
    let https = format!("https://{addr}");
    let run = |url: &str, ca: &str| {
        run_cli(
            &[
                "--server",
                url,
                "--token-file",
                &token_file,
                "--ca-file",
                ca,
                "token",
                "whoami",
            ],
            None,
        )
    };
    let ok = run(&https, &path("ca.pem"));
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.starts_with("admin "), "{}", ok.stdout);
    let untrusted = run(&https, &path("other.pem"));
    assert_ne!(
        untrusted.code, 0,
        "a certificate from another CA was trusted"
    );
    let plain = run_cli(
        &[
            "--server",
            &format!("http://{addr}"),
            "--token-file",
            &token_file,
            "token",
            "whoami",
        ],
        None,
    );
    assert_ne!(plain.code, 0, "plain text reached a TLS server");
    let mixed = run(&format!("http://{addr}"), &path("ca.pem"));
    assert!(mixed.stderr.contains("not https://"), "{}", mixed.stderr);
    let missing = run_cli(
        &[
            "serve",
            "--data-dir",
            &data,
            "--tls-cert",
            &path("nope.pem"),
            "--tls-key",
            &path("key.pem"),
        ],
        None,
    );
    assert!(
        missing.stderr.contains("cannot read the TLS certificate"),
        "{}",
        missing.stderr
    );
    stderr_of(child);
}

/// The gateway binary carries its token: scans reach a server that needs one and record the
/// token's name, not the operator the binding names.
#[tokio::test]
async fn the_gateway_sends_its_token() {
    let (server, admin) = TestServer::start_secured().await;
    pb::catalog_service_client::CatalogServiceClient::new(with(&server, Some(&admin)))
        .put_item(pb::PutItemRequest {
            item: Some(item("TV")),
        })
        .await
        .unwrap();
    let gun = create_token(&server, &admin, "gun-3", pb::Role::Operator).await;
    let temp = tempfile::tempdir().unwrap();
    let outbox = temp.path().join("outbox");
    let outbox = outbox.to_str().unwrap().to_owned();
    let url = server.url.clone();
    let gateway = |action: &'static str, scans: &'static str| {
        let (url, gun, outbox) = (url.clone(), gun.clone(), outbox.clone());
        tokio::task::spawn_blocking(move || {
            run_cli(
                &[
                    "--server",
                    &url,
                    "--token",
                    &gun,
                    "--json",
                    "gateway",
                    "run",
                    "--stdin",
                    "--outbox",
                    &outbox,
                    "--station",
                    "DOCK-9",
                    "--operator",
                    "alice",
                    "--action",
                    action,
                    "--sku",
                    "TV",
                ],
                Some(scans),
            )
        })
    };
    let run = gateway("receive", "G1\nG2\n").await.unwrap();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let operators: Vec<_> = events(&server, &admin)
        .await
        .into_iter()
        .map(|e| (e.serial, e.operator, e.station))
        .collect();
    let row = |s: &str| (s.to_owned(), "gun-3".to_owned(), "DOCK-9".to_owned());
    assert_eq!(operators, [row("G1"), row("G2")]);
    server.stop().await;
}

/// With SERIALTRACK_DATA_DIR set for both, `serve` writes its first ADMIN token there and
/// client commands find it with no token flag.
#[test]
fn clients_find_the_admin_token_in_the_data_dir_serve_uses() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_serialtrack"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("SERIALTRACK_DATA_DIR", &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .strip_prefix("serialtrack listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let whoami = Command::new(env!("CARGO_BIN_EXE_serialtrack"))
        .args(["--server", &format!("http://{addr}"), "token", "whoami"])
        .env("SERIALTRACK_DATA_DIR", &dir)
        .env_remove("SERIALTRACK_TOKEN")
        .env_remove("SERIALTRACK_TOKEN_FILE")
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let stdout = String::from_utf8_lossy(&whoami.stdout);
    assert!(
        whoami.status.success() && stdout.starts_with("admin "),
        "{stdout} {}",
        String::from_utf8_lossy(&whoami.stderr)
    );
}
