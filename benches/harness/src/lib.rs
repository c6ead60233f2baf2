//! What both harness binaries share: the harness's argument parsing and report
//! (`bench_common.rs`), the client, the request bodies of each scenario and the checksums of
//! the decoded responses. Each scenario mirrors the harness's `raw-ureq` / `raw-reqwest`
//! clients (same model, messages, inputs, encoding format, API key and mock-control headers),
//! but goes through the library's typed API as a user would: `chat().create`,
//! `chat().create_stream` consumed to `[DONE]`, `embeddings().create` (base64 decoded into
//! `Vec<f32>` by the library), `models().list`.
//!
//! With `OAI_COMPAT_BENCH_NEXT_INTO=1` in the environment, `chat-stream` reads the stream with
//! `next_into` (every chunk decoded into one reused value) instead of the iterator: in
//! `clients.txt`, a second line such as
//! `oai-compat-into env OAI_COMPAT_BENCH_NEXT_INTO=1 /path/to/oai-compat-bench`. (The
//! harness's argument parser is shared and kept verbatim, hence a variable, not a flag.)

/// The harness's shared Rust module, copied verbatim from
/// `../shared/bench/peers/common/bench_common.rs` (the client contract: arguments, timing,
/// the JSON report).
// Kept byte-for-byte as the harness ships it, so a diff against the harness's copy shows any
// drift: neither reformatted nor linted here.
#[path = "bench_common.rs"]
#[rustfmt::skip]
#[allow(clippy::all)]
pub mod common;

use common::{die, embed_inputs, mock_headers, Args, Scenario};
use common::{CHAT_MODEL, EMBED_MODEL, SYSTEM_PROMPT, USER_PROMPT};
use oai_compat::types::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, EmbeddingRequest,
    EmbeddingResponse, EncodingFormat, Message, ModelList,
};
use oai_compat::Client;

/// The API key the harness's clients send.
const API_KEY: &str = "sk-mock";

/// Everything a request needs, built once before the timed phase (as the raw clients build
/// their URL and headers once).
pub struct Ctx {
    pub client: Client,
    pub args: Args,
    pub chat: ChatCompletionRequest,
    pub embed: EmbeddingRequest,
    /// `chat-stream` with `next_into` (see the crate's documentation).
    pub next_into: bool,
}

impl Ctx {
    /// Builds the client and the scenario's request; exits with the harness's error on a
    /// bad base URL.
    pub fn new(args: Args) -> Ctx {
        let mut builder = Client::builder()
            .base_url(&args.base_url)
            .api_key(API_KEY)
            // Loopback only: no `OPENAI_*` variables, no proxy from the environment.
            .use_env(false)
            .no_proxy();
        for (name, value) in mock_headers(&args) {
            builder = builder.header(name, value);
        }
        let client = builder.build().unwrap_or_else(|e| die(&e.to_string()));
        // `chat` and `chat-stream` send the same body; the stream call adds `"stream":true`
        // (no `stream_options`, like the raw clients).
        let chat = ChatCompletionRequest::new(
            CHAT_MODEL,
            [Message::system(SYSTEM_PROMPT), Message::user(USER_PROMPT)],
        );
        let format = match args.scenario {
            Scenario::EmbedB64 => EncodingFormat::Base64,
            _ => EncodingFormat::Float,
        };
        let embed = EmbeddingRequest {
            encoding_format: Some(format),
            ..EmbeddingRequest::new(EMBED_MODEL, embed_inputs(args.n))
        };
        Ctx {
            client,
            args,
            chat,
            embed,
            next_into: next_into(),
        }
    }
}

/// Whether `OAI_COMPAT_BENCH_NEXT_INTO=1` asks for `next_into` on streams.
pub fn next_into() -> bool {
    std::env::var_os("OAI_COMPAT_BENCH_NEXT_INTO").is_some_and(|v| v == "1")
}

/// The report's `library` field: the library and how this binary runs it.
pub fn library(mode: &str) -> String {
    let streams = if next_into() { ", streams by next_into" } else { "" };
    format!("oai-compat ({mode}, typed API, defaults{streams})")
}

/// `chat`: content bytes of every choice.
pub fn chat_sum(r: &ChatCompletion) -> f64 {
    r.choices
        .iter()
        .map(|c| c.message.content.as_deref().map_or(0, str::len))
        .sum::<usize>() as f64
}

/// `chat-stream`: content bytes of every choice's delta of one chunk.
pub fn chunk_sum(r: &ChatCompletionChunk) -> usize {
    r.choices
        .iter()
        .map(|c| c.delta.content.as_deref().map_or(0, str::len))
        .sum()
}

/// `embed` and `embed-b64`: the sum of every float, as `f64`.
pub fn embed_sum(r: &EmbeddingResponse) -> f64 {
    r.data
        .iter()
        .map(|d| d.embedding.iter().map(|&x| f64::from(x)).sum::<f64>())
        .sum()
}

/// `models`: bytes of every model id.
pub fn models_sum(r: &ModelList) -> f64 {
    r.data.iter().map(|m| m.id.len()).sum::<usize>() as f64
}
