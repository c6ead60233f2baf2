//! [`Error`]: one error type for every call, in both modes, with no foreign type in it.
//!
//! Error bodies are parsed leniently because every server shapes them differently:
//! OpenAI's `{"error": {...}}` (string `code`), vLLM's (integer `code`), vLLM's
//! `--api-key` 401 `{"error": "Unauthorized"}`, the flat pre-0.10.1 vLLM shape
//! `{"object": "error", "message": ...}`, FastAPI's and Prism's `{"detail": ...}`, and
//! raw text or HTML from proxies. The HTTP status and the raw body are always kept.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::headers::Headers;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many bytes of a body an error keeps for `Display` and inspection.
const EXCERPT: usize = 512;

/// Everything that can go wrong in a call.
///
/// Match on the variant, or ask a predicate: [`Error::is_timeout`],
/// [`Error::is_rate_limited`], [`Error::is_overloaded`], [`Error::is_auth`], ...
///
/// ```
/// # use oai_compat::Error;
/// fn describe(e: &Error) -> &'static str {
///     if e.is_timeout() {
///         "timed out: raise the timeout or retry later"
///     } else if e.is_rate_limited() {
///         "rate limited (429)"
///     } else if e.is_overloaded() {
///         "server overloaded (503)"
///     } else if e.status().is_some() {
///         "the server refused the request"
///     } else {
///         "other"
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with a non-2xx status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// A timeout expired; [`TimeoutError::phase`] says which one.
    #[error("{0}")]
    Timeout(TimeoutError),
    /// The connection could not be made, or broke (refused, reset, DNS, TLS).
    #[error("{0}")]
    Connection(ConnectionError),
    /// A 2xx response whose body is not what the endpoint returns.
    #[error("{0}")]
    Decode(Box<DecodeError>),
    /// A stream broke after it was handed to the caller: an in-band error event, a body
    /// that ended without `[DONE]`, or an oversized event.
    #[error("{0}")]
    Stream(Box<StreamError>),
    /// Invalid configuration: a base URL, header, key, timeout or option that no call could
    /// use, or a missing TLS feature. Fix the client's or the call's settings.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A request that cannot be sent as it is, found before anything was sent: a number that
    /// is NaN or infinite, an id that is not one path segment, a tokenize request with both
    /// or neither input, a raw body that is not a JSON object, a request that does not
    /// serialise. Fix the request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A [`Router`](crate::Router) has no backend for the call: none was added, or none of
    /// them lists the request's model (the message names the models they do serve).
    #[error("{0}")]
    NoBackend(String),
    /// The model's reply does not decode into the requested type (`parse`).
    #[error("{0}")]
    Parse(Box<crate::parse_error::ParseError>),
    /// A tool loop (`run_tools`) reached its round limit; the conversation is kept.
    #[error("{0}")]
    ToolLoop(Box<crate::tool_loop_error::ToolLoopError>),
    /// A cassette ([`ClientBuilder::cassette`](crate::ClientBuilder::cassette)) that only
    /// replays has no recorded answer for the call (the message names the closest recorded
    /// request and the fields that differ), or the cassette file cannot be read.
    #[error("{0}")]
    Cassette(String),
    /// A file of a multipart upload ([`Upload`](crate::Upload)) could not be sent: it cannot
    /// be opened or read, it changed size while it was sent, or it is a one-shot source (a
    /// pipe) that a retry or a redirect would have to read again. Nothing is retried.
    #[error(transparent)]
    Upload(Box<UploadError>),
    /// The writer given to [`Download::write_to`](crate::Download::write_to) failed (a full
    /// disk, a closed pipe). The download stops there.
    #[error("could not write the downloaded content: {0}")]
    Write(std::io::Error),
}

impl Error {
    /// The HTTP status of an [`Error::Api`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(e) => Some(e.status),
            Error::Upload(e) => e.failed_attempt().and_then(Error::status),
            _ => None,
        }
    }

    /// True for every kind of timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout(_))
    }

    /// True for connection failures (refused, reset, DNS, TLS).
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection(_))
    }

    /// True for HTTP 429 (rate limits, usually from OpenAI or a proxy).
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(429)
    }

    /// True for HTTP 503: vLLM's answer when its queue is full.
    pub fn is_overloaded(&self) -> bool {
        self.status() == Some(503)
    }

    /// True for HTTP 401 and 403: a missing, wrong or unauthorised API key.
    pub fn is_auth(&self) -> bool {
        matches!(self.status(), Some(401 | 403))
    }

    /// True for HTTP 404 (unknown model or route).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// The server's request id (`x-request-id`), when known.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(e) => e.request_id.as_deref(),
            Error::Decode(e) => e.request_id.as_deref(),
            Error::Stream(e) => e.request_id.as_deref(),
            Error::Upload(e) => e.failed_attempt().and_then(Error::request_id),
            _ => None,
        }
    }

    /// How many retries were made before this error was returned.
    pub fn retries_taken(&self) -> u32 {
        match self {
            Error::Api(e) => e.retries_taken,
            Error::Timeout(e) => e.retries_taken,
            Error::Connection(e) => e.retries_taken,
            Error::Decode(e) => e.retries_taken,
            Error::Stream(e) => e.retries_taken,
            Error::Config(_)
            | Error::InvalidRequest(_)
            | Error::NoBackend(_)
            | Error::Parse(_)
            | Error::ToolLoop(_)
            | Error::Cassette(_)
            | Error::Write(_) => 0,
            Error::Upload(e) => e.retries_taken,
        }
    }

    pub(crate) fn set_retries_taken(&mut self, n: u32) {
        match self {
            Error::Api(e) => e.retries_taken = n,
            Error::Timeout(e) => e.retries_taken = n,
            Error::Connection(e) => e.retries_taken = n,
            Error::Decode(e) => e.retries_taken = n,
            Error::Stream(e) => e.retries_taken = n,
            Error::Config(_)
            | Error::InvalidRequest(_)
            | Error::NoBackend(_)
            | Error::Parse(_)
            | Error::ToolLoop(_)
            | Error::Cassette(_)
            | Error::Write(_) => {}
            Error::Upload(e) => e.retries_taken = n,
        }
    }

    /// Replaces the API key in every text field of every kind of error: messages, bodies and
    /// excerpts, `type`, `code`, `param`, request ids and every response header value. Some
    /// servers and proxies echo the credential they received, in any of these. See
    /// [`redact_text`] for the rule.
    pub(crate) fn redact(&mut self, key: &str) {
        let r = |s: &mut String| redact_text(s, key);
        let opt = |s: &mut Option<String>| {
            if let Some(s) = s {
                redact_text(s, key);
            }
        };
        let code = |c: &mut Option<ErrorCode>| {
            if let Some(ErrorCode::Text(s)) = c {
                redact_text(s, key);
            }
        };
        match self {
            Error::Api(e) => {
                r(&mut e.message);
                r(&mut e.body);
                opt(&mut e.error_type);
                code(&mut e.code);
                opt(&mut e.param);
                opt(&mut e.request_id);
                e.headers.map_values(r);
            }
            Error::Decode(e) => {
                r(&mut e.message);
                r(&mut e.body_excerpt);
                opt(&mut e.request_id);
            }
            Error::Stream(e) => {
                r(&mut e.message);
                opt(&mut e.error_type);
                code(&mut e.code);
                opt(&mut e.param);
                opt(&mut e.request_id);
            }
            Error::Connection(e) => r(&mut e.message),
            Error::Upload(e) => {
                r(&mut e.message);
                if let Some(a) = &mut e.attempt {
                    a.redact(key);
                }
            }
            Error::Config(m)
            | Error::InvalidRequest(m)
            | Error::NoBackend(m)
            | Error::Cassette(m) => r(m),
            Error::Parse(e) => {
                r(&mut e.text);
                r(&mut e.message);
                opt(&mut e.finish_reason);
            }
            // The pending calls and the server's turns (and tool results quoting them) are
            // the server's text.
            Error::ToolLoop(e) => {
                use crate::tool_loop_error::ToolConversation as C;
                redact_strings(&mut e.pending, key);
                match &mut e.conversation {
                    C::Chat { messages, last } => {
                        redact_strings(messages, key);
                        redact_strings(last, key);
                    }
                    C::Responses { input, last } => {
                        redact_strings(input, key);
                        redact_strings(last, key);
                    }
                }
            }
            // Local failures: nothing the server sent is in them.
            Error::Timeout(_) | Error::Write(_) => {}
        }
    }

    /// Names the server (`host:port`, never the path, query or key) in a connection error.
    pub(crate) fn with_host(mut self, authority: &str) -> Self {
        if let Error::Connection(c) = &mut self {
            c.message = format!("{authority}: {}", c.message);
        }
        self
    }

    pub(crate) fn config(msg: impl Into<String>) -> Self {
        Error::Config(msg.into())
    }

    pub(crate) fn invalid_request(msg: impl Into<String>) -> Self {
        Error::InvalidRequest(msg.into())
    }

    pub(crate) fn timeout(phase: TimeoutPhase, limit: Option<Duration>) -> Self {
        Error::Timeout(TimeoutError {
            phase,
            limit,
            retries_taken: 0,
        })
    }

    pub(crate) fn connection(
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Error::Connection(ConnectionError {
            message: message.into(),
            source,
            retries_taken: 0,
        })
    }

    pub(crate) fn decode(
        what: &'static str,
        source: impl fmt::Display,
        body: &[u8],
        request_id: Option<String>,
    ) -> Self {
        Error::Decode(Box::new(DecodeError {
            what,
            message: source.to_string(),
            body_excerpt: excerpt(body),
            request_id,
            retries_taken: 0,
        }))
    }

    /// A body past `max_response_bytes`: a decode error, not retried (it would be as large
    /// again).
    /// `what` is "HTTP" here; a caller that knows the endpoint names it (see `Client::json`).
    pub(crate) fn too_large(limit: usize, start: &[u8]) -> Self {
        Error::decode(
            "HTTP",
            format!(
                "the body exceeds max_response_bytes ({limit} bytes); raise it with ClientBuilder::max_response_bytes"
            ),
            start,
            None,
        )
    }

    pub(crate) fn stream(kind: StreamErrorKind, message: impl Into<String>) -> Self {
        Error::Stream(Box::new(StreamError::new(kind, message)))
    }
}

/// A non-2xx answer from the server.
///
/// `Display` shows the status and the message: `API error 404 (NotFoundError): The model
/// `x` does not exist.`
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// The server's message, or the reason phrase when the body has none.
    pub message: String,
    /// The error's `type` (`invalid_request_error`, vLLM's `NotFoundError`, ...).
    pub error_type: Option<String>,
    /// The error's `code`: a string for OpenAI, the HTTP status as an integer for vLLM.
    pub code: Option<ErrorCode>,
    /// The request parameter the error is about (`model`, `max_tokens`, ...).
    pub param: Option<String>,
    /// The server's request id (`x-request-id`).
    pub request_id: Option<String>,
    /// The response headers (`retry-after`, rate-limit headers, ...).
    pub headers: Headers,
    /// The raw response body (lossy UTF-8, at most 64 KiB).
    pub body: String,
    /// How many retries were made before this error was returned.
    pub retries_taken: u32,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API error {}", self.status)?;
        if let Some(t) = &self.error_type {
            write!(f, " ({t})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ApiError {
    /// The error's string `code`, if it has one: match it directly,
    /// `if api.code_str() == Some("context_length_exceeded") { .. }`. vLLM's numeric codes
    /// (the HTTP status) are `None` here; see [`ErrorCode::as_int`].
    ///
    /// ```
    /// fn too_long(e: &oai_compat::Error) -> bool {
    ///     matches!(e, oai_compat::Error::Api(api) if api.code_str() == Some("context_length_exceeded"))
    /// }
    /// # let _ = too_long;
    /// ```
    pub fn code_str(&self) -> Option<&str> {
        self.code.as_ref()?.as_str()
    }

    /// An error with this status and message and nothing else (no type, code, param, request
    /// id, headers or body): for errors the client reports in the server's terms, and for
    /// tests of code that handles API errors.
    ///
    /// ```
    /// use oai_compat::{ApiError, Error};
    /// let e = Error::Api(Box::new(ApiError::new(429, "slow down")));
    /// assert!(e.is_rate_limited());
    /// assert_eq!(e.to_string(), "API error 429: slow down");
    /// ```
    pub fn new(status: u16, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            error_type: None,
            code: None,
            param: None,
            request_id: None,
            headers: Headers::default(),
            body: String::new(),
            retries_taken: 0,
        }
    }

    /// The same error with these response headers (and their request id).
    pub(crate) fn with_headers(mut self, headers: Headers) -> ApiError {
        self.request_id = headers.request_id().map(str::to_owned);
        self.headers = headers;
        self
    }

    /// Parses an error response leniently; never fails.
    pub(crate) fn from_response(status: u16, headers: Headers, body: &[u8]) -> ApiError {
        const MAX_BODY: usize = 64 * 1024;
        // Bounded like a reply: an error body (up to 1 MiB) of tiny values would decode to ~70 MB.
        let fields = crate::bounded::from_slice::<Value>(body, crate::bounded::DEFAULT_MULTIPLE)
            .ok()
            .and_then(|v| ErrorFields::from_value(&v).or_else(|| ErrorFields::from_detail(&v)));
        let fields = fields.unwrap_or_else(|| ErrorFields {
            message: text_message(body),
            ..ErrorFields::default()
        });
        let message = if fields.message.is_empty() {
            reason_phrase(status).to_owned()
        } else {
            fields.message
        };
        let request_id = headers.request_id().map(str::to_owned);
        let cut = &body[..body.len().min(MAX_BODY)];
        ApiError {
            status,
            message,
            error_type: fields.error_type,
            code: fields.code,
            param: fields.param,
            request_id,
            headers,
            body: String::from_utf8_lossy(cut).into_owned(),
            retries_taken: 0,
        }
    }
}

/// An error `code`, which OpenAI sends as a string and vLLM as the HTTP status number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorCode {
    /// A numeric code (vLLM: the HTTP status).
    Int(i64),
    /// A string code (OpenAI: `invalid_api_key`, `model_not_found`, ...).
    Text(String),
}

impl ErrorCode {
    /// The code as text if it is a string code (OpenAI: `"invalid_api_key"`,
    /// `"context_length_exceeded"`, ...); `None` for a numeric one (vLLM sends the status).
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ErrorCode::Text(s) => Some(s),
            ErrorCode::Int(_) => None,
        }
    }

    /// The code as a number if it is a numeric code (vLLM: the HTTP status).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            ErrorCode::Int(i) => Some(*i),
            ErrorCode::Text(_) => None,
        }
    }

    /// The code of a JSON value: an integer or a string; `None` for anything else.
    pub(crate) fn from_value(v: &Value) -> Option<ErrorCode> {
        match v {
            Value::Number(n) => n.as_i64().map(ErrorCode::Int),
            Value::String(s) => Some(ErrorCode::Text(s.clone())),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Int(i) => write!(f, "{i}"),
            ErrorCode::Text(s) => f.write_str(s),
        }
    }
}

/// Which timeout expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Opening the connection (TCP and TLS): `Timeouts::connect`.
    Connect,
    /// A whole non-streamed attempt, or waiting for a stream's response headers:
    /// `Timeouts::request`.
    Request,
    /// The gap between two stream events (keep-alive comments do not count):
    /// `Timeouts::stream_idle`.
    StreamIdle,
    /// The whole stream: `Timeouts::stream_total`.
    StreamTotal,
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connecting",
            TimeoutPhase::Request => "waiting for the response",
            TimeoutPhase::StreamIdle => "waiting for the next stream event",
            TimeoutPhase::StreamTotal => "streaming (total stream deadline)",
        })
    }
}

/// Details of [`Error::Timeout`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TimeoutError {
    /// Which timeout expired.
    pub phase: TimeoutPhase,
    /// The configured limit that expired, when known.
    pub limit: Option<Duration>,
    /// How many retries were made before this error was returned.
    pub retries_taken: u32,
}

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out {}", self.phase)?;
        if let Some(l) = self.limit {
            write!(f, " (limit {:.3?})", l)?;
        }
        Ok(())
    }
}

/// Details of [`Error::Connection`].
#[derive(Debug)]
#[non_exhaustive]
pub struct ConnectionError {
    /// What failed, in words.
    pub message: String,
    /// How many retries were made before this error was returned.
    pub retries_taken: u32,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection error: {}", self.message)
    }
}

impl std::error::Error for ConnectionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Details of [`Error::Upload`].
#[derive(Debug)]
#[non_exhaustive]
pub struct UploadError {
    /// What failed and what to do about it, in words.
    pub message: String,
    /// The file's path, for an upload made with [`Upload::path`](crate::Upload::path).
    pub path: Option<std::path::PathBuf>,
    /// How many retries were made before this error was returned.
    pub retries_taken: u32,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// The failure a retry could not follow, when the upload was a one-shot source.
    attempt: Option<Box<Error>>,
}

impl UploadError {
    /// The attempt's own failure (an [`Error::Api`] with its status and `retry-after`, a
    /// timeout...) when the call was not retried because its one-shot source (a pipe) was
    /// already read. [`Error::status`] and [`Error::request_id`] read it too, so a 429 still
    /// reads as a 429.
    pub fn failed_attempt(&self) -> Option<&Error> {
        self.attempt.as_deref()
    }

    /// An [`Error::Upload`] for a call that failed with `attempt` and could not be retried.
    pub(crate) fn not_retried(
        message: String,
        path: Option<&std::path::Path>,
        attempt: Error,
    ) -> Error {
        Error::Upload(Box::new(UploadError {
            message,
            path: path.map(std::path::Path::to_path_buf),
            retries_taken: attempt.retries_taken(),
            source: None,
            attempt: Some(Box::new(attempt)),
        }))
    }

    /// An [`Error::Upload`].
    pub(crate) fn error(
        message: impl Into<String>,
        path: Option<&std::path::Path>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::Upload(Box::new(UploadError {
            message: message.into(),
            path: path.map(std::path::Path::to_path_buf),
            retries_taken: 0,
            source,
            attempt: None,
        }))
    }
}

impl fmt::Display for UploadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "upload failed: {}", self.message)
    }
}

impl std::error::Error for UploadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.attempt {
            Some(e) => Some(e.as_ref()),
            None => self
                .source
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static)),
        }
    }
}

/// Details of [`Error::Decode`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodeError {
    /// What was being decoded (`chat completion`, `embeddings`, ...).
    pub what: &'static str,
    /// The parser's message.
    pub message: String,
    /// The start of the body (at most 512 bytes, lossy UTF-8).
    pub body_excerpt: String,
    /// The server's request id, when known.
    pub request_id: Option<String>,
    /// How many retries were made before this error was returned.
    pub retries_taken: u32,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not decode the {} response: {}; body starts with: {:?}",
            self.what, self.message, self.body_excerpt
        )
    }
}

/// What broke a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamErrorKind {
    /// The server sent an error event (`data: {"error": ...}`).
    InBand,
    /// The body ended before `data: [DONE]`.
    Truncated,
    /// A line or event exceeded the configured bound.
    TooLarge,
}

/// Details of [`Error::Stream`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StreamError {
    /// What broke the stream.
    pub kind: StreamErrorKind,
    /// The message (the server's, for in-band errors).
    pub message: String,
    /// The in-band error's `type`.
    pub error_type: Option<String>,
    /// The in-band error's `code` (int for vLLM, string for OpenAI).
    pub code: Option<ErrorCode>,
    /// The in-band error's `param`.
    pub param: Option<String>,
    /// The request id of the streamed response.
    pub request_id: Option<String>,
    /// Retries made before the stream started.
    pub retries_taken: u32,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StreamErrorKind::InBand => write!(f, "error event in stream")?,
            StreamErrorKind::Truncated => write!(f, "stream ended early")?,
            StreamErrorKind::TooLarge => write!(f, "stream event too large")?,
        }
        if let Some(t) = &self.error_type {
            write!(f, " ({t})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl StreamError {
    pub(crate) fn new(kind: StreamErrorKind, message: impl Into<String>) -> StreamError {
        StreamError {
            kind,
            message: message.into(),
            error_type: None,
            code: None,
            param: None,
            request_id: None,
            retries_taken: 0,
        }
    }

    /// Builds the in-band error of a bare error object (`message`, `type`, `code`, `param`
    /// at its top level), as the Responses API's `error` event and failed response carry it.
    pub(crate) fn from_error_object(obj: &serde_json::Map<String, Value>) -> StreamError {
        let fields = ErrorFields::from_object(obj);
        let mut e = StreamError::new(StreamErrorKind::InBand, fields.message);
        if e.message.is_empty() {
            e.message = "an error occurred during streaming".to_owned();
        }
        e.error_type = fields.error_type;
        e.code = fields.code;
        e.param = fields.param;
        e
    }

    /// Builds the error for an in-band error payload, if `v` is one.
    pub(crate) fn in_band(v: &Value) -> Option<StreamError> {
        let fields = ErrorFields::from_value(v)?;
        Some(StreamError {
            kind: StreamErrorKind::InBand,
            message: if fields.message.is_empty() {
                "an error occurred during streaming".to_owned()
            } else {
                fields.message
            },
            error_type: fields.error_type,
            code: fields.code,
            param: fields.param,
            request_id: None,
            retries_taken: 0,
        })
    }
}

/// The parts of an error payload that every shape can carry.
#[derive(Default)]
struct ErrorFields {
    message: String,
    error_type: Option<String>,
    code: Option<ErrorCode>,
    param: Option<String>,
}

impl ErrorFields {
    /// Recognises the three error-object shapes; `None` if `v` is not an error payload.
    fn from_value(v: &Value) -> Option<ErrorFields> {
        let obj = v.as_object()?;
        match obj.get("error") {
            // OpenAI, vLLM >= 0.10.1
            Some(Value::Object(e)) => Some(Self::from_object(e)),
            // vLLM --api-key 401: {"error": "Unauthorized"}
            Some(Value::String(s)) => Some(ErrorFields {
                message: s.clone(),
                ..ErrorFields::default()
            }),
            Some(Value::Null) | None => {
                // flat pre-0.10.1 vLLM: {"object": "error", "message": ..., "code": 400}
                (obj.get("object").and_then(Value::as_str) == Some("error"))
                    .then(|| Self::from_object(obj))
            }
            Some(other) => Some(ErrorFields {
                message: other.to_string(),
                ..ErrorFields::default()
            }),
        }
    }

    fn from_object(e: &serde_json::Map<String, Value>) -> ErrorFields {
        let text = |k: &str| match e.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        let code = e.get("code").and_then(ErrorCode::from_value);
        ErrorFields {
            message: text("message").unwrap_or_default(),
            error_type: text("type"),
            code,
            param: text("param"),
        }
    }

    /// FastAPI's `{"detail": "..."}` / `{"detail": [...]}` and RFC 7807 problem+json (Prism).
    fn from_detail(v: &Value) -> Option<ErrorFields> {
        let obj = v.as_object()?;
        let detail = obj.get("detail").or_else(|| obj.get("title"))?;
        let message = match detail {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let error_type = obj
            .get("title")
            .and_then(Value::as_str)
            .filter(|_| obj.contains_key("detail"))
            .map(str::to_owned);
        Some(ErrorFields {
            message,
            error_type,
            ..ErrorFields::default()
        })
    }
}

/// A readable message from a non-JSON body: HTML tags dropped, white space folded, cut short.
fn text_message(body: &[u8]) -> String {
    let raw = String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]);
    let mut out = String::new();
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c if c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    let out = out.trim();
    let mut cut: String = out.chars().take(200).collect();
    if cut.len() < out.len() {
        cut.push('…');
    }
    cut
}

/// The first bytes of a body, as lossy UTF-8.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let mut end = body.len().min(EXCERPT);
    // Cut on a character boundary when the body is valid UTF-8 up to there.
    while end > 0 && end < body.len() && (body[end] & 0xC0) == 0x80 {
        end -= 1;
    }
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// The text that replaces a redacted key.
const REDACTED: &str = "<redacted>";

/// How many layers of JSON escaping are looked through (JSON text inside a JSON string
/// inside a JSON string ...): each layer is one linear pass.
const MAX_ESCAPE_LAYERS: usize = 4;

/// Replaces `key` in `text` with `<redacted>`, in what the text says as well as in its bytes.
///
/// The rule: a key of 8 or more characters is replaced wherever it occurs. A shorter key (a
/// local server's `--api-key abc`, vLLM's `EMPTY`) is replaced where it stands alone, not
/// inside a longer word or id (not next to a letter, digit, `-` or `_`), so that a short key
/// cannot mangle every message that happens to contain its letters. An empty key is not a
/// secret. Only the key as sent is matched, not an encoded (e.g. base64) form of it.
///
/// The key is also found where JSON escapes spell it (`sk-\/x`, `\u0073k-...`, surrogate
/// pairs, escapes inside a string that is itself JSON): the text is read with its escapes
/// decoded, and the source of each occurrence (whole escapes) is replaced, so decoding the
/// result no longer gives the key. Everything else stays byte for byte, and a JSON text
/// stays valid JSON. Each pass is linear in the text.
pub(crate) fn redact_text(text: &mut String, key: &str) {
    if key.is_empty() {
        return;
    }
    if text.contains(key) {
        let spans = occurrences(text, key);
        replace_spans(text, &spans);
    }
    // Text without a backslash has no escape: the common case pays for one scan.
    if text.contains('\\') {
        let spans = escaped_occurrences(text, key);
        replace_spans(text, &spans);
    }
    redact_cut_key(text, key);
}

/// The shortest start of a long key that a cut text must not end with.
const CUT_KEY_PREFIX: usize = 4;

/// A text cut to a bound (a 1 MiB error body, a 512-byte excerpt, a 200-character message
/// followed by `…`) can end in the middle of the key, where no whole occurrence is left to
/// find: the cut is made before the key is known. So a text that ends (before a final `…`)
/// with the first [`CUT_KEY_PREFIX`] or more characters of a key of 8 or more has that end
/// replaced too. A text that merely ends with those characters loses them, which is harmless.
fn redact_cut_key(text: &mut String, key: &str) {
    if key.len() < 8 {
        return;
    }
    let body_len = text.strip_suffix('…').map_or(text.len(), str::len);
    let body = &text[..body_len];
    // Keys are visible ASCII (checked at `build()`), so every byte is a character boundary.
    let Some(k) = (CUT_KEY_PREFIX..key.len())
        .rev()
        .find(|&k| key.is_char_boundary(k) && body.ends_with(&key[..k]))
    else {
        return;
    };
    text.replace_range(body_len - k..body_len, REDACTED);
}

/// Replaces `key` in every string of `value`, through its JSON text: one generic walk over
/// every field of the chat and Responses types. The value is rebuilt only when the key was
/// found; a rebuild that does not decode (a key that is a whole enum value, such as a role)
/// keeps the value as it was.
fn redact_strings<T: serde::Serialize + serde::de::DeserializeOwned>(value: &mut T, key: &str) {
    let Ok(text) = serde_json::to_string(value) else {
        return;
    };
    let mut redacted = text.clone();
    redact_text(&mut redacted, key);
    if redacted != text {
        if let Ok(v) = serde_json::from_str(&redacted) {
            *value = v;
        }
    }
}

/// Where `key` occurs in `text` under [`redact_text`]'s rule, in order, not overlapping.
fn occurrences(text: &str, key: &str) -> Vec<(usize, usize)> {
    let short = key.len() < 8;
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_');
    text.match_indices(key)
        .map(|(i, _)| (i, i + key.len()))
        .filter(|&(i, end)| {
            !short || !(word(text[..i].chars().next_back()) || word(text[end..].chars().next()))
        })
        .collect()
}

/// The spans of `text` that spell `key` through one or more layers of JSON escapes, in
/// order, merged where they overlap.
fn escaped_occurrences(text: &str, key: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut layer = Unescaped::of(text);
    for depth in 1..=MAX_ESCAPE_LAYERS {
        for (a, b) in occurrences(&layer.text, key) {
            spans.push((layer.start[a], layer.start[b]));
        }
        if depth == MAX_ESCAPE_LAYERS || !layer.text.contains('\\') {
            break;
        }
        let mut next = Unescaped::of(&layer.text);
        // Each byte of the next layer points into this one; point it at `text` instead.
        for s in &mut next.start {
            *s = layer.start[*s];
        }
        layer = next;
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a < last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// `text` with each span (in order, not overlapping) replaced by [`REDACTED`].
fn replace_spans(text: &mut String, spans: &[(usize, usize)]) {
    if spans.is_empty() {
        return;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for &(a, b) in spans {
        out.push_str(&text[last..a]);
        out.push_str(REDACTED);
        last = b;
    }
    out.push_str(&text[last..]);
    *text = out;
}

/// A text with its JSON escapes decoded, and where each decoded byte came from.
struct Unescaped {
    text: String,
    /// For each byte of `text`, where the escape or character it was decoded from starts in
    /// the source; one more entry, the source's length, closes the last one. A decoded span
    /// `a..b` (on character boundaries) came from the source's `start[a]..start[b]`.
    start: Vec<usize>,
}

impl Unescaped {
    /// Decodes every JSON escape in `src`. A backslash that starts no valid escape stands
    /// for itself; a lone surrogate decodes to U+FFFD.
    fn of(src: &str) -> Unescaped {
        let mut text = String::with_capacity(src.len());
        let mut start = Vec::with_capacity(src.len() + 1);
        let mut rest = src;
        while let Some(c) = rest.chars().next() {
            let at = src.len() - rest.len();
            let (decoded, len) = match c {
                '\\' => escape(rest.as_bytes()).unwrap_or(('\\', 1)),
                c => (c, c.len_utf8()),
            };
            text.push(decoded);
            start.resize(text.len(), at);
            rest = rest.get(len..).unwrap_or_default();
        }
        start.push(src.len());
        Unescaped { text, start }
    }
}

/// The character of the JSON escape at the start of `b` (which starts with `\`) and the
/// escape's length; `None` if it is not one.
fn escape(b: &[u8]) -> Option<(char, usize)> {
    let simple = match *b.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(b.get(2..6)?)?;
            if (0xD800..0xDC00).contains(&hi) {
                let lo = b
                    .get(6..8)
                    .filter(|u| *u == b"\\u")
                    .and_then(|_| hex4(b.get(8..12)?))
                    .filter(|lo| (0xDC00..0xE000).contains(lo));
                if let Some(lo) = lo {
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return Some((char::from_u32(c)?, 12));
                }
            }
            return Some((char::from_u32(hi).unwrap_or('\u{FFFD}'), 6));
        }
        _ => return None,
    };
    Some((simple, 2))
}

/// The value of four hex digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(digits).ok()?;
    if s.len() != 4 || !s.bytes().all(|d| d.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

fn reason_phrase(status: u16) -> &'static str {
    http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("HTTP error")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> ApiError {
        ApiError::from_response(status, Headers::default(), body.as_bytes())
    }

    #[test]
    fn openai_nested_shape() {
        let e = parse(
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        );
        assert_eq!(e.message, "Incorrect API key provided");
        assert_eq!(e.error_type.as_deref(), Some("invalid_request_error"));
        assert_eq!(e.code, Some(ErrorCode::Text("invalid_api_key".into())));
        assert_eq!(e.param, None);
    }

    #[test]
    fn vllm_nested_shape_with_int_code() {
        let e = parse(
            400,
            r#"{"error":{"message":"max_tokens is too large","type":"BadRequestError","param":"max_tokens","code":400}}"#,
        );
        assert_eq!(e.code, Some(ErrorCode::Int(400)));
        assert_eq!(e.param.as_deref(), Some("max_tokens"));
        assert_eq!(
            e.to_string(),
            "API error 400 (BadRequestError): max_tokens is too large"
        );
    }

    #[test]
    fn vllm_unauthorized_string() {
        let e = parse(401, r#"{"error":"Unauthorized"}"#);
        assert_eq!(e.message, "Unauthorized");
        assert_eq!(e.status, 401);
    }

    #[test]
    fn flat_legacy_vllm_shape() {
        let e = parse(
            404,
            r#"{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}"#,
        );
        assert_eq!(e.message, "The model `x` does not exist.");
        assert_eq!(e.error_type.as_deref(), Some("NotFoundError"));
        assert_eq!(e.code, Some(ErrorCode::Int(404)));
    }

    #[test]
    fn detail_shapes() {
        assert_eq!(parse(404, r#"{"detail":"Not Found"}"#).message, "Not Found");
        let e = parse(
            422,
            r#"{"type":"https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY","title":"Invalid request","status":422,"detail":"Your request is not valid"}"#,
        );
        assert_eq!(e.message, "Your request is not valid");
        assert_eq!(e.error_type.as_deref(), Some("Invalid request"));
        let e = parse(
            422,
            r#"{"detail":[{"loc":["body","model"],"msg":"field required"}]}"#,
        );
        assert!(e.message.contains("field required"), "{}", e.message);
    }

    #[test]
    fn html_and_empty_bodies_keep_status() {
        let e = parse(
            502,
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        );
        assert_eq!(e.status, 502);
        assert!(e.message.starts_with("502 Bad Gateway"), "{}", e.message);
        assert!(e.body.contains("<h1>"));
        let e = parse(503, "");
        assert_eq!(e.message, "Service Unavailable");
        let e = parse(500, "{not json");
        assert_eq!(e.message, "{not json");
    }

    #[test]
    fn in_band_shapes() {
        let v: Value = serde_json::from_str(
            r#"{"error":{"message":"boom","type":"InternalServerError","code":500}}"#,
        )
        .unwrap();
        let e = StreamError::in_band(&v).unwrap();
        assert_eq!(e.message, "boom");
        assert_eq!(e.code, Some(ErrorCode::Int(500)));
        let v: Value = serde_json::from_str(r#"{"error":"Unauthorized"}"#).unwrap();
        assert_eq!(StreamError::in_band(&v).unwrap().message, "Unauthorized");
        let v: Value = serde_json::from_str(r#"{"object":"error","message":"flat"}"#).unwrap();
        assert_eq!(StreamError::in_band(&v).unwrap().message, "flat");
        let v: Value = serde_json::from_str(r#"{"id":"x","choices":[],"error":null}"#).unwrap();
        assert!(StreamError::in_band(&v).is_none());
    }

    #[test]
    fn a_key_cut_by_a_bound_is_redacted_at_the_end() {
        let key = "sk-0123456789abcdef";
        let red = |t: &str, k: &str| {
            let mut t = t.to_owned();
            redact_text(&mut t, k);
            t
        };
        assert_eq!(red("bad key sk-0123", key), "bad key <redacted>");
        assert_eq!(red("bad key sk-0123…", key), "bad key <redacted>…");
        assert_eq!(
            red("whole sk-0123456789abcdef and cut sk-01", key),
            "whole <redacted> and cut <redacted>"
        );
        // Fewer than 4 characters of it, or in the middle of the text: left.
        assert_eq!(red("ends with sk-", key), "ends with sk-");
        assert_eq!(red("sk-0123 in the middle", key), "sk-0123 in the middle");
        // Short keys keep the word rule only.
        assert_eq!(red("cut abcd", "abcdefg"), "cut abcd");
    }

    #[test]
    fn redaction_covers_keys_of_any_length() {
        let red = |text: &str, key: &str| {
            let mut t = text.to_owned();
            redact_text(&mut t, key);
            t
        };
        assert_eq!(
            red("bad key sk-0123456789", "sk-0123456789"),
            "bad key <redacted>"
        );
        assert_eq!(red("xsk-0123456789x", "sk-0123456789"), "x<redacted>x");
        // Short keys: where they stand alone only.
        assert_eq!(red("Invalid key: abc.", "abc"), "Invalid key: <redacted>.");
        assert_eq!(
            red("\"abc\" abcdef x-abc abc", "abc"),
            "\"<redacted>\" abcdef x-abc <redacted>"
        );
        assert_eq!(red("key=k1&x=1", "k1"), "key=<redacted>&x=1");
        assert_eq!(red("nothing here", ""), "nothing here");
        assert_eq!(red("é abc é", "abc"), "é <redacted> é");
    }

    /// Every string in the JSON value `v`, keys included, recursively.
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(o) => {
                for (k, v) in o {
                    out.push(k.clone());
                    strings(v, out);
                }
            }
            _ => {}
        }
    }

    /// `body` redacted of `key`: still JSON, and no string of it, decoded once or (for JSON
    /// inside a string) twice, holds the key.
    fn redacted_json(body: &str, key: &str) -> String {
        let mut text = body.to_owned();
        redact_text(&mut text, key);
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let mut all = Vec::new();
        strings(&v, &mut all);
        for s in all.clone() {
            if let Ok(inner) = serde_json::from_str::<Value>(&s) {
                strings(&inner, &mut all);
            }
        }
        for s in &all {
            assert!(!s.contains(key), "{key} in {s:?} of {text}");
        }
        text
    }

    #[test]
    fn redaction_sees_through_json_escapes() {
        let key = "sk-live/0123456789";
        // `\/` for `/`: the raw bytes never hold the key, its meaning does.
        assert_eq!(
            redacted_json(
                r#"{"error":{"message":"bad key sk-live\/0123456789."}}"#,
                key
            ),
            r#"{"error":{"message":"bad key <redacted>."}}"#
        );
        // Every character as `\uXXXX` (upper-case hex; the pair below is lower-case), and a mix.
        let every: String = key
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect();
        let body = format!(r#"{{"a":"{every}","b":"x"}}"#);
        assert_eq!(redacted_json(&body, key), r#"{"a":"<redacted>","b":"x"}"#);
        let mixed = r#"{"k":"\u0073k-l\u0069ve\/01234567\u00389","keep":"a\/b\n"}"#;
        assert_eq!(
            redacted_json(mixed, key),
            r#"{"k":"<redacted>","keep":"a\/b\n"}"#
        );
        // JSON text inside a string: escapes of escapes.
        let nested = r#"{"error":{"message":"{\"detail\":\"sk-live\\/0123456789\"}"}}"#;
        assert_eq!(
            redacted_json(nested, key),
            r#"{"error":{"message":"{\"detail\":\"<redacted>\"}"}}"#
        );
        // A surrogate pair, for a key with a character outside the BMP.
        let wide = "k\u{1F600}-0123456789";
        let body = r#"{"m":"k\ud83d\ude00-0123456789!"}"#;
        assert_eq!(redacted_json(body, wide), r#"{"m":"<redacted>!"}"#);
    }

    #[test]
    fn escaped_short_keys_keep_the_word_rule() {
        let red = |text: &str| {
            let mut t = text.to_owned();
            redact_text(&mut t, "abc");
            t
        };
        assert_eq!(
            red(r#"{"m":"key \u0061bc."}"#),
            r#"{"m":"key <redacted>."}"#
        );
        assert_eq!(red(r#"{"m":"\u0061bcdef"}"#), r#"{"m":"\u0061bcdef"}"#);
        assert_eq!(red(r#"{"m":"x-\u0061bc"}"#), r#"{"m":"x-\u0061bc"}"#);
    }

    #[test]
    fn broken_escapes_stand_for_themselves() {
        for text in [
            "\\",
            "\\u",
            "\\u12",
            "\\uD800",
            "\\uD800\\u0041",
            "\\uDC00",
            "\\x",
            "é\\",
            "\\u00é9",
            "\\\\u0061bc",
        ] {
            let mut t = text.to_owned();
            redact_text(&mut t, "sk-0123456789");
            assert_eq!(t, text);
        }
        // An escaped backslash then `u0061`: the letters once decoded, the key twice (JSON
        // inside a string), so it goes.
        let mut t = r#""\\u0061bc""#.to_owned();
        redact_text(&mut t, "abc");
        assert_eq!(t, r#""<redacted>""#);
    }

    #[test]
    fn random_escapes_never_panic_and_never_decode_to_the_key() {
        // Noise (pieces of escapes, halves of surrogate pairs, multi-byte characters) around
        // the key spelt with a random escape per character, by a fixed pseudo-random sequence.
        let noise = [
            "\\", "u", "0073", "k", "\\u0073", "-", "\\/", "\"", "\\\"", "é", "\\ud83d", "\\ude00",
            "😀", "a", "\\\\", "\\n", "x\\u00", " ",
        ];
        let key = "sk-live/0123";
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let mut inner = String::new();
            for _ in 0..next(6) {
                inner.push_str(noise[next(noise.len())]);
            }
            for c in key.chars() {
                match next(4) {
                    0 => inner.push(c),
                    1 => inner.push_str(&format!("\\u{:04x}", c as u32)),
                    2 => inner.push_str(&format!("\\u{:04X}", c as u32)),
                    _ if c == '/' => inner.push_str("\\/"),
                    _ => inner.push(c),
                }
            }
            for _ in 0..next(6) {
                inner.push_str(noise[next(noise.len())]);
            }
            let mut text = format!("\"{inner}\"");
            let was_json = serde_json::from_str::<String>(&text).is_ok();
            redact_text(&mut text, key);
            match serde_json::from_str::<String>(&text) {
                Ok(decoded) => assert!(!decoded.contains(key), "{inner:?} -> {text:?}"),
                Err(e) => assert!(!was_json, "{e}: {inner:?} -> {text:?}"),
            }
            assert!(!text.contains(key), "{text:?}");
        }
    }

    #[test]
    fn escaped_redaction_is_linear() {
        // 1 MiB of escapes, every one of them part of a near miss of the key.
        let key = "sk-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
        let body = format!(r#"{{"m":"{}"}}"#, "\\u0061".repeat(1 << 17));
        let started = std::time::Instant::now();
        let text = redacted_json(&body, key);
        assert_eq!(text, body);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn every_field_of_every_error_is_redacted() {
        let key = "k3y";
        let mut api = Error::Api(Box::new(ApiError::from_response(
            401,
            Headers::from_pairs([("www-authenticate", "Bearer k3y"), ("x-request-id", "k3y")]),
            br#"{"error":{"message":"bad k3y","type":"k3y","code":"k3y","param":"k3y"}}"#,
        )));
        let mut decode = Error::decode("x", "k3y", b"k3y", Some("k3y".into()));
        let mut stream = Error::Stream(Box::new(
            StreamError::in_band(
                &serde_json::json!({"error": {"message": "k3y", "type": "k3y", "code": "k3y", "param": "k3y"}}),
            )
            .unwrap(),
        ));
        let mut conn = Error::connection("k3y", None);
        let mut config = Error::config("k3y");
        for e in [&mut api, &mut decode, &mut stream, &mut conn, &mut config] {
            e.redact(key);
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("k3y"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }

    #[test]
    fn excerpt_is_bounded_and_char_safe() {
        let body = "é".repeat(600);
        let ex = excerpt(body.as_bytes());
        assert!(ex.len() <= EXCERPT);
        assert!(!ex.contains('\u{FFFD}'));
    }

    #[test]
    fn code_str_matches_string_codes_only() {
        let openai = ApiError::from_response(
            400,
            Headers::default(),
            br#"{"error":{"message":"too long","code":"context_length_exceeded"}}"#,
        );
        assert_eq!(openai.code_str(), Some("context_length_exceeded"));
        let vllm = ApiError::from_response(
            400,
            Headers::default(),
            br#"{"error":{"message":"bad","type":"BadRequestError","code":400}}"#,
        );
        assert_eq!(vllm.code_str(), None);
        assert_eq!(vllm.code.as_ref().and_then(ErrorCode::as_int), Some(400));
        let none = ApiError::from_response(502, Headers::default(), b"<html>bad gateway</html>");
        assert_eq!(none.code_str(), None);
    }
}
