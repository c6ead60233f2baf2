//! Request encoding and response decoding: the serde work of a call, without any I/O.
//!
//! Mode-independent (only `oai_compat::types` and serde_json), so it measures the same code in
//! the blocking and the async build. Every benchmark reports `Throughput::Bytes`, so criterion
//! prints MB/s next to the time:
//!
//! - `encode/chat_request`: a typical [`ChatCompletionRequest`] (system + user message,
//!   `temperature`, `top_p`, `max_tokens`, `seed`, one function tool) to bytes with
//!   `serde_json::to_vec`, the client's path when no extra body keys are set (`json_body`).
//! - `encode/chat_request_stream_path`: the same request the way `create_stream` serialises
//!   it: `to_value`, then `stream` / `stream_options` inserted into the map, then `to_vec`.
//! - `decode/<fixture>`: non-streamed responses from `tests/fixtures/` decoded as the client
//!   does (`as_client`: the bytes checked as UTF-8 at once, then `serde_json::from_str`;
//!   `vllm_chat.json`, `openai_chat.json`,
//!   `vllm_chat_tool_call.json`, `vllm_models.json`), and `decode/models_list`: a model list
//!   as OpenAI sends it, ten models, generated in the setup.
//! - `embeddings/*`: an embeddings response of 64 inputs x 384 dimensions, generated in the
//!   setup, decoded into [`EmbeddingResponse`]: floats printed as vLLM does (the shortest
//!   repr of the `f64` widened from each `f32`, ~17 significant digits), floats printed as
//!   their shortest `f32` repr (~9 digits, like OpenAI and the shared harness's mock), and the
//!   same vectors as base64 (`encoding_format: "base64"`, what the client asks for by default).
//!   Divide the time by 24,576 for the cost per float.
//! - `chunk/<fixture>`: one streamed chat chunk from `tests/fixtures/` decoded into
//!   [`ChatCompletionChunk`] with `serde_json::from_str`, as the stream does per event: the
//!   first (role) chunk, a tool-call piece and reasoning pieces (under both names) of vLLM,
//!   and OpenAI's content chunk (with `service_tier` and `obfuscation`, kept in `extra`);
//!   `chunk/vllm_completion`: a text-completion chunk of vLLM into [`Completion`].
//! - `chunk_stream/<shape>_1000`: every chunk of a 1,000-chunk stream (`support/streams.rs`,
//!   1,003 chunks with the role, finish and usage chunks), in vLLM's shape and in OpenAI's
//!   (the shared harness's mock server). Elements/s are chunks/s.
//!
//! Run it (a short run; add `--no-default-features --features async,rustls` for the async
//! build, which gives the same numbers):
//!
//! ```sh
//! cargo bench --bench codec -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oai_compat::types::{
    ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, Completion, EmbeddingResponse,
    Message, ModelList, StreamOptions, Tool,
};
use serde_json::{Value, json};

const VLLM_CHAT: &str = include_str!("../tests/fixtures/vllm_chat.json");
const OPENAI_CHAT: &str = include_str!("../tests/fixtures/openai_chat.json");
const VLLM_CHAT_TOOL_CALL: &str = include_str!("../tests/fixtures/vllm_chat_tool_call.json");
const VLLM_MODELS: &str = include_str!("../tests/fixtures/vllm_models.json");

/// Single stream chunks, one per kind of delta.
const CHUNKS: [(&str, &str); 5] = [
    (
        "vllm_first",
        include_str!("../tests/fixtures/vllm_chunk_first.json"),
    ),
    (
        "vllm_reasoning",
        include_str!("../tests/fixtures/vllm_chunk_reasoning.json"),
    ),
    (
        "vllm_tool_call",
        include_str!("../tests/fixtures/vllm_chunk_tool_call.json"),
    ),
    (
        "vllm_reasoning_content",
        include_str!("../tests/fixtures/vllm_chunk_reasoning_content.json"),
    ),
    (
        "openai_content",
        include_str!("../tests/fixtures/openai_chat_chunk_content.json"),
    ),
];

/// A text-completion stream chunk as vLLM sends it (`Completion` is also the chunk type).
const VLLM_COMPLETION_CHUNK: &str = r#"{"id":"cmpl-8f2c6d0b2a1e4c3f9a7b5d4e3c2b1a09","object":"text_completion","created":1761234567,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"text":" Paris","logprobs":null,"finish_reason":null,"stop_reason":null}],"usage":null}"#;

#[path = "support/streams.rs"]
mod streams;

/// Inputs and dimensions of the generated embeddings response.
const EMBED_N: usize = 64;
const EMBED_DIM: usize = 384;

/// `GET /v1/models` as OpenAI answers it: ten models, each with `id`, `object`, `created`
/// and `owned_by`.
fn models_list() -> String {
    let data: Vec<Value> = (0..10)
        .map(|i| {
            json!({
                "id": format!("gpt-4.1-mini-2025-04-{:02}", i + 10),
                "object": "model",
                "created": 1_744_316_542 + i,
                "owned_by": if i % 2 == 0 { "system" } else { "openai" },
            })
        })
        .collect();
    json!({"object": "list", "data": data}).to_string()
}

/// A typical chat request: system + user message, a few sampling parameters and one tool.
fn chat_request() -> ChatCompletionRequest {
    let weather = Tool::function(
        "get_weather",
        "Get the current weather for a city.",
        json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}
            },
            "required": ["city"]
        }),
    );
    ChatCompletionRequest {
        temperature: Some(0.7),
        top_p: Some(0.95),
        max_tokens: Some(512),
        seed: Some(42),
        tools: Some(vec![weather]),
        ..ChatCompletionRequest::new(
            "Qwen/Qwen3-8B",
            [
                Message::system(
                    "You are a helpful assistant. Answer briefly and call a tool when the \
                     question needs live data.",
                ),
                Message::user(
                    "What is the weather like in Paris today, and should I take an umbrella \
                     for a walk along the Seine this afternoon?",
                ),
            ],
        )
    }
}

/// What `json_body` does for a streamed call: serialise to a map, set `stream` and
/// `stream_options`, serialise the map.
fn encode_stream_path(req: &ChatCompletionRequest, so: &StreamOptions) -> Vec<u8> {
    let mut v = match serde_json::to_value(req) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("a request serialises to an object"),
    };
    v.remove("stream");
    v.remove("stream_options");
    v.insert("stream".into(), Value::Bool(true));
    v.insert("stream_options".into(), serde_json::to_value(so).unwrap());
    serde_json::to_vec(&v).unwrap()
}

/// Deterministic pseudo-random unit-ish vectors (an LCG; no dependency needed).
fn vectors() -> Vec<Vec<f32>> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..EMBED_N)
        .map(|_| {
            (0..EMBED_DIM)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    // 24 random bits to [-0.15, 0.15), the range of a normalised 384-d vector.
                    ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.3
                })
                .collect()
        })
        .collect()
}

/// An embeddings response body in vLLM's shape, with each vector rendered as JSON text by
/// `encode` (built as text: a `serde_json::Value` would widen every `f32` to `f64`).
fn embeddings_json(vectors: &[Vec<f32>], encode: impl Fn(&[f32]) -> String) -> Vec<u8> {
    let data: Vec<String> = vectors
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                r#"{{"index":{i},"object":"embedding","embedding":{}}}"#,
                encode(v)
            )
        })
        .collect();
    format!(
        r#"{{"id":"embd-8f2c6d0b2a1e4c3f9a7b5d4e3c2b1a09","object":"list","created":1761234567,"model":"sentence-transformers/all-MiniLM-L6-v2","data":[{}],"usage":{{"prompt_tokens":1024,"total_tokens":1024,"completion_tokens":0}}}}"#,
        data.join(",")
    )
    .into_bytes()
}

fn encode(c: &mut Criterion) {
    let req = chat_request();
    let so = StreamOptions {
        include_usage: Some(true),
        ..Default::default()
    };
    let mut g = c.benchmark_group("encode");
    g.throughput(Throughput::Bytes(
        serde_json::to_vec(&req).unwrap().len() as u64
    ));
    g.bench_function("chat_request", |b| {
        b.iter(|| serde_json::to_vec(black_box(&req)).unwrap())
    });
    g.throughput(Throughput::Bytes(encode_stream_path(&req, &so).len() as u64));
    g.bench_function("chat_request_stream_path", |b| {
        b.iter(|| encode_stream_path(black_box(&req), black_box(&so)))
    });
    g.finish();
}

/// A response body decoded the way the client decodes it (`call.rs`): checked as UTF-8 as a
/// whole, then parsed as text, so serde_json does not check each string again.
fn as_client<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    serde_json::from_str(std::str::from_utf8(bytes).unwrap()).unwrap()
}

fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, text) in [
        ("vllm_chat", VLLM_CHAT),
        ("openai_chat", OPENAI_CHAT),
        ("vllm_chat_tool_call", VLLM_CHAT_TOOL_CALL),
    ] {
        let bytes = text.as_bytes();
        // Fail here, not inside the timing loop, if a fixture stops parsing.
        let parsed: ChatCompletion = serde_json::from_slice(bytes).unwrap();
        assert_eq!(parsed.choices.len(), 1, "{name}");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| as_client::<ChatCompletion>(black_box(bytes)))
        });
    }
    let bytes = VLLM_MODELS.as_bytes();
    assert!(
        !serde_json::from_slice::<ModelList>(bytes)
            .unwrap()
            .data
            .is_empty()
    );
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("vllm_models", |b| {
        b.iter(|| as_client::<ModelList>(black_box(bytes)))
    });
    let list = models_list();
    let bytes = list.as_bytes();
    assert_eq!(
        serde_json::from_slice::<ModelList>(bytes)
            .unwrap()
            .data
            .len(),
        10
    );
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("models_list", |b| {
        b.iter(|| as_client::<ModelList>(black_box(bytes)))
    });
    g.finish();
}

fn embeddings(c: &mut Criterion) {
    let vectors = vectors();
    // vLLM: `tensor.tolist()` widens each f32 to a Python float, printed with ~17 digits.
    let float_vllm = embeddings_json(&vectors, |v| {
        serde_json::to_string(&v.iter().map(|&x| f64::from(x)).collect::<Vec<f64>>()).unwrap()
    });
    // The shortest repr of each f32 (serde_json's f32 formatting), ~9 digits.
    let float_short = embeddings_json(&vectors, |v| serde_json::to_string(v).unwrap());
    let base64 = embeddings_json(&vectors, |v| {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        format!("\"{}\"", base64_simd::STANDARD.encode_to_string(bytes))
    });
    assert!(float_short.len() < float_vllm.len());
    eprintln!(
        "embeddings bodies ({EMBED_N} x {EMBED_DIM}): float_vllm {} B, float_short {} B, base64 {} B",
        float_vllm.len(),
        float_short.len(),
        base64.len()
    );
    for body in [&float_vllm, &float_short, &base64] {
        let parsed: EmbeddingResponse = serde_json::from_slice(body).unwrap();
        assert_eq!(parsed.data.len(), EMBED_N);
        assert_eq!(parsed.data[EMBED_N - 1].embedding, vectors[EMBED_N - 1]);
    }

    let mut g = c.benchmark_group("embeddings");
    // ~0.1-1 ms per iteration: 50 samples fit a 3 s measurement.
    g.sample_size(50);
    for (name, body) in [
        ("float_vllm_64x384", &float_vllm),
        ("float_short_64x384", &float_short),
        ("base64_64x384", &base64),
    ] {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| as_client::<EmbeddingResponse>(black_box(body)))
        });
    }
    g.finish();
}

fn chunks(c: &mut Criterion) {
    let mut g = c.benchmark_group("chunk");
    g.throughput(Throughput::Elements(1));
    for (name, text) in CHUNKS {
        let parsed: ChatCompletionChunk = serde_json::from_str(text).unwrap();
        assert_eq!(parsed.choices.len(), 1, "{name}");
        g.bench_function(name, |b| {
            b.iter(|| serde_json::from_str::<ChatCompletionChunk>(black_box(text)).unwrap())
        });
    }
    let parsed: Completion = serde_json::from_str(VLLM_COMPLETION_CHUNK).unwrap();
    assert_eq!(parsed.text(), " Paris");
    g.bench_function("vllm_completion", |b| {
        b.iter(|| serde_json::from_str::<Completion>(black_box(VLLM_COMPLETION_CHUNK)).unwrap())
    });
    g.finish();

    let mut g = c.benchmark_group("chunk_stream");
    // ~1 ms per iteration: 50 samples fit a 3 s measurement.
    g.sample_size(50);
    for (shape, body) in [
        ("vllm", streams::vllm(streams::CHUNKS)),
        ("openai", streams::openai(streams::CHUNKS)),
    ] {
        let mut data = streams::event_data(&body);
        assert_eq!(data.pop().as_deref(), Some("[DONE]"));
        assert_eq!(data.len(), streams::events(streams::CHUNKS) - 1);
        let decode_all = |data: &[String]| {
            data.iter()
                .map(|d| {
                    serde_json::from_str::<ChatCompletionChunk>(d)
                        .unwrap()
                        .text()
                        .len()
                })
                .sum::<usize>()
        };
        assert!(decode_all(&data) > streams::CHUNKS);
        g.throughput(Throughput::Elements(data.len() as u64));
        g.bench_function(format!("{shape}_1000"), |b| {
            b.iter(|| decode_all(black_box(&data)))
        });
        // As `next_into` decodes: every event into one chunk, reusing its strings and lists.
        let decode_reused = |data: &[String]| {
            let mut chunk = ChatCompletionChunk::default();
            data.iter()
                .map(|d| {
                    let mut de = serde_json::Deserializer::from_str(d);
                    serde::Deserialize::deserialize_in_place(&mut de, &mut chunk).unwrap();
                    de.end().unwrap();
                    chunk.text().len()
                })
                .sum::<usize>()
        };
        assert_eq!(decode_reused(&data), decode_all(&data));
        g.bench_function(format!("{shape}_1000_reused"), |b| {
            b.iter(|| decode_reused(black_box(&data)))
        });
        // The floor the harness's raw clients stand on: only each choice's content decoded
        // (their `ChunkResp`), everything else skipped.
        #[derive(serde::Deserialize)]
        struct ContentOnly {
            choices: Vec<ContentChoice>,
        }
        #[derive(serde::Deserialize)]
        struct ContentChoice {
            delta: ContentDelta,
        }
        #[derive(serde::Deserialize)]
        struct ContentDelta {
            content: Option<String>,
        }
        let decode_content = |data: &[String]| {
            data.iter()
                .map(|d| {
                    let c: ContentOnly = serde_json::from_slice(d.as_bytes()).unwrap();
                    c.choices
                        .iter()
                        .map(|c| c.delta.content.as_deref().map_or(0, str::len))
                        .sum::<usize>()
                })
                .sum::<usize>()
        };
        assert_eq!(decode_content(&data), decode_all(&data));
        g.bench_function(format!("{shape}_1000_content_only"), |b| {
            b.iter(|| decode_content(black_box(&data)))
        });
    }
    g.finish();
}

criterion_group!(benches, encode, decode, embeddings, chunks);
criterion_main!(benches);
