//! Request ids: every call carries an id of the client's own under `X-Request-Id` (vLLM,
//! vllm-router) and `X-Client-Request-Id` (OpenAI), one per call and the same on its retries;
//! a call can name its own; the builder can turn the generated ones off.

use crate::support;

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat::{Error, RequestOptions};
use oai_compat_mock::Reply;
use support::{MODEL, builder, client, server};

fn chat() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user("hi")])
}

/// The ids a recorded request carried, under each name.
fn ids(r: &oai_compat_mock::RecordedRequest) -> (Option<String>, Option<String>) {
    (
        r.header("x-request-id").map(str::to_owned),
        r.header("x-client-request-id").map(str::to_owned),
    )
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn every_call_has_its_own_id_kept_across_retries() {
    let srv = server();
    srv.enqueue(Reply::error(503, "busy").header("retry-after-ms", "1"));
    let c = client(&srv);
    let first = c.chat().create_with_meta(chat()).await.unwrap();
    let second = c.chat().create_with_meta(chat()).await.unwrap();
    let stream = c.chat().create_stream(chat()).await.unwrap();
    let streamed = stream.meta().client_request_id.clone();
    drop(stream);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 4, "a retry, then two more calls");
    let (a, a_client) = ids(&reqs[0]);
    let a = a.expect("the first attempt carries an id");
    assert_eq!(a_client.as_deref(), Some(a.as_str()), "one id, both names");
    assert_eq!(
        ids(&reqs[1]).0.as_deref(),
        Some(a.as_str()),
        "a retry keeps it"
    );
    assert_eq!(first.meta.client_request_id.as_deref(), Some(a.as_str()));
    assert_eq!(first.meta.retries_taken, 1);
    let b = ids(&reqs[2]).0.unwrap();
    assert_ne!(a, b, "another call, another id");
    assert_eq!(second.meta.client_request_id.as_deref(), Some(b.as_str()));
    assert_eq!(ids(&reqs[3]).0, streamed, "a stream's call too");
    assert!(a.starts_with("oai-") && a.len() == 28, "{a}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_call_names_its_own_id_and_a_bad_one_is_never_sent() {
    let srv = server();
    let c = client(&srv);
    let r = c
        .chat()
        .with_options(RequestOptions::new().request_id("job-7/line-42"))
        .create_with_meta(chat())
        .await
        .unwrap();
    assert_eq!(r.meta.client_request_id.as_deref(), Some("job-7/line-42"));
    let (id, client_id) = ids(&srv.requests()[0]);
    assert_eq!(id.as_deref(), Some("job-7/line-42"));
    assert_eq!(client_id.as_deref(), Some("job-7/line-42"));
    for bad in ["", "a\r\nx-evil: 1", "two words", "caf\u{e9}"] {
        let e = c
            .chat()
            .with_options(RequestOptions::new().request_id(bad))
            .create(chat())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Config(_)), "{bad:?}: {e}");
        assert!(e.to_string().contains("request id"), "{e}");
    }
    assert_eq!(srv.request_count(), 1, "no bad id reached the server");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn ids_can_be_turned_off_and_a_set_header_is_kept() {
    let srv = server();
    let off = builder(&srv).request_ids(false).build().unwrap();
    let r = off.chat().create_with_meta(chat()).await.unwrap();
    assert_eq!(r.meta.client_request_id, None);
    assert_eq!(ids(&srv.requests()[0]), (None, None));
    // A call's own id is still sent.
    off.chat()
        .with_options(RequestOptions::new().request_id("mine"))
        .create(chat())
        .await
        .unwrap();
    assert_eq!(ids(&srv.requests()[1]).0.as_deref(), Some("mine"));
    // An X-Request-Id header set on the builder is the id, sent once under each name.
    let fixed = builder(&srv)
        .header("X-Request-Id", "trace-1")
        .build()
        .unwrap();
    let r = fixed.chat().create_with_meta(chat()).await.unwrap();
    assert_eq!(r.meta.client_request_id.as_deref(), Some("trace-1"));
    let (id, client_id) = ids(&srv.requests()[2]);
    assert_eq!(
        (id.as_deref(), client_id.as_deref()),
        (Some("trace-1"), Some("trace-1"))
    );
}
