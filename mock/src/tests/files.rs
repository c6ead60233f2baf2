//! Tests of the Files and Batch APIs of the mock server.

use serde_json::{Value, json};

use super::{Client, get, post};
use crate::{MockServer, lock};

/// Stores a file as an upload would (the upload itself is tested over multipart), returning
/// its id.
fn add_file(server: &MockServer, filename: &str, purpose: &str, data: &[u8]) -> String {
    server.add_file(filename, purpose, data.to_vec()).unwrap()
}

fn delete(server: &MockServer, path: &str) -> super::Response {
    Client::connect(server).request("DELETE", path, &[], b"")
}

/// The JSON lines of a stored file.
fn lines(server: &MockServer, id: &str) -> Vec<Value> {
    let r = get(server, &format!("/v1/files/{id}/content"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect()
}

#[test]
fn a_file_is_described_downloaded_and_deleted() {
    let server = MockServer::start().unwrap();
    let id = add_file(&server, "a.jsonl", "batch", b"{\"x\":1}\n\x00\xff");
    let file = get(&server, &format!("/v1/files/{id}")).json();
    assert_eq!(file["object"], "file");
    assert_eq!(file["bytes"], 10);
    assert_eq!(file["filename"], "a.jsonl");
    assert_eq!(file["purpose"], "batch");
    let content = get(&server, &format!("/v1/files/{id}/content"));
    assert_eq!(content.body, b"{\"x\":1}\n\x00\xff");
    assert_eq!(
        content.header("content-type"),
        Some("application/octet-stream")
    );
    let gone = delete(&server, &format!("/v1/files/{id}"));
    assert_eq!(
        gone.json(),
        json!({"id": id, "object": "file", "deleted": true})
    );
    for r in [
        get(&server, &format!("/v1/files/{id}")),
        get(&server, &format!("/v1/files/{id}/content")),
        delete(&server, &format!("/v1/files/{id}")),
    ] {
        assert_eq!(r.status, 404);
        let error = &r.json()["error"];
        assert_eq!(error["message"], format!("No such File object: {id}"));
        assert_eq!(error["type"], "invalid_request_error");
    }
    assert_eq!(lock(&server.shared.files).get(&id).map(|_| ()), None);
    assert_eq!(
        delete(&server, "/v1/files").status,
        405,
        "the list has no DELETE"
    );
    assert_eq!(get(&server, &format!("/v1/files/{id}/other")).status, 404);
}

#[test]
fn file_lists_filter_order_and_page() {
    let server = MockServer::start().unwrap();
    let batch: Vec<String> = (0..3)
        .map(|i| add_file(&server, &format!("b{i}"), "batch", b"{}"))
        .collect();
    add_file(&server, "u", "user_data", b"x");
    let all = get(&server, "/v1/files").json();
    assert_eq!(all["data"].as_array().unwrap().len(), 4);
    assert_eq!(all["has_more"], false);

    // Newest first by default, two at a time.
    let first = get(&server, "/v1/files?purpose=batch&limit=2").json();
    assert_eq!(ids(&first), [&batch[2], &batch[1]]);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["first_id"], batch[2].as_str());
    assert_eq!(first["last_id"], batch[1].as_str());
    let after = first["last_id"].as_str().unwrap();
    let second = get(
        &server,
        &format!("/v1/files?purpose=batch&limit=2&after={after}"),
    )
    .json();
    assert_eq!(ids(&second), [&batch[0]]);
    assert_eq!(second["has_more"], false);

    let oldest = get(&server, "/v1/files?order=asc&purpose=batch").json();
    assert_eq!(ids(&oldest), [&batch[0], &batch[1], &batch[2]]);
    // Percent-encoded parameters are decoded.
    let encoded = get(&server, "/v1/files?purpose=user%5Fdata").json();
    assert_eq!(encoded["data"][0]["filename"], "u");
    let unknown_after = get(&server, "/v1/files?after=file-nope").json();
    assert_eq!(ids(&unknown_after), Vec::<&str>::new());
    assert_eq!(unknown_after["first_id"], Value::Null);

    for bad in ["limit=0", "limit=10001", "limit=x", "order=up"] {
        let r = get(&server, &format!("/v1/files?{bad}"));
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.json()["error"]["param"].is_string(), "{bad}");
    }
}

/// A batch of five requests for `/v1/chat/completions`: one that works, and one of each
/// failure.
const MIXED: &str = concat!(
    r#"{"custom_id":"ok","method":"POST","url":"/v1/chat/completions","body":{"model":"mock-model","messages":[{"role":"user","content":"hi there"}]}}"#,
    "\n\r\n",
    "{not json\n",
    r#"{"custom_id":"other-url","method":"POST","url":"/v1/embeddings","body":{"model":"mock-model","input":"x"}}"#,
    "\n",
    r#"{"custom_id":"no-model","method":"POST","url":"/v1/chat/completions","body":{"model":"nope","messages":[{"role":"user","content":"x"}]}}"#,
    "\r\n",
    r#"{"custom_id":"ok","method":"POST","url":"/v1/chat/completions","body":{"model":"mock-model","messages":[]}}"#,
);

fn create_batch(server: &MockServer, input: &str) -> super::Response {
    post(
        server,
        "/v1/batches",
        &json!({"input_file_id": input, "endpoint": "/v1/chat/completions",
                "completion_window": "24h", "metadata": {"k": "v"}}),
    )
}

#[test]
fn a_batch_runs_every_line_with_the_built_in_answers() {
    let server = MockServer::start().unwrap();
    let input = add_file(&server, "in.jsonl", "batch", MIXED.as_bytes());
    let r = create_batch(&server, &input);
    assert_eq!(r.status, 200, "{}", r.text());
    let batch = r.json();
    assert_eq!(batch["object"], "batch");
    assert_eq!(batch["status"], "completed");
    assert_eq!(batch["input_file_id"], input.as_str());
    assert_eq!(batch["metadata"], json!({"k": "v"}));
    assert_eq!(
        batch["request_counts"],
        json!({"total": 5, "completed": 1, "failed": 4})
    );
    assert!(batch["completed_at"].is_u64());

    let out = lines(&server, batch["output_file_id"].as_str().unwrap());
    assert_eq!(out.len(), 1);
    let line = &out[0];
    assert!(line["id"].as_str().unwrap().starts_with("batch_req_"));
    assert_eq!(line["custom_id"], "ok");
    assert_eq!(line["error"], Value::Null);
    assert_eq!(line["response"]["status_code"], 200);
    assert!(
        line["response"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("mock-req-")
    );
    let body = &line["response"]["body"];
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Mock reply to: hi there"
    );

    let errors = lines(&server, batch["error_file_id"].as_str().unwrap());
    let summary: Vec<(Value, Value, Value)> = errors
        .iter()
        .map(|e| {
            (
                e["custom_id"].clone(),
                e["error"]["code"].clone(),
                e["response"]["status_code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Value::Null, json!("invalid_json_line"), Value::Null),
            (json!("other-url"), json!("invalid_url"), Value::Null),
            (json!("no-model"), Value::Null, json!(404)),
            (json!("ok"), json!("duplicate_custom_id"), Value::Null),
        ]
    );
    // An answer that is an error keeps its body, as OpenAI writes it.
    assert_eq!(errors[2]["error"], Value::Null);
    assert_eq!(
        errors[2]["response"]["body"]["error"]["message"],
        "The model `nope` does not exist."
    );
    let out_file = get(
        &server,
        &format!("/v1/files/{}", batch["output_file_id"].as_str().unwrap()),
    )
    .json();
    assert_eq!(out_file["purpose"], "batch_output");
    // The lines are not requests of the server's own.
    assert_eq!(server.request_count(), 4);
}

#[test]
fn a_batch_checks_its_request_and_input() {
    let server = MockServer::start().unwrap();
    let input = add_file(&server, "in.jsonl", "batch", MIXED.as_bytes());
    let other = add_file(&server, "u.txt", "user_data", b"x");
    let empty = add_file(&server, "e.jsonl", "batch", b"\n \n");
    let cases = [
        (
            json!({"input_file_id": "file-x", "endpoint": "/v1/chat/completions", "completion_window": "24h"}),
            404,
            "input_file_id",
        ),
        (
            json!({"input_file_id": other, "endpoint": "/v1/chat/completions", "completion_window": "24h"}),
            400,
            "input_file_id",
        ),
        (
            json!({"input_file_id": input, "endpoint": "/v1/nope", "completion_window": "24h"}),
            400,
            "endpoint",
        ),
        (
            json!({"input_file_id": input, "endpoint": "/v1/embeddings", "completion_window": "1h"}),
            400,
            "completion_window",
        ),
        (
            json!({"endpoint": "/v1/embeddings", "completion_window": "24h"}),
            400,
            "input_file_id",
        ),
        (
            json!({"input_file_id": input, "endpoint": "/v1/embeddings", "completion_window": "24h", "metadata": {"n": 1}}),
            400,
            "metadata",
        ),
    ];
    for (body, status, param) in cases {
        let r = post(&server, "/v1/batches", &body);
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert_eq!(r.json()["error"]["param"], param, "{body}");
    }
    let failed = create_batch(&server, &empty).json();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["errors"]["data"][0]["code"], "empty_file");
    assert_eq!(failed["output_file_id"], Value::Null);
    assert!(failed["failed_at"].is_u64());
}

#[test]
fn a_batch_can_look_in_progress_for_some_polls_and_be_cancelled_then() {
    let server = MockServer::start().unwrap();
    let input = add_file(&server, "in.jsonl", "batch", MIXED.as_bytes());
    server.set_batch_polls(2);
    let created = create_batch(&server, &input).json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["status"], "in_progress");
    assert_eq!(created["output_file_id"], Value::Null);
    assert_eq!(created["request_counts"]["completed"], 0);
    // A list does not count as a poll.
    let listed = get(&server, "/v1/batches").json();
    assert_eq!(listed["data"][0]["status"], "in_progress");
    let path = format!("/v1/batches/{id}");
    let statuses: Vec<Value> = (0..3)
        .map(|_| get(&server, &path).json()["status"].clone())
        .collect();
    assert_eq!(statuses, ["in_progress", "in_progress", "completed"]);
    assert!(get(&server, &path).json()["output_file_id"].is_string());
    let late = post(&server, &format!("{path}/cancel"), &json!(null));
    assert_eq!(late.status, 400);
    assert_eq!(
        late.json()["error"]["message"],
        "Cannot cancel a batch with status 'completed'."
    );

    server.set_batch_polls(1);
    let id = create_batch(&server, &input).json()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancelling = post(&server, &format!("/v1/batches/{id}/cancel"), &json!(null)).json();
    assert_eq!(cancelling["status"], "cancelling");
    assert!(cancelling["cancelling_at"].is_u64());
    let cancelled = get(&server, &format!("/v1/batches/{id}")).json();
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["cancelled_at"].is_u64());
    assert_eq!(cancelled["completed_at"], Value::Null);
}

#[test]
fn batch_lists_page_newest_first_and_unknown_ids_are_404() {
    let server = MockServer::start().unwrap();
    let input = add_file(&server, "in.jsonl", "batch", MIXED.as_bytes());
    let made: Vec<String> = (0..3)
        .map(|_| {
            create_batch(&server, &input).json()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let first = get(&server, "/v1/batches?limit=2").json();
    assert_eq!(ids(&first), [&made[2], &made[1]]);
    assert_eq!(first["has_more"], true);
    let next = get(&server, &format!("/v1/batches?limit=2&after={}", made[1])).json();
    assert_eq!(ids(&next), [&made[0]]);
    assert_eq!(next["has_more"], false);
    assert_eq!(get(&server, "/v1/batches?limit=101").status, 400);
    for r in [
        get(&server, "/v1/batches/batch_nope"),
        post(&server, "/v1/batches/batch_nope/cancel", &json!(null)),
    ] {
        assert_eq!(r.status, 404);
        assert_eq!(
            r.json()["error"]["message"],
            "No batch found with id 'batch_nope'."
        );
    }
    assert_eq!(delete(&server, "/v1/batches").status, 405);
    assert_eq!(
        get(&server, &format!("/v1/batches/{}/cancel", made[0])).status,
        405
    );
}

#[test]
fn batch_lines_are_sent_with_the_batchs_key() {
    let server = MockServer::start().unwrap();
    server.set_api_key(Some("sk-mock"));
    let input = add_file(&server, "in.jsonl", "batch", MIXED.as_bytes());
    let body = json!({"input_file_id": input, "endpoint": "/v1/chat/completions",
                      "completion_window": "24h"});
    let denied = post(&server, "/v1/batches", &body);
    assert_eq!(denied.status, 401);
    let r = Client::connect(&server).request(
        "POST",
        "/v1/batches",
        &[("authorization", "Bearer sk-mock")],
        body.to_string().as_bytes(),
    );
    assert_eq!(r.json()["request_counts"]["completed"], 1);
}

/// A multipart body of `parts` (name, filename, bytes) behind boundary `XyZ`.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, data) in parts {
        body.extend_from_slice(b"--XyZ\r\n");
        let disposition = match filename {
            Some(f) => {
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
            }
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    body
}

fn upload(server: &MockServer, body: &[u8]) -> super::Response {
    Client::connect(server).request(
        "POST",
        "/v1/files",
        &[("content-type", "multipart/form-data; boundary=XyZ")],
        body,
    )
}

#[test]
fn an_upload_stores_the_file_part_with_its_purpose_and_name() {
    let server = MockServer::start().unwrap();
    let data: &[u8] = b"line one\r\n--Xy is not the boundary\x00\xff";
    let r = upload(
        &server,
        &multipart(&[
            ("purpose", None, b"batch"),
            ("file", Some("in%22put.jsonl"), data),
        ]),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let file = r.json();
    assert_eq!(file["object"], "file");
    assert_eq!(file["purpose"], "batch");
    assert_eq!(file["filename"], "in%22put.jsonl");
    assert_eq!(file["bytes"], data.len());
    let id = file["id"].as_str().unwrap();
    assert_eq!(get(&server, &format!("/v1/files/{id}/content")).body, data);

    let cases: [(&[u8], &str); 4] = [
        (&multipart(&[("file", Some("a"), b"x")]), "purpose"),
        (&multipart(&[("purpose", None, b"batch")]), "file"),
        (
            &multipart(&[("purpose", None, b"homework"), ("file", Some("a"), b"x")]),
            "purpose",
        ),
        (b"not multipart", "null"),
    ];
    for (body, param) in cases {
        let r = upload(&server, body);
        assert_eq!(r.status, 400, "{param}: {}", r.text());
        assert_eq!(
            r.json()["error"]["param"].to_string().trim_matches('"'),
            param
        );
    }
    let json = post(&server, "/v1/files", &json!({"purpose": "batch"}));
    assert_eq!(json.status, 400);
}
