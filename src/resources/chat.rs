//! `/chat/completions`.

use crate::client::{Call, Response, json_body};
use crate::error::Result;
use crate::stream::EventStream;
use crate::types::{ChatCompletion, ChatCompletionChunk, ChatCompletionRequest};

/// A stream of chat completion chunks.
pub type ChatCompletionStream = EventStream<ChatCompletionChunk>;

super::handle!(
    /// Chat completions. Get one with [`Client::chat`](crate::Client::chat).
    Chat
);

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Chat<'_> {
    /// Creates a chat completion (`POST /chat/completions`).
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::{ChatCompletionRequest, Message}};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let mut req = ChatCompletionRequest::new("my-model", [Message::user("2+2?")]);
    /// req.max_tokens = Some(16);
    /// req.temperature = Some(0.0);
    /// let out = client.chat().create(&req)?;
    /// println!("{}", out.text().unwrap_or_default());
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn create(&self, req: &ChatCompletionRequest) -> Result<ChatCompletion> {
        Ok(self.create_with_meta(req).await?.value)
    }

    /// [`Chat::create`], with the response's status, headers and retry count.
    pub async fn create_with_meta(
        &self,
        req: &ChatCompletionRequest,
    ) -> Result<Response<ChatCompletion>> {
        let opts = self.client.options(&self.options);
        let body = json_body(req, &req.extra, None, &opts)?;
        let call = Call::post("/chat/completions", body, false, &opts);
        self.client.json(call, "chat completion").await
    }

    /// Streams a chat completion: sets `stream: true` and sends the request's
    /// `stream_options`. Retried only until the response headers arrive.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::{ChatCompletionRequest, Message, StreamOptions}};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let mut req = ChatCompletionRequest::new("my-model", [Message::user("Hi")]);
    /// req.stream_options = Some(StreamOptions { include_usage: Some(true), ..Default::default() });
    /// let mut stream = client.chat().create_stream(&req)?;
    /// while let Some(chunk) = stream.try_next()? {
    ///     print!("{}", chunk.text());
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn create_stream(&self, req: &ChatCompletionRequest) -> Result<ChatCompletionStream> {
        let opts = self.client.options(&self.options);
        let body = json_body(req, &req.extra, Some(req.stream_options.as_ref()), &opts)?;
        let call = Call::post("/chat/completions", body, true, &opts);
        self.client.stream(call).await
    }
}
