//! Every call is bounded: one deadline per attempt (redirect hops and error bodies included),
//! redirect loops are final, and an oversized error body is still reported.

use crate::support;

use std::time::{Duration, Instant};

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat_mock::Reply;
use support::{MODEL, builder, server};

fn chat() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user("hi")])
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_redirect_loop_is_one_final_error_within_the_timeout() {
    let srv = server();
    // Loops back to itself for ever, and asks to be retried.
    srv.enqueue_all(vec![
        Reply::redirect(307, "/v1/chat/completions")
            .header("x-should-retry", "true");
        40
    ]);
    let c = builder(&srv)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let t = Instant::now();
    let err = c.chat().create(chat()).await.unwrap_err();
    // The issue's report: a 2 s timeout became 31 s and 18 POSTs.
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(err.status(), Some(307), "{err:?}");
    assert!(!err.is_retryable(), "{err:?}");
    assert_eq!(err.retries_taken(), 0);
    assert!(err.to_string().contains("redirect loop"), "{err}");
    assert_eq!(srv.request_count(), 6, "the first request and 5 hops, once");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_error_body_over_1_mib_is_still_reported() {
    let srv = server();
    let pad = "x".repeat(3 * 1024 * 1024);
    let body = format!(
        r#"{{"error":{{"message":"prompt too long","type":"BadRequestError","code":400,"pad":"{pad}"}}}}"#
    );
    srv.enqueue(Reply::json(400, body.clone()));
    srv.enqueue(Reply::json(400, body));
    let c = builder(&srv).build().unwrap();
    let err = c.chat().create(chat()).await.unwrap_err();
    let stream_err = c.chat().create_stream(chat()).await.unwrap_err();
    for e in [err, stream_err] {
        assert_eq!(e.status(), Some(400));
        let oai_compat::Error::Api(api) = &e else {
            panic!("{e:?}")
        };
        // The JSON is cut at 1 MiB, so the message is the start of the body as text.
        assert!(api.message.contains("prompt too long"), "{}", api.message);
        assert!(
            api.body
                .starts_with(r#"{"error":{"message":"prompt too long""#)
        );
        assert!(api.body.len() <= 64 * 1024);
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_body_over_the_limit_names_the_endpoint_and_the_setting() {
    let srv = server();
    srv.enqueue(Reply::json(
        200,
        format!(r#"{{"id":"{}"}}"#, "x".repeat(4096)),
    ));
    let c = builder(&srv).max_response_bytes(1024).build().unwrap();
    let err = c.chat().create(chat()).await.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, oai_compat::Error::Decode(_)), "{err:?}");
    assert!(!msg.contains("response response"), "{msg}");
    assert!(
        msg.contains("could not decode the chat completion response"),
        "{msg}"
    );
    assert!(msg.contains("max_response_bytes (1024 bytes)"), "{msg}");
}
