//! `chat_async`: the `chat` example on the async client (reqwest + tokio).
//!
//! The same program as `chat.rs`, command line included (shared in `support/cli.rs`): the
//! client's methods are the same, only `async`. Build it without the default `blocking`
//! feature:
//!
//! ```text
//! OPENAI_BASE_URL=http://localhost:8000/v1 \
//!     cargo run --no-default-features --features async,rustls --example chat_async -- \
//!     --stream "Write a haiku about the sea"
//! ```
//!
//! stdout carries the reply and nothing else; diagnostics and errors go to stderr. Exit
//! status: 0 success, 1 failure, 2 bad usage.

#[path = "support/cli.rs"]
mod cli;

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, FinishReason};

#[tokio::main]
async fn main() -> ExitCode {
    let args = match cli::parse() {
        Ok(args) => args,
        Err(code) => return code,
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::failure(&e),
    }
}

async fn run(args: &cli::ChatArgs) -> Result<(), Box<dyn Error>> {
    let client = args.client()?;
    let model = cli::choose_model(&client, args.model.as_deref()).await?;
    let request = args.request(model);
    let finish = if args.stream {
        stream_reply(&client, &request).await?
    } else {
        let reply = client.chat().create(&request).await?;
        println!("{}", reply.text().unwrap_or_default());
        reply.choices.first().and_then(|c| c.finish_reason.clone())
    };
    cli::note_finish(finish.as_ref());
    Ok(())
}

/// Prints the reply as it arrives; returns why generation stopped.
async fn stream_reply(
    client: &Client,
    request: &ChatCompletionRequest,
) -> Result<Option<FinishReason>, Box<dyn Error>> {
    let mut stdout = std::io::stdout();
    let mut printed = false;
    let mut finish = None;
    // Errors before the stream starts (connection, HTTP status) are retried by the client;
    // once chunks flow, an error ends the stream and is returned by `try_next`. (The stream
    // is also a `futures::Stream`, for `StreamExt` users.)
    let mut stream = client.chat().create_stream(request).await?;
    loop {
        let chunk = match stream.try_next().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                cli::end_partial_line(printed);
                return Err(e.into());
            }
        };
        let text = chunk.text();
        if !text.is_empty() {
            // A blocking write to stdout is fine here: this program does nothing else
            // while it waits, and the terminal is fast.
            stdout.write_all(text.as_bytes())?;
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
