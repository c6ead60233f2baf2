// The README's async program: `run` is its `main`. The `main` here prints an error as one
// sentence and a hint (see support/hint.rs). It needs nothing but a chat server: vLLM serving
// one chat model, `oai mock`, or any OpenAI-compatible server. Run it with
// `cargo run --no-default-features --features async,rustls --example hello_async`.
use oai_compat::{Client, types::*};

async fn run() -> Result<(), oai_compat::Error> {
    let client = Client::from_env()?; // $OPENAI_BASE_URL, e.g. http://localhost:8000/v1
    let models = client.models().list().await?;
    let model = models.data.first().map_or("", |m| m.id.as_str());
    let req = ChatCompletionRequest::new(model, [Message::user("Say hello")]);
    let mut stream = client.chat().create_stream(&req).await?;
    while let Some(chunk) = stream.try_next().await? {
        print!("{}", chunk.text());
    }
    Ok(())
}

#[path = "support/hint.rs"]
mod hint;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => {
            println!();
            std::process::ExitCode::SUCCESS
        }
        Err(e) => hint::report(&e),
    }
}
