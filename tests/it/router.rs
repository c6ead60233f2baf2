//! Router: several servers, routed by model, with failover and one retry budget.

use crate::support;

use oai_compat::types::{ChatCompletionRequest, EmbeddingRequest, Message};
use oai_compat::{Client, Router};
use oai_compat_mock::{MockServer, Reply};
use support::server;

pub(crate) fn backend(srv: &MockServer) -> Client {
    support::builder(srv).build().unwrap()
}

pub(crate) fn serving(models: &[&str]) -> MockServer {
    let s = server();
    s.set_models(models.iter().copied());
    s
}

pub(crate) fn chat(model: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new(model, [Message::user("hi")])
}

pub(crate) fn calls(srv: &MockServer, path: &str) -> usize {
    srv.requests().iter().filter(|r| r.path == path).count()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn each_call_goes_to_the_server_of_its_model() {
    let chat_srv = serving(&["tiny-llama"]);
    let embed_srv = serving(&["minilm"]);
    let r = Router::builder()
        .backend(backend(&chat_srv))
        .backend(backend(&embed_srv))
        .build();
    let out = r.chat_create(&chat("tiny-llama")).await.unwrap();
    assert_eq!(out.model, "tiny-llama");
    let emb = r
        .embeddings_create(&EmbeddingRequest::new("minilm", ["a", "b"]))
        .await
        .unwrap();
    assert_eq!(emb.data.len(), 2);
    assert_eq!(calls(&chat_srv, "/v1/chat/completions"), 1);
    assert_eq!(calls(&embed_srv, "/v1/embeddings"), 1);
    assert_eq!(
        calls(&chat_srv, "/v1/embeddings") + calls(&embed_srv, "/v1/chat/completions"),
        0
    );
    // The model table was learned once and cached.
    assert_eq!(calls(&chat_srv, "/v1/models"), 1);
    let models = r.models().await.unwrap();
    assert_eq!(
        models.keys().cloned().collect::<Vec<_>>(),
        ["minilm", "tiny-llama"]
    );
    assert_eq!(models["minilm"], [embed_srv.url()]);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn unknown_model_lists_the_known_ones() {
    let a = serving(&["m1"]);
    let r = Router::builder().backend(backend(&a)).build();
    let err = r.chat_create(&chat("m9")).await.unwrap_err();
    assert!(matches!(err, oai_compat::Error::NoBackend(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("`m9`") && msg.contains("m1 (") && msg.contains(&a.url()),
        "{msg}"
    );
    assert_eq!(calls(&a, "/v1/chat/completions"), 0);
    let empty = Router::builder().build();
    let err = empty.chat_create(&chat("m1")).await.unwrap_err();
    assert!(matches!(err, oai_compat::Error::NoBackend(_)), "{err:?}");
    assert!(err.to_string().contains("RouterBuilder::backend"), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn calls_spread_over_servers_of_the_same_model() {
    let a = serving(&["m"]);
    let b = serving(&["m"]);
    let r = Router::builder()
        .backend(backend(&a))
        .backend(backend(&b))
        .build();
    for _ in 0..4 {
        r.chat_create(&chat("m")).await.unwrap();
    }
    assert_eq!(calls(&a, "/v1/chat/completions"), 2);
    assert_eq!(calls(&b, "/v1/chat/completions"), 2);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn overload_fails_over_at_once_to_the_other_server() {
    let a = serving(&["m"]);
    let b = serving(&["m"]);
    let r = Router::builder()
        .backend(backend(&a))
        .backend(backend(&b))
        .build();
    r.models().await.unwrap();
    // The first call starts at the first backend.
    a.enqueue(Reply::error(503, "queue full"));
    let t = std::time::Instant::now();
    let out = r.chat_create(&chat("m")).await.unwrap();
    assert!(out.text().is_some());
    assert!(
        t.elapsed() < std::time::Duration::from_millis(400),
        "failover must not back off"
    );
    assert_eq!(calls(&a, "/v1/chat/completions"), 1);
    assert_eq!(calls(&b, "/v1/chat/completions"), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_dead_server_is_failed_over() {
    let a = serving(&["m"]);
    let b = serving(&["m"]);
    let r = Router::builder()
        .backend(backend(&a))
        .backend(backend(&b))
        .build();
    r.models().await.unwrap();
    drop(a);
    for _ in 0..3 {
        r.chat_create(&chat("m")).await.unwrap();
    }
    assert_eq!(calls(&b, "/v1/chat/completions"), 3);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn the_retry_budget_covers_all_servers() {
    let a = serving(&["m"]);
    let b = serving(&["m"]);
    let r = Router::builder()
        .backend(backend(&a))
        .backend(backend(&b))
        .max_retries(3)
        .build();
    r.refresh().await.unwrap();
    for s in [&a, &b] {
        for _ in 0..5 {
            s.enqueue(Reply::error(503, "busy").header("retry-after-ms", "10"));
        }
    }
    let err = r.chat_create(&chat("m")).await.unwrap_err();
    assert!(err.is_overloaded(), "{err}");
    assert_eq!(err.retries_taken(), 3);
    let total = calls(&a, "/v1/chat/completions") + calls(&b, "/v1/chat/completions");
    assert_eq!(
        total, 4,
        "1 attempt + 3 retries in all, across both servers"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_new_model_is_found_by_refreshing() {
    let a = serving(&["old"]);
    let r = Router::builder().backend(backend(&a)).build();
    r.chat_create(&chat("old")).await.unwrap();
    a.set_models(["old", "new"]);
    r.chat_create(&chat("new")).await.unwrap();
    assert_eq!(calls(&a, "/v1/models"), 2);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn client_errors_are_not_failed_over() {
    let a = serving(&["m"]);
    let b = serving(&["m"]);
    let r = Router::builder()
        .backend(backend(&a))
        .backend(backend(&b))
        .build();
    r.refresh().await.unwrap();
    a.enqueue(Reply::error(400, "bad"));
    b.enqueue(Reply::error(400, "bad"));
    let err = r.chat_create(&chat("m")).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    let total = calls(&a, "/v1/chat/completions") + calls(&b, "/v1/chat/completions");
    assert_eq!(total, 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn routed_streams_work() {
    let a = serving(&["m"]);
    let r = Router::builder().backend(backend(&a)).build();
    let mut s = r.chat_create_stream(&chat("m")).await.unwrap();
    let mut text = String::new();
    while let Some(c) = s.try_next().await.unwrap() {
        text.push_str(c.text());
    }
    assert_eq!(text, "Mock reply to: hi");
}

#[test]
fn from_urls_needs_at_least_one() {
    let err = Router::from_urls([]).unwrap_err();
    assert!(err.to_string().contains("OAI_COMPAT_BACKENDS"), "{err}");
    let r = Router::from_urls(["http://127.0.0.1:1/v1", "http://127.0.0.1:2"]).unwrap();
    let urls: Vec<&str> = r.backends().iter().map(Client::base_url).collect();
    assert_eq!(urls, ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"]);
}

// `raw_post` against hostile backends: each call ends bounded, with the error that names the
// fault, and fails over only where another server could answer differently (a dead, stalled
// or cut-off server), never on a reply that was read in full.

/// A router over `first` (a client of a server serving `m`) and `b`, its model table
/// learned; the first call goes to `first`.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn pair(first: Client, b: &MockServer) -> Router {
    let r = Router::builder().backend(first).backend(backend(b)).build();
    r.refresh().await.unwrap();
    r
}

/// `raw_post` answered with `reply` by `a` (through `a_client`): a decode error that says
/// `says`, and, the reply read in full, the call is not sent again, there or elsewhere.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn refused_once(a: &MockServer, a_client: Client, reply: Reply, says: &str) {
    let b = serving(&["m"]);
    let r = pair(a_client, &b).await;
    a.enqueue(reply);
    let err = raw_chat(&r).await.unwrap_err();
    assert!(
        matches!(err, oai_compat::Error::Decode(_)) && err.to_string().contains(says),
        "{err}"
    );
    assert_eq!(
        calls(a, "/v1/chat/completions") + calls(&b, "/v1/chat/completions"),
        1
    );
}

/// `raw_post` of a chat request for `m`.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn raw_chat(r: &Router) -> oai_compat::Result<oai_compat::Response<serde_json::Value>> {
    let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    r.raw_post("m", "/chat/completions", &body).await
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn raw_post_refuses_an_amplifying_reply_once() {
    let a = serving(&["m"]);
    // 1 MiB of `{}`: a `Value` map each, ~20x its bytes.
    let reply = Reply::json(200, format!("[{}{{}}]", "{},".repeat(350_000)));
    refused_once(&a, backend(&a), reply, "decoded-size limit").await;
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn raw_post_refuses_a_reply_over_max_response_bytes() {
    let a = serving(&["m"]);
    let small = support::builder(&a)
        .max_response_bytes(4096)
        .build()
        .unwrap();
    let reply = Reply::json(200, format!(r#"{{"x":"{}"}}"#, "a".repeat(64 * 1024)));
    refused_once(&a, small, reply, "max_response_bytes").await;
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn raw_post_a_200_that_is_not_json_is_a_decode_error() {
    let a = serving(&["m"]);
    let reply = Reply::text(200, "text/html", "<html>captive portal</html>");
    refused_once(&a, backend(&a), reply, "captive portal").await;
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn raw_post_fails_over_from_a_body_shorter_than_its_content_length() {
    let a = serving(&["m"]);
    let b = serving(&["m"]);
    let r = pair(backend(&a), &b).await;
    // `cut`: the full length announced, half the body sent, then the socket closed.
    a.enqueue(Reply::json(200, r#"{"id":"from-a","choices":[]}"#).cut());
    let out = raw_chat(&r).await.unwrap();
    assert_eq!(out.value["object"], "chat.completion", "{}", out.value);
    assert_eq!(calls(&a, "/v1/chat/completions"), 1);
    assert_eq!(calls(&b, "/v1/chat/completions"), 1);
    // A claim of 100 GB (past any limit), a few bytes, then the socket closed, from both:
    // nothing is allocated for the claim, each is a connection error failed over, and the
    // third attempt (the budget's last) gets the built-in answer.
    for s in [&a, &b] {
        s.enqueue(
            Reply::json(200, r#"{"id":"liar"}"#)
                .header("content-length", "100000000000")
                .close(),
        );
    }
    let out = raw_chat(&r).await.unwrap();
    assert_eq!(out.value["object"], "chat.completion", "{}", out.value);
    assert_eq!(
        calls(&a, "/v1/chat/completions") + calls(&b, "/v1/chat/completions"),
        2 + 3
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn raw_post_a_content_length_shorter_than_the_body_does_not_leak_into_the_next_call() {
    let a = serving(&["m"]);
    let r = Router::builder().backend(backend(&a)).build();
    r.refresh().await.unwrap();
    // The first 9 bytes are a whole JSON value; the rest, sent on the kept-alive connection,
    // looks like an HTTP response of its own.
    let smuggled = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 17\r\n\r\n{\"smuggled\":true}";
    a.enqueue(Reply::json(200, format!(r#"{{"a":1}}  {smuggled}"#)).header("content-length", "9"));
    let first = raw_chat(&r).await.unwrap();
    assert_eq!(first.value, serde_json::json!({"a": 1}));
    // The next call gets its own answer, never the bytes left over from the first.
    let next = raw_chat(&r).await;
    match next {
        Ok(out) => assert_eq!(out.value["object"], "chat.completion", "{}", out.value),
        Err(e) => assert!(matches!(e, oai_compat::Error::Connection(_)), "{e:?}"),
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn raw_post_follows_a_redirect_elsewhere_without_the_key() {
    let a = serving(&["m"]);
    let elsewhere = serving(&["m"]);
    let keyed = support::builder(&a)
        .api_key("sk-router-secret")
        .build()
        .unwrap();
    let r = Router::builder().backend(keyed).build();
    r.refresh().await.unwrap();
    a.enqueue(Reply::redirect(
        307,
        &format!("{}/chat/completions", elsewhere.url()),
    ));
    let out = raw_chat(&r).await.unwrap();
    assert_eq!(out.value["object"], "chat.completion");
    let there = elsewhere.requests();
    let req = there
        .iter()
        .find(|q| q.path == "/v1/chat/completions")
        .unwrap();
    assert_eq!(req.header("authorization"), None);
    // The body went along (307 keeps the method and body).
    assert_eq!(req.json().unwrap()["model"], "m");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn raw_post_fails_over_from_a_stalled_server_within_its_timeout() {
    let stalls = [
        // Never answers.
        Reply::hang(),
        // Headers at once, then a byte every 100 ms: 32 bytes would take 3 s.
        Reply::json(200, r#"{"id":"from-a","choices":[]}   "#)
            .trickle(std::time::Duration::from_millis(100)),
    ];
    for stall in stalls {
        let a = serving(&["m"]);
        let b = serving(&["m"]);
        let quick = support::builder(&a)
            .timeout(std::time::Duration::from_millis(300))
            .build()
            .unwrap();
        let r = pair(quick, &b).await;
        a.enqueue(stall);
        let t = std::time::Instant::now();
        let out = raw_chat(&r).await.unwrap();
        assert_eq!(out.value["object"], "chat.completion", "{}", out.value);
        let took = t.elapsed();
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
        assert_eq!(calls(&b, "/v1/chat/completions"), 1);
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_backend_whose_model_list_stalls_holds_up_a_refresh_5_s_at_most() {
    let (a, b) = (serving(&["m"]), serving(&["m"]));
    // `a` has a 30 s request timeout and stalls on its first request, the refresh's /models.
    a.enqueue(Reply::hang());
    let slow = Client::builder()
        .base_url(a.url())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let r = Router::builder().backend(slow).backend(backend(&b)).build();
    let started = std::time::Instant::now();
    let out = raw_chat(&r).await.unwrap();
    let took = started.elapsed();
    assert_eq!(out.meta.status, 200);
    assert!(
        took < std::time::Duration::from_secs(10),
        "the stalled /models held the call for {took:?}"
    );
}
