//! What the `stream` and `stream_async` examples share: the command line, connecting (to
//! `OPENAI_BASE_URL`, or to the built-in mock server when it is unset), the request, and the
//! printing. The examples keep the streaming loop itself, the part that differs by mode.

#[path = "common.rs"]
mod common;
#[path = "connect.rs"]
mod connect;

use std::process::ExitCode;

use oai_compat::types::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Message, StreamOptions,
};
use oai_compat::{ChatCompletionAccumulator, Client};
use oai_compat_mock::MockServer;

pub use common::{choose_model, failure};

/// The usage, naming the example that includes this file.
const USAGE: &str = concat!(
    "usage: ",
    env!("CARGO_CRATE_NAME"),
    " [--model M] [--] [PROMPT...]

Streams a chat completion with two choices (n = 2): the text of each choice as it grows
goes to stderr, the accumulated completion (both choices and the usage) to stdout.

options:
  --model M      the model (default: the first model the server lists)
  -h, --help     print this help

environment:
  OPENAI_BASE_URL    the server, e.g. http://localhost:8000/v1; when unset, the built-in
                     mock server is started and used
  OPENAI_API_KEY     the API key (vLLM needs one only when started with --api-key)
"
);

const DEFAULT_PROMPT: &str = "Write one sentence about the sea.";

/// A connected client and what to ask it.
pub struct Demo {
    pub client: Client,
    pub model: Option<String>,
    prompt: String,
    /// The mock server, when one was started: it stops when dropped, so it lives as long as
    /// the client that uses it.
    _mock: Option<MockServer>,
}

/// Parses the command line and connects. On `--help`, bad usage or a failure to connect,
/// the message has been printed and the `Err` is the exit code to end with.
pub fn setup() -> Result<Demo, ExitCode> {
    let (model, prompt) = common::command_line(USAGE, parse_args)?;
    let (client, mock) = connect::connect().map_err(|e| failure(&e))?;
    Ok(Demo {
        client,
        model,
        prompt,
        _mock: mock,
    })
}

fn parse_args(mut args: common::Args) -> Result<Option<(Option<String>, String)>, String> {
    let mut model = None;
    while let Some(option) = args.next_option() {
        match option.as_str() {
            "-h" | "--help" => return Ok(None),
            "--model" => model = Some(args.value(&option)?),
            _ => return Err(format!("unknown option {option}")),
        }
    }
    let prompt = args.operands().join(" ");
    let prompt = if prompt.is_empty() {
        DEFAULT_PROMPT.to_owned()
    } else {
        prompt
    };
    Ok(Some((model, prompt)))
}

impl Demo {
    /// The request: two choices, and a final usage chunk.
    pub fn request(&self, model: String) -> ChatCompletionRequest {
        ChatCompletionRequest {
            n: Some(2),
            max_tokens: Some(32),
            // Sampled, so that on a real model the two choices differ (the mock answers the
            // same text for both).
            temperature: Some(1.0),
            // Without this, a stream carries no token counts at all.
            stream_options: Some(StreamOptions {
                include_usage: Some(true),
                ..StreamOptions::default()
            }),
            ..ChatCompletionRequest::new(model, [Message::user(self.prompt.as_str())])
        }
    }
}

/// After each chunk: the text so far of every choice that grew, on stderr. The chunks of the
/// two choices arrive interleaved, each naming its choice by `index`.
pub fn show_progress(acc: &ChatCompletionAccumulator, chunk: &ChatCompletionChunk) {
    for choice in &chunk.choices {
        if choice
            .delta
            .content
            .as_deref()
            .is_some_and(|c| !c.is_empty())
        {
            eprintln!("[{}] {}", choice.index, acc.content(choice.index));
        }
    }
}

/// The accumulated completion, on stdout: what a non-streamed call would have returned.
pub fn show_result(completion: &ChatCompletion) {
    println!(
        "{} {} from {}:",
        completion.object, completion.id, completion.model
    );
    for choice in &completion.choices {
        println!(
            "[{}] {}",
            choice.index,
            choice.message.content.as_deref().unwrap_or_default()
        );
        if let Some(reason) = &choice.finish_reason {
            println!("    finish_reason: {reason}");
        }
    }
    match &completion.usage {
        Some(usage) => println!(
            "usage: {} prompt + {} completion = {} tokens",
            usage.prompt_tokens,
            usage.completion_tokens.unwrap_or(0),
            usage.total_tokens
        ),
        None => println!("usage: not reported by the server"),
    }
}
