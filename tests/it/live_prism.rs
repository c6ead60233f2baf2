//! Against Prism mocking OpenAI's official OpenAPI spec: it answers 422 to a request that
//! breaks the spec, so these prove our requests are what OpenAI accepts. Ignored unless run
//! with `--ignored` (see `scripts/servers.sh`).

use crate::live;

use live::prism;
use oai_compat::types::{
    ChatCompletionRequest, CompletionRequest, EmbeddingRequest, Message, ResponseFormat, Tool,
    ToolChoice,
};
use serde_json::json;

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn chat_request_conforms_to_the_spec() {
    let mut req = ChatCompletionRequest::new(
        "gpt-4o-mini",
        [Message::system("be brief"), Message::user("hi")],
    );
    req.max_completion_tokens = Some(16);
    req.temperature = Some(0.2);
    req.n = Some(2);
    req.logprobs = Some(true);
    req.top_logprobs = Some(2);
    req.seed = Some(1);
    req.stop = Some(vec!["\n"].into());
    req.response_format = Some(ResponseFormat::json_schema("x", json!({"type": "object"})));
    req.tools = Some(vec![Tool::function(
        "f",
        "a function",
        json!({"type": "object"}),
    )]);
    req.tool_choice = Some(ToolChoice::Function("f".into()));
    let out = prism().chat().create(&req).await.unwrap();
    assert!(!out.choices.is_empty());
    let mut plain = ChatCompletionRequest::new("gpt-4o-mini", [Message::user("hi")]);
    plain.tool_choice = Some(ToolChoice::Auto);
    plain.tools = req.tools.clone();
    prism().chat().create(&plain).await.unwrap();
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn completion_embedding_and_model_requests_conform() {
    let c = prism();
    let mut req = CompletionRequest::new("gpt-3.5-turbo-instruct", "Say this is a test");
    req.max_tokens = Some(7);
    req.logprobs = Some(1);
    c.completions().create(&req).await.unwrap();
    c.completions()
        .create(CompletionRequest::new(
            "gpt-3.5-turbo-instruct",
            vec![1u32, 2, 3],
        ))
        .await
        .unwrap();
    let out = c
        .embeddings()
        .create(EmbeddingRequest::new("text-embedding-3-small", ["a", "b"]))
        .await
        .unwrap();
    assert!(!out.data.is_empty());
    let list = c.models().list().await.unwrap();
    assert!(!list.data.is_empty());
    c.models().retrieve("gpt-4o").await.unwrap();
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn a_request_that_breaks_the_spec_is_rejected_with_422() {
    // The control: proves Prism validates at all, so the tests above mean something.
    let req = ChatCompletionRequest::new("gpt-4o-mini", Vec::<Message>::new());
    let err = prism().chat().create(&req).await.unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
}
