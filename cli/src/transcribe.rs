//! `oai transcribe FILE`: speech to text through /audio/transcriptions (or with `--translate`
//! /audio/translations). The audio is streamed from disk (`-`: stdin, read once). The text
//! formats (text, srt, vtt) are printed as the server sent them; the JSON formats as one JSON
//! line. `--stream` prints the text as it comes; `-o FILE` writes the answer whole or not at all.

use std::io::{self, Write};

use oai_compat::Upload;
use oai_compat::types::{AudioResponseFormat, TranscriptionRequest, TranslationRequest};

use crate::args::{Global, TranscribeArgs};
use crate::connect::Explain;
use crate::fail::Failure;
use crate::{connect, files, out, save};

pub fn run(g: &Global, a: &TranscribeArgs) -> Result<(), Failure> {
    let format = format(&a.format)?;
    let json = matches!(a.format.as_str(), "json" | "verbose_json");
    if a.stream && !matches!(a.format.as_str(), "text" | "json") {
        return Err(Failure::usage(format!(
            "--stream sends the text as it comes: use --format text or json, not {}",
            a.format
        )));
    }
    let (path, default_name, _spool) = files::source(&a.file, "audio.wav")?;
    let upload = Upload::path(path).filename(a.filename.clone().unwrap_or(default_name));
    let client = connect::client(g, 1)?;
    let model = connect::model(&client, a.model.as_deref())?;
    let route = if a.translate {
        "/audio/translations"
    } else {
        "/audio/transcriptions"
    };
    if a.stream {
        let req = request(&model, upload, a, format);
        let stream = client
            .audio()
            .transcriptions_stream(&req)
            .explained(&client, route)?;
        return print_stream(stream, json);
    }
    let answer = if a.translate {
        let mut req = TranslationRequest::new(&model, upload);
        req.response_format = Some(format);
        req.prompt = a.prompt.clone();
        req.temperature = a.temperature;
        req.language = a.language.clone();
        client.audio().translations(&req)
    } else {
        client
            .audio()
            .transcriptions(request(&model, upload, a, format))
    }
    .explained(&client, route)?;
    // What is printed (or saved): the server's text as it is, or the object as JSON.
    let mut text = if json {
        serde_json::to_string(&answer)
            .map_err(|e| Failure::error(format!("the answer as JSON: {e}")))?
    } else {
        answer.text
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match a.output.as_deref() {
        Some(p) if p != std::path::Path::new("-") => save::atomically(
            p,
            |f| {
                f.write_all(text.as_bytes())
                    .map_err(|e| Failure::error(format!("{}: {e}", p.display())))
            },
            |e| Failure::error(format!("{}: {e}", p.display())),
        ),
        _ => out::flush_text(&mut io::stdout().lock(), &text),
    }
}

fn format(f: &str) -> Result<AudioResponseFormat, Failure> {
    Ok(match f {
        "text" => AudioResponseFormat::Text,
        "json" => AudioResponseFormat::Json,
        "verbose_json" => AudioResponseFormat::VerboseJson,
        "srt" => AudioResponseFormat::Srt,
        "vtt" => AudioResponseFormat::Vtt,
        other => return Err(Failure::usage(format!("--format {other}: not a format"))),
    })
}

/// The transcription request the command line asks for.
fn request(
    model: &str,
    upload: Upload,
    a: &TranscribeArgs,
    format: AudioResponseFormat,
) -> TranscriptionRequest {
    let mut r = TranscriptionRequest::new(model, upload);
    r.response_format = Some(format);
    r.language = a.language.clone();
    r.prompt = a.prompt.clone();
    r.temperature = a.temperature;
    r
}

/// Prints a streamed transcription: the text of each delta as it arrives (then a newline),
/// or with `json` each event as one JSON line.
fn print_stream(stream: oai_compat::TranscriptionStream, json: bool) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    if json {
        for event in stream {
            out::json_line(&mut stdout, &event?)?;
            stdout.flush().map_err(out::write_failed)?;
        }
        return Ok(());
    }
    out::stream_text(&mut stdout, stream, |e| e.text_delta().unwrap_or(""))?;
    Ok(())
}
