//! Files against the mock, which keeps uploads in memory: upload from a path and from bytes,
//! list pages, retrieve, download, delete, typed errors. Both modes.

use std::path::PathBuf;
use std::time::Instant;

use crate::support;

use oai_compat::types::{FileListParams, FilePurpose, ListOrder};
use oai_compat::{Error, RequestOptions, Upload};
use oai_compat_mock::MockServer;
use support::{client, server};

/// A file of `len` bytes (every byte value, in a pattern a cut or shift would break) in a
/// fresh folder.
fn temp_file(name: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!(
        "oai-files-{}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
    let path = dir.join(name);
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

/// The `purpose` and `file` parts of the `n`-th request the mock saw: (purpose, filename,
/// bytes), checking that they are the only parts, in that order.
fn sent_form(srv: &MockServer, n: usize) -> (String, String, Vec<u8>) {
    let req = &srv.requests()[n];
    assert_eq!(
        (req.method.as_str(), req.path.as_str()),
        ("POST", "/v1/files")
    );
    let parts = req.form().expect("a multipart body");
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["purpose", "file"]);
    assert_eq!(parts[0].filename, None);
    (
        parts[0].text(),
        parts[1].filename.clone().unwrap(),
        parts[1].data.clone(),
    )
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_upload_from_a_path_sends_the_file_its_name_and_purpose() {
    let srv = server();
    let (path, data) = temp_file("requests.jsonl", 300_000);
    let out = client(&srv)
        .files()
        .create_with_meta(Upload::path(&path), FilePurpose::Batch)
        .await
        .unwrap();
    assert_eq!(out.meta.status, 200);
    let file = out.value;
    assert!(file.id.starts_with("file-"), "{}", file.id);
    assert_eq!(file.object, "file");
    assert_eq!(file.bytes, Some(300_000));
    assert_eq!(file.filename.as_deref(), Some("requests.jsonl"));
    assert_eq!(file.purpose.as_deref(), Some("batch"));
    assert!(file.created_at.is_some());
    let (purpose, filename, bytes) = sent_form(&srv, 0);
    assert_eq!(
        (purpose.as_str(), filename.as_str()),
        ("batch", "requests.jsonl")
    );
    assert!(bytes == data, "the file arrived byte for byte");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_upload_from_bytes_keeps_an_odd_name_in_its_field() {
    let srv = server();
    let c = client(&srv);
    let name = "we\"ird\r\nContent-Type: x; é.jsonl";
    let file = c
        .files()
        .create(Upload::bytes(name, b"{\"a\":1}\n".to_vec()), "user_data")
        .await
        .unwrap();
    // Escaped as browsers escape it; it neither ended the quoted name nor added a header.
    let escaped = "we%22ird%0D%0AContent-Type: x; é.jsonl";
    assert_eq!(file.filename.as_deref(), Some(escaped));
    assert_eq!(file.purpose.as_deref(), Some("user_data"));
    let (purpose, filename, bytes) = sent_form(&srv, 0);
    assert_eq!(
        (purpose.as_str(), filename.as_str()),
        ("user_data", escaped)
    );
    assert_eq!(bytes, b"{\"a\":1}\n");
    // A purpose the server does not take is its typed 400.
    let err = c
        .files()
        .create(
            Upload::bytes("a", b"x".to_vec()),
            FilePurpose::Other("homework".into()),
        )
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((api.status, api.param.as_deref()), (400, Some("purpose")));
    assert_eq!(sent_form(&srv, 1).0, "homework");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn content_streams_the_upload_back_byte_for_byte() {
    let srv = server();
    let c = client(&srv);
    let (path, data) = temp_file("big.bin", 1 << 20);
    let file = c
        .files()
        .create(Upload::path(&path), FilePurpose::Batch)
        .await
        .unwrap();

    let mut download = c.files().content(&file.id).await.unwrap();
    assert_eq!(download.meta().status, 200);
    let mut copy = Vec::new();
    let written = download.write_to(&mut copy).await.unwrap();
    assert_eq!(written, data.len() as u64);
    assert!(copy == data, "the download is the upload");

    let mut pieces = 0;
    let mut copy = Vec::new();
    let mut download = c.files().content(&file.id).await.unwrap();
    while let Some(piece) = download.next_chunk().await.unwrap() {
        copy.extend_from_slice(piece);
        pieces += 1;
    }
    assert!(copy == data, "piece by piece too");
    assert!(pieces > 1, "1 MiB came in {pieces} piece(s)");
    assert_eq!(download.bytes_received(), data.len() as u64);
    assert_eq!(
        srv.requests()[2].path,
        format!("/v1/files/{}/content", file.id)
    );

    // A download is not bounded by the limit on JSON answers.
    let small = support::builder(&srv)
        .max_response_bytes(64 << 10)
        .build()
        .unwrap();
    let mut copy = Vec::new();
    let mut download = small.files().content(&file.id).await.unwrap();
    download.write_to(&mut copy).await.unwrap();
    assert!(copy == data, "1 MiB past a 64 KiB limit");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn list_pages_with_next_params_and_sends_the_query() {
    let srv = server();
    let c = client(&srv);
    let mut batch_ids = Vec::new();
    for i in 0..5 {
        let upload = Upload::bytes(format!("f{i}.jsonl"), b"{}\n".to_vec());
        batch_ids.push(
            c.files()
                .create(upload, FilePurpose::Batch)
                .await
                .unwrap()
                .id,
        );
    }
    c.files()
        .create(Upload::bytes("other", b"x".to_vec()), FilePurpose::UserData)
        .await
        .unwrap();

    let mut params = FileListParams::new()
        .purpose(FilePurpose::Batch)
        .limit(2)
        .order(ListOrder::Asc);
    let mut pages = Vec::new();
    loop {
        let page = c.files().list(&params).await.unwrap();
        assert_eq!(page.object, "list");
        pages.push(page.data.iter().map(|f| f.id.clone()).collect::<Vec<_>>());
        match page.next_params(&params) {
            Some(next) => params = next,
            None => break,
        }
        assert!(pages.len() < 10, "no end: {pages:?}");
    }
    assert_eq!(pages, [&batch_ids[..2], &batch_ids[2..4], &batch_ids[4..]]);
    let queries: Vec<String> = srv.requests()[6..].iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        queries,
        [
            "/v1/files?limit=2&purpose=batch&order=asc".to_owned(),
            format!(
                "/v1/files?after={}&limit=2&purpose=batch&order=asc",
                batch_ids[1]
            ),
            format!(
                "/v1/files?after={}&limit=2&purpose=batch&order=asc",
                batch_ids[3]
            ),
        ]
    );
    // No parameters: every file, newest first (the server's default).
    let all = c.files().list(&FileListParams::new()).await.unwrap();
    assert_eq!(all.data.len(), 6);
    assert_eq!(all.data[0].filename.as_deref(), Some("other"));
    assert_eq!(all.has_more, Some(false));
    assert_eq!(srv.requests().last().unwrap().path, "/v1/files");
}

/// Every page of a listing through `pages`, in order, each asked for once, with the query
/// the hand-written loop above sends.
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn pages_walks_every_page_once() {
    let srv = server();
    let c = client(&srv);
    let mut made = Vec::new();
    for i in 0..5 {
        let upload = Upload::bytes(format!("f{i}.jsonl"), b"{}\n".to_vec());
        made.push(c.files().create(upload, "batch").await.unwrap().id);
    }
    let params = FileListParams::new().limit(2).order(ListOrder::Asc);
    let mut pages = c.files().pages(params);
    let mut seen = Vec::new();
    while let Some(page) = pages.try_next().await.unwrap() {
        seen.push(page.data.iter().map(|f| f.id.clone()).collect::<Vec<_>>());
    }
    assert_eq!(seen, [&made[..2], &made[2..4], &made[4..]]);
    let after_the_end = pages.try_next().await.unwrap();
    assert!(after_the_end.is_none(), "ended stays ended");
    let paths: Vec<String> = srv.requests()[5..].iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/files?limit=2&order=asc".to_owned(),
            format!("/v1/files?after={}&limit=2&order=asc", made[1]),
            format!("/v1/files?after={}&limit=2&order=asc", made[3]),
        ]
    );
}

/// A page of one file `id`, saying more follow.
fn endless_page(id: &str) -> oai_compat_mock::Reply {
    oai_compat_mock::Reply::json(
        200,
        format!(
            r#"{{"object":"list","data":[{{"id":"{id}","object":"file"}}],"has_more":true,"last_id":"{id}"}}"#
        ),
    )
}

/// A server whose pages go round (A, B, A) or repeat (A, A): `pages` hands out each page
/// once, then a decode error instead of the repeated one, then nothing; it never loops.
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn pages_that_never_end_are_an_error_not_a_loop() {
    let srv = server();
    let c = client(&srv);
    srv.enqueue_all([endless_page("a"), endless_page("b"), endless_page("a")]);
    let mut pages = c.files().pages(FileListParams::new());
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.data[0].id, "a");
    let second = pages.try_next().await.unwrap().unwrap();
    assert_eq!(second.data[0].id, "b");
    let err = pages.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(err.to_string().contains("go round in a circle"), "{err}");
    let after_the_error = pages.try_next().await.unwrap();
    assert!(after_the_error.is_none());
    assert_eq!(srv.requests().len(), 3);

    // The same page again (its own cursor as the next one).
    srv.enqueue_all([endless_page("a"), endless_page("a")]);
    let mut pages = c.files().pages(FileListParams::new());
    pages.try_next().await.unwrap().unwrap();
    let err = pages.try_next().await.unwrap_err();
    assert!(err.to_string().contains("names no new page"), "{err}");
    let after_the_error = pages.try_next().await.unwrap();
    assert!(after_the_error.is_none());
    assert_eq!(srv.requests().len(), 5);
}

/// A page that fails (a 500, retries spent) is asked for again by the next `try_next`, with
/// the same cursor: the listing is not cut short as if it had ended.
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_failed_page_is_asked_for_again() {
    let srv = server();
    let c = client(&srv);
    srv.enqueue_all([
        endless_page("a"),
        oai_compat_mock::Reply::error(500, "try again"),
        oai_compat_mock::Reply::json(
            200,
            r#"{"object":"list","data":[{"id":"b","object":"file"}],"has_more":false,"last_id":"b"}"#,
        ),
    ]);
    let files = c.files().with_options(RequestOptions::new().max_retries(0));
    let mut pages = files.pages(FileListParams::new());
    let first = pages.try_next().await.unwrap().unwrap();
    assert_eq!(first.data[0].id, "a");
    let err = pages.try_next().await.unwrap_err();
    assert_eq!(err.status(), Some(500));
    let second = pages.try_next().await.unwrap().unwrap();
    assert_eq!(second.data[0].id, "b");
    let end = pages.try_next().await.unwrap();
    assert!(end.is_none());
    let afters: Vec<Option<String>> = srv.requests().iter().map(|r| r.query("after")).collect();
    assert_eq!(afters, [None, Some("a".into()), Some("a".into())]);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retrieve_delete_and_the_typed_404_after() {
    let srv = server();
    let c = client(&srv);
    let made = c
        .files()
        .create(
            Upload::bytes("a.jsonl", b"{}\n".to_vec()),
            FilePurpose::Batch,
        )
        .await
        .unwrap();
    let got = c.files().retrieve(&made.id).await.unwrap();
    assert_eq!(got, made);
    let deleted = c.files().delete_with_meta(&made.id).await.unwrap();
    assert_eq!(deleted.meta.status, 200);
    assert_eq!(deleted.value.id, made.id);
    assert!(deleted.value.deleted);
    assert_eq!(srv.requests()[2].method, "DELETE");
    assert_eq!(srv.requests()[2].path, format!("/v1/files/{}", made.id));

    let err = c.files().retrieve(&made.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.message, format!("No such File object: {}", made.id));
    assert_eq!(api.error_type.as_deref(), Some("invalid_request_error"));
    assert_eq!(err.retries_taken(), 0);
    let err = c.files().content(&made.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = c.files().delete(&made.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // An id is one path segment; an empty one is refused before anything is sent.
    let sent = srv.request_count();
    let err = c.files().retrieve("../models").await.unwrap_err();
    assert!(err.is_not_found());
    assert_eq!(srv.requests()[sent].path, "/v1/files/..%2Fmodels");
    for bad in ["", "..", "."] {
        let err = c.files().content(bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{bad:?}: {err:?}");
    }
    assert_eq!(srv.request_count(), sent + 1);
}
