//! vLLM's own endpoints. They live at the server root, not under `/v1`: the root is the
//! base URL without a trailing `/v1` ([`Client::root_url`](crate::Client::root_url)).
//! vLLM does not guard them with `--api-key`; the key is sent anyway when one is set.

use serde::de::DeserializeOwned;

use crate::body::RequestBody;
use crate::call::Path;
use crate::error::{Error, Result};
use crate::transport::Method;
use crate::types::{
    ClassifyRequest, ClassifyResponse, DetokenizeRequest, DetokenizeResponse, PoolingRequest,
    PoolingResponse, RerankRequest, RerankResponse, ScoreRequest, ScoreResponse, TokenizeRequest,
    TokenizeResponse, Version,
};

super::handle!(
    /// vLLM's own endpoints. Get one with [`Client::vllm`](crate::Client::vllm).
    Vllm
);

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Vllm<'_> {
    /// `GET /health`: `Ok(())` when the engine is up (vLLM answers 503 when it is dead).
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// let client = oai_compat::Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// client.vllm().health()?;
    /// println!("vLLM {}", client.vllm().version()?.version);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn health(&self) -> Result<()> {
        let sent = self
            .engine
            .send(Method::Get, Path::Root("/health"), &self.options);
        sent.await.map(|_| ())
    }

    /// `GET /version`.
    pub async fn version(&self) -> Result<Version> {
        let got = self
            .engine
            .get_json(Path::Root("/version"), &self.options, "version");
        Ok(got.await?.value)
    }

    /// `POST /tokenize`: a text prompt, or chat messages as the chat template renders them.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::types::{TokenizeRequest, DetokenizeRequest};
    /// let client = oai_compat::Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let t = client.vllm().tokenize(&TokenizeRequest::text("my-model", "Hello world"))?;
    /// let back = client.vllm().detokenize(&DetokenizeRequest::new("my-model", t.tokens))?;
    /// assert!(back.prompt.contains("Hello world"));
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn tokenize(&self, req: &TokenizeRequest) -> Result<TokenizeResponse> {
        if req.prompt.is_some() == req.messages.is_some() {
            return Err(Error::invalid_request(
                "a TokenizeRequest needs exactly one of `prompt` and `messages`: build it with TokenizeRequest::text or TokenizeRequest::chat",
            ));
        }
        self.post("/tokenize", req, "tokenize").await
    }

    /// `POST /detokenize`: token ids back to text.
    pub async fn detokenize(&self, req: &DetokenizeRequest) -> Result<DetokenizeResponse> {
        self.post("/detokenize", req, "detokenize").await
    }

    /// `POST /score`: how similar each `text_2` is to `text_1` (cross-encoder or embedding
    /// model).
    pub async fn score(&self, req: &ScoreRequest) -> Result<ScoreResponse> {
        self.post("/score", req, "score").await
    }

    /// `POST /rerank`: the documents ordered by relevance to the query.
    pub async fn rerank(&self, req: &RerankRequest) -> Result<RerankResponse> {
        self.post("/rerank", req, "rerank").await
    }

    /// `POST /pooling`: a pooling model's raw output.
    pub async fn pooling(&self, req: &PoolingRequest) -> Result<PoolingResponse> {
        self.post("/pooling", req, "pooling").await
    }

    /// `POST /classify`: class probabilities from a classification model.
    pub async fn classify(&self, req: &ClassifyRequest) -> Result<ClassifyResponse> {
        self.post("/classify", req, "classify").await
    }

    async fn post<Q: RequestBody, R: DeserializeOwned>(
        &self,
        path: &str,
        req: &Q,
        what: &'static str,
    ) -> Result<R> {
        let got = self
            .engine
            .post_json(Path::Root(path), req, &self.options, what);
        Ok(got.await?.value)
    }
}
