//! The HTTP transport: one concrete type per mode with the same method names and signatures,
//! so the shared code (`call.rs`) calls `send(..).await` and `read_body(..).await` without
//! knowing which library is underneath. A stream's body is read with `chunk` (blocking) or
//! `poll_chunk` (async): `stream.rs` reads it in its iterator and its poll loop, the two
//! places where the modes differ anyway. The transport knows nothing above it: it takes an
//! [`HttpRequest`] and hands back an `HttpResponse`.

use std::time::{Duration, Instant};

use crate::headers::Headers;

/// Sent as `User-Agent` on every request.
pub(crate) const USER_AGENT: &str = concat!("oai-compat/", env!("CARGO_PKG_VERSION"));

#[cfg(not(feature = "blocking"))]
mod async_impl;
#[cfg(feature = "blocking")]
pub(crate) mod blocking;
mod read_deadline;
mod request_headers;
mod upload_body;

pub(crate) use read_deadline::ReadDeadline;
pub(crate) use request_headers::RequestHeaders;

#[cfg(not(feature = "blocking"))]
pub(crate) use async_impl::{Body, HttpResponse, Transport};
#[cfg(feature = "blocking")]
pub(crate) use blocking::{Body, HttpResponse, Transport};

/// The methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    /// `DELETE /responses/{id}`.
    Delete,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// How the answer's body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// Whole, by the attempt's deadline.
    Whole,
    /// As a stream handed to the caller: piece by piece, each by the deadline the stream
    /// passes to `chunk` (the gap between events, owned by `EventStream`).
    Stream,
    /// As a file handed to the caller ([`Download`](crate::Download)): read like a stream,
    /// whatever its content type.
    Download,
}

impl Reading {
    /// Whether the body is handed over piece by piece (the timeouts of a stream apply).
    pub(crate) fn is_streamed(self) -> bool {
        self != Reading::Whole
    }
}

/// What a request sends.
#[derive(Clone, Copy)]
pub(crate) enum Payload<'a> {
    /// Bytes made once per call (JSON), shared by every attempt.
    Bytes(&'a Body),
    /// A multipart form, read again from its parts by each attempt.
    Form(&'a std::sync::Arc<crate::multipart::Encoded>),
}

impl Payload<'_> {
    /// What a cassette records and a span reads: the bytes, or a form's description.
    pub(crate) fn recorded(&self) -> &[u8] {
        match self {
            Payload::Bytes(b) => b,
            Payload::Form(f) => &f.summary,
        }
    }
}

/// The limits of one attempt (`None`: no limit; see [`crate::config::limit`]). The gap
/// between stream events is not here: the stream owns it and passes its deadline to each
/// `chunk` call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptTimeouts {
    /// Non-streamed: the whole attempt. Streamed: until the response headers, and any body
    /// that is not handed over as a stream (an error, a JSON answer).
    pub(crate) request: Option<Duration>,
    /// Streamed only: the whole exchange.
    pub(crate) stream_total: Option<Duration>,
}

/// One attempt of a request. The body is serialised once per call and shared by attempts.
#[derive(Clone, Copy)]
pub(crate) struct HttpRequest<'a> {
    pub(crate) method: Method,
    pub(crate) url: &'a str,
    pub(crate) headers: &'a RequestHeaders,
    /// The call's id, sent as `X-Request-Id` and `X-Client-Request-Id` where `headers` has
    /// neither (see `request_id`); checked already.
    pub(crate) request_id: Option<&'a str>,
    pub(crate) body: Option<Payload<'a>>,
    pub(crate) reading: Reading,
    pub(crate) timeouts: AttemptTimeouts,
    /// The attempt's deadline (`timeouts.request` from its start), shared by every redirect
    /// hop and every body read that is not a handed-over stream. `None`: no limit.
    pub(crate) deadline: Option<Instant>,
}

impl HttpRequest<'_> {
    /// The deadline of what follows this request's sending (its answer, its redirect hops):
    /// for an upload, a full timeout after the body last moved, since an upload is bounded by
    /// its progress rather than its total time (see `Encoded::progress_deadline`); else the
    /// attempt's.
    pub(crate) fn after_upload(&self) -> Option<Instant> {
        match self.body {
            Some(Payload::Form(form)) => {
                match (self.deadline, form.progress_deadline(self.timeouts.request)) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                }
            }
            _ => self.deadline,
        }
    }
}

/// rustls's `ring` provider, the one both modes use (see `rustls` in Cargo.toml).
///
/// rustls 0.23.48 deprecates it because ring has no post-quantum key exchange; the provider
/// that has one, aws-lc-rs, needs a C build and brings the OpenSSL licence. Until this crate
/// chooses that, the deprecation is allowed here, so that a newer rustls (what `cargo install`
/// resolves without `--locked`) builds this crate without a warning.
#[cfg(feature = "rustls")]
#[allow(deprecated)]
pub(crate) fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// `now + d`, or `None` (no deadline) when there is no limit or it is too far to represent.
pub(crate) fn deadline_after(d: Option<Duration>) -> Option<Instant> {
    d.and_then(|d| Instant::now().checked_add(d))
}

/// The time left until `deadline` (zero once it has passed); `None` means no deadline.
pub(crate) fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// How much to reserve for a body of at most `max` bytes: its `Content-Length`, capped at
/// 1 MiB. A claim is never trusted beyond that (a 100 GB claim must not allocate), and a
/// body without one grows as it arrives.
pub(crate) fn capacity_hint(headers: &Headers, max: usize) -> usize {
    const CAP: u64 = 1024 * 1024;
    let claim = headers.content_length().unwrap_or(0).min(CAP);
    usize::try_from(claim).unwrap_or(0).min(max)
}
