//! `oai` against the real vLLM servers (`bash scripts/servers.sh start vllm`). Ignored unless
//! run with `--ignored`. A server that does not answer makes its test print "skipped" and
//! return, except in CI (`CI=true`), where the servers are started first and must answer.

#[path = "../../tests/support/live.rs"]
mod live;
mod support;

use std::process::Output;

use serde_json::{Value, json};
use support::{assert_exit, dir, json_lines, live_up, oai, stderr, stdout, write_lines};

fn up(url: &str) -> bool {
    live_up(url, "vllm")
}

fn oai_at(url: &str, args: &[&str]) -> Output {
    oai()
        .args(["--base-url", url, "--timeout", "120", "--max-retries", "1"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
fn chat_models_and_complete_on_vllm() {
    let url = live::vllm_chat_url();
    if !up(&url) {
        return;
    }
    let out = oai_at(&url, &["models"]);
    assert_exit(&out, 0);
    assert!(
        stdout(&out).lines().any(|l| l == live::CHAT_MODEL),
        "{}",
        stdout(&out)
    );
    // No -m: the first model listed is the chat model.
    let out = oai_at(
        &url,
        &[
            "chat",
            "--max-tokens",
            "8",
            "--temperature",
            "0",
            "Hello there",
        ],
    );
    assert_exit(&out, 0);
    let streamed = stdout(&out);
    assert!(
        streamed.ends_with('\n') && streamed.trim().len() > 1,
        "{streamed:?}"
    );
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    // Greedy decoding: the same text whole.
    let out = oai_at(
        &url,
        &[
            "chat",
            "--no-stream",
            "--max-tokens",
            "8",
            "--temperature",
            "0",
            "Hello there",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), streamed);
    let out = oai_at(
        &url,
        &[
            "chat",
            "--json",
            "--no-stream",
            "-m",
            live::CHAT_MODEL,
            "--max-tokens",
            "4",
            "Hi",
        ],
    );
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["usage"]["completion_tokens"], 4);
    // --json streamed: vLLM's chunks, one JSON line each.
    let out = oai_at(
        &url,
        &[
            "chat",
            "--json",
            "-m",
            live::CHAT_MODEL,
            "--max-tokens",
            "4",
            "Hi",
        ],
    );
    assert_exit(&out, 0);
    let chunks: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(chunks.len() >= 2, "{chunks:?}");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk"),
        "{chunks:?}"
    );
    let out = oai_at(
        &url,
        &[
            "complete",
            "--max-tokens",
            "5",
            "--temperature",
            "0",
            "Once upon a time",
        ],
    );
    assert_exit(&out, 0);
    assert!(!stdout(&out).trim().is_empty());
    // A prompt over the context (512 tokens): vLLM's 400, one line, exit 1.
    let long = "word ".repeat(600);
    let out = oai_at(&url, &["chat", "--max-tokens", "4", &long]);
    assert_exit(&out, 1);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("400"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
fn structured_output_on_vllm() {
    let url = live::vllm_chat_url();
    if !up(&url) {
        return;
    }
    let d = dir("live-schema");
    let schema = d.join("unit.json");
    std::fs::write(
        &schema,
        json!({"title": "unit", "type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"]}},
               "required": ["unit"], "additionalProperties": false})
        .to_string(),
    )
    .unwrap();
    let out = oai_at(
        &url,
        &[
            "chat",
            "--max-tokens",
            "40",
            "--schema",
            schema.to_str().unwrap(),
            "Which unit?",
        ],
    );
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(stdout(&out).trim_end()).unwrap();
    assert!(v["unit"] == "c" || v["unit"] == "f", "{v}");
    assert_eq!(stdout(&out).lines().count(), 1);
}

#[test]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
fn api_key_on_vllm() {
    let url = live::vllm_auth_url();
    if !up(&url) {
        return;
    }
    let out = oai_at(&url, &["models", "--api-key", &live::vllm_auth_key()]);
    assert_exit(&out, 0);
    let out = oai_at(&url, &["models", "--api-key", "sk-wrong"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("sk-wrong"));
}

#[test]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
fn embed_on_vllm() {
    let url = live::vllm_embed_url();
    if !up(&url) {
        return;
    }
    let out = oai()
        .args([
            "--base-url",
            &url,
            "embed",
            "a cat",
            "a dog",
            "--batch-size",
            "1",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["index"], i);
        let v = l["embedding"].as_array().unwrap();
        assert_eq!(v.len(), 384, "all-MiniLM-L6-v2 has 384 dimensions");
        let norm: f64 = v
            .iter()
            .map(|x| x.as_f64().unwrap().powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "normalised: {norm}");
    }
    assert_ne!(lines[0]["embedding"], lines[1]["embedding"]);
}

fn chat_lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            json!({"custom_id": format!("chat-{i}"), "method": "POST", "url": "/v1/chat/completions",
                   "body": {"model": live::CHAT_MODEL, "max_tokens": 4, "temperature": 0,
                            "messages": [{"role": "user", "content": format!("Say {i}")}]}})
            .to_string()
        })
        .collect()
}

#[test]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
fn batch_of_200_lines_on_vllm() {
    let url = live::vllm_chat_url();
    if !up(&url) {
        return;
    }
    let d = dir("live-batch");
    let input = d.join("in.jsonl");
    let output = d.join("out.jsonl");
    write_lines(&input, &chat_lines(200));
    let run = || {
        oai()
            .args(["--base-url", &url, "--timeout", "120", "batch"])
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .args(["-c", "16"])
            .output()
            .unwrap()
    };
    let out = run();
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("200 ok, 0 failed, 0 skipped in"),
        "{}",
        stderr(&out)
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 200);
    let mut ids: Vec<&str> = lines
        .iter()
        .map(|l| l["custom_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 200, "each custom_id once");
    for l in &lines {
        assert_eq!(l["error"], Value::Null, "{l}");
        assert_eq!(l["response"]["status_code"], 200);
        assert_eq!(
            l["response"]["body"]["usage"]["completion_tokens"], 4,
            "{l}"
        );
        // vLLM sends no x-request-id back (without --enable-request-id-headers), so the
        // output holds the id the line went out under; vLLM named its request after it.
        let custom_id = l["custom_id"].as_str().unwrap();
        assert_eq!(l["response"]["request_id"], format!("batch-{custom_id}"));
        assert_eq!(
            l["response"]["body"]["id"],
            format!("chatcmpl-batch-{custom_id}"),
            "{l}"
        );
    }
    // Resumed: nothing left to do.
    let out = run();
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("0 ok, 0 failed, 0 skipped in"),
        "{}",
        stderr(&out)
    );
    assert_eq!(json_lines(&output).len(), 200);
}

#[test]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
fn batch_over_a_fleet_on_vllm() {
    let (chat, embed) = (live::vllm_chat_url(), live::vllm_embed_url());
    if !up(&chat) || !up(&embed) {
        return;
    }
    let d = dir("live-fleet");
    let input = d.join("in.jsonl");
    let output = d.join("out.jsonl");
    let mut lines = chat_lines(40);
    for i in 0..20 {
        lines.push(
            json!({"custom_id": format!("emb-{i}"), "method": "POST", "url": "/v1/embeddings",
                   "body": {"model": live::EMBED_MODEL, "input": format!("text {i}")}})
            .to_string(),
        );
    }
    write_lines(&input, &lines);
    let out = oai()
        .args(["--timeout", "120", "batch"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--backend", &chat, "--backend", &embed, "-c", "8"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("60 ok, 0 failed, 0 skipped in"),
        "{}",
        stderr(&out)
    );
    let lines = json_lines(&output);
    let embeddings = lines
        .iter()
        .filter(|l| l["response"]["body"]["object"] == "list")
        .count();
    assert_eq!(embeddings, 20);
}

#[test]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
fn respond_on_vllm() {
    let url = live::vllm_chat_url();
    if !up(&url) {
        return;
    }
    let out = oai_at(
        &url,
        &[
            "respond",
            "--max-tokens",
            "6",
            "--temperature",
            "0",
            "Hello",
        ],
    );
    assert_exit(&out, 0);
    let streamed = stdout(&out);
    assert!(
        streamed.ends_with('\n') && streamed.trim().len() > 1,
        "{streamed:?}"
    );
    let out = oai_at(
        &url,
        &[
            "respond",
            "--json",
            "--no-stream",
            "--max-tokens",
            "3",
            "-s",
            "Be brief.",
            "Hello",
        ],
    );
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(v["incomplete_details"]["reason"], "max_output_tokens");
    assert_eq!(v["instructions"], "Be brief.");
    // A batch line to /v1/responses.
    let d = dir("live-respond-batch");
    let input = d.join("in.jsonl");
    let output = d.join("out.jsonl");
    write_lines(
        &input,
        &[
            json!({"custom_id": "r", "method": "POST", "url": "/v1/responses",
                 "body": {"model": live::CHAT_MODEL, "input": "Hi", "max_output_tokens": 3}})
            .to_string(),
        ],
    );
    let out = oai()
        .args(["--base-url", &url, "batch"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let lines = json_lines(&output);
    assert_eq!(lines[0]["response"]["body"]["object"], "response");
}
