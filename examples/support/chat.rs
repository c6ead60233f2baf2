//! The `chat` program, written once for both modes: `chat.rs` runs it on the blocking client
//! and `chat_async.rs` on the async one (maybe-async strips the `.await`s in blocking mode,
//! as the crate itself does).

#[path = "cli.rs"]
pub mod cli;

use std::error::Error;
use std::io::Write;
use std::process::ExitCode;

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, FinishReason};

/// The exit code for the outcome of [`run`].
pub fn exit(outcome: Result<(), Box<dyn Error>>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => cli::failure(&e),
    }
}

/// Sends the prompt and prints the reply on stdout.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
pub async fn run(args: &cli::ChatArgs) -> Result<(), Box<dyn Error>> {
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
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn stream_reply(
    client: &Client,
    request: &ChatCompletionRequest,
) -> Result<Option<FinishReason>, Box<dyn Error>> {
    let mut stdout = std::io::stdout();
    let mut printed = false;
    let mut finish = None;
    // Errors before the stream starts (connection, HTTP status) are retried by the client;
    // once chunks flow, an error ends the stream and is returned by `try_next`. (The stream
    // is also an `Iterator` in blocking mode and a `futures::Stream` in async mode.)
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
