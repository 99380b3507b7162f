//! WatchEvents: the log from a sequence number, then live, filtered, in bounded memory.

use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::{convert, store_status};
use crate::barcode::SERIAL_LEN_MAX;
use crate::domain::item::SKU_LEN_MAX;
use crate::domain::{LOT_LEN_MAX, Outcome};
use crate::proto::v1 as pb;
use crate::store::{PAGE_LEN_MAX, Store};
use crate::webhook::EventFilter;

/// Matching events a watcher may fall behind by before it is dropped.
pub const WATCH_BUFFER: usize = 1024;

pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

/// The filters of a watch (or of a webhook subscription).
pub(super) fn filter_from_pb(request: &pb::WatchEventsRequest) -> Result<EventFilter, Status> {
    convert::bounded_text("serial", &request.serial, SERIAL_LEN_MAX)?;
    convert::bounded_text("sku", &request.sku, SKU_LEN_MAX)?;
    convert::bounded_text("lot", &request.lot, LOT_LEN_MAX)?;
    let action = match request.action {
        0 => None,
        value => Some(convert::action_from_pb(value)?),
    };
    let outcome = match pb::Outcome::try_from(request.outcome) {
        Ok(pb::Outcome::Unspecified) => None,
        Ok(pb::Outcome::Accepted) => Some(Outcome::Accepted),
        Ok(pb::Outcome::Rejected) => Some(Outcome::Rejected),
        Ok(pb::Outcome::Warning) => Some(Outcome::Warning),
        Err(_) => {
            return Err(Status::invalid_argument(format!(
                "outcome {} is not a known outcome",
                request.outcome
            )));
        }
    };
    let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    Ok(EventFilter {
        serial: some(&request.serial),
        sku: some(&request.sku),
        lot: some(&request.lot),
        action,
        outcome,
    })
}

/// Starts a watch. `serving` turns false when the server begins to shut down: the watch then
/// ends with UNAVAILABLE naming the seq to resume from, so it never holds a shutdown open.
pub fn watch<S: Store>(
    store: S,
    mut serving: tokio::sync::watch::Receiver<bool>,
    request: &pb::WatchEventsRequest,
) -> Result<EventStream, Status> {
    let filter = filter_from_pb(request)?;
    // One slot more than the buffer: the last one carries the status that drops a watcher
    // who fell behind.
    let (tx, rx) = mpsc::channel(WATCH_BUFFER + 1);
    let mut next = request.from_seq.max(1);
    tokio::spawn(async move {
        // Counted as a subscriber for as long as this task feeds the stream.
        let _subscriber = store.metrics().watcher();
        let mut committed = store.committed();
        loop {
            if !*serving.borrow_and_update() {
                let _ = tx.try_send(Err(Status::unavailable(format!(
                    "the server is shutting down; resume with from_seq {next}"
                ))));
                return;
            }
            // Only what is on disk: an event is never shown that a failed flush could undo.
            let on_disk = *committed.borrow_and_update();
            let mut read = 0;
            if next <= on_disk {
                let page = match store.events(next, PAGE_LEN_MAX).await {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(store_status(e))).await;
                        return;
                    }
                };
                for event in page.into_iter().take_while(|e| e.seq <= on_disk) {
                    read += 1;
                    next = event.seq + 1;
                    if !filter.matches(&event) {
                        continue;
                    }
                    if tx.capacity() <= 1 {
                        let _ = tx.try_send(Err(Status::resource_exhausted(format!(
                            "this watcher fell {WATCH_BUFFER} events behind and was dropped; resume with from_seq {}",
                            event.seq
                        ))));
                        return;
                    }
                    if tx.try_send(Ok(convert::event_to_pb(event))).is_err() {
                        return;
                    }
                }
            }
            if read > 0 {
                continue;
            }
            // Caught up: wait for the next flush, or for the watcher to leave.
            tokio::select! {
                changed = committed.changed() => if changed.is_err() { return },
                changed = serving.changed() => if changed.is_err() { return },
                () = tx.closed() => return,
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}
