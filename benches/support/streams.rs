//! Realistic streamed chat bodies for the benches, generated in the setup (no fixture files):
//! shared by `codec.rs` (chunk decoding) and `sse.rs` (SSE decoding) so both measure the same
//! stream. Each is `data: {chat.completion.chunk}\n\n` per event: a role chunk, `chunks`
//! content chunks of one word each (with some `\n` and `\"` escapes), a `finish_reason` chunk,
//! a usage chunk, then `data: [DONE]\n\n`.

/// The words the content chunks cycle through, JSON-escaped.
const WORDS: [&str; 16] = [
    " The",
    " capital",
    " of",
    " France",
    " is",
    " Paris",
    ".",
    "\\n\\n",
    " It",
    " has",
    " about",
    " 2",
    ".1",
    " million",
    " \\\"inhabitants\\\"",
    ",",
];

/// Content chunks of the streams the benches use: the shared harness's `stream` case.
pub const CHUNKS: usize = 1_000;

/// Events in a stream of `chunks` content chunks: role, content, finish, usage, `[DONE]`.
pub const fn events(chunks: usize) -> usize {
    chunks + 4
}

/// How one server's stream differs from another's.
struct Shape {
    /// The start of every chunk object, up to and including the comma before `choices`.
    head: &'static str,
    /// The first chunk's delta.
    first_delta: &'static str,
    /// Keys after `choices` on the first chunk.
    first_tail: &'static str,
    /// The finish chunk's delta.
    last_delta: &'static str,
    /// Keys after `finish_reason` in the finish chunk's choice.
    last_choice_tail: &'static str,
}

/// A body of `chunks` content chunks in the given shape, one `data:` line per event.
fn stream(chunks: usize, shape: &Shape) -> Vec<u8> {
    let Shape {
        head,
        first_delta,
        first_tail,
        last_delta,
        last_choice_tail,
    } = shape;
    let mut out = String::new();
    let mut event = |json: &str| {
        out.push_str("data: ");
        out.push_str(json);
        out.push_str("\n\n");
    };
    event(&format!(
        r#"{head}"choices":[{{"index":0,"delta":{first_delta},"logprobs":null,"finish_reason":null}}]{first_tail}}}"#
    ));
    for i in 0..chunks {
        let word = WORDS[i % WORDS.len()];
        event(&format!(
            r#"{head}"choices":[{{"index":0,"delta":{{"content":"{word}"}},"logprobs":null,"finish_reason":null}}]}}"#
        ));
    }
    event(&format!(
        r#"{head}"choices":[{{"index":0,"delta":{last_delta},"logprobs":null,"finish_reason":"stop"{last_choice_tail}}}]}}"#
    ));
    event(&format!(
        r#"{head}"choices":[],"usage":{{"prompt_tokens":15,"total_tokens":{},"completion_tokens":{chunks}}}}}"#,
        chunks + 15
    ));
    event("[DONE]");
    out.into_bytes()
}

/// vLLM's shape: no unknown keys, `prompt_token_ids` on the first chunk, `stop_reason` on
/// the last choice.
pub fn vllm(chunks: usize) -> Vec<u8> {
    stream(
        chunks,
        &Shape {
            head: r#"{"id":"chatcmpl-8f2c6d0b2a1e4c3f9a7b5d4e3c2b1a09","object":"chat.completion.chunk","created":1761234567,"model":"Qwen/Qwen3-8B","#,
            first_delta: r#"{"role":"assistant","content":""}"#,
            first_tail: r#","prompt_token_ids":null"#,
            last_delta: r#"{"content":""}"#,
            last_choice_tail: r#","stop_reason":null"#,
        },
    )
}

/// OpenAI's shape, as the shared harness's mock server sends it: `service_tier` (a key this
/// crate keeps in `extra`) and `system_fingerprint` on every chunk, `refusal: null` on the
/// first delta, an empty last delta.
pub fn openai(chunks: usize) -> Vec<u8> {
    stream(
        chunks,
        &Shape {
            head: r#"{"id":"chatcmpl-mock0000000000000000000000001","object":"chat.completion.chunk","created":1761234567,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_mock0001","#,
            first_delta: r#"{"role":"assistant","content":"","refusal":null}"#,
            first_tail: "",
            last_delta: "{}",
            last_choice_tail: "",
        },
    )
}

/// The `data` of every event of `body` (`[DONE]` included), split without the SSE decoder:
/// each event is one `data: ` line followed by a blank line.
pub fn event_data(body: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(body).expect("generated bodies are UTF-8");
    text.split_terminator("\n\n")
        .map(|e| {
            e.strip_prefix("data: ")
                .expect("one data line per event")
                .to_owned()
        })
        .collect()
}
