//! `custom_id`s kept as 128-bit keyed hashes: a run remembers every id it has seen (to find
//! duplicates and to skip what the output already holds) in 16 bytes each, whatever the ids'
//! length. Two independent SipHash keys make a collision in a billion ids about 1e-21 likely.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// A `custom_id`'s key.
pub type Key = [u64; 2];

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
}
