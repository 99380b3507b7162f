//! Issuing serials before the units exist: each item's strategy, the counters and the vendor
//! and plant ranges values are drawn from, and the facts a unit is issued or imported with.
//! Pure: the store's writer reads the counters and ranges, asks here, and writes the answer.

use crate::barcode::{Date, check};

use super::Item;

/// The most serials one IssueSerials call issues.
pub const ISSUE_COUNT_MAX: u32 = 10_000;
/// The longest prefix of a SEQUENTIAL or DATED strategy, in characters.
pub const PREFIX_LEN_MAX: usize = 12;
/// The longest plant code, in characters (A-Z, 0-9).
pub const PLANT_LEN_MAX: usize = 8;
/// The longest vendor or plant name a range is allocated to, in bytes.
pub const OWNER_LEN_MAX: usize = 64;
/// The widest counter, in digits (u64 holds 19).
pub const WIDTH_MAX: u8 = 18;
/// Bounds on a RANDOM serial's random characters (the check character comes on top, and a GS1
/// serial has at most 20 characters).
pub const RANDOM_LEN_MIN: u8 = 8;
pub const RANDOM_LEN_MAX: u8 = 19;
/// The longest serial GS1 allows (AI 21), which every issued value keeps to so that it fits
/// a GS1 label.
pub const GS1_SERIAL_LEN_MAX: usize = 20;
/// How many ranges one item may have.
pub const RANGES_PER_ITEM_MAX: usize = 1_000;

/// How an item's serials are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `{prefix}{n}`, `n` zero-padded to `width` digits.
    Sequential { prefix: String, width: u8 },
    /// `{prefix}{YYYYMMDD}-{n:06}`, the sequence restarting each (UTC) day.
    Dated { prefix: String },
    /// `{plant}{n}`, `n` zero-padded to `width` digits, one sequence per plant code.
    Plant { width: u8 },
    /// `length` characters of Crockford base 32 from the OS's cryptographic RNG, then a Luhn
    /// mod 32 check character: unguessable, for anti-counterfeit labels.
    Random { length: u8 },
    /// A GS1 SGTIN: the item's GTIN with a numeric serial `n` (no leading zeros, as the
    /// SGTIN-96 EPC encoding needs).
    Sgtin,
}

/// What a reprint of a damaged label does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReprintPolicy {
    /// The same serial again; each reprint counted and logged with its job.
    #[default]
    Reuse,
    /// The old serial is voided and a new one issued and linked to it.
    Replace,
}

impl ReprintPolicy {
    pub fn name(self) -> &'static str {
        match self {
            ReprintPolicy::Reuse => "REUSE",
            ReprintPolicy::Replace => "REPLACE",
        }
    }
}

/// An item's issuing policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuing {
    pub strategy: Strategy,
    pub reprint: ReprintPolicy,
    /// The QR payload strategy in its text form (see `label::payload`); empty: a GS1 Digital
    /// Link when the item has a GTIN, the bare serial otherwise.
    pub qr: String,
}

/// Who a range belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerKind {
    Vendor,
    Plant,
}

impl OwnerKind {
    pub fn name(self) -> &'static str {
        match self {
            OwnerKind::Vendor => "vendor",
            OwnerKind::Plant => "plant",
        }
    }
}

/// Counter values `first..=last` of one item, allocated to a vendor or plant. Values inside
/// it are issued to (or imported from) that owner only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Range {
    pub sku: String,
    pub owner: String,
    pub kind: OwnerKind,
    pub first: u64,
    pub last: u64,
    /// The next value the owner's issuing draws.
    pub next: u64,
    pub created_by: String,
    pub created_at_ms: i64,
}

impl Range {
    pub fn contains(&self, n: u64) -> bool {
        (self.first..=self.last).contains(&n)
    }
}

impl std::fmt::Display for Range {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}-{}",
            self.kind.name(),
            self.owner,
            self.first,
            self.last
        )
    }
}

/// What a unit was issued or imported with besides its SKU, serial and lot: what label
/// templates print and `Verify` tells.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnitFacts {
    pub batch: Option<String>,
    pub size: Option<String>,
    pub colour: Option<String>,
    pub po: Option<String>,
    pub mfg_unit: Option<String>,
    /// When it was made (epoch ms), 0 for unknown.
    pub made_at_ms: i64,
    /// Labels printed for it, reprints included, and the last job.
    pub prints: u32,
    pub last_job: Option<String>,
}

impl UnitFacts {
    /// The value of a named label field, if the unit has it.
    pub fn field(&self, name: &str) -> Option<String> {
        match name {
            "batch" => self.batch.clone(),
            "size" => self.size.clone(),
            "colour" => self.colour.clone(),
            "po" => self.po.clone(),
            "mfg_unit" => self.mfg_unit.clone(),
            "mfg_date" => {
                (self.made_at_ms != 0).then(|| super::time::date_utc(self.made_at_ms).to_string())
            }
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == UnitFacts::default()
    }
}

/// A write to issuing's state, decided by the store's writer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssueOp {
    /// `count` new serials of `sku`: from the owner's ranges when `owner` is set, else from
    /// the item's counter (for PLANT: the plant's), jumping over every range.
    Issue {
        sku: String,
        count: u32,
        plant: Option<String>,
        owner: Option<String>,
        operator: String,
    },
    /// Values `first..=last` (or, without `first`, the next free `count` values) to `owner`.
    AllocateRange {
        sku: String,
        owner: String,
        kind: OwnerKind,
        first: Option<u64>,
        count: u64,
        operator: String,
    },
    /// Serials made elsewhere, one chunk of an import. `vendor`: every value must be inside
    /// the vendor's ranges. `check_only`: decide every row, write nothing. Otherwise a chunk
    /// with a bad row writes nothing unless `partial`, which writes the good rows.
    Import {
        rows: Vec<ImportUnit>,
        vendor: Option<String>,
        check_only: bool,
        partial: bool,
        operator: String,
    },
    /// A new version of a label template (see [`super::label::decide_put`]).
    PutTemplate {
        template: super::label::Template,
        supervisor: bool,
        by: String,
    },
    /// Prints `serials` with the current version of `template`: all or none. A reprint
    /// follows each item's reprint policy.
    Print {
        template: String,
        serials: Vec<String>,
        reprint: bool,
        reason: Option<String>,
        operator: String,
    },
}

impl IssueOp {
    /// How many units the op may write, which the writer counts against its group bound.
    pub fn len(&self) -> usize {
        match self {
            IssueOp::Issue { count, .. } => usize::try_from(*count).unwrap_or(usize::MAX),
            IssueOp::AllocateRange { .. } => 1,
            IssueOp::Import { rows, .. } => rows.len(),
            IssueOp::PutTemplate { .. } => 1,
            IssueOp::Print { serials, .. } => serials.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One row of an import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportUnit {
    /// Where the row came from (the file's line), echoed in its rejection.
    pub line: u64,
    pub sku: String,
    pub serial: String,
    pub lot: Option<String>,
    pub facts: UnitFacts,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssueAnswer {
    /// The serials issued, in order.
    Issued(Vec<super::Unit>),
    Range(Range),
    /// How many rows were (or, checking, would be) imported, and the rejected rows with why.
    Imported {
        accepted: u64,
        written: bool,
        rejected: Vec<(u64, String)>,
    },
    /// The template's current version after the change (unchanged when it was the same).
    Template(super::label::Template),
    Printed(super::label::PrintJob),
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("SKU {0} is not in the catalog")]
    UnknownItem(String),
    #[error("SKU {0} has no issuing policy; set one with PutItem (item.issuing)")]
    NoPolicy(String),
    #[error("count must be 1 to {ISSUE_COUNT_MAX} (got {0})")]
    Count(u64),
    #[error("the PLANT strategy needs the plant code")]
    PlantMissing,
    #[error("plant code {0:?} must be 1 to {PLANT_LEN_MAX} characters of A-Z and 0-9")]
    PlantShape(String),
    #[error("a plant code is only for items with the PLANT strategy")]
    PlantNotUsed,
    #[error("prefix {0:?} must be at most {PREFIX_LEN_MAX} characters of A-Z, a-z, 0-9 and -")]
    PrefixShape(String),
    #[error("width must be 1 to {WIDTH_MAX} digits (got {0})")]
    Width(u8),
    #[error("random length must be {RANDOM_LEN_MIN} to {RANDOM_LEN_MAX} characters (got {0})")]
    RandomLength(u8),
    #[error("the SGTIN strategy needs the item's GTIN")]
    SgtinWithoutGtin,
    #[error("the strategy makes {value:?}, which SKU {sku}'s serial rule refuses: {why}")]
    RuleRefuses {
        sku: String,
        value: String,
        why: String,
    },
    #[error(
        "the strategy makes serials of {0} characters; a GS1 serial has at most {GS1_SERIAL_LEN_MAX}"
    )]
    TooLong(usize),
    #[error("SKU {sku}'s counter {scope}is used up at {last}")]
    Exhausted {
        sku: String,
        scope: String,
        last: u64,
    },
    #[error("{0} is used up")]
    RangeExhausted(String),
    #[error("ranges are for numbered strategies (SEQUENTIAL, SGTIN); SKU {0} issues otherwise")]
    NotNumbered(String),
    #[error("range {first}-{last} is empty or starts at 0")]
    RangeShape { first: u64, last: u64 },
    #[error("range {first}-{last} overlaps {other}")]
    Overlap {
        first: u64,
        last: u64,
        other: String,
    },
    #[error("range {first}-{last} reaches below {next}, where SKU {sku}'s own counter stands")]
    BelowCounter {
        sku: String,
        first: u64,
        last: u64,
        next: u64,
    },
    #[error("range {first}-{last} goes beyond {max}, the largest value the strategy can make")]
    BeyondWidth { first: u64, last: u64, max: u64 },
    #[error("SKU {sku} has no range for {owner}")]
    NoRange { sku: String, owner: String },
    #[error("owner must be 1 to {OWNER_LEN_MAX} bytes")]
    OwnerShape,
    #[error("SKU {0} already has {RANGES_PER_ITEM_MAX} ranges")]
    TooManyRanges(String),
    #[error("no free serial found for SKU {0} after many random draws")]
    NoFreeValue(String),
    #[error(transparent)]
    Label(#[from] super::label::LabelError),
}

impl IssueError {
    /// True when the request itself is malformed (INVALID_ARGUMENT), false when the store's
    /// state refuses it (FAILED_PRECONDITION, or NOT_FOUND for an unknown item).
    pub fn is_argument(&self) -> bool {
        matches!(
            self,
            IssueError::Count(_)
                | IssueError::PlantMissing
                | IssueError::PlantShape(_)
                | IssueError::PlantNotUsed
                | IssueError::PrefixShape(_)
                | IssueError::Width(_)
                | IssueError::RandomLength(_)
                | IssueError::RangeShape { .. }
                | IssueError::OwnerShape
                | IssueError::TooLong(_)
        ) || matches!(self, IssueError::Label(e) if e.is_argument())
    }
}

fn check_width(width: u8) -> Result<(), IssueError> {
    if (1..=WIDTH_MAX).contains(&width) {
        Ok(())
    } else {
        Err(IssueError::Width(width))
    }
}

fn check_prefix(prefix: &str) -> Result<(), IssueError> {
    let ok = prefix.chars().count() <= PREFIX_LEN_MAX
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(IssueError::PrefixShape(prefix.to_owned()))
    }
}

/// Checks a plant code's shape.
pub fn check_plant(plant: &str) -> Result<(), IssueError> {
    let ok = (1..=PLANT_LEN_MAX).contains(&plant.len())
        && plant
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(IssueError::PlantShape(plant.to_owned()))
    }
}

/// Checks a range owner's shape.
pub fn check_owner(owner: &str) -> Result<(), IssueError> {
    if (1..=OWNER_LEN_MAX).contains(&owner.len()) && !owner.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(IssueError::OwnerShape)
    }
}

fn pow10(width: u8) -> u64 {
    10u64.saturating_pow(u32::from(width))
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Sequential { .. } => "SEQUENTIAL",
            Strategy::Dated { .. } => "DATED",
            Strategy::Plant { .. } => "PLANT",
            Strategy::Random { .. } => "RANDOM",
            Strategy::Sgtin => "SGTIN",
        }
    }

    /// True for strategies whose values carry a counter value that ranges can be cut from.
    pub fn numbered(&self) -> bool {
        matches!(self, Strategy::Sequential { .. } | Strategy::Sgtin)
    }

    /// The largest counter value the strategy can make.
    pub fn max(&self) -> u64 {
        match self {
            Strategy::Sequential { width, .. } | Strategy::Plant { width } => pow10(*width) - 1,
            Strategy::Dated { .. } => 999_999,
            // 20 digits do not fit a u64; the largest u64 has 20 and fits AI 21.
            Strategy::Sgtin => u64::MAX,
            Strategy::Random { .. } => 0,
        }
    }

    /// The counter scope a value is drawn from: empty, the day (YYYYMMDD) for DATED, the plant
    /// code for PLANT.
    pub fn scope(&self, today: Date, plant: Option<&str>) -> Result<String, IssueError> {
        match (self, plant) {
            (Strategy::Plant { .. }, Some(plant)) => {
                check_plant(plant)?;
                Ok(plant.to_owned())
            }
            (Strategy::Plant { .. }, None) => Err(IssueError::PlantMissing),
            (_, Some(_)) => Err(IssueError::PlantNotUsed),
            (Strategy::Dated { .. }, None) => Ok(format!(
                "{:04}{:02}{:02}",
                today.year, today.month, today.day
            )),
            (_, None) => Ok(String::new()),
        }
    }

    /// The serial for counter value `n` in `scope`, or `None` when `n` is out of the
    /// strategy's bounds (0, or wider than its width). RANDOM has no counter values.
    pub fn value(&self, scope: &str, n: u64) -> Option<String> {
        if n == 0 || n > self.max() {
            return None;
        }
        match self {
            Strategy::Sequential { prefix, width } => {
                Some(format!("{prefix}{n:0w$}", w = usize::from(*width)))
            }
            Strategy::Dated { prefix } => Some(format!("{prefix}{scope}-{n:06}")),
            Strategy::Plant { width } => Some(format!("{scope}{n:0w$}", w = usize::from(*width))),
            Strategy::Sgtin => Some(n.to_string()),
            Strategy::Random { .. } => None,
        }
    }

    /// The counter value a serial of a numbered strategy carries (what ranges are checked
    /// against), or `None` when it is not one of the strategy's values.
    pub fn number(&self, serial: &str) -> Option<u64> {
        let digits = match self {
            Strategy::Sequential { prefix, width } => {
                let rest = serial.strip_prefix(prefix.as_str())?;
                (rest.len() == usize::from(*width)).then_some(rest)?
            }
            Strategy::Sgtin => (!serial.starts_with('0')).then_some(serial)?,
            _ => return None,
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|&n| n != 0)
    }

    /// A RANDOM serial from `length` draws of `byte` (the OS RNG in the writer): 5 bits of
    /// each byte pick a character, so every character is equally likely.
    pub fn random_value(length: u8, mut byte: impl FnMut() -> u8) -> String {
        let mut body: Vec<u8> = (0..length)
            .map(|_| check::CROCKFORD32[usize::from(byte() & 31)])
            .collect();
        if let Some(c) = check::luhn_mod32_char(&body) {
            body.push(c);
        }
        String::from_utf8_lossy(&body).into_owned()
    }

    /// Checks the strategy's own settings, and that the values it makes fit the item's serial
    /// rule and GS1's 20 characters.
    pub fn validate(&self, item: &Item) -> Result<(), IssueError> {
        let samples: Vec<String> = match self {
            Strategy::Sequential { prefix, width } => {
                check_prefix(prefix)?;
                check_width(*width)?;
                [1, self.max()]
                    .iter()
                    .filter_map(|&n| self.value("", n))
                    .collect()
            }
            Strategy::Dated { prefix } => {
                check_prefix(prefix)?;
                [1, self.max()]
                    .iter()
                    .filter_map(|&n| self.value("20261123", n))
                    .collect()
            }
            Strategy::Plant { width } => {
                check_width(*width)?;
                [1, self.max()]
                    .iter()
                    .filter_map(|&n| self.value("P1", n))
                    .collect()
            }
            Strategy::Random { length } => {
                if !(RANDOM_LEN_MIN..=RANDOM_LEN_MAX).contains(length) {
                    return Err(IssueError::RandomLength(*length));
                }
                let mut counter = 0u8;
                vec![Strategy::random_value(*length, || {
                    counter = counter.wrapping_add(7);
                    counter
                })]
            }
            Strategy::Sgtin => {
                if item.gtin.is_none() {
                    return Err(IssueError::SgtinWithoutGtin);
                }
                ["1".to_owned(), u64::MAX.to_string()].into()
            }
        };
        for value in samples {
            let len = value.chars().count();
            if len > GS1_SERIAL_LEN_MAX {
                return Err(IssueError::TooLong(len));
            }
            // A plant code is chosen at issue time: only the counter part is checked here.
            if matches!(self, Strategy::Plant { .. }) {
                continue;
            }
            if let Err(why) = item.serial_rule.check(&value) {
                return Err(IssueError::RuleRefuses {
                    sku: item.sku.clone(),
                    value,
                    why: why.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// The first counter value at or after `n` that no range holds: in-house issuing jumps over
/// what was given to vendors and plants.
pub fn skip_ranges(mut n: u64, ranges: &[Range]) -> u64 {
    while let Some(r) = ranges.iter().find(|r| r.contains(n)) {
        n = r.last.saturating_add(1);
        if r.last == u64::MAX {
            break;
        }
    }
    n
}

/// Decides whether `new` may be allocated: inside what the strategy can make, above the
/// item's own counter, and overlapping no range the item has. Overlap is refused naming the
/// range it hits.
pub fn check_new_range(
    new: &Range,
    strategy: &Strategy,
    existing: &[Range],
    counter_next: u64,
) -> Result<(), IssueError> {
    check_owner(&new.owner)?;
    if !strategy.numbered() {
        return Err(IssueError::NotNumbered(new.sku.clone()));
    }
    if new.first == 0 || new.first > new.last {
        return Err(IssueError::RangeShape {
            first: new.first,
            last: new.last,
        });
    }
    if new.last > strategy.max() {
        return Err(IssueError::BeyondWidth {
            first: new.first,
            last: new.last,
            max: strategy.max(),
        });
    }
    if let Some(other) = existing
        .iter()
        .find(|r| new.first <= r.last && r.first <= new.last)
    {
        return Err(IssueError::Overlap {
            first: new.first,
            last: new.last,
            other: other.to_string(),
        });
    }
    if existing.len() >= RANGES_PER_ITEM_MAX {
        return Err(IssueError::TooManyRanges(new.sku.clone()));
    }
    if new.first < counter_next {
        return Err(IssueError::BelowCounter {
            sku: new.sku.clone(),
            first: new.first,
            last: new.last,
            next: counter_next,
        });
    }
    Ok(())
}

/// Where a new block of values starts when the caller does not say: after the item's counter
/// and every range.
pub fn next_free_block(existing: &[Range], counter_next: u64) -> u64 {
    existing
        .iter()
        .map(|r| r.last.saturating_add(1))
        .chain([counter_next.max(1)])
        .max()
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::barcode::{Charset, SerialRule};

    fn item(rule: SerialRule, gtin: Option<&str>) -> Item {
        Item {
            sku: "TV-65".into(),
            gtin: gtin.map(str::to_owned),
            description: String::new(),
            lot_tracked: false,
            warranty_months: 24,
            serial_rule: rule,
            updated_at_ms: 0,
            issuing: None,
        }
    }

    fn range(owner: &str, first: u64, last: u64) -> Range {
        Range {
            sku: "TV-65".into(),
            owner: owner.into(),
            kind: OwnerKind::Vendor,
            first,
            last,
            next: first,
            created_by: "admin".into(),
            created_at_ms: 0,
        }
    }

    #[test]
    fn values_and_numbers_round_trip() {
        let seq = Strategy::Sequential {
            prefix: "TV".into(),
            width: 6,
        };
        assert_eq!(seq.value("", 42).unwrap(), "TV000042");
        assert_eq!(seq.number("TV000042"), Some(42));
        assert_eq!(seq.number("TV00042"), None);
        assert_eq!(seq.number("XX000042"), None);
        assert_eq!(seq.value("", 1_000_000), None);
        assert_eq!(seq.value("", 0), None);
        let dated = Strategy::Dated {
            prefix: String::new(),
        };
        let today = Date {
            year: 2026,
            month: 11,
            day: 3,
        };
        let scope = dated.scope(today, None).unwrap();
        assert_eq!(dated.value(&scope, 7).unwrap(), "20261103-000007");
        let plant = Strategy::Plant { width: 5 };
        assert_eq!(plant.scope(today, None), Err(IssueError::PlantMissing));
        assert_eq!(
            plant.scope(today, Some("p1")),
            Err(IssueError::PlantShape("p1".into()))
        );
        assert_eq!(plant.value("P1", 12).unwrap(), "P100012");
        assert_eq!(seq.scope(today, Some("P1")), Err(IssueError::PlantNotUsed));
        assert_eq!(Strategy::Sgtin.value("", 5).unwrap(), "5");
        assert_eq!(Strategy::Sgtin.number("05"), None);
        assert_eq!(
            Strategy::Sgtin.number("18446744073709551615"),
            Some(u64::MAX)
        );
    }

    #[test]
    fn random_values_avoid_confusables_and_carry_a_check_character() {
        let mut state = 0x1234_5678u32;
        let value = Strategy::random_value(12, || {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as u8
        });
        assert_eq!(value.len(), 13);
        assert!(value.bytes().all(|b| check::CROCKFORD32.contains(&b)));
        assert!(!value.contains(['I', 'L', 'O', 'U']));
        let rule = SerialRule {
            charset: Charset::AlphanumericUpper,
            check: crate::barcode::CheckScheme::LuhnMod32,
            ..SerialRule::default()
        };
        rule.check(&value).unwrap();
        let mut typo = value.into_bytes();
        typo[3] = if typo[3] == b'7' { b'8' } else { b'7' };
        assert!(rule.check(&String::from_utf8(typo).unwrap()).is_err());
    }

    #[test]
    fn strategies_are_checked_against_the_items_rule() {
        let digits = SerialRule {
            charset: Charset::Numeric,
            ..SerialRule::default()
        };
        let seq = Strategy::Sequential {
            prefix: "TV".into(),
            width: 6,
        };
        assert!(matches!(
            seq.validate(&item(digits.clone(), None)),
            Err(IssueError::RuleRefuses { .. })
        ));
        seq.validate(&item(SerialRule::default(), None)).unwrap();
        assert_eq!(
            Strategy::Sgtin.validate(&item(digits.clone(), None)),
            Err(IssueError::SgtinWithoutGtin)
        );
        Strategy::Sgtin
            .validate(&item(digits, Some("04006381333931")))
            .unwrap();
        assert_eq!(
            Strategy::Random { length: 4 }.validate(&item(SerialRule::default(), None)),
            Err(IssueError::RandomLength(4))
        );
        assert_eq!(
            Strategy::Sequential {
                prefix: "TOO-LONG-PREFIX".into(),
                width: 6
            }
            .validate(&item(SerialRule::default(), None)),
            Err(IssueError::PrefixShape("TOO-LONG-PREFIX".into()))
        );
        assert_eq!(
            Strategy::Sequential {
                prefix: "ABCDEFGHIJ".into(),
                width: 18
            }
            .validate(&item(SerialRule::default(), None)),
            Err(IssueError::TooLong(28))
        );
    }

    #[test]
    fn ranges_never_overlap_and_stay_above_the_counter() {
        let seq = Strategy::Sequential {
            prefix: "TV".into(),
            width: 6,
        };
        let a = range("A", 1000, 5000);
        check_new_range(&a, &seq, &[], 1).unwrap();
        let b = range("B", 5000, 9000);
        assert_eq!(
            check_new_range(&b, &seq, std::slice::from_ref(&a), 1),
            Err(IssueError::Overlap {
                first: 5000,
                last: 9000,
                other: "vendor A 1000-5000".into()
            })
        );
        check_new_range(&range("B", 5001, 9000), &seq, std::slice::from_ref(&a), 1).unwrap();
        assert!(matches!(
            check_new_range(&range("C", 10, 20), &seq, &[], 50),
            Err(IssueError::BelowCounter { next: 50, .. })
        ));
        assert!(matches!(
            check_new_range(&range("C", 10, 1_000_000), &seq, &[], 1),
            Err(IssueError::BeyondWidth { max: 999_999, .. })
        ));
        assert!(matches!(
            check_new_range(&range("C", 20, 10), &seq, &[], 1),
            Err(IssueError::RangeShape { .. })
        ));
        assert_eq!(
            check_new_range(&range("C", 1, 2), &Strategy::Random { length: 10 }, &[], 1),
            Err(IssueError::NotNumbered("TV-65".into()))
        );
        let ranges = [a, range("B", 5001, 9000)];
        assert_eq!(skip_ranges(999, &ranges), 999);
        assert_eq!(skip_ranges(1000, &ranges), 9001);
        assert_eq!(next_free_block(&ranges, 1), 9001);
        assert_eq!(next_free_block(&[], 77), 77);
    }
}
