//! Audio transcriptions and translations against the mock: every response format, the form
//! as sent, streams of both shapes (vLLM's chunks, OpenAI's events), lenient decoding and
//! typed errors. Both modes.

use crate::support;

use oai_compat::types::{
    AudioResponseFormat, SegmentId, StreamOptions, TimestampGranularity, TranscriptionRequest,
    TranscriptionStreamEvent, TranslationRequest,
};
use oai_compat::{Client, Error, StreamErrorKind, Upload};
use oai_compat_mock::{FormPart, RecordedRequest, Reply};
use serde_json::json;
use support::{MODEL, client, server};

/// 64,000 bytes: two seconds of audio to the mock.
fn audio() -> Vec<u8> {
    (0..64_000u32).map(|i| (i % 251) as u8).collect()
}

fn request() -> TranscriptionRequest {
    TranscriptionRequest::new(MODEL, Upload::bytes("talk.wav", audio()))
}

const TEXT: &str = "Mock transcription of talk.wav, 64000 bytes.";

/// The form the mock received in `req`.
fn form(req: &RecordedRequest) -> Vec<FormPart> {
    req.form().expect("a multipart/form-data body")
}

/// The text values of the fields named `name`, in order.
fn values(parts: &[FormPart], name: &str) -> Vec<String> {
    parts
        .iter()
        .filter(|p| p.name == name)
        .map(|p| String::from_utf8(p.data.clone()).unwrap())
        .collect()
}

/// The whole text of a streamed transcription of `req`.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn streamed_text(c: &Client, req: TranscriptionRequest) -> String {
    let stream = c.audio().transcriptions_stream(req).await.unwrap();
    stream.final_text().await.unwrap()
}

/// OpenAI's `transcript.text.delta` event adding `text`.
fn delta(text: &str) -> String {
    json!({"type": "transcript.text.delta", "delta": text}).to_string()
}

/// vLLM's chunk adding `text`.
fn chunk(text: &str) -> String {
    json!({"object": "transcription.chunk", "choices": [{"delta": {"content": text}}]}).to_string()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn the_form_has_the_fields_openai_python_sends_and_the_file_last() {
    let srv = server();
    let req = request()
        .language("de")
        .prompt("Ein Vortrag.")
        .temperature(0.2)
        .response_format(AudioResponseFormat::VerboseJson)
        .timestamp_granularities([TimestampGranularity::Word, TimestampGranularity::Segment])
        .top_k(5)
        .seed(7)
        .with_extra("chunking_strategy", "auto")
        .with_extra("vllm_xargs", json!({"a": 1}))
        .with_extra("nothing", serde_json::Value::Null);
    client(&srv).audio().transcriptions(&req).await.unwrap();
    let sent = &srv.requests()[0];
    assert_eq!(sent.path, "/v1/audio/transcriptions");
    assert!(
        sent.header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary="),
        "{:?}",
        sent.header("content-type")
    );
    let parts = form(sent);
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "model",
            "language",
            "prompt",
            "response_format",
            "temperature",
            "timestamp_granularities[]",
            "timestamp_granularities[]",
            "seed",
            "top_k",
            "chunking_strategy",
            "vllm_xargs",
            "file",
        ]
    );
    assert_eq!(values(&parts, "model"), [MODEL]);
    assert_eq!(values(&parts, "language"), ["de"]);
    assert_eq!(values(&parts, "prompt"), ["Ein Vortrag."]);
    assert_eq!(values(&parts, "response_format"), ["verbose_json"]);
    assert_eq!(values(&parts, "temperature"), ["0.2"]);
    assert_eq!(
        values(&parts, "timestamp_granularities[]"),
        ["word", "segment"]
    );
    assert_eq!(values(&parts, "vllm_xargs"), [r#"{"a":1}"#]);
    let file = parts.last().unwrap();
    assert_eq!(file.filename.as_deref(), Some("talk.wav"));
    assert_eq!(file.content_type.as_deref(), Some("audio/wav"));
    assert_eq!(file.data, audio());
    // Text fields are plain: no file name.
    assert!(
        parts[..parts.len() - 1]
            .iter()
            .all(|p| p.filename.is_none())
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_plain_request_sends_only_the_model_and_the_file() {
    let srv = server();
    let out = client(&srv)
        .audio()
        .transcriptions(request())
        .await
        .unwrap();
    assert_eq!(out.text, TEXT);
    let parts = form(&srv.requests()[0]);
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["model", "file"]);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn every_response_format_is_read() {
    let srv = server();
    let c = client(&srv);
    let audio = c.audio();

    let json = audio.transcriptions(request()).await.unwrap();
    assert_eq!(json.text, TEXT);
    let usage = json.usage.as_ref().unwrap();
    assert_eq!(
        (usage.kind.as_deref(), usage.seconds),
        (Some("duration"), Some(2.0))
    );
    assert!(json.segments.is_empty() && json.duration.is_none());

    let text = audio
        .transcriptions(request().response_format(AudioResponseFormat::Text))
        .await
        .unwrap();
    // The mock answers `text` with JSON, as vLLM does: decoded, not kept as the text.
    assert_eq!(text.text, TEXT);
    assert!(text.usage.is_some());

    let srt = audio
        .transcriptions(request().response_format(AudioResponseFormat::Srt))
        .await
        .unwrap();
    assert_eq!(
        srt.text,
        "1\n00:00:00,000 --> 00:00:01,333\nMock transcription of talk.wav,\n\n\
         2\n00:00:01,333 --> 00:00:02,000\n64000 bytes.\n\n"
    );

    let vtt = audio
        .transcriptions(request().response_format(AudioResponseFormat::Vtt))
        .await
        .unwrap();
    assert!(
        vtt.text
            .starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:01.333\nMock transcription"),
        "{}",
        vtt.text
    );

    let formats: Vec<Vec<String>> = srv
        .requests()
        .iter()
        .map(|r| values(&form(r), "response_format"))
        .collect();
    assert_eq!(
        formats,
        [
            vec![],
            vec!["text".to_owned()],
            vec!["srt".to_owned()],
            vec!["vtt".to_owned()]
        ]
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn verbose_json_decodes_segments_and_words() {
    let srv = server();
    let req = request()
        .language("fr")
        .response_format(AudioResponseFormat::VerboseJson)
        .timestamp_granularities([TimestampGranularity::Word]);
    let out = client(&srv).audio().transcriptions(&req).await.unwrap();
    assert_eq!(out.text, TEXT);
    assert_eq!(out.language.as_deref(), Some("fr"));
    assert_eq!(out.duration, Some(2.0));
    assert_eq!(out.segments.len(), 2);
    let first = &out.segments[0];
    assert_eq!(first.id, Some(SegmentId::Number(0)));
    assert_eq!((first.start, first.end), (0.0, 1.333));
    assert_eq!(first.text, "Mock transcription of talk.wav, ");
    assert_eq!(first.tokens.len(), 4);
    assert_eq!(first.avg_logprob, Some(-0.25));
    assert_eq!(first.no_speech_prob, None);
    let joined: String = out.segments.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(joined, TEXT);
    assert_eq!(out.words.len(), 6);
    assert_eq!(out.words[5].word, "bytes.");
    assert_eq!((out.words[5].start, out.words[5].end), (1.667, 2.0));
    // Without word granularity, no words.
    let out = client(&srv)
        .audio()
        .transcriptions(request().response_format(AudioResponseFormat::VerboseJson))
        .await
        .unwrap();
    assert!(out.words.is_empty());
    assert_eq!(out.segments.len(), 2);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn translations_in_json_and_text_formats() {
    let srv = server();
    let c = client(&srv);
    let req = TranslationRequest::new(MODEL, Upload::bytes("rede.mp3", vec![1u8; 320]))
        .prompt("A speech.")
        .temperature(0.0);
    let out = c.audio().translations(&req).await.unwrap();
    assert_eq!(out.text, "Mock translation of rede.mp3, 320 bytes.");
    assert!(out.usage.is_none());
    let srt = c
        .audio()
        .translations(req.clone().response_format(AudioResponseFormat::Srt))
        .await
        .unwrap();
    assert!(srt.text.starts_with("1\n00:00:00,000 --> "), "{}", srt.text);
    let sent = srv.requests();
    assert_eq!(sent[0].path, "/v1/audio/translations");
    let parts = form(&sent[0]);
    assert_eq!(values(&parts, "prompt"), ["A speech."]);
    assert_eq!(values(&parts, "temperature"), ["0"]);
    assert_eq!(parts.last().unwrap().filename.as_deref(), Some("rede.mp3"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn with_meta_gives_the_status_and_request_id() {
    let srv = server();
    let c = client(&srv);
    let out = c
        .audio()
        .transcriptions_with_meta(request().response_format(AudioResponseFormat::Text))
        .await
        .unwrap();
    assert_eq!(out.meta.status, 200);
    // The mock echoes the id the client sent, or makes one up.
    let sent = srv.requests()[0].header("x-request-id").map(str::to_owned);
    let id = out.meta.request_id().unwrap();
    assert!(
        Some(id) == sent.as_deref() || id.starts_with("mock-req-"),
        "{id}"
    );
    assert_eq!(out.value.text, TEXT);
    let req = TranslationRequest::new(MODEL, Upload::bytes("a.wav", vec![0u8; 10]));
    let out = c.audio().translations_with_meta(&req).await.unwrap();
    assert_eq!(out.meta.status, 200);
    assert_eq!(out.value.text, "Mock translation of a.wav, 10 bytes.");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_vllm_stream_ends_at_done_with_the_text_and_usage() {
    let srv = server();
    let c = client(&srv);
    let req = request().stream_options(StreamOptions {
        include_usage: Some(true),
        ..Default::default()
    });
    let mut stream = c.audio().transcriptions_stream(&req).await.unwrap();
    let mut text = String::new();
    let mut events = Vec::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        text.push_str(event.text_delta().unwrap_or_default());
        events.push(event);
    }
    assert!(stream.is_finished());
    assert_eq!(text, TEXT);
    assert_eq!(
        events.len(),
        8,
        "6 words, the end and the usage: {events:?}"
    );
    assert!(events.iter().all(|e| e.kind() == "transcription.chunk"));
    let TranscriptionStreamEvent::Chunk(end) = &events[6] else {
        panic!("{:?}", events[6])
    };
    assert_eq!(events[6].text_delta(), Some(""));
    assert_eq!(
        end.choices[0].finish_reason.as_ref().map(|f| f.as_str()),
        Some("stop")
    );
    let TranscriptionStreamEvent::Chunk(usage) = &events[7] else {
        panic!("{:?}", events[7])
    };
    assert_eq!(usage.usage.as_ref().unwrap().completion_tokens, Some(6));
    // The stream fields, sent only with the stream.
    let parts = form(&srv.requests()[0]);
    assert_eq!(values(&parts, "stream"), ["true"]);
    assert_eq!(values(&parts, "stream_include_usage"), ["true"]);
    assert!(values(&parts, "stream_continuous_usage_stats").is_empty());
    // A call that does not stream sends neither `stream` nor the stream options (vLLM would
    // refuse them).
    c.audio().transcriptions(&req).await.unwrap();
    let parts = form(&srv.requests()[1]);
    assert!(values(&parts, "stream").is_empty());
    assert!(values(&parts, "stream_include_usage").is_empty());
    // The whole text in one call.
    let text = streamed_text(&c, request()).await;
    assert_eq!(text, TEXT);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_vllm_translation_streams_too() {
    let srv = server();
    let req = TranslationRequest::new(MODEL, Upload::bytes("b.ogg", vec![2u8; 5]));
    let stream = client(&srv)
        .audio()
        .translations_stream(&req)
        .await
        .unwrap();
    let text = stream.final_text().await.unwrap();
    assert_eq!(text, "Mock translation of b.ogg, 5 bytes.");
    assert_eq!(srv.requests()[0].path, "/v1/audio/translations");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_openai_stream_ends_after_text_done_with_or_without_done() {
    let srv = server();
    srv.set_openai_transcription_stream(true);
    let c = client(&srv);
    let mut stream = c.audio().transcriptions_stream(request()).await.unwrap();
    let mut deltas = String::new();
    let mut kinds = Vec::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        deltas.push_str(event.text_delta().unwrap_or_default());
        kinds.push(event.kind().to_owned());
        if let TranscriptionStreamEvent::TextDone(done) = &event {
            assert_eq!(done.text, TEXT);
            let usage = done.usage.as_ref().unwrap();
            assert_eq!(usage.kind.as_deref(), Some("tokens"));
            assert_eq!(usage.output_tokens, Some(6));
        }
    }
    assert_eq!(deltas, TEXT);
    assert_eq!(kinds.len(), 7);
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("transcript.text.done")
    );
    assert!(kinds[..6].iter().all(|k| k == "transcript.text.delta"));

    // The same with a `[DONE]` after the last event, and with events after it (ignored).
    let done = json!({"type": "transcript.text.done", "text": "ab"}).to_string();
    srv.enqueue(
        Reply::sse()
            .event(delta("a"))
            .event(delta("b"))
            .event(&done)
            .done(),
    );
    srv.enqueue(
        Reply::sse()
            .event(delta("a"))
            .event(&done)
            .event(delta("never seen")),
    );
    for _ in 0..2 {
        let mut stream = c.audio().transcriptions_stream(request()).await.unwrap();
        let mut n = 0;
        while let Some(event) = stream.try_next().await.unwrap() {
            n += 1;
            assert_ne!(event.text_delta(), Some("never seen"));
        }
        assert!(n >= 2 && stream.is_finished());
    }
    // `final_text` takes the done event's text.
    let text = streamed_text(&c, request()).await;
    assert_eq!(text, TEXT);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_stream_without_its_end_is_truncated() {
    let srv = server();
    // OpenAI's shape, the body ends before `transcript.text.done`.
    srv.enqueue(Reply::sse().event(delta("a")).event(delta("b")));
    // vLLM's shape, cut before `[DONE]`.
    srv.enqueue(Reply::sse().event(chunk("a")).cut());
    let c = client(&srv);
    for round in 0..2 {
        let mut stream = c.audio().transcriptions_stream(request()).await.unwrap();
        let mut got = String::new();
        let err = loop {
            match stream.try_next().await {
                Ok(Some(e)) => got.push_str(e.text_delta().unwrap_or_default()),
                Ok(None) => panic!("a truncated stream ended without an error"),
                Err(e) => break e,
            }
        };
        assert!(got.starts_with('a'));
        match &err {
            Error::Stream(s) => assert_eq!(s.kind, StreamErrorKind::Truncated, "{err}"),
            other => panic!("{other:?}"),
        }
        if round == 0 {
            assert!(err.to_string().contains("transcript.text.done"), "{err}");
        }
        let after = stream.try_next().await.unwrap();
        assert!(after.is_none(), "fused");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_server_that_does_not_stream_is_a_typed_error() {
    // OpenAI's whisper-1 ignores `stream` and answers with the whole JSON.
    let srv = server();
    srv.enqueue(Reply::json(200, r#"{"text":"Hello."}"#));
    let err = client(&srv)
        .audio()
        .transcriptions_stream(request())
        .await
        .unwrap_err();
    let Error::Decode(d) = &err else {
        panic!("{err:?}")
    };
    assert!(d.message.contains("application/json"), "{}", d.message);
    assert!(d.body_excerpt.contains("Hello."), "{}", d.body_excerpt);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_in_band_error_ends_the_stream_typed() {
    let srv = server();
    let error = json!({"error": {"message": "the decoder broke", "type": "InternalServerError",
                                 "param": null, "code": 500}})
    .to_string();
    srv.enqueue(Reply::sse().event(chunk("a")).event(&error).done());
    let mut stream = client(&srv)
        .audio()
        .transcriptions_stream(request())
        .await
        .unwrap();
    let first = stream.try_next().await.unwrap().unwrap();
    assert_eq!(first.text_delta(), Some("a"));
    let err = stream.try_next().await.unwrap_err();
    let Error::Stream(s) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(s.kind, StreamErrorKind::InBand);
    assert!(s.message.contains("the decoder broke"), "{}", s.message);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn formats_no_server_streams_are_refused_before_sending() {
    let srv = server();
    let c = client(&srv);
    for format in [
        AudioResponseFormat::Srt,
        AudioResponseFormat::Vtt,
        AudioResponseFormat::VerboseJson,
    ] {
        let err = c
            .audio()
            .transcriptions_stream(request().response_format(format))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
        assert!(err.to_string().contains(format.as_str()), "{err}");
        let req = TranslationRequest::new(MODEL, Upload::bytes("a.wav", vec![0u8; 4]))
            .response_format(format);
        let err = c.audio().translations_stream(&req).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
    }
    assert_eq!(srv.request_count(), 0);
    // `text` streams (vLLM streams it as it streams `json`).
    let text = streamed_text(&c, request().response_format(AudioResponseFormat::Text)).await;
    assert_eq!(text, TEXT);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn answers_of_other_servers_decode_leniently() {
    let srv = server();
    // OpenAI's verbose_json: a numeric duration, a tokens usage, unknown keys, nulls.
    srv.enqueue(Reply::json(
        200,
        json!({
            "task": "transcribe", "language": "english", "duration": 8.47,
            "text": "The beach.", "words": null,
            "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 3.32, "text": " The beach.",
                          "tokens": [50364, 440], "temperature": 0.0, "avg_logprob": -0.28,
                          "compression_ratio": 1.23, "no_speech_prob": 0.0098, "extra_key": 1}],
            "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 101,
                      "total_tokens": 115, "input_token_details": {"audio_tokens": 4}},
            "logprobs": [{"token": "The", "logprob": -0.1, "bytes": [84, 104, 101]}]
        })
        .to_string(),
    ));
    // A diarized answer: string segment ids and speakers.
    srv.enqueue(Reply::json(
        200,
        json!({"task": "transcribe", "duration": 42.7, "text": "Hi.\nHello.",
               "segments": [{"type": "transcript.text.segment", "id": "seg_001",
                             "start": 0.0, "end": 5.2, "text": "Hi.", "speaker": "agent"}]})
        .to_string(),
    ));
    // A minimal one, with vLLM's older string duration.
    srv.enqueue(Reply::json(200, r#"{"text":"x","duration":"1.50"}"#));
    // Text formats: plain text as sent (OpenAI), JSON of a transcription decoded, any other
    // JSON kept as the text.
    srv.enqueue(Reply::text(200, "text/plain; charset=utf-8", "Hello.\n"));
    srv.enqueue(Reply::json(200, r#"{"text":"Hi.","usage":null}"#));
    srv.enqueue(Reply::json(200, r#""just a \"text\" string""#));
    let c = client(&srv);
    let out = c.audio().transcriptions(request()).await.unwrap();
    assert_eq!(out.duration, Some(8.47));
    assert_eq!(out.language.as_deref(), Some("english"));
    assert!(out.words.is_empty());
    assert_eq!(out.segments[0].no_speech_prob, Some(0.0098));
    assert_eq!(out.segments[0].extra["extra_key"], 1);
    let usage = out.usage.as_ref().unwrap();
    assert_eq!(
        (usage.input_tokens, usage.total_tokens),
        (Some(14), Some(115))
    );
    assert_eq!(
        usage.input_token_details.as_ref().unwrap().audio_tokens,
        Some(4)
    );
    assert!(out.extra["logprobs"].is_array());
    let out = c
        .audio()
        .transcriptions(request().response_format(AudioResponseFormat::DiarizedJson))
        .await
        .unwrap();
    assert_eq!(
        out.segments[0].id,
        Some(SegmentId::Text("seg_001".to_owned()))
    );
    assert_eq!(out.segments[0].speaker.as_deref(), Some("agent"));
    let out = c.audio().transcriptions(request()).await.unwrap();
    assert_eq!(out.text, "x");
    assert_eq!(out.duration, Some(1.5));
    assert!(out.usage.is_none() && out.segments.is_empty());
    let text = request().response_format(AudioResponseFormat::Text);
    let out = c.audio().transcriptions(&text).await.unwrap();
    assert_eq!(out.text, "Hello.\n");
    let out = c.audio().transcriptions(&text).await.unwrap();
    assert_eq!(out.text, "Hi.");
    let out = c.audio().transcriptions(&text).await.unwrap();
    assert_eq!(out.text, r#""just a \"text\" string""#);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn errors_are_typed() {
    let srv = server();
    let c = client(&srv);
    // An unknown model: vLLM's 404.
    let req = TranscriptionRequest::new("nope", Upload::bytes("a.wav", vec![0u8; 4]));
    let err = c.audio().transcriptions(&req).await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.param.as_deref(), Some("model"));
    // A 400 for a bad field, from the server (the client does not check values).
    let err = c
        .audio()
        .transcriptions(request().temperature(3.0))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.param.as_deref(), Some("temperature"));
    // A stream refused before it starts is an API error too.
    let err = c
        .audio()
        .transcriptions_stream(request().with_extra("response_format", "xml"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    // A text format's error is read as an error, not as the text.
    let err = c
        .audio()
        .transcriptions(
            TranscriptionRequest::new("nope", Upload::bytes("a.wav", vec![0u8; 4]))
                .response_format(AudioResponseFormat::Srt),
        )
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    // The key is checked first.
    srv.set_api_key(Some("sk-right"));
    let err = c.audio().transcriptions(request()).await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_file_on_disk_is_sent_whole_on_every_attempt() {
    let dir = std::env::temp_dir().join(format!("oai-audio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("meeting.flac");
    std::fs::write(&path, audio()).unwrap();
    let srv = server();
    srv.enqueue_all([Reply::error(503, "busy"), Reply::default_answer()]);
    let req = TranscriptionRequest::new(MODEL, Upload::path(&path));
    let out = client(&srv)
        .audio()
        .transcriptions_with_meta(&req)
        .await
        .unwrap();
    assert_eq!(out.meta.retries_taken, 1);
    assert_eq!(
        out.value.text,
        "Mock transcription of meeting.flac, 64000 bytes."
    );
    let sent = srv.requests();
    assert_eq!(sent.len(), 2);
    for r in &sent {
        let file = form(r).pop().unwrap();
        assert_eq!(file.filename.as_deref(), Some("meeting.flac"));
        assert_eq!(file.data, audio());
    }
    std::fs::remove_file(&path).unwrap();
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_number_that_is_not_finite_is_refused_before_the_upload() {
    let srv = server();
    let mut req = request();
    req.temperature = Some(f32::NAN);
    let err = client(&srv).audio().transcriptions(&req).await.unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest(m) if m.contains("`temperature` is NaN")),
        "{err:?}"
    );
    req.temperature = None;
    req.min_p = Some(f32::INFINITY);
    let err = client(&srv)
        .audio()
        .transcriptions_stream(&req)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidRequest(m) if m.contains("`min_p` is inf")),
        "{err:?}"
    );
    assert!(srv.requests().is_empty(), "nothing was sent");
}
