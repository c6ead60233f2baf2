//! Memory stays flat over a long stream. Alone in its binary: other tests running in the same
//! process would move its resident-memory figures.

mod support;

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat_mock::Reply;
use support::{MODEL, client, server};

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
