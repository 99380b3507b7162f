//! The real binary end to end: `import units` from CSV files (all or nothing, --partial,
//! --check, the rejects file), QR payloads of issued serials, `print --out/--printer` ZPL and
//! `label preview` PNGs read back with a QR decoder.

use std::io::Read;

use serialtrack::proto::v1 as pb;
use tonic::Code;

use crate::support::{TestServer, item, json_lines};

async fn tv_item(server: &TestServer, qr: &str) {
    server
        .add_item(pb::Item {
            gtin: "09506000134352".into(),
            lot_tracked: false,
            issuing: Some(pb::IssuePolicy {
                strategy: pb::IssueStrategy::Sequential.into(),
                prefix: "TV".into(),
                width: 6,
                qr: qr.into(),
                ..Default::default()
            }),
            ..item("TV")
        })
        .await;
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_csv_import_is_all_or_nothing_unless_partial_and_names_every_bad_row() {
    let server = TestServer::start().await;
    tv_item(&server, "").await;
    server
        .add_item(pb::Item {
            lot_tracked: true,
            ..item("LOTTED")
        })
        .await;
    let temp = tempfile::tempdir().unwrap();
    let bad = write(
        temp.path(),
        "bad.csv",
        "serial,sku,batch,timestamp\n\
         TV000100,TV,B7,2026-11-20\n\
         TV000101,TV,,\n\
         TV000100,TV,,\n\
         X1,NOPE,,\n\
         L1,LOTTED,,\n\
         TV000102,TV,,yesterday\n",
    );
    let rejects = temp.path().join("rejects.csv");
    let rejects_arg = rejects.to_str().unwrap();
    let events = server.all_events().await.len();
    let run = server
        .cli(&["import", "units", &bad, "--rejects", rejects_arg])
        .await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("6 rows  imported 0  rejected 4"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("(nothing written)"), "{}", run.stdout);
    for fragment in [
        "line 4: TV000100: serial TV000100 is already on line 2",
        "line 5: X1: SKU NOPE is not in the catalog",
        "line 6: L1: SKU LOTTED is lot tracked",
        "line 7: TV000102:",
    ] {
        assert!(run.stderr.contains(fragment), "{fragment}\n{}", run.stderr);
    }
    assert_eq!(
        server.all_events().await.len(),
        events,
        "nothing was written"
    );
    let written = std::fs::read_to_string(&rejects).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines[0], "serial,sku,batch,timestamp,line,reason");
    assert_eq!(lines.len(), 5, "{written}");
    assert!(
        lines.iter().any(|l| l.starts_with("X1,NOPE,,,5,")),
        "{written}"
    );

    let run = server.cli(&["import", "units", &bad, "--check"]).await;
    assert_eq!(run.code, 1);
    assert_eq!(server.all_events().await.len(), events);

    let run = server
        .cli(&[
            "--json",
            "import",
            "units",
            &bad,
            "--partial",
            "--rejects",
            rejects_arg,
        ])
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = &json_lines(&run.stdout)[0];
    assert_eq!(
        (report["imported"].as_u64(), report["rejected"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(
        server.unit("TV000100").await.unwrap().state(),
        pb::UnitState::Issued
    );
    assert_eq!(
        server.unit("TV000101").await.unwrap().state(),
        pb::UnitState::Issued
    );
    assert!(server.unit("X1").await.is_err());
    assert_eq!(
        std::fs::read_to_string(&rejects).unwrap().lines().count(),
        5
    );

    // A clean file: checked, then written, in two passes; then the same file is all duplicates.
    let mut text = String::from("sku,serial,lot,batch,size,colour,po,mfg_unit,timestamp\n");
    for n in 1000..3000 {
        text.push_str(&format!(
            "TV,TV{n:06},,B{},M,navy,PO-1,plant-2,2026-11-23T10:00:00Z\n",
            n % 7
        ));
    }
    let clean = write(temp.path(), "clean.csv", &text);
    let run = server.cli(&["import", "units", &clean]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .starts_with("2000 rows  imported 2000  rejected 0"),
        "{}",
        run.stdout
    );
    assert_eq!(
        server.unit("TV002999").await.unwrap().state(),
        pb::UnitState::Issued
    );
    let run = server.cli(&["import", "units", &clean]).await;
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("rejected 2000"), "{}", run.stdout);
    assert!(
        run.stderr.contains("already in the store (ISSUED"),
        "{}",
        run.stderr
    );

    let broken = write(temp.path(), "broken.csv", "sku,serial,price\nTV,TV1,3\n");
    let run = server.cli(&["import", "units", &broken]).await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("\"price\""), "{}", run.stderr);
}

fn qr_texts(png_bytes: &[u8]) -> Vec<String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let width = info.width as usize;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, info.height as usize, |x, y| {
            buf[y * width + x]
        });
    image
        .detect_grids()
        .into_iter()
        .map(|g| g.decode().unwrap().1)
        .collect()
}

#[tokio::test]
async fn issued_serials_print_as_zpl_and_preview_as_a_png_whose_qr_reads_back() {
    let server = TestServer::start().await;
    tv_item(&server, "digital-link:id.example.com").await;
    let issued = json_lines(
        &server
            .cli_ok(&["--json", "issue", "TV", "--count", "2"])
            .await,
    );
    let link = "https://id.example.com/01/09506000134352/21/TV000001";
    assert_eq!(issued[0]["qr_payload"], link);
    server
        .cli_ok(&[
            "template",
            "put",
            "UNIT",
            "--fields",
            "qr,sku,serial,code128,batch",
        ])
        .await;

    let temp = tempfile::tempdir().unwrap();
    let png = temp.path().join("label.png");
    let run = server
        .cli_ok(&[
            "label",
            "preview",
            "TV000001",
            "--template",
            "UNIT",
            "--out",
            png.to_str().unwrap(),
        ])
        .await;
    assert!(run.contains("image/png"), "{run}");
    assert_eq!(qr_texts(&std::fs::read(&png).unwrap()), [link]);
    let svg = temp.path().join("label.svg");
    server
        .cli_ok(&[
            "label",
            "preview",
            "TV000001",
            "--template",
            "UNIT",
            "--out",
            svg.to_str().unwrap(),
        ])
        .await;
    assert!(std::fs::read_to_string(&svg).unwrap().contains("TV000001"));
    let run = server
        .cli(&[
            "label",
            "preview",
            "TV000001",
            "--template",
            "UNIT",
            "--out",
            "x.gif",
        ])
        .await;
    assert_eq!(run.code, 2);

    // The printer: a loopback listener takes the job's bytes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let printer = listener.local_addr().unwrap().to_string();
    let received = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut bytes = Vec::new();
        conn.read_to_end(&mut bytes).unwrap();
        bytes
    });
    let zpl_path = temp.path().join("job.zpl");
    server
        .cli_ok(&[
            "print",
            "--template",
            "UNIT",
            "TV000001",
            "TV000002",
            "--out",
            zpl_path.to_str().unwrap(),
            "--printer",
            &printer,
        ])
        .await;
    let zpl = std::fs::read_to_string(&zpl_path).unwrap();
    assert_eq!(received.join().unwrap(), zpl.as_bytes());
    assert_eq!(zpl.matches("^XA").count(), 2, "{zpl}");
    assert!(zpl.contains(&format!("^FDQA,{link}^FS")), "{zpl}");
    assert!(zpl.contains("^FD>:TV000002^FS"), "{zpl}");
    assert!(
        zpl.contains("^FDTV000001^FS") || zpl.contains("TV000001"),
        "{zpl}"
    );
    assert!(
        zpl.contains("batch: -"),
        "an empty optional field prints a dash: {zpl}"
    );

    // A QR strategy the item cannot have is refused when the item is stored.
    let refused = server
        .catalog()
        .put_item(pb::PutItemRequest {
            item: Some(pb::Item {
                issuing: Some(pb::IssuePolicy {
                    strategy: pb::IssueStrategy::Sequential.into(),
                    width: 6,
                    qr: "digital-link:id.example.com".into(),
                    ..Default::default()
                }),
                ..item("NOGTIN")
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("GTIN"), "{}", refused.message());
}
