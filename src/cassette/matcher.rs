//! Which recorded request answers a new one.

use serde_json::Value;

use super::format::Request;

/// How a request is matched to a recorded one: method, path (with its query) and the JSON
/// body, compared as JSON (key order and spacing do not count), without the body's top-level
/// fields that change from run to run. The default ignores `user` and `stream_options`; the
/// client's request id is a header, and headers are never matched. An upload (a multipart
/// form) matches on its fields and its files' names and sizes, in any order of parts; the
/// files' bytes are never recorded, and their content types are not compared.
///
/// ```
/// use oai_compat::cassette::Matcher;
/// let m = Matcher::default().ignore("seed").ignore("metadata");
/// assert!(m.ignored().any(|f| f == "seed"));
/// let loose = Matcher::default().without_body(); // method and path only
/// # let _ = loose;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    ignored: Vec<String>,
    body: bool,
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher {
            ignored: vec!["user".into(), "stream_options".into()],
            body: true,
        }
    }
}

impl Matcher {
    /// Also ignores this top-level body field.
    pub fn ignore(mut self, field: impl Into<String>) -> Self {
        self.ignored.push(field.into());
        self
    }

    /// Matches by method and path only.
    pub fn without_body(mut self) -> Self {
        self.body = false;
        self
    }

    /// The ignored top-level body fields.
    pub fn ignored(&self) -> impl Iterator<Item = &str> {
        self.ignored.iter().map(String::as_str)
    }

    pub(crate) fn matches(&self, recorded: &Request, new: &Request) -> bool {
        recorded.method == new.method
            && recorded.path == new.path
            && (!self.body || self.differences(recorded, new).is_empty())
    }

    /// The top-level body fields that differ (`(body)` when one side has no object body).
    pub(crate) fn differences(&self, recorded: &Request, new: &Request) -> Vec<String> {
        let (a, b) = (self.kept(&recorded.body), self.kept(&new.body));
        match (a, b) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                keys.into_iter()
                    .filter(|k| a.get(*k) != b.get(*k))
                    .cloned()
                    .collect()
            }
            (a, b) if a == b => Vec::new(),
            _ => vec!["(body)".into()],
        }
    }

    fn kept(&self, body: &Option<Value>) -> Option<Value> {
        let mut body = body.clone()?;
        // A form (an upload) is its parts, in any order, without the files' content types:
        // a type guessed from a file name by another version (or language) is the same file.
        if let Some(parts) = body.get_mut("multipart").and_then(Value::as_array_mut) {
            for part in parts.iter_mut() {
                if let Value::Object(p) = part {
                    p.remove("content_type");
                }
            }
            parts.sort_by_key(|p| {
                ["name", "filename", "value", "bytes"].map(|k| match &p[k] {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            });
            return Some(body);
        }
        if let Value::Object(map) = &mut body {
            for f in &self.ignored {
                map.remove(f);
            }
        }
        Some(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(path: &str, body: Value) -> Request {
        Request {
            method: "POST".into(),
            path: path.into(),
            body: Some(body),
        }
    }

    #[test]
    fn bodies_match_as_json_without_the_ignored_fields() {
        let m = Matcher::default();
        let a = req("/v1/chat", json!({"model": "m", "user": "u1", "n": 1}));
        let b = req("/v1/chat", json!({"n": 1, "model": "m", "user": "u2"}));
        assert!(m.matches(&a, &b));
        let c = req("/v1/chat", json!({"n": 2, "model": "x"}));
        assert!(!m.matches(&a, &c));
        assert_eq!(m.differences(&a, &c), ["model", "n"]);
        assert!(!m.matches(&a, &req("/v1/other", json!({"model": "m", "n": 1}))));
        assert!(Matcher::default().without_body().matches(&a, &c));
        assert!(m.clone().ignore("n").ignore("model").matches(&a, &c));
    }

    #[test]
    fn forms_match_in_any_order_without_content_types() {
        let m = Matcher::default();
        let purpose = json!({"name": "purpose", "value": "batch"});
        let file = |mime: &str, bytes: u64| json!({"name": "file", "filename": "in.md", "content_type": mime, "bytes": bytes});
        let a = req(
            "/v1/files",
            json!({"multipart": [purpose, file("application/octet-stream", 5)]}),
        );
        let b = req(
            "/v1/files",
            json!({"multipart": [file("text/markdown", 5), purpose]}),
        );
        assert!(m.matches(&a, &b));
        let bigger = req(
            "/v1/files",
            json!({"multipart": [purpose, file("text/markdown", 6)]}),
        );
        assert!(!m.matches(&a, &bigger));
    }
}
