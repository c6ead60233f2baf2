//! Writing the answer on stdout, and turning a write failure (a closed pipe) into an error.

use std::io::{self, Write};

use serde::Serialize;

use crate::fail::Failure;

/// A failed write to stdout.
pub fn write_failed(e: io::Error) -> Failure {
    Failure::Output(format!("writing to stdout: {e}"))
}

/// Writes `s` and flushes it, so streamed text shows as it arrives.
pub fn flush_text(w: &mut impl Write, s: &str) -> Result<(), Failure> {
    w.write_all(s.as_bytes())
        .and_then(|()| w.flush())
        .map_err(write_failed)
}

/// `v` as one compact JSON line.
pub fn json_line(w: &mut impl Write, v: &impl Serialize) -> Result<(), Failure> {
    serde_json::to_writer(&mut *w, v).map_err(|e| write_failed(io::Error::other(e)))?;
    w.write_all(b"\n").map_err(write_failed)
}

/// Prints the text of each streamed item as it arrives (flushed), then a newline. A stream
/// that breaks (cut without its end, an in-band error) keeps what was printed, ends the line,
/// and fails with the stream's error. Returns the whole text.
pub fn stream_text<T>(
    w: &mut impl Write,
    stream: impl IntoIterator<Item = oai_compat::Result<T>>,
    text_of: impl Fn(&T) -> &str,
) -> Result<String, Failure> {
    let mut text = String::new();
    for item in stream {
        match item {
            Ok(item) => {
                let t = text_of(&item);
                if !t.is_empty() {
                    flush_text(w, t)?;
                    text.push_str(t);
                }
            }
            Err(e) => {
                if !text.is_empty() {
                    flush_text(w, "\n")?;
                }
                return Err(e.into());
            }
        }
    }
    flush_text(w, "\n")?;
    Ok(text)
}

/// Prints each streamed event as one JSON line as it arrives (flushed), up to the end of the
/// stream or the event `is_final` holds for (an API that ends its streams with a named event
/// instead of `[DONE]`), which it returns. A stream that breaks keeps the lines printed and
/// fails with the stream's error.
pub fn json_lines(
    w: &mut impl Write,
    stream: impl IntoIterator<Item = oai_compat::Result<serde_json::Value>>,
    is_final: impl Fn(&serde_json::Value) -> bool,
) -> Result<Option<serde_json::Value>, Failure> {
    for event in stream {
        let event = event?;
        json_line(w, &event)?;
        w.flush().map_err(write_failed)?;
        if is_final(&event) {
            return Ok(Some(event));
        }
    }
    Ok(None)
}
