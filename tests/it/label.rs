//! Label templates and governed printing through the real server: required fields, duplicate
//! labels, REUSE and REPLACE reprints, locked templates, versions, and jobs kept on disk.

use serialtrack::proto::v1 as pb;
use serialtrack::proto::v1::issue_service_client::IssueServiceClient;
use serialtrack::proto::v1::label_service_client::LabelServiceClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{TestServer, item, json_lines, receive};

fn labels(channel: Channel) -> LabelServiceClient<Channel> {
    LabelServiceClient::new(channel)
}

fn template(name: &str, fields: &[&str], required: &[&str]) -> pb::LabelTemplate {
    pb::LabelTemplate {
        name: name.to_owned(),
        width_mm: 50,
        height_mm: 30,
        dpi: 203,
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        required: required.iter().map(|f| (*f).to_owned()).collect(),
        ..Default::default()
    }
}

async fn put(channel: Channel, t: pb::LabelTemplate) -> Result<pb::LabelTemplate, tonic::Status> {
    Ok(labels(channel)
        .put_template(pb::PutTemplateRequest { template: Some(t) })
        .await?
        .into_inner()
        .template
        .expect("template"))
}

async fn print(
    server: &TestServer,
    template: &str,
    serials: &[&str],
    reason: Option<&str>,
) -> Result<pb::PrintResponse, tonic::Status> {
    Ok(labels(server.channel())
        .print(pb::PrintRequest {
            template: template.to_owned(),
            serials: serials.iter().map(|s| (*s).to_owned()).collect(),
            reprint: reason.is_some(),
            reason: reason.unwrap_or_default().to_owned(),
        })
        .await?
        .into_inner())
}

/// An item whose serials are issued `TV000001`, ... with reprint policy `reprint`.
async fn issued(server: &TestServer, sku: &str, prefix: &str, reprint: pb::ReprintPolicy) {
    server
        .add_item(pb::Item {
            issuing: Some(pb::IssuePolicy {
                strategy: pb::IssueStrategy::Sequential.into(),
                prefix: prefix.to_owned(),
                width: 6,
                reprint: reprint.into(),
                ..Default::default()
            }),
            ..item(sku)
        })
        .await;
}

async fn issue(server: &TestServer, sku: &str, count: u32) {
    IssueServiceClient::new(server.channel())
        .issue_serials(pb::IssueSerialsRequest {
            sku: sku.to_owned(),
            count,
            ..Default::default()
        })
        .await
        .expect("issue");
}

#[tokio::test]
async fn printing_is_blocked_on_a_missing_field_and_on_a_second_label() {
    let server = TestServer::start().await;
    issued(&server, "TV", "TV", pb::ReprintPolicy::Reuse).await;
    issue(&server, "TV", 2).await;
    IssueServiceClient::new(server.channel())
        .import_units(tokio_stream::iter([pb::ImportUnitsRequest {
            rows: vec![pb::ImportRow {
                line: 2,
                sku: "TV".into(),
                serial: "TV000900".into(),
                batch: "B7".into(),
                ..Default::default()
            }],
            ..Default::default()
        }]))
        .await
        .expect("import");
    put(
        server.channel(),
        template("BATCHED", &["qr", "sku", "batch"], &["batch"]),
    )
    .await
    .unwrap();
    let events = server.all_events().await.len();

    let blocked = print(&server, "BATCHED", &["TV000900", "TV000001"], None)
        .await
        .unwrap_err();
    assert_eq!(blocked.code(), Code::FailedPrecondition);
    assert!(
        blocked
            .message()
            .contains("unit TV000001 has no batch, which template BATCHED requires"),
        "{}",
        blocked.message()
    );
    // Nothing of the job was recorded: TV000900 prints as a first label afterwards.
    let job = print(&server, "BATCHED", &["TV000900"], None)
        .await
        .unwrap()
        .job
        .unwrap();
    assert_eq!(job.id, "PJ000001", "a refused job takes no number");
    assert_eq!(
        (job.template.as_str(), job.template_version),
        ("BATCHED", 1)
    );
    assert_eq!(job.lines[0].prints, 1);

    let twice = print(&server, "BATCHED", &["TV000900"], None)
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::FailedPrecondition);
    assert!(
        twice.message().contains("already printed (job PJ000001)"),
        "{}",
        twice.message()
    );
    for (serials, fragment) in [
        (vec!["TV000404"], "never issued or received"),
        (vec!["TV000001", "TV000001"], "listed twice"),
    ] {
        let refused = print(&server, "BATCHED", &serials, None).await.unwrap_err();
        assert!(
            refused.message().contains(fragment),
            "{}",
            refused.message()
        );
    }
    let refused = print(&server, "NOPE", &["TV000001"], None)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::NotFound);
    let refused = print(&server, "BATCHED", &["TV000001"], Some(""))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    put(server.channel(), template("BASIC", &["qr", "sku"], &[]))
        .await
        .unwrap();
    let refused = print(&server, "BASIC", &["TV000002"], Some("torn"))
        .await
        .unwrap_err();
    assert!(
        refused.message().contains("never printed"),
        "{}",
        refused.message()
    );
    assert_eq!(
        server.all_events().await.len(),
        events,
        "printing logs no event"
    );
}

#[tokio::test]
async fn a_reuse_reprint_counts_and_a_replace_reprint_voids_and_links() {
    let server = TestServer::start().await;
    issued(&server, "CAP", "CP", pb::ReprintPolicy::Reuse).await;
    issued(&server, "TV", "TV", pb::ReprintPolicy::Replace).await;
    issue(&server, "CAP", 1).await;
    issue(&server, "TV", 1).await;
    put(
        server.channel(),
        template("BASIC", &["qr", "sku", "serial"], &[]),
    )
    .await
    .unwrap();
    print(&server, "BASIC", &["CP000001", "TV000001"], None)
        .await
        .unwrap();

    let reprinted = print(
        &server,
        "BASIC",
        &["CP000001", "TV000001"],
        Some("label torn"),
    )
    .await
    .unwrap();
    // The printer gets the reused serial and the replacement, not the voided serial.
    assert_eq!(reprinted.zpl.matches("^XA").count(), 2, "{}", reprinted.zpl);
    assert!(reprinted.zpl.contains("CP000001"), "{}", reprinted.zpl);
    assert!(reprinted.zpl.contains("TV000002"), "{}", reprinted.zpl);
    assert!(!reprinted.zpl.contains("TV000001"), "{}", reprinted.zpl);
    let job = reprinted.job.unwrap();
    assert!(job.reprint);
    assert_eq!(job.reason, "label torn");
    assert_eq!(
        (job.lines[0].serial.as_str(), job.lines[0].prints),
        ("CP000001", 2)
    );
    assert_eq!(job.lines[1].serial, "TV000002", "a new serial for the TV");
    assert_eq!(job.lines[1].replaced, "TV000001");

    let old = server.unit("TV000001").await.unwrap();
    assert_eq!(old.state(), pb::UnitState::Voided);
    assert_eq!(old.replaced_by, "TV000002");
    let new = server.unit("TV000002").await.unwrap();
    assert_eq!(new.state(), pb::UnitState::Issued);
    assert_eq!(new.replaces, "TV000001");
    // A scan of the old label says where the unit went.
    let reply = server.scan(receive("TV", "TV000001")).await;
    assert_eq!(reply.reason(), pb::Reason::Voided);
    assert!(reply.message.contains("now TV000002"), "{}", reply.message);
    let reply = server.scan(receive("TV", "TV000002")).await;
    assert_eq!(reply.outcome(), pb::Outcome::Accepted, "{}", reply.message);
    let voids: Vec<_> = server
        .all_events()
        .await
        .into_iter()
        .filter(|e| e.action() == pb::Action::Void)
        .collect();
    assert_eq!(voids.len(), 1);
    assert_eq!(voids[0].serial, "TV000001");
    assert_eq!(voids[0].reference, job.id);
    // The job is on disk with every line, across a restart.
    let (dir, temp) = server.stop().await;
    let server = TestServer::start_in(&dir).await;
    let kept = labels(server.channel())
        .get_print_job(pb::GetPrintJobRequest { id: job.id.clone() })
        .await
        .unwrap()
        .into_inner()
        .job
        .unwrap();
    assert_eq!(kept, job);
    let again = print(&server, "BASIC", &["CP000001"], None)
        .await
        .unwrap_err();
    assert!(
        again.message().contains("already printed"),
        "{}",
        again.message()
    );
    let voided = print(&server, "BASIC", &["TV000001"], Some("x"))
        .await
        .unwrap_err();
    assert!(
        voided.message().contains("VOIDED (replaced by TV000002)"),
        "{}",
        voided.message()
    );
    drop(temp);
}

#[tokio::test]
async fn a_locked_template_is_changed_only_by_a_supervisor_and_every_version_is_kept() {
    let (server, admin) = TestServer::start_secured().await;
    let token = |name: &str, role: pb::Role| {
        let server_url = server.url.clone();
        let admin = admin.clone();
        let name = name.to_owned();
        async move {
            let channel = Channel::from_shared(server_url)
                .unwrap()
                .connect()
                .await
                .unwrap();
            let mut auth = pb::auth_service_client::AuthServiceClient::with_interceptor(
                channel,
                move |mut r: tonic::Request<()>| {
                    r.metadata_mut()
                        .insert("authorization", format!("Bearer {admin}").parse().unwrap());
                    Ok(r)
                },
            );
            auth.create_token(pb::CreateTokenRequest {
                name,
                role: role.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .secret
        }
    };
    let operator = token("op", pb::Role::Operator).await;
    let supervisor = token("sup", pb::Role::Supervisor).await;
    let as_token = |secret: String| {
        let url = server.url.clone();
        async move {
            let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
            LabelServiceClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
                r.metadata_mut()
                    .insert("authorization", format!("Bearer {secret}").parse().unwrap());
                Ok(r)
            })
        }
    };
    let mut op = as_token(operator).await;
    let mut sup = as_token(supervisor).await;
    let put = |t: pb::LabelTemplate| pb::PutTemplateRequest { template: Some(t) };

    let v1 = op
        .put_template(put(template("UNIT", &["qr", "sku"], &[])))
        .await
        .unwrap()
        .into_inner()
        .template
        .unwrap();
    assert_eq!((v1.version, v1.updated_by.as_str()), (1, "op"));
    let locked = pb::LabelTemplate {
        locked: true,
        ..template("UNIT", &["qr", "sku"], &[])
    };
    let refused = op.put_template(put(locked.clone())).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("SUPERVISOR"),
        "{}",
        refused.message()
    );
    let v2 = sup
        .put_template(put(locked))
        .await
        .unwrap()
        .into_inner()
        .template
        .unwrap();
    assert_eq!((v2.version, v2.locked), (2, true));
    let change = pb::LabelTemplate {
        locked: true,
        ..template("UNIT", &["qr", "sku", "serial"], &[])
    };
    let refused = op.put_template(put(change.clone())).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("UNIT is LOCKED (version 2)"),
        "{}",
        refused.message()
    );
    let v3 = sup
        .put_template(put(change))
        .await
        .unwrap()
        .into_inner()
        .template
        .unwrap();
    assert_eq!((v3.version, v3.updated_by.as_str()), (3, "sup"));
    let first = op
        .get_template(pb::GetTemplateRequest {
            name: "UNIT".into(),
            version: 1,
        })
        .await
        .unwrap()
        .into_inner()
        .template
        .unwrap();
    assert_eq!(first, v1);
    let listed = op
        .list_templates(pb::ListTemplatesRequest {})
        .await
        .unwrap()
        .into_inner()
        .templates;
    assert_eq!(listed, [v3]);
    let bad = op
        .put_template(put(template("X", &["qr", "price"], &[])))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(bad.message().contains("\"price\""), "{}", bad.message());
    server.stop().await;
}

#[tokio::test]
async fn the_cli_puts_templates_and_prints() {
    let server = TestServer::start().await;
    issued(&server, "TV", "TV", pb::ReprintPolicy::Reuse).await;
    issue(&server, "TV", 2).await;
    let put = server
        .cli_ok(&[
            "template",
            "put",
            "BASIC",
            "--size",
            "60x40",
            "--dpi",
            "300",
            "--fields",
            "qr,sku,serial",
        ])
        .await;
    assert!(put.starts_with("BASIC v1  60x40 mm 300 dpi"), "{put}");
    let run = server
        .cli(&["template", "put", "BAD", "--size", "60"])
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    let printed = server
        .cli_ok(&[
            "--json",
            "print",
            "--template",
            "BASIC",
            "TV000001",
            "TV000002",
        ])
        .await;
    let job = &json_lines(&printed)[0];
    assert_eq!(job["lines"].as_array().unwrap().len(), 2);
    let run = server
        .cli(&["print", "--template", "BASIC", "TV000001"])
        .await;
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("already printed"), "{}", run.stderr);
}
