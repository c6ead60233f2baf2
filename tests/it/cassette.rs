//! Cassettes: calls recorded against a server once, then replayed with nothing sent, in both
//! modes; matching, misses, retries in order, the key never written, and files recorded by
//! each mode replayed by both.

use crate::support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use oai_compat::cassette::{Matcher, RecordMode};
use oai_compat::types::{ChatCompletionRequest, EmbeddingRequest, Message};
use oai_compat::{Client, Error};
use oai_compat_mock::Reply;
use support::{MODEL, builder, server};

fn file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oai-cassette-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mode = if cfg!(feature = "blocking") { "b" } else { "a" };
    let path = dir.join(format!("{name}-{mode}.jsonl"));
    let _ = std::fs::remove_file(&path);
    path
}

/// A port that is bound but never accepts: a client that connected would leave a
/// connection in its backlog, which `accept` then finds.
struct Silent(TcpListener);

impl Silent {
    fn new() -> Silent {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Silent(l)
    }
    fn url(&self) -> String {
        format!("http://{}/v1", self.0.local_addr().unwrap())
    }
    fn connected(&self) -> bool {
        self.0.accept().is_ok()
    }
}

fn replayer(path: &Path, silent: &Silent) -> Client {
    Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(silent.url())
        .cassette(path, RecordMode::None)
        .build()
        .unwrap()
}

fn chat(text: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user(text)])
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn recorded_calls_replay_to_equal_values_without_a_socket() {
    let path = file("replay");
    let srv = server();
    srv.enqueue_all((0..5).map(|_| Reply::default_answer()));
    srv.enqueue(Reply::error(404, "The model `nope` does not exist."));
    let rec = builder(&srv)
        .cassette(&path, RecordMode::Once)
        .build()
        .unwrap();
    let models = rec.models().list().await.unwrap();
    let reply = rec.chat().create(chat("hello")).await.unwrap();
    let mut stream = rec.chat().create_stream(chat("stream me")).await.unwrap();
    let mut streamed = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        streamed.push(chunk);
    }
    let emb = rec
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, ["a", "b"]))
        .await
        .unwrap();
    let raw = rec.raw().get("/models").await.unwrap();
    let missing = rec.chat().create(chat("for nope")).await.unwrap_err();
    let sent = srv.request_count();
    assert_eq!(sent, 6);
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 6);

    let silent = Silent::new();
    let play = replayer(&path, &silent);
    let models_again = play.models().list().await.unwrap();
    assert_eq!(models_again, models);
    let reply_again = play.chat().create(chat("hello")).await.unwrap();
    assert_eq!(reply_again, reply);
    let mut stream = play.chat().create_stream(chat("stream me")).await.unwrap();
    let mut again = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        again.push(chunk);
    }
    assert_eq!(again, streamed);
    assert!(again.len() > 2, "a stream of several chunks");
    let emb_again = play
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, ["a", "b"]))
        .await
        .unwrap();
    assert_eq!(emb_again, emb);
    let raw_again = play.raw().get("/models").await.unwrap();
    assert_eq!(raw_again.value, raw.value);
    let err = play.chat().create(chat("for nope")).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.to_string(), missing.to_string());
    assert!(!silent.connected(), "replay opened a connection");
    assert_eq!(
        srv.request_count(),
        sent,
        "nothing reached the recording server"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_miss_names_the_closest_request_and_what_differs() {
    let path = file("miss");
    let srv = server();
    let rec = builder(&srv)
        .cassette(&path, RecordMode::Once)
        .build()
        .unwrap();
    let mut req = chat("hello");
    req.temperature = Some(0.5);
    rec.chat().create(&req).await.unwrap();
    let silent = Silent::new();
    let play = replayer(&path, &silent);
    let mut other = chat("bye");
    other.temperature = Some(0.5);
    let e = play.chat().create(&other).await.unwrap_err();
    assert!(matches!(e, Error::Cassette(_)), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("no recorded answer for POST /v1/chat/completions"),
        "{m}"
    );
    assert!(
        m.contains("closest: line 1, which differs in messages"),
        "{m}"
    );
    // Ignored fields do not count; each answer plays once.
    let mut same = req.clone();
    same.user = Some("someone else".into());
    play.chat().create(&same).await.unwrap();
    let e = play.chat().create(&req).await.unwrap_err();
    assert!(e.to_string().contains("played already"), "{e}");
    // A matcher that ignores the messages finds it.
    let loose = Client::builder()
        .use_env(false)
        .base_url(silent.url())
        .cassette(&path, RecordMode::None)
        .cassette_matcher(Matcher::default().ignore("messages"))
        .build()
        .unwrap();
    loose.chat().create(&other).await.unwrap();
    assert!(!silent.connected());
    // A cassette that does not exist cannot replay.
    let e = Client::builder()
        .use_env(false)
        .base_url(silent.url())
        .cassette(file("absent"), RecordMode::None)
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retries_replay_in_order_and_new_episodes_are_appended() {
    let path = file("retries");
    let srv = server();
    srv.enqueue(Reply::error(503, "busy").header("retry-after-ms", "1"));
    let rec = builder(&srv)
        .cassette(&path, RecordMode::Once)
        .build()
        .unwrap();
    let r = rec.chat().create_with_meta(chat("hi")).await.unwrap();
    assert_eq!(r.meta.retries_taken, 1);
    let silent = Silent::new();
    let play = replayer(&path, &silent);
    let again = play.chat().create_with_meta(chat("hi")).await.unwrap();
    assert_eq!(again.meta.retries_taken, 1, "the 503, then the answer");
    assert_eq!(again.value, r.value);
    // NewEpisodes: what matches replays, what is new is sent and appended.
    let grow = builder(&srv)
        .cassette(&path, RecordMode::NewEpisodes)
        .build()
        .unwrap();
    let before = srv.request_count();
    let replayed = grow.chat().create_with_meta(chat("hi")).await.unwrap();
    assert_eq!(replayed.meta.retries_taken, 1);
    assert_eq!(
        srv.request_count(),
        before,
        "the 503 and the answer, both replayed"
    );
    grow.chat().create(chat("new")).await.unwrap();
    assert_eq!(srv.request_count(), before + 1, "a new request is sent");
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 3);
    // All starts afresh.
    let all = builder(&srv)
        .cassette(&path, RecordMode::All)
        .build()
        .unwrap();
    all.chat().create(chat("hi")).await.unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn the_key_is_never_written() {
    let key = "sk-cassette-secret-123456";
    let path = file("key");
    let srv = server();
    // Echoed in an answer's header, in its body plainly and JSON-escaped, and in an error.
    let escaped = key.replace('-', "\\u002d");
    srv.enqueue(Reply::json(
        200,
        format!(r#"{{"object":"list","data":[{{"id":"{key}","object":"model"}},{{"id":"{escaped}","object":"model"}}]}}"#),
    ).header("x-request-id", key));
    srv.enqueue(Reply::error(
        401,
        &format!("Incorrect API key provided: {key}"),
    ));
    let rec = builder(&srv)
        .api_key(key)
        .cassette(&path, RecordMode::Once)
        .build()
        .unwrap();
    rec.models()
        .with_options(oai_compat::RequestOptions::new().query("api-key", key))
        .list()
        .await
        .unwrap();
    let req = chat(&format!("my key is {key}"));
    let _ = rec.chat().create(&req).await.unwrap_err();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(!text.contains(key), "{text}");
    assert!(!text.contains("sk-cassette"), "{text}");
    // Not even once its JSON escapes are decoded.
    for line in text.lines() {
        let decoded: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(!decoded.to_string().contains(key), "{line}");
        let mut strings = Vec::new();
        collect(&decoded, &mut strings);
        assert!(strings.iter().all(|s| !s.contains(key)), "{line}");
    }
    assert!(
        !text.to_ascii_lowercase().contains("authorization"),
        "{text}"
    );
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => {
            out.push(s.clone());
            if let Ok(inner) = serde_json::from_str::<serde_json::Value>(s) {
                collect(&inner, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| collect(x, out)),
        _ => {}
    }
}

/// The calls of [`a_cassette_from_either_mode_replays_in_both`], checked on their values.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn the_sequence(c: &Client) {
    let models = c.models().list().await.unwrap();
    assert_eq!(models.data[0].id, MODEL);
    let reply = c.chat().create(chat("hello")).await.unwrap();
    assert_eq!(reply.text(), Some("Mock reply to: hello"));
    let mut stream = c.chat().create_stream(chat("stream me")).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        text.push_str(chunk.text());
    }
    assert_eq!(text, "Mock reply to: stream me");
    let emb = c
        .embeddings()
        .create(EmbeddingRequest::new(MODEL, ["a", "b"]))
        .await
        .unwrap();
    assert_eq!(emb.data.len(), 2);
    let e = c.chat().create(chat("for nope")).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("does not exist"), "{e}");
}

/// Files recorded by the blocking client and by the async one (committed; recorded again with
/// `OAI_COMPAT_BLESS=1`), each replayed by both modes.
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_cassette_from_either_mode_replays_in_both() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cassettes");
    let ours = dir.join(if cfg!(feature = "blocking") {
        "recorded_blocking.jsonl"
    } else {
        "recorded_async.jsonl"
    });
    if std::env::var_os("OAI_COMPAT_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        let srv = server();
        srv.enqueue_all((0..4).map(|_| Reply::default_answer()));
        srv.enqueue(Reply::error(404, "The model `nope` does not exist."));
        let rec = builder(&srv)
            .cassette(&ours, RecordMode::All)
            .build()
            .unwrap();
        the_sequence(&rec).await;
    }
    for name in ["recorded_blocking.jsonl", "recorded_async.jsonl"] {
        let silent = Silent::new();
        the_sequence(&replayer(&dir.join(name), &silent)).await;
        assert!(!silent.connected(), "{name}");
    }
}

/// The uploads of [`uploads_recorded_for_any_language_replay_in_both_modes`], checked on their
/// values: the same requests as `scripts/replay_openai_python.py` makes with openai-python
/// (file names, fields and sizes; the bytes themselves are not recorded).
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn the_uploads(c: &Client) {
    use oai_compat::Upload;
    use oai_compat::types::{AudioResponseFormat, TranscriptionRequest};
    let file = c
        .files()
        .create(Upload::bytes("batch.jsonl", vec![b'x'; 64]), "batch")
        .await
        .unwrap();
    assert_eq!(file.filename.as_deref(), Some("batch.jsonl"));
    assert_eq!(file.bytes, Some(64));
    let mut req = TranscriptionRequest::new(MODEL, Upload::bytes("hello.wav", vec![0; 32_000]));
    req.language = Some("en".into());
    req.response_format = Some(AudioResponseFormat::VerboseJson);
    let heard = c.audio().transcriptions(&req).await.unwrap();
    assert_eq!(heard.text, "Mock transcription of hello.wav, 32000 bytes.");
    assert_eq!(heard.duration, Some(1.0));
}

/// Uploads recorded by the blocking client (committed; recorded again with
/// `OAI_COMPAT_BLESS=1`), replayed by both modes; CI replays the same file to openai-python
/// through `oai mock --replay`.
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn uploads_recorded_for_any_language_replay_in_both_modes() {
    let tape = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cassettes/recorded_uploads.jsonl");
    if cfg!(feature = "blocking") && std::env::var_os("OAI_COMPAT_BLESS").is_some() {
        let srv = server();
        let rec = builder(&srv)
            .cassette(&tape, RecordMode::All)
            .build()
            .unwrap();
        the_uploads(&rec).await;
    }
    let silent = Silent::new();
    the_uploads(&replayer(&tape, &silent)).await;
    assert!(!silent.connected());
}

/// The text of a stream until its error.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn until_error(c: &Client) -> (String, Error) {
    let mut s = c.chat().create_stream(chat("x")).await.unwrap();
    let mut text = String::new();
    loop {
        match s.try_next().await {
            Ok(Some(chunk)) => text.push_str(chunk.text()),
            Ok(None) => panic!("the stream ended without its error"),
            Err(e) => return (text, e),
        }
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_in_band_stream_error_replays_as_the_same_typed_error() {
    let path = file("in-band");
    let srv = server();
    let chunk = |t: &str| {
        format!(
            r#"{{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{{"index":0,"delta":{{"content":"{t}"}}}}]}}"#
        )
    };
    srv.enqueue(
        Reply::sse()
            .event(chunk("a"))
            .event(chunk("b"))
            .event(r#"{"error":{"message":"engine died","type":"InternalServerError","param":null,"code":500}}"#)
            .done(),
    );
    let rec = builder(&srv)
        .cassette(&path, RecordMode::Once)
        .build()
        .unwrap();
    let (text, err) = until_error(&rec).await;
    assert_eq!(text, "ab");
    let silent = Silent::new();
    let (again, replayed) = until_error(&replayer(&path, &silent)).await;
    assert_eq!(again, text);
    assert!(matches!(replayed, Error::Stream(_)), "{replayed:?}");
    assert_eq!(replayed.to_string(), err.to_string());
    assert!(err.to_string().contains("engine died"), "{err}");
}
