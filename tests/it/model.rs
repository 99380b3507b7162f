//! Model test of the store: random sequences of receives, retries and restarts against the
//! real `SledStore`, compared after every step with a plain in-memory model.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use serialtrack::barcode::SerialRule;
use serialtrack::domain::{self, Action, EntryMode, Item, Reason, Scan};
use serialtrack::store::{PreparedScan, SledStore, Store};
use uuid::Uuid;

const SERIALS: [&str; 5] = ["S0", "S1", "S2", "S3", "S4"];

#[derive(Debug, Clone)]
enum Step {
    /// Receive a serial under a SKU choice: 0 plain item, 1 lot-tracked item, 2 unknown, 3 none.
    Receive {
        serial: usize,
        sku: usize,
    },
    /// Send an earlier scan again, with its event_id.
    Retry {
        index: usize,
    },
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..SERIALS.len(), 0..4usize).prop_map(|(serial, sku)| Step::Receive { serial, sku }),
        2 => any::<usize>().prop_map(|index| Step::Retry { index }),
        1 => Just(Step::Restart),
    ]
}

fn item(sku: &str, lot_tracked: bool) -> Item {
    Item {
        sku: sku.to_owned(),
        gtin: None,
        description: String::new(),
        lot_tracked,
        warranty_months: 0,
        serial_rule: SerialRule::default(),
        updated_at_ms: 0,
        issuing: None,
    }
}

fn scan(serial: &str, sku: Option<&str>) -> Scan {
    Scan {
        event_id: Uuid::new_v4(),
        station: "DOCK".to_owned(),
        operator: "model".to_owned(),
        action: Action::Receive,
        raw: serial.as_bytes().to_vec(),
        sku: sku.map(str::to_owned),
        lot: None,
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

async fn send(store: &SledStore, scan: &Scan) -> (Reason, u64, bool) {
    let prepared = PreparedScan {
        read: domain::read_scan(scan, serialtrack::barcode::Date::new(2026, 11, 23)),
        scan: scan.clone(),
    };
    let answers = store.scan(vec![prepared]).await.expect("store answers");
    let answer = &answers[0];
    (answer.event.reason, answer.event.seq, answer.replayed)
}

async fn run(steps: Vec<Step>) {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let mut store = SledStore::open(&dir).unwrap();
    store.put_item(item("A", false)).await.unwrap().unwrap();
    store.put_item(item("L", true)).await.unwrap().unwrap();

    let mut units: BTreeMap<&str, &str> = BTreeMap::new();
    let mut sent: Vec<(Scan, (Reason, u64))> = Vec::new();
    let mut answered: HashMap<Uuid, (Reason, u64)> = HashMap::new();
    let mut next_seq = 1u64;
    for step in steps {
        match step {
            Step::Receive { serial, sku } => {
                let serial = SERIALS[serial];
                let sku_name = [Some("A"), Some("L"), Some("NOPE"), None][sku];
                let expected = match sku_name {
                    None => Reason::MissingField,
                    Some("NOPE") => Reason::UnknownItem,
                    Some(_) if units.contains_key(serial) => Reason::DuplicateSerial,
                    Some("L") => Reason::MissingField,
                    Some(_) => Reason::Ok,
                };
                let s = scan(serial, sku_name);
                let got = send(&store, &s).await;
                assert_eq!(
                    got,
                    (expected, next_seq, false),
                    "receive {serial} as {sku_name:?}"
                );
                if expected == Reason::Ok {
                    units.insert(serial, sku_name.unwrap_or_default());
                }
                answered.insert(s.event_id, (expected, next_seq));
                sent.push((s, (expected, next_seq)));
                next_seq += 1;
            }
            Step::Retry { index } => {
                if sent.is_empty() {
                    continue;
                }
                let (s, (reason, seq)) = sent[index % sent.len()].clone();
                assert_eq!(answered.get(&s.event_id), Some(&(reason, seq)));
                assert_eq!(
                    send(&store, &s).await,
                    (reason, seq, true),
                    "retry of event {seq}"
                );
            }
            Step::Restart => {
                drop(store);
                store = SledStore::open(&dir).unwrap();
            }
        }
        for serial in SERIALS {
            let unit = store.unit(serial).await.unwrap();
            assert_eq!(
                unit.map(|u| u.sku),
                units.get(serial).map(|s| (*s).to_owned()),
                "unit {serial}"
            );
        }
        let events = store.events(1, 10_000).await.unwrap();
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        assert_eq!(
            seqs,
            (1..next_seq).collect::<Vec<_>>(),
            "event log has gaps, repeats or extras"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn store_matches_the_model_across_retries_and_restarts(steps in proptest::collection::vec(step(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(run(steps));
    }
}
