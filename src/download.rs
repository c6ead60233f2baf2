//! [`Download`]: a response body handed over piece by piece, as a file's content is.

use std::time::Duration;

use crate::error::{Error, Result, TimeoutPhase};
use crate::response::ResponseMeta;
use crate::secret::Secret;
use crate::transport::{HttpResponse, ReadDeadline};

/// A body read piece by piece as it arrives, never whole in memory: the content of a file
/// (`client.files().content(id)`), however large.
///
/// It is not bounded by [`ClientBuilder::max_response_bytes`](crate::ClientBuilder::max_response_bytes)
/// (a batch's output may be gigabytes); the wait for each piece is bounded by
/// [`Timeouts::stream_idle`](crate::Timeouts::stream_idle) and the whole body by
/// [`Timeouts::stream_total`](crate::Timeouts::stream_total). The call is retried only until
/// the response headers arrive: a body that breaks off fails with
/// [`Error::Stream`](crate::Error::Stream) or a timeout, and the download has to start over.
#[cfg_attr(feature = "blocking", doc = "```no_run")]
// Written for the blocking signatures; in async mode every call here is `.await`ed.
#[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
/// let client = oai_compat::Client::builder().build()?;
/// let mut out = std::fs::File::create("output.jsonl").map_err(oai_compat::Error::Write)?;
/// let bytes = client.files().content("file-abc")?.write_to(&mut out)?;
/// println!("{bytes} bytes");
/// # Ok::<_, oai_compat::Error>(())
/// ```
pub struct Download {
    response: HttpResponse,
    meta: ResponseMeta,
    idle: Option<Duration>,
    key: Option<Secret>,
    received: u64,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("meta", &self.meta)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl Download {
    pub(crate) fn new(
        response: HttpResponse,
        meta: ResponseMeta,
        idle: Option<Duration>,
        key: Option<Secret>,
    ) -> Download {
        Download {
            response,
            meta,
            idle,
            key,
            received: 0,
        }
    }

    /// The response's status, headers, request id and retry count.
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// The body's bytes read so far.
    pub fn bytes_received(&self) -> u64 {
        self.received
    }

    /// The size the server announced (`Content-Length`), if it did.
    pub fn content_length(&self) -> Option<u64> {
        self.meta.headers.content_length()
    }

    /// A read's error with the stream's idle limit named, the key redacted and the retries
    /// counted (a function of fields, so a piece borrowed from the response can be returned
    /// beside it).
    fn failed(e: Error, idle: Option<Duration>, key: Option<&Secret>, retries: u32) -> Error {
        let mut e = match e {
            Error::Timeout(mut t) if t.phase == TimeoutPhase::StreamIdle => {
                t.limit = idle;
                Error::Timeout(t)
            }
            e => e,
        };
        if let Some(k) = key {
            e.redact(k.expose());
        }
        e.set_retries_taken(retries);
        e
    }

    /// The next piece of the body, `None` at its end.
    #[cfg(feature = "blocking")]
    pub fn next_chunk(&mut self) -> Result<Option<&[u8]>> {
        let mut deadline = ReadDeadline::after_wait(self.idle);
        match self.response.chunk(&mut deadline) {
            Ok(Some(piece)) => {
                self.received += piece.len() as u64;
                Ok(Some(piece))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(Download::failed(
                e,
                self.idle,
                self.key.as_ref(),
                self.meta.retries_taken,
            )),
        }
    }

    /// The next piece of the body, `None` at its end.
    #[cfg(not(feature = "blocking"))]
    pub async fn next_chunk(&mut self) -> Result<Option<&[u8]>> {
        let mut deadline = ReadDeadline::after_wait(self.idle);
        let response = &mut self.response;
        match std::future::poll_fn(|cx| response.poll_more(cx, &mut deadline)).await {
            Ok(true) => {
                let piece = self.response.last_piece();
                self.received += piece.len() as u64;
                Ok(Some(piece))
            }
            Ok(false) => Ok(None),
            Err(e) => Err(Download::failed(
                e,
                self.idle,
                self.key.as_ref(),
                self.meta.retries_taken,
            )),
        }
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Download {
    /// Writes the rest of the body into `w` as it arrives, then flushes it; the bytes
    /// written. A failing writer ends the download with [`Error::Write`]. In async mode the
    /// writes are blocking ones: fine for memory and small files; for a large file on a busy
    /// runtime, read with [`Download::next_chunk`] and write with your runtime's file type.
    pub async fn write_to<W: std::io::Write + ?Sized>(&mut self, w: &mut W) -> Result<u64> {
        let mut written = 0u64;
        while let Some(piece) = self.next_chunk().await? {
            w.write_all(piece).map_err(Error::Write)?;
            written += piece.len() as u64;
        }
        w.flush().map_err(Error::Write)?;
        Ok(written)
    }
}
