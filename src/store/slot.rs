//! The engine readers use, swapped by the writer when it reopens the data dir after a failed
//! write.
//!
//! sled 0.34 applies a batch in memory before it writes it, keeps it there when the write or
//! the flush fails, and refuses every later write (its error is sticky); redb refuses every
//! later operation after a failed write to its file (`PreviousIo`). So after a failure the
//! writer empties this slot at once (readers get UNAVAILABLE instead of the failed group),
//! drops its own handles, opens the engine again from what is on disk, and puts the new one
//! here. [`TreeSlot`] offers the read methods of [`Kv`] that the store uses, so readers keep
//! their shape. Must not hold its lock while a caller iterates: every method clones the handle
//! out first (the old engine can only be reopened once no handle is left).

use std::ops::RangeBounds;
use std::sync::RwLock;

use super::StoreError;
use super::kv::{Kv, KvIter};

pub(super) struct TreeSlot(RwLock<Result<Kv, String>>);

impl TreeSlot {
    pub(super) fn new(kv: Kv) -> TreeSlot {
        TreeSlot(RwLock::new(Ok(kv)))
    }

    /// The engine now, or why there is none.
    fn current(&self) -> Result<Kv, StoreError> {
        match &*self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Ok(kv) => Ok(kv.clone()),
            Err(why) => Err(StoreError::Unavailable(why.clone())),
        }
    }

    /// Empties the slot: readers get `why` as UNAVAILABLE until [`TreeSlot::put`].
    pub(super) fn fail(&self, why: String) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Err(why);
    }

    pub(super) fn put(&self, kv: Kv) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Ok(kv);
    }

    pub(super) fn get<K: AsRef<[u8]>>(&self, key: K) -> Result<Option<sled::IVec>, StoreError> {
        self.current()?.get(key)
    }

    pub(super) fn scan_prefix<P: AsRef<[u8]>>(&self, prefix: P) -> KvIter {
        match self.current() {
            Ok(kv) => kv.scan_prefix(prefix),
            Err(why) => KvIter::Failed(Some(why)),
        }
    }

    pub(super) fn range<K, R>(&self, range: R) -> KvIter
    where
        K: AsRef<[u8]>,
        R: RangeBounds<K>,
    {
        match self.current() {
            Ok(kv) => kv.range(range),
            Err(why) => KvIter::Failed(Some(why)),
        }
    }
}
