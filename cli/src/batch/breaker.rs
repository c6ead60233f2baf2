//! Noticing a dead fleet. When every server has gone away, each remaining line would pay the
//! whole retry backoff only to be written as `connection_error` (1,950 such lines took 320 s
//! at `-c 8`). Instead, lines that got no answer are held back while they come in a row; when
//! [`Breaker::limit`] of them do, the run stops taking lines, and the held ones are not
//! written at all, so a rerun sends them (and the rest of the input) again. An answer of any
//! kind in between means the fleet is alive: the held lines are written as the failures they
//! are, and the count starts again.

/// Lines without an answer, held back while they come in a row.
pub struct Breaker {
    limit: usize,
    held: Vec<Vec<u8>>,
    tripped: bool,
}

impl Breaker {
    /// A breaker that trips after `limit` lines in a row got no answer (at least 1).
    pub fn new(limit: usize) -> Breaker {
        Breaker {
            limit: limit.max(1),
            held: Vec::new(),
            tripped: false,
        }
    }

    /// How many lines in a row without an answer stop a run of `concurrency` workers: each
    /// worker's line in flight when the fleet died (so that one slow line cannot trip it
    /// alone), and never fewer than 3.
    pub fn limit(concurrency: usize) -> usize {
        concurrency.max(3)
    }

    /// A line that got no answer: held back. True when this trips the breaker (the run must
    /// stop taking lines); once tripped, every such line is held and never written.
    pub fn unanswered(&mut self, line: Vec<u8>) -> bool {
        self.held.push(line);
        if !self.tripped && self.held.len() >= self.limit {
            self.tripped = true;
            return true;
        }
        false
    }

    /// A line that got an answer: the lines held so far are failures to write after all
    /// (unless the breaker has tripped: then they stay for the rerun).
    pub fn answered(&mut self) -> Vec<Vec<u8>> {
        if self.tripped {
            return Vec::new();
        }
        std::mem::take(&mut self.held)
    }

    /// Whether the run was stopped because the fleet stopped answering.
    pub fn tripped(&self) -> bool {
        self.tripped
    }

    /// At the end of a run: the held lines to write (none when tripped: they are left for
    /// the rerun), and how many are left.
    pub fn finish(&mut self) -> (Vec<Vec<u8>>, usize) {
        let held = std::mem::take(&mut self.held);
        if self.tripped {
            (Vec::new(), held.len())
        } else {
            (held, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }

    #[test]
    fn an_answer_between_releases_the_held_lines() {
        let mut b = Breaker::new(3);
        assert!(!b.unanswered(line("a")));
        assert!(!b.unanswered(line("b")));
        assert_eq!(b.answered(), [line("a"), line("b")]);
        assert!(!b.unanswered(line("c")));
        assert!(!b.unanswered(line("d")));
        assert_eq!(b.finish(), (vec![line("c"), line("d")], 0));
        assert!(!b.tripped());
    }

    #[test]
    fn a_streak_trips_it_and_keeps_every_unanswered_line_back() {
        let mut b = Breaker::new(2);
        assert!(!b.unanswered(line("a")));
        assert!(b.unanswered(line("b")), "the second in a row trips it");
        assert!(!b.unanswered(line("c")), "it trips once");
        assert!(b.answered().is_empty(), "a late answer releases nothing");
        assert!(!b.unanswered(line("d")));
        assert!(b.tripped());
        assert_eq!(b.finish(), (vec![], 4));
    }

    #[test]
    fn limits() {
        assert_eq!(Breaker::limit(1), 3);
        assert_eq!(Breaker::limit(64), 64);
        let mut b = Breaker::new(0);
        assert!(b.unanswered(line("a")), "a limit of 0 counts as 1");
    }
}
