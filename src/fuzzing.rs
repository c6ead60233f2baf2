//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay tests.
//!
//! Compiled only under `--cfg fuzzing` (which `cargo fuzz` sets) and in this crate's own
//! tests: they reach parsers that are not public API. Each function must never panic,
//! whatever the input; the fuzzers check exactly that.

use crate::error::{ApiError, StreamError};
use crate::headers::Headers;
use crate::sse::Decoder;
use crate::types::{ChatCompletion, ChatCompletionChunk, Completion, EmbeddingResponse, ModelList};

/// SSE decoding: the input is fed in pieces whose sizes come from its first byte, so the
/// fuzzer explores chunk boundaries too; a small event limit exercises the bounds.
pub fn sse(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let piece = usize::from(first % 17) + 1;
    let mut d = Decoder::with_max_event_size(4096);
    for chunk in rest.chunks(piece) {
        if d.feed(chunk).is_err() {
            return;
        }
        while let Some(ev) = d.next_event() {
            // What the stream does with each event: look for an in-band error, then decode.
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&ev.data) {
                let _ = StreamError::in_band(&v).map(|e| e.to_string());
            }
            let _ = serde_json::from_str::<ChatCompletionChunk>(&ev.data);
        }
    }
    let _ = d.finish();
}

/// Error bodies: the first two bytes choose the status, the rest is the body.
pub fn error_body(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 500;
    let headers = Headers::from_pairs([("retry-after", "1"), ("x-request-id", "fuzz")]);
    let e = ApiError::from_response(status, headers, &data[2..]);
    let _ = (e.to_string(), format!("{e:?}"));
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&data[2..]) {
        let _ = StreamError::in_band(&v).map(|e| e.to_string());
    }
}

/// Response bodies of every endpoint (base64 embeddings included); the first byte picks
/// the type.
pub fn response(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    match first % 5 {
        0 => drop(serde_json::from_slice::<ChatCompletion>(body)),
        1 => drop(serde_json::from_slice::<ChatCompletionChunk>(body)),
        2 => drop(serde_json::from_slice::<Completion>(body)),
        3 => drop(serde_json::from_slice::<EmbeddingResponse>(body)),
        _ => drop(serde_json::from_slice::<ModelList>(body)),
    }
}
