//! `serialtrack audit`: the head of the event chain, and a walk that finds the first break.

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use super::{EXIT_OK, EXIT_REJECTED, request_failed};
use crate::audit::{hex, parse_hex};
use crate::client::Conn;
use crate::proto::v1 as pb;
use crate::proto::v1::audit_service_client::AuditServiceClient;

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// The newest event's sequence number and hash, as SEQ:HASH: give it to the auditor.
    Head,
    /// Walk the whole log and report the first break. Exit 0 when intact, 1 when broken.
    Verify {
        /// A head kept earlier (SEQ:HASH from `audit head`): also check that the log still
        /// leads to it.
        #[arg(long)]
        expect_head: Option<String>,
    },
}

fn head_text(head: &pb::AuditHead) -> String {
    match <[u8; 32]>::try_from(head.hash.as_slice()) {
        Ok(hash) => format!("{}:{}", head.seq, hex(&hash)),
        Err(_) => format!("{}:", head.seq),
    }
}

fn parse_head(text: &str) -> anyhow::Result<pb::AuditHead> {
    let (seq, hash) = text
        .split_once(':')
        .context("--expect-head is SEQ:HASH, as `audit head` prints it")?;
    let seq: u64 = seq
        .parse()
        .with_context(|| format!("--expect-head: {seq:?} is not a sequence number"))?;
    let hash = parse_hex(hash).context("--expect-head: the hash is not 64 hex digits")?;
    Ok(pb::AuditHead {
        seq,
        hash: hash.to_vec(),
    })
}

pub async fn audit(channel: Conn, json: bool, command: AuditCommand) -> anyhow::Result<u8> {
    let mut client = AuditServiceClient::new(channel);
    match command {
        AuditCommand::Head => {
            let head = client
                .head(pb::AuditHeadRequest {})
                .await
                .map_err(request_failed)?
                .into_inner();
            if json {
                println!("{}", json!({"seq": head.seq, "head": head_text(&head)}));
            } else {
                println!("{}", head_text(&head));
            }
            Ok(EXIT_OK)
        }
        AuditCommand::Verify { expect_head } => {
            let expect_head = expect_head.as_deref().map(parse_head).transpose()?;
            let report = client
                .verify(pb::VerifyAuditRequest { expect_head })
                .await
                .map_err(request_failed)?
                .into_inner();
            let head = report.head.as_ref().map(head_text).unwrap_or_default();
            if json {
                println!(
                    "{}",
                    json!({
                        "intact": report.intact,
                        "events_checked": report.events_checked,
                        "unchained": report.unchained,
                        "first_chained_seq": report.first_chained_seq,
                        "head": head,
                        "break_seq": report.break_seq,
                        "break_reason": report.break_reason,
                    })
                );
            } else if report.intact {
                println!(
                    "intact: {} events checked, head {head}",
                    report.events_checked
                );
                if report.unchained > 0 {
                    println!(
                        "  events 1 to {} were written before the chain existed; the chain starts at {}",
                        report.unchained, report.first_chained_seq
                    );
                }
            } else {
                println!(
                    "BROKEN at event {}: {}\n  {} events checked up to there",
                    report.break_seq, report.break_reason, report.events_checked
                );
            }
            Ok(if report.intact {
                EXIT_OK
            } else {
                EXIT_REJECTED
            })
        }
    }
}
