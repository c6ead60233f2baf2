//! Serving a cassette (the JSON Lines files `oai_compat`'s `ClientBuilder::cassette` records):
//! each request gets the first recorded answer not played yet whose method, path and JSON body
//! match (without `user` and `stream_options`, as the client's default matcher), so a client in
//! any language (openai-python's `OpenAI(base_url=...)`) gets the recorded answers, streams
//! included. A request with no answer gets a 404 whose error names the closest recorded one.
//!
//! A multipart upload is recorded as its parts (fields with their values, files with their
//! names and sizes, never their bytes) and matched on them in any order, without the files'
//! content types: each language sends the parts in its own order and guesses types its own
//! way (httpx sends `.jsonl` as `application/octet-stream`). Names are compared as a server
//! decodes them (`%22` is `"`), and a file recorded from a pipe (size `null`) matches any size.

use std::io;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::reply::Reply;
use crate::request::RecordedRequest;

/// Top-level body fields that change from run to run (the client's default matcher's).
const IGNORED: &[&str] = &["user", "stream_options"];

pub(crate) struct Cassette {
    exchanges: Vec<Exchange>,
    /// Pauses between a stream's pieces as recorded.
    timing: bool,
}

struct Exchange {
    line: usize,
    method: String,
    path: String,
    body: Option<Value>,
    response: Value,
    played: bool,
}

impl Cassette {
    pub(crate) fn load(path: &Path, timing: bool) -> io::Result<Cassette> {
        let text = std::fs::read_to_string(path)?;
        let mut exchanges = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |why: &str| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: line {} {why}", path.display(), i + 1),
                )
            };
            let v: Value =
                serde_json::from_str(line).map_err(|e| bad(&format!("is not JSON: {e}")))?;
            let req = &v["request"];
            let (Some(method), Some(p)) = (req["method"].as_str(), req["path"].as_str()) else {
                return Err(bad("has no request method and path"));
            };
            if !v["response"]["status"].is_u64() {
                return Err(bad("has no response status"));
            }
            exchanges.push(Exchange {
                line: i + 1,
                method: method.to_owned(),
                path: p.to_owned(),
                body: req.get("body").cloned(),
                response: v["response"].clone(),
                played: false,
            });
        }
        Ok(Cassette { exchanges, timing })
    }

    /// The answer to `req`: the first matching exchange not played yet, else a 404 naming the
    /// closest one.
    pub(crate) fn answer(&mut self, req: &RecordedRequest) -> Reply {
        let body = match req.form() {
            Some(parts) => Some(form_summary(&parts)),
            None => req.json().map(strip),
        };
        let same_route = |e: &Exchange| e.method == req.method && e.path == req.path;
        if let Some(e) = self.exchanges.iter_mut().find(|e| {
            !e.played && same_route(e) && same(e.body.clone().map(strip).as_ref(), body.as_ref())
        }) {
            e.played = true;
            return reply(&e.response, self.timing);
        }
        let closest = self
            .exchanges
            .iter()
            .filter(|e| same_route(e))
            .map(|e| (differences(e.body.clone().map(strip), body.clone()), e))
            .min_by_key(|(d, e)| (d.len(), e.played));
        let hint = match closest {
            Some((d, e)) if d.is_empty() => format!(
                "; line {} matches, but was played already (each answer plays once)",
                e.line
            ),
            Some((d, e)) => format!(
                "; closest: line {}, which differs in {}",
                e.line,
                d.join(", ")
            ),
            None => format!(
                "; the cassette holds {} exchange(s), none for this route",
                self.exchanges.len()
            ),
        };
        let message = format!("no recorded answer for {} {}{hint}", req.method, req.path);
        Reply::json(
            404,
            json!({"error": {"message": message, "type": "cassette_miss", "code": "cassette_miss", "param": null}})
                .to_string(),
        )
    }
}

/// A body as it is compared: a JSON body without the ignored fields; a form's summary
/// (`{"multipart": [...]}`) with its parts sorted, without content types, and its names as a
/// server decodes them.
fn strip(mut v: Value) -> Value {
    if let Some(parts) = v.get_mut("multipart").and_then(Value::as_array_mut) {
        for part in parts.iter_mut() {
            if let Value::Object(p) = part {
                p.remove("content_type");
                for key in ["name", "filename"] {
                    if let Some(Value::String(text)) = p.get_mut(key) {
                        *text = unescaped(text);
                    }
                }
            }
        }
        parts.sort_by_key(part_key);
        return v;
    }
    if let Value::Object(m) = &mut v {
        for f in IGNORED {
            m.remove(*f);
        }
    }
    v
}

/// A name with the `%XX` escapes of `"` and of control characters decoded. Clients escape
/// names differently (ours and browsers escape every control character; httpx leaves ESC
/// and DEL as they are), and a recorded name is the one the caller gave: decoding both
/// sides compares the names meant.
fn unescaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest
            .get(at + 1..at + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escape {
            Some(b) if b == b'"' || b.is_ascii_control() => {
                out.push(char::from(b));
                rest = &rest[at + 3..];
            }
            _ => {
                out.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The order parts are compared in: by name, file name and value (strings, so that the order
/// does not depend on how a JSON map orders its keys), then size.
fn part_key(part: &Value) -> [String; 4] {
    ["name", "filename", "value", "bytes"].map(|k| match &part[k] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// A multipart request in the shape the client records it (fields by value, files by name
/// and size), stripped as [`strip`] strips a recorded one.
fn form_summary(parts: &[crate::FormPart]) -> Value {
    let parts: Vec<Value> = parts
        .iter()
        .map(|p| match &p.filename {
            Some(filename) => json!({"name": p.name, "filename": filename, "bytes": p.data.len()}),
            None => json!({"name": p.name, "value": p.text()}),
        })
        .collect();
    strip(json!({ "multipart": parts }))
}

/// Whether a recorded body (stripped) answers a new one (stripped): equal, or for forms the
/// same parts, where a file recorded with no size (read from a pipe) matches any size.
fn same(recorded: Option<&Value>, new: Option<&Value>) -> bool {
    match (form_parts(recorded), form_parts(new)) {
        (Some(a), Some(b)) => a.len() == b.len() && a.iter().zip(b).all(|(r, n)| same_part(r, n)),
        _ => recorded == new,
    }
}

fn same_part(recorded: &Value, new: &Value) -> bool {
    let (Value::Object(r), Value::Object(n)) = (recorded, new) else {
        return recorded == new;
    };
    r.keys()
        .chain(n.keys())
        .all(|k| (k == "bytes" && r.get(k) == Some(&Value::Null)) || r.get(k) == n.get(k))
}

/// The top-level body fields that differ: the rule of the library's `Matcher`, restated here
/// because this crate does not depend on the library (the library's tests depend on it).
fn differences(a: Option<Value>, b: Option<Value>) -> Vec<String> {
    if let (Some(a), Some(b)) = (form_parts(a.as_ref()), form_parts(b.as_ref())) {
        return part_differences(a, b);
    }
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
        _ => vec!["(body)".to_owned()],
    }
}

fn form_parts(v: Option<&Value>) -> Option<&Vec<Value>> {
    v?.get("multipart")?.as_array()
}

/// The names of the parts of either form that the other has no match for, as "part `file`".
fn part_differences(recorded: &[Value], new: &[Value]) -> Vec<String> {
    let unmatched_recorded = recorded
        .iter()
        .filter(|r| !new.iter().any(|n| same_part(r, n)));
    let unmatched_new = new
        .iter()
        .filter(|n| !recorded.iter().any(|r| same_part(r, n)));
    let mut names: Vec<&str> = unmatched_recorded
        .chain(unmatched_new)
        .map(|p| p["name"].as_str().unwrap_or_default())
        .collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter().map(|n| format!("part `{n}`")).collect()
}

/// The recorded answer as a reply: its status and headers, then its JSON body, text, or
/// stream pieces (each one write, paused as recorded when `timing`).
fn reply(r: &Value, timing: bool) -> Reply {
    let status = r["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(500);
    let header = |name: &str| r["headers"][name].as_str().map(str::to_owned);
    let content_type = header("content-type");
    let mut out = if let Some(events) = r["events"].as_array() {
        let mut s = Reply::stream(
            status,
            content_type
                .as_deref()
                .unwrap_or("text/event-stream; charset=utf-8"),
        );
        let mut last = 0u64;
        for e in events {
            let after = e["after_ms"].as_u64().unwrap_or(last);
            if timing && after > last {
                s = s.pause(Duration::from_millis(after - last));
            }
            last = last.max(after);
            s = s.raw(e["text"].as_str().unwrap_or_default().as_bytes().to_vec());
        }
        s
    } else if let Some(t) = r["text"].as_str() {
        Reply::text(
            status,
            content_type.as_deref().unwrap_or("text/plain"),
            t.as_bytes().to_vec(),
        )
    } else {
        let body = r.get("body").map(Value::to_string).unwrap_or_default();
        Reply::json(status, body)
    };
    if let Some(headers) = r["headers"].as_object() {
        for (name, value) in headers {
            if let Some(v) = value.as_str() {
                out = out.header(name, v);
            }
        }
    }
    out
}
