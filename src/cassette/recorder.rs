//! An answer being recorded: the transports hand it every piece of the body as it is read,
//! and it is written to the cassette when the body ends, or when the answer is dropped before
//! (a stream left early: written as far as it was read, marked incomplete).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use super::format::{Answer, Exchange, Piece, Request, keeps};
use super::store::Store;
use crate::headers::Headers;

pub(crate) struct Recorder {
    store: Arc<Store>,
    request: Option<Request>,
    status: u16,
    headers: BTreeMap<String, String>,
    started: Instant,
    /// Whole lines, each with when its last byte came.
    pieces: Vec<Piece>,
    /// The start of a line still coming.
    pending: Vec<u8>,
}

impl Recorder {
    pub(crate) fn new(store: Arc<Store>, request: Request, status: u16, headers: &Headers) -> Self {
        let headers = headers
            .iter()
            .filter(|(name, _)| keeps(name))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect();
        Recorder {
            store,
            request: Some(request),
            status,
            headers,
            started: Instant::now(),
            pieces: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// Notes a piece of the body as it came.
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            let rest = self.pending.split_off(end + 1);
            let line = std::mem::replace(&mut self.pending, rest);
            self.piece(line);
        }
    }

    fn piece(&mut self, bytes: Vec<u8>) {
        let after_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        self.pieces.push(Piece { after_ms, text });
    }

    /// Writes the exchange (once): `complete` when the body was read to its end.
    pub(crate) fn finish(&mut self, complete: bool) {
        let Some(request) = self.request.take() else {
            return;
        };
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            self.piece(rest);
        }
        let stream = self
            .headers
            .get("content-type")
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("text/event-stream"));
        let mut answer = Answer {
            status: self.status,
            headers: std::mem::take(&mut self.headers),
            body: None,
            text: None,
            events: None,
            complete,
        };
        let pieces = std::mem::take(&mut self.pieces);
        if stream {
            answer.events = Some(pieces);
        } else {
            let text: String = pieces.into_iter().map(|p| p.text).collect();
            match serde_json::from_str::<Value>(&text) {
                Ok(v) if complete => answer.body = Some(v),
                _ => answer.text = Some(text),
            }
        }
        self.store.save(Exchange {
            request,
            response: answer,
        });
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish(false);
    }
}
