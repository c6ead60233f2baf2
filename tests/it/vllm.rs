//! vLLM's own endpoints (server root, not `/v1`) against the mock.

use crate::support;

use oai_compat::types::{DetokenizeRequest, Message, RerankRequest, ScoreRequest, TokenizeRequest};
use oai_compat_mock::Reply;
use support::{MODEL, client, server};

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn health_and_version_live_at_the_root() {
    let srv = server();
    let c = client(&srv);
    c.vllm().health().await.unwrap();
    let v = c.vllm().version().await.unwrap();
    assert_eq!(v.version, "0.0.0-mock");
    let paths: Vec<String> = srv.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/health", "/version"]);
    srv.enqueue(Reply::error(503, "engine dead"));
    let err = oai_compat::Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(srv.url())
        .max_retries(0)
        .build()
        .unwrap()
        .vllm()
        .health()
        .await
        .unwrap_err();
    assert!(err.is_overloaded(), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn tokenize_then_detokenize_round_trips() {
    let srv = server();
    let c = client(&srv);
    let t = c
        .vllm()
        .tokenize(&TokenizeRequest::text(MODEL, "hello big world"))
        .await
        .unwrap();
    assert_eq!(t.count, 3);
    assert_eq!(t.tokens.len(), 3);
    let back = c
        .vllm()
        .detokenize(&DetokenizeRequest::new(MODEL, t.tokens.clone()))
        .await
        .unwrap();
    assert_eq!(back.prompt, "hello big world");
    let chat = c
        .vllm()
        .tokenize(&TokenizeRequest::chat(MODEL, [Message::user("hi there")]))
        .await
        .unwrap();
    assert!(chat.count >= 2);
    let reqs = srv.requests();
    assert_eq!(reqs[0].path, "/tokenize");
    assert_eq!(reqs[1].path, "/detokenize");
    assert_eq!(
        reqs[2].json().unwrap()["messages"][0]["content"],
        "hi there"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn tokenize_needs_exactly_one_input() {
    let srv = server();
    let c = client(&srv);
    let mut both = TokenizeRequest::text(MODEL, "x");
    both.messages = Some(vec![Message::user("y")]);
    let err = c.vllm().tokenize(&both).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("exactly one of `prompt` and `messages`"),
        "{err}"
    );
    let none = TokenizeRequest::default();
    let res = c.vllm().tokenize(&none).await;
    assert!(res.is_err());
    assert_eq!(srv.request_count(), 0, "invalid requests must not be sent");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn score_and_rerank_are_sent_and_decoded() {
    let srv = server();
    srv.enqueue_all([
        Reply::json(200, r#"{"id":"s","object":"list","created":1,"model":"m","data":[{"index":0,"object":"score","score":0.7},{"index":1,"object":"score","score":0.2}]}"#),
        Reply::json(200, r#"{"id":"r","model":"m","results":[{"index":1,"document":{"text":"b"},"relevance_score":0.9}]}"#),
    ]);
    let c = client(&srv);
    let s = c
        .vllm()
        .score(&ScoreRequest::new(MODEL, "q", ["a", "b"]))
        .await
        .unwrap();
    assert_eq!(s.data.len(), 2);
    assert!(s.data[0].score > s.data[1].score);
    let mut rr = RerankRequest::new(MODEL, "q", ["a", "b"]);
    rr.top_n = Some(1);
    let r = c.vllm().rerank(&rr).await.unwrap();
    assert_eq!(r.results[0].index, 1);
    let reqs = srv.requests();
    assert_eq!(reqs[0].path, "/score");
    assert_eq!(
        reqs[0].json().unwrap()["text_2"],
        serde_json::json!(["a", "b"])
    );
    assert_eq!(reqs[1].path, "/rerank");
    assert_eq!(reqs[1].json().unwrap()["top_n"], 1);
}

#[test]
fn root_is_the_base_url_without_v1() {
    let c = oai_compat::Client::builder()
        .use_env(false)
        .base_url("http://gpu:8000/v1")
        .build()
        .unwrap();
    assert_eq!(c.root_url(), "http://gpu:8000");
    let c = oai_compat::Client::builder()
        .use_env(false)
        .base_url("http://proxy/vllm/v1/")
        .build()
        .unwrap();
    assert_eq!(c.root_url(), "http://proxy/vllm");
}
