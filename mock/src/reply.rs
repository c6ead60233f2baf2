//! [`Reply`]: one scripted answer of the mock server, built step by step.

use std::time::Duration;

/// One scripted answer, for [`MockServer::enqueue`](super::MockServer::enqueue).
///
/// A reply is a status, headers and a body made of *parts*: byte strings
/// written one socket write each, with optional pauses between them. The
/// builder methods all take `self` and return the changed reply:
///
/// ```
/// use std::time::Duration;
/// use oai_compat_mock::Reply;
///
/// // A stream that sends one event, waits, sends another, then ends.
/// let stream = Reply::sse()
///     .event(r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#)
///     .pause(Duration::from_millis(50))
///     .event(r#"{"choices":[{"index":0,"delta":{"content":"lo"}}]}"#)
///     .done();
///
/// // A rate-limit answer with a retry hint.
/// let limited = Reply::error(429, "slow down").header("retry-after", "1");
///
/// // A JSON body that stops half-way through (connection closed).
/// let broken = Reply::json(200, r#"{"object":"list","data":[]}"#).cut();
/// # let _ = (stream, limited, broken);
/// ```
///
/// # Framing
///
/// Replies made by [`json`](Reply::json), [`text`](Reply::text),
/// [`error`](Reply::error), [`empty`](Reply::empty) and
/// [`redirect`](Reply::redirect) send a
/// `content-length` body: its length is the sum of all parts, so
/// [`raw`](Reply::raw) and [`pause`](Reply::pause) also work there (a slow
/// body of a known length). Replies made by [`sse`](Reply::sse) and
/// [`stream`](Reply::stream) use `transfer-encoding: chunked`, one chunk per
/// part, ended by the zero-length chunk unless [`cut`](Reply::cut).
///
/// The server adds `content-length` or `transfer-encoding` itself unless the
/// reply sets a header of that name (so a lying `content-length` can be
/// scripted).
#[derive(Debug, Clone)]
#[must_use = "a Reply does nothing until it is enqueued"]
pub struct Reply {
    pub(super) kind: Kind,
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) chunked: bool,
    pub(super) parts: Vec<Part>,
    pub(super) delay: Duration,
    pub(super) trickle: Option<Duration>,
    pub(super) cut: bool,
    pub(super) close: bool,
    pub(super) disconnect: bool,
}

/// What the server does with a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Write the status, headers and parts.
    Respond,
    /// Compute the built-in answer for the request, then apply this reply's modifiers.
    Default,
    /// Close without any response.
    Reset,
    /// Never answer; hold the connection until the peer closes or the server stops.
    Hang,
}

/// One step of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    /// One socket write (one chunk when chunked).
    Bytes(Vec<u8>),
    /// A pause before the next write.
    Pause(Duration),
}

impl Reply {
    fn new(kind: Kind, status: u16, chunked: bool) -> Reply {
        Reply {
            kind,
            status,
            headers: Vec::new(),
            chunked,
            parts: Vec::new(),
            delay: Duration::ZERO,
            trickle: None,
            cut: false,
            close: false,
            disconnect: false,
        }
    }

    /// The answer the built-in server would give to the request (see the
    /// [module docs](super) for what it answers). Useful in the middle of a
    /// script, e.g. `[Reply::error(503, "busy"), Reply::default_answer()]`.
    ///
    /// The modifiers [`delay`](Reply::delay), [`trickle`](Reply::trickle),
    /// [`cut`](Reply::cut), [`close`](Reply::close),
    /// [`disconnect`](Reply::disconnect) and [`header`](Reply::header) apply to
    /// the computed answer (a slow, broken or closing built-in answer); body
    /// steps ([`event`](Reply::event), [`raw`](Reply::raw),
    /// [`done`](Reply::done), [`pause`](Reply::pause)) are ignored.
    pub fn default_answer() -> Reply {
        Reply::new(Kind::Default, 200, false)
    }

    /// A `content-length` reply with `content-type: application/json` and
    /// `body` sent as is (it need not be valid JSON).
    pub fn json(status: u16, body: impl Into<String>) -> Reply {
        Reply::text(status, "application/json", body.into().into_bytes())
    }

    /// A `content-length` reply with the given `content-type` and body.
    pub fn text(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
        Reply::new(Kind::Respond, status, false)
            .header("content-type", content_type)
            .raw(body)
    }

    /// An error in the shape vLLM sends:
    /// `{"error":{"message":..,"type":..,"param":null,"code":status}}`, with
    /// `type` named after the status as vLLM and the OpenAI SDKs name them
    /// (`BadRequestError`, `AuthenticationError`, `NotFoundError`,
    /// `RateLimitError`, `InternalServerError`, ...).
    pub fn error(status: u16, message: &str) -> Reply {
        let body = serde_json::json!({
            "error": {
                "message": message,
                "type": error_type(status),
                "param": null,
                "code": status,
            }
        });
        Reply::json(status, body.to_string())
    }

    /// An error in the shape api.openai.com sends, where `code` is a string:
    /// `{"error":{"message":..,"type":err_type,"param":null,"code":code}}`,
    /// e.g. `Reply::openai_error(429, "insufficient_quota", "insufficient_quota", "You exceeded your current quota")`.
    pub fn openai_error(status: u16, err_type: &str, code: &str, message: &str) -> Reply {
        let body = serde_json::json!({
            "error": {
                "message": message,
                "type": err_type,
                "param": null,
                "code": code,
            }
        });
        Reply::json(status, body.to_string())
    }

    /// A reply without a body (`content-length: 0`) or `content-type`, e.g.
    /// `Reply::empty(204)`, or `Reply::empty(200)` as vLLM's `/health` answers.
    pub fn empty(status: u16) -> Reply {
        Reply::new(Kind::Respond, status, false)
    }

    /// A redirect (`status` such as 301, 302, 307, 308) to `location`, with an empty body.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::empty(status).header("location", location)
    }

    /// `200` with `content-type: text/event-stream; charset=utf-8`, sent with
    /// chunked transfer encoding; add its events with [`event`](Reply::event),
    /// [`raw`](Reply::raw) and [`done`](Reply::done). Each of them is one
    /// chunk, written with one socket write.
    pub fn sse() -> Reply {
        Reply::stream(200, "text/event-stream; charset=utf-8").header("cache-control", "no-cache")
    }

    /// A chunked reply of any status and content type (one chunk per
    /// [`raw`](Reply::raw) part), e.g. a streamed JSON error.
    pub fn stream(status: u16, content_type: &str) -> Reply {
        Reply::new(Kind::Respond, status, true).header("content-type", content_type)
    }

    /// Appends the server-sent event `data: {data}\n\n` (one write). `data`
    /// is sent as is: to test multi-line `data:` fields, use [`raw`](Reply::raw).
    pub fn event(self, data: impl AsRef<str>) -> Reply {
        self.raw(format!("data: {}\n\n", data.as_ref()))
    }

    /// Appends the named server-sent event `event: {name}\ndata: {data}\n\n` (one write), as
    /// the Responses API sends them (`event: response.output_text.delta`).
    pub fn named_event(self, name: &str, data: impl AsRef<str>) -> Reply {
        self.raw(format!("event: {name}\ndata: {}\n\n", data.as_ref()))
    }

    /// Appends exactly these bytes as one write (one chunk when chunked):
    /// CRLF line endings, comments (`: ping\n\n`), `event:`/`id:` fields,
    /// a UTF-8 character split across two writes, invalid UTF-8, ... An
    /// empty part writes nothing.
    pub fn raw(mut self, bytes: impl Into<Vec<u8>>) -> Reply {
        let bytes = bytes.into();
        if !bytes.is_empty() {
            self.parts.push(Part::Bytes(bytes));
        }
        self
    }

    /// Appends `data: [DONE]\n\n`, the OpenAI end-of-stream event.
    pub fn done(self) -> Reply {
        self.raw("data: [DONE]\n\n")
    }

    /// Appends a pause between the writes before and after it (chunk timing;
    /// a pause first delays the first body byte, not the headers).
    pub fn pause(mut self, d: Duration) -> Reply {
        self.parts.push(Part::Pause(d));
        self
    }

    /// Sets a response header, replacing one of the same name
    /// (case-insensitive), including the default `content-type`.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Waits `d` after reading the request, before sending the status line:
    /// slow headers, or a server that does not answer within the client's
    /// timeout. Also applies to [`reset`](Reply::reset) (wait, then close).
    /// Dropping the server ends the wait at once.
    pub fn delay(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }

    /// Writes the body one byte at a time, `d` between bytes (for a chunked
    /// reply, each byte is its own chunk). Headers are sent at once.
    pub fn trickle(mut self, d: Duration) -> Reply {
        self.trickle = Some(d);
        self
    }

    /// Ends the connection abruptly, mid-body: a `content-length` reply
    /// announces its full length but sends only the first half of its body
    /// (rounded down) before the socket is closed; a chunked reply sends all
    /// its parts but not the terminating zero-length chunk. The close is a
    /// plain TCP close (the client sees the end of the stream before the end
    /// of the body).
    pub fn cut(mut self) -> Reply {
        self.cut = true;
        self
    }

    /// Reads the request, then closes the connection without sending
    /// anything: the client sees the connection end before any header.
    pub fn reset() -> Reply {
        Reply::new(Kind::Reset, 0, false)
    }

    /// Reads the request and never answers; the connection stays open until
    /// the client closes it or the [`MockServer`](super::MockServer) is dropped.
    pub fn hang() -> Reply {
        Reply::new(Kind::Hang, 0, false)
    }

    /// Sends `connection: close` and closes the connection after the
    /// response. Without it the connection is kept alive for the client's
    /// next request (unless the client asked to close).
    pub fn close(mut self) -> Reply {
        self.close = true;
        self
    }

    /// Closes the connection after the response *without* announcing it
    /// (no `connection: close`), like a server whose keep-alive timeout fired:
    /// a client that reuses the pooled connection for its next request meets
    /// a closed socket (a stale-connection retry test).
    pub fn disconnect(mut self) -> Reply {
        self.disconnect = true;
        self
    }

    /// Whether this is [`Reply::default_answer`].
    pub(super) fn is_default(&self) -> bool {
        self.kind == Kind::Default
    }

    /// Applies the modifiers of a [`Reply::default_answer`] to the computed answer.
    pub(super) fn with_modifiers_of(mut self, modifiers: &Reply) -> Reply {
        for (name, value) in &modifiers.headers {
            self = self.header(name, value);
        }
        self.delay = modifiers.delay;
        self.trickle = modifiers.trickle.or(self.trickle);
        self.cut |= modifiers.cut;
        self.close |= modifiers.close;
        self.disconnect |= modifiers.disconnect;
        self
    }

    /// The body: every part's bytes, in order (pauses left out).
    pub(super) fn body_bytes(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for part in &self.parts {
            if let Part::Bytes(bytes) = part {
                body.extend_from_slice(bytes);
            }
        }
        body
    }

    /// The value of a header of this reply, by case-insensitive name.
    pub(super) fn header_value(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The error `type` vLLM and the OpenAI SDKs use for a status.
fn error_type(status: u16) -> &'static str {
    match status {
        400 => "BadRequestError",
        401 => "AuthenticationError",
        403 => "PermissionDeniedError",
        404 => "NotFoundError",
        409 => "ConflictError",
        413 => "RequestTooLargeError",
        422 => "UnprocessableEntityError",
        429 => "RateLimitError",
        503 => "ServiceUnavailableError",
        500..=599 => "InternalServerError",
        _ => "APIError",
    }
}
