//! `--rpm` and `--tpm`: the starts of requests paced for a server with published rate limits.
//!
//! Each limit is a token bucket without burst (a virtual schedule, GCRA): a request may start
//! once the requests before it have been paid for at the limit's rate, so `--rpm 120` starts
//! one request every 0.5 s and `--tpm 60000` lets a line of 2,000 tokens hold the next start
//! back by 2 s. Spreading the starts evenly never exceeds a per-minute limit over any minute,
//! where a bucket allowing a minute's burst would exceed it over the minute straddling two.
//!
//! A line's tokens are estimated before it is sent, as OpenAI's limiter counts them: the
//! tokens it may generate (the body's `max_completion_tokens`, else `max_tokens`, else
//! `max_output_tokens`; 0 when none is given) plus its prompt at 4 bytes a token, the prompt
//! being taken as the whole body's JSON text (an over-estimate by its keys and punctuation,
//! which errs on the side of the limit).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Estimated tokens of a line whose body is `body_bytes` long and asks for at most
/// `max_tokens` tokens.
pub fn estimate(body_bytes: usize, max_tokens: Option<u64>) -> u64 {
    (body_bytes as u64 / 4).saturating_add(max_tokens.unwrap_or(0))
}

/// The pacing of starts; no limit set, it never waits.
pub struct Pace {
    requests: Option<Mutex<Schedule>>,
    tokens: Option<Mutex<Schedule>>,
}

/// When the next start is paid for, at `per_sec` units a second.
struct Schedule {
    per_sec: f64,
    next: Instant,
}

impl Schedule {
    fn new(per_minute: u64) -> Mutex<Schedule> {
        Mutex::new(Schedule {
            per_sec: per_minute as f64 / 60.0,
            next: Instant::now(),
        })
    }

    /// Books `units` and returns when they may start.
    fn book(m: &Mutex<Schedule>, units: u64) -> Instant {
        let mut s = m.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        let start = s.next.max(now);
        // An absurd estimate (a `max_tokens` of 2^60) is not booked rather than overflow.
        let cost = Duration::try_from_secs_f64(units as f64 / s.per_sec).unwrap_or(Duration::MAX);
        s.next = start.checked_add(cost).unwrap_or(start);
        start
    }
}

impl Pace {
    /// Starts at most `rpm` requests and `tpm` estimated tokens a minute (`None`: no limit).
    pub fn new(rpm: Option<u64>, tpm: Option<u64>) -> Pace {
        Pace {
            requests: rpm.map(Schedule::new),
            tokens: tpm.map(Schedule::new),
        }
    }

    /// Waits until a request of `tokens` may start; false if `stopping` said so first (the
    /// booked time is then lost, which only slows the pace).
    pub fn wait(&self, tokens: u64, stopping: impl Fn() -> bool) -> bool {
        let mut at: Option<Instant> = None;
        if let Some(r) = &self.requests {
            at = Some(Schedule::book(r, 1));
        }
        if let Some(t) = &self.tokens {
            let start = Schedule::book(t, tokens);
            at = Some(at.map_or(start, |a| a.max(start)));
        }
        let Some(at) = at else {
            return true;
        };
        super::sleep_until(at, stopping)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_are_spread_at_the_rate() {
        let pace = Pace::new(Some(600), None);
        let first = Schedule::book(pace.requests.as_ref().unwrap(), 1);
        let second = Schedule::book(pace.requests.as_ref().unwrap(), 1);
        let gap = second - first;
        assert!(
            gap >= Duration::from_millis(99) && gap <= Duration::from_millis(101),
            "{gap:?}"
        );
        let tokens = Schedule::new(6000);
        let a = Schedule::book(&tokens, 200);
        let b = Schedule::book(&tokens, 1);
        assert!(
            b - a >= Duration::from_millis(1999),
            "200 tokens at 100/s: 2 s"
        );
    }

    #[test]
    fn no_limit_never_waits_and_estimates_saturate() {
        assert!(Pace::new(None, None).wait(u64::MAX, || true));
        assert_eq!(estimate(400, Some(16)), 116);
        assert_eq!(estimate(400, None), 100);
        assert_eq!(estimate(usize::MAX, Some(u64::MAX)), u64::MAX);
        // A huge booking does not overflow the schedule.
        let s = Schedule::new(1);
        Schedule::book(&s, u64::MAX);
        Schedule::book(&s, u64::MAX);
    }
}
