//! [`ReadDeadline`]: by when a read of the body must have got something, the one deadline
//! type both transports take, settled by the transport when the read has to wait.

use std::time::{Duration, Instant};

/// By when a read of the body must have got something.
///
/// A stream's event-idle limit is [`ReadDeadline::AfterWait`]: it counts from the moment a
/// read first waits for the server after an event, not from the event's arrival. So the
/// caller's own time between two reads never counts against the server (a caller that spends
/// longer on an event than the limit must not fail when the next one has long arrived), and
/// a read that finds its bytes already there reads no clock at all: the deadline is settled
/// only by a wait, which reads the clock anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReadDeadline {
    /// No limit.
    None,
    /// By this instant.
    At(Instant),
    /// Within this long of the moment the read first waits; [`ReadDeadline::At`] from then.
    AfterWait(Duration),
}

impl ReadDeadline {
    /// `Some(d)` is a limit of `d` from the first wait (`None`: no limit).
    #[inline]
    pub(crate) fn after_wait(limit: Option<Duration>) -> ReadDeadline {
        limit.map_or(ReadDeadline::None, ReadDeadline::AfterWait)
    }

    /// Settles [`ReadDeadline::AfterWait`] at `now` (a limit too far to represent is no
    /// limit, never an overflow); the deadline's instant, `None` without a limit.
    fn settle(&mut self, now: Instant) -> Option<Instant> {
        if let ReadDeadline::AfterWait(d) = *self {
            *self = ReadDeadline::from(now.checked_add(d));
        }
        match *self {
            ReadDeadline::At(t) => Some(t),
            ReadDeadline::None | ReadDeadline::AfterWait(_) => None,
        }
    }

    /// At the start of a wait: the time left, `None` without a limit; settles the deadline.
    /// The blocking transport's form (a socket wait takes a duration).
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn left_at_wait(&mut self) -> Option<Duration> {
        if *self == ReadDeadline::None {
            return None;
        }
        let now = Instant::now();
        self.settle(now).map(|t| t.saturating_duration_since(now))
    }

    /// At the start of a wait: the deadline's instant, `None` without a limit; settles the
    /// deadline. The async transport's form (its timer takes an instant).
    #[cfg_attr(feature = "blocking", allow(dead_code))]
    pub(crate) fn instant_at_wait(&mut self) -> Option<Instant> {
        match *self {
            ReadDeadline::None => None,
            ReadDeadline::At(t) => Some(t),
            ReadDeadline::AfterWait(_) => self.settle(Instant::now()),
        }
    }

    /// Bytes arrived but no event (keep-alive comments, part of an event): settles the
    /// deadline here at the latest, so a server that never lets a read wait cannot hold a
    /// stream open with comments, and tells whether it has passed.
    pub(crate) fn passed_without_event(&mut self) -> bool {
        if *self == ReadDeadline::None {
            return false;
        }
        let now = Instant::now();
        self.settle(now).is_some_and(|t| now >= t)
    }

    /// True once a settled deadline has passed; an unsettled one has had no wait yet.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn is_past(self) -> bool {
        match self {
            ReadDeadline::At(t) => Instant::now() >= t,
            ReadDeadline::None | ReadDeadline::AfterWait(_) => false,
        }
    }
}

impl From<Option<Instant>> for ReadDeadline {
    fn from(at: Option<Instant>) -> ReadDeadline {
        at.map_or(ReadDeadline::None, ReadDeadline::At)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_settles_the_limit_from_its_own_start() {
        let mut d = ReadDeadline::AfterWait(Duration::from_secs(5));
        assert!(!d.is_past());
        let before = Instant::now();
        assert_eq!(d.left_at_wait(), Some(Duration::from_secs(5)));
        assert!(matches!(d, ReadDeadline::At(_)), "{d:?}");
        let at = d.instant_at_wait();
        assert!(at >= Some(before + Duration::from_secs(5)), "{at:?}");
        assert!(
            at <= Some(Instant::now() + Duration::from_secs(5)),
            "{at:?}"
        );
        // Settled once: a later wait counts down to the same instant.
        let left = d.left_at_wait();
        assert!(left <= Some(Duration::from_secs(5)), "{left:?}");
        assert_eq!(d.instant_at_wait(), at);
        assert!(!d.is_past());
    }

    #[test]
    fn bytes_without_an_event_start_the_gap_if_no_wait_did() {
        let mut d = ReadDeadline::AfterWait(Duration::from_millis(30));
        // The first such read settles it, and it has not passed yet ...
        assert!(!d.passed_without_event());
        let at = d.instant_at_wait();
        assert!(matches!(d, ReadDeadline::At(_)), "{d:?}");
        // ... later ones keep that instant, however many come, until it passes.
        assert!(!d.passed_without_event());
        assert_eq!(d.instant_at_wait(), at);
        std::thread::sleep(Duration::from_millis(40));
        assert!(d.passed_without_event());
        assert!(d.is_past());
        assert_eq!(d.left_at_wait(), Some(Duration::ZERO));
    }

    #[test]
    fn extremes_are_no_limit_or_past_never_a_panic() {
        for mut d in [ReadDeadline::AfterWait(Duration::MAX), ReadDeadline::None] {
            assert_eq!(d.left_at_wait(), None);
            assert_eq!(d, ReadDeadline::None);
            assert_eq!(d.instant_at_wait(), None);
            assert!(!d.is_past());
        }
        let mut zero = ReadDeadline::AfterWait(Duration::ZERO);
        assert_eq!(zero.instant_at_wait().map(|_| ()), Some(()));
        assert!(zero.is_past());
        assert_eq!(zero.left_at_wait(), Some(Duration::ZERO));
        assert_eq!(ReadDeadline::after_wait(None), ReadDeadline::None);
        let mut no_limit = ReadDeadline::AfterWait(Duration::MAX);
        assert!(!no_limit.passed_without_event());
        assert_eq!(no_limit, ReadDeadline::None);
        assert!(!ReadDeadline::None.passed_without_event());
        assert_eq!(ReadDeadline::from(None), ReadDeadline::None);
    }
}
