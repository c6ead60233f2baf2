//! SSE decoding throughput over a realistic vLLM chat stream (issue "Streaming", item 9).
//!
//! The stream is generated in the setup: 2,000 events as vLLM sends them, one
//! `data: {chat.completion.chunk}\n\n` per token (a role chunk, 1,996 content chunks of one
//! word each, with some `\n` and `\"` escapes, a `finish_reason` chunk and a usage chunk),
//! then `data: [DONE]\n\n`; 449,584 bytes.
//!
//! - `sse_decode/<piece>`: the sans-IO [`Decoder`] alone: the body fed in pieces of 16 KiB
//!   (the blocking transport's read size), 1,459 bytes (odd, one MSS-sized read: events
//!   split across pieces) and 7 bytes (pathological tiny reads: nearly every line is
//!   completed from the partial-line buffer), popping every event after each `feed` as the
//!   client's stream does. MB/s of body.
//! - `sse_parse_bytes/<piece>` and `sse_parse_events/<piece>`: end-to-end chunk parsing,
//!   what [`oai_compat::ChatCompletionStream`] does per event: decoder, the `[DONE]` check,
//!   the in-band error probe (`data.contains("\"error\"")`) and
//!   `serde_json::from_str::<ChatCompletionChunk>`. The same loop reported twice: in MB/s of
//!   body and in events/s.
//!
//! Compare the per-event time (time / 2,000) with the per-SSE-chunk client CPU in
//! `../shared/bench/RESULTS.md` (raw-ureq 0.75 µs, async-openai 2.21 µs), which includes HTTP.
//!
//! Run it (a short run):
//!
//! ```sh
//! cargo bench --bench sse -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oai_compat::sse::Decoder;
use oai_compat::types::ChatCompletionChunk;

/// Events in the generated stream, `[DONE]` included.
const EVENTS: usize = 2_000;

/// Piece sizes the body is fed in.
const PIECES: [(&str, usize); 3] = [("16KiB", 16 * 1024), ("1459B", 1459), ("7B", 7)];

/// A vLLM chat stream of `EVENTS` events, as bytes on the wire.
fn vllm_stream() -> Vec<u8> {
    const WORDS: [&str; 16] = [
        " The",
        " capital",
        " of",
        " France",
        " is",
        " Paris",
        ".",
        "\\n\\n",
        " It",
        " has",
        " about",
        " 2",
        ".1",
        " million",
        " \\\"inhabitants\\\"",
        ",",
    ];
    let head = r#"{"id":"chatcmpl-8f2c6d0b2a1e4c3f9a7b5d4e3c2b1a09","object":"chat.completion.chunk","created":1761234567,"model":"Qwen/Qwen3-8B","choices":[{"index":0,"delta":"#;
    let mut out = String::new();
    let mut event = |json: &str| {
        out.push_str("data: ");
        out.push_str(json);
        out.push_str("\n\n");
    };
    event(&format!(
        r#"{head}{{"role":"assistant","content":""}},"logprobs":null,"finish_reason":null}}],"prompt_token_ids":null}}"#
    ));
    for i in 0..EVENTS - 4 {
        let word = WORDS[i % WORDS.len()];
        event(&format!(
            r#"{head}{{"content":"{word}"}},"logprobs":null,"finish_reason":null}}]}}"#
        ));
    }
    event(&format!(
        r#"{head}{{"content":""}},"logprobs":null,"finish_reason":"stop","stop_reason":null}}]}}"#
    ));
    event(
        r#"{"id":"chatcmpl-8f2c6d0b2a1e4c3f9a7b5d4e3c2b1a09","object":"chat.completion.chunk","created":1761234567,"model":"Qwen/Qwen3-8B","choices":[],"usage":{"prompt_tokens":15,"total_tokens":2011,"completion_tokens":1996}}"#,
    );
    event("[DONE]");
    out.into_bytes()
}

/// Decodes `body` fed in `piece`-byte pieces; returns (events, data bytes).
fn decode_only(body: &[u8], piece: usize) -> (usize, usize) {
    let mut decoder = Decoder::new();
    let (mut events, mut bytes) = (0, 0);
    for chunk in body.chunks(piece) {
        decoder.feed(chunk).unwrap();
        while let Some(ev) = decoder.next_event() {
            events += 1;
            bytes += ev.data.len();
        }
    }
    assert!(!decoder.finish());
    (events, bytes)
}

/// Decodes and parses `body` as the client's stream does; returns (chunks, content bytes).
fn decode_and_parse(body: &[u8], piece: usize) -> (usize, usize) {
    let mut decoder = Decoder::new();
    let (mut chunks, mut content) = (0, 0);
    'body: for piece in body.chunks(piece) {
        decoder.feed(piece).unwrap();
        while let Some(ev) = decoder.next_event() {
            if ev.data == "[DONE]" {
                break 'body;
            }
            // The stream probes for an in-band error before parsing a chunk.
            assert!(!ev.data.contains("\"error\""));
            let chunk: ChatCompletionChunk = serde_json::from_str(&ev.data).unwrap();
            chunks += 1;
            content += chunk.text().len();
        }
    }
    (chunks, content)
}

fn decode(c: &mut Criterion) {
    let body = vllm_stream();
    assert_eq!(decode_only(&body, 16 * 1024).0, EVENTS);
    eprintln!("stream: {EVENTS} events, {} B", body.len());
    let mut g = c.benchmark_group("sse_decode");
    g.throughput(Throughput::Bytes(body.len() as u64));
    for (name, piece) in PIECES {
        assert_eq!(decode_only(&body, piece), decode_only(&body, body.len()));
        g.bench_function(name, |b| b.iter(|| decode_only(black_box(&body), piece)));
    }
    g.finish();
}

fn parse(c: &mut Criterion) {
    let body = vllm_stream();
    let (chunks, _) = decode_and_parse(&body, body.len());
    assert_eq!(chunks, EVENTS - 1);
    for (group, throughput) in [
        ("sse_parse_bytes", Throughput::Bytes(body.len() as u64)),
        ("sse_parse_events", Throughput::Elements(EVENTS as u64)),
    ] {
        let mut g = c.benchmark_group(group);
        g.throughput(throughput);
        // The odd and the large piece size; the 7-byte case adds nothing over `sse_decode`.
        for (name, piece) in &PIECES[..2] {
            g.bench_function(*name, |b| {
                b.iter(|| decode_and_parse(black_box(&body), *piece))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, decode, parse);
criterion_main!(benches);
