//! `responses`: the Responses API, streamed, in both modes from one source.
//!
//! Streams a response and prints the output text on stdout as it arrives; the event kinds,
//! the final status and the usage go to stderr. Uses `OPENAI_BASE_URL`, or the built-in mock
//! server when it is unset:
//!
//! ```text
//! cargo run --example responses -- "Write a haiku about the sea"
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example responses -- --max 64 "Hi"
//! cargo run --no-default-features --features async,rustls --example responses
//! ```
//!
//! The program is written once: maybe-async turns `run` into a plain function in the
//! blocking build, as the crate itself does.

#[path = "support/common.rs"]
mod common;
#[path = "support/connect.rs"]
mod connect;
#[path = "support/program.rs"]
#[macro_use]
mod program;

use std::error::Error;
use std::io::Write;

use oai_compat::ResponseAccumulator;
use oai_compat::types::{ResponseRequest, ResponseStreamEvent};

const USAGE: &str = "usage: responses [--model M] [--max N] [--] [PROMPT...]

Streams a response of the Responses API: the output text goes to stdout as it arrives,
the final status and token usage to stderr.

options:
  --model M      the model (default: the first model the server lists)
  --max N        max_output_tokens (default: 64)
  -h, --help     print this help

environment:
  OPENAI_BASE_URL    the server, e.g. http://localhost:8000/v1; when unset, the built-in
                     mock server is started and used
  OPENAI_API_KEY     the API key
";

struct Args {
    model: Option<String>,
    max: u32,
    prompt: String,
}

fn parse(mut args: common::Args) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        model: None,
        max: 64,
        prompt: String::new(),
    };
    while let Some(option) = args.next_option() {
        match option.as_str() {
            "-h" | "--help" => return Ok(None),
            "--model" => parsed.model = Some(args.value(&option)?),
            "--max" => {
                let v = args.value(&option)?;
                parsed.max = v
                    .parse()
                    .map_err(|_| format!("--max needs a positive integer, got {v:?}"))?;
            }
            _ => return Err(format!("unknown option {option}")),
        }
    }
    parsed.prompt = args.operands().join(" ");
    if parsed.prompt.is_empty() {
        parsed.prompt = "Write one sentence about the sea.".to_owned();
    }
    Ok(Some(parsed))
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let (client, _mock) = connect::connect()?;
    let model = common::choose_model(&client, args.model.as_deref()).await?;
    let request = ResponseRequest {
        max_output_tokens: Some(args.max),
        ..ResponseRequest::new(model, args.prompt.as_str())
    };
    let mut stream = client.responses().create_stream(&request).await?;
    let mut acc = ResponseAccumulator::new();
    let mut stdout = std::io::stdout();
    // Each event is typed; `text_delta()` is the output text it adds, if any. A
    // `response.failed` or `error` event, or a stream cut before its final event, is an `Err`.
    while let Some(event) = stream.try_next().await? {
        if let Some(text) = event.text_delta() {
            stdout.write_all(text.as_bytes())?;
            stdout.flush()?;
        } else if !matches!(event, ResponseStreamEvent::OutputTextDone(_)) {
            eprintln!("[{}]", event.kind());
        }
        acc.push(&event);
    }
    writeln!(stdout)?;
    let response = acc.into_response();
    let status = response.status.as_ref().map_or("unknown", |s| s.as_str());
    eprint!("{} {status}", response.id);
    if let Some(reason) = response.incomplete_reason() {
        eprint!(" ({reason})");
    }
    if let Some(u) = &response.usage {
        eprint!(
            ": {} input + {} output tokens",
            u.input_tokens, u.output_tokens
        );
    }
    eprintln!();
    Ok(())
}

example_main!(USAGE, parse, run);
