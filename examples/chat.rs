//! `chat`: a command-line chat client on the blocking API.
//!
//! Sends a prompt to an OpenAI-compatible server (configured from `OPENAI_BASE_URL` and
//! `OPENAI_API_KEY`) and prints the reply on stdout, optionally streamed. stdout carries the
//! reply and nothing else, so it can be piped; diagnostics and errors go to stderr. Exit
//! status: 0 success, 1 failure, 2 bad usage.
//!
//! ```text
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example chat -- "Name three colours"
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example chat -- \
//!     --stream --max-tokens 64 --timeout 30 "Write a haiku about the sea"
//! cargo run --example chat -- --help
//! ```
//!
//! `chat_async.rs` is the same program on the async client. The command line (parsing, usage,
//! client settings) is shared in `support/cli.rs`; the calls are written out here.

#[path = "support/cli.rs"]
mod cli;

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, FinishReason};

fn main() -> ExitCode {
    let args = match cli::parse() {
        Ok(args) => args,
        Err(code) => return code,
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::failure(&e),
    }
}

/// Sends the prompt and prints the reply on stdout.
fn run(args: &cli::ChatArgs) -> Result<(), Box<dyn Error>> {
    let client = args.client()?;
    // `--model`, else the first model the server lists (vLLM serves one per server).
    let model = cli::choose_model(&client, args.model.as_deref())?;
    let request = args.request(model);
    let finish = if args.stream {
        stream_reply(&client, &request)?
    } else {
        let reply = client.chat().create(&request)?;
        println!("{}", reply.text().unwrap_or_default());
        reply.choices.first().and_then(|c| c.finish_reason.clone())
    };
    cli::note_finish(finish.as_ref());
    Ok(())
}

/// Prints the reply as it arrives; returns why generation stopped.
fn stream_reply(
    client: &Client,
    request: &ChatCompletionRequest,
) -> Result<Option<FinishReason>, Box<dyn Error>> {
    let mut stdout = std::io::stdout();
    let mut printed = false;
    let mut finish = None;
    // Errors before the stream starts (connection, HTTP status) are retried by the client;
    // once chunks flow, an error ends the stream and is returned by `try_next`. (The stream
    // is also an `Iterator`: `for chunk in stream { .. }`.)
    let mut stream = client.chat().create_stream(request)?;
    loop {
        let chunk = match stream.try_next() {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                cli::end_partial_line(printed);
                return Err(e.into());
            }
        };
        let text = chunk.text();
        if !text.is_empty() {
            stdout.write_all(text.as_bytes())?;
            // Flushed per chunk: the point is to see tokens as they are generated.
            stdout.flush()?;
            printed = true;
        }
        if let Some(reason) = chunk.choices.first().and_then(|c| c.finish_reason.clone()) {
            finish = Some(reason);
        }
    }
    writeln!(stdout)?;
    Ok(finish)
}
