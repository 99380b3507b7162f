//! The IssueService: serials issued by each item's policy, vendor and plant ranges, the
//! streaming import, and `Verify` with its clone watch.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tonic::{Request, Response, Status, Streaming};

use super::{auth, convert, store_status};
use crate::domain::issue::{
    ImportUnit, IssueAnswer, IssueError, IssueOp, OwnerKind, Range, UnitFacts,
};
use crate::domain::{LOT_LEN_MAX, REF_LEN_MAX, UnitState, time};
use crate::proto::v1 as pb;
use crate::store::Store;

/// The most rows one ImportUnits message carries.
pub const IMPORT_CHUNK_MAX: usize = 1_000;
/// The most rows one ImportUnits stream carries.
pub const IMPORT_ROWS_MAX: u64 = 10_000_000;
/// The most rejected rows an import's answer lists (the count covers all).
pub const IMPORT_REJECTED_LISTED_MAX: usize = 10_000;
/// The longest code `Verify` takes, in bytes.
pub const VERIFY_CODE_LEN_MAX: usize = 512;
/// How long a verification counts towards clone detection.
pub const CLONE_WINDOW_MS: i64 = 24 * 3_600_000;
/// Distinct places within the window from which a serial counts as a possible clone.
pub const CLONE_PLACES: usize = 3;
/// Serials the clone watch remembers at once; beyond that the stalest are forgotten.
const CLONE_WATCH_SERIALS_MAX: usize = 100_000;
/// The places remembered per serial.
const CLONE_WATCH_PLACES_MAX: usize = 16;

pub(super) fn issue_status(error: IssueError) -> Status {
    match &error {
        IssueError::UnknownItem(_) => Status::not_found(error.to_string()),
        e if e.is_argument() => Status::invalid_argument(error.to_string()),
        _ => Status::failed_precondition(error.to_string()),
    }
}

fn kind_from_pb(value: i32) -> Result<OwnerKind, Status> {
    match pb::OwnerKind::try_from(value) {
        Ok(pb::OwnerKind::Vendor | pb::OwnerKind::Unspecified) => Ok(OwnerKind::Vendor),
        Ok(pb::OwnerKind::Plant) => Ok(OwnerKind::Plant),
        Err(_) => Err(Status::invalid_argument(format!(
            "kind {value} is not a known owner kind"
        ))),
    }
}

pub fn range_to_pb(range: Range) -> pb::SerialRange {
    pb::SerialRange {
        sku: range.sku,
        owner: range.owner,
        kind: match range.kind {
            OwnerKind::Vendor => pb::OwnerKind::Vendor,
            OwnerKind::Plant => pb::OwnerKind::Plant,
        }
        .into(),
        first: range.first,
        last: range.last,
        next: range.next,
        created_by: range.created_by,
        created_at_ms: range.created_at_ms,
    }
}

/// A row's shape, checked before it reaches the writer; `Err` is the row's rejection.
fn import_row(row: pb::ImportRow) -> Result<ImportUnit, (u64, String, String)> {
    let line = row.line;
    let serial = row.serial.clone();
    let refuse = |why: String| (line, serial.clone(), why);
    if row.sku.is_empty() {
        return Err(refuse("sku is required".to_owned()));
    }
    if row.serial.is_empty() {
        return Err(refuse("serial is required".to_owned()));
    }
    let limits = [
        ("sku", &row.sku, crate::domain::item::SKU_LEN_MAX),
        ("serial", &row.serial, crate::barcode::SERIAL_LEN_MAX),
        ("lot", &row.lot, LOT_LEN_MAX),
        ("batch", &row.batch, REF_LEN_MAX),
        ("size", &row.size, REF_LEN_MAX),
        ("colour", &row.colour, REF_LEN_MAX),
        ("po", &row.po, REF_LEN_MAX),
        ("mfg_unit", &row.mfg_unit, REF_LEN_MAX),
    ];
    for (field, value, max) in limits {
        if value.chars().count() > max {
            return Err(refuse(format!(
                "{field} has {} characters; at most {max} are allowed",
                value.chars().count()
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(refuse(format!("{field} holds a control character")));
        }
    }
    if row.made_at_ms < 0 {
        return Err(refuse(format!(
            "made_at_ms {} is before 1970",
            row.made_at_ms
        )));
    }
    Ok(ImportUnit {
        line,
        sku: row.sku,
        serial: row.serial,
        lot: convert::non_empty(row.lot),
        facts: UnitFacts {
            batch: convert::non_empty(row.batch),
            size: convert::non_empty(row.size),
            colour: convert::non_empty(row.colour),
            po: convert::non_empty(row.po),
            mfg_unit: convert::non_empty(row.mfg_unit),
            made_at_ms: row.made_at_ms,
            prints: 0,
            last_job: None,
        },
    })
}

/// Who verified which serial from where, lately: the evidence of a cloned label.
#[derive(Default)]
pub struct CloneWatch {
    seen: Mutex<HashMap<String, VecDeque<(String, i64)>>>,
}

impl CloneWatch {
    /// Records a verification of `serial` from `place` at `now_ms`; answers the distinct
    /// places within the window, this one included.
    pub fn record(&self, serial: &str, place: &str, now_ms: i64) -> usize {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= CLONE_WATCH_SERIALS_MAX && !seen.contains_key(serial) {
            seen.retain(|_, visits| {
                visits
                    .back()
                    .is_some_and(|(_, at)| now_ms - at < CLONE_WINDOW_MS)
            });
            if seen.len() >= CLONE_WATCH_SERIALS_MAX {
                let stalest = seen
                    .iter()
                    .min_by_key(|(_, visits)| visits.back().map_or(i64::MIN, |(_, at)| *at))
                    .map(|(s, _)| s.clone());
                if let Some(s) = stalest {
                    seen.remove(&s);
                }
            }
        }
        let visits = seen.entry(serial.to_owned()).or_default();
        while visits
            .front()
            .is_some_and(|(_, at)| now_ms - at >= CLONE_WINDOW_MS)
        {
            visits.pop_front();
        }
        if !place.is_empty() {
            visits.retain(|(p, _)| p != place);
            visits.push_back((place.to_owned(), now_ms));
            if visits.len() > CLONE_WATCH_PLACES_MAX {
                visits.pop_front();
            }
        }
        visits.len()
    }
}

/// The serial a scanned code names: a GS1 reading (Digital Link, element string, plain
/// serial), else the last path segment of a verification URL.
fn serial_of(code: &str, now_ms: i64) -> Option<String> {
    let today = time::date_utc(now_ms);
    if let Ok(ids) = crate::barcode::interpret_scan(code.as_bytes(), today)
        && let Some(serial) = ids.serial
        && !serial.contains('/')
    {
        return Some(serial);
    }
    let rest = code
        .strip_prefix("https://")
        .or_else(|| code.strip_prefix("http://"))?;
    let path = rest.split(['?', '#']).next()?;
    let id = path.rsplit('/').next()?;
    (!id.is_empty() && !path.ends_with('/') && path.contains('/')).then(|| id.to_owned())
}

pub struct Issuing<S> {
    pub store: S,
    pub clones: std::sync::Arc<CloneWatch>,
}

impl<S: Store> Issuing<S> {
    async fn op(&self, op: IssueOp) -> Result<IssueAnswer, Status> {
        self.store
            .issue(op)
            .await
            .map_err(store_status)?
            .map_err(issue_status)
    }
}

#[tonic::async_trait]
impl<S: Store> pb::issue_service_server::IssueService for Issuing<S> {
    async fn issue_serials(
        &self,
        request: Request<pb::IssueSerialsRequest>,
    ) -> Result<Response<pb::IssueSerialsResponse>, Status> {
        let operator = auth::caller(&request).map(|c| c.name).unwrap_or_default();
        let request = request.into_inner();
        convert::lookup_sku(&request.sku)?;
        convert::bounded_text("owner", &request.owner, crate::domain::issue::OWNER_LEN_MAX)?;
        convert::bounded_text("plant", &request.plant, crate::domain::issue::PLANT_LEN_MAX)?;
        let item = self.store.item(&request.sku).await.map_err(store_status)?;
        let answer = self
            .op(IssueOp::Issue {
                sku: request.sku.clone(),
                count: request.count,
                plant: convert::non_empty(request.plant),
                owner: convert::non_empty(request.owner),
                operator,
            })
            .await?;
        let IssueAnswer::Issued(units) = answer else {
            return Err(Status::internal("the writer answered another op"));
        };
        Ok(Response::new(pb::IssueSerialsResponse {
            sku: request.sku,
            serials: units
                .into_iter()
                .map(|unit| pb::IssuedSerial {
                    // The item's policy was checked when it was stored and every issued value
                    // is GS1 set 82 of at most 20 characters: a payload that still fails is
                    // left empty and logged rather than losing the issued serials' answer.
                    qr_payload: item
                        .as_ref()
                        .map(|item| crate::label::unit::payload(item, &unit.serial, None))
                        .transpose()
                        .unwrap_or_else(|e| {
                            tracing::warn!(serial = %unit.serial, "no QR payload: {e}");
                            None
                        })
                        .map(|p| p.text)
                        .unwrap_or_default(),
                    seq: unit.first_seen_seq,
                    serial: unit.serial,
                })
                .collect(),
        }))
    }

    async fn allocate_range(
        &self,
        request: Request<pb::AllocateRangeRequest>,
    ) -> Result<Response<pb::RangeResponse>, Status> {
        let operator = auth::caller(&request).map(|c| c.name).unwrap_or_default();
        let request = request.into_inner();
        convert::lookup_sku(&request.sku)?;
        crate::domain::issue::check_owner(&request.owner).map_err(issue_status)?;
        let answer = self
            .op(IssueOp::AllocateRange {
                sku: request.sku,
                owner: request.owner,
                kind: kind_from_pb(request.kind)?,
                first: (request.first != 0).then_some(request.first),
                count: request.count,
                operator,
            })
            .await?;
        let IssueAnswer::Range(range) = answer else {
            return Err(Status::internal("the writer answered another op"));
        };
        Ok(Response::new(pb::RangeResponse {
            range: Some(range_to_pb(range)),
        }))
    }

    async fn list_ranges(
        &self,
        request: Request<pb::ListRangesRequest>,
    ) -> Result<Response<pb::ListRangesResponse>, Status> {
        let request = request.into_inner();
        convert::lookup_sku(&request.sku)?;
        let ranges = self
            .store
            .ranges(&request.sku)
            .await
            .map_err(store_status)?;
        Ok(Response::new(pb::ListRangesResponse {
            ranges: ranges.into_iter().map(range_to_pb).collect(),
        }))
    }

    async fn import_units(
        &self,
        request: Request<Streaming<pb::ImportUnitsRequest>>,
    ) -> Result<Response<pb::ImportUnitsResponse>, Status> {
        let operator = auth::caller(&request).map(|c| c.name).unwrap_or_default();
        let mut stream = request.into_inner();
        let mut settings: Option<(String, bool, bool)> = None;
        let mut answer = pb::ImportUnitsResponse::default();
        // Every serial of the stream with its line: a serial twice in one file is refused
        // even when the chunks are only checked.
        let mut lines: HashMap<String, u64> = HashMap::new();
        let mut stopped = false;
        while let Some(message) = stream.message().await? {
            let (vendor, check_only, partial) = match &settings {
                None => {
                    convert::bounded_text(
                        "vendor",
                        &message.vendor,
                        crate::domain::issue::OWNER_LEN_MAX,
                    )?;
                    let s = (message.vendor.clone(), message.check_only, message.partial);
                    settings = Some(s.clone());
                    s
                }
                Some(s) => {
                    let repeated = (message.vendor.clone(), message.check_only, message.partial);
                    let empty =
                        message.vendor.is_empty() && !message.check_only && !message.partial;
                    if repeated != *s && !empty {
                        return Err(Status::invalid_argument(
                            "vendor, check_only and partial are the first message's; a later message must repeat them or leave them empty",
                        ));
                    }
                    s.clone()
                }
            };
            if message.rows.len() > IMPORT_CHUNK_MAX {
                return Err(Status::invalid_argument(format!(
                    "a message carries {} rows; at most {IMPORT_CHUNK_MAX} are allowed",
                    message.rows.len()
                )));
            }
            answer.rows += message.rows.len() as u64;
            if answer.rows > IMPORT_ROWS_MAX {
                return Err(Status::invalid_argument(format!(
                    "an import carries at most {IMPORT_ROWS_MAX} rows; split the file"
                )));
            }
            let mut rows = Vec::with_capacity(message.rows.len());
            let mut refused = Vec::new();
            for row in message.rows {
                match import_row(row) {
                    Err(r) => refused.push(r),
                    Ok(unit) => match lines.get(&unit.serial) {
                        Some(first) => refused.push((
                            unit.line,
                            unit.serial.clone(),
                            format!(
                                "serial {} is twice in this import (line {first} first)",
                                unit.serial
                            ),
                        )),
                        None => {
                            lines.insert(unit.serial.clone(), unit.line);
                            rows.push(unit);
                        }
                    },
                }
            }
            let serial_of_line: HashMap<u64, String> =
                rows.iter().map(|r| (r.line, r.serial.clone())).collect();
            if !refused.is_empty() && !partial {
                stopped = true;
            }
            let decided = self
                .op(IssueOp::Import {
                    rows,
                    vendor: convert::non_empty(vendor.clone()),
                    check_only: check_only || stopped,
                    partial,
                    operator: operator.clone(),
                })
                .await?;
            let IssueAnswer::Imported {
                accepted,
                written,
                rejected,
            } = decided
            else {
                return Err(Status::internal("the writer answered another op"));
            };
            answer.accepted += accepted;
            if written {
                answer.imported += accepted;
            }
            if !rejected.is_empty() && !partial {
                stopped = true;
            }
            let rejected = rejected.into_iter().map(|(line, reason)| {
                let serial = serial_of_line.get(&line).cloned().unwrap_or_default();
                (line, serial, reason)
            });
            for (line, serial, reason) in refused.into_iter().chain(rejected) {
                answer.rejected_count += 1;
                if answer.rejected.len() < IMPORT_REJECTED_LISTED_MAX {
                    answer.rejected.push(pb::ImportRejection {
                        line,
                        serial,
                        reason,
                    });
                }
            }
        }
        answer.rejected.sort_by_key(|r| r.line);
        Ok(Response::new(answer))
    }

    async fn verify(
        &self,
        request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::VerifyResponse>, Status> {
        let request = request.into_inner();
        convert::bounded_text("code", &request.code, VERIFY_CODE_LEN_MAX)?;
        convert::bounded_text("place", &request.place, REF_LEN_MAX)?;
        if request.code.is_empty() {
            return Err(Status::invalid_argument("code is required"));
        }
        let now_ms = time::now_ms();
        let unknown = |message: String| pb::VerifyResponse {
            verdict: pb::Verdict::Unknown.into(),
            message,
            ..Default::default()
        };
        let Some(serial) = serial_of(request.code.trim(), now_ms) else {
            return Ok(Response::new(unknown(
                "the code names no serial: not one of our labels".to_owned(),
            )));
        };
        let Some(unit) = self.store.unit(&serial).await.map_err(store_status)? else {
            return Ok(Response::new(unknown(format!(
                "serial {serial} was never issued or received by us: possibly counterfeit"
            ))));
        };
        let item = self.store.item(&unit.sku).await.map_err(store_status)?;
        let facts = self.store.facts(&serial).await.map_err(store_status)?;
        let places = self.clones.record(&serial, &request.place, now_ms);
        let suspected_clone = places >= CLONE_PLACES;
        let warranty_months = item.as_ref().map_or(0, |i| i.warranty_months);
        let (warranty, until) = if unit.dispatched_at_ms == 0 {
            ("NOT_SOLD", String::new())
        } else {
            let end = time::add_months(time::date_utc(unit.dispatched_at_ms), warranty_months);
            let status = if time::date_utc(now_ms) > end {
                "EXPIRED"
            } else {
                "IN_WARRANTY"
            };
            (status, end.to_string())
        };
        let voided = unit.state == UnitState::Voided;
        let mut message = if voided {
            format!(
                "serial {serial} was ours, but its label was replaced{}: this label should not be in use",
                unit.replaced_by
                    .as_ref()
                    .map(|s| format!(" by {s}"))
                    .unwrap_or_default()
            )
        } else {
            format!("genuine: {serial} is a {} issued by us", unit.sku)
        };
        if suspected_clone {
            message.push_str(&format!(
                "; verified from {places} places within {} hours: possibly a cloned label",
                CLONE_WINDOW_MS / 3_600_000
            ));
        }
        Ok(Response::new(pb::VerifyResponse {
            verdict: if voided {
                pb::Verdict::Voided
            } else {
                pb::Verdict::Genuine
            }
            .into(),
            serial,
            sku: unit.sku.clone(),
            gtin: unit.gtin.clone().unwrap_or_default(),
            description: item.map(|i| i.description).unwrap_or_default(),
            lot: unit.lot.clone().unwrap_or_default(),
            mfg_date: facts.field("mfg_date").unwrap_or_default(),
            state: convert::state_to_pb(Some(unit.state)).into(),
            warranty: warranty.to_owned(),
            warranty_until: until,
            replaced_by: unit.replaced_by.unwrap_or_default(),
            places: u32::try_from(places).unwrap_or(u32::MAX),
            suspected_clone,
            message,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_name_their_serials() {
        let now = 1_795_422_605_000;
        assert_eq!(serial_of("TV000042", now).as_deref(), Some("TV000042"));
        assert_eq!(
            serial_of("https://id.example.com/01/09506000134352/21/TV000042", now).as_deref(),
            Some("TV000042")
        );
        assert_eq!(
            serial_of("https://brand.example/q/7K3MZQ9XAB", now).as_deref(),
            Some("7K3MZQ9XAB")
        );
        assert_eq!(serial_of("https://brand.example/", now), None);
    }

    #[test]
    fn clones_are_places_within_the_window() {
        let watch = CloneWatch::default();
        assert_eq!(watch.record("S1", "Berlin", 0), 1);
        assert_eq!(watch.record("S1", "Berlin", 10), 1);
        assert_eq!(watch.record("S1", "Paris", 20), 2);
        assert_eq!(watch.record("S1", "", 25), 2);
        assert_eq!(watch.record("S1", "Lagos", 30), 3);
        assert_eq!(watch.record("S2", "Paris", 30), 1);
        // A day later only the new place counts.
        assert_eq!(watch.record("S1", "Rome", 30 + CLONE_WINDOW_MS), 1);
    }
}
