//! `vllm_endpoints`: vLLM's own endpoints at the server root (not under `/v1`): health,
//! version, tokenize and detokenize.
//!
//! ```text
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example vllm_endpoints
//! cargo run --example vllm_endpoints      # the built-in mock server
//! ```

use std::error::Error;

use oai_compat::Client;
use oai_compat::types::{DetokenizeRequest, Message, TokenizeRequest};
use oai_compat_mock::MockServer;

fn main() -> Result<(), Box<dyn Error>> {
    // OPENAI_BASE_URL if set, else the built-in mock (kept alive until the end).
    let mock = match std::env::var_os("OPENAI_BASE_URL") {
        Some(_) => None,
        None => Some(MockServer::start()?),
    };
    let client = match &mock {
        Some(mock) => Client::builder().base_url(mock.url()).build()?,
        None => Client::from_env()?,
    };
    let models = client.models().list()?;
    let model = &models.data.first().ok_or("the server lists no models")?.id;

    // `/health` is 200 with an empty body while the server is up: `Ok(())`.
    client.vllm().health()?;
    println!("{} is healthy", client.root_url());
    println!("vLLM version: {}", client.vllm().version()?.version);

    // `/tokenize` takes a text or chat messages (then with the model's chat template).
    let text = client
        .vllm()
        .tokenize(&TokenizeRequest::text(model, "Hello world"))?;
    println!(
        "\"Hello world\" is {} tokens: {:?}",
        text.count, text.tokens
    );
    let chat = [Message::user("Hello world")];
    let templated = client
        .vllm()
        .tokenize(&TokenizeRequest::chat(model, chat))?;
    println!("as a chat message: {} tokens", templated.count);
    if let Some(max) = text.max_model_len {
        println!("context length: {max} tokens");
    }

    // `/detokenize` turns ids back into text.
    let back = client
        .vllm()
        .detokenize(&DetokenizeRequest::new(model, text.tokens))?;
    println!("detokenized: {:?}", back.prompt);
    Ok(())
}
