//! `issue`, `range`, `import units` and `verify`: serials issued before units arrive, the
//! vendor and plant ranges they are drawn from, imports of serials made elsewhere, and the
//! genuineness check of a scanned label. Also the issuing flags of `item add`.

use clap::{Args, ValueEnum};

use crate::proto::v1 as pb;

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
