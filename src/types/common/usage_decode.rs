//! Hand-written `Deserialize` for [`Usage`], [`PromptTokensDetails`] and
//! [`CompletionTokensDetails`], which come with every response and with the usage chunks of a
//! stream.
//!
//! Written by `fill_decoder!` (`types/decode.rs`, which says why these are not derived and
//! why they decode in place).

use super::{CompletionTokensDetails, PromptTokensDetails, Usage};
use crate::types::decode::fill_decoder;

fill_decoder! {
    Usage {
        "prompt_tokens" => prompt_tokens by or_default,
        "completion_tokens" => completion_tokens by option,
        "total_tokens" => total_tokens by or_default,
        "prompt_tokens_details" => prompt_tokens_details by option_in_place,
        "completion_tokens_details" => completion_tokens_details by option_in_place,
    }
}

fill_decoder! {
    PromptTokensDetails {
        "cached_tokens" => cached_tokens by option,
        "audio_tokens" => audio_tokens by option,
    }
}

fill_decoder! {
    CompletionTokensDetails {
        "reasoning_tokens" => reasoning_tokens by option,
        "audio_tokens" => audio_tokens by option,
        "accepted_prediction_tokens" => accepted_prediction_tokens by option,
        "rejected_prediction_tokens" => rejected_prediction_tokens by option,
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::super::{Extra, null_default};
    use super::*;
    use crate::types::decode::{decode_error, decoded_alike, variants_decoded_alike};

    /// The derived decoding this file replaces, kept as the reference that the hand-written
    /// one must agree with.
    mod derived {
        use super::*;

        #[derive(Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Usage {
            #[serde(deserialize_with = "null_default")]
            prompt_tokens: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            completion_tokens: Option<u32>,
            #[serde(deserialize_with = "null_default")]
            total_tokens: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            prompt_tokens_details: Option<PromptDetails>,
            #[serde(skip_serializing_if = "Option::is_none")]
            completion_tokens_details: Option<CompletionDetails>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Serialize, Deserialize)]
        #[serde(default)]
        struct PromptDetails {
            #[serde(skip_serializing_if = "Option::is_none")]
            cached_tokens: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            audio_tokens: Option<u32>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Serialize, Deserialize)]
        #[serde(default)]
        struct CompletionDetails {
            #[serde(skip_serializing_if = "Option::is_none")]
            reasoning_tokens: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            audio_tokens: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            accepted_prediction_tokens: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rejected_prediction_tokens: Option<u32>,
            #[serde(flatten)]
            extra: Extra,
        }
    }

    const FIXTURES: [&str; 4] = [
        // OpenAI, with both breakdowns.
        r#"{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,
            "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},
            "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,
            "accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#,
        // vLLM with `--enable-prompt-tokens-details`: its own keys in the breakdown.
        r#"{"prompt_tokens":5,"total_tokens":12,"completion_tokens":7,
            "prompt_tokens_details":{"cached_tokens":0,"created_cache_tokens":0,"multimodal_tokens":0}}"#,
        // vLLM embeddings: no generated tokens, the breakdown `null`.
        r#"{"prompt_tokens":8,"total_tokens":8,"completion_tokens":0,"prompt_tokens_details":null}"#,
        // llama.cpp / Ollama: the counts and keys of their own.
        r#"{"completion_tokens":12,"prompt_tokens":9,"total_tokens":21,"x_cache":true}"#,
    ];

    #[test]
    fn every_value_replaced_decodes_as_derived() {
        let checked = variants_decoded_alike::<Usage, derived::Usage>(&FIXTURES);
        assert!(checked > 400, "{checked}");
    }

    #[test]
    fn edge_cases_decode_as_derived() {
        for text in [
            r#"{"prompt_tokens":null,"completion_tokens":null,"total_tokens":null,"prompt_tokens_details":null,"completion_tokens_details":null}"#,
            r#"{"prompt_tokens_details":{},"completion_tokens_details":{}}"#,
            r#"{"prompt_tokens_details":{"cached_tokens":null,"audio_tokens":null}}"#,
            r#"{"prompt_tokens":-1}"#,
            r#"{"prompt_tokens":4294967296}"#,
            r#"{"prompt_tokens":1.0}"#,
            r#"{"prompt_tokens":1,"prompt_tokens":2}"#,
            r#"{"prompt_tokens_details":{"cached_tokens":1,"cached_tokens":null}}"#,
            r#"{"completion_tokens_details":{"reasoning_tokens":1,"reasoning_tokens":2}}"#,
            r#"{"x":1,"x":2,"prompt_tokens_details":{"y":1,"y":[2]}}"#,
            r#"{"pr\u006fmpt_tokens":3,"completion_tokens_details":{"re\u0061soning_tokens":4}}"#,
        ] {
            decoded_alike::<Usage, derived::Usage>(text);
        }
    }

    #[test]
    fn unknown_keys_kept_at_every_level() {
        let u = decoded_alike::<Usage, derived::Usage>(
            r#"{"x_cache":true,"prompt_tokens_details":{"multimodal_tokens":0},
                "completion_tokens_details":{"\u0061udio_tokens":2,"tts":1}}"#,
        )
        .unwrap();
        assert_eq!(u.extra["x_cache"], json!(true));
        let prompt = u.prompt_tokens_details.unwrap();
        assert_eq!(prompt.extra["multimodal_tokens"], json!(0));
        let completion = u.completion_tokens_details.unwrap();
        assert_eq!(completion.extra["tts"], json!(1));
        // An escaped known key is still that key, not an unknown one.
        assert_eq!(completion.audio_tokens, Some(2));
        assert!(!completion.extra.contains_key("audio_tokens"));
    }

    #[test]
    fn errors_name_the_problem() {
        for (text, expected) in [
            (
                r#"{"total_tokens":1,"total_tokens":1}"#,
                "duplicate field `total_tokens`",
            ),
            ("[1]", "expected struct Usage"),
            (
                r#"{"prompt_tokens_details":7}"#,
                "expected struct PromptTokensDetails",
            ),
            (
                r#"{"completion_tokens_details":[]}"#,
                "expected struct CompletionTokensDetails",
            ),
            (r#"{"prompt_tokens":-1}"#, "expected u32"),
        ] {
            let e = decode_error::<Usage>(text);
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
