//! What an answer says about the server's room, for the gate (`limit`): a refusal for being
//! full (429, 503, 529, an error whose type or code says "overloaded"), how long the server
//! asks to wait (the client's own reading of `retry-after-ms` / `retry-after`,
//! [`Error::retry_after`]: up to 120 s, a longer one means the line is not sent again), and
//! OpenAI's rate-limit headers (`x-ratelimit-remaining-requests` / `-tokens` at 0 until
//! `x-ratelimit-reset-requests` / `-tokens`, written like `1s`, `6m0s`, `20ms`, capped at
//! [`MAX_WAIT`]).

use std::time::Duration;

use oai_compat::{Error, Headers};

use super::limit::Verdict;
use super::result::Failed;

/// The longest wait for a rate limit's reset (the client's limit for a Retry-After too).
pub const MAX_WAIT: Duration = Duration::from_secs(120);

/// What `outcome` says.
pub fn verdict<T>(outcome: &Result<oai_compat::Response<T>, Failed>) -> Verdict {
    match outcome {
        Ok(r) => match exhausted(&r.meta.headers) {
            Some(d) => Verdict::Pause(d),
            None => Verdict::Fine,
        },
        Err(Failed::Client(e @ Error::Api(api))) if refused(api) => {
            Verdict::Full(e.retry_after().or_else(|| exhausted(&api.headers)))
        }
        Err(Failed::Client(Error::Api(api))) => match exhausted(&api.headers) {
            Some(d) => Verdict::Pause(d),
            None => Verdict::Fine,
        },
        // No answer, or nothing sent: nothing learnt about the server's room.
        Err(Failed::Client(_) | Failed::NoModel) => Verdict::Unknown,
    }
}

/// Whether the server refused for being full (the line is worth sending again later).
fn refused(api: &oai_compat::ApiError) -> bool {
    let says_overloaded = |s: Option<String>| s.is_some_and(|s| s.contains("overloaded"));
    matches!(api.status, 429 | 503 | 529)
        || says_overloaded(api.error_type.as_ref().map(|t| t.to_ascii_lowercase()))
        || says_overloaded(
            api.code
                .as_ref()
                .map(|c| c.to_string().to_ascii_lowercase()),
        )
}

/// The wait until a rate limit whose remaining count is 0 resets (the later of requests and
/// tokens), capped at [`MAX_WAIT`].
fn exhausted(headers: &Headers) -> Option<Duration> {
    ["requests", "tokens"]
        .into_iter()
        .filter(|kind| {
            headers
                .get(&format!("x-ratelimit-remaining-{kind}"))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .is_some_and(|left| left <= 0.0)
        })
        .filter_map(|kind| {
            headers
                .get(&format!("x-ratelimit-reset-{kind}"))
                .and_then(go_duration)
        })
        .max()
        .map(|d| d.min(MAX_WAIT))
}

/// A duration as OpenAI writes its reset times (Go's `time.Duration` text): `20ms`, `1s`,
/// `6m0s`, `1h2m3.5s`, `1.5s`; a bare number is seconds. `None` if it is none of these.
pub fn go_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let mut total = 0.0f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += value * scale;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn reset_times_as_openai_writes_them() {
        for (text, ms) in [
            ("20ms", 20),
            ("1s", 1000),
            ("6m0s", 360_000),
            ("1h2m3.5s", 3_723_500),
            ("1.5s", 1500),
            ("0.25", 250),
        ] {
            assert_eq!(go_duration(text), Some(Duration::from_millis(ms)), "{text}");
        }
        for bad in ["", "s", "1x", "-1s", "1e999", "1..2s", "m5"] {
            assert_eq!(go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn an_exhausted_rate_limit_pauses_until_its_reset() {
        let h = headers(&[
            ("x-ratelimit-remaining-requests", "0"),
            ("x-ratelimit-reset-requests", "20ms"),
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "1s"),
        ]);
        assert_eq!(exhausted(&h), Some(Duration::from_secs(1)));
        let h = headers(&[
            ("x-ratelimit-remaining-requests", "5"),
            ("x-ratelimit-reset-requests", "20ms"),
        ]);
        assert_eq!(exhausted(&h), None);
        let h = headers(&[
            ("x-ratelimit-remaining-tokens", "0"),
            ("x-ratelimit-reset-tokens", "6m0s"),
        ]);
        assert_eq!(exhausted(&h), Some(MAX_WAIT));
    }
}
