//! The Trace RPC: a unit or set, the sets above it, the tree below its top-most set, and its
//! events.

use tonic::Status;

use super::{convert, store_status};
use crate::domain::sets::{SET_DEPTH_MAX, SET_UNITS_MAX};
use crate::domain::{SetKind, Unit, UnitSet};
use crate::proto::v1 as pb;
use crate::store::Store;

/// The most nodes one trace lists: a full tree of units plus the sets that hold them.
const TRACE_NODES_MAX: usize = 2 * SET_UNITS_MAX as usize;
/// The events a trace carries; `History` pages further.
const TRACE_EVENTS_MAX: usize = 1000;

async fn node<S: Store>(store: &S, id: &str) -> Result<(Option<Unit>, Option<UnitSet>), Status> {
    let unit = store.unit(id).await.map_err(store_status)?;
    let set = store.set(id).await.map_err(store_status)?;
    Ok((unit, set))
}

fn parent_of(unit: &Option<Unit>, set: &Option<UnitSet>) -> Option<String> {
    match unit {
        Some(unit) => unit.parent.clone(),
        None => set.as_ref().and_then(|s| s.parent.clone()),
    }
}

pub async fn trace<S: Store>(store: &S, asked: &str) -> Result<pb::TraceResponse, Status> {
    let (mut unit, mut set) = node(store, asked).await?;
    let mut id = asked.to_owned();
    if unit.is_none()
        && set.is_none()
        && let Some(found) = store.unit_by_mfr(asked).await.map_err(store_status)?
    {
        id = found.serial.clone();
        set = store.set(&id).await.map_err(store_status)?;
        unit = Some(found);
    }
    if unit.is_none() && set.is_none() {
        return Err(Status::not_found(format!("no unit or set {asked}")));
    }
    let mut ancestors = Vec::new();
    let mut above = parent_of(&unit, &set);
    while let Some(parent) = above {
        if ancestors.len() > SET_DEPTH_MAX || ancestors.contains(&parent) {
            return Err(Status::data_loss(format!(
                "the sets above {id} loop or nest deeper than {SET_DEPTH_MAX} levels"
            )));
        }
        let (u, s) = node(store, &parent).await?;
        above = parent_of(&u, &s);
        ancestors.push(parent);
    }
    let root = ancestors.last().cloned().unwrap_or_else(|| id.clone());
    let mut nodes = Vec::new();
    let mut stack = vec![(root, 0u32)];
    while let Some((at, depth)) = stack.pop() {
        if nodes.len() >= TRACE_NODES_MAX {
            return Err(Status::data_loss(format!(
                "the tree holding {id} has more than {TRACE_NODES_MAX} nodes"
            )));
        }
        let (u, s) = node(store, &at).await?;
        let kind = match (&u, &s) {
            (Some(_), Some(_)) => SetKind::Kit.name(),
            (None, Some(_)) => SetKind::Sscc.name(),
            _ => "UNIT",
        };
        if let Some(s) = &s
            && depth as usize <= SET_DEPTH_MAX
        {
            stack.extend(s.children.iter().rev().map(|c| (c.clone(), depth + 1)));
        }
        nodes.push(pb::TraceNode {
            id: at,
            depth,
            kind: kind.to_owned(),
            unit: u.map(convert::unit_to_pb),
            units: s.as_ref().map_or(0, |s| s.units),
            children: s
                .as_ref()
                .map_or(0, |s| u32::try_from(s.children.len()).unwrap_or(u32::MAX)),
        });
    }
    let events = store
        .history(&id, 0, TRACE_EVENTS_MAX)
        .await
        .map_err(store_status)?;
    Ok(pb::TraceResponse {
        id,
        ancestors,
        nodes,
        events: events.into_iter().map(convert::event_to_pb).collect(),
    })
}
