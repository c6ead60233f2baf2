//! A multipart form's bytes as each transport sends them, read from its segments as the
//! connection takes them: a `Read` for ureq, a stream of `Bytes` for reqwest. Files are read
//! in pieces of [`PIECE`] bytes, so an upload costs about one piece of memory whatever its
//! size. A file must have exactly the size it had when the call began (checked before the
//! first byte is sent), or the upload fails with `Error::Upload` instead of sending a cut or
//! mixed file under a `Content-Length` that no longer holds.
//!
//! An upload-side failure (a file that cannot be read, a deadline) reaches the HTTP library
//! as an I/O error, which it reports in its own words; the failure itself is kept in the
//! body's [`Failure`] slot, and the transport returns that instead.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{Error, UploadError};

/// The most read from a file at a time. The async body reads through tokio's blocking pool,
/// a hand-off per read: at 64 KiB a 1 GiB upload took 1.2 s, at 512 KiB 0.5 s (curl: 0.56 s),
/// for about 6 MiB more at the peak. The blocking body reads what ureq's buffer takes.
const PIECE: usize = 512 * 1024;

/// Where a body keeps the failure it reported to the HTTP library as an I/O error.
#[derive(Clone, Default)]
pub(crate) struct Failure(Arc<Mutex<Option<Error>>>);

impl Failure {
    /// Keeps `err` (the first one only) and returns the I/O error that carries its words.
    fn set(&self, err: Error) -> io::Error {
        let io = io::Error::other(err.to_string());
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(err);
        }
        io
    }

    /// The failure kept, if any.
    pub(crate) fn take(&self) -> Option<Error> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The checks on a file's bytes as they are read: what is left of its declared size.
struct Counted<'p> {
    path: &'p Path,
    declared: Option<u64>,
    left: u64,
}

impl Counted<'_> {
    /// After a read of `n` bytes from the file (`n == 0`: its end).
    fn after_read(&mut self, n: usize) -> Result<(), Error> {
        let Some(declared) = self.declared else {
            return Ok(());
        };
        if n == 0 && self.left > 0 {
            return Err(changed(
                self.path,
                format!(
                    "it shrank while it was sent ({} of {declared} bytes read)",
                    declared - self.left
                ),
            ));
        }
        self.left = self.left.saturating_sub(n as u64);
        Ok(())
    }

    /// How much the next read may take: never past the declared size.
    fn limit(&self, want: usize) -> usize {
        match self.declared {
            Some(_) => want.min(usize::try_from(self.left).unwrap_or(usize::MAX)),
            None => want,
        }
    }

    /// The declared size was read: a file with more bytes grew while it was sent.
    fn grew(&self) -> Error {
        changed(
            self.path,
            format!(
                "it grew while it was sent (past its {} bytes)",
                self.declared.unwrap_or(0)
            ),
        )
    }

    fn done(&self) -> bool {
        self.declared.is_some() && self.left == 0
    }
}

fn changed(path: &Path, what: String) -> Error {
    UploadError::error(
        format!(
            "`{}` changed while it was uploaded: {what}; upload a file that is not being written",
            path.display()
        ),
        Some(path),
        None,
    )
}

fn unreadable(path: &Path, e: io::Error) -> Error {
    let why = e.to_string();
    UploadError::error(
        format!("could not read `{}`: {why}", path.display()),
        Some(path),
        Some(Box::new(e)),
    )
}

#[cfg(feature = "blocking")]
pub(crate) use blocking::FormReader;

#[cfg(feature = "blocking")]
mod blocking {
    use std::fs::File;
    use std::io::{self, Read};
    use std::time::Instant;

    use super::{Counted, Failure, unreadable};
    use crate::error::{Error, TimeoutPhase};
    use crate::multipart::{Encoded, Segment};
    use crate::transport::AttemptTimeouts;

    /// The body of one attempt, for ureq.
    pub(crate) struct FormReader<'a> {
        encoded: &'a Encoded,
        next: usize,
        current: Current<'a>,
        pub(crate) failure: Failure,
        deadline: Option<Instant>,
        timeouts: AttemptTimeouts,
    }

    enum Current<'a> {
        Between,
        Fixed(&'a [u8]),
        File(File, Counted<'a>),
    }

    impl<'a> FormReader<'a> {
        /// A body reading `encoded` from its start; an error when it cannot be sent again.
        pub(crate) fn new(
            encoded: &'a Encoded,
            deadline: Option<Instant>,
            timeouts: AttemptTimeouts,
        ) -> Result<FormReader<'a>, Error> {
            encoded.check_resendable("to follow a redirect")?;
            encoded.progressed();
            Ok(FormReader {
                encoded,
                next: 0,
                current: Current::Between,
                failure: Failure::default(),
                deadline,
                timeouts,
            })
        }

        fn fill(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
            loop {
                // A file that trickles in (a pipe) is bounded too: by the timeout after the
                // last piece that came.
                if self.deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(Error::timeout(TimeoutPhase::Request, self.timeouts.request));
                }
                match &mut self.current {
                    Current::Between => {
                        let Some(segment) = self.encoded.segments.get(self.next) else {
                            return Ok(0);
                        };
                        self.next += 1;
                        self.current = match segment {
                            Segment::Fixed(bytes) => Current::Fixed(bytes),
                            Segment::File { path, len } => {
                                if len.is_none() {
                                    self.encoded.mark_consumed();
                                }
                                let file = File::open(path).map_err(|e| unreadable(path, e))?;
                                Current::File(
                                    file,
                                    Counted {
                                        path,
                                        declared: *len,
                                        left: len.unwrap_or(0),
                                    },
                                )
                            }
                        };
                    }
                    Current::Fixed(rest) => {
                        let n = rest.len().min(buf.len());
                        buf[..n].copy_from_slice(&rest[..n]);
                        *rest = &rest[n..];
                        if rest.is_empty() {
                            self.current = Current::Between;
                        }
                        if n > 0 {
                            return Ok(n);
                        }
                    }
                    Current::File(file, counted) => {
                        if counted.done() {
                            let mut probe = [0u8; 1];
                            if read_retrying(file, &mut probe, counted.path)? > 0 {
                                return Err(counted.grew());
                            }
                            self.current = Current::Between;
                            continue;
                        }
                        let want = counted.limit(buf.len().min(super::PIECE));
                        let n = read_retrying(file, &mut buf[..want], counted.path)?;
                        counted.after_read(n)?;
                        if n == 0 {
                            self.current = Current::Between;
                            continue;
                        }
                        return Ok(n);
                    }
                }
            }
        }
    }

    fn read_retrying(
        file: &mut File,
        buf: &mut [u8],
        path: &std::path::Path,
    ) -> Result<usize, Error> {
        loop {
            match file.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(unreadable(path, e)),
            }
        }
    }

    impl Read for FormReader<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.fill(buf).map_err(|e| self.failure.set(e))?;
            if n > 0 {
                // The connection took the last piece: the next wait (for room to write, or
                // for the answer) gets a full timeout from now.
                self.encoded.progressed();
                self.deadline = self.encoded.progress_deadline(self.timeouts.request);
                crate::transport::blocking::extend_deadline(self.deadline);
            }
            Ok(n)
        }
    }
}

#[cfg(not(feature = "blocking"))]
pub(crate) use stream::FormStream;

#[cfg(not(feature = "blocking"))]
mod stream {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll};

    use bytes::{Bytes, BytesMut};
    use futures_core::Stream;
    use tokio::io::{AsyncRead, ReadBuf};

    use super::{Counted, Failure, PIECE, unreadable};
    use crate::error::Error;
    use crate::multipart::{Encoded, Segment};

    /// The body of one attempt, for reqwest (which wants a `'static` stream, so it holds
    /// the form by `Arc`). The attempt's deadline is reqwest's own request timeout, which
    /// covers sending the body.
    pub(crate) struct FormStream {
        encoded: Arc<Encoded>,
        next: usize,
        current: Current,
        pub(crate) failure: Failure,
    }

    enum Current {
        Between,
        /// A fixed segment (its index) and how much of it went out: sent in pieces, so
        /// in-memory bytes are copied a piece at a time, never whole.
        Fixed(usize, usize),
        /// A one-shot source (a FIFO) being opened on tokio's blocking pool: its open waits
        /// for a writer, which must not hold a runtime thread.
        Opening(Pin<Box<dyn Future<Output = std::io::Result<tokio::fs::File>> + Send>>),
        File(tokio::fs::File, Option<u64>, u64),
        Done,
    }

    impl FormStream {
        /// A body reading `encoded` from its start; an error when it cannot be sent again.
        pub(crate) fn new(encoded: Arc<Encoded>) -> Result<FormStream, Error> {
            encoded.check_resendable("to follow a redirect")?;
            encoded.progressed();
            Ok(FormStream {
                encoded,
                next: 0,
                current: Current::Between,
                failure: Failure::default(),
            })
        }

        fn poll_piece(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, Error>> {
            loop {
                match &mut self.current {
                    Current::Done => return Poll::Ready(Ok(None)),
                    Current::Between => {
                        let Some(segment) = self.encoded.segments.get(self.next) else {
                            self.current = Current::Done;
                            continue;
                        };
                        self.next += 1;
                        match segment {
                            Segment::Fixed(_) => self.current = Current::Fixed(self.next - 1, 0),
                            Segment::File { path, len: None } => {
                                self.encoded.mark_consumed();
                                self.current =
                                    Current::Opening(Box::pin(tokio::fs::File::open(path.clone())));
                            }
                            Segment::File {
                                path,
                                len: Some(len),
                            } => {
                                // A regular file opens at once; its reads are what tokio runs
                                // on its blocking pool.
                                let file =
                                    std::fs::File::open(path).map_err(|e| unreadable(path, e))?;
                                self.current = Current::File(
                                    tokio::fs::File::from_std(file),
                                    Some(*len),
                                    *len,
                                );
                            }
                        }
                    }
                    Current::Fixed(index, sent) => {
                        let Some(Segment::Fixed(bytes)) = self.encoded.segments.get(*index) else {
                            self.current = Current::Done;
                            continue;
                        };
                        let rest = bytes.get(*sent..).unwrap_or_default();
                        if rest.is_empty() {
                            self.current = Current::Between;
                            continue;
                        }
                        let piece = &rest[..rest.len().min(PIECE)];
                        *sent += piece.len();
                        return Poll::Ready(Ok(Some(Bytes::copy_from_slice(piece))));
                    }
                    Current::Opening(open) => match open.as_mut().poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(file)) => self.current = Current::File(file, None, 0),
                        Poll::Ready(Err(e)) => {
                            let path = match self
                                .next
                                .checked_sub(1)
                                .and_then(|i| self.encoded.segments.get(i))
                            {
                                Some(Segment::File { path, .. }) => path.clone(),
                                _ => std::path::PathBuf::new(),
                            };
                            return Poll::Ready(Err(unreadable(&path, e)));
                        }
                    },
                    Current::File(file, declared, left) => {
                        let Some(Segment::File { path, .. }) = self
                            .next
                            .checked_sub(1)
                            .and_then(|i| self.encoded.segments.get(i))
                        else {
                            self.current = Current::Done;
                            continue;
                        };
                        let mut counted = Counted {
                            path,
                            declared: *declared,
                            left: *left,
                        };
                        let done = counted.done();
                        let want = if done { 1 } else { counted.limit(PIECE) };
                        let mut piece = BytesMut::zeroed(want);
                        let mut rb = ReadBuf::new(&mut piece);
                        match Pin::new(&mut *file).poll_read(cx, &mut rb) {
                            Poll::Pending => return Poll::Pending,
                            Poll::Ready(Err(e)) => {
                                return Poll::Ready(Err(unreadable(path, e)));
                            }
                            Poll::Ready(Ok(())) => {}
                        }
                        let n = rb.filled().len();
                        if done {
                            if n > 0 {
                                return Poll::Ready(Err(counted.grew()));
                            }
                            self.current = Current::Between;
                            continue;
                        }
                        counted.after_read(n)?;
                        *left = counted.left;
                        if n == 0 {
                            self.current = Current::Between;
                            continue;
                        }
                        piece.truncate(n);
                        return Poll::Ready(Ok(Some(piece.freeze())));
                    }
                }
            }
        }
    }

    impl Stream for FormStream {
        type Item = Result<Bytes, std::io::Error>;

        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            match self.poll_piece(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(piece)) => {
                    // The connection asked for more: the last piece went out.
                    self.encoded.progressed();
                    Poll::Ready(piece.map(Ok))
                }
                Poll::Ready(Err(e)) => {
                    let io = self.failure.set(e);
                    self.current = Current::Done;
                    Poll::Ready(Some(Err(io)))
                }
            }
        }
    }
}
