//! The built-in answers of `/v1/audio/transcriptions` and `/v1/audio/translations`: a
//! multipart form in, a transcript made up from the file's name and size out, in every
//! response format, streamed as vLLM streams it (or as OpenAI does, see
//! [`MockServer::set_openai_transcription_stream`](super::MockServer::set_openai_transcription_stream)).

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::common::{bad_request, check_model, missing};
use super::multipart::FormPart;
use super::text::tokens;
use super::{RecordedRequest, Reply, Shared, now};

/// Seconds of audio per byte of the file: as if it were 16 kHz, 16-bit mono PCM.
const SECONDS_PER_BYTE: f64 = 1.0 / 32_000.0;
/// Words per segment of `verbose_json`, `srt` and `vtt` answers.
const WORDS_PER_SEGMENT: usize = 4;

/// Which endpoint: the transcript's wording, the `task`, the chunks' `object` and ids.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Task {
    Transcribe,
    Translate,
}

/// `POST /v1/audio/transcriptions`.
pub(super) fn transcriptions(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    answer(shared, req, Task::Transcribe)
}

/// `POST /v1/audio/translations`.
pub(super) fn translations(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    answer(shared, req, Task::Translate)
}

/// The request's form fields, read as vLLM reads them.
struct Fields {
    parts: Vec<FormPart>,
}

impl Fields {
    /// The text of the first field named `name`, `None` when absent.
    fn text(&self, name: &str) -> Result<Option<String>, Reply> {
        match self.parts.iter().find(|p| p.name == name) {
            None => Ok(None),
            Some(p) => String::from_utf8(p.data.clone())
                .map(Some)
                .map_err(|_| bad_request(&format!("'{name}' must be UTF-8 text."), Some(name))),
        }
    }

    /// Every value of the repeated field `name[]` (or `name`).
    fn list(&self, name: &str) -> Vec<String> {
        let brackets = format!("{name}[]");
        self.parts
            .iter()
            .filter(|p| p.name == brackets || p.name == name)
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
            .collect()
    }

    /// A boolean field (`true`/`false`, as form data sends them), `false` when absent.
    fn flag(&self, name: &str) -> Result<bool, Reply> {
        match self
            .text(name)?
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(bad_request(
                &format!("'{name}' must be a boolean, got '{other}'."),
                Some(name),
            )),
        }
    }

    /// A number field within `min..=max`, `None` when absent.
    fn number(&self, name: &str, min: f64, max: f64) -> Result<Option<f64>, Reply> {
        let Some(text) = self.text(name)? else {
            return Ok(None);
        };
        match text.trim().parse::<f64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(bad_request(
                &format!("'{name}' must be a number from {min} to {max}, got '{text}'."),
                Some(name),
            )),
        }
    }
}

/// What the answer says: the transcript, its words and its timing.
struct Transcript {
    text: String,
    duration: f64,
    language: String,
}

impl Transcript {
    /// The transcript's segments: `WORDS_PER_SEGMENT` words each, the duration shared out by
    /// words. Each is `(start, end, text)`; the texts concatenate to the transcript.
    fn segments(&self) -> Vec<(f64, f64, String)> {
        let words = tokens(&self.text);
        let per_word = self.duration / words.len().max(1) as f64;
        words
            .chunks(WORDS_PER_SEGMENT)
            .enumerate()
            .map(|(i, chunk)| {
                let first = i * WORDS_PER_SEGMENT;
                let start = round(first as f64 * per_word);
                let end = round((first + chunk.len()) as f64 * per_word);
                (start, end, chunk.concat())
            })
            .collect()
    }

    /// The timed words: `(start, end, word)`.
    fn words(&self) -> Vec<(f64, f64, String)> {
        let words = tokens(&self.text);
        let per_word = self.duration / words.len().max(1) as f64;
        words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let start = round(i as f64 * per_word);
                let end = round((i + 1) as f64 * per_word);
                (start, end, w.trim().to_owned())
            })
            .collect()
    }
}

/// Rounds to milliseconds.
fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

fn answer(shared: &Shared, req: &RecordedRequest, task: Task) -> Result<Reply, Reply> {
    let Some(parts) = req.form() else {
        return Err(bad_request(
            "The request body must be multipart/form-data with a 'file' field.",
            None,
        ));
    };
    let fields = Fields { parts };
    let Some(file) = fields.parts.iter().find(|p| p.name == "file") else {
        return Err(missing("file"));
    };
    let Some(filename) = file.filename.clone() else {
        // FastAPI's `UploadFile` needs a file part, not a text field.
        return Err(bad_request(
            "Expected 'file' to be a file-like object, not 'str'.",
            Some("file"),
        ));
    };
    let model = match fields.text("model")? {
        None => return Err(missing("model")),
        Some(m) => m,
    };
    check_model(shared, &model)?;
    let format = fields.text("response_format")?;
    let format = format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "text" | "srt" | "verbose_json" | "vtt") {
        return Err(bad_request(
            &format!(
                "Currently only support response_format: `json`, `text`, `srt`, \
                 `verbose_json` or `vtt`, got `{format}`."
            ),
            Some("response_format"),
        ));
    }
    fields.number("temperature", 0.0, 1.0)?;
    let granularities = fields.list("timestamp_granularities");
    if let Some(bad) = granularities
        .iter()
        .find(|g| !matches!(g.as_str(), "word" | "segment"))
    {
        return Err(bad_request(
            &format!("'timestamp_granularities[]' must be 'word' or 'segment', got '{bad}'."),
            Some("timestamp_granularities"),
        ));
    }
    let stream = fields.flag("stream")?;
    let include_usage = fields.flag("stream_include_usage")?;
    let continuous = fields.flag("stream_continuous_usage_stats")?;
    if (include_usage || continuous) && !stream {
        let param = if include_usage {
            "stream_include_usage"
        } else {
            "stream_continuous_usage_stats"
        };
        return Err(bad_request(
            "Stream options can only be defined when `stream=True`.",
            Some(param),
        ));
    }
    if stream && format == "verbose_json" {
        return Err(bad_request(
            "verbose_json format doesn't support streaming case",
            Some("response_format"),
        ));
    }

    let what = match task {
        Task::Transcribe => "transcription",
        Task::Translate => "translation",
    };
    let transcript = Transcript {
        text: format!("Mock {what} of {filename}, {} bytes.", file.data.len()),
        duration: round(file.data.len() as f64 * SECONDS_PER_BYTE),
        language: match task {
            Task::Transcribe => fields.text("language")?.unwrap_or_else(|| "en".to_owned()),
            Task::Translate => "en".to_owned(),
        },
    };

    if stream {
        if shared.openai_transcription_stream.load(Ordering::Relaxed) {
            return Ok(openai_stream(&transcript));
        }
        let usage = match (include_usage, continuous) {
            (false, _) => Usage::None,
            (true, false) => Usage::Final,
            (true, true) => Usage::Continuous,
        };
        return Ok(vllm_stream(shared, task, &model, &transcript, usage));
    }
    let seconds = transcript.duration.ceil() as u64;
    Ok(match format {
        "srt" => Reply::text(200, "text/plain; charset=utf-8", srt(&transcript)),
        "vtt" => Reply::text(200, "text/plain; charset=utf-8", vtt(&transcript)),
        "verbose_json" => {
            let segments: Vec<Value> = transcript
                .segments()
                .into_iter()
                .enumerate()
                .map(|(i, (start, end, text))| {
                    let ids: Vec<u32> = tokens(&text)
                        .iter()
                        .map(|w| super::text::token_id(w.trim()))
                        .collect();
                    json!({
                        "id": i, "seek": 0, "start": start, "end": end, "text": text,
                        "tokens": ids, "temperature": 0.0, "avg_logprob": -0.25,
                        "compression_ratio": 1.0, "no_speech_prob": null,
                    })
                })
                .collect();
            // vLLM's keys (no `task`, `words: null`); the words are the mock's own.
            let words = granularities.iter().any(|g| g == "word").then(|| {
                transcript
                    .words()
                    .into_iter()
                    .map(|(start, end, word)| json!({"word": word, "start": start, "end": end}))
                    .collect::<Vec<Value>>()
            });
            let body = json!({
                "duration": transcript.duration,
                "language": transcript.language,
                "text": transcript.text,
                "segments": segments,
                "words": words,
            });
            Reply::json(200, body.to_string())
        }
        // `json`, and `text` too: vLLM answers `text` with its `json` answer.
        _ => {
            // vLLM: usage on transcriptions only.
            let body = match task {
                Task::Transcribe => json!({
                    "text": transcript.text,
                    "usage": {"type": "duration", "seconds": seconds},
                }),
                Task::Translate => json!({"text": transcript.text}),
            };
            Reply::json(200, body.to_string())
        }
    })
}

/// vLLM's stream: one chunk per word, a last chunk with no text and the `finish_reason`, a
/// usage chunk when asked (running usage on every chunk with `continuous`), then `[DONE]`.
fn vllm_stream(
    shared: &Shared,
    task: Task,
    model: &str,
    transcript: &Transcript,
    usage: Usage,
) -> Reply {
    let (prefix, object) = match task {
        Task::Transcribe => ("transcribe", "transcription.chunk"),
        Task::Translate => ("translate", "translation.chunk"),
    };
    let id = format!("{prefix}-mock-{}", shared.next_id());
    let created = now();
    let words = tokens(&transcript.text);
    // As vLLM counts: a few decoder prompt tokens and the audio's.
    let prompt_tokens = 4 + (transcript.duration.ceil() as usize);
    let chunk = |choices: Value, done: usize, with_usage: bool| {
        let mut c = json!({
            "id": id, "object": object, "created": created, "model": model, "choices": choices,
        });
        if with_usage {
            c["usage"] = json!({
                "prompt_tokens": prompt_tokens,
                "completion_tokens": done,
                "total_tokens": prompt_tokens + done,
            });
        }
        c.to_string()
    };
    let continuous = usage == Usage::Continuous;
    let mut reply = Reply::sse();
    for (i, word) in words.iter().enumerate() {
        reply = reply.event(chunk(
            json!([{"delta": {"content": word}}]),
            i + 1,
            continuous,
        ));
    }
    let last = json!([{"delta": {"content": ""}, "finish_reason": "stop", "stop_reason": null}]);
    reply = reply.event(chunk(last, words.len(), continuous));
    if usage != Usage::None {
        reply = reply.event(chunk(json!([]), words.len(), true));
    }
    reply.done()
}

/// The usage a vLLM stream reports.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Usage {
    None,
    /// A usage chunk at the end (`stream_include_usage`).
    Final,
    /// And running usage on every chunk (`stream_continuous_usage_stats` too).
    Continuous,
}

/// OpenAI's stream: `transcript.text.delta` per word, then `transcript.text.done` with the
/// text and the usage, and no `[DONE]`.
fn openai_stream(transcript: &Transcript) -> Reply {
    let words = tokens(&transcript.text);
    let mut reply = Reply::sse();
    for word in &words {
        let delta = json!({"type": "transcript.text.delta", "delta": word, "logprobs": []});
        reply = reply.event(delta.to_string());
    }
    let input = 1 + (transcript.duration.ceil() as usize);
    let done = json!({
        "type": "transcript.text.done",
        "text": transcript.text,
        "logprobs": [],
        "usage": {
            "type": "tokens",
            "input_tokens": input,
            "input_token_details": {"text_tokens": 0, "audio_tokens": input},
            "output_tokens": words.len(),
            "total_tokens": input + words.len(),
        },
    });
    reply.event(done.to_string())
}

/// `HH:MM:SS` and milliseconds after `separator` (`,` for SRT, `.` for WebVTT).
fn timestamp(seconds: f64, separator: char) -> String {
    let ms = (seconds * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// SubRip subtitles of the segments.
fn srt(transcript: &Transcript) -> String {
    transcript
        .segments()
        .iter()
        .enumerate()
        .map(|(i, (start, end, text))| {
            format!(
                "{}\n{} --> {}\n{}\n\n",
                i + 1,
                timestamp(*start, ','),
                timestamp(*end, ','),
                text.trim()
            )
        })
        .collect()
}

/// WebVTT subtitles of the segments.
fn vtt(transcript: &Transcript) -> String {
    let cues: String = transcript
        .segments()
        .iter()
        .map(|(start, end, text)| {
            format!(
                "{} --> {}\n{}\n\n",
                timestamp(*start, '.'),
                timestamp(*end, '.'),
                text.trim()
            )
        })
        .collect();
    format!("WEBVTT\n\n{cues}")
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use serde_json::{Value, json};

    use crate::MockServer;

    const BOUNDARY: &str = "mockboundary";

    /// A multipart body of text fields and one optional file part.
    fn form(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> Vec<u8> {
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        if let Some((filename, data)) = file {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\ncontent-type: audio/wav\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        body
    }

    /// POSTs `body` to `path`; the status, the content type and the body (de-chunked).
    fn post(server: &MockServer, path: &str, body: &[u8]) -> (u16, String, String) {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: \
             multipart/form-data; boundary={BOUNDARY}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (head, rest) = raw.split_once("\r\n\r\n").unwrap();
        let status = head[9..12].parse().unwrap();
        let header = |name: &str| {
            head.lines()
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
                })
                .unwrap_or_default()
        };
        let body = if header("transfer-encoding").contains("chunked") {
            let mut out = String::new();
            let mut rest = rest;
            loop {
                let (size, after) = rest.split_once("\r\n").unwrap();
                let size = usize::from_str_radix(size, 16).unwrap();
                if size == 0 {
                    break;
                }
                out.push_str(&after[..size]);
                rest = &after[size + 2..];
            }
            out
        } else {
            rest.to_owned()
        };
        (status, header("content-type"), body)
    }

    fn data(body: &str) -> Vec<&str> {
        body.split("\n\n")
            .filter_map(|e| e.strip_prefix("data: "))
            .collect()
    }

    #[test]
    fn every_format_says_the_same_transcript() {
        let server = MockServer::start().unwrap();
        let audio = vec![7u8; 64_000];
        let file = Some(("talk.wav", audio.as_slice()));
        let path = "/v1/audio/transcriptions";
        let (status, _, body) = post(&server, path, &form(&[("model", "mock-model")], file));
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let text = "Mock transcription of talk.wav, 64000 bytes.";
        assert_eq!(
            v,
            json!({"text": text, "usage": {"type": "duration", "seconds": 2}})
        );

        // vLLM answers `text` with its `json` answer.
        let fields = [("model", "mock-model"), ("response_format", "text")];
        let (_, ct, body) = post(&server, path, &form(&fields, file));
        assert!(ct.starts_with("application/json"), "{ct}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["text"], text);

        let fields = [("model", "mock-model"), ("response_format", "srt")];
        let (_, ct, body) = post(&server, path, &form(&fields, file));
        assert!(ct.starts_with("text/plain"), "{ct}");
        assert_eq!(
            body,
            "1\n00:00:00,000 --> 00:00:01,333\nMock transcription of talk.wav,\n\n\
             2\n00:00:01,333 --> 00:00:02,000\n64000 bytes.\n\n"
        );
        let fields = [("model", "mock-model"), ("response_format", "vtt")];
        let (_, _, body) = post(&server, path, &form(&fields, file));
        assert!(
            body.starts_with("WEBVTT\n\n00:00:00.000 --> 00:00:01.333\n"),
            "{body}"
        );

        let fields = [
            ("model", "mock-model"),
            ("response_format", "verbose_json"),
            ("timestamp_granularities[]", "word"),
            ("timestamp_granularities[]", "segment"),
            ("language", "de"),
        ];
        let (_, _, body) = post(&server, path, &form(&fields, file));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["duration"], 2.0);
        assert_eq!(v["language"], "de");
        assert_eq!(v["segments"].as_array().unwrap().len(), 2);
        assert_eq!(v["segments"][1]["text"], "64000 bytes.");
        assert_eq!(v["words"].as_array().unwrap().len(), 6);
        assert_eq!(
            v["words"][5],
            json!({"word": "bytes.", "start": 1.667, "end": 2.0})
        );
        let fields = [("model", "mock-model"), ("response_format", "verbose_json")];
        let (_, _, body) = post(&server, path, &form(&fields, file));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["words"], Value::Null);
        assert_eq!(v["language"], "en");

        let path = "/v1/audio/translations";
        let (_, _, body) = post(&server, path, &form(&[("model", "mock-model")], file));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v,
            json!({"text": "Mock translation of talk.wav, 64000 bytes."})
        );
    }

    #[test]
    fn streams_in_vllm_chunks_or_openai_events() {
        let server = MockServer::start().unwrap();
        let file = Some(("a.mp3", &b"abc"[..]));
        let path = "/v1/audio/translations";
        let fields = [
            ("model", "mock-model"),
            ("stream", "true"),
            ("stream_include_usage", "true"),
        ];
        let (status, ct, body) = post(&server, path, &form(&fields, file));
        assert_eq!(status, 200, "{body}");
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        let events = data(&body);
        assert_eq!(events.last(), Some(&"[DONE]"));
        let chunks: Vec<Value> = events[..events.len() - 1]
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "Mock translation of a.mp3, 3 bytes.");
        assert!(chunks.iter().all(|c| c["object"] == "translation.chunk"));
        let n = chunks.len();
        // As vLLM: the finish reason on a last chunk of no text, then the usage.
        assert_eq!(
            chunks[n - 2]["choices"][0],
            json!({"delta": {"content": ""}, "finish_reason": "stop", "stop_reason": null})
        );
        assert_eq!(chunks[n - 1]["usage"]["completion_tokens"], 6);
        assert!(chunks[..n - 1].iter().all(|c| c.get("usage").is_none()));
        assert!(chunks[0]["id"].as_str().unwrap().starts_with("translate-"));

        // Running usage on every chunk.
        let fields = [
            ("model", "mock-model"),
            ("stream", "true"),
            ("stream_include_usage", "true"),
            ("stream_continuous_usage_stats", "true"),
        ];
        let (_, _, body) = post(&server, path, &form(&fields, file));
        let events = data(&body);
        let counts: Vec<u64> = events[..events.len() - 1]
            .iter()
            .map(|e| {
                serde_json::from_str::<Value>(e).unwrap()["usage"]["completion_tokens"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(counts, [1, 2, 3, 4, 5, 6, 6, 6]);

        server.set_openai_transcription_stream(true);
        let path = "/v1/audio/transcriptions";
        let fields = [("model", "mock-model"), ("stream", "true")];
        let (_, _, body) = post(&server, path, &form(&fields, file));
        let events: Vec<Value> = data(&body)
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect();
        let (done, deltas) = events.split_last().unwrap();
        assert_eq!(done["type"], "transcript.text.done");
        assert_eq!(done["text"], "Mock transcription of a.mp3, 3 bytes.");
        let text: String = deltas
            .iter()
            .map(|d| d["delta"].as_str().unwrap())
            .collect();
        assert_eq!(text, done["text"]);
    }

    #[test]
    fn bad_forms_get_400_in_openai_shape() {
        let server = MockServer::start().unwrap();
        let file = Some(("a.wav", &b"x"[..]));
        let path = "/v1/audio/transcriptions";
        let cases: Vec<(Vec<u8>, u16, Option<&str>)> = vec![
            (form(&[("model", "mock-model")], None), 400, Some("file")),
            (
                form(&[("file", "not a file"), ("model", "mock-model")], None),
                400,
                Some("file"),
            ),
            (form(&[], file), 400, Some("model")),
            (form(&[("model", "nope")], file), 404, Some("model")),
            (
                form(&[("model", "mock-model"), ("response_format", "xml")], file),
                400,
                Some("response_format"),
            ),
            (
                form(&[("model", "mock-model"), ("temperature", "hot")], file),
                400,
                Some("temperature"),
            ),
            (
                form(
                    &[("model", "mock-model"), ("stream_include_usage", "true")],
                    file,
                ),
                400,
                Some("stream_include_usage"),
            ),
            (
                form(
                    &[
                        ("model", "mock-model"),
                        ("stream", "true"),
                        ("response_format", "verbose_json"),
                    ],
                    file,
                ),
                400,
                Some("response_format"),
            ),
            (b"{\"model\":\"mock-model\"}".to_vec(), 400, None),
        ];
        for (body, status, param) in cases {
            let (got, _, text) = post(&server, path, &body);
            assert_eq!(got, status, "{text}");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"]["param"].as_str(), param, "{text}");
            assert!(v["error"]["message"].is_string(), "{text}");
        }
    }
}
