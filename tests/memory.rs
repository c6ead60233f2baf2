//! Memory stays flat over a long stream, and no reply, however it is shaped, decodes to more
//! than a small multiple of its bytes (bounded decoding). Alone in its binary, and each test
//! in a process of its own ([`in_a_fresh_process`]): resident memory is the process's.

mod support;

use std::time::{Duration, Instant};

use oai_compat::Error;
use oai_compat::types::{
    ChatCompletionChunk, ChatCompletionRequest, CompletionRequest, EmbeddingRequest, Message,
};
use oai_compat_mock::{MockServer, Reply};
use serde_json::json;
use support::{MODEL, client, server};

/// Set in a child process that runs one hostile case ([`in_a_fresh_process`]).
const CHILD: &str = "OAI_COMPAT_MEMORY_CHILD";

/// Runs the test `name` again in a child process of this binary, alone, and fails if it
/// fails; returns `true` in the parent, `false` in the child, which then runs the case.
/// Why: the peak is measured as the pages a case adds, and memory an earlier test freed
/// stays in the allocator's pools, where a later case would reuse it unseen.
fn in_a_fresh_process(name: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return false;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} in a child process: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

/// The peak a hostile reply may add to the process, as a multiple of its bytes.
const PEAK: u64 = 4;

/// The size of the hostile bodies: large enough that a per-value amplification shows far above
/// the noise, small enough that today's amplification (about 100x) stays a few hundred MB.
const HOSTILE: usize = 4 * 1024 * 1024;

/// A field of /proc/self/status, in KiB.
#[cfg(target_os = "linux")]
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The resident memory now, with the peak (VmHWM) reset to it.
#[cfg(target_os = "linux")]
fn start_peak() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    status_kib("VmRSS:")
}

/// How far the resident memory rose above `start` (from [`start_peak`]) since, in bytes.
#[cfg(target_os = "linux")]
fn peak_since(start: u64) -> u64 {
    status_kib("VmHWM:").saturating_sub(start) * 1024
}

/// A server that will answer `body` (JSON) once, written straight from the script (a pause
/// step keeps the mock from copying head and body into one buffer, which would count here).
fn serving(body: String) -> MockServer {
    let srv = server();
    srv.enqueue(Reply::json(200, body).pause(Duration::ZERO));
    srv
}

/// Checks a hostile reply's outcome: refused with the decode error naming the limit (or, if
/// decoded, within the peak), and the peak it added within `PEAK` times its bytes.
fn bounded<T>(what: &str, result: Result<T, Error>, bytes: usize, peak: u64) {
    println!(
        "{what}: {bytes} bytes, peak +{} KiB ({:.2}x), {}",
        peak / 1024,
        peak as f64 / bytes as f64,
        match &result {
            Ok(_) => "decoded".to_owned(),
            Err(e) => e.to_string(),
        }
    );
    if let Err(e) = &result {
        assert!(
            matches!(e, Error::Decode(_)) && e.to_string().contains("decoded-size limit"),
            "{what}: {e}"
        );
    }
    assert!(
        peak <= PEAK * bytes as u64,
        "{what}: a {bytes}-byte reply added {peak} bytes at its peak ({:.1}x)",
        peak as f64 / bytes as f64
    );
}

/// `{"choices":[{},{},...]}` of about `size` bytes: each `{}` a default choice of a few
/// hundred bytes.
fn empty_choices(size: usize) -> String {
    repeated(r#"{"choices":["#, "{},", size, "{}]}")
}

/// `head`, `item` repeated to about `size` bytes, and `tail`: built in one allocation, so that
/// no freed copy is left for the measured call to reuse.
fn repeated(head: &str, item: &str, size: usize, tail: &str) -> String {
    let mut body = String::with_capacity(size + head.len() + tail.len());
    body.push_str(head);
    for _ in 0..size / item.len() {
        body.push_str(item);
    }
    body.push_str(tail);
    body
}

/// A chat request for the tests' calls.
fn ask() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user("hi")])
}

/// A chat completion answered with the hostile `body`, checked with [`bounded`].
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn hostile_chat(what: &str, body: String) {
    let bytes = body.len();
    let srv = serving(body);
    let c = client(&srv);
    let start = start_peak();
    let result = c.chat().create(ask()).await;
    bounded(what, result, bytes, peak_since(start));
}

/// Resident memory of this process in KiB (Linux).
#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_100k_chunk_stream_does_not_grow_memory() {
    if in_a_fresh_process("a_100k_chunk_stream_does_not_grow_memory") {
        return;
    }
    const CHUNKS: usize = 100_000;
    let srv = server();
    let event = serde_json::json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": "token "}, "finish_reason": null}]})
    .to_string();
    // Written in batches of 100 events, so the script itself stays small.
    let batch = format!("data: {event}\n\n").repeat(100);
    let mut reply = Reply::sse();
    for _ in 0..CHUNKS / 100 {
        reply = reply.raw(batch.clone());
    }
    srv.enqueue(reply.done());
    let c = client(&srv);
    let mut s = c
        .chat()
        .create_stream(ChatCompletionRequest::new(MODEL, [Message::user("long")]))
        .await
        .unwrap();
    let mut n = 0usize;
    let mut bytes = 0usize;
    let mut at_10k = 0;
    while let Some(chunk) = s.try_next().await.unwrap() {
        n += 1;
        bytes += chunk.text().len();
        if n == 10_000 {
            at_10k = rss_kib();
        }
        if n % 10_000 == 0 && std::env::var_os("OAI_COMPAT_RSS_TRACE").is_some() {
            println!("{n}: {} KiB", rss_kib());
        }
    }
    let at_end = rss_kib();
    assert_eq!(n, CHUNKS);
    assert_eq!(bytes, CHUNKS * "token ".len());
    let growth = at_end.saturating_sub(at_10k);
    println!("RSS after 10k chunks: {at_10k} KiB; after {CHUNKS}: {at_end} KiB (+{growth} KiB)");
    // 90,000 more chunks (about 14 MB of SSE) must not be retained.
    assert!(
        growth < 4 * 1024,
        "memory grew by {growth} KiB over 90,000 chunks"
    );
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn empty_choices_do_not_decode_to_gigabytes() {
    if in_a_fresh_process("empty_choices_do_not_decode_to_gigabytes") {
        return;
    }
    hostile_chat("chat, empty choices", empty_choices(HOSTILE)).await;
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn empty_objects_through_raw_post_are_bounded_too() {
    if in_a_fresh_process("empty_objects_through_raw_post_are_bounded_too") {
        return;
    }
    let body = empty_choices(HOSTILE);
    let bytes = body.len();
    let srv = serving(body);
    let c = client(&srv);
    let start = start_peak();
    let result = c
        .raw()
        .post("/chat/completions", &json!({"model": MODEL}))
        .await;
    let peak = peak_since(start);
    bounded("raw post, empty objects", result, bytes, peak);
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_unknown_key_of_zeros_is_bounded() {
    if in_a_fresh_process("an_unknown_key_of_zeros_is_bounded") {
        return;
    }
    // `extra` keeps an unknown key as a `Value`: 32 bytes for each `0,`.
    let body = repeated(
        r#"{"id":"x","object":"chat.completion","extra_key":["#,
        "0,",
        HOSTILE,
        "0]}",
    );
    hostile_chat("chat, extra zeros", body).await;
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn deeply_nested_arrays_are_bounded() {
    if in_a_fresh_process("deeply_nested_arrays_are_bounded") {
        return;
    }
    // Each `[` of a nest 100 deep (within serde_json's depth limit) allocates a `Vec` with
    // room for 4 values (128 bytes) for its 2 bytes of text.
    let nest = format!("{}0{},", "[".repeat(100), "]".repeat(100));
    let body = repeated(r#"{"id":"x","nested":["#, &nest, HOSTILE, "0]}");
    hostile_chat("chat, nested arrays", body).await;
}

/// A stream whose one event, `head`, `item` repeated, `tail`, is just under the SSE decoder's
/// 4 MiB event limit, read with `try_next` or, `reused`, with `next_into`; checked with
/// [`bounded`].
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn hostile_stream(what: &str, head: &str, item: &str, tail: &str, reused: bool) {
    let event = repeated(
        &format!("data: {head}"),
        item,
        4 * 1024 * 1024 - 64,
        &format!("{tail}\n\n"),
    );
    let bytes = event.len() - "data: \n\n".len();
    let srv = server();
    srv.enqueue(Reply::sse().pause(Duration::ZERO).raw(event).done());
    let c = client(&srv);
    let mut chunk = ChatCompletionChunk::default();
    let start = start_peak();
    let mut s = c.chat().create_stream(ask()).await.unwrap();
    let result = if reused {
        s.next_into(&mut chunk).await.map(|_| ())
    } else {
        s.try_next().await.map(|_| ())
    };
    bounded(what, result, bytes, peak_since(start));
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_stream_event_of_tiny_objects_is_bounded() {
    if in_a_fresh_process("a_stream_event_of_tiny_objects_is_bounded") {
        return;
    }
    let head = r#"{"choices":["#;
    hostile_stream("stream event, try_next", head, "{},", "{}]}", false).await;
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_stream_event_decoded_in_place_is_bounded() {
    if in_a_fresh_process("a_stream_event_decoded_in_place_is_bounded") {
        return;
    }
    let head = r#"{"choices":["#;
    hostile_stream("stream event, next_into", head, "{},", "{}]}", true).await;
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_stream_event_that_mentions_error_is_bounded() {
    if in_a_fresh_process("a_stream_event_that_mentions_error_is_bounded") {
        return;
    }
    // Looked at as a `Value` first, for an in-band error, then decoded as a chunk.
    let head = r#"{"error":null,"pad":["#;
    hostile_stream("stream event with \"error\"", head, "0,", "0]}", false).await;
}

/// `what` decoded in `since`, printed.
fn timed<T>(what: &str, since: Instant, value: T) -> T {
    println!("{what}: decoded in {:?}", since.elapsed());
    value
}

/// A legacy completion with `n` tokens of logprobs, 5 alternatives each (a map per token).
fn completion_with_logprobs(n: usize) -> String {
    json!({"id": "c", "object": "text_completion", "created": 1, "model": MODEL,
    "choices": [{"index": 0, "text": "x", "finish_reason": "length", "logprobs": {
        "tokens": (0..n).map(|t| format!("t{t}")).collect::<Vec<_>>(),
        "token_logprobs": vec![-0.5; n],
        "text_offset": (0..n).collect::<Vec<_>>(),
        "top_logprobs": (0..n)
            .map(|t| (0..5).map(|k| (format!("t{t}_{k}"), json!(-0.25 * k as f64))).collect())
            .collect::<Vec<serde_json::Map<_, _>>>(),
    }}]})
    .to_string()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn large_ordinary_replies_still_decode() {
    if in_a_fresh_process("large_ordinary_replies_still_decode") {
        return;
    }
    // 100 x 1,536 floats, as JSON numbers (about 3 MB) and as base64.
    let vector: Vec<f32> = (0..1536).map(|i| (i as f32).sin() / 7.0).collect();
    let data = |embedding: serde_json::Value| {
        (0..100)
            .map(|i| json!({"object": "embedding", "index": i, "embedding": embedding}))
            .collect::<Vec<_>>()
    };
    let floats = json!({"object": "list", "model": MODEL, "data": data(json!(vector)),
        "usage": {"prompt_tokens": 100, "total_tokens": 100}})
    .to_string();
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    let base64 = json!({"object": "list", "model": MODEL, "data": data(json!(base64_of(&bytes))),
        "usage": {"prompt_tokens": 100, "total_tokens": 100}})
    .to_string();
    assert!(floats.len() > 2 * 1024 * 1024 && base64.len() > 512 * 1024);
    for body in [floats, base64] {
        let what = format!("embeddings 100 x 1536, {} bytes", body.len());
        let srv = serving(body);
        let started = Instant::now();
        let r = client(&srv)
            .embeddings()
            .create(EmbeddingRequest::new(MODEL, "x"))
            .await;
        let r = timed(&what, started, r.unwrap());
        assert_eq!(r.data.len(), 100);
        assert!(r.data.iter().all(|e| e.embedding == vector));
    }

    // A long chat text (4 MB) with 4,000 tokens of logprobs, 5 alternatives each: the densest
    // ordinary chat reply, many small objects (charged about 2.4x its bytes).
    let text = "All work and no play makes Jack a dull boy. ".repeat(100_000);
    let top = |t: usize| {
        (0..5)
            .map(|k| json!({"token": format!("t{t}_{k}"), "logprob": -0.25 * k as f64, "bytes": [116, 49]}))
            .collect::<Vec<_>>()
    };
    for content in [text.as_str(), "x"] {
        let logprobs: Vec<_> = (0..4000)
            .map(|t| json!({"token": format!("t{t}"), "logprob": -0.5, "bytes": [116, 49], "top_logprobs": top(t)}))
            .collect();
        let body = json!({"id": "c", "object": "chat.completion", "created": 1, "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                "logprobs": {"content": logprobs}, "finish_reason": "stop"}]})
        .to_string();
        assert!(body.len() > 1024 * 1024);
        let what = format!("chat with logprobs, {} bytes", body.len());
        let srv = serving(body);
        let started = Instant::now();
        let r = client(&srv).chat().create(ask()).await;
        let r = timed(&what, started, r.unwrap());
        assert_eq!(r.text(), Some(content));
        let logprobs = r.choices[0].logprobs.as_ref().unwrap();
        assert_eq!(logprobs.content.as_ref().unwrap().len(), 4000);
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_reply_past_the_default_multiple_decodes_with_a_larger_one() {
    if in_a_fresh_process("a_reply_past_the_default_multiple_decodes_with_a_larger_one") {
        return;
    }
    // A legacy completion's logprobs, 6,000 tokens with a map of 5 alternatives each: a map
    // entry takes more than its text, so this ordinary reply decodes to about 6.5x its bytes.
    let n = 6000;
    let body = completion_with_logprobs(n);
    assert!(body.len() > 512 * 1024);
    let srv = serving(body.clone());
    let e = client(&srv)
        .completions()
        .create(CompletionRequest::new(MODEL, "x"))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, Error::Decode(_))
            && text.contains("decoded-size limit")
            && text.contains("3x its size")
            && text.contains("max_decoded_multiple"),
        "{text}"
    );
    let srv = serving(body);
    let c = support::builder(&srv)
        .max_decoded_multiple(8)
        .build()
        .unwrap();
    let r = c
        .completions()
        .create(CompletionRequest::new(MODEL, "x"))
        .await
        .unwrap();
    assert_eq!(r.choices[0].logprobs.as_ref().unwrap().tokens.len(), n);
}

/// Standard base64 with padding (the tests' own, so they need no encoder crate).
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [
            group[0],
            *group.get(1).unwrap_or(&0),
            *group.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_error_body_of_tiny_values_is_bounded() {
    if in_a_fresh_process("an_error_body_of_tiny_values_is_bounded") {
        return;
    }
    // An error body is read up to 1 MiB; parsed as a tree of values it took ~60x that.
    let body = repeated(
        r#"{"error":{"message":"m","x":["#,
        "{},",
        1024 * 1024 - 64,
        "{}]}}",
    );
    let bytes = body.len();
    let srv = server();
    srv.enqueue(Reply::json(400, body).pause(Duration::ZERO));
    let c = client(&srv);
    let start = start_peak();
    let err = c.chat().create(ask()).await.unwrap_err();
    let peak = peak_since(start);
    println!(
        "error body: {bytes} bytes, peak +{} KiB ({:.2}x)",
        peak / 1024,
        peak as f64 / bytes as f64
    );
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(
        peak <= PEAK * bytes as u64,
        "{peak} bytes for a {bytes}-byte error body"
    );
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_structured_reply_of_tiny_values_is_bounded() {
    if in_a_fresh_process("a_structured_reply_of_tiny_values_is_bounded") {
        return;
    }
    // The reply decodes (its content is one string); `parse::<Value>()` of that content is
    // what amplified.
    let content = repeated("[", "{},", HOSTILE, "{}]");
    let body = json!({"id": "c", "object": "chat.completion", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}]})
    .to_string();
    drop(content);
    let bytes = body.len();
    let srv = serving(body);
    let c = client(&srv);
    let start = start_peak();
    let result = c.chat().parse::<serde_json::Value>(ask()).await;
    let peak = peak_since(start);
    println!(
        "structured: {bytes} bytes, peak +{} KiB ({:.2}x)",
        peak / 1024,
        peak as f64 / bytes as f64
    );
    match result {
        Err(Error::Parse(p)) => assert!(p.message.contains("decoded-size limit"), "{}", p.message),
        other => panic!("{:?}", other.map(|p| p.parsed.is_some())),
    }
    assert!(
        peak <= PEAK * bytes as u64,
        "{peak} bytes for a {bytes}-byte reply"
    );
}

/// The most an upload of any size may add to the process (the issue's bound).
const UPLOAD_PEAK: u64 = 32 * 1024 * 1024;

/// A server that reads one request and throws its body away as it arrives (64 KiB at a
/// time), then answers with the number of body bytes it read.
fn sink() -> (String, std::thread::JoinHandle<u64>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut head = Vec::new();
        let body_start = loop {
            let n = conn.read(&mut buf).unwrap();
            head.extend_from_slice(&buf[..n]);
            if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let text = String::from_utf8_lossy(&head[..body_start]).to_lowercase();
        let len: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap();
        let mut got = (head.len() - body_start) as u64;
        while got < len {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0, "the body ended at {got} of {len} bytes");
            got += n as u64;
        }
        let body = format!("{{\"bytes\":{got}}}");
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(reply.as_bytes()).unwrap();
        got
    });
    (url, handle)
}

#[cfg(target_os = "linux")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_1_gib_upload_stays_under_32_mib() {
    if in_a_fresh_process("a_1_gib_upload_stays_under_32_mib") {
        return;
    }
    const GIB: u64 = 1024 * 1024 * 1024;
    let dir = std::env::temp_dir().join(format!("oai-memory-upload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.jsonl");
    // Sparse: a gibibyte to read and send, nothing on disk.
    std::fs::File::create(&path).unwrap().set_len(GIB).unwrap();
    let (url, server) = sink();
    let c = oai_compat::Client::builder()
        .base_url(url)
        .use_env(false)
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap();
    let form = oai_compat::Form::new()
        .text("purpose", "batch")
        .file("file", oai_compat::Upload::path(&path));
    let start = start_peak();
    let started = Instant::now();
    let out = c.raw().post_form("/files", &form).await.unwrap();
    let peak = peak_since(start);
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    let read = server.join().unwrap();
    assert_eq!(out.value["bytes"], read);
    assert!(read > GIB, "the whole file went out ({read} bytes)");
    println!(
        "1 GiB upload: peak +{:.1} MiB in {took:.2?}",
        peak as f64 / (1024.0 * 1024.0)
    );
    assert!(
        peak < UPLOAD_PEAK,
        "an upload of 1 GiB added {peak} bytes to the process"
    );
}
