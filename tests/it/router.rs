//! Router: several servers, routed by model, with failover and one retry budget.

use crate::support;

use oai_compat::types::{ChatCompletionRequest, EmbeddingRequest, Message};
use oai_compat::{Client, Router};
use oai_compat_mock::{MockServer, Reply};
use support::server;

fn backend(srv: &MockServer) -> Client {
    support::builder(srv).build().unwrap()
}

fn serving(models: &[&str]) -> MockServer {
    let s = server();
    s.set_models(models.iter().copied());
    s
}

fn chat(model: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new(model, [Message::user("hi")])
}

fn calls(srv: &MockServer, path: &str) -> usize {
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
