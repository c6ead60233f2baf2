//! A recorded answer played back: its status, headers and body pieces, each due at its
//! recorded time after the answer began when the timing is kept, else at once. Sans-IO: the
//! transports do the waiting, each in its own mode.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::format::Answer;
use crate::headers::Headers;

/// The longest a replayed piece waits after the answer began: an edited or corrupt time
/// (`after_ms` of 584 million years) must not hang a test.
const LONGEST: Duration = Duration::from_secs(3600);

pub(crate) struct Tape {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    pieces: VecDeque<(Duration, Vec<u8>)>,
    timing: bool,
    started: Instant,
}

impl Tape {
    pub(crate) fn new(answer: &Answer, timing: bool) -> Tape {
        let pieces = match &answer.events {
            Some(events) if answer.body.is_none() && answer.text.is_none() => events
                .iter()
                .map(|p| {
                    let after = Duration::from_millis(p.after_ms).min(LONGEST);
                    (after, p.text.clone().into_bytes())
                })
                .collect(),
            _ => VecDeque::from([(Duration::ZERO, answer.body_bytes())]),
        };
        Tape {
            status: answer.status,
            headers: Headers::from_pairs(answer.headers.iter()),
            pieces,
            timing,
            started: Instant::now(),
        }
    }

    /// When the next piece is due, if it is not yet (only when the timing is kept).
    pub(crate) fn wait(&self) -> Option<Instant> {
        let (after, _) = self.pieces.front()?;
        if !self.timing {
            return None;
        }
        let due = self.started.checked_add(*after)?;
        (due > Instant::now()).then_some(due)
    }

    /// The next piece, `None` at the end of the body.
    pub(crate) fn pop(&mut self) -> Option<Vec<u8>> {
        self.pieces.pop_front().map(|(_, bytes)| bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::format::Piece;

    fn answer(events: &[(u64, &str)]) -> Answer {
        Answer {
            status: 200,
            headers: [("content-type".to_owned(), "text/event-stream".to_owned())].into(),
            body: None,
            text: None,
            events: Some(
                events
                    .iter()
                    .map(|(after_ms, t)| Piece {
                        after_ms: *after_ms,
                        text: (*t).into(),
                    })
                    .collect(),
            ),
            complete: true,
        }
    }

    #[test]
    fn pieces_come_in_order_and_wait_only_when_timed() {
        let a = answer(&[(0, "data: 1\n\n"), (60_000, "data: 2\n\n")]);
        let mut fast = Tape::new(&a, false);
        assert_eq!(fast.headers.get("content-type"), Some("text/event-stream"));
        assert_eq!(fast.wait(), None);
        assert_eq!(fast.pop().unwrap(), b"data: 1\n\n");
        assert_eq!(fast.wait(), None, "untimed: never waits");
        assert_eq!(fast.pop().unwrap(), b"data: 2\n\n");
        assert_eq!(fast.pop(), None);
        let mut timed = Tape::new(&a, true);
        assert_eq!(timed.wait(), None, "the first is due at once");
        timed.pop();
        let due = timed.wait().expect("the second is a minute away");
        assert!(due > Instant::now() + Duration::from_secs(59));
        // A recorded time beyond an hour waits an hour.
        let far = Tape::new(&answer(&[(u64::MAX, "x")]), true);
        let due = far.wait().unwrap();
        assert!(due <= Instant::now() + LONGEST, "{due:?}");
    }
}
