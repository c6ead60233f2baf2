//! `tools`: a two-tool loop (`run_tools`), in both modes from one source.
//!
//! Gives the model two tools, `get_weather` and `get_time`, runs the calls it asks for with a
//! plain Rust closure, sends the results back, and prints the final answer on stdout; each
//! tool call is logged on stderr. Against the built-in mock server by default (it calls the
//! tools the prompt names, then answers from their results), or `OPENAI_BASE_URL`:
//!
//! ```text
//! cargo run --example tools
//! cargo run --example tools -- "use get_time only"
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example tools
//! cargo run --no-default-features --features async,rustls --example tools
//! ```

#[path = "support/common.rs"]
mod common;
#[path = "support/connect.rs"]
mod connect;
#[path = "support/program.rs"]
#[macro_use]
mod program;

use std::error::Error;

use oai_compat::types::{ChatCompletionRequest, Message, Tool, ToolCall};
use serde_json::json;

const USAGE: &str = "usage: tools [--model M] [--rounds N] [--] [PROMPT...]

Runs a tool loop with two tools (get_weather, get_time): the calls go to stderr, the final
answer to stdout.

options:
  --model M      the model (default: the first model the server lists)
  --rounds N     the most requests to send (default: 4)
  -h, --help     print this help

environment:
  OPENAI_BASE_URL    the server; when unset, the built-in mock server is started and used
  OPENAI_API_KEY     the API key
";

struct Args {
    model: Option<String>,
    rounds: u32,
    prompt: String,
}

fn parse(mut args: common::Args) -> Result<Option<Args>, String> {
    let mut parsed = Args {
        model: None,
        rounds: 4,
        prompt: String::new(),
    };
    while let Some(option) = args.next_option() {
        match option.as_str() {
            "-h" | "--help" => return Ok(None),
            "--model" => parsed.model = Some(args.value(&option)?),
            "--rounds" => {
                let v = args.value(&option)?;
                parsed.rounds = v
                    .parse()
                    .map_err(|_| format!("--rounds needs a positive integer, got {v:?}"))?;
            }
            _ => return Err(format!("unknown option {option}")),
        }
    }
    parsed.prompt = args.operands().join(" ");
    if parsed.prompt.is_empty() {
        parsed.prompt = "What is the weather in Paris, and what time is it? Use get_weather \
                         and get_time."
            .to_owned();
    }
    Ok(Some(parsed))
}

/// The arguments of `get_weather`.
#[derive(serde::Deserialize)]
struct Weather {
    city: String,
}

/// Runs one tool call: the result, or an error text that goes back to the model.
fn run_tool(call: &ToolCall) -> Result<String, String> {
    eprintln!("[tool] {}({})", call.function.name, call.function.arguments);
    match call.function.name.as_str() {
        "get_weather" => {
            let args: Weather = call.parse_arguments().map_err(|e| e.to_string())?;
            Ok(json!({"city": args.city, "celsius": 21, "sky": "clear"}).to_string())
        }
        "get_time" => Ok(json!({"utc": "12:00"}).to_string()),
        other => Err(format!("there is no tool named {other}")),
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let (client, _mock) = connect::connect()?;
    let model = common::choose_model(&client, args.model.as_deref()).await?;
    let mut request = ChatCompletionRequest::new(model, [Message::user(args.prompt.as_str())]);
    request.max_tokens = Some(128);
    request.tools = Some(vec![
        Tool::function(
            "get_weather",
            "The current weather in a city",
            json!({"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"], "additionalProperties": false}),
        ),
        Tool::function(
            "get_time",
            "The current time (UTC)",
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
        ),
    ]);
    // The handler is plain Rust (a closure or a `ToolHandler`), the same in both modes.
    // Reaching the round limit is an `Error::ToolLoop` that keeps the conversation.
    let done = client
        .chat()
        .run_tools(&request, run_tool, args.rounds)
        .await?;
    println!("{}", done.completion.text().unwrap_or_default());
    eprintln!(
        "{} round(s), {} messages in the conversation",
        done.rounds,
        done.messages.len()
    );
    Ok(())
}

example_main!(USAGE, parse, run);
