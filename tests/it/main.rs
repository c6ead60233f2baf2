//! The integration tests: one test crate per mode, so `cargo test` links them once instead
//! of once per file. Each module is one area (reqwest's layout), over the shared mock server
//! in `tests/support`. Three tests keep a process of their own, beside this crate:
//! `tests/memory.rs` (resident memory), `tests/load.rs` (thousands of requests, connection
//! counts) and `tests/security.rs` (a process-wide `TRACE` logger).
//!
//! Run one area with a filter: `cargo test --test it streaming::`; the live stage (real
//! servers, `#[ignore]`d) with `cargo test --test it live_vllm:: -- --ignored` (one filter per
//! `live_*` module).

#[path = "../support/live.rs"]
mod live;
#[path = "../support/mod.rs"]
mod support;

mod async_api;
mod audio;
mod batches;
mod cassette;
mod chat;
mod config;
mod deadlines;
mod embeddings;
mod errors;
mod examples_cli;
mod faults;
mod files;
mod inputs;
mod live_audio;
mod live_cassette;
mod live_files;
mod live_litellm;
mod live_prism;
mod live_responses;
mod live_router;
mod live_structured;
mod live_tools;
mod live_vllm;
mod models;
mod raw;
mod request_ids;
mod responses;
mod retry;
mod router;
mod router_load;
mod send;
mod streaming;
mod structured;
mod telemetry;
mod tls;
mod tools;
mod uploads;
mod vllm;
mod vllm_router;
