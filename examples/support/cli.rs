//! The command line of the `chat` and `chat_async` examples: parsing, usage text, client
//! configuration (the programs themselves are `chat.rs` and `chat_async.rs`).

#[path = "common.rs"]
mod common;

use std::io::IsTerminal;
use std::time::Duration;

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, FinishReason, Message};

pub use common::{choose_model, failure};

/// `env!("CARGO_CRATE_NAME")` is the name of the example that includes this file, so the
/// usage names the right program (`chat` or `chat_async`).
pub const USAGE: &str = concat!(
    "usage: ",
    env!("CARGO_CRATE_NAME"),
    " [OPTIONS] [--] PROMPT...

Sends PROMPT (the arguments after the options, joined by spaces) to an OpenAI-compatible
server and prints the assistant's reply on stdout, and nothing else.

options:
  --model M          the model (default: the first model the server lists)
  --max-tokens N     generate at most N tokens
  --timeout SECS     the request timeout; with --stream, also the longest wait between
                     two stream events (default 600)
  --max-retries N    retries after a failed attempt (default 2)
  --stream           print the reply as it is generated
  -h, --help         print this help

Options go before the prompt; `--` ends them (for a prompt that starts with `-`).

environment:
  OPENAI_BASE_URL    the server, e.g. http://localhost:8000/v1 (default: OpenAI)
  OPENAI_API_KEY     the API key (vLLM needs one only when started with --api-key)
  OPENAI_ORG_ID, OPENAI_PROJECT_ID   sent as headers when set

exit status: 0 success, 1 failure (message on stderr), 2 bad usage
"
);

/// What the command line asked for.
pub struct ChatArgs {
    pub model: Option<String>,
    pub max_tokens: Option<u32>,
    pub timeout: Option<Duration>,
    pub max_retries: Option<u32>,
    pub stream: bool,
    pub prompt: String,
}

/// Parses the command line; on `--help` or bad usage, returns the exit code to end with
/// (the help or the error has been printed).
pub fn parse() -> Result<ChatArgs, std::process::ExitCode> {
    common::command_line(USAGE, parse_args)
}

fn parse_args(mut args: common::Args) -> Result<Option<ChatArgs>, String> {
    let mut parsed = ChatArgs {
        model: None,
        max_tokens: None,
        timeout: None,
        max_retries: None,
        stream: false,
        prompt: String::new(),
    };
    while let Some(option) = args.next_option() {
        match option.as_str() {
            "-h" | "--help" => return Ok(None),
            "--model" => parsed.model = Some(args.value(&option)?),
            "--max-tokens" => parsed.max_tokens = Some(count(&option, &args.value(&option)?)?),
            "--max-retries" => parsed.max_retries = Some(count(&option, &args.value(&option)?)?),
            "--timeout" => parsed.timeout = Some(seconds(&option, &args.value(&option)?)?),
            "--stream" => parsed.stream = true,
            _ => return Err(format!("unknown option {option}")),
        }
    }
    parsed.prompt = args.operands().join(" ");
    if parsed.prompt.is_empty() {
        return Err("no prompt given".to_owned());
    }
    Ok(Some(parsed))
}

fn count(option: &str, value: &str) -> Result<u32, String> {
    value
        .parse()
        .map_err(|_| format!("{option} takes a whole number, not {value:?}"))
}

fn seconds(option: &str, value: &str) -> Result<Duration, String> {
    match value.parse::<f64>().map(Duration::try_from_secs_f64) {
        Ok(Ok(d)) if !d.is_zero() => Ok(d),
        _ => Err(format!(
            "{option} takes a positive number of seconds, not {value:?}"
        )),
    }
}

impl ChatArgs {
    /// The client: configured from the environment (as `Client::from_env()` would be), with
    /// the command line's timeout and retries on top.
    pub fn client(&self) -> oai_compat::Result<Client> {
        let mut builder = Client::builder();
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
            // A stream is only waited on for its headers by `timeout`; after that, the gap
            // between events is what can hang, so the same limit applies there.
            if self.stream {
                builder = builder.stream_idle_timeout(Some(timeout));
            }
        }
        if let Some(n) = self.max_retries {
            builder = builder.max_retries(n);
        }
        builder.build()
    }

    /// The request: the prompt as one user message.
    pub fn request(&self, model: String) -> ChatCompletionRequest {
        ChatCompletionRequest {
            max_tokens: self.max_tokens,
            ..ChatCompletionRequest::new(model, [Message::user(self.prompt.as_str())])
        }
    }
}

/// Says on stderr when the reply was cut short, since stdout alone cannot show it.
pub fn note_finish(reason: Option<&FinishReason>) {
    if reason == Some(&FinishReason::Length) {
        eprintln!("note: the reply was cut short by the token limit (finish_reason: length)");
    }
}

/// Called when a stream fails after some text was printed. stdout keeps exactly the text
/// received (no newline is added to it), but when both streams are a terminal the error
/// message should not start in the middle of the reply's last line.
pub fn end_partial_line(printed: bool) {
    if printed && std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
        eprintln!();
    }
}
