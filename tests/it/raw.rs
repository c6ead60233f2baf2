//! Raw JSON calls (`client.raw()`, `Router::raw_post`): any body sent as it is, the answer as
//! JSON with status and request id, through the same retries and errors as typed calls.

use crate::support;

use oai_compat::{Client, Error, RequestOptions, Router};
use oai_compat_mock::{MockServer, Reply};
use serde_json::json;
use support::{MODEL, client, server};

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn post_sends_the_body_as_given_and_returns_the_json_answer() {
    let srv = server();
    let body = json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": "raw call"}],
        "unknown_extension": {"x": [1, 2]},
        "max_tokens": 5,
    });
    let out = client(&srv)
        .raw()
        .with_options(RequestOptions::new().header("X-Request-Id", "trace-7"))
        .post("/chat/completions", &body)
        .await
        .unwrap();
    assert_eq!(out.meta.status, 200);
    assert_eq!(out.meta.request_id(), Some("trace-7"));
    assert_eq!(out.value["object"], "chat.completion");
    assert_eq!(
        out.value["choices"][0]["message"]["content"],
        "Mock reply to: raw call"
    );
    let req = &srv.requests()[0];
    assert_eq!(req.path, "/v1/chat/completions");
    assert_eq!(req.json().unwrap(), body, "the body went out unchanged");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn post_never_streams_and_merges_extra_body() {
    let srv = server();
    let body = json!({"model": MODEL, "prompt": "a b", "stream": true, "stream_options": {"include_usage": true}});
    let out = client(&srv)
        .raw()
        .with_options(RequestOptions::new().extra_body("max_tokens", 1))
        .post("/completions", &body)
        .await
        .unwrap();
    assert_eq!(out.value["choices"][0]["text"], "Mock");
    let sent = srv.requests()[0].json().unwrap();
    assert!(sent.get("stream").is_none(), "{sent}");
    assert!(sent.get("stream_options").is_none(), "{sent}");
    assert_eq!(sent["max_tokens"], 1);
    assert_eq!(sent["prompt"], "a b");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn get_returns_the_servers_object() {
    let srv = server();
    srv.set_models(["a", "b"]);
    let out = client(&srv).raw().get("/models").await.unwrap();
    assert_eq!(out.value["object"], "list");
    assert_eq!(out.value["data"][1]["id"], "b");
    assert_eq!(out.value["data"][0]["max_model_len"], 2048);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn http_errors_keep_status_code_and_body_and_are_retried() {
    let srv = server();
    srv.enqueue_all([
        Reply::error(503, "busy"),
        Reply::json(
            400,
            r#"{"error":{"message":"bad temperature","type":"BadRequestError","param":"temperature","code":"invalid_value"}}"#,
        ),
    ]);
    let c = support::builder(&srv).max_retries(1).build().unwrap();
    let err = c
        .raw()
        .post("/chat/completions", &json!({"model": MODEL}))
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.message, "bad temperature");
    assert_eq!(api.code.as_ref().unwrap().to_string(), "invalid_value");
    assert!(
        api.body.contains("\"param\":\"temperature\""),
        "{}",
        api.body
    );
    assert_eq!(api.retries_taken, 1, "the 503 was retried");
    assert_eq!(srv.request_count(), 2);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_non_json_success_is_a_decode_error() {
    let srv = server();
    srv.enqueue(Reply::json(200, "<html>proxy page</html>"));
    let err = client(&srv)
        .raw()
        .post("/embeddings", &json!({"model": MODEL, "input": "x"}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(err.to_string().contains("proxy page"), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn bad_bodies_and_paths_fail_before_sending() {
    let srv = server();
    let c = client(&srv);
    let err = c
        .raw()
        .post("/completions", &json!([1, 2]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    assert!(
        err.to_string().contains("JSON object, not an array"),
        "{err}"
    );
    for path in [
        "completions",
        "/a b",
        "/x?y=1",
        "/v1/../health",
        "/x\r\nEvil: 1",
    ] {
        let err = c.raw().post(path, &json!({})).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{path:?}: {err:?}");
        let err = c.raw().get(path).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{path:?}: {err:?}");
    }
    assert_eq!(srv.request_count(), 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn post_stream_yields_json_events_and_keeps_stream_options() {
    let srv = server();
    let body = json!({"model": MODEL, "messages": [{"role": "user", "content": "a b"}],
                      "stream_options": {"include_usage": true}});
    let mut stream = client(&srv)
        .raw()
        .post_stream("/chat/completions", &body)
        .await
        .unwrap();
    let mut text = String::new();
    let mut usage = None;
    while let Some(event) = stream.try_next().await.unwrap() {
        if let Some(t) = event["choices"][0]["delta"]["content"].as_str() {
            text.push_str(t);
        }
        if !event["usage"].is_null() {
            usage = Some(event["usage"]["completion_tokens"].clone());
        }
    }
    assert_eq!(text, "Mock reply to: a b");
    assert_eq!(usage, Some(json!(5)));
    let sent = srv.requests()[0].json().unwrap();
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn post_stream_reads_named_events_up_to_a_final_one() {
    let srv = server();
    // The Responses API's shape: named events, no `[DONE]`.
    srv.enqueue(
        Reply::sse()
            .raw("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hel\"}\n\n")
            .raw("event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"lo\"}\n\n")
            .raw("event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\"}}\n\n"),
    );
    let body = json!({"model": MODEL, "input": "hi", "stream": false});
    let mut stream = client(&srv)
        .raw()
        .post_stream("/responses", &body)
        .await
        .unwrap();
    let mut text = String::new();
    let done = loop {
        let event = stream.try_next().await.unwrap().expect("a final event");
        match event["type"].as_str() {
            Some("response.output_text.delta") => text.push_str(event["delta"].as_str().unwrap()),
            Some("response.completed") => break event,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(text, "Hello");
    assert_eq!(done["response"]["status"], "completed");
    assert_eq!(
        srv.requests()[0].json().unwrap()["stream"],
        true,
        "the client sets it"
    );
    // An `error` event ends the stream with an error.
    srv.enqueue(Reply::sse().raw(
        "event: error\ndata: {\"type\":\"error\",\"code\":\"server_error\",\"message\":\"boom\"}\n\n",
    ));
    let mut stream = client(&srv)
        .raw()
        .post_stream("/responses", &body)
        .await
        .unwrap();
    let err = stream.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Stream(_)), "{err:?}");
    assert!(err.to_string().contains("boom"), "{err}");
}

fn serving(models: &[&str]) -> MockServer {
    let s = server();
    s.set_models(models.iter().copied());
    s
}

fn backend(srv: &MockServer) -> Client {
    support::builder(srv).build().unwrap()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn router_raw_post_routes_by_model_and_fails_over() {
    let chat_a = serving(&["llm"]);
    let chat_b = serving(&["llm"]);
    let embed = serving(&["minilm"]);
    let r = Router::builder()
        .backend(backend(&chat_a))
        .backend(backend(&chat_b))
        .backend(backend(&embed))
        .build();
    let out = r
        .raw_post(
            "minilm",
            "/embeddings",
            &json!({"model": "minilm", "input": ["a"]}),
        )
        .await
        .unwrap();
    assert_eq!(out.value["data"][0]["index"], 0);
    assert!(out.meta.request_id().is_some());
    assert_eq!(embed.requests().last().unwrap().path, "/v1/embeddings");
    // Both chat servers answer 503 once: the call fails over from one to the other, then
    // (after a backoff) the first answers.
    chat_a.enqueue(Reply::error(503, "overloaded"));
    chat_b.enqueue(Reply::error(503, "overloaded"));
    let body = json!({"model": "llm", "messages": [{"role": "user", "content": "hi"}]});
    let out = r.raw_post("llm", "/chat/completions", &body).await.unwrap();
    assert_eq!(out.meta.status, 200);
    assert_eq!(out.value["model"], "llm");
    let chat_calls = |s: &MockServer| {
        s.requests()
            .iter()
            .filter(|q| q.path == "/v1/chat/completions")
            .count()
    };
    assert!(
        chat_calls(&chat_a) >= 1 && chat_calls(&chat_b) >= 1,
        "both servers were tried"
    );
    assert_eq!(chat_calls(&chat_a) + chat_calls(&chat_b), 3);
    // A model no backend serves is an error naming the known ones; nothing is sent.
    let err = r
        .raw_post("nope", "/chat/completions", &body)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("llm"), "{err}");
    assert_eq!(chat_calls(&chat_a) + chat_calls(&chat_b), 3);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn post_text_sends_the_members_as_written_and_keeps_the_answer_as_text() {
    use serde_json::value::RawValue;
    let srv = server();
    // Number spellings, key order, escapes and white space inside values are kept to the
    // byte; `stream` and `stream_options` go, wherever they stand.
    let text = r#"{"stream": true, "model": "MODEL", "input": [15, 2],
        "spelled": [1.50, 2e3, -0], "note": "\u00e9\/x", "stream_options": {"include_usage": true}, "nested": {"b": 1, "a": [ ]}}"#
        .replace("MODEL", MODEL);
    let body: &RawValue = serde_json::from_str(&text).unwrap();
    let out = client(&srv)
        .raw()
        .post_text("/embeddings", body)
        .await
        .unwrap();
    assert_eq!(out.meta.status, 200);
    let answer: serde_json::Value = serde_json::from_str(out.value.get()).unwrap();
    assert_eq!(answer["object"], "list");
    let sent = String::from_utf8(srv.requests()[0].body.clone()).unwrap();
    assert_eq!(
        sent,
        format!(
            r#"{{"model":"{MODEL}","input":[15, 2],"spelled":[1.50, 2e3, -0],"note":"\u00e9\/x","nested":{{"b": 1, "a": [ ]}}}}"#
        )
    );
    // Extra body keys win, as for `post`.
    let out = client(&srv)
        .raw()
        .with_options(RequestOptions::new().extra_body("input", "y"))
        .post_text("/embeddings", body)
        .await
        .unwrap();
    assert_eq!(out.meta.status, 200);
    let sent = srv.requests()[1].json().unwrap();
    assert_eq!(
        (sent["input"].as_str(), sent.get("stream")),
        (Some("y"), None)
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn post_text_refuses_what_is_not_an_object_and_reports_errors_like_post() {
    use serde_json::value::RawValue;
    let srv = server();
    let c = client(&srv);
    for (text, kind) in [
        ("[1]", "an array"),
        (" \"x\"", "a string"),
        ("null", "null"),
        ("true", "a boolean"),
        ("-1", "a number"),
    ] {
        let body: &RawValue = serde_json::from_str(text).unwrap();
        let err = c.raw().post_text("/completions", body).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
        assert!(
            err.to_string()
                .contains(&format!("must be a JSON object, not {kind}")),
            "{err}"
        );
    }
    assert_eq!(srv.request_count(), 0);
    let body: &RawValue = serde_json::from_str(r#"{"model":"m"}"#).unwrap();
    srv.enqueue(Reply::json(200, "<html>proxy page</html>"));
    let err = c.raw().post_text("/completions", body).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    srv.enqueue(Reply::json(
        404,
        r#"{"error":{"message":"no such model","code":"model_not_found"}}"#,
    ));
    let err = c.raw().post_text("/completions", body).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn router_raw_post_text_routes_by_model() {
    use serde_json::value::RawValue;
    let (a, b) = (server(), server());
    a.set_models(["model-a"]);
    b.set_models(["model-b"]);
    let router = Router::from_urls([a.url().as_str(), b.url().as_str()]).unwrap();
    let body: &RawValue =
        serde_json::from_str(r#"{"model":"model-b","prompt":"hi","max_tokens":1}"#).unwrap();
    let out = router
        .raw_post_text("model-b", "/completions", body)
        .await
        .unwrap();
    assert!(
        out.value.get().contains("\"text_completion\""),
        "{}",
        out.value.get()
    );
    let posts = |s: &MockServer| s.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!((posts(&a), posts(&b)), (0, 1));
}
