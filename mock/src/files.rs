//! The built-in answers of the Files API (`/v1/files`), as OpenAI gives them: uploaded files
//! are kept in the server's memory (batch output files too) until deleted or the server
//! stops.

use serde_json::{Map, Value, json};

use super::request::{percent_decode, route_path};
use super::{RecordedRequest, Reply, Shared, lock, now};

/// A handler of a request under `/v1/files` (the same type as the other built-in handlers).
type FileHandler = fn(&Shared, &RecordedRequest) -> Result<Reply, Reply>;

/// At most this many files are kept at once; an upload beyond gets `400`.
const MAX_FILES: usize = 10_000;
/// At most this many bytes are kept at once, all files together; an upload beyond gets `400`.
const MAX_STORED_BYTES: usize = 1 << 30;
/// The purposes an upload may have (OpenAI's; `batch_output` is the server's own).
const PURPOSES: [&str; 6] = [
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];
/// The largest `limit` of a file list, and its default (OpenAI's).
const MAX_LIST: usize = 10_000;

/// One stored file.
pub(super) struct StoredFile {
    pub(super) id: String,
    pub(super) filename: String,
    pub(super) purpose: String,
    pub(super) created_at: u64,
    pub(super) data: Vec<u8>,
}

impl StoredFile {
    /// The file object OpenAI answers with.
    fn object(&self) -> Value {
        json!({
            "id": self.id,
            "object": "file",
            "bytes": self.data.len(),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": null,
            "status_details": null,
        })
    }
}

/// The files kept by one server, oldest first.
#[derive(Default)]
pub(super) struct Store {
    files: Vec<StoredFile>,
    /// The number of the last id given.
    last_id: u64,
    /// The bytes of all files together.
    bytes: usize,
}

impl Store {
    /// Keeps a new file and returns its object, or the `400` answer when the store is full.
    pub(super) fn add(
        &mut self,
        filename: &str,
        purpose: &str,
        data: Vec<u8>,
    ) -> Result<Value, Reply> {
        if self.files.len() >= MAX_FILES || self.bytes.saturating_add(data.len()) > MAX_STORED_BYTES
        {
            return Err(invalid_request(
                400,
                &format!(
                    "The mock server keeps at most {MAX_FILES} files and {MAX_STORED_BYTES} \
                     bytes; delete some first."
                ),
                Some("file"),
            ));
        }
        self.last_id += 1;
        self.bytes += data.len();
        let file = StoredFile {
            id: format!("file-mock-{}", self.last_id),
            filename: filename.to_owned(),
            purpose: purpose.to_owned(),
            created_at: now(),
            data,
        };
        let object = file.object();
        self.files.push(file);
        Ok(object)
    }

    /// The file with this id.
    pub(super) fn get(&self, id: &str) -> Option<&StoredFile> {
        self.files.iter().find(|f| f.id == id)
    }
}

/// An error in the shape OpenAI gives the Files and Batch APIs' bad requests:
/// `{"error":{"message":..,"type":"invalid_request_error","param":..,"code":null}}`.
pub(super) fn invalid_request(status: u16, message: &str, param: Option<&str>) -> Reply {
    let body = json!({"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": null,
    }});
    Reply::json(status, body.to_string())
}

/// The `404` of an unknown file id.
fn no_such_file(id: &str) -> Reply {
    invalid_request(404, &format!("No such File object: {id}"), Some("id"))
}

/// The answer of a method a route does not have.
pub(super) fn method_not_allowed(allow: &str) -> Reply {
    Reply::json(405, r#"{"detail":"Method Not Allowed"}"#).header("allow", allow)
}

/// The id and the rest of a path under `prefix` (`/v1/files/{id}/content` gives
/// `("file-1", Some("content"))`), the id percent-decoded; `None` for another path.
pub(super) fn id_and_tail<'a>(path: &'a str, prefix: &str) -> Option<(String, Option<&'a str>)> {
    let rest = path.strip_prefix(prefix)?;
    let (id, tail) = match rest.split_once('/') {
        Some((id, tail)) => (id, Some(tail)),
        None => (rest, None),
    };
    (!id.is_empty()).then(|| (percent_decode(id, false), tail))
}

/// The handler of a request under `/v1/files`, or the 404/405 answer; `None` for any other
/// path.
pub(super) fn route(req: &RecordedRequest) -> Option<Result<FileHandler, Reply>> {
    let path = route_path(&req.path);
    let method = req.method.as_str();
    if path == "/v1/files" {
        return Some(match method {
            "GET" => Ok(list),
            "POST" => Ok(upload),
            _ => Err(method_not_allowed("GET, POST")),
        });
    }
    let (_, tail) = id_and_tail(path, "/v1/files/")?;
    Some(match (tail, method) {
        (None, "GET") => Ok(retrieve),
        (None, "DELETE") => Ok(delete),
        (None, _) => Err(method_not_allowed("GET, DELETE")),
        (Some("content"), "GET") => Ok(content),
        (Some("content"), _) => Err(method_not_allowed("GET")),
        (Some(_), _) => Err(Reply::json(404, r#"{"detail":"Not Found"}"#)),
    })
}

/// The id of a request to `/v1/files/{id}...`.
fn file_id(req: &RecordedRequest) -> String {
    id_and_tail(route_path(&req.path), "/v1/files/").map_or_else(String::new, |(id, _)| id)
}

/// `POST /v1/files`: a multipart form with a `purpose` field and a `file` part.
fn upload(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let Some(parts) = req.form() else {
        return Err(invalid_request(
            400,
            "The request must be multipart/form-data with a 'purpose' field and a 'file' part.",
            None,
        ));
    };
    let purpose = parts
        .iter()
        .find(|p| p.name == "purpose" && p.filename.is_none())
        .map(|p| String::from_utf8_lossy(&p.data).into_owned());
    let Some(purpose) = purpose else {
        return Err(invalid_request(
            400,
            "Missing required parameter: 'purpose'.",
            Some("purpose"),
        ));
    };
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(invalid_request(
            400,
            &format!(
                "'{purpose}' is not one of {} - 'purpose'",
                PURPOSES.map(|p| format!("'{p}'")).join(", ")
            ),
            Some("purpose"),
        ));
    }
    let Some(file) = parts.into_iter().find(|p| p.name == "file") else {
        return Err(invalid_request(
            400,
            "Missing required parameter: 'file'.",
            Some("file"),
        ));
    };
    let filename = file.filename.unwrap_or_else(|| "upload".to_owned());
    let object = lock(&shared.files).add(&filename, &purpose, file.data)?;
    Ok(Reply::json(200, object.to_string()))
}

/// The `limit` query parameter, `1..=max` (default `max`).
pub(super) fn limit(req: &RecordedRequest, max: usize, default: usize) -> Result<usize, Reply> {
    let Some(text) = req.query("limit") else {
        return Ok(default);
    };
    match text.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(invalid_request(
            400,
            &format!("Invalid 'limit': expected an integer from 1 to {max}, got '{text}'."),
            Some("limit"),
        )),
    }
}

/// A page of a list in OpenAI's shape: the items after the one with id `after` (all when
/// `None`; none when it is not in the list), at most `limit`.
pub(super) fn page(items: Vec<(String, Value)>, after: Option<&str>, limit: usize) -> Value {
    let start = match after {
        None => 0,
        Some(after) => items
            .iter()
            .position(|(id, _)| id == after)
            .map_or(items.len(), |i| i + 1),
    };
    let end = start.saturating_add(limit).min(items.len());
    let has_more = end < items.len();
    let page = &items[start..end];
    let first_id = page.first().map(|(id, _)| id.clone());
    let last_id = page.last().map(|(id, _)| id.clone());
    let data: Vec<Value> = page.iter().map(|(_, object)| object.clone()).collect();
    json!({
        "object": "list",
        "data": data,
        "first_id": first_id,
        "last_id": last_id,
        "has_more": has_more,
    })
}

/// `GET /v1/files?purpose=..&limit=..&after=..&order=asc|desc` (newest first by default).
fn list(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let limit = limit(req, MAX_LIST, MAX_LIST)?;
    let newest_first = match req.query("order").as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => {
            return Err(invalid_request(
                400,
                &format!("Invalid 'order': expected 'asc' or 'desc', got '{other}'."),
                Some("order"),
            ));
        }
    };
    let purpose = req.query("purpose");
    let mut items: Vec<(String, Value)> = lock(&shared.files)
        .files
        .iter()
        .filter(|f| purpose.as_ref().is_none_or(|p| *p == f.purpose))
        .map(|f| (f.id.clone(), f.object()))
        .collect();
    if newest_first {
        items.reverse();
    }
    let body = page(items, req.query("after").as_deref(), limit);
    Ok(Reply::json(200, body.to_string()))
}

/// `GET /v1/files/{id}`.
fn retrieve(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let id = file_id(req);
    let store = lock(&shared.files);
    let file = store.get(&id).ok_or_else(|| no_such_file(&id))?;
    Ok(Reply::json(200, file.object().to_string()))
}

/// `GET /v1/files/{id}/content`: the bytes as uploaded.
fn content(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let id = file_id(req);
    let store = lock(&shared.files);
    let file = store.get(&id).ok_or_else(|| no_such_file(&id))?;
    Ok(Reply::text(
        200,
        "application/octet-stream",
        file.data.clone(),
    ))
}

/// `DELETE /v1/files/{id}`.
fn delete(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let id = file_id(req);
    let mut store = lock(&shared.files);
    let i = store
        .files
        .iter()
        .position(|f| f.id == id)
        .ok_or_else(|| no_such_file(&id))?;
    let file = store.files.remove(i);
    store.bytes -= file.data.len();
    let body = json!({"id": id, "object": "file", "deleted": true});
    Ok(Reply::json(200, body.to_string()))
}

/// The body of a request as a JSON object, or OpenAI's `400`.
pub(super) fn json_object(req: &RecordedRequest) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid_request(
            400,
            "The request body must be a JSON object.",
            None,
        )),
        Err(e) => Err(invalid_request(
            400,
            &format!("We could not parse the JSON body of your request: {e}"),
            None,
        )),
    }
}
