//! SSE decoding throughput over realistic 1,000-chunk chat streams (issue 13).
//!
//! The streams come from `support/streams.rs`: 1,004 events each (a role chunk, 1,000 content
//! chunks of one word, a `finish_reason` chunk, a usage chunk, `[DONE]`), in vLLM's shape and
//! in OpenAI's (the shared harness's mock server: `service_tier` and `system_fingerprint` on
//! every chunk).
//!
//! - `sse_decode/<piece>`: the sans-IO SSE decoder alone on the vLLM stream, the body fed in
//!   pieces of 16 KiB (the blocking transport's read size), 1,459 bytes (odd, one MSS-sized
//!   read: events split across pieces) and 7 bytes (pathological tiny reads: nearly every
//!   line is completed from the partial-line buffer), popping every event after each `feed`
//!   as the client's stream does. MB/s of body.
//! - `sse_parse/<shape>_<piece>`: what [`oai_compat::ChatCompletionStream`] does per event:
//!   decoder, the `[DONE]` check, the in-band error probe (`data.contains("\"error\"")`) and
//!   `serde_json::from_str::<ChatCompletionChunk>`. Events/s.
//!
//! Compare the per-event time (time / 1,004) with the per-SSE-chunk client CPU in
//! `../shared/bench/RESULTS.md` (raw-ureq 0.75 µs, async-openai 2.21 µs), which includes HTTP.
//!
//! Run it (a short run):
//!
//! ```sh
//! cargo bench --bench sse -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oai_compat::types::ChatCompletionChunk;

// The decoder is internal to the library (the client's streams are its public face), so the
// bench compiles the very same source file into itself. Not everything of it is used here.
#[path = "../src/sse.rs"]
#[allow(dead_code)]
mod sse;
// `event_data` is for `codec.rs`.
#[path = "support/streams.rs"]
#[allow(dead_code)]
mod streams;

use sse::Decoder;

/// Piece sizes the body is fed in.
const PIECES: [(&str, usize); 3] = [("16KiB", 16 * 1024), ("1459B", 1459), ("7B", 7)];

/// Decodes `body` fed in `piece`-byte pieces; returns (events, data bytes).
fn decode_only(body: &[u8], piece: usize) -> (usize, usize) {
    let mut decoder = Decoder::new();
    let (mut events, mut bytes) = (0, 0);
    for chunk in body.chunks(piece) {
        decoder.feed(chunk).unwrap();
        while let Some(ev) = decoder.next_event_ref() {
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
        while let Some(ev) = decoder.next_event_ref() {
            if ev.data == "[DONE]" {
                break 'body;
            }
            // The stream probes for an in-band error before parsing a chunk.
            assert!(!ev.data.contains("\"error\""));
            let chunk: ChatCompletionChunk = serde_json::from_str(ev.data).unwrap();
            chunks += 1;
            content += chunk.text().len();
        }
    }
    (chunks, content)
}

fn decode(c: &mut Criterion) {
    let body = streams::vllm(streams::CHUNKS);
    let events = streams::events(streams::CHUNKS);
    assert_eq!(decode_only(&body, 16 * 1024).0, events);
    eprintln!("vLLM stream: {events} events, {} B", body.len());
    let mut g = c.benchmark_group("sse_decode");
    g.throughput(Throughput::Bytes(body.len() as u64));
    for (name, piece) in PIECES {
        assert_eq!(decode_only(&body, piece), decode_only(&body, body.len()));
        g.bench_function(name, |b| b.iter(|| decode_only(black_box(&body), piece)));
    }
    g.finish();
}

fn parse(c: &mut Criterion) {
    let events = streams::events(streams::CHUNKS);
    let mut g = c.benchmark_group("sse_parse");
    // ~1 ms per iteration: 50 samples fit a 3 s measurement.
    g.sample_size(50);
    g.throughput(Throughput::Elements(events as u64));
    for (shape, body) in [
        ("vllm", streams::vllm(streams::CHUNKS)),
        ("openai", streams::openai(streams::CHUNKS)),
    ] {
        let (chunks, _) = decode_and_parse(&body, body.len());
        assert_eq!(chunks, events - 1, "{shape}");
        // The odd and the large piece size; the 7-byte case adds nothing over `sse_decode`.
        for (name, piece) in &PIECES[..2] {
            g.bench_function(format!("{shape}_{name}"), |b| {
                b.iter(|| decode_and_parse(black_box(&body), *piece))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, decode, parse);
criterion_main!(benches);
