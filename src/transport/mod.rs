//! The HTTP transport: one concrete type per mode with the same method names, so the shared
//! code (`client.rs`, `stream.rs`) calls `send(..).await`, `read_body(..).await` and
//! `chunk(..).await` without knowing which library is underneath.

use std::time::{Duration, Instant};

#[cfg(not(feature = "blocking"))]
mod async_impl;
#[cfg(feature = "blocking")]
mod blocking;

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

/// The limits of one attempt (`None`: no limit; see [`crate::config::limit`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptTimeouts {
    /// Non-streamed: the whole attempt. Streamed: until the response headers, and any body
    /// that is not handed over as a stream (an error, a JSON answer).
    pub(crate) request: Option<Duration>,
    /// Streamed only: the longest silence on the socket (the shared stream code also checks
    /// the gap between events).
    pub(crate) stream_idle: Option<Duration>,
    /// Streamed only: the whole exchange.
    pub(crate) stream_total: Option<Duration>,
}

/// One attempt of a request. The body is serialised once per call and shared by attempts.
#[derive(Clone, Copy)]
pub(crate) struct HttpRequest<'a> {
    pub(crate) method: Method,
    pub(crate) url: &'a str,
    pub(crate) headers: &'a [(String, String)],
    pub(crate) body: Option<&'a Body>,
    pub(crate) stream: bool,
    pub(crate) timeouts: AttemptTimeouts,
    /// The attempt's deadline (`timeouts.request` from its start), shared by every redirect
    /// hop and every body read that is not a handed-over stream. `None`: no limit.
    pub(crate) deadline: Option<Instant>,
}

/// `now + d`, or `None` (no deadline) when there is no limit or it is too far to represent.
pub(crate) fn deadline_after(d: Option<Duration>) -> Option<Instant> {
    d.and_then(|d| Instant::now().checked_add(d))
}

/// The time left until `deadline` (zero once it has passed); `None` means no deadline.
pub(crate) fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}
