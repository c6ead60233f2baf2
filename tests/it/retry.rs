//! Retries: status rules, server delays, backoff, connection errors and timeouts.

use crate::support;

use std::time::{Duration, Instant};

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat_mock::Reply;
use support::{MODEL, builder, client, server};

/// A builder aimed at a port nothing listens on (a listener bound then dropped), so
/// connecting is refused.
fn closed_port() -> (u16, oai_compat::ClientBuilder) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let b = oai_compat::Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(format!("http://127.0.0.1:{port}/v1"));
    (port, b)
}

fn chat() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user("hello there")])
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn two_503s_then_success_takes_two_retries() {
    let srv = server();
    srv.enqueue_all([
        Reply::error(503, "busy").header("retry-after-ms", "10"),
        Reply::error(503, "busy").header("retry-after-ms", "10"),
    ]);
    let c = client(&srv);
    let r = c.chat().create_with_meta(chat()).await.unwrap();
    assert_eq!(r.meta.retries_taken, 2);
    assert_eq!(r.meta.status, 200);
    assert_eq!(r.text(), Some("Mock reply to: hello there"));
    assert_eq!(srv.request_count(), 3);
    // The same body was replayed on every attempt.
    let reqs = srv.requests();
    assert_eq!(reqs[0].body, reqs[2].body);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retries_run_out_with_the_last_error() {
    let srv = server();
    for _ in 0..3 {
        srv.enqueue(Reply::error(503, "still busy").header("retry-after-ms", "5"));
    }
    let err = client(&srv).chat().create(chat()).await.unwrap_err();
    assert!(err.is_overloaded(), "{err}");
    assert_eq!(err.retries_taken(), 2);
    assert_eq!(srv.request_count(), 3);
    assert!(err.to_string().contains("still busy"), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retry_after_one_second_is_honoured() {
    let srv = server();
    srv.enqueue(Reply::error(429, "slow down").header("retry-after", "1"));
    let t = Instant::now();
    let r = client(&srv).models().list_with_meta().await.unwrap();
    let took = t.elapsed();
    assert_eq!(r.meta.retries_taken, 1);
    assert!(took >= Duration::from_millis(950), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retry_after_beyond_limit_is_not_retried() {
    let srv = server();
    srv.enqueue(Reply::error(429, "come back later").header("retry-after", "300"));
    let t = Instant::now();
    let err = client(&srv).models().list().await.unwrap_err();
    assert!(err.is_rate_limited(), "{err}");
    assert_eq!(err.retries_taken(), 0);
    assert_eq!(srv.request_count(), 1);
    assert!(t.elapsed() < Duration::from_secs(2));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn x_should_retry_false_on_500_is_not_retried() {
    let srv = server();
    srv.enqueue(Reply::error(500, "do not retry me").header("x-should-retry", "false"));
    let err = client(&srv).models().list().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(!err.is_retryable());
    assert_eq!(srv.request_count(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn x_should_retry_true_on_400_is_retried() {
    let srv = server();
    srv.enqueue(
        Reply::error(400, "try again")
            .header("x-should-retry", "true")
            .header("retry-after-ms", "5"),
    );
    let r = client(&srv).models().list_with_meta().await.unwrap();
    assert_eq!(r.meta.retries_taken, 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn client_errors_are_not_retried() {
    for status in [400u16, 401, 403, 404, 422] {
        let srv = server();
        srv.enqueue(Reply::error(status, "no"));
        let err = client(&srv).chat().create(chat()).await.unwrap_err();
        assert_eq!(err.status(), Some(status));
        assert_eq!(err.retries_taken(), 0);
        assert_eq!(srv.request_count(), 1, "status {status} was retried");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn backoff_without_server_delay_follows_the_schedule() {
    // 0.5 s then 1 s, each minus at most 25 % jitter: 1.125 s .. 1.5 s in all.
    let srv = server();
    srv.enqueue_all([Reply::error(502, "a"), Reply::error(502, "b")]);
    let t = Instant::now();
    let r = client(&srv).models().list_with_meta().await.unwrap();
    let took = t.elapsed();
    assert_eq!(r.meta.retries_taken, 2);
    assert!(took >= Duration::from_millis(1100), "{took:?}");
    assert!(took < Duration::from_millis(2500), "{took:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn max_retries_zero_and_per_call_override() {
    let srv = server();
    srv.enqueue_all([
        Reply::error(503, "x"),
        Reply::error(503, "y").header("retry-after-ms", "5"),
    ]);
    let c = builder(&srv).max_retries(0).build().unwrap();
    let err = c.models().list().await.unwrap_err();
    assert_eq!(err.retries_taken(), 0);
    let r = c
        .models()
        .with_options(oai_compat::RequestOptions::new().max_retries(1))
        .list_with_meta()
        .await
        .unwrap();
    assert_eq!(r.meta.retries_taken, 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn refused_connection_is_retried_then_reported() {
    let (_, b) = closed_port();
    let c = b.max_retries(1).build().unwrap();
    let t = Instant::now();
    let err = c.models().list().await.unwrap_err();
    assert!(err.is_connection(), "{err:?}");
    assert_eq!(err.retries_taken(), 1);
    // One backoff of 0.375..0.5 s happened.
    assert!(
        t.elapsed() >= Duration::from_millis(350),
        "{:?}",
        t.elapsed()
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn server_that_never_answers_times_out_near_the_limit() {
    let srv = server();
    srv.enqueue(Reply::hang());
    let c = builder(&srv)
        .timeout(Duration::from_millis(700))
        .max_retries(0)
        .build()
        .unwrap();
    let t = Instant::now();
    let err = c.chat().create(chat()).await.unwrap_err();
    let took = t.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        matches!(&err, oai_compat::Error::Timeout(t) if t.phase == oai_compat::TimeoutPhase::Request)
    );
    assert!(took >= Duration::from_millis(650), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn timeout_is_retried_and_counted() {
    let srv = server();
    srv.enqueue(Reply::hang());
    let c = builder(&srv)
        .timeout(Duration::from_millis(300))
        .max_retries(1)
        .build()
        .unwrap();
    let r = c.models().list_with_meta().await.unwrap();
    assert_eq!(r.meta.retries_taken, 1);
    assert_eq!(srv.request_count(), 2);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn connection_errors_name_the_server() {
    let (port, b) = closed_port();
    let c = b.api_key("sk-never-shown").max_retries(0).build().unwrap();
    let err = c.models().list().await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(!msg.contains("sk-never-shown") && !format!("{err:?}").contains("sk-never-shown"));
}

/// The error of one call, sent once, that `srv` answers with `reply`.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn failed_once(srv: &oai_compat_mock::MockServer, reply: Reply) -> oai_compat::Error {
    srv.enqueue(reply);
    builder(srv)
        .max_retries(0)
        .build()
        .unwrap()
        .chat()
        .create(chat())
        .await
        .unwrap_err()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_errors_own_retry_delay_is_the_policys() {
    let srv = server();
    // The server's delay, taken as asked whatever the retry count.
    let err = failed_once(
        &srv,
        Reply::error(429, "full").header("retry-after-ms", "250"),
    )
    .await;
    assert_eq!(err.retry_after(), Some(Duration::from_millis(250)));
    assert_eq!(err.retry_delay(5), Some(Duration::from_millis(250)));
    // None asked: the backoff, 0.5 s doubling up to 8 s, less up to a quarter.
    let err = failed_once(&srv, Reply::error(503, "busy")).await;
    assert_eq!(err.retry_after(), None);
    for (n, full) in [(0, 500), (1, 1000), (3, 4000), (9, 8000)] {
        let d = err.retry_delay(n).unwrap();
        let full = Duration::from_millis(full);
        assert!(d <= full && d >= full * 3 / 4, "retry {n}: {d:?}");
    }
    // Too long a wait, or a server that says not to: not sent again.
    let err = failed_once(
        &srv,
        Reply::error(429, "quota").header("retry-after", "121"),
    )
    .await;
    assert_eq!((err.retry_after(), err.retry_delay(0)), (None, None));
    let err = failed_once(
        &srv,
        Reply::error(503, "down").header("x-should-retry", "false"),
    )
    .await;
    assert_eq!((err.retry_after(), err.retry_delay(0)), (None, None));
    let err = failed_once(&srv, Reply::error(400, "bad")).await;
    assert_eq!(err.retry_delay(0), None);
}
