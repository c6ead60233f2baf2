//! Raw JSON calls: any path under the base URL, any JSON body, the answer as a
//! [`serde_json::Value`] with its status, headers and request id.
//!
//! The escape hatch for what the typed API does not cover yet (a server's own endpoint, a
//! field the types do not know, a reply to pass on unchanged) and for tools that forward
//! requests as they are, like the `oai batch` runner. It goes through the same pipeline as
//! every typed call: the client's headers and key, retries, redirects, timeouts and error
//! parsing. [`Router::raw_post`](crate::Router::raw_post) is the same call routed by model.

use serde_json::Value;
use serde_json::value::RawValue;

use crate::body::TextObject;
use crate::call::Path;
use crate::error::{Error, Result};
use crate::form::Form;
use crate::response::Response;
use crate::stream::EventStream;

super::handle!(
    /// Raw JSON calls. Get one with [`Client::raw`](crate::Client::raw).
    Raw
);

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Raw<'_> {
    /// `GET` of `path` (relative to the base URL, e.g. `/models`), the answer as JSON.
    ///
    /// Fails like a typed call: [`Error::Api`] for a non-2xx status (with the status, the
    /// server's message and the raw body), [`Error::Decode`] for a 2xx body that is not JSON,
    /// and [`Error::InvalidRequest`] for a path that is not a plain absolute path (see [`Raw::post`]).
    pub async fn get(&self, path: &str) -> Result<Response<Value>> {
        check_path(path)?;
        self.engine
            .get_json(Path::Api(path), &self.options, "JSON reply")
            .await
    }

    /// `POST` of the JSON object `body` to `path` (relative to the base URL, e.g.
    /// `/chat/completions`), the answer as JSON.
    ///
    /// The body is sent as given, with the handle's
    /// [`extra_body`](crate::RequestOptions::extra_body) keys merged on top, except `stream`
    /// and `stream_options`, which are removed: this call reads one JSON answer, never a
    /// stream (the typed `create_stream` methods stream).
    ///
    /// `path` must start with `/` and hold only visible ASCII without `?` or `#` (percent-encode
    /// anything else; add a query with [`RequestOptions::query`](crate::RequestOptions::query))
    /// and no `.` or `..` segment; otherwise, or when `body` is not a JSON object, the call
    /// fails with [`Error::InvalidRequest`] before anything is sent.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, RequestOptions};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let body = serde_json::json!({
    ///     "model": "my-model",
    ///     "messages": [{"role": "user", "content": "Hi"}],
    ///     "some_server_extension": {"level": 2},
    /// });
    /// match client.raw().with_options(RequestOptions::new().max_retries(0)).post("/chat/completions", &body) {
    ///     Ok(reply) => println!("{}", reply.value["choices"][0]["message"]["content"]),
    ///     Err(e) => eprintln!("HTTP {:?}: {e}", e.status()),
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn post(&self, path: &str, body: &Value) -> Result<Response<Value>> {
        check_path(path)?;
        // Its `stream` and `stream_options` keys are dropped, as for the typed requests.
        self.engine
            .post_json(Path::Api(path), object(body)?, &self.options, "JSON reply")
            .await
    }

    /// [`Raw::post`] for a body that is already JSON text, with the answer kept as JSON
    /// text: nothing is parsed into a tree of values, so a large body costs a small multiple
    /// of its bytes (a `Value` tree of a long array of numbers takes about 18 times the
    /// text). The tool for passing requests and answers on as they are, like the `oai batch`
    /// runner does with each line.
    ///
    /// The body's members are sent as written, in order, except `stream` and
    /// `stream_options`, which are left out (this call reads one JSON answer). The handle's
    /// [`extra_body`](crate::RequestOptions::extra_body) keys are merged on top; that merge
    /// does build the body's tree, so leave them unset for large bodies. The path and body
    /// rules and the errors are those of [`Raw::post`]; the answer is checked to be JSON.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use serde_json::value::RawValue;
    /// let client = oai_compat::Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let line = r#"{"model": "my-model", "input": ["a", "b"]}"#;
    /// let body = serde_json::from_str::<&RawValue>(line).expect("JSON text");
    /// let reply = client.raw().post_text("/embeddings", body)?;
    /// println!("{} {}", reply.meta.status, reply.value.get());
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn post_text(&self, path: &str, body: &RawValue) -> Result<Response<Box<RawValue>>> {
        check_path(path)?;
        self.engine
            .post_json(
                Path::Api(path),
                &TextObject::parse(body)?,
                &self.options,
                "JSON reply",
            )
            .await
    }

    /// `POST` of a `multipart/form-data` [`Form`] to `path`, the answer as JSON: an upload
    /// endpoint the typed API does not cover (a server's own), or fields it does not know.
    /// The handle's [`extra_body`](crate::RequestOptions::extra_body) keys are sent as text
    /// fields after the form's. The path rules and the errors are those of [`Raw::post`];
    /// a file that cannot be read fails with [`Error::Upload`] before anything is sent.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Form, Upload};
    /// let client = oai_compat::Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let form = Form::new()
    ///     .text("model", "whisper-large-v3")
    ///     .file("file", Upload::path("talk.wav"));
    /// let reply = client.raw().post_form("/audio/transcriptions", &form)?;
    /// println!("{}", reply.value["text"]);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn post_form(&self, path: &str, form: &Form) -> Result<Response<Value>> {
        check_path(path)?;
        self.engine
            .post_form(Path::Api(path), form, &self.options, "JSON reply")
            .await
    }

    /// `POST` of the JSON object `body` to `path` with `stream: true` set, the answer read as
    /// a stream of server-sent events, each event's data decoded as JSON. Retried only until
    /// the response headers arrive.
    ///
    /// The body and path rules are those of [`Raw::post`] (a `stream_options` key in `body`
    /// is kept here). The stream is an [`EventStream`]: it ends at `data: [DONE]`; an
    /// in-band `{"error": ...}` event or an `event: error` ends it with [`Error::Stream`]. An
    /// API whose stream ends with a final named event instead of `[DONE]` (the Responses API's
    /// `response.completed`) is read up to that event and then dropped, which closes the
    /// connection; reading on past it reports the missing `[DONE]`.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// let client = oai_compat::Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let body = serde_json::json!({"model": "my-model", "input": "Tell a story"});
    /// for event in client.raw().post_stream("/responses", &body)? {
    ///     let event = event?;
    ///     match event["type"].as_str() {
    ///         Some("response.output_text.delta") => print!("{}", event["delta"].as_str().unwrap_or("")),
    ///         Some("response.completed") => break,
    ///         _ => {}
    ///     }
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn post_stream(&self, path: &str, body: &Value) -> Result<EventStream<Value>> {
        check_path(path)?;
        // The body's own `stream_options` are kept; `stream: true` is the client's.
        self.engine
            .post_stream(Path::Api(path), object(body)?, &self.options)
            .await
    }
}

/// Accepts a plain absolute path under the base URL; refuses anything that would change the
/// URL's meaning (query, fragment, dot segments) or could not be sent as is.
fn check_path(path: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid_request(format!(
            "invalid raw call path {path:?}: {why}"
        )))
    };
    if !path.starts_with('/') {
        return bad("it must start with `/` (it is relative to the base URL, e.g. `/models`)");
    }
    if let Some(c) = path.chars().find(|c| !c.is_ascii_graphic()) {
        return bad(&format!(
            "{c:?} is not allowed; percent-encode spaces, control and non-ASCII characters"
        ));
    }
    if path.contains(['?', '#']) {
        return bad("`?` and `#` are not allowed; add query parameters with RequestOptions::query");
    }
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return bad("`.` and `..` segments are not allowed");
    }
    Ok(())
}

/// The fields of a body, which must be a JSON object.
fn object(body: &Value) -> Result<&serde_json::Map<String, Value>> {
    body.as_object().ok_or_else(|| {
        Error::invalid_request(format!(
            "the body of a raw POST must be a JSON object, not {}",
            kind(body)
        ))
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in ["/models", "/chat/completions", "/a/b%20c", "/ft:model@x"] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for (bad, why) in [
            ("models", "start with `/`"),
            ("", "start with `/`"),
            ("/a b", "percent-encode"),
            ("/a\r\nX-Evil: 1", "percent-encode"),
            ("/é", "percent-encode"),
            ("/models?x=1", "RequestOptions::query"),
            ("/a#frag", "RequestOptions::query"),
            ("/v1/../admin", "segments"),
            ("/./x", "segments"),
        ] {
            let e = check_path(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
    }
}
