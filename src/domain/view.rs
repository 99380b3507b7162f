//! What the domain reads while it decides, and an in-memory implementation of it.

use std::collections::BTreeMap;
use std::convert::Infallible;

use super::{Item, Unit};

/// The state a decision reads: the store's, including what scans decided earlier in the same
/// batch changed. Methods take `&mut self` so a store can cache what it read.
pub trait View {
    type Error;

    fn item(&mut self, sku: &str) -> Result<Option<Item>, Self::Error>;
    fn item_by_gtin(&mut self, gtin: &str) -> Result<Option<Item>, Self::Error>;
    fn unit(&mut self, serial: &str) -> Result<Option<Unit>, Self::Error>;
}

/// A [`View`] over maps, for tests and models.
#[derive(Clone, Debug, Default)]
pub struct MemoryView {
    pub items: BTreeMap<String, Item>,
    pub units: BTreeMap<String, Unit>,
}

impl MemoryView {
    pub fn with_items(items: impl IntoIterator<Item = Item>) -> Self {
        MemoryView {
            items: items.into_iter().map(|i| (i.sku.clone(), i)).collect(),
            units: BTreeMap::new(),
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
}
