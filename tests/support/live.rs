//! Clients for the real servers (vLLM on CPU, Prism over OpenAI's spec, LiteLLM's proxy) that
//! `scripts/servers.sh` starts. These tests are `#[ignore]`d with the reason, so a plain
//! `cargo test` counts them as skipped; `.ci/run` starts the servers and runs them with
//! `--ignored`, where a server that does not answer is a failure, never a pass.
#![allow(dead_code)]

use std::time::Duration;

use oai_compat::Client;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// vLLM chat server (tiny random Llama, served as `tiny-llama`).
pub fn vllm_chat_url() -> String {
    env_or("OAI_COMPAT_VLLM_CHAT_URL", "http://127.0.0.1:8000/v1")
}

/// vLLM embeddings server (all-MiniLM-L6-v2).
pub fn vllm_embed_url() -> String {
    env_or("OAI_COMPAT_VLLM_EMBED_URL", "http://127.0.0.1:8001/v1")
}

/// vLLM chat server started with `--api-key`.
pub fn vllm_auth_url() -> String {
    env_or("OAI_COMPAT_VLLM_AUTH_URL", "http://127.0.0.1:8002/v1")
}

/// The key the `--api-key` server expects.
pub fn vllm_auth_key() -> String {
    env_or("OAI_COMPAT_VLLM_API_KEY", "sk-oai-compat-test")
}

/// Prism mock of OpenAI's OpenAPI spec (no `/v1` in its paths).
pub fn prism_url() -> String {
    env_or("OAI_COMPAT_PRISM_URL", "http://127.0.0.1:4010")
}

/// LiteLLM's proxy routing to the vLLM chat and embeddings servers
/// (`scripts/litellm/config.yaml`).
pub fn litellm_url() -> String {
    env_or("OAI_COMPAT_LITELLM_URL", "http://127.0.0.1:4000/v1")
}

/// LiteLLM's master key, the only key it accepts.
pub fn litellm_key() -> String {
    env_or("OAI_COMPAT_LITELLM_KEY", "sk-litellm-test")
}

/// The second tiny-llama vLLM server: the router's other worker, the one its drill kills.
pub fn vllm_chat2_url() -> String {
    env_or("OAI_COMPAT_VLLM_CHAT2_URL", "http://127.0.0.1:8003/v1")
}

/// vllm-router in front of the chat and chat2 servers (round robin, its defaults otherwise).
pub fn vllm_router_url() -> String {
    env_or("OAI_COMPAT_VLLM_ROUTER_URL", "http://127.0.0.1:8090/v1")
}

/// vllm-router in front of the chat server with limits the tests can reach: one request at
/// a time, a queue of two that waits 1 s, a 1 s worker timeout, no retries of its own.
pub fn vllm_router_limits_url() -> String {
    env_or(
        "OAI_COMPAT_VLLM_ROUTER_LIMITS_URL",
        "http://127.0.0.1:8091/v1",
    )
}

/// vLLM serving the tiny random Whisper (`scripts/servers.sh start whisper`; not in `start
/// all`). It answers " The quick brown fox." to any audio.
pub fn vllm_whisper_url() -> String {
    env_or("OAI_COMPAT_VLLM_WHISPER_URL", "http://127.0.0.1:8004/v1")
}

pub const CHAT_MODEL: &str = "tiny-llama";
pub const WHISPER_MODEL: &str = "tiny-whisper";
/// What the tiny Whisper says for any audio (without a prompt).
pub const WHISPER_SAYS: &str = "The quick brown fox.";
pub const EMBED_MODEL: &str = "all-MiniLM-L6-v2";

/// A client for Prism: an exact base URL (Prism's paths have no `/v1`), a dummy key (the spec
/// requires one), and one retry. A 422 still surfaces at once (it is never retried); the
/// retry covers a pooled connection Prism (Node, `Keep-Alive: timeout=5`) closes just as the
/// next request goes out, which happened once in CI while the vLLM tests of the same test
/// binary kept both cores busy (a connection reset on `DELETE`, not an answer).
pub fn prism() -> Client {
    Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url_exact(prism_url())
        .api_key("sk-prism")
        .max_retries(1)
        .build()
        .expect("client")
}

/// A client for a live server: no env, no proxy, generous timeouts for a 2-core CPU.
pub fn live(url: &str) -> Client {
    live_builder(url).build().expect("client")
}

/// The builder of [`live`], for a test that sets more.
pub fn live_builder(url: &str) -> oai_compat::ClientBuilder {
    Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(url)
        .timeout(Duration::from_secs(120))
        .max_retries(1)
}

/// The largest element-wise difference of two vectors (embeddings compared across servers).
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "vectors of different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}
