//! Resuming: what an earlier run already wrote to the output file.
//!
//! The file is read as a stream. Each result line's `custom_id` is remembered (as a
//! [`Key`]) with whether it failed, and the highest `batch_req_<n>` id is
//! noted so new ids never repeat. A torn last line (a crash mid-write) is cut off, so its
//! request runs again. With `--retry-failed`, failed results are removed by rewriting the file
//! atomically (a temporary file renamed over it), so each `custom_id` keeps one result.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::keys::{Key, Keys, Seen, Table};
use super::lines::Lines;
use super::{request, say};
use crate::fail::Failure;

/// The longest output line read back (a result body can be large: a big embedding batch).
const MAX_RESULT_LINE: usize = 512 * 1024 * 1024;

/// An earlier run's results.
#[derive(Default)]
pub struct Previous {
    /// Every `custom_id` with a result in the output.
    pub results: Table,
    /// The next `batch_req_<n>` number.
    pub next_id: u64,
    /// Results kept, and how many of them failed.
    pub kept: u64,
    pub kept_failed: u64,
    /// Failed results removed by `--retry-failed`.
    pub removed: u64,
}

#[derive(Deserialize)]
struct ResultLine {
    id: Option<String>,
    custom_id: Option<String>,
    error: Option<IgnoredAny>,
}

/// Reads `output` (if it exists), cuts a torn last line, and with `retry_failed` removes the
/// failed results whose `custom_id` is in `input` (all of them when the input is stdin).
pub fn load(
    output: &Path,
    input: &Path,
    keys: &Keys,
    retry_failed: bool,
) -> Result<Previous, Failure> {
    let fail = |e: io::Error| Failure::error(format!("{}: {e}", output.display()));
    let mut prev = Previous {
        next_id: 1,
        ..Previous::default()
    };
    let file = match File::open(output) {
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
                "{}: dropping a torn last line ({} bytes, from an interrupted run); its request runs again",
                output.display(),
                end.len
            ));
            let f = OpenOptions::new().write(true).open(output).map_err(fail)?;
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
                "{} line {}: not a batch result line; left as is",
                output.display(),
                lines.number
            ));
            continue;
        };
        prev.next_id = prev.next_id.max(n.saturating_add(1));
        // A custom_id written twice (a crash between a retry's write and the rewrite): the
        // later line is the latest result.
        if let Some(was) = prev.results.insert(key, Seen::previous(failed)) {
            prev.kept -= 1;
            prev.kept_failed -= u64::from(was.result() == Some(true));
        }
        prev.kept += 1;
        prev.kept_failed += u64::from(failed);
    }
    if retry_failed && prev.kept_failed > 0 {
        remove_failed(output, input, keys, &mut prev)?;
    }
    Ok(prev)
}

/// A result line's key, whether it failed, and its `batch_req_<n>` number (0 if another id).
fn parse(line: &[u8], keys: &Keys) -> Option<(Key, bool, u64)> {
    let r: ResultLine = serde_json::from_slice(line).ok()?;
    let n =
        r.id.as_deref()
            .and_then(|id| id.strip_prefix("batch_req_"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
    Some((keys.of(&r.custom_id?), r.error.is_some(), n))
}

/// `--retry-failed`: rewrites the output without the failed results that the input will run
/// again (a failed `custom_id` no longer in the input keeps its result).
fn remove_failed(
    output: &Path,
    input: &Path,
    keys: &Keys,
    prev: &mut Previous,
) -> Result<(), Failure> {
    let rerun = input_failed_ids(input, keys, prev)?;
    let fail = |e: io::Error| Failure::error(format!("rewriting {}: {e}", output.display()));
    let tmp = temp_path(output);
    let result = (|| -> io::Result<()> {
        let src = File::open(output)?;
        let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, src), MAX_RESULT_LINE);
        let mut w = BufWriter::with_capacity(256 * 1024, File::create(&tmp)?);
        let mut buf = Vec::new();
        while let Some(end) = lines.next_into(&mut buf)? {
            let drop_it = !end.too_long
                && matches!(parse(&buf, keys), Some((k, true, _)) if rerun.as_ref().is_none_or(|r| r.contains(&k)));
            if drop_it {
                continue;
            }
            if end.too_long {
                // Not kept in memory, so not copied; say so rather than lose it silently.
                return Err(io::Error::other(format!(
                    "line {} is longer than {MAX_RESULT_LINE} bytes and cannot be copied",
                    lines.number
                )));
            }
            w.write_all(&buf)?;
            w.write_all(b"\n")?;
        }
        let f = w.into_inner().map_err(io::IntoInnerError::into_error)?;
        f.sync_all()?;
        std::fs::rename(&tmp, output)?;
        if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable (best effort: not every platform allows it).
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    let mut removed = 0;
    prev.results.retain(|k, seen| {
        let redo = seen.result() == Some(true) && rerun.as_ref().is_none_or(|r| r.contains(k));
        removed += u64::from(redo);
        !redo
    });
    prev.removed = removed;
    prev.kept -= removed;
    prev.kept_failed -= removed;
    Ok(())
}

/// The failed `custom_id`s that appear in the input file (`None`: the input is stdin, which
/// cannot be read twice, so every failed result is run again if its line comes).
fn input_failed_ids(
    input: &Path,
    keys: &Keys,
    prev: &Previous,
) -> Result<Option<HashSet<Key>>, Failure> {
    if input == Path::new("-") {
        return Ok(None);
    }
    let file =
        File::open(input).map_err(|e| Failure::error(format!("{}: {e}", input.display())))?;
    let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, file), super::MAX_LINE);
    let mut buf = Vec::new();
    let mut found = HashSet::new();
    while let Some(end) = lines
        .next_into(&mut buf)
        .map_err(|e| Failure::error(format!("{}: {e}", input.display())))?
    {
        if end.too_long {
            continue;
        }
        if let Ok(job) = request::parse(&buf) {
            let k = keys.of(&job.custom_id);
            if prev.results.get(&k).and_then(|s| s.result()) == Some(true) {
                found.insert(k);
            }
        }
    }
    Ok(Some(found))
}

/// A temporary file beside `output` (same file system, so the rename is atomic).
fn temp_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    output.with_file_name(format!(".{name}.oai-rewrite-{}", std::process::id()))
}
