//! [`RequestOptions`]: per-call overrides (timeout, retries, extra headers, query and body).

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::headers::Headers;

/// Per-call options, applied with `with_options` on a resource handle or on the client.
///
/// Later options win: a call's options override the client's, and a header set here
/// replaces the builder's header of the same name. `extra_body` keys are merged into the
/// top level of the JSON body and win over typed fields (openai-python's `extra_body`).
///
/// ```
/// use std::time::Duration;
/// use oai_compat::RequestOptions;
/// let opts = RequestOptions::new()
///     .timeout(Duration::from_secs(30))
///     .max_retries(0)
///     .header("X-Request-Id", "my-trace-1")
///     .query("api-version", "2024-06-01")
///     .extra_body("top_k", 40);
/// assert_eq!(opts.timeout_override(), Some(Duration::from_secs(30)));
/// assert_eq!(opts.max_retries_override(), Some(0));
/// assert_eq!(RequestOptions::new().timeout_override(), None);
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct RequestOptions {
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_retries: Option<u32>,
    pub(crate) headers: Headers,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Map<String, Value>,
    pub(crate) request_id: Option<String>,
}

impl fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestOptions")
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("headers", &self.headers)
            .field("query", &self.query)
            .field("body", &self.body)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl RequestOptions {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Overrides the request timeout ([`Timeouts::request`](crate::Timeouts::request)) for
    /// this call. Default: the client's.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }

    /// Overrides the number of retries for this call. Default: the client's.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// Adds a header to this call; it replaces a client header of the same name. An
    /// `X-Request-Id` set here is kept (vLLM uses it as the request id).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.set(&name.into(), &value.into());
        self
    }

    /// The id this call is sent under, instead of a generated one: `X-Request-Id` (vLLM names
    /// its request and its reply's `id` after it: `chatcmpl-<id>`) and `X-Client-Request-Id`
    /// (OpenAI), the same on every retry. 1 to 512 visible ASCII characters; anything else
    /// fails the call with [`Error::Config`](crate::Error::Config) before it is sent. Sent even
    /// when [`ClientBuilder::request_ids`](crate::ClientBuilder::request_ids) is off. Default:
    /// a fresh `oai-<24 hex>` per call.
    ///
    /// ```
    /// use oai_compat::RequestOptions;
    /// let opts = RequestOptions::new().request_id("invoice-42/line-7");
    /// assert_eq!(opts.request_id_override(), Some("invoice-42/line-7"));
    /// ```
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// The id set with [`request_id`](Self::request_id), if any.
    pub fn request_id_override(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// Adds a query parameter (URL-encoded for you).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets a top-level JSON body key (wins over a typed field of the same name).
    pub fn extra_body(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.body.insert(key.into(), value.into());
        self
    }

    /// The timeout set with [`timeout`](Self::timeout); `None` means the client's applies.
    pub fn timeout_override(&self) -> Option<Duration> {
        self.timeout
    }

    /// The retry count set with [`max_retries`](Self::max_retries); `None` means the client's
    /// applies.
    pub fn max_retries_override(&self) -> Option<u32> {
        self.max_retries
    }

    /// `other` applied on top of `self`.
    pub(crate) fn merged(&self, other: &RequestOptions) -> RequestOptions {
        let mut out = self.clone();
        if other.timeout.is_some() {
            out.timeout = other.timeout;
        }
        if other.max_retries.is_some() {
            out.max_retries = other.max_retries;
        }
        out.headers.set_all(&other.headers);
        if other.request_id.is_some() {
            out.request_id.clone_from(&other.request_id);
        }
        out.query.extend(other.query.iter().cloned());
        for (k, v) in &other.body {
            out.body.insert(k.clone(), v.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_later_wins() {
        let a = RequestOptions::new()
            .timeout(Duration::from_secs(1))
            .header("X-A", "1")
            .extra_body("k", 1);
        let b = RequestOptions::new()
            .header("x-a", "2")
            .extra_body("k", 2)
            .max_retries(0);
        let m = a.merged(&b);
        assert_eq!(m.timeout, Some(Duration::from_secs(1)));
        assert_eq!(m.max_retries, Some(0));
        assert_eq!(m.headers, Headers::from_pairs([("x-a", "2")]));
        assert_eq!(m.body["k"], 2);
        assert_eq!(RequestOptions::new(), RequestOptions::default());
    }

    #[test]
    fn debug_redacts_authorization() {
        let o = RequestOptions::new().header("Authorization", "Bearer sk-hidden");
        assert!(!format!("{o:?}").contains("sk-hidden"));
    }
}
