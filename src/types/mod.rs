//! Request and response types: plain serde data, the same in the blocking and async modes.
//!
//! # Conventions
//!
//! - **Requests send only what you set.** Every optional field is an `Option` that is left
//!   out of the JSON when `None`; a request built with `new` sends just the model and the
//!   messages, prompt or input. Each optional field has a chained setter of its name, which
//!   takes the plain value (`ChatCompletionRequest::new(model, &messages).temperature(0.2)
//!   .max_tokens(64)`; vLLM's extras too: `.top_k(20)`), and `with_extra(key, value)` adds a
//!   key of your own. All request types but the audio ones (which need a file) implement
//!   `Default`, so many fields can also be set with struct-update syntax:
//!
//!   ```
//!   # use oai_compat::types::*;
//!   let req = ChatCompletionRequest {
//!       temperature: Some(0.2),
//!       max_tokens: Some(256),
//!       ..ChatCompletionRequest::new("Qwen/Qwen3-8B", [Message::user("Hello!")])
//!   };
//!   ```
//!
//! - **vLLM's sampling extras live in `vllm`.** [`ChatCompletionRequest::vllm`] and
//!   [`CompletionRequest::vllm`] hold a [`VllmParams`] (`top_k`, `min_p`,
//!   `repetition_penalty`, `structured_outputs`, ...) whose set fields are sent as top-level
//!   keys, as vLLM expects. Chat-template extras (`chat_template_kwargs`,
//!   `add_generation_prompt`, ...) are fields of [`ChatCompletionRequest`] itself. The removed
//!   `guided_*` keys are never sent: use [`StructuredOutputs`].
//!
//! - **`extra` maps, both ways.** Every request has an `extra` map whose keys are sent at the
//!   top level of the body (openai-python's `extra_body`), for parameters this crate has no
//!   field for. Every response object has an `extra` map that keeps the keys this crate has
//!   no field for, so nothing a server sends is lost.
//!
//! - **Responses are lenient.** A missing or `null` field takes its default, optional data is
//!   an `Option`, and unknown keys go to `extra`: a response from vLLM, OpenAI, llama.cpp,
//!   SGLang, LiteLLM or Ollama does not fail to parse because a field is missing, `null` or
//!   new. Reasoning text is read from `reasoning` or `reasoning_content` into
//!   [`ChatCompletionMessage::reasoning`] / [`ChatDelta::reasoning`].
//!
//! - **Two input shapes.** [`Prompt`] is text or token ids, one or a batch: the `prompt` of a
//!   completion and the `input` of an embedding or pooling request. [`Texts`] is one string or
//!   several: stop sequences and the texts of score and classify requests. Both convert from
//!   `&str`, `String` and batches of strings (`Vec`, slices, arrays, `collect()`), so a request
//!   takes what you have: `EmbeddingRequest::new(model, &docs)`, `stop: Some("\n".into())`.
//!
//! - **Open enums.** [`FinishReason`] and [`Role`] keep values they do not know in an
//!   `Other(String)` variant instead of failing; `as_str()` and `Display` give the wire value.
//!
//! - **`stream` and `stream_options` are the client's.** Requests have no `stream` field, and
//!   their `stream_options` field is never serialised with the request: the client adds both
//!   for streamed calls only.

mod audio;
mod batches;
mod chat;
mod common;
mod completions;
mod decode;
mod embeddings;
mod files;
mod input;
mod models;
mod pages;
mod responses;
mod setters;
mod vllm;

pub use audio::{
    AudioInputTokenDetails, AudioResponseFormat, SegmentId, TimestampGranularity,
    TranscriptTextDelta, TranscriptTextDone, Transcription, TranscriptionRequest,
    TranscriptionSegment, TranscriptionStreamEvent, TranscriptionUsage, TranscriptionWord,
    TranslationRequest,
};
pub use batches::{
    Batch, BatchError, BatchErrors, BatchList, BatchListParams, BatchRequest, BatchRequestCounts,
    BatchStatus,
};
pub use chat::{
    Annotation, ChatChoice, ChatCompletion, ChatCompletionChunk, ChatCompletionMessage,
    ChatCompletionRequest, ChatDelta, ChatLogprobs, ChunkChoice, Content, ContentPart,
    FunctionCall, FunctionCallDelta, FunctionDefinition, ImageUrl, InputAudio, JsonSchemaFormat,
    Message, ResponseFormat, Role, TokenLogprob, Tool, ToolCall, ToolCallDelta, ToolChoice,
    TopLogprob, UrlCitation,
};
pub use common::{
    CompletionTokensDetails, Extra, FinishReason, PromptTokensDetails, StopReason, StreamOptions,
    StructuredOutputs, Usage, VllmParams,
};
pub use completions::{Completion, CompletionChoice, CompletionLogprobs, CompletionRequest};
pub use embeddings::{Embedding, EmbeddingRequest, EmbeddingResponse, EncodingFormat};
pub use files::{FileDeleted, FileList, FileListParams, FileObject, FilePurpose, ListOrder};
pub use input::{Prompt, Texts};
pub use models::{Model, ModelList};
pub use responses::{
    ContentPartEvent, DeltaEvent, DoneEvent, ErrorEvent, FunctionCallItem, FunctionCallOutput,
    FunctionTool, IncompleteDetails, InputContent, InputItem, InputItemList, InputMessage,
    InputPart, InputTokensDetails, OutputContent, OutputItem, OutputItemEvent, OutputMessage,
    OutputText, OutputTokensDetails, ReasoningConfig, ReasoningItem, ReasoningPart, ResponseError,
    ResponseEvent, ResponseInput, ResponseObject, ResponseRequest, ResponseStatus,
    ResponseStreamEvent, ResponseStreamOptions, ResponseTool, ResponseToolChoice, ResponseUsage,
    TextConfig, TextFormat,
};
pub use vllm::{
    ClassifyData, ClassifyRequest, ClassifyResponse, DetokenizeRequest, DetokenizeResponse,
    PoolingData, PoolingRequest, PoolingResponse, RerankRequest, RerankResponse, RerankResult,
    ScoreData, ScoreRequest, ScoreResponse, TokenizeRequest, TokenizeResponse, Version,
};

/// The old name of [`Prompt`], which is now the input of embeddings and pooling requests as
/// well as the prompt of completions.
#[deprecated(note = "use `Prompt`: one type for text or token ids, one or a batch")]
pub type EmbeddingInput = Prompt;

/// The old name of [`Texts`], which now also holds the texts of score and classify requests.
#[deprecated(note = "use `Texts`: one type for one string or several")]
pub type Stop = Texts;

/// The old name of [`Texts`], which now also holds stop sequences.
#[deprecated(note = "use `Texts`: one type for one string or several")]
pub type TextInput = Texts;
