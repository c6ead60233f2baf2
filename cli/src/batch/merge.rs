//! `oai batch merge OUTPUT... -o MERGED`: the outputs of a run's shards joined into one file,
//! one line per `custom_id`: a success wins over a failure, and of two alike the later one
//! (the later file, or the later line of one file: a rerun's). Lines that are not results
//! (a torn last line, a line that is not JSON) are left out and counted.
//!
//! Two passes over the outputs: the first picks each id's line (16 bytes of key and 16 of
//! place each), the second copies the picked lines, so no file is held in memory. The merged
//! file is written beside its name and moved into place at the end (mode 0600 when new): a
//! crash leaves it as it was, and it may be one of the outputs.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::keys::{Key, Keys};
use super::lines::Lines;
use super::output;
use super::result;
use super::resume::MAX_RESULT_LINE;
use crate::args::BatchMergeArgs;
use crate::fail::Failure;

/// Where an id's chosen line is.
#[derive(Clone, Copy)]
struct Place {
    file: u32,
    line: u64,
    ok: bool,
}

pub fn run(a: &BatchMergeArgs) -> Result<(), Failure> {
    let keys = Keys::new();
    let mut chosen: HashMap<Key, Place> = HashMap::new();
    let (mut lines_read, mut dropped) = (0u64, 0u64);
    for (file, path) in a.outputs.iter().enumerate() {
        let file = u32::try_from(file).map_err(|_| Failure::usage("too many outputs"))?;
        each_line(path, |line, text| {
            lines_read += 1;
            match result::read_back(text) {
                Some((id, ok)) => {
                    let here = Place { file, line, ok };
                    let slot = chosen.entry(keys.of(&id)).or_insert(here);
                    // Later wins among equals; a success is never replaced by a failure.
                    if ok || !slot.ok {
                        *slot = here;
                    }
                }
                None => dropped += 1,
            }
            Ok(())
        })?;
    }
    let mut picked: Vec<Vec<u64>> = vec![Vec::new(); a.outputs.len()];
    for p in chosen.values() {
        picked[p.file as usize].push(p.line);
    }
    for lines in &mut picked {
        lines.sort_unstable();
    }
    let copy = |out: &mut dyn Write| -> Result<(), Failure> {
        for (path, lines) in a.outputs.iter().zip(&picked) {
            let mut next = lines.iter().peekable();
            each_line(path, |line, text| {
                if next.peek() == Some(&&line) {
                    next.next();
                    out.write_all(text)
                        .and_then(|()| out.write_all(b"\n"))
                        .map_err(|e| Failure::error(format!("writing the merged file: {e}")))?;
                }
                Ok(())
            })?;
            if next.peek().is_some() {
                return Err(Failure::error(format!(
                    "{} changed while it was merged: run merge again",
                    path.display()
                )));
            }
        }
        Ok(())
    };
    if a.output == Path::new("-") {
        let stdout = io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        copy(&mut out)?;
        out.flush()
            .map_err(|e| Failure::error(format!("writing stdout: {e}")))?;
    } else {
        let real = target(&a.output)?;
        let mut failure = None;
        output::rewrite(&real, |f| {
            let mut out = BufWriter::with_capacity(256 * 1024, f);
            if let Err(e) = copy(&mut out) {
                failure = Some(e);
                return Err(io::Error::other("merge failed"));
            }
            out.flush()
        })
        .map_err(|e| {
            failure
                .take()
                .unwrap_or_else(|| Failure::error(format!("{}: {e}", a.output.display())))
        })?;
    }
    let written = chosen.len() as u64;
    eprintln!(
        "{written} result(s) from {lines_read} line(s) of {} file(s){}{}",
        a.outputs.len(),
        match lines_read - dropped - written {
            0 => String::new(),
            n => format!("; {n} repeated result(s) left out"),
        },
        match dropped {
            0 => String::new(),
            n => format!("; {n} line(s) that are not results left out"),
        },
    );
    Ok(())
}

/// Calls `f(number, text)` for each complete line of `path` (a torn last line is passed as
/// empty text, so it is counted and left out).
fn each_line(
    path: &Path,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let fail = |e: io::Error| Failure::error(format!("{}: {e}", path.display()));
    let file = File::open(path).map_err(fail)?;
    if file.metadata().map_err(fail)?.is_dir() {
        return Err(Failure::usage(format!(
            "{} is a directory: give the output files",
            path.display()
        )));
    }
    let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, file), MAX_RESULT_LINE);
    let mut buf = Vec::new();
    while let Some(end) = lines.next_into(&mut buf).map_err(fail)? {
        if !end.too_long && buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text: &[u8] = if end.newline && !end.too_long {
            &buf
        } else {
            b""
        };
        f(lines.number, text)?;
    }
    Ok(())
}

/// The file the merged lines replace: through a symlink to its target; created (owner only)
/// when it does not exist, so that the rewrite has a mode to keep.
fn target(path: &Path) -> Result<PathBuf, Failure> {
    let fail = |e: io::Error| Failure::error(format!("{}: {e}", path.display()));
    if let Ok(real) = fs::canonicalize(path) {
        if !fs::metadata(&real).map_err(fail)?.is_file() {
            return Err(Failure::usage(format!(
                "{} is not a regular file: give a file, or `-` for stdout",
                path.display()
            )));
        }
        return Ok(real);
    }
    output::owner_only(OpenOptions::new().write(true).create_new(true))
        .open(path)
        .map_err(fail)?;
    Ok(path.to_owned())
}
