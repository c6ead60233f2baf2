//! Async transport on reqwest 0.13 (tokio timers only; the caller's runtime drives it).
//!
//! reqwest's client-wide `timeout` is a total deadline that kills streams, so deadlines are
//! set per request: `RequestBuilder::timeout` for a non-streamed attempt or a stream's total,
//! a tokio timeout at the attempt's deadline around `send()` for a stream's headers, and a
//! tokio sleep racing each body read: the gap between stream events for a stream, the
//! attempt's deadline for any other body (an error body, a JSON answer to a stream request).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures_core::Stream;

use super::upload_body::FormStream;
use super::{AttemptTimeouts, HttpRequest, Method, Payload, ReadDeadline, remaining};
use crate::cassette::recorder::Recorder;
use crate::cassette::tape::Tape;
use crate::config::Config;
use crate::error::{Error, Result, TimeoutPhase};
use crate::headers::Headers;

/// A request body, shared by every attempt (a cheap reference-counted clone per attempt).
pub(crate) type Body = Bytes;

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The reqwest client: one pool per [`Client`](crate::Client), shared by its clones.
#[derive(Clone)]
pub(crate) struct Transport {
    client: reqwest::Client,
    /// The last URL parsed and its text. A client calls the same few URLs over and over,
    /// and reqwest, given the text, parses it on every request (about 4% of a small
    /// request's CPU); a hit costs a comparison and a clone. `try_lock` only: a request
    /// that finds it busy parses its URL itself rather than wait.
    last_url: Arc<Mutex<Option<(String, reqwest::Url)>>>,
}

/// rustls with the `ring` provider and the platform's trust store, as the blocking mode has
/// (reqwest's own default would build aws-lc-rs); ALPN as reqwest sets it with HTTP/2 on.
#[cfg(feature = "rustls")]
fn rustls_config() -> Result<rustls::ClientConfig> {
    let provider = Arc::new(super::ring_provider());
    let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(|e| {
        Error::config(format!(
            "could not load the platform's TLS trust store: {e}"
        ))
    })?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("could not configure TLS: {e}")))?
        // rustls calls every custom verifier "dangerous"; this one is the platform's own.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl Transport {
    pub(crate) fn new(cfg: &Config) -> Result<Transport> {
        let mut b = reqwest::Client::builder()
            .pool_max_idle_per_host(cfg.pool_max_idle_per_host)
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .user_agent(super::USER_AGENT)
            // Redirects are followed by the shared code (src/redirect.rs), alike in both modes.
            .redirect(reqwest::redirect::Policy::none());
        if let Some(d) = crate::config::limit(cfg.timeouts.connect) {
            b = b.connect_timeout(d);
        }
        if !cfg.use_env_proxy {
            b = b.no_proxy();
        }
        #[cfg(feature = "rustls")]
        {
            b = b.tls_backend_preconfigured(rustls_config()?);
        }
        #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
        {
            b = b.tls_backend_native();
        }
        let client = b
            .build()
            .map_err(|e| Error::config(format!("could not build the HTTP client: {e}")))?;
        Ok(Transport {
            client,
            last_url: Arc::default(),
        })
    }

    /// `text` parsed, from [`Transport::last_url`] when it is the last URL parsed.
    fn url(&self, text: &str) -> Result<reqwest::Url> {
        if let Ok(last) = self.last_url.try_lock() {
            if let Some((last_text, url)) = &*last {
                if last_text == text {
                    return Ok(url.clone());
                }
            }
        }
        let url = reqwest::Url::parse(text)
            .ok()
            // reqwest refuses a URL without a host too.
            .filter(reqwest::Url::has_host)
            .ok_or_else(|| Error::invalid_request("the request URL is not a valid http(s) URL"))?;
        if let Ok(mut last) = self.last_url.try_lock() {
            *last = Some((text.to_owned(), url.clone()));
        }
        Ok(url)
    }

    pub(crate) async fn send(&self, req: &HttpRequest<'_>) -> Result<HttpResponse> {
        let method = match req.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Delete => reqwest::Method::DELETE,
        };
        // Made directly rather than through reqwest's builder, which takes the URL as text
        // and parses it on every request (the headers were already replaced afterwards).
        let mut request = reqwest::Request::new(method, self.url(req.url)?);
        *request.headers_mut() = req.headers.wire(req.request_id);
        // A form's failure slot: set only for an upload, which is bounded by its progress.
        let mut failure = None;
        match req.body {
            None => {}
            Some(Payload::Bytes(body)) => *request.body_mut() = Some(body.clone().into()),
            Some(Payload::Form(form)) => {
                let stream = FormStream::new(Arc::clone(form))?;
                failure = Some(stream.failure.clone());
                *request.body_mut() = Some(reqwest::Body::wrap_stream(stream));
            }
        }
        let t = req.timeouts;
        let stream = req.reading.is_streamed();
        let started = Instant::now();
        let uploading = failure.is_some();
        *request.timeout_mut() = if stream {
            t.stream_total
        } else if uploading {
            // An upload is bounded by its progress (below), its answer's body by the
            // deadline the shared code reads it with.
            None
        } else {
            // The time left in the attempt, so redirect hops share one deadline.
            remaining(req.deadline)
        };
        let send = self.client.execute(request);
        let response = match req.deadline {
            Some(_) if uploading => match unless_stalled(send, req).await {
                Some(r) => r,
                None => return Err(Error::timeout(TimeoutPhase::Request, t.request)),
            },
            // A stream's total is its own; the attempt's deadline bounds its headers.
            Some(at) if stream => {
                match tokio::time::timeout_at(tokio::time::Instant::from_std(at), send).await {
                    Ok(r) => r,
                    Err(_) => return Err(Error::timeout(TimeoutPhase::Request, t.request)),
                }
            }
            _ => send.await,
        }
        // A form's own failure (a file that changed) over reqwest's account of it.
        .map_err(|e| match failure.as_ref().and_then(|f| f.take()) {
            Some(failure) => failure,
            None => map_error(e, stream, &t, started),
        })?;
        let headers = Headers::from_wire(|| {
            response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()))
        });
        Ok(HttpResponse {
            status: response.status().as_u16(),
            headers,
            source: Source::Wire(Box::pin(response.bytes_stream())),
            recorder: None,
            last: Bytes::new(),
            idle: None,
            idle_deadline: None,
            stream,
            timeouts: t,
            started,
        })
    }
}

/// `send`'s output, or `None` once the upload of `req`'s form has not moved for the request
/// timeout (and the attempt's own deadline has passed): an upload takes as long as it keeps
/// moving, and the wait for its answer counts from its last byte.
async fn unless_stalled<F: Future>(send: F, req: &HttpRequest<'_>) -> Option<F::Output> {
    let due = || req.after_upload().map(tokio::time::Instant::from_std);
    let mut send = std::pin::pin!(send);
    let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = send.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        loop {
            let Some(at) = due() else {
                return Poll::Pending;
            };
            let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
            if timer.deadline() != at {
                timer.as_mut().reset(at);
            }
            match timer.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                // Unless the upload moved while the timer ran: then wait from there.
                Poll::Ready(()) if due() == Some(at) => return Poll::Ready(None),
                Poll::Ready(()) => {}
            }
        }
    })
    .await
}

/// A response whose headers have arrived; the body is polled on demand (no task, no channel).
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    source: Source,
    /// Set when a cassette records this answer: it sees every piece of the body.
    recorder: Option<Recorder>,
    /// The piece `chunk` handed out last (kept so both modes hand out `&[u8]`).
    last: Bytes,
    idle: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Where `idle` is set to (see `poll_until`).
    idle_deadline: Option<Instant>,
    stream: bool,
    timeouts: AttemptTimeouts,
    started: Instant,
}

/// Where a body comes from: the network, or a cassette's recorded answer (with the timer of
/// its next piece when the cassette keeps the timing).
enum Source {
    Wire(ByteStream),
    Tape(Tape, Option<Pin<Box<tokio::time::Sleep>>>),
}

impl HttpResponse {
    /// A cassette's recorded answer to `req`, played back without the network.
    pub(crate) fn replay(tape: Tape, req: &HttpRequest<'_>) -> HttpResponse {
        HttpResponse {
            status: tape.status,
            headers: tape.headers.clone(),
            source: Source::Tape(tape, None),
            recorder: None,
            last: Bytes::new(),
            idle: None,
            idle_deadline: None,
            stream: req.reading.is_streamed(),
            timeouts: req.timeouts,
            started: Instant::now(),
        }
    }

    /// Hands every piece of the body, as it is read, to `recorder`.
    pub(crate) fn record(&mut self, recorder: Recorder) {
        self.recorder = Some(recorder);
    }

    /// Reads the whole body by `deadline`, failing past `limit` bytes. Memory grows with the
    /// bytes that arrive; a `Content-Length` claim is never trusted for allocation.
    pub(crate) async fn read_body(
        &mut self,
        limit: usize,
        deadline: Option<Instant>,
    ) -> Result<Vec<u8>> {
        let (out, failed) = self.read_prefix(limit.saturating_add(1), deadline).await;
        if let Some(e) = failed {
            return Err(e);
        }
        if out.len() > limit {
            return Err(Error::too_large(limit, &out));
        }
        Ok(out)
    }

    /// Reads at most `max` bytes by `deadline`: what arrived, and the error that stopped the
    /// read early, if any (an error body is reported with what arrived of it).
    pub(crate) async fn read_prefix(
        &mut self,
        max: usize,
        deadline: Option<Instant>,
    ) -> (Vec<u8>, Option<Error>) {
        let mut out = Vec::with_capacity(super::capacity_hint(&self.headers, max));
        // A non-streamed request's own reqwest timeout (the time left in the attempt, set in
        // `send`) covers its body too: a second timer per request would only cost.
        let mut deadline = ReadDeadline::from(if self.stream { deadline } else { None });
        loop {
            let next = std::future::poll_fn(|cx| {
                self.poll_until(cx, &mut deadline, TimeoutPhase::Request)
            })
            .await;
            match next {
                Ok(Some(chunk)) => {
                    let room = max - out.len();
                    out.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if out.len() == max {
                        return (out, None);
                    }
                }
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// The next piece of a streamed body, `None` at its end; a `StreamIdle` timeout (without
    /// its limit, which the stream knows) when `deadline` passes first; a wait settles
    /// `deadline` (see [`ReadDeadline`]). The poll form of the blocking transport's `chunk`:
    /// `EventStream` polls it from its one poll loop.
    pub(crate) fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
        deadline: &mut ReadDeadline,
    ) -> Poll<Result<Option<&[u8]>>> {
        match self.poll_more(cx, deadline) {
            Poll::Ready(Ok(got)) => Poll::Ready(Ok(got.then_some(&self.last[..]))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The piece [`HttpResponse::poll_more`] moved in last.
    pub(crate) fn last_piece(&self) -> &[u8] {
        &self.last
    }

    /// Moves the next piece into `last`: `true`, or `false` at the end of the body.
    pub(crate) fn poll_more(
        &mut self,
        cx: &mut Context<'_>,
        deadline: &mut ReadDeadline,
    ) -> Poll<Result<bool>> {
        match self.poll_until(cx, deadline, TimeoutPhase::StreamIdle) {
            Poll::Ready(Ok(Some(b))) => {
                self.last = b;
                Poll::Ready(Ok(true))
            }
            Poll::Ready(Ok(None)) => Poll::Ready(Ok(false)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The next piece of the body, or a `phase` timeout once `deadline` passes; the body's
    /// first `Pending` is the wait that settles `deadline`.
    fn poll_until(
        &mut self,
        cx: &mut Context<'_>,
        deadline: &mut ReadDeadline,
        phase: TimeoutPhase,
    ) -> Poll<Result<Option<Bytes>>> {
        let body = match &mut self.source {
            Source::Wire(body) => body,
            Source::Tape(tape, timer) => {
                if let Some(due) = tape.wait() {
                    let due = tokio::time::Instant::from_std(due);
                    let timer =
                        timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
                    if timer.deadline() != due {
                        timer.as_mut().reset(due);
                    }
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                return Poll::Ready(Ok(tape.pop().map(Bytes::from)));
            }
        };
        match body.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(b))) => {
                if let Some(r) = &mut self.recorder {
                    r.push(&b);
                }
                return Poll::Ready(Ok(Some(b)));
            }
            Poll::Ready(Some(Err(e))) => {
                return Poll::Ready(Err(map_error(e, self.stream, &self.timeouts, self.started)));
            }
            Poll::Ready(None) => {
                if let Some(r) = &mut self.recorder {
                    r.finish(true);
                }
                return Poll::Ready(Ok(None));
            }
            Poll::Pending => {}
        }
        let Some(deadline) = deadline.instant_at_wait() else {
            return Poll::Pending;
        };
        // A stream's deadline moves on with every event. Moving the timer each time would
        // cost a timer-wheel update per event, so the timer stays where it is while the
        // deadline only moves later, and when it fires before the deadline it is set again,
        // to the deadline of that moment: one update per idle period instead of per event.
        // An earlier deadline (a new read) moves it at once.
        let at = tokio::time::Instant::from_std(deadline);
        let sleep = match &mut self.idle {
            Some(sleep) => {
                if self.idle_deadline.is_none_or(|armed| deadline < armed) {
                    sleep.as_mut().reset(at);
                    self.idle_deadline = Some(deadline);
                }
                sleep
            }
            None => {
                self.idle_deadline = Some(deadline);
                self.idle.insert(Box::pin(tokio::time::sleep_until(at)))
            }
        };
        let mut expired = sleep.as_mut().poll(cx).is_ready();
        if expired && self.idle_deadline.is_some_and(|armed| armed < deadline) {
            // It fired at an older deadline: wait on for this one.
            sleep.as_mut().reset(at);
            self.idle_deadline = Some(deadline);
            expired = sleep.as_mut().poll(cx).is_ready();
        }
        if expired {
            let limit = match phase {
                // The stream knows its idle limit and fills it in.
                TimeoutPhase::StreamIdle => None,
                _ => self.timeouts.request,
            };
            return Poll::Ready(Err(Error::timeout(phase, limit)));
        }
        Poll::Pending
    }
}

/// reqwest's errors, translated; reqwest's type never leaves this file (and the URL is
/// dropped from its message).
fn map_error(e: reqwest::Error, stream: bool, t: &AttemptTimeouts, started: Instant) -> Error {
    if e.is_timeout() {
        let (phase, limit) = if stream && t.stream_total.is_some_and(|d| started.elapsed() >= d) {
            (TimeoutPhase::StreamTotal, t.stream_total)
        } else if e.is_connect() {
            (TimeoutPhase::Connect, None)
        } else {
            (TimeoutPhase::Request, t.request)
        };
        return Error::timeout(phase, limit);
    }
    let e = e.without_url();
    if e.is_builder() {
        return Error::invalid_request(e.to_string());
    }
    let what = if e.is_connect() {
        // The cause (refused, DNS, a TLS certificate problem ...) is in the source chain;
        // reqwest's own text only says "error sending request".
        match causes(&e) {
            Some(c) => format!("could not connect: {c}"),
            None => "could not connect (refused or unreachable)".to_owned(),
        }
    } else if e.is_body() || e.is_decode() {
        format!("the response body broke off: {e}")
    } else {
        e.to_string()
    };
    Error::connection(what, Some(Box::new(e)))
}

/// The messages of `e`'s sources, outermost first, joined by `: ` (repeats dropped).
fn causes(e: &reqwest::Error) -> Option<String> {
    let mut out: Vec<String> = Vec::new();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !out.iter().any(|seen| seen.contains(&text)) {
            out.push(text);
        }
        next = cause.source();
    }
    (!out.is_empty()).then(|| out.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> Transport {
        let config = crate::Client::builder()
            .base_url("http://127.0.0.1:9/v1")
            .into_config()
            .unwrap();
        Transport::new(&config).unwrap()
    }

    #[test]
    fn a_url_parsed_again_is_the_same_and_another_is_its_own() {
        let t = transport();
        let a = "http://127.0.0.1:9/v1/chat/completions";
        let b = "http://127.0.0.1:9/v1/models?x=%C3%A9";
        for text in [a, a, b, a, b, b] {
            let url = t.url(text).unwrap();
            assert_eq!(url, reqwest::Url::parse(text).unwrap(), "{text}");
        }
        // A clone of the transport (a clone of the client) shares what was parsed.
        let clone = t.clone();
        assert!(Arc::ptr_eq(&clone.last_url, &t.last_url));
        assert_eq!(clone.url(b).unwrap().as_str(), b);
    }

    #[test]
    fn a_url_that_does_not_parse_is_an_invalid_request_not_a_panic() {
        let t = transport();
        for text in [
            "",
            "not a url",
            "http://",
            "data:text/plain,hi",
            "http://[::1",
        ] {
            match t.url(text) {
                Err(Error::InvalidRequest(m)) => assert!(m.contains("URL"), "{m}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        // A failed parse leaves the last good one in place.
        let good = "http://127.0.0.1:9/v1/models";
        t.url(good).unwrap();
        assert!(t.url("::").is_err());
        assert_eq!(t.url(good).unwrap().as_str(), good);
    }
}
