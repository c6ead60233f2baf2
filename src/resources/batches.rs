//! `/batches`: requests run from an uploaded JSONL file.

use std::borrow::Borrow;

use crate::call::Path;
use crate::error::Result;
use crate::response::Response;
use crate::transport::Method;
use crate::types::{Batch, BatchList, BatchListParams, BatchRequest};

super::handle!(
    /// Batches. Get one with [`Client::batches`](crate::Client::batches).
    ///
    /// A batch runs the requests of a JSONL file uploaded with
    /// [`Files::create`](super::Files::create) (purpose `batch`) and writes their answers to
    /// an output file (and the failed ones to an error file), read with
    /// [`Files::content`](super::Files::content).
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use std::time::Duration;
    /// use oai_compat::{Client, Upload};
    /// use oai_compat::types::{BatchRequest, FilePurpose};
    ///
    /// let client = Client::new()?;
    /// let input = client.files().create(Upload::path("requests.jsonl"), FilePurpose::Batch)?;
    /// let mut batch = client
    ///     .batches()
    ///     .create(&BatchRequest::new(&input.id, "/v1/chat/completions"))?;
    /// while !batch.status.is_terminal() {
    ///     std::thread::sleep(Duration::from_secs(30));
    ///     batch = client.batches().retrieve(&batch.id)?;
    /// }
    /// if let Some(out) = &batch.output_file_id {
    ///     let mut answers = Vec::new();
    ///     client.files().content(out)?.write_to(&mut answers)?;
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    Batches
);

/// The path of batch `id` (plus `tail`), its id sent as one path segment.
fn batch_path(id: &str, tail: &str) -> Result<String> {
    Ok(format!(
        "/batches/{}{tail}",
        crate::url::path_segment("batch id", id)?
    ))
}

super::pager::pager!(
    /// The pages of a batch listing, newest first, one `GET /batches` each: made by
    /// [`Batches::pages`], read with `try_next` until it gives `Ok(None)`.
    BatchPages { handle: Batches, page: BatchList, params: BatchListParams, what: "batch list" }
);

impl<'c> Batches<'c> {
    /// Pages through the batches, newest first (`GET /batches`, then again `after` each
    /// page's last batch, as long as the server says more follow), starting at `params`; see
    /// [`BatchPages`].
    pub fn pages(&self, params: BatchListParams) -> BatchPages<'c> {
        BatchPages::new(self.clone(), params)
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Batches<'_> {
    /// Creates a batch (`POST /batches`) and returns it, usually `validating`.
    ///
    /// The request is taken by reference (`&req`, to send it again) or by value.
    ///
    /// Like every call, it is retried on timeouts, connection errors and 5xx; a create whose
    /// answer was lost after the server made the batch is then made twice, and both are
    /// billed. Where that matters, send it once
    /// (`.with_options(RequestOptions::new().max_retries(0))`) and, after a failure, look
    /// for a batch with this `input_file_id` in [`Batches::list`] before sending it again,
    /// as `oai batch --remote` does.
    pub async fn create(&self, req: impl Borrow<BatchRequest>) -> Result<Batch> {
        Ok(self.create_with_meta(req).await?.value)
    }

    /// [`Batches::create`], with the response's status, headers and retry count.
    pub async fn create_with_meta(
        &self,
        req: impl Borrow<BatchRequest>,
    ) -> Result<Response<Batch>> {
        let req: &BatchRequest = req.borrow();
        self.engine
            .post_json(Path::Api("/batches"), req, &self.options, "batch")
            .await
    }

    /// Retrieves a batch (`GET /batches/{id}`): poll it until
    /// [`status.is_terminal()`](crate::types::BatchStatus::is_terminal).
    ///
    /// The id is sent as exactly one path segment (reserved characters percent-encoded); an
    /// empty id, `.` or `..` fails with
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) before anything is sent.
    pub async fn retrieve(&self, id: &str) -> Result<Batch> {
        Ok(self.retrieve_with_meta(id).await?.value)
    }

    /// [`Batches::retrieve`], with the response's status, headers and retry count.
    pub async fn retrieve_with_meta(&self, id: &str) -> Result<Response<Batch>> {
        let path = batch_path(id, "")?;
        self.engine
            .get_json(Path::Api(&path), &self.options, "batch")
            .await
    }

    /// Lists batches, newest first (`GET /batches?after=..&limit=..`); page on with
    /// [`BatchList::next_params`], or let [`Batches::pages`] do it.
    pub async fn list(&self, params: &BatchListParams) -> Result<BatchList> {
        Ok(self.list_with_meta(params).await?.value)
    }

    /// [`Batches::list`], with the response's status, headers and retry count.
    pub async fn list_with_meta(&self, params: &BatchListParams) -> Result<Response<BatchList>> {
        let mut options = self.options.clone().into_owned();
        options.query.extend(params.query());
        self.engine
            .get_json(Path::Api("/batches"), &options, "batch list")
            .await
    }

    /// Cancels a batch (`POST /batches/{id}/cancel`, no body) and returns it, usually
    /// `cancelling`; it becomes `cancelled` later, with what was done in its output file.
    pub async fn cancel(&self, id: &str) -> Result<Batch> {
        Ok(self.cancel_with_meta(id).await?.value)
    }

    /// [`Batches::cancel`], with the response's status, headers and retry count.
    pub async fn cancel_with_meta(&self, id: &str) -> Result<Response<Batch>> {
        let path = batch_path(id, "/cancel")?;
        self.engine
            .send_json(Method::Post, Path::Api(&path), &self.options, "batch")
            .await
    }
}
