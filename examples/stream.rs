//! `stream`: streaming a chat completion on the blocking API, with `n = 2` choices and the
//! accumulator.
//!
//! A stream yields [`ChatCompletionChunk`](oai_compat::types::ChatCompletionChunk)s; with
//! `n > 1` the chunks of the choices come interleaved, each naming its choice. A
//! [`ChatCompletionAccumulator`] merges them: `content(i)` is choice `i`'s text so far, and
//! `finish()` gives the `ChatCompletion` a non-streamed call would have returned, usage
//! included when the request asks for it (`stream_options.include_usage`).
//!
//! Progress goes to stderr, the accumulated completion to stdout. Uses `OPENAI_BASE_URL`, or
//! the built-in mock server when it is unset:
//!
//! ```text
//! cargo run --example stream
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example stream -- "Tell me a joke"
//! ```
//!
//! `stream_async.rs` is the same on the async client; the shared parts are in
//! `support/stream_demo.rs`.

#[path = "support/stream_demo.rs"]
mod stream_demo;

use std::error::Error;
use std::process::ExitCode;

use oai_compat::ChatCompletionAccumulator;

fn main() -> ExitCode {
    let demo = match stream_demo::setup() {
        Ok(demo) => demo,
        Err(code) => return code,
    };
    match run(&demo) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => stream_demo::failure(&e),
    }
}

fn run(demo: &stream_demo::Demo) -> Result<(), Box<dyn Error>> {
    let model = stream_demo::choose_model(&demo.client, demo.model.as_deref())?;
    let request = demo.request(model);

    let mut acc = ChatCompletionAccumulator::new();
    // The stream is an `Iterator` of `Result`s: an error mid-stream (an error event from the
    // server, a connection that breaks) is one `Err` item, and the stream ends there.
    for chunk in demo.client.chat().create_stream(&request)? {
        let chunk = chunk?;
        acc.push(&chunk);
        stream_demo::show_progress(&acc, &chunk);
    }
    stream_demo::show_result(&acc.finish());
    Ok(())
}
