//! Issuing: serials made by each item's strategy as ISSUED units, unique under concurrency and
//! across restarts; vendor and plant ranges; imports; goods-in telling ours from never issued;
//! Verify.

use std::collections::HashSet;

use serialtrack::proto::v1 as pb;
use serialtrack::proto::v1::issue_service_client::IssueServiceClient;
use tonic::Code;

use crate::support::{TestServer, item, json_lines, receive};

fn policy(strategy: pb::IssueStrategy) -> pb::IssuePolicy {
    pb::IssuePolicy {
        strategy: strategy.into(),
        width: 6,
        random_length: 12,
        ..Default::default()
    }
}

fn issued_item(sku: &str, policy: pb::IssuePolicy) -> pb::Item {
    pb::Item {
        gtin: String::new(),
        issuing: Some(policy),
        ..item(sku)
    }
}

fn client(server: &TestServer) -> IssueServiceClient<tonic::transport::Channel> {
    IssueServiceClient::new(server.channel())
}

async fn issue(server: &TestServer, sku: &str, count: u32) -> Result<Vec<String>, tonic::Status> {
    issue_from(server, sku, count, "", "").await
}

async fn issue_from(
    server: &TestServer,
    sku: &str,
    count: u32,
    plant: &str,
    owner: &str,
) -> Result<Vec<String>, tonic::Status> {
    Ok(client(server)
        .issue_serials(pb::IssueSerialsRequest {
            sku: sku.to_owned(),
            count,
            plant: plant.to_owned(),
            owner: owner.to_owned(),
        })
        .await?
        .into_inner()
        .serials
        .into_iter()
        .map(|s| s.serial)
        .collect())
}

async fn allocate(
    server: &TestServer,
    sku: &str,
    owner: &str,
    first: u64,
    count: u64,
) -> Result<pb::SerialRange, tonic::Status> {
    Ok(client(server)
        .allocate_range(pb::AllocateRangeRequest {
            sku: sku.to_owned(),
            owner: owner.to_owned(),
            kind: pb::OwnerKind::Vendor.into(),
            first,
            count,
        })
        .await?
        .into_inner()
        .range
        .expect("range"))
}

fn row(line: u64, sku: &str, serial: &str) -> pb::ImportRow {
    pb::ImportRow {
        line,
        sku: sku.to_owned(),
        serial: serial.to_owned(),
        ..Default::default()
    }
}

async fn import(
    server: &TestServer,
    rows: Vec<pb::ImportRow>,
    vendor: &str,
    check_only: bool,
    partial: bool,
) -> Result<pb::ImportUnitsResponse, tonic::Status> {
    let messages: Vec<pb::ImportUnitsRequest> = rows
        .chunks(3)
        .map(|chunk| pb::ImportUnitsRequest {
            vendor: vendor.to_owned(),
            check_only,
            partial,
            rows: chunk.to_vec(),
        })
        .collect();
    Ok(client(server)
        .import_units(tokio_stream::iter(messages))
        .await?
        .into_inner())
}

#[tokio::test]
async fn each_strategy_makes_its_form_and_the_units_start_issued() {
    let server = TestServer::start().await;
    server
        .add_item(issued_item(
            "SEQ",
            pb::IssuePolicy {
                prefix: "TV".into(),
                ..policy(pb::IssueStrategy::Sequential)
            },
        ))
        .await;
    server
        .add_item(issued_item("DAY", policy(pb::IssueStrategy::Dated)))
        .await;
    server
        .add_item(issued_item("PLT", policy(pb::IssueStrategy::Plant)))
        .await;
    server
        .add_item(pb::Item {
            serial_rule: Some(pb::SerialRule {
                charset: pb::Charset::AlphanumericUpper.into(),
                check: pb::CheckScheme::LuhnMod32.into(),
                ..Default::default()
            }),
            ..issued_item("RND", policy(pb::IssueStrategy::Random))
        })
        .await;
    server
        .add_item(pb::Item {
            gtin: "09506000134352".into(),
            ..issued_item("GTN", policy(pb::IssueStrategy::Sgtin))
        })
        .await;

    assert_eq!(
        issue(&server, "SEQ", 3).await.unwrap(),
        ["TV000001", "TV000002", "TV000003"]
    );
    let today = serialtrack::domain::time::date_utc(serialtrack::domain::time::now_ms());
    let day = format!("{:04}{:02}{:02}", today.year, today.month, today.day);
    assert_eq!(
        issue(&server, "DAY", 2).await.unwrap(),
        [format!("{day}-000001"), format!("{day}-000002")]
    );
    assert_eq!(
        issue_from(&server, "PLT", 2, "P7", "").await.unwrap(),
        ["P7000001", "P7000002"]
    );
    assert_eq!(
        issue_from(&server, "PLT", 1, "B2", "").await.unwrap(),
        ["B2000001"],
        "each plant counts on its own"
    );
    assert_eq!(issue(&server, "GTN", 2).await.unwrap(), ["1", "2"]);
    let random = issue(&server, "RND", 20).await.unwrap();
    for serial in &random {
        assert_eq!(serial.len(), 13, "{serial}");
        assert!(
            serial
                .bytes()
                .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
            "{serial}"
        );
    }
    // The item's rule checks the Luhn mod 32 character: every issued value is received, a
    // changed one is refused as the rule says.
    let reply = server.scan(receive("RND", &random[0])).await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    let mut typo = random[1].clone().into_bytes();
    typo[0] = if typo[0] == b'7' { b'8' } else { b'7' };
    let reply = server
        .scan(receive("RND", std::str::from_utf8(&typo).unwrap()))
        .await;
    assert_eq!(reply.reason(), pb::Reason::BadFormat, "{}", reply.message);

    let unit = server.unit("TV000002").await.unwrap();
    assert_eq!(unit.state(), pb::UnitState::Issued);
    assert_eq!(unit.received_at_ms, 0);
    let events = server.all_events().await;
    let issues: Vec<_> = events
        .iter()
        .filter(|e| e.action() == pb::Action::Issue)
        .collect();
    assert_eq!(issues.len(), 3 + 2 + 3 + 2 + 20);
    assert!(
        issues
            .iter()
            .all(|e| e.state_after() == pb::UnitState::Issued)
    );

    // A plant code where none is used, none where one is needed, and items without a policy.
    let refused = issue_from(&server, "SEQ", 1, "P7", "").await.unwrap_err();
    assert_eq!(
        refused.code(),
        Code::InvalidArgument,
        "{}",
        refused.message()
    );
    let refused = issue(&server, "PLT", 1).await.unwrap_err();
    assert_eq!(
        refused.code(),
        Code::InvalidArgument,
        "{}",
        refused.message()
    );
    server.add_item(item("PLAIN")).await;
    let refused = issue(&server, "PLAIN", 1).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(
        refused.message().contains("no issuing policy"),
        "{}",
        refused.message()
    );
    let refused = issue(&server, "NOPE", 1).await.unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    for count in [0, 10_001] {
        let refused = issue(&server, "SEQ", count).await.unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{count}");
    }
    assert_eq!(
        server.all_events().await.len(),
        events.len(),
        "refusals write nothing"
    );
}

#[tokio::test]
async fn a_strategy_that_breaks_the_items_rule_is_refused() {
    let server = TestServer::start().await;
    let refused = server
        .catalog()
        .put_item(pb::PutItemRequest {
            item: Some(pb::Item {
                serial_rule: Some(pb::SerialRule {
                    charset: pb::Charset::Numeric.into(),
                    ..Default::default()
                }),
                ..issued_item(
                    "TV",
                    pb::IssuePolicy {
                        prefix: "TV".into(),
                        ..policy(pb::IssueStrategy::Sequential)
                    },
                )
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("TV000001"),
        "{}",
        refused.message()
    );
    let refused = server
        .catalog()
        .put_item(pb::PutItemRequest {
            item: Some(issued_item("G", policy(pb::IssueStrategy::Sgtin))),
        })
        .await
        .unwrap_err();
    assert!(refused.message().contains("GTIN"), "{}", refused.message());
}

#[tokio::test]
async fn many_clients_issuing_at_once_get_no_duplicates_and_a_restart_keeps_counting() {
    let server = TestServer::start().await;
    server
        .add_item(issued_item("SEQ", policy(pb::IssueStrategy::Sequential)))
        .await;
    server
        .add_item(issued_item("RND", policy(pb::IssueStrategy::Random)))
        .await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let channel = server.channel();
        let sku = if i % 2 == 0 { "SEQ" } else { "RND" };
        tasks.push(tokio::spawn(async move {
            let mut client = IssueServiceClient::new(channel);
            let mut serials = Vec::new();
            for _ in 0..5 {
                let answer = client
                    .issue_serials(pb::IssueSerialsRequest {
                        sku: sku.to_owned(),
                        count: 20,
                        ..Default::default()
                    })
                    .await
                    .expect("issue")
                    .into_inner();
                serials.extend(answer.serials.into_iter().map(|s| s.serial));
            }
            serials
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    assert_eq!(all.len(), 16 * 5 * 20);
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "a serial was issued twice");
    let sequential: HashSet<String> = all.iter().filter(|s| s.len() == 6).cloned().collect();
    let expected: HashSet<String> = (1..=800).map(|n| format!("{n:06}")).collect();
    assert_eq!(
        sequential, expected,
        "the counter skips and repeats nothing"
    );

    let (dir, temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;
    assert_eq!(issue(&server, "SEQ", 1).await.unwrap(), ["000801"]);
    assert_eq!(
        server.unit("000800").await.unwrap().state(),
        pb::UnitState::Issued
    );
    drop(temp);
}

#[tokio::test]
async fn ranges_never_overlap_and_issuing_keeps_to_them() {
    let server = TestServer::start().await;
    server
        .add_item(issued_item(
            "TV",
            pb::IssuePolicy {
                prefix: "TV".into(),
                ..policy(pb::IssueStrategy::Sequential)
            },
        ))
        .await;
    let a = allocate(&server, "TV", "ACME", 3, 2).await.unwrap();
    assert_eq!((a.first, a.last, a.next), (3, 4, 3));
    let overlap = allocate(&server, "TV", "BETA", 4, 10).await.unwrap_err();
    assert_eq!(overlap.code(), Code::FailedPrecondition);
    assert!(
        overlap.message().contains("overlaps vendor ACME 3-4"),
        "{}",
        overlap.message()
    );
    let b = allocate(&server, "TV", "BETA", 0, 3).await.unwrap();
    assert_eq!((b.first, b.last), (5, 7), "the next free block");
    // In-house issuing jumps over both ranges.
    assert_eq!(
        issue(&server, "TV", 3).await.unwrap(),
        ["TV000001", "TV000002", "TV000008"]
    );
    // A range below where the counter stands would hand out values already issued.
    let below = allocate(&server, "TV", "GAMMA", 2, 1).await.unwrap_err();
    assert!(below.message().contains("below 9"), "{}", below.message());
    let beyond = allocate(&server, "TV", "GAMMA", 999_990, 20)
        .await
        .unwrap_err();
    assert!(beyond.message().contains("999999"), "{}", beyond.message());

    assert_eq!(
        issue_from(&server, "TV", 2, "", "ACME").await.unwrap(),
        ["TV000003", "TV000004"]
    );
    let used_up = issue_from(&server, "TV", 1, "", "ACME").await.unwrap_err();
    assert_eq!(used_up.code(), Code::FailedPrecondition);
    assert!(
        used_up.message().contains("used up"),
        "{}",
        used_up.message()
    );
    // A request that runs out part way writes nothing.
    let events = server.all_events().await.len();
    let short = issue_from(&server, "TV", 4, "", "BETA").await.unwrap_err();
    assert!(short.message().contains("BETA 5-7"), "{}", short.message());
    assert_eq!(server.all_events().await.len(), events);
    assert_eq!(
        issue_from(&server, "TV", 3, "", "BETA").await.unwrap(),
        ["TV000005", "TV000006", "TV000007"]
    );
    let none = issue_from(&server, "TV", 1, "", "DELTA").await.unwrap_err();
    assert!(
        none.message().contains("no range for DELTA"),
        "{}",
        none.message()
    );

    let listed = server.cli_ok(&["--json", "range", "list", "TV"]).await;
    let listed = json_lines(&listed);
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["owner"], "ACME");
    assert_eq!(listed[0]["next"], 5);
    assert_eq!(listed[1]["owner"], "BETA");
    let run = server
        .cli(&[
            "range", "allocate", "TV", "--owner", "X", "--first", "6", "--count", "1",
        ])
        .await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("overlaps vendor BETA 5-7"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn goods_in_tells_issued_serials_from_never_issued_ones() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            lot_tracked: true,
            ..issued_item(
                "TV",
                pb::IssuePolicy {
                    prefix: "TV".into(),
                    ..policy(pb::IssueStrategy::Sequential)
                },
            )
        })
        .await;
    let imported = import(
        &server,
        vec![pb::ImportRow {
            lot: "L1".into(),
            ..row(2, "TV", "TV000500")
        }],
        "",
        false,
        false,
    )
    .await
    .unwrap();
    assert_eq!(imported.imported, 1);

    let mut ours = receive("TV", "TV000500");
    ours.lot = "L1".into();
    let reply = server.scan(ours).await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    assert!(
        reply.message.contains("received issued serial"),
        "{}",
        reply.message
    );
    assert_eq!(
        server.unit("TV000500").await.unwrap().state(),
        pb::UnitState::Received
    );

    let reply = server.scan(receive("TV", "TV000501")).await;
    assert_eq!(reply.reason(), pb::Reason::NotIssued, "{}", reply.message);
    assert!(
        server.unit("TV000501").await.is_err(),
        "nothing was created"
    );

    import(
        &server,
        vec![pb::ImportRow {
            lot: "L1".into(),
            ..row(2, "TV", "TV000502")
        }],
        "",
        false,
        false,
    )
    .await
    .unwrap();
    let mut other_lot = receive("TV", "TV000502");
    other_lot.lot = "L2".into();
    let reply = server.scan(other_lot).await;
    assert_eq!(
        reply.reason(),
        pb::Reason::ConflictingFields,
        "{}",
        reply.message
    );
    assert!(
        reply.message.contains("issued for lot L1"),
        "{}",
        reply.message
    );
    // Only goods-in turns an issued serial into stock: a putaway of one is the wrong state.
    let mut putaway = receive("TV", "TV000502");
    putaway.action = pb::Action::Putaway.into();
    putaway.location = "A-01".into();
    let reply = server.scan(putaway).await;
    assert_eq!(reply.reason(), pb::Reason::WrongState, "{}", reply.message);
    // ISSUE is logged, never scanned.
    let mut forged = receive("TV", "TV000502");
    forged.action = pb::Action::Issue.into();
    let refused = server.scans().scan(forged).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn imports_report_every_bad_row_and_write_all_or_nothing_unless_partial() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            serial_rule: Some(pb::SerialRule {
                length_min: 8,
                length_max: 8,
                ..Default::default()
            }),
            ..issued_item(
                "TV",
                pb::IssuePolicy {
                    prefix: "TV".into(),
                    ..policy(pb::IssueStrategy::Sequential)
                },
            )
        })
        .await;
    server
        .add_item(pb::Item {
            lot_tracked: true,
            ..item("LOTTED")
        })
        .await;
    allocate(&server, "TV", "ACME", 100, 100).await.unwrap();
    allocate(&server, "TV", "BETA", 200, 100).await.unwrap();
    issue(&server, "TV", 1).await.unwrap();
    let events = server.all_events().await.len();

    let rows = || {
        vec![
            pb::ImportRow {
                batch: "B7".into(),
                size: "XL".into(),
                made_at_ms: 1_795_000_000_000,
                ..row(2, "TV", "TV000150")
            },
            row(3, "TV", "TV000151"),
            row(4, "NOPE", "X1"),
            row(5, "TV", "TV1"),
            row(6, "TV", "TV000001"),
            row(7, "TV", "TV000151"),
            row(8, "TV", "TV000250"),
            row(9, "LOTTED", "L-1"),
            row(10, "", "TV000152"),
            pb::ImportRow {
                lot: "L".repeat(21),
                ..row(11, "TV", "TV000153")
            },
        ]
    };
    let why = [
        (4, "SKU NOPE is not in the catalog"),
        (5, "does not fit SKU TV"),
        (6, "already in the store (ISSUED"),
        (7, "twice in this import (line 3 first)"),
        (8, "outside ACME's ranges of SKU TV (100-199)"),
        (9, "lot tracked"),
        (10, "sku is required"),
        (11, "lot has 21 characters"),
    ];
    let check_reasons = |answer: &pb::ImportUnitsResponse| {
        assert_eq!(answer.rows, 10);
        assert_eq!(answer.rejected_count, why.len() as u64);
        for ((line, text), got) in why.iter().zip(&answer.rejected) {
            assert_eq!(got.line, *line, "{got:?}");
            assert!(got.reason.contains(text), "line {line}: {}", got.reason);
        }
    };

    for check_only in [true, false] {
        let answer = import(&server, rows(), "ACME", check_only, false)
            .await
            .unwrap();
        check_reasons(&answer);
        assert_eq!(answer.imported, 0, "all or nothing");
        assert_eq!(server.all_events().await.len(), events);
        assert!(server.unit("TV000150").await.is_err());
    }

    let answer = import(&server, rows(), "ACME", false, true).await.unwrap();
    check_reasons(&answer);
    assert_eq!((answer.accepted, answer.imported), (2, 2));
    let unit = server.unit("TV000150").await.unwrap();
    assert_eq!(unit.state(), pb::UnitState::Issued);
    assert_eq!(unit.first_seen_station, "import:ACME");
    assert_eq!(server.all_events().await.len(), events + 2);

    // Without a vendor, a value inside someone's range is refused; outside any, accepted.
    let answer = import(
        &server,
        vec![row(2, "TV", "TV000260"), row(3, "TV", "TV000900")],
        "",
        false,
        false,
    )
    .await
    .unwrap();
    assert_eq!(answer.imported, 0);
    assert!(
        answer.rejected[0]
            .reason
            .contains("inside vendor BETA 200-299"),
        "{:?}",
        answer.rejected
    );

    // Verify tells the imported facts.
    let verified = client(&server)
        .verify(pb::VerifyRequest {
            code: "TV000150".into(),
            place: "Berlin".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(verified.verdict(), pb::Verdict::Genuine);
    assert_eq!(verified.mfg_date, "2026-11-18");
    assert_eq!(verified.warranty, "NOT_SOLD");

    // A message over the bound is refused whole.
    let big = vec![pb::ImportUnitsRequest {
        rows: (0..1001)
            .map(|i| row(i, "TV", &format!("TV{i:06}")))
            .collect(),
        ..Default::default()
    }];
    let refused = client(&server)
        .import_units(tokio_stream::iter(big))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("1001 rows"),
        "{}",
        refused.message()
    );
}

#[tokio::test]
async fn verify_says_genuine_unknown_or_cloned() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            gtin: "09506000134352".into(),
            description: "65-inch TV".into(),
            ..issued_item(
                "TV",
                pb::IssuePolicy {
                    prefix: "TV".into(),
                    ..policy(pb::IssueStrategy::Sequential)
                },
            )
        })
        .await;
    issue(&server, "TV", 1).await.unwrap();
    let verify = |code: &str, place: &str| {
        let mut client = client(&server);
        let request = pb::VerifyRequest {
            code: code.to_owned(),
            place: place.to_owned(),
        };
        async move { client.verify(request).await.unwrap().into_inner() }
    };
    let link = "https://id.example.com/01/09506000134352/21/TV000001";
    let first = verify(link, "Berlin").await;
    assert_eq!(first.verdict(), pb::Verdict::Genuine, "{}", first.message);
    assert_eq!(first.sku, "TV");
    assert_eq!(first.description, "65-inch TV");
    assert_eq!(first.state(), pb::UnitState::Issued);
    assert!(!first.suspected_clone);
    assert_eq!(verify("TV000001", "Berlin").await.places, 1);
    assert!(!verify("TV000001", "Paris").await.suspected_clone);
    let third = verify("https://brand.example/q/TV000001", "Lagos").await;
    assert_eq!(third.places, 3);
    assert!(third.suspected_clone, "{}", third.message);
    assert!(third.message.contains("cloned"), "{}", third.message);

    let unknown = verify("TV999999", "Berlin").await;
    assert_eq!(unknown.verdict(), pb::Verdict::Unknown);
    assert!(
        unknown.message.contains("counterfeit"),
        "{}",
        unknown.message
    );

    let run = server.cli(&["verify", "TV000001", "--place", "Rome"]).await;
    assert_eq!(run.code, 1, "a suspected clone exits 1: {}", run.stdout);
    let run = server.cli(&["--json", "verify", "NOPE1"]).await;
    assert_eq!(run.code, 1);
    assert_eq!(json_lines(&run.stdout)[0]["verdict"], "UNKNOWN");
    for (code, place) in [
        ("", ""),
        (&*"x".repeat(513), ""),
        ("TV000001", &*"p".repeat(65)),
    ] {
        let refused = client(&server)
            .verify(pb::VerifyRequest {
                code: code.to_owned(),
                place: place.to_owned(),
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
    }
}

#[tokio::test]
async fn the_cli_issues_and_prints_the_policy() {
    let server = TestServer::start().await;
    let added = server
        .cli_ok(&[
            "item",
            "add",
            "--sku",
            "TV",
            "--issue",
            "sequential",
            "--issue-prefix",
            "TV",
            "--issue-width",
            "4",
            "--reprint",
            "replace",
        ])
        .await;
    assert!(
        added.contains("issuing SEQUENTIAL prefix \"TV\" width 4  reprint REPLACE"),
        "{added}"
    );
    assert_eq!(
        server
            .cli_ok(&["issue", "TV", "--count", "2"])
            .await
            .lines()
            .count(),
        2
    );
    let json = json_lines(&server.cli_ok(&["--json", "issue", "TV"]).await);
    assert_eq!(json[0]["serial"], "TV0003");
    assert!(json[0]["seq"].as_u64().unwrap() > 0);
    let run = server.cli(&["issue", "TV", "--count", "0"]).await;
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("count must be 1 to 10000"),
        "{}",
        run.stderr
    );
}
