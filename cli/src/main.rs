//! `oai`: a command line for OpenAI-compatible servers, on the blocking `oai-compat` client.
//!
//! stdout carries only the answer (text or JSON); errors are one line on stderr. Exit codes:
//! 0 success, 1 error, 2 usage error, 130 interrupted.
#![forbid(unsafe_code)]
// The arguments' doc comments are the `--help` text, where URLs are plain text.
#![allow(rustdoc::bare_urls)]

mod args;
mod batch;
mod chat;
mod complete;
mod connect;
mod embed;
mod fail;
mod files;
mod history;
mod interrupt;
mod logger;
mod logs;
mod mock;
mod models;
mod options;
mod out;
mod prompt;
mod respond;
mod save;
mod schema;
#[cfg(test)]
mod testing;
mod transcribe;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::fail::Failure;

fn main() {
    let cli = Cli::parse();
    logger::init(cli.global.verbose);
    let result = interrupt::install().and_then(|()| run(&cli));
    if let Err(f) = result {
        if let Some(msg) = f.message() {
            eprintln!("error: {msg}");
        }
        std::process::exit(f.exit_code());
    }
}

fn run(cli: &Cli) -> Result<(), Failure> {
    let g = &cli.global;
    match &cli.command {
        Command::Models(a) => models::run(g, a),
        Command::Chat(a) => chat::run(g, a),
        Command::Complete(a) => complete::run(g, a),
        Command::Embed(a) => embed::run(g, a),
        Command::Respond(a) => respond::run(g, a),
        Command::Batch(a) => batch::run(g, a),
        Command::Transcribe(a) => transcribe::run(g, a),
        Command::Files(a) => files::run(g, a),
        Command::Logs(a) => logs::run(a),
        Command::Mock(a) => mock::run(a),
    }
}
