// The README's "Use it (blocking)" program, kept here so that CI builds and runs it.
use oai_compat::{
    Client,
    types::{ChatCompletionRequest, EmbeddingRequest, Message},
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // $OPENAI_BASE_URL (e.g. http://localhost:8000/v1), else OpenAI; key: $OPENAI_API_KEY if set.
    let client = Client::from_env()?;

    let models = client.models().list()?;
    let model = &models.data.first().ok_or("the server lists no models")?.id;

    let mut req = ChatCompletionRequest::new(model, [Message::user("Say hello")]);
    req.max_tokens = Some(32);
    let reply = client.chat().create(&req)?;
    println!("{}", reply.text().unwrap_or_default());

    for chunk in client.chat().create_stream(&req)? {
        // streamed: an Iterator
        print!("{}", chunk?.text());
    }
    println!();

    let emb = client
        .embeddings()
        .create(&EmbeddingRequest::new(model, ["a", "b"]))?;
    println!("{} vectors", emb.data.len());
    Ok(())
}
