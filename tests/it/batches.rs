//! Batches against the mock, which runs a batch at once with its built-in answers. Both modes.

use crate::support;

use oai_compat::types::{BatchListParams, BatchRequest, BatchStatus, FilePurpose};
use oai_compat::{Error, Upload};
use oai_compat_mock::{MockServer, Reply};
use serde_json::{Value, json};
use support::{MODEL, client, server};

/// A JSONL input of chat requests, one per prompt.
fn chat_lines(prompts: &[&str]) -> Vec<u8> {
    let mut out = String::new();
    for (i, prompt) in prompts.iter().enumerate() {
        let line = json!({
            "custom_id": format!("req-{i}"),
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": MODEL, "messages": [{"role": "user", "content": prompt}]},
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out.into_bytes()
}

/// An input file of `prompts` stored in the mock.
fn input(srv: &MockServer, prompts: &[&str]) -> String {
    srv.add_file("in.jsonl", "batch", chat_lines(prompts))
        .unwrap()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn create_sends_the_request_and_decodes_the_completed_batch() {
    let srv = server();
    let file = input(&srv, &["one", "two"]);
    let req = BatchRequest::new(&file, "/v1/chat/completions").metadata("job", "nightly");
    let out = client(&srv).batches().create_with_meta(&req).await.unwrap();
    assert_eq!(out.meta.status, 200);
    let batch = out.value;
    assert!(batch.id.starts_with("batch_"), "{}", batch.id);
    assert_eq!(batch.object, "batch");
    assert_eq!(batch.status, BatchStatus::Completed);
    assert_eq!(batch.input_file_id.as_deref(), Some(file.as_str()));
    assert_eq!(batch.endpoint.as_deref(), Some("/v1/chat/completions"));
    let counts = batch.request_counts.unwrap();
    assert_eq!((counts.total, counts.completed, counts.failed), (2, 2, 0));
    assert!(batch.output_file_id.is_some());
    assert_eq!(batch.error_file_id, None);
    assert_eq!(batch.metadata.unwrap()["job"], "nightly");
    assert!(batch.completed_at.is_some() && batch.failed_at.is_none());

    let sent = &srv.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("POST", "/v1/batches")
    );
    assert_eq!(
        sent.json().unwrap(),
        json!({"input_file_id": file, "endpoint": "/v1/chat/completions",
               "completion_window": "24h", "metadata": {"job": "nightly"}})
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn polling_retrieve_sees_in_progress_then_completed() {
    let srv = server();
    srv.set_batch_polls(2);
    let c = client(&srv);
    let file = input(&srv, &["hello"]);
    let mut batch = c
        .batches()
        .create(BatchRequest::new(file, "/v1/chat/completions"))
        .await
        .unwrap();
    assert_eq!(batch.status, BatchStatus::InProgress);
    assert_eq!(batch.output_file_id, None);
    let mut seen = Vec::new();
    while !batch.status.is_terminal() {
        assert!(seen.len() < 10, "never ended: {seen:?}");
        batch = c.batches().retrieve(&batch.id).await.unwrap();
        seen.push(batch.status.clone());
    }
    assert_eq!(
        seen,
        [
            BatchStatus::InProgress,
            BatchStatus::InProgress,
            BatchStatus::Completed
        ]
    );
    assert!(batch.output_file_id.is_some());
    let path = format!("/v1/batches/{}", batch.id);
    assert!(
        srv.requests()[1..]
            .iter()
            .all(|r| r.method == "GET" && r.path == path)
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn cancel_posts_without_a_body_and_the_batch_ends_cancelled() {
    let srv = server();
    srv.set_batch_polls(1);
    let c = client(&srv);
    let file = input(&srv, &["hello"]);
    let batch = c
        .batches()
        .create(BatchRequest::new(file, "/v1/chat/completions"))
        .await
        .unwrap();
    let cancelling = c.batches().cancel(&batch.id).await.unwrap();
    assert_eq!(cancelling.status, BatchStatus::Cancelling);
    assert!(cancelling.cancelling_at.is_some());
    let sent = &srv.requests()[1];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, format!("/v1/batches/{}/cancel", batch.id));
    assert!(sent.body.is_empty());
    let done = c.batches().retrieve(&batch.id).await.unwrap();
    assert_eq!(done.status, BatchStatus::Cancelled);
    assert!(done.status.is_terminal());
    // A batch that has ended cannot be cancelled: a typed 400, not retried.
    let err = c.batches().cancel(&batch.id).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(err.retries_taken(), 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn list_pages_with_next_params_or_pages_newest_first() {
    let srv = server();
    let c = client(&srv);
    let file = input(&srv, &["x"]);
    let mut made = Vec::new();
    for _ in 0..3 {
        let req = BatchRequest::new(&file, "/v1/chat/completions");
        made.push(c.batches().create(&req).await.unwrap().id);
    }
    let mut params = BatchListParams::new().limit(2);
    let mut pages = Vec::new();
    loop {
        let page = c.batches().list(&params).await.unwrap();
        pages.push(page.data.iter().map(|b| b.id.clone()).collect::<Vec<_>>());
        match page.next_params(&params) {
            Some(next) => params = next,
            None => break,
        }
    }
    made.reverse();
    assert_eq!(pages, [made[..2].to_vec(), made[2..].to_vec()]);
    let paths: Vec<String> = srv.requests()[3..].iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/batches?limit=2".to_owned(),
            format!("/v1/batches?after={}&limit=2", made[1]),
        ]
    );
    // `pages` walks the same pages.
    let mut pages = c.batches().pages(BatchListParams::new().limit(2));
    let mut seen = Vec::new();
    while let Some(page) = pages.try_next().await.unwrap() {
        seen.extend(page.data.into_iter().map(|b| b.id));
    }
    assert_eq!(seen, made);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn unknown_ids_are_typed_404s_and_ids_are_one_segment() {
    let srv = server();
    let c = client(&srv);
    let err = c.batches().retrieve("batch_nope").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.message, "No batch found with id 'batch_nope'.");
    assert_eq!(api.error_type.as_deref(), Some("invalid_request_error"));
    let err = c.batches().retrieve("a/b?c").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(srv.requests()[1].path, "/v1/batches/a%2Fb%3Fc");
    for bad in ["", ".", ".."] {
        let err = c.batches().cancel(bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{bad:?}: {err:?}");
    }
    assert_eq!(srv.request_count(), 2);
    // A missing input file is the server's 404 too.
    let err = c
        .batches()
        .create(BatchRequest::new("file-nope", "/v1/embeddings"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_batch_with_unknown_fields_and_status_decodes() {
    let srv = server();
    srv.enqueue(Reply::json(
        200,
        json!({
            "id": "batch_x", "object": "batch", "status": "paused_for_review",
            "endpoint": "/v1/responses", "model": "gpt-5", "errors": null,
            "request_counts": {"total": 4, "completed": 1, "failed": null, "skipped": 3},
            "usage": {"input_tokens": 10}, "created_at": 1.7e9, "in_progress_at": null,
        })
        .to_string(),
    ));
    let b = client(&srv).batches().retrieve("batch_x").await.unwrap();
    assert_eq!(b.status, BatchStatus::Other("paused_for_review".into()));
    assert!(!b.status.is_terminal());
    assert_eq!(b.status.to_string(), "paused_for_review");
    assert_eq!(b.extra["model"], "gpt-5");
    assert_eq!(b.extra["usage"]["input_tokens"], 10);
    let counts = b.request_counts.unwrap();
    assert_eq!((counts.total, counts.completed, counts.failed), (4, 1, 0));
    assert_eq!(counts.extra["skipped"], 3);
    assert_eq!(b.created_at, Some(1_700_000_000));
    assert_eq!(
        (b.in_progress_at, b.errors, b.output_file_id),
        (None, None, None)
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_uploaded_input_runs_and_its_output_file_holds_every_answer() {
    let srv = server();
    let c = client(&srv);
    let mut lines = chat_lines(&["alpha beta", "gamma"]);
    lines.extend_from_slice(b"{not json\n");
    let upload = Upload::bytes("requests.jsonl", lines);
    let input = c.files().create(upload, FilePurpose::Batch).await.unwrap();
    let batch = c
        .batches()
        .create(BatchRequest::new(&input.id, "/v1/chat/completions"))
        .await
        .unwrap();
    assert_eq!(batch.status, BatchStatus::Completed);
    let counts = batch.request_counts.clone().unwrap();
    assert_eq!((counts.total, counts.completed, counts.failed), (3, 2, 1));

    let output = download(&c, batch.output_file_id.as_deref().unwrap()).await;
    let answers: Vec<Value> = output
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str)> = answers
        .iter()
        .map(|a| {
            assert_eq!(a["response"]["status_code"], 200);
            assert!(a["error"].is_null());
            (
                a["custom_id"].as_str().unwrap(),
                a["response"]["body"]["choices"][0]["message"]["content"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("req-0", "Mock reply to: alpha beta"),
            ("req-1", "Mock reply to: gamma")
        ]
    );
    let errors = download(&c, batch.error_file_id.as_deref().unwrap()).await;
    let error: Value = serde_json::from_str(errors.trim_end()).unwrap();
    assert_eq!(error["error"]["code"], "invalid_json_line");
    assert!(error["response"].is_null());
}

/// The content of file `id`, as text.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn download(c: &oai_compat::Client, id: &str) -> String {
    let mut bytes = Vec::new();
    let mut content = c.files().content(id).await.unwrap();
    content.write_to(&mut bytes).await.unwrap();
    String::from_utf8(bytes).unwrap()
}
