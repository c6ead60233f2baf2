//! Error bodies of every shape, and garbage from a server, on every endpoint.

use crate::support;

use oai_compat::types::{ChatCompletionRequest, CompletionRequest, EmbeddingRequest, Message};
use oai_compat::{Client, Error, ErrorCode};
use oai_compat_mock::Reply;
use support::{MODEL, builder, server};

fn no_retry(srv: &oai_compat_mock::MockServer) -> Client {
    builder(srv).max_retries(0).build().unwrap()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn vllm_error_body_is_parsed_with_int_code_and_param() {
    let srv = server();
    srv.enqueue(
        Reply::json(
            400,
            r#"{"error":{"message":"This model's maximum context length is 512 tokens.","type":"BadRequestError","param":"max_tokens","code":400}}"#,
        )
        .header("x-request-id", "req-42"),
    );
    let req = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    let err = no_retry(&srv).chat().create(&req).await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.param.as_deref(), Some("max_tokens"));
    assert_eq!(api.code, Some(ErrorCode::Int(400)));
    assert_eq!(api.request_id.as_deref(), Some("req-42"));
    assert_eq!(err.request_id(), Some("req-42"));
    assert!(api.body.contains("maximum context length"));
    assert_eq!(
        err.to_string(),
        "API error 400 (BadRequestError): This model's maximum context length is 512 tokens."
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn every_error_shape_keeps_status_and_message() {
    let cases: [(u16, &str, &str, &str); 6] = [
        (
            401,
            "application/json",
            r#"{"error":"Unauthorized"}"#,
            "Unauthorized",
        ),
        (
            404,
            "application/json",
            r#"{"object":"error","message":"The model `x` does not exist.","type":"NotFoundError","param":null,"code":404}"#,
            "The model `x` does not exist.",
        ),
        (
            404,
            "application/json",
            r#"{"detail":"Not Found"}"#,
            "Not Found",
        ),
        (
            401,
            "application/json",
            r#"{"error":{"message":"Incorrect API key provided: sk-...","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
            "Incorrect API key provided: sk-...",
        ),
        (
            502,
            "text/html",
            "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>",
            "502 Bad Gateway nginx",
        ),
        (503, "text/plain", "", "Service Unavailable"),
    ];
    for (status, ct, body, message) in cases {
        let srv = server();
        srv.enqueue(Reply::text(status, ct, body));
        let err = no_retry(&srv).models().list().await.unwrap_err();
        let Error::Api(api) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(api.status, status);
        assert_eq!(api.message, message, "body {body}");
        assert_eq!(api.body, body);
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn predicates_match_statuses() {
    let srv = server();
    for s in [401u16, 403, 404, 429, 503] {
        srv.enqueue(Reply::error(s, "x"));
    }
    let c = no_retry(&srv);
    let e = c.models().list().await.unwrap_err();
    assert!(e.is_auth() && !e.is_retryable());
    let e = c.models().list().await.unwrap_err();
    assert!(e.is_auth());
    let e = c.models().list().await.unwrap_err();
    assert!(e.is_not_found() && !e.is_auth());
    let e = c.models().list().await.unwrap_err();
    assert!(e.is_rate_limited() && e.is_retryable() && !e.is_overloaded());
    let e = c.models().list().await.unwrap_err();
    assert!(e.is_overloaded() && e.is_retryable() && !e.is_timeout());
}

/// Bodies a broken server or proxy may send with a 200.
const GARBAGE: [(&str, &str); 6] = [
    ("text/plain", "this is not json"),
    (
        "application/json",
        r#"{"id":"x","choices":[{"index":0,"message":{"content":"#,
    ),
    (
        "application/json",
        r#"{"choices":"not a list","data":7,"model":[]}"#,
    ),
    ("application/json", ""),
    ("text/html", "<html><body>Gateway says hi</body></html>"),
    ("application/json", "[1,2,3]"),
];

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn garbage_never_panics_on_any_endpoint() {
    for (ct, body) in GARBAGE {
        let srv = server();
        for _ in 0..4 {
            srv.enqueue(Reply::text(200, ct, body));
        }
        let c = no_retry(&srv);
        let errs = [
            c.models().list().await.err(),
            c.chat()
                .create(ChatCompletionRequest::new(MODEL, [Message::user("x")]))
                .await
                .err(),
            c.completions()
                .create(CompletionRequest::new(MODEL, "x"))
                .await
                .err(),
            c.embeddings()
                .create(EmbeddingRequest::new(MODEL, "x"))
                .await
                .err(),
        ];
        for (i, e) in errs.into_iter().enumerate() {
            let e = e.unwrap_or_else(|| panic!("endpoint {i} accepted {body:?}"));
            let Error::Decode(d) = &e else {
                panic!("endpoint {i}, {body:?}: {e:?}")
            };
            assert_eq!(d.body_excerpt, body, "endpoint {i}");
            assert!(e.to_string().contains("could not decode"), "{e}");
        }
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn base64_embedding_of_wrong_length_is_a_decode_error() {
    let srv = server();
    srv.enqueue(Reply::json(
        200,
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAAAAA="}],"model":"m"}"#,
    ));
    let e = no_retry(&srv)
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, "x"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Decode(_)), "{e:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn invalid_utf8_in_a_json_answer_is_a_decode_error_and_valid_text_decodes() {
    // The body is checked as UTF-8 as a whole before it is parsed: a valid non-ASCII answer
    // decodes, and a byte that is not UTF-8 (here inside the content) is still an error that
    // says where, as when each string was checked on its own.
    let srv = server();
    let answer = |content: &[u8]| {
        let mut body = br#"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":""#.to_vec();
        body.extend_from_slice(content);
        body.extend_from_slice(br#""},"finish_reason":"stop"}]}"#);
        body
    };
    srv.enqueue(Reply::text(
        200,
        "application/json",
        answer("héllo ✓".as_bytes()),
    ));
    srv.enqueue(Reply::text(200, "application/json", answer(b"h\xe9llo")));
    let c = no_retry(&srv);
    let req = ChatCompletionRequest::new(MODEL, vec![Message::user("x")]);
    let ok = c.chat().create(&req).await.unwrap();
    assert_eq!(ok.text(), Some("héllo ✓"));
    let e = c.chat().create(&req).await.unwrap_err();
    let Error::Decode(d) = &e else {
        panic!("{e:?}")
    };
    assert!(e.to_string().contains("could not decode"), "{e}");
    assert!(d.message.contains("line 1 column"), "{}", d.message);
}
