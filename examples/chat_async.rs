//! `chat_async`: the `chat` example on the async client (reqwest + tokio), as plain async
//! code: the same calls as `chat.rs`, each `.await`ed. Build it without the default
//! `blocking` feature:
//!
//! ```text
//! OPENAI_BASE_URL=http://localhost:8000/v1 \
//!     cargo run --no-default-features --features async,rustls --example chat_async -- \
//!     --stream "Write a haiku about the sea"
//! ```
//!
//! stdout carries the reply and nothing else; diagnostics and errors go to stderr. Exit
//! status: 0 success, 1 failure, 2 bad usage. The command line (parsing, usage, client
//! settings) is shared with `chat.rs` in `support/cli.rs`.

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

/// Sends the prompt and prints the reply on stdout.
async fn run(args: &cli::ChatArgs) -> Result<(), Box<dyn Error>> {
    let client = args.client()?;
    // `--model`, else the first model the server lists (vLLM serves one per server).
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
