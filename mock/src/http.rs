//! HTTP/1.1 request reading for the mock server: a connection with its own
//! read-ahead buffer (so pipelined requests are kept), bounded head and body
//! reads, `content-length` and `transfer-encoding: chunked` bodies.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Largest request head (request line and headers) accepted; larger heads get 431.
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted; larger bodies get 413.
pub(super) const MAX_BODY: usize = 64 * 1024 * 1024;
/// Largest chunk-size line of a chunked body.
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Bytes read from the socket at a time.
const READ_SIZE: usize = 16 * 1024;

/// Why a request could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ReadError {
    /// The peer went away, the read timed out or the server is stopping: close quietly.
    Closed,
    /// The request is malformed: answer 400 and close.
    Bad(&'static str),
    /// The head or body is over its bound: answer 431 (head) or 413 (body) and close.
    TooLarge,
}

/// A parsed request line and header section.
#[derive(Debug)]
pub(super) struct Head {
    pub(super) method: String,
    pub(super) target: String,
    /// `true` for HTTP/1.0 (keep-alive only when asked for).
    pub(super) http10: bool,
    pub(super) headers: Vec<(String, String)>,
}

/// How the request body is framed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BodyFraming {
    None,
    Length(usize),
    Chunked,
}

impl Head {
    /// Whether any `name` header lists `token` (comma-separated, case-insensitive).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the client asked to close the connection after this exchange.
    pub(super) fn wants_close(&self) -> bool {
        if self.has_token("connection", "close") {
            return true;
        }
        self.http10 && !self.has_token("connection", "keep-alive")
    }

    /// Whether the client sent HTTP/1.0 and asked for keep-alive.
    pub(super) fn http10_keep_alive(&self) -> bool {
        self.http10 && self.has_token("connection", "keep-alive")
    }

    /// Whether the client waits for `100 Continue` before sending the body.
    pub(super) fn expects_continue(&self) -> bool {
        !self.http10 && self.has_token("expect", "100-continue")
    }

    /// The body framing, by RFC 9112 section 6.3.
    pub(super) fn body_framing(&self) -> Result<BodyFraming, ReadError> {
        let te: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(last) = te.last() {
            if last.eq_ignore_ascii_case("chunked") {
                return Ok(BodyFraming::Chunked);
            }
            return Err(ReadError::Bad("unsupported transfer-encoding"));
        }
        let mut length: Option<usize> = None;
        for (name, value) in &self.headers {
            if !name.eq_ignore_ascii_case("content-length") {
                continue;
            }
            for part in value.split(',') {
                let part = part.trim();
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ReadError::Bad("invalid content-length"));
                }
                // Anything over the body bound is "too large" however many digits it has.
                let n = part.parse::<usize>().unwrap_or(usize::MAX);
                match length {
                    Some(prev) if prev != n => {
                        return Err(ReadError::Bad("conflicting content-length"));
                    }
                    _ => length = Some(n),
                }
            }
        }
        Ok(match length {
            None | Some(0) => BodyFraming::None,
            Some(n) => BodyFraming::Length(n),
        })
    }
}

/// One accepted connection: the socket and the bytes read but not used yet.
pub(super) struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub(super) fn new(stream: TcpStream) -> Conn {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes all of `bytes`.
    pub(super) fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Closes the connection: sends the end of the stream, then reads and
    /// drops what the peer still sends (bounded in bytes and time) before
    /// closing. Closing with unread input would make the kernel send a reset,
    /// which can destroy a response the client has not read yet.
    pub(super) fn close(&mut self, keep_going: impl Fn() -> bool) {
        const LINGER: Duration = Duration::from_millis(500);
        const MAX_DRAIN: usize = 1024 * 1024;
        let _ = self.stream.shutdown(Shutdown::Write);
        let deadline = Instant::now() + LINGER;
        let mut drained = 0usize;
        let mut chunk = [0u8; READ_SIZE];
        while drained < MAX_DRAIN && keep_going() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => drained += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Reads once from the socket into the buffer; `Ok(0)` at the end of the stream.
    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; READ_SIZE];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and discards whatever the peer sends until it closes, the
    /// server stops or `keep_going` says no (used by `Reply::hang`).
    pub(super) fn wait_for_close(&mut self, keep_going: impl Fn() -> bool) {
        let mut chunk = [0u8; READ_SIZE];
        while keep_going() {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    }

    /// Reads the next request head. `Ok(None)` when the peer closed (or went
    /// idle) between requests.
    pub(super) fn read_head(&mut self) -> Result<Option<Head>, ReadError> {
        // Bytes already searched for the end of the head (so a trickled head is not rescanned).
        let mut scanned = 0usize;
        loop {
            // RFC 9112 2.2: ignore empty lines before a request line.
            let blank = self
                .buf
                .iter()
                .take_while(|b| **b == b'\r' || **b == b'\n')
                .count();
            if blank > 0 {
                self.buf.drain(..blank);
                scanned = 0;
            }
            if let Some((head_len, total)) = find_head_end(&self.buf, scanned) {
                if head_len > MAX_HEAD {
                    return Err(ReadError::TooLarge);
                }
                let head = parse_head(&self.buf[..head_len]);
                self.buf.drain(..total);
                return head.map(Some);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(ReadError::TooLarge);
            }
            scanned = self.buf.len();
            match self.fill() {
                Ok(0) if self.buf.is_empty() => return Ok(None),
                Ok(0) => return Err(ReadError::Closed),
                Ok(_) => {}
                Err(_) if self.buf.is_empty() => return Ok(None),
                Err(_) => return Err(ReadError::Closed),
            }
        }
    }

    /// Reads a body of exactly `len` bytes (`len` is already checked against the bound).
    pub(super) fn read_exact_body(&mut self, len: usize) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() < len {
            match self.fill() {
                Ok(0) | Err(_) => return Err(ReadError::Closed),
                Ok(_) => {}
            }
        }
        let rest = self.buf.split_off(len);
        Ok(std::mem::replace(&mut self.buf, rest))
    }

    /// Reads one line ending in LF (CR before it dropped), at most `max` bytes.
    fn read_line(&mut self, max: usize) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.buf.len() > max {
                return Err(ReadError::Bad("line too long in chunked body"));
            }
            match self.fill() {
                Ok(0) | Err(_) => return Err(ReadError::Closed),
                Ok(_) => {}
            }
        }
    }

    /// Reads a `transfer-encoding: chunked` body of at most `limit` bytes,
    /// trailers read and dropped.
    pub(super) fn read_chunked(&mut self, limit: usize) -> Result<Vec<u8>, ReadError> {
        let mut body = Vec::new();
        loop {
            let line = self.read_line(MAX_CHUNK_LINE)?;
            let size = parse_chunk_size(&line)?;
            if size == 0 {
                break;
            }
            if size > limit.saturating_sub(body.len()) {
                return Err(ReadError::TooLarge);
            }
            let data = self.read_exact_body(size)?;
            body.extend_from_slice(&data);
            if !self.read_line(MAX_CHUNK_LINE)?.is_empty() {
                return Err(ReadError::Bad("missing CRLF after chunk data"));
            }
        }
        // Trailer section: header lines up to an empty line, bounded like a head.
        let mut trailer_bytes = 0usize;
        loop {
            let line = self.read_line(MAX_HEAD)?;
            if line.is_empty() {
                return Ok(body);
            }
            trailer_bytes += line.len() + 2;
            if trailer_bytes > MAX_HEAD {
                return Err(ReadError::TooLarge);
            }
        }
    }
}

/// Finds the blank line ending a head, looking at LFs from about `from` on:
/// `(head length, bytes to consume)`.
fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let start = from.saturating_sub(3);
    buf.iter().enumerate().skip(start).find_map(|(i, b)| {
        if *b != b'\n' {
            return None;
        }
        let rest = &buf[i + 1..];
        if rest.starts_with(b"\n") {
            Some((i + 1, i + 2))
        } else if rest.starts_with(b"\r\n") {
            Some((i + 1, i + 3))
        } else {
            None
        }
    })
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a request head (without the final blank line).
pub(super) fn parse_head(raw: &[u8]) -> Result<Head, ReadError> {
    let mut lines = raw
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next().ok_or(ReadError::Bad("empty request"))?;
    let mut parts = request_line.split(|b| *b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Bad("malformed request line"));
    };
    if method.is_empty() || !method.iter().all(|b| is_tchar(*b)) {
        return Err(ReadError::Bad("malformed method"));
    }
    if target.is_empty() || !target.iter().all(|b| b.is_ascii_graphic()) {
        return Err(ReadError::Bad("malformed request target"));
    }
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        _ => return Err(ReadError::Bad("unsupported HTTP version")),
    };
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or(ReadError::Bad("header line without a colon"))?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|b| is_tchar(*b)) {
            return Err(ReadError::Bad("malformed header name"));
        }
        let value = String::from_utf8_lossy(&line[colon + 1..]);
        headers.push((
            String::from_utf8_lossy(name).into_owned(),
            value.trim_matches([' ', '\t']).to_owned(),
        ));
    }
    Ok(Head {
        method: String::from_utf8_lossy(method).into_owned(),
        target: String::from_utf8_lossy(target).into_owned(),
        http10,
        headers,
    })
}

/// Parses a chunk-size line (`HEX[;ext]`).
fn parse_chunk_size(line: &[u8]) -> Result<usize, ReadError> {
    let hex = line.split(|b| *b == b';').next().unwrap_or_default();
    let hex = std::str::from_utf8(hex)
        .map_err(|_| ReadError::Bad("malformed chunk size"))?
        .trim_matches([' ', '\t']);
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ReadError::Bad("malformed chunk size"));
    }
    let size = u64::from_str_radix(hex, 16).map_err(|_| ReadError::Bad("malformed chunk size"))?;
    // Over the address space means over any bound: report it as too large.
    Ok(usize::try_from(size).unwrap_or(usize::MAX))
}

/// The reason phrase for a status code (empty when unknown, which HTTP allows).
pub(super) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        413 => "Content Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Content",
        425 => "Too Early",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
