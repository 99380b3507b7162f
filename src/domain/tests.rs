//! Table-driven tests of the pure decisions: every reason `read_scan` and `apply` can give.

use super::*;
use crate::barcode::{Charset, CheckScheme, SerialRule};

fn scan(raw: &str, sku: Option<&str>, lot: Option<&str>) -> Scan {
    Scan {
        event_id: Uuid::from_u128(7),
        station: "DOCK-1".to_owned(),
        operator: "alice".to_owned(),
        action: Action::Receive,
        raw: raw.as_bytes().to_vec(),
        sku: sku.map(str::to_owned),
        lot: lot.map(str::to_owned),
        entry_mode: EntryMode::Scanned,
        client_time_ms: 0,
        location: None,
        order_id: None,
        shipment_id: None,
        customer: None,
        rma: None,
        hold_reason: None,
        receipt_id: None,
        mfr_serial: None,
        parent: None,
    }
}

/// A valid SSCC (GS1 check digit) for pallets in tests.
const PALLET: &str = "095060001343520000";

fn pallet(children: &[&str]) -> UnitSet {
    UnitSet {
        id: PALLET.to_owned(),
        kind: SetKind::Sscc,
        children: children.iter().map(|c| (*c).to_owned()).collect(),
        units: u32::try_from(children.len()).unwrap(),
        parent: None,
        packed_at_ms: 0,
    }
}

fn item(sku: &str, lot_tracked: bool) -> Item {
    Item {
        sku: sku.to_owned(),
        gtin: None,
        description: String::new(),
        lot_tracked,
        warranty_months: 12,
        serial_rule: SerialRule {
            length_min: 4,
            length_max: 8,
            charset: Charset::AlphanumericUpper,
            prefix: "SN".to_owned(),
            check: CheckScheme::None,
            pattern: None,
            confusables: crate::barcode::Confusables::Allow,
        },
        updated_at_ms: 0,
        issuing: None,
    }
}

fn unit(serial: &str) -> Unit {
    Unit {
        serial: serial.to_owned(),
        sku: "A".to_owned(),
        gtin: None,
        lot: None,
        expiry: None,
        state: UnitState::Received,
        location: "DOCK-2".to_owned(),
        first_seen_station: "DOCK-2".to_owned(),
        first_seen_at_ms: 1_795_422_605_000,
        first_seen_seq: 4,
        last_seq: 4,
        received_at_ms: 1_795_422_605_000,
        hold: None,
        order_id: None,
        shipment_id: None,
        customer: None,
        dispatched_at_ms: 0,
        mfr_serial: None,
        parent: None,
        replaced_by: None,
        replaces: None,
    }
}

/// Runs one scan through `read_scan` and `apply` against a catalog of item "A" (plain) and
/// "L" (lot tracked) and an optional existing unit, and returns the reason and message.
fn check(scan: &Scan, existing: Option<&Unit>) -> (Reason, Outcome, String) {
    let mut view = MemoryView::with_items([item("A", false), item("L", true)]);
    if let Some(unit) = existing {
        view.units.insert(unit.serial.clone(), unit.clone());
    }
    let read = match read_scan(scan, crate::barcode::Date::new(2026, 11, 23)) {
        Ok(read) => read,
        Err(r) => return (r.reason, Outcome::Rejected, r.message),
    };
    let Ok(decision) = apply(scan, &read, &mut view, 9, 1_795_422_605_000);
    match decision {
        Ok(change) => {
            assert_eq!(change.unit.as_ref().unwrap().first_seen_seq, 9);
            assert_eq!(change.unit.as_ref().unwrap().location, scan.station);
            (change.reason, change.outcome, change.message)
        }
        Err(r) => (r.reason, Outcome::Rejected, r.message),
    }
}

#[test]
fn receive_decisions() {
    let existing = unit("SN01");
    let mut no_station = scan("SN01", Some("A"), None);
    no_station.station.clear();
    let mut putaway = scan("SN01", Some("A"), None);
    putaway.action = Action::Putaway;
    let cases: Vec<(Scan, Option<&Unit>, Reason, Outcome, &str)> = vec![
        (
            scan("SN01", Some("A"), None),
            None,
            Reason::Ok,
            Outcome::Accepted,
            "received SN01 (A)",
        ),
        (
            scan("SN01\r\n", Some("A"), None),
            None,
            Reason::Ok,
            Outcome::Accepted,
            "received SN01 (A)",
        ),
        (
            scan("SN01", Some("A"), None),
            Some(&existing),
            Reason::DuplicateSerial,
            Outcome::Rejected,
            "serial SN01 is already here: RECEIVED at DOCK-2 since event 4 (first received at DOCK-2 on 2026-11-23 08:30:05 UTC)",
        ),
        (
            scan("SN1", Some("A"), None),
            None,
            Reason::BadFormat,
            Outcome::Rejected,
            "serial has 3 characters",
        ),
        (
            scan("XX01", Some("A"), None),
            None,
            Reason::BadFormat,
            Outcome::Rejected,
            "must start with \"SN\"",
        ),
        (
            scan("", Some("A"), None),
            None,
            Reason::BadFormat,
            Outcome::Rejected,
            "barcode could not be read",
        ),
        (
            scan("SN01", Some("B"), None),
            None,
            Reason::UnknownItem,
            Outcome::Rejected,
            "no item has SKU B",
        ),
        (
            scan("SN01", None, None),
            None,
            Reason::MissingField,
            Outcome::Rejected,
            "choose the SKU",
        ),
        (
            no_station,
            None,
            Reason::MissingField,
            Outcome::Rejected,
            "station is missing",
        ),
        (
            scan("SN01", Some("L"), None),
            None,
            Reason::MissingField,
            Outcome::Rejected,
            "lot tracked",
        ),
        (
            scan("SN01", Some("L"), Some("LOT1")),
            None,
            Reason::Ok,
            Outcome::Accepted,
            "received",
        ),
        (
            scan("SN01", Some("A"), Some("LOT1")),
            None,
            Reason::FieldIgnored,
            Outcome::Warning,
            "lot LOT1 ignored",
        ),
        (
            putaway,
            None,
            Reason::UnknownUnit,
            Outcome::Rejected,
            "serial SN01 is unknown; PUTAWAY needs a received unit",
        ),
    ];
    for (scan, existing, reason, outcome, message) in cases {
        let got = check(&scan, existing);
        assert_eq!(
            (got.0, got.1),
            (reason, outcome),
            "{:?}: {}",
            String::from_utf8_lossy(&scan.raw),
            got.2
        );
        assert!(
            got.2.contains(message),
            "{:?}: {}",
            String::from_utf8_lossy(&scan.raw),
            got.2
        );
    }
}

#[test]
fn a_barcode_gtin_must_agree_with_the_requested_sku() {
    let mut tv = item("TV", false);
    tv.gtin = Some("04006381333931".to_owned());
    let s = scan("SN01", Some("RADIO"), None);
    let read = ReadScan {
        serial: "SN01".to_owned(),
        gtin: Some("04006381333931".to_owned()),
        lot: None,
        expiry: None,
        warnings: Vec::new(),
    };
    let Ok(decision) = apply(&s, &read, &mut MemoryView::with_items([tv]), 1, 0);
    let rejection = decision.unwrap_err();
    assert_eq!(rejection.reason, Reason::ConflictingFields);
    assert!(
        rejection.message.contains("belongs to SKU TV, not RADIO"),
        "{}",
        rejection.message
    );
    let Ok(decision) = apply(&s, &read, &mut MemoryView::default(), 1, 0);
    assert_eq!(decision.unwrap_err().reason, Reason::UnknownItem);
}

/// Every state × action pair: what the table allows is applied and lands in the table's
/// state; everything else is refused with the reason that names it, and changes nothing.
#[test]
fn every_state_and_action_pair() {
    for state in UnitState::ALL {
        for action in Action::ALL {
            let mut existing = unit("SN01");
            existing.state = state;
            existing.order_id = Some("O1".to_owned());
            existing.customer = Some("ACME".to_owned());
            existing.shipment_id = Some("S1".to_owned());
            existing.dispatched_at_ms = 1_795_422_605_000;
            if action == Action::Release {
                existing.hold = Some(Hold {
                    kind: HoldKind::Blocked,
                    reference: "damaged box".to_owned(),
                });
            }
            let mut view = MemoryView::with_items([item("A", false)]);
            if action == Action::Disaggregate {
                existing.parent = Some(PALLET.to_owned());
                view.sets.insert(PALLET.to_owned(), pallet(&["SN01"]));
            }
            view.units.insert("SN01".to_owned(), existing.clone());
            view.orders.insert(
                "O1".to_owned(),
                Order {
                    id: "O1".to_owned(),
                    customer: "ACME".to_owned(),
                    lines: vec![OrderLine {
                        sku: "A".to_owned(),
                        lot: None,
                        quantity: 5,
                        n_picked: 1,
                    }],
                    created_at_ms: 0,
                    shipment_id: Some("S1".to_owned()),
                    picks_made: 1,
                },
            );
            view.picks.push(Pick {
                order_id: "O1".to_owned(),
                serial: "SN01".to_owned(),
                line: 0,
                ordinal: 0,
            });
            view.shipments.insert(
                "S1".to_owned(),
                Shipment {
                    id: "S1".to_owned(),
                    order_id: "O1".to_owned(),
                    customer: "ACME".to_owned(),
                    n_dispatched: 0,
                    created_at_ms: 0,
                    closed: None,
                },
            );
            let mut s = scan("SN01", Some("A"), None);
            s.action = action;
            s.location = Some("A-01-01".to_owned());
            s.order_id = Some("O1".to_owned());
            s.shipment_id = Some("S1".to_owned());
            s.customer = Some("ACME".to_owned());
            s.hold_reason = Some("water damage".to_owned());
            s.parent = Some(PALLET.to_owned());
            let read = read_scan(&s, crate::barcode::Date::new(2026, 11, 23)).unwrap();
            let Ok(decision) = apply(&s, &read, &mut view, 9, 1_795_422_605_000);
            let pair = format!("{} from {}", action.name(), state.name());
            match (next_state(Some(state), action), decision) {
                (Some(to), Ok(change)) => {
                    assert_eq!(change.unit.as_ref().unwrap().state, to, "{pair}");
                    assert_eq!(change.unit.as_ref().unwrap().last_seq, 9, "{pair}");
                    assert_ne!(change.outcome, Outcome::Rejected, "{pair}");
                }
                (Some(_), Err(r)) => panic!("{pair}: allowed but refused: {}", r.message),
                (None, Ok(change)) => panic!("{pair}: not allowed but applied: {}", change.message),
                (None, Err(r)) => {
                    let want = match (action, state) {
                        (_, UnitState::Voided) => Reason::Voided,
                        (Action::Receive, _) => Reason::DuplicateSerial,
                        (Action::Return, UnitState::Returned) => Reason::AlreadyReturned,
                        _ => Reason::WrongState,
                    };
                    assert_eq!(r.reason, want, "{pair}: {}", r.message);
                    assert_eq!(r.state, Some(state), "{pair}");
                    assert!(
                        r.message.contains(state.name()) || want == Reason::AlreadyReturned,
                        "{pair}: {}",
                        r.message
                    );
                }
            }
        }
    }
    // The table itself: scrapped is the end, nothing leaves it.
    assert!(allowed_actions(Some(UnitState::Scrapped)).is_empty());
    assert_eq!(allowed_actions(None), vec![Action::Receive]);
}

#[test]
fn holds_stop_pick_and_dispatch_but_not_moves() {
    for (state, action) in [
        (UnitState::Stored, Action::Pick),
        (UnitState::Picked, Action::Dispatch),
        (UnitState::Stored, Action::Putaway),
    ] {
        let mut held = unit("SN01");
        held.state = state;
        held.order_id = Some("O1".to_owned());
        held.hold = Some(Hold {
            kind: HoldKind::Recalled,
            reference: "R1".to_owned(),
        });
        let mut view = MemoryView::with_items([item("A", false)]);
        view.units.insert("SN01".to_owned(), held);
        let mut s = scan("SN01", None, None);
        s.action = action;
        s.location = Some("B-1".to_owned());
        s.order_id = Some("O1".to_owned());
        s.shipment_id = Some("S1".to_owned());
        let read = read_scan(&s, crate::barcode::Date::new(2026, 11, 23)).unwrap();
        let Ok(decision) = apply(&s, &read, &mut view, 9, 0);
        match action {
            Action::Putaway => assert!(decision.is_ok()),
            _ => {
                let r = decision.unwrap_err();
                assert_eq!(r.reason, Reason::OnHold, "{}", r.message);
                assert!(r.message.contains("RECALLED (R1)"), "{}", r.message);
            }
        }
    }
}

#[test]
fn a_return_after_the_warranty_is_accepted_with_a_warning() {
    let mut sold = unit("SN01");
    sold.state = UnitState::Dispatched;
    sold.customer = Some("ACME".to_owned());
    sold.dispatched_at_ms = 1_700_000_000_000; // 2023-11-14; item "A" has 12 months.
    let mut view = MemoryView::with_items([item("A", false)]);
    view.units.insert("SN01".to_owned(), sold);
    let mut s = scan("SN01", None, None);
    s.action = Action::Return;
    s.customer = Some("ACME".to_owned());
    let read = read_scan(&s, crate::barcode::Date::new(2026, 11, 23)).unwrap();
    let Ok(decision) = apply(&s, &read, &mut view, 9, 1_795_422_605_000);
    let change = decision.unwrap();
    assert_eq!(change.unit.as_ref().unwrap().state, UnitState::Returned);
    assert_eq!(
        (change.outcome, change.reason),
        (Outcome::Warning, Reason::OutOfWarranty)
    );
    assert!(
        change
            .message
            .contains("warranty (12 months) ended on 2024-11-14"),
        "{}",
        change.message
    );
    // Within the warranty it is a plain acceptance.
    let Ok(decision) = apply(&s, &read, &mut view, 9, 1_700_000_000_000 + 86_400_000);
    assert_eq!(decision.unwrap().reason, Reason::Ok);
}

#[test]
fn blocks_and_releases() {
    let mut view = MemoryView::with_items([item("A", false)]);
    let mut stored = unit("SN01");
    stored.state = UnitState::Stored;
    view.units.insert("SN01".to_owned(), stored);
    let run = |view: &mut MemoryView, action: Action, reason: Option<&str>| {
        let mut s = scan("SN01", None, None);
        s.action = action;
        s.hold_reason = reason.map(str::to_owned);
        s.order_id = Some("O1".to_owned());
        let read = read_scan(&s, crate::barcode::Date::new(2026, 11, 23)).unwrap();
        let Ok(decision) = apply(&s, &read, view, 9, 0);
        if let Ok(change) = &decision {
            view.units
                .insert("SN01".to_owned(), change.unit.as_ref().unwrap().clone());
        }
        decision
    };
    let missing = run(&mut view, Action::Block, None).unwrap_err();
    assert_eq!(missing.reason, Reason::MissingField);
    let not_blocked = run(&mut view, Action::Release, None).unwrap_err();
    assert_eq!(not_blocked.reason, Reason::WrongState);
    assert!(
        not_blocked.message.contains("not blocked"),
        "{}",
        not_blocked.message
    );
    let blocked = run(&mut view, Action::Block, Some("crushed box")).unwrap();
    assert_eq!(blocked.unit.as_ref().unwrap().state, UnitState::Stored);
    assert_eq!(blocked.message, "blocked SN01 (A): crushed box");
    let again = run(&mut view, Action::Block, Some("again")).unwrap_err();
    assert!(
        again
            .message
            .contains("already on hold BLOCKED (crushed box)"),
        "{}",
        again.message
    );
    let pick = run(&mut view, Action::Pick, None).unwrap_err();
    assert_eq!(pick.reason, Reason::OnHold);
    let released = run(&mut view, Action::Release, None).unwrap();
    assert_eq!(released.unit.as_ref().unwrap().hold, None);
    assert_eq!(
        released.message,
        "released SN01 (A) from block: crushed box"
    );
}

#[test]
fn an_active_recall_holds_every_unit_it_covers_until_released() {
    let mut view = MemoryView::with_items([item("A", false)]);
    let mut stored = unit("SN01");
    stored.state = UnitState::Stored;
    stored.lot = Some("L7".to_owned());
    view.units.insert("SN01".to_owned(), stored.clone());
    let mut other_lot = stored.clone();
    other_lot.lot = Some("L8".to_owned());
    let recall = Recall {
        id: "RC-1".to_owned(),
        scope: RecallScope::Lot {
            sku: "A".to_owned(),
            lot: "L7".to_owned(),
        },
        reason: "supplier notice".to_owned(),
        created_by: "sam".to_owned(),
        created_at_ms: 0,
        released: None,
    };
    let Ok(decided) = warehouse::decide(DocumentOp::CreateRecall(recall.clone()), &mut view, 5);
    let created = decided.unwrap();
    assert_eq!(created.recall.as_ref().unwrap().created_at_ms, 5);
    view.recalls
        .insert("RC-1".to_owned(), created.recall.unwrap());
    let Ok(decided) = warehouse::decide(DocumentOp::CreateRecall(recall), &mut view, 6);
    let exists = decided.unwrap_err();
    assert_eq!(exists.to_string(), "recall RC-1 already exists");
    assert_eq!(
        view.recall_hold(&stored).unwrap().map(|h| h.to_string()),
        Some("RECALLED (RC-1)".to_owned())
    );
    assert_eq!(view.recall_hold(&other_lot).unwrap(), None);
    let mut s = scan("SN01", None, None);
    s.action = Action::Pick;
    s.order_id = Some("O1".to_owned());
    let read = read_scan(&s, crate::barcode::Date::new(2026, 11, 23)).unwrap();
    let Ok(decision) = apply(&s, &read, &mut view, 9, 0);
    let r = decision.unwrap_err();
    assert_eq!(r.reason, Reason::OnHold);
    assert!(r.message.contains("RECALLED (RC-1)"), "{}", r.message);
    let release = DocumentOp::ReleaseRecall {
        id: "RC-1".to_owned(),
        by: "sam".to_owned(),
    };
    let Ok(decided) = warehouse::decide(release.clone(), &mut view, 7);
    let released = decided.unwrap();
    view.recalls
        .insert("RC-1".to_owned(), released.recall.unwrap());
    assert_eq!(view.recall_hold(&stored).unwrap(), None);
    let Ok(decided) = warehouse::decide(release, &mut view, 8);
    let again = decided.unwrap_err();
    assert_eq!(again, DocumentError::AlreadyReleased("RC-1".to_owned()));
}

/// Applies an accepted change to the view, as the store would.
fn commit(view: &mut MemoryView, change: &Change) {
    for unit in change.unit.iter().chain(&change.carried) {
        view.units.insert(unit.serial.clone(), unit.clone());
    }
    for set in &change.sets {
        if set.children.is_empty() {
            view.sets.remove(&set.id);
        } else {
            view.sets.insert(set.id.clone(), set.clone());
        }
    }
    if let Some(order) = &change.order {
        view.orders.insert(order.id.clone(), order.clone());
    }
    for pick in &change.picks {
        match pick {
            PickChange::Picked(pick) => view.picks.push(pick.clone()),
            PickChange::PutBack(pick) => view.picks.retain(|p| p != pick),
        }
    }
    if let Some(shipment) = &change.shipment {
        view.shipments.insert(shipment.id.clone(), shipment.clone());
    }
    for dispatch in &change.dispatches {
        view.dispatched.insert(
            (dispatch.shipment_id.clone(), dispatch.ordinal),
            dispatch.serial.clone(),
        );
    }
}

/// Runs `action` on `raw` with the fields `edit` sets, committing it when accepted.
fn run_scan(
    view: &mut MemoryView,
    action: Action,
    raw: &str,
    edit: impl FnOnce(&mut Scan),
) -> Result<Change, Rejection> {
    let mut s = scan(raw, None, None);
    s.action = action;
    edit(&mut s);
    let read = read_scan(&s, crate::barcode::Date::new(2026, 11, 23))?;
    let Ok(decision) = apply(&s, &read, view, 9, 1_795_422_605_000);
    if let Ok(change) = &decision {
        commit(view, change);
    }
    decision
}

fn stored_view(serials: &[&str]) -> MemoryView {
    let mut view = MemoryView::with_items([item("A", false), item("B", false)]);
    for serial in serials {
        let mut u = unit(serial);
        u.state = UnitState::Stored;
        u.location = "A-01".to_owned();
        view.units.insert((*serial).to_owned(), u);
    }
    view
}

fn pack(view: &mut MemoryView, child: &str, parent: &str) -> Result<Change, Rejection> {
    run_scan(view, Action::Aggregate, child, |s| {
        s.parent = Some(parent.to_owned());
    })
}

const CASE: &str = "095060001343520017";

#[test]
fn a_pallet_carries_its_units_and_they_do_not_move_alone() {
    let mut view = stored_view(&["SN01", "SN02", "SN03"]);
    for serial in ["SN01", "SN02"] {
        let packed = pack(&mut view, serial, PALLET).unwrap();
        assert_eq!(packed.subject, serial);
        assert_eq!(
            packed.unit.as_ref().unwrap().parent.as_deref(),
            Some(PALLET)
        );
    }
    assert_eq!(view.sets[PALLET].children, ["SN01", "SN02"]);
    assert_eq!(view.sets[PALLET].units, 2);
    assert_eq!(view.sets[PALLET].kind, SetKind::Sscc);
    // Packed twice, or into something that is neither a unit nor an SSCC.
    let again = pack(&mut view, "SN01", PALLET).unwrap_err();
    assert_eq!(again.reason, Reason::AlreadyInSet);
    let elsewhere = pack(&mut view, "SN01", CASE).unwrap_err();
    assert_eq!(elsewhere.reason, Reason::AlreadyInSet);
    assert!(
        elsewhere.message.contains("DISAGGREGATE"),
        "{}",
        elsewhere.message
    );
    let bad_parent = pack(&mut view, "SN03", "123456789012345678").unwrap_err();
    assert_eq!(bad_parent.reason, Reason::UnknownUnit);
    assert!(
        bad_parent.message.contains("SSCC"),
        "{}",
        bad_parent.message
    );
    let itself = pack(&mut view, "SN03", "SN03").unwrap_err();
    assert_eq!(itself.reason, Reason::ConflictingFields);
    let no_parent = run_scan(&mut view, Action::Aggregate, "SN03", |_| {}).unwrap_err();
    assert_eq!(no_parent.reason, Reason::MissingField);
    let unknown = pack(&mut view, "SN99", PALLET).unwrap_err();
    assert_eq!(unknown.reason, Reason::UnknownUnit);

    // A packed unit does not move alone.
    let alone = run_scan(&mut view, Action::Putaway, "SN01", |s| {
        s.location = Some("B-02".to_owned());
    })
    .unwrap_err();
    assert_eq!(alone.reason, Reason::AlreadyInSet);
    assert!(alone.message.contains(PALLET), "{}", alone.message);

    // Moving the pallet moves both units, in one decision.
    let moved = run_scan(&mut view, Action::Putaway, PALLET, |s| {
        s.location = Some("B-02".to_owned());
    })
    .unwrap();
    assert_eq!(moved.subject, PALLET);
    assert!(moved.unit.is_none());
    assert_eq!(moved.carried.len(), 2);
    assert!(moved.message.contains("2 units"), "{}", moved.message);
    for serial in ["SN01", "SN02"] {
        assert_eq!(view.units[serial].location, "B-02");
        assert_eq!(view.units[serial].last_seq, 9);
    }
    assert_eq!(view.units["SN03"].location, "A-01");
}

#[test]
fn a_carried_scan_is_all_or_nothing() {
    let mut view = stored_view(&["SN01", "SN02", "SN03"]);
    view.units.get_mut("SN02").unwrap().sku = "B".to_owned();
    for serial in ["SN01", "SN02", "SN03"] {
        pack(&mut view, serial, PALLET).unwrap();
    }
    view.orders.insert(
        "O1".to_owned(),
        Order {
            id: "O1".to_owned(),
            customer: "ACME".to_owned(),
            lines: vec![
                OrderLine {
                    sku: "A".to_owned(),
                    lot: None,
                    quantity: 2,
                    n_picked: 0,
                },
                OrderLine {
                    sku: "B".to_owned(),
                    lot: None,
                    quantity: 1,
                    n_picked: 0,
                },
            ],
            created_at_ms: 0,
            shipment_id: None,
            picks_made: 0,
        },
    );
    // One unit on hold stops the whole pallet, and nothing changes.
    view.units.get_mut("SN03").unwrap().hold = Some(Hold {
        kind: HoldKind::Blocked,
        reference: "wet".to_owned(),
    });
    let before = view.clone();
    let held = run_scan(&mut view, Action::Pick, PALLET, |s| {
        s.order_id = Some("O1".to_owned());
    })
    .unwrap_err();
    assert_eq!(held.reason, Reason::OnHold);
    assert!(held.message.contains("unit SN03"), "{}", held.message);
    assert_eq!(view.units, before.units);
    assert_eq!(view.orders, before.orders);

    // Released, the pallet fills both lines in one scan; the lines see each other's picks.
    view.units.get_mut("SN03").unwrap().hold = None;
    let picked = run_scan(&mut view, Action::Pick, PALLET, |s| {
        s.order_id = Some("O1".to_owned());
    })
    .unwrap();
    let order = picked.order.unwrap();
    assert_eq!((order.lines[0].n_picked, order.lines[1].n_picked), (2, 1));
    let mut line_of = |serial: &str| view.picks_of("O1", serial).unwrap()[0].line;
    assert_eq!(
        (line_of("SN01"), line_of("SN03"), line_of("SN02")),
        (0, 0, 1)
    );
    let picked: Vec<String> = view
        .order_picks("O1")
        .unwrap()
        .into_iter()
        .map(|p| p.serial)
        .collect();
    assert_eq!(picked, ["SN01", "SN03", "SN02"]);
    assert!(view.units.values().all(|u| u.state == UnitState::Picked));

    // An order that has room for two units refuses a pallet of three: over-pick.
    let mut small = stored_view(&["SN01", "SN02", "SN03"]);
    for serial in ["SN01", "SN02", "SN03"] {
        pack(&mut small, serial, PALLET).unwrap();
    }
    let mut order = view.orders["O1"].clone();
    order.lines.truncate(1);
    order.lines[0].n_picked = 0;
    small.orders.insert("O1".to_owned(), order);
    let over = run_scan(&mut small, Action::Pick, PALLET, |s| {
        s.order_id = Some("O1".to_owned());
    })
    .unwrap_err();
    assert_eq!(over.reason, Reason::OverPick);
    assert!(small.units.values().all(|u| u.state == UnitState::Stored));
}

#[test]
fn cases_nest_in_pallets_without_cycles() {
    let mut view = stored_view(&["SN01", "SN02", "SN03"]);
    pack(&mut view, "SN01", CASE).unwrap();
    pack(&mut view, "SN02", CASE).unwrap();
    let case_on_pallet = pack(&mut view, CASE, PALLET).unwrap();
    assert_eq!(case_on_pallet.subject, CASE);
    assert!(case_on_pallet.unit.is_none());
    pack(&mut view, "SN03", PALLET).unwrap();
    assert_eq!(view.sets[PALLET].units, 3);
    assert_eq!(view.sets[CASE].parent.as_deref(), Some(PALLET));
    // The pallet cannot go into its own case.
    let cycle = pack(&mut view, PALLET, CASE).unwrap_err();
    assert_eq!(cycle.reason, Reason::ConflictingFields);
    // The case moves only with its pallet.
    let alone = run_scan(&mut view, Action::Putaway, CASE, |s| {
        s.location = Some("B-02".to_owned());
    })
    .unwrap_err();
    assert_eq!(alone.reason, Reason::AlreadyInSet);
    let moved = run_scan(&mut view, Action::Putaway, PALLET, |s| {
        s.location = Some("B-02".to_owned());
    })
    .unwrap();
    assert_eq!(moved.carried.len(), 3);
    // Taking the case off the pallet recounts it; unpacking the case frees its units.
    let off = run_scan(&mut view, Action::Disaggregate, CASE, |_| {}).unwrap();
    assert!(off.message.contains(PALLET), "{}", off.message);
    assert_eq!(view.sets[PALLET].units, 1);
    assert_eq!(view.sets[CASE].parent, None);
    let unpacked = run_scan(&mut view, Action::Disaggregate, CASE, |_| {}).unwrap();
    assert_eq!(unpacked.carried.len(), 2);
    assert!(!view.sets.contains_key(CASE));
    assert_eq!(view.units["SN01"].parent, None);
    let nothing = run_scan(&mut view, Action::Disaggregate, "SN01", |_| {}).unwrap_err();
    assert_eq!(nothing.reason, Reason::NotInSet);
    // The last unit out of the pallet removes it.
    run_scan(&mut view, Action::Disaggregate, "SN03", |_| {}).unwrap();
    assert!(view.sets.is_empty());
}

#[test]
fn a_kit_carries_its_components_and_one_scrapped_alone_leaves_it() {
    let mut view = stored_view(&["KIT1", "SN01", "SN02"]);
    pack(&mut view, "SN01", "KIT1").unwrap();
    pack(&mut view, "SN02", "KIT1").unwrap();
    assert_eq!(view.sets["KIT1"].kind, SetKind::Kit);
    let scrapped = run_scan(&mut view, Action::Scrap, "KIT1", |_| {}).unwrap();
    assert_eq!(scrapped.unit.as_ref().unwrap().state, UnitState::Scrapped);
    assert_eq!(scrapped.carried.len(), 2);
    assert!(view.units.values().all(|u| u.state == UnitState::Scrapped));

    // A component scrapped on its own leaves the kit.
    let mut view = stored_view(&["KIT1", "SN01", "SN02"]);
    pack(&mut view, "SN01", "KIT1").unwrap();
    pack(&mut view, "SN02", "KIT1").unwrap();
    let one = run_scan(&mut view, Action::Scrap, "SN01", |_| {}).unwrap();
    assert!(one.message.contains("taken out of KIT1"), "{}", one.message);
    assert_eq!(view.units["SN01"].parent, None);
    assert_eq!(view.sets["KIT1"].children, ["SN02"]);
    assert_eq!(view.sets["KIT1"].units, 1);
    // A kit's own unit in a dispatched state cannot take components.
    view.units.get_mut("KIT1").unwrap().state = UnitState::Dispatched;
    let sold = pack(&mut view, "SN01", "KIT1");
    assert!(sold.is_err());
}

#[test]
fn a_set_is_full_at_its_bounds_and_not_before() {
    use super::sets::{SET_CHILDREN_MAX, SET_UNITS_MAX};
    // A pallet one child short of the bound takes one more; at the bound it is SET_FULL.
    let mut view = stored_view(&["SN01", "SN02"]);
    let mut full = pallet(&[]);
    full.children = (0..SET_CHILDREN_MAX - 1).map(|i| format!("X{i}")).collect();
    full.units = 1;
    view.sets.insert(PALLET.to_owned(), full);
    pack(&mut view, "SN01", PALLET).unwrap();
    assert_eq!(view.sets[PALLET].children.len(), SET_CHILDREN_MAX);
    let over = pack(&mut view, "SN02", PALLET).unwrap_err();
    assert_eq!(over.reason, Reason::SetFull);

    // The units of a whole tree: a pallet holding SET_UNITS_MAX - 1 units takes one more.
    let mut view = stored_view(&["SN01", "SN02"]);
    let mut heavy = pallet(&["C"]);
    heavy.units = SET_UNITS_MAX - 1;
    view.sets.insert(PALLET.to_owned(), heavy);
    pack(&mut view, "SN01", PALLET).unwrap();
    assert_eq!(view.sets[PALLET].units, SET_UNITS_MAX);
    let over = pack(&mut view, "SN02", PALLET).unwrap_err();
    assert_eq!(over.reason, Reason::SetFull);
    assert!(over.message.contains("is full"), "{}", over.message);
}
