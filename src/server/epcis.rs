//! ExportEpcis: the log after a sequence number as one EPCIS 2.0 document, streamed as text.
//! Reads the events on disk when the call starts, looks up what each one does not carry (the
//! unit's GTIN, whether a receive created the unit, a shipment's order and customer, who a
//! returned unit was sold to, the set of a packing scan) and leaves the mapping itself to
//! `crate::epcis`. Bounded: at most `limit` events read, chunks of about
//! [`EPCIS_CHUNK_BYTES`], four chunks in flight.

use std::collections::HashMap;
use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::store_status;
use crate::domain::sets::is_sscc;
use crate::domain::{Action, Event, Outcome, Shipment, Unit, time};
use crate::epcis::{self as mapping, Facts, LeftOut, Object};
use crate::proto::v1 as pb;
use crate::store::{PAGE_LEN_MAX, Store};

/// The most log events one export reads; a larger `limit` is refused with INVALID_ARGUMENT
/// (export in parts with `since_seq`). 0 asks for this many.
pub const EPCIS_EVENTS_MAX: u32 = 100_000;
/// A chunk is sent once its text reaches this many bytes; it exceeds it by at most one event
/// (a few KiB: every field of an event is bounded).
pub const EPCIS_CHUNK_BYTES: usize = 256 * 1024;
/// What tonic's clients accept by default; our CLI keeps that default.
const CLIENT_MESSAGE_BYTES_DEFAULT: usize = 4 * 1024 * 1024;

const _: () = assert!(EPCIS_CHUNK_BYTES * 2 < CLIENT_MESSAGE_BYTES_DEFAULT);

pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<pb::ExportEpcisChunk, Status>> + Send>>;

/// Checks the request and starts the export. `serving` turns false when the server begins to
/// shut down: the export then ends with UNAVAILABLE naming the seq to go on from.
pub fn export<S: Store>(
    store: S,
    serving: tokio::sync::watch::Receiver<bool>,
    request: &pb::ExportEpcisRequest,
) -> Result<ChunkStream, Status> {
    let limit = match request.limit {
        0 => EPCIS_EVENTS_MAX,
        n if n > EPCIS_EVENTS_MAX => {
            return Err(Status::invalid_argument(format!(
                "limit {n} is above the maximum of {EPCIS_EVENTS_MAX} events per export; export in parts with since_seq"
            )));
        }
        n => n,
    };
    // Only what is on disk: an event is never exported that a failed flush could undo.
    let on_disk = *store.committed().borrow();
    let since = request.since_seq;
    if since > on_disk {
        return Err(Status::out_of_range(format!(
            "since_seq {since} is past the end of the log: the last event on disk is {on_disk}"
        )));
    }
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let export = Export {
            store,
            serving,
            tx: tx.clone(),
        };
        if let Err(status) = export.run(since, on_disk, u64::from(limit)).await {
            let _ = tx.send(Err(status)).await;
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

struct Export<S> {
    store: S,
    serving: tokio::sync::watch::Receiver<bool>,
    tx: mpsc::Sender<Result<pb::ExportEpcisChunk, Status>>,
}

/// The receiver went away: nothing more to do.
struct Gone;

impl<S: Store> Export<S> {
    async fn run(&self, since: u64, on_disk: u64, limit: u64) -> Result<(), Status> {
        let mut text = mapping::document_head(time::now_ms());
        let mut end = pb::ExportEpcisChunk {
            through_seq: since,
            last: true,
            ..Default::default()
        };
        while end.through_seq < on_disk && end.events_read < limit {
            if !*self.serving.borrow() {
                return Err(Status::unavailable(format!(
                    "the server is shutting down; export the rest with since_seq {}",
                    end.through_seq
                )));
            }
            let left = (limit - end.events_read).min(on_disk - end.through_seq);
            let want = usize::try_from(left).map_or(PAGE_LEN_MAX, |n| n.min(PAGE_LEN_MAX));
            let page = self
                .store
                .events(end.through_seq + 1, want)
                .await
                .map_err(store_status)?;
            if page.is_empty() {
                break;
            }
            let mut lookups = Lookups::new(&self.store);
            for event in page.into_iter().take_while(|e| e.seq <= on_disk) {
                end.events_read += 1;
                end.through_seq = event.seq;
                let facts = lookups.facts(&event).await?;
                match mapping::event(&event, &facts) {
                    Ok(e) => {
                        if end.events_exported > 0 {
                            text.push_str(mapping::EVENT_SEPARATOR);
                        }
                        let json = serde_json::to_string(&e).map_err(|e| {
                            Status::internal(format!("cannot write an EPCIS event as JSON: {e}"))
                        })?;
                        text.push_str(&json);
                        end.events_exported += 1;
                    }
                    Err(LeftOut::Rejected) => end.rejected_left_out += 1,
                    Err(LeftOut::WithoutSet) => end.without_set_left_out += 1,
                }
                if text.len() >= EPCIS_CHUNK_BYTES
                    && self.send(std::mem::take(&mut text)).await.is_err()
                {
                    return Ok(());
                }
            }
        }
        end.more = end.through_seq < on_disk;
        text.push_str(mapping::DOCUMENT_TAIL);
        end.text = text;
        let _ = self.tx.send(Ok(end)).await;
        Ok(())
    }

    async fn send(&self, text: String) -> Result<(), Gone> {
        let chunk = pb::ExportEpcisChunk {
            text,
            ..Default::default()
        };
        self.tx.send(Ok(chunk)).await.map_err(|_| Gone)
    }
}

/// Store reads for one page of events, each at most once.
struct Lookups<'a, S> {
    store: &'a S,
    units: HashMap<String, Option<Unit>>,
    shipments: HashMap<String, Option<Shipment>>,
}

impl<'a, S: Store> Lookups<'a, S> {
    fn new(store: &'a S) -> Self {
        Lookups {
            store,
            units: HashMap::new(),
            shipments: HashMap::new(),
        }
    }

    async fn unit(&mut self, serial: &str) -> Result<Option<&Unit>, Status> {
        if !self.units.contains_key(serial) {
            let unit = self.store.unit(serial).await.map_err(store_status)?;
            self.units.insert(serial.to_owned(), unit);
        }
        Ok(self.units.get(serial).and_then(Option::as_ref))
    }

    async fn shipment(&mut self, id: &str) -> Result<Option<&Shipment>, Status> {
        if !self.shipments.contains_key(id) {
            let shipment = self.store.shipment(id).await.map_err(store_status)?;
            self.shipments.insert(id.to_owned(), shipment);
        }
        Ok(self.shipments.get(id).and_then(Option::as_ref))
    }

    /// What `id` names: a unit (with its GTIN), else an SSCC set.
    async fn object(&mut self, id: &str) -> Result<Object, Status> {
        Ok(match self.unit(id).await? {
            Some(unit) => Object::Unit {
                serial: unit.serial.clone(),
                gtin: unit.gtin.clone(),
            },
            None if is_sscc(id) => Object::Sscc(id.to_owned()),
            None => Object::Unit {
                serial: id.to_owned(),
                gtin: None,
            },
        })
    }

    async fn facts(&mut self, event: &Event) -> Result<Facts, Status> {
        if event.outcome == Outcome::Rejected {
            // Left out of the document: nothing to look up.
            return Ok(Facts::new(Object::Unit {
                serial: event.serial.clone(),
                gtin: None,
            }));
        }
        let mut facts = Facts::new(self.object(&event.serial).await?);
        let reference = event.reference.as_deref();
        match event.action {
            Action::Receive => {
                facts.created_unit = self
                    .unit(&event.serial)
                    .await?
                    .is_some_and(|u| u.first_seen_seq == event.seq);
            }
            Action::Dispatch => {
                if let Some(id) = reference
                    && let Some(shipment) = self.shipment(id).await?
                {
                    facts.order_id = Some(shipment.order_id.clone());
                    facts.customer = Some(shipment.customer.clone());
                }
            }
            Action::Return => facts.customer = self.sold_to(&event.serial, event.seq).await?,
            Action::Aggregate | Action::Disaggregate => {
                if let Some(set) = reference {
                    facts.parent = Some(self.object(set).await?);
                }
            }
            _ => {}
        }
        Ok(facts)
    }

    /// The customer of the last dispatch of `serial` before event `before` (a return is only
    /// accepted from the customer the unit was sold to).
    async fn sold_to(&mut self, serial: &str, before: u64) -> Result<Option<String>, Status> {
        let mut shipment = None;
        let mut after = 0;
        'pages: loop {
            let page = self
                .store
                .history(serial, after, PAGE_LEN_MAX)
                .await
                .map_err(store_status)?;
            for event in &page {
                if event.seq >= before {
                    break 'pages;
                }
                if event.action == Action::Dispatch && event.outcome != Outcome::Rejected {
                    shipment.clone_from(&event.reference);
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE_LEN_MAX => after = last.seq,
                _ => break,
            }
        }
        let Some(id) = shipment else {
            return Ok(None);
        };
        Ok(self.shipment(&id).await?.map(|s| s.customer.clone()))
    }
}
