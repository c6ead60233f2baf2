//! `oai batch` against the built-in mock: the output format, bad lines, HTTP and connection
//! failures, Ctrl-C then resume, a torn last line, `--retry-failed`, and a fleet of backends
//! with one down.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn chat_line(id: &str, model: &str, text: &str) -> String {
    json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
           "body": {"model": model, "messages": [{"role": "user", "content": text}]}})
    .to_string()
}

fn write_input(dir: &Path, lines: &[String]) -> PathBuf {
    let p = dir.join("in.jsonl");
    std::fs::write(
        &p,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    p
}

fn batch(srv: &MockServer, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "batch",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(srv, &args)
}

/// The summary line: `N ok, M failed, K skipped in T s`.
#[track_caller]
fn summary(o: &Output) -> (u64, u64, u64) {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.contains(" ok, "))
        .unwrap_or_else(|| panic!("no summary in {err}"));
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words.len(), 9, "{line}");
    assert_eq!(
        (
            words[1], words[2], words[3], words[4], words[5], words[6], words[8]
        ),
        ("ok,", words[2], "failed,", words[4], "skipped", "in", "s"),
        "{line}"
    );
    assert!(words[7].parse::<f64>().is_ok(), "{line}");
    (
        words[0].parse().unwrap(),
        words[2].parse().unwrap(),
        words[4].parse().unwrap(),
    )
}

fn posts(srv: &MockServer) -> usize {
    srv.requests().iter().filter(|r| r.method == "POST").count()
}

#[test]
fn every_kind_of_line_gets_one_result() {
    let d = dir("batch-kinds");
    let srv = MockServer::start().unwrap();
    let input = write_input(
        &d,
        &[
            chat_line("chat-1", "mock-model", "hello batch"),
            json!({"custom_id": "cmpl-1", "method": "POST", "url": "/v1/completions",
                   "body": {"model": "mock-model", "prompt": "a b", "stream": true}})
            .to_string(),
            json!({"custom_id": "emb-1", "method": "POST", "url": "/v1/embeddings",
                   "body": {"model": "mock-model", "input": ["x", "y"]}})
            .to_string(),
            chat_line("missing-model", "nope", "x"),
        ],
    );
    let output = d.join("out.jsonl");
    let out = batch(&srv, &input, &output, &["--max-retries", "0"]);
    assert_exit(&out, 1);
    assert!(
        out.stdout.is_empty(),
        "stdout stays empty: {}",
        stdout(&out)
    );
    assert_eq!(summary(&out), (3, 1, 0));
    let got = by_custom_id(&output);
    assert_eq!(got.len(), 4);
    let chat = &got["chat-1"];
    assert_eq!(chat["error"], Value::Null);
    assert_eq!(chat["response"]["status_code"], 200);
    // Each line goes out under an id derived from its custom_id (the mock echoes it back).
    assert_eq!(chat["response"]["request_id"], "batch-chat-1");
    // The lines go out in any order: this line's request is the one with its text.
    let sent = srv
        .requests()
        .into_iter()
        .find(|r| {
            r.path == "/v1/chat/completions"
                && r.json().unwrap()["messages"][0]["content"] == "hello batch"
        })
        .unwrap();
    assert_eq!(sent.header("x-request-id"), Some("batch-chat-1"));
    assert_eq!(sent.header("x-client-request-id"), Some("batch-chat-1"));
    assert_eq!(
        chat["response"]["body"]["choices"][0]["message"]["content"],
        "Mock reply to: hello batch"
    );
    assert!(chat["id"].as_str().unwrap().starts_with("batch_req_"));
    assert_eq!(
        got["cmpl-1"]["response"]["body"]["object"],
        "text_completion"
    );
    assert_eq!(got["emb-1"]["response"]["body"]["data"][1]["index"], 1);
    let missing = &got["missing-model"];
    assert_eq!(missing["response"]["status_code"], 404);
    assert_eq!(
        missing["response"]["body"]["error"]["type"],
        "NotFoundError"
    );
    assert_eq!(missing["error"]["code"], "404");
    assert_eq!(
        missing["error"]["message"],
        "The model `nope` does not exist."
    );
    // Bodies went out as written (the line's `stream` is dropped: a batch reads JSON).
    let sent: Vec<Value> = srv
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/completions")
        .map(|r| r.json().unwrap())
        .collect();
    assert_eq!(sent, [json!({"model": "mock-model", "prompt": "a b"})]);
}

#[test]
fn responses_lines_go_to_the_responses_endpoint() {
    let d = dir("batch-responses");
    let srv = MockServer::start().unwrap();
    let reply = json!({"id": "resp_1", "object": "response", "status": "completed", "output": []});
    srv.enqueue_all([Reply::default_answer(), Reply::json(200, reply.to_string())]);
    let body = json!({"model": "mock-model", "input": "hi", "max_output_tokens": 3});
    let input = write_input(
        &d,
        &[
            json!({"custom_id": "r", "method": "POST", "url": "/v1/responses", "body": body})
                .to_string(),
        ],
    );
    let output = d.join("out.jsonl");
    let out = batch(&srv, &input, &output, &[]);
    assert_exit(&out, 0);
    assert_eq!(by_custom_id(&output)["r"]["response"]["body"], reply);
    let req = srv.requests().pop().unwrap();
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/responses")
    );
    assert_eq!(req.json().unwrap(), body);
}

#[test]
fn a_clean_run_exits_0_and_a_rerun_sends_nothing() {
    let d = dir("batch-clean");
    let srv = MockServer::start().unwrap();
    let lines: Vec<String> = (0..50)
        .map(|i| chat_line(&format!("r{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let out = batch(&srv, &input, &output, &["-c", "8"]);
    assert_exit(&out, 0);
    assert_eq!(summary(&out), (50, 0, 0));
    assert_eq!(by_custom_id(&output).len(), 50);
    assert_eq!(posts(&srv), 50);
    let out = batch(&srv, &input, &output, &[]);
    assert_exit(&out, 0);
    assert_eq!(summary(&out), (0, 0, 0));
    assert!(
        stderr(&out).contains("resuming: 50 result(s) already in"),
        "{}",
        stderr(&out)
    );
    assert_eq!(posts(&srv), 50, "nothing was sent again");
    assert_eq!(by_custom_id(&output).len(), 50);
}

#[test]
fn bad_lines_are_reported_by_number_and_skipped() {
    let d = dir("batch-bad");
    let srv = MockServer::start().unwrap();
    let input = write_input(
        &d,
        &[
            chat_line("ok-1", "mock-model", "x"),
            "this is not json".into(),
            r#"{"method":"POST","url":"/v1/chat/completions","body":{}}"#.into(),
            chat_line("ok-1", "mock-model", "again"),
            r#"{"custom_id":"get","method":"GET","url":"/v1/chat/completions","body":{}}"#.into(),
            r#"{"custom_id":"nobody","method":"POST","url":"/v1/chat/completions"}"#.into(),
            r#"{"custom_id":"where","method":"POST","url":"/v1/files","body":{}}"#.into(),
            "   ".into(),
            "[1,2,3]".into(),
            "{\"custom_id\": \"torn".into(),
            chat_line("ok-2", "mock-model", "y"),
        ],
    );
    let output = d.join("out.jsonl");
    let out = batch(&srv, &input, &output, &[]);
    assert_exit(&out, 1);
    assert_eq!(summary(&out), (2, 0, 8));
    let err = stderr(&out);
    for expected in [
        "line 2: not JSON",
        "line 3: no custom_id",
        "line 4: duplicate custom_id \"ok-1\" (first on line 1)",
        "line 5: method \"GET\" is not POST",
        "line 6: no body",
        "line 7: unknown url \"/v1/files\"",
        "line 9: not a JSON object",
        "line 10: not JSON",
    ] {
        assert!(
            err.lines().any(|l| l.starts_with(expected)),
            "{expected:?} not in:\n{err}"
        );
    }
    assert!(
        !err.contains("line 8:"),
        "blank lines are not errors: {err}"
    );
    let got = by_custom_id(&output);
    assert_eq!(
        got.keys().collect::<BTreeSet<_>>(),
        BTreeSet::from([&"ok-1".to_owned(), &"ok-2".to_owned()])
    );
    assert_eq!(
        got["ok-1"]["response"]["body"]["choices"][0]["message"]["content"],
        "Mock reply to: x"
    );
}

#[test]
fn http_connection_and_timeout_failures_are_lines_with_error_codes() {
    let d = dir("batch-failures");
    let srv = MockServer::start().unwrap();
    srv.enqueue_all([
        // The check that the server is reachable (GET /models).
        Reply::default_answer(),
        // A refusal is sent again unless the server asks for a wait over 120 s (a quota).
        Reply::openai_error(429, "requests", "rate_limit_exceeded", "Slow down")
            .header("retry-after", "3600"),
        Reply::json(404, r#"{"detail":"Not Found"}"#).header("x-request-id", "req-404"),
        Reply::reset(),
        Reply::hang(),
        Reply::text(200, "text/html", "<html>proxy</html>"),
    ]);
    let lines: Vec<String> = ["limited", "detail", "reset", "hang", "html"]
        .iter()
        .map(|id| chat_line(id, "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let out = batch(
        &srv,
        &input,
        &output,
        &["-c", "1", "--max-retries", "0", "--timeout", "0.5"],
    );
    assert_exit(&out, 1);
    assert_eq!(summary(&out), (0, 5, 0));
    let got = by_custom_id(&output);
    let limited = &got["limited"];
    assert_eq!(limited["response"]["status_code"], 429);
    assert_eq!(
        limited["response"]["body"]["error"]["code"],
        "rate_limit_exceeded"
    );
    assert_eq!(
        limited["error"],
        json!({"code": "rate_limit_exceeded", "message": "Slow down"})
    );
    assert_eq!(
        limited["response"]["request_id"], "batch-limited",
        "no x-request-id came back: the id the line was sent under, never null"
    );
    let detail = &got["detail"];
    assert_eq!(detail["error"]["code"], "http_404");
    assert_eq!(detail["error"]["message"], "Not Found");
    assert_eq!(detail["response"]["request_id"], "req-404");
    assert_eq!(detail["response"]["body"], json!({"detail": "Not Found"}));
    assert_eq!(got["reset"]["response"], Value::Null);
    assert_eq!(got["reset"]["error"]["code"], "connection_error");
    assert_eq!(got["reset"]["error"]["request_id"], "batch-reset");
    assert_eq!(got["hang"]["response"], Value::Null);
    assert_eq!(got["hang"]["error"]["code"], "timeout");
    // The server got this one and may have logged it under the line's id.
    assert_eq!(got["hang"]["error"]["request_id"], "batch-hang");
    assert_eq!(got["html"]["error"]["code"], "invalid_response");
}

#[test]
fn an_unreachable_server_stops_before_anything_is_written() {
    let d = dir("batch-unreachable");
    let input = write_input(&d, &[chat_line("a", "m", "x")]);
    let output = d.join("out.jsonl");
    let out = oai()
        .args(["--base-url", "http://127.0.0.1:9/v1", "batch"])
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("nothing was sent"),
        "{}",
        stderr(&out)
    );
    assert!(!output.exists());
}

#[test]
fn the_input_cannot_be_the_output() {
    let d = dir("batch-same");
    let srv = MockServer::start().unwrap();
    let input = write_input(&d, &[chat_line("a", "mock-model", "x")]);
    let out = batch(&srv, &input, &input, &[]);
    assert_exit(&out, 2);
    assert_eq!(std::fs::read_to_string(&input).unwrap().lines().count(), 1);
}

#[test]
fn stdin_input() {
    let d = dir("batch-stdin");
    let srv = MockServer::start().unwrap();
    let output = d.join("out.jsonl");
    let input = format!(
        "{}\n{}",
        chat_line("s1", "mock-model", "a"),
        chat_line("s2", "mock-model", "b")
    );
    let out = run_in(
        &srv,
        &["batch", "-", "-o", output.to_str().unwrap()],
        &input,
    );
    assert_exit(&out, 0);
    assert_eq!(
        by_custom_id(&output).len(),
        2,
        "the last line needs no newline"
    );
}

#[test]
fn ctrl_c_finishes_what_is_in_flight_and_a_rerun_resumes() {
    let d = dir("batch-interrupt");
    let srv = MockServer::start().unwrap();
    // Every answer takes 40 ms, so the run is still going when Ctrl-C comes.
    srv.enqueue(Reply::default_answer());
    srv.enqueue_all((0..200).map(|_| Reply::default_answer().delay(Duration::from_millis(40))));
    let lines: Vec<String> = (0..200)
        .map(|i| chat_line(&format!("r{i}"), "mock-model", &format!("n{i}")))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let child = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "-c",
            "4",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("some results", || posts(&srv) >= 20);
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_exit(&out, 130);
    let (ok, failed, skipped) = summary(&out);
    assert_eq!((failed, skipped), (0, 0));
    assert!(
        stderr(&out).contains("rerun the same command to resume"),
        "{}",
        stderr(&out)
    );
    let first = by_custom_id(&output);
    assert_eq!(first.len() as u64, ok);
    assert!((20..200).contains(&ok), "{ok}");
    // Everything sent was written: requests in flight were waited for, queued ones not sent.
    assert_eq!(posts(&srv), first.len());
    let out = batch(&srv, &input, &output, &["-c", "4"]);
    assert_exit(&out, 0);
    assert_eq!(summary(&out).0, 200 - ok);
    let all = by_custom_id(&output);
    assert_eq!(all.len(), 200);
    assert_eq!(posts(&srv), 200, "no line was sent twice");
    for (id, l) in &first {
        assert_eq!(&all[id], l, "earlier results are kept as they were");
    }
    assert_eq!(
        all["r7"]["response"]["body"]["choices"][0]["message"]["content"],
        "Mock reply to: n7"
    );
}

#[test]
fn a_torn_last_line_is_dropped_and_run_again() {
    let d = dir("batch-torn");
    let srv = MockServer::start().unwrap();
    let input = write_input(
        &d,
        &[
            chat_line("a", "mock-model", "x"),
            chat_line("b", "mock-model", "y"),
        ],
    );
    let output = d.join("out.jsonl");
    let out = batch(&srv, &input, &output, &["-c", "1"]);
    assert_exit(&out, 0);
    // A crash in the middle of writing the second line.
    let text = std::fs::read_to_string(&output).unwrap();
    let keep = text.find('\n').unwrap() + 1;
    let torn = &text[..keep + 30];
    std::fs::write(&output, torn).unwrap();
    let out = batch(&srv, &input, &output, &[]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("dropping a torn last line"),
        "{}",
        stderr(&out)
    );
    assert_eq!(summary(&out), (1, 0, 0));
    let got = by_custom_id(&output);
    assert_eq!(got.len(), 2);
    assert!(
        std::fs::read_to_string(&output)
            .unwrap()
            .starts_with(&text[..keep])
    );
}

#[test]
fn retry_failed_reruns_failures_and_rewrites_the_output() {
    let d = dir("batch-retry");
    let srv = MockServer::start().unwrap();
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::default_answer(),
        Reply::error(500, "boom"),
        Reply::default_answer(),
        Reply::error(400, "bad"),
    ]);
    let mut lines: Vec<String> = (0..4)
        .map(|i| chat_line(&format!("r{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let out = batch(&srv, &input, &output, &["-c", "1", "--max-retries", "0"]);
    assert_exit(&out, 1);
    assert_eq!(summary(&out), (2, 2, 0));
    // A failure from an earlier input that the new input no longer has keeps its line.
    let mut text = std::fs::read_to_string(&output).unwrap();
    text.push_str(r#"{"id":"batch_req_99","custom_id":"gone","response":null,"error":{"code":"timeout","message":"t"}}"#);
    text.push('\n');
    std::fs::write(&output, &text).unwrap();
    // Without --retry-failed nothing is sent and the run still says it is not all done.
    let out = batch(&srv, &input, &output, &[]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("2 line(s) failed in an earlier run"),
        "{}",
        stderr(&out)
    );
    assert_eq!(posts(&srv), 4);
    lines.push(chat_line("r4", "mock-model", "new"));
    let input = write_input(&d, &lines);
    let out = batch(&srv, &input, &output, &["--retry-failed"]);
    assert_exit(&out, 0);
    assert_eq!(summary(&out), (3, 0, 0));
    let got = by_custom_id(&output);
    assert_eq!(got.len(), 6);
    for i in 0..5 {
        assert_eq!(got[&format!("r{i}")]["error"], Value::Null);
    }
    assert_eq!(got["gone"]["error"]["code"], "timeout");
    let ids: Vec<u64> = json_lines(&output)
        .iter()
        .map(|l| {
            l["id"].as_str().unwrap()["batch_req_".len()..]
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        ids.iter().filter(|&&n| n > 99).count() == 3,
        "new ids follow the highest: {ids:?}"
    );
    assert!(!std::fs::read_dir(&d).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains("oai-rewrite")
    }));
}

#[test]
fn a_fleet_routes_by_model_and_survives_a_dead_backend() {
    let d = dir("batch-fleet");
    let chat = MockServer::start().unwrap();
    chat.set_models(["llm"]);
    let embed = MockServer::start().unwrap();
    embed.set_models(["minilm"]);
    // A backend that is down: a port nothing listens on.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    let mut lines: Vec<String> = (0..30)
        .map(|i| chat_line(&format!("c{i}"), "llm", "x"))
        .collect();
    for i in 0..10 {
        lines.push(
            json!({"custom_id": format!("e{i}"), "method": "POST", "url": "/v1/embeddings",
                   "body": {"model": "minilm", "input": "x"}})
            .to_string(),
        );
    }
    lines.push(chat_line("unserved", "nobody-serves-this", "x"));
    lines.push(
        r#"{"custom_id":"no-model","method":"POST","url":"/v1/embeddings","body":{"input":"x"}}"#
            .into(),
    );
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let backends = format!("{},{dead}", chat.url());
    let out = oai()
        .env("OAI_COMPAT_BACKENDS", &backends)
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--backend",
            &embed.url(),
            "-c",
            "6",
        ])
        .output()
        .unwrap();
    // --backend on the command line wins over the environment.
    assert_exit(&out, 1);
    assert_eq!(summary(&out), (10, 32, 0), "{}", stderr(&out));
    let out = oai()
        .env("OAI_COMPAT_BACKENDS", &backends)
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            d.join("out2.jsonl").to_str().unwrap(),
            "--backend",
            &embed.url(),
            "--backend",
            &chat.url(),
            "--backend",
            &dead,
            "-c",
            "6",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert_eq!(summary(&out), (40, 2, 0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("backend {dead} serves no model")),
        "{}",
        stderr(&out)
    );
    let got = by_custom_id(&d.join("out2.jsonl"));
    assert_eq!(got.len(), 42);
    assert_eq!(got["unserved"]["response"], Value::Null);
    assert_eq!(got["unserved"]["error"]["code"], "invalid_request");
    assert!(
        got["unserved"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("llm")
    );
    assert_eq!(got["no-model"]["error"]["code"], "invalid_request");
    let count = |s: &MockServer, path: &str| s.requests().iter().filter(|r| r.path == path).count();
    assert_eq!(count(&chat, "/v1/chat/completions"), 30);
    assert_eq!(
        count(&embed, "/v1/embeddings"),
        20,
        "10 in each of the two runs"
    );
    assert_eq!(
        count(&chat, "/v1/embeddings") + count(&embed, "/v1/chat/completions"),
        0
    );
    // From the environment alone, with the chat server only.
    let out = oai()
        .env("OAI_COMPAT_BACKENDS", format!(" {} , {dead}", chat.url()))
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            d.join("out3.jsonl").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert_eq!(summary(&out), (30, 12, 0), "{}", stderr(&out));
    // No backend answering at all: nothing is sent or written.
    let out = oai()
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            d.join("out4.jsonl").to_str().unwrap(),
            "--backend",
            &dead,
        ])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("no backend answered"),
        "{}",
        stderr(&out)
    );
    assert!(!d.join("out4.jsonl").exists());
}

#[test]
fn a_backend_failing_mid_run_fails_over_to_its_twin() {
    let d = dir("batch-failover");
    let a = MockServer::start().unwrap();
    let b = MockServer::start().unwrap();
    // After answering /models, `a` is overloaded for every chat request of the run.
    a.enqueue(Reply::default_answer());
    a.enqueue_all((0..40).map(|_| Reply::error(503, "overloaded")));
    let lines: Vec<String> = (0..20)
        .map(|i| chat_line(&format!("r{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let out = oai()
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "-c",
            "2",
        ])
        .args(["--backend", &a.url(), "--backend", &b.url()])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(summary(&out), (20, 0, 0));
    let got = by_custom_id(&output);
    assert!(got.values().all(|l| l["response"]["status_code"] == 200));
    let chats = |s: &MockServer| {
        s.requests()
            .iter()
            .filter(|r| r.path == "/v1/chat/completions")
            .count()
    };
    assert_eq!(chats(&b), 20, "every line ended on the healthy twin");
    assert!(chats(&a) > 0, "the overloaded one was tried too");
}

#[test]
fn a_second_ctrl_c_quits_at_once() {
    let d = dir("batch-twice");
    let srv = MockServer::start().unwrap();
    srv.enqueue(Reply::default_answer());
    srv.enqueue_all((0..4).map(|_| Reply::hang()));
    let lines: Vec<String> = (0..4)
        .map(|i| chat_line(&format!("r{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let child = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args([
            "--timeout",
            "60",
            "batch",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "-c",
            "2",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("two requests in flight", || posts(&srv) == 2);
    interrupt(&child);
    // The first Ctrl-C waits for the two hanging requests; the second one does not.
    std::thread::sleep(Duration::from_millis(300));
    interrupt(&child);
    let started = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_exit(&out, 130);
    assert!(
        stderr(&out).contains("finishing the requests in flight"),
        "{}",
        stderr(&out)
    );
    assert_eq!(posts(&srv), 2, "no new line was taken after Ctrl-C");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "");
}

// Trust, round 3 (issue 20): the batch runner never loses a line. Each test below failed on
// the runner before that round; the case names (B1 ...) are those of docs/faults.md.

/// Three failed results, a0 a1 a2, in a new output in `d` (500s, no retries).
fn three_failures(d: &Path) -> (MockServer, PathBuf, Vec<String>) {
    let srv = MockServer::start().unwrap();
    // The first answers the runner's /models probe.
    srv.enqueue_all((0..4).map(|_| Reply::error(500, "boom")));
    let lines: Vec<String> = (0..3)
        .map(|i| chat_line(&format!("a{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(d, &lines);
    let output = d.join("out.jsonl");
    let out = batch(&srv, &input, &output, &["-c", "1", "--max-retries", "0"]);
    assert_eq!(summary(&out), (0, 3, 0));
    (srv, output, lines)
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// `oai ARGS` as a child against `srv`, its output piped.
fn spawn(srv: &MockServer, args: &[&str]) -> std::process::Child {
    oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// `oai batch` as a child, stdin from a pipe fed with `text` by a thread.
fn spawn_with_input(srv: &MockServer, args: &[&str], text: String) -> std::process::Child {
    let mut child = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(text.as_bytes());
    });
    child
}

/// Waits for a child at most `secs` seconds (killing it then, and failing).
#[track_caller]
fn finish(mut child: std::process::Child, secs: u64) -> Output {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let o = child.wait_with_output().unwrap();
            panic!("oai did not end in {secs} s; stderr: {}", stderr(&o));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn b1_retry_failed_from_stdin_keeps_the_failures_of_other_ids() {
    let d = dir("batch-b1");
    let (srv, output, lines) = three_failures(&d);
    // Only a0's line comes, on stdin: a1 and a2 are not in this input and keep their results.
    let out = run_in(
        &srv,
        &[
            "batch",
            "-",
            "-o",
            output.to_str().unwrap(),
            "--retry-failed",
        ],
        format!("{}\n", lines[0]),
    );
    assert_eq!(summary(&out), (1, 0, 0), "{}", stderr(&out));
    let got = by_custom_id(&output);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got["a0"]["error"], Value::Null);
    assert_eq!(got["a1"]["error"]["code"], "500");
    assert_eq!(got["a2"]["error"]["code"], "500");
}

#[test]
fn b2_b3_a_pipe_or_a_fifo_is_read_once_with_every_option() {
    let d = dir("batch-b2");
    let (srv, output, lines) = three_failures(&d);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    // A pipe given by name (as `<(cat in.jsonl)` is), with --retry-failed.
    let child = spawn_with_input(
        &srv,
        &[
            "batch",
            "/dev/stdin",
            "-o",
            output.to_str().unwrap(),
            "--retry-failed",
        ],
        text.clone(),
    );
    let out = finish(child, 30);
    assert_exit(&out, 0);
    assert_eq!(summary(&out), (3, 0, 0));
    let got = by_custom_id(&output);
    assert!(got.values().all(|l| l["error"].is_null()), "{got:?}");

    // A FIFO, written by another process once it is opened.
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    let more: Vec<String> = (0..3)
        .map(|i| chat_line(&format!("f{i}"), "mock-model", "x"))
        .collect();
    let writer = {
        let (fifo, text) = (
            fifo.clone(),
            more.iter().map(|l| format!("{l}\n")).collect::<String>(),
        );
        std::thread::spawn(move || std::fs::write(fifo, text).unwrap())
    };
    let child = spawn(
        &srv,
        &[
            "batch",
            fifo.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "--retry-failed",
        ],
    );
    let out = finish(child, 30);
    writer.join().unwrap();
    assert_exit(&out, 0);
    assert_eq!(summary(&out), (3, 0, 0));
    assert_eq!(by_custom_id(&output).len(), 6);
}

#[test]
fn b3_a_fifo_without_a_writer_ends_on_sigterm() {
    let d = dir("batch-b3");
    let srv = MockServer::start().unwrap();
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    let child = spawn(
        &srv,
        &[
            "batch",
            fifo.to_str().unwrap(),
            "-o",
            d.join("out.jsonl").to_str().unwrap(),
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = finish(child, 10);
    assert_ne!(out.status.code(), Some(0));
    assert_eq!(posts(&srv), 0);
}

#[test]
fn b4_the_progress_bar_on_a_terminal_never_drains_a_piped_input() {
    // `script` gives the command a terminal for stderr, which turns the progress bar on.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let d = dir("batch-b4");
    let srv = MockServer::start().unwrap();
    let lines: Vec<String> = (0..500)
        .map(|i| chat_line(&format!("p{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let (oai, input, output) = (env!("CARGO_BIN_EXE_oai"), input.display(), output.display());
    // A pipe given by name, then a regular file (the bar measures its bytes).
    for cmd in [
        format!("cat {input} | {oai} batch /dev/stdin -o {output} -c 4"),
        format!("rm {output} && {oai} batch {input} -o {output} -c 4"),
    ] {
        let out = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .env("OPENAI_BASE_URL", srv.url())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{cmd}: {shown}");
        let done = by_custom_id(Path::new(&output.to_string()));
        assert_eq!(done.len(), 500, "{cmd}: {shown}");
    }
}

#[test]
fn b5_an_output_that_cannot_be_read_back_is_refused_and_dash_is_stdout() {
    let d = dir("batch-b5");
    let srv = MockServer::start().unwrap();
    let lines: Vec<String> = (0..3)
        .map(|i| chat_line(&format!("s{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    for (out_path, kind) in [
        ("/dev/full", "a character device"),
        ("/dev/urandom", "a character device"),
        (fifo.to_str().unwrap(), "a pipe (FIFO)"),
        (d.to_str().unwrap(), "a directory"),
        // stdout is a pipe here.
        ("/dev/stdout", "a pipe"),
    ] {
        let out = batch(&srv, &input, Path::new(out_path), &[]);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(kind) && err.contains("`-o -`"),
            "{out_path}: {err}"
        );
    }
    assert_eq!(posts(&srv), 0, "nothing was sent");
    // `-o -`: the results on stdout, nothing read back.
    let out = run(&srv, &["batch", input.to_str().unwrap(), "-o", "-"]);
    assert_exit(&out, 0);
    let got: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|l| l["error"].is_null()));
    assert!(!Path::new("-").exists() && !d.join("-").exists());
    let out = run(
        &srv,
        &[
            "batch",
            input.to_str().unwrap(),
            "-o",
            "-",
            "--retry-failed",
        ],
    );
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--retry-failed"), "{}", stderr(&out));
}

#[test]
fn b6_a_rewrite_keeps_the_mode_and_writes_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let d = dir("batch-b6");
    let (srv, output, lines) = three_failures(&d);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&output), 0o600, "a new output is its owner's only");
    std::fs::set_permissions(&output, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = d.join("link.jsonl");
    std::os::unix::fs::symlink(&output, &link).unwrap();
    let input = write_input(&d, &lines[..2]);
    let out = batch(&srv, &input, &link, &["--retry-failed"]);
    assert_eq!(summary(&out), (2, 0, 0), "{}", stderr(&out));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the symlink is still a symlink"
    );
    assert_eq!(mode(&output), 0o640, "the mode is kept");
    let got = by_custom_id(&output);
    assert_eq!(got.len(), 3);
    assert!(got["a0"]["error"].is_null() && got["a1"]["error"].is_null());
    assert_eq!(got["a2"]["error"]["code"], "500");
    assert!(!std::fs::read_dir(&d).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains("oai-rewrite")
    }));
}

#[test]
fn b9_a_dead_server_is_noticed_in_seconds_and_what_was_not_answered_runs_again() {
    let d = dir("batch-b9");
    let srv = MockServer::start().unwrap();
    // Slow enough answers that the run is still going when the server dies.
    srv.enqueue_all((0..2000).map(|_| Reply::default_answer().delay(Duration::from_millis(4))));
    let lines: Vec<String> = (0..2000)
        .map(|i| chat_line(&format!("d{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let child = spawn(
        &srv,
        &[
            "batch",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "-c",
            "8",
        ],
    );
    wait_for("50 results", || {
        std::fs::read_to_string(&output).is_ok_and(|t| t.lines().count() >= 50)
    });
    let died = std::time::Instant::now();
    drop(srv);
    let out = finish(child, 60);
    let took = died.elapsed();
    eprintln!("the run ended {took:?} after the server died");
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("in a row got no answer") && err.contains("rerun"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(10),
        "noticed after {took:?}: {err}"
    );
    let written = by_custom_id(&output);
    assert!(written.len() < 2000);
    assert!(
        written.values().all(|l| l["error"].is_null()),
        "no line was written as a failure"
    );
    // The rerun, against a server that is up, finishes every line exactly once.
    let srv = MockServer::start().unwrap();
    let out = batch(&srv, &input, &output, &["-c", "8"]);
    assert_exit(&out, 0);
    let got = by_custom_id(&output);
    assert_eq!(got.len(), 2000);
    assert!(got.values().all(|l| l["error"].is_null()));
    assert_eq!(posts(&srv), 2000 - written.len());
}

#[test]
fn c1_a_key_twice_in_a_line_is_named() {
    let d = dir("batch-c1");
    let srv = MockServer::start().unwrap();
    let line = r#"{"custom_id":"x","custom_id":"y","method":"POST","url":"/v1/chat/completions","body":{"model":"m"}}"#;
    let input = write_input(&d, &[line.to_owned()]);
    let out = batch(&srv, &input, &d.join("out.jsonl"), &[]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("line 1: duplicate key custom_id"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_crash_before_the_compaction_is_mended_by_the_next_run() {
    let d = dir("batch-crash-compact");
    let srv = MockServer::start().unwrap();
    let input = write_input(
        &d,
        &[
            chat_line("x", "mock-model", "1"),
            chat_line("y", "mock-model", "2"),
        ],
    );
    // What a kill -9 after a rerun's append leaves: x's failure, then x's new result.
    let output = d.join("out.jsonl");
    let failed = r#"{"id":"batch_req_1","custom_id":"x","response":null,"error":{"code":"timeout","message":"t"}}"#;
    let ok = |id: &str, n: u32| {
        format!(
            r#"{{"id":"batch_req_{n}","custom_id":"{id}","response":{{"status_code":200,"request_id":null,"body":{{}}}},"error":null}}"#
        )
    };
    std::fs::write(
        &output,
        format!("{failed}\n{}\n{}\n", ok("y", 2), ok("x", 3)),
    )
    .unwrap();
    let out = batch(&srv, &input, &output, &[]);
    assert_exit(&out, 0);
    assert_eq!(summary(&out), (0, 0, 0));
    assert_eq!(posts(&srv), 0, "both are done");
    let got = by_custom_id(&output);
    assert_eq!(got.len(), 2);
    assert_eq!(got["x"]["id"], "batch_req_3", "the later line is kept");
    assert!(
        stderr(&out).contains("1 earlier result(s) replaced"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_key_echoed_json_escaped_never_reaches_the_output() {
    let d = dir("batch-escaped-key");
    let srv = MockServer::start().unwrap();
    let key = "sk-proj/escaped-0123456789";
    // The key as a server would echo it: `\/` for `/`, and `\u0073` for the `s`.
    let echoes = [
        r#"{"error":{"message":"Incorrect API key provided: sk-proj\/escaped-0123456789","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        r#"{"error":{"message":"bad key \u0073k-proj\/escaped-0123456789"}}"#,
        r#"{"detail":{"key":"\u0073\u006b-proj\u002fescaped-0123456789"}}"#,
    ];
    // The first answers the runner's /models probe.
    srv.enqueue(Reply::json(401, echoes[0]));
    srv.enqueue_all(echoes.iter().map(|e| Reply::json(401, *e)));
    let lines: Vec<String> = (0..3)
        .map(|i| chat_line(&format!("k{i}"), "mock-model", "x"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let out = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .env("OPENAI_API_KEY", key)
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "-c",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(summary(&out), (0, 3, 0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(!text.contains(key), "{text}");
    // Decoded, every string of every line: the key is in none of them.
    fn strings(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
            Value::Object(o) => o.iter().for_each(|(k, v)| {
                out.push(k.clone());
                strings(v, out)
            }),
            _ => {}
        }
    }
    let mut all = Vec::new();
    for line in json_lines(&output) {
        strings(&line, &mut all);
    }
    assert!(all.iter().all(|s| !s.contains(key)), "{all:?}");
    // Each line: the error message and the body.
    assert_eq!(
        all.iter().filter(|s| s.contains("<redacted>")).count(),
        6,
        "{all:?}"
    );
    assert!(!stderr(&out).contains(key));
}

/// Every test named in docs/faults.md's batch table exists.
#[test]
fn the_fault_docs_name_real_tests() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let doc = std::fs::read_to_string(format!("{root}/docs/faults.md")).unwrap();
    let start = doc.find("<!-- batch-table:start -->").unwrap();
    let end = doc.find("<!-- batch-table:end -->").unwrap();
    let mut named = 0;
    for cell in doc[start..end].split('`').skip(1).step_by(2) {
        let Some((file, test)) = cell.split_once(".rs::") else {
            continue;
        };
        let src = std::fs::read_to_string(format!("{root}/{file}.rs"))
            .unwrap_or_else(|_| panic!("docs/faults.md names {file}.rs, which does not exist"));
        assert!(
            src.contains(&format!("fn {test}(")),
            "docs/faults.md names {file}.rs::{test}, which does not exist"
        );
        named += 1;
    }
    assert!(named >= 12, "only {named} tests named");
}

#[test]
fn a_server_with_few_slots_gets_every_line_with_few_refusals() {
    let srv = MockServer::start().unwrap();
    srv.set_max_in_flight(4);
    srv.set_latency(Duration::from_millis(20));
    let d = dir("conc-slots");
    let lines: Vec<String> = (0..200)
        .map(|i| chat_line(&format!("r{i}"), "mock-model", "hi"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let o = batch(&srv, &input, &output, &["-c", "64"]);
    assert_exit(&o, 0);
    assert_eq!(summary(&o), (200, 0, 0));
    let results = by_custom_id(&output);
    assert_eq!(results.len(), 200);
    assert!(results.values().all(|l| l["error"].is_null()));
    // Today's runner (64 at once, the client retrying each 429 twice) got hundreds of
    // refusals and failed lines; the gate keeps near the server's 4 slots.
    let rejected = srv.rejected();
    assert!(rejected < 50, "{rejected} refusals for 200 lines");
    if rejected > 0 {
        assert!(stderr(&o).contains("the server refused"), "{}", stderr(&o));
    }
}

#[test]
fn a_refusal_waits_the_servers_retry_after_and_the_line_then_succeeds() {
    let srv = MockServer::start().unwrap();
    srv.enqueue_all([
        // The check that the server is reachable (GET /models).
        Reply::default_answer(),
        Reply::error(429, "slow down").header("retry-after", "1"),
    ]);
    let d = dir("conc-retry-after");
    let input = write_input(&d, &[chat_line("a", "mock-model", "hi")]);
    let output = d.join("out.jsonl");
    // --max-retries 0: the refusal is not a retry, the line is sent again all the same.
    let started = std::time::Instant::now();
    let o = batch(&srv, &input, &output, &["--max-retries", "0"]);
    let elapsed = started.elapsed();
    assert_exit(&o, 0);
    assert_eq!(summary(&o), (1, 0, 0));
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert_eq!(posts(&srv), 2);
    assert!(by_custom_id(&output)["a"]["error"].is_null());
}

#[test]
fn a_refusal_asking_for_over_120_s_is_written_failed_once() {
    let srv = MockServer::start().unwrap();
    // A refusal is sent again (here after 0.1 s), until the server asks for a wait over
    // 120 s: then the line is written failed, once.
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::error(503, "busy").header("retry-after", "0.1"),
        Reply::error(429, "quota").header("retry-after", "3600"),
    ]);
    let d = dir("conc-refused");
    let input = write_input(&d, &[chat_line("a", "mock-model", "hi")]);
    let output = d.join("out.jsonl");
    let o = batch(&srv, &input, &output, &[]);
    assert_exit(&o, 1);
    assert_eq!(summary(&o), (0, 1, 0));
    assert_eq!(posts(&srv), 2, "a wait over 120 s is not waited");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["response"]["status_code"], 429);
}

#[test]
fn rpm_paces_the_starts() {
    let srv = MockServer::start().unwrap();
    let d = dir("conc-rpm");
    let lines: Vec<String> = (0..12)
        .map(|i| chat_line(&format!("p{i}"), "mock-model", "hi"))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let started = std::time::Instant::now();
    let o = batch(&srv, &input, &output, &["-c", "8", "--rpm", "120"]);
    let elapsed = started.elapsed();
    assert_exit(&o, 0);
    assert_eq!(summary(&o), (12, 0, 0));
    // Two starts a second: the 12th starts 5.5 s after the first.
    assert!(elapsed >= Duration::from_secs(5), "{elapsed:?}");
}

#[test]
fn tpm_counts_the_tokens_a_line_may_take() {
    let srv = MockServer::start().unwrap();
    let d = dir("conc-tpm");
    let line = |id: &str| {
        json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
               "body": {"model": "mock-model", "max_tokens": 500,
                        "messages": [{"role": "user", "content": "hi"}]}})
        .to_string()
    };
    let input = write_input(&d, &[line("a"), line("b"), line("c")]);
    let output = d.join("out.jsonl");
    let started = std::time::Instant::now();
    // 30,000 a minute is 500 a second: each line (over 500 tokens) holds the next back 1 s.
    let o = batch(&srv, &input, &output, &["--tpm", "30000"]);
    let elapsed = started.elapsed();
    assert_exit(&o, 0);
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
}

#[test]
fn bad_rpm_and_tpm_values_are_usage_errors() {
    let srv = MockServer::start().unwrap();
    let d = dir("conc-bad-rpm");
    let input = write_input(&d, &[chat_line("a", "mock-model", "hi")]);
    let output = d.join("out.jsonl");
    for (flag, value) in [
        ("--rpm", "0"),
        ("--rpm", "-5"),
        ("--rpm", "fast"),
        ("--rpm", "10000001"),
        ("--tpm", "0"),
        ("--tpm", "1e9"),
        ("--tpm", "99999999999999999999999"),
    ] {
        let o = batch(&srv, &input, &output, &[&format!("{flag}={value}")]);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(flag), "{flag} {value}: {}", stderr(&o));
    }
    assert_eq!(posts(&srv), 0);
}

#[test]
fn deeply_nested_lines_and_answers_fit_a_workers_stack() {
    let srv = MockServer::start().unwrap();
    // serde_json's nesting limit is 128: 120 levels in the line and in the answer.
    let deep = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::json(200, format!(r#"{{"deep":{}}}"#, deep(120))),
    ]);
    let d = dir("conc-deep");
    let line = format!(
        r#"{{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{{"model":"mock-model","x":{},"messages":[]}}}}"#,
        deep(120)
    );
    let input = write_input(&d, &[line]);
    let output = d.join("out.jsonl");
    let o = batch(&srv, &input, &output, &[]);
    assert_exit(&o, 0);
    let lines = json_lines(&output);
    assert!(lines[0]["response"]["body"]["deep"].is_array());
}

#[test]
fn a_line_refused_again_and_again_ends_failed_after_ten_resends() {
    let srv = MockServer::start().unwrap();
    srv.enqueue(Reply::default_answer());
    srv.enqueue_all((0..12).map(|_| Reply::error(429, "full").header("retry-after-ms", "20")));
    let d = dir("conc-ten");
    let input = write_input(&d, &[chat_line("a", "mock-model", "hi")]);
    let output = d.join("out.jsonl");
    let o = batch(&srv, &input, &output, &[]);
    assert_exit(&o, 1);
    assert_eq!(summary(&o), (0, 1, 0));
    assert_eq!(posts(&srv), 11, "the first send and ten more");
    assert_eq!(json_lines(&output).len(), 1);
}

#[test]
fn ctrl_c_while_refused_lines_wait_leaves_them_for_the_rerun_once() {
    let d = dir("conc-interrupt");
    let srv = MockServer::start().unwrap();
    // One slot, 200 ms an answer: lines refused at the start wait a second to be sent again.
    srv.set_max_in_flight(1);
    srv.set_latency(Duration::from_millis(200));
    let lines: Vec<String> = (0..30)
        .map(|i| chat_line(&format!("w{i}"), "mock-model", &format!("n{i}")))
        .collect();
    let input = write_input(&d, &lines);
    let output = d.join("out.jsonl");
    let child = spawn(
        &srv,
        &[
            "batch",
            input.to_str().unwrap(),
            "-o",
            output.to_str().unwrap(),
            "-c",
            "8",
        ],
    );
    wait_for("a refusal", || srv.rejected() >= 1);
    interrupt(&child);
    let out = finish(child, 30);
    assert_exit(&out, 130);
    let (ok, failed, _) = summary(&out);
    assert_eq!(failed, 0, "a refused line waiting is not written as failed");
    let first = by_custom_id(&output);
    assert_eq!(first.len() as u64, ok);
    assert!(ok < 30, "{ok}");
    srv.set_max_in_flight(0);
    srv.set_latency(Duration::ZERO);
    let out = batch(&srv, &input, &output, &["-c", "8"]);
    assert_exit(&out, 0);
    assert_eq!(summary(&out).0, 30 - ok);
    let all = by_custom_id(&output);
    assert_eq!(all.len(), 30, "every line once");
    for (id, l) in &first {
        assert_eq!(&all[id], l, "earlier results are kept as they were");
    }
}
