//! `structured`: structured outputs parsed straight into a Rust struct, in both modes from
//! one source.
//!
//! Asks for a JSON object matching a schema and parses the reply into `Verdict`. With the
//! `schemars` feature the schema comes from the type (`parse_schema::<Verdict>()`);
//! without it, from a hand-written schema (`parse::<Verdict>()` needs only `Deserialize`).
//! Uses `OPENAI_BASE_URL`, or the built-in mock server when it is unset:
//!
//! ```text
//! cargo run --example structured -- "How was the film?"
//! cargo run --example structured --features schemars
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example structured
//! cargo run --no-default-features --features async,rustls,schemars --example structured
//! ```

#[path = "support/common.rs"]
mod common;
#[path = "support/connect.rs"]
mod connect;
#[path = "support/program.rs"]
#[macro_use]
mod program;

use std::error::Error;

use oai_compat::types::{ChatCompletionRequest, Message};

/// What we want back: an enum field and a bounded number.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Mood {
    Happy,
    Sad,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct Verdict {
    mood: Mood,
    /// From 0 to 10.
    #[schemars(range(min = 0, max = 10))]
    score: u8,
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn run(args: &Args) -> Result<(), Box<dyn Error>> {
    let (client, _mock) = connect::connect()?;
    let model = common::choose_model(&client, args.model.as_deref()).await?;
    let mut request = ChatCompletionRequest::new(model, [Message::user(args.prompt.as_str())]);
    request.max_tokens = Some(64);

    #[cfg(feature = "schemars")]
    let out = client.chat().parse_schema::<Verdict>(&request).await?;
    #[cfg(not(feature = "schemars"))]
    let out = {
        use oai_compat::types::ResponseFormat;
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "mood": {"type": "string", "enum": ["happy", "sad"]},
                "score": {"type": "integer", "minimum": 0, "maximum": 10}
            }
        });
        // `.strict()`: every property required, no others (OpenAI's strict mode).
        request.response_format = Some(ResponseFormat::json_schema("Verdict", schema).strict());
        client.chat().parse::<Verdict>(&request).await?
    };

    match (out.parsed, out.refusal) {
        (Some(verdict), _) => println!("mood: {:?}, score: {}", verdict.mood, verdict.score),
        (None, Some(refusal)) => println!("the model refused: {refusal}"),
        (None, None) => println!("no answer"),
    }
    Ok(())
}

const USAGE: &str = "usage: structured [--model M] [--] [PROMPT...]

Asks for a JSON verdict (a mood and a score) and prints it, parsed into a Rust struct.

options:
  --model M      the model (default: the first model the server lists)
  -h, --help     print this help

environment:
  OPENAI_BASE_URL    the server; when unset, the built-in mock server is started and used
  OPENAI_API_KEY     the API key
";

struct Args {
    model: Option<String>,
    prompt: String,
}

fn parse(mut args: common::Args) -> Result<Option<Args>, String> {
    let mut model = None;
    while let Some(option) = args.next_option() {
        match option.as_str() {
            "-h" | "--help" => return Ok(None),
            "--model" => model = Some(args.value(&option)?),
            _ => return Err(format!("unknown option {option}")),
        }
    }
    let mut prompt = args.operands().join(" ");
    if prompt.is_empty() {
        prompt = "How was the film?".to_owned();
    }
    Ok(Some(Args { model, prompt }))
}

example_main!(USAGE, parse, run);
