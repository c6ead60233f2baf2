//! `/completions` (text completions).

use std::borrow::Borrow;

use crate::call::Path;
use crate::error::Result;
use crate::response::Response;
use crate::stream::EventStream;
use crate::types::{Completion, CompletionRequest};

/// A stream of completion chunks (each a partial [`Completion`]).
pub type CompletionStream = EventStream<Completion>;

super::handle!(
    /// Text completions. Get one with [`Client::completions`](crate::Client::completions).
    Completions
);

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Completions<'_> {
    /// Creates a completion (`POST /completions`). The prompt may be text, several texts,
    /// or token ids.
    ///
    /// The request is taken by reference (`&req`, to send it again) or by value.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::CompletionRequest};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let mut req = CompletionRequest::new("my-model", "Once upon a time");
    /// req.max_tokens = Some(16);
    /// let out = client.completions().create(&req)?;
    /// println!("{}", out.text());
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn create(&self, req: impl Borrow<CompletionRequest>) -> Result<Completion> {
        let req: &CompletionRequest = req.borrow();
        Ok(self.create_with_meta(req).await?.value)
    }

    /// [`Completions::create`], with the response's status, headers and retry count.
    pub async fn create_with_meta(
        &self,
        req: impl Borrow<CompletionRequest>,
    ) -> Result<Response<Completion>> {
        let req: &CompletionRequest = req.borrow();
        self.engine
            .post_json(Path::Api("/completions"), req, &self.options, "completion")
            .await
    }

    /// Streams a completion: sets `stream: true` and sends the request's `stream_options`.
    /// Retried only until the response headers arrive.
    pub async fn create_stream(
        &self,
        req: impl Borrow<CompletionRequest>,
    ) -> Result<CompletionStream> {
        let req: &CompletionRequest = req.borrow();
        self.engine
            .post_stream(Path::Api("/completions"), req, &self.options)
            .await
    }
}
