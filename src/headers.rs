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
#[derive(Clone, Default)]
pub struct Headers {
    /// Every name and value, back to back: one allocation for all of them, where a list of
    /// owned pairs took two per header on every response.
    text: String,
    /// Where each pair is in `text`: the name's start, its end (the value's start), the
    /// value's end.
    pairs: Vec<[usize; 3]>,
}

impl Headers {
    /// Builds headers from `(name, value)` pairs, in order.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut h = Headers::default();
        for (n, v) in pairs {
            h.push(n.into(), v.into());
        }
        h
    }

    /// The first value of the header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every value of the header `name` (case-insensitive), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The server's request id: `x-request-id` (OpenAI, vLLM with `--enable-request-id-headers`).
    pub fn request_id(&self) -> Option<&str> {
        self.get("x-request-id")
    }

    /// All `(name, value)` pairs, in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let text = self.text.as_str();
        self.pairs.iter().map(move |&[start, mid, end]| {
            (
                text.get(start..mid).unwrap_or_default(),
                text.get(mid..end).unwrap_or_default(),
            )
        })
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when there are no headers.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Rewrites every value with `f` (redaction).
    pub(crate) fn map_values(&mut self, mut f: impl FnMut(&mut String)) {
        let mut out = Headers::with_capacity(self.len(), self.text.len());
        let mut value = String::new();
        for (n, v) in self.iter() {
            value.clear();
            value.push_str(v);
            f(&mut value);
            out.push(n, &value);
        }
        *self = out;
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

    /// Room for `pairs` headers whose names and values add up to `text` bytes.
    pub(crate) fn with_capacity(pairs: usize, text: usize) -> Self {
        Headers {
            text: String::with_capacity(text),
            pairs: Vec::with_capacity(pairs),
        }
    }

    /// The headers of a response as the HTTP library gives them: values that are not valid
    /// UTF-8 are kept lossily. Sized first, so this allocates twice whatever the count.
    pub(crate) fn from_wire<'a, I>(pairs: impl Fn() -> I) -> Self
    where
        I: Iterator<Item = (&'a str, &'a [u8])>,
    {
        let text = pairs().map(|(n, v)| n.len() + v.len()).sum();
        let mut h = Headers::with_capacity(pairs().size_hint().0, text);
        for (n, v) in pairs() {
            h.push(n, String::from_utf8_lossy(v));
        }
        h
    }

    pub(crate) fn push(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        let start = self.text.len();
        self.text.push_str(name.as_ref());
        let mid = self.text.len();
        self.text.push_str(value.as_ref());
        self.pairs.push([start, mid, self.text.len()]);
    }

    /// Sets `name` to `value`, replacing every earlier value of `name` (any case).
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        self.retain_names(|n| !n.eq_ignore_ascii_case(name));
        self.push(name, value);
    }

    /// Every pair in `other`, each replacing the values of its name here.
    pub(crate) fn set_all(&mut self, other: &Headers) {
        for (n, v) in other.iter() {
            self.set(n, v);
        }
    }

    /// Keeps the pairs whose name passes `keep`.
    pub(crate) fn retain_names(&mut self, mut keep: impl FnMut(&str) -> bool) {
        if self.iter().all(|(n, _)| keep(n)) {
            return;
        }
        let mut out = Headers::with_capacity(self.len(), self.text.len());
        for (n, v) in self.iter() {
            if keep(n) {
                out.push(n, v);
            }
        }
        *self = out;
    }

    /// Checks every pair the way the transports will send it (see [`validate`]).
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.iter().try_for_each(|(n, v)| validate(n, v))
    }
}

/// The same pairs in the same order.
impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

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
    fn set_replaces_every_value_of_a_name_and_keeps_the_rest_in_order() {
        let mut h = Headers::from_pairs([("A", "1"), ("b", "2"), ("a", "3"), ("c", "4")]);
        h.set("a", "x");
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("b", "2"), ("c", "4"), ("a", "x")]
        );
        // The replaced pairs' text is gone, not just unlisted.
        assert_eq!(h.text, "b2c4ax");
        assert_eq!(h, Headers::from_pairs([("b", "2"), ("c", "4"), ("a", "x")]));
        assert_ne!(h, Headers::from_pairs([("c", "4"), ("b", "2"), ("a", "x")]));
        h.retain_names(|n| n != "c");
        assert_eq!(h.iter().collect::<Vec<_>>(), [("b", "2"), ("a", "x")]);
    }

    #[test]
    fn values_are_rewritten_in_place_of_the_old_ones() {
        let mut h = Headers::from_pairs([("x-echo", "key sk-1 here"), ("y", "sk-1")]);
        h.map_values(|v| *v = v.replace("sk-1", "[redacted]"));
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("x-echo", "key [redacted] here"), ("y", "[redacted]")]
        );
        assert!(!h.text.contains("sk-1"));
    }

    #[test]
    fn wire_headers_keep_invalid_utf8_lossily_in_one_buffer() {
        let pairs: [(&str, &[u8]); 3] = [
            ("content-type", b"application/json"),
            ("x-latin-1", b"caf\xe9"),
            ("x-utf-8", "caf\u{e9}".as_bytes()),
        ];
        let h = Headers::from_wire(|| pairs.iter().copied());
        assert_eq!(h.get("X-LATIN-1"), Some("caf\u{fffd}"));
        assert_eq!(h.get("x-utf-8"), Some("caf\u{e9}"));
        assert_eq!(h.len(), 3);
        assert!(h.text.capacity() >= 45 && h.pairs.capacity() >= 3);
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
