//! [`Router`]: several servers behind one client, routed by model.
//!
//! vLLM serves one model per server, so real deployments run several. A `Router` learns
//! which server serves which model from their `/models` lists (cached, refreshed on demand),
//! sends each call to a server that serves the request's `model`, chooses among the servers
//! of the same model by load (calls in flight weighed by latency, see `balance.rs`), sets
//! aside for a while one that keeps failing, and fails over between them on connection
//! errors, timeouts and 503 (overload), all within one retry budget.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use serde_json::value::RawValue;

use crate::balance::{BackendStats, Balancer, Cooldown, Slot};
use crate::client::Client;
use crate::config::DEFAULT_MAX_RETRIES;
use crate::error::{Error, Result};
use crate::request::RequestOptions;
use crate::resources::{chat::ChatCompletionStream, completions::CompletionStream};
use crate::response::Response;
use crate::retry;
use crate::rt;
use crate::types::{
    ChatCompletion, ChatCompletionRequest, Completion, CompletionRequest, EmbeddingRequest,
    EmbeddingResponse,
};

/// The environment variable [`Router::from_env`] reads: comma-separated base URLs.
pub const BACKENDS_ENV: &str = "OAI_COMPAT_BACKENDS";

/// Routes calls to several OpenAI-compatible servers by the request's `model`.
///
/// Among the servers of a model, each attempt goes to the one with the lowest
/// `(calls in flight + 1) × latency estimate`, the wait one more call should expect there, so
/// a server ten times slower gets at most about a tenth as many calls as a fast one (taking
/// turns gave it as many). The estimate
/// is a decaying peak (Finagle's "peak EWMA"): a slower answer raises it at once, and it decays
/// toward zero between answers (time constant 3 s), so a server that got fast again wins its
/// calls back; a call out for longer than the estimate counts as the estimate. A server with
/// no answer yet counts as the others' average. Latencies under 20 ms count as 20 ms, so that
/// noise picks no favourites among equal servers; equal scores take turns. A call counts in
/// flight from its sending until its result; a routed stream until it is dropped.
///
/// A server that fails [`cooldown_after`](RouterBuilder::cooldown_after) times in a row
/// (connection errors, timeouts, 5xx; not 4xx, the caller's fault) is set aside for
/// [`cooldown`](RouterBuilder::cooldown); then the next call probes it, one at a time. An
/// answer brings it back; a failed probe sets it aside again for twice as long, up to
/// [`max_cooldown`](RouterBuilder::max_cooldown). When every server of a model is set aside,
/// calls still go out, to the one whose cool-down ends first. [`Router::backend_stats`] shows
/// the state; the `log` crate tells when a server is set aside and when it is back.
///
/// Files and batches are not routed: a file lives on the server it was uploaded to, and a
/// batch runs there, so call that server's client ([`Router::backends`]`[i].files()`,
/// `.batches()`).
///
/// Cheap to clone (clones share the clients, the model table and the load); `Send + Sync`.
///
#[cfg_attr(feature = "blocking", doc = "```no_run")]
// Written for the blocking signatures; in async mode every call here is `.await`ed.
#[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
/// use oai_compat::{Client, Router, types::{ChatCompletionRequest, EmbeddingRequest, Message}};
/// let router = Router::builder()
///     .backend(Client::builder().base_url("http://gpu-a:8000/v1").build()?)
///     .backend(Client::builder().base_url("http://gpu-b:8000/v1").build()?) // same model: failover
///     .backend(Client::builder().base_url("http://cpu-1:8001/v1").build()?) // embeddings
///     .build();
/// let chat = router.chat_create(&ChatCompletionRequest::new("Qwen/Qwen3-8B", [Message::user("hi")]))?;
/// let emb = router.embeddings_create(&EmbeddingRequest::new("all-MiniLM-L6-v2", "hello"))?;
/// # let _ = (chat, emb);
/// # Ok::<_, oai_compat::Error>(())
/// ```
#[derive(Clone)]
pub struct Router {
    inner: Arc<Inner>,
}

struct Inner {
    backends: Vec<Client>,
    max_retries: u32,
    ttl: Duration,
    table: Mutex<Option<Table>>,
    load: Arc<Balancer>,
}

/// Which backends (by index) serve each model, and when that was learned.
#[derive(Clone)]
struct Table {
    models: BTreeMap<String, Vec<usize>>,
    at: Instant,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Router")
            .field(
                "backends",
                &self
                    .inner
                    .backends
                    .iter()
                    .map(Client::base_url)
                    .collect::<Vec<_>>(),
            )
            .field("max_retries", &self.inner.max_retries)
            .field("refresh_after", &self.inner.ttl)
            .field("load", &self.inner.load)
            .finish()
    }
}

/// Builds a [`Router`]. Start from [`Router::builder`].
#[derive(Debug, Default)]
pub struct RouterBuilder {
    backends: Vec<Client>,
    max_retries: Option<u32>,
    ttl: Option<Duration>,
    cooldown_after: Option<u32>,
    cooldown: Option<Duration>,
    max_cooldown: Option<Duration>,
}

impl RouterBuilder {
    /// Adds a server. Its own retries are turned off: the router retries and fails over
    /// itself, within [`RouterBuilder::max_retries`].
    pub fn backend(mut self, client: Client) -> Self {
        self.backends
            .push(client.with_options(RequestOptions::new().max_retries(0)));
        self
    }

    /// Retries (and failovers) after the first attempt of a call. Default 2, as a client.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = Some(n);
        self
    }

    /// How long a learned model table is trusted before it is fetched again. Default 60 s.
    /// A model missing from the table triggers a fetch at once.
    pub fn refresh_after(mut self, d: Duration) -> Self {
        self.ttl = Some(d);
        self
    }

    /// Failures in a row (connection errors, timeouts, 5xx) that set a backend aside for a
    /// cool-down. Default 3; 0 never sets one aside.
    pub fn cooldown_after(mut self, n: u32) -> Self {
        self.cooldown_after = Some(n);
        self
    }

    /// How long a backend is set aside at first. Default 1 s. Zero sets it aside for no
    /// time, but still lets one call at a time probe it until it answers.
    pub fn cooldown(mut self, d: Duration) -> Self {
        self.cooldown = Some(d);
        self
    }

    /// The longest cool-down: each failed probe doubles the last one up to this. Default
    /// 30 s; it also caps the first [`cooldown`](RouterBuilder::cooldown). `Duration::MAX`
    /// is fine (a backend then stays aside as long as an `Instant` can count).
    pub fn max_cooldown(mut self, d: Duration) -> Self {
        self.max_cooldown = Some(d);
        self
    }

    /// The router.
    pub fn build(self) -> Router {
        let names = self
            .backends
            .iter()
            .map(|c| c.base_url().to_owned())
            .collect();
        let cooldown = Cooldown {
            after: self.cooldown_after.unwrap_or(3),
            first: self.cooldown.unwrap_or(Duration::from_secs(1)),
            max: self.max_cooldown.unwrap_or(Duration::from_secs(30)),
        };
        Router {
            inner: Arc::new(Inner {
                backends: self.backends,
                max_retries: self.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
                ttl: self.ttl.unwrap_or(Duration::from_secs(60)),
                table: Mutex::new(None),
                load: Arc::new(Balancer::new(names, cooldown)),
            }),
        }
    }
}

impl Router {
    /// A builder with no backends.
    pub fn builder() -> RouterBuilder {
        RouterBuilder::default()
    }

    /// A router over the comma-separated base URLs in `OAI_COMPAT_BACKENDS` (for example
    /// `http://127.0.0.1:8000/v1,http://127.0.0.1:8001/v1`); each backend otherwise takes
    /// its settings from the environment like [`Client::from_env`] (`OPENAI_API_KEY` ...).
    pub fn from_env() -> Result<Router> {
        let list = std::env::var(BACKENDS_ENV).unwrap_or_default();
        Router::from_urls(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// A router over these base URLs, each client configured like [`Client::from_env`]
    /// apart from its base URL.
    pub fn from_urls<'a>(urls: impl IntoIterator<Item = &'a str>) -> Result<Router> {
        let mut b = Router::builder();
        for url in urls {
            b = b.backend(Client::builder().base_url(url).build()?);
        }
        if b.backends.is_empty() {
            return Err(Error::config(format!(
                "no backends: set {BACKENDS_ENV} to comma-separated base URLs, e.g. http://127.0.0.1:8000/v1,http://127.0.0.1:8001/v1"
            )));
        }
        Ok(b.build())
    }

    /// The backends' clients, in the order they were added.
    pub fn backends(&self) -> &[Client] {
        &self.inner.backends
    }

    /// Each backend's load and health now, in the order they were added: calls in flight,
    /// the latency estimate the choice weighs, failures in a row and the end of its cool-down.
    ///
    /// ```
    /// let router = oai_compat::Router::from_urls(["http://127.0.0.1:8000/v1"])?;
    /// let stats = router.backend_stats();
    /// assert_eq!(stats[0].in_flight, 0);
    /// assert_eq!(stats[0].latency, None); // no answer yet
    /// assert_eq!(stats[0].cooling_until, None);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub fn backend_stats(&self) -> Vec<BackendStats> {
        self.inner.load.stats()
    }

    fn cached(&self) -> Option<Table> {
        let guard = self
            .inner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        guard.clone()
    }

    fn store(&self, t: Table) {
        *self
            .inner
            .table
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(t);
    }

    /// A slot on the backend for the plan's next attempt.
    fn take(&self, plan: &Plan) -> Result<Slot> {
        let load = &self.inner.load;
        if let Some(i) = plan.stay {
            return Ok(load.take_this(i));
        }
        load.take(&plan.candidates, &plan.tried)
            .or_else(|| load.take(&plan.candidates, &[]))
            .ok_or_else(|| Error::NoBackend("no backend left to try".to_owned()))
    }

    /// Model ids with the base URLs of the backends serving them.
    fn view(&self, t: &Table) -> BTreeMap<String, Vec<String>> {
        t.models
            .iter()
            .map(|(m, idx)| (m.clone(), self.urls(idx)))
            .collect()
    }

    fn urls(&self, idx: &[usize]) -> Vec<String> {
        idx.iter()
            .map(|&i| self.inner.backends[i].base_url().to_owned())
            .collect()
    }

    fn unknown(&self, model: &str, t: &Table) -> Error {
        let known: Vec<String> = t
            .models
            .iter()
            .map(|(m, idx)| format!("{m} ({})", self.urls(idx).join(", ")))
            .collect();
        Error::NoBackend(format!(
            "no backend serves the model `{model}`; known models: {}",
            if known.is_empty() {
                "none (no backend answered /models)".to_owned()
            } else {
                known.join("; ")
            }
        ))
    }
}

/// One call's plan: the candidate backends and the call's retry budget.
struct Plan {
    candidates: Vec<usize>,
    /// Candidates failed over from since the last sleep: failover goes to the best of the
    /// others, at once, until all were tried.
    tried: Vec<usize>,
    /// The backend to send the next attempt to again (a retry that is not a failover).
    stay: Option<usize>,
    retries: retry::Budget,
}

impl Plan {
    /// What to do after `err` on backend `at`: `Ok(d)` sleep `d` (maybe zero) and go on, `Err`
    /// give up. The policy and the budget are the client's (`retry.rs`); failover only changes
    /// where the next attempt goes and skips the wait until every candidate was tried.
    fn after(&mut self, err: Error, at: usize) -> Result<Duration> {
        let Some(delay) = self.retries.next_delay(&err) else {
            return Err(self.retries.give_up(err));
        };
        let failover =
            matches!(err, Error::Connection(_) | Error::Timeout(_)) || err.is_overloaded();
        if failover && self.candidates.len() > 1 {
            log::info!("failing over after: {err}");
            self.stay = None;
            self.tried.push(at);
            if self.tried.len() < self.candidates.len() {
                return Ok(Duration::ZERO);
            }
            self.tried.clear();
        } else {
            self.stay = Some(at);
        }
        Ok(delay)
    }
}

/// Runs one call on the backends serving `model`, retrying and failing over per the plan.
///
/// A free function, not a method: maybe-async rewrites a `Fut: Future` parameter to its
/// output type only on free functions.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn route<T, F, Fut>(router: &Router, model: &str, call: F) -> Result<T>
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    route_held(router, model, call).await.map(|(v, _slot)| v)
}

/// [`route`], with the slot of the attempt that answered, for a stream to hold.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn route_held<T, F, Fut>(router: &Router, model: &str, call: F) -> Result<(T, Slot)>
where
    F: Fn(Client) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut plan = router.plan(model).await?;
    loop {
        // The slot counts the attempt in flight until dropped, also when the future is.
        let mut slot = router.take(&plan)?;
        let client = router.inner.backends[slot.index()].clone();
        let out = call(client).await;
        slot.settle(out.as_ref().map(|_| ()));
        match out {
            Ok(v) => return Ok((v, slot)),
            Err(e) => {
                let d = plan.after(e, slot.index())?;
                drop(slot);
                if !d.is_zero() {
                    rt::sleep(d).await;
                }
            }
        }
    }
}

/// The longest a backend's `/models` may take, per attempt, in [`Router::refresh`]. Listing
/// models is quick on a healthy server; a stalled one would otherwise hold up every call
/// that refreshes for its whole request timeout (600 s by default), one backend after another.
pub(crate) const MODELS_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Router {
    /// Fetches every backend's `/models` now. Backends that do not answer are left out
    /// until the next refresh; the call fails only when none answers. Each backend's
    /// listing may take 5 s per attempt at most (its own request timeout when shorter): a
    /// stalled server must not hold up every routed call that refreshes.
    pub async fn refresh(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let mut models: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut last_err = None;
        for (i, c) in self.inner.backends.iter().enumerate() {
            let limit = c.request_timeout().min(MODELS_TIMEOUT);
            match c
                .models()
                .with_options(RequestOptions::new().timeout(limit))
                .list()
                .await
            {
                Ok(list) => {
                    for m in list.data {
                        models.entry(m.id).or_default().push(i);
                    }
                }
                Err(e) => {
                    log::warn!("{}: listing models failed: {e}", c.base_url());
                    last_err = Some(e);
                }
            }
        }
        if models.is_empty() {
            if let Some(e) = last_err {
                return Err(e);
            }
        }
        let table = Table {
            models,
            at: Instant::now(),
        };
        let view = self.view(&table);
        self.store(table);
        Ok(view)
    }

    /// The models served, each with the base URLs of the backends serving it (from the
    /// cache when fresh).
    pub async fn models(&self) -> Result<BTreeMap<String, Vec<String>>> {
        match self.cached() {
            Some(t) if t.at.elapsed() < self.inner.ttl => Ok(self.view(&t)),
            _ => self.refresh().await,
        }
    }

    /// A client of a backend serving `model` (chosen as a routed call's would be), for calls
    /// the router has no method for (`client.vllm().tokenize(..)` ...). Its retries are off,
    /// and its calls are neither counted in flight nor timed by the router.
    pub async fn client_for(&self, model: &str) -> Result<Client> {
        let plan = self.plan(model).await?;
        let slot = self.take(&plan)?;
        Ok(self.inner.backends[slot.index()].clone())
    }

    async fn plan(&self, model: &str) -> Result<Plan> {
        if self.inner.backends.is_empty() {
            return Err(Error::NoBackend(
                "the router has no backends; add them with RouterBuilder::backend".to_owned(),
            ));
        }
        let fresh = self.cached().filter(|t| t.at.elapsed() < self.inner.ttl);
        let hit = fresh.as_ref().and_then(|t| t.models.get(model).cloned());
        let serving = match hit {
            Some(s) => s,
            None => {
                // Unknown or stale: a new deployment may serve it now.
                self.refresh().await?;
                let table = self.cached().unwrap_or(Table {
                    models: BTreeMap::new(),
                    at: Instant::now(),
                });
                match table.models.get(model) {
                    Some(s) => s.clone(),
                    None => return Err(self.unknown(model, &table)),
                }
            }
        };
        Ok(Plan {
            candidates: serving,
            tried: Vec::new(),
            stay: None,
            retries: retry::Budget::new(self.inner.max_retries),
        })
    }

    /// [`Chat::create`](crate::resources::Chat::create) on a backend serving `req.model`.
    pub async fn chat_create(&self, req: &ChatCompletionRequest) -> Result<ChatCompletion> {
        route(
            self,
            &req.model,
            |c| async move { c.chat().create(req).await },
        )
        .await
    }

    /// [`Chat::create_stream`](crate::resources::Chat::create_stream), routed; failover
    /// happens only before the stream is handed over. The stream counts in flight on its
    /// backend until it is dropped.
    pub async fn chat_create_stream(
        &self,
        req: &ChatCompletionRequest,
    ) -> Result<ChatCompletionStream> {
        let (stream, slot) = route_held(self, &req.model, |c| async move {
            c.chat().create_stream(req).await
        })
        .await?;
        Ok(stream.holding(slot))
    }

    /// [`Completions::create`](crate::resources::Completions::create), routed.
    pub async fn completions_create(&self, req: &CompletionRequest) -> Result<Completion> {
        route(self, &req.model, |c| async move {
            c.completions().create(req).await
        })
        .await
    }

    /// [`Completions::create_stream`](crate::resources::Completions::create_stream), routed,
    /// as [`Router::chat_create_stream`].
    pub async fn completions_create_stream(
        &self,
        req: &CompletionRequest,
    ) -> Result<CompletionStream> {
        let (stream, slot) = route_held(self, &req.model, |c| async move {
            c.completions().create_stream(req).await
        })
        .await?;
        Ok(stream.holding(slot))
    }

    /// [`Embeddings::create`](crate::resources::Embeddings::create), routed.
    pub async fn embeddings_create(&self, req: &EmbeddingRequest) -> Result<EmbeddingResponse> {
        route(self, &req.model, |c| async move {
            c.embeddings().create(req).await
        })
        .await
    }

    /// [`Raw::post`](crate::resources::Raw::post) on a backend serving `model`: a JSON
    /// body sent as it is (say, a line of a batch file) with the router's failover, the
    /// answer as JSON with its status and request id. `model` picks the backends; it is not
    /// read from or written into `body`.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// let router = oai_compat::Router::from_urls(["http://gpu-a:8000/v1", "http://gpu-b:8000/v1"])?;
    /// let body = serde_json::json!({"model": "tiny-llama", "messages": [{"role": "user", "content": "Hi"}]});
    /// let reply = router.raw_post("tiny-llama", "/chat/completions", &body)?;
    /// println!("{:?} {}", reply.meta.request_id(), reply.value["choices"][0]["message"]["content"]);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn raw_post(&self, model: &str, path: &str, body: &Value) -> Result<Response<Value>> {
        route(
            self,
            model,
            |c| async move { c.raw().post(path, body).await },
        )
        .await
    }

    /// [`Raw::post_text`](crate::resources::Raw::post_text) on a backend serving `model`:
    /// [`Router::raw_post`] for a body given, and an answer kept, as JSON text (no tree of
    /// values is built, so a large batch line costs a small multiple of its bytes).
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use serde_json::value::RawValue;
    /// let router = oai_compat::Router::from_urls(["http://gpu-a:8000/v1", "http://gpu-b:8000/v1"])?;
    /// let line = r#"{"model": "tiny-llama", "messages": [{"role": "user", "content": "Hi"}]}"#;
    /// let body = serde_json::from_str::<&RawValue>(line).expect("JSON text");
    /// let reply = router.raw_post_text("tiny-llama", "/chat/completions", body)?;
    /// println!("{}", reply.value.get());
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn raw_post_text(
        &self,
        model: &str,
        path: &str,
        body: &RawValue,
    ) -> Result<Response<Box<RawValue>>> {
        route(self, model, |c| async move {
            c.raw().post_text(path, body).await
        })
        .await
    }

    /// [`Router::raw_post_text`] with this call's [`RequestOptions`] (say, its own
    /// [`request_id`](RequestOptions::request_id), which then follows the call to whichever
    /// backend answers it, failover included).
    pub async fn raw_post_text_with_options(
        &self,
        model: &str,
        path: &str,
        body: &RawValue,
        options: &RequestOptions,
    ) -> Result<Response<Box<RawValue>>> {
        route(self, model, |c| async move {
            c.raw()
                .with_options(options.clone())
                .post_text(path, body)
                .await
        })
        .await
    }
}
