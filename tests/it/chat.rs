//! Chat completions and text completions against the mock.

use crate::support;

use oai_compat::types::{
    ChatCompletionRequest, CompletionRequest, FinishReason, Message, ResponseFormat, Tool,
    ToolChoice,
};
use serde_json::json;
use support::{MODEL, client, server};

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn chat_create_sends_typed_fields_and_decodes_the_answer() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(
        MODEL,
        [Message::system("be brief"), Message::user("what is rust")],
    );
    req.max_tokens = Some(3);
    req.temperature = Some(0.0);
    req.seed = Some(7);
    req.stop = Some(vec!["\n\n", "END"].into());
    req.n = Some(2);
    req.vllm.top_k = Some(5);
    req.extra.insert("my_server_flag".into(), json!(true));
    let out = client(&srv).chat().create(&req).await.unwrap();
    assert_eq!(out.choices.len(), 2);
    assert_eq!(out.choices[1].index, 1);
    assert_eq!(out.text(), Some("Mock reply to:"));
    assert_eq!(out.choices[0].finish_reason, Some(FinishReason::Length));
    let usage = out.usage.as_ref().unwrap();
    assert_eq!(usage.prompt_tokens, 5);
    assert_eq!(usage.completion_tokens, Some(6));
    let body = srv.requests()[0].json().unwrap();
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["max_tokens"], 3);
    assert_eq!(body["seed"], 7);
    assert_eq!(body["stop"], json!(["\n\n", "END"]));
    assert_eq!(body["top_k"], 5);
    assert_eq!(body["my_server_flag"], true);
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "be brief"})
    );
    for absent in ["stream", "stream_options", "top_p", "tools", "guided_json"] {
        assert!(body.get(absent).is_none(), "{absent} sent: {body}");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn named_tool_call_is_typed() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("weather in Paris?")]);
    req.tools = Some(vec![Tool::function(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}}),
    )]);
    req.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    let out = client(&srv).chat().create(&req).await.unwrap();
    let choice = &out.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
    let calls = choice.message.tool_calls.as_ref().unwrap();
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(calls[0].function.arguments, "{}");
    let body = srv.requests()[0].json().unwrap();
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "get_weather"}})
    );
    assert_eq!(body["tools"][0]["type"], "function");
    // The assistant's tool call goes back into the conversation as a message.
    let follow_up = Message::from(choice.message.clone());
    assert!(follow_up.tool_calls.is_some());
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn logprobs_and_response_format_round_trip() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("a b")]);
    req.logprobs = Some(true);
    req.top_logprobs = Some(2);
    req.response_format = Some(ResponseFormat::json_schema(
        "answer",
        json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
    ));
    let out = client(&srv).chat().create(&req).await.unwrap();
    let lp = out.choices[0]
        .logprobs
        .as_ref()
        .unwrap()
        .content
        .as_ref()
        .unwrap();
    let joined: String = lp.iter().map(|t| t.token.as_str()).collect();
    assert_eq!(joined.trim_end(), out.text().unwrap());
    assert!(!lp[0].top_logprobs.is_empty());
    let body = srv.requests()[0].json().unwrap();
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "answer");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn unknown_model_is_a_404_api_error() {
    let srv = server();
    let req = ChatCompletionRequest::new("nope", [Message::user("x")]);
    let err = client(&srv).chat().create(&req).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        err.to_string().contains("The model `nope` does not exist."),
        "{err}"
    );
    assert_eq!(err.retries_taken(), 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn completions_accept_text_and_token_prompts() {
    let srv = server();
    let c = client(&srv);
    let mut req = CompletionRequest::new(MODEL, "Once upon");
    req.max_tokens = Some(16);
    req.logprobs = Some(1);
    req.echo = Some(true);
    let out = c.completions().create(&req).await.unwrap();
    assert!(out.text().starts_with("Once upon "), "{}", out.text());
    assert!(
        out.text().ends_with("Mock reply to: Once upon"),
        "{}",
        out.text()
    );
    let lp = out.choices[0].logprobs.as_ref().unwrap();
    assert_eq!(lp.tokens.len(), lp.token_logprobs.len());
    let ids = CompletionRequest::new(MODEL, vec![1u32, 2, 3]);
    let out = c.completions().create_with_meta(&ids).await.unwrap();
    assert_eq!(out.usage.as_ref().unwrap().prompt_tokens, 3);
    assert!(out.meta.request_id().is_some());
    let body = srv.requests()[1].json().unwrap();
    assert_eq!(body["prompt"], json!([1, 2, 3]));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_request_by_value_or_reference_with_chained_setters_and_borrowed_messages() {
    use oai_compat::prelude::*;
    let srv = server();
    let c = client(&srv);
    let history = vec![Message::system("Be brief."), Message::user("hi")];
    // `&history` is borrowed (and cloned into the request), not moved.
    let req = ChatCompletionRequest::new(MODEL, &history)
        .temperature(0.5)
        .max_tokens(5)
        .stop("END");
    let by_ref = c.chat().create(&req).await.unwrap();
    let by_value = c.chat().create(req.clone()).await.unwrap();
    assert_eq!(by_ref.text(), by_value.text());
    assert_eq!(history.len(), 2);
    let sent = srv.requests();
    assert_eq!(sent[0].body, sent[1].body, "the same request either way");
    let body = sent[0].json().unwrap();
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["max_tokens"], 5);
    assert_eq!(body["stop"], "END");
    assert_eq!(body["messages"][0]["content"], "Be brief.");
    // A stream takes it by value too.
    let mut stream = c.chat().create_stream(req).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        text.push_str(chunk.text());
    }
    assert_eq!(Some(text.as_str()), by_ref.text());
}
