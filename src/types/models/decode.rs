//! Hand-written `Deserialize` for [`ModelList`] and [`Model`], the response of
//! `GET /v1/models`.
//!
//! Written by `fill_decoder!` (`types/decode.rs`, which says why these are not derived and
//! why they decode in place); a derived decoder would buffer the list and every model, with
//! vLLM's `permission` arrays. A model's `created` is read leniently: an integer, a float
//! truncated, or `null` for `None`.

use super::{Model, ModelList};
use crate::types::decode::fill_decoder;

fill_decoder! {
    ModelList {
        "object" => object by or_default,
        "data" => data by elements,
    }
}

fill_decoder! {
    Model {
        "id" => id by or_default,
        "object" => object by or_default,
        "created" => created by opt_timestamp,
        "owned_by" => owned_by by option,
        "root" => root by option,
        "parent" => parent by option,
        "max_model_len" => max_model_len by option,
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;
    use crate::types::common::{Extra, lenient_opt_timestamp, null_default};
    use crate::types::decode::{decode_error, decoded_alike, variants_decoded_alike};

    /// The derived decoding this file replaces, kept as the reference that the hand-written
    /// one must agree with.
    #[derive(Default, Serialize, Deserialize)]
    #[serde(default)]
    struct DerivedList {
        #[serde(deserialize_with = "null_default")]
        object: String,
        #[serde(deserialize_with = "null_default")]
        data: Vec<DerivedModel>,
        #[serde(flatten)]
        extra: Extra,
    }

    #[derive(Default, Serialize, Deserialize)]
    #[serde(default)]
    struct DerivedModel {
        #[serde(deserialize_with = "null_default")]
        id: String,
        #[serde(deserialize_with = "null_default")]
        object: String,
        #[serde(
            deserialize_with = "lenient_opt_timestamp",
            skip_serializing_if = "Option::is_none"
        )]
        created: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        owned_by: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        root: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        parent: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        max_model_len: Option<u32>,
        #[serde(flatten)]
        extra: Extra,
    }

    const FIXTURES: [&str; 4] = [
        include_str!("../../../tests/fixtures/openai_models.json"),
        // vLLM: `root`, `parent`, `max_model_len` and `permission`, a base model and a LoRA
        // adapter.
        include_str!("../../../tests/fixtures/vllm_models.json"),
        // LiteLLM's proxy: OpenAI's shape, with `owned_by` naming the provider.
        r#"{"data":[{"id":"qwen3-8b","object":"model","created":1677610602,"owned_by":"openai"},
            {"id":"gpt-4o","object":"model","created":1677610602,"owned_by":"openai"}],
            "object":"list"}"#,
        // llama.cpp: `meta` on the model, `models` beside `data`; Ollama: `created` as null.
        r#"{"models":[{"name":"m.gguf","model":"m.gguf","capabilities":["completion"]}],
            "object":"list","data":[{"id":"m.gguf","object":"model","created":1761234567.5,
            "owned_by":"llamacpp","meta":{"n_ctx_train":131072,"n_params":8030261248}},
            {"id":"llama3.2:latest","object":"model","created":null,"owned_by":"library"}]}"#,
    ];

    #[test]
    fn fixtures_decode_as_derived() {
        for text in FIXTURES {
            let list = decoded_alike::<ModelList, DerivedList>(text).unwrap();
            assert!(!list.data.is_empty(), "{text}");
        }
    }

    /// Every value of every fixture, one at a time, replaced by each of a set of values of
    /// other types and shapes, and every key renamed to an unknown one: the two decoders must
    /// agree on each of these documents.
    #[test]
    fn every_value_replaced_decodes_as_derived() {
        let checked = variants_decoded_alike::<ModelList, DerivedList>(&FIXTURES);
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn edge_cases_decode_as_derived() {
        for text in [
            r#"{"object":null,"data":null}"#,
            r#"{"data":[null]}"#,
            r#"{"data":[{}]}"#,
            r#"{"data":[[]]}"#,
            r#"{"data":[{"id":null,"object":null,"created":null,"owned_by":null,"root":null,"parent":null,"max_model_len":null}]}"#,
            r#"{"data":[{"created":1761234567.9}]}"#,
            r#"{"data":[{"created":-5}]}"#,
            r#"{"data":[{"created":"soon"}]}"#,
            r#"{"data":[{"max_model_len":-1}]}"#,
            r#"{"data":[{"max_model_len":4294967296}]}"#,
            r#"{"data":[{"max_model_len":40960.0}]}"#,
            r#"{"object":"list","object":"list"}"#,
            r#"{"data":[],"data":[]}"#,
            r#"{"data":[{"id":"a","id":"b"}]}"#,
            r#"{"data":[{"created":1,"created":null}]}"#,
            r#"{"data":[{"parent":null,"parent":"x"}]}"#,
            r#"{"x":1,"x":2,"data":[{"y":1,"y":[2]}]}"#,
            r#"{"\u0064ata":[{"\u0069d":"escaped keys","r\u006fot":"é"}]}"#,
            r#"{"extra":{"nested":true},"data":[{"extra":1}]}"#,
            r#"{"data":[{"id":"a"}]} trailing"#,
            r#"{"data":[{"id":"a"}"#,
        ] {
            decoded_alike::<ModelList, DerivedList>(text);
        }
    }

    #[test]
    fn unknown_keys_kept_at_both_levels() {
        let list = decoded_alike::<ModelList, DerivedList>(
            r#"{"models":[{"name":"x"}],"data":[{"\u0069d":"m","permission":[{"allow_view":true}]}]}"#,
        )
        .unwrap();
        assert_eq!(list.extra["models"], json!([{"name": "x"}]));
        assert_eq!(
            list.data[0].extra["permission"][0]["allow_view"],
            json!(true)
        );
        // An escaped known key is still that key, not an unknown one.
        assert_eq!(list.data[0].id, "m");
        assert!(!list.data[0].extra.contains_key("id"));
    }

    #[test]
    fn errors_name_the_problem() {
        for (text, expected) in [
            (r#"{"data":[{"id":"a","id":"b"}]}"#, "duplicate field `id`"),
            ("[1]", "expected struct ModelList"),
            (r#"{"data":[7]}"#, "expected struct Model"),
            (
                r#"{"data":[{"max_model_len":"8k"}]}"#,
                "invalid type: string \"8k\", expected u32",
            ),
        ] {
            let e = decode_error::<ModelList>(text);
            assert!(e.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn decodes_from_a_value_too() {
        // Owned keys (`visit_string`), as from `serde_json::from_value`.
        let m: Model = serde_json::from_value(json!({
            "id": "a", "created": 3.7, "max_model_len": 8192, "unknown": 1
        }))
        .unwrap();
        assert_eq!(
            (m.id.as_str(), m.created, m.max_model_len),
            ("a", Some(3), Some(8192))
        );
        assert_eq!(m.extra["unknown"], 1);
    }
}
