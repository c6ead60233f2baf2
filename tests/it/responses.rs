//! The Responses API against the mock, hostile streams included. Both modes.

use crate::support;

use oai_compat::types::{
    InputItem, OutputItem, ResponseRequest, ResponseStatus, ResponseStreamEvent,
    ResponseStreamOptions, ResponseTool, ResponseToolChoice, TextFormat,
};
use oai_compat::{Error, ResponseAccumulator, StreamErrorKind};
use oai_compat_mock::Reply;
use serde_json::{Value, json};
use support::{MODEL, client, server};

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn create_decodes_the_response_and_sends_only_what_is_set() {
    let srv = server();
    let mut req = ResponseRequest::new(MODEL, "what is rust");
    req.instructions = Some("be brief".into());
    req.temperature = Some(0.0);
    req.vllm.top_k = Some(4);
    req.extra.insert("my_flag".into(), json!(1));
    let out = client(&srv).responses().create(&req).await.unwrap();
    assert_eq!(out.status, Some(ResponseStatus::Completed));
    assert_eq!(out.output_text(), "Mock reply to: what is rust");
    assert!(out.id.starts_with("resp_"));
    assert_eq!(out.object, "response");
    let usage = out.usage.as_ref().unwrap();
    assert_eq!(usage.input_tokens, 5);
    assert_eq!(usage.output_tokens, 6);
    assert!(out.extra.contains_key("kv_transfer_params"));
    let body = srv.requests()[0].json().unwrap();
    assert_eq!(srv.requests()[0].path, "/v1/responses");
    assert_eq!(body["input"], "what is rust");
    assert_eq!(body["instructions"], "be brief");
    assert_eq!(body["top_k"], 4);
    assert_eq!(body["my_flag"], 1);
    for absent in ["stream", "stream_options", "tools", "max_output_tokens"] {
        assert!(body.get(absent).is_none(), "{absent} sent: {body}");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn max_output_tokens_makes_it_incomplete_with_the_reason() {
    let srv = server();
    let mut req = ResponseRequest::new(MODEL, vec![InputItem::user("one two three four")]);
    req.max_output_tokens = Some(2);
    let out = client(&srv).responses().create(&req).await.unwrap();
    assert_eq!(out.status, Some(ResponseStatus::Incomplete));
    assert_eq!(out.incomplete_reason(), Some("max_output_tokens"));
    assert_eq!(out.output_text(), "Mock reply");
    assert_eq!(srv.requests()[0].json().unwrap()["max_output_tokens"], 2);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn stream_yields_named_events_in_order_and_rebuilds_the_response() {
    let srv = server();
    let c = client(&srv);
    let mut req = ResponseRequest::new(MODEL, "tell me a story");
    req.stream_options = Some(ResponseStreamOptions {
        include_obfuscation: Some(false),
        ..Default::default()
    });
    let plain = c.responses().create(&req).await.unwrap();
    let mut stream = c.responses().create_stream(&req).await.unwrap();
    let mut kinds = Vec::new();
    let mut deltas = String::new();
    let mut acc = ResponseAccumulator::new();
    let mut last_seq = -1;
    while let Some(event) = stream.try_next().await.unwrap() {
        let seq = event.sequence_number().unwrap();
        assert!(seq > last_seq, "sequence numbers must grow");
        last_seq = seq;
        kinds.push(event.kind().to_owned());
        deltas.push_str(event.text_delta().unwrap_or_default());
        acc.push(&event);
    }
    assert!(stream.is_finished());
    // vLLM's order: one delta per token (a word for the mock).
    let words = plain.output_text().split_whitespace().count();
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ];
    expected.extend(std::iter::repeat_n("response.output_text.delta", words));
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(kinds, expected);
    assert_eq!(deltas, plain.output_text());
    let rebuilt = acc.into_response();
    assert_eq!(rebuilt.output_text(), deltas);
    assert_eq!(rebuilt.status, Some(ResponseStatus::Completed));
    assert!(rebuilt.usage.is_some());
    let body = srv.requests()[1].json().unwrap();
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["stream_options"],
        json!({"include_obfuscation": false})
    );
    // final_response() does the same in one call.
    let fin = c
        .responses()
        .create_stream(&req)
        .await
        .unwrap()
        .final_response()
        .await
        .unwrap();
    assert_eq!(fin.output_text(), deltas);
}

fn named(reply: Reply, events: &[Value]) -> Reply {
    events.iter().fold(reply, |r, e| {
        r.named_event(e["type"].as_str().unwrap(), e.to_string())
    })
}

fn delta(text: &str) -> Value {
    json!({"type": "response.output_text.delta", "item_id": "m", "output_index": 0,
           "content_index": 0, "delta": text})
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_stream_without_a_final_event_is_truncated() {
    let srv = server();
    // Ends cleanly, but never says `response.completed`.
    srv.enqueue(named(Reply::sse(), &[delta("a"), delta("b")]));
    // Cut in the middle of the body.
    srv.enqueue(named(Reply::sse(), &[delta("a")]).cut());
    let c = client(&srv);
    let req = ResponseRequest::new(MODEL, "hi");
    for round in 0..2 {
        let mut stream = c.responses().create_stream(&req).await.unwrap();
        let mut got = String::new();
        let err = loop {
            match stream.try_next().await {
                Ok(Some(e)) => got.push_str(e.text_delta().unwrap_or_default()),
                Ok(None) => panic!("a truncated stream ended without an error"),
                Err(e) => break e,
            }
        };
        assert!(!got.is_empty());
        match &err {
            Error::Stream(s) => assert_eq!(s.kind, StreamErrorKind::Truncated, "{err}"),
            other => panic!("{other:?}"),
        }
        if round == 0 {
            assert!(err.to_string().contains("response.completed"), "{err}");
        }
        // Fused after the error.
        let after = stream.try_next().await.unwrap();
        assert!(after.is_none());
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn failed_and_error_events_are_in_band_errors() {
    let srv = server();
    srv.enqueue(named(
        Reply::sse(),
        &[
            delta("a"),
            json!({"type": "response.failed", "response": {"id": "resp_x", "status": "failed",
                   "error": {"code": "server_error", "message": "the GPU caught fire"}}}),
            delta("never seen"),
        ],
    ));
    srv.enqueue(
        Reply::sse().raw(
            "event: error\ndata: {\"type\":\"error\",\"code\":\"rate_limit_exceeded\",\"message\":\"slow down\",\"param\":null,\"sequence_number\":1}\n\n",
        ),
    );
    let c = client(&srv);
    let req = ResponseRequest::new(MODEL, "hi");
    let mut stream = c.responses().create_stream(&req).await.unwrap();
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.text_delta(), Some("a"));
    let err = stream.try_next().await.unwrap_err();
    let Error::Stream(s) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(s.kind, StreamErrorKind::InBand);
    assert!(s.message.contains("the GPU caught fire"), "{}", s.message);
    assert!(s.message.contains("resp_x"), "{}", s.message);
    assert_eq!(s.code.as_ref().unwrap().to_string(), "server_error");
    let after = stream.try_next().await.unwrap();
    assert!(after.is_none());

    let err = c
        .responses()
        .create_stream(&req)
        .await
        .unwrap()
        .final_response()
        .await
        .unwrap_err();
    let Error::Stream(s) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(s.kind, StreamErrorKind::InBand);
    assert_eq!(s.message, "slow down");
    assert_eq!(s.code.as_ref().unwrap().to_string(), "rate_limit_exceeded");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn unknown_events_and_items_are_kept_and_incomplete_ends_the_stream() {
    let srv = server();
    srv.enqueue(named(
        Reply::sse(),
        &[
            json!({"type": "response.created", "response": {"id": "r", "status": "in_progress"}}),
            json!({"type": "response.output_item.added", "output_index": 0,
                   "item": {"type": "web_search_call", "id": "ws", "status": "searching"}}),
            json!({"type": "response.web_search_call.searching", "item_id": "ws", "output_index": 0}),
            json!({"type": "response.output_item.added", "output_index": 1,
                   "item": {"type": "message", "id": "m", "role": "assistant", "content": []}}),
            json!({"type": "response.output_text.delta", "item_id": "m", "output_index": 1,
                   "content_index": 0, "delta": "Hi"}),
            json!({"type": "response.incomplete", "response": {"id": "r", "status": "incomplete",
                   "incomplete_details": {"reason": "max_output_tokens"}}}),
            // After the final event nothing is read.
            json!({"type": "response.output_text.delta", "item_id": "m", "output_index": 1,
                   "content_index": 0, "delta": "LATE"}),
        ],
    ));
    let c = client(&srv);
    let mut stream = c
        .responses()
        .create_stream(ResponseRequest::new(MODEL, "hi"))
        .await
        .unwrap();
    let mut events = Vec::new();
    while let Some(e) = stream.try_next().await.unwrap() {
        events.push(e);
    }
    assert_eq!(events.len(), 6);
    assert!(matches!(&events[2], ResponseStreamEvent::Unknown(v) if v["item_id"] == "ws"));
    assert!(matches!(events[5], ResponseStreamEvent::Incomplete(_)));
    let mut acc = ResponseAccumulator::new();
    events.iter().for_each(|e| acc.push(e));
    let r = acc.into_response();
    assert_eq!(r.status, Some(ResponseStatus::Incomplete));
    assert_eq!(r.incomplete_reason(), Some("max_output_tokens"));
    assert_eq!(r.output_text(), "Hi");
    assert!(matches!(&r.output[0], OutputItem::Unknown(v) if v["status"] == "searching"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn function_calls_stream_and_round_trip() {
    let srv = server();
    let c = client(&srv);
    let mut req = ResponseRequest::new(MODEL, "call get_time please");
    req.tools = Some(vec![ResponseTool::function(
        "get_time",
        "The time in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )]);
    let out = c.responses().create(&req).await.unwrap();
    let call = out
        .function_calls()
        .next()
        .expect("a function call")
        .clone();
    assert_eq!(call.name, "get_time");
    assert_eq!(call.arguments, r#"{"city":"mock"}"#);
    let streamed = c
        .responses()
        .create_stream(&req)
        .await
        .unwrap()
        .final_response()
        .await
        .unwrap();
    assert_eq!(
        streamed.function_calls().next().unwrap().arguments,
        call.arguments
    );
    // Send the call and its output back: the model answers with text.
    req.input = vec![
        InputItem::user("call get_time please"),
        OutputItem::FunctionCall(call.clone()).into(),
        InputItem::function_call_output(&call.call_id, "noon"),
    ]
    .into();
    let answer = c.responses().create(&req).await.unwrap();
    assert_eq!(answer.function_calls().count(), 0);
    assert_eq!(answer.output_text(), "Mock reply to: noon");
    let body = srv.requests()[2].json().unwrap();
    assert_eq!(body["input"][1]["type"], "function_call");
    assert_eq!(body["input"][2]["type"], "function_call_output");
    // A named tool_choice forces the call even after a result.
    req.tool_choice = Some(ResponseToolChoice::Function("get_time".into()));
    let forced = c.responses().create(&req).await.unwrap();
    assert_eq!(forced.function_calls().count(), 1);
    assert_eq!(
        srv.requests()[3].json().unwrap()["tool_choice"],
        json!({"type": "function", "name": "get_time"})
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn json_schema_text_format_gets_matching_json() {
    let srv = server();
    let mut req = ResponseRequest::new(MODEL, "a city");
    req.text = Some(
        TextFormat::json_schema(
            "city",
            json!({"type": "object", "properties": {"name": {"type": "string"},
                   "pop": {"type": "integer", "minimum": 5}}, "required": ["name", "pop"],
                   "additionalProperties": false}),
        )
        .into(),
    );
    let out = client(&srv).responses().create(&req).await.unwrap();
    let v: Value = serde_json::from_str(&out.output_text()).unwrap();
    assert_eq!(v, json!({"name": "mock", "pop": 5}));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retrieve_cancel_delete_input_items() {
    let srv = server();
    let c = client(&srv);
    // As vLLM without a response store: unknown ids, no DELETE, no input_items.
    let e = c.responses().retrieve("resp_1").await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("resp_1"), "{e}");
    let cancel = c.responses().cancel("resp_1").await.unwrap_err();
    assert_eq!(cancel.status(), Some(404));
    let delete = c.responses().delete("resp_1").await.unwrap_err();
    assert_eq!(delete.status(), Some(405));
    let items = c.responses().input_items("resp_1").await.unwrap_err();
    assert_eq!(items.status(), Some(404));
    let methods: Vec<(String, String)> = srv
        .requests()
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        methods,
        [
            ("GET".into(), "/v1/responses/resp_1".into()),
            ("POST".into(), "/v1/responses/resp_1/cancel".into()),
            ("DELETE".into(), "/v1/responses/resp_1".into()),
            ("GET".into(), "/v1/responses/resp_1/input_items".into()),
        ]
    );
    assert!(srv.requests()[1].body.is_empty());
    // An id is one path segment: no route can be reached through it.
    for bad in ["", ".", ".."] {
        let e = c.responses().retrieve(bad).await;
        assert!(matches!(e, Err(Error::InvalidRequest(_))), "{e:?}");
    }
    srv.enqueue_all([
        Reply::json(
            200,
            r#"{"id":"a/../b","object":"response","status":"cancelled","output":[]}"#,
        ),
        Reply::empty(200),
        Reply::json(
            200,
            r#"{"object":"list","data":[{"type":"message","id":"i"}],"has_more":false}"#,
        ),
    ]);
    let got = c.responses().cancel("a/../b").await.unwrap();
    assert_eq!(got.status, Some(ResponseStatus::Cancelled));
    c.responses().delete("a/../b").await.unwrap();
    let items = c.responses().input_items("a/../b").await.unwrap();
    assert_eq!(items.data.len(), 1);
    let paths: Vec<String> = srv.requests()[4..].iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/responses/a%2F..%2Fb/cancel",
            "/v1/responses/a%2F..%2Fb",
            "/v1/responses/a%2F..%2Fb/input_items"
        ]
    );
    assert_eq!(srv.request_count(), 7);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn done_before_a_final_event_is_truncated() {
    let srv = server();
    // `[DONE]` ends the body cleanly, but no `response.completed` / `incomplete` came.
    let created = json!({"type": "response.created",
        "response": {"id": "r", "status": "in_progress", "output": []}});
    srv.enqueue(named(Reply::sse(), &[created, delta("a"), delta("b")]).done());
    let c = client(&srv);
    let req = ResponseRequest::new(MODEL, "hi");
    let stream = c.responses().create_stream(&req).await.unwrap();
    let err = stream.final_response().await.unwrap_err();
    match &err {
        Error::Stream(s) => assert_eq!(s.kind, StreamErrorKind::Truncated, "{err}"),
        other => panic!("partial output taken for a response: {other:?}"),
    }
    assert!(err.to_string().contains("response.completed"), "{err}");
    assert!(err.to_string().contains("after 3 event(s)"), "{err}");
    // Read event by event, the early `[DONE]` is an error too, after the events that came.
    srv.enqueue(named(Reply::sse(), &[delta("a")]).done());
    let mut stream = c.responses().create_stream(&req).await.unwrap();
    let first = stream.try_next().await.unwrap();
    assert!(first.is_some());
    let err = stream.try_next().await.unwrap_err();
    match &err {
        Error::Stream(s) => assert_eq!(s.kind, StreamErrorKind::Truncated, "{err}"),
        other => panic!("{other:?}"),
    }
    assert!(
        err.to_string().contains("`data: [DONE]` came before"),
        "{err}"
    );
    let after = stream.try_next().await.unwrap();
    assert!(after.is_none(), "fused after the error");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn far_indexes_cost_no_more_than_their_events() {
    let srv = server();
    // Each small event addresses the last part (4,095) of a new output item: without a
    // bound on their product, 512 events build 2 million parts.
    const EVENTS: usize = 512;
    let mut events: Vec<Value> = (0..EVENTS)
        .map(|i| {
            json!({"type": "response.output_text.delta", "item_id": "m", "output_index": i,
                   "content_index": 4095, "delta": "x"})
        })
        .collect();
    events.push(json!({"type": "response.completed",
        "response": {"id": "r", "status": "completed", "output": []}}));
    srv.enqueue(named(Reply::sse(), &events));
    let c = client(&srv);
    let req = ResponseRequest::new(MODEL, "hi");
    let started = std::time::Instant::now();
    let stream = c.responses().create_stream(&req).await.unwrap();
    let fin = stream.final_response().await.unwrap();
    let parts: usize = fin
        .output
        .iter()
        .map(|item| match item {
            OutputItem::Message(m) => m.content.len(),
            _ => 0,
        })
        .sum();
    // What was received (one slot per event) plus the bounded placeholders.
    assert!(parts <= EVENTS + 4096, "{parts} parts for {EVENTS} events");
    assert!(fin.output.len() <= EVENTS, "{}", fin.output.len());
    // The first event's part, after its placeholders, is kept.
    assert!(fin.output_text().starts_with('x'), "{}", fin.output_text());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
