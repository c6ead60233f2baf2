//! Resuming: what earlier runs already wrote to the output file, and keeping one line per
//! `custom_id` in it.
//!
//! The file is read as a stream. Each result line's `custom_id` is remembered (as a [`Key`])
//! with whether its latest result failed, and the highest `batch_req_<n>` id is noted so new
//! ids never repeat. A torn last line (a crash mid-write) is cut off, so its request runs
//! again. Nothing here reads the input: a rerun of a failed line (`--retry-failed`) appends
//! its new result, and [`compact`] then rewrites the file keeping each `custom_id`'s last
//! line, so the failures of ids that are not in this input are never touched, and a crash at
//! any moment leaves at worst two lines of one id, the later one being the latest (which the
//! next run reads as such, and compacts).

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::Path;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::keys::{Key, Keys, Seen, Table};
use super::lines::Lines;
use super::output;
use super::say;
use crate::fail::Failure;

/// The longest output line read back (a result body can be large: a big embedding batch).
pub const MAX_RESULT_LINE: usize = 512 * 1024 * 1024;

/// An earlier run's results.
#[derive(Default)]
pub struct Previous {
    /// Every `custom_id` with a result in the output.
    pub results: Table,
    /// The next `batch_req_<n>` number.
    pub next_id: u64,
    /// Ids with a result, and how many of them failed (their latest result).
    pub kept: u64,
    pub kept_failed: u64,
    /// Ids with more than one line in the file (a run killed before it compacted).
    pub repeated: HashSet<Key>,
}

#[derive(Deserialize)]
struct ResultLine {
    id: Option<String>,
    custom_id: Option<String>,
    error: Option<IgnoredAny>,
}

/// Reads the regular file `real` (if it exists) and cuts a torn last line.
pub fn load(real: &Path, shown: &str, keys: &Keys) -> Result<Previous, Failure> {
    let fail = |e: io::Error| Failure::error(format!("{shown}: {e}"));
    let mut prev = Previous {
        next_id: 1,
        ..Previous::default()
    };
    let file = match File::open(real) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(prev),
        Err(e) => return Err(fail(e)),
    };
    let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, file), MAX_RESULT_LINE);
    let mut buf = Vec::new();
    let mut complete_bytes = 0u64;
    while let Some(end) = lines.next_into(&mut buf).map_err(fail)? {
        if !end.newline {
            say(&format!(
                "{shown}: dropping a torn last line ({} bytes, from an interrupted run); its request runs again",
                end.len
            ));
            let f = OpenOptions::new().write(true).open(real).map_err(fail)?;
            f.set_len(complete_bytes).map_err(fail)?;
            f.sync_all().map_err(fail)?;
            break;
        }
        complete_bytes += end.len + 1;
        if buf.iter().all(u8::is_ascii_whitespace) && !end.too_long {
            continue;
        }
        let Some((key, failed, n)) = (!end.too_long).then(|| parse(&buf, keys)).flatten() else {
            say(&format!(
                "{shown} line {}: not a batch result line; left as is",
                lines.number
            ));
            continue;
        };
        prev.next_id = prev.next_id.max(n.saturating_add(1));
        // An id written twice: the later line is the latest result.
        if let Some(was) = prev.results.insert(key, Seen::previous(failed)) {
            prev.kept -= 1;
            prev.kept_failed -= u64::from(was.result() == Some(true));
            prev.repeated.insert(key);
        }
        prev.kept += 1;
        prev.kept_failed += u64::from(failed);
    }
    Ok(prev)
}

/// A result line's key, whether it failed, and its `batch_req_<n>` number (0 if another id).
pub(super) fn parse(line: &[u8], keys: &Keys) -> Option<(Key, bool, u64)> {
    let r: ResultLine = serde_json::from_slice(line).ok()?;
    let n = r.id.as_deref().map_or(0, id_number);
    Some((keys.of(&r.custom_id?), r.error.is_some(), n))
}

/// The `n` of a `batch_req_<n>` id (0 for another id): the ids numbered after it start past it.
pub(super) fn id_number(id: &str) -> u64 {
    id.strip_prefix("batch_req_")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Rewrites `real` (atomically, keeping its mode) so that each id in `ids` keeps only its
/// last line; returns how many lines were dropped. The file itself is counted first, so what
/// is kept depends only on what was really written (a line held back or lost never makes
/// another one go).
pub fn compact(real: &Path, shown: &str, keys: &Keys, ids: &HashSet<Key>) -> Result<u64, Failure> {
    let fail = |e: io::Error| Failure::error(format!("rewriting {shown}: {e} (rerun to finish)"));
    if ids.is_empty() {
        return Ok(0);
    }
    let mut left: HashMap<Key, u32> = HashMap::new();
    each_line(real, |buf| {
        if let Some((k, _, _)) = parse(buf, keys).filter(|(k, _, _)| ids.contains(k)) {
            *left.entry(k).or_default() += 1;
        }
        Ok(())
    })
    .map_err(fail)?;
    if left.values().all(|&n| n <= 1) {
        return Ok(0);
    }
    let mut dropped = 0u64;
    output::rewrite(real, |f| {
        let mut w = BufWriter::with_capacity(256 * 1024, f);
        each_line(real, |buf| {
            if let Some((k, _, _)) = parse(buf, keys) {
                if let Some(n) = left.get_mut(&k) {
                    *n -= 1;
                    if *n > 0 {
                        dropped += 1;
                        return Ok(());
                    }
                }
            }
            w.write_all(buf)?;
            w.write_all(b"\n")
        })?;
        w.flush()
    })
    .map_err(fail)?;
    Ok(dropped)
}

/// Calls `f` with each line of `path`. A line too long to keep in memory is an error (it
/// could not be copied, and is never silently lost).
pub(super) fn each_line(path: &Path, mut f: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
    let file = File::open(path)?;
    let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, file), MAX_RESULT_LINE);
    let mut buf = Vec::new();
    while let Some(end) = lines.next_into(&mut buf)? {
        if end.too_long {
            return Err(io::Error::other(format!(
                "line {} is longer than {MAX_RESULT_LINE} bytes and cannot be copied",
                lines.number
            )));
        }
        f(&buf)?;
    }
    Ok(())
}
