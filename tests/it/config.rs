//! What the client sends: URL, headers, auth, per-call options.

use crate::support;

use std::time::Duration;

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat::{Client, RequestOptions};
use support::{MODEL, builder, client, server};

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn without_a_key_no_authorization_header_is_sent() {
    let srv = server();
    client(&srv).models().list().await.unwrap();
    let r = &srv.requests()[0];
    assert_eq!(r.header("authorization"), None);
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/v1/models");
    let ua = r.header("user-agent").unwrap();
    assert!(ua.starts_with("oai-compat/"), "{ua}");
    assert_eq!(r.header("accept"), Some("application/json"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn key_org_project_and_headers_are_sent() {
    let srv = server();
    let c = builder(&srv)
        .api_key("EMPTY")
        .organization("org-1")
        .project("proj-1")
        .header("X-Team", "a")
        .build()
        .unwrap();
    let req = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    c.chat()
        .with_options(
            RequestOptions::new()
                .header("x-team", "b")
                .header("X-Request-Id", "trace-7")
                .query("api-version", "2024 06")
                .extra_body("top_k", 40)
                .extra_body("temperature", 0.5),
        )
        .create(&req)
        .await
        .unwrap();
    let r = &srv.requests()[0];
    assert_eq!(r.header("authorization"), Some("Bearer EMPTY"));
    assert_eq!(r.header("openai-organization"), Some("org-1"));
    assert_eq!(r.header("openai-project"), Some("proj-1"));
    assert_eq!(r.header("x-team"), Some("b"));
    assert_eq!(r.header("x-request-id"), Some("trace-7"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.path, "/v1/chat/completions?api-version=2024%2006");
    let body = r.json().unwrap();
    assert_eq!(body["top_k"], 40);
    assert_eq!(body["temperature"], 0.5);
    assert!(body.get("stream").is_none(), "{body}");
    assert_eq!(body["messages"][0]["content"], "hi");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn client_with_options_applies_to_every_call_and_shares_the_pool() {
    let srv = server();
    let c = client(&srv);
    let tagged = c.with_options(RequestOptions::new().header("x-tag", "t"));
    tagged.models().list().await.unwrap();
    c.models().list().await.unwrap();
    let reqs = srv.requests();
    assert_eq!(reqs[0].header("x-tag"), Some("t"));
    assert_eq!(reqs[1].header("x-tag"), None);
    assert_eq!(
        srv.connections(),
        1,
        "the copy must share the connection pool"
    );
}

#[test]
fn builder_rejects_bad_input_with_a_clear_message() {
    let e = Client::builder()
        .use_env(false)
        .base_url("localhost:8000")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("http://"), "{e}");
    let e = Client::builder()
        .use_env(false)
        .base_url("http://h")
        .timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("timeout"), "{e}");
}

#[test]
fn debug_of_client_hides_the_key() {
    let c = Client::builder()
        .use_env(false)
        .base_url("http://h")
        .api_key("sk-live-abcdef")
        .build()
        .unwrap();
    let s = format!("{c:?}");
    assert!(!s.contains("sk-live-abcdef"), "{s}");
    assert!(s.contains("http://h/v1"), "{s}");
}

#[test]
fn environment_fills_what_the_builder_leaves_unset() {
    // One test owns these variables: tests in this binary run in parallel.
    // SAFETY-free: edition 2024 makes set_var unsafe; use a child process instead.
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "config::env_child",
            "--nocapture",
            "--include-ignored",
        ])
        .env("OAI_COMPAT_ENV_CHILD", "1")
        .env("OPENAI_BASE_URL", "http://env-host:9/")
        .env("OPENAI_API_KEY", "")
        .env("OPENAI_ORG_ID", "org-env")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ENV-OK"), "{stdout}");
}

#[test]
#[ignore = "run by environment_fills_what_the_builder_leaves_unset in a child process"]
fn env_child() {
    if std::env::var("OAI_COMPAT_ENV_CHILD").is_err() {
        return;
    }
    let c = Client::from_env().unwrap();
    assert_eq!(c.base_url(), "http://env-host:9/v1");
    let dbg = format!("{c:?}");
    // The empty OPENAI_API_KEY counts as unset.
    assert!(dbg.contains("api_key: None"), "{dbg}");
    assert!(dbg.contains("org-env"), "{dbg}");
    let c = Client::builder()
        .base_url("http://explicit:1")
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "http://explicit:1/v1");
    let c = Client::builder().use_env(false).build().unwrap();
    assert_eq!(c.base_url(), "https://api.openai.com/v1");
    println!("ENV-OK");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn localhost_and_ip_literals_resolve() {
    let srv = server();
    let port = srv.addr().port();
    for base in [
        format!("http://localhost:{port}/v1"),
        format!("http://127.0.0.1:{port}"),
    ] {
        let c = Client::builder()
            .use_env(false)
            .no_proxy()
            .base_url(&base)
            .build()
            .unwrap();
        let list = c.models().list().await.unwrap();
        assert_eq!(list.data[0].id, MODEL, "{base}");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn replies_and_streams_larger_than_the_io_buffer_are_read_whole() {
    let srv = server();
    let c = builder(&srv)
        .io_buffer_size(4096)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // About 10 KB each way (within the mock's context of 2048 words): the request, the reply
    // and the stream all pass through 4 KiB.
    let words: Vec<String> = (0..1000).map(|i| format!("word{i:05}")).collect();
    let prompt = words.join(" ");
    let req = ChatCompletionRequest::new(MODEL, [Message::user(prompt.as_str())]);
    let full = c.chat().create(&req).await.unwrap();
    assert_eq!(
        full.text(),
        Some(format!("Mock reply to: {prompt}").as_str())
    );
    let mut stream = c.chat().create_stream(&req).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        text.push_str(chunk.text());
    }
    assert_eq!(Some(text.trim_end()), full.text());
    // A response head of 3 KiB still fits.
    srv.enqueue(
        oai_compat_mock::Reply::json(200, r#"{"object":"list","data":[]}"#)
            .header("x-padding", &"p".repeat(3000)),
    );
    let list = c.models().list().await.unwrap();
    assert!(list.data.is_empty());
}

#[test]
fn io_buffer_sizes_out_of_range_are_refused_naming_the_setter() {
    let b = Client::builder().use_env(false).base_url("http://h");
    for bad in [0, 1, 4095, 16 * 1024 * 1024 + 1, usize::MAX] {
        let e = b.clone().io_buffer_size(bad).build().unwrap_err();
        assert!(matches!(e, oai_compat::Error::Config(_)), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("io_buffer_size") && msg.contains(&bad.to_string()),
            "{msg}"
        );
    }
    for good in [4096, 16 * 1024, 16 * 1024 * 1024] {
        b.clone().io_buffer_size(good).build().unwrap();
    }
}
