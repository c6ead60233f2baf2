//! `oai respond`: the Responses API with `oai chat`'s conventions, against scripted replies of
//! the mock (named events, final events, failures, cut streams) and its built-in answers.

mod support;

use serde_json::{Value, json};
use support::*;

fn event(data: Value) -> String {
    format!(
        "event: {}\ndata: {data}\n\n",
        data["type"].as_str().unwrap()
    )
}

fn delta(t: &str) -> String {
    event(
        json!({"type": "response.output_text.delta", "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": t}),
    )
}

fn response(status: &str, text: &str) -> Value {
    json!({"id": "resp_1", "object": "response", "status": status, "model": "m",
           "output": [{"type": "message", "id": "msg_1", "role": "assistant",
                       "content": [{"type": "output_text", "text": text, "annotations": []}]}]})
}

#[test]
fn streams_the_text_deltas_until_the_final_event() {
    let srv = MockServer::start().unwrap();
    srv.enqueue(
        Reply::sse()
            .raw(event(
                json!({"type": "response.created", "response": response("in_progress", "")}),
            ))
            .raw(delta("Bon"))
            .raw(": keep-alive\n\n")
            .raw(delta("jour"))
            .raw(event(
                json!({"type": "response.output_text.done", "text": "Bonjour"}),
            ))
            .raw(event(
                json!({"type": "response.completed", "response": response("completed", "Bonjour")}),
            )),
    );
    let out = run(
        &srv,
        &[
            "respond",
            "-m",
            "m",
            "-s",
            "Answer in French.",
            "--temperature",
            "0.5",
            "--max-tokens",
            "9",
            "Hello",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Bonjour\n");
    let req = &srv.requests()[0];
    assert_eq!(req.path, "/v1/responses");
    let body = req.json().unwrap();
    assert_eq!(body["input"], "Hello");
    assert_eq!(body["instructions"], "Answer in French.");
    assert_eq!(body["max_output_tokens"], 9);
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["stream"], true);
}

#[test]
fn a_failed_response_or_a_cut_stream_fails_after_what_arrived() {
    let srv = MockServer::start().unwrap();
    let mut failed = response("failed", "");
    failed["error"] = json!({"code": "server_error", "message": "engine died"});
    srv.enqueue(Reply::sse().raw(delta("Par")).raw(event(
        json!({"type": "response.failed", "response": failed}),
    )));
    let out = run(&srv, &["respond", "-m", "m", "x"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "Par\n");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("engine died"), "{}", stderr(&out));
    // The body ends without a final event.
    srv.enqueue(Reply::sse().raw(delta("Half")));
    let out = run(&srv, &["respond", "-m", "m", "--max-retries", "0", "x"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "Half\n");
    assert!(
        stderr(&out).contains("response.completed"),
        "{}",
        stderr(&out)
    );
    // An `error` event.
    srv.enqueue(Reply::sse().raw(event(
        json!({"type": "error", "code": "rate_limit", "message": "slow down"}),
    )));
    let out = run(&srv, &["respond", "-m", "m", "x"]);
    assert_exit(&out, 1);
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("slow down"), "{}", stderr(&out));
}

#[test]
fn no_stream_json_and_schema() {
    let srv = MockServer::start().unwrap();
    srv.enqueue(Reply::json(
        200,
        response("completed", "Whole reply").to_string(),
    ));
    let out = run_in(&srv, &["respond", "--no-stream", "-m", "m"], "from stdin");
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Whole reply\n");
    let body = srv.requests().last().unwrap().json().unwrap();
    assert!(body.get("stream").is_none());
    assert_eq!(body["input"], "from stdin");
    // --json --no-stream: the final response object, one line.
    srv.enqueue(Reply::json(200, response("completed", "x").to_string()));
    let out = run(&srv, &["respond", "--json", "--no-stream", "-m", "m", "hi"]);
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["object"], "response");
    assert_eq!(stdout(&out).lines().count(), 1);
    // --schema: strict text format; the JSON reply on one line; not JSON fails.
    let d = dir("respond-schema");
    let schema = d.join("s.json");
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"]}"#,
    )
    .unwrap();
    let schema = schema.to_str().unwrap();
    srv.enqueue(Reply::json(
        200,
        response("completed", "{\n \"ok\": true\n}").to_string(),
    ));
    let out = run(&srv, &["respond", "-m", "m", "--schema", schema, "ok?"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "{\"ok\":true}\n");
    let body = srv.requests().last().unwrap().json().unwrap();
    assert_eq!(
        body["text"]["format"],
        json!({"type": "json_schema", "name": "response", "strict": true,
               "schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}})
    );
    let mut cut = response("incomplete", "{\"ok\": tr");
    cut["incomplete_details"] = json!({"reason": "max_output_tokens"});
    srv.enqueue(Reply::json(200, cut.to_string()));
    let out = run(&srv, &["respond", "-m", "m", "--schema", schema, "ok?"]);
    assert_exit(&out, 1);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("raise --max-tokens"),
        "{}",
        stderr(&out)
    );
    // An HTTP error: one line, exit 1 (vLLM without the Responses API answers 404).
    srv.enqueue(Reply::json(404, r#"{"detail":"Not Found"}"#));
    let out = run(&srv, &["respond", "--no-stream", "-m", "m", "hi"]);
    assert_exit(&out, 1);
    assert_eq!(stderr(&out).lines().count(), 1);
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
}

#[test]
fn the_mocks_own_answers_streamed_or_whole_agree() {
    let srv = MockServer::start().unwrap();
    let streamed = run(&srv, &["respond", "hello", "there"]);
    assert_exit(&streamed, 0);
    assert_eq!(stdout(&streamed), "Mock reply to: hello there\n");
    let whole = run(&srv, &["respond", "--no-stream", "hello", "there"]);
    assert_exit(&whole, 0);
    assert_eq!(whole.stdout, streamed.stdout);
    // Structured output: the mock answers a json_schema format with matching JSON.
    let d = dir("respond-mock-schema");
    let schema = d.join("n.json");
    std::fs::write(
        &schema,
        r#"{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}"#,
    )
    .unwrap();
    let out = run(
        &srv,
        &["respond", "--schema", schema.to_str().unwrap(), "a number"],
    );
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(stdout(&out).trim_end()).unwrap();
    assert!(v["n"].is_i64(), "{v}");
}
