//! `stream_async`: the `stream` example on the async client (reqwest + tokio): a streamed
//! chat completion with `n = 2` choices, merged by the accumulator.
//!
//! The chunks of the two choices come interleaved, each naming its choice; a
//! [`ChatCompletionAccumulator`] merges them: `content(i)` is choice `i`'s text so far, and
//! `finish()` the `ChatCompletion` a non-streamed call would have returned (usage included,
//! since the request sets `stream_options.include_usage`).
//!
//! Progress goes to stderr, the accumulated completion to stdout. Uses `OPENAI_BASE_URL`, or
//! the built-in mock server when it is unset:
//!
//! ```text
//! cargo run --no-default-features --features async,rustls --example stream_async
//! ```
//!
//! The shared parts are in `support/stream_demo.rs`.

#[path = "support/stream_demo.rs"]
mod stream_demo;

use std::error::Error;
use std::process::ExitCode;

use oai_compat::ChatCompletionAccumulator;

#[tokio::main]
async fn main() -> ExitCode {
    let demo = match stream_demo::setup() {
        Ok(demo) => demo,
        Err(code) => return code,
    };
    match run(&demo).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => stream_demo::failure(&e),
    }
}

async fn run(demo: &stream_demo::Demo) -> Result<(), Box<dyn Error>> {
    let model = stream_demo::choose_model(&demo.client, demo.model.as_deref()).await?;
    let request = demo.request(model);

    let mut acc = ChatCompletionAccumulator::new();
    // `try_next` gives `Ok(None)` at the end; an error mid-stream (an error event from the
    // server, a connection that breaks) is an `Err`, and the stream ends there. The stream is
    // also a `futures::Stream`, for `StreamExt` users.
    let mut stream = demo.client.chat().create_stream(&request).await?;
    while let Some(chunk) = stream.try_next().await? {
        acc.push(&chunk);
        stream_demo::show_progress(&acc, &chunk);
    }
    stream_demo::show_result(&acc.finish());
    Ok(())
}
