//! `/models`.

use crate::call::Path;
use crate::error::{ApiError, Error, ErrorCode, Result};
use crate::response::Response;
use crate::types::{Model, ModelList};

super::handle!(
    /// Models. Get one with [`Client::models`](crate::Client::models).
    Models
);

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Models<'_> {
    /// Lists the models the server serves (`GET /models`). vLLM serves one model per server
    /// (plus its LoRA adapters); its entries carry `max_model_len`, `root` and `parent`.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// let client = oai_compat::Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// for m in client.models().list()?.data {
    ///     println!("{} (context {:?})", m.id, m.max_model_len);
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn list(&self) -> Result<ModelList> {
        Ok(self.list_with_meta().await?.value)
    }

    /// [`Models::list`], with the response's status, headers and retry count.
    pub async fn list_with_meta(&self) -> Result<Response<ModelList>> {
        self.engine
            .get_json(Path::Api("/models"), &self.options, "model list")
            .await
    }

    /// Retrieves one model (`GET /models/{id}`).
    ///
    /// vLLM has no such route: on 404 or 405 the client falls back to the list and returns
    /// the entry, or a 404 [`Error::Api`] naming the models the server does serve.
    ///
    /// The id is sent as exactly one path segment: `/` and every other reserved character
    /// are percent-encoded (`org/model` becomes `/models/org%2Fmodel`). An empty id, `.` or
    /// `..` fails with [`Error::Config`] before anything is sent.
    pub async fn retrieve(&self, id: &str) -> Result<Model> {
        let path = format!("/models/{}", crate::url::path_segment("model id", id)?);
        let err = match self
            .engine
            .get_json::<Model>(Path::Api(&path), &self.options, "model")
            .await
        {
            Ok(r) => return Ok(r.value),
            Err(e) if matches!(e.status(), Some(404 | 405)) => e,
            Err(e) => return Err(e),
        };
        let mut list = match self.list().await {
            Ok(l) => l,
            // The list failing too says nothing new: report the first answer.
            Err(_) => return Err(err),
        };
        if let Some(i) = list.data.iter().position(|m| m.id == id) {
            return Ok(list.data.swap_remove(i));
        }
        let known: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
        let served = if known.is_empty() {
            "no models".to_owned()
        } else {
            known.join(", ")
        };
        // In vLLM's own terms, as if it had the route.
        let mut api = ApiError::new(
            404,
            format!("The model `{id}` does not exist on this server; it serves: {served}"),
        );
        api.error_type = Some("NotFoundError".to_owned());
        api.param = Some("model".to_owned());
        api.code = Some(ErrorCode::Int(404));
        api.retries_taken = err.retries_taken();
        Err(Error::Api(Box::new(api)))
    }
}
