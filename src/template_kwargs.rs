//! `set_chat_template_kwargs` on the requests that carry vLLM's `chat_template_kwargs`: the
//! one fallible setter of the request types (kept out of `types`, which hold plain data and
//! import nothing from the client).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::types::{ChatCompletionRequest, ResponseRequest, TokenizeRequest};

/// `value` as a JSON object, for the `Extra`-typed request fields (`chat_template_kwargs`).
pub(crate) fn object_of(value: impl Serialize, what: &str) -> Result<Map<String, Value>> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Error::InvalidRequest(format!(
            "{what} must be a JSON object (a map or a struct), got {other}"
        ))),
        Err(e) => Err(Error::InvalidRequest(format!(
            "{what} could not be serialised: {e}"
        ))),
    }
}

impl ChatCompletionRequest {
    /// Sets `chat_template_kwargs` (vLLM extra) from anything that serialises to a JSON
    /// object: `json!({..})`, a `HashMap`, your own struct.
    ///
    /// ```
    /// use oai_compat::types::{ChatCompletionRequest, Message};
    /// let mut req = ChatCompletionRequest::new("Qwen/Qwen3-8B", [Message::user("hi")]);
    /// req.set_chat_template_kwargs(serde_json::json!({"enable_thinking": false}))?;
    /// assert_eq!(req.chat_template_kwargs.unwrap()["enable_thinking"], false);
    /// assert!(ChatCompletionRequest::default().set_chat_template_kwargs(42).is_err());
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) when `kwargs` is not a JSON object.
    pub fn set_chat_template_kwargs(&mut self, kwargs: impl Serialize) -> Result<()> {
        self.chat_template_kwargs = Some(object_of(kwargs, "chat_template_kwargs")?);
        Ok(())
    }
}

impl ResponseRequest {
    /// Sets `chat_template_kwargs` (vLLM extra) from anything that serialises to a JSON
    /// object; see [`ChatCompletionRequest::set_chat_template_kwargs`](crate::types::ChatCompletionRequest::set_chat_template_kwargs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) when `kwargs` is not a JSON object.
    pub fn set_chat_template_kwargs(&mut self, kwargs: impl Serialize) -> Result<()> {
        self.chat_template_kwargs = Some(object_of(kwargs, "chat_template_kwargs")?);
        Ok(())
    }
}

impl TokenizeRequest {
    /// Sets `chat_template_kwargs` from anything that serialises to a JSON object; see
    /// [`ChatCompletionRequest::set_chat_template_kwargs`](crate::types::ChatCompletionRequest::set_chat_template_kwargs).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) when `kwargs` is not a JSON object.
    pub fn set_chat_template_kwargs(&mut self, kwargs: impl Serialize) -> Result<()> {
        self.chat_template_kwargs = Some(object_of(kwargs, "chat_template_kwargs")?);
        Ok(())
    }
}
