//! AuditService: the chain's head, and a walk of the whole log that finds the first break.

use tonic::{Request, Response, Status};

use super::store_status;
use crate::audit::{Break, Chain};
use crate::proto::v1 as pb;
use crate::store::{PAGE_LEN_MAX, Store, event_hash};

pub struct Audit<S> {
    pub store: S,
}

fn head_to_pb((seq, hash): (u64, [u8; 32])) -> pb::AuditHead {
    pb::AuditHead {
        seq,
        hash: if seq == 0 { Vec::new() } else { hash.to_vec() },
    }
}

#[tonic::async_trait]
impl<S: Store> pb::audit_service_server::AuditService for Audit<S> {
    async fn head(
        &self,
        _request: Request<pb::AuditHeadRequest>,
    ) -> Result<Response<pb::AuditHead>, Status> {
        let seq = *self.store.committed().borrow();
        if seq == 0 {
            return Ok(Response::new(head_to_pb((0, crate::audit::GENESIS))));
        }
        let events = self.store.events(seq, 1).await.map_err(store_status)?;
        let event = events
            .first()
            .filter(|e| e.seq == seq)
            .ok_or_else(|| Status::data_loss(format!("event {seq}, the newest, is missing")))?;
        Ok(Response::new(head_to_pb((seq, event_hash(event)))))
    }

    async fn verify(
        &self,
        request: Request<pb::VerifyAuditRequest>,
    ) -> Result<Response<pb::VerifyAuditResponse>, Status> {
        let expect = match request.into_inner().expect_head {
            None => None,
            Some(head) => Some((
                head.seq,
                <[u8; 32]>::try_from(head.hash.as_slice()).map_err(|_| {
                    Status::invalid_argument(format!(
                        "expect_head.hash has {} bytes; a SHA-256 has 32",
                        head.hash.len()
                    ))
                })?,
            )),
        };
        // The log as it is on disk now; later events are for a later walk.
        let last = *self.store.committed().borrow();
        let mut chain = Chain::default();
        let mut checked = 0u64;
        let mut found: Option<(u64, String)> = None;
        let mut from = 1;
        'walk: while from <= last {
            let events = self
                .store
                .events(from, PAGE_LEN_MAX)
                .await
                .map_err(store_status)?;
            if events.is_empty() {
                break;
            }
            for event in &events {
                if event.seq > last {
                    break 'walk;
                }
                checked += 1;
                if let Err(broken) = chain.push(event) {
                    found = Some((broken.seq(), broken.to_string()));
                    break 'walk;
                }
                if let Some((seq, hash)) = expect
                    && event.seq == seq
                    && event_hash(event) != hash
                {
                    found = Some((
                        seq,
                        format!(
                            "event {seq} does not hash to the kept head: it was changed after the \
                             head was taken"
                        ),
                    ));
                    break 'walk;
                }
                from = event.seq + 1;
            }
        }
        let (head_seq, _) = chain.head();
        if found.is_none() && head_seq < last {
            let missing = Break::Missing {
                seq: head_seq + 1,
                next: last + 1,
            };
            found = Some((missing.seq(), missing.to_string()));
        }
        if let Some((seq, _)) = expect
            && found.is_none()
            && head_seq < seq
        {
            found = Some((
                head_seq + 1,
                format!(
                    "the log ends at event {head_seq}, before the kept head {seq}: events were \
                     deleted"
                ),
            ));
        }
        let (break_seq, break_reason) = found.unwrap_or_default();
        Ok(Response::new(pb::VerifyAuditResponse {
            intact: break_seq == 0,
            events_checked: checked,
            unchained: chain.unchained,
            first_chained_seq: chain.first_chained.unwrap_or(0),
            head: Some(head_to_pb(chain.head())),
            break_seq,
            break_reason,
        }))
    }
}
