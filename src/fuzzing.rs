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
    // `next_into`'s value, reused across the events.
    let mut reused = ChatCompletionChunk::default();
    for chunk in rest.chunks(piece) {
        if d.feed(chunk).is_err() {
            return;
        }
        while let Some(ev) = d.next_event_ref() {
            // What the stream does with each event: look for an in-band error, then decode.
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(ev.data) {
                let _ = StreamError::in_band(&v).map(|e| e.to_string());
            }
            let fresh = serde_json::from_str::<ChatCompletionChunk>(ev.data);
            // Decoded into the value the events before it were decoded into, it must be the
            // same (or fail the same way).
            let into = crate::stream::decode_into(ev.data, &mut reused, usize::MAX);
            match (fresh, into) {
                (Ok(fresh), Ok(())) => assert_eq!(fresh, reused, "{}", ev.data),
                (Err(_), Err(_)) => {}
                (fresh, into) => panic!("{}: new {fresh:?}, reused {into:?}", ev.data),
            }
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

/// The fuzz corpus as ordinary tests, which is what CI runs (CI does not run `cargo fuzz`):
/// every file in `tests/fuzz/seeds/<target>/` and `tests/fuzz/regressions/<target>/` is fed
/// to its entry point, then a fixed-seed "mini-fuzz" feeds 20,000 mutations of the
/// committed seeds, a short reproducible stand-in for the fuzzer. See `fuzz/README.md`.
#[cfg(test)]
mod replay {
    use std::fs;
    use std::panic::{self, AssertUnwindSafe};
    use std::path::{Path, PathBuf};

    /// Mutated inputs fed to each entry point by the mini-fuzz.
    const MUTATIONS: usize = 20_000;
    /// Mutated inputs are cut to this size, about libFuzzer's `-max_len` for the seeds.
    const MAX_LEN: usize = 8 * 1024;

    fn fuzz_dir(kind: &str, target: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join("fuzz")
            .join(kind)
            .join(target)
    }

    /// The files in `dir` sorted by name (dotfiles skipped); none if it does not exist.
    fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|e| e.expect("read fuzz directory").path())
            .filter(|p| p.is_file())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|p| {
                let data = fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                (p, data)
            })
            .collect()
    }

    /// Runs `entry` on `data`, naming `what` if it panics.
    fn run(entry: fn(&[u8]), data: &[u8], what: &dyn Fn() -> String) {
        if panic::catch_unwind(AssertUnwindSafe(|| entry(data))).is_err() {
            panic!("fuzz entry point panicked on {}", what());
        }
    }

    /// The committed seeds (`seed-*`) and the regressions of `target`: the mini-fuzz's
    /// starting points. Files a local `cargo fuzz run` added are left out, so every run of
    /// the mini-fuzz feeds the same inputs.
    fn seeds(target: &str) -> Vec<Vec<u8>> {
        let seeds: Vec<Vec<u8>> = files(&fuzz_dir("seeds", target))
            .into_iter()
            .filter(|(p, _)| is_seed(p))
            .chain(files(&fuzz_dir("regressions", target)))
            .map(|(_, data)| data)
            .collect();
        assert!(!seeds.is_empty(), "no seeds in tests/fuzz/seeds/{target}/");
        seeds
    }

    fn is_seed(path: &Path) -> bool {
        path.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("seed-")
    }

    /// Replays every file of the corpus and the regressions of `target`.
    fn replay(target: &str, entry: fn(&[u8])) {
        let corpus = files(&fuzz_dir("seeds", target));
        // A missing corpus must fail, not pass on nothing.
        assert!(
            corpus.iter().any(|(p, _)| is_seed(p)),
            "no seed-* files in tests/fuzz/seeds/{target}/: the corpus is missing"
        );
        let regressions = files(&fuzz_dir("regressions", target));
        for (path, data) in corpus.iter().chain(&regressions) {
            run(entry, data, &|| path.display().to_string());
        }
    }

    /// xorshift64*: small, fixed-seed, good enough to pick mutations.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        /// Uniform enough in `0..n`; `n` must not be 0.
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }
    }

    /// Bytes and tokens that matter to the parsers: line ends, SSE fields, JSON syntax,
    /// numbers at the edges of their types, bad escapes and bad UTF-8.
    const TOKENS: &[&[u8]] = &[
        b"\n",
        b"\r",
        b"\r\n",
        b"\n\n",
        b":",
        b"data: ",
        b"event: error\n",
        b"id: \0\n",
        b"retry: 99999999999999999999\n",
        b"\xef\xbb\xbf",
        b"[DONE]",
        b"null",
        b"true",
        b"\"\"",
        b"{}",
        b"[]",
        b"0",
        b"-1",
        b"-0",
        b"1e999",
        b"-1e999",
        b"1.5",
        b"18446744073709551616",
        b"-9223372036854775809",
        b"4294967296",
        b"\"\\ud800\"",
        b"\"\\u0000\"",
        b"\xff",
        b"\xc3",
        b"\"error\":",
        b"\"object\":\"error\"",
        b"\"detail\":",
        b"\"code\":",
        b"\"embedding\":\"AAAA\"",
        b"\"AACAPw==\"",
        b"\"@@\"",
        b"\"choices\":[]",
        b"\"tool_calls\":[{}]",
        b"\"index\":-1",
    ];

    fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
        let len = input.len();
        let at = |rng: &mut Rng| rng.below(len + 1);
        match rng.below(9) {
            // Flip one bit.
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            // Overwrite a byte with any value.
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            // Insert a token.
            2 => {
                let i = at(rng);
                let token = rng.pick(TOKENS);
                input.splice(i..i, token.iter().copied());
            }
            // Delete a range.
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                input.drain(i..i + n);
            }
            // Truncate.
            4 => input.truncate(at(rng)),
            // Duplicate a range in place.
            5 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let copy = input[i..i + n].to_vec();
                input.splice(i..i, copy);
            }
            // Splice: this input's head, another seed's tail.
            6 => {
                let other = rng.pick(seeds);
                let from = rng.below(other.len() + 1);
                input.truncate(at(rng));
                input.extend_from_slice(&other[from..]);
            }
            // Insert a piece of another seed.
            7 => {
                let other = rng.pick(seeds);
                let from = rng.below(other.len() + 1);
                let n = rng.below((other.len() - from).min(512) + 1);
                let i = at(rng);
                input.splice(i..i, other[from..from + n].iter().copied());
            }
            // Change the leading selector byte(s): chunk size, status, response type.
            _ if len > 0 => input[0] = rng.next() as u8,
            _ => input.push(rng.next() as u8),
        }
        input.truncate(MAX_LEN);
    }

    /// Feeds `MUTATIONS` mutated seeds to `entry`; a panic names the iteration and saves
    /// the input, ready to move to `tests/fuzz/regressions/<target>/`.
    fn mini_fuzz(target: &str, entry: fn(&[u8]), seeds: &[Vec<u8>]) {
        // A fixed seed per target: every run feeds the same inputs.
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ target.len() as u64);
        for iteration in 0..MUTATIONS {
            let mut input = rng.pick(seeds).clone();
            for _ in 0..1 + rng.below(4) {
                mutate(&mut rng, seeds, &mut input);
            }
            run(entry, &input, &|| {
                let path =
                    std::env::temp_dir().join(format!("oai-compat-minifuzz-{target}-{iteration}"));
                let saved = match fs::write(&path, &input) {
                    Ok(()) => format!("saved to {}", path.display()),
                    Err(e) => format!("could not save it: {e}"),
                };
                format!("mini-fuzz {target} iteration {iteration} ({saved})")
            });
        }
    }

    #[test]
    fn sse_corpus() {
        replay("sse", super::sse);
    }

    #[test]
    fn error_body_corpus() {
        replay("error_body", super::error_body);
    }

    #[test]
    fn response_corpus() {
        replay("response", super::response);
    }

    #[test]
    fn sse_mini_fuzz() {
        mini_fuzz("sse", super::sse, &seeds("sse"));
    }

    #[test]
    fn error_body_mini_fuzz() {
        mini_fuzz("error_body", super::error_body, &seeds("error_body"));
    }

    #[test]
    fn response_mini_fuzz() {
        mini_fuzz("response", super::response, &seeds("response"));
    }
}
