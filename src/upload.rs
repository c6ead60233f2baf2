//! [`Upload`]: a file to send in a multipart form (audio to transcribe, a batch's input).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// A file to send in a [`Form`](crate::Form): from a path, streamed from disk on every
/// attempt and never read whole into memory, or from bytes already in memory.
///
/// A regular file is sent with its `Content-Length` and read again from the start when the
/// call is retried; if it changes size while it is sent, the call fails with
/// [`Error::Upload`](crate::Error::Upload) instead of sending a cut or mixed file. A path
/// that is not a regular file (a pipe, a FIFO, `/dev/stdin`) is read once, as it comes: a
/// call that would need it a second time (a retry after the body was read, a redirect that
/// re-sends the body) fails with [`Error::Upload`](crate::Error::Upload), which says so, and
/// so does a later call given the same `Upload` (or a clone of it, say in a cloned request):
/// what the pipe held is gone, and sending what is left of it would be a different file.
///
/// The request timeout ([`Timeouts::request`](crate::Timeouts::request)) bounds each wait
/// for the connection to take more of the upload, and the wait for the answer after its
/// last byte, as openai-python's write timeout does: a large file on a slow link takes as
/// long as it keeps moving, and a server that stops reading fails the attempt after the
/// timeout. A pipe that stops giving data is not bounded (the read waits in the operating
/// system); a regular file never waits.
///
/// The file name sent is the path's last component (or the one given to
/// [`Upload::bytes`]); the content type is guessed from its extension (`.wav` is
/// `audio/wav`, `.jsonl` is `application/jsonl`), else `application/octet-stream`.
///
/// ```
/// use oai_compat::Upload;
/// let audio = Upload::path("/data/meeting.wav");
/// assert_eq!(audio.file_name(), "meeting.wav");
/// assert_eq!(audio.mime_type(), "audio/wav");
///
/// let batch = Upload::bytes("in.jsonl", br#"{"custom_id":"a"}"#.to_vec())
///     .content_type("application/jsonl");
/// assert_eq!(batch.file_name(), "in.jsonl");
/// ```
#[derive(Clone)]
pub struct Upload {
    pub(crate) source: Source,
    filename: String,
    content_type: Option<String>,
    /// Set once a call opened this path as a one-shot source (a pipe), shared by the
    /// upload's clones: no later call may send it again.
    pub(crate) read_once: Arc<AtomicBool>,
}

/// Where an upload's bytes come from.
#[derive(Clone)]
pub(crate) enum Source {
    Path(PathBuf),
    /// Shared by every attempt and every clone of the form.
    Bytes(Arc<[u8]>),
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Upload");
        match &self.source {
            Source::Path(p) => d.field("path", p),
            // The bytes themselves may be anything (and large): their length says enough.
            Source::Bytes(b) => d.field("bytes", &b.len()),
        };
        d.field("filename", &self.filename)
            .field("content_type", &self.mime_type())
            .finish()
    }
}

impl Upload {
    /// The file at `path`, read when the call is sent (not now): a missing or unreadable
    /// file fails the call with [`Error::Upload`](crate::Error::Upload) before anything is
    /// sent. Symbolic links are followed.
    pub fn path(path: impl Into<PathBuf>) -> Upload {
        let path = path.into();
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".to_owned());
        Upload {
            source: Source::Path(path),
            filename,
            content_type: None,
            read_once: Arc::default(),
        }
    }

    /// `bytes`, sent as a file named `filename`.
    pub fn bytes(filename: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Upload {
        Upload {
            source: Source::Bytes(Arc::from(bytes.into())),
            filename: filename.into(),
            content_type: None,
            read_once: Arc::default(),
        }
    }

    /// The file name sent to the server. Default: the path's last component, or the name
    /// given to [`Upload::bytes`]. Any text works: quotes, line breaks and non-ASCII are
    /// escaped on the wire as browsers do, so no name can start a part of its own.
    pub fn filename(mut self, name: impl Into<String>) -> Upload {
        self.filename = name.into();
        self
    }

    /// The part's `Content-Type`. Default: guessed from the file name's extension, else
    /// `application/octet-stream`. A value with a line break or another control character
    /// fails the call with [`Error::InvalidRequest`](crate::Error::InvalidRequest).
    pub fn content_type(mut self, mime: impl Into<String>) -> Upload {
        self.content_type = Some(mime.into());
        self
    }

    /// The file name that is sent.
    pub fn file_name(&self) -> &str {
        &self.filename
    }

    /// The content type that is sent (set, or guessed from the file name).
    pub fn mime_type(&self) -> &str {
        match &self.content_type {
            Some(t) => t,
            None => guess(&self.filename),
        }
    }

    /// The path the file is read from, for an upload made with [`Upload::path`].
    pub fn source_path(&self) -> Option<&Path> {
        match &self.source {
            Source::Path(p) => Some(p),
            Source::Bytes(_) => None,
        }
    }
}

/// The content type of a file name's extension: the audio formats the transcription
/// endpoints take, the formats OpenAI's Files API takes for batches, assistants, vision and
/// user data, and `application/octet-stream` for the rest.
fn guess(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "wav" => "audio/wav",
        "mp3" | "mpga" | "mpeg" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "mp4" => "video/mp4",
        "ogg" | "oga" => "audio/ogg",
        "flac" => "audio/flac",
        "webm" => "audio/webm",
        "jsonl" => "application/jsonl",
        "json" => "application/json",
        "txt" => "text/plain",
        "md" => "text/markdown",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        let u = Upload::path("dir/Talk.MP3");
        assert_eq!(u.file_name(), "Talk.MP3");
        assert_eq!(u.mime_type(), "audio/mpeg");
        assert_eq!(u.source_path(), Some(Path::new("dir/Talk.MP3")));
        let u = Upload::path("/").filename("x");
        assert_eq!(u.file_name(), "x");
        assert_eq!(u.mime_type(), "application/octet-stream");
        let u = Upload::bytes("a.b.jsonl", vec![1, 2]).content_type("text/x");
        assert_eq!(u.mime_type(), "text/x");
        assert_eq!(u.source_path(), None);
        assert!(format!("{u:?}").contains("bytes: 2"));
        for (name, mime) in [
            ("notes.md", "text/markdown"),
            ("t.CSV", "text/csv"),
            ("cat.webp", "image/webp"),
            (
                "brief.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            ("no-extension", "application/octet-stream"),
            ("trailing.", "application/octet-stream"),
        ] {
            assert_eq!(Upload::bytes(name, vec![]).mime_type(), mime, "{name}");
        }
    }
}
