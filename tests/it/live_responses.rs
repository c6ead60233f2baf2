//! The Responses API against the real servers (see `scripts/servers.sh`): vLLM's
//! `/v1/responses` with the tiny Llama, and Prism over OpenAI's spec for every request shape
//! the client sends. Ignored unless run with `--ignored`; then every server must answer.

use crate::live;

use live::{CHAT_MODEL, live as client, prism};
use oai_compat::types::{
    FunctionCallItem, InputItem, InputPart, OutputItem, ReasoningConfig, ResponseRequest,
    ResponseStatus, ResponseStreamEvent, ResponseStreamOptions, ResponseTool, ResponseToolChoice,
    TextConfig, TextFormat,
};
use oai_compat::{Client, Error, ResponseAccumulator};
use serde_json::json;

fn vllm() -> Client {
    client(&live::vllm_chat_url())
}

fn req(text: &str, max: u32) -> ResponseRequest {
    let mut r = ResponseRequest::new(CHAT_MODEL, text);
    r.max_output_tokens = Some(max);
    r.temperature = Some(0.0);
    r
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_create_decodes_vllm_fields() {
    let mut r = req("Hello there", 8);
    r.instructions = Some("Be brief.".into());
    // The tiny model is random and rebuilt per machine: an early EOS must not empty the text.
    r.vllm.ignore_eos = Some(true);
    r.vllm.top_k = Some(5);
    let out = vllm().responses().create(&r).await.unwrap();
    assert!(out.id.starts_with("resp_"), "{}", out.id);
    assert_eq!(out.object, "response");
    assert_eq!(out.model, CHAT_MODEL);
    assert!(matches!(
        out.status,
        Some(ResponseStatus::Completed | ResponseStatus::Incomplete)
    ));
    assert!(!out.output_text().is_empty());
    assert!(matches!(out.output[0], OutputItem::Message(_)));
    let usage = out.usage.as_ref().unwrap();
    assert!(usage.input_tokens > 0);
    assert!((1..=8).contains(&usage.output_tokens), "{usage:?}");
    assert_eq!(usage.total_tokens, usage.input_tokens + usage.output_tokens);
    // vLLM's extra fields decode into `extra` maps.
    assert!(
        out.extra.contains_key("kv_transfer_params"),
        "{:?}",
        out.extra
    );
    let details = usage.input_tokens_details.as_ref().unwrap();
    assert!(details.extra.contains_key("input_tokens_per_turn"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_stream_order_and_deltas_equal_the_final_text() {
    let mut r = req("Tell me a story", 12);
    r.stream_options = None;
    r.vllm.ignore_eos = Some(true);
    let mut stream = vllm().responses().create_stream(&r).await.unwrap();
    let mut kinds: Vec<String> = Vec::new();
    let mut deltas = String::new();
    let mut done_text = None;
    let mut acc = ResponseAccumulator::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        if let ResponseStreamEvent::OutputTextDone(d) = &event {
            done_text = Some(d.text.clone());
        }
        deltas.push_str(event.text_delta().unwrap_or_default());
        kinds.push(event.kind().to_owned());
        acc.push(&event);
    }
    assert!(stream.is_finished());
    assert_eq!(kinds[0], "response.created");
    assert_eq!(kinds[1], "response.in_progress");
    assert_eq!(kinds[2], "response.output_item.added");
    assert_eq!(kinds[3], "response.content_part.added");
    let n = kinds.len();
    assert_eq!(
        &kinds[n - 4..],
        [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            // vLLM ends a response cut by max_output_tokens with `completed` too.
            "response.completed",
        ]
    );
    assert!(
        kinds[4..n - 4]
            .iter()
            .all(|k| k == "response.output_text.delta"),
        "{kinds:?}"
    );
    assert!(!deltas.is_empty());
    assert_eq!(done_text.as_deref(), Some(deltas.as_str()));
    let fin = acc.into_response();
    assert_eq!(fin.output_text(), deltas);
    assert!(fin.usage.is_some());
    assert!(fin.status.is_some());
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_max_output_tokens_is_incomplete_with_reason() {
    let mut r = req("Count to one hundred", 3);
    // Never stop early at EOS, so the limit always cuts.
    r.vllm.ignore_eos = Some(true);
    let out = vllm().responses().create(&r).await.unwrap();
    assert_eq!(out.status, Some(ResponseStatus::Incomplete));
    assert_eq!(out.incomplete_reason(), Some("max_output_tokens"));
    assert_eq!(out.usage.as_ref().unwrap().output_tokens, 3);
    // Streamed: the final event carries the same status.
    let fin = vllm()
        .responses()
        .create_stream(&r)
        .await
        .unwrap()
        .final_response()
        .await
        .unwrap();
    assert_eq!(fin.status, Some(ResponseStatus::Incomplete));
    assert_eq!(fin.incomplete_reason(), Some("max_output_tokens"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_retrieve_cancel_delete_input_items_as_vllm_does_them() {
    let c = vllm();
    let out = c.responses().create(req("Hi", 2)).await.unwrap();
    // vLLM stores responses only with VLLM_ENABLE_RESPONSES_API_STORE=1 (off here): a
    // typed 404 naming the id.
    let e = c.responses().retrieve(&out.id).await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    assert!(e.to_string().contains(&out.id), "{e}");
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.param.as_deref(), Some("response_id"));
    let e = c.responses().cancel(&out.id).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
    // No DELETE route (405) and no input_items route (404).
    let e = c.responses().delete(&out.id).await.unwrap_err();
    assert_eq!(e.status(), Some(405), "{e}");
    let e = c.responses().input_items(&out.id).await.unwrap_err();
    assert_eq!(e.status(), Some(404), "{e}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_items_input_and_named_function_tool() {
    let mut r = req("", 40);
    r.input = vec![
        InputItem::system("You answer with tools."),
        InputItem::user(vec![InputPart::text("What is the weather in Paris?")]),
    ]
    .into();
    r.tools = Some(vec![ResponseTool::function(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"]}},
               "required": ["unit"], "additionalProperties": false}),
    )]);
    r.tool_choice = Some(ResponseToolChoice::Function("get_weather".into()));
    let out = vllm().responses().create(&r).await.unwrap();
    let call = out
        .function_calls()
        .next()
        .unwrap_or_else(|| panic!("no function call: {:?}", out.output));
    assert_eq!(call.name, "get_weather");
    assert!(!call.call_id.is_empty());
    // vLLM 0.32 forces the named call on /v1/responses but, unlike chat, does not constrain
    // its arguments to the schema (the tiny model answers `{}`): only check they are JSON.
    let args: serde_json::Value = serde_json::from_str(&call.arguments).unwrap();
    assert!(args.is_object(), "{args}");
    // The output goes back as input; vLLM answers the follow-up.
    let mut follow = req("", 4);
    follow.input = vec![
        InputItem::user("What is the weather in Paris?"),
        OutputItem::FunctionCall(call.clone()).into(),
        InputItem::function_call_output(&call.call_id, r#"{"temp":21}"#),
    ]
    .into();
    let again = vllm().responses().create(&follow).await.unwrap();
    assert!(!again.output.is_empty());
    // The call and its output reached the prompt.
    let alone = vllm()
        .responses()
        .create(req("What is the weather in Paris?", 1))
        .await
        .unwrap();
    assert!(again.usage.unwrap().input_tokens > alone.usage.unwrap().input_tokens);
}

// ------------------------------------------------------------------ Prism

/// Every field and input item shape the client can send.
fn full_request() -> ResponseRequest {
    let mut r = ResponseRequest::new("gpt-4o", "placeholder");
    r.input = vec![
        InputItem::developer("Be brief."),
        InputItem::system("You are helpful."),
        InputItem::user("What is in this image?"),
        InputItem::assistant("A cat."),
        InputItem::FunctionCall(FunctionCallItem {
            call_id: "call_1".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
            ..Default::default()
        }),
        InputItem::function_call_output("call_1", r#"{"temp":21}"#),
    ]
    .into();
    r.instructions = Some("Answer in English.".into());
    r.max_output_tokens = Some(64);
    r.temperature = Some(0.5);
    r.top_p = Some(0.9);
    r.tools = Some(vec![ResponseTool::function(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}},
               "required": ["city"], "additionalProperties": false}),
    )]);
    r.tool_choice = Some(ResponseToolChoice::Function("get_weather".into()));
    r.parallel_tool_calls = Some(false);
    r.text = Some(TextConfig {
        format: Some(TextFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object", "properties": {"a": {"type": "string"}},
                           "required": ["a"], "additionalProperties": false}),
            description: Some("The answer".into()),
            strict: Some(true),
        }),
        verbosity: Some("low".into()),
        ..Default::default()
    });
    r.reasoning = Some(ReasoningConfig {
        effort: Some("low".into()),
        summary: Some("auto".into()),
        ..Default::default()
    });
    r.previous_response_id = Some("resp_123".into());
    r.store = Some(true);
    r.background = Some(false);
    r.metadata = Some([("k".to_owned(), "v".to_owned())].into());
    r.include = Some(vec!["message.output_text.logprobs".into()]);
    r.top_logprobs = Some(2);
    r.truncation = Some("auto".into());
    r.user = Some("user-1".into());
    r.service_tier = Some("auto".into());
    r
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn prism_accepts_every_request_shape() {
    let p = prism();
    let out = p.responses().create(full_request()).await.unwrap();
    assert_eq!(out.object, "response");
    // Its example answer decodes, output text included.
    assert!(!out.output.is_empty());
    let mut plain = ResponseRequest::new("gpt-4o", "Hello");
    plain.tool_choice = Some(ResponseToolChoice::Auto);
    p.responses().create(&plain).await.unwrap();
    for choice in [ResponseToolChoice::None, ResponseToolChoice::Required] {
        let mut r = full_request();
        r.tool_choice = Some(choice);
        r.text = Some(TextFormat::JsonObject.into());
        p.responses().create(&r).await.unwrap();
    }
    let mut r = full_request();
    r.text = Some(TextFormat::Text.into());
    p.responses().create(&r).await.unwrap();
    // Streamed: Prism validates the request (422 if it broke the spec), then cannot write an
    // event stream (500); a 500 therefore proves the request conforms.
    let mut r = full_request();
    r.stream_options = Some(ResponseStreamOptions {
        include_obfuscation: Some(false),
        ..Default::default()
    });
    match p.responses().create_stream(&r).await {
        Ok(_) => {}
        Err(e) => assert_eq!(e.status(), Some(500), "{e}"),
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn prism_accepts_retrieve_cancel_delete_input_items() {
    let p = prism();
    let got = p.responses().retrieve("resp_123").await.unwrap();
    assert_eq!(got.object, "response");
    let cancelled = p.responses().cancel("resp_123").await.unwrap();
    assert_eq!(cancelled.object, "response");
    p.responses().delete("resp_123").await.unwrap();
    let items = p.responses().input_items("resp_123").await.unwrap();
    assert_eq!(items.object, "list");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn prism_message_parts_only_trip_the_specs_oneof_ambiguity() {
    // A message with content parts matches both `EasyInputMessage` and `InputMessage` in
    // OpenAI's spec, so Prism's strict `oneOf` refuses every such message (OpenAI accepts
    // them). The 422 must name only that ambiguity, never a missing or misspelt field.
    let mut r = ResponseRequest::new("gpt-4o", "x");
    r.input = vec![InputItem::user(vec![
        InputPart::text("What is in this image?"),
        InputPart::image_url("https://example.com/cat.png"),
    ])]
    .into();
    let err = prism().responses().create(&r).await.unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    let body: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    for v in body["validation"].as_array().unwrap() {
        let code = v["code"].as_str().unwrap();
        assert!(code == "oneOf" || code == "type", "{v}");
        assert_eq!(v["location"][1], "input", "{v}");
        assert!(v["location"].as_array().unwrap().len() <= 3, "{v}");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn prism_rejects_a_broken_shape() {
    // Proof that Prism checks: an input item without its required fields.
    let mut r = ResponseRequest::new("gpt-4o", "x");
    r.input = vec![InputItem::Other(json!({"type": "function_call_output"}))].into();
    let err = prism().responses().create(&r).await.unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
}
