//! The writer's side of label printing: template versions, and print jobs that check every
//! unit before recording any label, reprints by each item's policy (REUSE counts, REPLACE
//! voids the old serial and issues a linked new one).

use std::collections::HashSet;

use uuid::Uuid;

use super::issuing::IssuedBy;
use super::{Get, Group, StoreError, keys};
use crate::domain::issue::{IssueAnswer, IssueError, ReprintPolicy, Strategy};
use crate::domain::label::{self, LabelError, PRINT_SERIALS_MAX, PrintJob, PrintLine, Template};
use crate::domain::{self, Action, EntryMode, Event, Outcome, Reason, UnitState};
use crate::store::records::{decode_template, encode_print_job, encode_template};

type Decided = Result<Result<IssueAnswer, IssueError>, StoreError>;

/// Reads the current version of template `name` from `tree`.
pub(super) fn read_template(tree: &impl Get, name: &str) -> Result<Option<Template>, StoreError> {
    let Some(prefix) = keys::template_prefix(name) else {
        return Ok(None);
    };
    match tree.prefix(&prefix)?.pop() {
        Some((_, record)) => decode_template(&record).map(Some),
        None => Ok(None),
    }
}

impl<T: Get> Group<'_, T> {
    fn template(&mut self, name: &str) -> Result<Option<Template>, StoreError> {
        if let Some(t) = self.templates.get(name) {
            return Ok(t.clone());
        }
        let t = read_template(self.tree, name)?;
        self.templates.insert(name.to_owned(), t.clone());
        Ok(t)
    }

    pub(super) fn put_template(&mut self, new: Template, supervisor: bool, by: &str) -> Decided {
        let current = self.template(&new.name)?;
        match label::decide_put(new, current.as_ref(), supervisor, by, self.now_ms) {
            Err(e) => Ok(Err(e.into())),
            // Unchanged: the current version stands.
            Ok(None) => match current {
                Some(current) => Ok(Ok(IssueAnswer::Template(current))),
                None => Err(StoreError::Corrupt(
                    "a template was unchanged from none".to_owned(),
                )),
            },
            Ok(Some(t)) => {
                if let Some(key) = keys::template(&t.name, t.version) {
                    self.batch.insert(key, encode_template(&t));
                }
                self.templates.insert(t.name.clone(), Some(t.clone()));
                Ok(Ok(IssueAnswer::Template(t)))
            }
        }
    }

    fn next_job_id(&mut self) -> Result<String, StoreError> {
        let n = match self.next_job {
            Some(n) => n,
            None => match self.tree.get(keys::PRINT_JOB_NEXT)? {
                Some(v) => keys::seq_from_value(&v)
                    .ok_or_else(|| StoreError::Corrupt("print job counter".to_owned()))?,
                None => 1,
            },
        };
        self.next_job = Some(n + 1);
        self.batch
            .insert(keys::PRINT_JOB_NEXT, &(n + 1).to_be_bytes());
        Ok(format!("PJ{n:06}"))
    }

    pub(super) fn print(
        &mut self,
        template: &str,
        serials: Vec<String>,
        reprint: bool,
        reason: Option<String>,
        operator: &str,
    ) -> Decided {
        if serials.is_empty() || serials.len() > PRINT_SERIALS_MAX {
            return Ok(Err(LabelError::Serials(serials.len()).into()));
        }
        let mut seen = HashSet::new();
        if let Some(twice) = serials.iter().find(|s| !seen.insert(s.as_str())) {
            return Ok(Err(LabelError::SerialTwice(twice.clone()).into()));
        }
        if reprint && reason.as_deref().is_none_or(str::is_empty) {
            return Ok(Err(LabelError::Reason.into()));
        }
        let Some(template) = self.template(template)? else {
            return Ok(Err(LabelError::UnknownTemplate(template.to_owned()).into()));
        };
        // Every unit is checked before any label is recorded: a job prints all or nothing.
        let mut units = Vec::with_capacity(serials.len());
        for serial in &serials {
            let Some(unit) = self.unit(serial)? else {
                return Ok(Err(LabelError::UnknownSerial(serial.clone()).into()));
            };
            if unit.state == UnitState::Voided {
                return Ok(Err(LabelError::Voided {
                    serial: serial.clone(),
                    replaced_by: unit.replaced_by,
                }
                .into()));
            }
            let facts = self.facts(serial)?;
            if let Some(field) = template.missing(&unit, &facts) {
                return Ok(Err(LabelError::MissingField {
                    serial: serial.clone(),
                    field,
                    template: template.name.clone(),
                }
                .into()));
            }
            match (reprint, facts.prints, &facts.last_job) {
                (false, 1.., job) => {
                    return Ok(Err(LabelError::AlreadyPrinted {
                        serial: serial.clone(),
                        job: job.clone().unwrap_or_default(),
                    }
                    .into()));
                }
                (true, 0, _) => {
                    return Ok(Err(LabelError::NeverPrinted(serial.clone()).into()));
                }
                _ => {}
            }
            units.push((unit, facts));
        }
        // REPLACE draws new serials: decide them all before writing, so that a strategy that
        // runs out refuses the whole job.
        let mut replacements = Vec::new();
        for (unit, _) in &units {
            let item = self.item(&unit.sku)?;
            let replace = reprint
                && item
                    .as_ref()
                    .and_then(|i| i.issuing.as_ref())
                    .is_some_and(|i| i.reprint == ReprintPolicy::Replace);
            if !replace {
                replacements.push(None);
                continue;
            }
            let (Some(item), Some(policy)) = (item.clone(), item.and_then(|i| i.issuing)) else {
                replacements.push(None);
                continue;
            };
            // A PLANT serial is replaced from the same plant's sequence.
            let plant = matches!(policy.strategy, Strategy::Plant { .. })
                .then(|| unit.first_seen_station.clone());
            let scope = match policy
                .strategy
                .scope(domain::time::date_utc(self.now_ms), plant.as_deref())
            {
                Ok(scope) => scope,
                Err(e) => return Ok(Err(e)),
            };
            match self.next_free(&item.sku, &policy.strategy, &scope, None)? {
                Ok(new) => replacements.push(Some((item, new))),
                Err(e) => return Ok(Err(e)),
            }
        }
        let id = self.next_job_id()?;
        let by = IssuedBy {
            station: format!("print:{id}"),
            operator: operator.to_owned(),
            reference: Some(id.clone()),
        };
        let mut lines = Vec::with_capacity(units.len());
        for ((old, facts), replacement) in units.into_iter().zip(replacements) {
            match replacement {
                None => {
                    let facts = crate::domain::issue::UnitFacts {
                        prints: facts.prints + 1,
                        last_job: Some(id.clone()),
                        ..facts
                    };
                    self.put_facts(&old.serial, &facts);
                    lines.push(PrintLine {
                        serial: old.serial,
                        sku: old.sku,
                        replaced: None,
                        prints: facts.prints,
                    });
                }
                Some((item, new)) => {
                    let message = format!(
                        "issued {new} ({}) to replace the damaged label of {} (job {id})",
                        item.sku, old.serial
                    );
                    self.put_issued(
                        &item,
                        new.clone(),
                        old.lot.clone(),
                        &by,
                        Some(old.serial.clone()),
                        message,
                    )?;
                    let new_facts = crate::domain::issue::UnitFacts {
                        prints: 1,
                        last_job: Some(id.clone()),
                        ..facts
                    };
                    self.put_facts(&new, &new_facts);
                    self.void(old.clone(), &new, &by, reason.clone())?;
                    lines.push(PrintLine {
                        serial: new,
                        sku: old.sku,
                        replaced: Some(old.serial),
                        prints: 1,
                    });
                }
            }
        }
        let job = PrintJob {
            id: id.clone(),
            template: template.name,
            template_version: template.version,
            operator: operator.to_owned(),
            created_at_ms: self.now_ms,
            reprint,
            reason,
            lines,
        };
        self.batch
            .insert(keys::print_job(&id), encode_print_job(&job));
        Ok(Ok(IssueAnswer::Printed(job)))
    }

    /// Voids `old`, whose label `new` replaces, and logs its VOID event.
    fn void(
        &mut self,
        old: domain::Unit,
        new: &str,
        by: &IssuedBy,
        reason: Option<String>,
    ) -> Result<(), StoreError> {
        let seq = self.next_seq;
        let unit = domain::Unit {
            state: UnitState::Voided,
            replaced_by: Some(new.to_owned()),
            last_seq: seq,
            ..old
        };
        self.put_unit(unit.clone())?;
        let event = Event {
            seq,
            event_id: Uuid::new_v4(),
            recorded_at_ms: self.now_ms,
            client_time_ms: self.now_ms,
            station: by.station.clone(),
            operator: by.operator.clone(),
            action: Action::Void,
            raw: Vec::new(),
            entry_mode: EntryMode::Keyed,
            serial: unit.serial.clone(),
            sku: unit.sku.clone(),
            gtin: unit.gtin.clone(),
            lot: unit.lot.clone(),
            expiry: unit.expiry,
            outcome: Outcome::Accepted,
            reason: Reason::Ok,
            message: format!(
                "voided {}: its label was replaced by {new}{}",
                unit.serial,
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
            state_after: Some(UnitState::Voided),
            location: None,
            reference: by.reference.clone(),
            prev_hash: Some(self.last_hash),
        };
        self.append_event(&event, &[new.to_owned()]);
        Ok(())
    }
}
