//! The history (`oai logs`), conversations (`-c`, `--cid`) and templates (`--save`, `-t`),
//! each test with its own data folder.

mod support;

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};
use support::*;

/// `oai ARGS` against `srv` with the history in `data`, stdin empty.
fn oai_logged(srv: &MockServer, data: &Path, args: &[&str]) -> Output {
    oai()
        .env("OPENAI_BASE_URL", srv.url())
        .env_remove("OAI_NO_LOG")
        .env("OAI_DATA_DIR", data)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn logs_json(srv: &MockServer, data: &Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["logs", "--json"];
    args.extend_from_slice(extra);
    let out = oai_logged(srv, data, &args);
    assert_exit(&out, 0);
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn last_body(srv: &MockServer) -> Value {
    srv.requests().last().unwrap().json().unwrap()
}

fn data_dir(name: &str) -> PathBuf {
    dir(name).join("data")
}

#[test]
fn every_exchange_is_logged_with_model_server_tokens_and_time_never_the_key() {
    let data = data_dir("history-log");
    let srv = MockServer::start().unwrap();
    srv.set_models(["m"]);
    let key = "sk-history-secret-0123456789";
    srv.set_api_key(Some(key));
    let run = |args: &[&str]| {
        let out = oai()
            .env("OPENAI_BASE_URL", srv.url())
            .env("OPENAI_API_KEY", key)
            .env_remove("OAI_NO_LOG")
            .env("OAI_DATA_DIR", &data)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_exit(&out, 0);
    };
    run(&[
        "chat",
        "-m",
        "m",
        "-s",
        "Be brief.",
        "-o",
        "seed",
        "1",
        "streamed hello",
    ]);
    run(&["chat", "-m", "m", "--no-stream", "whole hello"]);
    run(&["complete", "-m", "m", "Once upon"]);
    run(&["respond", "-m", "m", "--no-stream", "a response"]);
    run(&["chat", "-m", "m", "--no-log", "not logged"]);
    let logged = logs_json(&srv, &data, &["-n", "0"]);
    let prompts: Vec<&str> = logged
        .iter()
        .map(|l| l["prompt"].as_str().unwrap())
        .collect();
    assert_eq!(
        prompts,
        ["streamed hello", "whole hello", "Once upon", "a response"]
    );
    let first = &logged[0];
    assert_eq!(first["command"], "chat");
    assert_eq!(first["model"], "m");
    assert_eq!(first["system"], "Be brief.");
    assert_eq!(first["server"], srv.url());
    assert_eq!(first["options"], json!({"seed": 1}));
    assert_eq!(first["response"], "Mock reply to: streamed hello");
    // A stream asks for its usage when it is logged.
    assert!(
        first["input_tokens"].as_u64().is_some() && first["output_tokens"].as_u64().is_some(),
        "{first}"
    );
    assert!(logged.iter().all(|l| l["duration_ms"].as_u64().is_some()));
    assert_eq!(logged[2]["command"], "complete");
    assert_eq!(logged[3]["command"], "respond");
    // The key is nowhere in the database's bytes.
    let db = std::fs::read(data.join("logs.db")).unwrap();
    assert!(!db.windows(key.len()).any(|w| w == key.as_bytes()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("logs.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // -n, -q and the Markdown form.
    assert_eq!(
        logs_json(&srv, &data, &["-n", "1"])[0]["prompt"],
        "a response"
    );
    let found = logs_json(&srv, &data, &["-q", "WHOLE"]);
    assert_eq!(found.len(), 1, "LIKE is case-insensitive for ASCII");
    let out = oai_logged(&srv, &data, &["logs"]);
    let text = stdout(&out);
    assert!(
        text.contains("## Prompt\n\nwhole hello") && text.contains("`oai respond` with **m**"),
        "{text}"
    );
    let out = oai_logged(&srv, &data, &["logs", "--path"]);
    assert_eq!(stdout(&out).trim(), data.join("logs.db").to_str().unwrap());
}

#[test]
fn continue_sends_the_conversation_again() {
    let data = data_dir("history-continue");
    let srv = MockServer::start().unwrap();
    srv.set_models(["m", "other"]);
    let out = oai_logged(
        &srv,
        &data,
        &["chat", "-m", "other", "-s", "Sys.", "--no-stream", "one"],
    );
    assert_exit(&out, 0);
    let out = oai_logged(&srv, &data, &["chat", "--no-stream", "-c", "two"]);
    assert_exit(&out, 0);
    let body = last_body(&srv);
    assert_eq!(body["model"], "other", "the conversation's model");
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "Sys."},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "Mock reply to: one"},
            {"role": "user", "content": "two"},
        ])
    );
    let logged = logs_json(&srv, &data, &[]);
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0]["conversation"], logged[1]["conversation"]);
    // --cid picks a conversation; a new chat starts another.
    let cid = logged[0]["conversation"].as_str().unwrap().to_owned();
    let out = oai_logged(&srv, &data, &["chat", "-m", "m", "--no-stream", "fresh"]);
    assert_exit(&out, 0);
    let out = oai_logged(
        &srv,
        &data,
        &["chat", "--no-stream", "--cid", &cid, "three"],
    );
    assert_exit(&out, 0);
    assert_eq!(last_body(&srv)["messages"].as_array().unwrap().len(), 6);
    assert_eq!(logs_json(&srv, &data, &["--cid", &cid, "-n", "0"]).len(), 3);
    let out = oai_logged(&srv, &data, &["chat", "--cid", "nope", "x"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no such conversation"),
        "{}",
        stderr(&out)
    );
    let empty = data_dir("history-continue-empty");
    let out = oai_logged(&srv, &empty, &["chat", "-c", "x"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no conversation to continue"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn templates_are_saved_and_used() {
    let data = data_dir("history-templates");
    let srv = MockServer::start().unwrap();
    srv.set_models(["m", "t-model"]);
    let before = srv.request_count();
    let out = oai_logged(
        &srv,
        &data,
        &[
            "chat",
            "--save",
            "sum",
            "-m",
            "t-model",
            "-s",
            "Summarise.",
            "-o",
            "top_p",
            "0.5",
            "--temperature",
            "0.25",
            "--max-tokens",
            "7",
            "Summary of:",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(srv.request_count(), before, "--save sends nothing");
    let out = oai_logged(
        &srv,
        &data,
        &["chat", "-t", "sum", "--no-stream", "the text"],
    );
    assert_exit(&out, 0);
    let body = last_body(&srv);
    assert_eq!(body["model"], "t-model");
    assert_eq!(body["top_p"], 0.5);
    assert_eq!(
        (body["temperature"].clone(), body["max_tokens"].clone()),
        (json!(0.25), json!(7))
    );
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Summarise."}, {"role": "user", "content": "Summary of: the text"}])
    );
    // The command line wins over the template.
    let out = oai_logged(
        &srv,
        &data,
        &[
            "chat",
            "-t",
            "sum",
            "-m",
            "m",
            "-o",
            "top_p",
            "0.9",
            "--temperature",
            "1",
            "--no-stream",
            "x",
        ],
    );
    assert_exit(&out, 0);
    let body = last_body(&srv);
    assert_eq!(
        (body["model"].clone(), body["top_p"].clone()),
        (json!("m"), json!(0.9))
    );
    assert_eq!(
        (body["temperature"].clone(), body["max_tokens"].clone()),
        (json!(1.0), json!(7))
    );
    let raw = String::from_utf8(srv.requests().last().unwrap().body.clone()).unwrap();
    assert_eq!(raw.matches("\"temperature\"").count(), 1, "{raw}");
    let out = oai_logged(&srv, &data, &["chat", "-t", "missing", "x"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("no template \"missing\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_history_that_cannot_be_opened_never_fails_the_answer() {
    let d = dir("history-broken");
    let data = d.join("data");
    // A file where the folder should be.
    std::fs::write(&data, "not a folder").unwrap();
    let srv = MockServer::start().unwrap();
    srv.set_models(["m"]);
    let out = oai_logged(&srv, &data, &["chat", "-m", "m", "--no-stream", "hi"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Mock reply to: hi\n");
    assert!(stderr(&out).contains("not logged"), "{}", stderr(&out));
    let out = oai_logged(&srv, &data, &["chat", "-m", "m", "-c", "hi"]);
    assert_exit(&out, 1);
}
