//! How the `hello` examples report a failure: the error's one-line message (`Display`, written
//! for people) and a hint at the usual cause, instead of `main`'s `Debug` dump of every field.

use std::process::ExitCode;

/// Prints `error: <message>` and a hint on stderr; returns the exit code (1).
pub fn report(error: &oai_compat::Error) -> ExitCode {
    eprintln!("error: {error}");
    let unset = !std::env::var("OPENAI_BASE_URL").is_ok_and(|url| !url.trim().is_empty());
    let hint = if unset {
        "OPENAI_BASE_URL is not set, so this went to OpenAI: set it to your server, e.g. \
         http://localhost:8000/v1 for vLLM, or run `cargo run --example quickstart`, which \
         starts the built-in mock server when it is unset"
    } else if error.is_connection() || error.is_timeout() {
        "is the server running? Start vLLM (scripts/servers.sh) or `oai mock`, and set \
         OPENAI_BASE_URL to its URL, e.g. http://localhost:8000/v1"
    } else if error.is_auth() {
        "the server wants a key: set OPENAI_API_KEY (vLLM's --api-key)"
    } else if error.is_not_found() {
        "OPENAI_BASE_URL should end in /v1 (e.g. http://localhost:8000/v1), and the model must \
         be one the server lists"
    } else {
        "check OPENAI_BASE_URL (e.g. http://localhost:8000/v1) and OPENAI_API_KEY"
    };
    eprintln!("hint: {hint}");
    ExitCode::FAILURE
}
