//! A unit's life: the one table of allowed transitions, and what each station's scan decides.

use super::receipt::match_receipt;
use super::sets;
use super::warehouse::whereabouts;
use super::{
    Action, Change, Dispatch, Hold, HoldKind, Item, Outcome, Pick, PickChange, ReadScan, Reason,
    Rejection, Scan, Shipment, Unit, UnitState, View, time,
};

/// One row of [`TRANSITIONS`].
pub type Transition = (Action, &'static [Option<UnitState>], Option<UnitState>);

/// Every allowed transition: the action, the states it may start from (`None`: no unit with
/// that serial exists yet) and the state it leads to (`None`: the unit keeps its state, as a
/// block or release does). Anything else is WRONG_STATE.
pub const TRANSITIONS: &[Transition] = &[
    // New units, returns being restocked and units released from quarantine are received.
    (
        Action::Receive,
        &[
            None,
            Some(UnitState::Issued),
            Some(UnitState::Returned),
            Some(UnitState::Quarantined),
        ],
        Some(UnitState::Received),
    ),
    // Putaway after receipt, a move between locations, or a picked unit put back.
    (
        Action::Putaway,
        &[
            Some(UnitState::Received),
            Some(UnitState::Stored),
            Some(UnitState::Picked),
        ],
        Some(UnitState::Stored),
    ),
    (
        Action::Pick,
        &[Some(UnitState::Stored)],
        Some(UnitState::Picked),
    ),
    (
        Action::Dispatch,
        &[Some(UnitState::Picked)],
        Some(UnitState::Dispatched),
    ),
    (
        Action::Return,
        &[Some(UnitState::Dispatched)],
        Some(UnitState::Returned),
    ),
    (
        Action::Quarantine,
        &[
            Some(UnitState::Received),
            Some(UnitState::Stored),
            Some(UnitState::Returned),
        ],
        Some(UnitState::Quarantined),
    ),
    (
        Action::Scrap,
        &[
            Some(UnitState::Received),
            Some(UnitState::Stored),
            Some(UnitState::Returned),
            Some(UnitState::Quarantined),
            // An issued serial whose label was never applied (spoiled in production).
            Some(UnitState::Issued),
        ],
        Some(UnitState::Scrapped),
    ),
    // Blocks apply to units in our hands; a sold unit is the customer's, a scrapped one gone.
    (Action::Block, IN_HAND, None),
    (Action::Release, IN_HAND, None),
    // Packing into a kit, case or pallet, and taking out, leave the state as it is.
    (Action::Aggregate, IN_HAND, None),
    (Action::Disaggregate, IN_HAND, None),
];

const IN_HAND: &[Option<UnitState>] = &[
    Some(UnitState::Received),
    Some(UnitState::Stored),
    Some(UnitState::Picked),
    Some(UnitState::Returned),
    Some(UnitState::Quarantined),
];

/// The state `action` leads to from `from`, if the table allows it.
pub fn next_state(from: Option<UnitState>, action: Action) -> Option<UnitState> {
    TRANSITIONS
        .iter()
        .find(|(a, froms, _)| *a == action && froms.contains(&from))
        .and_then(|&(_, _, to)| to.or(from))
}

/// The actions the table allows from `from`.
pub fn allowed_actions(from: Option<UnitState>) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|&a| next_state(from, a).is_some())
        .collect()
}

/// The actions that move a unit on from `from`: what an operator at a station can do next
/// (blocks, releases and packing leave the state as it is).
fn state_changes(from: Option<UnitState>) -> Vec<Action> {
    allowed_actions(from)
        .into_iter()
        .filter(|&a| TRANSITIONS.iter().any(|(t, _, to)| *t == a && to.is_some()))
        .collect()
}

fn names(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "none".to_owned();
    }
    actions
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn reject(reason: Reason, message: impl Into<String>) -> Rejection {
    Rejection::new(reason, message)
}

pub(super) fn about(unit: &Unit, reason: Reason, message: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        message: message.into(),
        state: Some(unit.state),
    }
}

/// Decides what a scan does, reading what it needs through `view`. `seq` is the sequence
/// number the event will get and `now_ms` the server's time. The outer error is the view's
/// (a failed read); the inner one is the business answer.
pub fn apply<V: View>(
    scan: &Scan,
    read: &ReadScan,
    view: &mut V,
    seq: u64,
    now_ms: i64,
) -> Result<Result<Change, Rejection>, V::Error> {
    match decide_scan(scan, read, view, seq, now_ms)? {
        Ok(change) if scan.action == Action::Receive => match_receipt(scan, change, view),
        decided => Ok(decided),
    }
}

fn decide_scan<V: View>(
    scan: &Scan,
    read: &ReadScan,
    view: &mut V,
    seq: u64,
    now_ms: i64,
) -> Result<Result<Change, Rejection>, V::Error> {
    match scan.action {
        Action::Aggregate => return sets::aggregate(scan, &read.serial, view, seq, now_ms),
        Action::Disaggregate => return sets::disaggregate(&read.serial, view, seq),
        _ => {}
    }
    // The item the scan names (barcode GTIN or chosen SKU). A receipt needs one; other
    // stations find the unit by serial and only check that a named item agrees.
    let named = if scan.action == Action::Receive || read.gtin.is_some() || scan.sku.is_some() {
        match resolve_item(scan, read, view)? {
            Ok(item) => Some(item),
            Err(rejection) => return Ok(Err(rejection)),
        }
    } else {
        None
    };
    let serial = match &named {
        Some(item) => item.serial_rule.canonical(&read.serial).into_owned(),
        None => read.serial.clone(),
    };
    let mut notes = Vec::new();
    if serial != read.serial {
        notes.push(format!(
            "read {} as {serial} (letters that look like digits)",
            read.serial
        ));
    }
    notes.extend(read.warnings.iter().cloned());
    if scan.action == Action::Receive
        && let Some(item) = &named
        && let Err(violation) = item.serial_rule.check(&serial)
    {
        return Ok(Err(reject(
            Reason::BadFormat,
            format!(
                "serial {} does not fit SKU {}: {violation}",
                read.serial, item.sku
            ),
        )));
    }
    let current = view.unit(&serial)?;
    if scan.action == Action::Receive
        && let Some(mfr) = &scan.mfr_serial
        && let Some(other) = view.serial_by_mfr(mfr)?
        && other != serial
    {
        return Ok(Err(reject(
            Reason::ConflictingFields,
            format!("manufacturer serial {mfr} is already on unit {other}, not {serial}"),
        )));
    }
    let Some(current) = current else {
        if let Some(set) = view.set(&serial)? {
            return sets::carry(scan, set, None, view, seq, now_ms);
        }
        return Ok(match (scan.action, named) {
            // We issue this item's serials: one we never issued is not ours.
            (Action::Receive, Some(item)) if item.issuing.is_some() => Err(reject(
                Reason::NotIssued,
                format!(
                    "serial {serial} was never issued for SKU {}: not one of ours; keep the unit aside for review",
                    item.sku
                ),
            )),
            (Action::Receive, Some(item)) => {
                receive(scan, read, &item, serial, None, notes, seq, now_ms)
            }
            (Action::Return, _) => Err(reject(
                Reason::SuspectCounterfeit,
                format!(
                    "serial {serial} was never received or sold by us: possible counterfeit; keep the unit aside for review"
                ),
            )),
            (action, _) => Err(reject(
                Reason::UnknownUnit,
                format!(
                    "serial {serial} is unknown; {} needs a received unit",
                    action.name()
                ),
            )),
        });
    };
    if next_state(Some(current.state), scan.action).is_none() {
        return Ok(Err(refused_transition(scan.action, &current)));
    }
    if let Some(item) = &named
        && item.sku != current.sku
    {
        return Ok(Err(about(
            &current,
            Reason::ConflictingFields,
            format!(
                "serial {serial} is a unit of SKU {}, not {}",
                current.sku, item.sku
            ),
        )));
    }
    if let Some(set) = view.set(&serial)?.filter(|s| !s.children.is_empty()) {
        return sets::carry(scan, set, Some(current), view, seq, now_ms);
    }
    decide_unit(
        scan,
        Some(read),
        named,
        current,
        view,
        notes,
        seq,
        now_ms,
        false,
    )
}

/// Decides what a scan does to one existing unit. `carried` is true when the unit moves as
/// part of a set whose parent was scanned.
#[allow(clippy::too_many_arguments)]
pub(super) fn decide_unit<V: View>(
    scan: &Scan,
    read: Option<&ReadScan>,
    named: Option<Item>,
    current: Unit,
    view: &mut V,
    notes: Vec<String>,
    seq: u64,
    now_ms: i64,
    carried: bool,
) -> Decided<V::Error> {
    let Some(to) = next_state(Some(current.state), scan.action) else {
        return Ok(Err(refused_transition(scan.action, &current)));
    };
    let taken_out = if carried {
        Vec::new()
    } else {
        match sets::packed_unit(scan, &current, view)? {
            Ok(sets) => sets,
            Err(rejection) => return Ok(Err(rejection)),
        }
    };
    let serial = current.serial.clone();
    let decided = match scan.action {
        Action::Receive => match (named, read) {
            (Some(item), Some(read)) => receive(
                scan,
                read,
                &item,
                serial.clone(),
                Some(current),
                notes,
                seq,
                now_ms,
            ),
            _ => Err(reject(Reason::MissingField, "receipt needs the item")),
        },
        Action::Putaway => putaway(scan, current, to, view, notes, seq)?,
        Action::Pick => pick(scan, current, to, view, notes, seq)?,
        Action::Dispatch => dispatch(scan, current, to, view, notes, seq, now_ms)?,
        Action::Return => return_unit(scan, current, to, view, notes, seq, now_ms)?,
        Action::Quarantine | Action::Scrap => Ok(simple(scan, current, to, notes, seq)),
        Action::Block => block(scan, current, notes, seq),
        Action::Release => release(current, notes, seq),
        Action::Aggregate | Action::Disaggregate => Err(reject(
            Reason::UnsupportedAction,
            format!("{} is decided by the sets module", scan.action.name()),
        )),
        Action::Issue | Action::Void => Err(reject(
            Reason::UnsupportedAction,
            format!(
                "{} is logged by issuing and printing, not scanned",
                scan.action.name()
            ),
        )),
    };
    Ok(decided.map(|mut change| {
        if !taken_out.is_empty() {
            if let Some(unit) = &mut change.unit {
                unit.parent = None;
            }
            change.message = format!(
                "{}; taken out of {}",
                change.message,
                taken_out.first().map_or("its set", |s| s.id.as_str())
            );
            change.sets = taken_out;
        }
        change.subject = serial;
        change
    }))
}

/// The answer to an action the table does not allow from the unit's state.
pub(super) fn refused_transition(action: Action, unit: &Unit) -> Rejection {
    match (action, unit.state) {
        (_, UnitState::Voided) => about(
            unit,
            Reason::Voided,
            format!(
                "serial {} is VOIDED: its label was replaced{}; scan the new label",
                unit.serial,
                unit.replaced_by
                    .as_ref()
                    .map(|new| format!(": the unit is now {new}"))
                    .unwrap_or_default()
            ),
        ),
        (Action::Receive, state) => about(
            unit,
            Reason::DuplicateSerial,
            format!(
                "serial {} is already {}: {} since event {} (first received at {} on {}){}",
                unit.serial,
                if state == UnitState::Dispatched || state == UnitState::Scrapped {
                    "known"
                } else {
                    "here"
                },
                whereabouts(unit),
                unit.last_seq,
                unit.first_seen_station,
                time::format_utc(unit.first_seen_at_ms),
                if state == UnitState::Dispatched {
                    "; a sold unit coming back goes through the returns desk"
                } else {
                    ""
                }
            ),
        ),
        (Action::Return, UnitState::Returned) => about(
            unit,
            Reason::AlreadyReturned,
            format!(
                "serial {} was already returned (event {})",
                unit.serial, unit.last_seq
            ),
        ),
        (Action::Return, state) => about(
            unit,
            Reason::WrongState,
            format!(
                "serial {} was never sold: it is {} ({}); only DISPATCHED units come back as returns",
                unit.serial,
                state.name(),
                whereabouts(unit)
            ),
        ),
        (action, state) => about(
            unit,
            Reason::WrongState,
            format!(
                "serial {} is {}; {} is not allowed from there (allowed now: {})",
                unit.serial,
                state.name(),
                action.name(),
                names(&state_changes(Some(state)))
            ),
        ),
    }
}

fn resolve_item<V: View>(
    scan: &Scan,
    read: &ReadScan,
    view: &mut V,
) -> Result<Result<Item, Rejection>, V::Error> {
    Ok(match (&read.gtin, &scan.sku) {
        (Some(gtin), sku) => match view.item_by_gtin(gtin)? {
            None => Err(reject(
                Reason::UnknownItem,
                format!("no item has GTIN {gtin}; add it to the catalog first"),
            )),
            Some(item) => match sku {
                Some(sku) if sku != &item.sku => Err(reject(
                    Reason::ConflictingFields,
                    format!("barcode GTIN {gtin} belongs to SKU {}, not {sku}", item.sku),
                )),
                _ => Ok(item),
            },
        },
        (None, Some(sku)) => view.item(sku)?.ok_or_else(|| {
            reject(
                Reason::UnknownItem,
                format!("no item has SKU {sku}; add it to the catalog first"),
            )
        }),
        (None, None) => Err(reject(
            Reason::MissingField,
            "barcode does not name the item; choose the SKU on the handheld",
        )),
    })
}

fn with_notes(mut message: String, notes: &[String]) -> String {
    for note in notes {
        message.push_str("; ");
        message.push_str(note);
    }
    message
}

fn accepted(unit: Unit, message: String, notes: &[String]) -> Change {
    Change {
        subject: unit.serial.clone(),
        unit: Some(unit),
        carried: Vec::new(),
        sets: Vec::new(),
        set: None,
        order: None,
        picks: Vec::new(),
        shipment: None,
        dispatches: Vec::new(),
        receipt: None,
        outcome: Outcome::Accepted,
        reason: Reason::Ok,
        message: with_notes(message, notes),
    }
}

#[allow(clippy::too_many_arguments)]
fn receive(
    scan: &Scan,
    read: &ReadScan,
    item: &Item,
    serial: String,
    returned: Option<Unit>,
    notes: Vec<String>,
    seq: u64,
    now_ms: i64,
) -> Result<Change, Rejection> {
    let mut warnings = Vec::new();
    let lot = match (&read.lot, item.lot_tracked) {
        (None, true) if returned.as_ref().is_none_or(|u| u.lot.is_none()) => {
            return Err(reject(
                Reason::MissingField,
                format!("SKU {} is lot tracked; scan or enter the lot", item.sku),
            ));
        }
        (Some(lot), false) => {
            warnings.push(format!(
                "lot {lot} ignored: SKU {} is not lot tracked",
                item.sku
            ));
            None
        }
        (lot, _) => lot.clone(),
    };
    if let Some(issued) = returned.as_ref().filter(|u| u.state == UnitState::Issued)
        && let (Some(issued_lot), Some(scanned_lot)) = (&issued.lot, &read.lot)
        && issued_lot != scanned_lot
    {
        return Err(about(
            issued,
            Reason::ConflictingFields,
            format!(
                "serial {} was issued for lot {issued_lot}, but the scan says lot {scanned_lot}",
                issued.serial
            ),
        ));
    }
    let (unit, verb) = match returned {
        // An issued serial arrives: the unit we issued it for is now in our hands.
        Some(unit) if unit.state == UnitState::Issued => (
            Unit {
                state: UnitState::Received,
                location: scan.station.clone(),
                last_seq: seq,
                received_at_ms: now_ms,
                lot: unit.lot.clone().or(lot),
                expiry: unit.expiry.or(read.expiry),
                mfr_serial: unit.mfr_serial.clone().or_else(|| scan.mfr_serial.clone()),
                ..unit
            },
            "received issued serial",
        ),
        // A returned or quarantined unit is received back into stock: the same unit, its
        // history and sale kept, its hold (if any) too.
        Some(unit) => (
            Unit {
                state: UnitState::Received,
                location: scan.station.clone(),
                last_seq: seq,
                received_at_ms: now_ms,
                lot: unit.lot.clone().or(lot),
                mfr_serial: unit.mfr_serial.clone().or_else(|| scan.mfr_serial.clone()),
                ..unit
            },
            "received again",
        ),
        None => (
            Unit {
                serial,
                sku: item.sku.clone(),
                gtin: item.gtin.clone(),
                lot,
                expiry: read.expiry,
                state: UnitState::Received,
                location: scan.station.clone(),
                first_seen_station: scan.station.clone(),
                first_seen_at_ms: now_ms,
                first_seen_seq: seq,
                last_seq: seq,
                received_at_ms: now_ms,
                hold: None,
                order_id: None,
                shipment_id: None,
                customer: None,
                dispatched_at_ms: 0,
                mfr_serial: scan.mfr_serial.clone(),
                parent: None,
                replaced_by: None,
                replaces: None,
            },
            "received",
        ),
    };
    let message = with_notes(
        format!("{verb} {} ({})", unit.serial, unit.sku),
        &[warnings.clone(), notes].concat(),
    );
    // Scanner noise the barcode layer cleaned up is worth a note, not an operator's attention;
    // a field the scan carried that was dropped is.
    let (outcome, reason) = if warnings.is_empty() {
        (Outcome::Accepted, Reason::Ok)
    } else {
        (Outcome::Warning, Reason::FieldIgnored)
    };
    Ok(Change {
        subject: unit.serial.clone(),
        unit: Some(unit),
        carried: Vec::new(),
        sets: Vec::new(),
        set: None,
        order: None,
        picks: Vec::new(),
        shipment: None,
        dispatches: Vec::new(),
        receipt: None,
        outcome,
        reason,
        message,
    })
}

pub(super) type Decided<E> = Result<Result<Change, Rejection>, E>;

fn putaway<V: View>(
    scan: &Scan,
    unit: Unit,
    to: UnitState,
    view: &mut V,
    notes: Vec<String>,
    seq: u64,
) -> Decided<V::Error> {
    let Some(location) = &scan.location else {
        return Ok(Err(about(
            &unit,
            Reason::MissingField,
            "putaway needs the location; scan the bin label",
        )));
    };
    // A picked unit put back leaves its order line.
    let (order, picks) = match (&unit.order_id, unit.state) {
        (Some(order_id), UnitState::Picked) => match view.order(order_id)? {
            Some(mut order) => {
                let picks = view.picks_of(order_id, &unit.serial)?;
                for pick in &picks {
                    if let Some(line) = order.lines.get_mut(pick.line) {
                        line.n_picked = line.n_picked.saturating_sub(1);
                    }
                }
                (
                    Some(order),
                    picks.into_iter().map(PickChange::PutBack).collect(),
                )
            }
            None => (None, Vec::new()),
        },
        _ => (None, Vec::new()),
    };
    let verb = match unit.state {
        UnitState::Stored => format!("moved {} from {} to {location}", unit.serial, unit.location),
        UnitState::Picked => format!(
            "put {} back at {location}, off order {}",
            unit.serial,
            unit.order_id.as_deref().unwrap_or("?")
        ),
        _ => format!("stored {} at {location}", unit.serial),
    };
    let unit = Unit {
        state: to,
        location: location.clone(),
        order_id: None,
        last_seq: seq,
        ..unit
    };
    Ok(Ok(Change {
        order,
        picks,
        ..accepted(unit, verb, &notes)
    }))
}

/// Refuses `action` when the unit is blocked or covered by an active recall.
fn on_hold<V: View>(
    unit: &Unit,
    action: Action,
    view: &mut V,
) -> Result<Option<Rejection>, V::Error> {
    let hold = match &unit.hold {
        Some(hold) => Some(hold.clone()),
        None => view.recall_hold(unit)?,
    };
    Ok(hold.map(|hold| {
        about(
            unit,
            Reason::OnHold,
            format!(
                "serial {} is on hold {hold}; {} is stopped. Put it aside for the supervisor",
                unit.serial,
                action.name()
            ),
        )
    }))
}

fn block(scan: &Scan, unit: Unit, notes: Vec<String>, seq: u64) -> Result<Change, Rejection> {
    let Some(reason) = &scan.hold_reason else {
        return Err(about(
            &unit,
            Reason::MissingField,
            "block needs a reason; say why the unit is stopped",
        ));
    };
    if let Some(hold) = unit.hold.as_ref().filter(|h| h.kind == HoldKind::Blocked) {
        return Err(about(
            &unit,
            Reason::WrongState,
            format!(
                "serial {} is {} and already on hold {hold}",
                unit.serial,
                unit.state.name()
            ),
        ));
    }
    let message = format!("blocked {} ({}): {reason}", unit.serial, unit.sku);
    let unit = Unit {
        hold: Some(Hold {
            kind: HoldKind::Blocked,
            reference: reason.clone(),
        }),
        last_seq: seq,
        ..unit
    };
    Ok(accepted(unit, message, &notes))
}

fn release(unit: Unit, notes: Vec<String>, seq: u64) -> Result<Change, Rejection> {
    let Some(hold) = unit.hold.clone().filter(|h| h.kind == HoldKind::Blocked) else {
        return Err(about(
            &unit,
            Reason::WrongState,
            format!(
                "serial {} is {} and not blocked; a recall is lifted by releasing the recall",
                unit.serial,
                unit.state.name()
            ),
        ));
    };
    let message = format!(
        "released {} ({}) from block: {}",
        unit.serial, unit.sku, hold.reference
    );
    let unit = Unit {
        hold: None,
        last_seq: seq,
        ..unit
    };
    Ok(accepted(unit, message, &notes))
}

fn pick<V: View>(
    scan: &Scan,
    unit: Unit,
    to: UnitState,
    view: &mut V,
    notes: Vec<String>,
    seq: u64,
) -> Decided<V::Error> {
    if let Some(rejection) = on_hold(&unit, Action::Pick, view)? {
        return Ok(Err(rejection));
    }
    let Some(order_id) = &scan.order_id else {
        return Ok(Err(about(
            &unit,
            Reason::MissingField,
            "pick needs the order; scan the pick list",
        )));
    };
    let Some(mut order) = view.order(order_id)? else {
        return Ok(Err(about(
            &unit,
            Reason::UnknownOrder,
            format!("no order {order_id}"),
        )));
    };
    let Some(line_index) = order
        .lines
        .iter()
        .position(|l| l.accepts(&unit) && l.open())
    else {
        let reason = if order.lines.iter().any(|l| l.accepts(&unit)) {
            (
                Reason::OverPick,
                format!(
                    "order {order_id} already has every {} it asks for; put {} back",
                    unit.sku, unit.serial
                ),
            )
        } else {
            let wanted: Vec<String> = order
                .lines
                .iter()
                .filter(|l| l.open())
                .map(|l| match &l.lot {
                    Some(lot) => format!("{} lot {lot}", l.sku),
                    None => l.sku.clone(),
                })
                .collect();
            (
                Reason::WrongSku,
                format!(
                    "serial {} is {}{}; order {order_id} still needs {}",
                    unit.serial,
                    unit.sku,
                    unit.lot
                        .as_ref()
                        .map(|l| format!(" lot {l}"))
                        .unwrap_or_default(),
                    if wanted.is_empty() {
                        "nothing".to_owned()
                    } else {
                        wanted.join(", ")
                    }
                ),
            )
        };
        return Ok(Err(about(&unit, reason.0, reason.1)));
    };
    let pick = Pick {
        order_id: order_id.clone(),
        serial: unit.serial.clone(),
        line: line_index,
        ordinal: order.picks_made,
    };
    order.picks_made += 1;
    let line = &mut order.lines[line_index];
    line.n_picked += 1;
    let progress = format!("{}/{}", line.n_picked, line.quantity);
    let message = format!(
        "picked {} ({}) for order {order_id}, line {progress}",
        unit.serial, unit.sku
    );
    let unit = Unit {
        state: to,
        location: scan.station.clone(),
        order_id: Some(order_id.clone()),
        last_seq: seq,
        ..unit
    };
    Ok(Ok(Change {
        order: Some(order),
        picks: vec![PickChange::Picked(pick)],
        ..accepted(unit, message, &notes)
    }))
}

#[allow(clippy::too_many_arguments)]
fn dispatch<V: View>(
    scan: &Scan,
    unit: Unit,
    to: UnitState,
    view: &mut V,
    notes: Vec<String>,
    seq: u64,
    now_ms: i64,
) -> Decided<V::Error> {
    if let Some(rejection) = on_hold(&unit, Action::Dispatch, view)? {
        return Ok(Err(rejection));
    }
    let Some(shipment_id) = &scan.shipment_id else {
        return Ok(Err(about(
            &unit,
            Reason::MissingField,
            "dispatch needs the shipment; scan the shipping label",
        )));
    };
    let Some(shipment) = view.shipment(shipment_id)? else {
        return Ok(Err(about(
            &unit,
            Reason::UnknownShipment,
            format!("no shipment {shipment_id}"),
        )));
    };
    if shipment.closed.is_some() {
        return Ok(Err(about(
            &unit,
            Reason::Closed,
            format!("shipment {shipment_id} is closed"),
        )));
    }
    if unit.order_id.as_ref() != Some(&shipment.order_id) {
        return Ok(Err(about(
            &unit,
            Reason::WrongOrder,
            format!(
                "serial {} was picked for order {}, but shipment {shipment_id} is for order {}",
                unit.serial,
                unit.order_id.as_deref().unwrap_or("?"),
                shipment.order_id
            ),
        )));
    }
    let mut shipment: Shipment = shipment;
    let dispatch = Dispatch {
        shipment_id: shipment_id.clone(),
        serial: unit.serial.clone(),
        ordinal: shipment.n_dispatched,
    };
    shipment.n_dispatched += 1;
    let message = format!(
        "dispatched {} to {} on shipment {shipment_id}",
        unit.serial, shipment.customer
    );
    let unit = Unit {
        state: to,
        location: String::new(),
        shipment_id: Some(shipment_id.clone()),
        customer: Some(shipment.customer.clone()),
        dispatched_at_ms: now_ms,
        last_seq: seq,
        ..unit
    };
    Ok(Ok(Change {
        shipment: Some(shipment),
        dispatches: vec![dispatch],
        ..accepted(unit, message, &notes)
    }))
}

#[allow(clippy::too_many_arguments)]
fn return_unit<V: View>(
    scan: &Scan,
    unit: Unit,
    to: UnitState,
    view: &mut V,
    notes: Vec<String>,
    seq: u64,
    now_ms: i64,
) -> Decided<V::Error> {
    let sold_to = unit.customer.clone().unwrap_or_default();
    if let Some(customer) = &scan.customer
        && customer != &sold_to
    {
        return Ok(Err(about(
            &unit,
            Reason::WrongCustomer,
            format!(
                "serial {} was sold to {sold_to}, not {customer}; flagged for review",
                unit.serial
            ),
        )));
    }
    let months = view.item(&unit.sku)?.map_or(0, |item| item.warranty_months);
    let sold_on = time::date_utc(unit.dispatched_at_ms);
    let warranty_end = time::add_months(sold_on, months);
    let today = time::date_utc(now_ms);
    let message = format!(
        "returned {} ({}) sold to {sold_to} on {sold_on}{}",
        unit.serial,
        unit.sku,
        scan.rma
            .as_ref()
            .map(|r| format!(", RMA {r}"))
            .unwrap_or_default()
    );
    let unit = Unit {
        state: to,
        location: scan.station.clone(),
        last_seq: seq,
        ..unit
    };
    let mut change = accepted(unit, message, &notes);
    if today > warranty_end {
        change.outcome = Outcome::Warning;
        change.reason = Reason::OutOfWarranty;
        change.message = format!(
            "{}; warranty ({months} months) ended on {warranty_end}",
            change.message
        );
    }
    Ok(Ok(change))
}

fn simple(scan: &Scan, unit: Unit, to: UnitState, notes: Vec<String>, seq: u64) -> Change {
    let verb = match to {
        UnitState::Scrapped => "scrapped",
        _ => "quarantined",
    };
    let message = format!("{verb} {} ({}) at {}", unit.serial, unit.sku, scan.station);
    let unit = Unit {
        state: to,
        location: if to == UnitState::Scrapped {
            String::new()
        } else {
            scan.station.clone()
        },
        last_seq: seq,
        ..unit
    };
    accepted(unit, message, &notes)
}
