//! `router`: several servers behind one [`Router`], each call sent to a server that serves
//! the request's model (vLLM serves one model per server), with failover between servers that
//! serve the same model.
//!
//! ```text
//! OAI_COMPAT_BACKENDS=http://localhost:8000/v1,http://localhost:8001/v1 \
//!     cargo run --example router -- CHAT_MODEL EMBEDDING_MODEL
//! cargo run --example router      # two built-in mock servers: chat-model and embed-model
//! ```

use std::error::Error;

use oai_compat::Router;
use oai_compat::types::{ChatCompletionRequest, EmbeddingRequest, Message};
use oai_compat_mock::MockServer;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Keep the mock servers (if any) alive until the end: dropping one stops it.
    let (router, _mocks, chat_model, embed_model) = match std::env::var("OAI_COMPAT_BACKENDS") {
        Ok(_) => {
            let [chat, embed] = <[String; 2]>::try_from(args)
                .map_err(|_| "with OAI_COMPAT_BACKENDS set, name CHAT_MODEL and EMBEDDING_MODEL")?;
            (Router::from_env()?, Vec::new(), chat, embed)
        }
        Err(_) => {
            let chat = MockServer::start()?;
            chat.set_models(["chat-model"]);
            let embed = MockServer::start()?;
            embed.set_models(["embed-model"]);
            let router = Router::from_urls([chat.url().as_str(), embed.url().as_str()])?;
            (
                router,
                vec![chat, embed],
                "chat-model".into(),
                "embed-model".into(),
            )
        }
    };

    // Which server serves which model, learned from their /models lists.
    for (model, servers) in router.models()? {
        println!("{model}: {}", servers.join(", "));
    }

    let mut chat = ChatCompletionRequest::new(&chat_model, [Message::user("Say hello")]);
    chat.max_tokens = Some(16);
    let reply = router.chat_create(&chat)?;
    println!("chat ({chat_model}): {}", reply.text().unwrap_or_default());

    let emb = router.embeddings_create(&EmbeddingRequest::new(&embed_model, ["a", "b"]))?;
    println!("embeddings ({embed_model}): {} vectors", emb.data.len());

    // For anything else (vLLM's own endpoints, raw calls), take the model's client.
    let client = router.client_for(&embed_model)?;
    println!("{embed_model} is served at {}", client.base_url());
    Ok(())
}
