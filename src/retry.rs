//! The retry policy: pure functions, shared by both modes (openai-python's rules).
//!
//! - Retry 408, 409, 429 and every 5xx (vLLM signals overload with 503), connection errors
//!   and timeouts; `x-should-retry: true|false` overrides the status rule.
//! - The server's delay (`retry-after-ms`, then `retry-after` as seconds or an HTTP date) is
//!   used exactly when `0 < d <= 120 s`; a larger one means **do not retry**.
//! - Otherwise back off `min(0.5 s * 2^n, 8 s)`, minus 0-25 % jitter.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::headers::Headers;

/// A server delay above this means the client gives up instead of waiting.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
const INITIAL_DELAY: f64 = 0.5;
const MAX_DELAY: f64 = 8.0;

/// What the policy says about one failed attempt: the one answer both
/// [`Error::is_retryable`] and the retry loops (the client's and the Router's) use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// Sending the same request again cannot help, or the server asked for a wait longer
    /// than [`MAX_RETRY_AFTER`].
    Never,
    /// Retry after the exponential backoff.
    Backoff,
    /// Retry after the server's own delay (`retry-after-ms` / `retry-after`).
    After(Duration),
}

/// The policy's verdict on `err`.
pub(crate) fn verdict(err: &Error) -> Verdict {
    match err {
        Error::Timeout(_) | Error::Connection(_) => Verdict::Backoff,
        Error::Api(e) => {
            let server = server_delay(&e.headers, SystemTime::now());
            if server.is_some_and(|d| d > MAX_RETRY_AFTER.as_secs_f64()) {
                return Verdict::Never;
            }
            if !status_says_retry(e.status, &e.headers) {
                return Verdict::Never;
            }
            match server {
                Some(d) if d > 0.0 => Verdict::After(Duration::from_secs_f64(d)),
                _ => Verdict::Backoff,
            }
        }
        _ => Verdict::Never,
    }
}

/// The delay before the next retry, or `None` when `err` must not be retried.
pub(crate) fn delay_for(err: &Error, retries_taken: u32) -> Option<Duration> {
    match verdict(err) {
        Verdict::Never => None,
        Verdict::Backoff => Some(backoff(retries_taken, jitter())),
        Verdict::After(d) => Some(d),
    }
}

/// The retries of one call: how many were made and how many are allowed. The client's loop
/// and the Router's (which adds failover between backends) both spend one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    taken: u32,
    max: u32,
}

impl Budget {
    /// A budget of `max` retries after the first attempt.
    pub(crate) fn new(max: u32) -> Budget {
        Budget { taken: 0, max }
    }

    /// Retries made so far.
    pub(crate) fn taken(&self) -> u32 {
        self.taken
    }

    /// After a failed attempt: the wait before the next one (counted as a retry), or `None`
    /// when the budget is spent or the policy says no.
    pub(crate) fn next_delay(&mut self, err: &Error) -> Option<Duration> {
        if self.taken >= self.max {
            return None;
        }
        let d = delay_for(err, self.taken)?;
        self.taken += 1;
        Some(d)
    }

    /// The error to return when giving up: it records the retries made.
    pub(crate) fn give_up(&self, mut err: Error) -> Error {
        err.set_retries_taken(self.taken);
        err
    }
}

impl Error {
    /// True when the same request could succeed if sent again: timeouts, connection errors,
    /// 408, 409, 429 and 5xx (unless the server said `x-should-retry: false`), and never when
    /// the server asked to wait longer than 120 s (`retry-after`). The same answer the
    /// client's own retries follow.
    pub fn is_retryable(&self) -> bool {
        verdict(self) != Verdict::Never
    }

    /// The wait the client's own policy takes before sending the request again, as retry
    /// number `retries_taken + 1`: the server's delay when it asked for one the policy takes
    /// ([`Error::retry_after`]), else openai-python's backoff (0.5 s doubling per retry up to
    /// 8 s, less up to a quarter of random jitter). `None` when it must not be sent again
    /// (see [`Error::is_retryable`]). For retry loops of your own (`oai batch` has one).
    pub fn retry_delay(&self, retries_taken: u32) -> Option<Duration> {
        delay_for(self, retries_taken)
    }

    /// The wait the server asked for before the request is sent again (`retry-after-ms`,
    /// else `retry-after` in seconds or as an HTTP date), when the policy takes it: the
    /// error is retryable and the wait is above zero and at most 120 s. `None` otherwise (a
    /// longer wait makes the error not retryable at all).
    pub fn retry_after(&self) -> Option<Duration> {
        match verdict(self) {
            Verdict::After(d) => Some(d),
            Verdict::Never | Verdict::Backoff => None,
        }
    }
}

/// `x-should-retry` if present, else the status rule. A 3xx is never retried, whatever
/// the header says: it is a redirect the client could not follow (no location, a loop, too
/// many hops), and sending again would meet it again.
pub(crate) fn status_says_retry(status: u16, headers: &Headers) -> bool {
    if (300..400).contains(&status) {
        return false;
    }
    match headers.get("x-should-retry").map(str::trim) {
        Some(v) if v.eq_ignore_ascii_case("true") => return true,
        Some(v) if v.eq_ignore_ascii_case("false") => return false,
        _ => {}
    }
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// The server's requested delay in seconds: `retry-after-ms`, then `retry-after` as seconds
/// (fractions allowed) or an HTTP date. May be negative, zero or huge; the caller decides.
/// A value that is not a finite number (`NaN`, `inf`, `1e400`) is no usable delay: `None`,
/// so the normal backoff applies (it must not read as "too far away, do not retry").
pub(crate) fn server_delay(headers: &Headers, now: SystemTime) -> Option<f64> {
    let seconds = |name: &str, scale: f64| {
        headers
            .get(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|n| n / scale)
            .filter(|s| s.is_finite())
    };
    if let Some(s) = seconds("retry-after-ms", 1000.0) {
        return Some(s);
    }
    if let Some(s) = seconds("retry-after", 1.0) {
        return Some(s);
    }
    let at = httpdate::parse_http_date(headers.get("retry-after")?.trim()).ok()?;
    Some(match at.duration_since(now) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    })
}

/// `min(0.5 s * 2^n, 8 s) * (1 - 0.25 * rand)`, with `rand` in `[0, 1)`.
pub(crate) fn backoff(retries_taken: u32, rand: f64) -> Duration {
    let base = (INITIAL_DELAY * 2f64.powi(retries_taken.min(1000) as i32)).min(MAX_DELAY);
    Duration::from_secs_f64(base * (1.0 - 0.25 * rand.clamp(0.0, 1.0)))
}

/// A random number in `[0, 1)` without a `rand` dependency: std's per-instance random keys.
fn jitter() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0x9e37_79b9_7f4a_7c15);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    fn api(status: u16, headers: &[(&str, &str)]) -> Error {
        Error::Api(Box::new(ApiError::from_response(
            status,
            Headers::from_pairs(headers.iter().copied()),
            b"{}",
        )))
    }

    #[test]
    fn status_rules() {
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(delay_for(&api(s, &[]), 0).is_some(), "{s}");
        }
        for s in [400, 401, 403, 404, 422] {
            assert!(delay_for(&api(s, &[]), 0).is_none(), "{s}");
        }
    }

    #[test]
    fn should_retry_header_overrides_status() {
        assert!(delay_for(&api(500, &[("x-should-retry", "false")]), 0).is_none());
        assert!(delay_for(&api(400, &[("x-should-retry", "true")]), 0).is_some());
    }

    #[test]
    fn server_delay_is_used_exactly_and_capped() {
        let d = delay_for(&api(429, &[("retry-after", "1")]), 0);
        assert_eq!(d, Some(Duration::from_secs(1)));
        let d = delay_for(
            &api(429, &[("retry-after-ms", "250"), ("retry-after", "9")]),
            0,
        );
        assert_eq!(d, Some(Duration::from_millis(250)));
        let d = delay_for(&api(429, &[("retry-after", "0.5")]), 3);
        assert_eq!(d, Some(Duration::from_millis(500)));
        assert!(delay_for(&api(429, &[("retry-after", "300")]), 0).is_none());
        assert!(delay_for(&api(429, &[("retry-after", "120")]), 0).is_some());
        // Too far away wins even over x-should-retry: true.
        assert!(
            delay_for(
                &api(503, &[("retry-after", "121"), ("x-should-retry", "true")]),
                0
            )
            .is_none()
        );
        // Zero or garbage falls back to backoff.
        let d = delay_for(&api(429, &[("retry-after", "0")]), 0).unwrap();
        assert!(d >= Duration::from_millis(375) && d <= Duration::from_millis(500));
        let d = delay_for(&api(429, &[("retry-after", "soon")]), 0).unwrap();
        assert!(d <= Duration::from_millis(500));
        // Not a finite number: no usable server delay, so backoff (not "do not retry").
        for v in ["NaN", "inf", "-inf", "infinity", "1e400"] {
            let d = delay_for(&api(429, &[("retry-after", v)]), 0);
            assert!(
                d.is_some_and(|d| d <= Duration::from_millis(500)),
                "{v}: {d:?}"
            );
            let d = delay_for(&api(429, &[("retry-after-ms", v), ("retry-after", "2")]), 0);
            assert_eq!(d, Some(Duration::from_secs(2)), "{v}");
        }
    }

    #[test]
    fn http_date_retry_after() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let at = httpdate::fmt_http_date(now + Duration::from_secs(30));
        let h = Headers::from_pairs([("retry-after", at.as_str())]);
        let d = server_delay(&h, now).unwrap();
        assert!((d - 30.0).abs() < 1e-9, "{d}");
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        let h = Headers::from_pairs([("retry-after", past.as_str())]);
        assert!(server_delay(&h, now).unwrap() < 0.0);
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        assert_eq!(backoff(0, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(3, 0.0), Duration::from_secs(4));
        assert_eq!(backoff(4, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(40, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(u32::MAX, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(0, 1.0), Duration::from_millis(375));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j));
        }
        let distinct: std::collections::HashSet<u64> =
            (0..20).map(|_| jitter().to_bits()).collect();
        assert!(distinct.len() > 1, "jitter is not random");
    }

    #[test]
    fn is_retryable_is_the_policy() {
        // A wait the client will not make is not "retryable" either.
        assert!(!api(429, &[("retry-after", "300")]).is_retryable());
        assert!(api(429, &[("retry-after", "120")]).is_retryable());
        assert!(api(503, &[]).is_retryable());
        assert!(!api(400, &[]).is_retryable());
        assert!(!api(500, &[("x-should-retry", "false")]).is_retryable());
        for e in [
            api(429, &[("retry-after", "300")]),
            api(503, &[]),
            api(404, &[]),
        ] {
            assert_eq!(e.is_retryable(), delay_for(&e, 0).is_some(), "{e}");
        }
    }

    #[test]
    fn budget_counts_and_stops() {
        let e = api(503, &[("retry-after", "0.01")]);
        let mut b = Budget::new(2);
        assert_eq!(b.next_delay(&e), Some(Duration::from_millis(10)));
        assert_eq!(b.next_delay(&e), Some(Duration::from_millis(10)));
        assert_eq!(b.next_delay(&e), None);
        assert_eq!(b.taken(), 2);
        assert_eq!(b.give_up(e).retries_taken(), 2);
        let mut b = Budget::new(5);
        assert_eq!(b.next_delay(&api(400, &[])), None);
        assert_eq!(b.taken(), 0);
    }

    #[test]
    fn transport_errors_retry() {
        let t = Error::timeout(crate::error::TimeoutPhase::Request, None);
        assert!(delay_for(&t, 0).is_some());
        let c = Error::connection("refused", None);
        assert!(delay_for(&c, 0).is_some());
        assert!(delay_for(&Error::config("x"), 0).is_none());
    }
}
