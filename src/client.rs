//! [`Client`]: the configured connection to one server, its resource handles, and
//! `execute()`, the one retry loop shared by both modes.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::config::limit;
use crate::config::{ClientBuilder, Config};
use crate::error::TimeoutPhase;
use crate::error::{ApiError, Error, Result};
use crate::headers::Headers;
use crate::redirect;
use crate::request::RequestOptions;
use crate::retry;
use crate::rt;
use crate::stream::EventStream;
use crate::telemetry::CallSpan;
use crate::transport::{
    AttemptTimeouts, Body, HttpRequest, HttpResponse, Method, Transport, deadline_after, remaining,
};
use crate::url::redacted;

/// Sent as `User-Agent` on every request.
pub(crate) const USER_AGENT: &str = concat!("oai-compat/", env!("CARGO_PKG_VERSION"));

/// The most of an error body that is read (the rest is not needed to explain the error).
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// A client for one OpenAI-compatible server.
///
/// Cheap to clone: clones share one connection pool. `Send + Sync`, so one client can serve
/// many threads or tasks. For several servers at once, build one client per server.
///
/// In the default (blocking) mode every call blocks; with the `async` feature the same
/// methods are `async fn`s (the docs show the blocking signatures).
///
#[cfg_attr(feature = "blocking", doc = "```no_run")]
// Written for the blocking signatures; in async mode every call here is `.await`ed.
#[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
/// use oai_compat::{Client, types::{ChatCompletionRequest, Message}};
/// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
/// let models = client.models().list()?;
/// let Some(model) = models.data.first().map(|m| m.id.as_str()) else {
///     return Ok(()); // no models served
/// };
/// let reply = client
///     .chat()
///     .create(&ChatCompletionRequest::new(model, [Message::user("Say hi")]))?;
/// println!("{}", reply.text().unwrap_or_default());
/// # Ok::<_, oai_compat::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    options: RequestOptions,
}

struct Inner {
    config: Config,
    transport: Transport,
    /// The server root (base URL minus a trailing `/v1`), for vLLM's own endpoints.
    root_url: String,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .field("options", &self.options)
            .finish()
    }
}

/// Status, headers and retry count of a response, for any call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResponseMeta {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: Headers,
    /// How many retries were made before this response.
    pub retries_taken: u32,
}

impl ResponseMeta {
    /// The server's request id (`x-request-id`).
    pub fn request_id(&self) -> Option<&str> {
        self.headers.request_id()
    }
}

/// A decoded response together with its [`ResponseMeta`]; derefs to the data.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response<T> {
    /// The decoded body (named `value` so it never shadows a `data` field of `T` through
    /// `Deref`, as in `ModelList::data`).
    pub value: T,
    /// Status, headers, request id and retries taken.
    pub meta: ResponseMeta,
}

impl<T> Response<T> {
    /// The decoded body.
    pub fn into_value(self) -> T {
        self.value
    }
}

impl<T> std::ops::Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`] for every setting and its default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `OPENAI_BASE_URL`, `OPENAI_API_KEY`, `OPENAI_ORG_ID` and
    /// `OPENAI_PROJECT_ID`, with every other setting at its default.
    ///
    /// ```
    /// let client = oai_compat::Client::from_env()?;
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub fn from_env() -> Result<Client> {
        ClientBuilder::new().build()
    }

    pub(crate) fn from_config(config: Config) -> Result<Client> {
        let transport = Transport::new(&config)?;
        let root_url = config
            .base_url
            .strip_suffix("/v1")
            .unwrap_or(&config.base_url)
            .to_owned();
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                transport,
                root_url,
            }),
            options: RequestOptions::default(),
        })
    }

    /// The normalised base URL, e.g. `http://localhost:8000/v1`.
    pub fn base_url(&self) -> &str {
        &self.inner.config.base_url
    }

    /// The server root: the base URL without a trailing `/v1` (vLLM's `/health`,
    /// `/tokenize` ... live there).
    pub fn root_url(&self) -> &str {
        &self.inner.root_url
    }

    /// A copy of this client that applies `options` to every call; it shares the pool.
    ///
    /// ```
    /// use std::time::Duration;
    /// let client = oai_compat::Client::builder().base_url("http://localhost:8000").build()?;
    /// let patient = client.with_options(
    ///     oai_compat::RequestOptions::new().timeout(Duration::from_secs(1800)),
    /// );
    /// # let _ = patient;
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub fn with_options(&self, options: RequestOptions) -> Client {
        Client {
            inner: Arc::clone(&self.inner),
            options: self.options.merged(&options),
        }
    }

    /// Chat completions: `/chat/completions`.
    pub fn chat(&self) -> crate::resources::chat::Chat<'_> {
        crate::resources::chat::Chat::new(self)
    }

    /// Text completions: `/completions`.
    pub fn completions(&self) -> crate::resources::completions::Completions<'_> {
        crate::resources::completions::Completions::new(self)
    }

    /// Embeddings: `/embeddings`.
    pub fn embeddings(&self) -> crate::resources::embeddings::Embeddings<'_> {
        crate::resources::embeddings::Embeddings::new(self)
    }

    /// The Responses API: `/responses`.
    pub fn responses(&self) -> crate::resources::responses::Responses<'_> {
        crate::resources::responses::Responses::new(self)
    }

    /// Models: `/models`.
    pub fn models(&self) -> crate::resources::models::Models<'_> {
        crate::resources::models::Models::new(self)
    }

    /// vLLM's own endpoints at the server root: `/health`, `/version`, `/tokenize`,
    /// `/detokenize`, `/score`, `/rerank`, `/pooling`, `/classify`.
    pub fn vllm(&self) -> crate::resources::vllm::Vllm<'_> {
        crate::resources::vllm::Vllm::new(self)
    }

    /// The options of a call: the client's, with the handle's on top.
    pub(crate) fn options<'a>(
        &'a self,
        call: &'a Option<RequestOptions>,
    ) -> Cow<'a, RequestOptions> {
        match call {
            Some(o) => Cow::Owned(self.options.merged(o)),
            None => Cow::Borrowed(&self.options),
        }
    }

    /// `base_url + path` (or `root_url + path`) with the options' query appended.
    pub(crate) fn url(&self, path: &str, root: bool, opts: &RequestOptions) -> String {
        let base = if root {
            &self.inner.root_url
        } else {
            &self.inner.config.base_url
        };
        crate::url::join(base, path, &opts.query)
    }

    /// `e` with the API key replaced in every field (servers and proxies echo it).
    pub(crate) fn redact(&self, mut e: Error) -> Error {
        if let Some(key) = &self.inner.config.api_key {
            e.redact(key.expose());
        }
        e
    }

    /// The headers of every attempt of a call.
    fn headers(
        &self,
        opts: &RequestOptions,
        stream: bool,
        has_body: bool,
    ) -> Result<Vec<(String, String)>> {
        let cfg = &self.inner.config;
        let mut h: Vec<(String, String)> =
            Vec::with_capacity(4 + cfg.headers.len() + opts.headers.len());
        let accept = if stream {
            "text/event-stream"
        } else {
            "application/json"
        };
        h.push(("accept".into(), accept.into()));
        if has_body {
            h.push(("content-type".into(), "application/json".into()));
        }
        if let Some(k) = &cfg.api_key {
            h.push(("authorization".into(), format!("Bearer {}", k.expose())));
        }
        if let Some(o) = &cfg.organization {
            h.push(("openai-organization".into(), o.clone()));
        }
        if let Some(p) = &cfg.project {
            h.push(("openai-project".into(), p.clone()));
        }
        // The builder's headers were checked at build(); per-call ones are checked here.
        for (n, v) in &opts.headers {
            crate::config::validate_header(n, v)?;
        }
        for (n, v) in cfg.headers.iter().chain(opts.headers.iter()) {
            h.retain(|(m, _)| !m.eq_ignore_ascii_case(n));
            h.push((n.clone(), v.clone()));
        }
        Ok(h)
    }
}

/// Serialises a request body once: `stream`/`stream_options` set by the client, extra body
/// keys from the options merged on top (they win, as openai-python's `extra_body`).
pub(crate) fn json_body<T: Serialize>(
    req: &T,
    extra: &Map<String, Value>,
    stream: Option<Option<&crate::types::StreamOptions>>,
    opts: &RequestOptions,
) -> Result<Body> {
    // serde_json would write a NaN or an infinity as `null` (the server's default): refuse it,
    // naming the field. Extra body keys are JSON values, which cannot hold one.
    crate::finite::check(req)?;
    // The common cases serialise straight to bytes; only extra body keys (which must win over
    // typed fields) or a user-set `stream` key need the JSON tree.
    let direct = opts.body.is_empty()
        && !extra.contains_key("stream")
        && !extra.contains_key("stream_options");
    let bytes = if direct {
        match stream {
            None => serde_json::to_vec(req),
            Some(stream_options) => serde_json::to_vec(&Streamed {
                req,
                stream: true,
                stream_options,
            }),
        }
    } else {
        let mut v = match serde_json::to_value(req) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return Err(Error::config("a request must serialise to a JSON object")),
            Err(e) => {
                return Err(Error::config(format!(
                    "could not serialise the request: {e}"
                )));
            }
        };
        v.remove("stream");
        v.remove("stream_options");
        if let Some(so) = stream {
            v.insert("stream".into(), Value::Bool(true));
            if let Some(so) = so {
                let so = serde_json::to_value(so).map_err(|e| {
                    Error::config(format!("could not serialise stream_options: {e}"))
                })?;
                v.insert("stream_options".into(), so);
            }
        }
        for (k, val) in &opts.body {
            v.insert(k.clone(), val.clone());
        }
        serde_json::to_vec(&v)
    }
    .map_err(|e| Error::config(format!("could not serialise the request: {e}")))?;
    Ok(Body::from(bytes))
}

/// A request with the client's `stream` fields added, serialised in one pass.
#[derive(Serialize)]
struct Streamed<'a, T> {
    #[serde(flatten)]
    req: &'a T,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<&'a crate::types::StreamOptions>,
}

/// One call: what `execute` sends.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) path: &'a str,
    /// The path is relative to the server root (vLLM's own endpoints), not the base URL.
    pub(crate) root: bool,
    pub(crate) body: Option<Body>,
    pub(crate) stream: bool,
    pub(crate) options: &'a RequestOptions,
}

impl<'a> Call<'a> {
    /// A `POST` of a JSON body to a path under the base URL.
    pub(crate) fn post(
        path: &'a str,
        body: Body,
        stream: bool,
        options: &'a RequestOptions,
    ) -> Self {
        Call {
            method: Method::Post,
            path,
            root: false,
            body: Some(body),
            stream,
            options,
        }
    }

    /// The same call against the server root instead of the base URL (vLLM's own endpoints).
    pub(crate) fn at_root(mut self) -> Self {
        self.root = true;
        self
    }

    /// A `GET` of a path under the base URL.
    pub(crate) fn get(path: &'a str, options: &'a RequestOptions) -> Self {
        Call {
            method: Method::Get,
            path,
            root: false,
            body: None,
            stream: false,
            options,
        }
    }
}

/// The result of `execute`: the response, its body when not streamed, the retry count, and
/// the call's span (still open: decoding or the stream adds to it).
pub(crate) struct Executed {
    pub(crate) response: HttpResponse,
    pub(crate) body: Vec<u8>,
    pub(crate) retries_taken: u32,
    span: CallSpan,
}

impl Executed {
    fn meta(&self) -> ResponseMeta {
        ResponseMeta {
            status: self.response.status,
            headers: self.response.headers.clone(),
            retries_taken: self.retries_taken,
        }
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Client {
    /// The one retry loop: sends, reads the body of a non-streamed 2xx, turns non-2xx into
    /// [`Error::Api`], and retries what the policy allows, sleeping in between.
    pub(crate) async fn execute(&self, call: Call<'_>) -> Result<Executed> {
        let opts = call.options;
        let cfg = &self.inner.config;
        let url = self.url(call.path, call.root, opts);
        let headers = self
            .headers(opts, call.stream, call.body.is_some())
            .map_err(|e| self.redact(e))?;
        let max_retries = opts.max_retries.unwrap_or(cfg.max_retries);
        if opts.timeout == Some(Duration::ZERO) {
            return Err(Error::config(
                "RequestOptions::timeout is zero: the call could never succeed; use a positive duration (Duration::MAX for no limit)",
            ));
        }
        let req = HttpRequest {
            method: call.method,
            url: &url,
            headers: &headers,
            body: call.body.as_ref(),
            stream: call.stream,
            timeouts: AttemptTimeouts {
                request: limit(opts.timeout.unwrap_or(cfg.timeouts.request)),
                stream_idle: cfg.timeouts.stream_idle.and_then(limit),
                stream_total: cfg.timeouts.stream_total.and_then(limit),
            },
            deadline: None,
        };
        let span = CallSpan::start(call.method, call.path, &url, call.body.as_deref());
        let mut retries_taken = 0;
        loop {
            // The attempt's span closes at the end of this block, before any backoff sleep.
            let outcome = {
                let attempt_span = span.attempt(retries_taken);
                let outcome = self.attempt(&req).await;
                // Redacted before anything (the retry log, the span) can show it.
                let outcome = outcome.map_err(|e| self.redact(e));
                match &outcome {
                    Ok((response, _)) => attempt_span.status(response.status),
                    Err(e) => attempt_span.error(e, retries_taken),
                }
                outcome
            };
            let mut err = match outcome {
                Ok((response, body)) => {
                    log::debug!(
                        "{} {} -> {} (request id {:?}, {} retries)",
                        call.method.as_str(),
                        call.path,
                        response.status,
                        response.headers.request_id(),
                        retries_taken
                    );
                    span.status(response.status);
                    return Ok(Executed {
                        response,
                        body,
                        retries_taken,
                        span,
                    });
                }
                Err(e) => e,
            };
            let delay = if retries_taken < max_retries {
                retry::delay_for(&err, retries_taken)
            } else {
                None
            };
            match delay {
                Some(d) => {
                    retries_taken += 1;
                    log::info!(
                        "{} {}: {err}; retrying in {:.3?} (retry {retries_taken} of {max_retries}, request id {:?})",
                        call.method.as_str(),
                        call.path,
                        d,
                        err.request_id()
                    );
                    rt::sleep(d).await;
                }
                None => {
                    err.set_retries_taken(retries_taken);
                    span.error(&err, retries_taken);
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
        let req = HttpRequest {
            deadline: deadline_after(req.timeouts.request),
            ..*req
        };
        let mut response = self.send(&req).await?;
        let mut hop: Option<(String, Vec<(String, String)>)> = None;
        let mut trail = redirect::Trail::new(req.url);
        while redirect::is_redirect(response.status) {
            let (url, headers) = match &hop {
                Some((u, h)) => (u.as_str(), h.as_slice()),
                None => (req.url, req.headers),
            };
            let next =
                redirect::next_hop(req.method, response.status, url, &response.headers, headers)?;
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
            response = self.send(&follow).await?;
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
        if req.stream {
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
        let limit = self.inner.config.max_response_bytes;
        let body = response.read_body(limit, req.deadline).await?;
        Ok((response, body))
    }

    async fn send(&self, req: &HttpRequest<'_>) -> Result<HttpResponse> {
        if remaining(req.deadline) == Some(Duration::ZERO) {
            return Err(Error::timeout(TimeoutPhase::Request, req.timeouts.request));
        }
        self.inner
            .transport
            .send(req)
            .await
            .map_err(|e| e.with_host(req.url))
    }

    /// A non-streamed JSON call, decoded into `T`.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
        what: &'static str,
    ) -> Result<Response<T>> {
        // A body over the limit is reported as the endpoint's ("the chat completion response").
        let done = self.execute(call).await.map_err(|mut e| {
            if let Error::Decode(d) = &mut e {
                d.what = what;
            }
            e
        })?;
        let meta = done.meta();
        if done.body.is_empty() {
            let mut e = Error::decode(
                what,
                "the body is empty",
                b"",
                meta.request_id().map(str::to_owned),
            );
            e.set_retries_taken(done.retries_taken);
            done.span.error(&e, done.retries_taken);
            return Err(e);
        }
        match serde_json::from_slice::<T>(&done.body) {
            Ok(value) => {
                done.span.response(done.retries_taken, &done.body);
                Ok(Response { value, meta })
            }
            Err(source) => {
                let mut e = Error::decode(
                    what,
                    source,
                    &done.body,
                    meta.request_id().map(str::to_owned),
                );
                e.set_retries_taken(done.retries_taken);
                let e = self.redact(e);
                done.span.error(&e, done.retries_taken);
                Err(e)
            }
        }
    }

    /// A streamed call: retried only until the response headers arrive, never after.
    pub(crate) async fn stream<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
    ) -> Result<EventStream<T>> {
        let done = self.execute(call).await?;
        let meta = done.meta();
        Ok(EventStream::new(
            done.response,
            meta,
            &self.inner.config,
            done.span.into_stream(done.retries_taken),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_body_owns_the_stream_fields() {
        use crate::types::{ChatCompletionRequest, Message, StreamOptions};
        let parse = |b: Body| serde_json::from_slice::<Value>(&b).unwrap();
        let mut req = ChatCompletionRequest::new("m", [Message::user("hi")]);
        let so = StreamOptions {
            include_usage: Some(true),
            ..Default::default()
        };
        let none = RequestOptions::new();
        let plain = parse(json_body(&req, &req.extra, None, &none).unwrap());
        assert!(plain.get("stream").is_none());
        let streamed = parse(json_body(&req, &req.extra, Some(Some(&so)), &none).unwrap());
        assert_eq!(streamed["stream"], true);
        assert_eq!(streamed["stream_options"]["include_usage"], true);
        assert_eq!(streamed["messages"][0]["content"], "hi");
        // A `stream` key set by hand never decides how the answer is read.
        req.extra.insert("stream".into(), Value::Bool(true));
        let plain = parse(json_body(&req, &req.extra, None, &none).unwrap());
        assert!(plain.get("stream").is_none(), "{plain}");
        let opts = RequestOptions::new().extra_body("temperature", 0.5);
        req.extra.clear();
        req.temperature = Some(1.0);
        let merged = parse(json_body(&req, &req.extra, Some(None), &opts).unwrap());
        assert_eq!(merged["temperature"], 0.5);
        assert_eq!(merged["stream"], true);
        assert!(merged.get("stream_options").is_none());
    }

    #[test]
    fn client_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Client>();
    }

    #[test]
    fn url_building_and_root() {
        let c = Client::builder()
            .use_env(false)
            .base_url("http://h:1/v1")
            .build()
            .unwrap();
        assert_eq!(c.root_url(), "http://h:1");
        let o = RequestOptions::new().query("a b", "c&d").query("x", "1");
        assert_eq!(
            c.url("/models", false, &o),
            "http://h:1/v1/models?a%20b=c%26d&x=1"
        );
        assert_eq!(
            c.url("/health", true, &RequestOptions::new()),
            "http://h:1/health"
        );
    }

    #[test]
    fn no_key_means_no_authorization_header() {
        let c = Client::builder()
            .use_env(false)
            .base_url("http://h")
            .build()
            .unwrap();
        let h = c.headers(&RequestOptions::new(), false, true).unwrap();
        assert!(h.iter().all(|(n, _)| n != "authorization"));
        let c = Client::builder()
            .use_env(false)
            .base_url("http://h")
            .api_key("EMPTY")
            .header("X-Trace", "a")
            .build()
            .unwrap();
        let h = c
            .headers(&RequestOptions::new().header("x-trace", "b"), true, false)
            .unwrap();
        assert!(h.contains(&("authorization".into(), "Bearer EMPTY".into())));
        assert!(h.contains(&("accept".into(), "text/event-stream".into())));
        assert!(h.contains(&("x-trace".into(), "b".into())));
        assert!(
            !h.iter()
                .any(|(n, v)| n.eq_ignore_ascii_case("x-trace") && v == "a")
        );
        assert!(!h.iter().any(|(n, _)| n == "content-type"));
    }
}
