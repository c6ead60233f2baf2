//! [`Client`]: a handle on the configured connection to one server (shared by its clones),
//! the options it applies to every call, and its resource handles. The calls themselves run
//! in `call.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::call::Engine;
use crate::config::ClientBuilder;
use crate::error::Result;
use crate::request::RequestOptions;
use crate::resources::{
    Audio, Batches, Chat, Completions, Embeddings, Files, Models, Raw, Responses, Vllm,
};

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
    engine: Arc<Engine>,
    options: RequestOptions,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.engine.config)
            .field("options", &self.options)
            .finish()
    }
}

impl ClientBuilder {
    /// Validates the configuration and builds the client.
    ///
    /// Fails with [`Error::Config`](crate::Error::Config) for anything that would make every
    /// call fail or go astray: a base URL that is not `http(s)://host[:port][/path]` (port
    /// 1-65535, no credentials, query or fragment), an `https` URL in a build without a TLS
    /// feature, an API key, organization, project or header value that is not printable
    /// ASCII, a header the HTTP layer owns, a zero timeout, or a zero `max_response_bytes` or
    /// `max_decoded_multiple`.
    ///
    /// ```
    /// let e = oai_compat::Client::builder().base_url("ftp://h").build().unwrap_err();
    /// assert!(matches!(e, oai_compat::Error::Config(_)), "{e}");
    /// ```
    pub fn build(self) -> Result<Client> {
        Ok(Client {
            engine: Arc::new(Engine::new(self.into_config()?)?),
            options: RequestOptions::default(),
        })
    }
}

impl Client {
    /// A builder; see [`ClientBuilder`] for every setting and its default.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from the environment, as openai-python's `OpenAI()` is: the same as
    /// [`Client::from_env`].
    ///
    /// ```
    /// let client = oai_compat::Client::new()?;
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub fn new() -> Result<Client> {
        Client::from_env()
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

    /// The request timeout of this client's calls (its per-call options', else its own).
    pub(crate) fn request_timeout(&self) -> Duration {
        self.options
            .timeout
            .unwrap_or(self.engine.config.timeouts.request)
    }

    /// The normalised base URL, e.g. `http://localhost:8000/v1`.
    pub fn base_url(&self) -> &str {
        &self.engine.config.base_url
    }

    /// The server root: the base URL without a trailing `/v1` (vLLM's `/health`,
    /// `/tokenize` ... live there).
    pub fn root_url(&self) -> &str {
        &self.engine.root_url
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
            engine: Arc::clone(&self.engine),
            options: self.options.merged(&options),
        }
    }

    /// Chat completions: `/chat/completions`.
    pub fn chat(&self) -> Chat<'_> {
        Chat::new(&self.engine, &self.options)
    }

    /// Text completions: `/completions`.
    pub fn completions(&self) -> Completions<'_> {
        Completions::new(&self.engine, &self.options)
    }

    /// Embeddings: `/embeddings`.
    pub fn embeddings(&self) -> Embeddings<'_> {
        Embeddings::new(&self.engine, &self.options)
    }

    /// The Responses API: `/responses`.
    pub fn responses(&self) -> Responses<'_> {
        Responses::new(&self.engine, &self.options)
    }

    /// Transcriptions and translations of audio: `/audio/transcriptions`,
    /// `/audio/translations`.
    pub fn audio(&self) -> Audio<'_> {
        Audio::new(&self.engine, &self.options)
    }

    /// Models: `/models`.
    pub fn models(&self) -> Models<'_> {
        Models::new(&self.engine, &self.options)
    }

    /// Files: `/files` (upload, list, retrieve, download, delete).
    pub fn files(&self) -> Files<'_> {
        Files::new(&self.engine, &self.options)
    }

    /// Batches: `/batches` (requests run from an uploaded JSONL file).
    pub fn batches(&self) -> Batches<'_> {
        Batches::new(&self.engine, &self.options)
    }

    /// vLLM's own endpoints at the server root: `/health`, `/version`, `/tokenize`,
    /// `/detokenize`, `/score`, `/rerank`, `/pooling`, `/classify`.
    pub fn vllm(&self) -> Vllm<'_> {
        Vllm::new(&self.engine, &self.options)
    }

    /// Raw JSON calls to any path under the base URL; see [`Raw`].
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// let client = oai_compat::Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let body = serde_json::json!({"model": "my-model", "prompt": "Once", "max_tokens": 8});
    /// let out = client.raw().post("/completions", &body)?;
    /// println!("{} {:?}: {}", out.meta.status, out.meta.request_id(), out.value);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub fn raw(&self) -> Raw<'_> {
        Raw::new(&self.engine, &self.options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_is_send_sync_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<Client>();
    }

    #[test]
    fn clones_and_option_copies_share_one_engine() {
        let c = Client::builder()
            .use_env(false)
            .base_url("http://h:1")
            .build()
            .unwrap();
        let d = c.with_options(RequestOptions::new().max_retries(0));
        assert!(Arc::ptr_eq(&c.engine, &d.engine));
        assert!(Arc::ptr_eq(&c.engine, &c.clone().engine));
        assert_eq!(d.options.max_retries, Some(0));
        assert_eq!(c.options.max_retries, None);
        assert_eq!(d.root_url(), "http://h:1");
    }
}
