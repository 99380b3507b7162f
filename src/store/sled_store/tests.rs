//! The sled store's record layout: an order's record keeps its size however many units are
//! picked (the picks are keys of their own), and a store of layout 1, whose orders and
//! shipments held their serials in the record, is upgraded when it is opened.

use uuid::Uuid;

use super::super::records::layout1;
use super::*;
use crate::barcode::SerialRule;
use crate::domain::{Action, EntryMode, OrderLine, Scan};

fn item(sku: &str) -> Item {
    Item {
        sku: sku.to_owned(),
        gtin: None,
        description: String::new(),
        lot_tracked: false,
        warranty_months: 0,
        serial_rule: SerialRule::default(),
        updated_at_ms: 0,
        issuing: None,
    }
}

fn scan(action: Action, serial: &str) -> PreparedScan {
    let scan = Scan {
        event_id: Uuid::new_v4(),
        station: "PACK-1".to_owned(),
        operator: "test".to_owned(),
        action,
        raw: serial.as_bytes().to_vec(),
        sku: Some("A".to_owned()),
        lot: None,
        entry_mode: EntryMode::Scanned,
        client_time_ms: 0,
        location: (action == Action::Putaway).then(|| "BIN-1".to_owned()),
        order_id: (action == Action::Pick).then(|| "O1".to_owned()),
        shipment_id: None,
        customer: None,
        rma: None,
        hold_reason: None,
        receipt_id: None,
        mfr_serial: None,
        parent: None,
    };
    let read = domain::read_scan(&scan, crate::barcode::Date::new(2026, 11, 23));
    PreparedScan { scan, read }
}

fn order(lines: &[(&str, u32)]) -> Order {
    Order {
        id: "O1".to_owned(),
        customer: "ACME".to_owned(),
        lines: lines
            .iter()
            .map(|(sku, quantity)| OrderLine {
                sku: (*sku).to_owned(),
                lot: None,
                quantity: *quantity,
                n_picked: 0,
            })
            .collect(),
        created_at_ms: 0,
        shipment_id: None,
        picks_made: 0,
    }
}

/// Receives, stores and picks `serials` for order O1, each scan accepted.
async fn pick_all(store: &SledStore, serials: &[String]) {
    for action in [Action::Receive, Action::Putaway, Action::Pick] {
        let scans = serials.iter().map(|s| scan(action, s)).collect();
        for answer in store.scan(scans).await.unwrap() {
            assert_eq!(answer.event.outcome, Outcome::Accepted, "{answer:?}");
        }
    }
}

fn record_len(store: &SledStore, key: &[u8]) -> usize {
    store.inner.tree.get(key).unwrap().unwrap().len()
}

/// The bytes-per-unit growth of the soak (issue 9): the order's record held every picked
/// serial and was rewritten whole with every pick.
#[tokio::test]
async fn an_order_record_keeps_its_size_however_many_units_are_picked() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    store.put_item(item("A")).await.unwrap().unwrap();
    store
        .document(DocumentOp::CreateOrder(order(&[("A", 500)])))
        .await
        .unwrap()
        .unwrap();
    let serials: Vec<String> = (0..300).map(|n| format!("SOAK-UNIT-{n:06}")).collect();
    pick_all(&store, &serials[..1]).await;
    let after_one = record_len(&store, &keys::order("O1"));
    pick_all(&store, &serials[1..]).await;
    let after_all = record_len(&store, &keys::order("O1"));
    // Only the two counters grow, from one varint byte to two each; 300 serials of 16 bytes
    // would have added 5,400 bytes.
    assert!(
        after_all <= after_one + 2,
        "{after_one} -> {after_all} bytes"
    );
    let prefix = keys::pick_prefix("O1").unwrap();
    assert_eq!(store.inner.tree.scan_prefix(&prefix).count(), 300);
    let read = store.order("O1").await.unwrap().unwrap();
    assert_eq!((read.lines[0].n_picked, read.picks_made), (300, 300));
    let picks = store.order_picks("O1").await.unwrap();
    let picked: Vec<&String> = picks.iter().map(|p| &p.serial).collect();
    assert_eq!(picked, serials.iter().collect::<Vec<_>>(), "in pick order");
}

/// The sled engine below `dir`, as data dirs made before redb hold it.
fn open_sled(dir: &Path, cache_bytes: u64) -> sled::Result<sled::Db> {
    sled::Config::new()
        .path(dir.join(super::super::kv::SLED_DIR))
        .cache_capacity(cache_bytes)
        .open()
}

/// An order and a shipment as serialtrack wrote them before the picks became keys.
fn write_layout1(dir: &Path) {
    let db = open_sled(dir, CACHE_BYTES).unwrap();
    let mut o = order(&[("A", 3), ("B", 1)]);
    o.shipment_id = Some("SH1".to_owned());
    db.insert(
        keys::order("O1"),
        layout1::order(&o, &[&["U2", "U1"], &["V1"]]),
    )
    .unwrap();
    let shipment = Shipment {
        id: "SH1".to_owned(),
        order_id: "O1".to_owned(),
        customer: "ACME".to_owned(),
        n_dispatched: 0,
        created_at_ms: 0,
        closed: None,
    };
    db.insert(
        keys::shipment("SH1"),
        layout1::shipment(&shipment, &["V1", "U2"]),
    )
    .unwrap();
    db.flush().unwrap();
}

#[tokio::test]
async fn a_layout_1_store_is_upgraded_when_it_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    write_layout1(dir.path());
    // Read as layout 2 without the upgrade, the record is refused rather than misread.
    {
        let db = open_sled(dir.path(), CACHE_BYTES).unwrap();
        let bytes = db.get(keys::order("O1")).unwrap().unwrap();
        let refused = decode_order(&bytes).unwrap_err().to_string();
        assert!(
            refused.contains("still holds its picked serials"),
            "{refused}"
        );
    }
    for _open in 0..2 {
        let store = SledStore::open(dir.path()).unwrap();
        let order = store.order("O1").await.unwrap().unwrap();
        let counts: Vec<u32> = order.lines.iter().map(|l| l.n_picked).collect();
        assert_eq!((counts, order.picks_made), (vec![2, 1], 3));
        let picks: Vec<(String, usize)> = store
            .order_picks("O1")
            .await
            .unwrap()
            .into_iter()
            .map(|p| (p.serial, p.line))
            .collect();
        let expected = [("U2", 0), ("U1", 0), ("V1", 1)].map(|(s, l)| (s.to_owned(), l));
        assert_eq!(picks, expected);
        let shipment = store.shipment("SH1").await.unwrap().unwrap();
        assert_eq!(shipment.n_dispatched, 2);
        assert_eq!(
            store.shipment_dispatched("SH1").await.unwrap(),
            ["V1", "U2"]
        );
        let layout = store.inner.tree.get(keys::LAYOUT).unwrap().unwrap();
        assert_eq!(layout.as_ref(), keys::LAYOUT_VERSION.to_be_bytes());
    }
}

#[test]
fn a_store_of_a_later_layout_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open_sled(dir.path(), CACHE_BYTES).unwrap();
        db.insert(keys::LAYOUT, &(keys::LAYOUT_VERSION + 1).to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let Err(refused) = SledStore::open(dir.path()) else {
        panic!("opened a store of a later layout");
    };
    assert!(
        refused
            .to_string()
            .contains("the data dir has key layout 3, written by a later serialtrack"),
        "{refused}"
    );
}

#[test]
fn a_data_dir_opens_only_on_the_engine_it_holds() {
    for (made, other) in [(Engine::Sled, Engine::Redb), (Engine::Redb, Engine::Sled)] {
        let dir = tempfile::tempdir().unwrap();
        drop(SledStore::open_engine(dir.path(), made, CACHE_BYTES).unwrap());
        let Err(refused) = SledStore::open_engine(dir.path(), other, CACHE_BYTES) else {
            panic!("a {made:?} data dir opened as {other:?}");
        };
        let expected = format!("holds a {} store, not {}", made.name(), other.name());
        assert!(refused.to_string().contains(&expected), "{refused}");
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.engine(), made);
    }
}
