//! End-to-end calls through the whole client against the built-in mock server.
//!
//! [`MockServer`] runs on `127.0.0.1` on std threads in the same process; the client is built
//! with `Client::builder().use_env(false).no_proxy().base_url(server.url()).build()` and keeps
//! its pooled keep-alive connection, so one iteration is one sequential request (c=1):
//! request encoding, headers, the HTTP round trip over loopback, the mock's own work, reading
//! and decoding the response. Throughput is in requests (streams) per second.
//!
//! - `client/models_list`: `models().list()` (one model).
//! - `client/chat_create`: a small `chat().create()` (system + user message, an 8-word reply).
//! - `client/chat_stream_106`: `chat().create_stream()` with `include_usage`, consumed to
//!   `[DONE]`: a role chunk, 103 one-word content chunks, a finish chunk and a usage chunk.
//! - `client/embeddings_16x384_base64`: `embeddings().create()` of 16 texts at 384 dimensions,
//!   `encoding_format` left unset (so the client asks for base64); `_float` asks for floats.
//!
//! The mock server is not the shared harness's (`../shared/bench/mockserver`, which answers
//! from cached buffers on its own pinned core): this one parses every request and renders its
//! answer, on the same two cores as the client, so these times include more server work and
//! are an upper bound on the client's cost. Use the harness for the side-by-side numbers.
//!
//! The blocking build (default) runs the blocking client; the async build runs the async
//! client on a multi-thread tokio runtime created here (one `block_on` per measured batch;
//! `OAI_BENCH_TOKIO=current_thread` picks a current-thread runtime instead):
//!
//! ```sh
//! cargo bench --bench client -- --warm-up-time 1 --measurement-time 3
//! cargo bench --bench client --no-default-features --features async,rustls -- --warm-up-time 1 --measurement-time 3
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oai_compat::Client;
use oai_compat::types::{
    ChatCompletionRequest, EmbeddingRequest, EncodingFormat, Message, StreamOptions,
};
use oai_compat_mock::MockServer;

const MODEL: &str = "mock-model";
/// Dimensions of the embeddings (all-MiniLM-L6-v2's).
const EMBED_DIM: u32 = 384;
const EMBED_TEXTS: usize = 16;
/// Words of the streamed prompt; the mock answers `"Mock reply to: "` plus these words, one
/// chunk per word.
const STREAM_WORDS: usize = 100;
/// Content chunks of the streamed reply.
const STREAM_CONTENT_CHUNKS: usize = STREAM_WORDS + 3;

fn client(server: &MockServer) -> Client {
    Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(server.url())
        .build()
        .unwrap()
}

fn chat_request() -> ChatCompletionRequest {
    ChatCompletionRequest {
        temperature: Some(0.0),
        max_tokens: Some(64),
        ..ChatCompletionRequest::new(
            MODEL,
            [
                Message::system("You are a helpful assistant."),
                Message::user("Say hello to the benchmark."),
            ],
        )
    }
}

fn stream_request() -> ChatCompletionRequest {
    let words: Vec<String> = (0..STREAM_WORDS).map(|i| format!("word{i}")).collect();
    ChatCompletionRequest {
        stream_options: Some(StreamOptions {
            include_usage: Some(true),
            ..Default::default()
        }),
        ..ChatCompletionRequest::new(MODEL, [Message::user(words.join(" "))])
    }
}

fn embedding_request(format: Option<EncodingFormat>) -> EmbeddingRequest {
    let texts: Vec<String> = (0..EMBED_TEXTS)
        .map(|i| format!("A short passage number {i} to embed, about the size of a sentence."))
        .collect();
    EmbeddingRequest {
        dimensions: Some(EMBED_DIM),
        encoding_format: format,
        ..EmbeddingRequest::new(MODEL, texts)
    }
}

#[cfg(feature = "blocking")]
fn bench_client(c: &mut Criterion) {
    use std::hint::black_box;

    let server = MockServer::start().unwrap();
    let client = client(&server);
    let chat = chat_request();
    let stream = stream_request();
    let embed_b64 = embedding_request(None);
    let embed_float = embedding_request(Some(EncodingFormat::Float));

    let consume = |req: &ChatCompletionRequest| -> (usize, usize) {
        let (mut chunks, mut text) = (0, 0);
        for chunk in client.chat().create_stream(req).unwrap() {
            chunks += 1;
            text += chunk.unwrap().text().len();
        }
        (chunks, text)
    };

    // Check every call once, outside the timing.
    assert_eq!(client.models().list().unwrap().data[0].id, MODEL);
    assert!(client.chat().create(&chat).unwrap().text().is_some());
    assert_eq!(consume(&stream).0, STREAM_CONTENT_CHUNKS + 3);
    for req in [&embed_b64, &embed_float] {
        let out = client.embeddings().create(req).unwrap();
        assert_eq!(out.data.len(), EMBED_TEXTS);
        assert_eq!(out.data[0].embedding.len(), EMBED_DIM as usize);
    }

    let mut g = c.benchmark_group("client");
    g.throughput(Throughput::Elements(1));
    // Round trips are noisy on a shared machine; fewer, longer samples fit a short run.
    g.sample_size(30);
    g.bench_function("models_list", |b| {
        b.iter(|| client.models().list().unwrap())
    });
    g.bench_function("chat_create", |b| {
        b.iter(|| client.chat().create(black_box(&chat)).unwrap())
    });
    g.bench_function("chat_stream_106", |b| {
        b.iter(|| consume(black_box(&stream)))
    });
    g.bench_function("embeddings_16x384_base64", |b| {
        b.iter(|| client.embeddings().create(black_box(&embed_b64)).unwrap())
    });
    g.bench_function("embeddings_16x384_float", |b| {
        b.iter(|| client.embeddings().create(black_box(&embed_float)).unwrap())
    });
    g.finish();
}

#[cfg(not(feature = "blocking"))]
fn bench_client(c: &mut Criterion) {
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    // `#[tokio::main]`'s runtime by default; `OAI_BENCH_TOKIO=current_thread` for one thread.
    let rt = match std::env::var("OAI_BENCH_TOKIO").as_deref() {
        Ok("current_thread") => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()
    .unwrap();
    let server = MockServer::start().unwrap();
    let client = {
        let _in_runtime = rt.enter();
        client(&server)
    };
    let chat = chat_request();
    let stream = stream_request();
    let embed_b64 = embedding_request(None);
    let embed_float = embedding_request(Some(EncodingFormat::Float));

    async fn consume(client: &Client, req: &ChatCompletionRequest) -> (usize, usize) {
        let (mut chunks, mut text) = (0, 0);
        let mut s = client.chat().create_stream(req).await.unwrap();
        while let Some(chunk) = s.try_next().await.unwrap() {
            chunks += 1;
            text += chunk.text().len();
        }
        (chunks, text)
    }

    // Check every call once, outside the timing.
    rt.block_on(async {
        assert_eq!(client.models().list().await.unwrap().data[0].id, MODEL);
        assert!(client.chat().create(&chat).await.unwrap().text().is_some());
        assert_eq!(consume(&client, &stream).await.0, STREAM_CONTENT_CHUNKS + 3);
        for req in [&embed_b64, &embed_float] {
            let out = client.embeddings().create(req).await.unwrap();
            assert_eq!(out.data.len(), EMBED_TEXTS);
            assert_eq!(out.data[0].embedding.len(), EMBED_DIM as usize);
        }
    });

    // One `block_on` per batch of `iters` sequential calls, timed inside the runtime.
    macro_rules! timed {
        ($iters:expr, $call:expr) => {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..$iters {
                    black_box($call);
                }
                start.elapsed()
            })
        };
    }

    let mut g = c.benchmark_group("client");
    g.throughput(Throughput::Elements(1));
    // Round trips are noisy on a shared machine; fewer, longer samples fit a short run.
    g.sample_size(30);
    g.bench_function("models_list", |b| {
        b.iter_custom(|iters| -> Duration { timed!(iters, client.models().list().await.unwrap()) })
    });
    g.bench_function("chat_create", |b| {
        b.iter_custom(|iters| timed!(iters, client.chat().create(&chat).await.unwrap()))
    });
    g.bench_function("chat_stream_106", |b| {
        b.iter_custom(|iters| timed!(iters, consume(&client, &stream).await))
    });
    g.bench_function("embeddings_16x384_base64", |b| {
        b.iter_custom(|iters| timed!(iters, client.embeddings().create(&embed_b64).await.unwrap()))
    });
    g.bench_function("embeddings_16x384_float", |b| {
        b.iter_custom(|iters| {
            timed!(
                iters,
                client.embeddings().create(&embed_float).await.unwrap()
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench_client);
criterion_main!(benches);
