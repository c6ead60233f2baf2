//! Secrets stay secret: the API key is not in Debug, Display, errors or logs, and is never
//! sent to another origin on a redirect.

mod support;

use std::sync::{Mutex, OnceLock};

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat::{Client, RequestOptions};
use oai_compat_mock::Reply;
use support::{MODEL, builder, server};

const KEY: &str = "sk-live-0123456789abcdef";

/// Every log line of this test binary.
fn log_lines() -> &'static Mutex<Vec<String>> {
    static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LINES.get_or_init(|| Mutex::new(Vec::new()))
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        log_lines()
            .lock()
            .unwrap()
            .push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        static LOGGER: Capture = Capture;
        log::set_logger(&LOGGER).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

fn chat() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user("hi")])
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn the_key_is_in_no_error_debug_or_log() {
    capture_logs();
    let srv = server();
    // A server that echoes the key it refused, then a retried overload, then a timeout.
    srv.enqueue_all([
        Reply::json(401, format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}","type":"invalid_request_error","code":"invalid_api_key"}}}}"#)),
        Reply::error(503, "busy").header("retry-after-ms", "10"),
        Reply::error(503, "busy").header("retry-after-ms", "10"),
        Reply::error(503, "busy").header("retry-after-ms", "10"),
    ]);
    let c = builder(&srv).api_key(KEY).build().unwrap();
    let auth = c.chat().create(&chat()).await.unwrap_err();
    let overload = c.chat().create(&chat()).await.unwrap_err();
    assert_eq!(
        srv.requests()[0].header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    let shown = [
        format!("{auth} {auth:?}"),
        format!("{overload} {overload:?}"),
        format!("{c:?}"),
        format!("{:?}", Client::builder().api_key(KEY)),
        format!(
            "{:?}",
            RequestOptions::new().header("Authorization", format!("Bearer {KEY}"))
        ),
        format!(
            "{:?}",
            srv.requests()[0].header("authorization").map(|_| c.clone())
        ),
    ];
    for s in &shown {
        assert!(!s.contains(KEY), "leaked: {s}");
    }
    assert!(auth.is_auth());
    assert!(
        auth.to_string()
            .contains("Incorrect API key provided: <redacted>"),
        "{auth}"
    );
    let lines = log_lines().lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("retrying")),
        "logging is not on: {lines:?}"
    );
    for l in &lines {
        assert!(!l.contains(KEY), "leaked in a log line: {l}");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn authorization_is_not_sent_to_another_host_on_redirect() {
    let a = server();
    let b = server();
    a.enqueue(Reply::redirect(
        307,
        &format!("{}/chat/completions", b.url()),
    ));
    let c = builder(&a).api_key(KEY).build().unwrap();
    let out = c.chat().create(&chat()).await.unwrap();
    assert_eq!(out.text(), Some("Mock reply to: hi"));
    let at_b = &b.requests()[0];
    assert_eq!(at_b.method, "POST");
    assert_eq!(
        at_b.header("authorization"),
        None,
        "the key followed the redirect"
    );
    assert_eq!(
        at_b.json().unwrap()["messages"][0]["content"],
        "hi",
        "307 re-sends the body"
    );
    // A redirect within the same origin keeps it.
    a.enqueue(Reply::redirect(308, "/v1/chat/completions"));
    c.chat().create(&chat()).await.unwrap();
    let reqs = a.requests();
    assert_eq!(
        reqs.last().unwrap().header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_post_is_not_silently_turned_into_a_get() {
    let a = server();
    a.enqueue(Reply::redirect(
        301,
        "http://127.0.0.1:9/v1/chat/completions",
    ));
    let c = builder(&a).max_retries(0).build().unwrap();
    let err = c.chat().create(&chat()).await.unwrap_err();
    assert_eq!(err.status(), Some(301));
    assert!(err.to_string().contains("only 307 and 308"), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn https_to_a_plain_server_fails_instead_of_downgrading() {
    let srv = server();
    let url = srv.url().replace("http://", "https://");
    let c = Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(url)
        .connect_timeout(std::time::Duration::from_millis(500))
        .api_key(KEY)
        .max_retries(0)
        .build()
        .unwrap();
    let err = c.models().list().await.unwrap_err();
    // The TLS handshake cannot complete with a plain-HTTP server: a connection error or a
    // connect timeout, and nothing (no key) was sent in the clear.
    let handshake_failed = err.is_connection()
        || matches!(&err, oai_compat::Error::Timeout(t) if t.phase == oai_compat::TimeoutPhase::Connect);
    assert!(handshake_failed, "{err:?}");
    assert_eq!(srv.request_count(), 0, "a request was sent without TLS");
}
