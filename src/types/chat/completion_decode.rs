//! Hand-written `Deserialize` for the response of a chat completion that is not streamed:
//! [`ChatCompletion`], [`ChatChoice`] and [`ChatCompletionMessage`].
//!
//! Written by `fill_decoder!` (`types/decode.rs`, which says why these are not derived and
//! why they decode in place; the message no longer goes through a second, raw, struct to
//! read `reasoning` or else `reasoning_content`). A missing or `null` `role` is `assistant`.

use super::{ChatChoice, ChatCompletion, ChatCompletionMessage};
use crate::types::decode::fill_decoder;

fill_decoder! {
    ChatCompletion {
        "id" => id by or_default,
        "object" => object by or_default,
        "created" => created by timestamp,
        "model" => model by or_default,
        "choices" => choices by elements,
        "usage" => usage by option_in_place,
        "system_fingerprint" => system_fingerprint by option,
        "service_tier" => service_tier by option,
        "prompt_logprobs" => prompt_logprobs by option,
        "prompt_token_ids" => prompt_token_ids by option,
    }
}

fill_decoder! {
    ChatChoice {
        "index" => index by or_default,
        "message" => message by in_place,
        "finish_reason" => finish_reason by option,
        "logprobs" => logprobs by option,
        "stop_reason" => stop_reason by option,
        "token_ids" => token_ids by option,
    }
}

fill_decoder! {
    ChatCompletionMessage {
        "role" => role by or_default,
        "content" => content by option,
        "reasoning" => reasoning by overriding,
        "reasoning_content" => reasoning by fallback,
        "refusal" => refusal by option,
        "tool_calls" => tool_calls by option,
        "annotations" => annotations by option,
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    use super::super::{Annotation, ChatLogprobs, Role, ToolCall};
    use super::*;
    use crate::types::common::{
        Extra, FinishReason, StopReason, Usage, lenient_timestamp, null_default,
    };
    use crate::types::decode::{decode_error, decoded_alike, variants_decoded_alike};

    /// The derived decoding this file replaces, kept as the reference that the hand-written
    /// one must agree with.
    mod derived {
        use super::*;

        #[derive(Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Completion {
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
            #[serde(skip_serializing_if = "Option::is_none")]
            prompt_logprobs: Option<Value>,
            #[serde(skip_serializing_if = "Option::is_none")]
            prompt_token_ids: Option<Vec<u32>>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Serialize, Deserialize)]
        #[serde(default)]
        struct Choice {
            #[serde(deserialize_with = "null_default")]
            index: u32,
            #[serde(deserialize_with = "null_default")]
            message: Message,
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
        #[serde(from = "RawMessage")]
        struct Message {
            role: Role,
            #[serde(skip_serializing_if = "Option::is_none")]
            content: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reasoning: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            refusal: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tool_calls: Option<Vec<ToolCall>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            annotations: Option<Vec<Annotation>>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct RawMessage {
            #[serde(deserialize_with = "null_default")]
            role: Role,
            content: Option<String>,
            reasoning: Option<String>,
            reasoning_content: Option<String>,
            refusal: Option<String>,
            tool_calls: Option<Vec<ToolCall>>,
            annotations: Option<Vec<Annotation>>,
            #[serde(flatten)]
            extra: Extra,
        }

        impl From<RawMessage> for Message {
            fn from(raw: RawMessage) -> Self {
                Message {
                    role: raw.role,
                    content: raw.content,
                    reasoning: raw.reasoning.or(raw.reasoning_content),
                    refusal: raw.refusal,
                    tool_calls: raw.tool_calls,
                    annotations: raw.annotations,
                    extra: raw.extra,
                }
            }
        }
    }

    const FIXTURES: [&str; 8] = [
        include_str!("../../../tests/fixtures/openai_chat.json"),
        include_str!("../../../tests/fixtures/openai_chat_logprobs.json"),
        include_str!("../../../tests/fixtures/openai_chat_tool_call.json"),
        include_str!("../../../tests/fixtures/vllm_chat.json"),
        include_str!("../../../tests/fixtures/vllm_chat_reasoning_content.json"),
        include_str!("../../../tests/fixtures/vllm_chat_tool_call.json"),
        include_str!("../../../tests/fixtures/llamacpp_chat.json"),
        include_str!("../../../tests/fixtures/ollama_chat.json"),
    ];

    #[test]
    fn fixtures_decode_as_derived() {
        for text in FIXTURES {
            let c = decoded_alike::<ChatCompletion, derived::Completion>(text).unwrap();
            assert!(!c.choices.is_empty(), "{text}");
        }
    }

    /// Every value of every fixture, one at a time, replaced by each of a set of values of
    /// other types and shapes, and every key renamed to an unknown one: the two decoders must
    /// agree on each of these documents.
    #[test]
    fn every_value_replaced_decodes_as_derived() {
        let checked = variants_decoded_alike::<ChatCompletion, derived::Completion>(&FIXTURES);
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn edge_cases_decode_as_derived() {
        for text in [
            "{}",
            "null",
            "[]",
            "\"chat.completion\"",
            r#"{"id":null,"object":null,"created":null,"model":null,"choices":null,"usage":null,"system_fingerprint":null,"service_tier":null,"prompt_logprobs":null,"prompt_token_ids":null}"#,
            r#"{"created":1761234567.9}"#,
            r#"{"created":-5}"#,
            r#"{"choices":[null]}"#,
            r#"{"choices":[{"message":null,"index":null}]}"#,
            r#"{"choices":[{"message":{}}]}"#,
            r#"{"choices":[{"message":{"role":null}}]}"#,
            r#"{"choices":[{"message":{"role":"narrator"}}]}"#,
            r#"{"choices":[{"message":{"reasoning":"a","reasoning_content":"b"}}]}"#,
            r#"{"choices":[{"message":{"reasoning_content":"b","reasoning":null}}]}"#,
            r#"{"choices":[{"message":{"reasoning_content":"b","reasoning_content":"c"}}]}"#,
            r#"{"choices":[{"message":{"tool_calls":[]}}]}"#,
            r#"{"choices":[{"message":{"tool_calls":[{"function":{"arguments":{"a":1}}}]}}]}"#,
            r#"{"id":"a","id":"b"}"#,
            r#"{"service_tier":"a","service_tier":null}"#,
            r#"{"choices":[{"index":0,"index":1}]}"#,
            r#"{"choices":[{"message":{"content":"a","content":"b"}}]}"#,
            r#"{"choices":[{"message":{"role":"user","role":"user"}}]}"#,
            r#"{"x":1,"x":2,"choices":[{"y":1,"y":[2],"message":{"z":{},"z":"last"}}]}"#,
            r#"{"\u0069d":"escaped key","ch\u006fices":[{"m\u0065ssage":{"c\u006fntent":"é"}}]}"#,
            r#"{"extra":{"nested":true},"choices":[{"extra":1,"message":{"extra":2}}]}"#,
            r#"{"choices":[{"finish_reason":"eos_token","stop_reason":7,"token_ids":[1,2]}]}"#,
            r#"{"prompt_logprobs":[null,{"1":{"logprob":-1}}],"prompt_token_ids":[1,2]}"#,
            r#"{"id":"a"} trailing"#,
            r#"{"id":"a""#,
        ] {
            decoded_alike::<ChatCompletion, derived::Completion>(text);
        }
    }

    #[test]
    fn unknown_keys_kept_at_every_level() {
        let c = decoded_alike::<ChatCompletion, derived::Completion>(
            r#"{"kv_transfer_params":null,"choices":[{"matched_stop":"x",
                "message":{"audio":null,"annotations":[],"c\u006fntent":"hi"}}]}"#,
        )
        .unwrap();
        assert_eq!(c.extra["kv_transfer_params"], Value::Null);
        assert_eq!(c.choices[0].extra["matched_stop"], "x");
        assert_eq!(c.choices[0].message.extra["audio"], Value::Null);
        assert_eq!(c.choices[0].message.annotations, Some(vec![]));
        assert!(!c.choices[0].message.extra.contains_key("annotations"));
        // An escaped known key is still that key, not an unknown one.
        assert_eq!(c.text(), Some("hi"));
        assert!(!c.choices[0].message.extra.contains_key("content"));
        assert_eq!(c.choices[0].message.role, Role::Assistant);
    }

    #[test]
    fn errors_name_the_problem() {
        for (text, expected) in [
            (r#"{"id":"a","id":"b"}"#, "duplicate field `id`"),
            ("[1]", "expected struct ChatCompletion"),
            (r#"{"choices":[7]}"#, "expected struct ChatChoice"),
            (
                r#"{"choices":[{"message":7}]}"#,
                "expected struct ChatCompletionMessage",
            ),
        ] {
            let e = decode_error::<ChatCompletion>(text);
            assert!(e.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn decodes_from_a_value_too() {
        // Owned keys (`visit_string`), as from `serde_json::from_value`.
        let c: ChatCompletion = serde_json::from_value(json!({
            "id": "a", "created": 3.7, "unknown": 1,
            "choices": [{"message": {"reasoning_content": "r", "content": "c"}}]
        }))
        .unwrap();
        assert_eq!((c.id.as_str(), c.created, c.text()), ("a", 3, Some("c")));
        assert_eq!(c.choices[0].message.reasoning.as_deref(), Some("r"));
        assert_eq!(c.extra["unknown"], 1);
    }
}
