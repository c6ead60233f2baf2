//! Command-line conventions shared by the examples that are command-line tools (`chat`,
//! `chat_async`, `embed`, `stream`, `stream_async`):
//!
//! - options come first and `--` ends them; the remaining arguments are operands;
//! - `-h`/`--help` prints the usage to stdout and exits 0;
//! - bad usage prints `error: ...` and the usage to stderr and exits 2;
//! - any other failure prints `error: ...` to stderr and exits 1;
//! - without `--model`, the first model the server lists is used.
//!
//! The parsing is hand-written on purpose: the examples depend on nothing but oai-compat
//! (and tokio for the async ones).

use std::error::Error;
use std::fmt::Display;
use std::iter::Peekable;
use std::process::ExitCode;

use oai_compat::Client;

/// The command-line arguments after the program name.
pub struct Args(Peekable<std::vec::IntoIter<String>>);

impl Args {
    /// The next option (`--model`, `-h`, ...), or `None` once the options end: at `--`
    /// (which is consumed), at the first operand, or at the end of the arguments.
    pub fn next_option(&mut self) -> Option<String> {
        match self.0.peek() {
            Some(a) if a == "--" => {
                self.0.next();
                None
            }
            // A lone `-` is an operand, by the usual convention.
            Some(a) if a.starts_with('-') && a.len() > 1 => self.0.next(),
            _ => None,
        }
    }

    /// The value of `option`: the argument after it.
    pub fn value(&mut self, option: &str) -> Result<String, String> {
        self.0
            .next()
            .ok_or_else(|| format!("{option} needs a value"))
    }

    /// The operands: every argument after the options.
    pub fn operands(self) -> Vec<String> {
        self.0.collect()
    }
}

/// Parses the process's command line with `parse`, which returns `Ok(None)` when help was
/// asked for and `Err(message)` for bad usage. Help and usage errors are printed here; the
/// `Err` is then the exit code the program should end with.
pub fn command_line<T>(
    usage: &str,
    parse: impl FnOnce(Args) -> Result<Option<T>, String>,
) -> Result<T, ExitCode> {
    // `args_os`, not `args`: `std::env::args` panics on an argument that is not UTF-8.
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(arg) => return Err(usage_error(&format!("{arg:?} is not valid UTF-8"), usage)),
        }
    }
    match parse(Args(args.into_iter().peekable())) {
        Ok(Some(parsed)) => Ok(parsed),
        Ok(None) => {
            print!("{usage}");
            Err(ExitCode::SUCCESS)
        }
        Err(message) => Err(usage_error(&message, usage)),
    }
}

fn usage_error(message: &str, usage: &str) -> ExitCode {
    eprint!("error: {message}\n\n{usage}");
    ExitCode::from(2)
}

/// Reports a failure on stderr; returns the exit code for it (1).
pub fn failure(error: &dyn Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}

/// The model to use: `given` (from `--model`), else the first one the server lists. vLLM
/// serves one model per server, so there this is simply "the" model.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
pub async fn choose_model(client: &Client, given: Option<&str>) -> Result<String, Box<dyn Error>> {
    if let Some(model) = given {
        return Ok(model.to_owned());
    }
    let models = client.models().list().await?;
    match models.data.first() {
        Some(model) => Ok(model.id.clone()),
        None => Err("the server lists no models; name one with --model".into()),
    }
}
