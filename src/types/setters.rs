//! Chained setters on the request types: `ChatCompletionRequest::new(model, messages)
//! .temperature(0.2).max_tokens(64)`, one method per optional field, named after it.
//!
//! They sit beside the struct-update form (`..ChatCompletionRequest::new(..)`), which stays
//! the way to set many fields at once; a setter sets `Some(value)` and returns the request.
//! Numbers and flags are taken as they are, so that a literal needs no suffix (`0.2` is an
//! `f32` here); text and structured fields take anything that converts into them.

use serde_json::Value;

use super::audio::{
    AudioResponseFormat, TimestampGranularity, TranscriptionRequest, TranslationRequest,
};
use super::chat::{ChatCompletionRequest, ResponseFormat, Tool, ToolChoice};
use super::common::StreamOptions;
use super::completions::CompletionRequest;
use super::embeddings::{EmbeddingRequest, EncodingFormat};
use super::input::Texts;
use super::responses::{
    ReasoningConfig, ResponseRequest, ResponseTool, ResponseToolChoice, TextConfig,
};

/// Setters for `Option` fields of `$ty` (`plain`: the value as it is; `into`: anything that
/// converts into it), for fields of its `vllm` extras, and `with_extra`.
macro_rules! setters {
    (
        $ty:ty {
            plain { $($p:ident: $pt:ty),* $(,)? }
            into { $($i:ident: $it:ty),* $(,)? }
            vllm { $($v:ident: $vt:ty),* $(,)? }
        }
    ) => {
        impl $ty {
            $(
                #[doc = concat!("Sets `", stringify!($p), "` (default: unset, the server's own).")]
                #[must_use]
                pub fn $p(mut self, value: $pt) -> Self {
                    self.$p = Some(value);
                    self
                }
            )*
            $(
                #[doc = concat!("Sets `", stringify!($i), "` (default: unset, the server's own).")]
                #[must_use]
                pub fn $i(mut self, value: impl Into<$it>) -> Self {
                    self.$i = Some(value.into());
                    self
                }
            )*
            $(
                #[doc = concat!(
                    "Sets vLLM's `", stringify!($v), "` (in `vllm`; default: unset). OpenAI \
                     rejects vLLM's extras."
                )]
                #[must_use]
                pub fn $v(mut self, value: $vt) -> Self {
                    self.vllm.$v = Some(value);
                    self
                }
            )*

            /// Adds `key` to `extra`, the keys sent at the top level of the body beside the
            /// typed fields (openai-python's `extra_body`), for a parameter this crate has no
            /// field for. Not for the key of a typed field (the body would hold it twice): use
            /// that field's setter.
            #[must_use]
            pub fn with_extra(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
                self.extra.insert(key.into(), value.into());
                self
            }
        }
    };
}

setters!(ChatCompletionRequest {
    plain {
        frequency_penalty: f32,
        logprobs: bool,
        top_logprobs: u32,
        max_tokens: u32,
        max_completion_tokens: u32,
        n: u32,
        presence_penalty: f32,
        seed: i64,
        temperature: f32,
        top_p: f32,
        parallel_tool_calls: bool,
        store: bool,
    }
    into {
        response_format: ResponseFormat,
        stop: Texts,
        tools: Vec<Tool>,
        tool_choice: ToolChoice,
        user: String,
        reasoning_effort: String,
        service_tier: String,
    }
    vllm {
        top_k: i32,
        min_p: f32,
        repetition_penalty: f32,
        min_tokens: u32,
        ignore_eos: bool,
    }
});

setters!(CompletionRequest {
    plain {
        best_of: u32,
        echo: bool,
        frequency_penalty: f32,
        logprobs: u32,
        max_tokens: u32,
        n: u32,
        presence_penalty: f32,
        seed: i64,
        temperature: f32,
        top_p: f32,
    }
    into {
        stop: Texts,
        suffix: String,
        user: String,
    }
    vllm {
        top_k: i32,
        min_p: f32,
        repetition_penalty: f32,
        min_tokens: u32,
        ignore_eos: bool,
    }
});

setters!(EmbeddingRequest {
    plain {
        dimensions: u32,
        truncate_prompt_tokens: i32,
        add_special_tokens: bool,
        priority: i32,
    }
    into {
        encoding_format: EncodingFormat,
        user: String,
        request_id: String,
    }
    // No `vllm` extras: an embedding request's vLLM fields are its own.
    vllm {}
});

setters!(ResponseRequest {
    plain {
        max_output_tokens: u32,
        temperature: f32,
        top_p: f32,
        parallel_tool_calls: bool,
        store: bool,
        background: bool,
        top_logprobs: u32,
        seed: i64,
    }
    into {
        instructions: String,
        tools: Vec<ResponseTool>,
        tool_choice: ResponseToolChoice,
        text: TextConfig,
        reasoning: ReasoningConfig,
        previous_response_id: String,
        truncation: String,
        user: String,
        service_tier: String,
        stop: Texts,
    }
    vllm {
        top_k: i32,
        min_p: f32,
        repetition_penalty: f32,
    }
});

setters!(TranscriptionRequest {
    plain {
        response_format: AudioResponseFormat,
        temperature: f32,
        max_completion_tokens: u32,
        seed: i64,
        top_p: f32,
        top_k: i32,
        min_p: f32,
        frequency_penalty: f32,
        presence_penalty: f32,
        repetition_penalty: f32,
    }
    into {
        language: String,
        prompt: String,
        to_language: String,
        stream_options: StreamOptions,
    }
    // vLLM's extras for audio are fields of the request itself.
    vllm {}
});

impl TranscriptionRequest {
    /// Sets `timestamp_granularities` (default: unset, the server's own: segments). Takes
    /// any list: `[TimestampGranularity::Word]`, a `Vec`, an iterator.
    #[must_use]
    pub fn timestamp_granularities(
        mut self,
        value: impl IntoIterator<Item = TimestampGranularity>,
    ) -> Self {
        self.timestamp_granularities = Some(value.into_iter().collect());
        self
    }

    /// Sets `include` (default: unset): e.g. `["logprobs"]`.
    #[must_use]
    pub fn include(mut self, value: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.include = Some(value.into_iter().map(Into::into).collect());
        self
    }
}

setters!(TranslationRequest {
    plain {
        response_format: AudioResponseFormat,
        temperature: f32,
        max_completion_tokens: u32,
        seed: i64,
    }
    into {
        prompt: String,
        language: String,
        to_language: String,
        stream_options: StreamOptions,
    }
    vllm {}
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Message;

    #[test]
    fn chained_setters_set_what_they_name() {
        let req = ChatCompletionRequest::new("m", [Message::user("hi")])
            .temperature(0.2)
            .max_tokens(64)
            .stop("END")
            .top_k(20)
            .user(String::from("u"))
            .with_extra("custom", 1);
        assert_eq!(req.temperature, Some(0.2));
        assert_eq!(req.max_tokens, Some(64));
        assert_eq!(req.vllm.top_k, Some(20));
        assert_eq!(req.user.as_deref(), Some("u"));
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            (v["stop"].clone(), v["top_k"].clone()),
            ("END".into(), 20.into())
        );
        assert_eq!(v["custom"], 1);
        // Equal to the struct-update form.
        let update = ChatCompletionRequest {
            temperature: Some(0.2),
            max_tokens: Some(64),
            ..ChatCompletionRequest::new("m", [Message::user("hi")])
        };
        let chained = ChatCompletionRequest::new("m", [Message::user("hi")])
            .temperature(0.2)
            .max_tokens(64);
        assert_eq!(
            serde_json::to_value(update).unwrap(),
            serde_json::to_value(chained).unwrap()
        );
        let e = EmbeddingRequest::new("m", ["a", "b"]).dimensions(8);
        assert_eq!(e.dimensions, Some(8));
        let r = ResponseRequest::new("m", "hi")
            .instructions("Be brief.")
            .top_k(5);
        assert_eq!(
            (r.instructions.as_deref(), r.vllm.top_k),
            (Some("Be brief."), Some(5))
        );
        let c = CompletionRequest::new("m", "Once")
            .max_tokens(3)
            .suffix("end");
        assert_eq!((c.max_tokens, c.suffix.as_deref()), (Some(3), Some("end")));
    }
}
