//! `oai transcribe` against the built-in mock's /v1/audio/*: every format, the form it sends,
//! stdin, --translate, --stream, -o, and errors.

mod support;

use serde_json::Value;
use support::*;

fn audio(name: &str, bytes: usize) -> std::path::PathBuf {
    let d = dir(&format!("transcribe-{name}"));
    let p = d.join(name);
    std::fs::write(&p, vec![7u8; bytes]).unwrap();
    p
}

/// The fields of the last multipart request, as text (the file part: its name).
fn form(srv: &MockServer) -> Vec<(String, String)> {
    let req = srv
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path_only().starts_with("/v1/audio/"))
        .unwrap();
    req.form()
        .unwrap()
        .into_iter()
        .map(|p| match p.filename {
            Some(f) => (p.name, format!("file:{f}:{}", p.data.len())),
            None => (p.name, String::from_utf8_lossy(&p.data).into_owned()),
        })
        .collect()
}

#[test]
fn text_is_the_default_and_the_form_carries_the_options() {
    let srv = MockServer::start().unwrap();
    let f = audio("talk.wav", 3200);
    let o = run(
        &srv,
        &[
            "transcribe",
            f.to_str().unwrap(),
            "--language",
            "fr",
            "--prompt",
            "Bonjour",
            "--temperature",
            "0.2",
        ],
    );
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "Mock transcription of talk.wav, 3200 bytes.\n");
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    let fields = form(&srv);
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("file"), Some("file:talk.wav:3200"));
    assert_eq!(get("model"), Some("mock-model"), "the first model listed");
    assert_eq!(get("language"), Some("fr"));
    assert_eq!(get("prompt"), Some("Bonjour"));
    assert_eq!(get("response_format"), Some("text"));
    assert_eq!(
        get("temperature").map(|t| t.parse::<f32>().unwrap()),
        Some(0.2)
    );
}

#[test]
fn json_formats_print_one_json_line_and_subtitles_are_printed_as_sent() {
    let srv = MockServer::start().unwrap();
    let f = audio("a.mp3", 64_000);
    let path = f.to_str().unwrap();
    let o = run(&srv, &["transcribe", path, "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o).lines().count(), 1);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["text"], "Mock transcription of a.mp3, 64000 bytes.");
    let o = run(&srv, &["transcribe", path, "--format", "verbose_json"]);
    assert_exit(&o, 0);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(
        v["segments"].as_array().is_some_and(|s| !s.is_empty()),
        "{v}"
    );
    assert_eq!(v["language"], "en");
    let o = run(&srv, &["transcribe", path, "--format", "srt"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).starts_with("1\n00:00:00,000 --> "),
        "{}",
        stdout(&o)
    );
    let o = run(&srv, &["transcribe", path, "--format", "vtt"]);
    assert_exit(&o, 0);
    assert!(stdout(&o).starts_with("WEBVTT"), "{}", stdout(&o));
    let o = run(&srv, &["transcribe", path, "--format", "xml"]);
    assert_exit(&o, 2);
}

#[test]
fn stdin_translate_stream_and_output_file() {
    let srv = MockServer::start().unwrap();
    let o = run_in(
        &srv,
        &["transcribe", "-", "--filename", "memo.ogg"],
        vec![1u8; 100],
    );
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "Mock transcription of memo.ogg, 100 bytes.\n");

    let f = audio("speech.wav", 500);
    let path = f.to_str().unwrap();
    let o = run(&srv, &["transcribe", path, "--translate"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "Mock translation of speech.wav, 500 bytes.\n");
    assert_eq!(
        srv.requests().last().unwrap().path_only(),
        "/v1/audio/translations"
    );

    let o = run(&srv, &["transcribe", path, "--stream"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), "Mock transcription of speech.wav, 500 bytes.\n");
    let fields = form(&srv);
    assert!(
        fields.contains(&("stream".into(), "true".into())),
        "{fields:?}"
    );
    let o = run(&srv, &["transcribe", path, "--stream", "--format", "json"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).lines().count() > 2,
        "one JSON line per event: {}",
        stdout(&o)
    );
    let o = run(&srv, &["transcribe", path, "--stream", "--format", "srt"]);
    assert_exit(&o, 2);
    assert!(
        srv.requests()
            .iter()
            .filter(|r| r.path_only() == "/v1/audio/transcriptions")
            .count()
            == 3
    );

    let saved = f.with_file_name("speech.srt");
    let o = run(
        &srv,
        &[
            "transcribe",
            path,
            "--format",
            "srt",
            "-o",
            saved.to_str().unwrap(),
        ],
    );
    assert_exit(&o, 0);
    assert!(o.stdout.is_empty());
    assert!(std::fs::read_to_string(&saved).unwrap().starts_with("1\n"));
}

#[test]
fn errors_are_one_line() {
    let srv = MockServer::start().unwrap();
    let o = run(
        &srv,
        &["transcribe", "/nonexistent/a.wav", "-m", "mock-model"],
    );
    assert_exit(&o, 1);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("a.wav"), "{}", stderr(&o));
    let f = audio("x.wav", 10);
    let o = run(
        &srv,
        &["transcribe", f.to_str().unwrap(), "-m", "no-such-model"],
    );
    assert_exit(&o, 1);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("mock-model"),
        "names what the server serves: {}",
        stderr(&o)
    );
}
