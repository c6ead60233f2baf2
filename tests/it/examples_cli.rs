//! The `hello` / `hello_async`, `chat` / `chat_async` and `embed` examples as command-line tools: stdout carries the
//! reply and nothing else, errors go to stderr, exit codes are 0 / 1 / 2. `cargo test` builds
//! the examples; these tests run the binaries against the built-in mock.

use crate::support;

use std::path::PathBuf;
use std::process::{Command, Output};

use oai_compat_mock::{MockServer, Reply};

/// The example binary for this mode, next to the test binary (`target/<profile>/examples`).
fn example(blocking: &str, async_name: &str) -> PathBuf {
    let name = if cfg!(feature = "blocking") {
        blocking
    } else {
        async_name
    };
    let deps = std::env::current_exe().unwrap();
    let dir = deps.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: `cargo test` builds it in blocking mode; in async mode run `cargo build --no-default-features --features async,rustls --examples` first",
        path.display()
    );
    path
}

fn run(bin: &PathBuf, srv: &MockServer, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .env("OPENAI_BASE_URL", srv.url())
        .env_remove("OPENAI_API_KEY")
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn chat() -> PathBuf {
    example("chat", "chat_async")
}

#[test]
fn stdout_is_the_reply_and_nothing_else() {
    let srv = support::server();
    let out = run(&chat(), &srv, &["--max-tokens", "50", "hello", "world"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Mock reply to: hello world\n");
    let streamed = run(&chat(), &srv, &["--stream", "hello", "world"]);
    assert!(streamed.status.success(), "{}", text(&streamed.stderr));
    assert_eq!(streamed.stdout, out.stdout, "streamed output differs");
    let body = srv.requests().last().unwrap().json().unwrap();
    assert_eq!(
        body["model"], "mock-model",
        "the first listed model is used"
    );
    assert_eq!(body["stream"], true);
}

#[test]
fn errors_exit_1_with_the_message_on_stderr() {
    let srv = support::server();
    srv.enqueue(Reply::error(400, "prompt too long"));
    let out = run(
        &chat(),
        &srv,
        &["--model", "mock-model", "--max-retries", "0", "x"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(
        err.contains("error:") && err.contains("prompt too long"),
        "{err}"
    );
}

#[test]
fn a_mid_stream_error_keeps_the_text_so_far_and_exits_1() {
    let srv = support::server();
    let chunk = |c: &str| {
        serde_json::json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
            "choices": [{"index": 0, "delta": {"content": c}}]})
        .to_string()
    };
    srv.enqueue(
        Reply::sse()
            .event(chunk("Hello "))
            .event(chunk("from "))
            .event(r#"{"error":{"message":"engine died","type":"InternalServerError","code":500}}"#)
            .done(),
    );
    let out = run(&chat(), &srv, &["--model", "m", "--stream", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "Hello from ");
    assert!(
        text(&out.stderr).contains("engine died"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_usage_exits_2_without_touching_stdout_or_the_server() {
    let srv = support::server();
    for args in [
        &["--max-tokens", "many", "x"][..],
        &["--bogus", "x"][..],
        &[][..],
    ] {
        let out = run(&chat(), &srv, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(
            text(&out.stderr).contains("usage:"),
            "{}",
            text(&out.stderr)
        );
    }
    assert_eq!(srv.request_count(), 0);
    let help = run(&chat(), &srv, &["--help"]);
    assert!(help.status.success() && text(&help.stdout).contains("usage:"));
}

#[cfg(feature = "blocking")]
#[test]
fn embed_prints_dimension_and_norm_per_input() {
    let srv = support::server();
    let out = run(&example("embed", "embed"), &srv, &["a cat", "a dog"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "8 1.000000\n8 1.000000\n");
}

/// The README's programs are the `run` functions of these example files, quoted whole as the
/// programs' `main`, so the README never shows code that does not build.
#[test]
fn readme_quotes_the_hello_programs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for file in ["examples/hello.rs", "examples/hello_async.rs"] {
        let source = std::fs::read_to_string(root.join(file)).unwrap();
        let mut program = Vec::new();
        for line in source.lines().skip_while(|l| l.starts_with("//")) {
            program.push(line);
            if line == "}" {
                break;
            }
        }
        let program = program
            .join("\n")
            .replace("async fn run()", "#[tokio::main]\nasync fn main()")
            .replace("\nfn run()", "\nfn main()");
        assert!(program.contains("fn main()"), "{file} has no `fn run()`");
        assert!(
            readme.contains(&program),
            "README.md does not quote {file}'s program:\n{program}"
        );
    }
}

/// The README's headline program needs a chat server only: one model list and one streamed
/// chat, nothing a chat server lacks (it used to ask the chat model for embeddings, which a
/// vLLM chat server answers with 404).
#[test]
fn hello_program_needs_only_a_chat_server() {
    let srv = support::server();
    let out = run(&example("hello", "hello_async"), &srv, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Mock reply to: Say hello\n");
    let paths: Vec<String> = srv.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v1/models", "/v1/chat/completions"]);
}

/// A failure is one sentence (`Display`) and a hint on stderr, exit 1: not `main`'s `Debug`
/// dump of the error's fields (status, headers, body ...).
#[test]
fn hello_program_prints_an_error_as_a_sentence_and_a_hint() {
    let srv = support::server();
    srv.enqueue(Reply::error(401, "Unauthorized"));
    let out = run(&example("hello", "hello_async"), &srv, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("Unauthorized"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("hint: ") && lines[1].contains("OPENAI_API_KEY"),
        "{stderr}"
    );
    assert!(!stderr.contains("ApiError {"), "{stderr}");
}

/// The README fits one screen's worth of reading (at most 12 KB): the two commands first,
/// an install line that works before the crate is published, and the `oai` install line with
/// `--locked`; the reference is the guide (`oai_compat::guide`, docs/guide/*.md).
#[test]
fn readme_is_short_and_starts_with_the_two_commands() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(
        readme.len() <= 12 * 1024,
        "README.md is {} bytes",
        readme.len()
    );
    let first_block = readme.split("```sh\n").nth(1).unwrap();
    let commands: Vec<&str> = first_block
        .lines()
        .take_while(|l| !l.starts_with("```"))
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(commands, ["cargo run --example quickstart", "cargo test"]);
    assert!(
        readme.contains("oai-compat = { path = "),
        "no install line that works today"
    );
    assert!(readme.contains("cargo install --locked --path cli"));
    for chapter in [
        "setup",
        "vllm",
        "router",
        "responses",
        "structured",
        "tools",
        "errors",
        "security",
        "observability",
        "testing",
        "cli",
        "performance",
    ] {
        let path = format!("docs/guide/{chapter}.md");
        assert!(
            readme.contains(&format!("]({path})")),
            "the README does not link {path}"
        );
        assert!(root.join(&path).exists(), "{path} is missing");
    }
}
