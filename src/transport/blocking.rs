//! Blocking transport on ureq 3.
//!
//! ureq's agent-wide `timeout_global`/`timeout_recv_body` are total deadlines that would kill
//! long streams, so deadlines are set per request: `timeout_global` for a non-streamed attempt;
//! `timeout_recv_response` (headers) and an optional `timeout_global` (whole stream) for a
//! streamed one.
//!
//! ureq fixes a request's timeouts when it is sent, but the deadline of a body read changes
//! while it runs: an error body or a JSON answer to a stream request must end by the
//! attempt's deadline, and each piece of a stream by the stream's own event-gap deadline
//! (which `chunk` receives). So every connection is wrapped in [`DeadlineTransport`], which
//! caps each socket wait at the deadline set for the read running on this thread (a blocking
//! read runs on the caller's thread). No deadline set: ureq's own timers alone.

use std::cell::Cell;
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, DefaultConnector, NextTimeout,
    Transport as UreqTransport,
};
use ureq::{Agent, AsSendBody, SendBody};

use super::upload_body::FormReader;
use super::{AttemptTimeouts, HttpRequest, Method, Payload, ReadDeadline, remaining};
use crate::cassette::recorder::Recorder;
use crate::cassette::tape::Tape;
use crate::config::Config;
use crate::error::{Error, Result, TimeoutPhase};
use crate::headers::Headers;

/// A request body, shared by every attempt.
pub(crate) type Body = Vec<u8>;

/// Read buffer for streams: large enough for many SSE events per read.
const CHUNK: usize = 16 * 1024;

/// The ureq agent: one pool per [`Client`](crate::Client), shared by its clones.
#[derive(Clone)]
pub(crate) struct Transport {
    agent: Agent,
    connect: Duration,
}

impl Transport {
    pub(crate) fn new(cfg: &Config) -> Result<Transport> {
        let builder = Agent::config_builder()
            // Keep 4xx/5xx bodies and headers (error JSON, retry-after).
            .http_status_as_error(false)
            .timeout_connect(crate::config::limit(cfg.timeouts.connect))
            .max_idle_connections(cfg.pool_max_idle_per_host.max(10))
            .max_idle_connections_per_host(cfg.pool_max_idle_per_host)
            .max_idle_age(std::time::Duration::from_secs(90))
            .input_buffer_size(cfg.io_buffer_size)
            .output_buffer_size(cfg.io_buffer_size)
            .user_agent(super::USER_AGENT)
            // Redirects are followed by the shared code (src/redirect.rs), alike in both modes.
            .max_redirects(0)
            .proxy(if cfg.use_env_proxy {
                ureq::Proxy::try_from_env()
            } else {
                None
            });
        #[cfg(feature = "rustls")]
        let builder = builder.tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::Rustls)
                // Same trust store as the async mode (reqwest uses the platform verifier).
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                // ring, as in the async mode (see `rustls` in Cargo.toml).
                .unversioned_rustls_crypto_provider(std::sync::Arc::new(super::ring_provider()))
                .build(),
        );
        #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
        let builder = builder.tls_config(
            ureq::tls::TlsConfig::builder()
                .provider(ureq::tls::TlsProvider::NativeTls)
                .build(),
        );
        let agent = Agent::with_parts(
            builder.build(),
            DeadlineConnector(DefaultConnector::new()),
            LiteralResolver,
        );
        Ok(Transport {
            agent,
            connect: cfg.timeouts.connect,
        })
    }

    pub(crate) fn send(&self, req: &HttpRequest<'_>) -> Result<HttpResponse> {
        warn_if_heads_are_dumped();
        let mut bytes: &[u8] = &[];
        let mut form = None;
        let body = match req.body {
            None => bytes.as_body(),
            Some(Payload::Bytes(b)) => {
                bytes = b;
                bytes.as_body()
            }
            Some(Payload::Form(f)) => {
                let reader = form.insert(FormReader::new(f, req.deadline, req.timeouts)?);
                SendBody::from_reader(reader)
            }
        };
        let mut request = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(req.url)
            .body(body)
            .map_err(|e| Error::invalid_request(e.to_string()))?;
        *request.headers_mut() = req.headers.wire(req.request_id);
        let t = req.timeouts;
        let stream = req.reading.is_streamed();
        // The attempt's deadline (shared by its redirect hops) bounds every socket wait through
        // `DeadlineGuard` below; ureq gets only what happens outside an open connection
        // (resolving, connecting) and a stream's total. No per-request read or write timeout:
        // each distinct one costs a `setsockopt` per wait (see `coarse`).
        let left = remaining(req.deadline);
        let connect = match (crate::config::limit(self.connect), left) {
            (Some(c), Some(l)) => Some(c.min(l)),
            (c, l) => c.or(l),
        };
        // A request-level configuration costs a copy of the agent's per request: skip it when
        // the agent's own settings already keep within the deadline (a connect timeout that
        // fits in it, and a host that needs no lookup).
        let agent_suffices = !stream
            && left.is_none_or(|l| {
                crate::config::limit(self.connect).is_some_and(|c| c <= l)
                    && crate::url::host_is_literal(req.url)
            });
        let request = if agent_suffices {
            request
        } else {
            let cfg = self
                .agent
                .configure_request(request)
                .timeout_resolve(left)
                .timeout_connect(connect);
            if stream {
                cfg.timeout_global(t.stream_total).build()
            } else {
                cfg.build()
            }
        };
        let started = Instant::now();
        let response = {
            let _deadline = DeadlineGuard::set(req.deadline.into());
            match req.method {
                Method::Get | Method::Post | Method::Delete => self.agent.run(request),
            }
        }
        // A form's own failure (a file that changed, a deadline) over ureq's account of it.
        .map_err(|e| match form.as_ref().and_then(|f| f.failure.take()) {
            Some(failure) => failure,
            None => map_error(e, stream, &t, started),
        })?;
        let (parts, body) = response.into_parts();
        let headers = Headers::from_wire(|| {
            parts
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes()))
        });
        Ok(HttpResponse {
            status: parts.status.as_u16(),
            headers,
            source: Source::Wire(body.into_reader()),
            recorder: None,
            buf: Vec::new(),
            stream,
            timeouts: t,
            started,
        })
    }
}

/// The log target under which ureq's protocol layer hex-dumps, at TRACE, every request head it
/// writes: the `Authorization` header, and so the API key, included.
const HEAD_DUMP_TARGET: &str = "ureq_proto::util";

/// Warns once per process, at the first request that finds TRACE on for
/// [`HEAD_DUMP_TARGET`], that the log is about to hold the key.
///
/// Nothing the crate can do turns the dump off: ureq-proto logs each head unconditionally
/// from the writer that serialises it (`util::Writer`'s `Drop`) and has no setting or feature
/// for it; the `log` crate's switches are process-wide (`set_max_level`, and the
/// `max_level_*` features, which would also silence the application's own TRACE lines); and
/// only the logger, which the application owns, filters by target. So the application is
/// told, once, what filter keeps the key out. Costs one atomic load per request once warned,
/// and the logger's `enabled` check until then.
fn warn_if_heads_are_dumped() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.load(Ordering::Relaxed)
        || !log::log_enabled!(target: HEAD_DUMP_TARGET, log::Level::Trace)
        || WARNED.swap(true, Ordering::Relaxed)
    {
        return;
    }
    log::warn!(
        target: "oai_compat",
        "TRACE logging is on for `{HEAD_DUMP_TARGET}`: ureq writes every request head there as a hex dump, the API key in `Authorization` included; keep the `ureq_proto` target at DEBUG or lower (RUST_LOG=trace,ureq_proto=debug)"
    );
}

/// Resolves IP literals and `localhost` without a lookup, and names through ureq's resolver.
///
/// ureq's resolver starts a thread for every lookup that has a deadline, IP literals
/// included, and ureq resolves before it checks its pool: with per-request deadlines that was
/// one thread per call (about 28 µs of CPU). vLLM is mostly reached by IP or `localhost`.
#[derive(Debug)]
struct LiteralResolver;

impl ureq::unversioned::resolver::Resolver for LiteralResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> std::result::Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
        let host = uri.host().unwrap_or_default();
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("https") => 443,
            _ => 80,
        });
        let mut out = self.empty();
        match host.trim_start_matches('[').trim_end_matches(']') {
            "localhost" => {
                out.push(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
                out.push(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port));
                Ok(out)
            }
            h => match h.parse::<IpAddr>() {
                Ok(ip) => {
                    out.push(SocketAddr::new(ip, port));
                    Ok(out)
                }
                Err(_) => ureq::unversioned::resolver::DefaultResolver::default()
                    .resolve(uri, config, timeout),
            },
        }
    }
}

/// A response whose headers have arrived; the body is read on demand.
pub(crate) struct HttpResponse {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    source: Source,
    /// Set when a cassette records this answer: it sees every piece of the body.
    recorder: Option<Recorder>,
    buf: Vec<u8>,
    stream: bool,
    timeouts: AttemptTimeouts,
    started: Instant,
}

/// Where a body comes from: the network, or a cassette's recorded answer.
enum Source {
    Wire(ureq::BodyReader<'static>),
    Tape(Tape),
}

impl HttpResponse {
    /// A cassette's recorded answer to `req`, played back without the network.
    pub(crate) fn replay(tape: Tape, req: &HttpRequest<'_>) -> HttpResponse {
        HttpResponse {
            status: tape.status,
            headers: tape.headers.clone(),
            source: Source::Tape(tape),
            recorder: None,
            buf: Vec::new(),
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
    pub(crate) fn read_body(&mut self, limit: usize, deadline: Option<Instant>) -> Result<Vec<u8>> {
        let (out, failed) = self.read_prefix(limit.saturating_add(1), deadline);
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
    pub(crate) fn read_prefix(
        &mut self,
        max: usize,
        deadline: Option<Instant>,
    ) -> (Vec<u8>, Option<Error>) {
        let mut out = Vec::with_capacity(super::capacity_hint(&self.headers, max));
        let failed = match &mut self.source {
            Source::Wire(reader) => {
                let _deadline = DeadlineGuard::set(deadline.into());
                let limit = u64::try_from(max).unwrap_or(u64::MAX);
                reader
                    .take(limit)
                    .read_to_end(&mut out)
                    .err()
                    .map(|e| map_io(e, self.stream, &self.timeouts, self.started))
            }
            Source::Tape(tape) => {
                while out.len() < max {
                    wait_for(tape);
                    let Some(piece) = tape.pop() else { break };
                    out.extend_from_slice(&piece[..piece.len().min(max - out.len())]);
                }
                None
            }
        };
        if let Some(r) = &mut self.recorder {
            r.push(&out);
            if failed.is_none() && out.len() < max {
                r.finish(true);
            }
        }
        (out, failed)
    }

    /// The next piece of a streamed body, `None` at its end; a `StreamIdle` timeout (without
    /// its limit, which the stream knows) when `deadline` passes first. A wait settles
    /// `deadline` (see [`ReadDeadline`]).
    pub(crate) fn chunk(&mut self, deadline: &mut ReadDeadline) -> Result<Option<&[u8]>> {
        let reader = match &mut self.source {
            Source::Wire(reader) => reader,
            Source::Tape(tape) => {
                wait_for(tape);
                return Ok(tape.pop().map(|piece| {
                    self.buf = piece;
                    &self.buf[..]
                }));
            }
        };
        let guard = DeadlineGuard::set(*deadline);
        self.buf.resize(CHUNK, 0);
        let read = loop {
            match reader.read(&mut self.buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                read => break read,
            }
        };
        *deadline = DEADLINE.get();
        drop(guard);
        match read {
            Ok(n) => {
                if let Some(r) = &mut self.recorder {
                    r.push(&self.buf[..n]);
                    if n == 0 {
                        r.finish(true);
                    }
                }
                Ok((n > 0).then(|| &self.buf[..n]))
            }
            Err(e) => {
                let e = map_io(e, self.stream, &self.timeouts, self.started);
                let total = matches!(&e, Error::Timeout(t) if t.phase == TimeoutPhase::StreamTotal);
                if e.is_timeout() && !total && deadline.is_past() {
                    return Err(Error::timeout(TimeoutPhase::StreamIdle, None));
                }
                Err(e)
            }
        }
    }
}

thread_local! {
    /// The deadline of the body read (or exchange) running on this thread, set by
    /// [`DeadlineGuard`] and settled by the read's first wait; none leaves ureq's own timers
    /// alone.
    static DEADLINE: Cell<ReadDeadline> = const { Cell::new(ReadDeadline::None) };
}

/// Moves this thread's [`DEADLINE`] to `at`: an upload that progresses has its waits
/// bounded from its last progress (the guard of the request still restores the previous
/// deadline when the request is done).
pub(crate) fn extend_deadline(at: Option<Instant>) {
    DEADLINE.set(at.into());
}

/// Sets this thread's [`DEADLINE`] until dropped, then restores the previous one.
struct DeadlineGuard(ReadDeadline);

impl DeadlineGuard {
    fn set(deadline: ReadDeadline) -> DeadlineGuard {
        DeadlineGuard(DEADLINE.replace(deadline))
    }
}

impl Drop for DeadlineGuard {
    fn drop(&mut self) {
        DEADLINE.set(self.0);
    }
}

/// ureq's wait for I/O, shortened to this thread's deadline when that comes first; an
/// expiry is reported as ureq's global timeout (our request phase).
fn capped(mut t: NextTimeout) -> NextTimeout {
    let mut deadline = DEADLINE.get();
    let left = deadline.left_at_wait();
    DEADLINE.set(deadline);
    if let Some(left) = left {
        let left = ureq::unversioned::transport::time::Duration::Exact(coarse(left));
        if left < t.after {
            t.after = left;
            t.reason = ureq::Timeout::Global;
        }
    }
    t
}

/// Sleeps until a replayed piece is due (only when the cassette keeps the timing).
fn wait_for(tape: &Tape) {
    if let Some(due) = tape.wait() {
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }
}

/// `left` rounded up to a step of at most 1/32 of it (a power of two of milliseconds; below
/// 64 ms, exact). ureq sets a socket's timeout (one `setsockopt`) whenever the wait's timeout
/// differs from the last one: with the exact time left, that was every wait of every request
/// (three per call). Rounded, consecutive waits share one value and the socket keeps it; a
/// wait ends at most ~3 % of the time left after the deadline.
fn coarse(left: Duration) -> Duration {
    // Whole milliseconds, rounded up: a wait must never end before the deadline.
    let ms = left.as_nanos().div_ceil(1_000_000);
    if ms < 64 {
        return left;
    }
    let step = 1u128 << (127 - (ms / 32).leading_zeros());
    let rounded = ms.div_ceil(step).saturating_mul(step);
    Duration::from_millis(u64::try_from(rounded).unwrap_or(u64::MAX))
}

/// ureq's default connector (TCP, TLS, proxies), with each connection wrapped in a
/// [`DeadlineTransport`].
#[derive(Debug)]
struct DeadlineConnector(DefaultConnector);

impl Connector for DeadlineConnector {
    type Out = DeadlineTransport;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> std::result::Result<Option<DeadlineTransport>, ureq::Error> {
        Ok(self.0.connect(details, chained)?.map(DeadlineTransport))
    }
}

/// A connection whose every wait ends by this thread's deadline (see [`capped`]).
#[derive(Debug)]
struct DeadlineTransport(Box<dyn UreqTransport>);

impl UreqTransport for DeadlineTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.0.buffers()
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        self.0.transmit_output(amount, capped(timeout))
    }

    fn maybe_await_input(
        &mut self,
        timeout: NextTimeout,
    ) -> std::result::Result<bool, ureq::Error> {
        self.0.maybe_await_input(capped(timeout))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.0.await_input(capped(timeout))
    }

    fn is_open(&mut self) -> bool {
        self.0.is_open()
    }

    fn is_tls(&self) -> bool {
        self.0.is_tls()
    }
}

fn map_io(e: std::io::Error, stream: bool, t: &AttemptTimeouts, started: Instant) -> Error {
    map_error(ureq::Error::from(e), stream, t, started)
}

/// ureq's errors, translated; ureq's type never leaves this file.
fn map_error(e: ureq::Error, stream: bool, t: &AttemptTimeouts, started: Instant) -> Error {
    use ureq::Timeout as T;
    match e {
        ureq::Error::Timeout(which) => {
            let phase = match which {
                T::Connect | T::Resolve => TimeoutPhase::Connect,
                T::PerRead if stream => TimeoutPhase::StreamIdle,
                T::Global | T::PerCall if stream => {
                    // A stream's global deadline is its total; before the headers the
                    // request timeout is what expired.
                    if t.stream_total.is_some_and(|d| started.elapsed() >= d) {
                        TimeoutPhase::StreamTotal
                    } else {
                        TimeoutPhase::Request
                    }
                }
                _ => TimeoutPhase::Request,
            };
            let limit = match phase {
                TimeoutPhase::Connect => None,
                // The stream knows its idle limit and fills it in.
                TimeoutPhase::StreamIdle => None,
                TimeoutPhase::StreamTotal => t.stream_total,
                _ => t.request,
            };
            Error::timeout(phase, limit)
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            let (phase, limit) = if stream {
                (TimeoutPhase::StreamIdle, None)
            } else {
                (TimeoutPhase::Request, t.request)
            };
            Error::timeout(phase, limit)
        }
        ureq::Error::Http(_) | ureq::Error::BadUri(_) => Error::invalid_request(e.to_string()),
        ureq::Error::HostNotFound => Error::connection("host not found (DNS)", Some(Box::new(e))),
        ureq::Error::ConnectionFailed => Error::connection(
            "could not connect (refused or unreachable)",
            Some(Box::new(e)),
        ),
        ureq::Error::Io(io) => {
            let what = match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => "connection reset by the server".to_owned(),
                std::io::ErrorKind::UnexpectedEof => {
                    "the server closed the connection early".to_owned()
                }
                _ => io.to_string(),
            };
            Error::connection(what, Some(Box::new(io)))
        }
        other => Error::connection(other.to_string(), Some(Box::new(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_rounds_up_by_at_most_a_32nd() {
        for us in [
            64_000u64,
            64_001,
            65_500,
            100_000,
            999_999,
            1_000_500,
            5_000_000,
            599_990_000,
        ] {
            let left = Duration::from_micros(us);
            let c = coarse(left);
            assert!(c >= left, "{us}: {c:?}");
            assert!(c - left <= left / 32, "{us}: {c:?}");
        }
        // Consecutive waits of one long request share one value (no setsockopt between them).
        assert_eq!(
            coarse(Duration::from_millis(599_990)),
            coarse(Duration::from_millis(599_700))
        );
        assert_eq!(coarse(Duration::from_millis(10)), Duration::from_millis(10));
        assert_eq!(
            coarse(Duration::from_micros(1500)),
            Duration::from_micros(1500)
        );
        let huge = coarse(Duration::from_secs(u64::MAX / 2_000));
        assert!(huge >= Duration::from_secs(u64::MAX / 2_000));
    }
}
