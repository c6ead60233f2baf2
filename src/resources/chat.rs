//! `/chat/completions`.

use std::borrow::Borrow;

use serde::de::DeserializeOwned;

use crate::call::Path;
use crate::error::Result;
use crate::response::Response;
use crate::stream::EventStream;
use crate::structured::ParsedChatCompletion;
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
    /// The request is taken by reference (`&req`, to send it again) or by value.
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
    pub async fn create(&self, req: impl Borrow<ChatCompletionRequest>) -> Result<ChatCompletion> {
        let req: &ChatCompletionRequest = req.borrow();
        Ok(self.create_with_meta(req).await?.value)
    }

    /// [`Chat::create`], with the response's status, headers and retry count.
    pub async fn create_with_meta(
        &self,
        req: impl Borrow<ChatCompletionRequest>,
    ) -> Result<Response<ChatCompletion>> {
        let req: &ChatCompletionRequest = req.borrow();
        self.engine
            .post_json(
                Path::Api("/chat/completions"),
                req,
                &self.options,
                "chat completion",
            )
            .await
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
    pub async fn create_stream(
        &self,
        req: impl Borrow<ChatCompletionRequest>,
    ) -> Result<ChatCompletionStream> {
        let req: &ChatCompletionRequest = req.borrow();
        self.engine
            .post_stream(Path::Api("/chat/completions"), req, &self.options)
            .await
    }

    /// Creates a chat completion and parses the first choice's content as a `T` (JSON):
    /// the typed value, the refusal if the model refused, the finish reason and the raw
    /// completion.
    ///
    /// The request is sent as it is: give it a `response_format`
    /// ([`ResponseFormat::json_schema`](crate::types::ResponseFormat::json_schema), or
    /// `ResponseFormat::json_schema_for::<T>()` with the `schemars` feature, or use
    /// `Chat::parse_schema` (same feature), which does that for you) so that the
    /// server constrains the output. Only `T: DeserializeOwned` is needed.
    ///
    /// # Errors
    ///
    /// The call's errors, and [`Error::Parse`](crate::Error::Parse) when the content is not a
    /// `T` (kind `Invalid`, with the text and serde's message), was cut at the token limit
    /// (`Truncated`), or is missing (`Empty`).
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::{ChatCompletionRequest, Message, ResponseFormat}};
    /// #[derive(serde::Deserialize)]
    /// struct City { name: String, population: u32 }
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let mut req = ChatCompletionRequest::new("my-model", [Message::user("The largest city?")]);
    /// req.response_format = Some(ResponseFormat::json_schema("City", serde_json::json!({
    ///     "type": "object",
    ///     "properties": {"name": {"type": "string"}, "population": {"type": "integer"}}
    /// })).strict());
    /// let out = client.chat().parse::<City>(&req)?;
    /// if let Some(city) = out.parsed {
    ///     println!("{} ({})", city.name, city.population);
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn parse<T: DeserializeOwned>(
        &self,
        req: impl Borrow<ChatCompletionRequest>,
    ) -> Result<ParsedChatCompletion<T>> {
        let req: &ChatCompletionRequest = req.borrow();
        ParsedChatCompletion::from_completion(self.create(req).await?)
            .map_err(|e| self.engine.config.redact(e))
    }

    /// [`Chat::parse`], with the response format set from `T`'s schema
    /// ([`ResponseFormat::json_schema_for`](crate::types::ResponseFormat::json_schema_for):
    /// strict, named after the type) unless the request already has one. Feature `schemars`.
    ///
    /// (A separate method, not `parse` itself: Cargo features must only add, and a `parse`
    /// that needs `T: JsonSchema` with the feature on would break code that compiles without
    /// it.)
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub async fn parse_schema<T: DeserializeOwned + schemars::JsonSchema>(
        &self,
        req: impl Borrow<ChatCompletionRequest>,
    ) -> Result<ParsedChatCompletion<T>> {
        let req: &ChatCompletionRequest = req.borrow();
        if req.response_format.is_some() {
            return self.parse(req).await;
        }
        let mut req = req.clone();
        req.response_format = Some(crate::types::ResponseFormat::json_schema_for::<T>());
        self.parse(&req).await
    }
}
