//! Text completions (`POST /v1/completions`, the legacy OpenAI API that vLLM, llama.cpp and
//! SGLang serve in full): request and response types. The response type is also the stream
//! chunk type.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{
    Extra, FinishReason, StopReason, StreamOptions, Usage, VllmParams, null_default,
};
use super::input::{Prompt, Texts};

// `Deserialize` of `Completion` and `CompletionChoice`, without flatten's buffering.
mod decode;

/// The body of `POST /v1/completions`.
///
/// Only `model`, `prompt` and the fields you set are sent. vLLM's sampling extras are in
/// [`vllm`](Self::vllm); anything else goes in [`extra`](Self::extra). `stream` and
/// `stream_options` are set by the client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// The model to use, as listed by `/v1/models`.
    pub model: String,
    /// The prompt(s): text or token ids, one or a batch (a batch gives one choice, or `n`,
    /// per prompt; choice `index` counts across the batch).
    pub prompt: Prompt,
    /// Generate this many candidates per prompt and return the `n` best (vLLM: by
    /// cumulative logprob; not with streaming).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub best_of: Option<u32>,
    /// Return the prompt followed by the completion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
    /// Penalise tokens by how often they already appeared (-2.0 to 2.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    /// Bias added to the logits of token ids (keys are token ids as strings; -100 to 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<BTreeMap<String, f32>>,
    /// Return the log-probabilities of this many most likely tokens at each position
    /// (OpenAI allows at most 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<u32>,
    /// Maximum tokens to generate (OpenAI default 16; vLLM: up to the context length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Number of completions per prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Penalise tokens that already appeared at all (-2.0 to 2.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    /// Seed for sampling, for reproducible output (best effort).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Texts>,
    /// Text after the insertion point, for fill-in-the-middle (vLLM: FIM-capable models only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Sampling temperature (0 = greedy; OpenAI allows 0 to 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling: sample from the tokens making up this much probability mass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// An id for the end user, for abuse monitoring (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Options for streamed calls. Never serialised with the request: the client sends them
    /// only on streamed calls (vLLM rejects them otherwise).
    #[serde(skip)]
    pub stream_options: Option<StreamOptions>,
    /// vLLM's sampling and control extras, sent as top-level keys.
    // Keep `vllm` before `extra`: on parse, flattened fields claim keys in order, and a map
    // placed first would take the vLLM keys too.
    #[serde(flatten)]
    pub vllm: VllmParams,
    /// Other keys, sent as top-level keys (openai-python's `extra_body`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl CompletionRequest {
    /// A request for `model` with `prompt`; every other field unset.
    pub fn new(model: impl Into<String>, prompt: impl Into<Prompt>) -> Self {
        CompletionRequest {
            model: model.into(),
            prompt: prompt.into(),
            ..Default::default()
        }
    }
}

/// The response of a text completion; also each chunk of a streamed one (the last chunk of a
/// stream with `include_usage` has `choices: []` and the `usage`).
///
/// Decoded leniently, like the other response types (a missing key or `null` gives the field's
/// default; unknown keys go to `extra`), but by a hand-written decoder rather than a derived
/// one, so that a stream does not pay for the `extra` catch-alls on every chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Completion {
    /// The completion id (vLLM: `cmpl-` followed by the request id).
    pub id: String,
    /// Always `"text_completion"`.
    pub object: String,
    /// Creation time, Unix seconds.
    pub created: u64,
    /// The model that answered.
    pub model: String,
    /// The generated choices.
    pub choices: Vec<CompletionChoice>,
    /// Token counts (on a stream: the last chunk, with `include_usage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// vLLM: log-probabilities of the prompt tokens, when the server puts them at the top
    /// level (vLLM puts them on each choice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_logprobs: Option<Value>,
    /// vLLM: the prompt's token ids, when the server puts them at the top level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_token_ids: Option<Vec<u32>>,
    /// Keys this crate has no field for (vLLM: `kv_transfer_params`, `service_tier`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Completion {
    /// The text of the first choice, or `""`.
    pub fn text(&self) -> &str {
        self.choices.first().map_or("", |c| c.text.as_str())
    }
}

/// One generated choice of a [`Completion`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompletionChoice {
    /// The position of this choice (across prompts and `n`).
    pub index: u32,
    /// The generated text (on a stream: the new text of this chunk).
    pub text: String,
    /// Why generation stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Token log-probabilities (with `logprobs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<CompletionLogprobs>,
    /// vLLM: the stop token id or stop string that ended the choice (`None` for EOS or
    /// length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopReason>,
    /// vLLM: the generated token ids (with the `return_token_ids` request extra).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_ids: Option<Vec<u32>>,
    /// vLLM: log-probabilities of the prompt tokens (with the `prompt_logprobs` request
    /// extra): `null` for the first token, then maps of token id to
    /// `{logprob, rank, decoded_token}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_logprobs: Option<Value>,
    /// vLLM: the prompt's token ids (with the `return_token_ids` request extra).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_token_ids: Option<Vec<u32>>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Token log-probabilities of a completion choice (the legacy, column-wise format).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompletionLogprobs {
    /// The tokens, in order.
    #[serde(deserialize_with = "null_default")]
    pub tokens: Vec<String>,
    /// The log-probability of each token (`None` for the first token of an echoed prompt).
    #[serde(deserialize_with = "null_default")]
    pub token_logprobs: Vec<Option<f64>>,
    /// The most likely tokens at each position, token text to log-probability.
    #[serde(deserialize_with = "null_default")]
    pub top_logprobs: Vec<Option<BTreeMap<String, f64>>>,
    /// The character offset of each token in the text.
    #[serde(deserialize_with = "null_default")]
    pub text_offset: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StructuredOutputs;
    use serde_json::json;

    fn round_trip(c: &Completion) {
        let text = serde_json::to_string(c).unwrap();
        let back: Completion = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, c, "round trip through {text}");
    }

    #[test]
    fn minimal_request() {
        let req = CompletionRequest::new("m", "Once upon");
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"model": "m", "prompt": "Once upon"})
        );
    }

    #[test]
    fn prompt_shapes() {
        let cases: [(Prompt, Value); 6] = [
            (Prompt::from("a"), json!("a")),
            (Prompt::from(String::from("a")), json!("a")),
            (Prompt::from(vec!["a", "b"]), json!(["a", "b"])),
            (Prompt::from(vec![String::from("a")]), json!(["a"])),
            (Prompt::from(vec![1u32, 2, 3]), json!([1, 2, 3])),
            (
                Prompt::from(vec![vec![1u32], vec![2, 3]]),
                json!([[1], [2, 3]]),
            ),
        ];
        for (prompt, wire) in cases {
            let req = CompletionRequest::new("m", prompt.clone());
            assert_eq!(serde_json::to_value(&req).unwrap()["prompt"], wire);
            assert_eq!(serde_json::from_value::<Prompt>(wire).unwrap(), prompt);
        }
        assert_eq!(
            Prompt::from(["x", "y"]),
            Prompt::Texts(vec!["x".into(), "y".into()])
        );
        assert_eq!(Prompt::default(), Prompt::Text(String::new()));
    }

    #[test]
    fn request_extras_and_skip() {
        let mut req = CompletionRequest::new("m", vec![1u32, 2]);
        req.max_tokens = Some(8);
        req.logprobs = Some(2);
        req.stop = Some(Texts::from("\n"));
        req.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            continuous_usage_stats: None,
        });
        req.vllm.ignore_eos = Some(true);
        req.vllm.prompt_logprobs = Some(1);
        req.vllm.structured_outputs = Some(StructuredOutputs::regex("[0-9]+"));
        req.extra.insert("return_token_offsets".into(), json!(true));
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            json!({
                "model": "m", "prompt": [1, 2], "logprobs": 2, "max_tokens": 8, "stop": "\n",
                "ignore_eos": true, "prompt_logprobs": 1,
                "structured_outputs": {"regex": "[0-9]+"},
                "return_token_offsets": true
            })
        );
        let back: CompletionRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back.vllm, req.vllm);
        assert_eq!(back.extra, req.extra);
        assert_eq!(back.stream_options, None);
    }

    #[test]
    fn openai_completion() {
        let c: Completion =
            serde_json::from_str(include_str!("../../tests/fixtures/openai_completion.json"))
                .unwrap();
        assert_eq!(c.object, "text_completion");
        assert_eq!(c.text(), "\n\nThis is indeed a test");
        assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Length));
        assert_eq!(c.choices[0].logprobs, None);
        assert_eq!(c.usage.as_ref().unwrap().completion_tokens, Some(7));
        round_trip(&c);
    }

    #[test]
    fn vllm_completion_logprobs() {
        let c: Completion = serde_json::from_str(include_str!(
            "../../tests/fixtures/vllm_completion_logprobs.json"
        ))
        .unwrap();
        assert_eq!(c.text(), " Paris, the");
        let choice = &c.choices[0];
        assert_eq!(choice.stop_reason, None);
        let lp = choice.logprobs.as_ref().unwrap();
        assert_eq!(lp.tokens, vec![" Paris", ",", " the"]);
        assert_eq!(lp.text_offset, vec![0, 6, 7]);
        assert_eq!(lp.token_logprobs[0], Some(-0.0121));
        let top = lp.top_logprobs[0].as_ref().unwrap();
        assert_eq!(top[" Lyon"], -5.3302);
        let prompt_lp = choice.prompt_logprobs.as_ref().unwrap();
        assert_eq!(prompt_lp[0], Value::Null);
        assert_eq!(prompt_lp[2]["6864"]["decoded_token"], json!(" capital"));
        assert_eq!(choice.prompt_token_ids.as_ref().unwrap()[0], 128000);
        assert_eq!(c.extra["kv_transfer_params"], Value::Null);
        round_trip(&c);
    }

    #[test]
    fn echo_logprobs_with_nulls_and_stream_chunks() {
        let c: Completion = serde_json::from_value(json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "text": "Hi there",
                "logprobs": {"tokens": ["Hi", " there"], "token_logprobs": [null, -0.5],
                             "top_logprobs": [null, {" there": -0.5}], "text_offset": [0, 2]},
                "finish_reason": null, "stop_reason": "\n"}]
        }))
        .unwrap();
        let lp = c.choices[0].logprobs.as_ref().unwrap();
        assert_eq!(lp.token_logprobs, vec![None, Some(-0.5)]);
        assert_eq!(lp.top_logprobs[0], None);
        assert_eq!(
            c.choices[0].stop_reason,
            Some(StopReason::Text("\n".into()))
        );
        round_trip(&c);

        let usage_chunk: Completion = serde_json::from_value(json!({
            "id": "cmpl-1", "object": "text_completion", "created": 1, "model": "m",
            "choices": [], "usage": {"prompt_tokens": 3, "total_tokens": 5, "completion_tokens": 2}
        }))
        .unwrap();
        assert_eq!(usage_chunk.text(), "");
        assert_eq!(usage_chunk.usage.as_ref().unwrap().total_tokens, 5);

        let odd: Completion =
            serde_json::from_value(json!({"choices": [{"text": null, "finish_reason": "eos"}]}))
                .unwrap();
        assert_eq!(odd.text(), "");
        assert_eq!(
            odd.choices[0].finish_reason,
            Some(FinishReason::Other("eos".into()))
        );
    }
}
