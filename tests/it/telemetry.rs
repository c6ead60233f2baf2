//! The `tracing` feature: one span per call with OpenTelemetry's GenAI attributes, a child span
//! per attempt, streams timed to their first event, and never the key or (unless opted in)
//! the prompt and completion text. A capturing subscriber records every span's fields.
#![cfg(feature = "tracing")]

use crate::support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use oai_compat::types::{ChatCompletionRequest, EmbeddingRequest, Message, StreamOptions};
use oai_compat_mock::Reply;
use support::{MODEL, builder, client, server};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One recorded span.
#[derive(Debug, Clone, Default)]
struct Span {
    name: String,
    parent: Option<String>,
    fields: BTreeMap<String, String>,
    /// How many times each field was recorded after the span was created: a `fmt` layer
    /// appends every record to the span's line.
    records: BTreeMap<String, usize>,
    closed: bool,
}

impl Span {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<(u64, Span)>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
}

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut span = Span {
            name: attrs.metadata().name().into(),
            parent: ctx
                .span(id)
                .and_then(|s| s.parent())
                .map(|p| p.name().into()),
            ..Span::default()
        };
        attrs.record(&mut Fields(&mut span.fields));
        self.0.lock().unwrap().push((id.into_u64(), span));
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, s)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            let mut now = BTreeMap::new();
            values.record(&mut Fields(&mut now));
            for (k, v) in now {
                *s.records.entry(k.clone()).or_default() += 1;
                s.fields.insert(k, v);
            }
        }
    }
    fn on_close(&self, id: Id, _: Context<'_, S>) {
        let mut spans = self.0.lock().unwrap();
        if let Some((_, s)) = spans.iter_mut().rev().find(|(i, _)| *i == id.into_u64()) {
            s.closed = true;
        }
    }
}

/// The test binary's global subscriber: it records nothing, and it says "sometimes" for every
/// callsite. `tracing` caches each callsite's interest for every thread at its first use:
/// computed while no capture was installed (another module's test making a call on another
/// thread), racing with a capture's installation, "never" could be cached after the
/// installation's rebuild, and the capture then sees no span (a rare flake in CI). With a global
/// dispatcher that is always asked, no callsite is ever cached as "never".
struct Sometimes;

impl tracing::Subscriber for Sometimes {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        false
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    /// Captures the spans of this thread until the guard drops (the async tests run on a
    /// current-thread runtime, so the guard covers them too).
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        static GLOBAL: std::sync::Once = std::sync::Once::new();
        GLOBAL.call_once(|| {
            // Only this module sets one; were another set first, it would be asked too.
            let _ = tracing::subscriber::set_global_default(Sometimes);
        });
        tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()))
    }
    fn spans(&self, name: &str) -> Vec<Span> {
        let spans = self.0.lock().unwrap();
        spans
            .iter()
            .filter(|(_, s)| s.name == name)
            .map(|(_, s)| s.clone())
            .collect()
    }
    fn call(&self) -> Span {
        let calls = self.spans("gen_ai");
        assert_eq!(calls.len(), 1, "one call span: {calls:#?}");
        calls.into_iter().next().unwrap()
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn chat_span_has_the_genai_attributes() {
    let srv = server();
    let cap = Capture::default();
    let _g = cap.install();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("tell me a secret story")]);
    req.max_tokens = Some(3);
    req.temperature = Some(0.5);
    req.top_p = Some(0.9);
    let out = client(&srv).chat().create(&req).await.unwrap();
    let span = cap.call();
    let port = srv.addr().port().to_string();
    for (field, want) in [
        ("otel.name", "chat mock-model"),
        ("otel.kind", "client"),
        ("gen_ai.operation.name", "chat"),
        ("gen_ai.system", "openai"),
        ("gen_ai.request.model", MODEL),
        ("gen_ai.request.max_tokens", "3"),
        ("gen_ai.request.temperature", "0.5"),
        ("gen_ai.request.top_p", "0.9"),
        ("gen_ai.response.id", out.id.as_str()),
        ("gen_ai.response.model", MODEL),
        ("gen_ai.response.finish_reasons", "length"),
        ("gen_ai.usage.input_tokens", "5"),
        ("gen_ai.usage.output_tokens", "3"),
        ("server.address", "127.0.0.1"),
        ("server.port", port.as_str()),
        ("http.request.method", "POST"),
        ("http.response.status_code", "200"),
        ("oai_compat.retries", "0"),
    ] {
        assert_eq!(span.get(field), Some(want), "{field}: {span:#?}");
    }
    assert!(span.closed, "the call span is closed once the call returns");
    assert_eq!(span.get("error.type"), None);
    // No prompt or completion text unless opted in.
    assert_eq!(span.get("gen_ai.input.messages"), None);
    assert_eq!(span.get("gen_ai.output.messages"), None);
    assert!(!format!("{span:?}").contains("secret story"));
    let attempts = cap.spans("gen_ai.attempt");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].parent.as_deref(), Some("gen_ai"));
    assert_eq!(attempts[0].get("http.request.resend_count"), Some("0"));
    assert_eq!(attempts[0].get("http.response.status_code"), Some("200"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retries_are_attempt_spans_and_errors_have_a_type() {
    let srv = server();
    srv.enqueue_all([
        Reply::error(503, "busy").header("retry-after-ms", "1"),
        Reply::default_answer(),
    ]);
    let cap = Capture::default();
    let _g = cap.install();
    let req = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    client(&srv).chat().create(&req).await.unwrap();
    let span = cap.call();
    assert_eq!(span.get("oai_compat.retries"), Some("1"));
    assert_eq!(span.get("http.response.status_code"), Some("200"));
    assert_eq!(
        span.get("error.type"),
        None,
        "the call succeeded in the end"
    );
    let attempts = cap.spans("gen_ai.attempt");
    assert_eq!(attempts.len(), 2, "{attempts:#?}");
    assert_eq!(attempts[0].get("http.request.resend_count"), Some("0"));
    assert_eq!(attempts[0].get("error.type"), Some("503"));
    assert_eq!(attempts[0].get("http.response.status_code"), Some("503"));
    assert_eq!(attempts[1].get("http.request.resend_count"), Some("1"));
    assert_eq!(attempts[1].get("error.type"), None);

    drop(_g);
    let cap = Capture::default();
    let _g = cap.install();
    let req = ChatCompletionRequest::new("no-such-model", [Message::user("hi")]);
    let err = client(&srv).chat().create(&req).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let span = cap.call();
    assert_eq!(span.get("error.type"), Some("404"));
    assert_eq!(span.get("otel.status_code"), Some("ERROR"));
    assert_eq!(span.get("otel.name"), Some("chat no-such-model"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_stream_span_lasts_until_the_stream_ends() {
    let srv = server();
    let cap = Capture::default();
    let _g = cap.install();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("one two three")]);
    req.stream_options = Some(StreamOptions {
        include_usage: Some(true),
        ..Default::default()
    });
    let mut stream = client(&srv).chat().create_stream(&req).await.unwrap();
    assert!(!cap.call().closed, "open while the stream is");
    let mut chunks = 0;
    while let Some(_chunk) = stream.try_next().await.unwrap() {
        chunks += 1;
    }
    drop(stream);
    let span = cap.call();
    assert!(span.closed);
    assert_eq!(
        span.get("oai_compat.stream.events"),
        Some(chunks.to_string().as_str())
    );
    let ttft: f64 = span
        .get("oai_compat.stream.time_to_first_token_ms")
        .expect("time to first token")
        .parse()
        .unwrap();
    assert!((0.0..10_000.0).contains(&ttft), "{ttft}");
    assert_eq!(span.get("gen_ai.response.finish_reasons"), Some("stop"));
    assert_eq!(span.get("gen_ai.usage.output_tokens"), Some("6"));
    assert!(
        span.get("gen_ai.response.id")
            .is_some_and(|id| id.starts_with("chatcmpl-mock-"))
    );

    // A stream cut short records the error on the same span.
    drop(_g);
    srv.enqueue(
        Reply::sse()
            .event(r#"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hel"}}]}"#)
            .cut(),
    );
    let cap = Capture::default();
    let _g = cap.install();
    let mut stream = client(&srv).chat().create_stream(&req).await.unwrap();
    // (Not inside `assert!`: maybe-async does not strip an `.await` in a macro.)
    let first = stream.try_next().await.unwrap();
    assert!(first.is_some());
    let cut = stream.try_next().await;
    assert!(cut.is_err());
    drop(stream);
    let span = cap.call();
    assert_eq!(span.get("error.type"), Some("stream"));
    assert_eq!(span.get("oai_compat.stream.events"), Some("1"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_stream_span_records_each_value_once() {
    let srv = server();
    // Every chunk repeats a long id, the model and (vLLM's continuous usage stats) the
    // usage; the finish reason flips between chunks.
    let id = format!("chatcmpl-{}", "i".repeat(2000));
    const CHUNKS: usize = 300;
    let mut reply = Reply::sse();
    for n in 0..CHUNKS {
        let reason = match n % 3 {
            0 => "null",
            1 => r#""length""#,
            _ => r#""stop""#,
        };
        reply = reply.event(format!(
            r#"{{"id":"{id}","object":"chat.completion.chunk","created":1,"model":"m-{n}","choices":[{{"index":0,"delta":{{"content":"x"}},"finish_reason":{reason}}}],"usage":{{"prompt_tokens":5,"completion_tokens":{n},"total_tokens":{}}}}}"#,
            n + 5
        ));
    }
    srv.enqueue(reply.done());
    let cap = Capture::default();
    let _g = cap.install();
    let req = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    let mut stream = client(&srv).chat().create_stream(&req).await.unwrap();
    let mut chunks = 0;
    while let Some(_chunk) = stream.try_next().await.unwrap() {
        chunks += 1;
    }
    assert_eq!(chunks, CHUNKS);
    drop(stream);
    let span = cap.call();
    for field in [
        "gen_ai.response.id",
        "gen_ai.response.model",
        "gen_ai.response.finish_reasons",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "oai_compat.stream.events",
        "oai_compat.stream.time_to_first_token_ms",
    ] {
        assert_eq!(
            span.records.get(field),
            Some(&1),
            "{field}: {:?}",
            span.records
        );
    }
    let total: usize = span.records.values().sum();
    assert!(total < 20, "{:?}", span.records);
    assert_eq!(span.get("gen_ai.response.id"), Some(id.as_str()));
    assert_eq!(span.get("gen_ai.response.model"), Some("m-0"));
    assert_eq!(span.get("oai_compat.stream.events"), Some("300"));
    // The last values the stream said.
    assert_eq!(span.get("gen_ai.response.finish_reasons"), Some("stop"));
    assert_eq!(span.get("gen_ai.usage.output_tokens"), Some("299"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn embeddings_and_other_calls_are_named_and_never_show_the_key() {
    let srv = server();
    let key = "sk-telemetry-secret-0123456789";
    let client = builder(&srv).api_key(key).build().unwrap();
    let cap = Capture::default();
    let _g = cap.install();
    client
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, ["a", "b"]))
        .await
        .unwrap();
    client.models().list().await.unwrap();
    let calls = cap.spans("gen_ai");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].get("otel.name"), Some("embeddings mock-model"));
    assert_eq!(calls[0].get("gen_ai.operation.name"), Some("embeddings"));
    assert_eq!(calls[0].get("gen_ai.usage.input_tokens"), Some("2"));
    // Not a GenAI operation: no operation name, the method and path instead.
    assert_eq!(calls[1].get("otel.name"), Some("GET /models"));
    assert_eq!(calls[1].get("gen_ai.operation.name"), None);
    let all = format!("{:?}", cap.0.lock().unwrap());
    assert!(!all.contains(key), "the key was recorded: {all}");
    assert!(!all.contains("Bearer"), "a header was recorded: {all}");
}

/// Runs [`captured_content_child`] in a child process with OpenTelemetry's opt-in set, since
/// the switch is read once per process.
#[test]
fn content_is_recorded_only_when_opted_in() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "telemetry::captured_content_child",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Only meaningful in the child process started by [`content_is_recorded_only_when_opted_in`].
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "run by content_is_recorded_only_when_opted_in with the opt-in set"]
async fn captured_content_child() {
    assert_eq!(
        std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT").as_deref(),
        Ok("true")
    );
    let srv = server();
    let cap = Capture::default();
    let _g = cap.install();
    let req = ChatCompletionRequest::new(MODEL, [Message::user("tell me a story")]);
    client(&srv).chat().create(&req).await.unwrap();
    let span = cap.call();
    let input = span.get("gen_ai.input.messages").expect("input recorded");
    assert!(input.contains("tell me a story"), "{input}");
    let output = span.get("gen_ai.output.messages").expect("output recorded");
    assert!(
        output.contains("Mock reply to: tell me a story"),
        "{output}"
    );
}
