//! Structured outputs parsed into Rust types against the real vLLM (xgrammar without free
//! whitespace, see `scripts/servers.sh`). Ignored unless run with `--ignored`; the tests of
//! the `schemars` feature run with `--features schemars`.

use crate::live;

use live::{CHAT_MODEL, live as client};
use oai_compat::types::{
    ChatCompletionRequest, Message, ResponseFormat, ResponseRequest, TextFormat,
};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Mood {
    Happy,
    Sad,
}

/// An enum field and a bounded number: the random tiny model fills them within the grammar.
#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
struct Verdict {
    mood: Mood,
    score: u8,
}

fn verdict_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "mood": {"type": "string", "enum": ["happy", "sad"]},
            "score": {"type": "integer", "minimum": 0, "maximum": 9}
        }
    })
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_chat_parse_into_a_struct() {
    let mut req = ChatCompletionRequest::new(CHAT_MODEL, [Message::user("How do you feel?")]);
    req.max_tokens = Some(40);
    req.temperature = Some(0.0);
    req.response_format = Some(ResponseFormat::json_schema("verdict", verdict_schema()).strict());
    let out = client(&live::vllm_chat_url())
        .chat()
        .parse::<Verdict>(&req)
        .await
        .unwrap();
    let v = out.parsed.expect("a value");
    assert!(v.score <= 9, "{v:?}");
    assert!(out.refusal.is_none());
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_chat_parse_cut_by_max_tokens_is_truncated() {
    let mut req = ChatCompletionRequest::new(CHAT_MODEL, [Message::user("How do you feel?")]);
    req.max_tokens = Some(2);
    req.response_format = Some(ResponseFormat::json_schema("verdict", verdict_schema()).strict());
    let e = client(&live::vllm_chat_url())
        .chat()
        .parse::<Verdict>(&req)
        .await
        .unwrap_err();
    match &e {
        oai_compat::Error::Parse(p) => {
            assert_eq!(p.kind, oai_compat::ParseErrorKind::Truncated, "{e}");
            assert_eq!(p.finish_reason.as_deref(), Some("length"));
        }
        other => panic!("{other:?}"),
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_responses_parse_with_text_format() {
    let mut req = ResponseRequest::new(CHAT_MODEL, "How do you feel?");
    req.max_output_tokens = Some(40);
    req.temperature = Some(0.0);
    req.text = Some(
        TextFormat::json_schema("verdict", verdict_schema())
            .strict()
            .into(),
    );
    let out = client(&live::vllm_chat_url())
        .responses()
        .parse::<Verdict>(&req)
        .await
        .unwrap();
    assert!(out.parsed.expect("a value").score <= 9);
}

#[cfg(feature = "schemars")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_parse_schema_from_the_type() {
    let c = client(&live::vllm_chat_url());
    let mut req = ChatCompletionRequest::new(CHAT_MODEL, [Message::user("How do you feel?")]);
    req.max_tokens = Some(40);
    req.temperature = Some(0.0);
    let out = c.chat().parse_schema::<Verdict>(&req).await.unwrap();
    out.parsed.expect("a value");
    let mut r = ResponseRequest::new(CHAT_MODEL, "How do you feel?");
    r.max_output_tokens = Some(40);
    r.temperature = Some(0.0);
    let out = c.responses().parse_schema::<Verdict>(&r).await.unwrap();
    out.parsed.expect("a value");
}
