//! # oai-compat
//!
//! A client for OpenAI-compatible LLM servers: **vLLM** first, OpenAI itself, and every server
//! that speaks the same API (llama.cpp, SGLang, LiteLLM, Ollama's `/v1`).
//!
//! - **Sync first.** The default build is a blocking client on [ureq](https://docs.rs/ureq)
//!   with no async runtime in its dependency tree.
//! - **Async by feature.** `default-features = false, features = ["async", "rustls"]` gives
//!   the same API as `async fn`s on reqwest + tokio. These docs show the blocking
//!   signatures; in async mode every method that does I/O is `async`.
//! - **One code path.** Both modes compile from the same source: request and response types,
//!   retries, error handling and the SSE decoder are shared; only the transport differs.
//!
#![cfg_attr(feature = "blocking", doc = "```no_run")]
// Written for the blocking signatures; in async mode every call here is `.await`ed.
#![cfg_attr(not(feature = "blocking"), doc = "```ignore")]
//! use oai_compat::{Client, types::{ChatCompletionRequest, EmbeddingRequest, Message}};
//!
//! // OPENAI_BASE_URL / OPENAI_API_KEY, or set them here.
//! let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
//! // The first model the server lists (vLLM serves one); an empty list is an error, not a panic.
//! let models = client.models().list()?;
//! let Some(model) = models.data.first().map(|m| m.id.clone()) else {
//!     return Err(oai_compat::Error::Config("the server lists no models".into()));
//! };
//! let reply = client.chat().create(&ChatCompletionRequest::new(&model, [Message::user("Hi")]))?;
//! println!("{}", reply.text().unwrap_or_default());
//! for chunk in client.chat().create_stream(&ChatCompletionRequest::new(&model, [Message::user("Hi")]))? {
//!     print!("{}", chunk?.text());
//! }
//! # Ok::<_, oai_compat::Error>(())
//! ```
//!
//! ## Features
//!
//! | feature | default | what |
//! | --- | --- | --- |
//! | `blocking` | yes | the blocking client on ureq |
//! | `async` | no | the async client on reqwest + tokio (mutually exclusive with `blocking`) |
//! | `rustls` | yes | TLS with rustls and the platform's trust store |
//! | `native-tls` | no | TLS with the system library (OpenSSL, SChannel, Security.framework) |
//! | `tracing` | no | a [`tracing`](https://docs.rs/tracing) span per call with OpenTelemetry's GenAI attributes (below) |
//! | `schemars` | no | JSON schemas from Rust types ([schemars](https://docs.rs/schemars) 1.x) for structured outputs and tools: `json_schema_for::<T>()`, `function_for::<T>()`, `parse_schema::<T>()` |
//! | `mock` | no | `mock`: re-exports the [`oai-compat-mock`](https://docs.rs/oai-compat-mock) crate, an OpenAI-compatible server for offline tests |
//!
//! A build without a TLS feature works for plain-`http` servers (vLLM on a LAN); an `https`
//! base URL then fails at [`ClientBuilder::build`] with an error naming the feature.
//! **Libraries** that depend on oai-compat should use `default-features = false` and let the
//! application pick the mode, since `blocking` and `async` cannot both be on.
//!
//! ## Timeouts
//!
//! [`Timeouts`]: `connect` (5 s), `request` (600 s: a whole non-streamed attempt, or a
//! stream's wait for its headers), `stream_idle` (600 s: the longest gap between stream
//! *events*; keep-alive comments do not reset it) and `stream_total` (off). Each expiry is an
//! [`Error::Timeout`] that names its [`TimeoutPhase`].
//!
//! ## Retries
//!
//! Two retries by default (openai-python's rules): 408, 409, 429, 5xx, connection errors and
//! timeouts, with the server's `retry-after` honoured up to 120 s (more means no retry) and
//! exponential backoff with jitter otherwise. A stream is never retried once handed over.
//!
//! ## Tracing (feature `tracing`)
//!
//! Every call opens a span named `gen_ai` (its `otel.name` is `"{operation} {model}"`, e.g.
//! `chat tiny-llama`, for tracing-opentelemetry) with a child `gen_ai.attempt` span per
//! attempt. Attributes follow OpenTelemetry's GenAI semantic conventions:
//! `gen_ai.operation.name` (`chat`, `text_completion`, `embeddings`), `gen_ai.system` and
//! `gen_ai.provider.name` (`openai`: the API spoken), `gen_ai.request.model`,
//! `gen_ai.request.max_tokens` / `temperature` / `top_p`, `gen_ai.response.id` / `model` /
//! `finish_reasons`, `gen_ai.usage.input_tokens` / `output_tokens`, `server.address` /
//! `server.port`, `http.request.method`, `http.response.status_code`, `error.type` (the
//! status, or `timeout`, `connection`, `decode`, `stream`), and `oai_compat.retries`. A
//! stream's span stays open until the stream is dropped and adds
//! `oai_compat.stream.time_to_first_token_ms` and `oai_compat.stream.events`.
//!
//! Never recorded: the API key, any header, the URL's path or query. Prompt and completion
//! text are recorded (`gen_ai.input.messages`, `gen_ai.output.messages`, non-streamed calls)
//! only when `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`, OpenTelemetry's own
//! opt-in, is set when the first call is made. Spans are not entered (an entered span must not
//! be held across an `.await`, and both modes share one code path); the `log` lines are
//! written as before.
//!
//! ## Errors
//!
//! One [`Error`] enum: [`Error::Api`] (status, message, type, code, param, request id, body),
//! [`Error::Timeout`], [`Error::Connection`], [`Error::Decode`], [`Error::Stream`],
//! [`Error::Config`] (a setting), [`Error::InvalidRequest`] (a request that cannot be sent),
//! [`Error::NoBackend`] (a [`Router`] without a server for the model), with predicates such as [`Error::is_rate_limited`] and
//! [`Error::is_overloaded`]. The API key never appears in `Debug`, in any field of any error
//! (a key a server echoes is redacted) or in this crate's log lines. The HTTP stack's own
//! `TRACE` logs are another matter: in blocking mode ureq dumps request heads under the
//! target `ureq_proto`, and nothing in ureq turns that off; the guide's security chapter ([`guide::security`])
//! gives the filter that keeps them out, and the client logs one `WARN` (target
//! `oai_compat`) naming it at the first request that finds `TRACE` on for that target.
#![forbid(unsafe_code)]
// Library code never panics on what a server or a user sends or sets (tests may unwrap).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]
// docs.rs labels feature-gated items ("Available on crate feature `mock` only").
#![cfg_attr(docsrs, feature(doc_cfg))]
// Every item is built in both modes (gated on `blocking` or `async` only so that enabling both
// prints one error), so rustdoc's automatic labels would mark every page "blocking or async
// only". They are off; what is specific to a feature says so with an explicit `doc(cfg)`.
#![cfg_attr(docsrs, doc(auto_cfg = false))]

#[cfg(all(feature = "blocking", feature = "async"))]
compile_error!(
    "oai-compat: features `blocking` (default) and `async` are mutually exclusive. For the async client use `default-features = false, features = [\"async\", \"rustls\"]` in Cargo.toml, or on the command line `--no-default-features --features async,rustls` (e.g. `cargo run --no-default-features --features async,rustls --example chat_async`). If you did not enable both yourself, another crate in your dependency graph did (run `cargo tree -e features -i oai-compat`)."
);
#[cfg(not(any(feature = "blocking", feature = "async")))]
compile_error!(
    "oai-compat: enable exactly one of the features `blocking` (the default) or `async`, e.g. `features = [\"blocking\", \"rustls\"]`."
);

// Every module is gated on a mode so that with both or neither feature on, the guard above is
// the only error printed. Elsewhere, `feature = "blocking"` alone picks the mode.
#[cfg(any(feature = "blocking", feature = "async"))]
mod accumulate;
#[cfg(any(feature = "blocking", feature = "async"))]
mod accumulate_responses;
#[cfg(any(feature = "blocking", feature = "async"))]
mod balance;
#[cfg(any(feature = "blocking", feature = "async"))]
mod body;
#[cfg(any(feature = "blocking", feature = "async"))]
mod bounded;
#[cfg(any(feature = "blocking", feature = "async"))]
mod call;
#[cfg(any(feature = "blocking", feature = "async"))]
pub mod cassette;
#[cfg(any(feature = "blocking", feature = "async"))]
mod client;
#[cfg(any(feature = "blocking", feature = "async"))]
mod config;
#[cfg(any(feature = "blocking", feature = "async"))]
mod download;
#[cfg(any(feature = "blocking", feature = "async"))]
mod error;
#[cfg(any(feature = "blocking", feature = "async"))]
mod finite;
#[cfg(any(feature = "blocking", feature = "async"))]
mod form;
#[cfg(all(any(fuzzing, test), any(feature = "blocking", feature = "async")))]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(any(feature = "blocking", feature = "async"))]
pub mod guide;
#[cfg(any(feature = "blocking", feature = "async"))]
mod headers;
#[cfg(all(feature = "mock", any(feature = "blocking", feature = "async")))]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;
#[cfg(any(feature = "blocking", feature = "async"))]
mod multipart;
#[cfg(any(feature = "blocking", feature = "async"))]
mod parse_error;
#[cfg(any(feature = "blocking", feature = "async"))]
pub mod prelude;
#[cfg(any(feature = "blocking", feature = "async"))]
mod redirect;
#[cfg(any(feature = "blocking", feature = "async"))]
mod request;
#[cfg(any(feature = "blocking", feature = "async"))]
mod request_id;
#[cfg(any(feature = "blocking", feature = "async"))]
pub mod resources;
#[cfg(any(feature = "blocking", feature = "async"))]
mod response;
#[cfg(any(feature = "blocking", feature = "async"))]
mod retry;
#[cfg(any(feature = "blocking", feature = "async"))]
mod router;
#[cfg(any(feature = "blocking", feature = "async"))]
mod rt;
#[cfg(any(feature = "blocking", feature = "async"))]
pub mod schema;
mod secret;
#[cfg(any(feature = "blocking", feature = "async"))]
mod sse;
#[cfg(any(feature = "blocking", feature = "async"))]
mod stream;
#[cfg(any(feature = "blocking", feature = "async"))]
mod structured;
mod telemetry;
#[cfg(any(feature = "blocking", feature = "async"))]
mod template_kwargs;
#[cfg(any(feature = "blocking", feature = "async"))]
mod tool_loop;
#[cfg(any(feature = "blocking", feature = "async"))]
mod tool_loop_error;
#[cfg(any(feature = "blocking", feature = "async"))]
mod transport;
#[cfg(any(feature = "blocking", feature = "async"))]
pub mod types;
#[cfg(any(feature = "blocking", feature = "async"))]
mod upload;
#[cfg(any(feature = "blocking", feature = "async"))]
mod url;

/// serde_json, re-exported: the `extra` maps, `json!` for schemas and `chat_template_kwargs`,
/// and raw JSON values are its types, so `oai_compat::serde_json::json!` works without a
/// `serde_json` dependency of your own.
#[cfg(any(feature = "blocking", feature = "async"))]
pub use serde_json;

/// schemars, re-exported (feature `schemars`): `#[derive(JsonSchema)]` needs the crate itself,
/// so depend on `schemars = "1"` too, or point the derive here with
/// `#[schemars(crate = "oai_compat::schemars")]`.
#[cfg(all(feature = "schemars", any(feature = "blocking", feature = "async")))]
#[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
pub use schemars;

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "blocking"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(any(feature = "blocking", feature = "async"))]
pub use crate::{
    accumulate::{ChatCompletionAccumulator, CompletionAccumulator},
    accumulate_responses::ResponseAccumulator,
    balance::BackendStats,
    client::Client,
    config::{ClientBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_RETRIES, Timeouts},
    download::Download,
    error::{
        ApiError, ConnectionError, DecodeError, Error, ErrorCode, Result, StreamError,
        StreamErrorKind, TimeoutError, TimeoutPhase, UploadError,
    },
    form::Form,
    headers::Headers,
    parse_error::{ParseError, ParseErrorKind},
    request::RequestOptions,
    resources::{
        audio::TranscriptionStream, batches::BatchPages, chat::ChatCompletionStream,
        completions::CompletionStream, files::FilePages, responses::ResponseStream,
    },
    response::{Response, ResponseMeta},
    router::{BACKENDS_ENV, Router, RouterBuilder},
    stream::EventStream,
    structured::{ParsedChatCompletion, ParsedResponse},
    tool_loop::{ResponseToolRun, ToolHandler, ToolRun},
    tool_loop_error::{ToolConversation, ToolLoopError},
    upload::Upload,
};
