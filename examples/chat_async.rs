//! `chat_async`: the `chat` example on the async client (reqwest + tokio).
//!
//! The same program as `chat.rs`, written once in `support/chat.rs`: the client's methods
//! are the same, only `async`. Build it without the default `blocking`
//! feature:
//!
//! ```text
//! OPENAI_BASE_URL=http://localhost:8000/v1 \
//!     cargo run --no-default-features --features async,rustls --example chat_async -- \
//!     --stream "Write a haiku about the sea"
//! ```
//!
//! stdout carries the reply and nothing else; diagnostics and errors go to stderr. Exit
//! status: 0 success, 1 failure, 2 bad usage.

#[path = "support/chat.rs"]
mod chat;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args = match chat::cli::parse() {
        Ok(args) => args,
        Err(code) => return code,
    };
    chat::exit(chat::run(&args).await)
}
