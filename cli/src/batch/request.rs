//! One input line: `{"custom_id": ..., "method": "POST", "url": "/v1/...", "body": {...}}`
//! (OpenAI's Batch file format), checked and turned into a request to send.

use serde::Deserialize;
use serde_json::Value;

/// The endpoints a line may call, and their paths under the client's base URL.
const ENDPOINTS: [(&str, &str); 4] = [
    ("/v1/chat/completions", "/chat/completions"),
    ("/v1/completions", "/completions"),
    ("/v1/embeddings", "/embeddings"),
    ("/v1/responses", "/responses"),
];

/// A checked line, ready to send.
#[derive(Debug)]
pub struct Job {
    pub custom_id: String,
    /// The path under the base URL (`/chat/completions`).
    pub path: &'static str,
    pub body: Value,
}

impl Job {
    /// The body's `model`, which picks the backends when there are several.
    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }
}

#[derive(Deserialize)]
struct Line {
    custom_id: Option<Value>,
    method: Option<Value>,
    url: Option<Value>,
    body: Option<Value>,
}

/// Checks a line; `Err` says what is wrong with it, for `line N: <why>`.
pub fn parse(bytes: &[u8]) -> Result<Job, String> {
    let line: Line = match serde_json::from_slice(bytes) {
        Ok(l) => l,
        Err(e) if e.is_data() => return Err("not a JSON object".to_owned()),
        Err(e) => return Err(format!("not JSON ({e})")),
    };
    let custom_id = match line.custom_id {
        None | Some(Value::Null) => return Err("no custom_id".to_owned()),
        Some(Value::String(s)) if !s.is_empty() => s,
        Some(Value::String(_)) => return Err("custom_id is empty".to_owned()),
        Some(_) => return Err("custom_id is not a string".to_owned()),
    };
    match line.method.as_ref().and_then(Value::as_str) {
        Some(m) if m.eq_ignore_ascii_case("POST") => {}
        Some(m) => return Err(format!("method {m:?} is not POST")),
        None => return Err("no method (it must be \"POST\")".to_owned()),
    }
    let url = match line.url {
        Some(Value::String(u)) => u,
        Some(_) => return Err("url is not a string".to_owned()),
        None => return Err("no url".to_owned()),
    };
    let Some(&(_, path)) = ENDPOINTS.iter().find(|(u, _)| *u == url) else {
        let known: Vec<&str> = ENDPOINTS.iter().map(|(u, _)| *u).collect();
        return Err(format!("unknown url {url:?} (one of {})", known.join(", ")));
    };
    let body = match line.body {
        Some(b @ Value::Object(_)) => b,
        None | Some(Value::Null) => return Err("no body".to_owned()),
        Some(_) => return Err("body is not a JSON object".to_owned()),
    };
    Ok(Job {
        custom_id,
        path,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines() {
        let j = parse(br#"{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}}"#).unwrap();
        assert_eq!(
            (j.custom_id.as_str(), j.path, j.model()),
            ("a", "/embeddings", Some("m"))
        );
        let j =
            parse(br#"{"custom_id":"b","method":"post","url":"/v1/responses","body":{}}"#).unwrap();
        assert_eq!((j.path, j.model()), ("/responses", None));
    }

    #[test]
    fn bad_lines_say_why() {
        for (line, why) in [
            (&b"{not json"[..], "not JSON"),
            (b"[1,2]", "not a JSON object"),
            (b"{\"custom_id\":\"a\"} trailing", "not JSON"),
            (
                br#"{"method":"POST","url":"/v1/completions","body":{}}"#,
                "no custom_id",
            ),
            (
                br#"{"custom_id":7,"method":"POST","url":"/v1/completions","body":{}}"#,
                "not a string",
            ),
            (
                br#"{"custom_id":"","method":"POST","url":"/v1/completions","body":{}}"#,
                "empty",
            ),
            (
                br#"{"custom_id":"a","method":"GET","url":"/v1/completions","body":{}}"#,
                "\"GET\" is not POST",
            ),
            (
                br#"{"custom_id":"a","url":"/v1/completions","body":{}}"#,
                "no method",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/v1/models","body":{}}"#,
                "unknown url \"/v1/models\"",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/chat/completions","body":{}}"#,
                "unknown url",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/v1/completions"}"#,
                "no body",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/v1/completions","body":"x"}"#,
                "not a JSON object",
            ),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(line));
        }
    }
}
