//! A [`Form`] on the wire: its `multipart/form-data` framing built once per call, as a list of
//! segments that each attempt sends in order (fixed bytes, and files read as they are sent),
//! and what a retry may do with it. The transports turn the segments into a body of their
//! own kind (`transport::upload_body`).

use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::error::{Error, Result, UploadError};
use crate::form::{self, Form};
use crate::upload::Source;

/// A form ready to send: its framing, its length when every part's is known, and what is
/// needed to send it again.
pub(crate) struct Encoded {
    /// `multipart/form-data; boundary=...`.
    pub(crate) content_type: String,
    /// The body's length, unless a part is a one-shot source of unknown length (then the
    /// body is sent chunked).
    pub(crate) length: Option<u64>,
    pub(crate) segments: Vec<Segment>,
    /// The first part that can be read only once (a pipe), if any.
    one_shot: Option<PathBuf>,
    /// Set when an attempt opened the one-shot part: it cannot be sent again.
    consumed: AtomicBool,
    /// The one-shot uploads' own flags ([`Upload::read_once`](crate::Upload)), set with
    /// `consumed`, so that a later call given the same upload refuses it too.
    one_shot_uploads: Vec<Arc<AtomicBool>>,
    /// The form described as JSON (fields and their values, files by name and size), what a
    /// cassette records and matches instead of the bytes.
    pub(crate) summary: Vec<u8>,
    /// When the body last moved (an attempt began, or a piece went to the connection), as
    /// nanoseconds after `origin`: an upload is bounded by its progress, not by its total
    /// time (see [`Encoded::progress_deadline`]).
    origin: Instant,
    progress: AtomicU64,
}

/// A piece of the body.
pub(crate) enum Segment {
    /// Bytes known before sending: boundaries, part heads, text values, in-memory files.
    Fixed(Arc<[u8]>),
    /// A file read while it is sent. `len`: its size when it was checked, which the body must
    /// match (`None`: a one-shot source, sent as it comes).
    File { path: PathBuf, len: Option<u64> },
}

impl Encoded {
    /// `form` with the call's `extra_body` keys as text fields after its own. Every path is
    /// checked here (it exists, it is not a directory, its size), before anything is sent.
    pub(crate) fn new(form: &Form, extra: &Map<String, Value>) -> Result<Encoded> {
        let texts = form
            .parts
            .iter()
            .filter_map(|p| match &p.value {
                form::Value::Text(t) => Some(t.as_str()),
                form::Value::File(_) => None,
            })
            .chain(extra.values().filter_map(Value::as_str));
        let boundary = boundary_not_in(texts.collect::<Vec<_>>().as_slice());
        let mut b = Builder {
            segments: Vec::new(),
            fixed: Vec::new(),
            length: Some(0),
        };
        let mut one_shot = None;
        let mut one_shot_uploads = Vec::new();
        let mut summary = Vec::with_capacity(form.parts.len() + extra.len());
        for part in &form.parts {
            match &part.value {
                form::Value::Text(value) => {
                    b.text(&boundary, &part.name, value);
                    summary.push(json!({"name": part.name, "value": value}));
                }
                form::Value::File(upload) => {
                    let mime = upload.mime_type();
                    if mime.bytes().any(|c| c.is_ascii_control()) || mime.is_empty() {
                        return Err(Error::invalid_request(format!(
                            "the content type of the upload `{}` is empty or has a control character (a line break?): {mime:?}",
                            upload.file_name()
                        )));
                    }
                    b.head(&boundary, &part.name, Some((upload.file_name(), mime)));
                    // `None` for a pipe: its size is unknown until it is read, and a
                    // cassette records it as `null`, which any size matches.
                    let size = match &upload.source {
                        Source::Bytes(bytes) => {
                            b.fixed_shared(bytes);
                            Some(bytes.len() as u64)
                        }
                        Source::Path(path) => {
                            let len = file_len(path)?;
                            if len.is_none() {
                                if upload.read_once.load(Ordering::Acquire) {
                                    return Err(UploadError::error(
                                        format!(
                                            "`{}` is not a regular file (a pipe?) and was read by an earlier call given this upload, so it cannot be sent again; upload a regular file (or bytes) to send it more than once",
                                            path.display()
                                        ),
                                        Some(path),
                                        None,
                                    ));
                                }
                                one_shot_uploads.push(Arc::clone(&upload.read_once));
                                if one_shot.is_none() {
                                    one_shot = Some(path.clone());
                                }
                            }
                            b.file(path, len);
                            len
                        }
                    };
                    b.fixed.extend_from_slice(b"\r\n");
                    b.add(2);
                    summary.push(json!({
                        "name": part.name,
                        "filename": upload.file_name(),
                        "content_type": mime,
                        "bytes": size,
                    }));
                }
            }
        }
        for (name, value) in extra {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            b.text(&boundary, name, &text);
            summary.push(json!({"name": name, "value": text}));
        }
        let end = format!("--{boundary}--\r\n");
        b.fixed.extend_from_slice(end.as_bytes());
        b.add(end.len() as u64);
        b.flush();
        Ok(Encoded {
            content_type: format!("multipart/form-data; boundary={boundary}"),
            length: b.length,
            segments: b.segments,
            one_shot,
            consumed: AtomicBool::new(false),
            one_shot_uploads,
            summary: serde_json::to_vec(&json!({ "multipart": summary })).unwrap_or_default(),
            origin: Instant::now(),
            progress: AtomicU64::new(0),
        })
    }

    /// Before an attempt sends the body: an error when a one-shot part was already read by
    /// an earlier attempt (or redirect hop), since what it held is gone.
    pub(crate) fn check_resendable(&self, why: &str) -> Result<()> {
        match &self.one_shot {
            Some(path) if self.consumed.load(Ordering::Acquire) => Err(UploadError::error(
                format!(
                    "`{}` is not a regular file (a pipe?) and was read by an earlier attempt, so it cannot be sent again {why}; upload a regular file (or bytes) to let the call be retried",
                    path.display()
                ),
                Some(path),
                None,
            )),
            _ => Ok(()),
        }
    }

    /// Whether a retry of the call could send the body again; `false` once a one-shot
    /// part was read.
    pub(crate) fn can_resend(&self) -> bool {
        self.one_shot.is_none() || !self.consumed.load(Ordering::Acquire)
    }

    /// The body moved now: an attempt began, or a piece went to the connection.
    pub(crate) fn progressed(&self) {
        let nanos = u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.progress.store(nanos, Ordering::Release);
    }

    /// By when the body must move again, or its answer arrive once it is sent: `timeout` after
    /// it last moved (`None`: no limit). A large file on a slow link takes as long as it
    /// takes while it keeps moving, as openai-python's (httpx's) write timeout allows; a
    /// connection that stops taking it fails after `timeout`.
    pub(crate) fn progress_deadline(&self, timeout: Option<Duration>) -> Option<Instant> {
        let moved = Duration::from_nanos(self.progress.load(Ordering::Acquire));
        self.origin.checked_add(moved)?.checked_add(timeout?)
    }

    /// A one-shot part is being read: later attempts, and later calls given the same
    /// uploads, cannot send it again. Every one-shot upload of the form counts as read
    /// from here (whether a later one was reached is not tracked): refusing one that was
    /// not is a clear error, sending one half read would not be.
    pub(crate) fn mark_consumed(&self) {
        self.consumed.store(true, Ordering::Release);
        for read in &self.one_shot_uploads {
            read.store(true, Ordering::Release);
        }
    }

    /// The error for a retry that cannot be made because the body cannot be sent again.
    pub(crate) fn not_retried(&self, err: Error) -> Error {
        let path = self.one_shot.as_deref();
        UploadError::not_retried(
            format!(
                "the call failed ({err}) and was not retried: `{}` is not a regular file (a pipe?) and was already read; upload a regular file (or bytes) to let the call be retried",
                path.map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            ),
            path,
            err,
        )
    }
}

/// The size of the file at `path` (symbolic links followed): `Some` for a regular file,
/// `None` for a one-shot source (a pipe, a FIFO, a character device such as `/dev/stdin`).
fn file_len(path: &Path) -> Result<Option<u64>> {
    let meta = std::fs::metadata(path).map_err(|e| cannot_open(path, e))?;
    if meta.is_dir() {
        return Err(UploadError::error(
            format!(
                "`{}` is a directory; upload a file in it instead",
                path.display()
            ),
            Some(path),
            None,
        ));
    }
    if !meta.is_file() {
        return Ok(None);
    }
    // Opened here once so that an unreadable file fails before anything is sent (a FIFO is
    // not: opening it waits for a writer).
    std::fs::File::open(path).map_err(|e| cannot_open(path, e))?;
    Ok(Some(meta.len()))
}

fn cannot_open(path: &Path, e: std::io::Error) -> Error {
    let why = e.to_string();
    UploadError::error(
        format!("could not open `{}`: {why}", path.display()),
        Some(path),
        Some(Box::new(e)),
    )
}

/// Builds the segments, joining neighbouring fixed bytes into one.
struct Builder {
    segments: Vec<Segment>,
    fixed: Vec<u8>,
    length: Option<u64>,
}

impl Builder {
    fn add(&mut self, n: u64) {
        self.length = self.length.and_then(|l| l.checked_add(n));
    }

    fn flush(&mut self) {
        if !self.fixed.is_empty() {
            let bytes = std::mem::take(&mut self.fixed);
            self.segments.push(Segment::Fixed(Arc::from(bytes)));
        }
    }

    /// A part's boundary line and head.
    fn head(&mut self, boundary: &str, name: &str, file: Option<(&str, &str)>) {
        let mut head = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"");
        escape_into(&mut head, name);
        head.push('"');
        if let Some((filename, mime)) = file {
            head.push_str("; filename=\"");
            escape_into(&mut head, filename);
            let _ = write!(head, "\"\r\nContent-Type: {mime}");
        }
        head.push_str("\r\n\r\n");
        self.fixed.extend_from_slice(head.as_bytes());
        self.add(head.len() as u64);
    }

    fn text(&mut self, boundary: &str, name: &str, value: &str) {
        self.head(boundary, name, None);
        self.fixed.extend_from_slice(value.as_bytes());
        self.fixed.extend_from_slice(b"\r\n");
        self.add(value.len() as u64 + 2);
    }

    /// In-memory bytes, shared rather than copied into the fixed bytes around them.
    fn fixed_shared(&mut self, bytes: &Arc<[u8]>) {
        self.flush();
        self.segments.push(Segment::Fixed(Arc::clone(bytes)));
        self.add(bytes.len() as u64);
    }

    fn file(&mut self, path: &Path, len: Option<u64>) {
        self.flush();
        self.segments.push(Segment::File {
            path: path.to_path_buf(),
            len,
        });
        match len {
            Some(n) => self.add(n),
            None => self.length = None,
        }
    }
}

/// `text` as a quoted `name` or `filename` value, as browsers and openai-python (httpx) send
/// it: `"` as `%22`, a backslash doubled, and every control character (CR and LF among them)
/// as `%XX`. What stays cannot end the quoted string or the head line.
fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("%22"),
            '\\' => out.push_str("\\\\"),
            c if c.is_ascii_control() => {
                let _ = write!(out, "%{:02X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A boundary found in none of `texts`: 32 random hex digits (a file's bytes are not
/// searched; a random boundary is what every client relies on there).
fn boundary_not_in(texts: &[&str]) -> String {
    loop {
        let b = random_boundary();
        if !texts.iter().any(|t| t.contains(&b)) {
            return b;
        }
    }
}

fn random_boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // std's hasher keys are random per process and per `RandomState`.
    let mut words = [0u64; 2];
    for w in &mut words {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        *w = h.finish();
    }
    format!("oai-compat-{:016x}{:016x}", words[0], words[1])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upload::Upload;

    fn body(e: &Encoded) -> Vec<u8> {
        let mut out = Vec::new();
        for s in &e.segments {
            match s {
                Segment::Fixed(b) => out.extend_from_slice(b),
                Segment::File { path, .. } => out.extend(std::fs::read(path).unwrap()),
            }
        }
        out
    }

    #[test]
    fn names_are_escaped_and_the_length_is_exact() {
        let form = Form::new()
            .text("a\"b\r\nContent-Type: x", "v\r\n--not-a-boundary")
            .file(
                "file",
                Upload::bytes("é\"\\\n.wav", vec![0, 1, 2]).content_type("audio/wav"),
            );
        let mut extra = Map::new();
        extra.insert("n".into(), json!(3));
        let e = Encoded::new(&form, &extra).unwrap();
        let bytes = body(&e);
        assert_eq!(e.length, Some(bytes.len() as u64));
        let text = String::from_utf8_lossy(&bytes);
        let boundary = e.content_type.split("boundary=").nth(1).unwrap();
        assert_eq!(text.matches(&format!("--{boundary}\r\n")).count(), 3);
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        assert!(
            text.contains("name=\"a%22b%0D%0AContent-Type: x\"\r\n\r\nv\r\n--not-a-boundary\r\n")
        );
        assert!(text.contains("filename=\"é%22\\\\%0A.wav\"\r\nContent-Type: audio/wav\r\n\r\n"));
        assert!(text.contains("name=\"n\"\r\n\r\n3\r\n"));
        let summary: Value = serde_json::from_slice(&e.summary).unwrap();
        assert_eq!(summary["multipart"][1]["bytes"], 3);
    }

    #[test]
    fn a_bad_content_type_or_a_missing_file_is_refused() {
        let f = Form::new().file("f", Upload::bytes("x", vec![]).content_type("a\r\nb: c"));
        assert!(matches!(
            Encoded::new(&f, &Map::new()),
            Err(Error::InvalidRequest(_))
        ));
        let f = Form::new().file("f", Upload::path("/nonexistent/oai-compat"));
        let err = Encoded::new(&f, &Map::new()).err().unwrap();
        assert!(
            matches!(&err, Error::Upload(u) if u.path.is_some()),
            "{err}"
        );
        let f = Form::new().file("f", Upload::path(std::env::temp_dir()));
        let err = Encoded::new(&f, &Map::new()).err().unwrap();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn boundaries_differ_and_avoid_the_values() {
        let a = random_boundary();
        assert_ne!(a, random_boundary());
        assert_eq!(a.len(), "oai-compat-".len() + 32);
        assert!(!boundary_not_in(&[a.as_str()]).is_empty());
    }
}
