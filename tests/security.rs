//! Secrets stay secret: the API key is not in Debug, Display, errors or logs, and is never
//! sent to another origin on a redirect.

mod support;

use std::sync::{Mutex, OnceLock};

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat::{Client, RequestOptions};
use oai_compat_mock::Reply;
use support::{MODEL, builder, server};

const KEY: &str = "sk-live-0123456789abcdef";

/// One log record: target, level and message.
struct Line {
    target: String,
    level: log::Level,
    text: String,
}

/// Every log record of this test binary, at every level.
fn log_lines() -> &'static Mutex<Vec<Line>> {
    static LINES: OnceLock<Mutex<Vec<Line>>> = OnceLock::new();
    LINES.get_or_init(|| Mutex::new(Vec::new()))
}

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        log_lines().lock().unwrap().push(Line {
            target: record.target().to_owned(),
            level: record.level(),
            text: record.args().to_string(),
        });
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        static LOGGER: Capture = Capture;
        log::set_logger(&LOGGER).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// The filter the guide's security chapter prescribes for TRACE logging: the `ureq_proto`
/// target at `debug` or lower (`RUST_LOG=trace,ureq_proto=debug`).
fn readme_filter(l: &Line) -> bool {
    !(l.target.starts_with("ureq_proto") && l.level > log::Level::Debug)
}

/// One hex-dump row of ureq's protocol layer: 16 bytes as 8 groups of 4 hex digits (`--`
/// for missing bytes), then the text column. Returns the bytes.
fn hex_row(text: &str) -> Option<Vec<u8>> {
    let groups: Vec<&str> = text.splitn(9, ' ').collect();
    if groups.len() < 9 || groups[..8].iter().any(|g| g.len() != 4) {
        return None;
    }
    let mut out = Vec::new();
    for g in &groups[..8] {
        for pair in [&g[..2], &g[2..]] {
            if pair == "--" {
                continue;
            }
            out.push(u8::from_str_radix(pair, 16).ok()?);
        }
    }
    Some(out)
}

/// The whole log as one text: hex-dump rows turned back into the bytes they show, so a key
/// split across two rows (or shown only in their text columns) is found.
fn joined_log(keep: impl Fn(&Line) -> bool) -> String {
    let lines = log_lines().lock().unwrap();
    let mut bytes = Vec::new();
    for l in lines.iter().filter(|l| keep(l)) {
        match hex_row(&l.text) {
            Some(row) => bytes.extend(row),
            None => {
                bytes.push(b'\n');
                bytes.extend(l.text.as_bytes());
                bytes.push(b'\n');
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn chat() -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user("hi")])
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn the_key_is_in_no_error_debug_or_log() {
    capture_logs();
    let srv = server();
    // A server that echoes the key it refused, then a retried overload, then a timeout.
    srv.enqueue_all([
        Reply::json(401, format!(r#"{{"error":{{"message":"Incorrect API key provided: {KEY}","type":"invalid_request_error","code":"invalid_api_key"}}}}"#)),
        Reply::error(503, "busy").header("retry-after-ms", "10"),
        Reply::error(503, "busy").header("retry-after-ms", "10"),
        Reply::error(503, "busy").header("retry-after-ms", "10"),
    ]);
    let c = builder(&srv).api_key(KEY).build().unwrap();
    let auth = c.chat().create(chat()).await.unwrap_err();
    let overload = c.chat().create(chat()).await.unwrap_err();
    assert_eq!(
        srv.requests()[0].header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
    let shown = [
        format!("{auth} {auth:?}"),
        format!("{overload} {overload:?}"),
        format!("{c:?}"),
        format!("{:?}", Client::builder().api_key(KEY)),
        format!(
            "{:?}",
            RequestOptions::new().header("Authorization", format!("Bearer {KEY}"))
        ),
        format!(
            "{:?}",
            srv.requests()[0].header("authorization").map(|_| c.clone())
        ),
    ];
    for s in &shown {
        assert!(!s.contains(KEY), "leaked: {s}");
    }
    assert!(auth.is_auth());
    assert!(
        auth.to_string()
            .contains("Incorrect API key provided: <redacted>"),
        "{auth}"
    );
    // The whole log, at TRACE, joined and with hex dumps decoded, under the guide's filter.
    let log = joined_log(readme_filter);
    assert!(log.contains("retrying"), "logging is not on: {log}");
    assert!(!log.contains(KEY), "the key is in the log: {log}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn trace_logs_hold_the_key_only_in_ureqs_hex_dump() {
    capture_logs();
    let srv = server();
    let c = builder(&srv).api_key(KEY).build().unwrap();
    c.chat().create(chat()).await.unwrap();
    let everything = joined_log(|_| true);
    if cfg!(feature = "blocking") {
        // ureq's protocol layer (target `ureq_proto`) dumps every request head at TRACE, and
        // nothing in ureq turns that off: the guide's security chapter says so and gives the filter. This
        // proves the search above would see a dumped key.
        assert!(
            everything.contains(&format!("Bearer {KEY}")),
            "ureq no longer dumps the request head: update docs/guide/security.md"
        );
    } else {
        // reqwest logs no header values.
        assert!(!everything.contains(KEY), "the key is in the log");
    }
    // Everything else, the crate's own lines included, is clean at every level.
    assert!(!joined_log(readme_filter).contains(KEY));
    assert!(
        log_lines()
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.target.starts_with("oai_compat"))
            .all(|l| !l.text.contains(KEY))
    );
}

#[test]
fn hex_rows_are_decoded_across_lines() {
    let row = |b: &[u8]| {
        let mut hex = String::new();
        for i in 0..16 {
            hex.push_str(&b.get(i).map_or("--".into(), |x| format!("{x:02x}")));
            if i % 2 == 1 {
                hex.push(' ');
            }
        }
        format!("{hex} {}", String::from_utf8_lossy(b))
    };
    let head = format!("Authorization: Bearer {KEY}\r\n");
    let rows: Vec<String> = head.as_bytes().chunks(16).map(row).collect();
    assert!(
        rows.iter().all(|r| !r.contains(KEY)),
        "the key fits one row"
    );
    let decoded: Vec<u8> = rows.iter().flat_map(|r| hex_row(r).unwrap()).collect();
    assert!(String::from_utf8_lossy(&decoded).contains(KEY));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn authorization_is_not_sent_to_another_host_on_redirect() {
    let a = server();
    let b = server();
    a.enqueue(Reply::redirect(
        307,
        &format!("{}/chat/completions", b.url()),
    ));
    let c = builder(&a).api_key(KEY).build().unwrap();
    let out = c.chat().create(chat()).await.unwrap();
    assert_eq!(out.text(), Some("Mock reply to: hi"));
    let at_b = &b.requests()[0];
    assert_eq!(at_b.method, "POST");
    assert_eq!(
        at_b.header("authorization"),
        None,
        "the key followed the redirect"
    );
    assert_eq!(
        at_b.json().unwrap()["messages"][0]["content"],
        "hi",
        "307 re-sends the body"
    );
    // A redirect within the same origin keeps it.
    a.enqueue(Reply::redirect(308, "/v1/chat/completions"));
    c.chat().create(chat()).await.unwrap();
    let reqs = a.requests();
    assert_eq!(
        reqs.last().unwrap().header("authorization"),
        Some(&*format!("Bearer {KEY}"))
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_post_is_not_silently_turned_into_a_get() {
    let a = server();
    a.enqueue(Reply::redirect(
        301,
        "http://127.0.0.1:9/v1/chat/completions",
    ));
    let c = builder(&a).max_retries(0).build().unwrap();
    let err = c.chat().create(chat()).await.unwrap_err();
    assert_eq!(err.status(), Some(301));
    assert!(err.to_string().contains("only 307 and 308"), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn https_to_a_plain_server_fails_instead_of_downgrading() {
    let srv = server();
    let url = srv.url().replace("http://", "https://");
    let c = Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(url)
        .connect_timeout(std::time::Duration::from_millis(500))
        .api_key(KEY)
        .max_retries(0)
        .build()
        .unwrap();
    let err = c.models().list().await.unwrap_err();
    // The TLS handshake cannot complete with a plain-HTTP server: a connection error or a
    // connect timeout, and nothing (no key) was sent in the clear.
    let handshake_failed = err.is_connection()
        || matches!(&err, oai_compat::Error::Timeout(t) if t.phase == oai_compat::TimeoutPhase::Connect);
    assert!(handshake_failed, "{err:?}");
    assert_eq!(srv.request_count(), 0, "a request was sent without TLS");
}

/// Every error a server can provoke, each echoing `key` in another field.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn echoed_errors(key: &str) -> Vec<oai_compat::Error> {
    let srv = server();
    srv.enqueue_all([
        Reply::json(
            401,
            format!(r#"{{"error":{{"message":"no","type":"auth {key}","code":"{key}","param":"{key}"}}}}"#),
        )
        .header("WWW-Authenticate", &format!("Bearer realm=\"api\", key=\"{key}\""))
        .header("X-Echo", key)
        .header("x-request-id", key),
        Reply::text(200, "text/plain", format!("not json: {key}")),
        Reply::json(200, format!(r#"{{"echo":"{key}"}}"#)),
        Reply::sse()
            .event(format!(r#"{{"error":{{"message":"bad key {key}","type":"{key}","code":"{key}","param":"{key}"}}}}"#))
            .done(),
        Reply::sse().event(format!(r#"{{"choices":"{key}"}}"#)).done(),
        Reply::sse()
            .event(r#"{"id":"c","choices":[]}"#)
            .raw(format!(": {key}\n\n"))
            .cut(),
    ]);
    let c = builder(&srv).api_key(key).max_retries(0).build().unwrap();
    let mut out = Vec::new();
    out.push(c.chat().create(chat()).await.unwrap_err());
    out.push(c.chat().create(chat()).await.unwrap_err());
    out.push(c.chat().create_stream(chat()).await.unwrap_err());
    for _ in 0..3 {
        let mut s = c.chat().create_stream(chat()).await.unwrap();
        loop {
            match s.try_next().await {
                Ok(Some(_)) => {}
                Ok(None) => panic!("the stream ended without an error"),
                Err(e) => {
                    out.push(e);
                    break;
                }
            }
        }
    }
    out
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_echoed_key_is_redacted_in_every_error_field() {
    // A long key, and a short one (keys under 8 characters were never redacted).
    for key in [KEY, "k3y9"] {
        let errors = echoed_errors(key).await;
        assert_eq!(errors.len(), 6);
        for e in &errors {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(key), "{key} leaked: {shown}");
        }
        let redacted = errors
            .iter()
            .filter(|e| format!("{e:?}").contains("<redacted>"))
            .count();
        // The truncated stream's error names no server text, so it has nothing to redact.
        assert!(redacted >= 5, "{errors:?}");
    }
}

#[test]
fn debug_redacts_every_credential_looking_header() {
    let b = Client::builder()
        .use_env(false)
        .base_url("http://127.0.0.1:9/v1")
        .header("x-goog-api-key", "hunter2-a")
        .header("X-Custom-Token", "hunter2-b")
        .header("x-client-secret", "hunter2-c")
        .header("X-Trace", "visible");
    let opts = RequestOptions::new()
        .header("x-goog-api-key", "hunter2-d")
        .header("Cookie", "hunter2-e");
    let c = b.clone().build().unwrap().with_options(opts.clone());
    for shown in [format!("{b:?}"), format!("{c:?}"), format!("{opts:?}")] {
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
    assert!(format!("{b:?}").contains("visible"));
}

/// `key` with every character spelt as a JSON `\uXXXX` escape but for `/` (`\/`) and a few
/// kept plain: what a server's JSON encoder may make of an echoed key.
fn escaped(key: &str) -> String {
    key.chars()
        .enumerate()
        .map(|(i, c)| match c {
            '/' => "\\/".to_owned(),
            c if i % 3 == 1 => c.to_string(),
            c => format!("\\u{:04x}", c as u32),
        })
        .collect()
}

/// Every string in a JSON value, object keys included.
fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(o) => {
            for (k, v) in o {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        _ => {}
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_key_echoed_json_escaped_is_redacted_by_meaning() {
    for key in [KEY, "sk-live/0123456789+abc/def", "k3y/9"] {
        let srv = server();
        let esc = escaped(key);
        assert!(!esc.contains(key));
        srv.enqueue_all([
            Reply::json(
                401,
                format!(
                    r#"{{"error":{{"message":"Incorrect API key provided: {esc}","type":"invalid_request_error","code":"invalid_api_key","param":"{esc}"}},"echo":{{"key":"{esc}","nested":"{{\"k\":\"{}\"}}"}}}}"#,
                    esc.replace('\\', "\\\\")
                ),
            ),
            Reply::json(200, format!(r#"{{"choices":"{esc}"}}"#)),
        ]);
        let c = builder(&srv).api_key(key).max_retries(0).build().unwrap();
        let auth = c.chat().create(chat()).await.unwrap_err();
        let decode = c.chat().create(chat()).await.unwrap_err();
        for e in [&auth, &decode] {
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(key), "{key} leaked: {shown}");
        }
        let oai_compat::Error::Api(api) = &auth else {
            panic!("{auth:?}")
        };
        assert!(api.message.contains("<redacted>"), "{}", api.message);
        // The body is still JSON, and nothing in it decodes to the key, at any depth.
        let body: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        let mut strings = Vec::new();
        json_strings(&body, &mut strings);
        for s in strings.clone() {
            if let Ok(inner) = serde_json::from_str::<serde_json::Value>(&s) {
                json_strings(&inner, &mut strings);
            }
        }
        assert!(strings.iter().all(|s| !s.contains(key)), "{strings:?}");
        assert_eq!(body["error"]["code"], "invalid_api_key", "the rest is kept");
        let oai_compat::Error::Decode(d) = &decode else {
            panic!("{decode:?}")
        };
        assert!(d.body_excerpt.contains("<redacted>"), "{}", d.body_excerpt);
    }
}

/// A structured reply that echoes `key` (plain and escaped) and is not a valid `T`: the
/// chat reply, then the Responses API's.
fn unparsable_replies(key: &str) -> [Reply; 2] {
    let text =
        serde_json::to_string(&format!("{{\"n\": \"{key}\", \"m\": \"{}\"", escaped(key))).unwrap();
    [
        Reply::json(
            200,
            format!(
                r#"{{"id":"c","object":"chat.completion","model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":{text}}},"finish_reason":"{key}"}}]}}"#
            ),
        ),
        Reply::json(
            200,
            format!(
                r#"{{"id":"r","object":"response","status":"completed","output":[{{"type":"message","id":"m","role":"assistant","content":[{{"type":"output_text","text":{text}}}]}}]}}"#
            ),
        ),
    ]
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_reply_that_does_not_parse_never_shows_the_key() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Answer {
        n: u32,
    }
    for key in [KEY, "k3y9"] {
        let srv = server();
        srv.enqueue_all(unparsable_replies(key));
        let c = builder(&srv).api_key(key).max_retries(0).build().unwrap();
        let req = oai_compat::types::ResponseRequest::new(MODEL, "hi");
        let errors = [
            c.chat().parse::<Answer>(&chat()).await.unwrap_err(),
            c.responses().parse::<Answer>(&req).await.unwrap_err(),
        ];
        for e in &errors {
            let oai_compat::Error::Parse(p) = e else {
                panic!("{e:?}")
            };
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(key), "{key} leaked: {shown}");
            for field in [&p.text, &p.message] {
                assert!(!field.contains(key), "{key} in {field}");
            }
            assert!(p.text.contains("<redacted>"), "{}", p.text);
        }
    }
}

/// A chat completion asking for `n` calls of a tool named `name`, with this id and these
/// arguments (JSON text, as the server's JSON spells it).
fn tool_calls_reply(n: usize, name: &str, id: &str, arguments: &str) -> Reply {
    let call = format!(
        r#"{{"id":"{id}","type":"function","function":{{"name":"{name}","arguments":"{arguments}"}}}}"#
    );
    let calls = vec![call; n].join(",");
    Reply::json(
        200,
        format!(
            r#"{{"id":"c","object":"chat.completion","model":"m","choices":[{{"index":0,"message":{{"role":"assistant","content":"{arguments}","tool_calls":[{calls}]}},"finish_reason":"tool_calls"}}]}}"#
        ),
    )
}

/// A Responses API response asking for one call, echoing like [`tool_calls_reply`].
fn function_call_reply(name: &str, id: &str, arguments: &str) -> Reply {
    Reply::json(
        200,
        format!(
            r#"{{"id":"r","object":"response","status":"completed","output":[{{"type":"function_call","id":"fc","call_id":"{id}","name":"{name}","arguments":"{arguments}"}}]}}"#
        ),
    )
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_tool_loop_that_never_ends_never_shows_the_key() {
    for key in [KEY, "k3y9"] {
        let srv = server();
        let esc = escaped(key);
        // The name plain, the id and arguments escaped (the arguments as JSON text inside a
        // JSON string: escaped twice).
        let args = format!(r#"{{\"k\":\"{}\"}}"#, esc.replace('\\', "\\\\"));
        for _ in 0..2 {
            srv.enqueue(tool_calls_reply(1, key, &esc, &args));
        }
        for _ in 0..2 {
            srv.enqueue(function_call_reply(key, &esc, &args));
        }
        let c = builder(&srv).api_key(key).max_retries(0).build().unwrap();
        let tool = |call: &oai_compat::types::ToolCall| {
            Err(format!("no tool {}", call.function.arguments))
        };
        let chat_err = c.chat().run_tools(&chat(), tool, 2).await.unwrap_err();
        let req = oai_compat::types::ResponseRequest::new(MODEL, "hi");
        let resp_err = c.responses().run_tools(&req, tool, 2).await.unwrap_err();
        for e in [&chat_err, &resp_err] {
            let oai_compat::Error::ToolLoop(t) = e else {
                panic!("{e:?}")
            };
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains(key), "{key} leaked: {shown}");
            // Decoded, the arguments do not give it back either.
            let args: serde_json::Value = serde_json::from_str(&t.pending[0].function.arguments)
                .unwrap_or_else(|err| panic!("{err}: {}", t.pending[0].function.arguments));
            assert!(!args.to_string().contains(key), "{args}");
            assert!(!t.pending[0].id.contains(key));
            assert_eq!(t.pending.len(), 1);
        }
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn thousands_of_pending_calls_make_a_short_one_line_error() {
    let srv = server();
    let name = format!("tool\r\n{}", "n".repeat(500));
    srv.enqueue(tool_calls_reply(
        5000,
        &name.replace("\r\n", "\\r\\n"),
        "c",
        "{}",
    ));
    let c = builder(&srv).max_retries(0).build().unwrap();
    let tool = |_: &oai_compat::types::ToolCall| Ok(String::new());
    let e = c.chat().run_tools(&chat(), tool, 1).await.unwrap_err();
    let oai_compat::Error::ToolLoop(t) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(t.pending.len(), 5000);
    let shown = e.to_string();
    assert!(shown.len() < 2000, "{} bytes", shown.len());
    assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown}");
    assert!(shown.contains("and 4992 more"), "{shown}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_key_cut_by_a_bound_leaves_no_part_of_it() {
    let key = "sk-cut-by-a-bound-0123456789abcdef";
    let srv = server();
    let c = builder(&srv).api_key(key).max_retries(0).build().unwrap();
    // A 200 that is not JSON: the decode error keeps a 512-byte excerpt, cut 20 characters
    // into the key.
    srv.enqueue(Reply::json(
        200,
        format!("{}{key} and more", "x".repeat(512 - 20)),
    ));
    // An error body: `ApiError.body` keeps its first 64 KiB, cut 20 characters into the key.
    srv.enqueue(Reply::json(
        400,
        format!("{}{key} and more", "y".repeat(64 * 1024 - 20)),
    ));
    for _ in 0..2 {
        let e = c.chat().create(chat()).await.unwrap_err();
        let shown = format!("{e} {e:?}");
        for start in [&key[..20], &key[..8]] {
            assert!(
                !shown.contains(start),
                "{start:?} left in {}",
                &shown[..shown.len().min(300)]
            );
        }
        if let oai_compat::Error::Api(api) = &e {
            assert!(
                api.body.ends_with("<redacted>"),
                "{} bytes: {}",
                api.body.len(),
                &api.body[api.body.len() - 40..]
            );
        }
    }
}
