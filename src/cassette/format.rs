//! The cassette file: JSON Lines, one exchange per line, in a fixed field order (the keys of
//! bodies sorted), so a cassette diffs and reviews well in a pull request. What a line holds:
//!
//! ```json
//! {"request":{"body":{"messages":[…],"model":"tiny-llama"},"method":"POST","path":"/v1/chat/completions"},
//!  "response":{"body":{…},"headers":{"content-type":"application/json","x-request-id":"…"},"status":200}}
//! ```
//!
//! A non-JSON answer has `text` instead of `body`; a streamed one has `events`, the pieces of
//! its body as they came (whole lines), each with the milliseconds since the answer's
//! headers (`after_ms`). `complete: false` marks an answer whose body was not read to its end
//! (a stream dropped early): it replays as far as it was read. No request header is kept,
//! and of the answer's headers only those callers read (see [`KEPT_HEADERS`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The answer headers a cassette keeps (by prefix): the content type, request ids, the retry
/// and rate-limit headers the retry policy and callers read.
pub(crate) const KEPT_HEADERS: &[&str] = &[
    "content-type",
    "x-request-id",
    "retry-after",
    "x-ratelimit-",
    "x-should-retry",
    "openai-",
    "location",
];

/// One request and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Exchange {
    pub(crate) request: Request,
    pub(crate) response: Answer,
}

/// What of a request is kept (and matched): method, path with query, JSON body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<Value>,
}

/// An answer: status, kept headers, and its body in one of three forms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) headers: BTreeMap<String, String>,
    /// A JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<Value>,
    /// A body that is not JSON (an HTML error page, `text/plain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<String>,
    /// A streamed body, piece by piece.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) events: Option<Vec<Piece>>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub(crate) complete: bool,
}

/// A piece of a streamed body and when it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Piece {
    pub(crate) after_ms: u64,
    pub(crate) text: String,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// Whether an answer header is kept.
pub(crate) fn keeps(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    KEPT_HEADERS.iter().any(|k| {
        if k.ends_with('-') {
            name.starts_with(k)
        } else {
            name == *k || (*k == "retry-after" && name == "retry-after-ms")
        }
    })
}

impl Answer {
    /// The body's bytes as the server would send them.
    pub(crate) fn body_bytes(&self) -> Vec<u8> {
        match (&self.body, &self.text, &self.events) {
            (Some(v), _, _) => serde_json::to_vec(v).unwrap_or_default(),
            (None, Some(t), _) => t.clone().into_bytes(),
            (None, None, Some(pieces)) => pieces.iter().flat_map(|p| p.text.bytes()).collect(),
            (None, None, None) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_headers() {
        for name in [
            "Content-Type",
            "x-request-id",
            "retry-after",
            "retry-after-ms",
            "x-ratelimit-remaining-tokens",
            "openai-processing-ms",
        ] {
            assert!(keeps(name), "{name}");
        }
        for name in [
            "authorization",
            "set-cookie",
            "api-key",
            "x-api-key",
            "date",
            "server",
        ] {
            assert!(!keeps(name), "{name}");
        }
    }

    #[test]
    fn a_line_is_stable_and_compact() {
        let ex = Exchange {
            request: Request {
                method: "POST".into(),
                path: "/v1/x".into(),
                body: Some(serde_json::json!({"z": 1, "a": [1, 2]})),
            },
            response: Answer {
                status: 200,
                headers: BTreeMap::from([("x-request-id".into(), "r".into())]),
                body: None,
                text: None,
                events: Some(vec![Piece {
                    after_ms: 3,
                    text: "data: {}\n\n".into(),
                }]),
                complete: true,
            },
        };
        let line = serde_json::to_string(&ex).unwrap();
        assert_eq!(
            line,
            r#"{"request":{"method":"POST","path":"/v1/x","body":{"a":[1,2],"z":1}},"response":{"status":200,"headers":{"x-request-id":"r"},"events":[{"after_ms":3,"text":"data: {}\n\n"}]}}"#
        );
        assert_eq!(serde_json::from_str::<Exchange>(&line).unwrap(), ex);
        assert_eq!(ex.response.body_bytes(), b"data: {}\n\n");
    }
}
