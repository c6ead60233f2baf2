//! The call pipeline, the same for every endpoint and both modes: build the URL and the
//! headers, serialise the body once, run the one retry loop (redirects followed inside an
//! attempt), then decode the JSON answer or hand the body over as a stream.
//!
//! Resources reach it through one entry point per kind of call: [`Engine::get_json`],
//! [`Engine::post_json`], [`Engine::post_stream`], [`Engine::send_json`] (a call without a
//! body, decoded), [`Engine::send`] (a call without a body whose answer is not needed),
//! [`Engine::download`] (a body handed over as a file), and for multipart forms
//! [`Engine::post_form`], [`Engine::post_form_text`] and [`Engine::post_form_stream`].

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::body::{RequestBody, StreamRequest};
use crate::bounded;
use crate::cassette::recorder::Recorder;
use crate::config::{Config, limit};
use crate::download::Download;
use crate::error::{ApiError, Error, Result, TimeoutPhase};
use crate::form::Form;
use crate::headers::Headers;
use crate::multipart::Encoded;
use crate::redirect;
use crate::request::RequestOptions;
use crate::response::{Response, ResponseMeta};
use crate::retry;
use crate::rt;
use crate::stream::EventStream;
use crate::telemetry::CallSpan;
use crate::transport::{
    AttemptTimeouts, Body, HttpRequest, HttpResponse, Method, Payload, Reading, RequestHeaders,
    Transport, deadline_after, remaining,
};
use crate::url::redacted;

/// The most of an error body that is read (the rest is not needed to explain the error).
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Where a path is rooted.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    /// Under the base URL (`/chat/completions` → `http://host/v1/chat/completions`).
    Api(&'a str),
    /// Under the server root, for vLLM's own endpoints (`/health` → `http://host/health`).
    Root(&'a str),
}

impl Path<'_> {
    fn as_str(&self) -> &str {
        match self {
            Path::Api(p) | Path::Root(p) => p,
        }
    }
}

/// What a client runs on: its validated configuration and its transport (the connection
/// pool). Shared by the clones of a client and borrowed by its resource handles.
pub(crate) struct Engine {
    pub(crate) config: Config,
    transport: Transport,
    /// The server root (base URL minus a trailing `/v1`), for vLLM's own endpoints.
    pub(crate) root_url: String,
    /// The headers of every call of each kind, built once: a call without headers of its own
    /// sends these as they are.
    headers: BaseHeaders,
}

/// The client's headers for each kind of call (see [`Engine::base_headers`]).
struct BaseHeaders {
    json: RequestHeaders,
    json_with_body: RequestHeaders,
    stream_with_body: RequestHeaders,
    download: RequestHeaders,
}

impl Engine {
    pub(crate) fn new(config: Config) -> Result<Engine> {
        let transport = Transport::new(&config)?;
        let root_url = config
            .base_url
            .strip_suffix("/v1")
            .unwrap_or(&config.base_url)
            .to_owned();
        let base = |reading, has_body| {
            RequestHeaders::new(base_headers(&config, reading, has_body)).map_err(Error::config)
        };
        let headers = BaseHeaders {
            json: base(Reading::Whole, false)?,
            json_with_body: base(Reading::Whole, true)?,
            stream_with_body: base(Reading::Stream, true)?,
            download: base(Reading::Download, false)?,
        };
        Ok(Engine {
            config,
            transport,
            root_url,
            headers,
        })
    }

    /// The URL of `path` with the options' query appended.
    fn url(&self, path: Path<'_>, opts: &RequestOptions) -> String {
        let (base, path) = match path {
            Path::Api(p) => (&self.config.base_url, p),
            Path::Root(p) => (&self.root_url, p),
        };
        crate::url::join(base, path, &opts.query)
    }

    /// `e` with the API key replaced in every field (servers and proxies echo it).
    fn redact(&self, e: Error) -> Error {
        self.config.redact(e)
    }

    /// The headers of every attempt of a call: the client's for its kind, with the call's own
    /// on top (checked here; the builder's were checked at `build()`), and a form's
    /// `Content-Type` (its boundary) and `Content-Length`.
    fn headers(
        &self,
        opts: &RequestOptions,
        reading: Reading,
        body: Option<&Sent>,
    ) -> Result<Cow<'_, RequestHeaders>> {
        let base = match (reading, body.is_some()) {
            (Reading::Whole, false) => &self.headers.json,
            (Reading::Whole, true) => &self.headers.json_with_body,
            // Every streamed call has a body; one without would still ask for a stream.
            (Reading::Stream, _) => &self.headers.stream_with_body,
            (Reading::Download, _) => &self.headers.download,
        };
        let form = match body {
            Some(Sent::Form(f)) => Some(f),
            _ => None,
        };
        if opts.headers.is_empty() && form.is_none() {
            return Ok(Cow::Borrowed(base));
        }
        opts.headers.validate().map_err(Error::config)?;
        let mut h = Headers::clone(base);
        h.set_all(&opts.headers);
        if let Some(f) = form {
            h.set("content-type", &f.content_type);
            if let Some(n) = f.length {
                h.set("content-length", &n.to_string());
            }
        }
        Ok(Cow::Owned(RequestHeaders::new(h).map_err(Error::config)?))
    }

    /// The id a call is sent under: the call's own, else an `X-Request-Id` header set on the
    /// builder or the call (sent as it is), else a fresh one unless the builder turned them
    /// off.
    fn request_id(&self, opts: &RequestOptions, headers: &Headers) -> Result<Option<String>> {
        if let Some(id) = &opts.request_id {
            crate::request_id::check(id).map_err(Error::config)?;
            return Ok(Some(id.clone()));
        }
        if let Some(id) = headers.get("x-request-id") {
            return Ok(Some(id.to_owned()));
        }
        Ok(self.config.request_ids.then(crate::request_id::generate))
    }
}

/// The client's headers for one kind of call: `Accept`, `Content-Type` when there is a body,
/// the key, organization and project, and the builder's headers (which win).
fn base_headers(cfg: &Config, reading: Reading, has_body: bool) -> Headers {
    let mut h = Headers::with_capacity(5 + cfg.headers.len(), 128);
    let accept = match reading {
        Reading::Stream => "text/event-stream",
        Reading::Whole => "application/json",
        // A file's content is whatever it is.
        Reading::Download => "*/*",
    };
    h.push("accept", accept);
    if has_body {
        h.push("content-type", "application/json");
    }
    if let Some(k) = &cfg.api_key {
        h.push("authorization", format!("Bearer {}", k.expose()));
    }
    if let Some(o) = &cfg.organization {
        h.push("openai-organization", o.as_str());
    }
    if let Some(p) = &cfg.project {
        h.push("openai-project", p.as_str());
    }
    h.set_all(&cfg.headers);
    h
}

/// One call as the retry loop sends it.
struct Call<'a> {
    method: Method,
    path: Path<'a>,
    body: Option<Sent>,
    reading: Reading,
    options: &'a RequestOptions,
}

/// What a call sends, made once and shared by its attempts.
enum Sent {
    Json(Body),
    Form(Arc<Encoded>),
}

impl Sent {
    fn payload(&self) -> Payload<'_> {
        match self {
            Sent::Json(b) => Payload::Bytes(b),
            Sent::Form(f) => Payload::Form(f),
        }
    }

    /// Whether a retry could send it again (a form's one-shot part may be spent).
    fn can_resend(&self) -> bool {
        match self {
            Sent::Json(_) => true,
            Sent::Form(f) => f.can_resend(),
        }
    }
}

/// A form's call: the form made ready for the wire, with the call's `extra_body` keys.
fn form_call<'a>(
    path: Path<'a>,
    form: &Form,
    reading: Reading,
    opts: &'a RequestOptions,
) -> Result<Call<'a>> {
    Ok(Call {
        method: Method::Post,
        path,
        body: Some(Sent::Form(Arc::new(Encoded::new(form, &opts.body)?))),
        reading,
        options: opts,
    })
}

/// What a call's retry loop ends with: the response (its body read unless streamed), the
/// retry count, and the call's span (still open: decoding or the stream adds to it).
struct Executed {
    response: HttpResponse,
    body: Vec<u8>,
    meta: ResponseMeta,
    span: CallSpan,
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Engine {
    /// `GET path`, the answer decoded as a `T` (`what` names it in errors: "model list").
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        path: Path<'_>,
        opts: &RequestOptions,
        what: &'static str,
    ) -> Result<Response<T>> {
        self.send_json(Method::Get, path, opts, what).await
    }

    /// A call without a body (`GET`, a `POST` that takes none), the answer decoded as a `T`.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: Path<'_>,
        opts: &RequestOptions,
        what: &'static str,
    ) -> Result<Response<T>> {
        let call = Call {
            method,
            path,
            body: None,
            reading: Reading::Whole,
            options: opts,
        };
        self.json(call, what).await
    }

    /// `POST path` with `req` as JSON, the answer decoded as a `T`.
    pub(crate) async fn post_json<T: DeserializeOwned, B: RequestBody + ?Sized>(
        &self,
        path: Path<'_>,
        req: &B,
        opts: &RequestOptions,
        what: &'static str,
    ) -> Result<Response<T>> {
        let call = Call {
            method: Method::Post,
            path,
            body: Some(Sent::Json(crate::body::plain(req, opts)?)),
            reading: Reading::Whole,
            options: opts,
        };
        self.json(call, what).await
    }

    /// `POST path` with `req` as JSON and `stream: true`, the answer handed over as a stream
    /// of `T`. Retried only until the response headers arrive, never after.
    pub(crate) async fn post_stream<T: DeserializeOwned, B: StreamRequest + ?Sized>(
        &self,
        path: Path<'_>,
        req: &B,
        opts: &RequestOptions,
    ) -> Result<EventStream<T>> {
        let call = Call {
            method: Method::Post,
            path,
            body: Some(Sent::Json(crate::body::streamed(req, opts)?)),
            reading: Reading::Stream,
            options: opts,
        };
        self.event_stream(call).await
    }

    /// A streamed call's answer as a stream of `T`.
    async fn event_stream<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<EventStream<T>> {
        let done = self.execute(call).await?;
        let idle = self.config.timeouts.stream_idle.and_then(limit);
        let span = done.span.into_stream(done.meta.retries_taken);
        let key = self.config.api_key.clone();
        Ok(EventStream::new(
            done.response,
            done.meta,
            idle,
            key,
            span,
            self.config.max_decoded_multiple,
        ))
    }

    /// `POST path` with `form` as `multipart/form-data`, the answer decoded as a `T`.
    pub(crate) async fn post_form<T: DeserializeOwned>(
        &self,
        path: Path<'_>,
        form: &Form,
        opts: &RequestOptions,
        what: &'static str,
    ) -> Result<Response<T>> {
        let call = form_call(path, form, Reading::Whole, opts).map_err(|e| self.redact(e))?;
        self.json(call, what).await
    }

    /// `POST path` with `form`, the answer's body as text, whatever its content type (a
    /// transcription as `text`, `srt` or `vtt`). Bounded by `max_response_bytes`.
    pub(crate) async fn post_form_text(
        &self,
        path: Path<'_>,
        form: &Form,
        opts: &RequestOptions,
        what: &'static str,
    ) -> Result<Response<String>> {
        let call = form_call(path, form, Reading::Whole, opts).map_err(|e| self.redact(e))?;
        let Executed {
            body, meta, span, ..
        } = self.execute_named(call, what).await?;
        match String::from_utf8(body) {
            Ok(value) => {
                span.response(meta.retries_taken, value.as_bytes());
                Ok(Response { value, meta })
            }
            Err(e) => {
                let why = format!("the body is not UTF-8 text: {}", e.utf8_error());
                Err(self.decode_failed(what, &why, e.as_bytes(), &meta, &span))
            }
        }
    }

    /// `POST path` with `form` (which asks for a stream itself: `stream=true`), the answer
    /// handed over as a stream of `T`. Retried only until the response headers arrive.
    pub(crate) async fn post_form_stream<T: DeserializeOwned>(
        &self,
        path: Path<'_>,
        form: &Form,
        opts: &RequestOptions,
    ) -> Result<EventStream<T>> {
        let call = form_call(path, form, Reading::Stream, opts).map_err(|e| self.redact(e))?;
        self.event_stream(call).await
    }

    /// `GET path`, the body handed over piece by piece as a [`Download`] (a file's content):
    /// not bounded by `max_response_bytes`, each gap bounded by `Timeouts::stream_idle` and
    /// the whole by `Timeouts::stream_total`. Retried only until the response headers arrive.
    pub(crate) async fn download(&self, path: Path<'_>, opts: &RequestOptions) -> Result<Download> {
        let call = Call {
            method: Method::Get,
            path,
            body: None,
            reading: Reading::Download,
            options: opts,
        };
        let done = self.execute(call).await?;
        let idle = self.config.timeouts.stream_idle.and_then(limit);
        Ok(Download::new(
            done.response,
            done.meta,
            idle,
            self.config.api_key.clone(),
        ))
    }

    /// A call without a body whose answer is not needed (`GET /health`, `DELETE`): its meta.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: Path<'_>,
        opts: &RequestOptions,
    ) -> Result<ResponseMeta> {
        let call = Call {
            method,
            path,
            body: None,
            reading: Reading::Whole,
            options: opts,
        };
        Ok(self.execute(call).await?.meta)
    }

    /// A non-streamed call, its body decoded as a `T`.
    async fn json<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
        what: &'static str,
    ) -> Result<Response<T>> {
        let Executed {
            body, meta, span, ..
        } = self.execute_named(call, what).await?;
        let retries = meta.retries_taken;
        let failed =
            |source: &dyn std::fmt::Display| self.decode_failed(what, source, &body, &meta, &span);
        if body.is_empty() {
            return Err(failed(&"the body is empty"));
        }
        // The body is checked as UTF-8 once, as a whole, and parsed as text: serde_json then
        // skips checking each string on its own, which costs more (a fifth of decoding a chat
        // completion; about 1% more on a 2 MB float embedding). Invalid UTF-8 is parsed as bytes,
        // for serde_json's error with its position.
        let parsed = match std::str::from_utf8(&body) {
            Ok(text) => bounded::from_str::<T>(text, self.config.max_decoded_multiple),
            Err(_) => bounded::from_slice::<T>(&body, self.config.max_decoded_multiple),
        };
        match parsed {
            Ok(value) => {
                span.response(retries, &body);
                Ok(Response { value, meta })
            }
            Err(source) => Err(failed(&source)),
        }
    }

    /// [`Engine::execute`] for an answer decoded as `what`: a body over the limit is reported
    /// as the endpoint's ("the chat completion response"), not as "the HTTP response".
    async fn execute_named(&self, call: Call<'_>, what: &'static str) -> Result<Executed> {
        self.execute(call).await.map_err(|mut e| {
            if let Error::Decode(d) = &mut e {
                d.what = what;
            }
            e
        })
    }

    /// The error for a 2xx body that does not decode as `what`: with its retries and request
    /// id, redacted, and recorded on the call's span.
    fn decode_failed(
        &self,
        what: &'static str,
        source: &dyn std::fmt::Display,
        body: &[u8],
        meta: &ResponseMeta,
        span: &CallSpan,
    ) -> Error {
        let mut e = Error::decode(what, source, body, meta.request_id().map(str::to_owned));
        e.set_retries_taken(meta.retries_taken);
        let e = self.redact(e);
        span.error(&e, meta.retries_taken);
        e
    }

    /// The one retry loop: sends, reads the body of a non-streamed 2xx, turns non-2xx into
    /// [`Error::Api`], and retries what the policy allows, sleeping in between.
    async fn execute(&self, call: Call<'_>) -> Result<Executed> {
        let opts = call.options;
        let cfg = &self.config;
        if opts.timeout == Some(Duration::ZERO) {
            return Err(Error::config(
                "RequestOptions::timeout is zero: the call could never succeed; use a positive duration (Duration::MAX for no limit)",
            ));
        }
        let url = self.url(call.path, opts);
        let headers = self
            .headers(opts, call.reading, call.body.as_ref())
            .map_err(|e| self.redact(e))?;
        let request_id = self.request_id(opts, &headers)?;
        let req = HttpRequest {
            method: call.method,
            url: &url,
            headers: &headers,
            request_id: request_id.as_deref(),
            body: call.body.as_ref().map(Sent::payload),
            reading: call.reading,
            timeouts: AttemptTimeouts {
                request: limit(opts.timeout.unwrap_or(cfg.timeouts.request)),
                stream_total: cfg.timeouts.stream_total.and_then(limit),
            },
            deadline: None,
        };
        let path = call.path.as_str();
        let span = CallSpan::start(
            call.method,
            path,
            &url,
            req.body.as_ref().map(Payload::recorded),
        );
        let max_retries = opts.max_retries.unwrap_or(cfg.max_retries);
        let mut budget = retry::Budget::new(max_retries);
        loop {
            let retries = budget.taken();
            // The attempt's span closes at the end of this block, before any backoff sleep.
            let outcome = {
                let attempt_span = span.attempt(retries);
                // Redacted before anything (the retry log, the span) can show it.
                let outcome = self.attempt(&req).await.map_err(|e| self.redact(e));
                match &outcome {
                    Ok((response, _)) => attempt_span.status(response.status),
                    Err(e) => attempt_span.error(e, retries),
                }
                outcome
            };
            let err = match outcome {
                Ok((mut response, body)) => {
                    log::debug!(
                        "{} {path} -> {} (request id {:?}, sent as {:?}, {retries} retries)",
                        call.method.as_str(),
                        response.status,
                        response.headers.request_id(),
                        request_id,
                    );
                    span.status(response.status);
                    let meta = ResponseMeta {
                        status: response.status,
                        // A streamed response keeps reading its body, not its headers.
                        headers: std::mem::take(&mut response.headers),
                        retries_taken: retries,
                        client_request_id: request_id,
                    };
                    return Ok(Executed {
                        response,
                        body,
                        meta,
                        span,
                    });
                }
                Err(e) => e,
            };
            match budget.next_delay(&err) {
                // A form whose one-shot part (a pipe) was read cannot be sent again.
                Some(_) if call.body.as_ref().is_some_and(|b| !b.can_resend()) => {
                    let err = match &call.body {
                        Some(Sent::Form(f)) => f.not_retried(err),
                        _ => err,
                    };
                    let mut err = self.redact(err);
                    // The retry was not made.
                    err.set_retries_taken(retries);
                    span.error(&err, retries);
                    return Err(err);
                }
                Some(d) => {
                    log::info!(
                        "{} {path}: {err}; retrying in {d:.3?} (retry {} of {max_retries}, request id {:?}, sent as {:?})",
                        call.method.as_str(),
                        budget.taken(),
                        err.request_id(),
                        req.request_id,
                    );
                    rt::sleep(d).await;
                }
                None => {
                    let err = budget.give_up(err);
                    span.error(&err, retries);
                    return Err(err);
                }
            }
        }
    }

    /// One attempt: a 2xx response (with its body unless streamed), or the error to judge.
    /// Redirects are followed here, so a redirect is never counted as a retry.
    ///
    /// The attempt has one deadline, set here once: it bounds every redirect hop and every
    /// body that is not handed over as a stream (an error body, a JSON answer to a stream
    /// request), in both modes.
    async fn attempt(&self, req: &HttpRequest<'_>) -> Result<(HttpResponse, Vec<u8>)> {
        let mut req = HttpRequest {
            deadline: deadline_after(req.timeouts.request),
            ..*req
        };
        let mut response = self.send_one(&req).await?;
        req.deadline = req.after_upload();
        let mut hop: Option<(String, RequestHeaders)> = None;
        let mut trail = redirect::Trail::new(req.url);
        while redirect::is_redirect(response.status) {
            let (url, headers) = match &hop {
                Some((u, h)) => (u.as_str(), h),
                None => (req.url, req.headers),
            };
            let (to, kept) =
                redirect::next_hop(req.method, response.status, url, &response.headers, headers)?;
            let next = (
                to,
                RequestHeaders::new(kept).map_err(Error::invalid_request)?,
            );
            trail.push(response.status, &response.headers, &next.0)?;
            log::debug!(
                "HTTP {} redirect from {} to {}",
                response.status,
                redacted(url),
                redacted(&next.0)
            );
            // The redirect's body is not needed: dropping the response closes its connection
            // instead of waiting for a body a server may never finish.
            drop(response);
            let follow = HttpRequest {
                url: &next.0,
                headers: &next.1,
                ..req
            };
            response = self.send_one(&follow).await?;
            req.deadline = follow.after_upload();
            hop = Some(next);
        }
        if !(200..300).contains(&response.status) {
            // An error body that breaks off, stalls or is too long still leaves the status and
            // the start of the body to report.
            let (body, _) = response.read_prefix(MAX_ERROR_BODY, req.deadline).await;
            let headers = std::mem::take(&mut response.headers);
            let api = ApiError::from_response(response.status, headers, &body);
            return Err(Error::Api(Box::new(api)));
        }
        if req.reading == Reading::Stream {
            // A server that ignores `stream: true` (or a proxy's page) answers with a plain
            // body: say so, instead of reporting an event stream that "ended early".
            let ct = response.headers.get("content-type").unwrap_or("");
            if !ct.is_empty() && !ct.to_ascii_lowercase().starts_with("text/event-stream") {
                let why = format!(
                    "expected an event stream (text/event-stream), got `{ct}`; the server may not support streaming"
                );
                let (body, _) = response.read_prefix(MAX_ERROR_BODY, req.deadline).await;
                let id = response.headers.request_id().map(str::to_owned);
                return Err(Error::decode("stream", why, &body, id));
            }
            return Ok((response, Vec::new()));
        }
        if req.reading == Reading::Download {
            // The caller reads the body piece by piece (a `Download`), unbounded.
            return Ok((response, Vec::new()));
        }
        let body = response
            .read_body(self.config.max_response_bytes, req.deadline)
            .await?;
        Ok((response, body))
    }

    /// One request of an attempt (the first, or a redirect hop), by the attempt's deadline.
    async fn send_one(&self, req: &HttpRequest<'_>) -> Result<HttpResponse> {
        if remaining(req.deadline) == Some(Duration::ZERO) {
            return Err(Error::timeout(TimeoutPhase::Request, req.timeouts.request));
        }
        // A cassette answers here, before the network, or records what the network answers:
        // one place for every endpoint, every retry and every redirect hop.
        let Some(cassette) = &self.config.cassette else {
            return self
                .transport
                .send(req)
                .await
                .map_err(|e| e.with_host(crate::url::authority(req.url)));
        };
        let recorded = cassette.request(
            req.method.as_str(),
            req.url,
            req.body.as_ref().map(Payload::recorded),
        );
        if let Some(tape) = cassette.replay(&recorded)? {
            return Ok(HttpResponse::replay(tape, req));
        }
        let mut response = self
            .transport
            .send(req)
            .await
            .map_err(|e| e.with_host(crate::url::authority(req.url)))?;
        let recorder = Recorder::new(
            Arc::clone(cassette),
            recorded,
            response.status,
            &response.headers,
        );
        response.record(recorder);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientBuilder;

    fn engine(b: ClientBuilder) -> Engine {
        Engine::new(b.use_env(false).into_config().unwrap()).unwrap()
    }

    #[test]
    fn url_building_and_root() {
        let e = engine(ClientBuilder::new().base_url("http://h:1/v1"));
        assert_eq!(e.root_url, "http://h:1");
        let o = RequestOptions::new().query("a b", "c&d").query("x", "1");
        assert_eq!(
            e.url(Path::Api("/models"), &o),
            "http://h:1/v1/models?a%20b=c%26d&x=1"
        );
        assert_eq!(
            e.url(Path::Root("/health"), &RequestOptions::new()),
            "http://h:1/health"
        );
    }

    #[test]
    fn no_key_means_no_authorization_header() {
        let e = engine(ClientBuilder::new().base_url("http://h"));
        let h = e
            .headers(
                &RequestOptions::new(),
                Reading::Whole,
                Some(&Sent::Json(Body::default())),
            )
            .unwrap();
        assert_eq!(h.get("authorization"), None);
        assert_eq!(h.get("content-type"), Some("application/json"));
        let e = engine(
            ClientBuilder::new()
                .base_url("http://h")
                .api_key("EMPTY")
                .header("X-Trace", "a"),
        );
        let h = e
            .headers(
                &RequestOptions::new().header("x-trace", "b"),
                Reading::Stream,
                Some(&Sent::Json(Body::default())),
            )
            .unwrap();
        assert_eq!(h.get("authorization"), Some("Bearer EMPTY"));
        assert_eq!(h.get("accept"), Some("text/event-stream"));
        assert_eq!(h.get_all("X-TRACE").collect::<Vec<_>>(), ["b"]);
        assert_eq!(h.get("content-type"), Some("application/json"));
        // Without headers of its own a call borrows the client's, built once.
        let plain = e
            .headers(&RequestOptions::new(), Reading::Whole, None)
            .unwrap();
        assert!(matches!(plain, Cow::Borrowed(_)));
        assert_eq!(plain.get("content-type"), None);
        assert_eq!(plain.get("accept"), Some("application/json"));
        assert_eq!(plain.get_all("x-trace").collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn a_bad_call_header_is_refused_before_sending() {
        let e = engine(ClientBuilder::new().base_url("http://h"));
        let err = e
            .headers(
                &RequestOptions::new().header("x-a", "1\r\nx-b: 2"),
                Reading::Whole,
                None,
            )
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }
}
