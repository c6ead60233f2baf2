//! `oai batch --remote` against the built-in mock's /v1/files and /v1/batches: the local
//! output format (accepted by `oai batch check`, equal to a local run's answers), resuming
//! the same batch after Ctrl-C without paying twice, lines the batch lost, a kill -9 during
//! the download, `--cancel`, stdin, bad inputs refused before anything is uploaded.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use oai_compat_mock::FormPart;
use serde_json::{Value, json};
use support::*;

fn chat_line(id: &str, model: &str, text: &str) -> String {
    json!({"custom_id": id, "method": "POST", "url": "/v1/chat/completions",
           "body": {"model": model, "messages": [{"role": "user", "content": text}]}})
    .to_string()
}

fn input(dir: &Path, lines: &[String]) -> PathBuf {
    let p = dir.join("in.jsonl");
    write_lines(&p, lines);
    p
}

fn three(dir: &Path) -> PathBuf {
    input(
        dir,
        &[
            chat_line("a", "mock-model", "one"),
            chat_line("b", "mock-model", "two"),
            chat_line("c", "mock-model", "three"),
        ],
    )
}

fn remote(srv: &MockServer, input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "batch",
        "--remote",
        input.to_str().unwrap(),
        "-o",
        output.to_str().unwrap(),
        "--poll-interval",
        "0.05",
    ];
    args.extend_from_slice(extra);
    run(srv, &args)
}

fn spawn_remote(srv: &MockServer, input: &Path, output: &Path) -> Child {
    oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args(["batch", "--remote"])
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(["--poll-interval", "0.05"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A test's directory, a mock server, the input `three` and the output `out.jsonl` there.
fn setup(name: &str) -> (MockServer, PathBuf, PathBuf, PathBuf) {
    let d = dir(name);
    let inp = three(&d);
    let out = d.join("out.jsonl");
    (MockServer::start().unwrap(), d, inp, out)
}

/// A result line of the batch's output file for `id`, a success.
fn ok_line(id: &str) -> Value {
    json!({"id": format!("batch_req_{id}"), "custom_id": id,
           "response": {"status_code": 200, "request_id": "r", "body": {"ok": true}},
           "error": null})
}

/// The upload, the creation and the poll get the mock's answers; the content of the batch's
/// output file is `body`.
fn batch_output_is(srv: &MockServer, body: String) {
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::default_answer(),
        Reply::default_answer(),
        Reply::text(200, "application/octet-stream", body),
    ]);
}

/// The parts of the last upload (`POST /v1/files`) the server got.
#[track_caller]
fn upload_form(srv: &MockServer) -> Vec<FormPart> {
    let upload = srv
        .requests()
        .into_iter()
        .rfind(|r| r.method == "POST" && r.path_only() == "/v1/files")
        .expect("an upload");
    upload.form().expect("a multipart upload")
}

/// The file part of the last upload.
#[track_caller]
fn uploaded(srv: &MockServer) -> FormPart {
    upload_form(srv)
        .into_iter()
        .find(|p| p.name == "file")
        .expect("a file part")
}

/// Asserts that stderr holds `what`.
#[track_caller]
fn said(o: &Output, what: &str) {
    assert!(stderr(o).contains(what), "{}", stderr(o));
}

/// `spawn_remote`, once it has looked at its batch (the mock's first) once.
fn polling(srv: &MockServer, input: &Path, output: &Path) -> Child {
    let child = spawn_remote(srv, input, output);
    wait_for("a poll", || {
        count(srv, "GET", "/v1/batches/batch_mock_1") >= 1
    });
    child
}

fn check(input: &Path, output: &Path) -> Output {
    oai()
        .args(["batch", "check"])
        .arg(input)
        .arg(output)
        .output()
        .unwrap()
}

/// How many requests of this method went to this path (query left out).
fn count(srv: &MockServer, method: &str, path: &str) -> usize {
    srv.requests()
        .iter()
        .filter(|r| r.method == method && r.path_only() == path)
        .count()
}

fn state(output: &Path) -> Value {
    let p = output.with_file_name(format!(
        "{}.remote.json",
        output.file_name().unwrap().to_string_lossy()
    ));
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

fn finish(mut child: Child, secs: u64) -> Output {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("oai did not end in {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_remote_run_writes_the_local_format_and_equals_a_local_run() {
    let d = dir("remote-format");
    let srv = MockServer::start().unwrap();
    let inp = three(&d);
    let out = d.join("remote.jsonl");
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    assert!(o.stdout.is_empty(), "stdout stays empty: {}", stdout(&o));
    said(&o, "3 ok, 0 failed");
    assert_exit(&check(&inp, &out), 0);
    let got = by_custom_id(&out);
    assert_eq!(got.len(), 3);
    // The same lines run locally give the same answers, line by line.
    let local = d.join("local.jsonl");
    assert_exit(
        &run(
            &srv,
            &[
                "batch",
                inp.to_str().unwrap(),
                "-o",
                local.to_str().unwrap(),
            ],
        ),
        0,
    );
    let here = by_custom_id(&local);
    for id in ["a", "b", "c"] {
        assert_eq!(got[id]["error"], Value::Null, "{}", got[id]);
        assert_eq!(got[id]["response"]["status_code"], 200);
        assert_eq!(
            got[id]["response"]["body"]["choices"][0]["message"]["content"],
            here[id]["response"]["body"]["choices"][0]["message"]["content"],
            "{id}"
        );
    }
    // What the server was sent: one upload (purpose batch) and one batch of that file.
    assert_eq!(count(&srv, "POST", "/v1/files"), 1);
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
    let create = srv
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path_only() == "/v1/batches")
        .unwrap();
    let body = create.json().unwrap();
    assert_eq!(body["endpoint"], "/v1/chat/completions");
    let st = state(&out);
    assert!(
        st["batch_id"].as_str().unwrap().starts_with("batch_"),
        "{st}"
    );
    assert_eq!(st["input_file_id"], body["input_file_id"]);
    assert_eq!(st["collected"], true);
    assert!(!st.to_string().contains("sk-"), "{st}");
    // A rerun after completion does nothing, and says so.
    let again = remote(&srv, &inp, &out, &[]);
    assert_exit(&again, 0);
    said(&again, "nothing to do");
    assert_eq!(count(&srv, "POST", "/v1/files"), 1);
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
    assert_eq!(json_lines(&out).len(), 3);
}

#[test]
fn a_failed_line_of_the_error_file_is_an_error_line() {
    let d = dir("remote-error-file");
    let srv = MockServer::start().unwrap();
    let inp = input(
        &d,
        &[
            chat_line("good", "mock-model", "x"),
            chat_line("bad", "no-such-model", "x"),
        ],
    );
    let out = d.join("out.jsonl");
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 1);
    said(&o, "1 ok, 1 failed");
    let got = by_custom_id(&out);
    assert_eq!(got["good"]["error"], Value::Null);
    // OpenAI's error file holds it with `"error": null`; the local format says it failed.
    assert_eq!(got["bad"]["response"]["status_code"], 404, "{}", got["bad"]);
    assert!(got["bad"]["error"]["code"].is_string(), "{}", got["bad"]);
    let c = check(&inp, &out);
    assert_exit(&c, 1);
    assert!(stdout(&c).contains("1 failed: bad"), "{}", stdout(&c));
}

#[test]
fn lines_the_remote_batch_lost_become_error_lines() {
    let (srv, _, inp, out) = setup("remote-lost");
    // The upload, the creation and the poll get the mock's answers; the output file's
    // content is replaced by one that answers `a` only (plus a stray id and a torn line).
    let a = ok_line("a");
    let stray = json!({"id": "batch_req_y", "custom_id": "zz",
                       "response": {"status_code": 200, "body": {}}, "error": null});
    batch_output_is(
        &srv,
        format!("{a}\n{stray}\n{{\"custom_id\": \"b\", \"resp\n"),
    );
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 1);
    assert_eq!(
        srv.pending(),
        0,
        "the script was used up: {:?}",
        srv.requests()
    );
    let err = stderr(&o);
    assert!(err.contains("1 ok, 2 failed"), "{err}");
    assert!(err.contains("2 line(s) had no result"), "{err}");
    let got = by_custom_id(&out);
    assert_eq!(got.len(), 3, "the stray id is left out");
    assert_eq!(got["a"]["error"], Value::Null);
    for id in ["b", "c"] {
        assert_eq!(got[id]["response"], Value::Null);
        assert_eq!(got[id]["error"]["code"], "missing_result", "{}", got[id]);
        let msg = got[id]["error"]["message"].as_str().unwrap();
        assert!(msg.contains("without a result"), "{msg}");
    }
    let c = check(&inp, &out);
    assert_exit(&c, 1);
    assert!(stdout(&c).contains("2 failed"), "{}", stdout(&c));
    assert!(!stdout(&c).contains("missing"), "{}", stdout(&c));
}

#[test]
fn ctrl_c_leaves_the_batch_running_and_a_rerun_resumes_it_without_paying_again() {
    let (srv, _, inp, out) = setup("remote-resume");
    // Each new batch looks in progress for its first 40 looks (2 s at 0.05 s).
    srv.set_batch_polls(40);
    let child = spawn_remote(&srv, &inp, &out);
    wait_for("a few polls", || {
        count(&srv, "GET", "/v1/batches/batch_mock_1") >= 3
    });
    interrupt(&child);
    let o = finish(child, 20);
    assert_exit(&o, 130);
    let err = stderr(&o);
    let told: Vec<&str> = err.lines().filter(|l| l.contains("interrupted")).collect();
    assert_eq!(told.len(), 1, "{err}");
    assert!(told[0].contains("batch_mock_1"), "{err}");
    assert!(told[0].contains("rerun the same command"), "{err}");
    assert!(told[0].contains("--cancel"), "{err}");
    assert!(
        !out.exists() || std::fs::read(&out).unwrap().is_empty(),
        "nothing is written while the batch runs"
    );
    assert_eq!(state(&out)["batch_id"], "batch_mock_1");
    assert_eq!(state(&out)["collected"], false);
    let c = check(&inp, &out);
    assert_exit(&c, 1);

    let again = remote(&srv, &inp, &out, &[]);
    assert_exit(&again, 0);
    said(&again, "resuming remote batch batch_mock_1");
    assert_eq!(count(&srv, "POST", "/v1/files"), 1, "uploaded once");
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1, "created once");
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn cancel_cancels_the_recorded_batch_and_a_rerun_collects_what_it_did() {
    let (srv, d, inp, out) = setup("remote-cancel");
    srv.set_batch_polls(1000);
    let child = polling(&srv, &inp, &out);
    interrupt(&child);
    assert_exit(&finish(child, 20), 130);
    let c = remote(&srv, &inp, &out, &["--cancel"]);
    assert_exit(&c, 0);
    said(&c, "batch_mock_1: cancelling");
    assert_eq!(count(&srv, "POST", "/v1/batches/batch_mock_1/cancel"), 1);
    let again = remote(&srv, &inp, &out, &[]);
    said(&again, "batch_mock_1 cancelled");
    // Every line once: what the batch finished, or an error saying it was cancelled.
    assert_eq!(by_custom_id(&out).len(), 3);
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
    // No batch recorded: nothing to cancel.
    let other = d.join("other.jsonl");
    let none = remote(&srv, &inp, &other, &["--cancel"]);
    assert_exit(&none, 2);
    said(&none, "nothing to cancel");
}

#[test]
fn a_kill_during_the_download_never_leaves_an_output_that_looks_complete() {
    let (srv, d, inp, out) = setup("remote-kill");
    // The upload, the creation and the poll get the mock's answers; the output file's content
    // comes a byte every 5 ms (about 2 s), and the run is killed in the middle of it.
    let body: String = ["a", "b", "c"]
        .iter()
        .map(|id| {
            format!(
                "{}\n",
                json!({"id": format!("batch_req_{id}"), "custom_id": id, "error": null,
                       "response": {"status_code": 200, "request_id": "r", "body": {"ok": 1}}})
            )
        })
        .collect();
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::default_answer(),
        Reply::default_answer(),
        Reply::text(200, "application/octet-stream", body.clone())
            .trickle(Duration::from_millis(5)),
    ]);
    let mut child = spawn_remote(&srv, &inp, &out);
    wait_for("the download", || {
        srv.requests()
            .iter()
            .any(|r| r.method == "GET" && r.path_only().ends_with("/content"))
    });
    // Past the first line (about 130 bytes), not at the end (about 400).
    std::thread::sleep(Duration::from_millis(900));
    assert!(child.try_wait().unwrap().is_none(), "still downloading");
    child.kill().unwrap();
    let _ = child.wait();
    // Nothing under the output's name holds results: check says every line is missing.
    let c = check(&inp, &out);
    assert_exit(&c, 1);
    assert!(stdout(&c).contains("3 missing"), "{}", stdout(&c));
    assert_eq!(state(&out)["collected"], false);
    // The rerun downloads again and completes; nothing was uploaded or created twice.
    let again = remote(&srv, &inp, &out, &[]);
    assert_exit(&again, 0);
    assert_exit(&check(&inp, &out), 0);
    assert_eq!(count(&srv, "POST", "/v1/files"), 1);
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
    // The partial download was replaced, and nothing is left beside the output.
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
}

#[test]
fn stdin_is_read_once_and_uploaded_as_given() {
    let d = dir("remote-stdin");
    let srv = MockServer::start().unwrap();
    let lines = [
        chat_line("a", "mock-model", "one"),
        chat_line("b", "mock-model", "two"),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = d.join("out.jsonl");
    let o = run_in(
        &srv,
        &[
            "batch",
            "--remote",
            "-",
            "-o",
            out.to_str().unwrap(),
            "--poll-interval",
            "0.05",
        ],
        format!("\n{text}"),
    );
    assert_exit(&o, 0);
    let file = uploaded(&srv);
    assert_eq!(
        String::from_utf8_lossy(&file.data),
        text,
        "the lines, blank one left out"
    );
    assert_eq!(file.filename.as_deref(), Some("stdin.jsonl"));
    let form = upload_form(&srv);
    let purpose = form.iter().find(|p| p.name == "purpose").unwrap();
    assert_eq!(purpose.data, b"batch");
    assert_eq!(by_custom_id(&out).len(), 2);
    // The same stdin again: the same input, so the same (collected) batch.
    let again = run_in(
        &srv,
        &["batch", "--remote", "-", "-o", out.to_str().unwrap()],
        format!("\n{text}"),
    );
    assert_exit(&again, 0);
    said(&again, "nothing to do");
    // Another input for this output is refused.
    let other = run_in(
        &srv,
        &["batch", "--remote", "-", "-o", out.to_str().unwrap()],
        format!("{}\n", chat_line("z", "mock-model", "x")),
    );
    assert_exit(&other, 2);
    said(&other, "not the input of remote batch");
    assert_eq!(count(&srv, "POST", "/v1/files"), 1);
}

#[test]
fn bad_inputs_are_refused_before_anything_is_uploaded() {
    let d = dir("remote-bad");
    let srv = MockServer::start().unwrap();
    let out = d.join("out.jsonl");
    let mixed = input(
        &d,
        &[
            chat_line("a", "mock-model", "x"),
            json!({"custom_id": "e", "method": "POST", "url": "/v1/embeddings",
                   "body": {"model": "mock-model", "input": "x"}})
            .to_string(),
            "not json".to_owned(),
        ],
    );
    let o = remote(&srv, &mixed, &out, &[]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("one endpoint"), "{err}");
    assert!(err.contains("line 3: not JSON"), "{err}");
    assert!(err.contains("nothing was uploaded"), "{err}");
    // `-o -` cannot keep the batch's id, and --backend is for local runs.
    let inp = three(&d);
    let o = remote(&srv, &inp, Path::new("-"), &[]);
    assert_exit(&o, 2);
    let o = remote(&srv, &inp, &out, &["--backend", &srv.url()]);
    assert_exit(&o, 2);
    assert_eq!(
        srv.requests().iter().filter(|r| r.method == "POST").count(),
        0
    );
    // Nothing left beside the output.
    assert!(!out.exists() || std::fs::read(&out).unwrap().is_empty());
}

#[test]
fn lines_the_output_already_holds_are_not_uploaded() {
    let (srv, d, inp, out) = setup("remote-partial");
    // A local run of `a` alone first.
    let first_in = d.join("first.jsonl");
    write_lines(&first_in, &[chat_line("a", "mock-model", "one")]);
    assert_exit(
        &run(
            &srv,
            &[
                "batch",
                first_in.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
        ),
        0,
    );
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    let file = uploaded(&srv);
    let sent = String::from_utf8_lossy(&file.data).into_owned();
    assert_eq!(sent.lines().count(), 2, "{sent}");
    assert!(!sent.contains("\"a\""), "{sent}");
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn a_creation_whose_answer_is_lost_is_found_not_made_twice() {
    let (srv, d, inp, out) = setup("remote-lost-create");
    // The upload is answered; the batch is created but its answer is cut short. The retry
    // looks for a batch made from the file first, finds it, and polls it.
    srv.enqueue_all([Reply::default_answer(), Reply::default_answer().cut()]);
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    let err = stderr(&o);
    assert!(err.contains("found remote batch batch_mock_1"), "{err}");
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1, "created once");
    assert_exit(&check(&inp, &out), 0);

    // Without retries the run stops, saying so; the rerun finds the batch too.
    let out2 = d.join("out2.jsonl");
    srv.enqueue_all([Reply::default_answer(), Reply::default_answer().cut()]);
    let o = remote(&srv, &inp, &out2, &["--max-retries", "0"]);
    assert_exit(&o, 1);
    said(&o, "rerun the same command");
    assert_eq!(state(&out2)["batch_id"], Value::Null);
    let o = remote(&srv, &inp, &out2, &[]);
    assert_exit(&o, 0);
    said(&o, "found remote batch batch_mock_2");
    assert_eq!(count(&srv, "POST", "/v1/batches"), 2, "one per output");
    assert_eq!(count(&srv, "POST", "/v1/files"), 2, "one per output");
}

#[test]
fn a_batch_that_failed_or_expired_leaves_error_lines_saying_so() {
    let d = dir("remote-ended");
    let srv = MockServer::start().unwrap();
    let inp = three(&d);
    // The poll's answer says the batch failed validation: no files, every line an error.
    let out = d.join("failed.jsonl");
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::default_answer(),
        Reply::json(
            200,
            json!({"id": "batch_mock_1", "object": "batch", "status": "failed",
                   "errors": {"object": "list", "data": [
                       {"code": "invalid_model", "message": "no such model", "line": 2}]}})
            .to_string(),
        ),
    ]);
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("batch_mock_1 failed: line 2: no such model"),
        "{err}"
    );
    assert!(errors[0].contains("make a new batch"), "{err}");
    assert!(
        std::fs::read(&out).unwrap().is_empty(),
        "no line ran, none written"
    );
    let st = state(&out);
    assert_eq!(st["batch_id"], Value::Null, "{st}");
    assert_eq!(st["input_file_id"], Value::Null, "{st}");
    // The rerun uploads again and makes a new batch.
    let again = remote(&srv, &inp, &out, &[]);
    assert_exit(&again, 0);
    assert_eq!(state(&out)["batch_id"], "batch_mock_2");
    assert_eq!(count(&srv, "POST", "/v1/files"), 2);
    assert_exit(&check(&inp, &out), 0);

    // It expired with one line done: that line's result, the others an error each.
    let out = d.join("expired.jsonl");
    let a = json!({"id": "batch_req_1", "custom_id": "a", "error": null,
                   "response": {"status_code": 200, "request_id": "r", "body": {"ok": 1}}});
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::default_answer(),
        Reply::json(
            200,
            json!({"id": "batch_mock_3", "object": "batch", "status": "expired",
                   "output_file_id": "file-partial", "error_file_id": null,
                   "request_counts": {"total": 3, "completed": 1, "failed": 0}})
            .to_string(),
        ),
        Reply::text(200, "application/octet-stream", format!("{a}\n")),
    ]);
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 1);
    said(&o, "1 ok, 2 failed");
    let got = by_custom_id(&out);
    assert_eq!(got["a"]["error"], Value::Null);
    for id in ["b", "c"] {
        assert_eq!(got[id]["error"]["code"], "batch_expired", "{}", got[id]);
    }
    let c = check(&inp, &out);
    assert!(stdout(&c).contains("1 done once"), "{}", stdout(&c));
    assert!(stdout(&c).contains("2 failed: b, c"), "{}", stdout(&c));
    let msg = got["b"]["error"]["message"].as_str().unwrap();
    assert!(msg.contains("rerun with --retry-failed"), "{msg}");

    // --retry-failed sends the two that did not run in a new batch, and nothing else.
    let again = remote(&srv, &inp, &out, &["--retry-failed"]);
    assert_exit(&again, 0);
    said(&again, "the 2 line(s) whose result in");
    said(&again, "go to a new remote batch");
    let file = uploaded(&srv);
    let sent = String::from_utf8_lossy(&file.data).into_owned();
    assert_eq!(sent.lines().count(), 2, "{sent}");
    assert!(!sent.contains("\"a\""), "{sent}");
    let got = by_custom_id(&out);
    assert_eq!(got["a"]["id"], "batch_req_1", "a's line is kept");
    for id in ["a", "b", "c"] {
        assert_eq!(got[id]["error"], Value::Null, "{}", got[id]);
    }
    assert_exit(&check(&inp, &out), 0);
    assert_eq!(state(&out)["batch_id"], "batch_mock_4");
    // Nothing failed any more: nothing to do, with or without it.
    let o = remote(&srv, &inp, &out, &["--retry-failed"]);
    assert_exit(&o, 0);
    said(&o, "nothing to do");
    assert_eq!(count(&srv, "POST", "/v1/batches"), 4);
}

#[test]
fn a_batch_still_to_collect_is_collected_before_another_kind_is_made() {
    let (srv, _, inp, out) = setup("remote-retry-in-flight");
    srv.set_batch_polls(1000);
    let child = polling(&srv, &inp, &out);
    interrupt(&child);
    assert_exit(&finish(child, 20), 130);
    let o = remote(&srv, &inp, &out, &["--retry-failed"]);
    assert_exit(&o, 2);
    said(&o, "remote batch batch_mock_1 (recorded in");
    said(&o, "rerun without --retry-failed to collect it first");
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
}

#[test]
fn the_key_is_never_kept_and_another_server_is_refused() {
    let (srv, d, inp, out) = setup("remote-key");
    let key = "sk-remote-secret-4242";
    let o = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .env("OPENAI_API_KEY", key)
        .args(["batch", "--remote"])
        .arg(&inp)
        .arg("-o")
        .arg(&out)
        .args(["--poll-interval", "0.05"])
        .output()
        .unwrap();
    assert_exit(&o, 0);
    for f in std::fs::read_dir(&d).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        assert!(!text.contains(key), "{text}");
    }
    assert!(!stderr(&o).contains(key));
    let st = state(&out);
    assert_eq!(
        st["host"],
        srv.url()
            .trim_start_matches("http://")
            .trim_end_matches("/v1")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = d.join("out.jsonl.remote.json");
        assert_eq!(
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The same output against another server: refused, nothing sent there.
    let other = MockServer::start().unwrap();
    let o = remote(&other, &inp, &out, &[]);
    assert_exit(&o, 2);
    said(&o, "use that server, or another -o");
    assert_eq!(other.request_count(), 0);
}

#[test]
fn an_empty_input_uploads_nothing() {
    let d = dir("remote-empty");
    let srv = MockServer::start().unwrap();
    let inp = d.join("empty.jsonl");
    std::fs::write(&inp, "\n\n").unwrap();
    let out = d.join("out.jsonl");
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    said(&o, "has no requests");
    assert_eq!(srv.request_count(), 0);
}

#[test]
fn the_batchs_counts_are_drawn_on_a_terminal_and_said_elsewhere() {
    let d = dir("remote-progress");
    let srv = MockServer::start().unwrap();
    srv.set_batch_polls(5);
    let inp = three(&d);
    // Not a terminal: one line per change of status.
    let out = d.join("plain.jsonl");
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    let err = stderr(&o);
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("remote batch batch_mock_1: "))
        .collect();
    assert_eq!(
        said,
        [
            "remote batch batch_mock_1: in_progress (0 of 3 done, 0 failed)",
            "remote batch batch_mock_1: completed (3 of 3 done, 0 failed)"
        ],
        "{err}"
    );
    // A terminal (`script`): the bar, with the counts.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let out = d.join("tty.jsonl");
    let cmd = format!(
        "{} batch --remote {} -o {} --poll-interval 0.1",
        env!("CARGO_BIN_EXE_oai"),
        inp.display(),
        out.display()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("OPENAI_BASE_URL", srv.url())
        .env("OAI_NO_LOG", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{shown}");
    assert!(shown.contains("0/3 in_progress, 0 failed"), "{shown}");
    assert!(
        !shown.contains("remote batch batch_mock_2: in_progress"),
        "the bar instead: {shown}"
    );
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn a_file_redirected_to_dev_stdin_is_spooled_once() {
    let (srv, _, inp, out) = setup("remote-devstdin");
    let o = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args(["batch", "--remote", "/dev/stdin", "-o"])
        .arg(&out)
        .args(["--poll-interval", "0.05"])
        .stdin(std::fs::File::open(&inp).unwrap())
        .output()
        .unwrap();
    assert_exit(&o, 0);
    let file = uploaded(&srv);
    assert_eq!(file.data, std::fs::read(&inp).unwrap());
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn lines_removed_from_a_collected_output_are_downloaded_again() {
    let (srv, _, inp, out) = setup("remote-redownload");
    assert_exit(&remote(&srv, &inp, &out, &[]), 0);
    // Keep the first result only.
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::write(&out, format!("{}\n", text.lines().next().unwrap())).unwrap();
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    let err = stderr(&o);
    assert!(
        err.contains("downloading its results again for the 2 line(s)"),
        "{err}"
    );
    assert!(err.contains("2 ok, 0 failed"), "{err}");
    assert_exit(&check(&inp, &out), 0);
    assert_eq!(count(&srv, "POST", "/v1/files"), 1);
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
}

/// The lock file beside an output.
fn lock_of(output: &Path) -> PathBuf {
    output.with_file_name(format!(
        ".{}.lock",
        output.file_name().unwrap().to_string_lossy()
    ))
}

#[test]
fn a_second_run_on_the_same_output_stops_at_once() {
    let (srv, d, inp, out) = setup("remote-lock");
    // Each look says in progress for 5 s (100 looks at 0.05 s).
    srv.set_batch_polls(100);
    let child = polling(&srv, &inp, &out);
    let pid = child.id();
    // A second remote run, and a local run, on the same output: one line each, exit 2.
    let second = remote(&srv, &inp, &out, &[]);
    assert_exit(&second, 2);
    let err = stderr(&second);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "another oai batch is using {} (pid {pid})",
            out.display()
        )),
        "{err}"
    );
    let local = run(
        &srv,
        &["batch", inp.to_str().unwrap(), "-o", out.to_str().unwrap()],
    );
    assert_exit(&local, 2);
    said(&local, "another oai batch is using");
    assert_eq!(count(&srv, "POST", "/v1/files"), 1);
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
    assert_eq!(count(&srv, "POST", "/v1/chat/completions"), 0);
    interrupt(&child);
    assert_exit(&finish(child, 20), 130);
    assert!(!lock_of(&out).exists(), "the lock goes with its run");
    // A lock left by a run that no longer runs (kill -9) is taken over.
    std::fs::write(lock_of(&out), "4294967295\n").unwrap();
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    assert!(!lock_of(&out).exists());
    assert_exit(&check(&inp, &out), 0);
    // A local run's lock goes with it too.
    let local_out = d.join("local.jsonl");
    let o = run(
        &srv,
        &[
            "batch",
            inp.to_str().unwrap(),
            "-o",
            local_out.to_str().unwrap(),
        ],
    );
    assert_exit(&o, 0);
    assert!(!lock_of(&local_out).exists());
}

#[test]
fn lines_the_output_came_to_hold_while_the_batch_ran_are_not_written_twice() {
    let (srv, _, inp, out) = setup("remote-late-line");
    // In progress for 2 s (40 looks at 0.05 s).
    srv.set_batch_polls(40);
    let child = polling(&srv, &inp, &out);
    // Something else writes `a`'s result while the batch runs.
    let late = json!({"id": "batch_req_77", "custom_id": "a", "error": null,
                      "response": {"status_code": 200, "request_id": "r", "body": {"late": 1}}});
    std::fs::write(&out, format!("{late}\n")).unwrap();
    let o = finish(child, 20);
    assert_exit(&o, 0);
    let got = by_custom_id(&out);
    assert_eq!(got.len(), 3);
    assert_eq!(got["a"]["id"], "batch_req_77", "{}", got["a"]);
    said(&o, "came to hold");
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn earlier_lines_of_an_id_written_twice_are_dropped() {
    let (srv, _, inp, out) = setup("remote-compact");
    // Left by a killed `--retry-failed` run: `a` failed, then succeeded.
    let failed = json!({"id": "batch_req_1", "custom_id": "a", "response": null,
                        "error": {"code": "x", "message": "failed"}});
    let ok = json!({"id": "batch_req_2", "custom_id": "a", "error": null,
                    "response": {"status_code": 200, "request_id": "r", "body": {}}});
    std::fs::write(&out, format!("{failed}\n{ok}\n")).unwrap();
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    let got = by_custom_id(&out);
    assert_eq!(got.len(), 3);
    assert_eq!(got["a"]["id"], "batch_req_2");
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn a_list_that_fails_stops_the_run_instead_of_creating_again() {
    let (srv, _, inp, out) = setup("remote-list-fails");
    // The creation's answer is lost, and the list that would find the batch fails.
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::default_answer().cut(),
        Reply::json(
            400,
            json!({"error": {"message": "no", "type": "invalid_request_error"}}).to_string(),
        ),
    ]);
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("could not check whether a batch was already created from file file-mock-1"),
        "{err}"
    );
    assert!(err.contains("rerun later"), "{err}");
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1, "not created again");
    let st = state(&out);
    assert_eq!(st["batch_id"], Value::Null);
    assert_eq!(st["input_file_id"], "file-mock-1");
    assert!(st["creating_since"].is_i64(), "{st}");
    // The rerun finds it.
    let again = remote(&srv, &inp, &out, &[]);
    assert_exit(&again, 0);
    said(&again, "found remote batch batch_mock_1");
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
}

#[test]
fn a_server_without_the_list_counts_as_no_batch_made() {
    let (srv, _, inp, out) = setup("remote-no-list");
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::json(500, json!({"error": {"message": "lost"}}).to_string()),
        Reply::json(
            404,
            json!({"error": {"message": "no such route"}}).to_string(),
        ),
    ]);
    let o = remote(&srv, &inp, &out, &["--max-retries", "1"]);
    assert_exit(&o, 0);
    assert_eq!(count(&srv, "GET", "/v1/batches"), 1);
    assert_eq!(count(&srv, "POST", "/v1/batches"), 2);
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn the_batch_made_is_looked_for_on_later_pages() {
    let (srv, _, inp, out) = setup("remote-list-pages");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let other = json!({"id": "batch_other", "object": "batch", "status": "in_progress",
                       "input_file_id": "file-other", "created_at": now});
    let ours = json!({"id": "batch_mock_1", "object": "batch", "status": "in_progress",
                      "input_file_id": "file-mock-1", "created_at": now});
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::default_answer().cut(),
        Reply::json(
            200,
            json!({"object": "list", "data": [other], "has_more": true,
                   "last_id": "batch_other"})
            .to_string(),
        ),
        Reply::json(
            200,
            json!({"object": "list", "data": [ours], "has_more": false}).to_string(),
        ),
    ]);
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    said(&o, "found remote batch batch_mock_1");
    let lists: Vec<_> = srv
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path_only() == "/v1/batches")
        .collect();
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[1].query("after").as_deref(), Some("batch_other"));
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1, "created once");
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn an_empty_id_in_an_answer_is_a_failed_creation() {
    let d = dir("remote-empty-id");
    let srv = MockServer::start().unwrap();
    let inp = three(&d);
    // A batch answer without an id: never recorded; looked for, then created again.
    let out = d.join("out.jsonl");
    srv.enqueue_all([
        Reply::default_answer(),
        Reply::json(200, json!({"id": "", "object": "batch"}).to_string()),
    ]);
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    assert_eq!(state(&out)["batch_id"], "batch_mock_1");
    assert_exit(&check(&inp, &out), 0);
    // A file answer without an id: the run stops, nothing recorded or created.
    let out = d.join("out2.jsonl");
    srv.enqueue(Reply::json(
        200,
        json!({"id": null, "object": "file"}).to_string(),
    ));
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 1);
    said(&o, "names no file id");
    assert!(!d.join("out2.jsonl.remote.json").exists());
    assert_eq!(count(&srv, "POST", "/v1/batches"), 2);
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_as_a_part_file_is_not_followed() {
    let (srv, d, inp, out) = setup("remote-symlink");
    let victim = d.join("victim.txt");
    std::fs::write(&victim, "precious\n").unwrap();
    for what in ["remote-output", "remote-errors", "remote-input"] {
        std::os::unix::fs::symlink(&victim, d.join(format!(".out.jsonl.{what}.part"))).unwrap();
    }
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 0);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_exit(&check(&inp, &out), 0);
}

#[test]
fn a_download_cut_short_is_a_failed_download_not_lost_lines() {
    let (srv, _, inp, out) = setup("remote-cut-download");
    let a = ok_line("a");
    batch_output_is(&srv, format!("{a}\n{{\"custom_id\": \"b\", \"resp"));
    let o = remote(&srv, &inp, &out, &[]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
    assert!(err.contains("cut"), "{err}");
    assert!(err.contains("rerun the same command"), "{err}");
    assert_eq!(state(&out)["collected"], false);
    assert!(std::fs::read(&out).unwrap().is_empty(), "nothing written");
    // The rerun downloads it again, whole.
    let again = remote(&srv, &inp, &out, &[]);
    assert_exit(&again, 0);
    assert_exit(&check(&inp, &out), 0);
    assert_eq!(count(&srv, "POST", "/v1/batches"), 1);
}

#[cfg(unix)]
#[test]
fn files_upload_reads_a_socket_on_stdin() {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    let d = dir("files-socket");
    let srv = MockServer::start().unwrap();
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let child = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .env("TMPDIR", &d)
        .args(["files", "upload", "-", "--purpose", "batch"])
        .stdin(Stdio::from(std::os::fd::OwnedFd::from(theirs)))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let text = format!("{}\n", chat_line("a", "mock-model", "x"));
    ours.write_all(text.as_bytes()).unwrap();
    drop(ours);
    let o = finish(child, 20);
    assert_exit(&o, 0);
    let file = uploaded(&srv);
    assert_eq!(String::from_utf8_lossy(&file.data), text);
    assert_eq!(file.filename.as_deref(), Some("stdin"));
    // The copy in the temporary directory is gone.
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
}
