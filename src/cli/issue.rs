//! `issue`, `range`, `import units` and `verify`: serials issued before units arrive, the
//! vendor and plant ranges they are drawn from, imports of serials made elsewhere, and the
//! genuineness check of a scanned label. Also the issuing flags of `item add`.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::output::short;
use super::{EXIT_OK, EXIT_REJECTED, request_failed};
use crate::client::Conn;
use crate::domain::time::format_utc;
use crate::proto::v1 as pb;
use crate::proto::v1::issue_service_client::IssueServiceClient;

/// `item add`'s issuing policy flags.
#[derive(Args, Debug, Clone)]
pub(super) struct IssuePolicyArgs {
    /// Issue this item's serials before its units arrive, made this way; goods-in then refuses
    /// serials that were never issued (NOT_ISSUED).
    #[arg(long, value_enum)]
    issue: Option<StrategyArg>,
    /// SEQUENTIAL and DATED: text before the counter.
    #[arg(long, default_value = "")]
    issue_prefix: String,
    /// SEQUENTIAL and PLANT: the counter's digits.
    #[arg(long, default_value_t = 6)]
    issue_width: u32,
    /// RANDOM: random characters before the check character.
    #[arg(long, default_value_t = 12)]
    random_length: u32,
    /// What reprinting a damaged label does.
    #[arg(long, value_enum, default_value_t = ReprintArg::Reuse)]
    reprint: ReprintArg,
    /// QR payload: digital-link:DOMAIN, verify-url:BASE or structured.
    #[arg(long, default_value = "")]
    qr: String,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum StrategyArg {
    Sequential,
    Dated,
    Plant,
    Random,
    Sgtin,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ReprintArg {
    Reuse,
    Replace,
}

impl IssuePolicyArgs {
    pub(super) fn policy(&self) -> Option<pb::IssuePolicy> {
        let strategy = match self.issue? {
            StrategyArg::Sequential => pb::IssueStrategy::Sequential,
            StrategyArg::Dated => pb::IssueStrategy::Dated,
            StrategyArg::Plant => pb::IssueStrategy::Plant,
            StrategyArg::Random => pb::IssueStrategy::Random,
            StrategyArg::Sgtin => pb::IssueStrategy::Sgtin,
        };
        Some(pb::IssuePolicy {
            strategy: strategy.into(),
            prefix: self.issue_prefix.clone(),
            width: self.issue_width,
            random_length: self.random_length,
            reprint: match self.reprint {
                ReprintArg::Reuse => pb::ReprintPolicy::Reuse,
                ReprintArg::Replace => pb::ReprintPolicy::Replace,
            }
            .into(),
            qr: self.qr.clone(),
        })
    }
}

#[derive(Subcommand, Debug)]
pub enum RangeCommand {
    /// Give a vendor or plant values of an item's counter (SUPERVISOR). Without --first, the
    /// block starts after the counter and every range.
    Allocate {
        sku: String,
        #[arg(long)]
        owner: String,
        #[arg(long, value_enum, default_value_t = OwnerArg::Vendor)]
        kind: OwnerArg,
        #[arg(long)]
        first: Option<u64>,
        #[arg(long)]
        count: u64,
    },
    /// An item's ranges and how far each is used.
    List { sku: String },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OwnerArg {
    Vendor,
    Plant,
}

/// `issue SKU --count N`.
#[derive(Args, Debug)]
pub struct IssueArgs {
    sku: String,
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// PLANT strategy: the plant code.
    #[arg(long, default_value = "")]
    plant: String,
    /// Draw from this vendor's or plant's ranges.
    #[arg(long, default_value = "")]
    owner: String,
}

/// `verify CODE`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// What the label's QR or barcode carried (URL, element string or serial).
    code: String,
    /// Where it was scanned: clone detection counts distinct places.
    #[arg(long, default_value = "")]
    place: String,
}

fn range_json(range: &pb::SerialRange) -> serde_json::Value {
    json!({
        "sku": range.sku,
        "owner": range.owner,
        "kind": short(range.kind().as_str_name(), "OWNER_KIND_"),
        "first": range.first,
        "last": range.last,
        "next": range.next,
        "created_by": range.created_by,
        "created_at_ms": range.created_at_ms,
    })
}

fn print_range(range: &pb::SerialRange, json: bool) {
    if json {
        println!("{}", range_json(range));
    } else {
        let used = range.next.saturating_sub(range.first);
        let size = range.last - range.first + 1;
        println!(
            "{}  {} {}  {}-{}  used {used} of {size}  by {} at {}",
            range.sku,
            short(range.kind().as_str_name(), "OWNER_KIND_").to_lowercase(),
            range.owner,
            range.first,
            range.last,
            if range.created_by.is_empty() {
                "-"
            } else {
                &range.created_by
            },
            format_utc(range.created_at_ms)
        );
    }
}

pub async fn issue(channel: Conn, json: bool, args: IssueArgs) -> anyhow::Result<u8> {
    let mut client = IssueServiceClient::new(channel);
    let response = client
        .issue_serials(pb::IssueSerialsRequest {
            sku: args.sku,
            count: args.count,
            plant: args.plant,
            owner: args.owner,
        })
        .await
        .map_err(request_failed)?
        .into_inner();
    for issued in &response.serials {
        if json {
            println!(
                "{}",
                json!({
                    "sku": response.sku,
                    "serial": issued.serial,
                    "qr_payload": issued.qr_payload,
                    "seq": issued.seq,
                })
            );
        } else if issued.qr_payload.is_empty() {
            println!("{}", issued.serial);
        } else {
            println!("{}  {}", issued.serial, issued.qr_payload);
        }
    }
    Ok(EXIT_OK)
}

pub async fn range(channel: Conn, json: bool, command: RangeCommand) -> anyhow::Result<u8> {
    let mut client = IssueServiceClient::new(channel);
    match command {
        RangeCommand::Allocate {
            sku,
            owner,
            kind,
            first,
            count,
        } => {
            let range = client
                .allocate_range(pb::AllocateRangeRequest {
                    sku,
                    owner,
                    kind: match kind {
                        OwnerArg::Vendor => pb::OwnerKind::Vendor,
                        OwnerArg::Plant => pb::OwnerKind::Plant,
                    }
                    .into(),
                    first: first.unwrap_or(0),
                    count,
                })
                .await
                .map_err(request_failed)?
                .into_inner()
                .range
                .unwrap_or_default();
            print_range(&range, json);
        }
        RangeCommand::List { sku } => {
            let ranges = client
                .list_ranges(pb::ListRangesRequest { sku })
                .await
                .map_err(request_failed)?
                .into_inner()
                .ranges;
            for range in &ranges {
                print_range(range, json);
            }
        }
    }
    Ok(EXIT_OK)
}

/// Exit 0 for a genuine label, 1 for an unknown or voided one or a suspected clone.
pub async fn verify(channel: Conn, json: bool, args: VerifyArgs) -> anyhow::Result<u8> {
    let mut client = IssueServiceClient::new(channel);
    let answer = client
        .verify(pb::VerifyRequest {
            code: args.code,
            place: args.place,
        })
        .await
        .map_err(request_failed)?
        .into_inner();
    let verdict = short(answer.verdict().as_str_name(), "VERDICT_");
    if json {
        println!(
            "{}",
            json!({
                "verdict": verdict,
                "serial": answer.serial,
                "sku": answer.sku,
                "gtin": answer.gtin,
                "description": answer.description,
                "lot": answer.lot,
                "mfg_date": answer.mfg_date,
                "state": short(answer.state().as_str_name(), "UNIT_STATE_"),
                "warranty": answer.warranty,
                "warranty_until": answer.warranty_until,
                "replaced_by": answer.replaced_by,
                "places": answer.places,
                "suspected_clone": answer.suspected_clone,
                "message": answer.message,
            })
        );
    } else {
        println!("{verdict}  {}", answer.message);
        if answer.verdict() != pb::Verdict::Unknown {
            let or_dash = |s: &str| {
                if s.is_empty() {
                    "-".to_owned()
                } else {
                    s.to_owned()
                }
            };
            println!(
                "  sku {}  gtin {}  lot {}  made {}  state {}  warranty {}{}",
                answer.sku,
                or_dash(&answer.gtin),
                or_dash(&answer.lot),
                or_dash(&answer.mfg_date),
                short(answer.state().as_str_name(), "UNIT_STATE_"),
                answer.warranty,
                if answer.warranty_until.is_empty() {
                    String::new()
                } else {
                    format!(" until {}", answer.warranty_until)
                }
            );
        }
    }
    let genuine = answer.verdict() == pb::Verdict::Genuine && !answer.suspected_clone;
    Ok(if genuine { EXIT_OK } else { EXIT_REJECTED })
}
