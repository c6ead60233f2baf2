//! One output line: `{"id", "custom_id", "response": {"status_code", "request_id", "body"},
//! "error"}`, as OpenAI's Batch API writes it.
//!
//! `error` is `null` for a 2xx answer. An HTTP error keeps its status and body in `response`
//! and sets `error.code` to the API's error code (as a string) or `http_<status>`. A request
//! that got no answer has `response: null` and `code` `connection_error` or `timeout`; a
//! 2xx answer that is not JSON gets `invalid_response`; a line the client refused to send
//! (no `model` to route by, no backend serving it) gets `invalid_request`.

use std::borrow::Cow;

use oai_compat::{Error, Response};
use serde::Serialize;
use serde_json::Value;

/// Why a line has no 2xx answer.
pub enum Failed {
    /// The client's error.
    Client(Error),
    /// Not sent: there are several backends and the body names no `model`.
    NoModel,
}

#[derive(Serialize)]
struct Out<'a> {
    id: &'a str,
    custom_id: &'a str,
    response: Option<Answer<'a>>,
    error: Option<ErrorOut<'a>>,
}

#[derive(Serialize)]
struct Answer<'a> {
    status_code: u16,
    request_id: Option<&'a str>,
    body: &'a Value,
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    code: Cow<'a, str>,
    message: Cow<'a, str>,
}

/// The line (with its `\n`) for `custom_id`'s outcome, and whether it succeeded.
pub fn line(id: u64, custom_id: &str, outcome: Result<Response<Value>, Failed>) -> (Vec<u8>, bool) {
    let id = format!("batch_req_{id}");
    let mut out = Out {
        id: &id,
        custom_id,
        response: None,
        error: None,
    };
    // Owned pieces the borrowed line points into.
    let error_body: Value;
    let ok = match &outcome {
        Ok(r) => {
            out.response = Some(Answer {
                status_code: r.meta.status,
                request_id: r.meta.request_id(),
                body: &r.value,
            });
            true
        }
        Err(Failed::Client(Error::Api(api))) => {
            // The body as JSON when it is (it is cut at 1 MiB), else as a string.
            error_body =
                serde_json::from_str(&api.body).unwrap_or_else(|_| Value::String(api.body.clone()));
            out.response = Some(Answer {
                status_code: api.status,
                request_id: api.request_id.as_deref(),
                body: &error_body,
            });
            out.error = Some(ErrorOut {
                code: match &api.code {
                    Some(c) => Cow::Owned(c.to_string()),
                    None => Cow::Owned(format!("http_{}", api.status)),
                },
                message: Cow::Borrowed(&api.message),
            });
            false
        }
        Err(Failed::Client(e)) => {
            let code = match e {
                Error::Connection(_) => "connection_error",
                Error::Timeout(_) => "timeout",
                Error::Decode(_) => "invalid_response",
                // Documented as one code: the line could not be sent as it is.
                Error::Config(_) | Error::InvalidRequest(_) | Error::NoBackend(_) => {
                    "invalid_request"
                }
                _ => "error",
            };
            out.error = Some(ErrorOut {
                code: Cow::Borrowed(code),
                message: Cow::Owned(e.to_string()),
            });
            false
        }
        Err(Failed::NoModel) => {
            out.error = Some(ErrorOut {
                code: Cow::Borrowed("invalid_request"),
                message: Cow::Borrowed(
                    "the body has no \"model\": with several backends, lines are routed by model",
                ),
            });
            false
        }
    };
    let mut bytes = serde_json::to_vec(&out).unwrap_or_else(|e| {
        // Serialising plain JSON values and strings cannot fail; keep the line valid anyway.
        format!(
            "{{\"id\":\"{id}\",\"custom_id\":{},\"response\":null,\"error\":{{\"code\":\"error\",\"message\":{}}}}}",
            Value::from(custom_id),
            Value::from(e.to_string())
        )
        .into_bytes()
    });
    bytes.push(b'\n');
    (bytes, ok)
}
