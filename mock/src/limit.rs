//! The cap on requests answered at once ([`MockServer::set_max_in_flight`](crate::MockServer::set_max_in_flight)):
//! a count taken before a request is answered and given back when its reply has been written,
//! by a guard, so that every way out of the answer (an error, the client leaving, a panic)
//! gives it back and the count stays exact under any concurrency.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The cap, the requests being answered, and the rejections.
#[derive(Default)]
pub(crate) struct Limit {
    /// The most answered at once; 0: no limit.
    max: AtomicUsize,
    in_flight: AtomicUsize,
    rejected: AtomicU64,
}

/// A slot taken while a request is answered; dropping it gives the slot back.
pub(crate) struct Slot<'a>(&'a Limit);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Limit {
    pub(crate) fn set_max(&self, n: usize) {
        self.max.store(n, Ordering::SeqCst);
    }

    pub(crate) fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::SeqCst)
    }

    /// A slot for one answer, or `None` (counted as a rejection) when the cap is reached.
    pub(crate) fn take(&self) -> Option<Slot<'_>> {
        let max = self.max.load(Ordering::SeqCst);
        // Counted even without a cap, so that a cap set while requests are answered sees them.
        let taken = self
            .in_flight
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (max == 0 || n < max).then(|| n.saturating_add(1))
            });
        match taken {
            Ok(_) => Some(Slot(self)),
            Err(_) => {
                self.rejected.fetch_add(1, Ordering::SeqCst);
                None
            }
        }
    }
}
