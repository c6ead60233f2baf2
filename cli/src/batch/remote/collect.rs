//! A finished remote batch's files turned into the local output format, so that
//! `oai batch check` accepts the result and a local and a remote run compare line by line.
//!
//! The batch's output file and then its error file are read as streams; each line whose
//! custom_id is one this run sent (and has no result yet) is written once, in the local
//! shape `{"id", "custom_id", "response", "error"}`: `error` is the batch's own when it gave
//! one, else made from the answer when its status is not 2xx (OpenAI's error file has such
//! lines with `"error": null`, which a reader would take for successes), else null. Every
//! sent custom_id that neither file answered gets an error line saying the remote batch lost
//! it (and how the batch ended). Lines that are not results, name an id this run did not
//! send, or repeat one, are left out and counted.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::super::keys::{Key, Keys};
use super::super::lines::Lines;
use super::super::resume::MAX_RESULT_LINE;

/// The custom_ids a remote batch was sent, and which of them have a result yet.
pub struct Wanted<'k> {
    keys: &'k Keys,
    ids: Vec<String>,
    index: HashMap<Key, usize>,
    done: Vec<bool>,
}

/// A download cut short: the file's last line has no newline and is not a result.
pub fn cut_file() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "a file of the batch ends in a cut line (its download was cut short)",
    )
}

/// What was written and left out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub ok: u64,
    pub failed: u64,
    /// Sent lines neither file answered (written as errors; also counted in `failed`).
    pub lost: u64,
    /// Lines of the files that are not results (not JSON, no custom_id, torn).
    pub unreadable: u64,
    /// Results for a custom_id this run did not send.
    pub stray: u64,
    /// Second results for one custom_id.
    pub repeated: u64,
    /// Results for a custom_id the output came to hold while the batch ran (its line kept).
    pub held: u64,
    /// Earlier lines of an id the output held twice, dropped (only its last is kept).
    pub compacted: u64,
}

impl<'k> Wanted<'k> {
    pub fn new(keys: &'k Keys, ids: Vec<String>) -> Wanted<'k> {
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (keys.of(id), i))
            .collect();
        let done = vec![false; ids.len()];
        Wanted {
            keys,
            ids,
            index,
            done,
        }
    }

    /// Marks `key` done without a result from the batch: the output holds its line already
    /// (written while the batch ran). Returns whether it was one of the sent ids.
    pub fn hold(&mut self, key: &Key) -> bool {
        match self.index.get(key) {
            Some(&i) => {
                self.done[i] = true;
                true
            }
            None => false,
        }
    }

    /// The run's hash keys.
    pub fn keys(&self) -> &'k Keys {
        self.keys
    }

    /// Whether `key` is one of the sent ids.
    pub fn sent(&self, key: &Key) -> bool {
        self.index.contains_key(key)
    }
}

#[derive(Deserialize)]
struct RemoteLine<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    custom_id: Option<String>,
    #[serde(borrow)]
    response: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// What is read of a response: its status...
#[derive(Deserialize)]
struct Status {
    status_code: Option<u16>,
}

/// ... and, when it is not a 2xx, its body's error (a small object, or a string).
#[derive(Deserialize)]
struct WithError {
    body: Option<BodyFacts>,
}

#[derive(Deserialize)]
struct BodyFacts {
    error: Option<Value>,
}

#[derive(Serialize)]
struct Out<'a> {
    id: &'a RawValue,
    custom_id: &'a str,
    response: Option<&'a RawValue>,
    error: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct MadeError<'a> {
    code: &'a str,
    message: &'a str,
}

/// Writes the results of one of the batch's files. A file whose last line is cut (no
/// newline, not a result) is an error ([`cut_file`]): a download cut short, not lost lines.
/// `held` ids (the output holds their line) are left out and counted.
pub fn copy_results(
    from: impl BufRead,
    to: &mut impl Write,
    wanted: &mut Wanted<'_>,
    held: &std::collections::HashSet<Key>,
    next_id: &mut u64,
    counts: &mut Counts,
) -> io::Result<()> {
    let mut lines = Lines::new(from, MAX_RESULT_LINE);
    let mut buf = Vec::new();
    while let Some(end) = lines.next_into(&mut buf)? {
        if !end.too_long && buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let parsed = match end.too_long {
            false => serde_json::from_slice::<RemoteLine<'_>>(&buf).ok(),
            true => None,
        };
        let Some(line) = parsed else {
            // Cut: a last line without its newline that is not even whole JSON. A whole value
            // that is not a result (Prism's file content is the JSON string `"string"`) is
            // only not a result.
            let whole =
                !end.too_long && serde_json::from_slice::<serde::de::IgnoredAny>(&buf).is_ok();
            if !end.newline && !whole {
                return Err(cut_file());
            }
            counts.unreadable += 1;
            continue;
        };
        let Some(custom_id) = line.custom_id.as_deref() else {
            counts.unreadable += 1;
            continue;
        };
        let key = wanted.keys.of(custom_id);
        if held.contains(&key) {
            counts.held += 1;
            continue;
        }
        let Some(&i) = wanted.index.get(&key) else {
            counts.stray += 1;
            continue;
        };
        let slot = &mut wanted.done[i];
        if *slot {
            counts.repeated += 1;
            continue;
        }
        *slot = true;
        let response = line.response.filter(|r| r.get() != "null");
        let given_error = line.error.filter(|e| e.get() != "null");
        let made: Option<Box<RawValue>> = match (given_error, response) {
            (Some(_), _) => None,
            (None, Some(r)) => error_of_answer(r),
            (None, None) => Some(made_error(
                "invalid_response",
                "the remote batch gave this line neither an answer nor an error",
            )),
        };
        let error = given_error.or(made.as_deref());
        let own_id;
        let id = match line.id.filter(|i| i.get().starts_with('"')) {
            Some(id) => {
                // A server that numbers its lines as a local run does (`batch_req_1`): the
                // lines numbered here (a lost line's error) start past it, so no id is
                // written twice.
                if let Ok(given) = serde_json::from_str::<&str>(id.get()) {
                    let n = super::super::resume::id_number(given);
                    *next_id = (*next_id).max(n.saturating_add(1));
                }
                id
            }
            None => {
                own_id = numbered(next_id);
                &own_id
            }
        };
        write_line(
            to,
            &Out {
                id,
                custom_id,
                response,
                error,
            },
        )?;
        if error.is_some() {
            counts.failed += 1;
        } else {
            counts.ok += 1;
        }
    }
    Ok(())
}

/// Writes an error line for every sent custom_id that has no result: the batch lost it.
/// `why` says how the batch ended (it is the line's message); `code` is its code.
pub fn write_lost(
    to: &mut impl Write,
    wanted: &Wanted<'_>,
    next_id: &mut u64,
    code: &str,
    why: &str,
    counts: &mut Counts,
) -> io::Result<()> {
    let error = made_error(code, why);
    for (id, done) in wanted.ids.iter().zip(&wanted.done) {
        if *done {
            continue;
        }
        write_line(
            to,
            &Out {
                id: &numbered(next_id),
                custom_id: id,
                response: None,
                error: Some(&error),
            },
        )?;
        counts.failed += 1;
        counts.lost += 1;
    }
    Ok(())
}

/// The error of an answer that is not a 2xx (its body's error code and message when it has
/// them); `None` for a 2xx.
fn error_of_answer(response: &RawValue) -> Option<Box<RawValue>> {
    let status = serde_json::from_str::<Status>(response.get())
        .ok()
        .and_then(|s| s.status_code);
    if status.is_some_and(|s| (200..300).contains(&s)) {
        return None;
    }
    // The body's error: `{"error": {"code", "message"}}`, or `{"error": "text"}`.
    let body_error = serde_json::from_str::<WithError>(response.get())
        .ok()
        .and_then(|w| w.body)
        .and_then(|b| b.error);
    let (code, message) = match &body_error {
        Some(Value::Object(e)) => (
            match e.get("code") {
                Some(Value::String(c)) if !c.is_empty() => Some(c.clone()),
                Some(c @ Value::Number(_)) => Some(c.to_string()),
                _ => None,
            },
            e.get("message").and_then(Value::as_str).map(str::to_owned),
        ),
        Some(Value::String(m)) => (None, Some(m.clone())),
        _ => (None, None),
    };
    let code = code.unwrap_or_else(|| match status {
        Some(s) => format!("http_{s}"),
        None => "invalid_response".to_owned(),
    });
    let message = message.unwrap_or_else(|| match status {
        Some(s) => format!("the remote batch's request got HTTP {s}"),
        None => "the remote batch's answer has no status_code".to_owned(),
    });
    Some(made_error(&code, &message))
}

fn made_error(code: &str, message: &str) -> Box<RawValue> {
    let text = serde_json::to_string(&MadeError { code, message })
        .unwrap_or_else(|_| r#"{"code":"error","message":"error"}"#.to_owned());
    RawValue::from_string(text)
        .unwrap_or_else(|_| RawValue::from_string("null".to_owned()).expect("null is JSON"))
}

/// `"batch_req_<n>"` (as a local run numbers its lines), `n` counting on.
fn numbered(next_id: &mut u64) -> Box<RawValue> {
    let n = *next_id;
    *next_id = next_id.saturating_add(1);
    RawValue::from_string(format!("\"batch_req_{n}\"")).expect("a JSON string")
}

fn write_line(to: &mut impl Write, out: &Out<'_>) -> io::Result<()> {
    serde_json::to_writer(&mut *to, out).map_err(io::Error::other)?;
    to.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::super::super::result::read_back;
    use super::*;

    fn run(files: &[&str], ids: &[&str]) -> (Vec<Value>, Counts) {
        let keys = Keys::new();
        let mut wanted = Wanted::new(&keys, ids.iter().map(|s| s.to_string()).collect());
        let mut out = Vec::new();
        let mut counts = Counts::default();
        let mut next = 7;
        for f in files {
            let held = std::collections::HashSet::new();
            copy_results(
                f.as_bytes(),
                &mut out,
                &mut wanted,
                &held,
                &mut next,
                &mut counts,
            )
            .unwrap();
        }
        write_lost(
            &mut out,
            &wanted,
            &mut next,
            "batch_expired",
            "lost",
            &mut counts,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        for l in text.lines() {
            assert!(read_back(l.as_bytes()).is_some(), "{l}");
        }
        let lines = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines, counts)
    }

    #[test]
    fn results_errors_and_lost_lines_in_the_local_shape() {
        let output = concat!(
            r#"{"id":"batch_req_a","custom_id":"ok","response":{"status_code":200,"request_id":"r1","body":{"x":1}},"error":null}"#,
            "\n",
            r#"{"id":"batch_req_b","custom_id":"stray","response":{"status_code":200,"body":{}},"error":null}"#,
            "\nnot json\n",
            r#"{"id":"batch_req_c","custom_id":"ok","response":{"status_code":200,"body":{}},"error":null}"#,
            "\n",
        );
        let errors = concat!(
            r#"{"id":"batch_req_d","custom_id":"bad","response":{"status_code":400,"request_id":"r2","body":{"error":{"message":"no such model","code":"model_not_found"}}},"error":null}"#,
            "\n",
            r#"{"id":"batch_req_e","custom_id":"expired","response":null,"error":{"code":"batch_expired","message":"too late"}}"#,
            "\n",
            r#"{"custom_id":"odd","response":{"status_code":500,"body":"oops"},"error":null}"#,
            "\n",
        );
        let (lines, counts) = run(&[output, errors], &["ok", "bad", "expired", "odd", "gone"]);
        assert_eq!(
            counts,
            Counts {
                ok: 1,
                failed: 4,
                lost: 1,
                unreadable: 1,
                stray: 1,
                repeated: 1,
                held: 0,
                compacted: 0
            }
        );
        let by: HashMap<&str, &Value> = lines
            .iter()
            .map(|l| (l["custom_id"].as_str().unwrap(), l))
            .collect();
        assert_eq!(by.len(), 5);
        for l in &lines {
            assert_eq!(l.as_object().unwrap().len(), 4, "{l}");
        }
        assert_eq!(by["ok"]["error"], Value::Null);
        assert_eq!(by["ok"]["id"], "batch_req_a");
        assert_eq!(by["ok"]["response"]["body"]["x"], 1);
        assert_eq!(by["bad"]["error"]["code"], "model_not_found");
        assert_eq!(by["bad"]["error"]["message"], "no such model");
        assert_eq!(by["bad"]["response"]["status_code"], 400);
        assert_eq!(by["expired"]["error"]["code"], "batch_expired");
        assert_eq!(by["odd"]["error"]["code"], "http_500");
        assert_eq!(by["odd"]["id"], "batch_req_7");
        assert_eq!(by["gone"]["error"]["message"], "lost");
        assert_eq!(by["gone"]["response"], Value::Null);
        assert_eq!(by["gone"]["id"], "batch_req_8");
    }

    /// A server that numbers its lines as a local run does: the lines numbered here start
    /// past its numbers, so every id in the output is written once.
    #[test]
    fn numbered_ids_start_past_the_servers() {
        let output = concat!(
            r#"{"id":"batch_req_1","custom_id":"a","response":{"status_code":200,"body":{}},"error":null}"#,
            "\n",
            r#"{"id":"batch_req_30","custom_id":"b","response":{"status_code":200,"body":{}},"error":null}"#,
            "\n",
        );
        let (lines, _) = run(&[output], &["a", "b", "c", "d"]);
        let ids: Vec<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "batch_req_1",
                "batch_req_30",
                "batch_req_31",
                "batch_req_32"
            ]
        );
    }

    #[test]
    fn a_cut_last_line_is_a_failed_download() {
        let keys = Keys::new();
        let mut wanted = Wanted::new(&keys, vec!["a".to_owned(), "b".to_owned()]);
        let held = std::collections::HashSet::new();
        let (mut next, mut counts) = (1, Counts::default());
        let file = "{\"custom_id\":\"a\",\"response\":{\"status_code\":200},\"error\":null}\n{\"custom_id\": \"b\", \"resp";
        let e = copy_results(
            file.as_bytes(),
            &mut Vec::new(),
            &mut wanted,
            &held,
            &mut next,
            &mut counts,
        )
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        // Whole JSON that is not a result, without a newline: not a result, not a cut.
        let mut counts = Counts::default();
        copy_results(
            &b"\"string\""[..],
            &mut Vec::new(),
            &mut Wanted::new(&keys, vec!["a".to_owned()]),
            &held,
            &mut next,
            &mut counts,
        )
        .unwrap();
        assert_eq!(counts.unreadable, 1);
        // A last line without its newline that is whole is a result.
        let mut wanted = Wanted::new(&keys, vec!["a".to_owned()]);
        let mut counts = Counts::default();
        let whole = "{\"custom_id\":\"a\",\"response\":{\"status_code\":200},\"error\":null}";
        copy_results(
            whole.as_bytes(),
            &mut Vec::new(),
            &mut wanted,
            &held,
            &mut next,
            &mut counts,
        )
        .unwrap();
        assert_eq!(counts.ok, 1);
    }

    #[test]
    fn junk_files_leave_every_line_lost() {
        let (lines, counts) = run(
            &["{\"object\":\"file\"}\n[1,2]\n\"text\"\n", ""],
            &["a", "b"],
        );
        assert_eq!(lines.len(), 2);
        assert_eq!((counts.lost, counts.unreadable), (2, 3));
    }
}
