// The README's "Use it (async)" program, kept here so that CI builds and runs it. Run it with
// `cargo run --no-default-features --features async,rustls --example hello_async`.
use oai_compat::{
    Client,
    types::{ChatCompletionRequest, EmbeddingRequest, Message},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // $OPENAI_BASE_URL (e.g. http://localhost:8000/v1), else OpenAI; key: $OPENAI_API_KEY if set.
    let client = Client::from_env()?;

    let models = client.models().list().await?;
    let model = &models.data.first().ok_or("the server lists no models")?.id;

    let mut req = ChatCompletionRequest::new(model, [Message::user("Say hello")]);
    req.max_tokens = Some(32);
    let reply = client.chat().create(&req).await?;
    println!("{}", reply.text().unwrap_or_default());

    let mut stream = client.chat().create_stream(&req).await?; // also a futures Stream
    while let Some(chunk) = stream.try_next().await? {
        print!("{}", chunk.text());
    }
    println!();

    let emb = client
        .embeddings()
        .create(&EmbeddingRequest::new(model, ["a", "b"]))
        .await?;
    println!("{} vectors", emb.data.len());
    Ok(())
}
