//! `custom_id`s kept as 128-bit keyed hashes: a run remembers every id it has seen (to find
//! duplicates and to skip what the output already holds) in 16 bytes each, whatever the ids'
//! length. Two independent SipHash keys make a collision in a billion ids about 1e-21 likely.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// A `custom_id`'s key.
pub type Key = [u64; 2];

/// Every `custom_id` a run knows: 24 bytes each with the map's own overhead about 50.
pub type Table = HashMap<Key, Seen>;

/// What a run knows about one `custom_id`, packed in 8 bytes: the input line it was first
/// seen on (0: not yet), and whether the output already holds its result (ok or failed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen(u64);

impl Seen {
    const OK: u64 = 1 << 62;
    const FAILED: u64 = 1 << 63;
    const LINE: u64 = Self::OK - 1;

    /// An id whose result the output already holds.
    pub fn previous(failed: bool) -> Seen {
        Seen(if failed { Self::FAILED } else { Self::OK })
    }

    /// The output's result: `Some(failed)`, or `None`.
    pub fn result(self) -> Option<bool> {
        match self.0 & (Self::OK | Self::FAILED) {
            0 => None,
            Self::OK => Some(false),
            _ => Some(true),
        }
    }

    /// The input line it was first seen on, 0 if none.
    pub fn line(self) -> u64 {
        self.0 & Self::LINE
    }

    /// Notes the input line (line numbers beyond 2^62 are not told apart).
    pub fn set_line(&mut self, n: u64) {
        self.0 = (self.0 & !Self::LINE) | n.min(Self::LINE);
    }
}

/// The hash keys of one run (random per run; keys are never stored).
pub struct Keys {
    a: RandomState,
    b: RandomState,
}

impl Keys {
    pub fn new() -> Self {
        Keys {
            a: RandomState::new(),
            b: RandomState::new(),
        }
    }

    pub fn of(&self, custom_id: &str) -> Key {
        [self.a.hash_one(custom_id), self.b.hash_one(custom_id)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_ids_equal_keys() {
        let k = Keys::new();
        assert_eq!(k.of("req-1"), k.of("req-1"));
        assert_ne!(k.of("req-1"), k.of("req-2"));
        assert_ne!(k.of("a")[0], k.of("a")[1], "the two halves are independent");
    }

    #[test]
    fn seen_packs_line_and_result() {
        let mut s = Seen::previous(true);
        assert_eq!((s.result(), s.line()), (Some(true), 0));
        s.set_line(42);
        assert_eq!((s.result(), s.line()), (Some(true), 42));
        let mut s = Seen::default();
        s.set_line(u64::MAX);
        assert_eq!(s.result(), None);
        let mut s = Seen::previous(false);
        s.set_line(7);
        assert_eq!((s.result(), s.line()), (Some(false), 7));
    }
}
