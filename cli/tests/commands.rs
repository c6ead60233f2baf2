//! `oai models`, `chat`, `complete`, `embed` and `mock` as a user runs them: the real binary
//! against the built-in mock, with stdout, stderr and exit codes checked.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Output, Stdio};

use serde_json::{Value, json};
use support::*;

fn last_body(srv: &MockServer) -> Value {
    srv.requests().last().unwrap().json().unwrap()
}

#[test]
fn models_one_id_per_line_or_the_servers_object() {
    let srv = MockServer::start().unwrap();
    srv.set_models(["tiny-llama", "org/lora-a"]);
    let out = run(&srv, &["models"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "tiny-llama\norg/lora-a\n");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let out = run(&srv, &["models", "--json"]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][1]["id"], "org/lora-a");
    assert_eq!(
        v["data"][0]["max_model_len"], 2048,
        "vLLM's fields are kept"
    );
}

#[test]
fn chat_streams_the_reply_with_the_first_listed_model() {
    let srv = MockServer::start().unwrap();
    srv.set_models(["first", "second"]);
    let out = run(&srv, &["chat", "hello", "world"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Mock reply to: hello world\n");
    let body = last_body(&srv);
    assert_eq!(body["model"], "first");
    assert_eq!(body["stream"], true);
    assert_eq!(
        body["messages"],
        json!([{"role": "user", "content": "hello world"}])
    );
}

#[test]
fn chat_options_reach_the_request() {
    let srv = MockServer::start().unwrap();
    srv.set_models(["m1", "m2"]);
    let out = run_in(
        &srv,
        &[
            "chat",
            "-m",
            "m2",
            "-s",
            "Be brief.",
            "--temperature",
            "0.2",
            "--max-tokens",
            "2",
            "--no-stream",
        ],
        "from stdin\n",
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Mock reply\n");
    let body = last_body(&srv);
    assert_eq!(body["model"], "m2");
    assert!(body.get("stream").is_none(), "{body}");
    assert_eq!(body["max_tokens"], 2);
    assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
    assert_eq!(
        body["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "from stdin\n"}])
    );
    assert_eq!(
        srv.request_count(),
        1,
        "-m given: the model list is not fetched"
    );
}

#[test]
fn piped_context_comes_before_the_prompt_as_with_llm() {
    let srv = MockServer::start().unwrap();
    srv.set_models(["m"]);
    let user_text = |srv: &MockServer| {
        let body = last_body(srv);
        let msgs = body["messages"].as_array().unwrap().clone();
        msgs.last().unwrap()["content"].as_str().unwrap().to_owned()
    };
    let out = run_in(
        &srv,
        &["chat", "-m", "m", "--no-stream", "summarize", "this"],
        "  CONTEXT\n",
    );
    assert_exit(&out, 0);
    assert_eq!(
        user_text(&srv),
        "  CONTEXT\n summarize this",
        "stdin as it is, then the words"
    );
    // Nothing piped: the words alone; only stdin: all of it.
    let out = run_in(&srv, &["chat", "-m", "m", "--no-stream", "summarize"], "");
    assert_exit(&out, 0);
    assert_eq!(user_text(&srv), "summarize");
    let out = run_in(
        &srv,
        &["complete", "-m", "m", "--no-stream", "and then"],
        "Once upon a time,",
    );
    assert_exit(&out, 0);
    assert_eq!(last_body(&srv)["prompt"], "Once upon a time, and then");
    let out = run_in(
        &srv,
        &["respond", "-m", "m", "--no-stream", "summarize"],
        "CONTEXT",
    );
    assert_exit(&out, 0);
    assert_eq!(last_body(&srv)["input"], "CONTEXT summarize");
}

#[test]
fn dash_o_sets_any_request_field_typed_where_known() {
    let srv = MockServer::start().unwrap();
    srv.set_models(["m"]);
    let out = run(
        &srv,
        &[
            "chat",
            "-m",
            "m",
            "--no-stream",
            "-o",
            "top_p",
            "0.5",
            "-o",
            "stop",
            "END",
            "-o",
            "stop",
            "-x-",
            "-o",
            "seed",
            "-3",
            "-o",
            "top_k",
            "20",
            "-o",
            "ignore_eos",
            "true",
            "-o",
            "note",
            "free text",
            "hi",
        ],
    );
    assert_exit(&out, 0);
    let body = last_body(&srv);
    assert_eq!(body["top_p"], 0.5);
    assert_eq!(body["stop"], json!(["END", "-x-"]));
    assert_eq!(
        (body["seed"].clone(), body["top_k"].clone()),
        (json!(-3), json!(20))
    );
    assert_eq!(
        (body["ignore_eos"].clone(), body["note"].clone()),
        (json!(true), json!("free text"))
    );
    assert_eq!(body["messages"][0]["content"], "hi");
    let out = run(
        &srv,
        &["complete", "-m", "m", "--no-stream", "-o", "n", "2", "x"],
    );
    assert_exit(&out, 0);
    assert_eq!(last_body(&srv)["n"], 2);
    let out = run(
        &srv,
        &[
            "respond",
            "-m",
            "m",
            "--no-stream",
            "-o",
            "top_p",
            "0.25",
            "x",
        ],
    );
    assert_exit(&out, 0);
    assert_eq!(last_body(&srv)["top_p"], 0.25);
    // --options lists them without a server; a bad value sends nothing.
    let before = srv.request_count();
    let out = run(&srv, &["chat", "--options"]);
    assert_exit(&out, 0);
    for key in [
        "top_p",
        "stop",
        "seed",
        "n",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "top_k",
        "min_p",
        "repetition_penalty",
    ] {
        assert!(
            stdout(&out).contains(&format!("  {key} ")),
            "{key}: {}",
            stdout(&out)
        );
    }
    let out = run(&srv, &["chat", "-m", "m", "-o", "top_p", "2", "hi"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("-o top_p \"2\": must be from 0 to 1"),
        "{}",
        stderr(&out)
    );
    let out = run(&srv, &["chat", "-m", "m", "-o", "temperature", "1", "hi"]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("set by --temperature"),
        "{}",
        stderr(&out)
    );
    assert_eq!(srv.request_count(), before);
}

#[test]
fn model_from_the_environment_and_global_options_after_the_command() {
    let srv = MockServer::start().unwrap();
    srv.set_models(["a", "b"]);
    srv.set_api_key(Some("sk-cli-test"));
    let out = oai()
        .env("OAI_MODEL", "b")
        .args([
            "chat",
            "hi",
            "--base-url",
            &srv.url(),
            "--api-key",
            "sk-cli-test",
            "--max-retries",
            "0",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let req = &srv.requests()[0];
    assert_eq!(req.json().unwrap()["model"], "b");
    assert_eq!(req.header("authorization"), Some("Bearer sk-cli-test"));
}

#[test]
fn json_prints_the_servers_completion_object_on_one_line() {
    let srv = MockServer::start().unwrap();
    let out = run(
        &srv,
        &["chat", "--json", "--no-stream", "-m", "mock-model", "hi"],
    );
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "Mock reply to: hi");
    assert!(
        v["choices"][0].get("stop_reason").is_some(),
        "vLLM's fields are kept: {v}"
    );
    let out = run(
        &srv,
        &[
            "complete",
            "--json",
            "--no-stream",
            "-m",
            "mock-model",
            "once",
        ],
    );
    assert_exit(&out, 0);
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["object"], "text_completion");
}

#[test]
fn json_streams_the_servers_chunks_as_json_lines() {
    let srv = MockServer::start().unwrap();
    let lines = |o: &Output| -> Vec<Value> {
        stdout(o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let out = run(&srv, &["chat", "--json", "-m", "mock-model", "a b"]);
    assert_exit(&out, 0);
    let chunks = lines(&out);
    assert!(chunks.len() > 2, "{chunks:?}");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Mock reply to: a b");
    assert_eq!(last_body(&srv)["stream"], true);
    let out = run(&srv, &["complete", "--json", "-m", "mock-model", "once"]);
    assert_exit(&out, 0);
    assert!(lines(&out).iter().all(|c| c["object"] == "text_completion"));
    let out = run(&srv, &["respond", "--json", "-m", "mock-model", "hi"]);
    assert_exit(&out, 0);
    let events = lines(&out);
    assert_eq!(
        events.last().unwrap()["type"],
        "response.completed",
        "{events:?}"
    );
    // A stream cut without its end: the lines that came, then the error.
    srv.enqueue(
        Reply::sse().event(r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"part"}}]}"#),
    );
    let out = run(&srv, &["chat", "--json", "-m", "mock-model", "x"]);
    assert_exit(&out, 1);
    assert_eq!(lines(&out).len(), 1);
}

#[test]
fn a_stream_cut_without_done_prints_what_arrived_then_fails() {
    let srv = MockServer::start().unwrap();
    let chunk = |t: &str| {
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
               "choices": [{"index": 0, "delta": {"content": t}, "finish_reason": null}]})
        .to_string()
    };
    srv.enqueue(
        Reply::sse()
            .event(chunk("Hello"))
            .event(chunk(" wor"))
            .cut(),
    );
    let out = run(&srv, &["chat", "-m", "m", "--max-retries", "0", "hi"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "Hello wor\n");
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ") && err.contains("ended early"),
        "{err}"
    );
    // A body that ends cleanly but without `data: [DONE]` is cut too.
    srv.enqueue(Reply::sse().event(chunk("Hi")));
    let out = run(&srv, &["chat", "-m", "m", "--max-retries", "0", "hi"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "Hi\n");
    assert!(stderr(&out).contains("[DONE]"), "{}", stderr(&out));
}

/// A chat chunk, then an error event (then `[DONE]`, as vLLM sends it).
fn in_band_error() -> Reply {
    Reply::sse()
        .event(r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Par"}}]}"#)
        .event(r#"{"error":{"message":"engine died","type":"InternalServerError","code":500}}"#)
        .done()
}

#[test]
fn an_in_band_error_prints_what_arrived_then_fails() {
    let srv = MockServer::start().unwrap();
    srv.enqueue(in_band_error());
    let out = run(&srv, &["complete", "-m", "m", "x"]);
    assert_exit(&out, 1);
    assert_eq!(
        stdout(&out),
        "",
        "nothing arrived: a completion chunk has `text`, not `content`"
    );
    assert!(stderr(&out).contains("engine died"), "{}", stderr(&out));
    let srv = MockServer::start().unwrap();
    srv.enqueue(in_band_error());
    let out = run(&srv, &["chat", "-m", "m", "x"]);
    assert_exit(&out, 1);
    assert_eq!(stdout(&out), "Par\n");
    assert!(stderr(&out).contains("engine died"), "{}", stderr(&out));
}

#[test]
fn api_errors_are_one_line_on_stderr_with_exit_1() {
    let srv = MockServer::start().unwrap();
    srv.enqueue(Reply::json(
        400,
        r#"{"error":{"message":"This model's maximum context length is 2048 tokens.\nPlease reduce.","type":"BadRequestError","code":400}}"#,
    ));
    let out = run(
        &srv,
        &["chat", "-m", "m", "--max-retries", "0", "--no-stream", "x"],
    );
    assert_exit(&out, 1);
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: ")
            && err.contains("maximum context length is 2048 tokens. Please reduce."),
        "{err}"
    );
    // An unreachable server: exit 1 too.
    let out = oai()
        .args([
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--max-retries",
            "0",
            "models",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("connection"), "{}", stderr(&out));
}

#[test]
fn usage_errors_exit_2() {
    let srv = MockServer::start().unwrap();
    for args in [
        &["chat", "--no-such-flag", "x"][..],
        &["chat", "--timeout", "0", "x"],
        &["chat", "--timeout", "1e300", "x"],
        &["chat", "--temperature", "NaN", "x"],
        &["embed", "--batch-size", "0", "x"],
        &["batch", "in.jsonl"],
        &["mock", "--host", "0.0.0.0"],
        &["chat", "-i", "--json"],
        &["nonsense"],
    ] {
        let out = run(&srv, args);
        assert_exit(&out, 2);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // An empty prompt, a bad base URL: usage errors too, and nothing is sent.
    let out = run_in(&srv, &["chat", "-m", "m"], "  \n");
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("prompt is empty"), "{}", stderr(&out));
    let out = oai()
        .args(["--base-url", "ftp://host", "models"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("base_url \"ftp://host\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(srv.request_count(), 0);
    // --help is not an error.
    let out = oai().args(["batch", "--help"]).output().unwrap();
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("--retry-failed"));
}

#[test]
fn a_missing_route_or_model_says_what_the_server_serves() {
    let srv = MockServer::start().unwrap();
    srv.set_models(["tiny-llama", "other"]);
    // vLLM serving a chat model has no /embeddings route: FastAPI's 404.
    srv.enqueue(Reply::json(404, r#"{"detail":"Not Found"}"#));
    let out = run(&srv, &["embed", "-m", "tiny-llama", "hello"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("/embeddings at http://127.0.0.1:")
            && err.contains("404")
            && err.contains("Not Found")
            && err.contains("it serves tiny-llama, other: pass -m"),
        "{err}"
    );
    let methods: Vec<String> = srv.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["POST", "GET"], "one /models call, after the 404");
    // A mistyped model, on chat.
    srv.enqueue(Reply::openai_error(
        404,
        "NotFoundError",
        "model_not_found",
        "The model `tiny-lama` does not exist.",
    ));
    let out = run(&srv, &["chat", "-m", "tiny-lama", "--no-stream", "hi"]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("does not exist") && err.contains("it serves tiny-llama, other"),
        "{err}"
    );
    // Other errors make no extra call.
    srv.enqueue(Reply::error(400, "bad"));
    let before = srv.request_count();
    let out = run(&srv, &["embed", "-m", "tiny-llama", "hello"]);
    assert_exit(&out, 1);
    assert!(!stderr(&out).contains("it serves"), "{}", stderr(&out));
    assert_eq!(srv.request_count(), before + 1);
}

#[test]
fn input_that_is_not_utf8_is_a_usage_error_saying_where() {
    let srv = MockServer::start().unwrap();
    for (args, input, what) in [
        (
            &["chat", "-m", "m"][..],
            &b"caf\xe9 au lait"[..],
            "the prompt on stdin is not UTF-8 text (byte 0xE9 at offset 3)",
        ),
        (
            &["respond", "-m", "m"],
            b"\xff",
            "the prompt on stdin is not UTF-8 text (byte 0xFF at offset 0)",
        ),
        (
            &["embed", "-m", "m"],
            b"ok\nok\r\nno \xc3(\n",
            "stdin line 3 is not UTF-8 text (byte 0xC3 at offset 3)",
        ),
        (
            &["chat", "-m", "m", "-i"],
            b"\xfe\n",
            "a line on stdin is not UTF-8 text",
        ),
    ] {
        let out = run_in(&srv, args, input);
        assert_exit(&out, 2);
        let err = stderr(&out);
        assert!(
            err.contains(what) && err.contains("iconv"),
            "{args:?}: {err}"
        );
    }
    let posts = srv.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 0, "nothing was sent");
}

#[test]
fn verbose_logs_requests_and_retries_but_never_the_key() {
    let srv = MockServer::start().unwrap();
    srv.enqueue(Reply::error(503, "busy").header("retry-after-ms", "10"));
    let out = oai()
        .env("OPENAI_API_KEY", "sk-very-secret-123")
        .args([
            "-v",
            "--base-url",
            &srv.url(),
            "chat",
            "-m",
            "mock-model",
            "hi",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let err = stderr(&out);
    assert!(err.contains("retrying"), "{err}");
    assert!(err.contains("POST /chat/completions -> 200"), "{err}");
    assert!(!err.contains("sk-very-secret-123"), "{err}");
    assert_eq!(
        srv.requests()[0].header("authorization"),
        Some("Bearer sk-very-secret-123")
    );
    // The key's value is not shown by --help either.
    let help = oai()
        .env("OPENAI_API_KEY", "sk-very-secret-123")
        .arg("--help")
        .output()
        .unwrap();
    assert!(!stdout(&help).contains("sk-very-secret-123"));
    // Without -v nothing but the answer.
    let out = run(&srv, &["chat", "-m", "mock-model", "hi"]);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn schema_sends_a_strict_format_and_prints_one_json_line() {
    let d = dir("schema");
    let schema = d.join("answer.json");
    std::fs::write(
        &schema,
        r#"{"title": "answer", "type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false}"#,
    )
    .unwrap();
    let schema = schema.to_str().unwrap();
    let srv = MockServer::start().unwrap();
    let reply = |content: &str, finish: &str| {
        Reply::json(
            200,
            json!({"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}]})
            .to_string(),
        )
    };
    srv.enqueue(reply("{ \"n\" :\n 4 }", "stop"));
    let out = run(&srv, &["chat", "-m", "m", "--schema", schema, "2+2?"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "{\"n\":4}\n");
    let body = last_body(&srv);
    assert!(body.get("stream").is_none());
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["name"], "answer");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        body["response_format"]["json_schema"]["schema"]["required"],
        json!(["n"])
    );
    // Not JSON: exit 1, nothing on stdout; a cut reply says why.
    srv.enqueue(reply("{\"n\": ", "length"));
    let out = run(&srv, &["chat", "-m", "m", "--schema", schema, "2+2?"]);
    assert_exit(&out, 1);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("not JSON") && stderr(&out).contains("--max-tokens"),
        "{}",
        stderr(&out)
    );
    // A schema file that is not a JSON object.
    std::fs::write(d.join("bad.json"), "[1]").unwrap();
    let out = run(
        &srv,
        &[
            "chat",
            "-m",
            "m",
            "--schema",
            d.join("bad.json").to_str().unwrap(),
            "x",
        ],
    );
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("JSON object"), "{}", stderr(&out));
}

#[test]
fn interactive_keeps_the_conversation_until_exit() {
    let srv = MockServer::start().unwrap();
    let out = run_in(
        &srv,
        &["chat", "-i", "-m", "mock-model", "-s", "sys", "first turn"],
        "second turn\n\n/exit\nnever sent\n",
    );
    assert_exit(&out, 0);
    assert_eq!(
        stdout(&out),
        "Mock reply to: first turn\nMock reply to: second turn\n"
    );
    assert_eq!(srv.request_count(), 2);
    let body = last_body(&srv);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "first turn"},
            {"role": "assistant", "content": "Mock reply to: first turn"},
            {"role": "user", "content": "second turn"},
        ])
    );
    // A failed turn is reported and dropped; the loop goes on; end of input ends it.
    srv.enqueue(Reply::error(400, "bad turn"));
    let out = run_in(
        &srv,
        &["chat", "-i", "--max-retries", "0", "-m", "mock-model"],
        "one\ntwo\n",
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Mock reply to: two\n");
    assert!(stderr(&out).contains("bad turn"));
    assert_eq!(
        last_body(&srv)["messages"],
        json!([{"role": "user", "content": "two"}])
    );
}

#[test]
fn complete_streams_or_waits() {
    let srv = MockServer::start().unwrap();
    let out = run(&srv, &["complete", "--max-tokens", "3", "Once", "upon"]);
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Mock reply to:\n");
    let body = last_body(&srv);
    assert_eq!(
        (body["prompt"].as_str(), body["stream"].as_bool()),
        (Some("Once upon"), Some(true))
    );
    let out = run_in(
        &srv,
        &["complete", "--no-stream", "-m", "mock-model"],
        "a b",
    );
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Mock reply to: a b\n");
}

#[test]
fn embed_prints_one_line_per_input_in_order_in_batches() {
    let srv = MockServer::start().unwrap();
    let input: String = (0..5).map(|i| format!("text {i}\r\n")).collect();
    let out = run_in(
        &srv,
        &[
            "embed",
            "-m",
            "mock-model",
            "--batch-size",
            "2",
            "--dimensions",
            "3",
        ],
        &input,
    );
    assert_exit(&out, 0);
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["index"], i);
        assert_eq!(l["embedding"].as_array().unwrap().len(), 3);
        assert_eq!(l.as_object().unwrap().len(), 2, "{l}");
    }
    assert!(stdout(&out).starts_with("{\"index\":0,\"embedding\":["));
    let reqs: Vec<Value> = srv.requests().iter().map(|r| r.json().unwrap()).collect();
    assert_eq!(reqs.len(), 3, "5 inputs in batches of 2");
    assert_eq!(reqs[0]["input"], json!(["text 0", "text 1"]));
    assert_eq!(reqs[2]["input"], json!(["text 4"]));
    assert_eq!(reqs[0]["dimensions"], 3);
    // The same texts as arguments give the same vectors.
    let out2 = run(
        &srv,
        &[
            "embed",
            "-m",
            "mock-model",
            "--dimensions",
            "3",
            "text 0",
            "text 1",
        ],
    );
    assert_exit(&out2, 0);
    let first_two: String = stdout(&out)
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(stdout(&out2), first_two);
    // A server that returns fewer vectors than inputs is an error, not a silent shift.
    srv.enqueue(Reply::json(
        200,
        r#"{"object":"list","model":"m","data":[{"object":"embedding","index":0,"embedding":[1.0]}]}"#,
    ));
    let out = run(&srv, &["embed", "-m", "m", "a", "b"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("1 embeddings for 2 inputs"),
        "{}",
        stderr(&out)
    );
    // Nothing to embed is a usage error.
    let out = run(&srv, &["embed", "-m", "m"]);
    assert_exit(&out, 2);
}

/// `oai mock ARGS`, running, and the first line it printed (its URL, with its newline).
fn spawn_mock(args: &[&str]) -> (std::process::Child, String) {
    let mut child = oai()
        .arg("mock")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    (child, first)
}

#[test]
fn mock_prints_its_url_serves_and_stops_on_ctrl_c_with_130() {
    let (mut child, first) = spawn_mock(&["--port", "0"]);
    let url = first.trim_end();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"),
        "{first:?}"
    );
    let out = oai()
        .args(["--base-url", url, "chat", "hi"])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert_eq!(stdout(&out), "Mock reply to: hi\n");
    interrupt(&child);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let out = oai()
        .args(["--base-url", url, "--max-retries", "0", "models"])
        .output()
        .unwrap();
    assert_exit(&out, 1);
}

#[test]
fn mock_latency_delays_each_answer() {
    let mut child = oai()
        .args(["mock", "--port", "0", "--latency", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let started = std::time::Instant::now();
    let out = oai()
        .args([
            "--base-url",
            first.trim_end(),
            "chat",
            "-m",
            "mock-model",
            "hi",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    interrupt(&child);
    child.wait().unwrap();
    assert_exit(&out, 0);
    assert!(took >= std::time::Duration::from_millis(300), "{took:?}");
}

#[test]
fn mock_on_a_taken_port_fails_with_one_line() {
    let srv = MockServer::start().unwrap();
    let port = srv.addr().port().to_string();
    let out = oai().args(["mock", "--port", &port]).output().unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).starts_with("error: cannot listen on 127.0.0.1:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn mock_with_max_in_flight_answers_429_over_it_and_prints_the_count_at_exit() {
    let (child, first) = spawn_mock(&["--max-in-flight", "1", "--latency", "400"]);
    let url = first.trim_end().to_owned();
    // Two at once against one slot: one of them is answered 429 (no retries).
    let ask = || {
        oai()
            .args(["--base-url", &url, "--max-retries", "0", "models"])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(ask);
        let b = s.spawn(ask);
        (a.join().unwrap(), b.join().unwrap())
    });
    let codes = [a.status.code(), b.status.code()];
    let rejected = codes.iter().filter(|&&c| c == Some(1)).count();
    for o in [&a, &b] {
        if o.status.code() == Some(1) {
            assert!(stderr(o).contains("429"), "{}", stderr(o));
        }
    }
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "{rejected} request(s) answered 429 over --max-in-flight"
        )),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = oai()
        .args(["mock", "--max-in-flight", "0"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
}
