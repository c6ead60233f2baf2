//! The guide: the chapters behind the README, one module each, on docs.rs and as markdown
//! under `docs/guide/` in the repository.
//!
//! | chapter | what |
//! | --- | --- |
//! | [`setup`] | install (by path until the crate is published), the two modes, configuration, features, the examples |
//! | [`async_api`] | the async build: every `async fn` with its signature, and the streams |
//! | [`vllm`] | vLLM's extras and endpoints, speech to text, its quirks, and LiteLLM's proxy in front of it |
//! | [`router`] | several servers behind one [`Router`](crate::Router), chosen by model |
//! | [`moving`] | moving between OpenAI and vLLM: what differs, audio, files and batches, uploads |
//! | [`responses`] | the Responses API, streamed with typed events |
//! | [`structured`] | structured outputs decoded into Rust types |
//! | [`tools`] | tool calls and the tool loop |
//! | [`errors`] | handling errors, retries, the fault matrix |
//! | [`security`] | what is promised about keys, logs and limits, and what is not |
//! | [`observability`] | `log` lines and `tracing` spans with OpenTelemetry's GenAI attributes |
//! | [`testing`] | testing your code against the built-in mock server; developing this crate |
//! | [`cli`] | the `oai` command line, its batch runner included |
//! | [`performance`] | how fast, beside other clients, and what to use for speed |
//!
//! Every code block is a doctest in both modes: the blocking program is shown and its async
//! twin is hidden (`# ` lines), each under its feature's `cfg`, so `cargo test --doc` and
//! `cargo test --doc --no-default-features --features async,rustls` compile and run their own.
//! Blocks that need a real vLLM or proxy are compiled, not run; the others run against the
//! built-in mock server (crate `oai-compat-mock`).

#[doc = include_str!("../docs/guide/setup.md")]
pub mod setup {}

#[doc = include_str!("../docs/guide/async.md")]
pub mod async_api {}

#[doc = include_str!("../docs/guide/vllm.md")]
pub mod vllm {}

#[doc = include_str!("../docs/guide/router.md")]
pub mod router {}

#[doc = include_str!("../docs/guide/moving.md")]
pub mod moving {}

#[doc = include_str!("../docs/guide/responses.md")]
pub mod responses {}

#[doc = include_str!("../docs/guide/structured.md")]
pub mod structured {}

#[doc = include_str!("../docs/guide/tools.md")]
pub mod tools {}

#[doc = include_str!("../docs/guide/errors.md")]
pub mod errors {}

#[doc = include_str!("../docs/guide/security.md")]
pub mod security {}

#[doc = include_str!("../docs/guide/observability.md")]
pub mod observability {}

#[doc = include_str!("../docs/guide/testing.md")]
pub mod testing {}

#[doc = include_str!("../docs/guide/cli.md")]
pub mod cli {}

#[doc = include_str!("../docs/guide/performance.md")]
pub mod performance {}
