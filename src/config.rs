//! [`ClientBuilder`]: where a client points (base URL, key) and how it behaves (timeouts,
//! retries, headers, pool). Every setter states its default.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::headers::{Headers, is_header_text};
use crate::secret::Secret;

/// The base URL used when neither the builder nor `OPENAI_BASE_URL` sets one.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
/// Retries after the first attempt, as in openai-python (3 attempts in all).
pub const DEFAULT_MAX_RETRIES: u32 = 2;

/// A connection's read and write buffer, each, unless set (ureq's own default).
const DEFAULT_IO_BUFFER_SIZE: usize = 128 * 1024;
/// The sizes [`ClientBuilder::io_buffer_size`] accepts: a buffer must hold a response's head,
/// and above 16 MiB a buffer per connection is a mistake rather than a choice.
const IO_BUFFER_SIZES: std::ops::RangeInclusive<usize> = 4 * 1024..=16 * 1024 * 1024;
/// A timeout this long or longer (`u32::MAX` seconds, about 136 years; e.g. `Duration::MAX`)
/// means "no limit": no deadline at all is computed from it, so no clock arithmetic can
/// overflow.
const NO_LIMIT: Duration = Duration::from_secs(u32::MAX as u64);

/// A configured timeout as the transports use it: `None` for "no limit" (see [`NO_LIMIT`]).
pub(crate) fn limit(d: Duration) -> Option<Duration> {
    (d < NO_LIMIT).then_some(d)
}

/// The timeouts of a client. Every one surfaces as [`Error::Timeout`] naming its phase.
///
/// Zero is refused at [`ClientBuilder::build`]. A duration of `u32::MAX` seconds (about 136
/// years) or more, such as `Duration::MAX`, means **no limit** for that phase; nothing
/// overflows or panics.
///
/// ```
/// use std::time::Duration;
/// let t = oai_compat::Timeouts::default();
/// assert_eq!(t.connect, Duration::from_secs(5));
/// assert_eq!(t.request, Duration::from_secs(600));
/// assert_eq!(t.stream_idle, Some(Duration::from_secs(600)));
/// assert_eq!(t.stream_total, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// Opening a connection, TCP and TLS. Default 5 s.
    pub connect: Duration,
    /// A whole non-streamed attempt (send, wait, read the body); for a stream, the wait for
    /// its response headers; for an upload ([`Upload`](crate::Upload)), each wait for it to
    /// move and the rest of the attempt after its last byte. Default 600 s, as openai-python.
    pub request: Duration,
    /// The longest gap between two stream **events**. Keep-alive comments do not reset it, so
    /// a proxy's keep-alives cannot keep a dead generation open forever; a silent connection
    /// ends at the same deadline. The gap is the client's wait for the server: it counts from
    /// the moment a read after an event first has to wait, so the caller's own time between
    /// reads never counts. Default 600 s.
    pub stream_idle: Option<Duration>,
    /// The whole stream, from the request to the last event. Default: none.
    pub stream_total: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(600),
            stream_idle: Some(Duration::from_secs(600)),
            stream_total: None,
        }
    }
}

/// The validated configuration a [`Client`](crate::Client) runs with.
#[derive(Clone)]
pub(crate) struct Config {
    /// Normalised: no trailing slash; an empty path became `/v1`.
    pub(crate) base_url: String,
    pub(crate) api_key: Option<Secret>,
    pub(crate) organization: Option<String>,
    pub(crate) project: Option<String>,
    pub(crate) headers: Headers,
    pub(crate) timeouts: Timeouts,
    pub(crate) max_retries: u32,
    pub(crate) pool_max_idle_per_host: usize,
    /// Each connection's read and write buffer, in bytes (blocking transport).
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) io_buffer_size: usize,
    pub(crate) max_response_bytes: usize,
    /// What a reply above `bounded::THRESHOLD` may decode to, as a multiple of its bytes.
    pub(crate) max_decoded_multiple: usize,
    pub(crate) use_env_proxy: bool,
    /// Whether each call carries an id of the client's own (see `request_id`).
    pub(crate) request_ids: bool,
    /// Where calls are recorded and replayed, when set.
    pub(crate) cassette: Option<std::sync::Arc<crate::cassette::store::Store>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("organization", &self.organization)
            .field("project", &self.project)
            .field("headers", &self.headers)
            .field("timeouts", &self.timeouts)
            .field("max_retries", &self.max_retries)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .field("io_buffer_size", &self.io_buffer_size)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("max_decoded_multiple", &self.max_decoded_multiple)
            .field("request_ids", &self.request_ids)
            .field("cassette", &self.cassette)
            .finish()
    }
}

impl Config {
    /// `e` with the API key replaced in every field: for errors made after the call
    /// pipeline has handed a reply over (a structured reply that does not parse may quote
    /// a key the server echoed).
    pub(crate) fn redact(&self, mut e: Error) -> Error {
        if let Some(key) = &self.api_key {
            e.redact(key.expose());
        }
        e
    }
}

/// Builds a [`Client`](crate::Client). Start from [`Client::builder`](crate::Client::builder).
///
/// Values set here win over the environment; the environment (`OPENAI_BASE_URL`,
/// `OPENAI_API_KEY`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`) fills what is not set, unless
/// [`ClientBuilder::use_env`] is `false`. Empty variables count as unset.
///
/// ```
/// use std::time::Duration;
/// let client = oai_compat::Client::builder()
///     .base_url("http://localhost:8000")          // vLLM; becomes http://localhost:8000/v1
///     .api_key("EMPTY")
///     .timeout(Duration::from_secs(60))
///     .max_retries(3)
///     .build()?;
/// assert_eq!(client.base_url(), "http://localhost:8000/v1");
/// # Ok::<_, oai_compat::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    exact_base_url: bool,
    api_key: Option<Option<Secret>>,
    organization: Option<String>,
    project: Option<String>,
    headers: Headers,
    timeouts: Timeouts,
    max_retries: Option<u32>,
    pool_max_idle_per_host: Option<usize>,
    io_buffer_size: Option<usize>,
    max_response_bytes: Option<usize>,
    max_decoded_multiple: Option<usize>,
    no_env: bool,
    no_proxy: bool,
    no_request_ids: bool,
    cassette: Option<(std::path::PathBuf, crate::cassette::RecordMode)>,
    cassette_matcher: Option<crate::cassette::Matcher>,
    cassette_timing: bool,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "base_url",
                &self.base_url.as_deref().map(crate::url::redacted),
            )
            .field(
                "api_key",
                &self
                    .api_key
                    .as_ref()
                    .map(|k| k.as_ref().map(|_| "<redacted>")),
            )
            .field("headers", &self.headers)
            .field("timeouts", &self.timeouts)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A builder with every default. Same as [`Client::builder`](crate::Client::builder).
    pub fn new() -> Self {
        Self::default()
    }

    /// The server's base URL, e.g. `http://localhost:8000/v1` for vLLM.
    ///
    /// Trailing slashes are dropped; a URL with no path gets `/v1` (so
    /// `http://localhost:8000` works for vLLM); any other path is kept as given. Only `http`
    /// and `https` are accepted. For a server that serves the API at its root, use
    /// [`ClientBuilder::base_url_exact`].
    ///
    /// Default: `OPENAI_BASE_URL`, else `https://api.openai.com/v1`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self.exact_base_url = false;
        self
    }

    /// The base URL exactly as given, with no `/v1` added to an empty path (for servers that
    /// serve the API at the root, like a Prism mock of OpenAI's spec).
    pub fn base_url_exact(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self.exact_base_url = true;
        self
    }

    /// The API key, sent as `Authorization: Bearer <key>`. `"EMPTY"` (vLLM's convention) is
    /// sent as given. It never appears in `Debug`, errors or logs of this crate (see the
    /// README's security section for what a `TRACE` logger of the HTTP stack can see).
    ///
    /// Must be printable ASCII: a newline, a control or a non-ASCII character fails at
    /// [`build`](ClientBuilder::build) (in both modes alike), with a message that does not
    /// repeat the key.
    ///
    /// Default: `OPENAI_API_KEY` if set, else no key and no `Authorization` header at all
    /// (vLLM without `--api-key`, Ollama, llama.cpp).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Some(Secret::new(key.into())));
        self
    }

    /// Sends no `Authorization` header, even when `OPENAI_API_KEY` is set: for a local server
    /// that must not receive your OpenAI key.
    pub fn no_api_key(mut self) -> Self {
        self.api_key = Some(None);
        self
    }

    /// Sends `OpenAI-Organization`. Default: `OPENAI_ORG_ID`, else none. Must be printable
    /// ASCII (no CR/LF or control characters), checked at [`build`](ClientBuilder::build).
    pub fn organization(mut self, org: impl Into<String>) -> Self {
        self.organization = Some(org.into());
        self
    }

    /// Sends `OpenAI-Project`. Default: `OPENAI_PROJECT_ID`, else none. Must be printable
    /// ASCII (no CR/LF or control characters), checked at [`build`](ClientBuilder::build).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Adds a header to every request; per-call headers
    /// ([`RequestOptions::header`](crate::RequestOptions::header)) win over it.
    /// Default: none besides `User-Agent: oai-compat/<version>`, `Accept` and `Content-Type`.
    ///
    /// Checked at [`build`](ClientBuilder::build): the value must be printable ASCII, and the
    /// headers the HTTP layer owns (`Content-Length`, `Transfer-Encoding`, `Host`,
    /// `Connection`, `Keep-Alive`, `Upgrade`, `TE`, `Trailer`, `Proxy-Connection`) cannot be
    /// set. A header whose name looks like a credential (`key`, `token`, `secret`, `auth`,
    /// `cookie`, `password`, `session` in it) is redacted in `Debug`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push(name.into(), value.into());
        self
    }

    /// The whole non-streamed attempt, and a stream's wait for its headers: one deadline per
    /// attempt, shared by every redirect hop and by any body that is not handed over as a
    /// stream (an error body, a JSON answer to a stream request). Default 600 s.
    ///
    /// Zero is refused at [`build`](ClientBuilder::build); `Duration::MAX` (or anything from
    /// about 136 years up) means no limit.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeouts.request = d;
        self
    }

    /// Opening a connection (TCP and TLS). Default 5 s.
    ///
    /// Zero is refused at [`build`](ClientBuilder::build); `Duration::MAX` (or anything from
    /// about 136 years up) means no limit of ours (the operating system's own connect timeout
    /// and the request timeout still apply).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.timeouts.connect = d;
        self
    }

    /// The longest gap between two stream events (keep-alive comments do not count), as the
    /// client waits for the next one: a caller slower than this between reads does not trip
    /// it. `None` turns it off. Default 600 s.
    ///
    /// `Some(ZERO)` is refused at [`build`](ClientBuilder::build); `Some(Duration::MAX)` (or
    /// anything from about 136 years up) is the same as `None`.
    pub fn stream_idle_timeout(mut self, d: Option<Duration>) -> Self {
        self.timeouts.stream_idle = d;
        self
    }

    /// A deadline for a whole stream. Default: none.
    ///
    /// `Some(ZERO)` is refused at [`build`](ClientBuilder::build); `Some(Duration::MAX)` (or
    /// anything from about 136 years up) is the same as `None`.
    pub fn stream_timeout(mut self, d: Option<Duration>) -> Self {
        self.timeouts.stream_total = d;
        self
    }

    /// All timeouts at once. Default: [`Timeouts::default`].
    pub fn timeouts(mut self, t: Timeouts) -> Self {
        self.timeouts = t;
        self
    }

    /// Retries after the first attempt. Default 2 (3 attempts), as openai-python. Any value
    /// is safe (`u32::MAX` retries until success or a final error).
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// Idle connections kept per host for reuse. Default 64 (enough for a service calling one
    /// vLLM host from many threads or tasks). Idle connections are closed after 90 s. A limit
    /// only: nothing is allocated up front, so `usize::MAX` is safe (and means no limit).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = Some(n);
        self
    }

    /// The size in bytes of each connection's read buffer and of its write buffer. Default
    /// 128 KiB each (ureq's own default). From 4 KiB to 16 MiB; any other size is refused at
    /// [`build`](ClientBuilder::build).
    ///
    /// The buffers live as long as their connection (pooled ones included), so a process with
    /// thousands of connections open pays 256 KiB for each: 16 KiB is plenty for JSON calls
    /// and streams alike (a larger body or stream is read through the buffer in pieces). The
    /// limit is what one piece holds: a response's status line and headers, and a request's
    /// headers, must each fit in one buffer.
    ///
    /// Applies to the blocking transport (ureq). The async transport (reqwest on hyper) sizes
    /// its buffers itself and has no such setting: there the size is checked and otherwise
    /// has no effect.
    pub fn io_buffer_size(mut self, bytes: usize) -> Self {
        self.io_buffer_size = Some(bytes);
        self
    }

    /// The largest response body read into memory. Default 256 MiB (room for big embedding
    /// batches); a larger body fails the call with [`Error::Decode`](crate::Error::Decode).
    ///
    /// Memory grows with the bytes that actually arrive, never with what a `Content-Length`
    /// header claims, so a large limit costs nothing until a body is that large.
    /// `usize::MAX` means no limit. Zero is refused at [`build`](ClientBuilder::build) (no
    /// response could be read).
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = Some(n);
        self
    }

    /// The most memory a reply may decode to, as a multiple of its bytes. Default 3: with the
    /// body itself, a reply then peaks at about 4 times its size, where a hostile one (a list
    /// of `{}`, each a default choice of a few hundred bytes) could otherwise take 100 times.
    /// A reply that would take more fails with [`Error::Decode`](crate::Error::Decode) naming
    /// this limit. A stream event counts the same, less one for the copy of its text the
    /// event decoder holds.
    ///
    /// Only bodies and events above 256 KiB are measured (smaller ones decode as fast as
    /// before); what is counted is an estimate of the heap each value takes. Ordinary replies
    /// fit: a long text or embeddings (floats or base64) take under 1x, chat logprobs with 5
    /// alternatives per token 1.5-2.5x. A legacy completion's `logprobs` (a map of
    /// alternatives per token) take 3-6.5x: with `logprobs` of 5 on replies above 256 KiB
    /// (about 1,300 tokens), set 8.
    /// `usize::MAX` means no limit. Zero is refused at [`build`](ClientBuilder::build).
    pub fn max_decoded_multiple(mut self, n: usize) -> Self {
        self.max_decoded_multiple = Some(n);
        self
    }

    /// Whether every call carries an id of the client's own, under `X-Request-Id` (read by
    /// vLLM, which then names its request and its reply's `id` after it, and by vllm-router)
    /// and `X-Client-Request-Id` (read by OpenAI). Default `true`: a fresh `oai-<24 hex>` per
    /// call, kept across its retries, so one id leads from your log to the server's.
    /// [`RequestOptions::request_id`](crate::RequestOptions::request_id) sets a call's own, and
    /// an `X-Request-Id` header set on the builder or the call is sent as it is (and as the
    /// client id). The id sent is [`ResponseMeta::client_request_id`](crate::ResponseMeta).
    pub fn request_ids(mut self, yes: bool) -> Self {
        self.no_request_ids = !yes;
        self
    }

    /// Records the client's calls to a cassette file, or replays them from it, as `mode` says
    /// (see [`cassette`](crate::cassette) and the guide's testing chapter). Default: none.
    /// Every call goes through it, streams included; the file is opened at
    /// [`build`](ClientBuilder::build), which fails with
    /// [`Error::Cassette`](crate::Error::Cassette) when it cannot be read (or, in
    /// [`RecordMode::None`](crate::cassette::RecordMode::None), does not exist). The key is
    /// never written to it.
    ///
    #[cfg_attr(feature = "blocking", doc = "```")]
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::cassette::RecordMode;
    /// # let dir = std::env::temp_dir().join(format!("oai-cassette-doc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let path = dir.join("chat.jsonl");
    /// # let server = oai_compat_mock::MockServer::start().unwrap();
    /// // Recorded on the first run (the file is absent), replayed on every run after.
    /// let client = oai_compat::Client::builder()
    ///     .base_url(server.url())
    ///     .cassette(&path, RecordMode::Once)
    ///     .build()?;
    /// let first = client.models().list()?;
    /// let replayed = oai_compat::Client::builder()
    ///     .base_url("http://127.0.0.1:9") // nothing listens here: nothing is sent
    ///     .cassette(&path, RecordMode::None)
    ///     .build()?;
    /// assert_eq!(replayed.models().list()?.data[0].id, first.data[0].id);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub fn cassette(
        mut self,
        path: impl AsRef<std::path::Path>,
        mode: crate::cassette::RecordMode,
    ) -> Self {
        self.cassette = Some((path.as_ref().to_owned(), mode));
        self
    }

    /// How a cassette matches a call to a recorded one. Default
    /// [`Matcher::default`](crate::cassette::Matcher): method, path and JSON body, without
    /// `user` and `stream_options`.
    pub fn cassette_matcher(mut self, matcher: crate::cassette::Matcher) -> Self {
        self.cassette_matcher = Some(matcher);
        self
    }

    /// Whether a cassette replays a stream's pieces at their recorded times (for
    /// time-to-first-token tests). Default `false`: at once.
    pub fn cassette_timing(mut self, keep: bool) -> Self {
        self.cassette_timing = keep;
        self
    }

    /// Whether unset values are read from `OPENAI_*` variables. Default `true`.
    pub fn use_env(mut self, yes: bool) -> Self {
        self.no_env = !yes;
        self
    }

    /// Ignores `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`. Default: proxies from the environment
    /// are used.
    pub fn no_proxy(mut self) -> Self {
        self.no_proxy = true;
        self
    }

    /// The validated configuration (see [`ClientBuilder::build`], next to
    /// [`Client`](crate::Client)).
    pub(crate) fn into_config(self) -> Result<Config> {
        let env = |name: &str| {
            if self.no_env {
                None
            } else {
                std::env::var(name).ok().filter(|v| !v.trim().is_empty())
            }
        };
        let raw_url = self
            .base_url
            .clone()
            .or_else(|| env("OPENAI_BASE_URL"))
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let base_url = crate::url::parse_base_url(&raw_url, self.exact_base_url)?;
        let api_key = match self.api_key {
            Some(k) => k,
            None => env("OPENAI_API_KEY").map(Secret::new),
        };
        if let Some(k) = &api_key {
            if !is_header_text(k.expose()) {
                return Err(Error::config(
                    "the API key contains a character that cannot be sent in a header (a newline, control or non-ASCII character?); the key itself is not shown",
                ));
            }
        }
        let organization = self.organization.or_else(|| env("OPENAI_ORG_ID"));
        let project = self.project.or_else(|| env("OPENAI_PROJECT_ID"));
        for (what, v) in [("organization", &organization), ("project", &project)] {
            if v.as_deref().is_some_and(|v| !is_header_text(v)) {
                return Err(Error::config(format!(
                    "the {what} id contains a character that cannot be sent in a header (a newline, control or non-ASCII character?)"
                )));
            }
        }
        if self.max_decoded_multiple == Some(0) {
            return Err(Error::config(
                "max_decoded_multiple is zero: no reply above 256 KiB could be decoded; use a positive multiple (usize::MAX for no limit)",
            ));
        }
        if let Some(n) = self.io_buffer_size.filter(|n| !IO_BUFFER_SIZES.contains(n)) {
            return Err(Error::config(format!(
                "io_buffer_size is {n} bytes: use 4096 to 16777216 (4 KiB to 16 MiB)"
            )));
        }
        if self.max_response_bytes == Some(0) {
            return Err(Error::config(
                "max_response_bytes is zero: no response could be read; use a positive size (usize::MAX for no limit)",
            ));
        }
        self.headers.validate().map_err(|why| {
            let mut e = Error::config(why);
            // A header value that holds the key (under a name that does not look like one)
            // must not be repeated by the error either.
            if let Some(k) = &api_key {
                e.redact(k.expose());
            }
            e
        })?;
        let t = self.timeouts;
        for (name, d) in [
            ("connect", Some(t.connect)),
            ("request", Some(t.request)),
            ("stream_idle", t.stream_idle),
            ("stream_total", t.stream_total),
        ] {
            if d == Some(Duration::ZERO) {
                return Err(Error::config(format!(
                    "the {name} timeout is zero; use a positive duration (or None where allowed)"
                )));
            }
        }
        let cassette = match self.cassette {
            Some((path, mode)) => Some(std::sync::Arc::new(crate::cassette::store::Store::open(
                path,
                mode,
                self.cassette_matcher.unwrap_or_default(),
                self.cassette_timing,
                api_key.clone(),
            )?)),
            None => None,
        };
        Ok(Config {
            base_url,
            api_key,
            organization,
            project,
            headers: self.headers,
            timeouts: t,
            max_retries: self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
            pool_max_idle_per_host: self.pool_max_idle_per_host.unwrap_or(64),
            io_buffer_size: self.io_buffer_size.unwrap_or(DEFAULT_IO_BUFFER_SIZE),
            max_response_bytes: self.max_response_bytes.unwrap_or(256 * 1024 * 1024),
            max_decoded_multiple: self
                .max_decoded_multiple
                .unwrap_or(crate::bounded::DEFAULT_MULTIPLE),
            use_env_proxy: !self.no_proxy,
            request_ids: !self.no_request_ids,
            cassette,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_timeout_and_bad_headers_rejected() {
        let b = ClientBuilder::new().use_env(false).base_url("http://h");
        let e = b.clone().timeout(Duration::ZERO).into_config().unwrap_err();
        assert!(e.to_string().contains("request timeout is zero"), "{e}");
        let e = b.clone().header("bad name", "v").into_config().unwrap_err();
        assert!(e.to_string().contains("invalid header name"), "{e}");
        let e = b.clone().header("x-key", "a\nb").into_config().unwrap_err();
        assert!(e.to_string().contains("invalid value"), "{e}");
        let e = b.clone().api_key("sk-abc\ndef").into_config().unwrap_err();
        assert!(!e.to_string().contains("sk-abc"), "{e}");
        let e = b
            .api_key("sk-live-123456789")
            .header("x-llm", "Bearer sk-live-123456789\n")
            .into_config()
            .unwrap_err();
        assert!(!e.to_string().contains("sk-live"), "{e}");
    }

    #[test]
    fn the_decoded_multiple_defaults_to_3_and_zero_is_refused() {
        let b = ClientBuilder::new().use_env(false).base_url("http://h");
        let c = b.clone().into_config().unwrap();
        assert_eq!(c.max_decoded_multiple, 3);
        let c = b
            .clone()
            .max_decoded_multiple(usize::MAX)
            .into_config()
            .unwrap();
        assert_eq!(c.max_decoded_multiple, usize::MAX);
        let e = b.max_decoded_multiple(0).into_config().unwrap_err();
        assert!(
            e.to_string().contains("max_decoded_multiple is zero"),
            "{e}"
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let b = ClientBuilder::new()
            .use_env(false)
            .api_key("sk-very-secret")
            .header("Authorization", "Bearer sk-other-secret");
        let s = format!("{b:?}");
        assert!(
            !s.contains("sk-very-secret") && !s.contains("sk-other-secret"),
            "{s}"
        );
        let c = b.base_url("http://h").into_config().unwrap();
        let s = format!("{c:?}");
        assert!(
            !s.contains("sk-very-secret") && !s.contains("sk-other-secret"),
            "{s}"
        );
    }
}
