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
            // The tiny model is random and rebuilt per machine: an early EOS must not
            // empty or shorten the reply.
            "-o",
            "ignore_eos",
            "true",
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
            // The tiny model is random and rebuilt per machine: an early EOS must not
            // empty or shorten the reply.
            "-o",
            "ignore_eos",
            "true",
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
            "-o",
            "ignore_eos",
            "true",
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
            "-o",
            "ignore_eos",
            "true",
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
            "-o",
            "ignore_eos",
            "true",
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
                   "body": {"model": live::CHAT_MODEL, "max_tokens": 4, "temperature": 0, "ignore_eos": true,
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
            "-o",
            "ignore_eos",
            "true",
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
            "-o",
            "ignore_eos",
            "true",
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

// ---- Prism over OpenAI's spec: files, a remote batch, audio ------------------------------
//
// Prism (`bash scripts/servers.sh start prism`) checks each request against OpenAI's OpenAPI
// spec (a wrong multipart field, purpose, endpoint or completion window is a 422) and
// answers with the spec's placeholders: ids "string", a file's content `"string"`, and a
// batch that stays `validating` for ever.

fn prism_up() -> bool {
    live_up(&live::prism_url(), "prism")
}

/// `oai` at Prism: its paths have no /v1, and it wants some key.
fn oai_prism(base: &str) -> std::process::Command {
    let mut c = oai();
    c.args(["--base-url", base, "--exact-base-url", "--max-retries", "1"])
        .env("OPENAI_API_KEY", "sk-prism-cli");
    c
}

/// `oai ARGS` at Prism, run to its end.
fn prism_run(base: &str, args: &[&str]) -> std::process::Output {
    oai_prism(base).args(args).output().unwrap()
}

fn batch_input(d: &std::path::Path) -> std::path::PathBuf {
    let p = d.join("in.jsonl");
    write_lines(
        &p,
        &["a", "b", "c"].map(|id| {
            json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
                   "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": id}]}})
            .to_string()
        }),
    );
    p
}

#[test]
#[ignore = "needs Prism: bash scripts/servers.sh start prism"]
fn files_on_prism() {
    let url = live::prism_url();
    if !prism_up() {
        return;
    }
    let d = dir("live-prism-files");
    let input = batch_input(&d);
    let out = prism_run(
        &url,
        &[
            "files",
            "upload",
            input.to_str().unwrap(),
            "--purpose",
            "batch",
        ],
    );
    // Prism checked the form (purpose among the spec's values, a file part) before its 200.
    assert_exit(&out, 0);
    let file: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(file["object"], "file", "{file}");
    let out = prism_run(
        &url,
        &[
            "files",
            "upload",
            input.to_str().unwrap(),
            "--purpose",
            "nonsense",
        ],
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("422"), "{}", stderr(&out));
    let out = prism_run(
        &url,
        &["files", "list", "--purpose", "batch", "--limit", "2"],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "string\tassistants\t0\tstring\n");
    let out = prism_run(&url, &["files", "list", "--json"]);
    assert_exit(&out, 0);
    let first: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "string");
    let out = prism_run(&url, &["files", "get", "file-abc123"]);
    assert_exit(&out, 0);
    let saved = d.join("content.bin");
    let out = prism_run(
        &url,
        &[
            "files",
            "content",
            "file-abc123",
            "-o",
            saved.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        b"\"string\"",
        "the spec's placeholder, as sent"
    );
    let out = prism_run(&url, &["files", "delete", "file-abc123"]);
    assert_exit(&out, 0);
    let gone: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(gone["deleted"], true);
    // Without a key Prism answers 401: one line, exit 1.
    let out = oai_prism(&url)
        .env_remove("OPENAI_API_KEY")
        .args(["files", "list"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
}

#[test]
#[ignore = "needs Prism: bash scripts/servers.sh start prism"]
fn remote_batch_on_prism_waits_resumes_and_cancels() {
    let url = live::prism_url();
    if !prism_up() {
        return;
    }
    let d = dir("live-prism-remote-wait");
    let input = batch_input(&d);
    let output = d.join("out.jsonl");
    let run = || {
        oai_prism(&url)
            .args([
                "batch",
                "--remote",
                input.to_str().unwrap(),
                "-o",
                output.to_str().unwrap(),
                "--poll-interval",
                "0.2",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Prism's batch stays `validating`: the run polls until Ctrl-C, which leaves it.
    let child = run();
    let state = output.with_file_name("out.jsonl.remote.json");
    support::wait_for("the batch's id", || {
        std::fs::read_to_string(&state).is_ok_and(|s| s.contains("\"batch_id\": \"string\""))
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    support::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 130);
    let err = stderr(&out);
    assert!(err.contains("uploaded 3 line(s) as file string"), "{err}");
    assert!(err.contains("remote batch string: validating"), "{err}");
    assert!(err.contains("rerun the same command to resume"), "{err}");
    let st = std::fs::read_to_string(&state).unwrap();
    assert!(
        st.contains("\"host\": \"127.0.0.1:4010\"") || !url.contains("127.0.0.1:4010"),
        "{st}"
    );
    assert!(!st.contains("sk-prism-cli"), "never the key: {st}");
    // The rerun resumes polling that batch (no second upload), and --cancel cancels it.
    let child = run();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    support::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 130);
    assert!(
        stderr(&out).contains("resuming remote batch string"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("uploaded"), "{}", stderr(&out));
    let out = prism_run(
        &url,
        &[
            "batch",
            "--remote",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--cancel",
        ],
    );
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("remote batch string: validating"),
        "Prism's answer: {}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs Prism: bash scripts/servers.sh start prism"]
fn remote_batch_on_prism_gives_an_output_check_accepts() {
    let url = live::prism_url();
    if !prism_up() {
        return;
    }
    // Prism's batch never ends, so a proxy in front of it turns the `validating` of a
    // retrieved batch into `completed`; everything else is Prism's own answer (the upload
    // and the creation checked against the spec, the output file's content the junk
    // `"string"`).
    let proxy = completing_proxy(&url);
    let d = dir("live-prism-remote");
    let input = batch_input(&d);
    let output = d.join("out.jsonl");
    let out = prism_run(
        &proxy,
        &[
            "batch",
            "--remote",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--poll-interval",
            "0.2",
        ],
    );
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("0 ok, 3 failed"), "{err}");
    assert!(err.contains("3 line(s) had no result"), "{err}");
    assert!(
        err.contains("not results: 2"),
        "the output and error files are each Prism's `\"string\"`: {err}"
    );
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3);
    for l in &lines {
        assert_eq!(l["response"], Value::Null, "{l}");
        assert_eq!(l["error"]["code"], "missing_result", "{l}");
    }
    let check = oai()
        .args(["batch", "check"])
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap();
    assert_exit(&check, 1);
    let said = stdout(&check);
    assert!(said.contains("3 failed: a, b, c"), "{said}");
    assert!(
        !said.contains("missing") && !said.contains("duplicated") && !said.contains("not results"),
        "{said}"
    );
    // A rerun has nothing to do, and sends nothing.
    let out = prism_run(
        &proxy,
        &[
            "batch",
            "--remote",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
        ],
    );
    assert!(stderr(&out).contains("nothing to do"), "{}", stderr(&out));
}

/// A proxy to `upstream` (one request per connection) that turns a retrieved batch's
/// `"status":"validating"` into `"status":"completed"`; its base URL.
fn completing_proxy(upstream: &str) -> String {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let hostport = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut client) = conn else { continue };
            let hostport = hostport.clone();
            std::thread::spawn(move || {
                let mut req = Vec::new();
                let mut buf = [0u8; 65536];
                // The head, then as much body as it announces.
                let head_end = loop {
                    let n = client.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                    if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&req[..head_end]).into_owned();
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while req.len() < head_end + length {
                    let n = client.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                let mut lines: Vec<&str> = head.trim_end().split("\r\n").collect();
                lines.retain(|l| !l.to_ascii_lowercase().starts_with("connection:"));
                let first = lines[0].to_owned();
                let mut out = lines.join("\r\n").into_bytes();
                out.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
                out.extend_from_slice(&req[head_end..]);
                let Ok(mut up) = TcpStream::connect(&hostport) else {
                    return;
                };
                let _ = up.write_all(&out);
                let mut answer = Vec::new();
                let _ = up.read_to_end(&mut answer);
                if first.starts_with("GET /batches/") {
                    let text = String::from_utf8_lossy(&answer)
                        .replace("\"status\":\"validating\"", "\"status\":\"completed\" ");
                    answer = text.into_bytes();
                }
                // The answer as Prism sent it, then the connection closes (`Connection: close`
                // replaces Prism's keep-alive).
                let text = String::from_utf8_lossy(&answer).into_owned();
                let (ahead, abody) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
                let kept: Vec<&str> = ahead
                    .split("\r\n")
                    .filter(|l| {
                        let l = l.to_ascii_lowercase();
                        !l.starts_with("connection:") && !l.starts_with("keep-alive:")
                    })
                    .collect();
                let _ = client.write_all(
                    format!("{}\r\nConnection: close\r\n\r\n{abody}", kept.join("\r\n")).as_bytes(),
                );
            });
        }
    });
    format!("http://{addr}")
}

#[test]
#[ignore = "needs Prism: bash scripts/servers.sh start prism"]
fn transcribe_on_prism() {
    let url = live::prism_url();
    if !prism_up() {
        return;
    }
    let d = dir("live-prism-audio");
    let wav = d.join("tone.wav");
    std::fs::write(&wav, vec![0u8; 3200]).unwrap();
    let wav = wav.to_str().unwrap();
    // Prism checks the form against the spec (a `file` part, a `model`, a known
    // `response_format`) and answers its placeholder object for every format.
    for format in ["json", "verbose_json"] {
        let out = prism_run(
            &url,
            &[
                "transcribe",
                wav,
                "-m",
                "whisper-1",
                "--format",
                format,
                "--language",
                "en",
            ],
        );
        assert_exit(&out, 0);
        assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["text"], "string", "{v}");
    }
    // The text format: Prism answers its JSON object, whose text is printed.
    let out = prism_run(&url, &["transcribe", wav, "-m", "whisper-1"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "string\n");
    let out = prism_run(
        &url,
        &[
            "transcribe",
            wav,
            "-m",
            "whisper-1",
            "--translate",
            "--format",
            "json",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "{\"text\":\"string\"}\n");
    // Prism cannot stream audio (its 500): one line on stderr, exit 1.
    let out = prism_run(&url, &["transcribe", wav, "-m", "whisper-1", "--stream"]);
    assert_exit(&out, 1);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("500"), "{}", stderr(&out));
}

/// A WAV file of `secs` seconds of a 440 Hz tone (16 kHz, mono, 16-bit).
fn tone_wav(secs: u32) -> Vec<u8> {
    let rate = 16_000u32;
    let samples: Vec<i16> = (0..rate * secs)
        .map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / rate as f32).sin() * 8000.0) as i16)
        .collect();
    let data_len = samples.len() as u32 * 2;
    let mut w = Vec::with_capacity(44 + data_len as usize);
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data_len).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // PCM
    w.extend_from_slice(&1u16.to_le_bytes()); // mono
    w.extend_from_slice(&rate.to_le_bytes());
    w.extend_from_slice(&(rate * 2).to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        w.extend_from_slice(&s.to_le_bytes());
    }
    w
}

#[test]
#[ignore = "needs vLLM's tiny Whisper: bash scripts/servers.sh start whisper"]
fn transcribe_on_vllm_whisper() {
    // CI starts it: there, a server that does not answer fails the test (see `live_up`).
    let url = std::env::var("OAI_COMPAT_VLLM_WHISPER_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "http://127.0.0.1:8004/v1".to_owned());
    if !live_up(&url, "whisper") {
        return;
    }
    // The tiny Whisper is wired to say this for any audio (without a prompt).
    const SAYS: &str = "The quick brown fox.";
    let d = dir("live-whisper");
    let wav = d.join("tone.wav");
    std::fs::write(&wav, tone_wav(1)).unwrap();
    let wav = wav.to_str().unwrap();
    // No -m: the first model the server lists. The text format comes from vLLM as JSON.
    let out = oai_at(&url, &["transcribe", wav]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), SAYS, "{}", stdout(&out));
    let out = oai_at(
        &url,
        &[
            "transcribe",
            wav,
            "--format",
            "verbose_json",
            "--language",
            "en",
        ],
    );
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["text"].as_str().map(str::trim), Some(SAYS), "{v}");
    assert_eq!(v["segments"].as_array().map(Vec::len), Some(1), "{v}");
    let out = oai_at(&url, &["transcribe", wav, "--translate"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), SAYS);
    let out = oai_at(&url, &["transcribe", wav, "--stream"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), SAYS, "the deltas joined");
    // From stdin, named so the server knows its format.
    let out = oai()
        .args([
            "--base-url",
            &url,
            "transcribe",
            "-",
            "--filename",
            "tone.wav",
        ])
        .stdin(std::fs::File::open(wav).unwrap())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(stdout(&out).trim(), SAYS);
    // vLLM refuses subtitles: its 400, one line.
    let out = oai_at(&url, &["transcribe", wav, "--format", "srt"]);
    assert_exit(&out, 1);
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("400"), "{}", stderr(&out));
}
