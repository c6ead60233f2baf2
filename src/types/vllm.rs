//! vLLM's own endpoints, served at the server root (not under `/v1`): `/version`,
//! `/tokenize`, `/detokenize`, `/score`, `/rerank`, `/pooling`, `/classify`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::chat::{Message, Tool};
use super::common::{Extra, Usage, lenient_timestamp, null_default};
use super::input::{Prompt, Texts};

/// `GET /version`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Version {
    /// The vLLM version, e.g. `0.32.0`.
    #[serde(deserialize_with = "null_default")]
    pub version: String,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /tokenize`: a text prompt, or chat messages rendered with the model's chat template.
/// Build it with [`TokenizeRequest::text`] or [`TokenizeRequest::chat`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenizeRequest {
    /// The model (optional on a one-model server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A text prompt. Exactly one of `prompt` and `messages` is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Chat messages, rendered with the chat template before tokenizing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<Message>>,
    /// Add the tokenizer's special tokens (BOS ...). vLLM's default: true for text, false for
    /// chat (the template adds them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_special_tokens: Option<bool>,
    /// Chat only: append the assistant turn's opening (vLLM's default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_generation_prompt: Option<bool>,
    /// Chat only: leave the last message open so the model continues it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continue_final_message: Option<bool>,
    /// Chat only: tools passed to the chat template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Chat only: a chat template to use instead of the model's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    /// Chat only: extra variables for the chat template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template_kwargs: Option<Extra>,
    /// Also return each token as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_token_strs: Option<bool>,
    /// Keys sent at the top level of the body.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TokenizeRequest {
    /// Tokenize a text prompt.
    pub fn text(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        TokenizeRequest {
            model: Some(model.into()),
            prompt: Some(prompt.into()),
            ..Self::default()
        }
    }

    /// Tokenize chat messages as the model's chat template renders them.
    pub fn chat(model: impl Into<String>, messages: impl IntoIterator<Item = Message>) -> Self {
        TokenizeRequest {
            model: Some(model.into()),
            messages: Some(messages.into_iter().collect()),
            ..Self::default()
        }
    }
}

/// The answer of `POST /tokenize`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenizeResponse {
    /// The token ids.
    #[serde(deserialize_with = "null_default")]
    pub tokens: Vec<u32>,
    /// How many tokens.
    #[serde(deserialize_with = "null_default")]
    pub count: u32,
    /// The server's context length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_model_len: Option<u32>,
    /// Each token as a string, when `return_token_strs` was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_strs: Option<Vec<String>>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /detokenize`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DetokenizeRequest {
    /// The model (optional on a one-model server).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The token ids to turn back into text.
    pub tokens: Vec<u32>,
    /// Keys sent at the top level of the body.
    #[serde(flatten)]
    pub extra: Extra,
}

impl DetokenizeRequest {
    /// Detokenize `tokens` with `model`'s tokenizer.
    pub fn new(model: impl Into<String>, tokens: impl Into<Vec<u32>>) -> Self {
        DetokenizeRequest {
            model: Some(model.into()),
            tokens: tokens.into(),
            extra: Extra::new(),
        }
    }
}

/// The answer of `POST /detokenize`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetokenizeResponse {
    /// The text.
    #[serde(deserialize_with = "null_default")]
    pub prompt: String,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /score`: the similarity of `text_1` to each of `text_2` (a cross-encoder, or an
/// embedding model's cosine similarity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreRequest {
    /// The model.
    pub model: String,
    /// The query text (or texts, paired one to one with `text_2`).
    pub text_1: Texts,
    /// The texts to score against `text_1`.
    pub text_2: Texts,
    /// Keep only the last N prompt tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate_prompt_tokens: Option<i32>,
    /// Keys sent at the top level of the body.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ScoreRequest {
    /// Scores `text_2` against `text_1`.
    pub fn new(
        model: impl Into<String>,
        text_1: impl Into<Texts>,
        text_2: impl Into<Texts>,
    ) -> Self {
        ScoreRequest {
            model: model.into(),
            text_1: text_1.into(),
            text_2: text_2.into(),
            truncate_prompt_tokens: None,
            extra: Extra::new(),
        }
    }
}

/// The answer of `POST /score`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoreResponse {
    /// Response id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// The model.
    #[serde(deserialize_with = "null_default")]
    pub model: String,
    /// Creation time, Unix seconds.
    #[serde(deserialize_with = "lenient_timestamp")]
    pub created: u64,
    /// One score per pair, by index.
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<ScoreData>,
    /// Tokens processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScoreData {
    /// Which `text_2` entry this scores.
    #[serde(deserialize_with = "null_default")]
    pub index: u32,
    /// The score (higher is more similar).
    #[serde(deserialize_with = "null_default")]
    pub score: f64,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /rerank` (Jina/Cohere style): `documents` ordered by relevance to `query`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RerankRequest {
    /// The model.
    pub model: String,
    /// The query.
    pub query: String,
    /// The documents to rank.
    pub documents: Vec<String>,
    /// Return only the best N.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_n: Option<u32>,
    /// Keep only the last N prompt tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate_prompt_tokens: Option<i32>,
    /// Keys sent at the top level of the body.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RerankRequest {
    /// Ranks `documents` by relevance to `query`.
    pub fn new(
        model: impl Into<String>,
        query: impl Into<String>,
        documents: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        RerankRequest {
            model: model.into(),
            query: query.into(),
            documents: documents.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

/// The answer of `POST /rerank`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RerankResponse {
    /// Response id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// The model.
    #[serde(deserialize_with = "null_default")]
    pub model: String,
    /// The documents, most relevant first.
    #[serde(deserialize_with = "null_default")]
    pub results: Vec<RerankResult>,
    /// Tokens processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One ranked document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RerankResult {
    /// Its index in the request's `documents`.
    #[serde(deserialize_with = "null_default")]
    pub index: u32,
    /// Its relevance to the query (higher is more relevant).
    #[serde(deserialize_with = "null_default")]
    pub relevance_score: f64,
    /// The document as the server echoes it (`{"text": ...}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /pooling`: the raw output of a pooling model (hidden states, per-token rewards ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolingRequest {
    /// The model.
    pub model: String,
    /// Text, texts or token ids.
    pub input: Prompt,
    /// Keys sent at the top level of the body.
    #[serde(flatten)]
    pub extra: Extra,
}

impl PoolingRequest {
    /// Pools `input` with `model`.
    pub fn new(model: impl Into<String>, input: impl Into<Prompt>) -> Self {
        PoolingRequest {
            model: model.into(),
            input: input.into(),
            extra: Extra::new(),
        }
    }
}

/// The answer of `POST /pooling`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolingResponse {
    /// Response id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// The model.
    #[serde(deserialize_with = "null_default")]
    pub model: String,
    /// One output per input, by index.
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<PoolingData>,
    /// Tokens processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One pooling output. Its shape depends on the model (a vector, a matrix ...), so it is
/// kept as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolingData {
    /// Which input this is.
    #[serde(deserialize_with = "null_default")]
    pub index: u32,
    /// The output.
    pub data: Value,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST /classify`: class probabilities from a classification model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyRequest {
    /// The model.
    pub model: String,
    /// Text or texts.
    pub input: Texts,
    /// Keys sent at the top level of the body.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ClassifyRequest {
    /// Classifies `input` with `model`.
    pub fn new(model: impl Into<String>, input: impl Into<Texts>) -> Self {
        ClassifyRequest {
            model: model.into(),
            input: input.into(),
            extra: Extra::new(),
        }
    }
}

/// The answer of `POST /classify`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassifyResponse {
    /// Response id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// The model.
    #[serde(deserialize_with = "null_default")]
    pub model: String,
    /// One result per input, by index.
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<ClassifyData>,
    /// Tokens processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One classification.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassifyData {
    /// Which input this is.
    #[serde(deserialize_with = "null_default")]
    pub index: u32,
    /// The most likely label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The probability of each class.
    #[serde(deserialize_with = "null_default")]
    pub probs: Vec<f64>,
    /// How many classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_classes: Option<u32>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokenize_requests_send_one_input_kind() {
        let t = serde_json::to_value(TokenizeRequest::text("m", "hello")).unwrap();
        assert_eq!(t, json!({"model": "m", "prompt": "hello"}));
        let c = serde_json::to_value(TokenizeRequest::chat("m", [Message::user("hi")])).unwrap();
        assert_eq!(c["messages"][0]["content"], "hi");
        assert!(c.get("prompt").is_none());
    }

    #[test]
    fn vllm_answers_parse() {
        let t: TokenizeResponse = serde_json::from_value(
            json!({"count":2,"max_model_len":512,"tokens":[1,279],"token_strs":null}),
        )
        .unwrap();
        assert_eq!(
            (t.count, t.tokens.as_slice(), t.max_model_len),
            (2, &[1, 279][..], Some(512))
        );
        let s: ScoreResponse = serde_json::from_value(json!({"id":"score-1","object":"list","created":1,"model":"m",
            "data":[{"index":0,"object":"score","score":0.67},{"index":1,"object":"score","score":0.21}],
            "usage":{"prompt_tokens":12,"total_tokens":12,"completion_tokens":0}})).unwrap();
        assert_eq!(s.data[1].score, 0.21);
        assert_eq!(s.data[0].extra["object"], "score");
        let r: RerankResponse = serde_json::from_value(
            json!({"id":"r","model":"m","usage":{"prompt_tokens":12,"total_tokens":12},
            "results":[{"index":1,"document":{"text":"a feline"},"relevance_score":0.67}]}),
        )
        .unwrap();
        assert_eq!(r.results[0].index, 1);
        assert_eq!(r.results[0].document.as_ref().unwrap()["text"], "a feline");
        let p: PoolingResponse = serde_json::from_value(
            json!({"id":"p","data":[{"index":0,"object":"pooling","data":[0.1,0.2]}]}),
        )
        .unwrap();
        assert_eq!(p.data[0].data, json!([0.1, 0.2]));
        let c: ClassifyResponse = serde_json::from_value(
            json!({"data":[{"index":0,"label":"pos","probs":[0.1,0.9],"num_classes":2}]}),
        )
        .unwrap();
        assert_eq!(c.data[0].label.as_deref(), Some("pos"));
    }

    #[test]
    fn score_inputs_one_or_many() {
        let r = serde_json::to_value(ScoreRequest::new("m", "q", ["a", "b"])).unwrap();
        assert_eq!(
            r,
            json!({"model": "m", "text_1": "q", "text_2": ["a", "b"]})
        );
    }
}
