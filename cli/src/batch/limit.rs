//! How many requests may be in flight: `-c` is the ceiling, and the gate finds what the server
//! accepts below it, as TCP finds a path's capacity (additive increase, multiplicative
//! decrease).
//!
//! The limit starts at [`START`] (or `-c` if lower) and grows by one per success until the
//! server first says it is full (slow start: it doubles every round trip, so a ceiling of
//! 2,048 is reached in 8 round trips of a server that never refuses); from then on it grows by
//! one per round trip (`1/limit` per success), and by one per [`PROBE_ROUNDS`] round trips
//! once it is back at the limit where the server last refused (each probe past the server's
//! room costs a refusal and, when the server asks for one, a pause of every send; a server's
//! room seldom grows). Each refusal again at or under that limit doubles the round trips
//! before the next probe, up to [`PROBE_ROUNDS`] × 2^[`MAX_BACKOFF`]; growing past it
//! (the server found more room) starts over. A refusal (429, 503, an overload answer)
//! halves it, floor 1, once per window: only a request sent after the last cut can cut
//! again, so the replies to one burst of sends cut once, not once each. The server's
//! `Retry-After` (or a rate limit's reset time) pauses every new send until then; the
//! requests in flight go on.
//!
//! Starting at `-c` would send `-c` requests at once before the first answer could say
//! anything (256 against a server with 20 slots: 236 refusals); starting at 8 costs a fast
//! server a few round trips.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The first limit, unless `-c` is lower.
pub const START: usize = 8;
/// Round trips per step of growth at or above the limit of the last refusal.
pub const PROBE_ROUNDS: usize = 8;
/// Doublings of the probe's spacing after refusals in a row at the same room: at most 128
/// round trips between probes (2.6 s at 20 ms a request; minutes for long generations, for
/// which a server's room does not grow by itself either).
pub const MAX_BACKOFF: u32 = 4;
/// How long a wait for a permit sleeps before it looks at Ctrl-C again.
const POLL: Duration = Duration::from_millis(100);

/// The gate the workers pass before each send.
pub struct Gate {
    ceiling: usize,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    limit: usize,
    /// Successes since the limit last grew (after slow start it grows by one per `limit`).
    acked: usize,
    in_flight: usize,
    /// Workers waiting for a permit.
    waiting: usize,
    /// Slow start until the first refusal.
    slow_start: bool,
    /// The limit when the server last refused (0: never).
    refused_at: usize,
    /// Refusals in a row at or under `refused_at`: each doubles the spacing of probes.
    backoff: u32,
    /// Bumped by each cut: a refusal of a request sent before the last cut does not cut.
    epoch: u64,
    /// No new send before this (Retry-After, a rate limit's reset).
    paused_until: Option<Instant>,
    /// Cuts so far, for the summary.
    cuts: u64,
}

/// A request's place in flight; given back by [`Gate::done`].
#[derive(Debug)]
pub struct Permit {
    epoch: u64,
}

/// What the answer to a request said about the server's room.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    /// An answer (of any kind) that did not say the server is full.
    Fine,
    /// Refused for being full (429, 503, an overload answer); pause new sends this long.
    Full(Option<Duration>),
    /// An answer that asks for a pause without a refusal (a rate limit's remaining count is
    /// 0 until its reset): no cut.
    Pause(Duration),
    /// No answer at all (connection refused, timeout): says nothing about the server's room.
    Unknown,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Gate {
    /// A gate whose limit never goes above `ceiling` (at least 1).
    pub fn new(ceiling: usize) -> Gate {
        let ceiling = ceiling.max(1);
        Gate {
            ceiling,
            state: Mutex::new(State {
                limit: START.min(ceiling),
                acked: 0,
                in_flight: 0,
                waiting: 0,
                slow_start: true,
                refused_at: 0,
                backoff: 0,
                epoch: 0,
                paused_until: None,
                cuts: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// Waits for a place in flight (and for any pause to end); `None` once `stopping` says so.
    pub fn acquire(&self, stopping: impl Fn() -> bool) -> Option<Permit> {
        let mut s = lock(&self.state);
        loop {
            if stopping() {
                return None;
            }
            let now = Instant::now();
            let wait = match s.paused_until {
                Some(until) if until > now => (until - now).min(POLL),
                _ if s.in_flight < s.limit => {
                    s.in_flight += 1;
                    return Some(Permit { epoch: s.epoch });
                }
                _ => POLL,
            };
            s.waiting += 1;
            s = self
                .changed
                .wait_timeout(s, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            s.waiting -= 1;
        }
    }

    /// Gives a permit back with what its answer said.
    pub fn done(&self, permit: Permit, verdict: Verdict) {
        let mut s = lock(&self.state);
        s.in_flight = s.in_flight.saturating_sub(1);
        match verdict {
            Verdict::Fine => {
                s.acked += 1;
                let round = if s.limit + 1 >= s.refused_at {
                    s.limit.saturating_mul(PROBE_ROUNDS << s.backoff)
                } else {
                    s.limit
                };
                if s.slow_start || s.acked >= round {
                    s.acked = 0;
                    s.limit = (s.limit + 1).min(self.ceiling);
                    if s.limit > s.refused_at {
                        s.backoff = 0;
                    }
                }
            }
            Verdict::Full(pause) => {
                if permit.epoch == s.epoch {
                    // Refused again where it was before (or lower): the room has not grown.
                    if s.refused_at != 0 && s.limit <= s.refused_at {
                        s.backoff = (s.backoff + 1).min(MAX_BACKOFF);
                    }
                    s.refused_at = s.limit;
                    s.limit = (s.limit / 2).max(1);
                    s.acked = 0;
                    s.slow_start = false;
                    s.epoch += 1;
                    s.cuts += 1;
                }
                if let Some(d) = pause {
                    pause_for(&mut s, d);
                }
            }
            Verdict::Pause(d) => pause_for(&mut s, d),
            Verdict::Unknown => {}
        }
        // As many waiters as there is room for: waking all of thousands for each answer
        // would cost more than the request. One woken into a pause sleeps again; the others
        // wake by themselves when it ends (every wait ends by then).
        let wake = s.limit.saturating_sub(s.in_flight).min(s.waiting);
        drop(s);
        for _ in 0..wake {
            self.changed.notify_one();
        }
    }

    /// The limit now (whole requests).
    pub fn limit(&self) -> usize {
        lock(&self.state).limit
    }

    /// How many times the limit was cut.
    pub fn cuts(&self) -> u64 {
        lock(&self.state).cuts
    }
}

/// No new send for `d` from now (a later pause already set stays).
fn pause_for(s: &mut State, d: Duration) {
    if let Some(until) = Instant::now().checked_add(d) {
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(g: &Gate) -> Permit {
        g.acquire(|| false).unwrap()
    }

    #[test]
    fn slow_start_doubles_then_a_refusal_halves_once_per_window() {
        let g = Gate::new(64);
        assert_eq!(g.limit(), START);
        // A round of 8 successes: 16.
        let round: Vec<Permit> = (0..8).map(|_| take(&g)).collect();
        for p in round {
            g.done(p, Verdict::Fine);
        }
        assert_eq!(g.limit(), 16);
        // Three refusals of requests sent in the same window cut once.
        let sent: Vec<Permit> = (0..3).map(|_| take(&g)).collect();
        for p in sent {
            g.done(p, Verdict::Full(None));
        }
        assert_eq!((g.limit(), g.cuts()), (8, 1));
        // A request sent after the cut may cut again.
        let p = take(&g);
        g.done(p, Verdict::Full(None));
        assert_eq!((g.limit(), g.cuts()), (4, 2));
        // Then growth is one per round trip: 4 successes add 1.
        for _ in 0..4 {
            let p = take(&g);
            g.done(p, Verdict::Fine);
        }
        assert_eq!(g.limit(), 5);
    }

    #[test]
    fn growth_slows_down_where_the_server_last_refused() {
        let g = Gate::new(64);
        let p = take(&g);
        g.done(p, Verdict::Full(None));
        assert_eq!(g.limit(), 4, "refused at 8");
        let grow = |n: usize| {
            for _ in 0..n {
                let p = take(&g);
                g.done(p, Verdict::Fine);
            }
        };
        grow(4 + 5 + 6);
        assert_eq!(g.limit(), 7, "one per round up to just under 8");
        grow(7 * PROBE_ROUNDS - 1);
        assert_eq!(g.limit(), 7);
        grow(1);
        assert_eq!(g.limit(), 8, "then one per {PROBE_ROUNDS} rounds");
    }

    #[test]
    fn refusals_again_at_the_same_room_space_the_probes_out_and_more_room_resets_it() {
        let g = Gate::new(64);
        let grow = |n: usize| {
            for _ in 0..n {
                let p = take(&g);
                g.done(p, Verdict::Fine);
            }
        };
        let refuse = || {
            let p = take(&g);
            g.done(p, Verdict::Full(None));
        };
        refuse();
        assert_eq!(g.limit(), 4, "refused at 8");
        grow(4 + 5 + 6 + 7 * PROBE_ROUNDS);
        assert_eq!(g.limit(), 8, "the first probe after {PROBE_ROUNDS} rounds");
        refuse();
        grow(4 + 5 + 6);
        assert_eq!(g.limit(), 7);
        grow(7 * PROBE_ROUNDS);
        assert_eq!(
            g.limit(),
            7,
            "refused again at 8: the next probe waits twice as long"
        );
        grow(7 * PROBE_ROUNDS);
        assert_eq!(g.limit(), 8);
        for k in 2..=MAX_BACKOFF + 2 {
            refuse();
            grow(4 + 5 + 6);
            grow(7 * (PROBE_ROUNDS << k.min(MAX_BACKOFF)) - 1);
            assert_eq!(
                g.limit(),
                7,
                "refusal {k}: the spacing doubles up to 2^{MAX_BACKOFF}"
            );
            grow(1);
            assert_eq!(g.limit(), 8);
        }
        // Not refused at 8: more room, and the spacing starts over past it.
        grow(8 * (PROBE_ROUNDS << MAX_BACKOFF));
        assert_eq!(g.limit(), 9);
        grow(9 * PROBE_ROUNDS);
        assert_eq!(g.limit(), 10);
    }

    #[test]
    fn the_limit_stays_between_one_and_the_ceiling() {
        let g = Gate::new(3);
        assert_eq!(g.limit(), 3, "a ceiling under START is the start");
        for _ in 0..10 {
            let p = take(&g);
            g.done(p, Verdict::Fine);
        }
        assert_eq!(g.limit(), 3);
        for _ in 0..10 {
            let p = take(&g);
            g.done(p, Verdict::Full(None));
        }
        assert_eq!(g.limit(), 1);
        assert_eq!(Gate::new(0).limit(), 1);
    }

    #[test]
    fn no_permit_beyond_the_limit_and_none_once_stopping() {
        let g = Gate::new(1);
        let p = take(&g);
        // Full: a waiter gets nothing until it stops.
        assert!(g.acquire(|| true).is_none());
        let stop = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| g.acquire(|| stop.load(std::sync::atomic::Ordering::SeqCst)));
            std::thread::sleep(Duration::from_millis(50));
            g.done(p, Verdict::Unknown);
            assert!(
                waiter.join().unwrap().is_some(),
                "a permit given back is taken"
            );
        });
    }

    #[test]
    fn a_pause_holds_new_sends_and_huge_pauses_do_not_overflow() {
        let g = Gate::new(4);
        let p = take(&g);
        g.done(p, Verdict::Full(Some(Duration::from_millis(300))));
        let started = Instant::now();
        let p = take(&g);
        assert!(started.elapsed() >= Duration::from_millis(250));
        g.done(p, Verdict::Pause(Duration::MAX));
        let p = take(&g);
        g.done(p, Verdict::Fine);
    }
}
