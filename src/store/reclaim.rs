//! Freeing what sled replaced, at the pace the writer replaces it.
//!
//! sled 0.34 never frees a B-tree node or page record in place: a write installs a new copy
//! and hands the old one to crossbeam-epoch's global collector, to be freed once no thread can
//! still be reading it. That collector frees little at a time: each thread, every 128 times it
//! pins, runs at most 8 bags of 64 deferred frees. A group of a few thousand writes leaves tens
//! of thousands of them, far more than the pins of the next groups collect, so the backlog grew
//! with every large group: a 300,000-row import left the server at 2.3 GB of RSS, 1,000,000
//! rows at 8.2 GB, nearly all of it old nodes waiting to be freed.
//!
//! After each group the writer therefore queues a marker behind its own garbage and keeps
//! pinning and flushing (each flush collects another 8 bags and tries to advance the epoch)
//! until the marker has run: everything queued before it has then been freed, since the
//! collector's queue is first in, first out.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The fewest flushes the writer allows itself after a group: the epoch must advance twice
/// before anything queued in it may be freed, and readers pinned meanwhile hold it back.
const ROUNDS_MIN: usize = 64;
/// About how many writes' garbage one flush frees: a flush runs up to 8 bags of 64 deferred
/// frees, and a sled write defers a few (the replaced node, its page record, split halves).
const WRITES_PER_ROUND: usize = 32;

/// The flushes to allow after a group of `writes` writes.
pub fn rounds_for(writes: usize) -> usize {
    ROUNDS_MIN + writes / WRITES_PER_ROUND
}

/// Frees the garbage this thread and others queued before the call, flushing at most
/// `max_rounds` times. Returns whether all of it was freed; when not (a reader stayed pinned
/// throughout), the rest is freed by a later call, which waits behind it.
pub fn reclaim(max_rounds: usize) -> bool {
    reclaim_with(crossbeam_epoch::pin, max_rounds)
}

/// [`reclaim`] in the collector that `pin` pins (sled's is the global one).
fn reclaim_with(pin: impl Fn() -> crossbeam_epoch::Guard, max_rounds: usize) -> bool {
    let done = Arc::new(AtomicBool::new(false));
    {
        let guard = pin();
        let marker = done.clone();
        guard.defer(move || marker.store(true, Ordering::Release));
        guard.flush();
    }
    for _ in 0..max_rounds {
        if done.load(Ordering::Acquire) {
            return true;
        }
        pin().flush();
    }
    done.load(Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// Garbage queued on another thread, as sled's writer leaves it, is all freed by one call
    /// within the rounds a group of that size is allowed. Pinning alone would free 8 bags
    /// every 128 pins: about 12,500 pins for this backlog. The collector is the test's own, so
    /// no other test's pins hold its epoch back.
    #[test]
    fn reclaim_frees_everything_queued_before_it() {
        const DEFERRED: usize = 50_000;
        let collector = crossbeam_epoch::Collector::new();
        let freed = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let handle = collector.register();
                let guard = handle.pin();
                for _ in 0..DEFERRED {
                    let freed = freed.clone();
                    guard.defer(move || freed.fetch_add(1, Ordering::Relaxed));
                }
                guard.flush();
            });
        });
        assert!(freed.load(Ordering::Relaxed) < DEFERRED);
        let handle = collector.register();
        // A sled write defers a few frees: this backlog is what about 12,500 writes leave.
        assert!(
            reclaim_with(|| handle.pin(), rounds_for(DEFERRED / 4)),
            "the backlog was not freed"
        );
        assert_eq!(freed.load(Ordering::Relaxed), DEFERRED);
    }

    #[test]
    fn rounds_grow_with_the_group() {
        assert_eq!(rounds_for(0), ROUNDS_MIN);
        assert!(rounds_for(7_000) >= ROUNDS_MIN + 7_000 * 4 / 512);
    }
}
