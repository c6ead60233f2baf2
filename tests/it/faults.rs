//! The fault matrix: what the client does when a server, a proxy or the network misbehaves.
//!
//! Every case scripts the mock server, makes one call (non-streamed, or streamed and read to
//! the end), and asserts the documented outcome: which result or error kind, how many
//! retries, how long. The same source runs in both modes. `docs/faults.md` is generated from
//! this table (`fault_table_in_docs_is_current` fails when it is stale).

use crate::support;

use std::time::{Duration, Instant};

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat::{ClientBuilder, Error, StreamErrorKind, TimeoutPhase};
use oai_compat_mock::{MockServer, Reply};
use support::{MODEL, server};

/// The client under test: short timeouts so the matrix runs fast; 2 retries (the default).
const TIMEOUT: Duration = Duration::from_millis(400);
const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Ok,
    Api(u16),
    Timeout(TimeoutPhase),
    Connection,
    Decode,
    Stream(StreamErrorKind),
}

struct Case {
    name: &'static str,
    streamed: bool,
    /// The scripted replies; the argument is a second server (for redirects).
    replies: fn(&MockServer) -> Vec<Reply>,
    expect: Kind,
    retries: u32,
    /// Stream items received before the outcome (streamed cases).
    items: Option<usize>,
    min: Duration,
    max: Duration,
    why: &'static str,
    /// Changes to the matrix's client for this case (e.g. a long stream-idle timeout, to show
    /// that a body that is not a stream ends at the request timeout instead).
    tune: Option<fn(ClientBuilder) -> ClientBuilder>,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn chunk(content: &str) -> String {
    serde_json::json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]})
    .to_string()
}

fn busy(status: u16) -> Reply {
    Reply::error(status, "busy").header("retry-after-ms", "20")
}

/// `n` redirects back to the same URL, each answered after `delay`.
fn hops(n: usize, delay: Duration) -> Vec<Reply> {
    vec![Reply::redirect(307, "/v1/chat/completions").delay(delay); n]
}

/// A 2-byte body that claims to be 100 GB long, then a closed connection.
fn lying_length() -> Reply {
    Reply::json(200, "{}")
        .header("content-length", "100000000000")
        .close()
}

/// A 400 whose JSON body is 2 MiB long (the message comes first).
fn huge_error() -> Reply {
    let pad = "x".repeat(2 * 1024 * 1024);
    Reply::json(
        400,
        format!(
            r#"{{"error":{{"message":"prompt too long","type":"BadRequestError","code":400,"pad":"{pad}"}}}}"#
        ),
    )
}

fn long_idle(b: ClientBuilder) -> ClientBuilder {
    b.stream_idle_timeout(Some(Duration::from_secs(30)))
}

fn no_retries(b: ClientBuilder) -> ClientBuilder {
    b.max_retries(0)
}

fn no_body_limit(b: ClientBuilder) -> ClientBuilder {
    b.max_response_bytes(usize::MAX)
}

fn html_502() -> Reply {
    Reply::text(
        502,
        "text/html",
        "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
    )
}

const CASES: &[Case] = &[
    // ---- non-streamed ----
    Case {
        name: "reset_before_headers_once",
        streamed: false,
        replies: |_| vec![Reply::reset(), Reply::default_answer()],
        expect: Kind::Ok,
        retries: 1,
        items: None,
        min: ms(350),
        max: ms(1500),
        why: "a connection error before any response is retried after backoff",
        tune: None,
    },
    Case {
        name: "reset_before_headers_always",
        streamed: false,
        replies: |_| vec![Reply::reset(), Reply::reset(), Reply::reset()],
        expect: Kind::Connection,
        retries: 2,
        items: None,
        min: ms(1100),
        max: ms(3000),
        why: "retries run out; the last connection error is returned with retries_taken",
        tune: None,
    },
    Case {
        name: "reset_mid_body_once",
        streamed: false,
        replies: |_| vec![Reply::default_answer().cut(), Reply::default_answer()],
        expect: Kind::Ok,
        retries: 1,
        items: None,
        min: ms(350),
        max: ms(1500),
        why: "a non-streamed body that breaks off is a connection error, retried like openai-python",
        tune: None,
    },
    Case {
        name: "slow_headers",
        streamed: false,
        replies: |_| vec![Reply::default_answer().delay(ms(3000)); 3],
        expect: Kind::Timeout(TimeoutPhase::Request),
        retries: 2,
        items: None,
        min: ms(2300),
        max: ms(4500),
        why: "each attempt ends at the request timeout; timeouts are retried",
        tune: None,
    },
    Case {
        name: "trickled_body_within_timeout",
        streamed: false,
        replies: |_| {
            vec![Reply::json(200, r#"{"id":"t","choices":[{"index":0,"message":{"role":"assistant","content":"slow"}}]}"#).trickle(ms(1))]
        },
        expect: Kind::Ok,
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(1000),
        why: "a body sent one byte at a time still decodes",
        tune: None,
    },
    Case {
        name: "trickled_body_past_timeout",
        streamed: false,
        replies: |_| vec![Reply::default_answer().trickle(ms(20)); 3],
        expect: Kind::Timeout(TimeoutPhase::Request),
        retries: 2,
        items: None,
        min: ms(2300),
        max: ms(4500),
        why: "the request timeout bounds the whole attempt, body included",
        tune: None,
    },
    Case {
        name: "truncated_json",
        streamed: false,
        replies: |_| {
            vec![Reply::json(
                200,
                r#"{"id":"x","choices":[{"index":0,"message":{"content":"hal"#,
            )]
        },
        expect: Kind::Decode,
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(500),
        why: "a complete 2xx response with a broken body is a decode error (with a body excerpt), not retried",
        tune: None,
    },
    Case {
        name: "html_502_from_a_proxy",
        streamed: false,
        replies: |_| vec![html_502(), html_502(), html_502()],
        expect: Kind::Api(502),
        retries: 2,
        items: None,
        min: ms(1100),
        max: ms(3000),
        why: "5xx is retried; the HTML is reduced to a readable message and kept as the body",
        tune: None,
    },
    Case {
        name: "empty_200",
        streamed: false,
        replies: |_| vec![Reply::empty(200)],
        expect: Kind::Decode,
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(500),
        why: "an empty 2xx body is a decode error saying the body is empty",
        tune: None,
    },
    Case {
        name: "wrong_content_type",
        streamed: false,
        replies: |_| {
            vec![Reply::text(
                200,
                "text/plain",
                r#"{"id":"w","choices":[{"index":0,"message":{"content":"ok"}}]}"#,
            )]
        },
        expect: Kind::Ok,
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(500),
        why: "the body decides, not the content type: valid JSON is accepted",
        tune: None,
    },
    Case {
        name: "oversized_body",
        streamed: false,
        replies: |_| {
            vec![Reply::json(
                200,
                format!(r#"{{"id":"{}"}}"#, "x".repeat(10 * MAX_BODY)),
            )]
        },
        expect: Kind::Decode,
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(1000),
        why: "a body 10x over max_response_bytes stops at the limit, is not retried, and names the setting",
        tune: None,
    },
    Case {
        name: "rate_limited_retry_after_seconds",
        streamed: false,
        replies: |_| {
            vec![
                Reply::error(429, "slow down").header("retry-after", "1"),
                Reply::default_answer(),
            ]
        },
        expect: Kind::Ok,
        retries: 1,
        items: None,
        min: ms(950),
        max: ms(2000),
        why: "the server's delay is used exactly",
        tune: None,
    },
    Case {
        name: "rate_limited_retry_after_http_date",
        streamed: false,
        replies: |_| {
            vec![
                Reply::error(429, "slow down").header(
                    "retry-after",
                    &httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2)),
                ),
                Reply::default_answer(),
            ]
        },
        expect: Kind::Ok,
        retries: 1,
        items: None,
        min: ms(900),
        max: ms(3000),
        why: "an HTTP date is honoured (to the second)",
        tune: None,
    },
    Case {
        name: "rate_limited_retry_after_ms",
        streamed: false,
        replies: |_| {
            vec![
                Reply::error(429, "slow down").header("retry-after-ms", "200"),
                Reply::default_answer(),
            ]
        },
        expect: Kind::Ok,
        retries: 1,
        items: None,
        min: ms(190),
        max: ms(1000),
        why: "retry-after-ms wins over retry-after",
        tune: None,
    },
    Case {
        name: "rate_limited_retry_after_too_long",
        streamed: false,
        replies: |_| vec![Reply::error(429, "come back tomorrow").header("retry-after", "86400")],
        expect: Kind::Api(429),
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(500),
        why: "a delay over 120 s is not waited for: the 429 is returned at once",
        tune: None,
    },
    Case {
        name: "overloaded_twice_then_ok",
        streamed: false,
        replies: |_| vec![busy(503), busy(503), Reply::default_answer()],
        expect: Kind::Ok,
        retries: 2,
        items: None,
        min: ms(40),
        max: ms(1000),
        why: "vLLM's overload answer is retried",
        tune: None,
    },
    Case {
        name: "overloaded_always",
        streamed: false,
        replies: |_| vec![busy(503), busy(503), busy(503)],
        expect: Kind::Api(503),
        retries: 2,
        items: None,
        min: ms(40),
        max: ms(1000),
        why: "retries run out; is_overloaded() holds",
        tune: None,
    },
    Case {
        name: "server_error_x_should_retry_false",
        streamed: false,
        replies: |_| vec![Reply::error(500, "do not retry").header("x-should-retry", "false")],
        expect: Kind::Api(500),
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(500),
        why: "the server's x-should-retry overrides the status rule",
        tune: None,
    },
    Case {
        name: "bad_request_not_retried",
        streamed: false,
        replies: |_| vec![Reply::error(400, "bad request")],
        expect: Kind::Api(400),
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(500),
        why: "client errors are final",
        tune: None,
    },
    Case {
        name: "redirect_to_another_host",
        streamed: false,
        replies: |other| {
            vec![Reply::redirect(
                307,
                &format!("{}/chat/completions", other.url()),
            )]
        },
        expect: Kind::Ok,
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(1000),
        why: "redirects are followed, without the Authorization header (asserted in tests/security.rs)",
        tune: None,
    },
    // ---- streamed ----
    Case {
        name: "stream_reset_before_headers_once",
        streamed: true,
        replies: |_| vec![Reply::reset(), Reply::default_answer()],
        expect: Kind::Ok,
        retries: 1,
        items: None,
        min: ms(350),
        max: ms(1500),
        why: "before the stream is handed over, a connection error is retried",
        tune: None,
    },
    Case {
        name: "stream_slow_headers",
        streamed: true,
        replies: |_| vec![Reply::sse().delay(ms(3000)).done(); 3],
        expect: Kind::Timeout(TimeoutPhase::Request),
        retries: 2,
        items: None,
        min: ms(2300),
        max: ms(4500),
        why: "the request timeout bounds the wait for a stream's headers; retried",
        tune: None,
    },
    Case {
        name: "stream_overloaded_then_stream",
        streamed: true,
        replies: |_| vec![busy(503), Reply::default_answer()],
        expect: Kind::Ok,
        retries: 1,
        items: None,
        min: ms(15),
        max: ms(1000),
        why: "errors before the stream starts are retried",
        tune: None,
    },
    Case {
        name: "stream_html_502",
        streamed: true,
        replies: |_| vec![html_502(), html_502(), html_502()],
        expect: Kind::Api(502),
        retries: 2,
        items: None,
        min: ms(1100),
        max: ms(3000),
        why: "as for non-streamed calls",
        tune: None,
    },
    Case {
        name: "stream_reset_mid_stream",
        streamed: true,
        replies: |_| {
            vec![
                Reply::sse()
                    .event(chunk("a"))
                    .event(chunk("b"))
                    .pause(ms(50))
                    .cut(),
            ]
        },
        expect: Kind::Stream(StreamErrorKind::Truncated),
        retries: 0,
        items: Some(2),
        min: ms(0),
        max: ms(1000),
        why: "the events before the cut arrive, then an error; a started stream is never retried",
        tune: None,
    },
    Case {
        name: "stream_without_done",
        streamed: true,
        replies: |_| vec![Reply::sse().event(chunk("a"))],
        expect: Kind::Stream(StreamErrorKind::Truncated),
        retries: 0,
        items: Some(1),
        min: ms(0),
        max: ms(1000),
        why: "a body that ends without [DONE] is an error, not a silent success",
        tune: None,
    },
    Case {
        name: "stream_in_band_error",
        streamed: true,
        replies: |_| {
            vec![Reply::sse().event(chunk("a")).event(chunk("b")).event(chunk("c"))
            .event(r#"{"error":{"message":"engine died","type":"InternalServerError","code":500}}"#).done()]
        },
        expect: Kind::Stream(StreamErrorKind::InBand),
        retries: 0,
        items: Some(3),
        min: ms(0),
        max: ms(1000),
        why: "an error event ends the stream with its message, type and code",
        tune: None,
    },
    Case {
        name: "stream_keep_alives_only",
        streamed: true,
        replies: |_| {
            vec![
                (0..40)
                    .fold(Reply::sse(), |r, _| r.raw(": keep-alive\n\n").pause(ms(50)))
                    .done(),
            ]
        },
        expect: Kind::Timeout(TimeoutPhase::StreamIdle),
        retries: 0,
        items: Some(0),
        min: ms(350),
        max: ms(1200),
        why: "keep-alive comments do not count as events, so the event-idle timeout fires",
        tune: None,
    },
    Case {
        name: "stream_silent_after_headers",
        streamed: true,
        replies: |_| vec![Reply::sse().event(chunk("a")).pause(ms(3000)).done()],
        expect: Kind::Timeout(TimeoutPhase::StreamIdle),
        retries: 0,
        items: Some(1),
        min: ms(350),
        max: ms(1500),
        why: "a silent connection is bounded by the idle timeout",
        tune: None,
    },
    Case {
        name: "stream_crlf",
        streamed: true,
        replies: |_| {
            vec![
                Reply::sse()
                    .raw(format!(
                        "data: {}\r\n\r\ndata: {}\r\n\r\n",
                        chunk("a"),
                        chunk("b")
                    ))
                    .raw("data: [DONE]\r\n\r\n"),
            ]
        },
        expect: Kind::Ok,
        retries: 0,
        items: Some(2),
        min: ms(0),
        max: ms(1000),
        why: "CRLF line ends are SSE too",
        tune: None,
    },
    Case {
        name: "stream_utf8_split_across_writes",
        streamed: true,
        replies: |_| {
            let b = format!("data: {}\n\n", chunk("é")).into_bytes();
            let at = b.iter().position(|&x| x == 0xC3).map_or(1, |i| i + 1);
            vec![
                Reply::sse()
                    .raw(b[..at].to_vec())
                    .pause(ms(20))
                    .raw(b[at..].to_vec())
                    .done(),
            ]
        },
        expect: Kind::Ok,
        retries: 0,
        items: Some(1),
        min: ms(0),
        max: ms(1000),
        why: "a character split between two writes decodes whole",
        tune: None,
    },
    Case {
        name: "stream_invalid_utf8_in_data",
        streamed: true,
        replies: |_| {
            let mut b = br#"data: {"id":"c","choices":[{"index":0,"delta":{"content":"x"#.to_vec();
            b.extend_from_slice(&[0xFF, 0xFE]);
            b.extend_from_slice(b"\"}}]}\n\n");
            vec![Reply::sse().raw(b).done()]
        },
        expect: Kind::Ok,
        retries: 0,
        items: Some(1),
        min: ms(0),
        max: ms(1000),
        why: "invalid bytes become U+FFFD, as the SSE spec says; no panic, no error",
        tune: None,
    },
    Case {
        name: "stream_trickled",
        streamed: true,
        replies: |_| vec![Reply::sse().event(chunk("slow")).done().trickle(ms(1))],
        expect: Kind::Ok,
        retries: 0,
        items: Some(1),
        min: ms(0),
        max: ms(1500),
        why: "one byte at a time still makes whole events",
        // About 250 ms of trickle per event: the idle timeout is not what this case tests.
        tune: Some(long_idle),
    },
    Case {
        name: "stream_empty_200",
        streamed: true,
        replies: |_| vec![Reply::sse()],
        expect: Kind::Stream(StreamErrorKind::Truncated),
        retries: 0,
        items: Some(0),
        min: ms(0),
        max: ms(1000),
        why: "an empty event stream has no [DONE]",
        tune: None,
    },
    Case {
        name: "stream_answered_with_json",
        streamed: true,
        replies: |_| vec![Reply::json(200, r#"{"id":"x","choices":[]}"#)],
        expect: Kind::Decode,
        retries: 0,
        items: Some(0),
        min: ms(0),
        max: ms(1000),
        why: "a server that ignores stream:true gets a clear error naming the content type",
        tune: None,
    },
    // ---- found by the trust review (issue 8): bodies that are not streams, redirects,
    // ---- server claims, odd retry hints ----
    Case {
        name: "stream_answered_with_stalled_error_body",
        streamed: true,
        replies: |_| {
            vec![
                Reply::text(400, "application/json", "")
                    .pause(ms(5000))
                    .raw(r#"{"error":{"message":"late","type":"BadRequestError","code":400}}"#),
            ]
        },
        expect: Kind::Api(400),
        retries: 0,
        items: Some(0),
        min: ms(350),
        max: ms(1200),
        why: "an error body is read by the attempt's request timeout, not the (30 s) stream idle timeout; the status is still reported",
        tune: Some(long_idle),
    },
    Case {
        name: "stream_answered_with_stalled_json",
        streamed: true,
        replies: |_| {
            vec![
                Reply::text(200, "application/json", "")
                    .pause(ms(5000))
                    .raw(r#"{"id":"x","choices":[]}"#),
            ]
        },
        expect: Kind::Decode,
        retries: 0,
        items: Some(0),
        min: ms(350),
        max: ms(1200),
        why: "a 2xx answer that is not an event stream is read by the request timeout too, then reported as not a stream",
        tune: Some(long_idle),
    },
    Case {
        name: "stream_redirect_with_stalled_body",
        streamed: true,
        replies: |srv| {
            vec![
                Reply::text(307, "text/html", "")
                    .header("location", &format!("{}/chat/completions", srv.url()))
                    .pause(ms(5000))
                    .raw("<html>moved</html>"),
            ]
        },
        expect: Kind::Ok,
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(1000),
        why: "a redirect's body is never waited for: the next hop is sent at once",
        tune: Some(long_idle),
    },
    Case {
        name: "redirect_hops_share_the_deadline",
        streamed: false,
        replies: |_| hops(4, ms(150)),
        expect: Kind::Timeout(TimeoutPhase::Request),
        retries: 0,
        items: None,
        min: ms(350),
        max: ms(700),
        why: "four 150 ms hops do not fit in one 400 ms attempt: the request timeout bounds the attempt, every hop included",
        tune: Some(no_retries),
    },
    Case {
        name: "stream_redirect_hops_share_the_deadline",
        streamed: true,
        replies: |_| hops(4, ms(150)),
        expect: Kind::Timeout(TimeoutPhase::Request),
        retries: 0,
        items: Some(0),
        min: ms(350),
        max: ms(700),
        why: "the same for a stream's wait for its headers",
        tune: Some(no_retries),
    },
    Case {
        name: "redirect_loop_not_retried",
        streamed: false,
        replies: |_| hops(20, ms(0)),
        expect: Kind::Api(307),
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(1500),
        why: "a redirect loop stops after 5 hops with a final error (a loop would loop again): never retried",
        tune: None,
    },
    Case {
        name: "huge_content_length",
        streamed: false,
        replies: |_| vec![lying_length(); 3],
        expect: Kind::Connection,
        retries: 2,
        items: None,
        min: ms(1100),
        max: ms(3000),
        why: "a 100 GB Content-Length claim allocates nothing up front (with max_response_bytes at usize::MAX); the short body is a broken connection, retried",
        tune: Some(no_body_limit),
    },
    Case {
        name: "retry_after_nan",
        streamed: false,
        replies: |_| {
            vec![
                Reply::error(429, "slow down").header("retry-after", "NaN"),
                Reply::default_answer(),
            ]
        },
        expect: Kind::Ok,
        retries: 1,
        items: None,
        min: ms(350),
        max: ms(1200),
        why: "a server delay that is not a finite number (NaN, inf) is no delay: normal backoff",
        tune: None,
    },
    Case {
        name: "error_body_over_1_mib",
        streamed: false,
        replies: |_| vec![huge_error()],
        expect: Kind::Api(400),
        retries: 0,
        items: None,
        min: ms(0),
        max: ms(2000),
        why: "an error body is read up to 1 MiB and reported from that (message asserted in tests/it/deadlines.rs)",
        tune: None,
    },
];

/// What one call did.
struct Outcome {
    kind: Kind,
    retries: u32,
    items: usize,
    err: Option<Error>,
}

fn kind_of(e: &Error) -> Kind {
    match e {
        Error::Api(a) => Kind::Api(a.status),
        Error::Timeout(t) => Kind::Timeout(t.phase),
        Error::Connection(_) => Kind::Connection,
        Error::Decode(_) => Kind::Decode,
        Error::Stream(s) => Kind::Stream(s.kind),
        other => panic!("unexpected error kind: {other:?}"),
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn call(c: &oai_compat::Client, streamed: bool) -> Outcome {
    let req = ChatCompletionRequest::new(MODEL, [Message::user("fault")]);
    if !streamed {
        return match c.chat().create_with_meta(&req).await {
            Ok(r) => Outcome {
                kind: Kind::Ok,
                retries: r.meta.retries_taken,
                items: 0,
                err: None,
            },
            Err(e) => Outcome {
                kind: kind_of(&e),
                retries: e.retries_taken(),
                items: 0,
                err: Some(e),
            },
        };
    }
    let mut s = match c.chat().create_stream(&req).await {
        Ok(s) => s,
        Err(e) => {
            return Outcome {
                kind: kind_of(&e),
                retries: e.retries_taken(),
                items: 0,
                err: Some(e),
            };
        }
    };
    let retries = s.meta().retries_taken;
    let mut items = 0;
    loop {
        match s.try_next().await {
            Ok(Some(_)) => items += 1,
            Ok(None) => {
                return Outcome {
                    kind: Kind::Ok,
                    retries,
                    items,
                    err: None,
                };
            }
            Err(e) => {
                return Outcome {
                    kind: kind_of(&e),
                    retries: e.retries_taken(),
                    items,
                    err: Some(e),
                };
            }
        }
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn run(name: &str) {
    let case = CASES.iter().find(|c| c.name == name).expect("case");
    let srv = server();
    let other = server();
    srv.enqueue_all((case.replies)(&other));
    let b = support::builder(&srv)
        .api_key("sk-fault-matrix")
        .timeout(TIMEOUT)
        .stream_idle_timeout(Some(TIMEOUT))
        .max_retries(2)
        .max_response_bytes(MAX_BODY);
    let c = case.tune.map_or(b.clone(), |tune| tune(b)).build().unwrap();
    let t = Instant::now();
    let out = call(&c, case.streamed).await;
    let took = t.elapsed();
    let detail = format!("{}: {:?} after {took:?}", case.name, out.err);
    assert_eq!(out.kind, case.expect, "{detail}");
    assert_eq!(out.retries, case.retries, "{detail}");
    if let Some(n) = case.items {
        assert_eq!(out.items, n, "{detail}");
    }
    assert!(
        took >= case.min && took <= case.max,
        "{detail}: not within {:?}..{:?}",
        case.min,
        case.max
    );
    if let Some(e) = &out.err {
        let shown = format!("{e} {e:?}");
        assert!(
            !shown.contains("sk-fault-matrix"),
            "the key leaked: {shown}"
        );
    }
}

macro_rules! fault_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
            async fn $name() {
                run(stringify!($name)).await;
            }
        )*

        #[test]
        fn every_case_has_a_test() {
            let tested = [$(stringify!($name)),*];
            for c in CASES {
                assert!(tested.contains(&c.name), "no test for {}", c.name);
            }
            assert_eq!(tested.len(), CASES.len());
        }
    };
}

fault_tests!(
    reset_before_headers_once,
    reset_before_headers_always,
    reset_mid_body_once,
    slow_headers,
    trickled_body_within_timeout,
    trickled_body_past_timeout,
    truncated_json,
    html_502_from_a_proxy,
    empty_200,
    wrong_content_type,
    oversized_body,
    rate_limited_retry_after_seconds,
    rate_limited_retry_after_http_date,
    rate_limited_retry_after_ms,
    rate_limited_retry_after_too_long,
    overloaded_twice_then_ok,
    overloaded_always,
    server_error_x_should_retry_false,
    bad_request_not_retried,
    redirect_to_another_host,
    stream_reset_before_headers_once,
    stream_slow_headers,
    stream_overloaded_then_stream,
    stream_html_502,
    stream_reset_mid_stream,
    stream_without_done,
    stream_in_band_error,
    stream_keep_alives_only,
    stream_silent_after_headers,
    stream_crlf,
    stream_utf8_split_across_writes,
    stream_invalid_utf8_in_data,
    stream_trickled,
    stream_empty_200,
    stream_answered_with_json,
    stream_answered_with_stalled_error_body,
    stream_answered_with_stalled_json,
    stream_redirect_with_stalled_body,
    redirect_hops_share_the_deadline,
    stream_redirect_hops_share_the_deadline,
    redirect_loop_not_retried,
    huge_content_length,
    retry_after_nan,
    error_body_over_1_mib,
);

/// The table in `docs/faults.md`, rendered from `CASES`.
fn render() -> String {
    let mut out = String::from(
        "| fault | call | outcome | retries | time | why |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for c in CASES {
        let outcome = match c.expect {
            Kind::Ok => "succeeds".to_owned(),
            Kind::Api(s) => format!("`Error::Api`, status {s}"),
            Kind::Timeout(p) => format!("`Error::Timeout`, `{p:?}`"),
            Kind::Connection => "`Error::Connection`".to_owned(),
            Kind::Decode => "`Error::Decode`".to_owned(),
            Kind::Stream(k) => format!("`Error::Stream`, `{k:?}`"),
        };
        let outcome = match c.items {
            Some(n) if c.streamed && c.expect != Kind::Ok && n > 0 => {
                format!("{outcome} after {n} chunk(s)")
            }
            _ => outcome,
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {}-{} ms | {} |\n",
            c.name.replace('_', " "),
            if c.streamed {
                "streamed"
            } else {
                "non-streamed"
            },
            outcome,
            c.retries,
            c.min.as_millis(),
            c.max.as_millis(),
            c.why
        ));
    }
    out
}

#[test]
fn fault_table_in_docs_is_current() {
    const START: &str = "<!-- fault-table:start -->\n";
    const END: &str = "<!-- fault-table:end -->";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/faults.md");
    let doc = std::fs::read_to_string(path).expect("docs/faults.md");
    let (Some(a), Some(b)) = (doc.find(START), doc.find(END)) else {
        panic!("docs/faults.md lacks the fault-table markers");
    };
    let table = render();
    if doc[a + START.len()..b] != table {
        if std::env::var_os("OAI_COMPAT_BLESS").is_some() {
            let fresh = format!("{}{START}{table}{}", &doc[..a], &doc[b..]);
            std::fs::write(path, fresh).expect("write docs/faults.md");
        } else {
            panic!(
                "docs/faults.md is stale: run `OAI_COMPAT_BLESS=1 cargo test --test it faults::fault_table` and commit it"
            );
        }
    }
}

/// Every `path::test` named in the settings-and-secrets table of `docs/faults.md` exists.
#[test]
fn fault_docs_name_real_tests() {
    let root = env!("CARGO_MANIFEST_DIR");
    let doc = std::fs::read_to_string(format!("{root}/docs/faults.md")).expect("docs/faults.md");
    let start = doc
        .find("<!-- trust-table:start -->")
        .expect("trust-table marker");
    let end = doc
        .find("<!-- trust-table:end -->")
        .expect("trust-table end marker");
    let mut named = 0;
    for cell in doc[start..end].split('`').skip(1).step_by(2) {
        let Some((file, test)) = cell.split_once(".rs::") else {
            continue;
        };
        let src = std::fs::read_to_string(format!("{root}/{file}.rs"))
            .unwrap_or_else(|_| panic!("docs/faults.md names {file}.rs, which does not exist"));
        assert!(
            src.contains(&format!("fn {test}(")),
            "docs/faults.md names {file}.rs::{test}, which does not exist"
        );
        named += 1;
    }
    assert!(named >= 15, "only {named} tests named");
}
