//! Async mode: every future the crate returns is `Send`, so it can be spawned on a
//! multi-threaded runtime. A compile-time test (the runtime part only drives one call).
#![cfg(not(feature = "blocking"))]

use crate::support;

use oai_compat::types::{
    ChatCompletionRequest, CompletionRequest, EmbeddingRequest, Message, TokenizeRequest,
};
use support::{MODEL, client, server};

fn assert_send<T: Send>(t: T) -> T {
    t
}

#[tokio::test]
async fn futures_and_streams_are_send() {
    let srv = server();
    let c = client(&srv);
    let chat = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    let completion = CompletionRequest::new(MODEL, "x");
    let emb = EmbeddingRequest::new(MODEL, "x");
    let tok = TokenizeRequest::text(MODEL, "x");
    let (models, chats, completions, embeddings, vllm) = (
        c.models(),
        c.chat(),
        c.completions(),
        c.embeddings(),
        c.vllm(),
    );
    let router = oai_compat::Router::builder().backend(c.clone()).build();
    drop(assert_send(models.list()));
    drop(assert_send(models.retrieve(MODEL)));
    drop(assert_send(chats.create(&chat)));
    drop(assert_send(chats.create_stream(&chat)));
    drop(assert_send(completions.create(&completion)));
    drop(assert_send(completions.create_stream(&completion)));
    drop(assert_send(embeddings.create(&emb)));
    drop(assert_send(vllm.tokenize(&tok)));
    drop(assert_send(vllm.health()));
    drop(assert_send(router.chat_create(&chat)));
    drop(assert_send(router.chat_create_stream(&chat)));
    drop(assert_send(router.embeddings_create(&emb)));
    // And one really runs on another worker thread.
    let c2 = c.clone();
    let handle = tokio::spawn(async move {
        let req = ChatCompletionRequest::new(MODEL, [Message::user("spawned")]);
        c2.chat()
            .create(&req)
            .await
            .map(|r| r.text().map(str::to_owned))
    });
    let text = handle.await.unwrap().unwrap();
    assert_eq!(text.as_deref(), Some("Mock reply to: spawned"));
}
