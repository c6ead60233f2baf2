//! `oai batch check INPUT OUTPUT...`: whether the outputs of a run (or of its shards) answer
//! every line of the input exactly once. Per input `custom_id`: done once, failed, missing or
//! duplicated; results whose id is not in the input are named too. Exits 0 only when every
//! line is done once and nothing else is there.
//!
//! The outputs are read first, each id kept as a 16-byte key with its counts, then the input
//! once as a stream (it may be a pipe), so memory holds the keys and never a file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::MAX_LINE;
use super::keys::{Key, Keys};
use super::lines::Lines;
use super::request;
use super::result;
use super::resume::MAX_RESULT_LINE;
use crate::args::BatchCheckArgs;
use crate::fail::Failure;

/// How many ids of each kind are named (the counts are always whole).
const NAMED: usize = 10;

/// What the outputs hold for one id.
#[derive(Default, Clone, Copy)]
struct Held {
    ok: u32,
    failed: u32,
    in_input: bool,
}

/// Problems found, each with its count and the first ids.
#[derive(Default)]
struct Kind {
    count: u64,
    named: Vec<String>,
}

impl Kind {
    fn add(&mut self, id: &str) {
        self.count += 1;
        if self.named.len() < NAMED {
            self.named.push(id.to_owned());
        }
    }
}

pub fn run(a: &BatchCheckArgs) -> Result<(), Failure> {
    let keys = Keys::new();
    let mut held: HashMap<Key, Held> = HashMap::new();
    let mut unreadable = 0u64;
    for path in &a.outputs {
        unreadable += read_output(path, &keys, |key, ok| {
            let h = held.entry(key).or_default();
            if ok {
                h.ok = h.ok.saturating_add(1);
            } else {
                h.failed = h.failed.saturating_add(1);
            }
        })?;
    }
    let mut done = 0u64;
    let (mut failed, mut missing, mut duplicated, mut bad, mut seen_twice) = (
        Kind::default(),
        Kind::default(),
        Kind::default(),
        Kind::default(),
        Kind::default(),
    );
    let input = open(&a.input)?;
    let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, input), MAX_LINE);
    let mut buf = Vec::new();
    while let Some(end) = lines
        .next_into(&mut buf)
        .map_err(|e| Failure::error(format!("{}: {e}", a.input.display())))?
    {
        if !end.too_long && buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let job = match (end.too_long, request::parse(&buf)) {
            (false, Ok(job)) => job,
            _ => {
                bad.add(&format!("line {}", lines.number));
                continue;
            }
        };
        let h = held.entry(keys.of(&job.custom_id)).or_default();
        if h.in_input {
            seen_twice.add(&job.custom_id);
            continue;
        }
        h.in_input = true;
        match (h.ok, h.failed) {
            (1, 0) => done += 1,
            (0, 0) => missing.add(&job.custom_id),
            (0, 1) => failed.add(&job.custom_id),
            _ => duplicated.add(&job.custom_id),
        }
    }
    let stray = held.values().filter(|h| !h.in_input).count() as u64;
    let total = done + failed.count + missing.count + duplicated.count;
    println!("{total} custom_id(s) in {}:", a.input.display());
    println!("  {done} done once");
    report("failed", &failed, "rerun its shard with --retry-failed");
    report("missing", &missing, "rerun its shard: it resumes");
    report(
        "duplicated (more than one result)",
        &duplicated,
        "`oai batch merge` keeps one per custom_id",
    );
    report(
        "input line(s) that cannot run",
        &bad,
        "the runner skips them too; fix the line",
    );
    report(
        "custom_id(s) repeated in the input",
        &seen_twice,
        "the runner runs the first only",
    );
    if stray > 0 {
        println!(
            "  {stray} result(s) whose custom_id is not in the input (another input's outputs?)"
        );
    }
    if unreadable > 0 {
        println!(
            "  {unreadable} output line(s) that are not results (torn by a crash, or not JSON)"
        );
    }
    let clean = failed.count
        + missing.count
        + duplicated.count
        + bad.count
        + seen_twice.count
        + stray
        + unreadable
        == 0;
    if clean {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}

fn report(what: &str, kind: &Kind, hint: &str) {
    if kind.count == 0 {
        return;
    }
    let more = if kind.count > kind.named.len() as u64 {
        ", ..."
    } else {
        ""
    };
    println!(
        "  {} {what}: {}{more} ({hint})",
        kind.count,
        kind.named.join(", ")
    );
}

fn open(path: &Path) -> Result<Box<dyn Read>, Failure> {
    if path == Path::new("-") {
        return Ok(Box::new(io::stdin()));
    }
    File::open(path)
        .map(|f| Box::new(f) as Box<dyn Read>)
        .map_err(|e| Failure::error(format!("{}: {e}", path.display())))
}

/// Reads the result lines of one output, calling `found(key, ok)` for each; returns how many
/// lines were not results.
pub fn read_output(
    path: &Path,
    keys: &Keys,
    mut found: impl FnMut(Key, bool),
) -> Result<u64, Failure> {
    let fail = |e: io::Error| Failure::error(format!("{}: {e}", path.display()));
    let file: Box<dyn BufRead> = Box::new(BufReader::with_capacity(256 * 1024, open(path)?));
    let mut lines = Lines::new(file, MAX_RESULT_LINE);
    let mut buf = Vec::new();
    let mut unreadable = 0;
    while let Some(end) = lines.next_into(&mut buf).map_err(fail)? {
        if !end.too_long && buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // A torn last line (no newline) is what a killed run leaves: not a result.
        let line = match (end.newline, end.too_long) {
            (true, false) => result::read_back(&buf),
            _ => None,
        };
        match line {
            Some((id, ok)) => found(keys.of(&id), ok),
            None => unreadable += 1,
        }
    }
    Ok(unreadable)
}
