//! [`EventStream`]: a streamed response, one type in both modes.
//!
//! The decoding (SSE, `[DONE]`, in-band errors, the event-idle timeout) is shared sync code;
//! only the way the next body chunk is awaited differs: `try_next()` and `next_into()` are
//! written once for both modes, and the blocking mode adds `Iterator`, the async mode
//! `futures_core::Stream`. The body is polled directly: no spawned task, no channel.
//! Dropping the stream closes the connection.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::balance::Slot;
use crate::bounded;
use crate::error::{Error, Result, StreamError, StreamErrorKind, TimeoutPhase};
use crate::headers::Headers;
use crate::response::ResponseMeta;
use crate::secret::Secret;
use crate::sse::Decoder;
use crate::telemetry::StreamSpan;
use crate::transport::{HttpResponse, ReadDeadline};

/// A stream of decoded server-sent events.
///
/// Blocking mode: an `Iterator<Item = Result<T>>`, or call [`EventStream::try_next`].
/// Async mode: a `futures_core::Stream<Item = Result<T>>`, or `try_next().await`.
/// In both, [`EventStream::next_into`] decodes each event into one value you keep, reusing
/// its memory.
///
/// The stream ends after `data: [DONE]`. A body that ends without it, an in-band error event
/// (`data: {"error": ...}`) or an oversized event yields one [`Error::Stream`]; a gap between
/// events longer than [`Timeouts::stream_idle`](crate::Timeouts::stream_idle) yields
/// [`Error::Timeout`]. After an error the stream is finished (fused). It is never retried
/// once handed over.
///
#[cfg_attr(feature = "blocking", doc = "```no_run")]
// Written for the blocking signatures; in async mode every call here is `.await`ed.
#[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
/// use oai_compat::{Client, types::{ChatCompletionRequest, Message}};
/// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
/// let req = ChatCompletionRequest::new("my-model", [Message::user("Tell a story")]);
/// for chunk in client.chat().create_stream(&req)? {
///     print!("{}", chunk?.text());
/// }
/// # Ok::<_, oai_compat::Error>(())
/// ```
pub struct EventStream<T> {
    response: HttpResponse,
    state: State<T>,
    /// A routed stream's place on its backend: it counts in flight until the stream is dropped.
    slot: Option<Slot>,
}

impl<T> std::fmt::Debug for EventStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream")
            .field("meta", &self.state.meta)
            .field("finished", &self.state.finished)
            .finish_non_exhaustive()
    }
}

/// After `[DONE]` (or a final event) the rest of the body is read, so the connection goes back
/// to the pool instead of being closed (what is left is usually the chunked encoding's last
/// few bytes); never more than this many bytes ...
const DRAIN_BYTES: usize = 64 * 1024;
/// ... or for longer than this, so a server that keeps the body open cannot stall the end of
/// a stream.
const DRAIN_TIME: Duration = Duration::from_millis(50);

/// Everything but the body: the part of the stream that is the same in both modes.
struct State<T> {
    decoder: Decoder,
    meta: ResponseMeta,
    /// The longest gap between events: the stream owns this deadline and passes it to each
    /// read of the body, in both modes.
    idle: Option<Duration>,
    /// The deadline of the current gap: `idle` from the first wait after the last event,
    /// settled by that wait (see [`ReadDeadline`]).
    gap: ReadDeadline,
    /// While the rest of the body is read after the end: the bytes still allowed and the
    /// time limit.
    drain: Option<(usize, Instant)>,
    seen_events: u64,
    finished: bool,
    done: bool,
    items: u64,
    /// The call's span, open until the stream is dropped (feature `tracing`).
    span: StreamSpan,
    ending: Ending<T>,
    /// Replaced in every error the stream yields (an echoed key in an error event).
    key: Option<Secret>,
    /// What an event above `bounded::THRESHOLD` may decode to, as a multiple of its bytes.
    decoded: usize,
    _t: PhantomData<fn() -> T>,
}

/// What ends a stream, for protocols that end with a named event instead of `data: [DONE]`
/// (the Responses API's `response.completed`). The default is `[DONE]` only.
pub(crate) struct Ending<T> {
    /// Classifies each decoded item (`None`: none ends the stream, with no call per event).
    pub(crate) classify: Option<fn(&T) -> Ends>,
    /// Names the expected end in the truncation error, e.g. "`data: [DONE]`".
    pub(crate) expected: &'static str,
    /// Whether `data: [DONE]` ends the stream too, before any terminal item (audio
    /// transcriptions: vLLM ends them with `[DONE]`, OpenAI with `transcript.text.done`).
    /// When `false`, a `[DONE]` that comes first is a truncated stream (the Responses API).
    pub(crate) done_ends: bool,
}

/// What one decoded item means for the end of its stream.
pub(crate) enum Ends {
    /// More items follow.
    No,
    /// The last item: hand it over, then end the stream.
    After,
    /// An in-band failure: end the stream with this error instead of the item.
    Failed(StreamError),
}

/// A read of the body the stream asks for (see [`State::next_read`]).
enum Read {
    /// More of the body, by the current gap's deadline ([`State::gap`]).
    Body,
    /// The rest of the body after the end, by the drain's time limit (see [`DRAIN_BYTES`]).
    Drain(ReadDeadline),
}

/// Where [`State::pop`] decodes an event to: a new item ([`New`]) or the caller's
/// ([`Reuse`]). The pipeline around the decoding (ends, in-band errors, the decode error) is
/// the same for both.
trait Target<T> {
    /// What a decoded event gives the caller.
    type Out;
    /// Decodes `data`, to at most `multiple` times its bytes (see [`bounded`]).
    fn decode(&mut self, data: &str, multiple: usize) -> serde_json::Result<Self::Out>;
    /// The item decoded, for the stream's own look at it (does it end the stream?).
    fn item<'a>(&'a self, out: &'a Self::Out) -> &'a T;
}

/// Each event decoded into a new item (the iterator, the `Stream` impl, `try_next`).
struct New;

impl<T: DeserializeOwned> Target<T> for New {
    type Out = T;

    fn decode(&mut self, data: &str, multiple: usize) -> serde_json::Result<T> {
        bounded::from_str(data, multiple)
    }

    fn item<'a>(&'a self, out: &'a T) -> &'a T {
        out
    }
}

/// Each event decoded into the caller's item, reusing what it holds ([`EventStream::next_into`]).
struct Reuse<'a, T>(&'a mut T);

impl<T: DeserializeOwned> Target<T> for Reuse<'_, T> {
    type Out = ();

    fn decode(&mut self, data: &str, multiple: usize) -> serde_json::Result<()> {
        decode_into(data, self.0, multiple)
    }

    fn item<'a>(&'a self, _: &'a ()) -> &'a T {
        self.0
    }
}

/// Decodes the JSON `text` into `place`, reusing what it holds (`deserialize_in_place`),
/// as [`EventStream::next_into`] decodes each event (to at most `multiple` times its bytes:
/// see [`bounded`]). After an error, `place` may hold a partly decoded value.
pub(crate) fn decode_into<'de, T: serde::Deserialize<'de>>(
    text: &'de str,
    place: &mut T,
    multiple: usize,
) -> serde_json::Result<()> {
    bounded::in_place(text, place, multiple)
}

impl<T> Default for Ending<T> {
    fn default() -> Self {
        Ending {
            classify: None,
            expected: "`data: [DONE]`",
            done_ends: true,
        }
    }
}

impl<T> EventStream<T> {
    /// The stream of a response whose headers have arrived: `idle` is the longest gap
    /// between events (`None`: no limit), `key` is redacted from every error it yields,
    /// `multiple` is the client's `max_decoded_multiple`.
    pub(crate) fn new(
        response: HttpResponse,
        meta: ResponseMeta,
        idle: Option<Duration>,
        key: Option<Secret>,
        span: StreamSpan,
        multiple: usize,
    ) -> Self {
        EventStream {
            response,
            state: State {
                decoder: Decoder::new(),
                meta,
                idle,
                gap: ReadDeadline::after_wait(idle),
                drain: None,
                seen_events: 0,
                finished: false,
                done: false,
                items: 0,
                span,
                ending: Ending::default(),
                key,
                // The event decoder holds a copy of the event's text besides its line, so an
                // event gets one multiple less than a body, to peak as a body does.
                decoded: multiple.saturating_sub(1).max(1),
                _t: PhantomData,
            },
            slot: None,
        }
    }

    /// The same stream, holding `slot` until it is dropped.
    pub(crate) fn holding(mut self, slot: Slot) -> Self {
        self.slot = Some(slot);
        self
    }

    /// The same stream, ended by `ending`'s terminal items as well as by `[DONE]`.
    pub(crate) fn with_ending(mut self, ending: Ending<T>) -> Self {
        self.state.ending = ending;
        self
    }

    /// HTTP status of the streamed response.
    pub fn status(&self) -> u16 {
        self.state.meta.status
    }

    /// Response headers.
    pub fn headers(&self) -> &Headers {
        &self.state.meta.headers
    }

    /// The server's request id (`x-request-id`).
    pub fn request_id(&self) -> Option<&str> {
        self.state.meta.request_id()
    }

    /// Status, headers and the retries made before the stream started.
    pub fn meta(&self) -> &ResponseMeta {
        &self.state.meta
    }

    /// True once the stream has ended (`[DONE]`, an error, or the end of the body).
    pub fn is_finished(&self) -> bool {
        self.state.finished
    }
}

impl<T: DeserializeOwned> State<T> {
    /// The next item already received, if any, decoded to `target`.
    fn pop<G: Target<T>>(&mut self, target: &mut G) -> Option<Result<G::Out>> {
        if self.finished {
            return None;
        }
        while let Some(ev) = self.decoder.next_event_ref() {
            if ev.data == "[DONE]" {
                // A protocol that ends with a named event (the Responses API) and sends
                // `[DONE]` before it: what came is not the whole answer.
                if self.ending.classify.is_some() && !self.ending.done_ends {
                    let msg = format!(
                        "`data: [DONE]` came before {} after {} event(s)",
                        self.ending.expected, self.items
                    );
                    return Some(Err(
                        self.fail(Error::stream(StreamErrorKind::Truncated, msg))
                    ));
                }
                self.end();
                return None;
            }
            let kind = ev.event.unwrap_or("message");
            if kind.eq_ignore_ascii_case("keepalive") || kind.eq_ignore_ascii_case("ping") {
                continue;
            }
            // An error payload would parse as an all-default chunk, so look for one first;
            // only data that mentions "error" pays for the extra parse.
            if kind == "error" || ev.data.contains("\"error\"") {
                let in_band = match bounded::from_str::<Value>(ev.data, self.decoded) {
                    Ok(v) => StreamError::in_band(&v),
                    Err(_) => None,
                };
                // A named `error` event may carry its fields at the top level (Responses API).
                let in_band = in_band.or_else(|| {
                    (kind == "error").then(|| {
                        match bounded::from_str::<Value>(ev.data, self.decoded) {
                            Ok(Value::Object(o)) => StreamError::from_error_object(&o),
                            _ => StreamError::new(StreamErrorKind::InBand, ev.data.to_owned()),
                        }
                    })
                });
                if let Some(e) = in_band {
                    return Some(Err(self.fail_with(e)));
                }
            }
            self.items += 1;
            self.span.event(ev.data);
            return Some(match target.decode(ev.data, self.decoded) {
                Ok(out) => match self
                    .ending
                    .classify
                    .map_or(Ends::No, |f| f(target.item(&out)))
                {
                    Ends::No => Ok(out),
                    Ends::After => {
                        self.end();
                        Ok(out)
                    }
                    Ends::Failed(e) => Err(self.fail_with(e)),
                },
                Err(e) => {
                    let id = self.meta.request_id().map(str::to_owned);
                    let e = Error::decode("stream event", e, ev.data.as_bytes(), id);
                    Err(self.fail(e))
                }
            });
        }
        None
    }

    /// The stream's regular end: finished, and the rest of the body is drained.
    fn end(&mut self) {
        self.finished = true;
        self.done = true;
        self.drain = Instant::now()
            .checked_add(DRAIN_TIME)
            .map(|until| (DRAIN_BYTES, until));
    }

    /// The read to make once no decoded item is waiting, `None` when the stream is over (and
    /// drained). Both modes' loops ask this, read, and hand the result to [`State::took`]:
    /// only the read itself differs between them.
    fn next_read(&self) -> Option<Read> {
        if let Some((_, until)) = self.drain {
            return Some(Read::Drain(ReadDeadline::At(until)));
        }
        if self.finished {
            return None;
        }
        Some(Read::Body)
    }

    /// The deadline of `read`, for the transport to settle if the read waits.
    fn deadline<'a>(&'a mut self, read: &'a mut Read) -> &'a mut ReadDeadline {
        match read {
            Read::Body => &mut self.gap,
            Read::Drain(until) => until,
        }
    }

    /// Takes the result of the read `read` asked for.
    fn took(&mut self, read: Read, got: Result<Option<&[u8]>>) -> Result<()> {
        match read {
            Read::Drain(_) => {
                self.on_drained(got.map(|c| c.map(<[u8]>::len)));
                Ok(())
            }
            Read::Body => self.on_chunk(got),
        }
    }

    /// Takes one drain read: the body's end, an error or the limits stop the drain.
    fn on_drained(&mut self, read: Result<Option<usize>>) {
        self.drain = match (read, self.drain) {
            (Ok(Some(n)), Some((left, until))) if n < left && Instant::now() < until => {
                Some((left - n, until))
            }
            _ => None,
        };
    }

    /// Takes one result of reading the body.
    fn on_chunk(&mut self, chunk: Result<Option<&[u8]>>) -> Result<()> {
        match chunk {
            Ok(Some(bytes)) => {
                if let Err(e) = self.decoder.feed(bytes) {
                    return Err(self.fail(Error::stream(StreamErrorKind::TooLarge, e.to_string())));
                }
                let dispatched = self.decoder.events_dispatched();
                if dispatched > self.seen_events {
                    self.seen_events = dispatched;
                    // A new gap, counted from the next wait (no clock read per event).
                    self.gap = ReadDeadline::after_wait(self.idle);
                } else if self.gap.passed_without_event() {
                    // Keep-alive comments arrive, but no event: the generation may be stuck.
                    return Err(self.fail(Error::timeout(TimeoutPhase::StreamIdle, self.idle)));
                }
                Ok(())
            }
            Ok(None) => {
                self.finished = true;
                let partial = self.decoder.finish();
                if self.done {
                    return Ok(());
                }
                let mut msg = format!(
                    "the body ended without {} after {} event(s)",
                    self.ending.expected, self.items
                );
                if partial {
                    msg.push_str(", in the middle of an event");
                }
                Err(self.fail(Error::stream(StreamErrorKind::Truncated, msg)))
            }
            // A connection that breaks mid-stream is reported the same way in both modes.
            Err(Error::Connection(c)) => {
                let msg = format!(
                    "the connection broke after {} event(s): {}",
                    self.items, c.message
                );
                Err(self.fail(Error::stream(StreamErrorKind::Truncated, msg)))
            }
            // The transport reports the stream's own deadline without its limit.
            Err(Error::Timeout(t)) if t.phase == TimeoutPhase::StreamIdle => {
                Err(self.fail(Error::timeout(TimeoutPhase::StreamIdle, self.idle)))
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    fn fail_with(&mut self, e: StreamError) -> Error {
        self.fail(Error::Stream(Box::new(e)))
    }

    /// Every error the stream yields goes through here: the stream is finished, the error
    /// gets the request id and retry count, and the key is redacted.
    fn fail(&mut self, mut e: Error) -> Error {
        self.finished = true;
        if let Error::Stream(s) = &mut e {
            s.request_id = self.meta.request_id().map(str::to_owned);
        }
        e.set_retries_taken(self.meta.retries_taken);
        if let Some(key) = &self.key {
            e.redact(key.expose());
        }
        self.span.error(&e);
        e
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl<T: DeserializeOwned> EventStream<T> {
    /// The next item, `Ok(None)` at the end of the stream. The same call in both modes
    /// (`.await` it in async mode).
    pub async fn try_next(&mut self) -> Result<Option<T>> {
        self.next_to(&mut New).await.transpose()
    }

    /// Reads the next item into `item`, reusing the memory it holds: `Ok(true)` when it
    /// holds the next item, `Ok(false)` at the end of the stream. The same call in both
    /// modes (`.await` it in async mode).
    ///
    /// For streams with many events: decoding every chunk into one value keeps its strings
    /// and lists (the id, the model, each choice and its content) from one event to the
    /// next, where the iterator allocates them anew for each event. The value `item` holds
    /// afterwards is the same as the iterator's next item; what it keeps allocated is at
    /// most what the largest event so far needed. After an error, which ends the stream as
    /// it does for the iterator, `item` may hold a partly decoded value.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::{ChatCompletionChunk, ChatCompletionRequest, Message}};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let req = ChatCompletionRequest::new("my-model", [Message::user("Tell a story")]);
    /// let mut stream = client.chat().create_stream(&req)?;
    /// let mut chunk = ChatCompletionChunk::default();
    /// while stream.next_into(&mut chunk)? {
    ///     print!("{}", chunk.text());
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn next_into(&mut self, item: &mut T) -> Result<bool> {
        match self.next_to(&mut Reuse(item)).await {
            Some(Ok(())) => Ok(true),
            Some(Err(e)) => Err(e),
            None => Ok(false),
        }
    }

    /// The next item decoded to `target`, in the blocking iterator's shape: built that way
    /// from the start, so an iterator's item (a chunk is a few hundred bytes) is not moved
    /// through `Result<Option<T>>` and back.
    #[cfg(feature = "blocking")]
    fn next_to<G: Target<T>>(&mut self, target: &mut G) -> Option<Result<G::Out>> {
        loop {
            if let Some(item) = self.state.pop(target) {
                return Some(item);
            }
            let mut read = self.state.next_read()?;
            let got = self.response.chunk(self.state.deadline(&mut read));
            if let Err(e) = self.state.took(read, got) {
                return Some(Err(e));
            }
        }
    }

    /// The next item decoded to `target`, from the same poll loop as the `Stream` impl: an
    /// `async fn` loop around `chunk(..).await` would move each item (a chunk is a few
    /// hundred bytes) through every nested future's output once more.
    #[cfg(not(feature = "blocking"))]
    async fn next_to<G: Target<T>>(&mut self, target: &mut G) -> Option<Result<G::Out>> {
        std::future::poll_fn(|cx| self.poll_to(cx, target)).await
    }
}

#[cfg(feature = "blocking")]
impl<T: DeserializeOwned> Iterator for EventStream<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        self.next_to(&mut New)
    }
}

#[cfg(not(feature = "blocking"))]
impl<T: DeserializeOwned> EventStream<T> {
    /// The poll loop behind `try_next`, `next_into` and the `Stream` impl.
    fn poll_to<G: Target<T>>(
        &mut self,
        cx: &mut std::task::Context<'_>,
        target: &mut G,
    ) -> std::task::Poll<Option<Result<G::Out>>> {
        use std::task::Poll;
        loop {
            if let Some(item) = self.state.pop(target) {
                return Poll::Ready(Some(item));
            }
            let Some(mut read) = self.state.next_read() else {
                return Poll::Ready(None);
            };
            let got = match self.response.poll_chunk(cx, self.state.deadline(&mut read)) {
                Poll::Ready(got) => got,
                Poll::Pending => return Poll::Pending,
            };
            if let Err(e) = self.state.took(read, got) {
                return Poll::Ready(Some(Err(e)));
            }
        }
    }
}

#[cfg(not(feature = "blocking"))]
impl<T: DeserializeOwned> futures_core::Stream for EventStream<T> {
    type Item = Result<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<T>>> {
        self.poll_to(cx, &mut New)
    }
}
