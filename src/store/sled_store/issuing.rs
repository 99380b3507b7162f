//! The writer's side of issuing: counters, ranges, issued and imported units, each new unit
//! logged as an ISSUE event in the same group.

use std::collections::HashSet;

use uuid::Uuid;

use super::{Get, Group, StoreError, keys};
use crate::domain::issue::{
    self, ISSUE_COUNT_MAX, ImportUnit, IssueAnswer, IssueError, IssueOp, Range, Strategy, UnitFacts,
};
use crate::domain::{self, Action, EntryMode, Event, Item, Outcome, Reason, Unit, UnitState};
use crate::store::records::{decode_facts, decode_range, encode_facts, encode_range};

/// How many random draws may collide with stored serials before issuing gives up.
const RANDOM_TRIES: usize = 64;

/// Where an issued unit came from: the station its ISSUE event names (the owner, plant or
/// `issue`; `import` or `import:VENDOR`), who issued it, and the event's reference.
pub(super) struct IssuedBy {
    pub station: String,
    pub operator: String,
    pub reference: Option<String>,
}

type Decided = Result<Result<IssueAnswer, IssueError>, StoreError>;

impl<T: Get> Group<'_, T> {
    pub(super) fn issue(&mut self, op: IssueOp) -> Decided {
        match op {
            IssueOp::Issue {
                sku,
                count,
                plant,
                owner,
                operator,
            } => self.issue_serials(&sku, count, plant.as_deref(), owner.as_deref(), &operator),
            IssueOp::AllocateRange {
                sku,
                owner,
                kind,
                first,
                count,
                operator,
            } => self.allocate_range(&sku, owner, kind, first, count, operator),
            IssueOp::Import {
                rows,
                vendor,
                check_only,
                partial,
                operator,
            } => self.import(rows, vendor.as_deref(), check_only, partial, &operator),
            IssueOp::PutTemplate {
                template,
                supervisor,
                by,
            } => self.put_template(template, supervisor, &by),
            IssueOp::Print {
                template,
                serials,
                reprint,
                reason,
                operator,
            } => self.print(&template, serials, reprint, reason, &operator),
        }
    }

    /// The item and its strategy, or why there is none.
    fn issuing_item(
        &mut self,
        sku: &str,
    ) -> Result<Result<(Item, Strategy), IssueError>, StoreError> {
        let Some(item) = self.item(sku)? else {
            return Ok(Err(IssueError::UnknownItem(sku.to_owned())));
        };
        let Some(strategy) = item.issuing.as_ref().map(|i| i.strategy.clone()) else {
            return Ok(Err(IssueError::NoPolicy(sku.to_owned())));
        };
        Ok(Ok((item, strategy)))
    }

    /// Every range of `sku`, as the group has changed them, by first value.
    pub(super) fn ranges(&mut self, sku: &str) -> Result<Vec<Range>, StoreError> {
        if let Some(ranges) = self.issue_ranges.get(sku) {
            return Ok(ranges.clone());
        }
        let mut ranges = Vec::new();
        if let Some(prefix) = keys::range_prefix(sku) {
            for (_, record) in self.tree.prefix(&prefix)? {
                ranges.push(decode_range(&record)?);
            }
        }
        self.issue_ranges.insert(sku.to_owned(), ranges.clone());
        Ok(ranges)
    }

    /// Keeps a changed range, written with the group ([`Group::write_issuing`]).
    fn put_range(&mut self, range: Range) {
        self.dirty_ranges.insert((range.sku.clone(), range.first));
        let ranges = self.issue_ranges.entry(range.sku.clone()).or_default();
        match ranges.iter_mut().find(|r| r.first == range.first) {
            Some(old) => *old = range,
            None => {
                ranges.push(range);
                ranges.sort_by_key(|r| r.first);
            }
        }
    }

    /// The next value of `sku`'s counter for `scope` (1 for a new one).
    fn counter(&mut self, sku: &str, scope: &str) -> Result<u64, StoreError> {
        let key = (sku.to_owned(), scope.to_owned());
        if let Some(&n) = self.counters.get(&key) {
            return Ok(n);
        }
        let n = match keys::counter(sku, scope) {
            Some(k) => match self.tree.get(k)? {
                Some(v) => keys::seq_from_value(&v)
                    .ok_or_else(|| StoreError::Corrupt(format!("counter of {sku}")))?,
                None => 1,
            },
            None => 1,
        };
        self.counters.insert(key, n);
        Ok(n)
    }

    /// Keeps a counter's next value, written with the group ([`Group::write_issuing`]).
    fn set_counter(&mut self, sku: &str, scope: &str, next: u64) {
        let key = (sku.to_owned(), scope.to_owned());
        self.dirty_counters.insert(key.clone());
        self.counters.insert(key, next);
    }

    /// Writes the counters and ranges the group changed into its batch.
    pub(super) fn write_issuing(&mut self) {
        for (sku, scope) in std::mem::take(&mut self.dirty_counters) {
            let next = self.counters.get(&(sku.clone(), scope.clone()));
            if let (Some(k), Some(next)) = (keys::counter(&sku, &scope), next) {
                self.batch.insert(k, &next.to_be_bytes());
            }
        }
        for (sku, first) in std::mem::take(&mut self.dirty_ranges) {
            let range = self
                .issue_ranges
                .get(&sku)
                .and_then(|ranges| ranges.iter().find(|r| r.first == first));
            if let (Some(k), Some(range)) = (keys::range(&sku, first), range) {
                self.batch.insert(k, encode_range(range));
            }
        }
    }

    /// What `serial` was issued or imported with, as the group has changed it.
    pub(super) fn facts(&mut self, serial: &str) -> Result<UnitFacts, StoreError> {
        if let Some(facts) = self.unit_facts.get(serial) {
            return Ok(facts.clone());
        }
        let facts = match self.tree.get(keys::facts(serial))? {
            Some(v) => decode_facts(&v)?,
            None => UnitFacts::default(),
        };
        self.unit_facts.insert(serial.to_owned(), facts.clone());
        Ok(facts)
    }

    pub(super) fn put_facts(&mut self, serial: &str, facts: &UnitFacts) {
        if facts.is_empty() {
            self.batch.remove(keys::facts(serial));
        } else {
            self.batch.insert(keys::facts(serial), encode_facts(facts));
        }
        self.unit_facts.insert(serial.to_owned(), facts.clone());
    }

    /// Creates the ISSUED unit `serial` of `item` and logs its ISSUE event.
    pub(super) fn put_issued(
        &mut self,
        item: &Item,
        serial: String,
        lot: Option<String>,
        by: &IssuedBy,
        replaces: Option<String>,
        message: String,
    ) -> Result<Unit, StoreError> {
        let seq = self.next_seq;
        let unit = Unit {
            serial: serial.clone(),
            sku: item.sku.clone(),
            gtin: item.gtin.clone(),
            lot: lot.clone(),
            expiry: None,
            state: UnitState::Issued,
            location: String::new(),
            first_seen_station: by.station.clone(),
            first_seen_at_ms: self.now_ms,
            first_seen_seq: seq,
            last_seq: seq,
            received_at_ms: 0,
            hold: None,
            order_id: None,
            shipment_id: None,
            customer: None,
            dispatched_at_ms: 0,
            mfr_serial: None,
            parent: None,
            replaced_by: None,
            replaces,
        };
        self.put_unit(unit.clone())?;
        let event = Event {
            seq,
            event_id: Uuid::new_v4(),
            recorded_at_ms: self.now_ms,
            client_time_ms: self.now_ms,
            station: by.station.clone(),
            operator: by.operator.clone(),
            action: Action::Issue,
            raw: Vec::new(),
            entry_mode: EntryMode::Keyed,
            serial,
            sku: item.sku.clone(),
            gtin: item.gtin.clone(),
            lot,
            expiry: None,
            outcome: Outcome::Accepted,
            reason: Reason::Ok,
            message,
            state_after: Some(UnitState::Issued),
            location: None,
            reference: by.reference.clone(),
            prev_hash: Some(self.last_hash),
        };
        self.append_event(&event, &[]);
        Ok(unit)
    }

    /// A free serial of `strategy`: from `owner`'s ranges, or the counter of `scope` jumping
    /// over ranges, or a random draw; `None` when the source is used up.
    pub(super) fn next_free(
        &mut self,
        sku: &str,
        strategy: &Strategy,
        scope: &str,
        owner: Option<&str>,
    ) -> Result<Result<String, IssueError>, StoreError> {
        if let Strategy::Random { length } = strategy {
            for _ in 0..RANDOM_TRIES {
                let mut bytes = vec![0u8; usize::from(*length)];
                getrandom::fill(&mut bytes).map_err(|e| {
                    StoreError::Unavailable(format!("the OS random source failed: {e}"))
                })?;
                let mut draws = bytes.into_iter();
                let value = Strategy::random_value(*length, || draws.next().unwrap_or(0));
                if self.unit(&value)?.is_none() {
                    return Ok(Ok(value));
                }
            }
            return Ok(Err(IssueError::NoFreeValue(sku.to_owned())));
        }
        let ranges = self.ranges(sku)?;
        if let Some(owner) = owner {
            if !strategy.numbered() {
                return Ok(Err(IssueError::NotNumbered(sku.to_owned())));
            }
            let mut owned: Vec<Range> = ranges.into_iter().filter(|r| r.owner == owner).collect();
            if owned.is_empty() {
                return Ok(Err(IssueError::NoRange {
                    sku: sku.to_owned(),
                    owner: owner.to_owned(),
                }));
            }
            for range in &mut owned {
                while range.next <= range.last {
                    let n = range.next;
                    range.next += 1;
                    let Some(value) = strategy.value(scope, n) else {
                        continue;
                    };
                    if self.unit(&value)?.is_none() {
                        self.put_range(range.clone());
                        return Ok(Ok(value));
                    }
                }
                self.put_range(range.clone());
            }
            let last = owned.last().map(ToString::to_string).unwrap_or_default();
            return Ok(Err(IssueError::RangeExhausted(last)));
        }
        let mut n = self.counter(sku, scope)?;
        loop {
            n = issue::skip_ranges(n, &ranges);
            let Some(value) = strategy.value(scope, n) else {
                self.set_counter(sku, scope, n);
                return Ok(Err(IssueError::Exhausted {
                    sku: sku.to_owned(),
                    scope: if scope.is_empty() {
                        String::new()
                    } else {
                        format!("for {scope} ")
                    },
                    last: strategy.max(),
                }));
            };
            n += 1;
            if self.unit(&value)?.is_none() {
                self.set_counter(sku, scope, n);
                return Ok(Ok(value));
            }
        }
    }

    fn issue_serials(
        &mut self,
        sku: &str,
        count: u32,
        plant: Option<&str>,
        owner: Option<&str>,
        operator: &str,
    ) -> Decided {
        if count == 0 || count > ISSUE_COUNT_MAX {
            return Ok(Err(IssueError::Count(u64::from(count))));
        }
        let (item, strategy) = match self.issuing_item(sku)? {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let scope = match strategy.scope(domain::time::date_utc(self.now_ms), plant) {
            Ok(scope) => scope,
            Err(e) => return Ok(Err(e)),
        };
        // Decide every value before writing any: a request that runs out writes nothing.
        let mut values = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        let mut taken = HashSet::new();
        // What to go back to if the source runs out part way.
        let kept = (
            self.counters.clone(),
            self.issue_ranges.clone(),
            self.dirty_counters.clone(),
            self.dirty_ranges.clone(),
        );
        while values.len() < values.capacity() {
            match self.next_free(sku, &strategy, &scope, owner)? {
                // A random draw is checked against the store; this catches the group's own.
                Ok(value) if !taken.insert(value.clone()) => {}
                Ok(value) => values.push(value),
                Err(e) => {
                    (
                        self.counters,
                        self.issue_ranges,
                        self.dirty_counters,
                        self.dirty_ranges,
                    ) = kept;
                    return Ok(Err(e));
                }
            }
        }
        let by = IssuedBy {
            station: owner.or(plant).unwrap_or("issue").to_owned(),
            operator: operator.to_owned(),
            reference: owner.map(str::to_owned),
        };
        let mut units = Vec::with_capacity(values.len());
        for value in values {
            let message = format!(
                "issued {value} ({sku}) by the {} strategy{}",
                strategy.name(),
                owner
                    .map(|o| format!(" from {o}'s range"))
                    .unwrap_or_default()
            );
            units.push(self.put_issued(&item, value, None, &by, None, message)?);
        }
        Ok(Ok(IssueAnswer::Issued(units)))
    }

    fn allocate_range(
        &mut self,
        sku: &str,
        owner: String,
        kind: issue::OwnerKind,
        first: Option<u64>,
        count: u64,
        operator: String,
    ) -> Decided {
        let (_, strategy) = match self.issuing_item(sku)? {
            Ok(found) => found,
            Err(e) => return Ok(Err(e)),
        };
        let ranges = self.ranges(sku)?;
        let counter = self.counter(sku, "")?;
        let first = first.unwrap_or_else(|| issue::next_free_block(&ranges, counter));
        let range = Range {
            sku: sku.to_owned(),
            owner,
            kind,
            first,
            last: first.saturating_add(count.saturating_sub(1)),
            next: first,
            created_by: operator,
            created_at_ms: self.now_ms,
        };
        if count == 0 {
            return Ok(Err(IssueError::RangeShape { first, last: first }));
        }
        if let Err(e) = issue::check_new_range(&range, &strategy, &ranges, counter) {
            return Ok(Err(e));
        }
        self.put_range(range.clone());
        Ok(Ok(IssueAnswer::Range(range)))
    }

    /// Why `row` cannot be imported, if it cannot.
    fn import_refusal(
        &mut self,
        row: &ImportUnit,
        vendor: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let Some(item) = self.item(&row.sku)? else {
            return Ok(Some(format!("SKU {} is not in the catalog", row.sku)));
        };
        if let Err(why) = item.serial_rule.check(&row.serial) {
            return Ok(Some(format!(
                "serial {} does not fit SKU {}: {why}",
                row.serial, row.sku
            )));
        }
        if item.lot_tracked && row.lot.is_none() {
            return Ok(Some(format!(
                "SKU {} is lot tracked: the lot is required",
                row.sku
            )));
        }
        if let Some(unit) = self.unit(&row.serial)? {
            return Ok(Some(format!(
                "serial {} is already in the store ({}, SKU {})",
                row.serial,
                unit.state.name(),
                unit.sku
            )));
        }
        let Some(strategy) = item.issuing.as_ref().map(|i| &i.strategy) else {
            return Ok(None);
        };
        let Some(n) = strategy.number(&row.serial) else {
            return Ok(match vendor {
                Some(v) if strategy.numbered() => Some(format!(
                    "serial {} is not a {} value of SKU {}, so it cannot be inside {v}'s ranges",
                    row.serial,
                    strategy.name(),
                    row.sku
                )),
                _ => None,
            });
        };
        let ranges = self.ranges(&row.sku)?;
        let holder = ranges.iter().find(|r| r.contains(n));
        Ok(match (vendor, holder) {
            (Some(v), Some(r)) if r.owner == v => None,
            (Some(v), _) => {
                let own: Vec<String> = ranges
                    .iter()
                    .filter(|r| r.owner == v)
                    .map(|r| format!("{}-{}", r.first, r.last))
                    .collect();
                Some(format!(
                    "serial {} (value {n}) is outside {v}'s ranges of SKU {} ({})",
                    row.serial,
                    row.sku,
                    if own.is_empty() {
                        "none".to_owned()
                    } else {
                        own.join(", ")
                    }
                ))
            }
            (None, Some(r)) => Some(format!(
                "serial {} (value {n}) is inside {r}; import it as that {}",
                row.serial,
                r.kind.name()
            )),
            (None, None) => None,
        })
    }

    fn import(
        &mut self,
        rows: Vec<ImportUnit>,
        vendor: Option<&str>,
        check_only: bool,
        partial: bool,
        operator: &str,
    ) -> Decided {
        let mut rejected = Vec::new();
        let mut good = Vec::with_capacity(rows.len());
        let mut seen = HashSet::new();
        for row in rows {
            let refusal = if seen.insert(row.serial.clone()) {
                self.import_refusal(&row, vendor)?
            } else {
                Some(format!("serial {} is twice in this import", row.serial))
            };
            match refusal {
                Some(why) => rejected.push((row.line, why)),
                None => good.push(row),
            }
        }
        let accepted = good.len() as u64;
        let write = !check_only && (partial || rejected.is_empty());
        if write {
            let by = IssuedBy {
                station: vendor.map_or_else(|| "import".to_owned(), |v| format!("import:{v}")),
                operator: operator.to_owned(),
                reference: vendor.map(str::to_owned),
            };
            for row in good {
                let Some(item) = self.item(&row.sku)? else {
                    continue;
                };
                let message = format!(
                    "imported {} ({}) from line {}",
                    row.serial, row.sku, row.line
                );
                self.put_issued(&item, row.serial.clone(), row.lot, &by, None, message)?;
                if !row.facts.is_empty() {
                    self.put_facts(&row.serial, &row.facts);
                }
            }
        }
        Ok(Ok(IssueAnswer::Imported {
            accepted,
            written: write,
            rejected,
        }))
    }
}
