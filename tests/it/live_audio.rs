//! Audio transcriptions and translations against real servers. Ignored unless run with
//! `--ignored` (see `scripts/servers.sh`).
//!
//! Against Prism mocking OpenAI's official OpenAPI spec:
//! it answers 422 to a form that breaks the spec (a missing `file` or `model`, a
//! `response_format` or `temperature` of the wrong kind), so these prove the forms we send
//! are what OpenAI accepts. Prism reads `timestamp_granularities[]` (openai-python's name) as
//! an unknown field and checks nothing of it; the mock's tests check those fields. Prism
//! answers every format with the spec's first JSON shape and cannot stream audio, so only the
//! JSON calls are checked for their answers.
//!
//! Against vLLM serving a tiny random Whisper wired to answer " The quick brown fox." to any
//! audio (`scripts/servers.sh start whisper`, not part of `start all`): every format vLLM has,
//! its JSON answer to `text`, its chunk streams, its refusals.

use crate::live;

use live::{WHISPER_MODEL, live, prism, vllm_whisper_url};
use oai_compat::types::{
    AudioResponseFormat, StreamOptions, TimestampGranularity, TranscriptionRequest,
    TranscriptionStreamEvent, TranslationRequest,
};
use oai_compat::{Error, Upload};

/// A valid WAV file: `samples` of 16 kHz, 16-bit mono PCM (a quiet saw wave).
fn wav(samples: u32) -> Vec<u8> {
    let data = samples * 2;
    let mut out = Vec::with_capacity(44 + data as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&32_000u32.to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    for i in 0..samples {
        let sample = ((i % 100) as i16 - 50) * 20;
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

fn file() -> Upload {
    Upload::bytes("speech.wav", wav(16_000))
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn prism_transcription_form_conforms_to_the_spec() {
    let c = prism();
    let req = TranscriptionRequest::new("gpt-4o-transcribe", file())
        .language("en")
        .prompt("A test recording.")
        .temperature(0.0)
        .include(["logprobs"]);
    let out = c.audio().transcriptions(&req).await.unwrap();
    // The spec's first JSON shape, filled with placeholders.
    assert_eq!(out.text, "string");
    let usage = out.usage.as_ref().unwrap();
    assert_eq!(usage.kind.as_deref(), Some("tokens"));
    assert!(usage.input_token_details.is_some());
    assert!(out.extra.contains_key("logprobs"), "{:?}", out.extra);

    // verbose_json with both granularities (repeated `timestamp_granularities[]` fields):
    // accepted, and the answer decodes whatever shape Prism picks.
    let req = TranscriptionRequest::new("whisper-1", file())
        .response_format(AudioResponseFormat::VerboseJson)
        .timestamp_granularities([TimestampGranularity::Word, TimestampGranularity::Segment]);
    let out = c.audio().transcriptions_with_meta(&req).await.unwrap();
    assert_eq!(out.meta.status, 200);
    assert_eq!(out.value.text, "string");

    // A text format: accepted; Prism answers it with the JSON object all the same, which is
    // decoded as JSON (its content type says so).
    let req =
        TranscriptionRequest::new("whisper-1", file()).response_format(AudioResponseFormat::Srt);
    let out = c.audio().transcriptions(&req).await.unwrap();
    assert_eq!(out.text, "string");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn prism_translation_form_conforms_to_the_spec() {
    let c = prism();
    let req = TranslationRequest::new("whisper-1", file())
        .prompt("A test recording.")
        .temperature(0.2);
    let out = c.audio().translations(&req).await.unwrap();
    assert_eq!(out.text, "string");
    let req = TranslationRequest::new("whisper-1", Upload::bytes("speech.mp3", wav(800)))
        .response_format(AudioResponseFormat::VerboseJson);
    let out = c.audio().translations(&req).await.unwrap();
    assert_eq!(out.text, "string");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs Prism over OpenAI's spec: bash scripts/servers.sh start prism"]
async fn prism_rejects_a_form_that_breaks_the_spec_with_422() {
    // The control: proves Prism validates our multipart forms, so the tests above mean
    // something.
    let req = TranscriptionRequest::new("whisper-1", file()).with_extra("response_format", "xml");
    let err = prism().audio().transcriptions(&req).await.unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
    let err = prism()
        .audio()
        .translations(
            TranslationRequest::new("whisper-1", file()).with_extra("response_format", "xml"),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err}");
}

/// What the tiny Whisper says to any audio.
const SAID: &str = " The quick brown fox.";

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vLLM serving tiny-whisper: bash scripts/servers.sh start whisper"]
async fn vllm_transcribes_in_json_text_and_verbose_json() {
    let c = live(&vllm_whisper_url());
    let req = TranscriptionRequest::new(WHISPER_MODEL, file()).language("en");
    let out = c.audio().transcriptions(&req).await.unwrap();
    assert_eq!(out.text, SAID);
    let usage = out.usage.as_ref().unwrap();
    assert_eq!(
        (usage.kind.as_deref(), usage.seconds),
        (Some("duration"), Some(1.0))
    );

    // vLLM answers `text` with its JSON: decoded, so the text is the text.
    let text = req.clone().response_format(AudioResponseFormat::Text);
    let out = c.audio().transcriptions_with_meta(&text).await.unwrap();
    assert_eq!(
        out.meta.headers.get("content-type"),
        Some("application/json")
    );
    assert_eq!(out.value.text, SAID);

    let verbose = req
        .clone()
        .response_format(AudioResponseFormat::VerboseJson)
        .timestamp_granularities([TimestampGranularity::Word, TimestampGranularity::Segment])
        .seed(1)
        .max_completion_tokens(32);
    let out = c.audio().transcriptions(&verbose).await.unwrap();
    assert_eq!(out.text, SAID);
    assert_eq!(out.duration, Some(1.0));
    assert_eq!(out.language.as_deref(), Some("en"));
    assert!(out.words.is_empty(), "vLLM sends words: null");
    assert_eq!(out.segments.len(), 1, "{:?}", out.segments);
    let s = &out.segments[0];
    assert_eq!((s.start, s.end, s.text.as_str()), (0.0, 1.0, SAID));
    assert!(!s.tokens.is_empty());
    assert_eq!(s.no_speech_prob, None);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vLLM serving tiny-whisper: bash scripts/servers.sh start whisper"]
async fn vllm_translates() {
    let c = live(&vllm_whisper_url());
    let req = TranslationRequest::new(WHISPER_MODEL, file()).language("de");
    let out = c.audio().translations(&req).await.unwrap();
    assert_eq!(out.text, SAID);
    assert!(out.usage.is_none(), "vLLM reports no usage on translations");
    let verbose = req.response_format(AudioResponseFormat::VerboseJson);
    let out = c.audio().translations(&verbose).await.unwrap();
    assert_eq!(out.segments.len(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vLLM serving tiny-whisper: bash scripts/servers.sh start whisper"]
async fn vllm_streams_chunks_ended_by_done() {
    let c = live(&vllm_whisper_url());
    let req = TranscriptionRequest::new(WHISPER_MODEL, file())
        .language("en")
        .stream_options(StreamOptions {
            include_usage: Some(true),
            ..Default::default()
        });
    let mut stream = c.audio().transcriptions_stream(&req).await.unwrap();
    let mut text = String::new();
    let mut usage = None;
    while let Some(event) = stream.try_next().await.unwrap() {
        assert_eq!(event.kind(), "transcription.chunk");
        text.push_str(event.text_delta().unwrap_or_default());
        if let TranscriptionStreamEvent::Chunk(c) = &event {
            usage = c.usage.clone().or(usage);
        }
    }
    assert!(stream.is_finished());
    assert_eq!(text, SAID);
    assert!(usage.unwrap().completion_tokens.unwrap() > 0);

    // `text` streams as `json` does; translations stream too.
    let text = req.clone().response_format(AudioResponseFormat::Text);
    let got = c.audio().transcriptions_stream(&text).await.unwrap();
    let got = got.final_text().await.unwrap();
    assert_eq!(got, SAID);
    let tr = TranslationRequest::new(WHISPER_MODEL, file());
    let mut stream = c.audio().translations_stream(&tr).await.unwrap();
    let mut text = String::new();
    while let Some(event) = stream.try_next().await.unwrap() {
        assert_eq!(event.kind(), "translation.chunk");
        text.push_str(event.text_delta().unwrap_or_default());
    }
    assert_eq!(text, SAID);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs vLLM serving tiny-whisper: bash scripts/servers.sh start whisper"]
async fn vllm_refusals_are_typed() {
    let c = live(&vllm_whisper_url());
    // vLLM has no srt or vtt.
    for format in [AudioResponseFormat::Srt, AudioResponseFormat::Vtt] {
        let req = TranscriptionRequest::new(WHISPER_MODEL, file()).response_format(format);
        let err = c.audio().transcriptions(&req).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{err}");
        assert!(err.to_string().contains("response_format"), "{err}");
    }
    let err = c
        .audio()
        .transcriptions(TranscriptionRequest::new("whisper-1", file()))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    // Not audio.
    let junk = Upload::bytes("notes.wav", b"not a wave file at all".to_vec());
    let err = c
        .audio()
        .transcriptions(TranscriptionRequest::new(WHISPER_MODEL, junk))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    // A stream vLLM would refuse is refused before the upload.
    let req = TranscriptionRequest::new(WHISPER_MODEL, file())
        .response_format(AudioResponseFormat::VerboseJson);
    let err = c.audio().transcriptions_stream(&req).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
}
