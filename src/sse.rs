//! A sans-IO decoder for Server-Sent Events (`text/event-stream`).
//!
//! This follows the WHATWG HTML rules for *interpreting an event stream*: LF, CRLF
//! and bare CR line ends (including a CRLF split across two network chunks), one
//! leading byte-order mark ignored, `:` comments (vLLM's `: keep-alive`) skipped,
//! multi-line `data`, persistent `id`, and per-line lossy UTF-8 decoding.
//!
//! Internal: the client's streams ([`crate::EventStream`] and the typed streams) are the public
//! face of it; the fuzz targets and the benches reach it through `crate::fuzzing` and by
//! compiling this file into themselves.
//!
//! It is hand-written rather than taken from a crate because:
//!
//! - **Both client modes share it.** The decoder never touches a socket: the
//!   blocking client feeds it bytes from a `Read`, the async client feeds it
//!   bytes from a stream of chunks, and both pop the same [`EventRef`]s.
//! - **It stays cheap per chunk.** Complete lines are parsed straight from the
//!   caller's slice; only a trailing partial line is copied, and only the value
//!   of a kept field is decoded, so there is no `String` per line. Line ends are
//!   found with `memchr2` (SIMD, the `memchr` crate serde_json already links in),
//!   and values take `str::from_utf8`'s word-at-a-time ASCII path: the lossy
//!   decoder runs only for input that is not valid UTF-8.
//! - **Memory is bounded.** A server that never sends a newline, or an event
//!   that never ends, is cut off with an [`SseError`] instead of growing a buffer
//!   without limit.
//!
//! The decoder knows nothing about OpenAI semantics: `data: [DONE]` is an
//! ordinary event whose data is `[DONE]`, left for the client to interpret.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::mem;
use std::ops::Range;
use std::str;

/// The default for [`Decoder::with_max_event_size`]: 4 MiB, which bounds both a
/// single line and the accumulated `data` of a single event.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 4 * 1024 * 1024;

/// The UTF-8 byte-order mark, ignored once at the very start of a stream.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// One dispatched event, borrowed from the decoder (see [`Decoder::next_event_ref`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The `event:` type, or `None` for the default type (`message`). An empty
    /// `event:` field also counts as the default type.
    pub event: Option<&'a str>,
    /// The `data:` lines of the event joined with `\n` (no trailing newline).
    /// May be empty: a bare `data` line followed by a blank line dispatches an
    /// event with empty data.
    pub data: &'a str,
    /// The last event ID at the time of dispatch. IDs persist across events
    /// until another `id:` field changes them; `None` when no ID has been set
    /// or an empty `id:` field reset it.
    // `id` and `retry` are decoded as the spec says although the client does not
    // reconnect (no `Last-Event-ID`, no reconnection delay): only the tests read them.
    #[allow(dead_code)]
    pub id: Option<&'a str>,
    /// The reconnection time in milliseconds, if a valid `retry:` field (ASCII
    /// digits only) appeared in this event.
    #[allow(dead_code)]
    pub retry: Option<u64>,
}

#[cfg(test)]
impl EventRef<'_> {
    /// The event as an owned `Event`.
    pub fn to_owned(self) -> Event {
        Event {
            event: self.event.map(str::to_owned),
            data: self.data.to_owned(),
            id: self.id.map(str::to_owned),
            retry: self.retry,
        }
    }
}

/// An [`EventRef`], owned: what the tests compare.
#[cfg(test)]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
    pub id: Option<String>,
    pub retry: Option<u64>,
}

/// Why a [`Decoder`] rejected its input.
///
/// After an error the decoder's state is unspecified (it never panics, but its
/// further output is meaningless); the caller should abandon the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SseError {
    /// A single line grew longer than `limit` bytes (excluding its line end).
    LineTooLong {
        /// The configured maximum, in bytes.
        limit: usize,
    },
    /// The accumulated `data` of a single event grew longer than `limit` bytes.
    EventTooLarge {
        /// The configured maximum, in bytes.
        limit: usize,
    },
}

impl fmt::Display for SseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SseError::LineTooLong { limit } => {
                write!(
                    f,
                    "server-sent event line exceeds the limit of {limit} bytes"
                )
            }
            SseError::EventTooLarge { limit } => {
                write!(
                    f,
                    "server-sent event data exceeds the limit of {limit} bytes"
                )
            }
        }
    }
}

impl std::error::Error for SseError {}

/// An incremental, sans-IO decoder for a `text/event-stream` body.
///
/// Feed it the body's bytes in whatever chunks the network delivers with
/// [`feed`](Decoder::feed), pop complete events with
/// [`next_event`](Decoder::next_event), and call [`finish`](Decoder::finish)
/// at the end of the body. Chunk boundaries never change the result (the
/// `usage_from_feed_to_finish` test shows the whole cycle).
#[derive(Debug)]
pub struct Decoder {
    /// Maximum length of one line and of one event's data.
    limit: usize,
    /// The bytes of a line that has not been terminated yet.
    line: Vec<u8>,
    /// The previous chunk ended with CR, so an LF starting the next chunk is
    /// the second half of a CRLF, not a blank line.
    after_cr: bool,
    /// No byte of the stream has been consumed yet (the BOM may still come).
    at_start: bool,
    /// How many bytes of a BOM have been held back while `at_start`: a chunk
    /// may end in the middle of the BOM.
    bom_matched: usize,
    /// The text of the events dispatched but not popped yet (their data, type and ID,
    /// at the ranges `queue` gives), then the data of the event being read, from
    /// `data_start` on (without the trailing LF the spec appends per line). One buffer,
    /// emptied whenever the queue is, so that an event costs no allocation of its own.
    text: String,
    /// Where the data of the event being read starts in `text`.
    data_start: usize,
    /// At least one `data` field was seen, so the data is meaningful even when
    /// empty (the spec's buffer would be `"\n"`, not `""`).
    has_data: bool,
    /// The event type buffer (empty means the default type).
    event_type: String,
    /// The last event ID buffer; persists across events.
    last_id: String,
    /// Where `last_id` is in `text`, once an event since it changed (and since `text` was
    /// last emptied) has used it: the events it applies to share one copy, so a long ID
    /// followed by many small events costs its length once, not once per event.
    last_id_at: Option<Range<usize>>,
    /// A valid `retry` seen since the last blank line.
    retry: Option<u64>,
    /// A field line was seen since the last blank line, so ending here would
    /// lose (part of) an event.
    in_event: bool,
    /// Dispatched events not yet popped, as ranges of `text`.
    queue: VecDeque<Queued>,
    /// Events dispatched over the decoder's lifetime.
    dispatched: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// Creates a decoder whose line and event limit is [`DEFAULT_MAX_EVENT_SIZE`].
    pub fn new() -> Self {
        Self::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// Creates a decoder that rejects any line longer than `limit` bytes
    /// ([`SseError::LineTooLong`]) and any event whose data is longer than
    /// `limit` bytes ([`SseError::EventTooLarge`]).
    pub fn with_max_event_size(limit: usize) -> Self {
        Self {
            limit,
            line: Vec::new(),
            after_cr: false,
            at_start: true,
            bom_matched: 0,
            text: String::new(),
            data_start: 0,
            has_data: false,
            event_type: String::new(),
            last_id: String::new(),
            last_id_at: None,
            retry: None,
            in_event: false,
            queue: VecDeque::new(),
            dispatched: 0,
        }
    }

    /// Feeds one chunk of the body. Every event completed by this chunk is
    /// queued for [`next_event`](Decoder::next_event), so drain the queue after
    /// each call to keep memory bounded.
    ///
    /// # Errors
    ///
    /// [`SseError::LineTooLong`] or [`SseError::EventTooLarge`] when the input
    /// exceeds the decoder's limit. The decoder must not be used afterwards,
    /// though events queued before the error can still be popped.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), SseError> {
        let mut chunk = chunk;
        if self.at_start {
            while self.bom_matched < BOM.len() {
                match chunk.split_first() {
                    // Too few bytes yet to know whether this is a BOM.
                    None => return Ok(()),
                    Some((&byte, rest)) if byte == BOM[self.bom_matched] => {
                        self.bom_matched += 1;
                        chunk = rest;
                    }
                    Some(_) => break,
                }
            }
            self.at_start = false;
            if self.bom_matched < BOM.len() {
                // Not a BOM after all: the bytes held back are ordinary input.
                self.process(&BOM[..self.bom_matched])?;
            }
        }
        self.process(chunk)
    }

    /// Pops the oldest complete event not yet returned, owned.
    #[cfg(test)]
    pub fn next_event(&mut self) -> Option<Event> {
        self.next_event_ref().map(EventRef::to_owned)
    }

    /// Pops the oldest complete event not yet returned, borrowed from the decoder: what the
    /// client's streams use, so that an event is not copied into `String`s of its own.
    pub fn next_event_ref(&mut self) -> Option<EventRef<'_>> {
        let Some(queued) = self.queue.pop_front() else {
            // Nothing is borrowed any more: drop the popped events' text, keeping the data
            // of an event still being read. (Checked first: on tiny network reads this runs
            // once per read, mostly with nothing to drop.)
            if self.data_start > 0 {
                if self.text.len() == self.data_start {
                    self.text.clear();
                } else {
                    self.text.drain(..self.data_start);
                }
                self.data_start = 0;
                self.last_id_at = None;
            }
            return None;
        };
        let text = self.text.as_str();
        let at = |range: Range<usize>| text.get(range).unwrap_or_default();
        Some(EventRef {
            event: queued.event.map(at),
            data: at(queued.data),
            id: queued.id.map(at),
            retry: queued.retry,
        })
    }

    /// Signals the end of the body.
    ///
    /// As the spec requires, an event not terminated by a blank line is
    /// discarded, never dispatched. Returns `true` if anything was discarded
    /// (a partial line, or field lines without their closing blank line), which
    /// means the body was truncated; `false` after a clean end. Events already
    /// queued stay available, the last event ID is kept, and a second call
    /// returns `false`.
    pub fn finish(&mut self) -> bool {
        let pending = !self.line.is_empty()
            || self.in_event
            || self.has_data
            || (self.at_start && self.bom_matched > 0);
        self.line.clear();
        self.after_cr = false;
        self.at_start = false;
        self.bom_matched = 0;
        self.text.truncate(self.data_start);
        self.has_data = false;
        self.event_type.clear();
        self.retry = None;
        self.in_event = false;
        pending
    }

    /// The number of events dispatched since the decoder was created, whether
    /// or not they have been popped. Comments and empty blocks do not count, so
    /// a change in this number means real progress (useful for idle timeouts
    /// that keep-alive comments must not reset).
    pub fn events_dispatched(&self) -> u64 {
        self.dispatched
    }

    /// Splits `bytes` (BOM already handled) into lines; complete lines are
    /// parsed in place, and only the unterminated tail is copied.
    fn process(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        let mut rest = bytes;
        if self.after_cr {
            // An empty chunk says nothing about whether an LF follows the CR.
            if let Some((&first, tail)) = rest.split_first() {
                self.after_cr = false;
                if first == b'\n' {
                    rest = tail;
                }
            }
        }
        while let Some(end) = line_end(rest) {
            let (line, terminator) = rest.split_at(end);
            if self.line.is_empty() {
                self.check_line(line.len())?;
                self.process_line(line)?;
            } else {
                self.check_line(self.line.len() + line.len())?;
                // Taken out so `process_line` can borrow `self` mutably; put back
                // afterwards to keep the allocation for the next partial line.
                let mut joined = mem::take(&mut self.line);
                joined.extend_from_slice(line);
                let result = self.process_line(&joined);
                joined.clear();
                self.line = joined;
                result?;
            }
            rest = match terminator {
                [b'\r', b'\n', after @ ..] => after,
                [b'\r'] => {
                    // The LF of a CRLF may be the first byte of the next chunk.
                    self.after_cr = true;
                    &[]
                }
                [_, after @ ..] => after,
                [] => &[],
            };
        }
        self.check_line(self.line.len() + rest.len())?;
        self.line.extend_from_slice(rest);
        Ok(())
    }

    fn check_line(&self, len: usize) -> Result<(), SseError> {
        if len > self.limit {
            Err(SseError::LineTooLong { limit: self.limit })
        } else {
            Ok(())
        }
    }

    /// Interprets one complete line, without its line end.
    fn process_line(&mut self, line: &[u8]) -> Result<(), SseError> {
        if line.is_empty() {
            self.dispatch();
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        self.in_event = true;
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        // Names are matched as bytes: a name with invalid UTF-8 cannot match.
        match name {
            b"data" => self.push_data(value)?,
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&text(value));
            }
            // The spec ignores an ID containing NUL (it could not be sent back
            // in a `Last-Event-ID` header); it falls through to the last arm.
            b"id" if !value.contains(&0) => {
                self.last_id.clear();
                self.last_id.push_str(&text(value));
                self.last_id_at = None;
            }
            // An invalid value leaves any earlier valid one in place.
            b"retry" => self.retry = parse_retry(value).or(self.retry),
            _ => {}
        }
        Ok(())
    }

    fn push_data(&mut self, value: &[u8]) -> Result<(), SseError> {
        let value = text(value);
        let separator = usize::from(self.has_data);
        let len = self.text.len() - self.data_start;
        if len + separator + value.len() > self.limit {
            return Err(SseError::EventTooLarge { limit: self.limit });
        }
        if self.has_data {
            self.text.push('\n');
        }
        self.text.push_str(&value);
        self.has_data = true;
        Ok(())
    }

    /// Handles a blank line.
    fn dispatch(&mut self) {
        self.in_event = false;
        let retry = self.retry.take();
        if !self.has_data {
            // The spec resets the type even when nothing is dispatched.
            self.event_type.clear();
            return;
        }
        self.has_data = false;
        let data = self.data_start..self.text.len();
        let event = append(&mut self.text, &self.event_type);
        self.event_type.clear();
        let id = match &self.last_id_at {
            Some(at) => Some(at.clone()),
            None => append(&mut self.text, &self.last_id),
        };
        self.last_id_at.clone_from(&id);
        self.data_start = self.text.len();
        self.queue.push_back(Queued {
            event,
            data,
            id,
            retry,
        });
        self.dispatched += 1;
    }
}

/// A dispatched event: where its parts are in the decoder's `text`.
#[derive(Debug)]
struct Queued {
    event: Option<Range<usize>>,
    data: Range<usize>,
    id: Option<Range<usize>>,
    retry: Option<u64>,
}

/// Appends `value` to `text` and returns where it is; `None` for an empty value (the
/// default type, no ID).
fn append(text: &mut String, value: &str) -> Option<Range<usize>> {
    if value.is_empty() {
        return None;
    }
    let start = text.len();
    text.push_str(value);
    Some(start..text.len())
}

/// The position of the first CR or LF in `bytes`.
fn line_end(bytes: &[u8]) -> Option<usize> {
    // Below one SIMD vector, the plain loop beats `memchr2`'s call and dispatch (tiny network
    // reads: the tail of a line split across packets).
    if bytes.len() < 16 {
        bytes.iter().position(|&b| b == b'\n' || b == b'\r')
    } else {
        memchr::memchr2(b'\n', b'\r', bytes)
    }
}

/// A field value as text: borrowed when it is valid UTF-8 (checked with the
/// standard library's fast validator), else decoded lossily as the spec says,
/// each invalid sequence becoming U+FFFD. `String::from_utf8_lossy` alone would
/// give the same text, but walks even pure ASCII input a byte at a time.
fn text(value: &[u8]) -> Cow<'_, str> {
    match str::from_utf8(value) {
        Ok(valid) => Cow::Borrowed(valid),
        Err(_) => String::from_utf8_lossy(value),
    }
}

/// Parses a `retry` value: ASCII digits only. Anything else, including an empty
/// value or one that overflows `u64`, makes the spec ignore the field.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: Option<&str>, data: &str, id: Option<&str>, retry: Option<u64>) -> Event {
        Event {
            event: event.map(str::to_owned),
            data: data.to_owned(),
            id: id.map(str::to_owned),
            retry,
        }
    }

    fn data(data: &str) -> Event {
        ev(None, data, None, None)
    }

    fn drain(decoder: &mut Decoder) -> Vec<Event> {
        std::iter::from_fn(|| decoder.next_event()).collect()
    }

    /// Feeds the chunks in order, then finishes; returns the events and
    /// whether `finish` reported a truncated tail.
    fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Event>, bool) {
        let mut decoder = Decoder::new();
        let mut events = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk).unwrap();
            events.extend(drain(&mut decoder));
        }
        let truncated = decoder.finish();
        events.extend(drain(&mut decoder));
        assert_eq!(decoder.events_dispatched(), events.len() as u64);
        (events, truncated)
    }

    fn decode(input: &[u8]) -> (Vec<Event>, bool) {
        decode_chunks([input])
    }

    fn decode_split_at(input: &[u8], cuts: &[usize]) -> (Vec<Event>, bool) {
        let mut chunks = Vec::new();
        let mut start = 0;
        for &cut in cuts {
            chunks.push(&input[start..cut]);
            start = cut;
        }
        chunks.push(&input[start..]);
        decode_chunks(chunks)
    }

    #[test]
    fn usage_from_feed_to_finish() {
        let mut decoder = Decoder::new();
        // A chunk boundary may fall anywhere, even inside a line.
        decoder.feed(b": keep-alive\n\ndata: {\"text\":").unwrap();
        assert_eq!(decoder.next_event(), None);
        decoder.feed(b"\"hi\"}\n\ndata: [DONE]\n\n").unwrap();

        let first = decoder.next_event();
        assert_eq!(first.map(|e| e.data).as_deref(), Some(r#"{"text":"hi"}"#));
        // `[DONE]` is ordinary data to the decoder.
        assert_eq!(
            decoder.next_event().map(|e| e.data).as_deref(),
            Some("[DONE]")
        );
        assert_eq!(decoder.next_event(), None);

        // `false`: the body ended cleanly, nothing was cut off.
        assert!(!decoder.finish());
        assert_eq!(decoder.events_dispatched(), 2);
    }

    #[test]
    fn spec_example_stock_multiline_data() {
        let input = b"data: YHOO\ndata: +2\ndata: 10\n\n";
        assert_eq!(decode(input), (vec![data("YHOO\n+2\n10")], false));
    }

    #[test]
    fn spec_example_ids_and_comment() {
        let input = b": test stream\n\ndata: first event\nid: 1\n\n\
                      data:second event\nid\n\ndata:  third event\n\n";
        let expected = vec![
            ev(None, "first event", Some("1"), None),
            ev(None, "second event", None, None),
            ev(None, " third event", None, None),
        ];
        assert_eq!(decode(input), (expected, false));
    }

    #[test]
    fn spec_example_empty_data_and_unterminated_block() {
        let input = b"data\n\ndata\ndata\n\ndata:";
        assert_eq!(decode(input), (vec![data(""), data("\n")], true));
    }

    #[test]
    fn spec_example_space_after_colon_is_optional() {
        let input = b"data:test\n\ndata: test\n\n";
        assert_eq!(decode(input), (vec![data("test"), data("test")], false));
    }

    #[test]
    fn only_one_leading_space_is_stripped() {
        let input = b"data:   x \nevent:  t\n\n";
        let expected = vec![ev(Some(" t"), "  x ", None, None)];
        assert_eq!(decode(input), (expected, false));
    }

    #[test]
    fn lf_cr_and_crlf_endings_are_equivalent() {
        let template = "event: a|data: 1|data: 2||: c||data: 3|id: 9||";
        let expected = vec![
            ev(Some("a"), "1\n2", None, None),
            ev(None, "3", Some("9"), None),
        ];
        for ending in ["\n", "\r", "\r\n"] {
            let input = template.replace('|', ending);
            assert_eq!(
                decode(input.as_bytes()),
                (expected.clone(), false),
                "{ending:?}"
            );
        }
        let mixed = b"event: a\rdata: 1\r\ndata: 2\n\r: c\r\n\ndata: 3\rid: 9\r\n\r";
        assert_eq!(decode(mixed), (expected, false));
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        // Were the LF taken as a second line end, this would be two events.
        let chunks: [&[u8]; 5] = [b"data: a\r", b"", b"\ndata: b\r", b"\n", b"\r\n"];
        assert_eq!(decode_chunks(chunks), (vec![data("a\nb")], false));
    }

    #[test]
    fn lone_cr_at_chunk_end_then_other_byte() {
        let chunks: [&[u8]; 3] = [b"data: a\r", b"\r", b"data: b\n\n"];
        assert_eq!(decode_chunks(chunks), (vec![data("a"), data("b")], false));
    }

    #[test]
    fn ids_persist_and_nul_ids_are_ignored() {
        let input = b"id: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid:\ndata: d\n\n";
        let expected = vec![
            ev(None, "a", Some("7"), None),
            ev(None, "b", Some("7"), None),
            ev(None, "c", Some("7"), None),
            ev(None, "d", None, None),
        ];
        assert_eq!(decode(input), (expected, false));
    }

    #[test]
    fn events_left_queued_across_feeds_keep_their_text() {
        // Events popped one at a time, with more input fed while some are still queued and
        // an event half read: none of the borrowed text may move or be dropped early.
        let mut decoder = Decoder::new();
        decoder
            .feed(b"event: e1\nid: 1\ndata: one\n\ndata: two\n\ndata: thr")
            .unwrap();
        let first = decoder.next_event_ref().unwrap().to_owned();
        assert_eq!(first, ev(Some("e1"), "one", Some("1"), None));
        decoder
            .feed(b"ee\ndata: 3\n\nid: 2\ndata: four\n\ndata: fi\n")
            .unwrap();
        let rest = drain(&mut decoder);
        assert_eq!(
            rest,
            vec![
                ev(None, "two", Some("1"), None),
                ev(None, "three\n3", Some("1"), None),
                ev(None, "four", Some("2"), None),
            ]
        );
        // Everything popped: only the half-read event's data is kept.
        assert_eq!(decoder.text, "fi");
        decoder.feed(b"data: ve\n\n").unwrap();
        assert_eq!(
            drain(&mut decoder),
            vec![ev(None, "fi\nve", Some("2"), None)]
        );
        assert_eq!((decoder.text.as_str(), decoder.data_start), ("", 0));
    }

    #[test]
    fn a_long_id_is_kept_once_for_the_events_it_applies_to() {
        // 64 KiB of ID, then 10,000 tiny events in one piece: the queued text holds the ID
        // once (a copy per event would be 640 MiB).
        let id = "i".repeat(64 * 1024);
        let mut input = format!("id: {id}\n").into_bytes();
        for _ in 0..10_000 {
            input.extend_from_slice(b"data: x\n\n");
        }
        let mut decoder = Decoder::new();
        decoder.feed(&input).unwrap();
        assert!(
            decoder.text.len() < 64 * 1024 + 10_001,
            "{}",
            decoder.text.len()
        );
        let mut n = 0;
        while let Some(event) = decoder.next_event_ref() {
            assert_eq!((event.data, event.id), ("x", Some(id.as_str())));
            n += 1;
        }
        assert_eq!(n, 10_000);
    }

    #[test]
    fn event_type_and_retry_reset_at_every_blank_line() {
        let input = b"event: x\nretry: 5\n\ndata: a\n\nevent: y\nretry: 6\ndata: b\n\ndata: c\n\n";
        let expected = vec![data("a"), ev(Some("y"), "b", None, Some(6)), data("c")];
        assert_eq!(decode(input), (expected, false));
    }

    #[test]
    fn invalid_retry_values_are_ignored() {
        for value in [
            "",
            "  1", // One space is stripped; the other makes it invalid.
            "1 ",
            "-1",
            "1.5",
            "12a",
            "+3",
            "99999999999999999999999",
        ] {
            let input = format!("retry: 5\nretry:{value}\ndata: x\n\n");
            let expected = vec![ev(None, "x", None, Some(5))];
            assert_eq!(decode(input.as_bytes()), (expected, false), "{value:?}");
        }
        let max = format!("retry: {}\ndata: x\n\n", u64::MAX);
        assert_eq!(
            decode(max.as_bytes()).0,
            vec![ev(None, "x", None, Some(u64::MAX))]
        );
    }

    #[test]
    fn unknown_fields_and_field_without_colon_are_ignored() {
        let input = b"foo: bar\nDATA: no\ndata \nevent\ndata: yes\n\n";
        assert_eq!(decode(input), (vec![data("yes")], false));
    }

    #[test]
    fn done_is_plain_data() {
        let input = b"data: {\"a\":1}\n\ndata: [DONE]\n\n";
        assert_eq!(
            decode(input),
            (vec![data("{\"a\":1}"), data("[DONE]")], false)
        );
    }

    /// BOM, comment, CRLF, bare CR, multi-line data, 2- and 4-byte UTF-8, bare
    /// `data`, `event`, `id` (one with NUL), valid and invalid `retry`, an empty
    /// `event:` and `id`, `[DONE]`, and an unterminated tail.
    const TRICKY: &[u8] = b"\xEF\xBB\xBF: comment\r\n\
        data: first\r\n\
        data:second line\r\r\
        id: 1\n\
        event: update\r\
        data: caf\xC3\xA9 \xF0\x9F\x98\x80\n\
        retry: 1500\n\
        \n\
        data\n\
        retry: 12a\n\
        id: bad\0id\n\
        \n\
        event:\n\
        data:  two spaces\r\n\
        id\n\
        retry: 7\r\n\
        \r\n\
        : keep-alive\n\n\
        data: [DONE]\n\n\
        data: unterminated tail";

    fn tricky_expected() -> Vec<Event> {
        vec![
            data("first\nsecond line"),
            ev(Some("update"), "caf\u{e9} \u{1F600}", Some("1"), Some(1500)),
            ev(None, "", Some("1"), None),
            ev(None, " two spaces", None, Some(7)),
            data("[DONE]"),
        ]
    }

    /// A small xorshift64 so the random chunkings need no extra crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    #[test]
    fn tricky_input_whole() {
        assert_eq!(decode(TRICKY), (tricky_expected(), true));
    }

    #[test]
    fn tricky_input_every_split_point() {
        let whole = decode(TRICKY);
        for cut in 0..=TRICKY.len() {
            assert_eq!(decode_split_at(TRICKY, &[cut]), whole, "cut at {cut}");
        }
    }

    #[test]
    fn tricky_input_every_pair_of_split_points() {
        let whole = decode(TRICKY);
        for a in 0..=TRICKY.len() {
            for b in a..=TRICKY.len() {
                assert_eq!(decode_split_at(TRICKY, &[a, b]), whole, "cuts at {a}, {b}");
            }
        }
    }

    #[test]
    fn tricky_input_random_chunkings() {
        let whole = decode(TRICKY);
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for round in 0..500 {
            let mut cuts = Vec::new();
            let mut pos = 0;
            loop {
                // Lengths 0..=11: includes empty chunks.
                pos += (rng.next() % 12) as usize;
                if pos >= TRICKY.len() {
                    break;
                }
                cuts.push(pos);
            }
            assert_eq!(
                decode_split_at(TRICKY, &cuts),
                whole,
                "round {round}: {cuts:?}"
            );
        }
    }

    #[test]
    fn tricky_input_one_byte_at_a_time() {
        assert_eq!(decode_chunks(TRICKY.chunks(1)), (tricky_expected(), true));
    }

    #[test]
    fn utf8_split_across_chunks() {
        let input = "data: \u{e9}\u{1F600}\n\n".as_bytes();
        let e_acute = 6; // 'é' spans bytes 6..8, the emoji 8..12.
        for cuts in [&[e_acute + 1][..], &[9], &[10], &[11], &[7, 9, 10, 11]] {
            assert_eq!(
                decode_split_at(input, cuts),
                (vec![data("\u{e9}\u{1F600}")], false),
                "{cuts:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        let input = b"data: a\xFFb\ndata: \xC3\nevent: \xF0\x9F\nid: \x80\n\n";
        let expected = vec![ev(
            Some("\u{FFFD}"),
            "a\u{FFFD}b\n\u{FFFD}",
            Some("\u{FFFD}"),
            None,
        )];
        assert_eq!(decode(input), (expected.clone(), false));
        assert_eq!(decode_chunks(input.chunks(1)), (expected, false));
        // A field name with invalid UTF-8 matches nothing.
        assert_eq!(decode(b"d\xFFata: x\n\n"), (vec![], false));
    }

    #[test]
    fn bom_is_ignored_once_and_only_at_start() {
        let expected = (vec![data("x")], false);
        assert_eq!(decode(b"\xEF\xBB\xBFdata: x\n\n"), expected);
        let split: [&[u8]; 4] = [b"\xEF", b"\xBB", b"\xBF", b"data: x\n\n"];
        assert_eq!(decode_chunks(split), expected);
        // A second BOM becomes part of the field name, which then matches nothing.
        assert_eq!(
            decode(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n"),
            (vec![], false)
        );
        // A BOM prefix that turns out not to be a BOM is kept as input.
        let held: [&[u8]; 2] = [b"\xEF\xBB", b"data: x\n\n"];
        assert_eq!(decode_chunks(held), (vec![], false));
        assert_eq!(decode(b"\xEF\xBB\ndata: x\n\n"), (vec![data("x")], false));
        // A BOM later in a line is ordinary (valid) text.
        assert_eq!(
            decode(b"data: \xEF\xBB\xBFx\n\n"),
            (vec![data("\u{FEFF}x")], false)
        );
    }

    #[test]
    fn comments_only_dispatch_nothing() {
        let input = ": keep-alive\n\n".repeat(1000);
        let mut decoder = Decoder::new();
        for chunk in input.as_bytes().chunks(7) {
            decoder.feed(chunk).unwrap();
            assert_eq!(decoder.next_event(), None);
        }
        assert_eq!(decoder.events_dispatched(), 0);
        assert!(!decoder.finish());
    }

    #[test]
    fn events_dispatched_counts_dispatches_not_pops() {
        let mut decoder = Decoder::default();
        decoder
            .feed(b"data: a\n\n: c\n\nevent: x\n\ndata: b\n\ndata: c\n")
            .unwrap();
        assert_eq!(decoder.events_dispatched(), 2);
        assert_eq!(decoder.next_event(), Some(data("a")));
        assert_eq!(decoder.events_dispatched(), 2);
        decoder.feed(b"\n").unwrap();
        assert_eq!(decoder.events_dispatched(), 3);
        assert_eq!(drain(&mut decoder), vec![data("b"), data("c")]);
    }

    #[test]
    fn huge_line_without_newline_is_rejected() {
        let mut decoder = Decoder::with_max_event_size(1024);
        let line = vec![b'x'; 2000];
        let result: Result<Vec<()>, SseError> =
            line.chunks(10).map(|chunk| decoder.feed(chunk)).collect();
        assert_eq!(result, Err(SseError::LineTooLong { limit: 1024 }));
        // Misuse after an error must not panic.
        let _ = decoder.feed(b"\n\ndata: x\n\n");
        let _ = decoder.next_event();
        let _ = decoder.finish();
    }

    #[test]
    fn complete_line_over_limit_is_rejected() {
        let mut line = b"data: ".to_vec();
        line.resize(1025, b'x');
        line.extend_from_slice(b"\n\n");
        let mut decoder = Decoder::with_max_event_size(1024);
        assert_eq!(
            decoder.feed(&line),
            Err(SseError::LineTooLong { limit: 1024 })
        );
    }

    #[test]
    fn line_exactly_at_limit_is_accepted() {
        let mut line = b"data: ".to_vec();
        line.resize(1024, b'x');
        let expected = vec![data(&"x".repeat(1018))];
        for piece in [1024, 10, 1] {
            let mut decoder = Decoder::with_max_event_size(1024);
            for chunk in line.chunks(piece) {
                decoder.feed(chunk).unwrap();
            }
            decoder.feed(b"\r").unwrap();
            decoder.feed(b"\n\n").unwrap();
            assert_eq!(drain(&mut decoder), expected, "pieces of {piece}");
            assert!(!decoder.finish());
        }
    }

    #[test]
    fn huge_event_is_rejected() {
        let line = format!("data: {}\n", "x".repeat(100));
        let input = line.repeat(20);
        let mut decoder = Decoder::with_max_event_size(1024);
        assert_eq!(
            decoder.feed(input.as_bytes()),
            Err(SseError::EventTooLarge { limit: 1024 })
        );
        let _ = decoder.feed(b"\n");
        let _ = decoder.finish();
    }

    #[test]
    fn event_data_exactly_at_limit_is_accepted() {
        // 512 + "\n" + 511 = 1024 bytes of data.
        let input = format!("data: {}\ndata: {}\n\n", "a".repeat(512), "b".repeat(511));
        let mut decoder = Decoder::with_max_event_size(1024);
        decoder.feed(input.as_bytes()).unwrap();
        assert_eq!(decoder.next_event().map(|e| e.data.len()), Some(1024));

        let over = format!("data: {}\ndata: {}\n\n", "a".repeat(512), "b".repeat(512));
        let mut decoder = Decoder::with_max_event_size(1024);
        assert_eq!(
            decoder.feed(over.as_bytes()),
            Err(SseError::EventTooLarge { limit: 1024 })
        );
    }

    #[test]
    fn data_limit_resets_between_events() {
        let line = format!("data: {}\n\n", "x".repeat(1000));
        let mut decoder = Decoder::with_max_event_size(1024);
        for _ in 0..5 {
            decoder.feed(line.as_bytes()).unwrap();
        }
        assert_eq!(decoder.events_dispatched(), 5);
    }

    #[test]
    fn finish_reports_clean_end() {
        for input in [
            &b""[..],
            b"data: a\n\n",
            b"data: a\n\n: trailing comment\n",
            b"data: a\n\r",
            b"\xEF\xBB\xBF",
            b"data: a\r\n\r\n",
        ] {
            let mut decoder = Decoder::new();
            decoder.feed(input).unwrap();
            assert!(!decoder.finish(), "{input:?}");
        }
    }

    #[test]
    fn finish_reports_truncation_and_discards_the_partial_event() {
        for input in [
            &b"data: a"[..],
            b"data: a\n",
            b"data: a\r",
            b"data: a\r\n",
            b"data: a\n\ndata: b\nid: 3\n",
            b"event: x\n",
            b": comment",
            b"\xEF",
            b"\xEF\xBB",
        ] {
            let mut decoder = Decoder::new();
            decoder.feed(input).unwrap();
            let before = drain(&mut decoder);
            assert!(decoder.finish(), "{input:?}");
            assert_eq!(decoder.next_event(), None, "{input:?}");
            assert!(before.iter().all(|e| e.data == "a"), "{input:?}");
            // The pending state was discarded.
            assert!(!decoder.finish(), "{input:?}");
        }
    }

    #[test]
    fn queued_events_survive_finish() {
        let mut decoder = Decoder::new();
        decoder.feed(b"data: a\n\ndata: b").unwrap();
        assert!(decoder.finish());
        assert_eq!(drain(&mut decoder), vec![data("a")]);
    }

    #[test]
    fn error_messages() {
        assert_eq!(
            SseError::LineTooLong { limit: 8 }.to_string(),
            "server-sent event line exceeds the limit of 8 bytes"
        );
        assert_eq!(
            SseError::EventTooLarge { limit: 9 }.to_string(),
            "server-sent event data exceeds the limit of 9 bytes"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(SseError::LineTooLong { limit: 1 });
        assert!(boxed.source().is_none());
    }

    #[test]
    fn zero_limit_never_panics() {
        let mut decoder = Decoder::with_max_event_size(0);
        assert_eq!(decoder.feed(b"\n\r\n\r"), Ok(()));
        assert_eq!(
            decoder.feed(b"data\n"),
            Err(SseError::LineTooLong { limit: 0 })
        );
        assert_eq!(DEFAULT_MAX_EVENT_SIZE, 4 * 1024 * 1024);
    }
}
