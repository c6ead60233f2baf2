//! The built-in answers of the Batch API (`/v1/batches`), as OpenAI gives them. A batch runs
//! at once when it is created: each line of its input file is answered by the mock's own
//! built-in answer for its `url`, and the answers are written to an output file (and the
//! failures to an error file) in OpenAI's line format. [`MockServer::set_batch_polls`]
//! makes a batch look `in_progress` for some retrieves first, for polling code.
//!
//! [`MockServer::set_batch_polls`]: super::MockServer::set_batch_polls

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::files::{id_and_tail, invalid_request, json_object, limit, method_not_allowed, page};
use super::request::route_path;
use super::{RecordedRequest, Reply, Shared, lock, now};

/// A handler of a request under `/v1/batches` (the same type as the other built-in handlers).
type BatchHandler = fn(&Shared, &RecordedRequest) -> Result<Reply, Reply>;
/// How a line is answered: the server's built-in answer to a request.
pub(super) type Answer = fn(&Shared, &RecordedRequest) -> Reply;

/// The endpoints a batch may call.
const ENDPOINTS: [&str; 4] = [
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/responses",
];
/// At most this many requests per batch (OpenAI's limit); a bigger batch fails.
const MAX_REQUESTS: usize = 50_000;
/// At most this many batches are kept; a creation beyond gets `400`.
const MAX_BATCHES: usize = 10_000;
/// The largest `limit` of a batch list.
const MAX_LIST: usize = 100;
/// The default `limit` of a batch list.
const DEFAULT_LIST: usize = 20;
/// The completion window, in seconds.
const WINDOW_SECS: u64 = 24 * 3600;

/// One batch: its final object, and how many retrieves still show it in progress.
struct StoredBatch {
    id: String,
    done: Map<String, Value>,
    polls_left: u32,
}

impl StoredBatch {
    /// The batch as a client sees it now: in progress (no output yet) while `polls_left`.
    fn view(&self) -> Value {
        let mut view = self.done.clone();
        if self.polls_left > 0 {
            for key in [
                "output_file_id",
                "error_file_id",
                "finalizing_at",
                "completed_at",
            ] {
                view.insert(key.to_owned(), Value::Null);
            }
            view.insert("status".to_owned(), json!("in_progress"));
            if let Some(counts) = view.get_mut("request_counts") {
                counts["completed"] = json!(0);
                counts["failed"] = json!(0);
            }
        }
        Value::Object(view)
    }

    fn status(&self) -> &str {
        self.done
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// The batches of one server, oldest first, and the polls knob.
#[derive(Default)]
pub(super) struct Store {
    batches: Vec<StoredBatch>,
    /// The number of the last batch id given.
    last_id: u64,
    /// The number of the last request id given (`batch_req_...`).
    last_request: u64,
    /// How many retrieves show a new batch in progress.
    pub(super) polls: u32,
}

impl Store {
    fn get_mut(&mut self, id: &str) -> Result<&mut StoredBatch, Reply> {
        self.batches.iter_mut().find(|b| b.id == id).ok_or_else(|| {
            invalid_request(
                404,
                &format!("No batch found with id '{id}'."),
                Some("batch_id"),
            )
        })
    }
}

/// The handler of a request under `/v1/batches` other than a creation (which needs the
/// server's answers: [`create`]), or the 404/405 answer; `None` for any other path.
pub(super) fn route(req: &RecordedRequest) -> Option<Result<BatchHandler, Reply>> {
    let path = route_path(&req.path);
    let method = req.method.as_str();
    if path == "/v1/batches" {
        return Some(match method {
            "GET" => Ok(list),
            _ => Err(method_not_allowed("GET, POST")),
        });
    }
    let (_, tail) = id_and_tail(path, "/v1/batches/")?;
    Some(match (tail, method) {
        (None, "GET") => Ok(retrieve),
        (None, _) => Err(method_not_allowed("GET")),
        (Some("cancel"), "POST") => Ok(cancel),
        (Some("cancel"), _) => Err(method_not_allowed("POST")),
        (Some(_), _) => Err(Reply::json(404, r#"{"detail":"Not Found"}"#)),
    })
}

/// The id of a request to `/v1/batches/{id}...`.
fn batch_id(req: &RecordedRequest) -> String {
    id_and_tail(route_path(&req.path), "/v1/batches/").map_or_else(String::new, |(id, _)| id)
}

/// A required string parameter of a creation.
fn required<'a>(body: &'a Map<String, Value>, name: &str) -> Result<&'a str, Reply> {
    match body.get(name) {
        Some(Value::String(s)) => Ok(s),
        None | Some(Value::Null) => Err(invalid_request(
            400,
            &format!("Missing required parameter: '{name}'."),
            Some(name),
        )),
        Some(other) => Err(invalid_request(
            400,
            &format!("Invalid type for '{name}': expected a string, but got {other}."),
            Some(name),
        )),
    }
}

/// `POST /v1/batches`: checks the request and the input file, runs every line with `answer`
/// and stores the batch, completed (or in progress, see [`Store::polls`]).
pub(super) fn create(
    shared: &Shared,
    req: &RecordedRequest,
    answer: Answer,
) -> Result<Reply, Reply> {
    let body = json_object(req)?;
    let input_file_id = required(&body, "input_file_id")?;
    let endpoint = required(&body, "endpoint")?;
    if !ENDPOINTS.contains(&endpoint) {
        return Err(invalid_request(
            400,
            &format!(
                "Invalid value for 'endpoint': '{endpoint}' is not one of {}.",
                ENDPOINTS.join(", ")
            ),
            Some("endpoint"),
        ));
    }
    let window = required(&body, "completion_window")?;
    if window != "24h" {
        return Err(invalid_request(
            400,
            &format!("Invalid value for 'completion_window': '{window}'; only '24h' is supported."),
            Some("completion_window"),
        ));
    }
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Object(m)) if m.values().all(Value::is_string) => Value::Object(m.clone()),
        Some(_) => {
            return Err(invalid_request(
                400,
                "Invalid 'metadata': expected an object of strings.",
                Some("metadata"),
            ));
        }
    };
    let input = {
        let files = lock(&shared.files);
        let file = files.get(input_file_id).ok_or_else(|| {
            invalid_request(
                404,
                &format!("No such File object: {input_file_id}"),
                Some("input_file_id"),
            )
        })?;
        if file.purpose != "batch" {
            return Err(invalid_request(
                400,
                &format!(
                    "The input file {input_file_id} has purpose '{}'; a batch needs 'batch'.",
                    file.purpose
                ),
                Some("input_file_id"),
            ));
        }
        file.data.clone()
    };
    if lock(&shared.batches).batches.len() >= MAX_BATCHES {
        return Err(invalid_request(
            400,
            &format!("The mock server keeps at most {MAX_BATCHES} batches."),
            None,
        ));
    }

    let created = now();
    let id = {
        let mut store = lock(&shared.batches);
        store.last_id += 1;
        format!("batch_mock_{}", store.last_id)
    };
    let mut batch = Map::new();
    for (key, value) in [
        ("id", json!(id)),
        ("object", json!("batch")),
        ("endpoint", json!(endpoint)),
        ("errors", Value::Null),
        ("input_file_id", json!(input_file_id)),
        ("completion_window", json!(window)),
        ("status", json!("completed")),
        ("output_file_id", Value::Null),
        ("error_file_id", Value::Null),
        ("created_at", json!(created)),
        ("in_progress_at", json!(created)),
        ("expires_at", json!(created + WINDOW_SECS)),
        ("finalizing_at", json!(created)),
        ("completed_at", json!(created)),
        ("failed_at", Value::Null),
        ("expired_at", Value::Null),
        ("cancelling_at", Value::Null),
        ("cancelled_at", Value::Null),
        (
            "request_counts",
            json!({"total": 0, "completed": 0, "failed": 0}),
        ),
        ("metadata", metadata),
    ] {
        batch.insert(key.to_owned(), value);
    }

    let lines: Vec<&[u8]> = input
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
        .collect();
    let problem = if lines.is_empty() {
        Some(("empty_file", "The input file has no requests.".to_owned()))
    } else if lines.len() > MAX_REQUESTS {
        Some((
            "too_many_requests",
            format!(
                "The input file has {} requests; a batch takes at most {MAX_REQUESTS}.",
                lines.len()
            ),
        ))
    } else {
        None
    };
    if let Some((code, message)) = problem {
        for key in ["in_progress_at", "finalizing_at", "completed_at"] {
            batch.insert(key.to_owned(), Value::Null);
        }
        batch.insert("status".to_owned(), json!("failed"));
        batch.insert("failed_at".to_owned(), json!(created));
        batch.insert(
            "errors".to_owned(),
            json!({"object": "list", "data": [
                {"code": code, "message": message, "param": null, "line": null}
            ]}),
        );
        return Ok(store(shared, id, batch, 0));
    }

    let run = Run {
        shared,
        endpoint,
        authorization: req.header("authorization"),
        answer,
    };
    let mut outputs = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for line in &lines {
        let request_id = {
            let mut store = lock(&shared.batches);
            store.last_request += 1;
            format!("batch_req_mock_{}", store.last_request)
        };
        match run.line(line, &mut seen) {
            Ok((custom_id, response)) => outputs.push(json!({
                "id": request_id, "custom_id": custom_id, "response": response, "error": null,
            })),
            Err(LineError::Http(custom_id, response)) => errors.push(json!({
                "id": request_id, "custom_id": custom_id, "response": response, "error": null,
            })),
            Err(LineError::Invalid(custom_id, code, message)) => errors.push(json!({
                "id": request_id, "custom_id": custom_id, "response": null,
                "error": {"code": code, "message": message},
            })),
        }
    }
    batch.insert(
        "request_counts".to_owned(),
        json!({"total": lines.len(), "completed": outputs.len(), "failed": errors.len()}),
    );
    for (key, kind, results) in [
        ("output_file_id", "output", outputs),
        ("error_file_id", "error", errors),
    ] {
        if results.is_empty() {
            continue;
        }
        let mut data = Vec::new();
        for result in results {
            data.extend_from_slice(result.to_string().as_bytes());
            data.push(b'\n');
        }
        let file = lock(&shared.files).add(&format!("{id}_{kind}.jsonl"), "batch_output", data)?;
        batch.insert(key.to_owned(), file["id"].clone());
    }
    let polls = lock(&shared.batches).polls;
    Ok(store(shared, id, batch, polls))
}

/// Stores a batch and returns the answer to its creation.
fn store(shared: &Shared, id: String, done: Map<String, Value>, polls_left: u32) -> Reply {
    let batch = StoredBatch {
        id,
        done,
        polls_left,
    };
    let view = batch.view();
    lock(&shared.batches).batches.push(batch);
    Reply::json(200, view.to_string())
}

/// Why a line has no output: an answer that is not a success (`custom_id`, the `response`),
/// or a line that could not be sent (`custom_id`, a code and a message).
enum LineError {
    Http(Value, Value),
    Invalid(Value, &'static str, String),
}

/// What each line of a batch is run with.
struct Run<'a> {
    shared: &'a Shared,
    endpoint: &'a str,
    authorization: Option<&'a str>,
    answer: Answer,
}

impl Run<'_> {
    /// Runs one line: its `custom_id` and the `response` object of a success.
    fn line(&self, line: &[u8], seen: &mut HashSet<String>) -> Result<(Value, Value), LineError> {
        let invalid = |custom_id: &Value, code, message: &str| {
            LineError::Invalid(custom_id.clone(), code, message.to_owned())
        };
        let Ok(Value::Object(request)) = serde_json::from_slice::<Value>(line) else {
            return Err(invalid(
                &Value::Null,
                "invalid_json_line",
                "This line is not parseable as valid JSON.",
            ));
        };
        let custom_id = request.get("custom_id").cloned().unwrap_or(Value::Null);
        let Some(id) = custom_id.as_str() else {
            return Err(invalid(
                &custom_id,
                "missing_required_parameter",
                "The line has no 'custom_id' string.",
            ));
        };
        if !seen.insert(id.to_owned()) {
            return Err(invalid(
                &custom_id,
                "duplicate_custom_id",
                &format!("The custom_id '{id}' is used by an earlier line."),
            ));
        }
        if request.get("method").and_then(Value::as_str) != Some("POST") {
            return Err(invalid(
                &custom_id,
                "invalid_method",
                "The line's 'method' must be 'POST'.",
            ));
        }
        let url = request
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if url != self.endpoint {
            return Err(invalid(
                &custom_id,
                "invalid_url",
                &format!(
                    "The line's 'url' '{url}' is not the batch's endpoint '{}'.",
                    self.endpoint
                ),
            ));
        }
        let Some(Value::Object(body)) = request.get("body") else {
            return Err(invalid(
                &custom_id,
                "invalid_body",
                "The line's 'body' must be a JSON object.",
            ));
        };
        if body.get("stream").and_then(Value::as_bool) == Some(true) {
            return Err(invalid(
                &custom_id,
                "invalid_body",
                "Streaming ('stream': true) is not supported in a batch.",
            ));
        }
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if let Some(auth) = self.authorization {
            headers.push(("authorization".to_owned(), auth.to_owned()));
        }
        let sent = RecordedRequest {
            method: "POST".to_owned(),
            path: url.to_owned(),
            headers,
            body: Value::Object(body.clone()).to_string().into_bytes(),
        };
        let reply = (self.answer)(self.shared, &sent);
        let bytes = reply.body_bytes();
        let body = serde_json::from_slice::<Value>(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        let response = json!({
            "status_code": reply.status,
            "request_id": reply.header_value("x-request-id").unwrap_or_default(),
            "body": body,
        });
        if (200..300).contains(&reply.status) {
            Ok((custom_id, response))
        } else {
            Err(LineError::Http(custom_id, response))
        }
    }
}

/// `GET /v1/batches?after=..&limit=..`, newest first.
fn list(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let limit = limit(req, MAX_LIST, DEFAULT_LIST)?;
    let items: Vec<(String, Value)> = lock(&shared.batches)
        .batches
        .iter()
        .rev()
        .map(|b| (b.id.clone(), b.view()))
        .collect();
    let body = page(items, req.query("after").as_deref(), limit);
    Ok(Reply::json(200, body.to_string()))
}

/// `GET /v1/batches/{id}`: one poll.
fn retrieve(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let id = batch_id(req);
    let mut store = lock(&shared.batches);
    let batch = store.get_mut(&id)?;
    let view = batch.view();
    batch.polls_left = batch.polls_left.saturating_sub(1);
    Ok(Reply::json(200, view.to_string()))
}

/// `POST /v1/batches/{id}/cancel`: a batch still in progress becomes `cancelling` (and
/// `cancelled` on the next retrieve); one that has ended gets `400`.
fn cancel(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let id = batch_id(req);
    let mut store = lock(&shared.batches);
    let batch = store.get_mut(&id)?;
    if batch.polls_left == 0 {
        return Err(invalid_request(
            400,
            &format!("Cannot cancel a batch with status '{}'.", batch.status()),
            None,
        ));
    }
    let at = now();
    batch.polls_left = 0;
    batch.done.insert("status".to_owned(), json!("cancelled"));
    batch.done.insert("completed_at".to_owned(), Value::Null);
    batch.done.insert("cancelling_at".to_owned(), json!(at));
    batch.done.insert("cancelled_at".to_owned(), json!(at));
    let mut view = batch.done.clone();
    view.insert("status".to_owned(), json!("cancelling"));
    view.insert("cancelled_at".to_owned(), Value::Null);
    Ok(Reply::json(200, Value::Object(view).to_string()))
}
