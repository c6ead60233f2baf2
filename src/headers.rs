//! [`Headers`]: the one header type (response headers, the client's and a call's extra
//! headers, the headers of each attempt), as plain strings so no HTTP crate's types reach the
//! public API; and the check every header a user sets goes through.

use std::fmt;

/// Parts of a header name that mark its value as a credential: `Debug` never prints such a
/// value, and a redirect never takes it to another origin. This covers `Authorization`,
/// `Proxy-Authorization`, `api-key`, `x-api-key`, `x-goog-api-key`, `Cookie`, `Set-Cookie`,
/// `x-amz-security-token`, `x-custom-token` ...
const SENSITIVE_PARTS: &[&str] = &[
    "auth",
    "key",
    "token",
    "secret",
    "cookie",
    "password",
    "passwd",
    "session",
    "credential",
    "signature",
];

/// An ordered list of HTTP headers with case-insensitive lookup.
///
/// Values that are not valid UTF-8 are kept lossily. `Debug` redacts every header whose name
/// looks like a credential: it contains `auth`, `key`, `token`, `secret`, `cookie`,
/// `password`, `session`, `credential` or `signature` (`Authorization`, `x-goog-api-key`,
/// `x-custom-token`, cookies, ...).
///
/// ```
/// let h = oai_compat::Headers::from_pairs([("X-Request-Id", "req-1"), ("Retry-After", "2")]);
/// assert_eq!(h.get("x-request-id"), Some("req-1"));
/// assert_eq!(h.request_id(), Some("req-1"));
/// assert_eq!(h.get("missing"), None);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    pairs: Vec<(String, String)>,
}

impl Headers {
    /// Builds headers from `(name, value)` pairs, in order.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        Headers {
            pairs: pairs
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of the header `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The server's request id: `x-request-id` (OpenAI, vLLM with `--enable-request-id-headers`).
    pub fn request_id(&self) -> Option<&str> {
        self.get("x-request-id")
    }

    /// All `(name, value)` pairs, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Every value, to rewrite in place (redaction).
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut String> {
        self.pairs.iter_mut().map(|(_, v)| v)
    }

    /// The `Content-Length` header as a number, when present and valid. A claim only: it is
    /// never trusted to size an allocation beyond a small cap.
    ///
    /// ```
    /// let h = oai_compat::Headers::from_pairs([("Content-Length", " 42 ")]);
    /// assert_eq!(h.content_length(), Some(42));
    /// assert_eq!(oai_compat::Headers::default().content_length(), None);
    /// ```
    pub fn content_length(&self) -> Option<u64> {
        self.get("content-length")?.trim().parse().ok()
    }

    pub(crate) fn with_capacity(n: usize) -> Self {
        Headers {
            pairs: Vec::with_capacity(n),
        }
    }

    pub(crate) fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((name.into(), value.into()));
    }

    /// Sets `name` to `value`, replacing every earlier value of `name` (any case).
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        self.pairs.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.pairs.push((name.to_owned(), value.to_owned()));
    }

    /// Every pair in `other`, each replacing the values of its name here.
    pub(crate) fn set_all(&mut self, other: &Headers) {
        for (n, v) in other.iter() {
            self.set(n, v);
        }
    }

    /// Keeps the pairs whose name passes `keep`.
    pub(crate) fn retain_names(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.pairs.retain(|(n, _)| keep(n));
    }

    /// Checks every pair the way the transports will send it (see [`validate`]).
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.iter().try_for_each(|(n, v)| validate(n, v))
    }
}

/// Headers the HTTP layer writes itself: set by hand, they break the framing or the
/// connection (blocking: a connection error on every call; async: a body cut short).
const TRANSPORT_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "host",
    "connection",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
];

/// Printable ASCII (and tab): what both transports send alike. ureq refuses other bytes
/// when it writes the request, reqwest sends them raw, so the modes would disagree.
pub(crate) fn is_header_text(v: &str) -> bool {
    v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
}

/// Checks a header name and value the way the transports will, for both modes alike: what
/// is wrong, for an [`Error::Config`](crate::Error::Config).
pub(crate) fn validate(name: &str, value: &str) -> Result<(), String> {
    http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("invalid header name {name:?}"))?;
    if TRANSPORT_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
    {
        return Err(format!(
            "header {name:?} is written by the HTTP client and cannot be set (for another host, change base_url)"
        ));
    }
    if !is_header_text(value) {
        let shown = if is_sensitive(name) {
            "<redacted>"
        } else {
            value
        };
        return Err(format!(
            "invalid value for header {name:?}: {shown:?} (printable ASCII only: no newlines, control or non-ASCII characters)"
        ));
    }
    Ok(())
}

/// True for header names whose values must never be printed: any name containing one of
/// [`SENSITIVE_PARTS`] (case-insensitive), except the rate-limit counters
/// (`x-ratelimit-remaining-tokens` ...), which hold numbers worth seeing.
pub(crate) fn is_sensitive(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    !name.starts_with("x-ratelimit-") && SENSITIVE_PARTS.iter().any(|p| name.contains(p))
}

/// Writes `(name, value)` pairs as a debug map with secret values redacted.
pub(crate) fn debug_pairs<'a>(
    f: &mut fmt::Formatter<'_>,
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> fmt::Result {
    let mut m = f.debug_map();
    for (n, v) in pairs {
        if is_sensitive(n) {
            m.entry(&n, &"<redacted>");
        } else {
            m.entry(&n, &v);
        }
    }
    m.finish()
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_pairs(f, self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_ordered() {
        let h = Headers::from_pairs([("A", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(h.get("a"), Some("1"));
        assert_eq!(h.get_all("A").collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(h.len(), 3);
    }

    #[test]
    fn debug_redacts_credentials() {
        let h = Headers::from_pairs([("Authorization", "Bearer sk-secret"), ("x", "y")]);
        let s = format!("{h:?}");
        assert!(!s.contains("sk-secret"), "{s}");
        assert!(s.contains("<redacted>") && s.contains("\"y\""), "{s}");
        for name in [
            "x-goog-api-key",
            "X-Custom-Token",
            "x-amz-security-token",
            "Proxy-Authorization",
            "Set-Cookie",
            "x-client-secret",
            "X-Session-Id",
        ] {
            let h = Headers::from_pairs([(name, "hunter2")]);
            assert!(!format!("{h:?}").contains("hunter2"), "{name}");
        }
        let h = Headers::from_pairs([
            ("x-ratelimit-remaining-tokens", "99"),
            ("x-request-id", "r"),
        ]);
        let s = format!("{h:?}");
        assert!(s.contains("99") && s.contains("\"r\""), "{s}");
    }
}
