//! Barcode interpretation through the real binary and server: `serialtrack decode` offline,
//! the Decode RPC giving the same answer, item serial rules (patterns, confusables) at the
//! scan, and what a GS1 scan's reply and unit show.

use serde_json::Value;
use serialtrack::proto::v1 as pb;
use tonic::Code;

use crate::support::{TestServer, item, receive, run_cli};

fn decode_json(args: &[&str]) -> (i32, Value) {
    let mut full = vec!["--json", "decode"];
    full.extend(args);
    let run = run_cli(&full, None);
    let value = serde_json::from_str(run.stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {} / {}", run.stdout, run.stderr));
    (run.code, value)
}

/// What an error case must say: kind, AI (or none) and position (or none).
struct Invalid {
    raw: &'static str,
    strict: bool,
    kind: &'static str,
    ai: Option<&'static str>,
    position: Option<u64>,
}

#[test]
fn each_error_class_names_kind_ai_and_position() {
    let cases = [
        Invalid {
            raw: "]C10109506000134353",
            strict: false,
            kind: "check_digit",
            ai: Some("01"),
            position: Some(19),
        },
        Invalid {
            raw: "]C10109506000134352<GS>17261332",
            strict: false,
            kind: "invalid_date",
            ai: Some("17"),
            position: Some(23),
        },
        // DD=00 is only allowed where the table says so (17 yes, 11 yes, 7007 no).
        Invalid {
            raw: "]C10109506000134352700726120010A",
            strict: false,
            kind: "invalid_date",
            ai: Some("7007"),
            position: Some(24),
        },
        Invalid {
            raw: "]C110ABCDEFGHIJKLMNOPQRSTU",
            strict: false,
            kind: "value_too_long",
            ai: Some("10"),
            position: Some(6),
        },
        Invalid {
            raw: "]C1011234",
            strict: false,
            kind: "value_too_short",
            ai: Some("01"),
            position: Some(6),
        },
        Invalid {
            raw: "]C110AB#C",
            strict: false,
            kind: "character_not_allowed",
            ai: Some("10"),
            position: Some(8),
        },
        Invalid {
            raw: "]C12312345",
            strict: false,
            kind: "unknown_ai",
            ai: None,
            position: Some(4),
        },
        Invalid {
            raw: "]C121ABC",
            strict: false,
            kind: "missing_requisite",
            ai: Some("21"),
            position: None,
        },
        Invalid {
            raw: "]C10109506000134352<GS>21A<GS>21B",
            strict: false,
            kind: "repeated_ai",
            ai: Some("21"),
            position: None,
        },
        Invalid {
            raw: "]C10109506000134352020950600013435237100",
            strict: false,
            kind: "conflicting_ais",
            ai: Some("01"),
            position: None,
        },
        Invalid {
            raw: "(01)09506000134352(21",
            strict: false,
            kind: "bracket_syntax",
            ai: None,
            position: Some(19),
        },
        Invalid {
            raw: "https://id.gs1.org/01/09506000134352/21/A%ZZ",
            strict: false,
            kind: "percent_encoding",
            ai: None,
            position: Some(42),
        },
        // Strict mode: what scanner mode cleans up is an error, as GS1's syntax engine says.
        Invalid {
            raw: "]C10109506000134352\\r",
            strict: true,
            kind: "expected_ai",
            ai: None,
            position: Some(20),
        },
        Invalid {
            raw: "]C110A<GS><GS>21B",
            strict: true,
            kind: "unexpected_separator",
            ai: None,
            position: Some(8),
        },
        Invalid {
            raw: "]Q3https://id.gs1.org/01/09506000134352/21/X",
            strict: true,
            kind: "uri_in_gs1_symbol",
            ai: None,
            position: None,
        },
        Invalid {
            raw: "https://id.gs1.org/01/09506000134352?21=X",
            strict: true,
            kind: "key_qualifier_in_query",
            ai: Some("21"),
            position: None,
        },
    ];
    for case in cases {
        let mut args = vec![case.raw];
        if case.strict {
            args.push("--strict");
        }
        let (code, got) = decode_json(&args);
        assert_eq!(code, 1, "{}: {got}", case.raw);
        assert_eq!(got["valid"], false, "{}", case.raw);
        let error = &got["error"];
        assert_eq!(error["kind"], case.kind, "{}: {error}", case.raw);
        assert_eq!(error["ai"].as_str(), case.ai, "{}: {error}", case.raw);
        assert_eq!(
            error["position"].as_u64(),
            case.position,
            "{}: {error}",
            case.raw
        );
        assert!(!error["message"].as_str().unwrap_or("").is_empty());
    }
}

#[test]
fn every_aim_prefix_and_normalization() {
    // (raw, symbology, kind, [(ai, value)], serial, warnings)
    type Case = (
        &'static str,
        Option<&'static str>,
        &'static str,
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
        &'static [&'static str],
    );
    const GTIN: &str = "09506000134352";
    let cases: &[Case] = &[
        (
            "]C10109506000134352<GS>21S1",
            Some("]C1"),
            "GS1_ELEMENT_STRING",
            &[("01", GTIN), ("21", "S1")],
            Some("S1"),
            &["unneeded GS separator after AI (01) removed"],
        ),
        (
            "]d20109506000134352172612001012<GS>21S2",
            Some("]d2"),
            "GS1_ELEMENT_STRING",
            &[("01", GTIN), ("17", "261200"), ("10", "12"), ("21", "S2")],
            Some("S2"),
            &[],
        ),
        (
            "]Q3010950600013435221S3",
            Some("]Q3"),
            "GS1_ELEMENT_STRING",
            &[("01", GTIN), ("21", "S3")],
            Some("S3"),
            &[],
        ),
        (
            "]e00109506000134352",
            Some("]e0"),
            "GS1_ELEMENT_STRING",
            &[("01", GTIN)],
            None,
            &[],
        ),
        (
            "]E04006381333931",
            Some("]E0"),
            "GTIN",
            &[("01", "04006381333931")],
            None,
            &[],
        ),
        (
            "]C0PLAIN-128",
            Some("]C0"),
            "PLAIN",
            &[],
            Some("PLAIN-128"),
            &[],
        ),
        ("]A0CODE39", Some("]A0"), "PLAIN", &[], Some("CODE39"), &[]),
        (
            "]Q1QR-PLAIN",
            Some("]Q1"),
            "PLAIN",
            &[],
            Some("QR-PLAIN"),
            &[],
        ),
        (
            "]d1DM-PLAIN",
            Some("]d1"),
            "PLAIN",
            &[],
            Some("DM-PLAIN"),
            &[],
        ),
        // Scanner noise: CR/LF, BOM, NUL padding, doubled FNC1, printable GS substitutes, a
        // Digital Link behind ]Q3.
        (
            "SN-1\\r\\n",
            None,
            "PLAIN",
            &[],
            Some("SN-1"),
            &["trailing line ending removed"],
        ),
        (
            "\\xEF\\xBB\\xBF]d20109506000134352\\x00\\x00",
            Some("]d2"),
            "GS1_ELEMENT_STRING",
            &[("01", GTIN)],
            None,
            &["2 NUL byte(s) removed", "byte order mark removed"],
        ),
        (
            "]C110A<GS><GS>21B<GS>0109506000134352",
            Some("]C1"),
            "GS1_ELEMENT_STRING",
            &[("10", "A"), ("21", "B"), ("01", GTIN)],
            Some("B"),
            &["1 doubled GS separator(s) removed"],
        ),
        (
            "]C110A@21B~0109506000134352",
            Some("]C1"),
            "GS1_ELEMENT_STRING",
            &[("10", "A"), ("21", "B"), ("01", GTIN)],
            Some("B"),
            &[
                "1 \"@\" read as GS separator",
                "1 \"~\" read as GS separator",
            ],
        ),
        (
            "]Q3https://example.com/01/09506000134352/21/S%2F4",
            Some("]Q3"),
            "DIGITAL_LINK",
            &[("01", GTIN), ("21", "S/4")],
            Some("S/4"),
            &["Digital Link URI read from GS1 QR Code (]Q3)"],
        ),
    ];
    for (raw, symbology, kind, elements, serial, warnings) in cases {
        let (code, got) = decode_json(&[raw]);
        assert_eq!(code, 0, "{raw}: {got}");
        assert_eq!(got["valid"], true, "{raw}");
        assert_eq!(got["symbology"].as_str(), *symbology, "{raw}: {got}");
        assert_eq!(got["kind"], *kind, "{raw}: {got}");
        let read: Vec<(&str, &str)> = got["elements"]
            .as_array()
            .expect("elements")
            .iter()
            .map(|e| (e["ai"].as_str().unwrap(), e["value"].as_str().unwrap()))
            .collect();
        assert_eq!(&read, elements, "{raw}");
        assert_eq!(got["serial"].as_str(), *serial, "{raw}");
        let said: Vec<&str> = got["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert_eq!(&said, warnings, "{raw}");
    }
}

#[test]
fn decode_text_output_stdin_and_exit_statuses() {
    let run = run_cli(&["decode", "]d20109506000134352172612001012<GS>21S2"], None);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with("VALID GS1_ELEMENT_STRING, GS1 DataMatrix (]d2)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(21) SERIAL"), "{}", run.stdout);
    assert!(
        run.stdout.contains("expiry       2026-12-31"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("digital link https://id.gs1.org/01/09506000134352/10/12/21/S2?17=261200"),
        "{}",
        run.stdout
    );
    // Raw bytes on standard input, GS as the byte itself; a custom resolver.
    let run = run_cli(
        &[
            "--json",
            "decode",
            "--resolver",
            "https://id.example.com",
            "-",
        ],
        Some("]C10109506000134352\u{1d}10L\u{1d}21X\r\n"),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let got: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(
        got["digital_link"],
        "https://id.example.com/01/09506000134352/10/L/21/X"
    );
    assert_eq!(got["bracketed"], "(01)09506000134352(10)L(21)X");
    assert_eq!(got["lot"], "L");
    let run = run_cli(&["decode", "]C10109506000134353"], None);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .starts_with("INVALID check_digit AI (01) position 19: bad check digit"),
        "{}",
        run.stdout
    );
    // Usage errors exit 2 and say what is wrong.
    let run = run_cli(&["decode", "AB\\q"], None);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("escape at position 3"),
        "{}",
        run.stderr
    );
    let run = run_cli(&["decode", "--resolver", "ftp://x", "AB"], None);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--resolver"), "{}", run.stderr);
}

#[tokio::test]
async fn the_decode_rpc_answers_what_the_cli_prints() {
    let server = TestServer::start().await;
    let inputs: &[&[u8]] = &[
        b"]d20109506000134352172612001012\x1d21S2",
        b"]C10109506000134353",
        b"SN-1\r\n",
        b"]Q3https://example.com/01/09506000134352/21/S%2F4?17=270100",
        b"]C121ABC",
    ];
    for raw in inputs {
        for strict in [false, true] {
            let rpc = server
                .barcodes()
                .decode(pb::DecodeRequest {
                    raw: raw.to_vec(),
                    strict,
                    resolver: String::new(),
                })
                .await
                .expect("decode")
                .into_inner();
            let mut args = vec!["--json", "decode", "-"];
            if strict {
                args.push("--strict");
            }
            let text = String::from_utf8(raw.to_vec()).unwrap();
            let run = tokio::task::spawn_blocking(move || run_cli(&args, Some(&text)))
                .await
                .unwrap();
            let cli: Value = serde_json::from_str(run.stdout.trim()).unwrap();
            let text_or_null = |s: &str| {
                if s.is_empty() {
                    Value::Null
                } else {
                    Value::from(s)
                }
            };
            assert_eq!(cli["valid"], rpc.valid, "{raw:?}");
            assert_eq!(cli["symbology"], text_or_null(&rpc.symbology));
            assert_eq!(cli["gtin"], text_or_null(&rpc.gtin));
            assert_eq!(cli["serial"], text_or_null(&rpc.serial));
            assert_eq!(cli["lot"], text_or_null(&rpc.lot));
            assert_eq!(cli["expiry"], text_or_null(&rpc.expiry));
            assert_eq!(cli["digital_link"], text_or_null(&rpc.digital_link));
            let rpc_elements: Vec<Value> = rpc
                .elements
                .iter()
                .map(|e| serde_json::json!({"ai": e.ai, "title": e.title, "value": e.value}))
                .collect();
            assert_eq!(cli["elements"], Value::from(rpc_elements), "{raw:?}");
            match &rpc.error {
                None => assert!(cli["error"].is_null()),
                Some(e) => {
                    assert_eq!(cli["error"]["kind"], e.kind.as_str());
                    assert_eq!(cli["error"]["ai"], text_or_null(&e.ai));
                    assert_eq!(cli["error"]["message"], e.message.as_str());
                }
            }
        }
    }
    // Limits: oversize raw and a resolver that is not an http(s) base are refused.
    let status = server
        .barcodes()
        .decode(pb::DecodeRequest {
            raw: vec![b'1'; 4097],
            strict: false,
            resolver: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = server
        .barcodes()
        .decode(pb::DecodeRequest {
            raw: b"SN".to_vec(),
            strict: false,
            resolver: "ftp://id.example.com".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    // Decoding writes nothing.
    assert!(server.all_events().await.is_empty());
}

#[tokio::test]
async fn a_gs1_scan_shows_what_was_read_and_keeps_the_expiry() {
    let server = TestServer::start().await;
    server
        .add_item(pb::Item {
            gtin: "09506000134352".to_owned(),
            lot_tracked: true,
            ..item("VACCINE")
        })
        .await;
    let reply = server
        .scan(receive(
            "",
            "]d2010950600013435217261200", /* DD=00: end of month */
        ))
        .await;
    assert_eq!(
        reply.reason(),
        pb::Reason::MissingField,
        "{}",
        reply.message
    );
    let reply = server
        .scan(receive("", "]d20109506000134352172612001012\u{1d}21S2\r"))
        .await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    assert_eq!(
        (
            reply.gtin.as_str(),
            reply.serial.as_str(),
            reply.lot.as_str(),
            reply.expiry.as_str()
        ),
        ("09506000134352", "S2", "12", "2026-12-31")
    );
    // The routine Enter at the end of a wedge scan is not worth the operator's attention.
    assert_eq!(reply.message, "received S2 (VACCINE)");
    let unit = server.unit("S2").await.unwrap();
    assert_eq!(
        (unit.lot.as_str(), unit.expiry.as_str()),
        ("12", "2026-12-31")
    );
    let run = server.cli(&["--json", "unit", "show", "S2"]).await;
    let shown: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(shown["expiry"], "2026-12-31");
    let events = server.all_events().await;
    assert_eq!(events.last().unwrap().expiry, "2026-12-31");
    assert_eq!(events.last().unwrap().gtin, "09506000134352");
    // The stored answer to a retry carries the same fields.
    let mut again = receive("", "]d20109506000134352172612001012\u{1d}21S2\r");
    again.event_id = events.last().unwrap().event_id.clone();
    let replay = server.scan(again).await;
    assert!(replay.replayed);
    assert_eq!(replay.expiry, "2026-12-31");
}

#[tokio::test]
async fn item_patterns_and_confusables_are_enforced_at_the_scan_and_survive_restart() {
    let server = TestServer::start().await;
    let add = |args: &'static [&'static str]| {
        let mut full = vec!["item", "add"];
        full.extend(args);
        full
    };
    let run = server
        .cli(&add(&[
            "--sku",
            "PAT",
            "--pattern",
            "SN-9999-XX",
            "--serial-min",
            "10",
            "--serial-max",
            "10",
        ]))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("pattern SN-9999-XX"), "{}", run.stdout);
    let run = server
        .cli(&add(&[
            "--sku",
            "NUM-MAP",
            "--charset",
            "numeric",
            "--serial-min",
            "5",
            "--serial-max",
            "5",
            "--confusables",
            "map",
        ]))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = server
        .cli(&add(&[
            "--sku",
            "NUM-REJ",
            "--charset",
            "numeric",
            "--serial-min",
            "5",
            "--serial-max",
            "5",
            "--confusables",
            "reject",
        ]))
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Rules that cannot work are refused with the reason.
    for (args, want) in [
        (
            &["--sku", "BAD1", "--pattern", "AB\\"][..],
            "lone backslash",
        ),
        (
            &[
                "--sku",
                "BAD2",
                "--charset",
                "numeric",
                "--pattern",
                "99A9",
                "--serial-min",
                "4",
                "--serial-max",
                "4",
            ][..],
            "position 3 wants an upper-case letter",
        ),
        (
            &["--sku", "BAD3", "--confusables", "map"][..],
            "needs the numeric charset",
        ),
        (
            &[
                "--sku",
                "BAD4",
                "--pattern",
                "9999",
                "--serial-min",
                "6",
                "--serial-max",
                "8",
            ][..],
            "outside length",
        ),
    ] {
        let mut full = vec!["item", "add"];
        full.extend(args);
        let run = server.cli(&full).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stdout);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }

    let reply = server.scan(receive("PAT", "SN-0042-B7")).await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    let reply = server.scan(receive("PAT", "SN-00A2-B7")).await;
    assert_eq!(reply.reason(), pb::Reason::BadFormat);
    assert!(
        reply.message.contains(
            "character 'A' at position 6 does not fit pattern SN-9999-XX: expected a digit"
        ),
        "{}",
        reply.message
    );

    // A keyed 12O45 is read as 12045 for an item that maps confusables, and the note says so.
    let mut keyed = receive("NUM-MAP", "12O45");
    keyed.entry_mode = pb::EntryMode::Keyed.into();
    let reply = server.scan(keyed).await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    assert_eq!(reply.serial, "12045");
    assert!(
        reply.message.contains("read 12O45 as 12045"),
        "{}",
        reply.message
    );
    // The same unit scanned correctly is a duplicate of it, not a second unit.
    let reply = server.scan(receive("NUM-MAP", "12045")).await;
    assert_eq!(
        reply.reason(),
        pb::Reason::DuplicateSerial,
        "{}",
        reply.message
    );
    let reply = server.scan(receive("NUM-REJ", "l2345")).await;
    assert_eq!(reply.reason(), pb::Reason::BadFormat);
    assert!(
        reply.message.contains("looks like the digit 1"),
        "{}",
        reply.message
    );

    let (dir, temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;
    let run = server.cli(&["--json", "item", "show", "NUM-MAP"]).await;
    let shown: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(shown["serial_rule"]["confusables"], "MAP_TO_DIGITS");
    let run = server.cli(&["--json", "item", "show", "PAT"]).await;
    let shown: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(shown["serial_rule"]["pattern"], "SN-9999-XX");
    let reply = server.scan(receive("PAT", "SN-00A3-B7")).await;
    assert_eq!(reply.reason(), pb::Reason::BadFormat);
    drop(temp);
}
