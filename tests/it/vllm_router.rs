//! vllm-router's own answers (vLLM's load balancer, PyPI `vllm-router` 0.1.17), byte for byte
//! as its source sends them, from the mock: what the client types them as and whether it
//! retries them. `live_router` provokes the same answers from the real router where it can.
//!
//! Where the router sends each (its `src/`):
//! - a full queue: `middleware.rs`, `too_many_requests`: 429, no body, `Retry-After: <s>`
//!   (whole seconds until its token bucket refills, at least 1);
//! - a request that waited `--queue-timeout-secs` in that queue: the same middleware, a bare
//!   `StatusCode::REQUEST_TIMEOUT`: 408, no body;
//! - a worker that fails or times out (`--request-timeout-secs`, a total deadline on the
//!   worker's answer): `routers/http/router.rs`, `send_typed_request`: 500,
//!   `text/plain; charset=utf-8`, `Request failed: <reqwest error>`, after its own retries
//!   (429, 408 and every 5xx but 501, 5 attempts by default);
//! - no worker left: `No available workers (all circuits open or unhealthy)`, 503, text;
//! - a body it cannot read as the route's type: axum's rejection, 422, text.
//!
//! Every answer carries the router's `x-request-id`: the caller's `X-Request-Id` if it sent
//! one, else one it makes up (`chatcmpl-`, `cmpl-` or `req-` and 24 letters).

use crate::support;

use std::time::{Duration, Instant};

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat::{Client, Error};
use oai_compat_mock::{MockServer, Reply};
use support::{MODEL, builder, server};

/// The router's request id on its own answers.
const ROUTER_ID: &str = "chatcmpl-Og7XfSqIEBJTYf6oJGFVr4zf";
/// The body of a worker that timed out or went away, as the router sent it live.
const WORKER_FAILED: &str =
    "Request failed: error sending request for url (http://127.0.0.1:8000/v1/chat/completions)";
/// The router's answer when no worker can take the request.
const NO_WORKERS: &str = "No available workers (all circuits open or unhealthy)";
/// axum's rejection of a chat body without `messages`, as the router sent it live.
const BAD_BODY: &str = "Failed to deserialize the JSON body into the target type: \
                        missing field `messages` at line 1 column 23";

fn client(srv: &MockServer, retries: u32) -> Client {
    builder(srv).max_retries(retries).build().unwrap()
}

fn chat() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user("hello there")])
}

fn queue_full() -> Reply {
    Reply::empty(429)
        .header("retry-after", "1")
        .header("x-request-id", ROUTER_ID)
}

fn text(status: u16, body: &str) -> Reply {
    Reply::text(status, "text/plain; charset=utf-8", body).header("x-request-id", ROUTER_ID)
}

/// `reply` first, then the mock's answer: the call succeeds after exactly one retry.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn succeeds_after_one_retry(srv: &MockServer, reply: Reply) {
    srv.enqueue(reply);
    let out = client(srv, 1)
        .chat()
        .create_with_meta(chat())
        .await
        .unwrap();
    assert_eq!(out.meta.retries_taken, 1);
}

/// The API error, or a panic naming what came instead.
fn api(err: &Error) -> &oai_compat::ApiError {
    match err {
        Error::Api(e) => e,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_full_queue_is_a_429_that_waits_the_routers_retry_after() {
    let srv = server();
    srv.enqueue(queue_full());
    let started = Instant::now();
    let out = client(&srv, 1)
        .chat()
        .create_with_meta(chat())
        .await
        .unwrap();
    // `Retry-After: 1` is used as it is, not the client's 0.5 s backoff.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.meta.retries_taken, 1);
    assert_eq!(srv.request_count(), 2);

    srv.enqueue(queue_full());
    let err = client(&srv, 0).chat().create(chat()).await.unwrap_err();
    assert!(err.is_rate_limited() && err.is_retryable(), "{err:?}");
    let e = api(&err);
    // No body: the message is the reason phrase, the body is kept empty.
    assert_eq!(e.message, "Too Many Requests");
    assert_eq!(e.body, "");
    assert_eq!(e.error_type, None);
    assert_eq!(e.code, None);
    assert_eq!(err.request_id(), Some(ROUTER_ID));
    assert_eq!(e.headers.get("retry-after"), Some("1"));
    assert_eq!(err.retries_taken(), 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_stream_refused_by_a_full_queue_is_retried_before_its_first_event() {
    let srv = server();
    srv.enqueue(queue_full());
    let c = client(&srv, 1);
    let mut stream = c.chat().create_stream(chat()).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        text.push_str(chunk.text());
    }
    assert!(!text.is_empty());
    assert_eq!(srv.request_count(), 2);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_queue_timeout_is_a_bodiless_408_and_retried() {
    let srv = server();
    succeeds_after_one_retry(&srv, Reply::empty(408).header("x-request-id", ROUTER_ID)).await;

    srv.enqueue_all([Reply::empty(408), Reply::empty(408)]);
    let err = client(&srv, 1).chat().create(chat()).await.unwrap_err();
    assert_eq!(err.status(), Some(408));
    // A server's 408 is an API error, not one of the client's own timeouts.
    assert!(err.is_retryable() && !err.is_timeout(), "{err:?}");
    assert_eq!(api(&err).message, "Request Timeout");
    assert_eq!(err.retries_taken(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_failed_or_timed_out_worker_is_a_text_500_and_retried() {
    let srv = server();
    succeeds_after_one_retry(&srv, text(500, WORKER_FAILED)).await;

    srv.enqueue_all([text(500, WORKER_FAILED), text(500, WORKER_FAILED)]);
    let err = client(&srv, 1).chat().create(chat()).await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.is_retryable(), "{err:?}");
    assert!(!err.is_overloaded() && !err.is_connection() && !err.is_timeout());
    let e = api(&err);
    // The plain-text body is the message, whole.
    assert_eq!(e.message, WORKER_FAILED);
    assert_eq!(e.body, WORKER_FAILED);
    assert_eq!(e.error_type, None);
    assert_eq!(err.request_id(), Some(ROUTER_ID));
    assert!(err.to_string().contains(WORKER_FAILED), "{err}");
    assert_eq!(err.retries_taken(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn no_worker_left_is_an_overloaded_503() {
    let srv = server();
    srv.enqueue_all([text(503, NO_WORKERS), text(503, NO_WORKERS)]);
    let err = client(&srv, 1).chat().create(chat()).await.unwrap_err();
    assert!(err.is_overloaded() && err.is_retryable(), "{err:?}");
    assert_eq!(api(&err).message, NO_WORKERS);
    assert_eq!(err.retries_taken(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_body_the_router_cannot_read_is_a_422_never_retried() {
    let srv = server();
    srv.enqueue(text(422, BAD_BODY));
    let err = client(&srv, 2).chat().create(chat()).await.unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert!(!err.is_retryable(), "{err:?}");
    assert_eq!(api(&err).message, BAD_BODY);
    assert_eq!(err.retries_taken(), 0);
    assert_eq!(srv.request_count(), 1);
}
