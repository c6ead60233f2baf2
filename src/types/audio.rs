//! Audio: transcriptions and translations (`/audio/transcriptions`, `/audio/translations`),
//! their answers in every response format, and the events of a streamed transcription, in
//! OpenAI's shape (`transcript.text.delta` / `transcript.text.done`) and in vLLM's
//! (`transcription.chunk`, shaped like chat completion chunks, then `[DONE]`).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::chat::ChatCompletionChunk;
use super::common::{Extra, StreamOptions, lenient_opt_timestamp, null_default};
use crate::Upload;

/// The format of a transcription or translation (`response_format`).
///
/// `Json` (the server's default) and `VerboseJson` answer with JSON, decoded into
/// [`Transcription`]; `Text`, `Srt` and `Vtt` answer with plain text, which lands in
/// [`Transcription::text`] as sent (the subtitles of `srt` and `vtt` included).
///
/// Not every server has every format: OpenAI's `gpt-4o-*-transcribe` models answer `json`
/// only (`text` and `diarized_json` too for the diarizing one), and vLLM answers `json`,
/// `text` and `verbose_json` (the last only for models with timestamps, such as Whisper, and
/// not streamed); the server says so with an [`Error::Api`](crate::Error::Api). vLLM answers
/// `text` with its `json` answer, which is decoded: [`Transcription::text`] holds the text
/// either way.
///
/// ```
/// use oai_compat::types::AudioResponseFormat;
/// assert_eq!(AudioResponseFormat::VerboseJson.as_str(), "verbose_json");
/// assert!(AudioResponseFormat::VerboseJson.is_json());
/// assert!(!AudioResponseFormat::Srt.is_json());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AudioResponseFormat {
    /// `{"text": ..}` (with `usage` from OpenAI and vLLM).
    Json,
    /// The text alone.
    Text,
    /// SubRip subtitles.
    Srt,
    /// JSON with the language, the duration and timed `segments` (and `words` with
    /// [`TimestampGranularity::Word`]).
    VerboseJson,
    /// WebVTT subtitles.
    Vtt,
    /// JSON with segments labelled by speaker (OpenAI's `gpt-4o-transcribe-diarize`;
    /// transcriptions only).
    DiarizedJson,
}

impl AudioResponseFormat {
    /// The value as sent, e.g. `"verbose_json"`.
    pub fn as_str(self) -> &'static str {
        match self {
            AudioResponseFormat::Json => "json",
            AudioResponseFormat::Text => "text",
            AudioResponseFormat::Srt => "srt",
            AudioResponseFormat::VerboseJson => "verbose_json",
            AudioResponseFormat::Vtt => "vtt",
            AudioResponseFormat::DiarizedJson => "diarized_json",
        }
    }

    /// Whether the answer is JSON (`json`, `verbose_json`, `diarized_json`) rather than text.
    pub fn is_json(self) -> bool {
        matches!(
            self,
            AudioResponseFormat::Json
                | AudioResponseFormat::VerboseJson
                | AudioResponseFormat::DiarizedJson
        )
    }
}

impl fmt::Display for AudioResponseFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timestamp granularity of a `verbose_json` transcription (`timestamp_granularities[]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimestampGranularity {
    /// Timed words, in [`Transcription::words`] (more latency at OpenAI).
    Word,
    /// Timed segments, in [`Transcription::segments`] (the default).
    Segment,
}

impl TimestampGranularity {
    /// The value as sent: `"word"` or `"segment"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimestampGranularity::Word => "word",
            TimestampGranularity::Segment => "segment",
        }
    }
}

impl fmt::Display for TimestampGranularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to transcribe audio into text in its own language (`POST
/// /audio/transcriptions`, a multipart form).
///
/// Only the file, the model and the fields you set are sent, as openai-python sends them:
/// one form field per value, lists as repeated `name[]` fields
/// (`timestamp_granularities[]`), the file last. vLLM's sampling extras are typed fields
/// here (OpenAI rejects them); [`extra`](Self::extra) holds any other field. `stream` and
/// the stream options are sent by
/// [`Audio::transcriptions_stream`](crate::resources::Audio::transcriptions_stream) only.
///
/// ```
/// use oai_compat::Upload;
/// use oai_compat::types::{AudioResponseFormat, TimestampGranularity, TranscriptionRequest};
/// let req = TranscriptionRequest::new("whisper-1", Upload::path("speech.mp3"))
///     .language("en")
///     .response_format(AudioResponseFormat::VerboseJson)
///     .timestamp_granularities([TimestampGranularity::Word, TimestampGranularity::Segment])
///     .temperature(0.0)
///     .with_extra("chunking_strategy", "auto");
/// assert_eq!(req.model, "whisper-1");
/// assert_eq!(req.timestamp_granularities.as_ref().map(Vec::len), Some(2));
/// ```
#[derive(Debug, Clone)]
pub struct TranscriptionRequest {
    /// The audio (flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav or webm), sent as the `file`
    /// field under its file name; servers tell the format by the name's extension.
    pub file: Upload,
    /// The model, e.g. `whisper-1`, `gpt-4o-transcribe`, or the id vLLM serves.
    pub model: String,
    /// The language of the audio, ISO-639-1 (`en`): better accuracy and latency.
    pub language: Option<String>,
    /// Text to guide the style, or the transcript of the previous audio segment.
    pub prompt: Option<String>,
    /// The answer's format (default `json`); see [`AudioResponseFormat`].
    pub response_format: Option<AudioResponseFormat>,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f32>,
    /// The timestamps of a `verbose_json` answer: words, segments (the default) or both.
    pub timestamp_granularities: Option<Vec<TimestampGranularity>>,
    /// Additional information in the answer (`include[]`): OpenAI's `"logprobs"` (with
    /// `json` and the `gpt-4o-*-transcribe` models), kept in the answer's `extra`.
    pub include: Option<Vec<String>>,
    /// vLLM extra; OpenAI rejects it. The language to transcribe into (model-dependent).
    pub to_language: Option<String>,
    /// vLLM extra; OpenAI rejects it. The most tokens to generate.
    pub max_completion_tokens: Option<u32>,
    /// vLLM extra; OpenAI rejects it. Seed of the sampling.
    pub seed: Option<i64>,
    /// vLLM extra; OpenAI rejects it. Nucleus sampling.
    pub top_p: Option<f32>,
    /// vLLM extra; OpenAI rejects it. Sample from the `k` most likely tokens.
    pub top_k: Option<i32>,
    /// vLLM extra; OpenAI rejects it. The least probability of a token, relative to the most
    /// likely one.
    pub min_p: Option<f32>,
    /// vLLM extra; OpenAI rejects it. Frequency penalty.
    pub frequency_penalty: Option<f32>,
    /// vLLM extra; OpenAI rejects it. Presence penalty.
    pub presence_penalty: Option<f32>,
    /// vLLM extra; OpenAI rejects it. Repetition penalty.
    pub repetition_penalty: Option<f32>,
    /// Usage in a streamed answer; sent with `stream` only, as vLLM's flat form fields
    /// `stream_include_usage` and `stream_continuous_usage_stats` (vLLM refuses them on a
    /// call that does not stream). OpenAI sends usage on `transcript.text.done` unasked.
    pub stream_options: Option<StreamOptions>,
    /// Other form fields (openai-python's `extra_body`): a string is sent as it is, any other
    /// value as JSON text (vLLM's `vllm_xargs` is read that way). Not for a typed field's
    /// name (it would be sent twice).
    pub extra: Extra,
}

impl TranscriptionRequest {
    /// A request for `model` to transcribe `file`; every other field unset.
    ///
    /// ```
    /// use oai_compat::{Upload, types::TranscriptionRequest};
    /// let req = TranscriptionRequest::new("whisper-1", Upload::bytes("a.wav", vec![0u8; 44]));
    /// assert!(req.language.is_none() && req.extra.is_empty());
    /// ```
    pub fn new(model: impl Into<String>, file: Upload) -> Self {
        TranscriptionRequest {
            file,
            model: model.into(),
            language: None,
            prompt: None,
            response_format: None,
            temperature: None,
            timestamp_granularities: None,
            include: None,
            to_language: None,
            max_completion_tokens: None,
            seed: None,
            top_p: None,
            top_k: None,
            min_p: None,
            frequency_penalty: None,
            presence_penalty: None,
            repetition_penalty: None,
            stream_options: None,
            extra: Extra::new(),
        }
    }
}

/// A request to translate audio into English text (`POST /audio/translations`, a multipart
/// form). Sent as [`TranscriptionRequest`] is.
///
/// ```
/// use oai_compat::Upload;
/// use oai_compat::types::{AudioResponseFormat, TranslationRequest};
/// let req = TranslationRequest::new("whisper-1", Upload::path("german.m4a"))
///     .response_format(AudioResponseFormat::Text)
///     .prompt("A lecture on physics.");
/// assert_eq!(req.response_format, Some(AudioResponseFormat::Text));
/// ```
#[derive(Debug, Clone)]
pub struct TranslationRequest {
    /// The audio (flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav or webm), sent as the `file`
    /// field under its file name.
    pub file: Upload,
    /// The model, e.g. `whisper-1`, or the id vLLM serves.
    pub model: String,
    /// Text to guide the style, in English.
    pub prompt: Option<String>,
    /// The answer's format (default `json`); see [`AudioResponseFormat`] (not
    /// `diarized_json`).
    pub response_format: Option<AudioResponseFormat>,
    /// Sampling temperature, 0 to 1.
    pub temperature: Option<f32>,
    /// vLLM extra; OpenAI rejects it. The language of the audio, ISO-639-1.
    pub language: Option<String>,
    /// vLLM extra; OpenAI rejects it. The language to translate into (Whisper: `en` only).
    pub to_language: Option<String>,
    /// vLLM extra; OpenAI rejects it. The most tokens to generate.
    pub max_completion_tokens: Option<u32>,
    /// vLLM extra; OpenAI rejects it. Seed of the sampling.
    pub seed: Option<i64>,
    /// vLLM extra: usage in a streamed answer (vLLM streams translations, OpenAI does not);
    /// sent with `stream` only, as for [`TranscriptionRequest::stream_options`].
    pub stream_options: Option<StreamOptions>,
    /// Other form fields: a string is sent as it is, any other value as JSON text.
    pub extra: Extra,
}

impl TranslationRequest {
    /// A request for `model` to translate `file`; every other field unset.
    pub fn new(model: impl Into<String>, file: Upload) -> Self {
        TranslationRequest {
            file,
            model: model.into(),
            prompt: None,
            response_format: None,
            temperature: None,
            language: None,
            to_language: None,
            max_completion_tokens: None,
            seed: None,
            stream_options: None,
            extra: Extra::new(),
        }
    }
}

/// A transcription or translation, whatever its format.
///
/// `json` gives the `text` (and `usage`); `verbose_json` adds the `language`, the
/// `duration`, the `segments` and, when asked, the `words`; `text`, `srt` and `vtt` answers
/// are plain text, put in `text` as sent.
///
/// Decoded leniently: a missing or `null` field takes its default, the duration may be a
/// number or a numeric string (vLLM sends a string), and unknown keys (`task`, `logprobs`,
/// ...) go to `extra`.
///
/// ```
/// use oai_compat::types::Transcription;
/// let t: Transcription = serde_json::from_str(r#"{
///     "task": "transcribe", "language": "english", "duration": "2.5",
///     "text": " Hello there.",
///     "segments": [{"id": 0, "seek": 0, "start": 0.0, "end": 2.5, "text": " Hello there.",
///                   "tokens": [50364, 2425], "temperature": 0.0, "avg_logprob": -0.3,
///                   "compression_ratio": 0.8, "no_speech_prob": null}],
///     "usage": {"type": "duration", "seconds": 3}
/// }"#)?;
/// assert_eq!(t.duration, Some(2.5));
/// assert_eq!(t.segments[0].end, 2.5);
/// assert_eq!(t.usage.as_ref().and_then(|u| u.seconds), Some(3.0));
/// assert_eq!(t.extra["task"], "transcribe");
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Transcription {
    /// The text (the whole answer for `text`, `srt` and `vtt`).
    #[serde(deserialize_with = "null_default")]
    pub text: String,
    /// The language of the audio (`verbose_json`; OpenAI names it, e.g. `"english"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The duration of the audio in seconds (`verbose_json`, `diarized_json`).
    #[serde(
        deserialize_with = "lenient_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<f64>,
    /// Timed segments (`verbose_json`, `diarized_json`); empty otherwise.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub segments: Vec<TranscriptionSegment>,
    /// Timed words (`verbose_json` with [`TimestampGranularity::Word`]); empty otherwise.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub words: Vec<TranscriptionWord>,
    /// What the call used: seconds of audio, or tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<TranscriptionUsage>,
    /// Keys this crate has no field for (`task`, `logprobs`, `languages`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A segment's id: a number in `verbose_json`, a string (`"seg_001"`) in `diarized_json`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum SegmentId {
    /// A numeric id (`verbose_json`).
    Number(i64),
    /// A string id (`diarized_json`).
    Text(String),
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SegmentId::Number(n) => write!(f, "{n}"),
            SegmentId::Text(s) => f.write_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for SegmentId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = SegmentId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a segment id (number or string)")
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SegmentId, E> {
                Ok(SegmentId::Number(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SegmentId, E> {
                Ok(i64::try_from(v)
                    .map_or_else(|_| SegmentId::Text(v.to_string()), SegmentId::Number))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SegmentId, E> {
                // `as` saturates; a fractional id is kept as written.
                if v.fract() == 0.0 && v.abs() < 9.0e15 {
                    Ok(SegmentId::Number(v as i64))
                } else {
                    Ok(SegmentId::Text(v.to_string()))
                }
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<SegmentId, E> {
                Ok(SegmentId::Text(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<SegmentId, E> {
                Ok(SegmentId::Text(v))
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

/// A timed segment of a transcription (`verbose_json`), or a speaker's segment
/// (`diarized_json`, with `speaker`). Decoded leniently, unknown keys in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptionSegment {
    /// The segment's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<SegmentId>,
    /// Seek offset of the segment (a number is truncated to an integer).
    #[serde(
        deserialize_with = "lenient_opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub seek: Option<u64>,
    /// Start, in seconds.
    #[serde(deserialize_with = "null_default")]
    pub start: f64,
    /// End, in seconds.
    #[serde(deserialize_with = "null_default")]
    pub end: f64,
    /// The segment's text.
    #[serde(deserialize_with = "null_default")]
    pub text: String,
    /// The token ids of the text.
    #[serde(
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tokens: Vec<u32>,
    /// The temperature the segment was generated with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Average log-probability; below -1, consider the logprobs failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avg_logprob: Option<f64>,
    /// Compression ratio; above 2.4, consider the compression failed (repetitions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression_ratio: Option<f64>,
    /// Probability that the segment has no speech (vLLM sends `null`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_speech_prob: Option<f64>,
    /// The speaker's label (`diarized_json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// Keys this crate has no field for (`type` of a diarized segment, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A timed word of a transcription (`verbose_json` with [`TimestampGranularity::Word`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptionWord {
    /// The word.
    #[serde(deserialize_with = "null_default")]
    pub word: String,
    /// Start, in seconds.
    #[serde(deserialize_with = "null_default")]
    pub start: f64,
    /// End, in seconds.
    #[serde(deserialize_with = "null_default")]
    pub end: f64,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a transcription used: `{"type": "duration", "seconds": ..}` (Whisper, vLLM) or
/// `{"type": "tokens", "input_tokens": .., "output_tokens": .., "total_tokens": ..}`
/// (OpenAI's `gpt-4o-*-transcribe`). One lenient type for both: the fields of the other
/// kind are `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptionUsage {
    /// `"duration"` or `"tokens"`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Seconds of audio billed (`duration`).
    #[serde(
        deserialize_with = "lenient_seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub seconds: Option<f64>,
    /// Input tokens (`tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<u32>,
    /// Output tokens (`tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<u32>,
    /// Input plus output tokens (`tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_tokens: Option<u32>,
    /// The input tokens by kind (`tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_token_details: Option<AudioInputTokenDetails>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The input tokens of a transcription by kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AudioInputTokenDetails {
    /// Tokens of the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u32>,
    /// Tokens of the audio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u32>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One event of a streamed transcription or translation, in OpenAI's shape or in vLLM's.
///
/// OpenAI sends `transcript.text.delta` events, then one `transcript.text.done` with the
/// whole text and the usage, which ends the stream (`[DONE]` may follow or not). vLLM sends
/// [`ChatCompletionChunk`]-shaped chunks (`"object": "transcription.chunk"` or
/// `"translation.chunk"`, the text in `choices[0].delta.content`), a usage chunk when asked
/// ([`TranscriptionRequest::stream_options`]), then `[DONE]`.
/// [`text_delta`](Self::text_delta) gives the new text of either.
///
/// ```
/// use oai_compat::types::TranscriptionStreamEvent;
/// let openai: TranscriptionStreamEvent =
///     serde_json::from_str(r#"{"type":"transcript.text.delta","delta":" wonderful"}"#)?;
/// let vllm: TranscriptionStreamEvent = serde_json::from_str(
///     r#"{"id":"trsc-1","object":"transcription.chunk","created":1,"model":"whisper",
///         "choices":[{"delta":{"content":" world"}}]}"#,
/// )?;
/// assert_eq!(openai.text_delta(), Some(" wonderful"));
/// assert_eq!(vllm.text_delta(), Some(" world"));
/// assert_eq!(vllm.kind(), "transcription.chunk");
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TranscriptionStreamEvent {
    /// `transcript.text.delta` (OpenAI): more text.
    TextDelta(TranscriptTextDelta),
    /// `transcript.text.done` (OpenAI): the whole text and the usage. The last event.
    TextDone(TranscriptTextDone),
    /// `transcript.text.segment` (OpenAI, `diarized_json`): a speaker's finished segment.
    TextSegment(TranscriptionSegment),
    /// A vLLM chunk (`transcription.chunk`, `translation.chunk`): text deltas in
    /// `choices[0].delta.content`, the `finish_reason` on the last, `usage` on the usage
    /// chunk.
    Chunk(ChatCompletionChunk),
    /// Any other event, as sent.
    Unknown(Value),
}

impl TranscriptionStreamEvent {
    /// The text this event adds: a `transcript.text.delta`'s `delta`, a vLLM chunk's
    /// content; `None` for other events (and a chunk without content).
    pub fn text_delta(&self) -> Option<&str> {
        match self {
            TranscriptionStreamEvent::TextDelta(d) => Some(&d.delta),
            TranscriptionStreamEvent::Chunk(c) => {
                c.choices.first().and_then(|c| c.delta.content.as_deref())
            }
            _ => None,
        }
    }

    /// The event's `type` (OpenAI) or `object` (vLLM), e.g. `"transcript.text.delta"` or
    /// `"transcription.chunk"`; `""` when an unknown event has neither.
    pub fn kind(&self) -> &str {
        match self {
            TranscriptionStreamEvent::TextDelta(_) => TEXT_DELTA,
            TranscriptionStreamEvent::TextDone(_) => TEXT_DONE,
            TranscriptionStreamEvent::TextSegment(_) => TEXT_SEGMENT,
            TranscriptionStreamEvent::Chunk(c) => &c.object,
            TranscriptionStreamEvent::Unknown(v) => v
                .get("type")
                .or_else(|| v.get("object"))
                .and_then(Value::as_str)
                .unwrap_or(""),
        }
    }

    /// Whether this is the last event of OpenAI's stream (`transcript.text.done`).
    pub fn is_done(&self) -> bool {
        matches!(self, TranscriptionStreamEvent::TextDone(_))
    }
}

const TEXT_DELTA: &str = "transcript.text.delta";
const TEXT_DONE: &str = "transcript.text.done";
const TEXT_SEGMENT: &str = "transcript.text.segment";

impl<'de> Deserialize<'de> for TranscriptionStreamEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn decode<T: serde::de::DeserializeOwned, E: de::Error>(v: Value) -> Result<T, E> {
            serde_json::from_value(v).map_err(E::custom)
        }
        let mut v = Value::deserialize(deserializer)?;
        let kind = v.get("type").and_then(Value::as_str).map(str::to_owned);
        // The `type` is the variant's; it is not kept in the event's `extra`.
        let untag = |v: &mut Value| {
            if let Value::Object(o) = v {
                o.remove("type");
            }
        };
        Ok(match kind.as_deref() {
            Some(TEXT_DELTA) => {
                untag(&mut v);
                TranscriptionStreamEvent::TextDelta(decode(v)?)
            }
            Some(TEXT_DONE) => {
                untag(&mut v);
                TranscriptionStreamEvent::TextDone(decode(v)?)
            }
            Some(TEXT_SEGMENT) => {
                untag(&mut v);
                TranscriptionStreamEvent::TextSegment(decode(v)?)
            }
            None if v.get("choices").is_some_and(Value::is_array) => {
                TranscriptionStreamEvent::Chunk(decode(v)?)
            }
            _ => TranscriptionStreamEvent::Unknown(v),
        })
    }
}

impl Serialize for TranscriptionStreamEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Tagged<'a, T> {
            #[serde(rename = "type")]
            kind: &'a str,
            #[serde(flatten)]
            inner: &'a T,
        }
        match self {
            TranscriptionStreamEvent::TextDelta(e) => Tagged {
                kind: TEXT_DELTA,
                inner: e,
            }
            .serialize(serializer),
            TranscriptionStreamEvent::TextDone(e) => Tagged {
                kind: TEXT_DONE,
                inner: e,
            }
            .serialize(serializer),
            TranscriptionStreamEvent::TextSegment(e) => Tagged {
                kind: TEXT_SEGMENT,
                inner: e,
            }
            .serialize(serializer),
            TranscriptionStreamEvent::Chunk(c) => c.serialize(serializer),
            TranscriptionStreamEvent::Unknown(v) => v.serialize(serializer),
        }
    }
}

/// `transcript.text.delta`: more text of a streamed transcription (OpenAI).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptTextDelta {
    /// The new text.
    #[serde(deserialize_with = "null_default")]
    pub delta: String,
    /// The diarized segment the text belongs to (`gpt-4o-transcribe-diarize`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment_id: Option<String>,
    /// Keys this crate has no field for (`logprobs` with `include[]=logprobs`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `transcript.text.done`: the whole text of a streamed transcription, and its usage
/// (OpenAI). The last event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TranscriptTextDone {
    /// The whole text.
    #[serde(deserialize_with = "null_default")]
    pub text: String,
    /// What the call used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<TranscriptionUsage>,
    /// Keys this crate has no field for (`logprobs`, `languages`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Reads seconds leniently: a number, a numeric string (vLLM's `verbose_json` `duration`),
/// or `null`; a string that is not a number is `None`.
fn lenient_seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    struct SecondsVisitor;

    impl<'de> Visitor<'de> for SecondsVisitor {
        type Value = Option<f64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("seconds (a number or a numeric string) or null")
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.trim().parse::<f64>().ok().filter(|s| s.is_finite()))
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    deserializer.deserialize_any(SecondsVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn formats_serialise_as_openai_names() {
        for (f, name) in [
            (AudioResponseFormat::Json, "json"),
            (AudioResponseFormat::Text, "text"),
            (AudioResponseFormat::Srt, "srt"),
            (AudioResponseFormat::VerboseJson, "verbose_json"),
            (AudioResponseFormat::Vtt, "vtt"),
            (AudioResponseFormat::DiarizedJson, "diarized_json"),
        ] {
            assert_eq!(serde_json::to_value(f).unwrap(), json!(name));
            assert_eq!(f.as_str(), name);
            assert_eq!(f.to_string(), name);
        }
        assert_eq!(
            serde_json::to_value(TimestampGranularity::Word).unwrap(),
            json!("word")
        );
    }

    #[test]
    fn a_transcription_decodes_leniently() {
        let t: Transcription = serde_json::from_value(json!({
            "text": null, "language": null, "duration": "not a number",
            "segments": null, "words": [{"word": "hi", "start": 0, "end": null, "p": 1}],
            "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 101,
                      "total_tokens": 115,
                      "input_token_details": {"text_tokens": 10, "audio_tokens": 4}},
            "logprobs": [{"token": "hi", "logprob": -0.1}]
        }))
        .unwrap();
        assert_eq!(t.text, "");
        assert_eq!(t.duration, None);
        assert!(t.segments.is_empty());
        assert_eq!(t.words[0].word, "hi");
        assert_eq!(t.words[0].end, 0.0);
        assert_eq!(t.words[0].extra["p"], 1);
        let usage = t.usage.unwrap();
        assert_eq!(usage.kind.as_deref(), Some("tokens"));
        assert_eq!(usage.total_tokens, Some(115));
        assert_eq!(usage.input_token_details.unwrap().audio_tokens, Some(4));
        assert!(t.extra.contains_key("logprobs"));
        // An empty object is a transcription with no text.
        let empty: Transcription = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Transcription::default());
    }

    #[test]
    fn segment_ids_are_numbers_or_strings() {
        let segs: Vec<TranscriptionSegment> = serde_json::from_value(json!([
            {"id": 3, "seek": 30.0, "start": 1.5, "end": 2},
            {"id": "seg_001", "type": "transcript.text.segment", "speaker": "A"},
            {"id": 2.0}, {"id": null}
        ]))
        .unwrap();
        assert_eq!(segs[0].id, Some(SegmentId::Number(3)));
        assert_eq!(segs[0].seek, Some(30));
        assert_eq!(segs[0].end, 2.0);
        assert_eq!(segs[1].id, Some(SegmentId::Text("seg_001".into())));
        assert_eq!(segs[1].speaker.as_deref(), Some("A"));
        assert_eq!(segs[1].extra["type"], "transcript.text.segment");
        assert_eq!(segs[2].id, Some(SegmentId::Number(2)));
        assert_eq!(segs[3].id, None);
        assert_eq!(SegmentId::Text("s".into()).to_string(), "s");
        assert_eq!(
            serde_json::to_value(&segs[0]).unwrap()["id"],
            json!(3),
            "ids serialise as sent"
        );
    }

    #[test]
    fn stream_events_of_both_shapes() {
        let done: TranscriptionStreamEvent = serde_json::from_value(json!({
            "type": "transcript.text.done", "text": "I see skies",
            "usage": {"type": "tokens", "input_tokens": 14, "output_tokens": 31, "total_tokens": 45}
        }))
        .unwrap();
        assert!(done.is_done());
        assert_eq!(done.kind(), "transcript.text.done");
        assert_eq!(done.text_delta(), None);
        let TranscriptionStreamEvent::TextDone(d) = &done else {
            panic!("{done:?}")
        };
        assert_eq!(d.text, "I see skies");
        assert!(
            d.extra.is_empty(),
            "the type is the variant's: {:?}",
            d.extra
        );
        assert_eq!(
            serde_json::to_value(&done).unwrap()["type"],
            "transcript.text.done"
        );

        let delta: TranscriptionStreamEvent = serde_json::from_value(
            json!({"type": "transcript.text.delta", "delta": " I", "logprobs": []}),
        )
        .unwrap();
        assert_eq!(delta.text_delta(), Some(" I"));
        assert!(!delta.is_done());
        let back = serde_json::to_value(&delta).unwrap();
        assert_eq!(
            back,
            json!({"type": "transcript.text.delta", "delta": " I", "logprobs": []})
        );

        // vLLM: the last chunk has a finish reason; the usage chunk has no choices.
        let last: TranscriptionStreamEvent = serde_json::from_value(json!({
            "id": "trsl-1", "object": "translation.chunk", "created": 1, "model": "w",
            "choices": [{"delta": {"content": "."}, "finish_reason": "stop", "stop_reason": null}]
        }))
        .unwrap();
        assert_eq!(last.text_delta(), Some("."));
        assert_eq!(last.kind(), "translation.chunk");
        let usage: TranscriptionStreamEvent = serde_json::from_value(json!({
            "id": "trsc-1", "object": "transcription.chunk", "created": 1, "model": "w",
            "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        }))
        .unwrap();
        assert_eq!(usage.text_delta(), None);
        let TranscriptionStreamEvent::Chunk(c) = &usage else {
            panic!("{usage:?}")
        };
        assert_eq!(c.usage.as_ref().map(|u| u.total_tokens), Some(5));

        let other: TranscriptionStreamEvent =
            serde_json::from_value(json!({"type": "transcript.future", "x": 1})).unwrap();
        assert_eq!(other.kind(), "transcript.future");
        assert_eq!(other.text_delta(), None);
        assert!(matches!(other, TranscriptionStreamEvent::Unknown(_)));
    }

    #[test]
    fn a_known_event_of_the_wrong_shape_is_an_error_not_a_panic() {
        let bad = serde_json::from_value::<TranscriptionStreamEvent>(
            json!({"type": "transcript.text.delta", "delta": 5}),
        );
        assert!(bad.is_err());
    }
}
