//! A group's writes before they are applied: keys set or removed, in key order, the last
//! write of a key winning. The writer fills one per group whatever the engine; each engine
//! applies it atomically (sled as one `apply_batch`, PostgreSQL in the group's transaction).

use std::collections::BTreeMap;

use sled::IVec;

#[derive(Default)]
pub(super) struct Batch {
    /// Key → new value (`None`: removed).
    writes: BTreeMap<IVec, Option<IVec>>,
}

impl Batch {
    pub(super) fn insert<K: Into<IVec>, V: Into<IVec>>(&mut self, key: K, value: V) {
        self.writes.insert(key.into(), Some(value.into()));
    }

    pub(super) fn remove<K: Into<IVec>>(&mut self, key: K) {
        self.writes.insert(key.into(), None);
    }

    /// How many keys the batch sets or removes.
    pub(super) fn len(&self) -> usize {
        self.writes.len()
    }

    /// The writes in key order.
    pub(super) fn into_writes(self) -> impl Iterator<Item = (IVec, Option<IVec>)> {
        self.writes.into_iter()
    }

    pub(super) fn into_sled(self) -> sled::Batch {
        let mut batch = sled::Batch::default();
        for (key, value) in self.writes {
            match value {
                Some(value) => batch.insert(key, value),
                None => batch.remove(key),
            }
        }
        batch
    }
}
