//! The accept loop and the per-connection loop: read a request, record it,
//! pick its reply (scripted or built-in) and write it.

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use super::http::{BodyFraming, Conn, Head, MAX_BODY, ReadError, reason};
use super::reply::{Kind, Part, Reply};
use super::{RecordedRequest, Shared, defaults};

/// A connection idle this long (no request byte) is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// A write blocked this long (the client does not read) ends the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Requests served on one connection before it is closed (with `connection: close`).
const MAX_REQUESTS_PER_CONNECTION: usize = 100_000;

/// Whether to serve another request on the connection.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    KeepAlive,
    Close,
}

/// Accepts connections until the server stops, one thread each.
pub(super) fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.is_stopped() {
        match listener.accept() {
            Ok((stream, _)) => {
                if shared.is_stopped() {
                    return;
                }
                shared
                    .connections
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                spawn_connection(shared, stream);
            }
            // E.g. out of file descriptors: back off a little.
            Err(_) => {
                if !shared.sleep(Duration::from_millis(20)) {
                    return;
                }
            }
        }
    }
}

fn spawn_connection(shared: &Arc<Shared>, stream: TcpStream) {
    // `None` when stopping or full: the stream is dropped, which closes it.
    let Some(guard) = shared.enter(Some(&stream)) else {
        return;
    };
    let conn_shared = Arc::clone(shared);
    // If the spawn fails, the closure (and so the guard and stream) is dropped.
    let _ = thread::Builder::new()
        .name("oai-mock-conn".to_owned())
        .spawn(move || {
            let _guard = guard;
            serve(&conn_shared, stream);
        });
}

/// Serves the requests of one connection.
fn serve(shared: &Shared, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let mut conn = Conn::new(stream);
    for served in 1..=MAX_REQUESTS_PER_CONNECTION {
        if shared.is_stopped() {
            break;
        }
        let last = served == MAX_REQUESTS_PER_CONNECTION;
        if serve_one(shared, &mut conn, last) == Next::Close {
            break;
        }
    }
    conn.close(|| !shared.is_stopped());
}

/// Reads one request and answers it.
fn serve_one(shared: &Shared, conn: &mut Conn, last: bool) -> Next {
    let head = match conn.read_head() {
        Ok(Some(head)) => head,
        Ok(None) | Err(ReadError::Closed) => return Next::Close,
        Err(ReadError::Bad(why)) => return protocol_error(shared, conn, 400, why),
        Err(ReadError::TooLarge) => {
            return protocol_error(shared, conn, 431, "request head over 64 KiB");
        }
    };
    let body = match read_body(conn, &head) {
        Ok(body) => body,
        Err(ReadError::Closed) => return Next::Close,
        Err(ReadError::Bad(why)) => return protocol_error(shared, conn, 400, why),
        Err(ReadError::TooLarge) => {
            record_unread(shared, &head, Vec::new());
            let reply = Reply::error(413, "request body over 64 MiB");
            let _ = write_reply(shared, conn, &reply, true, false);
            return Next::Close;
        }
    };
    let close_asked = head.wants_close() || last;
    let keep_alive_10 = head.http10_keep_alive();
    // Held until the reply is written: the request counts as being answered all along.
    let Some(_slot) = shared.limit.take() else {
        record_unread(shared, &head, body);
        return answer(shared, conn, &over_limit(), close_asked, keep_alive_10);
    };
    let (scripted, request) = shared.record(RecordedRequest {
        method: head.method,
        path: head.target,
        headers: head.headers,
        body,
    });
    let latency = *super::lock(&shared.latency);
    if !latency.is_zero() && !shared.sleep(latency) {
        return Next::Close;
    }
    let reply = match (scripted, request) {
        (Some(modifiers), Some(request)) if modifiers.is_default() => {
            defaults::answer(shared, &request).with_modifiers_of(&modifiers)
        }
        (Some(reply), _) => reply,
        (None, Some(request)) => defaults::answer(shared, &request),
        // `record` returns the request whenever there is no scripted reply.
        (None, None) => Reply::error(500, "mock server: no reply"),
    };
    answer(shared, conn, &reply, close_asked, keep_alive_10)
}

/// Writes `reply` and says whether the connection serves another request.
fn answer(
    shared: &Shared,
    conn: &mut Conn,
    reply: &Reply,
    close: bool,
    keep_alive_10: bool,
) -> Next {
    match write_reply(shared, conn, reply, close, keep_alive_10) {
        Ok(Next::KeepAlive) if !close => Next::KeepAlive,
        _ => Next::Close,
    }
}

/// The answer to a request over the cap of requests answered at once, in OpenAI's shape.
fn over_limit() -> Reply {
    Reply::openai_error(
        429,
        "rate_limit_error",
        "rate_limit_exceeded",
        "Too many requests in flight: retry after 1 second.",
    )
    .header("retry-after", "1")
}

/// Records a request that gets no built-in or scripted answer (413, over the cap).
fn record_unread(shared: &Shared, head: &Head, body: Vec<u8>) {
    let mut script = super::lock(&shared.script);
    script.requests.push(RecordedRequest {
        method: head.method.clone(),
        path: head.target.clone(),
        headers: head.headers.clone(),
        body,
    });
}

/// Reads the body the head announces, answering `Expect: 100-continue` first.
fn read_body(conn: &mut Conn, head: &Head) -> Result<Vec<u8>, ReadError> {
    let framing = head.body_framing()?;
    if let BodyFraming::Length(n) = framing {
        if n > MAX_BODY {
            return Err(ReadError::TooLarge);
        }
    }
    if framing != BodyFraming::None && head.expects_continue() {
        conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| ReadError::Closed)?;
    }
    match framing {
        BodyFraming::None => Ok(Vec::new()),
        BodyFraming::Length(n) => conn.read_exact_body(n),
        BodyFraming::Chunked => conn.read_chunked(MAX_BODY),
    }
}

/// Answers a request that could not be read, and closes.
fn protocol_error(shared: &Shared, conn: &mut Conn, status: u16, why: &str) -> Next {
    let body = format!("Invalid HTTP request received: {why}.\n");
    let reply = Reply::text(status, "text/plain; charset=utf-8", body);
    let _ = write_reply(shared, conn, &reply, true, false);
    Next::Close
}

fn status_line(status: u16) -> String {
    format!("HTTP/1.1 {status} {}\r\n", reason(status))
}

fn push_header(head: &mut String, name: &str, value: &str) {
    head.push_str(name);
    head.push_str(": ");
    head.push_str(value);
    head.push_str("\r\n");
}

/// The body length of a `content-length` reply: the sum of its byte parts.
fn reply_len(reply: &Reply) -> usize {
    reply
        .parts
        .iter()
        .map(|p| match p {
            Part::Bytes(b) => b.len(),
            Part::Pause(_) => 0,
        })
        .sum()
}

/// Writes a reply. `Ok(Next::Close)` when the reply ends the connection;
/// `Err` when the client went away or the server stopped.
fn write_reply(
    shared: &Shared,
    conn: &mut Conn,
    reply: &Reply,
    close_asked: bool,
    keep_alive_10: bool,
) -> Result<Next, Stop> {
    if !reply.delay.is_zero() && !shared.sleep(reply.delay) {
        return Err(Stop);
    }
    match reply.kind {
        Kind::Reset => return Ok(Next::Close),
        Kind::Hang => {
            conn.wait_for_close(|| !shared.is_stopped());
            return Ok(Next::Close);
        }
        Kind::Respond | Kind::Default => {}
    }
    let announce_close = close_asked || reply.close;
    let total = reply_len(reply);

    let mut head = status_line(reply.status);
    for (name, value) in &reply.headers {
        push_header(&mut head, name, value);
    }
    if reply.chunked {
        if reply.header_value("transfer-encoding").is_none() {
            push_header(&mut head, "transfer-encoding", "chunked");
        }
    } else if reply.header_value("content-length").is_none() {
        push_header(&mut head, "content-length", &total.to_string());
    }
    if reply.header_value("connection").is_none() {
        if announce_close {
            push_header(&mut head, "connection", "close");
        } else if keep_alive_10 {
            push_header(&mut head, "connection", "keep-alive");
        }
    }
    head.push_str("\r\n");

    let mut out = Writer {
        shared,
        conn,
        trickle: reply.trickle,
        chunked: reply.chunked,
        first_byte: true,
    };
    let simple = reply.trickle.is_none()
        && !reply.cut
        && !reply.chunked
        && reply.parts.iter().all(|p| matches!(p, Part::Bytes(_)));
    if simple {
        // Head and body in one write.
        let mut bytes = head.into_bytes();
        for part in &reply.parts {
            if let Part::Bytes(b) = part {
                bytes.extend_from_slice(b);
            }
        }
        out.conn.write_all(&bytes).map_err(|_| Stop)?;
    } else {
        out.conn.write_all(head.as_bytes()).map_err(|_| Stop)?;
        // A cut `content-length` body stops after half of it.
        let mut budget = if reply.cut && !reply.chunked {
            total / 2
        } else {
            usize::MAX
        };
        for part in &reply.parts {
            match part {
                Part::Pause(d) => {
                    if !shared.sleep(*d) {
                        return Err(Stop);
                    }
                }
                Part::Bytes(b) => {
                    let n = b.len().min(budget);
                    out.body(&b[..n])?;
                    budget -= n;
                }
            }
        }
        if reply.cut {
            return Ok(Next::Close);
        }
        if reply.chunked {
            out.conn.write_all(b"0\r\n\r\n").map_err(|_| Stop)?;
        }
    }
    if announce_close || reply.cut || reply.disconnect {
        Ok(Next::Close)
    } else {
        Ok(Next::KeepAlive)
    }
}

/// The client went away or the server stopped: end the connection.
#[derive(Debug)]
struct Stop;

/// Writes body bytes with the reply's framing and trickling.
struct Writer<'a> {
    shared: &'a Shared,
    conn: &'a mut Conn,
    trickle: Option<Duration>,
    chunked: bool,
    first_byte: bool,
}

impl Writer<'_> {
    fn body(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self.trickle {
            None => self.write(bytes),
            Some(d) => {
                for byte in bytes {
                    if !self.first_byte && !self.shared.sleep(d) {
                        return Err(Stop);
                    }
                    self.first_byte = false;
                    self.write(std::slice::from_ref(byte))?;
                }
                Ok(())
            }
        }
    }

    /// One socket write: a chunk when chunked.
    fn write(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        let result = if self.chunked {
            let mut chunk = format!("{:x}\r\n", bytes.len()).into_bytes();
            chunk.extend_from_slice(bytes);
            chunk.extend_from_slice(b"\r\n");
            self.conn.write_all(&chunk)
        } else {
            self.conn.write_all(bytes)
        };
        result.map_err(|_| Stop)
    }
}
