//! Models (`GET /v1/models`): the models a server serves.

use serde::Serialize;

use super::common::Extra;

mod decode;

/// One model served. vLLM lists the base model and each LoRA adapter (whose `parent` is the
/// base model).
///
/// Decoded leniently (a missing key or `null` gives the field's default; unknown keys go to
/// `extra`) by a hand-written decoder rather than a derived one, so that a list does not pay
/// for the `extra` catch-all on every model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Model {
    /// The name to pass as `model` in requests (vLLM: the served model name).
    pub id: String,
    /// Always `"model"`.
    pub object: String,
    /// Creation time, Unix seconds (a float is truncated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<u64>,
    /// The owner (OpenAI: `"system"`, `"openai"`; vLLM: `"vllm"`; Ollama: `"library"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<String>,
    /// vLLM: the model path or repository the weights came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// vLLM: for a LoRA adapter, the base model it applies to; `None` for a base model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// vLLM: the context length in tokens (prompt plus output) the server accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_model_len: Option<u32>,
    /// Keys this crate has no field for (vLLM: `permission`; llama.cpp: `meta`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The response of `GET /v1/models`, decoded like [`Model`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelList {
    /// Always `"list"`.
    pub object: String,
    /// The models.
    pub data: Vec<Model>,
    /// Keys this crate has no field for (llama.cpp: `models`).
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(list: &ModelList) {
        let text = serde_json::to_string(list).unwrap();
        let back: ModelList = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, list, "round trip through {text}");
    }

    #[test]
    fn vllm_models() {
        let list: ModelList =
            serde_json::from_str(include_str!("../../tests/fixtures/vllm_models.json")).unwrap();
        assert_eq!(list.object, "list");
        assert_eq!(list.data.len(), 2);
        let base = &list.data[0];
        assert_eq!(base.id, "Qwen/Qwen3-8B");
        assert_eq!(base.owned_by.as_deref(), Some("vllm"));
        assert_eq!(base.root.as_deref(), Some("Qwen/Qwen3-8B"));
        assert_eq!(base.parent, None);
        assert_eq!(base.max_model_len, Some(40960));
        assert_eq!(base.created, Some(1761234567));
        assert_eq!(base.extra["permission"][0]["allow_sampling"], json!(true));
        let lora = &list.data[1];
        assert_eq!(lora.parent.as_deref(), Some("Qwen/Qwen3-8B"));
        assert_eq!(lora.root.as_deref(), Some("/adapters/sql-lora"));
        assert_eq!(lora.max_model_len, None);
        round_trip(&list);
    }

    #[test]
    fn openai_models() {
        let list: ModelList =
            serde_json::from_str(include_str!("../../tests/fixtures/openai_models.json")).unwrap();
        assert_eq!(list.data.len(), 3);
        assert_eq!(list.data[0].id, "gpt-4.1");
        assert_eq!(list.data[0].owned_by.as_deref(), Some("system"));
        assert_eq!(list.data[0].max_model_len, None);
        assert!(list.data[0].extra.is_empty());
        round_trip(&list);
    }

    #[test]
    fn lenient_models() {
        let list: ModelList = serde_json::from_str(
            r#"{"data":[{"id":"llama3.2:latest","created":null,"owned_by":"library","meta":{"n_ctx_train":131072}}],
                "models":[{"name":"x"}]}"#,
        )
        .unwrap();
        assert_eq!(list.object, "");
        assert_eq!(list.data[0].created, None);
        assert_eq!(list.data[0].extra["meta"]["n_ctx_train"], json!(131072));
        assert_eq!(list.extra["models"][0]["name"], json!("x"));
        round_trip(&list);
        assert_eq!(
            serde_json::from_str::<ModelList>("{}").unwrap(),
            ModelList::default()
        );
    }
}
