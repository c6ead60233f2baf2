//! Multipart uploads (`Form`, `Upload`): what goes on the wire, files streamed from disk and
//! read again from the start on a retry, one-shot sources (pipes) never sent twice, files
//! that change while sent, and deadlines that bound the upload.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use oai_compat::{Client, Error, Form, RequestOptions, Upload};
use oai_compat_mock::{MockServer, Reply};

use crate::support::{client, server};

/// A file of `len` bytes (a pattern, so a cut or shifted copy shows) in a fresh folder.
fn file(name: &str, len: usize) -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!(
        "oai-uploads-{}-{name}-{:?}",
        std::process::id(),
        Instant::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let path = dir.join(name);
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

/// Sets `path`'s length to `len`: sparse when it grows (nothing on disk), cut when it shrinks.
fn set_len(path: &std::path::Path, len: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// A client of the raw server at `url`, with `retries` and (when given) a request timeout.
fn raw_client(url: String, retries: u32, timeout: Option<Duration>) -> Client {
    let mut b = Client::builder()
        .base_url(url)
        .use_env(false)
        .max_retries(retries);
    if let Some(t) = timeout {
        b = b.timeout(t);
    }
    b.build().unwrap()
}

fn ok() -> Reply {
    Reply::json(200, r#"{"ok":true}"#)
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_form_goes_out_field_by_field_with_its_length() {
    let srv = server();
    srv.enqueue(ok());
    let (path, data) = file("in put.jsonl", 200_000);
    let form = Form::new()
        .text("purpose", "batch")
        .file("file", Upload::path(&path))
        .file(
            "note",
            Upload::bytes("a\"b\r\nContent-Type: evil\\é.txt", b"x\r\n--y".to_vec()),
        );
    let out = client(&srv)
        .raw()
        .with_options(
            RequestOptions::new()
                .extra_body("n", 2)
                .extra_body("s", "t"),
        )
        .post_form("/files", &form)
        .await
        .unwrap();
    assert_eq!(out.value["ok"], true);
    let req = &srv.requests()[0];
    assert_eq!(req.path, "/v1/files");
    assert_eq!(
        req.header("content-length").map(str::to_owned),
        Some(req.body.len().to_string()),
        "a form of files of known size is sent with its length"
    );
    assert_eq!(req.header("transfer-encoding"), None);
    let parts = req.form().expect("a well-formed multipart body");
    let names: Vec<_> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["purpose", "file", "note", "n", "s"]);
    assert_eq!(parts[0].text(), "batch");
    assert_eq!(parts[1].filename.as_deref(), Some("in put.jsonl"));
    assert_eq!(parts[1].content_type.as_deref(), Some("application/jsonl"));
    assert!(parts[1].data == data, "the file arrived byte for byte");
    // The name cannot end its quoted string or its line: it arrives as one escaped name.
    assert_eq!(
        parts[2].filename.as_deref(),
        Some("a%22b%0D%0AContent-Type: evil\\é.txt")
    );
    assert_eq!(parts[2].content_type.as_deref(), Some("text/plain"));
    assert_eq!(parts[2].data, b"x\r\n--y");
    assert_eq!((parts[3].text(), parts[4].text()), ("2".into(), "t".into()));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_retry_sends_the_file_again_from_its_start() {
    let srv = server();
    srv.enqueue_all([Reply::error(503, "busy"), Reply::reset(), ok()]);
    let (path, data) = file("audio.wav", 300_000);
    let form = Form::new().file("file", Upload::path(&path));
    let out = client(&srv)
        .raw()
        .with_options(RequestOptions::new().max_retries(2))
        .post_form("/audio/transcriptions", &form)
        .await
        .unwrap();
    assert_eq!(out.meta.retries_taken, 2);
    let requests = srv.requests();
    assert_eq!(requests.len(), 3);
    for r in &requests {
        assert!(
            r.form().unwrap()[0].data == data,
            "every attempt sent the whole file"
        );
    }
    assert_eq!(requests[0].body, requests[2].body);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_missing_file_or_a_folder_fails_before_anything_is_sent() {
    let srv = server();
    let c = client(&srv);
    let missing = Form::new().file("file", Upload::path("/nonexistent/oai/x.wav"));
    let err = c.raw().post_form("/files", &missing).await.unwrap_err();
    match &err {
        Error::Upload(u) => {
            assert_eq!(
                u.path.as_deref(),
                Some(std::path::Path::new("/nonexistent/oai/x.wav"))
            );
            assert!(u.message.contains("could not open"), "{err}");
        }
        other => panic!("expected an upload error, got {other:?}"),
    }
    let folder = Form::new().file("file", Upload::path(std::env::temp_dir()));
    let err = c.raw().post_form("/files", &folder).await.unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
    let bad_type = Form::new().file("f", Upload::bytes("x", vec![1]).content_type("a\nb: c"));
    let err = c.raw().post_form("/files", &bad_type).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    assert!(srv.requests().is_empty());
}

/// A FIFO fed by a thread: a source that can be read once.
#[cfg(unix)]
fn fifo(data: Vec<u8>) -> (PathBuf, std::thread::JoinHandle<()>) {
    let (path, _) = file("pipe", 0);
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    let p = path.clone();
    let writer = std::thread::spawn(move || {
        // Opening blocks until the client opens the other end; a client that never does
        // (a test that fails first) leaves this thread blocked, which ends with the process.
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&p) {
            let _ = f.write_all(&data);
        }
    });
    (path, writer)
}

#[cfg(unix)]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_pipe_is_streamed_once_and_never_sent_twice() {
    let srv = server();
    srv.enqueue_all([ok(), Reply::error(503, "busy"), ok()]);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
    let c = client(&srv);
    let (path, writer) = fifo(data.clone());
    let form = Form::new()
        .text("model", "m")
        .file("file", Upload::path(&path));
    c.raw()
        .post_form("/audio/transcriptions", &form)
        .await
        .unwrap();
    writer.join().unwrap();
    let first = &srv.requests()[0];
    assert_eq!(
        first.header("content-length"),
        None,
        "a pipe's length is unknown"
    );
    assert_eq!(first.header("transfer-encoding"), Some("chunked"));
    assert!(first.form().unwrap()[1].data == data);

    // A retryable failure after the pipe was read: not retried, and said so.
    let (path, writer) = fifo(data.clone());
    let form = Form::new().file("file", Upload::path(&path));
    let err = c
        .raw()
        .with_options(RequestOptions::new().max_retries(3))
        .post_form("/audio/transcriptions", &form)
        .await
        .unwrap_err();
    writer.join().unwrap();
    match &err {
        Error::Upload(u) => {
            assert!(u.message.contains("was not retried"), "{err}");
            assert!(
                u.message.contains("503"),
                "the failure itself is named: {err}"
            );
            assert_eq!(u.retries_taken, 0);
            assert!(matches!(u.failed_attempt(), Some(Error::Api(_))));
        }
        other => panic!("expected an upload error, got {other:?}"),
    }
    assert_eq!(
        err.status(),
        Some(503),
        "the attempt's status reads through"
    );
    assert!(std::error::Error::source(&err).is_some());
    assert_eq!(srv.requests().len(), 2, "one attempt for the second call");
}

/// A pipe read by one call is refused by the next call given the same upload (a clone of the
/// form, as a caller repeating a request sends), before anything is sent: the FIFO, opened
/// again, would give what is left of it (nothing) as if it were the file.
#[cfg(unix)]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_pipe_read_by_one_call_is_refused_by_the_next() {
    use std::os::unix::fs::OpenOptionsExt;
    let srv = server();
    srv.enqueue_all([ok(), ok()]);
    let c = client(&srv);
    let (path, writer) = fifo(b"spoken words".to_vec());
    let form = Form::new().file("file", Upload::path(&path));
    let again = form.clone();
    c.raw()
        .post_form("/audio/transcriptions", &form)
        .await
        .unwrap();
    writer.join().unwrap();
    // A second writer that gives nothing: a call that opened the FIFO again would send an
    // empty file and succeed.
    let p = path.clone();
    let empty = std::thread::spawn(move || {
        let _ = std::fs::OpenOptions::new().write(true).open(&p);
    });
    let err = c
        .raw()
        .post_form("/audio/transcriptions", &again)
        .await
        .unwrap_err();
    match &err {
        Error::Upload(u) => assert!(u.message.contains("earlier call"), "{err}"),
        other => panic!("expected an upload error, got {other:?}"),
    }
    assert_eq!(srv.requests().len(), 1, "nothing was sent");
    // Frees the second writer (O_NONBLOCK: opening for reading does not wait for it).
    let _unblock = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(0o4000)
        .open(&path)
        .unwrap();
    empty.join().unwrap();
}

/// Answers each connection by `answer(index, head, body_read_so_far)`, reading every
/// request whole unless told to stop after `cut_after` body bytes (then the connection is
/// dropped mid-upload).
fn raw_server(cut_first_after: usize) -> (String, std::thread::JoinHandle<Vec<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for i in 0..2 {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let mut got = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            let head_end = loop {
                let n = conn.read(&mut buf).unwrap();
                got.extend_from_slice(&buf[..n]);
                if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8_lossy(&got[..head_end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap();
            let want = if i == 0 { cut_first_after } else { len };
            while got.len() - head_end < want {
                let n = conn.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            bodies.push(got[head_end..].to_vec());
            if i == 0 {
                // Killed mid-upload: the connection goes away with the body half read.
                drop(conn);
                continue;
            }
            let body = br#"{"id":"file-1"}"#;
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            conn.write_all(reply.as_bytes()).unwrap();
            conn.write_all(body).unwrap();
        }
        bodies
    });
    (url, handle)
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_upload_cut_off_by_the_server_is_sent_again_whole() {
    let (url, server) = raw_server(1024 * 1024);
    let (path, data) = file("big.jsonl", 8 * 1024 * 1024);
    let c = raw_client(url, 2, None);
    let form = Form::new()
        .text("purpose", "batch")
        .file("file", Upload::path(&path));
    let out = c.raw().post_form("/files", &form).await.unwrap();
    assert_eq!(out.value["id"], "file-1");
    assert_eq!(out.meta.retries_taken, 1);
    let bodies = server.join().unwrap();
    assert!(bodies[0].len() < data.len(), "the first attempt was cut");
    let whole = &bodies[1];
    let at = whole
        .windows(64)
        .position(|w| w == &data[..64])
        .expect("the file in the second body");
    assert!(
        whole[at..at + data.len()] == data[..],
        "sent again from its first byte"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_server_that_stops_reading_cannot_hold_an_upload_past_its_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    // Accepts and never reads: the client's writes fill the socket buffers and wait.
    let _held = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(Duration::from_secs(30));
        drop(conn);
    });
    let (path, _) = file("sparse.bin", 0);
    // Sparse: 256 MiB to send, nothing on disk.
    set_len(&path, 256 * 1024 * 1024);
    let c = raw_client(url, 0, Some(Duration::from_millis(800)));
    let started = Instant::now();
    let form = Form::new().file("file", Upload::path(&path));
    let err = c.raw().post_form("/files", &form).await.unwrap_err();
    let took = started.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_file_that_changes_size_while_it_is_sent_fails_the_upload() {
    // The file shrinks between the check and the sending: a server that reads slowly
    // gives the test the time to cut it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (path, _) = file("shrinks.bin", 32 * 1024 * 1024);
    let p = path.clone();
    let _server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64 * 1024];
        let _ = conn.read(&mut buf);
        set_len(&p, 1024 * 1024);
        while matches!(conn.read(&mut buf), Ok(n) if n > 0) {}
    });
    let c = raw_client(url, 2, None);
    let form = Form::new().file("file", Upload::path(&path));
    let err = c.raw().post_form("/files", &form).await.unwrap_err();
    match &err {
        Error::Upload(u) => assert!(u.message.contains("shrank"), "{err}"),
        other => panic!("expected an upload error, got {other:?}"),
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_recorded_upload_replays_by_its_fields_and_file_sizes() {
    use oai_compat::cassette::RecordMode;
    let dir = std::env::temp_dir().join(format!("oai-uploads-cassette-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mode = if cfg!(feature = "blocking") { "b" } else { "a" };
    let tape = dir.join(format!("form-{mode}.jsonl"));
    let _ = std::fs::remove_file(&tape);
    let srv = server();
    srv.enqueue(Reply::json(200, r#"{"id":"file-9"}"#));
    let (path, _) = file("rec.jsonl", 5_000);
    // A quote and a line break in the file name go out as %22 and %0A, a backslash doubled
    // (what the mock's replay must read back as the name recorded).
    let form = || {
        Form::new().text("purpose", "batch").file(
            "file",
            Upload::path(&path).filename("rec \"1\" a\\b\n.jsonl"),
        )
    };
    let recorder = crate::support::builder(&srv)
        .cassette(&tape, RecordMode::Once)
        .build()
        .unwrap();
    let first = recorder.raw().post_form("/files", &form()).await.unwrap();
    drop(recorder);
    let recorded = std::fs::read_to_string(&tape).unwrap();
    assert!(recorded.contains("\"bytes\":5000"), "{recorded}");
    assert!(
        !recorded.contains("\u{0}\u{1}\u{2}"),
        "the file's bytes are not in the cassette"
    );

    // Replayed with the server gone; another purpose is another request.
    let replayer = Client::builder()
        .use_env(false)
        .base_url("http://127.0.0.1:9/v1")
        .cassette(&tape, RecordMode::None)
        .build()
        .unwrap();
    let again = replayer.raw().post_form("/files", &form()).await.unwrap();
    assert_eq!(again.value, first.value);
    let other = Form::new().text("purpose", "vision").file(
        "file",
        Upload::path(&path).filename("rec \"1\" a\\b\n.jsonl"),
    );
    let miss = replayer
        .raw()
        .post_form("/files", &other)
        .await
        .unwrap_err();
    assert!(matches!(miss, Error::Cassette(_)), "{miss:?}");
    assert_eq!(srv.requests().len(), 1);

    // Served by the mock to any client (`oai mock --replay`): the parts match in another
    // order and with another content type, as another language sends them.
    let player = MockServer::start().unwrap();
    player.replay(&tape, false).unwrap();
    let c = crate::support::builder(&player).build().unwrap();
    let reordered = Form::new()
        .file(
            "file",
            Upload::path(&path)
                .filename("rec \"1\" a\\b\n.jsonl")
                .content_type("application/octet-stream"),
        )
        .text("purpose", "batch");
    let again = c.raw().post_form("/files", &reordered).await.unwrap();
    assert_eq!(again.value, first.value);
    let miss = c.raw().post_form("/files", &other).await.unwrap_err();
    assert_eq!(miss.status(), Some(404), "{miss:?}");
    assert!(miss.to_string().contains("part `purpose`"), "{miss}");
    let (shorter, _) = file("rec.jsonl", 4_999);
    let miss = c
        .raw()
        .post_form(
            "/files",
            &Form::new().text("purpose", "batch").file(
                "file",
                Upload::path(&shorter).filename("rec \"1\" a\\b\n.jsonl"),
            ),
        )
        .await
        .unwrap_err();
    assert!(miss.to_string().contains("part `file`"), "{miss}");
}

/// An upload read from a pipe is recorded with no size (`"bytes": null`); served by the mock
/// to any client, it answers the same form with a file of any size.
#[cfg(unix)]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_recorded_pipe_upload_replays_to_a_file_of_any_size() {
    use oai_compat::cassette::RecordMode;
    let dir = std::env::temp_dir().join(format!("oai-uploads-cassette-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mode = if cfg!(feature = "blocking") { "b" } else { "a" };
    let tape = dir.join(format!("pipe-{mode}.jsonl"));
    let _ = std::fs::remove_file(&tape);
    let srv = server();
    srv.enqueue(Reply::json(200, r#"{"id":"file-7"}"#));
    let (path, writer) = fifo(b"piped words".to_vec());
    let recorder = crate::support::builder(&srv)
        .cassette(&tape, RecordMode::Once)
        .build()
        .unwrap();
    let form = Form::new()
        .text("purpose", "batch")
        .file("file", Upload::path(&path).filename("in.jsonl"));
    let first = recorder.raw().post_form("/files", &form).await.unwrap();
    writer.join().unwrap();
    drop(recorder);
    let recorded = std::fs::read_to_string(&tape).unwrap();
    assert!(recorded.contains(r#""bytes":null"#), "{recorded}");

    let player = MockServer::start().unwrap();
    player.replay(&tape, false).unwrap();
    let c = crate::support::builder(&player).build().unwrap();
    let again = Form::new()
        .text("purpose", "batch")
        .file("file", Upload::bytes("in.jsonl", vec![b'x'; 3]));
    let replayed = c.raw().post_form("/files", &again).await.unwrap();
    assert_eq!(replayed.value, first.value);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn the_answer_to_an_upload_is_still_bounded_by_max_response_bytes() {
    let srv = server();
    srv.enqueue(Reply::json(
        200,
        format!(r#"{{"text":"{}"}}"#, "a".repeat(10_000)),
    ));
    let c = crate::support::builder(&srv)
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let form = Form::new().file("file", Upload::bytes("a.wav", vec![0; 10]));
    let err = c
        .raw()
        .post_form("/audio/transcriptions", &form)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("max_response_bytes (1024 bytes)"),
        "{err}"
    );
    // A text answer (`response_format: text`) too, named as the endpoint's.
    srv.enqueue(Reply::text(
        200,
        "text/plain",
        "a".repeat(10_000).into_bytes(),
    ));
    let mut req =
        oai_compat::types::TranscriptionRequest::new("m", Upload::bytes("a.wav", vec![0; 10]));
    req.response_format = Some(oai_compat::types::AudioResponseFormat::Text);
    let err = c.audio().transcriptions(&req).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("max_response_bytes (1024 bytes)"), "{err}");
    assert!(text.contains("the transcription response"), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_upload_that_keeps_moving_may_take_longer_than_the_timeout() {
    // A slow link: the server takes about 4 s to read 64 MiB, the timeout is 1.5 s. The
    // timeout bounds each wait for progress (and the answer after the last byte), as
    // openai-python's write timeout does, not the whole upload.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut got = Vec::new();
        let head_end = loop {
            let n = conn.read(&mut buf).unwrap();
            got.extend_from_slice(&buf[..n]);
            if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&got[..head_end]).to_lowercase();
        let len: u64 = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap();
        let mut read = (got.len() - head_end) as u64;
        let started = Instant::now();
        while read < len {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0);
            read += n as u64;
            std::thread::sleep(Duration::from_millis(15));
        }
        let took = started.elapsed();
        let body = format!("{{\"bytes\":{read}}}");
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        conn.write_all(reply.as_bytes()).unwrap();
        took
    });
    let (path, _) = file("slow-link.bin", 0);
    set_len(&path, 64 * 1024 * 1024);
    let c = raw_client(url, 0, Some(Duration::from_millis(1500)));
    let form = Form::new().file("file", Upload::path(&path));
    let out = c.raw().post_form("/files", &form).await.unwrap();
    let took = server.join().unwrap();
    assert!(out.value["bytes"].as_u64().unwrap() > 64 * 1024 * 1024);
    assert!(
        took > Duration::from_millis(1500),
        "the upload outlasted the timeout ({took:?}), so the test shows what it claims"
    );
}
