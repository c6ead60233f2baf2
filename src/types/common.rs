//! Types shared by several endpoints: usage, finish and stop reasons, stream options and
//! vLLM's sampling extras.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

// `Deserialize` of `Usage` and its breakdowns.
mod usage_decode;

/// Extra JSON keys, sent or received at the top level of the object that holds them.
///
/// On a request, every key is sent as a top-level key of the JSON body (openai-python's
/// `extra_body`): use it for server parameters this crate has no field for. Do not repeat a
/// key that a typed field already sends, or the body will hold it twice. On a response, it
/// keeps every key the crate has no field for, so nothing a server sends is lost.
pub type Extra = serde_json::Map<String, Value>;

/// Deserialises `null` as `T::default()`, so a server that sends `null` for a field this
/// crate types as non-optional does not fail the whole response.
pub(crate) fn null_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads a Unix timestamp leniently: an integer, a float (truncated), or `null` (`0`).
pub(crate) fn lenient_timestamp<'de, D>(deserializer: D) -> Result<u64, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(lenient_opt_timestamp(deserializer)?.unwrap_or_default())
}

/// Reads an optional Unix timestamp leniently: an integer, a float (truncated), or `null`.
pub(crate) fn lenient_opt_timestamp<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: Deserializer<'de>,
{
    struct TimestampVisitor;

    impl<'de> Visitor<'de> for TimestampVisitor {
        type Value = Option<u64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a Unix timestamp (number) or null")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(u64::try_from(v).unwrap_or(0)))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // `as` saturates: negative and NaN give 0.
            Ok(Some(v as u64))
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    deserializer.deserialize_any(TimestampVisitor)
}

/// Token counts of a request, as reported by the server.
///
/// OpenAI, vLLM, llama.cpp and Ollama all send `prompt_tokens` and `total_tokens`; vLLM types
/// `completion_tokens` as optional (absent for prompt-only work such as embeddings).
///
/// Decoded leniently (a missing key or `null` gives the field's default; unknown keys go to
/// `extra`, here and in the breakdowns) by a hand-written decoder rather than a derived one.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Usage {
    /// Tokens in the prompt (after the chat template was applied).
    pub prompt_tokens: u32,
    /// Tokens generated; absent on embeddings responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u32>,
    /// `prompt_tokens + completion_tokens`.
    pub total_tokens: u32,
    /// Breakdown of the prompt tokens (cached tokens with prefix caching).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Breakdown of the generated tokens (reasoning tokens on OpenAI's reasoning models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// Keys this crate has no field for (llama.cpp and Ollama add their own).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Breakdown of the prompt tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PromptTokensDetails {
    /// Prompt tokens served from the prefix cache (OpenAI; vLLM with
    /// `--enable-prompt-tokens-details`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u32>,
    /// Audio tokens in the prompt (OpenAI audio models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u32>,
    /// Keys this crate has no field for (vLLM: `created_cache_tokens`, `multimodal_tokens`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Breakdown of the generated tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CompletionTokensDetails {
    /// Tokens spent on hidden reasoning (OpenAI reasoning models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u32>,
    /// Audio tokens generated (OpenAI audio models).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u32>,
    /// Predicted-output tokens that appeared in the completion (OpenAI `prediction`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted_prediction_tokens: Option<u32>,
    /// Predicted-output tokens that did not appear in the completion (OpenAI `prediction`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_prediction_tokens: Option<u32>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why the server stopped generating a choice. Open: an unknown value is kept in
/// [`FinishReason::Other`] rather than failing the response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural stop: end-of-sequence token, a stop sequence or a stop token id.
    Stop,
    /// `max_tokens` (or the context length) was reached.
    Length,
    /// The model called one or more tools.
    ToolCalls,
    /// Content was omitted by a content filter (OpenAI, Azure).
    ContentFilter,
    /// The model called a function (OpenAI's deprecated `functions` API).
    FunctionCall,
    /// The request was aborted (vLLM engine).
    Abort,
    /// The engine failed while generating (vLLM; normally turned into an HTTP 500).
    Error,
    /// Generation stopped because it was repeating itself (vLLM repetition detection).
    Repetition,
    /// Any other value, kept as sent.
    #[serde(untagged)]
    Other(String),
}

impl FinishReason {
    /// The value as sent on the wire, e.g. `"tool_calls"`.
    pub fn as_str(&self) -> &str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::FunctionCall => "function_call",
            FinishReason::Abort => "abort",
            FinishReason::Error => "error",
            FinishReason::Repetition => "repetition",
            FinishReason::Other(s) => s,
        }
    }
}

crate::types::decode::open_enum_decoder! {
    FinishReason {
        "stop" => Stop,
        "length" => Length,
        "tool_calls" => ToolCalls,
        "content_filter" => ContentFilter,
        "function_call" => FunctionCall,
        "abort" => Abort,
        "error" => Error,
        "repetition" => Repetition,
    }
}

impl fmt::Display for FinishReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What stopped a vLLM choice (`stop_reason`): the stop token id or the stop string that
/// matched. `None` on the choice means end-of-sequence or length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StopReason {
    /// A token id from `stop_token_ids` (or an EOS id of the generation config).
    Token(i64),
    /// A string from `stop`.
    Text(String),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Token(t) => write!(f, "{t}"),
            StopReason::Text(s) => f.write_str(s),
        }
    }
}

/// Options for streamed responses (`stream_options`).
///
/// The client sends them only with streamed calls: vLLM answers 400 when `stream_options` is
/// set on a call that is not streamed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Send a final chunk with `usage` and `choices: []` before `[DONE]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// vLLM extra: also put running `usage` on every chunk (only with `include_usage`);
    /// OpenAI rejects it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuous_usage_stats: Option<bool>,
}

/// vLLM's sampling and control parameters shared by chat and text completions.
///
/// Flattened into [`ChatCompletionRequest`](super::ChatCompletionRequest) and
/// [`CompletionRequest`](super::CompletionRequest) as their `vllm` field: every key set here is
/// sent at the top level of the body, and nothing unset is sent. None of these are OpenAI
/// parameters: OpenAI answers 400 ("Unrecognized request argument") to any of them, so leave
/// them unset there. llama.cpp, SGLang and Ollama read some of them (`top_k`, `min_p`,
/// `repetition_penalty`).
///
/// Structured output goes through [`structured_outputs`](Self::structured_outputs). The old
/// `guided_json`, `guided_regex`, `guided_choice` and `guided_grammar` keys were removed in
/// vLLM 0.12, which now ignores them silently and returns unconstrained output; this crate
/// never sends them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VllmParams {
    /// vLLM extra; OpenAI rejects it. Sample only from the `k` most likely tokens (`-1` or `0`
    /// = all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i32>,
    /// vLLM extra; OpenAI rejects it. Drop tokens whose probability is below `min_p` times that
    /// of the most likely token (0 = off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f32>,
    /// vLLM extra; OpenAI rejects it. Penalise tokens already in the prompt or output
    /// (`1.0` = off, `> 1` discourages repetition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repetition_penalty: Option<f32>,
    /// vLLM extra; OpenAI rejects it. Length penalty used by beam search.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_penalty: Option<f32>,
    /// vLLM extra; OpenAI rejects it. Generate at least this many tokens before EOS or a stop
    /// token may end the output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_tokens: Option<u32>,
    /// vLLM extra; OpenAI rejects it. Token ids that stop generation (reported back in the
    /// choice's `stop_reason`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_token_ids: Option<Vec<u32>>,
    /// vLLM extra; OpenAI rejects it. Keep generating past the EOS token (benchmarks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_eos: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Drop special tokens from the output text (server default
    /// `true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_special_tokens: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Put spaces between special tokens in the output text
    /// (server default `true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spaces_between_special_tokens: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Keep the matched stop string in the output text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_stop_str_in_output: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Keep only the last `n` prompt tokens (`-1` = the model's
    /// maximum length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate_prompt_tokens: Option<i32>,
    /// vLLM extra; OpenAI rejects it. Sample only from these token ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_token_ids: Option<Vec<u32>>,
    /// vLLM extra; OpenAI rejects it. Words (token sequences) that must not be generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bad_words: Option<Vec<String>>,
    /// vLLM extra; OpenAI rejects it. Return this many log-probabilities per prompt token in
    /// the response's `prompt_logprobs`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_logprobs: Option<u32>,
    /// vLLM extra; OpenAI rejects it. Constrain the output to a JSON schema, a regex, a choice
    /// or a grammar. Replaces the removed `guided_*` keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured_outputs: Option<StructuredOutputs>,
    /// vLLM extra; OpenAI rejects it. Add the tokenizer's special tokens (BOS) to the prompt
    /// (chat default `false`: the template adds them; completions default `true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_special_tokens: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Scheduling priority with `--scheduling-policy priority`
    /// (lower runs first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// vLLM extra; OpenAI rejects it. Request id used in logs and the response `id` (the
    /// `X-Request-Id` header takes precedence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// vLLM extra; OpenAI rejects it. Salt mixed into prefix-cache hashes, so only requests
    /// with the same salt share cached blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_salt: Option<String>,
    /// vLLM extra; OpenAI rejects it. Return logprob tokens as `token_id:<id>` strings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_tokens_as_token_ids: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Return the generated token ids in each choice's
    /// `token_ids` (and the prompt's in `prompt_token_ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_token_ids: Option<bool>,
}

/// vLLM's `structured_outputs`: constrain the output. Set exactly one of `json`, `regex`,
/// `choice`, `grammar`, `json_object` or `structural_tag`; the constructors do that.
///
/// This replaces the `guided_json`, `guided_regex`, `guided_choice` and `guided_grammar`
/// request keys, which vLLM 0.12 removed and now ignores silently (the output is then
/// unconstrained). vLLM extra; OpenAI rejects it (use `response_format` there).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StructuredOutputs {
    /// A JSON schema the output must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// A regular expression the output must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// The output must be exactly one of these strings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<Vec<String>>,
    /// An EBNF / GBNF / Lark grammar the output must match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grammar: Option<String>,
    /// The output must be some JSON object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_object: Option<bool>,
    /// A structural tag description (JSON text), for tool-call style constrained segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structural_tag: Option<String>,
    /// Forbid whitespace the schema does not need in generated JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_any_whitespace: Option<bool>,
    /// Treat JSON schemas as if they had `additionalProperties: false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_additional_properties: Option<bool>,
    /// Regex for the whitespace allowed in generated JSON (outlines backend).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whitespace_pattern: Option<String>,
    /// Other keys of `structured_outputs`, sent as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

impl StructuredOutputs {
    /// Output that matches the JSON schema `schema`.
    pub fn json(schema: Value) -> Self {
        StructuredOutputs {
            json: Some(schema),
            ..Default::default()
        }
    }

    /// Output that matches the regular expression `pattern`.
    pub fn regex(pattern: impl Into<String>) -> Self {
        StructuredOutputs {
            regex: Some(pattern.into()),
            ..Default::default()
        }
    }

    /// Output that is exactly one of `choices`.
    pub fn choice(choices: impl IntoIterator<Item = impl Into<String>>) -> Self {
        StructuredOutputs {
            choice: Some(choices.into_iter().map(Into::into).collect()),
            ..Default::default()
        }
    }

    /// Output that matches the grammar `grammar` (EBNF/GBNF/Lark, depending on the backend).
    pub fn grammar(grammar: impl Into<String>) -> Self {
        StructuredOutputs {
            grammar: Some(grammar.into()),
            ..Default::default()
        }
    }

    /// Output that is some JSON object.
    pub fn json_object() -> Self {
        StructuredOutputs {
            json_object: Some(true),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finish_reason_known_and_open() {
        let v: Vec<FinishReason> =
            serde_json::from_str(r#"["stop","length","tool_calls","content_filter","function_call","abort","error","repetition","eos_token"]"#)
                .unwrap();
        assert_eq!(
            v,
            vec![
                FinishReason::Stop,
                FinishReason::Length,
                FinishReason::ToolCalls,
                FinishReason::ContentFilter,
                FinishReason::FunctionCall,
                FinishReason::Abort,
                FinishReason::Error,
                FinishReason::Repetition,
                FinishReason::Other("eos_token".into()),
            ]
        );
        for r in &v {
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
            assert_eq!(r.to_string(), r.as_str());
        }
        assert_eq!(FinishReason::ToolCalls.as_str(), "tool_calls");
    }

    #[test]
    fn stop_reason_int_and_string() {
        let v: Vec<Option<StopReason>> =
            serde_json::from_str(r#"[151645, "</answer>", null, -1]"#).unwrap();
        assert_eq!(
            v,
            vec![
                Some(StopReason::Token(151645)),
                Some(StopReason::Text("</answer>".into())),
                None,
                Some(StopReason::Token(-1)),
            ]
        );
        assert_eq!(StopReason::Token(7).to_string(), "7");
        assert_eq!(
            serde_json::to_value(&v).unwrap(),
            json!([151645, "</answer>", null, -1])
        );
    }

    #[test]
    fn usage_lenient() {
        let u: Usage = serde_json::from_str(
            r#"{"prompt_tokens":12,"total_tokens":12,"completion_tokens":null,
                "prompt_tokens_details":{"cached_tokens":8,"multimodal_tokens":0},
                "completion_tokens_details":null}"#,
        )
        .unwrap();
        assert_eq!(u.prompt_tokens, 12);
        assert_eq!(u.completion_tokens, None);
        let details = u.prompt_tokens_details.as_ref().unwrap();
        assert_eq!(details.cached_tokens, Some(8));
        assert_eq!(details.extra["multimodal_tokens"], json!(0));
        assert_eq!(u.completion_tokens_details, None);

        let u: Usage = serde_json::from_str(r#"{"prompt_tokens":null}"#).unwrap();
        assert_eq!(u, Usage::default());

        // llama.cpp / Ollama style extras are kept.
        let u: Usage = serde_json::from_str(
            r#"{"prompt_tokens":1,"total_tokens":3,"completion_tokens":2,"x_cache":true}"#,
        )
        .unwrap();
        assert_eq!(u.extra["x_cache"], json!(true));
        let back: Usage = serde_json::from_value(serde_json::to_value(&u).unwrap()).unwrap();
        assert_eq!(back, u);
    }

    #[test]
    fn stream_options_skip_unset() {
        assert_eq!(
            serde_json::to_value(StreamOptions::default()).unwrap(),
            json!({})
        );
        let so = StreamOptions {
            include_usage: Some(true),
            continuous_usage_stats: Some(true),
        };
        assert_eq!(
            serde_json::to_value(&so).unwrap(),
            json!({"include_usage": true, "continuous_usage_stats": true})
        );
    }

    #[test]
    fn vllm_params_only_set_keys() {
        assert_eq!(
            serde_json::to_value(VllmParams::default()).unwrap(),
            json!({})
        );
        let p = VllmParams {
            top_k: Some(20),
            min_p: Some(0.5),
            stop_token_ids: Some(vec![151645]),
            truncate_prompt_tokens: Some(-1),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            json!({"top_k": 20, "min_p": 0.5, "stop_token_ids": [151645], "truncate_prompt_tokens": -1})
        );
    }

    #[test]
    fn structured_outputs_constructors() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}}});
        assert_eq!(
            serde_json::to_value(StructuredOutputs::json(schema.clone())).unwrap(),
            json!({ "json": schema })
        );
        assert_eq!(
            serde_json::to_value(StructuredOutputs::regex(r"\d+")).unwrap(),
            json!({"regex": "\\d+"})
        );
        assert_eq!(
            serde_json::to_value(StructuredOutputs::choice(["yes", "no"])).unwrap(),
            json!({"choice": ["yes", "no"]})
        );
        assert_eq!(
            serde_json::to_value(StructuredOutputs::choice(vec![String::from("a")])).unwrap(),
            json!({"choice": ["a"]})
        );
        assert_eq!(
            serde_json::to_value(StructuredOutputs::grammar("root ::= \"a\"")).unwrap(),
            json!({"grammar": "root ::= \"a\""})
        );
        assert_eq!(
            serde_json::to_value(StructuredOutputs::json_object()).unwrap(),
            json!({"json_object": true})
        );
        let mut so = StructuredOutputs::regex("x");
        so.extra.insert("backend".into(), json!("xgrammar"));
        let v = serde_json::to_value(&so).unwrap();
        assert_eq!(v, json!({"regex": "x", "backend": "xgrammar"}));
        let back: StructuredOutputs = serde_json::from_value(v).unwrap();
        assert_eq!(back, so);
        // Never the removed keys.
        let text = serde_json::to_string(&StructuredOutputs::json(json!({}))).unwrap();
        assert!(!text.contains("guided"));
    }

    #[test]
    fn timestamps_lenient() {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct T {
            #[serde(deserialize_with = "lenient_timestamp")]
            a: u64,
            #[serde(deserialize_with = "lenient_opt_timestamp")]
            b: Option<u64>,
        }
        let t: T = serde_json::from_str(r#"{"a": 1700000000.75, "b": null}"#).unwrap();
        assert_eq!((t.a, t.b), (1_700_000_000, None));
        let t: T = serde_json::from_str(r#"{"a": null, "b": 5}"#).unwrap();
        assert_eq!((t.a, t.b), (0, Some(5)));
        let t: T = serde_json::from_str(r#"{"a": -3}"#).unwrap();
        assert_eq!((t.a, t.b), (0, None));
        assert!(serde_json::from_str::<T>(r#"{"a": "soon"}"#).is_err());
    }
}
