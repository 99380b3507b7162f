//! Parent/child sets: units packed into a kit (a unit that holds others), a case or a pallet
//! (a logistics unit named by its SSCC). A scan of a set's parent carries every unit in it; a
//! packed unit does not move on its own until it is taken out.

use std::collections::HashMap;

use super::lifecycle::{Decided, about, decide_unit, refused_transition, reject};
use super::receipt::{Mark, Receipt};
use super::warehouse::sort_picks;
use super::{
    Action, Change, Dispatch, Hold, Item, Order, Outcome, Pick, PickChange, Reason, Recall,
    Rejection, Scan, Shipment, Unit, View, next_state,
};
use crate::barcode::check::gs1_mod10_valid;

/// The most children (units or nested sets) one set holds directly.
pub const SET_CHILDREN_MAX: usize = 10_000;
/// The most units one scan of a set may carry: every unit in the set's tree, the kit's own
/// unit not counted.
pub const SET_UNITS_MAX: u32 = 10_000;
/// The most levels of sets one tree may have (pallet, case, kit, and one more).
pub const SET_DEPTH_MAX: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SetKind {
    /// A logistics unit (case, pallet) named by its SSCC, which is not a unit itself.
    Sscc,
    /// A unit that holds others (a kit); the parent's own unit record says where it is.
    Kit,
}

impl SetKind {
    pub fn name(self) -> &'static str {
        match self {
            SetKind::Sscc => "SSCC",
            SetKind::Kit => "KIT",
        }
    }
}

/// A parent and what is packed in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitSet {
    /// The parent: an SSCC, or the kit unit's serial.
    pub id: String,
    pub kind: SetKind,
    /// Serials of packed units and ids of nested sets, in packing order.
    pub children: Vec<String>,
    /// Units anywhere below, nested sets included (a kit counts its own unit as a child of
    /// the set that holds it, not here).
    pub units: u32,
    /// The set an SSCC set is packed in; a kit's is on its unit record.
    pub parent: Option<String>,
    pub packed_at_ms: i64,
}

/// An SSCC: 18 digits whose last is the GS1 mod-10 check digit.
pub fn is_sscc(id: &str) -> bool {
    id.len() == 18 && id.bytes().all(|b| b.is_ascii_digit()) && gs1_mod10_valid(id.as_bytes())
}

/// Whether a unit packed in a set may take `action` on its own. Blocks and releases leave it
/// where it is; a return or a scrap takes it out of its set; anything that moves it must be
/// done to the whole set, or after taking it out.
fn moves_alone(action: Action) -> bool {
    !matches!(
        action,
        Action::Block | Action::Release | Action::Return | Action::Scrap
    )
}

/// The set `id` is packed in, whether it is a unit or an SSCC set.
fn parent_of<V: View>(view: &mut V, id: &str) -> Result<Option<String>, V::Error> {
    if let Some(unit) = view.unit(id)? {
        return Ok(unit.parent);
    }
    Ok(view.set(id)?.and_then(|s| s.parent))
}

/// The sets above `id`, nearest first, at most `SET_DEPTH_MAX + 1` of them (a longer chain
/// cannot be built, so the bound only guards against a damaged store looping).
fn ancestors<V: View>(view: &mut V, id: &str) -> Result<Vec<String>, V::Error> {
    let mut chain = Vec::new();
    let mut at = id.to_owned();
    while chain.len() <= SET_DEPTH_MAX {
        match parent_of(view, &at)? {
            Some(parent) => {
                chain.push(parent.clone());
                at = parent;
            }
            None => break,
        }
    }
    Ok(chain)
}

/// Levels of sets from `set` down to its deepest nested set (1 for a set of plain units).
fn levels<V: View>(view: &mut V, set: &UnitSet, budget: usize) -> Result<usize, V::Error> {
    let mut deepest = 0;
    if budget == 0 {
        return Ok(SET_DEPTH_MAX + 1);
    }
    for child in &set.children {
        if let Some(nested) = view.set(child)? {
            deepest = deepest.max(levels(view, &nested, budget - 1)?);
        }
    }
    Ok(1 + deepest)
}

/// Every unit below `set`, depth first in packing order, nested sets included.
pub fn units_below<V: View>(view: &mut V, set: &UnitSet) -> Result<Vec<Unit>, V::Error> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, usize)> =
        set.children.iter().rev().map(|c| (c.clone(), 1)).collect();
    while let Some((id, depth)) = stack.pop() {
        if out.len() > SET_UNITS_MAX as usize {
            break;
        }
        if let Some(unit) = view.unit(&id)? {
            out.push(unit);
        }
        if depth <= SET_DEPTH_MAX
            && let Some(nested) = view.set(&id)?
        {
            stack.extend(nested.children.iter().rev().map(|c| (c.clone(), depth + 1)));
        }
    }
    Ok(out)
}

/// Changes `units` of every set in `chain` by `delta`.
fn recount<V: View>(
    view: &mut V,
    chain: &[String],
    delta: i64,
    changed: &mut Vec<UnitSet>,
) -> Result<(), V::Error> {
    for id in chain {
        if let Some(mut set) = view.set(id)? {
            set.units = u32::try_from(i64::from(set.units) + delta).unwrap_or(0);
            changed.push(set);
        }
    }
    Ok(())
}

/// The change of an AGGREGATE or DISAGGREGATE: `set` is the set packed into, taken out of or
/// unpacked.
fn set_change(
    subject: &str,
    set: &str,
    unit: Option<Unit>,
    sets: Vec<UnitSet>,
    message: String,
) -> Change {
    Change {
        subject: subject.to_owned(),
        unit,
        carried: Vec::new(),
        sets,
        set: Some(set.to_owned()),
        order: None,
        picks: Vec::new(),
        shipment: None,
        dispatches: Vec::new(),
        receipt: None,
        outcome: Outcome::Accepted,
        reason: Reason::Ok,
        message,
    }
}

/// AGGREGATE: packs `child` (a unit, or an SSCC set) into the scan's parent.
pub(super) fn aggregate<V: View>(
    scan: &Scan,
    child: &str,
    view: &mut V,
    seq: u64,
    now_ms: i64,
) -> Decided<V::Error> {
    let Some(parent_id) = &scan.parent else {
        return Ok(Err(reject(
            Reason::MissingField,
            "aggregate needs the parent: scan the kit, case or pallet label",
        )));
    };
    if parent_id == child {
        return Ok(Err(reject(
            Reason::ConflictingFields,
            format!("{child} cannot be packed into itself"),
        )));
    }
    let child_unit = view.unit(child)?;
    let child_set = view.set(child)?;
    if child_unit.is_none() && child_set.is_none() {
        return Ok(Err(reject(
            Reason::UnknownUnit,
            format!("{child} is neither a known unit nor a set; receive units before packing them"),
        )));
    }
    if let Some(unit) = &child_unit
        && next_state(Some(unit.state), Action::Aggregate).is_none()
    {
        return Ok(Err(refused_transition(Action::Aggregate, unit)));
    }
    if let Some(current) = parent_of(view, child)? {
        let reason = if &current == parent_id {
            format!("{child} is already packed in {current}")
        } else {
            format!("{child} is already packed in {current}; take it out (DISAGGREGATE) first")
        };
        return Ok(Err(Rejection {
            reason: Reason::AlreadyInSet,
            message: reason,
            state: child_unit.as_ref().map(|u| u.state),
        }));
    }
    let parent_unit = view.unit(parent_id)?;
    if let Some(unit) = &parent_unit
        && next_state(Some(unit.state), Action::Aggregate).is_none()
    {
        return Ok(Err(about(
            unit,
            Reason::WrongState,
            format!(
                "parent {parent_id} is {}; only a unit in our hands can hold others",
                unit.state.name()
            ),
        )));
    }
    let parent_set = view.set(parent_id)?;
    if parent_unit.is_none() && parent_set.is_none() && !is_sscc(parent_id) {
        return Ok(Err(reject(
            Reason::UnknownUnit,
            format!(
                "parent {parent_id} is neither a known unit nor an SSCC (18 digits with a GS1 check digit)"
            ),
        )));
    }
    let above: Vec<String> = std::iter::once(parent_id.clone())
        .chain(ancestors(view, parent_id)?)
        .collect();
    if above.iter().any(|a| a == child) {
        return Ok(Err(reject(
            Reason::ConflictingFields,
            format!("{parent_id} is inside {child}; a set cannot hold itself"),
        )));
    }
    let below = match &child_set {
        Some(set) => levels(view, set, SET_DEPTH_MAX)?,
        None => 0,
    };
    if above.len() + below > SET_DEPTH_MAX {
        return Ok(Err(reject(
            Reason::SetFull,
            format!(
                "packing {child} into {parent_id} would nest {} levels of sets; at most {SET_DEPTH_MAX}",
                above.len() + below
            ),
        )));
    }
    let added = u32::from(child_unit.is_some()) + child_set.as_ref().map_or(0, |s| s.units);
    let root_units = match above.last() {
        Some(root) => view.set(root)?.map_or(0, |s| s.units),
        None => 0,
    };
    let mut parent = parent_set.unwrap_or_else(|| UnitSet {
        id: parent_id.clone(),
        kind: if parent_unit.is_some() {
            SetKind::Kit
        } else {
            SetKind::Sscc
        },
        children: Vec::new(),
        units: 0,
        parent: None,
        packed_at_ms: now_ms,
    });
    if parent.children.len() >= SET_CHILDREN_MAX || root_units + added > SET_UNITS_MAX {
        return Ok(Err(reject(
            Reason::SetFull,
            format!(
                "{} is full: at most {SET_CHILDREN_MAX} children and {SET_UNITS_MAX} units in one tree",
                above.last().unwrap_or(parent_id)
            ),
        )));
    }
    parent.children.push(child.to_owned());
    parent.units += added;
    let mut sets = vec![parent];
    recount(view, &above[1..], i64::from(added), &mut sets)?;
    if let Some(mut set) = child_set
        && set.kind == SetKind::Sscc
    {
        set.parent = Some(parent_id.clone());
        sets.push(set);
    }
    let unit = child_unit.map(|u| Unit {
        parent: Some(parent_id.clone()),
        last_seq: seq,
        ..u
    });
    let message = format!(
        "packed {child} into {parent_id} ({}, {})",
        count(sets[0].children.len() as u64, "child", "children"),
        count(u64::from(sets[0].units), "unit", "units")
    );
    Ok(Ok(set_change(child, parent_id, unit, sets, message)))
}

/// DISAGGREGATE: takes `id` out of the set it is packed in, or, when it is packed in none,
/// unpacks the set it is the parent of.
pub(super) fn disaggregate<V: View>(id: &str, view: &mut V, seq: u64) -> Decided<V::Error> {
    let unit = view.unit(id)?;
    let set = view.set(id)?;
    if unit.is_none() && set.is_none() {
        return Ok(Err(reject(
            Reason::UnknownUnit,
            format!("{id} is neither a known unit nor a set"),
        )));
    }
    if let Some(unit) = &unit
        && next_state(Some(unit.state), Action::Disaggregate).is_none()
    {
        return Ok(Err(refused_transition(Action::Disaggregate, unit)));
    }
    if parent_of(view, id)?.is_some() {
        let (unit, sets, parent) = detach(view, id, unit, set, seq)?;
        let message = format!("took {id} out of {parent}");
        return Ok(Ok(set_change(id, &parent, unit, sets, message)));
    }
    let Some(mut set) = set.filter(|s| !s.children.is_empty()) else {
        return Ok(Err(Rejection {
            reason: Reason::NotInSet,
            message: format!("{id} is not packed in any set and holds nothing"),
            state: unit.map(|u| u.state),
        }));
    };
    let mut carried = Vec::new();
    let mut sets = Vec::new();
    for child in &set.children {
        if let Some(u) = view.unit(child)? {
            carried.push(Unit {
                parent: None,
                last_seq: seq,
                ..u
            });
        } else if let Some(mut nested) = view.set(child)? {
            nested.parent = None;
            sets.push(nested);
        }
    }
    let message = format!(
        "unpacked {id}: {} taken out ({})",
        count(set.children.len() as u64, "child", "children"),
        count(u64::from(set.units), "unit", "units")
    );
    set.children.clear();
    set.units = 0;
    sets.insert(0, set);
    Ok(Ok(Change {
        carried,
        ..set_change(id, id, unit, sets, message)
    }))
}

/// Takes `id` out of its parent: the unit (parent cleared), the sets changed, and the parent.
fn detach<V: View>(
    view: &mut V,
    id: &str,
    unit: Option<Unit>,
    set: Option<UnitSet>,
    seq: u64,
) -> Result<(Option<Unit>, Vec<UnitSet>, String), V::Error> {
    let chain = ancestors(view, id)?;
    let removed = u32::from(unit.is_some()) + set.as_ref().map_or(0, |s| s.units);
    let mut sets = Vec::new();
    recount(view, &chain, -i64::from(removed), &mut sets)?;
    let parent = chain.first().cloned().unwrap_or_default();
    if let Some(first) = sets.first_mut() {
        first.children.retain(|c| c != id);
    }
    if let Some(mut set) = set
        && set.kind == SetKind::Sscc
    {
        set.parent = None;
        sets.push(set);
    }
    let unit = unit.map(|u| Unit {
        parent: None,
        last_seq: seq,
        ..u
    });
    Ok((unit, sets, parent))
}

/// What a packed unit's own scan must do first: refused if the action would move it apart
/// from its set, or the sets to update when the action takes it out (return, scrap).
pub(super) fn packed_unit<V: View>(
    scan: &Scan,
    unit: &Unit,
    view: &mut V,
) -> Result<Result<Vec<UnitSet>, Rejection>, V::Error> {
    let Some(parent) = &unit.parent else {
        return Ok(Ok(Vec::new()));
    };
    if moves_alone(scan.action) {
        return Ok(Err(about(
            unit,
            Reason::AlreadyInSet,
            format!(
                "serial {} is packed in {parent}; scan {parent} to {} the whole set, or take the unit out (DISAGGREGATE) first",
                unit.serial,
                scan.action.name()
            ),
        )));
    }
    if matches!(scan.action, Action::Block | Action::Release) {
        return Ok(Ok(Vec::new()));
    }
    let (_, sets, _) = detach(view, &unit.serial, Some(unit.clone()), None, 0)?;
    Ok(Ok(sets))
}

/// A scan of a set's parent: the action applied to the parent's own unit (a kit) and every
/// unit below it, all or nothing. `root` is the kit's unit, `None` for an SSCC.
pub(super) fn carry<V: View>(
    scan: &Scan,
    set: UnitSet,
    root: Option<Unit>,
    view: &mut V,
    seq: u64,
    now_ms: i64,
) -> Decided<V::Error> {
    if scan.action == Action::Receive {
        if let Some(unit) = &root
            && next_state(Some(unit.state), Action::Receive).is_none()
        {
            return Ok(Err(refused_transition(Action::Receive, unit)));
        }
        return Ok(Err(reject(
            Reason::UnsupportedAction,
            format!(
                "{} is a set of {} units; receive each unit, or take them out first",
                set.id, set.units
            ),
        )));
    }
    if root.is_none()
        && let Some(parent) = &set.parent
    {
        return Ok(Err(reject(
            Reason::AlreadyInSet,
            format!(
                "{} is packed in {parent}; scan {parent} to {} the whole set, or take it out first",
                set.id,
                scan.action.name()
            ),
        )));
    }
    let below = units_below(view, &set)?;
    if below.len() > SET_UNITS_MAX as usize {
        return Ok(Err(reject(
            Reason::SetFull,
            format!("{} holds more than {SET_UNITS_MAX} units", set.id),
        )));
    }
    if below.is_empty() && root.is_none() {
        return Ok(Err(reject(
            Reason::NotInSet,
            format!("{} holds no units", set.id),
        )));
    }
    let mut overlay = Overlay {
        view,
        units: HashMap::new(),
        order: None,
        picks: Vec::new(),
        shipment: None,
        dispatches: Vec::new(),
    };
    let n = below.len();
    let mut root_change = None;
    let mut carried = Vec::with_capacity(n);
    let mut first_message = None;
    let mut warning: Option<(Reason, String)> = None;
    let is_root = |u: &Unit| root.as_ref().is_some_and(|r| r.serial == u.serial);
    for unit in root.clone().into_iter().chain(below) {
        let own = is_root(&unit);
        let serial = unit.serial.clone();
        let decided = decide_unit(
            scan,
            None,
            None,
            unit,
            &mut overlay,
            Vec::new(),
            seq,
            now_ms,
            !own,
        )?;
        let change = match decided {
            Ok(change) => change,
            Err(rejection) => {
                let message = if own {
                    rejection.message
                } else {
                    format!(
                        "set {} cannot be {}: unit {serial}: {}",
                        set.id,
                        past(scan.action),
                        rejection.message
                    )
                };
                return Ok(Err(Rejection {
                    message,
                    ..rejection
                }));
            }
        };
        if change.outcome == Outcome::Warning && warning.is_none() {
            warning = Some((change.reason, change.message.clone()));
        }
        first_message.get_or_insert(change.message);
        if let Some(order) = change.order {
            overlay.order = Some(order);
        }
        overlay.picks.extend(change.picks);
        if let Some(shipment) = change.shipment {
            overlay.shipment = Some(shipment);
        }
        overlay.dispatches.extend(change.dispatches);
        if let Some(unit) = change.unit {
            overlay.units.insert(unit.serial.clone(), unit.clone());
            if own {
                root_change = Some(unit);
            } else {
                carried.push(unit);
            }
        }
    }
    let message = format!(
        "{} {} with the {} in it ({}{})",
        past(scan.action),
        set.id,
        count(n as u64, "unit", "units"),
        first_message.unwrap_or_default(),
        if n > 1 { ", …" } else { "" }
    );
    let (outcome, reason, message) = match warning {
        Some((reason, detail)) => (Outcome::Warning, reason, format!("{message}; {detail}")),
        None => (Outcome::Accepted, Reason::Ok, message),
    };
    Ok(Ok(Change {
        subject: set.id.clone(),
        unit: root_change,
        carried,
        sets: Vec::new(),
        set: None,
        order: overlay.order,
        picks: overlay.picks,
        shipment: overlay.shipment,
        dispatches: overlay.dispatches,
        receipt: None,
        outcome,
        reason,
        message,
    }))
}

/// `n` and the noun for that many.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn past(action: Action) -> &'static str {
    match action {
        Action::Receive => "received",
        Action::Putaway => "stored",
        Action::Pick => "picked",
        Action::Dispatch => "dispatched",
        Action::Return => "returned",
        Action::Quarantine => "quarantined",
        Action::Scrap => "scrapped",
        Action::Block => "blocked",
        Action::Release => "released",
        Action::Aggregate => "packed",
        Action::Disaggregate => "unpacked",
        Action::Issue => "issued",
        Action::Void => "voided",
    }
}

/// The view as the units decided so far in one carried scan left it.
struct Overlay<'v, V> {
    view: &'v mut V,
    units: HashMap<String, Unit>,
    order: Option<Order>,
    /// The picks and dispatches of the units decided so far, in order.
    picks: Vec<PickChange>,
    shipment: Option<Shipment>,
    dispatches: Vec<Dispatch>,
}

impl<V: View> Overlay<'_, V> {
    /// `picks` (read from the view) of `order_id` with the overlay's own changes applied;
    /// `serial` narrows them to one serial's.
    fn with_own_picks(
        &self,
        order_id: &str,
        serial: Option<&str>,
        mut picks: Vec<Pick>,
    ) -> Vec<Pick> {
        for change in &self.picks {
            match change {
                PickChange::Picked(pick) => {
                    if pick.order_id == order_id && serial.is_none_or(|s| s == pick.serial) {
                        picks.push(pick.clone());
                    }
                }
                PickChange::PutBack(pick) => picks.retain(|p| p != pick),
            }
        }
        sort_picks(&mut picks);
        picks
    }
}

impl<V: View> View for Overlay<'_, V> {
    type Error = V::Error;

    fn item(&mut self, sku: &str) -> Result<Option<Item>, V::Error> {
        self.view.item(sku)
    }
    fn item_by_gtin(&mut self, gtin: &str) -> Result<Option<Item>, V::Error> {
        self.view.item_by_gtin(gtin)
    }
    fn unit(&mut self, serial: &str) -> Result<Option<Unit>, V::Error> {
        match self.units.get(serial) {
            Some(unit) => Ok(Some(unit.clone())),
            None => self.view.unit(serial),
        }
    }
    fn order(&mut self, id: &str) -> Result<Option<Order>, V::Error> {
        match self.order.as_ref().filter(|o| o.id == id) {
            Some(order) => Ok(Some(order.clone())),
            None => self.view.order(id),
        }
    }
    fn picks_of(&mut self, order_id: &str, serial: &str) -> Result<Vec<Pick>, V::Error> {
        let picks = self.view.picks_of(order_id, serial)?;
        Ok(self.with_own_picks(order_id, Some(serial), picks))
    }
    fn order_picks(&mut self, order_id: &str) -> Result<Vec<Pick>, V::Error> {
        let picks = self.view.order_picks(order_id)?;
        Ok(self.with_own_picks(order_id, None, picks))
    }
    fn shipment(&mut self, id: &str) -> Result<Option<Shipment>, V::Error> {
        match self.shipment.as_ref().filter(|s| s.id == id) {
            Some(shipment) => Ok(Some(shipment.clone())),
            None => self.view.shipment(id),
        }
    }
    fn shipment_dispatched(&mut self, shipment_id: &str) -> Result<Vec<String>, V::Error> {
        let mut serials = self.view.shipment_dispatched(shipment_id)?;
        serials.extend(
            self.dispatches
                .iter()
                .filter(|d| d.shipment_id == shipment_id)
                .map(|d| d.serial.clone()),
        );
        Ok(serials)
    }
    fn recall(&mut self, id: &str) -> Result<Option<Recall>, V::Error> {
        self.view.recall(id)
    }
    fn recall_hold(&mut self, unit: &Unit) -> Result<Option<Hold>, V::Error> {
        self.view.recall_hold(unit)
    }
    fn receipt(&mut self, id: &str) -> Result<Option<Receipt>, V::Error> {
        self.view.receipt(id)
    }
    fn serial_by_mfr(&mut self, mfr: &str) -> Result<Option<String>, V::Error> {
        self.view.serial_by_mfr(mfr)
    }
    fn receipt_entry(
        &mut self,
        id: &str,
        serial: &str,
    ) -> Result<Option<(Mark, String)>, V::Error> {
        self.view.receipt_entry(id, serial)
    }
    fn set(&mut self, id: &str) -> Result<Option<UnitSet>, V::Error> {
        self.view.set(id)
    }
}
