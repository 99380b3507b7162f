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
            assert_eq!(change.unit.first_seen_seq, 9);
            assert_eq!(change.unit.location, scan.station);
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
                        picked: vec!["SN01".to_owned()],
                    }],
                    created_at_ms: 0,
                    shipment_id: Some("S1".to_owned()),
                },
            );
            view.shipments.insert(
                "S1".to_owned(),
                Shipment {
                    id: "S1".to_owned(),
                    order_id: "O1".to_owned(),
                    customer: "ACME".to_owned(),
                    dispatched: Vec::new(),
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
            let read = read_scan(&s, crate::barcode::Date::new(2026, 11, 23)).unwrap();
            let Ok(decision) = apply(&s, &read, &mut view, 9, 1_795_422_605_000);
            let pair = format!("{} from {}", action.name(), state.name());
            match (next_state(Some(state), action), decision) {
                (Some(to), Ok(change)) => {
                    assert_eq!(change.unit.state, to, "{pair}");
                    assert_eq!(change.unit.last_seq, 9, "{pair}");
                    assert_ne!(change.outcome, Outcome::Rejected, "{pair}");
                }
                (Some(_), Err(r)) => panic!("{pair}: allowed but refused: {}", r.message),
                (None, Ok(change)) => panic!("{pair}: not allowed but applied: {}", change.message),
                (None, Err(r)) => {
                    let want = match (action, state) {
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
    assert_eq!(change.unit.state, UnitState::Returned);
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
            view.units.insert("SN01".to_owned(), change.unit.clone());
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
    assert_eq!(blocked.unit.state, UnitState::Stored);
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
    assert_eq!(released.unit.hold, None);
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
