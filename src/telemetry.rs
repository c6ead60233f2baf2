//! Tracing spans with OpenTelemetry's GenAI semantic conventions (feature `tracing`).
//!
//! One span per call (`gen_ai` with `otel.name` = "{operation} {model}", `otel.kind` =
//! `client`) and a child span per attempt (`gen_ai.attempt`); a stream's call span stays open
//! until the stream ends and then records the time to its first event and how many events it
//! had. Attributes come from the serialised request body and the response body (or each
//! stream event) through small projections, parsed only when a subscriber listens to the
//! span, so a build without a subscriber pays nothing but the span's interest check.
//!
//! Never recorded: the API key or any header, the URL's path or query (queries may carry
//! credentials), and prompt or completion text unless the process opts in with OpenTelemetry's
//! own switch, `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`.
//!
//! Spans are created, recorded and closed but never entered: entering a span across an
//! `.await` is wrong in async code, and the one code path serves both modes. A span's parent
//! is the span current where the call is made, as usual.
//!
//! Without the feature every type here is empty and every method does nothing.

#[cfg(feature = "tracing")]
pub(crate) use on::{CallSpan, StreamSpan};

#[cfg(not(feature = "tracing"))]
pub(crate) use off::{CallSpan, StreamSpan};

#[cfg(not(feature = "tracing"))]
mod off {
    use crate::error::Error;
    use crate::transport::Method;

    /// The span of one call (nothing without the `tracing` feature).
    pub(crate) struct CallSpan;

    impl CallSpan {
        pub(crate) fn start(_: Method, _: &str, _: &str, _: Option<&[u8]>) -> CallSpan {
            CallSpan
        }
        pub(crate) fn attempt(&self, _: u32) -> CallSpan {
            CallSpan
        }
        pub(crate) fn status(&self, _: u16) {}
        pub(crate) fn response(&self, _: u32, _: &[u8]) {}
        pub(crate) fn error(&self, _: &Error, _: u32) {}
        pub(crate) fn into_stream(self, _: u32) -> StreamSpan {
            StreamSpan
        }
    }

    /// The span of a stream (nothing without the `tracing` feature).
    pub(crate) struct StreamSpan;

    impl StreamSpan {
        pub(crate) fn event(&mut self, _: &str) {}
        pub(crate) fn error(&mut self, _: &Error) {}
    }
}

#[cfg(feature = "tracing")]
mod on {
    use std::sync::OnceLock;
    use std::time::{Duration, Instant};

    use serde::Deserialize;
    use serde_json::Value;
    use tracing::field::Empty;

    use crate::error::Error;
    use crate::transport::Method;

    /// OpenTelemetry's opt-in for prompt and completion text in GenAI telemetry.
    const CAPTURE_ENV: &str = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

    fn capture_content() -> bool {
        static CAPTURE: OnceLock<bool> = OnceLock::new();
        *CAPTURE.get_or_init(|| {
            std::env::var(CAPTURE_ENV).is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
        })
    }

    /// The GenAI operation of an endpoint path (under the base URL), if it is one.
    fn operation(path: &str) -> Option<&'static str> {
        let path = path.split('?').next().unwrap_or(path);
        match path {
            "/chat/completions" | "/responses" => Some("chat"),
            "/completions" => Some("text_completion"),
            "/embeddings" => Some("embeddings"),
            _ => None,
        }
    }

    /// The request fields the conventions name.
    #[derive(Deserialize)]
    struct RequestView {
        model: Option<String>,
        max_tokens: Option<u64>,
        max_completion_tokens: Option<u64>,
        max_output_tokens: Option<u64>,
        temperature: Option<f64>,
        top_p: Option<f64>,
    }

    /// The request's input text, for the opt-in content capture.
    #[derive(Deserialize)]
    struct InputView {
        messages: Option<Value>,
        prompt: Option<Value>,
        input: Option<Value>,
        instructions: Option<Value>,
    }

    /// The response (or stream event) fields the conventions name. Chat, completions,
    /// embeddings and the Responses API (where the object sits under `response` in events).
    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ResponseView {
        id: Option<String>,
        model: Option<String>,
        choices: Vec<ChoiceView>,
        status: Option<String>,
        usage: Option<UsageView>,
        response: Option<Box<ResponseView>>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct ChoiceView {
        index: Option<usize>,
        finish_reason: Option<String>,
        message: Option<Value>,
        text: Option<String>,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct UsageView {
        prompt_tokens: Option<u64>,
        completion_tokens: Option<u64>,
        input_tokens: Option<u64>,
        output_tokens: Option<u64>,
    }

    /// The span of one call.
    pub(crate) struct CallSpan {
        span: tracing::Span,
    }

    impl CallSpan {
        /// Opens the call's span: operation, server, and the request's model and settings.
        pub(crate) fn start(
            method: Method,
            path: &str,
            url: &str,
            body: Option<&[u8]>,
        ) -> CallSpan {
            let op = operation(path);
            let (host, port) = crate::url::host_port(url);
            let span = tracing::info_span!(
                "gen_ai",
                otel.name = Empty,
                otel.kind = "client",
                otel.status_code = Empty,
                gen_ai.operation.name = op,
                gen_ai.system = "openai",
                gen_ai.provider.name = "openai",
                gen_ai.request.model = Empty,
                gen_ai.request.max_tokens = Empty,
                gen_ai.request.temperature = Empty,
                gen_ai.request.top_p = Empty,
                gen_ai.input.messages = Empty,
                gen_ai.response.id = Empty,
                gen_ai.response.model = Empty,
                gen_ai.response.finish_reasons = Empty,
                gen_ai.output.messages = Empty,
                gen_ai.usage.input_tokens = Empty,
                gen_ai.usage.output_tokens = Empty,
                http.request.method = method.as_str(),
                http.response.status_code = Empty,
                server.address = host,
                server.port = port,
                error.type = Empty,
                oai_compat.retries = Empty,
                oai_compat.stream.time_to_first_token_ms = Empty,
                oai_compat.stream.events = Empty,
            );
            if span.is_disabled() {
                return CallSpan { span };
            }
            let view = body.and_then(|b| serde_json::from_slice::<RequestView>(b).ok());
            let model = view.as_ref().and_then(|v| v.model.clone());
            let name = match (op, &model) {
                (Some(op), Some(m)) => format!("{op} {m}"),
                (Some(op), None) => op.to_owned(),
                (None, _) => format!(
                    "{} {}",
                    method.as_str(),
                    path.split('?').next().unwrap_or(path)
                ),
            };
            span.record("otel.name", name.as_str());
            if let Some(v) = view {
                if let Some(m) = &v.model {
                    span.record("gen_ai.request.model", m.as_str());
                }
                if let Some(n) = v
                    .max_completion_tokens
                    .or(v.max_tokens)
                    .or(v.max_output_tokens)
                {
                    span.record("gen_ai.request.max_tokens", n);
                }
                if let Some(t) = v.temperature {
                    span.record("gen_ai.request.temperature", t);
                }
                if let Some(p) = v.top_p {
                    span.record("gen_ai.request.top_p", p);
                }
            }
            if capture_content() {
                if let Some(input) = body.and_then(|b| serde_json::from_slice::<InputView>(b).ok())
                {
                    let parts: Vec<&Value> = [
                        &input.instructions,
                        &input.messages,
                        &input.prompt,
                        &input.input,
                    ]
                    .into_iter()
                    .flatten()
                    .collect();
                    if !parts.is_empty() {
                        let text = Value::Array(parts.into_iter().cloned().collect()).to_string();
                        span.record("gen_ai.input.messages", text.as_str());
                    }
                }
            }
            CallSpan { span }
        }

        /// A child span for attempt `n` (0 for the first), with OpenTelemetry's resend count.
        pub(crate) fn attempt(&self, n: u32) -> CallSpan {
            let span = tracing::info_span!(
                parent: &self.span,
                "gen_ai.attempt",
                http.request.resend_count = n,
                http.response.status_code = Empty,
                error.type = Empty,
            );
            CallSpan { span }
        }

        /// The HTTP status of this (attempt's) response.
        pub(crate) fn status(&self, status: u16) {
            self.span.record("http.response.status_code", status);
        }

        /// A decoded JSON answer: response id, model, finish reasons and usage.
        pub(crate) fn response(&self, retries: u32, body: &[u8]) {
            self.span.record("oai_compat.retries", retries);
            if self.span.is_disabled() {
                return;
            }
            if let Ok(view) =
                crate::bounded::from_slice::<ResponseView>(body, crate::bounded::DEFAULT_MULTIPLE)
            {
                let (id, model) = id_and_model(&view);
                if let Some(id) = id {
                    self.span.record("gen_ai.response.id", id);
                }
                if let Some(m) = model {
                    self.span.record("gen_ai.response.model", m);
                }
                let mut seen = Seen::default();
                seen.take(&view);
                seen.record(&self.span);
                if capture_content() {
                    let out: Vec<Value> = view
                        .choices
                        .iter()
                        .filter_map(|c| {
                            c.message
                                .clone()
                                .or_else(|| c.text.clone().map(Value::String))
                        })
                        .collect();
                    if !out.is_empty() {
                        self.span.record(
                            "gen_ai.output.messages",
                            Value::Array(out).to_string().as_str(),
                        );
                    }
                }
            }
        }

        /// The call failed: `error.type` (a low-cardinality class) and the retries taken.
        pub(crate) fn error(&self, err: &Error, retries: u32) {
            self.span.record("error.type", error_type(err).as_ref());
            self.span.record("otel.status_code", "ERROR");
            self.span.record("oai_compat.retries", retries);
            if let Some(s) = err.status() {
                self.span.record("http.response.status_code", s);
            }
        }

        /// Keeps the call's span open for the stream handed to the caller.
        pub(crate) fn into_stream(self, retries: u32) -> StreamSpan {
            self.span.record("oai_compat.retries", retries);
            StreamSpan {
                listening: !self.span.is_disabled(),
                span: self.span,
                started: Instant::now(),
                first: None,
                events: 0,
                has_id: false,
                has_model: false,
                seen: Seen::default(),
            }
        }
    }

    /// Finish reasons are kept for the first this many choices: a server that sends a
    /// finish reason in every event, or huge choice indices, cannot grow the span's state.
    const MAX_REASONS: usize = 128;

    /// The id and model of a response view, or of the response inside an event (Responses
    /// API); the outer one wins.
    fn id_and_model(view: &ResponseView) -> (Option<&str>, Option<&str>) {
        let inner = view.response.as_deref();
        let id = view.id.as_deref().or(inner.and_then(|r| r.id.as_deref()));
        let model = view
            .model
            .as_deref()
            .or(inner.and_then(|r| r.model.as_deref()));
        (id, model)
    }

    /// The finish reasons and usage a response (or a stream's events) reported, kept until
    /// they are recorded once: a stream repeats them in many events, and a `fmt` layer
    /// appends every record of a field to the span's line.
    #[derive(Default)]
    struct Seen {
        /// One per choice index (the first [`MAX_REASONS`]), or the Responses API's final
        /// status.
        reasons: Vec<String>,
        input_tokens: Option<u64>,
        output_tokens: Option<u64>,
    }

    impl Seen {
        /// Takes in what `view` (and the response inside an event) says; later values win.
        fn take(&mut self, view: &ResponseView) {
            if let Some(inner) = &view.response {
                self.take(inner);
            }
            let reasons = &mut self.reasons;
            for (i, c) in view.choices.iter().enumerate() {
                let (Some(r), index) = (&c.finish_reason, c.index.unwrap_or(i)) else {
                    continue;
                };
                if index >= MAX_REASONS {
                    continue;
                }
                if reasons.len() <= index {
                    reasons.resize(index + 1, String::new());
                }
                reasons[index].clone_from(r);
            }
            // The Responses API has no finish reason; its final status plays that part.
            if view.choices.is_empty() {
                if let Some(s) = view.status.as_deref().filter(|s| *s != "in_progress") {
                    if reasons.len() != 1 || reasons[0] != s {
                        reasons.clear();
                        reasons.push(s.to_owned());
                    }
                }
            }
            if let Some(u) = &view.usage {
                if let Some(n) = u.prompt_tokens.or(u.input_tokens) {
                    self.input_tokens = Some(n);
                }
                if let Some(n) = u.completion_tokens.or(u.output_tokens) {
                    self.output_tokens = Some(n);
                }
            }
        }

        /// Records the finish reasons and usage on `span`: call once.
        fn record(&self, span: &tracing::Span) {
            let reasons = joined(&self.reasons);
            if !reasons.is_empty() {
                span.record("gen_ai.response.finish_reasons", reasons.as_str());
            }
            if let Some(n) = self.input_tokens {
                span.record("gen_ai.usage.input_tokens", n);
            }
            if let Some(n) = self.output_tokens {
                span.record("gen_ai.usage.output_tokens", n);
            }
        }
    }

    /// The finish reasons as one attribute value, choices in index order.
    fn joined(reasons: &[String]) -> String {
        let set: Vec<&str> = reasons
            .iter()
            .map(String::as_str)
            .filter(|r| !r.is_empty())
            .collect();
        set.join(",")
    }

    fn error_type(err: &Error) -> std::borrow::Cow<'static, str> {
        match err {
            Error::Api(e) => e.status.to_string().into(),
            Error::Timeout(_) => "timeout".into(),
            Error::Connection(_) => "connection".into(),
            Error::Decode(_) => "decode".into(),
            Error::Stream(_) => "stream".into(),
            _ => "other".into(),
        }
    }

    /// The span of a stream handed to the caller; closed when the stream is dropped.
    ///
    /// Each field is recorded once: the id and model when an event first names them, the
    /// time to the first event at that event, and the event count, finish reasons and usage
    /// when the stream is dropped.
    pub(crate) struct StreamSpan {
        span: tracing::Span,
        listening: bool,
        started: Instant,
        first: Option<Duration>,
        events: u64,
        has_id: bool,
        has_model: bool,
        seen: Seen,
    }

    impl StreamSpan {
        /// One data event: the first sets the time to first token; each is counted, and
        /// what it says is kept for the span.
        pub(crate) fn event(&mut self, data: &str) {
            self.events += 1;
            if !self.listening {
                return;
            }
            if self.first.is_none() {
                let ttft = self.started.elapsed();
                self.first = Some(ttft);
                self.span.record(
                    "oai_compat.stream.time_to_first_token_ms",
                    ttft.as_secs_f64() * 1e3,
                );
            }
            if let Ok(view) =
                crate::bounded::from_str::<ResponseView>(data, crate::bounded::DEFAULT_MULTIPLE)
            {
                let (id, model) = id_and_model(&view);
                if let Some(id) = id.filter(|_| !self.has_id) {
                    self.span.record("gen_ai.response.id", id);
                    self.has_id = true;
                }
                if let Some(m) = model.filter(|_| !self.has_model) {
                    self.span.record("gen_ai.response.model", m);
                    self.has_model = true;
                }
                self.seen.take(&view);
            }
        }

        /// The stream ended with an error (a stream yields one at most).
        pub(crate) fn error(&mut self, err: &Error) {
            self.span.record("error.type", error_type(err).as_ref());
            self.span.record("otel.status_code", "ERROR");
        }
    }

    impl Drop for StreamSpan {
        fn drop(&mut self) {
            self.span.record("oai_compat.stream.events", self.events);
            if self.listening {
                self.seen.record(&self.span);
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn finish_reasons_are_one_per_choice_and_bounded() {
            let mut seen = Seen::default();
            let view = |json: &str| serde_json::from_str::<ResponseView>(json).unwrap();
            let two = view(
                r#"{"choices":[{"index":1,"finish_reason":"length"},{"index":0,"finish_reason":"stop"}]}"#,
            );
            seen.take(&two);
            assert_eq!(joined(&seen.reasons), "stop,length");
            // The same reasons again (a server repeating them in every event): no growth.
            seen.take(&two);
            let far = view(r#"{"choices":[{"index":1000000000,"finish_reason":"stop"}]}"#);
            seen.take(&far);
            assert_eq!(seen.reasons.len(), 2);
            let done = view(r#"{"type":"response.completed","response":{"status":"incomplete"}}"#);
            seen.take(&done);
            assert_eq!(joined(&seen.reasons), "incomplete");
        }

        #[test]
        fn operations() {
            assert_eq!(operation("/chat/completions"), Some("chat"));
            assert_eq!(operation("/completions"), Some("text_completion"));
            assert_eq!(operation("/embeddings?x=1"), Some("embeddings"));
            assert_eq!(operation("/responses"), Some("chat"));
            assert_eq!(operation("/models"), None);
        }
    }
}
