//! Quickstart: list the models, chat once, embed once.
//!
//! With `OPENAI_BASE_URL` set, this talks to that server (vLLM, OpenAI, ...; the key comes
//! from `OPENAI_API_KEY`). Without it, it starts the crate's built-in mock server, so it
//! also runs offline:
//!
//! ```text
//! cargo run --example quickstart                                       # the built-in mock
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example quickstart
//! cargo run --no-default-features --features async,rustls --example quickstart   # async
//! ```
//!
//! Options: `--model M` picks the chat model (default: the first one the server lists) and
//! `--embed-model M` the embedding model (default: the chat model). vLLM serves one model
//! per server, so embeddings usually come from a second server: set `OPENAI_EMBED_BASE_URL`
//! to it (its first listed model is then the default embedding model).
//!
//! The same source builds the blocking client (the default) and the async one: `run` is an
//! `async fn`, and in blocking builds `maybe_async::must_be_sync` removes its `async` and
//! `.await`s. In your own code, just write the mode you use.

use std::error::Error;
use std::process::ExitCode;

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, EmbeddingRequest, Message};
use oai_compat_mock::MockServer;

const USAGE: &str = "\
usage: quickstart [--model M] [--embed-model M]

Lists the models, runs one chat and one embedding, and prints the results.
Uses OPENAI_BASE_URL (and OPENAI_API_KEY), or the built-in mock server when it is unset;
OPENAI_EMBED_BASE_URL, if set, is the server used for the embedding.
";

#[cfg(feature = "blocking")]
fn main() -> ExitCode {
    match Options::parse() {
        Ok(options) => exit_code(run(options)),
        Err(code) => code,
    }
}

#[cfg(not(feature = "blocking"))]
#[tokio::main]
async fn main() -> ExitCode {
    match Options::parse() {
        Ok(options) => exit_code(run(options).await),
        Err(code) => code,
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn run(options: Options) -> Result<(), Box<dyn Error>> {
    // Keep the mock (if any) alive until the end: dropping it stops it.
    let (client, _mock) = connect()?;

    // 1. The models the server serves. vLLM adds each model's context length.
    let models = client.models().list().await?;
    println!("models at {}:", client.base_url());
    for m in &models.data {
        match m.max_model_len {
            Some(len) => println!("  {} (max_model_len {len})", m.id),
            None => println!("  {}", m.id),
        }
    }
    let model = match options.model.clone() {
        Some(model) => model,
        None => match models.data.first() {
            Some(m) => m.id.clone(),
            None => return Err("the server lists no models; name one with --model".into()),
        },
    };

    // 2. One chat completion. Requests are plain structs: set what you need, the rest
    //    is left out of the JSON.
    let request = ChatCompletionRequest {
        max_tokens: Some(48),
        ..ChatCompletionRequest::new(&model, [Message::user("Say hello in one sentence.")])
    };
    let reply = client.chat().create(&request).await?;
    println!("\nchat with {model}:");
    println!("  reply: {}", reply.text().unwrap_or_default());
    if let Some(usage) = &reply.usage {
        println!(
            "  usage: {} prompt + {} completion = {} tokens",
            usage.prompt_tokens,
            usage.completion_tokens.unwrap_or(0),
            usage.total_tokens
        );
    }

    // 3. One embedding. A chat server often has none (vLLM serves one model per server), so
    //    a failure here is explained but does not hide the chat result above.
    if let Err(e) = embed(&client, &options, &model).await {
        eprintln!("note: embeddings failed: {e}");
        let not_found = e
            .downcast_ref::<oai_compat::Error>()
            .is_some_and(oai_compat::Error::is_not_found);
        if not_found {
            eprintln!(
                "  The server has no /v1/embeddings, or not that model (vLLM serves one model per server)."
            );
        }
        eprintln!(
            "  For embeddings from another server, set OPENAI_EMBED_BASE_URL (e.g. http://localhost:8001/v1),\n  \
             and --embed-model M to choose its model."
        );
    }
    Ok(())
}

/// Embeds one text and prints the vector's size and first values.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn embed(client: &Client, options: &Options, chat_model: &str) -> Result<(), Box<dyn Error>> {
    // A separate embedding server gets its own client (one client per server).
    let embed_client = match std::env::var("OPENAI_EMBED_BASE_URL") {
        Ok(url) if !url.trim().is_empty() => Client::builder().base_url(url).build()?,
        _ => client.clone(),
    };
    let model = if let Some(model) = &options.embed_model {
        model.clone()
    } else if embed_client.base_url() == client.base_url() {
        chat_model.to_owned()
    } else {
        // Another server: the chat model is not there, so take the first one it lists.
        let models = embed_client.models().list().await?;
        match models.data.first() {
            Some(m) => m.id.clone(),
            None => return Err("the embedding server lists no models".into()),
        }
    };
    let text = "The quick brown fox jumps over the lazy dog.";
    let response = embed_client
        .embeddings()
        .create(EmbeddingRequest::new(&model, text))
        .await?;
    let Some(embedding) = response.data.first() else {
        return Err("the server returned no embedding".into());
    };
    let first: Vec<String> = embedding
        .embedding
        .iter()
        .take(4)
        .map(|x| format!("{x:.4}"))
        .collect();
    println!("\nembedding of {text:?} with {model}:");
    println!(
        "  {} dimensions, starting [{}, ...]",
        embedding.embedding.len(),
        first.join(", ")
    );
    Ok(())
}

/// Connects to `OPENAI_BASE_URL`, or starts the built-in mock server when it is not set.
fn connect() -> Result<(Client, Option<MockServer>), Box<dyn Error>> {
    if std::env::var("OPENAI_BASE_URL").is_ok_and(|url| !url.trim().is_empty()) {
        // Reads OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_ORG_ID and OPENAI_PROJECT_ID.
        return Ok((Client::from_env()?, None));
    }
    let mock = MockServer::start()?;
    eprintln!(
        "OPENAI_BASE_URL is not set: using the built-in mock server at {}",
        mock.url()
    );
    // use_env(false): no OPENAI_API_KEY from the environment is sent to the mock.
    let client = Client::builder()
        .use_env(false)
        .base_url(mock.url())
        .build()?;
    Ok((client, Some(mock)))
}

/// The command line: two optional flags, parsed by hand.
struct Options {
    model: Option<String>,
    embed_model: Option<String>,
}

impl Options {
    /// On `--help` or bad usage, prints and returns the exit code (0 or 2).
    fn parse() -> Result<Options, ExitCode> {
        let mut options = Options {
            model: None,
            embed_model: None,
        };
        let mut args = std::env::args_os()
            .skip(1)
            .map(|a| a.to_string_lossy().into_owned());
        while let Some(arg) = args.next() {
            let slot = match arg.as_str() {
                "-h" | "--help" => {
                    print!("{USAGE}");
                    return Err(ExitCode::SUCCESS);
                }
                "--model" => &mut options.model,
                "--embed-model" => &mut options.embed_model,
                _ => {
                    eprint!("error: unexpected argument {arg:?}\n\n{USAGE}");
                    return Err(ExitCode::from(2));
                }
            };
            match args.next() {
                Some(value) => *slot = Some(value),
                None => {
                    eprint!("error: {arg} needs a value\n\n{USAGE}");
                    return Err(ExitCode::from(2));
                }
            }
        }
        Ok(options)
    }
}

/// Errors are printed with `Display` (the crate's messages are written for people).
fn exit_code(result: Result<(), Box<dyn Error>>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
