//! Hand-written `Deserialize` for [`Completion`] and [`CompletionChoice`]: the response of a
//! text completion is also its stream chunk, decoded once per event.
//!
//! Why not derived: as for the chat chunk (`chat/chunk_decode.rs`, whose field helpers this
//! uses), a derived `#[serde(flatten)] extra` makes serde buffer every object and pick the
//! fields out of the buffer again. The rules stay the derive's: a missing key or `null` gives
//! the field's default, a known key given twice is an error, the last of an unknown key given
//! twice wins.

use super::super::chat::chunk_decode::{Timestamp, map_decoder};
use super::{Completion, CompletionChoice};

map_decoder! {
    Completion {
        "id" => id by once_or_default,
        "object" => object by once_or_default,
        "created" => created by once,
        "model" => model by once_or_default,
        "choices" => choices by once_or_default,
        "usage" => usage by once,
        "system_fingerprint" => system_fingerprint by once,
        "prompt_logprobs" => prompt_logprobs by once,
        "prompt_token_ids" => prompt_token_ids by once,
    }
    extra => Completion {
        id: id.unwrap_or_default(),
        object: object.unwrap_or_default(),
        created: created.map_or(0, |Timestamp(t)| t),
        model: model.unwrap_or_default(),
        choices: choices.unwrap_or_default(),
        usage: usage.flatten(),
        system_fingerprint: system_fingerprint.flatten(),
        prompt_logprobs: prompt_logprobs.flatten(),
        prompt_token_ids: prompt_token_ids.flatten(),
        extra,
    }
}

map_decoder! {
    CompletionChoice {
        "index" => index by once_or_default,
        "text" => text by once_or_default,
        "finish_reason" => finish_reason by once,
        "logprobs" => logprobs by once,
        "stop_reason" => stop_reason by once,
        "token_ids" => token_ids by once,
        "prompt_logprobs" => prompt_logprobs by once,
        "prompt_token_ids" => prompt_token_ids by once,
    }
    extra => CompletionChoice {
        index: index.unwrap_or_default(),
        text: text.unwrap_or_default(),
        finish_reason: finish_reason.flatten(),
        logprobs: logprobs.flatten(),
        stop_reason: stop_reason.flatten(),
        token_ids: token_ids.flatten(),
        prompt_logprobs: prompt_logprobs.flatten(),
        prompt_token_ids: prompt_token_ids.flatten(),
        extra,
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::{Value, json};

    use super::super::super::chat::chunk_decode::{decoded_alike, variants_decoded_alike};
    use super::super::CompletionLogprobs;
    use super::*;
    use crate::types::common::Extra;
    use crate::types::common::{FinishReason, StopReason, Usage, lenient_timestamp, null_default};

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
