//! The sled database readers use, swapped by the writer when it reopens the database after a
//! failed write.
//!
//! sled 0.34 applies a batch in memory before it writes it, keeps it there when the write or
//! the flush fails, and refuses every later write (its error is sticky). So after a failure
//! the writer empties this slot at once (readers get UNAVAILABLE instead of the failed group),
//! drops its own handles, opens the database again from what is on disk, and puts the new one
//! here. [`TreeSlot`] offers the read methods of `sled::Tree` that the store uses, so readers
//! keep their shape. Must not hold its lock while a caller iterates: every method clones the
//! handle out first (the old database can only be reopened once no handle is left).

use std::ops::RangeBounds;
use std::sync::RwLock;

use super::StoreError;

pub(super) struct TreeSlot(RwLock<Result<sled::Db, String>>);

/// A range of the current tree, or the failure that emptied the slot (yielded once).
pub(super) enum SlotIter {
    Tree(Box<sled::Iter>),
    Failed(Option<sled::Error>),
}

impl Iterator for SlotIter {
    type Item = sled::Result<(sled::IVec, sled::IVec)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            SlotIter::Tree(iter) => iter.next(),
            SlotIter::Failed(error) => error.take().map(Err),
        }
    }
}

impl DoubleEndedIterator for SlotIter {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            SlotIter::Tree(iter) => iter.next_back(),
            SlotIter::Failed(error) => error.take().map(Err),
        }
    }
}

impl TreeSlot {
    pub(super) fn new(db: sled::Db) -> TreeSlot {
        TreeSlot(RwLock::new(Ok(db)))
    }

    /// The database now, or why there is none.
    fn current(&self) -> Result<sled::Db, String> {
        match &*self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            Ok(db) => Ok(db.clone()),
            Err(why) => Err(why.clone()),
        }
    }

    /// Empties the slot: readers get `why` as UNAVAILABLE until [`TreeSlot::put`].
    pub(super) fn fail(&self, why: String) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Err(why);
    }

    pub(super) fn put(&self, db: sled::Db) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Ok(db);
    }

    pub(super) fn get<K: AsRef<[u8]>>(&self, key: K) -> Result<Option<sled::IVec>, StoreError> {
        let db = self.current().map_err(StoreError::Unavailable)?;
        Ok(db.get(key)?)
    }

    pub(super) fn scan_prefix<P: AsRef<[u8]>>(&self, prefix: P) -> SlotIter {
        match self.current() {
            Ok(db) => SlotIter::Tree(Box::new(db.scan_prefix(prefix))),
            Err(why) => SlotIter::Failed(Some(sled::Error::Io(std::io::Error::other(why)))),
        }
    }

    pub(super) fn range<K, R>(&self, range: R) -> SlotIter
    where
        K: AsRef<[u8]>,
        R: RangeBounds<K>,
    {
        match self.current() {
            Ok(db) => SlotIter::Tree(Box::new(db.range(range))),
            Err(why) => SlotIter::Failed(Some(sled::Error::Io(std::io::Error::other(why)))),
        }
    }
}
