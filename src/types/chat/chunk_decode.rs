//! Hand-written `Deserialize` for the streamed chat chunk: [`ChatCompletionChunk`],
//! [`ChunkChoice`] and [`ChatDelta`], the types a stream decodes once per event. Written by
//! `fill_decoder!` (`types/decode.rs`, which says why these are not derived and why they
//! decode in place).

use super::{ChatCompletionChunk, ChatDelta, ChunkChoice};
use crate::types::decode::fill_decoder;

fill_decoder! {
    ChatCompletionChunk {
        "id" => id by or_default,
        "object" => object by or_default,
        "created" => created by timestamp,
        "model" => model by or_default,
        "choices" => choices by elements,
        "usage" => usage by option_in_place,
        "system_fingerprint" => system_fingerprint by option,
        "service_tier" => service_tier by option,
    }
}

fill_decoder! {
    ChunkChoice {
        "index" => index by or_default,
        "delta" => delta by in_place,
        "finish_reason" => finish_reason by option,
        "logprobs" => logprobs by option,
        "stop_reason" => stop_reason by option,
        "token_ids" => token_ids by option,
    }
}

fill_decoder! {
    ChatDelta {
        "role" => role by option,
        "content" => content by option,
        "reasoning" => reasoning by overriding,
        "reasoning_content" => reasoning by fallback,
        "refusal" => refusal by option,
        "tool_calls" => tool_calls by option,
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::super::{ChatLogprobs, Role, ToolCallDelta};
    use super::*;
    use crate::types::common::{
        Extra, FinishReason, StopReason, Usage, lenient_timestamp, null_default,
    };
    use crate::types::decode::{decoded_alike, variants_decoded_alike};

    /// The derived decoding this file replaces, kept as the reference that the hand-written
    /// one must agree with.
    mod derived {
        use super::*;

        #[derive(Serialize, Deserialize)]
        #[serde(default)]
        #[derive(Default)]
        pub struct Chunk {
            #[serde(deserialize_with = "null_default")]
            id: String,
            #[serde(deserialize_with = "null_default")]
            object: String,
            #[serde(deserialize_with = "lenient_timestamp")]
            created: u64,
            #[serde(deserialize_with = "null_default")]
            model: String,
            #[serde(deserialize_with = "null_default")]
            choices: Vec<Choice>,
            #[serde(skip_serializing_if = "Option::is_none")]
            usage: Option<Usage>,
            #[serde(skip_serializing_if = "Option::is_none")]
            system_fingerprint: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            service_tier: Option<String>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Serialize, Deserialize)]
        #[serde(default)]
        struct Choice {
            #[serde(deserialize_with = "null_default")]
            index: u32,
            #[serde(deserialize_with = "null_default")]
            delta: Delta,
            #[serde(skip_serializing_if = "Option::is_none")]
            finish_reason: Option<FinishReason>,
            #[serde(skip_serializing_if = "Option::is_none")]
            logprobs: Option<ChatLogprobs>,
            #[serde(skip_serializing_if = "Option::is_none")]
            stop_reason: Option<StopReason>,
            #[serde(skip_serializing_if = "Option::is_none")]
            token_ids: Option<Vec<u32>>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Serialize, Deserialize)]
        #[serde(from = "RawDelta")]
        struct Delta {
            #[serde(skip_serializing_if = "Option::is_none")]
            role: Option<Role>,
            #[serde(skip_serializing_if = "Option::is_none")]
            content: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reasoning: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            refusal: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tool_calls: Option<Vec<ToolCallDelta>>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct RawDelta {
            role: Option<Role>,
            content: Option<String>,
            reasoning: Option<String>,
            reasoning_content: Option<String>,
            refusal: Option<String>,
            tool_calls: Option<Vec<ToolCallDelta>>,
            #[serde(flatten)]
            extra: Extra,
        }

        impl From<RawDelta> for Delta {
            fn from(raw: RawDelta) -> Self {
                Delta {
                    role: raw.role,
                    content: raw.content,
                    reasoning: raw.reasoning.or(raw.reasoning_content),
                    refusal: raw.refusal,
                    tool_calls: raw.tool_calls,
                    extra: raw.extra,
                }
            }
        }
    }

    fn agree(text: &str) -> Option<ChatCompletionChunk> {
        decoded_alike::<ChatCompletionChunk, derived::Chunk>(text)
    }

    const FIXTURES: [&str; 11] = [
        include_str!("../../../tests/fixtures/openai_chat_chunk_first.json"),
        include_str!("../../../tests/fixtures/openai_chat_chunk_content.json"),
        include_str!("../../../tests/fixtures/openai_chat_chunk_tool_call.json"),
        include_str!("../../../tests/fixtures/openai_chat_chunk_finish.json"),
        include_str!("../../../tests/fixtures/openai_chat_chunk_usage.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_first.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_reasoning.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_reasoning_content.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_tool_call.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_finish.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_usage.json"),
    ];

    #[test]
    fn fixtures_decode_as_derived() {
        for text in FIXTURES {
            assert!(agree(text).is_some(), "{text}");
        }
    }

    /// Every value of every fixture, one at a time, replaced by each of a set of values of
    /// other types and shapes, and every key renamed to an unknown one: the two decoders must
    /// agree on each of these documents.
    #[test]
    fn every_value_replaced_decodes_as_derived() {
        let checked = variants_decoded_alike::<ChatCompletionChunk, derived::Chunk>(&FIXTURES);
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn edge_cases_decode_as_derived() {
        for text in [
            "{}",
            "null",
            "[]",
            "\"chunk\"",
            "1",
            r#"{"id":null,"object":null,"created":null,"model":null,"choices":null,"usage":null,"system_fingerprint":null,"service_tier":null}"#,
            r#"{"created":1761234567.9}"#,
            r#"{"created":-5}"#,
            r#"{"choices":[null]}"#,
            r#"{"choices":[{"delta":null,"index":null}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"a","reasoning_content":"b"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning_content":"b","reasoning":null}}]}"#,
            r#"{"choices":[{"delta":{"reasoning_content":"b","reasoning_content":"c"}}]}"#,
            r#"{"id":"a","id":"b"}"#,
            r#"{"choices":[{"index":0,"index":1}]}"#,
            r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
            r#"{"x":1,"x":2,"choices":[{"y":1,"y":[2],"delta":{"z":{},"z":"last"}}]}"#,
            r#"{"\u0069d":"escaped key","ch\u006fices":[{"d\u0065lta":{"c\u006fntent":"é"}}]}"#,
            r#"{"extra":{"nested":true},"choices":[{"extra":1,"delta":{"extra":2}}]}"#,
            r#"{"choices":[{"finish_reason":"eos_token","stop_reason":7,"token_ids":[1,2]}]}"#,
            r#"{"choices":[{"delta":{"role":"narrator","tool_calls":null}}]}"#,
            r#"{"id":"a"} trailing"#,
            r#"{"id":"a""#,
        ] {
            agree(text);
        }
    }

    #[test]
    fn unknown_keys_kept_at_every_level() {
        let c = agree(
            r#"{"obfuscation":"k7","service_tier":"default","choices":[{"matched_stop":"x",
                "delta":{"audio":{"id":"a"},"c\u006fntent":"hi"}}]}"#,
        )
        .unwrap();
        assert_eq!(c.extra["obfuscation"], "k7");
        assert_eq!(c.service_tier.as_deref(), Some("default"));
        assert!(!c.extra.contains_key("service_tier"));
        assert_eq!(c.choices[0].extra["matched_stop"], "x");
        assert_eq!(c.choices[0].delta.extra["audio"], json!({"id": "a"}));
        // An escaped known key is still that key, not an unknown one.
        assert_eq!(c.text(), "hi");
        assert!(!c.choices[0].delta.extra.contains_key("content"));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = serde_json::from_str::<ChatCompletionChunk>(r#"{"id":"a","id":"b"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate field `id`"), "{e}");
        let e = serde_json::from_str::<ChatCompletionChunk>("[1]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected struct ChatCompletionChunk"), "{e}");
        let e = serde_json::from_str::<ChatCompletionChunk>(r#"{"choices":[{"delta":7}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected struct ChatDelta"), "{e}");
        let e = serde_json::from_str::<ChatCompletionChunk>(r#"{"choices":[{"index":"0"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("invalid type: string \"0\", expected u32"),
            "{e}"
        );
    }

    #[test]
    fn decodes_from_a_value_too() {
        // Owned keys (`visit_string`), as from `serde_json::from_value`.
        let c: ChatCompletionChunk = serde_json::from_value(json!({
            "id": "a", "created": 3.7, "unknown": 1,
            "choices": [{"delta": {"reasoning_content": "r", "content": "c"}}]
        }))
        .unwrap();
        assert_eq!((c.id.as_str(), c.created, c.text()), ("a", 3, "c"));
        assert_eq!(c.choices[0].delta.reasoning.as_deref(), Some("r"));
        assert_eq!(c.extra["unknown"], 1);
    }
}
