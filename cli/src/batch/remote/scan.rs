//! The input of a remote batch, read once as a stream: every line checked as a local run
//! checks it (a remote batch fails whole on one bad line, so any bad line stops the run
//! before anything is uploaded or paid for), the one endpoint the lines share, the
//! custom_ids to run (those the output does not hold yet), and a fingerprint of the input
//! that tells a rerun whether it was given the same input. The lines to run can be copied to
//! a spool as they pass (a pipe is read once; the spool is what is uploaded).

use std::collections::HashSet;
use std::io::{self, BufReader, Read, Write};

use super::super::keys::{Key, Keys, Table};
use super::super::lines::Lines;
use super::super::stable_hash::{FNV1A_START, fnv1a_more};
use super::super::{MAX_LINE, request};

/// How many problems are named (the count is always whole).
const NAMED: usize = 10;

/// What one pass over the input found.
#[derive(Debug)]
pub struct Scan {
    /// The endpoint every line calls (`/v1/chat/completions`), if any line was read.
    pub endpoint: Option<&'static str>,
    /// The custom_ids to run, in input order.
    pub ids: Vec<String>,
    /// The input's fingerprint: FNV-1a of its lines, and its length.
    pub hash: u64,
    pub bytes: u64,
    /// Lines whose result the output already holds, and how many of those failed.
    pub held: u64,
    pub held_failed: u64,
    /// Whether every line would be sent byte for byte as it is in the file: no blank line,
    /// no CR, no byte order mark, none held (else a regular file is uploaded through a spool).
    pub as_is: bool,
    /// What is wrong with the input (the first few), and how many things are.
    pub problems: Vec<String>,
    pub problem_count: u64,
}

impl Scan {
    /// The fingerprint as kept in the state file.
    pub fn fingerprint(&self) -> String {
        format!("fnv1a64:{:016x}:{}", self.hash, self.bytes)
    }

    fn problem(&mut self, what: String) {
        self.problem_count += 1;
        if self.problems.len() < NAMED {
            self.problems.push(what);
        }
    }
}

/// Reads `input` once. `held` holds the ids the output already has a result for; each line
/// to run is written to `spool` (with its newline) when there is one.
pub fn scan(
    input: impl Read,
    held: &Table,
    keys: &Keys,
    mut spool: Option<&mut dyn Write>,
) -> io::Result<Scan> {
    let mut s = Scan {
        endpoint: None,
        ids: Vec::new(),
        hash: FNV1A_START,
        bytes: 0,
        held: 0,
        held_failed: 0,
        as_is: true,
        problems: Vec::new(),
        problem_count: 0,
    };
    let mut first_endpoint_line = 0;
    let mut seen: HashSet<Key> = HashSet::new();
    let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, input), MAX_LINE);
    let mut buf = Vec::new();
    while let Some(end) = lines.next_into(&mut buf)? {
        let n = lines.number;
        s.bytes += end.len + u64::from(end.newline);
        if end.too_long {
            s.hash = fnv1a_more(s.hash, format!("too long {}\n", end.len).as_bytes());
            s.problem(format!("line {n}: longer than {} MiB", MAX_LINE >> 20));
            continue;
        }
        s.hash = fnv1a_more(fnv1a_more(s.hash, &buf), b"\n");
        if buf.len() as u64 != end.len {
            s.as_is = false;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            s.as_is = false;
            continue;
        }
        let job = match request::parse(&buf) {
            Ok(job) => job,
            Err(why) => {
                s.problem(format!("line {n}: {why}"));
                continue;
            }
        };
        let key = keys.of(&job.custom_id);
        if !seen.insert(key) {
            s.problem(format!("line {n}: duplicate custom_id {:?}", job.custom_id));
            continue;
        }
        match s.endpoint {
            None => {
                s.endpoint = Some(job.endpoint);
                first_endpoint_line = n;
            }
            Some(e) if e != job.endpoint => {
                s.problem(format!(
                    "line {n}: url {}, but line {first_endpoint_line} has {e} (a remote batch calls one endpoint: split the input by url)",
                    job.endpoint
                ));
                continue;
            }
            Some(_) => {}
        }
        if let Some(failed) = held.get(&key).and_then(|seen| seen.result()) {
            s.held += 1;
            s.held_failed += u64::from(failed);
            s.as_is = false;
            continue;
        }
        if let Some(w) = spool.as_deref_mut() {
            w.write_all(&buf)?;
            w.write_all(b"\n")?;
        }
        s.ids.push(job.custom_id);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::super::keys::Seen;
    use super::*;

    fn line(id: &str, url: &str) -> String {
        format!(r#"{{"custom_id":"{id}","method":"POST","url":"{url}","body":{{"model":"m"}}}}"#)
    }

    #[test]
    fn lines_are_checked_held_ones_left_out_and_the_rest_spooled() {
        let keys = Keys::new();
        let mut held = Table::new();
        held.insert(keys.of("b"), Seen::previous(true));
        let chat = "/v1/chat/completions";
        let text = format!(
            "{}\n\n{}\r\n{}\n",
            line("a", chat),
            line("b", chat),
            line("c", chat)
        );
        let mut spool = Vec::new();
        let s = scan(text.as_bytes(), &held, &keys, Some(&mut spool)).unwrap();
        assert_eq!(s.ids, ["a", "c"]);
        assert_eq!((s.held, s.held_failed), (1, 1));
        assert!(!s.as_is);
        assert!(s.problems.is_empty(), "{:?}", s.problems);
        assert_eq!(s.endpoint, Some(chat));
        assert_eq!(
            String::from_utf8(spool).unwrap(),
            format!("{}\n{}\n", line("a", chat), line("c", chat))
        );
        assert_eq!(s.bytes, text.len() as u64);
        // The same lines give the same fingerprint; another line another.
        let again = scan(text.as_bytes(), &Table::new(), &keys, None).unwrap();
        assert_eq!(again.fingerprint(), s.fingerprint());
        assert!(!again.as_is && again.ids.len() == 3);
        let other = scan(line("a", chat).as_bytes(), &Table::new(), &keys, None).unwrap();
        assert_ne!(other.fingerprint(), s.fingerprint());
        assert!(other.as_is);
    }

    #[test]
    fn bad_lines_duplicates_and_mixed_endpoints_are_named() {
        let keys = Keys::new();
        let text = format!(
            "{}\nnot json\n{}\n{}\n",
            line("a", "/v1/chat/completions"),
            line("a", "/v1/chat/completions"),
            line("e", "/v1/embeddings"),
        );
        let s = scan(text.as_bytes(), &Table::new(), &keys, None).unwrap();
        assert_eq!(s.problem_count, 3, "{:?}", s.problems);
        assert!(
            s.problems[0].starts_with("line 2: not JSON"),
            "{:?}",
            s.problems
        );
        assert!(s.problems[1].contains("duplicate custom_id \"a\""));
        assert!(s.problems[2].contains("line 1 has /v1/chat/completions"));
        assert_eq!(s.ids, ["a"]);
    }
}
