//! Behind vllm-router (vLLM's own load balancer, PyPI `vllm-router` 0.1.17), the real one in
//! front of the two real tiny-llama vLLM servers (`scripts/servers.sh start router`), and a
//! second one with small limits in front of one of them. Ignored unless run with
//! `--ignored`; then the routers and their workers must answer.
//!
//! What differs from talking to vLLM directly is asserted here as the router sends it (the
//! guide's vLLM chapter, docs/guide/vllm.md, lists it under "Behind vllm-router");
//! `vllm_router` checks the same answers byte for byte against the mock.

use crate::live;

use std::time::{Duration, Instant};

use live::{CHAT_MODEL, EMBED_MODEL};
use oai_compat::types::{
    ChatCompletionRequest, Completion, CompletionRequest, EmbeddingRequest, FinishReason, Message,
    ResponseRequest, ResponseStreamEvent,
};
use oai_compat::{
    ApiError, ChatCompletionAccumulator, Client, Error, RequestOptions, Response, StreamErrorKind,
};

/// A client for the router with `retries` retries.
fn router(retries: u32) -> Client {
    client(&live::vllm_router_url(), retries)
}

/// A client for the router with small limits.
fn limits(retries: u32) -> Client {
    client(&live::vllm_router_limits_url(), retries)
}

fn client(url: &str, retries: u32) -> Client {
    Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(url)
        .timeout(Duration::from_secs(120))
        .max_retries(retries)
        .build()
        .unwrap()
}

fn chat_req(text: &str, max_tokens: u32) -> ChatCompletionRequest {
    let mut r = ChatCompletionRequest::new(CHAT_MODEL, [Message::user(text)]);
    r.max_tokens = Some(max_tokens);
    r.temperature = Some(0.0);
    // The tiny model is random and rebuilt per machine: an early EOS must not change counts.
    r.vllm.ignore_eos = Some(true);
    r
}

/// A completion the tiny model takes well over a second to write (8 x 480 tokens, measured
/// 1.8 s on an idle 2-core machine), so it outlives the limited router's 1 s worker timeout.
fn slow_completion() -> CompletionRequest {
    let mut r = CompletionRequest::new(CHAT_MODEL, "Once upon a time");
    r.max_tokens = Some(480);
    r.n = Some(8);
    r.vllm.ignore_eos = Some(true);
    r
}

fn quick_completion(i: usize) -> CompletionRequest {
    let mut r = CompletionRequest::new(CHAT_MODEL, format!("Line {i}"));
    r.max_tokens = Some(1);
    r
}

/// The typed API error, or a panic naming what came instead.
fn api(err: &Error) -> &ApiError {
    match err {
        Error::Api(api) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The router's own request id: the prefix it chose for the route and 24 letters or digits.
fn is_router_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 24 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Whether `id` is one this client made up (`oai-<24 hex>`, see `ClientBuilder::request_ids`):
/// the router forwards the client's `X-Request-Id` and answers under it.
fn is_client_id(id: &str) -> bool {
    id.strip_prefix("oai-")
        .is_some_and(|rest| rest.len() == 24 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

type Outcome = Result<Response<Completion>, Error>;

/// How long the requests after the first wait, so the first holds the limited router's slot
/// when they arrive.
const AFTER_FIRST: Duration = Duration::from_millis(200);

/// Each request with its client, one thread or task each: the first at once, the others
/// `AFTER_FIRST` later, all together. The outcomes in order.
#[cfg(feature = "blocking")]
fn burst(reqs: Vec<(Client, CompletionRequest)>) -> Vec<Outcome> {
    std::thread::scope(|s| {
        let handles: Vec<_> = reqs
            .iter()
            .enumerate()
            .map(|(i, (c, r))| {
                s.spawn(move || {
                    if i > 0 {
                        std::thread::sleep(AFTER_FIRST);
                    }
                    c.completions().create_with_meta(r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Each request with its client, one thread or task each: the first at once, the others
/// `AFTER_FIRST` later, all together. The outcomes in order.
#[cfg(not(feature = "blocking"))]
async fn burst(reqs: Vec<(Client, CompletionRequest)>) -> Vec<Outcome> {
    let handles: Vec<_> = reqs
        .into_iter()
        .enumerate()
        .map(|(i, (c, r))| {
            tokio::spawn(async move {
                if i > 0 {
                    tokio::time::sleep(AFTER_FIRST).await;
                }
                c.completions().create_with_meta(&r).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vllm-router and its vLLM workers: bash scripts/servers.sh start router"]
async fn chat_is_vllms_answer_under_the_routers_request_id() {
    let req = chat_req("Tell me about the sea", 8);
    let direct = live::live(&live::vllm_chat_url())
        .chat()
        .create(&req)
        .await
        .unwrap();
    // Round robin: two calls in a row reach both workers; greedy decoding on the same
    // weights gives the same text from each.
    for _ in 0..2 {
        let out = router(0).chat().create_with_meta(&req).await.unwrap();
        assert_eq!(out.text(), direct.text());
        assert_eq!(out.model, CHAT_MODEL);
        assert_eq!(out.choices[0].finish_reason, Some(FinishReason::Length));
        assert_eq!(out.usage.as_ref().unwrap().completion_tokens, Some(8));
        // The client's own id went out as X-Request-Id: the router forwarded it, answers
        // under it, and vLLM named its request after it.
        let id = out.meta.request_id().unwrap();
        assert!(is_client_id(id), "{id}");
        assert_eq!(Some(id), out.meta.client_request_id.as_deref());
        assert_eq!(out.id, format!("chatcmpl-{id}"));
    }
    // Without an id from the client, the router makes one up per request; the body's id is
    // the worker's and unrelated to it.
    let anonymous = Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(live::vllm_router_url())
        .request_ids(false)
        .build()
        .unwrap();
    let out = anonymous.chat().create_with_meta(&req).await.unwrap();
    let id = out.meta.request_id().unwrap();
    assert!(is_router_id(id, "chatcmpl-"), "{id}");
    assert!(
        out.id.starts_with("chatcmpl-") && !out.id.contains(&id[9..]),
        "{}",
        out.id
    );
    // A caller's X-Request-Id is kept by the router and forwarded: vLLM then uses it too.
    let out = router(0)
        .chat()
        .with_options(RequestOptions::new().header("X-Request-Id", "oai-router-test-1"))
        .create_with_meta(&req)
        .await
        .unwrap();
    assert_eq!(out.meta.request_id(), Some("oai-router-test-1"));
    assert_eq!(out.id, "chatcmpl-oai-router-test-1");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vllm-router and its vLLM workers: bash scripts/servers.sh start router"]
async fn streams_and_completions_pass_through() {
    let req = chat_req("Tell me a story", 10);
    let full = router(0).chat().create(&req).await.unwrap();
    let mut s = router(0).chat().create_stream(&req).await.unwrap();
    let mut acc = ChatCompletionAccumulator::new();
    while let Some(chunk) = s.try_next().await.unwrap() {
        acc.push(&chunk);
    }
    // `data: [DONE]` arrived through the router (the stream only ends on it).
    assert!(s.is_finished());
    let got = acc.finish();
    assert_eq!(got.text(), full.text());
    assert_eq!(got.choices[0].finish_reason, Some(FinishReason::Length));

    let mut c = CompletionRequest::new(CHAT_MODEL, "Once upon a time");
    c.max_tokens = Some(6);
    c.temperature = Some(0.0);
    c.vllm.ignore_eos = Some(true);
    let direct = live::live(&live::vllm_chat_url())
        .completions()
        .create(&c)
        .await
        .unwrap();
    let out = router(0).completions().create_with_meta(&c).await.unwrap();
    assert_eq!(out.text(), direct.text());
    assert!(is_client_id(out.meta.request_id().unwrap()));
    let mut s = router(0).completions().create_stream(&c).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = s.try_next().await.unwrap() {
        text.push_str(chunk.text());
    }
    assert_eq!(text, direct.text());
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vllm-router and its vLLM workers: bash scripts/servers.sh start router"]
async fn responses_and_models_pass_through() {
    let mut r = ResponseRequest::new(CHAT_MODEL, "Hello there");
    r.max_output_tokens = Some(6);
    r.temperature = Some(0.0);
    r.vllm.ignore_eos = Some(true);
    let out = router(0).responses().create_with_meta(&r).await.unwrap();
    assert!(out.id.starts_with("resp_"), "{}", out.id);
    assert!(!out.output_text().is_empty());
    assert!(is_client_id(out.meta.request_id().unwrap()));
    let mut s = router(0).responses().create_stream(&r).await.unwrap();
    let mut deltas = String::new();
    let mut completed = false;
    while let Some(event) = s.try_next().await.unwrap() {
        deltas.push_str(event.text_delta().unwrap_or_default());
        completed |= matches!(event, ResponseStreamEvent::Completed(_));
    }
    assert!(completed);
    assert_eq!(deltas, out.output_text());

    // The model list is one worker's, passed through (the router has no list of its own).
    let via = router(0).models().list().await.unwrap();
    let direct = live::live(&live::vllm_chat_url())
        .models()
        .list()
        .await
        .unwrap();
    let ids =
        |l: &oai_compat::types::ModelList| l.data.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&via), ids(&direct));
    assert_eq!(ids(&via), [CHAT_MODEL]);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vllm-router and its vLLM workers: bash scripts/servers.sh start router"]
async fn embeddings_reach_a_chat_worker_that_has_no_such_route() {
    // The router serves /v1/embeddings by forwarding it to a worker: its workers here are
    // chat models, and vLLM registers no embeddings route for them, so FastAPI's 404 comes
    // back. One router fronts one pool of like workers.
    let err = router(2)
        .embeddings()
        .create(EmbeddingRequest::new(EMBED_MODEL, ["hello"]))
        .await
        .unwrap_err();
    assert!(err.is_not_found() && !err.is_retryable(), "{err:?}");
    let e = api(&err);
    assert_eq!(e.message, "Not Found");
    assert_eq!(e.body, r#"{"detail":"Not Found"}"#);
    assert_eq!(err.retries_taken(), 0);
    assert!(is_client_id(err.request_id().unwrap()));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vllm-router and its vLLM workers: bash scripts/servers.sh start router"]
async fn an_unknown_model_is_the_workers_404_not_the_routers() {
    // The router knows no model names (its workers are "unknown"), so it forwards the
    // request and vLLM's own answer comes back.
    let mut req = chat_req("x", 2);
    req.model = "no-such-model".into();
    let err = router(2).chat().create(&req).await.unwrap_err();
    assert!(err.is_not_found() && !err.is_retryable(), "{err:?}");
    let e = api(&err);
    assert_eq!(e.error_type.as_deref(), Some("NotFoundError"));
    assert_eq!(e.param.as_deref(), Some("model"));
    assert!(
        e.message
            .starts_with("The model `no-such-model` does not exist."),
        "{}",
        e.message
    );
    assert_eq!(err.retries_taken(), 0);
    assert!(is_client_id(err.request_id().unwrap()));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vllm-router and its vLLM workers: bash scripts/servers.sh start router"]
async fn a_body_the_router_cannot_read_is_its_own_422() {
    // The router decodes the body into its own request type before it forwards anything.
    let body = serde_json::json!({ "model": CHAT_MODEL });
    let err = router(2)
        .raw()
        .post("/chat/completions", &body)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert!(!err.is_retryable());
    let e = api(&err);
    assert!(
        e.message.starts_with(
            "Failed to deserialize the JSON body into the target type: missing field `messages`"
        ),
        "{}",
        e.message
    );
    assert_eq!(
        e.headers.get("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(err.retries_taken(), 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vllm-router and its vLLM workers: bash scripts/servers.sh start router"]
async fn the_routers_limits_are_typed_and_retried() {
    // One test, so nothing else holds the limited router's only slot meanwhile.
    let started = Instant::now();
    let err = limits(1)
        .completions()
        .create(slow_completion())
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(
        err.is_retryable() && !err.is_timeout() && !err.is_connection(),
        "{err:?}"
    );
    assert_eq!(err.retries_taken(), 1);
    let e = api(&err);
    assert_eq!(
        e.message,
        format!(
            "Request failed: error sending request for url ({}/v1/completions)",
            live::vllm_chat_url().trim_end_matches("/v1")
        )
    );
    assert_eq!(e.error_type, None);
    assert!(is_client_id(err.request_id().unwrap()));
    // Two attempts of the router's 1 s deadline each, and a backoff between them.
    assert!(
        started.elapsed() >= Duration::from_millis(2300),
        "{:?}",
        started.elapsed()
    );
    // One slow request holds the router's only slot (it ends in the 1 s worker timeout); six
    // quick ones arrive while it does. The router queues two, answers the rest 429 with a
    // Retry-After, and a queued one that waits 1 s gets 408. Without retries those answers
    // reach the caller, typed; with retries every quick request gets through.
    let mut reqs = vec![(limits(0), slow_completion())];
    reqs.extend((0..6).map(|i| (limits(0), quick_completion(i))));
    let out = burst(reqs).await;
    let mut refused = 0;
    for r in &out[1..] {
        match r {
            Ok(ok) => assert_eq!(ok.value.choices.len(), 1),
            Err(err) => {
                refused += 1;
                let e = api(err);
                assert!(err.is_retryable(), "{err:?}");
                match e.status {
                    429 => {
                        assert_eq!(e.body, "");
                        let after: u64 = e.headers.get("retry-after").unwrap().parse().unwrap();
                        assert!(after >= 1, "{after}");
                        assert_eq!(e.message, "Too Many Requests");
                    }
                    408 => {
                        assert_eq!(e.body, "");
                        assert_eq!(e.message, "Request Timeout");
                    }
                    // A quick request that got the slot but not its answer within the 1 s
                    // worker timeout (a CPU vLLM under load is slow to start it): the
                    // router's 500, as for the slow request above (seen once in CI).
                    500 => assert!(
                        e.message
                            .starts_with("Request failed: error sending request for url ("),
                        "{err:?}"
                    ),
                    other => panic!("unexpected status {other}: {err:?}"),
                }
            }
        }
    }
    assert!(refused > 0, "{out:?}");

    let mut reqs = vec![(limits(0), slow_completion())];
    reqs.extend((0..6).map(|i| (limits(8), quick_completion(i))));
    let out = burst(reqs).await;
    let mut retried = 0;
    for r in &out[1..] {
        let ok = r.as_ref().unwrap();
        assert_eq!(ok.value.choices.len(), 1);
        retried += ok.meta.retries_taken;
    }
    assert!(retried > 0);

    // The worker timeout is a total deadline, streams included: a stream that outlives it is
    // cut mid-body (the router ends its chunked body without its last chunk), after events
    // that arrived whole. The client reports the cut; a stream handed over is never retried.
    let mut s = limits(2)
        .completions()
        .create_stream(slow_completion())
        .await
        .unwrap();
    let mut events = 0;
    let err = loop {
        match s.try_next().await {
            Ok(Some(_)) => events += 1,
            Ok(None) => panic!("the stream ended normally after {events} events"),
            Err(e) => break e,
        }
    };
    assert!(events > 0);
    match &err {
        Error::Stream(e) => assert_eq!(e.kind, StreamErrorKind::Truncated, "{err:?}"),
        other => panic!("expected a cut stream, got {other:?}"),
    }
    assert!(is_client_id(err.request_id().unwrap()));
    assert_eq!(err.retries_taken(), 0);
}
