//! `/embeddings`.

use std::borrow::Borrow;

use serde::Serialize;

use crate::body::RequestBody;
use crate::call::Path;
use crate::error::Result;
use crate::response::Response;
use crate::types::{EmbeddingRequest, EmbeddingResponse};

super::handle!(
    /// Embeddings. Get one with [`Client::embeddings`](crate::Client::embeddings).
    Embeddings
);

/// The request with `encoding_format: "base64"` added: 4x fewer bytes on the wire than
/// floats, decoded back to `Vec<f32>` (openai-python does the same).
#[derive(Serialize)]
struct AsBase64<'a> {
    #[serde(flatten)]
    req: &'a EmbeddingRequest,
    encoding_format: &'static str,
}

impl RequestBody for AsBase64<'_> {
    fn extra(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.req.extra
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Embeddings<'_> {
    /// Creates embeddings (`POST /embeddings`) for one text, many texts, or token ids.
    ///
    /// The request is taken by reference (`&req`, to send it again) or by value.
    ///
    /// When the request leaves `encoding_format` unset, the client asks for `base64` and
    /// decodes it; a server that answers with floats anyway works too. Either way each
    /// [`Embedding::embedding`](crate::types::Embedding::embedding) is a `Vec<f32>`.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::EmbeddingRequest};
    /// let client = Client::builder().base_url("http://localhost:8001/v1").build()?;
    /// let out = client
    ///     .embeddings()
    ///     .create(&EmbeddingRequest::new("all-MiniLM-L6-v2", ["a cat", "a dog"]))?;
    /// assert_eq!(out.data.len(), 2);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn create(&self, req: impl Borrow<EmbeddingRequest>) -> Result<EmbeddingResponse> {
        let req: &EmbeddingRequest = req.borrow();
        Ok(self.create_with_meta(req).await?.value)
    }

    /// [`Embeddings::create`], with the response's status, headers and retry count.
    pub async fn create_with_meta(
        &self,
        req: impl Borrow<EmbeddingRequest>,
    ) -> Result<Response<EmbeddingResponse>> {
        let req: &EmbeddingRequest = req.borrow();
        let path = Path::Api("/embeddings");
        if req.encoding_format.is_none() && !req.extra.contains_key("encoding_format") {
            let wrapped = AsBase64 {
                req,
                encoding_format: "base64",
            };
            return self
                .engine
                .post_json(path, &wrapped, &self.options, "embeddings")
                .await;
        }
        self.engine
            .post_json(path, req, &self.options, "embeddings")
            .await
    }
}
