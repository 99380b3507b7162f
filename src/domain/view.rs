//! What the domain reads while it decides, and an in-memory implementation of it.

use std::collections::BTreeMap;
use std::convert::Infallible;

use super::receipt::{Mark, Receipt};
use super::sets::UnitSet;
use super::warehouse::{Pick, Recall, recall_hold, sort_picks};
use super::{Hold, Item, Order, Shipment, Unit};

/// The state a decision reads: the store's, including what scans decided earlier in the same
/// batch changed. Methods take `&mut self` so a store can cache what it read.
pub trait View {
    type Error;

    fn item(&mut self, sku: &str) -> Result<Option<Item>, Self::Error>;
    fn item_by_gtin(&mut self, gtin: &str) -> Result<Option<Item>, Self::Error>;
    fn unit(&mut self, serial: &str) -> Result<Option<Unit>, Self::Error>;
    fn order(&mut self, id: &str) -> Result<Option<Order>, Self::Error>;
    /// The picks of `serial` for order `order_id`: one, or more when a unit that came back
    /// to stock was picked for the same order again.
    fn picks_of(&mut self, order_id: &str, serial: &str) -> Result<Vec<Pick>, Self::Error>;
    /// Every pick of an order, by line, then in pick order.
    fn order_picks(&mut self, order_id: &str) -> Result<Vec<Pick>, Self::Error>;
    fn shipment(&mut self, id: &str) -> Result<Option<Shipment>, Self::Error>;
    /// The serials scanned at dispatch for a shipment, in scan order.
    fn shipment_dispatched(&mut self, shipment_id: &str) -> Result<Vec<String>, Self::Error>;
    fn recall(&mut self, id: &str) -> Result<Option<Recall>, Self::Error>;
    /// The hold an active recall puts on `unit`, if any.
    fn recall_hold(&mut self, unit: &Unit) -> Result<Option<Hold>, Self::Error>;
    fn receipt(&mut self, id: &str) -> Result<Option<Receipt>, Self::Error>;
    /// Our serial of the unit that carries manufacturer serial `mfr`.
    fn serial_by_mfr(&mut self, mfr: &str) -> Result<Option<String>, Self::Error>;
    /// How `serial` stands on receipt `id`, with the SKU the receipt lists it as.
    fn receipt_entry(
        &mut self,
        id: &str,
        serial: &str,
    ) -> Result<Option<(Mark, String)>, Self::Error>;
    /// The set whose parent is `id` (a kit serial or an SSCC).
    fn set(&mut self, id: &str) -> Result<Option<UnitSet>, Self::Error>;
}

/// A [`View`] over maps, for tests and models.
#[derive(Clone, Debug, Default)]
pub struct MemoryView {
    pub items: BTreeMap<String, Item>,
    pub units: BTreeMap<String, Unit>,
    pub orders: BTreeMap<String, Order>,
    /// Every order's picks, in no particular order.
    pub picks: Vec<Pick>,
    pub shipments: BTreeMap<String, Shipment>,
    /// (shipment id, ordinal) → serial.
    pub dispatched: BTreeMap<(String, u32), String>,
    pub recalls: BTreeMap<String, Recall>,
    pub receipts: BTreeMap<String, Receipt>,
    /// (receipt id, serial) → mark and SKU.
    pub receipt_entries: BTreeMap<(String, String), (Mark, String)>,
    pub sets: BTreeMap<String, UnitSet>,
}

impl MemoryView {
    pub fn with_items(items: impl IntoIterator<Item = Item>) -> Self {
        MemoryView {
            items: items.into_iter().map(|i| (i.sku.clone(), i)).collect(),
            ..MemoryView::default()
        }
    }
}

impl View for MemoryView {
    type Error = Infallible;

    fn item(&mut self, sku: &str) -> Result<Option<Item>, Infallible> {
        Ok(self.items.get(sku).cloned())
    }

    fn item_by_gtin(&mut self, gtin: &str) -> Result<Option<Item>, Infallible> {
        Ok(self
            .items
            .values()
            .find(|i| i.gtin.as_deref() == Some(gtin))
            .cloned())
    }

    fn unit(&mut self, serial: &str) -> Result<Option<Unit>, Infallible> {
        Ok(self.units.get(serial).cloned())
    }

    fn order(&mut self, id: &str) -> Result<Option<Order>, Infallible> {
        Ok(self.orders.get(id).cloned())
    }

    fn picks_of(&mut self, order_id: &str, serial: &str) -> Result<Vec<Pick>, Infallible> {
        let mut picks: Vec<Pick> = self
            .picks
            .iter()
            .filter(|p| p.order_id == order_id && p.serial == serial)
            .cloned()
            .collect();
        sort_picks(&mut picks);
        Ok(picks)
    }

    fn order_picks(&mut self, order_id: &str) -> Result<Vec<Pick>, Infallible> {
        let mut picks: Vec<Pick> = self
            .picks
            .iter()
            .filter(|p| p.order_id == order_id)
            .cloned()
            .collect();
        sort_picks(&mut picks);
        Ok(picks)
    }

    fn shipment(&mut self, id: &str) -> Result<Option<Shipment>, Infallible> {
        Ok(self.shipments.get(id).cloned())
    }

    fn shipment_dispatched(&mut self, shipment_id: &str) -> Result<Vec<String>, Infallible> {
        Ok(self
            .dispatched
            .iter()
            .filter(|((id, _), _)| id == shipment_id)
            .map(|(_, serial)| serial.clone())
            .collect())
    }

    fn recall(&mut self, id: &str) -> Result<Option<Recall>, Infallible> {
        Ok(self.recalls.get(id).cloned())
    }

    fn recall_hold(&mut self, unit: &Unit) -> Result<Option<Hold>, Infallible> {
        Ok(recall_hold(self.recalls.values(), unit))
    }

    fn receipt(&mut self, id: &str) -> Result<Option<Receipt>, Infallible> {
        Ok(self.receipts.get(id).cloned())
    }

    fn serial_by_mfr(&mut self, mfr: &str) -> Result<Option<String>, Infallible> {
        Ok(self
            .units
            .values()
            .find(|u| u.mfr_serial.as_deref() == Some(mfr))
            .map(|u| u.serial.clone()))
    }

    fn receipt_entry(
        &mut self,
        id: &str,
        serial: &str,
    ) -> Result<Option<(Mark, String)>, Infallible> {
        Ok(self
            .receipt_entries
            .get(&(id.to_owned(), serial.to_owned()))
            .cloned())
    }

    fn set(&mut self, id: &str) -> Result<Option<UnitSet>, Infallible> {
        Ok(self.sets.get(id).cloned())
    }
}
