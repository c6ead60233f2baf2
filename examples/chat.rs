//! `chat`: a command-line chat client on the blocking API.
//!
//! Sends a prompt to an OpenAI-compatible server (configured from `OPENAI_BASE_URL` and
//! `OPENAI_API_KEY`) and prints the reply on stdout, optionally streamed. stdout carries the
//! reply and nothing else, so it can be piped; diagnostics and errors go to stderr. Exit
//! status: 0 success, 1 failure, 2 bad usage.
//!
//! ```text
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example chat -- "Name three colours"
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example chat -- \
//!     --stream --max-tokens 64 --timeout 30 "Write a haiku about the sea"
//! cargo run --example chat -- --help
//! ```
//!
//! `chat_async.rs` is the same program on the async client: the program is written once, in
//! `support/chat.rs`, and its command line in `support/cli.rs`.

#[path = "support/chat.rs"]
mod chat;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match chat::cli::parse() {
        Ok(args) => args,
        Err(code) => return code,
    };
    chat::exit(chat::run(&args))
}
