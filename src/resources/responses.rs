//! `/responses`: the Responses API.

use std::borrow::Borrow;

use serde::de::DeserializeOwned;

use crate::call::Path;
use crate::error::{Result, StreamError};
use crate::response::Response;
use crate::stream::{Ending, Ends, EventStream};
use crate::structured::ParsedResponse;
use crate::transport::Method;
use crate::types::{InputItemList, ResponseObject, ResponseRequest, ResponseStreamEvent};

/// A stream of Responses API events. It ends after `response.completed` or
/// `response.incomplete`; see [`ResponseStreamEvent`].
pub type ResponseStream = EventStream<ResponseStreamEvent>;

super::handle!(
    /// The Responses API. Get one with [`Client::responses`](crate::Client::responses).
    Responses
);

/// How a Responses stream ends: `response.completed` / `response.incomplete` are its last
/// event; `response.failed` and `error` are in-band errors.
pub(crate) fn ending() -> Ending<ResponseStreamEvent> {
    Ending {
        classify: Some(|event| match event {
            ResponseStreamEvent::Completed(_) | ResponseStreamEvent::Incomplete(_) => Ends::After,
            ResponseStreamEvent::Failed(e) => Ends::Failed(failed(&e.response)),
            ResponseStreamEvent::Error(e) => {
                let mut err = StreamError::from_error_object(&e.extra);
                err.message = if e.message.is_empty() {
                    "the server sent an error event".to_owned()
                } else {
                    e.message.clone()
                };
                err.code = e
                    .code
                    .as_ref()
                    .and_then(crate::error::ErrorCode::from_value);
                err.param.clone_from(&e.param);
                Ends::Failed(err)
            }
            _ => Ends::No,
        }),
        expected: "a `response.completed`, `response.incomplete` or `response.failed` event",
        done_ends: false,
    }
}

/// The in-band error of a failed response: its `error` object, or a generic message.
fn failed(response: &ResponseObject) -> StreamError {
    let mut err = match &response.error {
        Some(e) => {
            let mut err = StreamError::from_error_object(&e.extra);
            if !e.message.is_empty() {
                err.message.clone_from(&e.message);
            }
            err.code = e
                .code
                .as_ref()
                .and_then(crate::error::ErrorCode::from_value);
            err
        }
        None => StreamError::from_error_object(&Default::default()),
    };
    err.message = if response.id.is_empty() {
        format!("the response failed: {}", err.message)
    } else {
        format!("response {} failed: {}", response.id, err.message)
    };
    err
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Responses<'_> {
    /// Creates a response (`POST /responses`).
    ///
    /// The request is taken by reference (`&req`, to send it again) or by value.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::ResponseRequest};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let mut req = ResponseRequest::new("my-model", "Write one line about Rust");
    /// req.max_output_tokens = Some(64);
    /// let out = client.responses().create(&req)?;
    /// println!("{} ({:?})", out.output_text(), out.status);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn create(&self, req: impl Borrow<ResponseRequest>) -> Result<ResponseObject> {
        let req: &ResponseRequest = req.borrow();
        Ok(self.create_with_meta(req).await?.value)
    }

    /// [`Responses::create`], with the response's status, headers and retry count.
    pub async fn create_with_meta(
        &self,
        req: impl Borrow<ResponseRequest>,
    ) -> Result<Response<ResponseObject>> {
        let req: &ResponseRequest = req.borrow();
        self.engine
            .post_json(Path::Api("/responses"), req, &self.options, "response")
            .await
    }

    /// Streams a response: sets `stream: true` and sends the request's `stream_options`.
    /// Retried only until the response headers arrive.
    ///
    /// The stream yields [`ResponseStreamEvent`]s and ends after `response.completed` or
    /// `response.incomplete`. `response.failed` and `error` events end it with
    /// [`Error::Stream`](crate::Error::Stream) (kind `InBand`); a body that ends before a
    /// final event is a `Truncated` [`Error::Stream`](crate::Error::Stream).
    /// [`ResponseStream::final_response`] collects it.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::ResponseRequest};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let req = ResponseRequest::new("my-model", "Tell a story");
    /// let mut stream = client.responses().create_stream(&req)?;
    /// while let Some(event) = stream.try_next()? {
    ///     print!("{}", event.text_delta().unwrap_or_default());
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn create_stream(&self, req: impl Borrow<ResponseRequest>) -> Result<ResponseStream> {
        let req: &ResponseRequest = req.borrow();
        let stream = self
            .engine
            .post_stream(Path::Api("/responses"), req, &self.options)
            .await?;
        Ok(stream.with_ending(ending()))
    }

    /// Creates a response and parses its output text as a `T` (JSON): the typed value, the
    /// refusal if the model refused, the status and the raw response. Give the request a
    /// `text.format` ([`TextFormat::json_schema`](crate::types::TextFormat::json_schema), or
    /// `Responses::parse_schema` with the `schemars` feature) so the server constrains the
    /// output.
    ///
    /// # Errors
    ///
    /// The call's errors, and [`Error::Parse`](crate::Error::Parse) when the text is not a
    /// `T`, was cut by `max_output_tokens` (kind `Truncated`), or is missing.
    pub async fn parse<T: DeserializeOwned>(
        &self,
        req: impl Borrow<ResponseRequest>,
    ) -> Result<ParsedResponse<T>> {
        let req: &ResponseRequest = req.borrow();
        ParsedResponse::from_response(self.create(req).await?)
            .map_err(|e| self.engine.config.redact(e))
    }

    /// [`Responses::parse`], with `text.format` set from `T`'s schema
    /// ([`TextFormat::json_schema_for`](crate::types::TextFormat::json_schema_for)) unless
    /// the request already has a format. Feature `schemars`.
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub async fn parse_schema<T: DeserializeOwned + schemars::JsonSchema>(
        &self,
        req: impl Borrow<ResponseRequest>,
    ) -> Result<ParsedResponse<T>> {
        let req: &ResponseRequest = req.borrow();
        if req.text.as_ref().is_some_and(|t| t.format.is_some()) {
            return self.parse(req).await;
        }
        let mut req = req.clone();
        let mut text = req.text.take().unwrap_or_default();
        text.format = Some(crate::types::TextFormat::json_schema_for::<T>());
        req.text = Some(text);
        self.parse(&req).await
    }

    /// Retrieves a stored response (`GET /responses/{id}`).
    ///
    /// vLLM stores responses only when started with `VLLM_ENABLE_RESPONSES_API_STORE=1`;
    /// otherwise every id is a 404 [`Error::Api`](crate::Error::Api).
    pub async fn retrieve(&self, id: &str) -> Result<ResponseObject> {
        let path = format!(
            "/responses/{}",
            crate::url::path_segment("response id", id)?
        );
        let got = self
            .engine
            .get_json(Path::Api(&path), &self.options, "response");
        Ok(got.await?.value)
    }

    /// Cancels a background response (`POST /responses/{id}/cancel`) and returns it.
    ///
    /// Only `background: true` responses can be cancelled; OpenAI and vLLM answer 400 for
    /// others, and vLLM 404 when it does not store responses.
    pub async fn cancel(&self, id: &str) -> Result<ResponseObject> {
        let path = format!(
            "/responses/{}/cancel",
            crate::url::path_segment("response id", id)?
        );
        let got = self
            .engine
            .send_json(Method::Post, Path::Api(&path), &self.options, "response");
        Ok(got.await?.value)
    }

    /// Deletes a stored response (`DELETE /responses/{id}`; OpenAI answers with an empty
    /// body). vLLM has no such route: it answers 405, reported as an
    /// [`Error::Api`](crate::Error::Api).
    pub async fn delete(&self, id: &str) -> Result<()> {
        let path = format!(
            "/responses/{}",
            crate::url::path_segment("response id", id)?
        );
        let sent = self
            .engine
            .send(Method::Delete, Path::Api(&path), &self.options);
        sent.await.map(|_| ())
    }

    /// Lists the input items of a stored response (`GET /responses/{id}/input_items`); page
    /// with `RequestOptions::query("after", ..)` and `limit`. vLLM has no such route: it
    /// answers 404, reported as an [`Error::Api`](crate::Error::Api).
    pub async fn input_items(&self, id: &str) -> Result<InputItemList> {
        let path = format!(
            "/responses/{}/input_items",
            crate::url::path_segment("response id", id)?
        );
        let got = self
            .engine
            .get_json(Path::Api(&path), &self.options, "input item list");
        Ok(got.await?.value)
    }
}
