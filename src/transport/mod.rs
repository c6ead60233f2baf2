//! The HTTP transport: one concrete type per mode with the same method names, so the shared
//! code (`client.rs`, `stream.rs`) calls `send(..).await`, `read_body(..).await` and
//! `chunk(..).await` without knowing which library is underneath.

use std::time::Duration;

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

/// The deadlines of one attempt.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AttemptTimeouts {
    /// Non-streamed: the whole attempt. Streamed: until the response headers.
    pub(crate) request: Duration,
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
}
