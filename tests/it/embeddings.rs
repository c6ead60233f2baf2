//! Embeddings: base64 by default, floats on request, every input shape, big batches.

use crate::support;

use oai_compat::types::{EmbeddingRequest, EncodingFormat};
use oai_compat_mock::Reply;
use support::{MODEL, builder, client, server};

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn default_asks_for_base64_and_matches_float() {
    let srv = server();
    let c = client(&srv);
    let texts = ["The cat sits on the mat.", "A feline rests on a rug."];
    let b64 = c
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, texts))
        .await
        .unwrap();
    let mut req = EmbeddingRequest::new(MODEL, texts);
    req.encoding_format = Some(EncodingFormat::Float);
    let float = c.embeddings().create(&req).await.unwrap();
    let reqs = srv.requests();
    assert_eq!(reqs[0].json().unwrap()["encoding_format"], "base64");
    assert_eq!(reqs[1].json().unwrap()["encoding_format"], "float");
    assert_eq!(b64.data.len(), 2);
    for (a, b) in b64.data.iter().zip(&float.data) {
        assert_eq!(a.index, b.index);
        assert_eq!(a.embedding, b.embedding);
        assert!((norm(&a.embedding) - 1.0).abs() < 1e-5);
    }
    assert_ne!(b64.data[0].embedding, b64.data[1].embedding);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn float_answer_to_a_base64_request_is_accepted() {
    let srv = server();
    srv.enqueue(Reply::json(
        200,
        r#"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]}],"model":"m","usage":{"prompt_tokens":1,"total_tokens":1}}"#,
    ));
    let out = client(&srv)
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, "x"))
        .await
        .unwrap();
    assert_eq!(out.data[0].embedding, vec![0.5, -0.25]);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn token_inputs_are_sent_as_ids() {
    let srv = server();
    let c = client(&srv);
    c.embeddings()
        .create(EmbeddingRequest::new(MODEL, vec![5u32, 6]))
        .await
        .unwrap();
    let out = c
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, vec![vec![1u32], vec![2, 3]]))
        .await
        .unwrap();
    assert_eq!(out.data.len(), 2);
    let reqs = srv.requests();
    assert_eq!(reqs[0].json().unwrap()["input"], serde_json::json!([5, 6]));
    assert_eq!(
        reqs[1].json().unwrap()["input"],
        serde_json::json!([[1], [2, 3]])
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn responses_over_ureqs_10mb_default_limit_work() {
    // 8,000 inputs x 128 floats as JSON text is over 10 MB.
    let srv = server();
    let inputs: Vec<String> = (0..8_000).map(|i| format!("text number {i}")).collect();
    let mut req = EmbeddingRequest::new(MODEL, inputs);
    req.encoding_format = Some(EncodingFormat::Float);
    req.dimensions = Some(128);
    let out = client(&srv)
        .embeddings()
        .create_with_meta(&req)
        .await
        .unwrap();
    let len: usize = out
        .meta
        .headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        len > 10 * 1024 * 1024,
        "only {len} bytes: the test proves nothing"
    );
    assert_eq!(out.data.len(), 8_000);
    assert_eq!(out.data[7_999].embedding.len(), 128);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn max_response_bytes_bounds_memory() {
    let srv = server();
    let c = builder(&srv)
        .max_response_bytes(1000)
        .max_retries(0)
        .build()
        .unwrap();
    let inputs: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    let err = c
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, inputs))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("max_response_bytes"), "{err}");
}
