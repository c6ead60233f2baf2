//! Hand-written `Deserialize` for [`Completion`] and [`CompletionChoice`]: the response of a
//! text completion is also its stream chunk, decoded once per event.
//!
//! Written by `fill_decoder!` (`types/decode.rs`, which says why these are not derived and
//! why they decode in place).

use super::{Completion, CompletionChoice};
use crate::types::decode::fill_decoder;

fill_decoder! {
    Completion {
        "id" => id by or_default,
        "object" => object by or_default,
        "created" => created by timestamp,
        "model" => model by or_default,
        "choices" => choices by elements,
        "usage" => usage by option_in_place,
        "system_fingerprint" => system_fingerprint by option,
        "prompt_logprobs" => prompt_logprobs by option,
        "prompt_token_ids" => prompt_token_ids by option,
    }
}

fill_decoder! {
    CompletionChoice {
        "index" => index by or_default,
        "text" => text by or_default,
        "finish_reason" => finish_reason by option,
        "logprobs" => logprobs by option,
        "stop_reason" => stop_reason by option,
        "token_ids" => token_ids by option,
        "prompt_logprobs" => prompt_logprobs by option,
        "prompt_token_ids" => prompt_token_ids by option,
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    use super::super::CompletionLogprobs;
    use super::*;
    use crate::types::common::Extra;
    use crate::types::common::{FinishReason, StopReason, Usage, lenient_timestamp, null_default};
    use crate::types::decode::{decoded_alike, variants_decoded_alike};

    /// The derived decoding this file replaces, kept as the reference that the hand-written
    /// one must agree with.
    #[derive(Default, Serialize, Deserialize)]
    #[serde(default)]
    struct Derived {
        #[serde(deserialize_with = "null_default")]
        id: String,
        #[serde(deserialize_with = "null_default")]
        object: String,
        #[serde(deserialize_with = "lenient_timestamp")]
        created: u64,
        #[serde(deserialize_with = "null_default")]
        model: String,
        #[serde(deserialize_with = "null_default")]
        choices: Vec<DerivedChoice>,
        #[serde(skip_serializing_if = "Option::is_none")]
        usage: Option<Usage>,
        #[serde(skip_serializing_if = "Option::is_none")]
        system_fingerprint: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        prompt_logprobs: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        prompt_token_ids: Option<Vec<u32>>,
        #[serde(flatten)]
        extra: Extra,
    }

    #[derive(Default, Serialize, Deserialize)]
    #[serde(default)]
    struct DerivedChoice {
        #[serde(deserialize_with = "null_default")]
        index: u32,
        #[serde(deserialize_with = "null_default")]
        text: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        finish_reason: Option<FinishReason>,
        #[serde(skip_serializing_if = "Option::is_none")]
        logprobs: Option<CompletionLogprobs>,
        #[serde(skip_serializing_if = "Option::is_none")]
        stop_reason: Option<StopReason>,
        #[serde(skip_serializing_if = "Option::is_none")]
        token_ids: Option<Vec<u32>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        prompt_logprobs: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        prompt_token_ids: Option<Vec<u32>>,
        #[serde(flatten)]
        extra: Extra,
    }

    fn agree(text: &str) -> Option<Completion> {
        decoded_alike::<Completion, Derived>(text)
    }

    const FIXTURES: [&str; 3] = [
        include_str!("../../../tests/fixtures/openai_completion.json"),
        include_str!("../../../tests/fixtures/vllm_completion_logprobs.json"),
        // A stream chunk, as vLLM sends it.
        r#"{"id":"cmpl-1","object":"text_completion","created":1761234567,"model":"m","choices":[{"index":0,"text":" Paris","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}"#,
    ];

    #[test]
    fn every_value_replaced_decodes_as_derived() {
        let checked = variants_decoded_alike::<Completion, Derived>(&FIXTURES);
        assert!(checked > 500, "{checked}");
    }

    #[test]
    fn edge_cases_decode_as_derived() {
        for text in [
            "{}",
            "null",
            "[]",
            r#"{"id":null,"object":null,"created":null,"model":null,"choices":null,"usage":null}"#,
            r#"{"created":12.9,"choices":[null]}"#,
            r#"{"choices":[{"index":null,"text":null,"prompt_logprobs":null}]}"#,
            r#"{"id":"a","id":"b"}"#,
            r#"{"choices":[{"text":"a","text":"b"}]}"#,
            r#"{"x":1,"x":2,"choices":[{"y":1,"y":[2]}]}"#,
            r#"{"\u0069d":"escaped","choices":[{"t\u0065xt":"é"}]}"#,
            r#"{"prompt_logprobs":[null,{"1":{"logprob":-1}}],"prompt_token_ids":[1,2]}"#,
        ] {
            agree(text);
        }
    }

    #[test]
    fn unknown_keys_kept_at_both_levels() {
        let c =
            agree(r#"{"kv_transfer_params":null,"choices":[{"matched_stop":"x","text":"hi"}]}"#)
                .unwrap();
        assert_eq!(c.extra["kv_transfer_params"], Value::Null);
        assert_eq!(c.choices[0].extra["matched_stop"], json!("x"));
        assert_eq!(c.text(), "hi");
        let e = serde_json::from_str::<Completion>(r#"{"choices":[{"index":1,"index":2}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate field `index`"), "{e}");
    }
}
