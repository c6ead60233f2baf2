//! Audio transcriptions and translations against Prism mocking OpenAI's official OpenAPI spec:
//! it answers 422 to a form that breaks the spec (a missing `file` or `model`, a
//! `response_format` or `temperature` of the wrong kind), so these prove the forms we send
//! are what OpenAI accepts. Prism reads `timestamp_granularities[]` (openai-python's name) as
//! an unknown field and checks nothing of it; the mock's tests check those fields. Prism
//! answers every format with the spec's first JSON shape and cannot stream audio, so only the
//! JSON calls are checked for their answers. Ignored unless run with `--ignored` (see
//! `scripts/servers.sh`).

use crate::live;

use live::prism;
use oai_compat::Upload;
use oai_compat::types::{
    AudioResponseFormat, TimestampGranularity, TranscriptionRequest, TranslationRequest,
};

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
async fn a_transcription_form_conforms_to_the_spec() {
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
async fn a_translation_form_conforms_to_the_spec() {
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
async fn a_form_that_breaks_the_spec_is_rejected_with_422() {
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
