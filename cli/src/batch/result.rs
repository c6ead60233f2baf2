//! One output line: `{"id", "custom_id", "response": {"status_code", "request_id", "body"},
//! "error"}`, as OpenAI's Batch API writes it.
//!
//! `request_id` is the server's id when it sent one (`x-request-id`), else the id the line was
//! sent under (`batch-<custom_id>`, see `line_id`), never null; a line that got no answer has
//! it in `error.request_id`, since the server may still have logged it.
//!
//! `error` is `null` for a 2xx answer. An HTTP error keeps its status and body in `response`
//! and sets `error.code` to the API's error code (as a string) or `http_<status>`. A request
//! that got no answer has `response: null` and `code` `connection_error` or `timeout`; a
//! 2xx answer that is not JSON gets `invalid_response`; a line the client refused to send
//! (no `model` to route by, no backend serving it) gets `invalid_request`.

use std::borrow::Cow;

use oai_compat::{Error, Response, TimeoutPhase};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::request::Job;

/// How a line ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer.
    Ok,
    /// An answer that is an error, or a line the client refused to send.
    Failed,
    /// No server answered: the connection was refused or reset, or could not be opened in
    /// time (the error's message). Many in a row mean the fleet is down (see `breaker`).
    Unanswered(String),
}

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
    request_id: &'a str,
    body: Body<'a>,
}

/// An answer's body: the server's JSON text as it came, or its text as a JSON string when
/// it is not JSON.
#[derive(Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Json(&'a RawValue),
    Text(&'a str),
}

#[derive(Serialize)]
struct ErrorOut<'a> {
    code: Cow<'a, str>,
    message: Cow<'a, str>,
    /// Only when there is no `response` to hold it.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// A result line read back: its custom_id and whether it succeeded (`error` is null);
/// `None` when the text is not a result.
pub fn read_back(text: &[u8]) -> Option<(String, bool)> {
    #[derive(serde::Deserialize)]
    struct ResultLine {
        custom_id: Option<String>,
        error: Option<serde::de::IgnoredAny>,
    }
    let l: ResultLine = serde_json::from_slice(text).ok()?;
    Some((l.custom_id?, l.error.is_none()))
}

/// The line (with its `\n`) for `custom_id`'s outcome, and how it ended.
pub fn line(
    id: u64,
    job: &Job,
    outcome: Result<Response<Box<RawValue>>, Failed>,
) -> (Vec<u8>, Outcome) {
    let id = format!("batch_req_{id}");
    let custom_id = job.custom_id.as_str();
    let ours = job.request_id.as_str();
    let mut out = Out {
        id: &id,
        custom_id,
        response: None,
        error: None,
    };
    // Owned pieces the borrowed line points into.
    let error_body: Option<Box<RawValue>>;
    let how = match &outcome {
        Ok(r) => {
            out.response = Some(Answer {
                status_code: r.meta.status,
                request_id: r.meta.request_id().unwrap_or(ours),
                body: Body::Json(&r.value),
            });
            Outcome::Ok
        }
        Err(Failed::Client(Error::Api(api))) => {
            // The body as JSON when it is (it is cut at 1 MiB), else as a string.
            error_body = serde_json::from_str(&api.body).ok();
            out.response = Some(Answer {
                status_code: api.status,
                request_id: api.request_id.as_deref().unwrap_or(ours),
                body: match &error_body {
                    Some(json) => Body::Json(json),
                    None => Body::Text(&api.body),
                },
            });
            out.error = Some(ErrorOut {
                code: match &api.code {
                    Some(c) => Cow::Owned(c.to_string()),
                    None => Cow::Owned(format!("http_{}", api.status)),
                },
                message: Cow::Borrowed(&api.message),
                request_id: None,
            });
            Outcome::Failed
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
                request_id: Some(ours),
            });
            let unanswered = match e {
                Error::Connection(_) => true,
                Error::Timeout(t) => t.phase == TimeoutPhase::Connect,
                _ => false,
            };
            match (unanswered, &out.error) {
                (true, Some(err)) => Outcome::Unanswered(err.message.to_string()),
                _ => Outcome::Failed,
            }
        }
        Err(Failed::NoModel) => {
            out.error = Some(ErrorOut {
                code: Cow::Borrowed("invalid_request"),
                message: Cow::Borrowed(
                    "the body has no \"model\": with several backends, lines are routed by model",
                ),
                request_id: None,
            });
            Outcome::Failed
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
    (bytes, how)
}
