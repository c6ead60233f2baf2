//! Tests of the mock server, over raw `TcpStream`s (std only).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use super::{MockServer, Reply};

// The Files and Batch APIs.
mod files;

/// How long a test client waits for a byte before failing.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// A response as read by the test client.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The body's chunks as received, for chunked responses.
    chunks: Vec<Vec<u8>>,
    /// Whether the body was complete (all of `content-length`, or the 0-chunk).
    complete: bool,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// The `data:` payloads of an SSE body.
    fn sse_data(&self) -> Vec<String> {
        self.text()
            .split("\n\n")
            .filter_map(|event| event.strip_prefix("data: "))
            .map(str::to_owned)
            .collect()
    }

    /// The JSON chunks of an SSE body, checking it ends with `[DONE]`.
    fn sse_json(&self) -> Vec<Value> {
        let mut data = self.sse_data();
        assert_eq!(data.pop().as_deref(), Some("[DONE]"), "{}", self.text());
        data.iter()
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }
}

/// A minimal HTTP/1.1 client on one connection.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn connect(server: &MockServer) -> Client {
        let stream = TcpStream::connect(server.addr()).unwrap();
        stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn send(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let mut head = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.send_raw(&bytes);
    }

    fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.send(method, path, headers, body);
        self.response().unwrap()
    }

    /// Reads more bytes; `false` at the end of the stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk).unwrap();
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// Reads a line (CRLF removed); `None` at the end of the stream.
    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).take(pos).collect();
                return Some(String::from_utf8(line).unwrap());
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Reads `n` bytes, or fewer at the end of the stream.
    fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n && self.fill() {}
        let n = n.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    /// Reads a status line and headers; `None` if the stream ends first.
    fn head(&mut self) -> Option<(u16, Vec<(String, String)>)> {
        let status_line = self.line()?;
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let line = self.line()?;
            if line.is_empty() {
                return Some((status, headers));
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_owned(), value.trim().to_owned()));
        }
    }

    /// Reads one final response; `Err` if the stream ends before a status line.
    fn response(&mut self) -> Result<Response, &'static str> {
        let (status, headers) = self.head().ok_or("connection closed before a response")?;
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
            chunks: Vec::new(),
            complete: true,
        };
        if response
            .header("transfer-encoding")
            .is_some_and(|te| te.contains("chunked"))
        {
            loop {
                let Some(size_line) = self.line() else {
                    response.complete = false;
                    break;
                };
                let size = usize::from_str_radix(&size_line, 16).unwrap();
                if size == 0 {
                    assert_eq!(self.line().as_deref(), Some(""));
                    break;
                }
                let data = self.take(size);
                response.body.extend_from_slice(&data);
                response.chunks.push(data);
                assert_eq!(self.line().as_deref(), Some(""));
            }
        } else if let Some(len) = response.header("content-length") {
            let len: usize = len.parse().unwrap();
            response.body = self.take(len);
            response.complete = response.body.len() == len;
        } else {
            while self.fill() {}
            response.body = std::mem::take(&mut self.buf);
        }
        Ok(response)
    }

    /// Whether the server closed the connection (nothing more to read).
    fn closed(&mut self) -> bool {
        self.buf.is_empty() && !self.fill()
    }
}

fn get(server: &MockServer, path: &str) -> Response {
    Client::connect(server).request("GET", path, &[], b"")
}

fn post(server: &MockServer, path: &str, body: &Value) -> Response {
    Client::connect(server).request(
        "POST",
        path,
        &[("content-type", "application/json")],
        body.to_string().as_bytes(),
    )
}

/// Waits (bounded) until the server has recorded `n` requests.
fn wait_for_requests(server: &MockServer, n: usize) {
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    while server.request_count() < n {
        assert!(Instant::now() < deadline, "request not recorded");
        thread::sleep(Duration::from_millis(5));
    }
}

// ------------------------------------------------------------ connection

#[test]
fn handles_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MockServer>();
    assert_send_sync::<Reply>();
    assert_send_sync::<super::RecordedRequest>();
    let server = MockServer::start().unwrap();
    assert!(format!("{server:?}").contains("127.0.0.1"));
}

#[test]
fn urls_point_at_the_listener() {
    let server = MockServer::start().unwrap();
    let port = server.addr().port();
    assert_eq!(server.root_url(), format!("http://127.0.0.1:{port}"));
    assert_eq!(server.url(), format!("http://127.0.0.1:{port}/v1"));
    assert!(server.addr().ip().is_loopback());
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    for _ in 0..3 {
        let response = client.request("GET", "/v1/models", &[], b"");
        assert_eq!(response.status, 200);
        assert_eq!(response.header("connection"), None);
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(server.request_count(), 3);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = MockServer::start().unwrap();
    server.enqueue_all([Reply::json(200, "1"), Reply::json(200, "2")]);
    let mut client = Client::connect(&server);
    client.send_raw(b"GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\n\r\n");
    assert_eq!(client.response().unwrap().body, b"1");
    assert_eq!(client.response().unwrap().body, b"2");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/a", "/b"]);
}

#[test]
fn client_connection_close_is_honoured() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    let response = client.request("GET", "/health", &[("connection", "close")], b"");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.closed());
}

#[test]
fn http10_closes_unless_keep_alive() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    client.send_raw(b"GET /version HTTP/1.0\r\n\r\n");
    let response = client.response().unwrap();
    assert_eq!(response.json(), json!({"version": "0.0.0-mock"}));
    assert!(client.closed());

    let mut client = Client::connect(&server);
    client.send_raw(b"GET /version HTTP/1.0\r\nconnection: keep-alive\r\n\r\n");
    assert_eq!(
        client.response().unwrap().header("connection"),
        Some("keep-alive")
    );
    client.send_raw(b"GET /version HTTP/1.0\r\n\r\n");
    assert_eq!(client.response().unwrap().status, 200);
}

#[test]
fn drop_closes_idle_connections_promptly() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    assert_eq!(client.request("GET", "/health", &[], b"").status, 200);
    let start = Instant::now();
    drop(server);
    assert!(client.closed());
    assert!(start.elapsed() < Duration::from_secs(1));
}

// --------------------------------------------------------------- scripts

#[test]
fn scripted_replies_are_fifo_then_defaults() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::json(201, r#"{"first":true}"#));
    server.enqueue_all([
        Reply::error(503, "busy"),
        Reply::text(200, "text/plain", "third"),
    ]);
    assert_eq!(server.pending(), 3);
    let mut client = Client::connect(&server);

    let first = client.request("POST", "/v1/chat/completions", &[], b"{}");
    assert_eq!(first.status, 201);
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.json(), json!({"first": true}));

    let second = client.request("GET", "/anything", &[], b"");
    assert_eq!(second.status, 503);
    assert_eq!(
        second.json(),
        json!({"error": {"message": "busy", "type": "ServiceUnavailableError", "param": null, "code": 503}})
    );

    let third = client.request("GET", "/v1/models", &[], b"");
    assert_eq!(third.text(), "third");
    assert_eq!(third.header("content-type"), Some("text/plain"));

    // The script is used up: the built-in answers follow.
    let fourth = client.request("GET", "/v1/models", &[], b"");
    assert_eq!(fourth.json()["data"][0]["id"], "mock-model");
    assert_eq!(server.pending(), 0);
    assert_eq!(server.request_count(), 4);
}

#[test]
fn error_types_follow_the_status() {
    let server = MockServer::start().unwrap();
    server.enqueue_all([
        Reply::error(400, "bad"),
        Reply::error(401, "who"),
        Reply::error(404, "nope"),
        Reply::error(429, "slow"),
        Reply::error(500, "oops"),
        Reply::openai_error(429, "insufficient_quota", "insufficient_quota", "quota"),
    ]);
    let mut client = Client::connect(&server);
    let types: Vec<Value> = (0..5)
        .map(|_| client.request("GET", "/", &[], b"").json()["error"]["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            "BadRequestError",
            "AuthenticationError",
            "NotFoundError",
            "RateLimitError",
            "InternalServerError"
        ]
    );
    let openai = client.request("GET", "/", &[], b"");
    assert_eq!(openai.status, 429);
    assert_eq!(
        openai.json(),
        json!({"error": {"message": "quota", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}})
    );
}

#[test]
fn headers_redirect_and_empty_replies() {
    let server = MockServer::start().unwrap();
    server.enqueue_all([
        Reply::error(429, "slow")
            .header("Retry-After", "2")
            .header("retry-after", "3"),
        Reply::redirect(307, "/v1/models"),
        Reply::empty(204),
        Reply::json(200, "{}").header("content-type", "application/problem+json"),
    ]);
    let mut client = Client::connect(&server);
    let limited = client.request("GET", "/", &[], b"");
    assert_eq!(limited.header("retry-after"), Some("3"));
    assert_eq!(
        limited
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("retry-after"))
            .count(),
        1
    );
    let redirect = client.request("GET", "/", &[], b"");
    assert_eq!(redirect.status, 307);
    assert_eq!(redirect.header("location"), Some("/v1/models"));
    assert_eq!(redirect.header("content-length"), Some("0"));
    let empty = client.request("GET", "/", &[], b"");
    assert_eq!((empty.status, empty.body.len()), (204, 0));
    let typed = client.request("GET", "/", &[], b"");
    assert_eq!(
        typed.header("content-type"),
        Some("application/problem+json")
    );
}

#[test]
fn requests_are_recorded_with_headers_and_body() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    client.request(
        "POST",
        "/v1/embeddings?x=1",
        &[("Authorization", "Bearer sk-test"), ("X-Custom", "v")],
        br#"{"model":"mock-model","input":"hi"}"#,
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/embeddings?x=1");
    assert_eq!(request.path_only(), "/v1/embeddings");
    assert_eq!(request.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(request.header("x-custom"), Some("v"));
    assert_eq!(request.header("missing"), None);
    assert!(request.headers.iter().any(|(n, _)| n == "X-Custom"));
    assert_eq!(
        request.json(),
        Some(json!({"model": "mock-model", "input": "hi"}))
    );
}

#[test]
fn chunked_request_bodies_are_read() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    client.send_raw(
        b"POST /tokenize HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n\
          7\r\n{\"promp\r\n10;ext=1\r\nt\":\"a b a\"}     \r\n0\r\nx-trailer: 1\r\n\r\n",
    );
    let response = client.response().unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["count"], 3);
    assert_eq!(server.requests()[0].body, br#"{"prompt":"a b a"}     "#);
    // The connection is still usable.
    assert_eq!(client.request("GET", "/health", &[], b"").status, 200);
}

#[test]
fn expect_100_continue_is_answered_before_the_body() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    let body = br#"{"prompt":"one two"}"#;
    client.send_raw(
        format!(
            "POST /tokenize HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    let (status, _) = client.head().unwrap();
    assert_eq!(status, 100);
    client.send_raw(body);
    let response = client.response().unwrap();
    assert_eq!(response.json()["count"], 2);
}

// ---------------------------------------------------------------- faults

#[test]
fn reset_closes_before_any_header() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::reset());
    let mut client = Client::connect(&server);
    client.send("POST", "/v1/chat/completions", &[], b"{}");
    assert!(client.response().is_err());
    assert_eq!(server.requests()[0].body, b"{}");
    // The next connection gets the built-in answer.
    assert_eq!(get(&server, "/health").status, 200);
    assert_eq!(server.connections(), 2);
}

#[test]
fn hang_is_ended_by_drop() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::hang());
    let mut client = Client::connect(&server);
    client.send("GET", "/v1/models", &[], b"");
    wait_for_requests(&server, 1);
    let dropper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        drop(server);
        start.elapsed()
    });
    let start = Instant::now();
    assert!(client.response().is_err());
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(150), "{waited:?}");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    assert!(dropper.join().unwrap() < Duration::from_secs(1));
}

#[test]
fn hang_ends_when_the_client_leaves() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::hang());
    let mut client = Client::connect(&server);
    client.send("GET", "/v1/models", &[], b"");
    wait_for_requests(&server, 1);
    drop(client);
    // The server still serves others while and after that.
    assert_eq!(get(&server, "/health").status, 200);
}

#[test]
fn delay_holds_the_status_line() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::json(200, "{}").delay(Duration::from_millis(300)));
    let start = Instant::now();
    let response = get(&server, "/");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.body, b"{}");
}

#[test]
fn delay_is_cut_short_by_drop() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::json(200, "{}").delay(Duration::from_secs(60)));
    let mut client = Client::connect(&server);
    client.send("GET", "/", &[], b"");
    wait_for_requests(&server, 1);
    let start = Instant::now();
    drop(server);
    assert!(client.response().is_err());
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn latency_delays_every_answer() {
    let server = MockServer::start().unwrap();
    server.set_latency(Duration::from_millis(200));
    let start = Instant::now();
    assert_eq!(get(&server, "/health").status, 200);
    assert!(start.elapsed() >= Duration::from_millis(200));
    server.enqueue(Reply::json(201, "{}"));
    let start = Instant::now();
    assert_eq!(get(&server, "/").status, 201);
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[test]
fn latency_waits_per_request_and_ends_with_the_server() {
    let server = MockServer::start().unwrap();
    // Longer than an `Instant` can count: no overflow, it lasts until the drop.
    server.set_latency(Duration::MAX);
    let mut waiting = Client::connect(&server);
    waiting.send("GET", "/health", &[], b"");
    wait_for_requests(&server, 1);
    // The first request's wait holds up no other connection.
    server.set_latency(Duration::ZERO);
    assert_eq!(get(&server, "/health").status, 200);
    let start = Instant::now();
    drop(server);
    assert!(waiting.response().is_err());
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn trickle_sends_one_byte_at_a_time() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::text(200, "text/plain", "abcdef").trickle(Duration::from_millis(40)));
    let mut client = Client::connect(&server);
    client.send("GET", "/", &[], b"");
    let (status, _) = client.head().unwrap();
    assert_eq!(status, 200);
    let start = Instant::now();
    let body = client.take(6);
    assert_eq!(body, b"abcdef");
    assert!(start.elapsed() >= Duration::from_millis(150));

    // A trickled stream sends one-byte chunks.
    server.enqueue(Reply::sse().event("x").trickle(Duration::from_millis(1)));
    client.send("GET", "/", &[], b"");
    let response = client.response().unwrap();
    assert_eq!(response.text(), "data: x\n\n");
    assert!(response.chunks.iter().all(|c| c.len() == 1));
    assert_eq!(response.chunks.len(), 9);
}

#[test]
fn cut_json_sends_half_the_body() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::json(200, "0123456789").cut());
    let mut client = Client::connect(&server);
    client.send("GET", "/", &[], b"");
    let response = client.response().unwrap();
    assert_eq!(response.header("content-length"), Some("10"));
    assert_eq!(response.body, b"01234");
    assert!(!response.complete);
}

#[test]
fn cut_sse_ends_without_the_last_chunk() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::sse().event("one").event("two").cut());
    let mut client = Client::connect(&server);
    client.send("GET", "/", &[], b"");
    let response = client.response().unwrap();
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(response.sse_data(), ["one", "two"]);
    assert!(!response.complete);
}

#[test]
fn cut_default_answer_breaks_the_built_in_stream() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::default_answer().cut());
    let request = json!({"model": "mock-model", "messages": [{"role": "user", "content": "hi"}], "stream": true});
    let response = post(&server, "/v1/chat/completions", &request);
    assert!(!response.complete);
    assert_eq!(
        response.sse_data().last().map(String::as_str),
        Some("[DONE]")
    );
}

#[test]
fn raw_parts_are_sent_byte_exact_one_write_each() {
    let server = MockServer::start().unwrap();
    let euro = "€".as_bytes();
    server.enqueue(
        Reply::sse()
            .raw("data: {\"a\":1}\r\n\r\n")
            .raw(": keep-alive\n\n")
            .raw([b"data: ".as_slice(), &euro[..1]].concat())
            .raw([&euro[1..], b"\n\n".as_slice()].concat())
            .raw(vec![0xff, b'\n'])
            .done(),
    );
    let response = get(&server, "/");
    assert!(response.complete);
    assert_eq!(response.chunks.len(), 6);
    assert_eq!(response.chunks[0], b"data: {\"a\":1}\r\n\r\n");
    assert_eq!(
        response.chunks[2],
        [b"data: ".as_slice(), &euro[..1]].concat()
    );
    assert_eq!(response.chunks[4], [0xff, b'\n']);
    assert_eq!(response.chunks[5], b"data: [DONE]\n\n");
}

#[test]
fn pause_spaces_the_writes() {
    let server = MockServer::start().unwrap();
    server.enqueue(
        Reply::sse()
            .event("a")
            .pause(Duration::from_millis(300))
            .event("b"),
    );
    let start = Instant::now();
    let response = get(&server, "/");
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert_eq!(response.sse_data(), ["a", "b"]);

    // On a content-length body too.
    server.enqueue(
        Reply::json(200, "{\"a\":")
            .pause(Duration::from_millis(100))
            .raw("1}"),
    );
    let response = get(&server, "/");
    assert_eq!(response.header("content-length"), Some("7"));
    assert_eq!(response.json(), json!({"a": 1}));
}

#[test]
fn close_announces_and_closes() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::json(200, "{}").close());
    let mut client = Client::connect(&server);
    let response = client.request("GET", "/", &[], b"");
    assert_eq!(response.header("connection"), Some("close"));
    assert!(client.closed());
    assert_eq!(get(&server, "/health").status, 200);
    assert_eq!(server.connections(), 2);
}

#[test]
fn disconnect_closes_without_announcing() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::json(200, "{}").disconnect());
    let mut client = Client::connect(&server);
    let response = client.request("GET", "/", &[], b"");
    assert_eq!(response.header("connection"), None);
    assert!(client.closed());
}

#[test]
fn default_answer_takes_modifiers() {
    let server = MockServer::start().unwrap();
    server.enqueue_all([
        Reply::error(503, "busy"),
        Reply::default_answer()
            .delay(Duration::from_millis(100))
            .header("x-extra", "1")
            .close(),
    ]);
    let mut client = Client::connect(&server);
    assert_eq!(client.request("GET", "/v1/models", &[], b"").status, 503);
    let start = Instant::now();
    let response = client.request("GET", "/v1/models", &[], b"");
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(response.json()["object"], "list");
    assert_eq!(response.header("x-extra"), Some("1"));
    assert!(response.header("x-request-id").is_some());
    assert!(client.closed());
}

#[test]
fn lying_content_length_is_sent_as_scripted() {
    let server = MockServer::start().unwrap();
    server.enqueue(
        Reply::json(200, "{}")
            .header("content-length", "10")
            .disconnect(),
    );
    let response = get(&server, "/");
    assert_eq!(response.body, b"{}");
    assert!(!response.complete);
}

// --------------------------------------------------------------- garbage

#[test]
fn garbage_gets_400_and_the_server_survives() {
    let server = MockServer::start().unwrap();
    let garbage: [&[u8]; 9] = [
        b"\x00\x01\x02\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\ncontent-length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"G\xffT / HTTP/1.1\r\n\r\n",
    ];
    for bytes in garbage {
        let mut client = Client::connect(&server);
        client.send_raw(bytes);
        let response = client.response().unwrap();
        assert_eq!(response.status, 400, "{:?}", String::from_utf8_lossy(bytes));
        assert_eq!(response.header("connection"), Some("close"));
        assert!(client.closed());
    }
    assert_eq!(server.request_count(), 0);
    assert_eq!(get(&server, "/health").status, 200);
}

#[test]
fn half_requests_are_dropped_quietly() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    client.send_raw(b"POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\nabc");
    client.stream.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(client.response().is_err());
    assert_eq!(server.request_count(), 0);
    assert_eq!(get(&server, "/health").status, 200);
}

#[test]
fn oversized_heads_and_bodies_are_rejected() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    let long = format!("GET / HTTP/1.1\r\nx-big: {}\r\n\r\n", "a".repeat(70 * 1024));
    // The server may answer before reading all of it.
    let _ = client.stream.write_all(long.as_bytes());
    assert_eq!(client.response().unwrap().status, 431);

    server.enqueue(Reply::json(200, "{}"));
    let mut client = Client::connect(&server);
    client.send_raw(b"POST /v1/embeddings HTTP/1.1\r\ncontent-length: 100000000\r\n\r\n");
    let response = client.response().unwrap();
    assert_eq!(response.status, 413);
    assert_eq!(response.json()["error"]["code"], 413);
    assert!(client.closed());
    // Recorded, without its body, and the script was not used.
    assert_eq!(server.requests()[0].path, "/v1/embeddings");
    assert_eq!(server.pending(), 1);
}

// ---------------------------------------------------------- built-in API

#[test]
fn models_list_and_unknown_routes() {
    let server = MockServer::start().unwrap();
    let list = get(&server, "/v1/models");
    assert_eq!(list.header("content-type"), Some("application/json"));
    let body = list.json();
    assert_eq!(body["object"], "list");
    let model = &body["data"][0];
    assert_eq!(model["id"], "mock-model");
    assert_eq!(model["object"], "model");
    assert_eq!(model["owned_by"], "vllm");
    assert_eq!(model["root"], "mock-model");
    assert_eq!(model["parent"], Value::Null);
    assert_eq!(model["max_model_len"], 2048);
    assert!(model["created"].is_u64());

    server.set_models(["a", "b"]);
    let ids: Vec<Value> = get(&server, "/v1/models").json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, ["a", "b"]);

    for path in ["/v1/models/a", "/nope", "/v1"] {
        let response = get(&server, path);
        assert_eq!(response.status, 404);
        assert_eq!(response.json(), json!({"detail": "Not Found"}));
    }
    let wrong = get(&server, "/v1/chat/completions");
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.json(), json!({"detail": "Method Not Allowed"}));
    assert_eq!(wrong.header("allow"), Some("POST"));
}

#[test]
fn health_version_tokenize_detokenize() {
    let server = MockServer::start().unwrap();
    let health = get(&server, "/health");
    assert_eq!((health.status, health.body.len()), (200, 0));
    assert_eq!(
        get(&server, "/version").json(),
        json!({"version": "0.0.0-mock"})
    );

    let tokens = post(
        &server,
        "/tokenize",
        &json!({"model": "mock-model", "prompt": "to be or not to be"}),
    );
    let tokens = tokens.json();
    assert_eq!(tokens["count"], 6);
    assert_eq!(tokens["max_model_len"], 2048);
    let ids = tokens["tokens"].as_array().unwrap();
    assert_eq!(ids[0], ids[4]);
    assert_ne!(ids[0], ids[1]);

    let text = post(
        &server,
        "/detokenize",
        &json!({"model": "mock-model", "tokens": ids}),
    );
    assert_eq!(text.json(), json!({"prompt": "to be or not to be"}));

    let messages = post(
        &server,
        "/tokenize",
        &json!({"messages": [{"role": "user", "content": "a b"}]}),
    );
    assert_eq!(messages.json()["count"], 2);
    assert_eq!(
        post(&server, "/detokenize", &json!({})).json()["error"]["param"],
        "tokens"
    );
}

#[test]
fn request_ids_are_echoed_or_generated() {
    let server = MockServer::start().unwrap();
    let mut client = Client::connect(&server);
    let echoed = client.request("GET", "/v1/models", &[("X-Request-Id", "abc-1")], b"");
    assert_eq!(echoed.header("x-request-id"), Some("abc-1"));
    let generated = client.request("GET", "/v1/models", &[], b"");
    assert!(
        generated
            .header("x-request-id")
            .unwrap()
            .starts_with("mock-req-")
    );
}

fn chat_request(extra: Value) -> Value {
    let mut request = json!({
        "model": "mock-model",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is   Rust?"},
            {"role": "assistant", "content": "A language."},
            {"role": "user", "content": [{"type": "text", "text": "Tell me"}, {"type": "text", "text": "more"}]},
        ],
    });
    for (key, value) in extra.as_object().unwrap() {
        request[key] = value.clone();
    }
    request
}

#[test]
fn chat_completion_answers_the_last_user_message() {
    let server = MockServer::start().unwrap();
    let response = post(&server, "/v1/chat/completions", &chat_request(json!({})));
    assert_eq!(response.status, 200);
    let body = response.json();
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-mock-"));
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "mock-model");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Mock reply to: Tell me more");
    assert_eq!(choice["message"]["tool_calls"], json!([]));
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["logprobs"], Value::Null);
    // 2 + 3 + 2 + 3 words in the messages; 6 in the reply.
    assert_eq!(body["usage"]["prompt_tokens"], 10);
    assert_eq!(body["usage"]["completion_tokens"], 6);
    assert_eq!(body["usage"]["total_tokens"], 16);
}

#[test]
fn chat_max_tokens_and_n() {
    let server = MockServer::start().unwrap();
    let body = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"max_tokens": 4, "n": 3})),
    )
    .json();
    let choices = body["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 3);
    for (i, choice) in choices.iter().enumerate() {
        assert_eq!(choice["index"], i);
        assert_eq!(choice["message"]["content"], "Mock reply to: Tell");
        assert_eq!(choice["finish_reason"], "length");
    }
    assert_eq!(body["usage"]["completion_tokens"], 12);

    // max_completion_tokens wins over max_tokens.
    let body = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"max_tokens": 1, "max_completion_tokens": 6})),
    )
    .json();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[test]
fn chat_stream_concatenates_to_the_plain_answer() {
    let server = MockServer::start().unwrap();
    for extra in [json!({}), json!({"max_tokens": 5}), json!({"n": 2})] {
        let plain = post(
            &server,
            "/v1/chat/completions",
            &chat_request(extra.clone()),
        )
        .json();
        let mut stream_request = chat_request(extra);
        stream_request["stream"] = json!(true);
        stream_request["stream_options"] = json!({"include_usage": true});
        let response = post(&server, "/v1/chat/completions", &stream_request);
        assert_eq!(
            response.header("content-type"),
            Some("text/event-stream; charset=utf-8")
        );
        assert_eq!(response.header("transfer-encoding"), Some("chunked"));
        let chunks = response.sse_json();
        let n = plain["choices"].as_array().unwrap().len();
        for i in 0..n {
            let mine: Vec<&Value> = chunks
                .iter()
                .flat_map(|c| c["choices"].as_array().unwrap())
                .filter(|c| c["index"] == i)
                .collect();
            assert_eq!(
                mine[0]["delta"],
                json!({"role": "assistant", "content": ""})
            );
            let last = mine.last().unwrap();
            assert_eq!(last["delta"], json!({}));
            assert_eq!(last["finish_reason"], plain["choices"][i]["finish_reason"]);
            let content: String = mine
                .iter()
                .filter_map(|c| c["delta"]["content"].as_str())
                .collect();
            assert_eq!(content, plain["choices"][i]["message"]["content"]);
            // Streamed tokens are words with their trailing space.
            assert_eq!(mine[1]["delta"]["content"], "Mock ");
        }
        for chunk in &chunks {
            assert_eq!(chunk["object"], "chat.completion.chunk");
            assert_eq!(chunk["id"], chunks[0]["id"]);
        }
        let usage_chunk = chunks.last().unwrap();
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(usage_chunk["usage"], plain["usage"]);
    }
}

#[test]
fn chat_stream_without_usage_has_no_usage_chunk() {
    let server = MockServer::start().unwrap();
    let response = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"stream": true})),
    );
    let chunks = response.sse_json();
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert!(
        chunks
            .iter()
            .all(|c| c["choices"].as_array().unwrap().len() == 1)
    );
}

#[test]
fn chat_tool_calls_plain_and_streamed() {
    let server = MockServer::start().unwrap();
    let tools =
        json!([{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]);
    for choice in [
        json!({"type": "function", "function": {"name": "get_weather"}}),
        json!("required"),
    ] {
        let extra = json!({"tools": tools, "tool_choice": choice});
        let body = post(
            &server,
            "/v1/chat/completions",
            &chat_request(extra.clone()),
        )
        .json();
        let choice = &body["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(choice["message"]["content"], Value::Null);
        let call = &choice["message"]["tool_calls"][0];
        assert!(call["id"].as_str().unwrap().starts_with("chatcmpl-tool-"));
        assert_eq!(call["type"], "function");
        assert_eq!(
            call["function"],
            json!({"name": "get_weather", "arguments": "{}"})
        );

        let mut streamed = chat_request(extra);
        streamed["stream"] = json!(true);
        let chunks = post(&server, "/v1/chat/completions", &streamed).sse_json();
        let deltas: Vec<&Value> = chunks
            .iter()
            .flat_map(|c| c["choices"][0]["delta"]["tool_calls"].as_array())
            .flatten()
            .collect();
        assert_eq!(deltas[0]["index"], 0);
        assert_eq!(deltas[0]["type"], "function");
        assert_eq!(deltas[0]["function"]["name"], "get_weather");
        assert!(deltas[0]["id"].is_string());
        let arguments: String = deltas
            .iter()
            .filter_map(|d| d["function"]["arguments"].as_str())
            .collect();
        assert_eq!(arguments, "{}");
        assert!(deltas[1..].iter().all(|d| d["index"] == 0));
        assert_eq!(
            chunks.last().unwrap()["choices"][0]["finish_reason"],
            "tool_calls"
        );
    }
    // "auto" answers in text.
    let body = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"tools": tools, "tool_choice": "auto"})),
    )
    .json();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[test]
fn chat_logprobs() {
    let server = MockServer::start().unwrap();
    let body = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"logprobs": true, "top_logprobs": 2})),
    )
    .json();
    let choice = &body["choices"][0];
    let entries = choice["logprobs"]["content"].as_array().unwrap();
    let joined: String = entries
        .iter()
        .map(|e| e["token"].as_str().unwrap())
        .collect();
    assert_eq!(joined, choice["message"]["content"]);
    for entry in entries {
        let lp = entry["logprob"].as_f64().unwrap();
        assert!(lp < 0.0);
        let top = entry["top_logprobs"].as_array().unwrap();
        assert_eq!(top.len(), 2);
        assert_eq!(top[0]["token"], entry["token"]);
        assert_eq!(
            entry["bytes"],
            json!(entry["token"].as_str().unwrap().as_bytes())
        );
    }
    let streamed = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"logprobs": true, "stream": true})),
    )
    .sse_json();
    let with_logprobs = streamed
        .iter()
        .filter(|c| c["choices"][0]["logprobs"]["content"].is_array())
        .count();
    assert_eq!(with_logprobs, entries.len());
}

#[test]
fn chat_errors() {
    let server = MockServer::start().unwrap();
    let unknown = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"model": "gpt-x"})),
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.json(),
        json!({"error": {"message": "The model `gpt-x` does not exist.", "type": "NotFoundError", "param": "model", "code": 404}})
    );

    let no_model = post(&server, "/v1/chat/completions", &json!({"messages": []}));
    assert_eq!(no_model.status, 400);
    assert_eq!(no_model.json()["error"]["param"], "model");
    assert_eq!(no_model.json()["error"]["type"], "BadRequestError");
    assert_eq!(no_model.json()["error"]["code"], 400);

    let no_messages = post(
        &server,
        "/v1/chat/completions",
        &json!({"model": "mock-model"}),
    );
    assert_eq!(no_messages.status, 400);
    assert_eq!(no_messages.json()["error"]["param"], "messages");

    let invalid =
        Client::connect(&server).request("POST", "/v1/chat/completions", &[], b"{not json");
    assert_eq!(invalid.status, 400);
    assert_eq!(invalid.json()["error"]["type"], "BadRequestError");
    assert_eq!(invalid.json()["error"]["param"], Value::Null);

    let bad_n = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"n": 0})),
    );
    assert_eq!(bad_n.json()["error"]["param"], "n");

    let long = "word ".repeat(2048);
    let too_long = post(
        &server,
        "/v1/chat/completions",
        &json!({"model": "mock-model", "messages": [{"role": "user", "content": long}]}),
    );
    assert_eq!(too_long.status, 400);
    assert!(
        too_long.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum context length is 2048 tokens")
    );
    let too_much = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"max_tokens": 2040})),
    );
    assert_eq!(too_much.status, 400);
}

#[test]
fn completions_prompts_echo_and_logprobs() {
    let server = MockServer::start().unwrap();
    let body = post(
        &server,
        "/v1/completions",
        &json!({"model": "mock-model", "prompt": "Once upon"}),
    )
    .json();
    assert!(body["id"].as_str().unwrap().starts_with("cmpl-mock-"));
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["text"], "Mock reply to: Once upon");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7, "prompt_tokens_details": null})
    );

    let body = post(
        &server,
        "/v1/completions",
        &json!({"model": "mock-model", "prompt": ["a", "b c"], "n": 2, "max_tokens": 4}),
    )
    .json();
    let texts: Vec<&str> = body["choices"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            assert_eq!(c["index"], i);
            c["text"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        texts,
        [
            "Mock reply to: a",
            "Mock reply to: a",
            "Mock reply to: b",
            "Mock reply to: b"
        ]
    );
    assert_eq!(body["choices"][3]["finish_reason"], "length");
    assert_eq!(body["usage"]["prompt_tokens"], 3);

    // Token ids from /tokenize come back as words.
    let ids =
        post(&server, "/tokenize", &json!({"prompt": "hello world"})).json()["tokens"].clone();
    let body = post(
        &server,
        "/v1/completions",
        &json!({"model": "mock-model", "prompt": ids}),
    )
    .json();
    assert_eq!(body["choices"][0]["text"], "Mock reply to: hello world");
    assert_eq!(body["usage"]["prompt_tokens"], 2);
    let body = post(
        &server,
        "/v1/completions",
        &json!({"model": "mock-model", "prompt": [ids, [1, 2, 3]]}),
    )
    .json();
    assert_eq!(body["choices"].as_array().unwrap().len(), 2);
    assert_eq!(body["usage"]["prompt_tokens"], 5);

    let body = post(
        &server,
        "/v1/completions",
        &json!({"model": "mock-model", "prompt": "Say hi", "echo": true, "logprobs": 2}),
    )
    .json();
    let choice = &body["choices"][0];
    assert_eq!(choice["text"], "Say hi Mock reply to: Say hi");
    let logprobs = &choice["logprobs"];
    let joined: String = logprobs["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(joined, choice["text"]);
    assert_eq!(logprobs["token_logprobs"][0], Value::Null);
    assert!(logprobs["token_logprobs"][1].as_f64().unwrap() < 0.0);
    assert_eq!(logprobs["text_offset"], json!([0, 4, 7, 12, 18, 22, 26]));
    assert_eq!(logprobs["top_logprobs"][1].as_object().unwrap().len(), 2);
}

#[test]
fn completions_stream_concatenates_to_the_plain_answer() {
    let server = MockServer::start().unwrap();
    for extra in [
        json!({"prompt": "tell me a story"}),
        json!({"prompt": ["x", "y z"], "n": 2, "echo": true}),
        json!({"prompt": "one", "logprobs": 1, "max_tokens": 2}),
    ] {
        let mut request = json!({"model": "mock-model"});
        for (key, value) in extra.as_object().unwrap() {
            request[key] = value.clone();
        }
        let plain = post(&server, "/v1/completions", &request).json();
        request["stream"] = json!(true);
        request["stream_options"] = json!({"include_usage": true});
        let chunks = post(&server, "/v1/completions", &request).sse_json();
        for (i, choice) in plain["choices"].as_array().unwrap().iter().enumerate() {
            let mine: Vec<&Value> = chunks
                .iter()
                .flat_map(|c| c["choices"].as_array().unwrap())
                .filter(|c| c["index"] == i)
                .collect();
            let text: String = mine.iter().map(|c| c["text"].as_str().unwrap()).collect();
            assert_eq!(text, choice["text"]);
            assert_eq!(
                mine.last().unwrap()["finish_reason"],
                choice["finish_reason"]
            );
            if choice["logprobs"].is_object() {
                let tokens: Vec<Value> = mine
                    .iter()
                    .filter_map(|c| c["logprobs"]["tokens"].as_array())
                    .flatten()
                    .cloned()
                    .collect();
                assert_eq!(json!(tokens), choice["logprobs"]["tokens"]);
            }
        }
        let usage_chunk = chunks.last().unwrap();
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(usage_chunk["usage"], plain["usage"]);
    }
}

#[test]
fn completions_errors() {
    let server = MockServer::start().unwrap();
    let missing = post(&server, "/v1/completions", &json!({"model": "mock-model"}));
    assert_eq!(missing.json()["error"]["param"], "prompt");
    let mixed = post(
        &server,
        "/v1/completions",
        &json!({"model": "mock-model", "prompt": ["a", 1]}),
    );
    assert_eq!(mixed.status, 400);
    let unknown = post(
        &server,
        "/v1/completions",
        &json!({"model": "nope", "prompt": "a"}),
    );
    assert_eq!(unknown.status, 404);
}

#[test]
fn embeddings_float_and_base64() {
    let server = MockServer::start().unwrap();
    let request = json!({"model": "mock-model", "input": ["hello world", "other", "hello world"]});
    let floats = post(&server, "/v1/embeddings", &request).json();
    assert!(floats["id"].as_str().unwrap().starts_with("embd-mock-"));
    assert_eq!(floats["object"], "list");
    assert_eq!(floats["model"], "mock-model");
    assert_eq!(floats["usage"]["prompt_tokens"], 5);
    assert_eq!(floats["usage"]["total_tokens"], 5);
    let data = floats["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    let vectors: Vec<Vec<f32>> = data
        .iter()
        .enumerate()
        .map(|(i, item)| {
            assert_eq!(item["index"], i);
            assert_eq!(item["object"], "embedding");
            item["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    assert_eq!(vectors[0].len(), 8);
    assert_eq!(vectors[0], vectors[2]);
    assert_ne!(vectors[0], vectors[1]);
    let norm: f32 = vectors[1].iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5);

    let mut request64 = request.clone();
    request64["encoding_format"] = json!("base64");
    let encoded = post(&server, "/v1/embeddings", &request64).json();
    for (item, vector) in encoded["data"].as_array().unwrap().iter().zip(&vectors) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(item["embedding"].as_str().unwrap())
            .unwrap();
        let decoded: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(&decoded, vector);
    }

    let single = post(
        &server,
        "/v1/embeddings",
        &json!({"model": "mock-model", "input": "hello world", "dimensions": 3}),
    )
    .json();
    assert_eq!(single["data"][0]["embedding"].as_array().unwrap().len(), 3);
    let ids = post(
        &server,
        "/v1/embeddings",
        &json!({"model": "mock-model", "input": [[1, 2], [3]]}),
    )
    .json();
    assert_eq!(ids["data"].as_array().unwrap().len(), 2);
    assert_eq!(ids["usage"]["prompt_tokens"], 3);
    let one_ids = post(
        &server,
        "/v1/embeddings",
        &json!({"model": "mock-model", "input": [1, 2]}),
    )
    .json();
    assert_eq!(one_ids["data"].as_array().unwrap().len(), 1);
}

#[test]
fn embeddings_errors() {
    let server = MockServer::start().unwrap();
    let unknown = post(
        &server,
        "/v1/embeddings",
        &json!({"model": "x", "input": "a"}),
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.json()["error"]["param"], "model");
    let missing = post(&server, "/v1/embeddings", &json!({"model": "mock-model"}));
    assert_eq!(missing.json()["error"]["param"], "input");
    let format = post(
        &server,
        "/v1/embeddings",
        &json!({"model": "mock-model", "input": "a", "encoding_format": "hex"}),
    );
    assert_eq!(format.json()["error"]["param"], "encoding_format");
    let not_object = post(&server, "/v1/embeddings", &json!([1]));
    assert_eq!(not_object.json()["error"]["type"], "BadRequestError");
    let huge = post(
        &server,
        "/v1/embeddings",
        &json!({"model": "mock-model", "input": vec!["a"; 2000], "dimensions": 4096}),
    );
    assert_eq!(huge.status, 400);
    assert!(
        huge.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most")
    );
}

#[test]
fn api_key_guards_v1_routes() {
    let server = MockServer::start().unwrap();
    server.set_api_key(Some("sk-1"));
    let denied = get(&server, "/v1/models");
    assert_eq!(denied.status, 401);
    assert_eq!(denied.json(), json!({"error": "Unauthorized"}));
    let allowed = Client::connect(&server).request(
        "GET",
        "/v1/models",
        &[("authorization", "Bearer sk-1")],
        b"",
    );
    assert_eq!(allowed.status, 200);
    assert_eq!(get(&server, "/health").status, 200);
    // Checked before routing, as vLLM does.
    assert_eq!(get(&server, "/v1/nothing-here").status, 401);
    server.set_api_key(None);
    assert_eq!(get(&server, "/v1/models").status, 200);
}

#[test]
fn concurrent_connections_are_served() {
    let server = MockServer::start().unwrap();
    server.enqueue(Reply::hang());
    let mut hung = Client::connect(&server);
    hung.send("GET", "/", &[], b"");
    wait_for_requests(&server, 1);
    thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let mut client = Client::connect(&server);
                for _ in 0..5 {
                    assert_eq!(client.request("GET", "/health", &[], b"").status, 200);
                }
            });
        }
    });
    assert_eq!(server.request_count(), 41);
    assert_eq!(server.connections(), 9);
}

#[test]
fn chat_calls_the_tools_the_prompt_names_then_answers_their_results() {
    let server = MockServer::start().unwrap();
    let tools = json!([
        {"type": "function", "function": {"name": "get_time", "parameters":
            {"type": "object", "properties": {"tz": {"type": "string", "enum": ["UTC"]}},
             "required": ["tz"]}}},
        {"type": "function", "function": {"name": "get_weather", "parameters":
            {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
             "required": ["city"]}}},
        {"type": "function", "function": {"name": "unused"}}
    ]);
    let ask = |text: &str, extra: Value| {
        let mut req = json!({"model": "mock-model", "tools": tools,
                             "messages": [{"role": "user", "content": text}]});
        for (k, v) in extra.as_object().unwrap() {
            req[k] = v.clone();
        }
        post(&server, "/v1/chat/completions", &req).json()
    };
    let body = ask("use get_weather and get_time", json!({}));
    let calls = body["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        calls[0]["function"],
        json!({"name": "get_time", "arguments": "{\"tz\":\"UTC\"}"})
    );
    assert_eq!(
        calls[1]["function"],
        json!({"name": "get_weather", "arguments": "{\"city\":\"mock\"}"})
    );
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    // A prompt that names no tool gets text; "none" never calls.
    assert_eq!(
        ask("hello", json!({}))["choices"][0]["finish_reason"],
        "stop"
    );
    assert_eq!(
        ask("use get_time", json!({"tool_choice": "none"}))["choices"][0]["finish_reason"],
        "stop"
    );
    // After the tool results, the answer is text built from them.
    let mut req = json!({"model": "mock-model", "tools": tools, "messages": [
        {"role": "user", "content": "use get_time"},
        {"role": "assistant", "content": null, "tool_calls": [calls[0].clone()]},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "noon"},
    ]});
    let body = post(&server, "/v1/chat/completions", &req).json();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Mock reply to: noon"
    );
    // ... unless a function is forced: then it is called again.
    req["tool_choice"] = json!({"type": "function", "function": {"name": "get_time"}});
    let body = post(&server, "/v1/chat/completions", &req).json();
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn chat_json_schema_answers_matching_json_cut_by_max_tokens() {
    let server = MockServer::start().unwrap();
    let format = json!({"type": "json_schema", "json_schema": {"name": "p", "schema": {
        "type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 7}},
        "required": ["name", "age"], "additionalProperties": false}}});
    let body = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"response_format": format})),
    )
    .json();
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(content).unwrap(),
        json!({"name": "mock", "age": 7})
    );
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let body = post(
        &server,
        "/v1/chat/completions",
        &chat_request(json!({"response_format": format, "max_tokens": 2})),
    )
    .json();
    assert_eq!(body["choices"][0]["message"]["content"], "{\"age\":7");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 2);
}

// ------------------------------------------------------------ in-flight cap and latency

#[test]
fn requests_over_the_in_flight_cap_get_429_and_are_counted() {
    let server = MockServer::start().unwrap();
    server.set_max_in_flight(2);
    server.enqueue_all([Reply::hang(), Reply::hang()]);
    let mut held: Vec<Client> = (0..2)
        .map(|_| {
            let mut c = Client::connect(&server);
            c.send("GET", "/v1/models", &[], b"");
            c
        })
        .collect();
    wait_for_requests(&server, 2);
    let over = get(&server, "/v1/models");
    assert_eq!(over.status, 429);
    assert_eq!(over.header("retry-after"), Some("1"));
    let error = &over.json()["error"];
    assert_eq!(error["type"], "rate_limit_error");
    assert_eq!(error["code"], "rate_limit_exceeded");
    assert_eq!(server.rejected(), 1);
    assert_eq!(server.pending(), 0, "a rejection uses no scripted reply");
    // Closing the hanging requests gives their slots back (once the server notices).
    held.clear();
    let deadline = Instant::now() + CLIENT_TIMEOUT;
    let mut seen_429 = 1;
    loop {
        let r = get(&server, "/v1/models");
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 429);
        seen_429 += 1;
        assert!(Instant::now() < deadline, "the slots never came back");
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.rejected(), seen_429);
}

#[test]
fn the_in_flight_count_is_exact_under_concurrency() {
    let server = MockServer::start().unwrap();
    server.set_max_in_flight(3);
    server.set_latency(Duration::from_millis(50));
    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                s.spawn(|| {
                    let mut c = Client::connect(&server);
                    (0..5)
                        .map(|_| c.request("GET", "/v1/models", &[], b"").status)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let rejected = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count() + rejected,
        60
    );
    assert!(rejected > 0, "12 connections at once over a cap of 3");
    assert_eq!(server.rejected(), rejected as u64);
    // Every slot came back: a cap of 1 still answers.
    server.set_max_in_flight(1);
    assert_eq!(get(&server, "/v1/models").status, 200);
    server.set_max_in_flight(0);
    assert_eq!(server.rejected(), rejected as u64);
}
