//! Hand-written `Deserialize` for [`Completion`] and [`CompletionChoice`]: the response of a
//! text completion is also its stream chunk, decoded once per event.
//!
//! Why not derived: as for the chat chunk (`chat/chunk_decode.rs`, whose field helpers this
//! uses), a derived `#[serde(flatten)] extra` makes serde buffer every object and pick the
//! fields out of the buffer again. The rules stay the derive's: a missing key or `null` gives
//! the field's default, a known key given twice is an error, the last of an unknown key given
//! twice wins.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use super::super::chat::chunk_decode::{Key, Timestamp, keep, once, once_or_default};
use super::{Completion, CompletionChoice};
use crate::types::common::Extra;

impl<'de> Deserialize<'de> for Completion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CompletionVisitor;

        impl<'de> Visitor<'de> for CompletionVisitor {
            type Value = Completion;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("struct Completion")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut id, mut object, mut created, mut model) = (None, None, None, None);
                let (mut choices, mut usage, mut system_fingerprint) = (None, None, None);
                let (mut prompt_logprobs, mut prompt_token_ids) = (None, None);
                let mut extra = Extra::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match &*key.0 {
                        "id" => once_or_default(&mut map, &mut id, "id")?,
                        "object" => once_or_default(&mut map, &mut object, "object")?,
                        "created" => once(&mut map, &mut created, "created")?,
                        "model" => once_or_default(&mut map, &mut model, "model")?,
                        "choices" => once_or_default(&mut map, &mut choices, "choices")?,
                        "usage" => once(&mut map, &mut usage, "usage")?,
                        "system_fingerprint" => {
                            once(&mut map, &mut system_fingerprint, "system_fingerprint")?
                        }
                        "prompt_logprobs" => {
                            once(&mut map, &mut prompt_logprobs, "prompt_logprobs")?
                        }
                        "prompt_token_ids" => {
                            once(&mut map, &mut prompt_token_ids, "prompt_token_ids")?
                        }
                        _ => keep(&mut map, &mut extra, key)?,
                    }
                }
                Ok(Completion {
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
                })
            }
        }

        deserializer.deserialize_map(CompletionVisitor)
    }
}

impl<'de> Deserialize<'de> for CompletionChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ChoiceVisitor;

        impl<'de> Visitor<'de> for ChoiceVisitor {
            type Value = CompletionChoice;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("struct CompletionChoice")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut index, mut text, mut finish_reason, mut logprobs) =
                    (None, None, None, None);
                let (mut stop_reason, mut token_ids) = (None, None);
                let (mut prompt_logprobs, mut prompt_token_ids) = (None, None);
                let mut extra = Extra::new();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match &*key.0 {
                        "index" => once_or_default(&mut map, &mut index, "index")?,
                        "text" => once_or_default(&mut map, &mut text, "text")?,
                        "finish_reason" => once(&mut map, &mut finish_reason, "finish_reason")?,
                        "logprobs" => once(&mut map, &mut logprobs, "logprobs")?,
                        "stop_reason" => once(&mut map, &mut stop_reason, "stop_reason")?,
                        "token_ids" => once(&mut map, &mut token_ids, "token_ids")?,
                        "prompt_logprobs" => {
                            once(&mut map, &mut prompt_logprobs, "prompt_logprobs")?
                        }
                        "prompt_token_ids" => {
                            once(&mut map, &mut prompt_token_ids, "prompt_token_ids")?
                        }
                        _ => keep(&mut map, &mut extra, key)?,
                    }
                }
                Ok(CompletionChoice {
                    index: index.unwrap_or_default(),
                    text: text.unwrap_or_default(),
                    finish_reason: finish_reason.flatten(),
                    logprobs: logprobs.flatten(),
                    stop_reason: stop_reason.flatten(),
                    token_ids: token_ids.flatten(),
                    prompt_logprobs: prompt_logprobs.flatten(),
                    prompt_token_ids: prompt_token_ids.flatten(),
                    extra,
                })
            }
        }

        deserializer.deserialize_map(ChoiceVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::{Value, json};

    use super::super::super::chat::chunk_decode::{decoded_alike, variants_decoded_alike};
    use super::super::CompletionLogprobs;
    use super::*;
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
