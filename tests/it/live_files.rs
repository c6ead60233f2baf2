//! Files and batches against Prism mocking OpenAI's official OpenAPI spec: it answers 422 to
//! a request that breaks the spec (a multipart form without `file`, a purpose or endpoint
//! out of its enums), so these prove our uploads and batch requests are what OpenAI accepts,
//! and that its answers decode. Prism answers every id and ignores the parameters' values
//! (its answers are the spec's placeholders: `"id":"string"`). Ignored unless run with
//! `--ignored` (see `scripts/servers.sh`); with Prism down they fail, never pass.

use crate::live;

use live::prism;
use oai_compat::types::{
    BatchListParams, BatchRequest, BatchStatus, FileListParams, FilePurpose, ListOrder,
};
use oai_compat::{Error, RequestOptions, Upload};

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn file_calls_conform_to_the_spec_and_decode() {
    let c = prism();
    let dir = std::env::temp_dir().join(format!("oai-live-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("requests.jsonl");
    std::fs::write(&path, b"{\"custom_id\":\"a\"}\n").unwrap();
    for purpose in [
        FilePurpose::Batch,
        FilePurpose::FineTune,
        FilePurpose::UserData,
    ] {
        let file = c
            .files()
            .create(Upload::path(&path), purpose)
            .await
            .unwrap();
        assert_eq!(file.object, "file");
        assert!(!file.id.is_empty());
        assert!(file.bytes.is_some() && file.created_at.is_some());
    }
    c.files()
        .create(
            Upload::bytes("odd \"name\"\r\né.jsonl", b"{}\n".to_vec()),
            FilePurpose::Evals,
        )
        .await
        .unwrap();

    let params = FileListParams::new()
        .purpose(FilePurpose::Batch)
        .limit(2)
        .order(ListOrder::Asc)
        .after("file-abc123");
    let list = c.files().list(&params).await.unwrap();
    assert_eq!(list.object, "list");
    assert!(!list.data.is_empty());
    assert!(list.has_more.is_some() && list.last_id.is_some());

    let file = c.files().retrieve("file-abc123").await.unwrap();
    assert_eq!(file.object, "file");
    let deleted = c.files().delete("file-abc123").await.unwrap();
    assert!(deleted.deleted);
    // The spec declares the content a JSON string: Prism sends the 8 bytes `"string"`.
    let mut content = c.files().content("file-abc123").await.unwrap();
    assert_eq!(content.meta().status, 200);
    let mut bytes = Vec::new();
    content.write_to(&mut bytes).await.unwrap();
    assert_eq!(bytes, b"\"string\"");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn an_upload_that_breaks_the_spec_is_rejected_with_422() {
    // The control: Prism checks the form (a purpose out of its enum), so the uploads above
    // mean something.
    let err = prism()
        .files()
        .create(
            Upload::bytes("a.jsonl", b"{}\n".to_vec()),
            FilePurpose::Other("homework".into()),
        )
        .await
        .unwrap_err();
    let oai_compat::Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 422, "{err}");
    assert!(api.body.contains("purpose"), "{}", api.body);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn batch_calls_conform_to_the_spec_and_decode() {
    let c = prism();
    for endpoint in ["/v1/chat/completions", "/v1/embeddings", "/v1/responses"] {
        let req = BatchRequest::new("file-abc123", endpoint).metadata("job", "live");
        let batch = c.batches().create(&req).await.unwrap();
        assert_eq!(batch.object, "batch");
        assert_eq!(batch.status, BatchStatus::Validating);
        assert!(batch.request_counts.is_some() && batch.errors.is_some());
        // OpenAI's fields this crate has no field for are kept.
        assert!(batch.extra.contains_key("usage"), "{:?}", batch.extra);
    }
    let batch = c.batches().retrieve("batch_abc123").await.unwrap();
    assert_eq!(batch.object, "batch");
    let cancelled = c.batches().cancel("batch_abc123").await.unwrap();
    assert_eq!(cancelled.object, "batch");
    let page = c
        .batches()
        .list(&BatchListParams::new().limit(5).after("batch_abc"))
        .await
        .unwrap();
    assert!(!page.data.is_empty());
    // Prism's page says more follow: the next page starts after its last id.
    assert_eq!(page.has_more, Some(true));
    let next = page.next_params(&BatchListParams::new()).unwrap();
    assert_eq!(next.after, page.last_id);
    // Prism answers that page again (the same `last_id`, more to follow, for ever): `pages`
    // hands out the first page, then a decode error instead of the second, never a loop.
    let mut pages = c.batches().pages(BatchListParams::new());
    let first = pages.try_next().await.unwrap();
    assert!(first.is_some_and(|p| !p.data.is_empty()));
    let err = pages.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(err.to_string().contains("names no new page"), "{err}");
    let ended = pages.try_next().await.unwrap();
    assert!(ended.is_none());
    // Its file list says no more follow: one page, then the end.
    let mut pages = c.files().pages(FileListParams::new());
    let mut n = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        assert!(!page.data.is_empty());
        n += 1;
    }
    assert_eq!(n, 1);

    // The control: a window out of the spec's enum is refused.
    let err = c
        .batches()
        .create(BatchRequest::new("file-abc123", "/v1/embeddings").completion_window("1h"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn random_answers_of_the_spec_decode() {
    // `Prefer: dynamic=true` makes Prism fill each answer at random from the schema (every
    // optional field or none, unknown keys, any enum value): the lenient types take them all.
    let c = prism().with_options(RequestOptions::new().header("prefer", "dynamic=true"));
    for _ in 0..10 {
        c.files().retrieve("file-abc123").await.unwrap();
        c.files().list(&FileListParams::new()).await.unwrap();
        c.files().delete("file-abc123").await.unwrap();
        c.batches().retrieve("batch_abc123").await.unwrap();
        c.batches().list(&BatchListParams::new()).await.unwrap();
    }
}
