//! `/audio/transcriptions` and `/audio/translations`: audio in, text out, as multipart forms.

use std::borrow::Borrow;
use std::fmt::Display;

use crate::bounded;
use crate::call::Path;
use crate::error::{Error, Result};
use crate::response::{Response, ResponseMeta};
use crate::stream::{Ending, Ends, EventStream};
use crate::types::{
    AudioResponseFormat, Extra, StreamOptions, Transcription, TranscriptionRequest,
    TranscriptionStreamEvent, TranslationRequest,
};
use crate::{Form, Upload};

/// A stream of transcription (or translation) events, in OpenAI's shape or vLLM's; see
/// [`TranscriptionStreamEvent`]. It ends after `transcript.text.done` or `data: [DONE]`.
pub type TranscriptionStream = EventStream<TranscriptionStreamEvent>;

super::handle!(
    /// Transcriptions and translations of audio. Get one with
    /// [`Client::audio`](crate::Client::audio).
    Audio
);

const TRANSCRIPTIONS: &str = "/audio/transcriptions";
const TRANSLATIONS: &str = "/audio/translations";

/// How a transcription stream ends: after OpenAI's `transcript.text.done` (which may come
/// without a `[DONE]` after it), or at vLLM's `[DONE]`.
pub(crate) fn ending() -> Ending<TranscriptionStreamEvent> {
    Ending {
        classify: Some(|event| {
            if event.is_done() {
                Ends::After
            } else {
                Ends::No
            }
        }),
        expected: "a `transcript.text.done` event or `data: [DONE]`",
        done_ends: true,
    }
}

/// A multipart form built field by field, as openai-python sends one: a field per value,
/// lists as repeated `name[]` fields, nothing for what is unset.
struct Fields(Form);

impl Fields {
    fn new(model: &str) -> Self {
        Fields(Form::new().text("model", model))
    }

    fn text(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => Fields(self.0.text(name, v)),
            None => self,
        }
    }

    fn value<T: Display>(self, name: &str, value: Option<T>) -> Self {
        match value {
            Some(v) => Fields(self.0.text(name, v.to_string())),
            None => self,
        }
    }

    fn format(self, value: Option<AudioResponseFormat>) -> Self {
        self.text("response_format", value.map(AudioResponseFormat::as_str))
    }

    fn list<T: Display>(self, name: &str, values: Option<&[T]>) -> Self {
        let name = format!("{name}[]");
        Fields(
            values
                .unwrap_or_default()
                .iter()
                .fold(self.0, |form, v| form.text(name.as_str(), v.to_string())),
        )
    }

    /// `stream=true` and vLLM's flat stream options, for streamed calls only.
    fn stream(self, stream: bool, options: Option<&StreamOptions>) -> Self {
        if !stream {
            return self;
        }
        let options = options.cloned().unwrap_or_default();
        Fields(self.0.text("stream", "true"))
            .value("stream_include_usage", options.include_usage)
            .value(
                "stream_continuous_usage_stats",
                options.continuous_usage_stats,
            )
    }

    /// The `extra` fields: strings as they are, other values as JSON text (`null`: none).
    fn extra(self, extra: &Extra) -> Self {
        Fields(extra.iter().fold(self.0, |form, (k, v)| match v {
            serde_json::Value::Null => form,
            serde_json::Value::String(s) => form.text(k.as_str(), s.as_str()),
            other => form.text(k.as_str(), other.to_string()),
        }))
    }

    /// The form, the file last (as httpx puts files after the other fields).
    fn file(self, upload: &Upload) -> Form {
        self.0.file("file", upload.clone())
    }
}

/// `Ok` when every number set is finite: a form has no NaN either, and a server would read
/// `NaN` as text or as its default (the JSON calls refuse them the same way).
fn finite(numbers: &[(&str, Option<f32>)]) -> Result<()> {
    for (name, value) in numbers {
        if let Some(v) = value.filter(|v| !v.is_finite()) {
            return Err(Error::invalid_request(format!(
                "the request field `{name}` is {v}: a form field must be a finite number; use a finite number"
            )));
        }
    }
    Ok(())
}

/// The form of a transcription request (`stream`: a streamed call's).
pub(crate) fn transcription_form(req: &TranscriptionRequest, stream: bool) -> Result<Form> {
    finite(&[
        ("temperature", req.temperature),
        ("top_p", req.top_p),
        ("min_p", req.min_p),
        ("frequency_penalty", req.frequency_penalty),
        ("presence_penalty", req.presence_penalty),
        ("repetition_penalty", req.repetition_penalty),
    ])?;
    Ok(Fields::new(&req.model)
        .text("language", req.language.as_deref())
        .text("prompt", req.prompt.as_deref())
        .format(req.response_format)
        .value("temperature", req.temperature)
        .list(
            "timestamp_granularities",
            req.timestamp_granularities.as_deref(),
        )
        .list("include", req.include.as_deref())
        .text("to_language", req.to_language.as_deref())
        .value("max_completion_tokens", req.max_completion_tokens)
        .value("seed", req.seed)
        .value("top_p", req.top_p)
        .value("top_k", req.top_k)
        .value("min_p", req.min_p)
        .value("frequency_penalty", req.frequency_penalty)
        .value("presence_penalty", req.presence_penalty)
        .value("repetition_penalty", req.repetition_penalty)
        .stream(stream, req.stream_options.as_ref())
        .extra(&req.extra)
        .file(&req.file))
}

/// The form of a translation request (`stream`: a streamed call's).
pub(crate) fn translation_form(req: &TranslationRequest, stream: bool) -> Result<Form> {
    finite(&[("temperature", req.temperature)])?;
    Ok(Fields::new(&req.model)
        .text("prompt", req.prompt.as_deref())
        .format(req.response_format)
        .value("temperature", req.temperature)
        .text("language", req.language.as_deref())
        .text("to_language", req.to_language.as_deref())
        .value("max_completion_tokens", req.max_completion_tokens)
        .value("seed", req.seed)
        .stream(stream, req.stream_options.as_ref())
        .extra(&req.extra)
        .file(&req.file))
}

/// Refuses a stream no server sends: `srt`, `vtt` and `verbose_json` are never streamed.
/// vLLM refuses `verbose_json` with `stream` and has no `srt` or `vtt`; OpenAI's
/// `gpt-4o-*-transcribe` models answer `json` (and `text`, `diarized_json`) only, and
/// `whisper-1` ignores `stream` and answers with the whole document, which no event stream
/// can decode. `text` is let through: vLLM streams it as it streams `json`.
fn check_streamable(format: Option<AudioResponseFormat>) -> Result<()> {
    match format {
        Some(
            f @ (AudioResponseFormat::Srt
            | AudioResponseFormat::Vtt
            | AudioResponseFormat::VerboseJson),
        ) => Err(Error::invalid_request(format!(
            "no server streams response_format `{f}`: stream `json` (or `text`), or make a \
             call that does not stream"
        ))),
        _ => Ok(()),
    }
}

/// The transcription of a text format's answer: the body as it is, unless the server says
/// it is JSON with a `text` (vLLM answers `text` with its `json` answer; Prism every format),
/// which is decoded as such.
fn from_text(body: String, meta: &ResponseMeta, multiple: usize) -> Transcription {
    let json = meta
        .headers
        .get("content-type")
        .is_some_and(|t| t.trim_start().starts_with("application/json"));
    if json && body.contains("\"text\"") {
        if let Ok(t) = bounded::from_str::<Transcription>(&body, multiple) {
            return t;
        }
    }
    Transcription {
        text: body,
        ..Transcription::default()
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Audio<'_> {
    /// Transcribes audio (`POST /audio/transcriptions`), in any
    /// [`AudioResponseFormat`]: JSON formats are decoded, `text`, `srt` and `vtt` answers
    /// land in [`Transcription::text`] as sent (a server that answers them with JSON
    /// anyway, as vLLM does `text`, has its JSON decoded: `text` holds the text either way).
    ///
    /// The file is read as the form is sent (a file on disk is streamed, and sent again
    /// from its start on a retry). The request is taken by reference or by value.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, Upload};
    /// use oai_compat::types::{AudioResponseFormat, TranscriptionRequest};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let req = TranscriptionRequest::new("openai/whisper-large-v3", Upload::path("talk.wav"))
    ///     .language("en")
    ///     .response_format(AudioResponseFormat::VerboseJson);
    /// let out = client.audio().transcriptions(&req)?;
    /// for segment in &out.segments {
    ///     println!("[{:6.2} - {:6.2}] {}", segment.start, segment.end, segment.text);
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn transcriptions(
        &self,
        req: impl Borrow<TranscriptionRequest>,
    ) -> Result<Transcription> {
        let req: &TranscriptionRequest = req.borrow();
        Ok(self.transcriptions_with_meta(req).await?.value)
    }

    /// [`Audio::transcriptions`], with the response's status, headers and retry count.
    pub async fn transcriptions_with_meta(
        &self,
        req: impl Borrow<TranscriptionRequest>,
    ) -> Result<Response<Transcription>> {
        let req: &TranscriptionRequest = req.borrow();
        let form = transcription_form(req, false)?;
        self.send(TRANSCRIPTIONS, &form, req.response_format, "transcription")
            .await
    }

    /// Streams a transcription: sends `stream=true` (and the request's `stream_options` as
    /// vLLM's `stream_include_usage` / `stream_continuous_usage_stats`). Retried only until
    /// the response headers arrive.
    ///
    /// The stream yields [`TranscriptionStreamEvent`]s, in OpenAI's shape
    /// (`transcript.text.delta`, then `transcript.text.done`, which ends it) or vLLM's
    /// (chunks, ended by `[DONE]`); [`TranscriptionStreamEvent::text_delta`] reads either,
    /// and [`TranscriptionStream::final_text`] collects the whole text. A body that ends
    /// before either end is a `Truncated` [`Error::Stream`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`], before anything is sent, for a `response_format` no server
    /// streams (`srt`, `vtt`, `verbose_json`); the call's errors otherwise.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, Upload, types::TranscriptionRequest};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let req = TranscriptionRequest::new("openai/whisper-large-v3", Upload::path("talk.wav"));
    /// let mut stream = client.audio().transcriptions_stream(&req)?;
    /// while let Some(event) = stream.try_next()? {
    ///     print!("{}", event.text_delta().unwrap_or_default());
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn transcriptions_stream(
        &self,
        req: impl Borrow<TranscriptionRequest>,
    ) -> Result<TranscriptionStream> {
        let req: &TranscriptionRequest = req.borrow();
        check_streamable(req.response_format)?;
        let form = transcription_form(req, true)?;
        self.stream(TRANSCRIPTIONS, &form).await
    }

    /// Translates audio into English text (`POST /audio/translations`), in any
    /// [`AudioResponseFormat`] but `diarized_json`, as [`Audio::transcriptions`] does.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, Upload};
    /// use oai_compat::types::{AudioResponseFormat, TranslationRequest};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let req = TranslationRequest::new("whisper-1", Upload::path("german.m4a"))
    ///     .response_format(AudioResponseFormat::Srt);
    /// let subtitles = client.audio().translations(&req)?.text;
    /// std::fs::write("english.srt", subtitles)?;
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub async fn translations(
        &self,
        req: impl Borrow<TranslationRequest>,
    ) -> Result<Transcription> {
        let req: &TranslationRequest = req.borrow();
        Ok(self.translations_with_meta(req).await?.value)
    }

    /// [`Audio::translations`], with the response's status, headers and retry count.
    pub async fn translations_with_meta(
        &self,
        req: impl Borrow<TranslationRequest>,
    ) -> Result<Response<Transcription>> {
        let req: &TranslationRequest = req.borrow();
        let form = translation_form(req, false)?;
        self.send(TRANSLATIONS, &form, req.response_format, "translation")
            .await
    }

    /// Streams a translation, as [`Audio::transcriptions_stream`] does: vLLM streams
    /// translations (`translation.chunk` events); OpenAI does not.
    ///
    /// # Errors
    ///
    /// As [`Audio::transcriptions_stream`].
    pub async fn translations_stream(
        &self,
        req: impl Borrow<TranslationRequest>,
    ) -> Result<TranscriptionStream> {
        let req: &TranslationRequest = req.borrow();
        check_streamable(req.response_format)?;
        let form = translation_form(req, true)?;
        self.stream(TRANSLATIONS, &form).await
    }

    /// Sends `form` and reads the answer as `format` says: JSON decoded, text as it is.
    async fn send(
        &self,
        path: &str,
        form: &Form,
        format: Option<AudioResponseFormat>,
        what: &'static str,
    ) -> Result<Response<Transcription>> {
        if format.is_none_or(AudioResponseFormat::is_json) {
            return self
                .engine
                .post_form(Path::Api(path), form, &self.options, what)
                .await;
        }
        let text = self
            .engine
            .post_form_text(Path::Api(path), form, &self.options, what)
            .await?;
        let value = from_text(
            text.value,
            &text.meta,
            self.engine.config.max_decoded_multiple,
        );
        Ok(Response {
            value,
            meta: text.meta,
        })
    }

    async fn stream(&self, path: &str, form: &Form) -> Result<TranscriptionStream> {
        let stream = self
            .engine
            .post_form_stream(Path::Api(path), form, &self.options)
            .await?;
        Ok(stream.with_ending(ending()))
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl TranscriptionStream {
    /// Reads the stream to its end and returns the whole text: the text of
    /// `transcript.text.done` (OpenAI), else the text deltas joined (vLLM).
    ///
    /// # Errors
    ///
    /// The stream's errors ([`Error::Stream`] for an in-band error or a cut body).
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, Upload, types::TranscriptionRequest};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let req = TranscriptionRequest::new("openai/whisper-large-v3", Upload::path("talk.wav"));
    /// let text = client.audio().transcriptions_stream(&req)?.final_text()?;
    /// println!("{text}");
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn final_text(mut self) -> Result<String> {
        let mut text = String::new();
        while let Some(event) = self.try_next().await? {
            match event {
                TranscriptionStreamEvent::TextDone(done) => return Ok(done.text),
                other => text.push_str(other.text_delta().unwrap_or_default()),
            }
        }
        Ok(text)
    }
}
