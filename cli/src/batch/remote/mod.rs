//! `oai batch --remote`: the same input and output as a local run, but the lines run on the
//! server's own Batch API (OpenAI's /files and /batches, at half the price there).
//!
//! 1. The input is read once as a stream (`scan`): every line checked, the one endpoint the
//!    lines share, the custom_ids the output does not hold yet. A pipe is copied to a spool
//!    beside the output as it passes, since it cannot be read again to upload it.
//! 2. The lines to run are uploaded (purpose `batch`) and a batch created; the state file
//!    `OUTPUT.remote.json` (`state`) records each id as soon as it exists, so a rerun of the
//!    same command resumes the same batch instead of uploading and paying again (a crash
//!    between creating the batch and recording it is caught by looking for a batch made
//!    from the recorded file).
//! 3. The batch is polled (`poll`). Ctrl-C leaves it running and says how to resume or cancel.
//! 4. Its output and error files are downloaded beside the output, then the output is
//!    rewritten whole (`collect`: every sent custom_id once, in the local format; one the
//!    batch lost gets an error line), so a kill at any moment leaves either the old output
//!    or the complete new one, never half of the results. A batch that failed whole (no
//!    file) writes nothing and is forgotten, so a rerun makes a new one; `--retry-failed`
//!    makes a new batch of the lines that failed once the recorded one was collected.
//!
//! The whole run holds the output's lock (`super::lock`): a second run stops at once.

mod collect;
mod poll;
mod scan;
mod state;

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use oai_compat::types::{Batch, BatchListParams, BatchRequest, BatchStatus, FilePurpose};
use oai_compat::{Client, RequestOptions, Upload};

use self::collect::{Counts, Wanted};
use self::scan::Scan;
use self::state::State;
use super::input;
use super::keys::{Key, Keys};
use super::lock;
use super::output::{self, Output, owner_only};
use super::resume;
use super::say;
use crate::args::{BatchArgs, Global};
use crate::connect;
use crate::fail::Failure;
use crate::interrupt;

/// How many batches a page of the list asks for, when looking for one made from our file.
const FIND_AMONG: u32 = 100;
/// The most pages of batches looked through for it.
const MAX_PAGES: u32 = 100;
/// How far the server's clock may be behind ours, in seconds.
const CLOCK_MARGIN_SECS: i64 = 24 * 3600;

pub fn run(
    g: &Global,
    a: &BatchArgs,
    input_path: &Path,
    output_path: &Path,
) -> Result<(), Failure> {
    let started = Instant::now();
    if !a.backends.is_empty() {
        return Err(Failure::usage(
            "--remote runs the batch on the --base-url server; --backend (or OAI_COMPAT_BACKENDS) is for local runs",
        ));
    }
    let output = Output::resolve(output_path, a.retry_failed)?;
    let Some(real) = output.file().map(Path::to_owned) else {
        return Err(Failure::usage(
            "--remote keeps the batch's id beside the output so that a rerun resumes it: give -o a file, not -",
        ));
    };
    let shown = output.shown();
    // One run per output for the whole run (upload, wait, collect): two would pay twice or
    // write lines twice. `--cancel` writes nothing, and may stop the batch another run waits for.
    let _lock = match a.cancel {
        false => Some(lock::take(&real, &shown)?),
        true => None,
    };
    let state_path = state::path_of(&real);
    let state_shown = format!("{shown}.remote.json");
    let client = connect::client(g, 1)?;
    let host = state::host_of(client.base_url());
    let mut st = state::load(&state_path)?;
    if let Some(s) = &st {
        if s.host != host {
            return Err(Failure::usage(format!(
                "{state_shown} records remote batch {} at {}, but --base-url is at {host}: use that server, or another -o",
                s.batch_id.as_deref().unwrap_or("(not created yet)"),
                s.host
            )));
        }
    }
    if a.cancel {
        return cancel(&client, st.as_ref(), &state_shown);
    }

    // A batch still to collect is collected first: with --retry-failed it runs the failed
    // lines, else the missing ones, and the two must not be mixed up.
    if let Some(s) = st
        .as_ref()
        .filter(|s| s.input_file_id.is_some() && !s.collected && s.retrying != a.retry_failed)
    {
        let (with, again) = match s.retrying {
            true => ("with", "with"),
            false => ("without", "without"),
        };
        return Err(Failure::usage(format!(
            "remote batch {} (recorded in {state_shown}) was made {with} --retry-failed and is not collected yet: rerun {again} --retry-failed to collect it first",
            s.batch_id.as_deref().unwrap_or("(not created yet)")
        )));
    }

    // 1. The input, read once.
    let input = input::open(input_path, &output)?;
    let keys = Keys::new();
    let mut prev = resume::load(&real, &shown, &keys)?;
    // --retry-failed: the ids whose latest result failed are sent again (their old lines
    // are replaced by the new results).
    let mut retried: HashSet<Key> = HashSet::new();
    if a.retry_failed {
        prev.results.retain(|k, seen| {
            let failed = seen.result() == Some(true);
            if failed {
                retried.insert(*k);
            }
            !failed
        });
    }
    // A collected batch is done with: --retry-failed makes a new one of what failed.
    let new_batch = a.retry_failed && st.as_ref().is_some_and(|s| s.collected);
    // A regular file can be read again to upload it; stdin, `/dev/stdin` or `/proc/self/fd/N`
    // (even when a file is redirected to them) are read once, through the spool.
    let regular = input.size.is_some()
        && input_path != Path::new("-")
        && !input_path.starts_with("/dev")
        && !input_path.starts_with("/proc");
    // When it was last changed before the scan: the upload by path checks it is the same.
    let modified = match regular {
        true => fs::metadata(input_path).and_then(|m| m.modified()).ok(),
        false => None,
    };
    let needs_upload = new_batch || st.as_ref().is_none_or(|s| s.input_file_id.is_none());
    let spool_path = hidden(&real, "remote-input");
    let _ = fs::remove_file(&spool_path);
    let mut spool = match needs_upload && !regular {
        true => Some(create(&spool_path)?),
        false => None,
    };
    let scanned = scan::scan(
        input.reader,
        &prev.results,
        &keys,
        spool.as_mut().map(|w| w as &mut dyn Write),
    );
    let scanned = scanned.and_then(|s| {
        if let Some(w) = spool.as_mut() {
            w.flush()?;
        }
        Ok(s)
    });
    drop(spool);
    let scanned = match scanned {
        Ok(s) => s,
        Err(e) => {
            let _ = fs::remove_file(&spool_path);
            return Err(Failure::error(format!(
                "reading {}: {e}",
                input_path.display()
            )));
        }
    };
    if let Err(f) = check(&scanned, input_path, st.as_ref(), &state_shown) {
        let _ = fs::remove_file(&spool_path);
        return Err(f);
    }

    // The output exists from here on (empty until the batch is collected), as a local run's
    // does: `oai batch check` then says what is missing, and a rewrite keeps its mode.
    if let Err(f) = output.open() {
        let _ = fs::remove_file(&spool_path);
        return Err(f);
    }

    // 2. Nothing to run, or the batch to wait for.
    if scanned.ids.is_empty() {
        let _ = fs::remove_file(&spool_path);
        match &mut st {
            Some(s) if s.batch_id.is_some() => {
                say(&format!(
                    "remote batch {}: its results are in {shown} already; nothing to do",
                    s.batch_id.as_deref().unwrap_or_default()
                ));
                if !s.collected {
                    s.collected = true;
                    state::store(&state_path, s)?;
                }
            }
            _ if scanned.held == 0 => say(&format!(
                "nothing to run: {} has no requests; nothing was uploaded",
                input_path.display()
            )),
            _ => say(&format!(
                "nothing to run: {shown} holds a result for every line of the input; nothing was uploaded"
            )),
        }
        return held_failures(scanned.held_failed);
    }
    if a.retry_failed {
        say(&format!(
            "--retry-failed: the {} line(s) whose result in {shown} failed or is missing go to {} remote batch",
            scanned.ids.len(),
            if needs_upload { "a new" } else { "the" }
        ));
    } else if prev.kept > 0 {
        say(&format!(
            "{} line(s) already have a result in {shown}; the other {} go to the remote batch",
            prev.kept,
            scanned.ids.len()
        ));
    }
    let resumed = !new_batch && st.as_ref().is_some_and(|s| s.input_file_id.is_some());
    let mut st = match st {
        Some(s) if s.input_file_id.is_some() && !new_batch => s,
        _ => {
            let source = Source {
                path: input_path,
                regular,
                modified,
            };
            let file_id = upload(
                &client,
                &scanned,
                &source,
                &spool_path,
                &prev.results,
                &keys,
            )?;
            let s = State {
                host,
                input_file_id: Some(file_id),
                batch_id: None,
                endpoint: scanned.endpoint.unwrap_or_default().to_owned(),
                lines: scanned.ids.len() as u64,
                input: scanned.fingerprint(),
                collected: false,
                creating_since: None,
                retrying: a.retry_failed,
            };
            state::store(&state_path, &s)?;
            s
        }
    };
    let batch_id = match st.batch_id.clone() {
        Some(id) => {
            say(&format!(
                "resuming remote batch {id}{}",
                if st.collected {
                    format!(
                        ": downloading its results again for the {} line(s) {shown} lacks",
                        scanned.ids.len()
                    )
                } else {
                    String::new()
                }
            ));
            id
        }
        None => {
            let file_id = st.input_file_id.clone().unwrap_or_default();
            let retries = g.max_retries.unwrap_or(oai_compat::DEFAULT_MAX_RETRIES);
            // Recorded before the first attempt: a batch it made is no older than this.
            if st.creating_since.is_none() {
                st.creating_since = Some(unix_now());
                state::store(&state_path, &st)?;
            }
            let since = st.creating_since;
            let b = create_batch(&client, &file_id, &st.endpoint, resumed, since, retries)?;
            st.batch_id = Some(b.clone());
            state::store(&state_path, &st)?;
            b
        }
    };

    // 3. Wait (Ctrl-C from here on leaves the batch running and says so).
    let msg: &'static str = Box::leak(
        format!(
            "interrupted: remote batch {batch_id} is left as it is; rerun the same command to resume, or the same command with --cancel to cancel the batch"
        )
        .into_boxed_str(),
    );
    interrupt::graceful(Some(msg));
    let batch = poll::wait(&client, &batch_id, a.poll_interval, &state_shown)?;

    // A batch that failed whole (at validation: no output and no error file) ran no line:
    // nothing is written, and the state forgets it, so a rerun makes a new batch.
    let no_file = |f: &Option<String>| f.as_deref().is_none_or(|f| f.trim().is_empty());
    if batch.status == BatchStatus::Failed
        && no_file(&batch.output_file_id)
        && no_file(&batch.error_file_id)
    {
        st.batch_id = None;
        st.input_file_id = None;
        st.creating_since = None;
        st.collected = false;
        state::store(&state_path, &st)?;
        let why = batch_errors(&batch);
        return Err(Failure::error(format!(
            "remote batch {batch_id} failed{}; no line ran and nothing was written to {shown}; fix the cause and rerun the same command to upload the input again and make a new batch",
            if why.is_empty() {
                ": the server names no reason".to_owned()
            } else {
                why
            }
        )));
    }

    // 4. Collect.
    let held_failed = scanned.held_failed;
    let counts = collect_into(
        &client,
        &batch,
        &real,
        &shown,
        Wanted::new(&keys, scanned.ids),
        &retried,
        prev.next_id,
    )?;
    st.collected = true;
    state::store(&state_path, &st)?;
    let mut notes = Vec::new();
    if counts.lost > 0 {
        notes.push(format!(
            "{} line(s) had no result in the batch's files",
            counts.lost
        ));
    }
    if counts.held > 0 {
        notes.push(format!(
            "{} result(s) left out: {shown} came to hold those lines while the batch ran",
            counts.held
        ));
    }
    if counts.compacted > 0 {
        notes.push(format!(
            "{} earlier line(s) of ids written twice in {shown} dropped",
            counts.compacted
        ));
    }
    if counts.stray + counts.repeated + counts.unreadable > 0 {
        notes.push(format!(
            "{} line(s) of the batch's files left out (not results: {}, other ids: {}, repeated: {})",
            counts.stray + counts.repeated + counts.unreadable,
            counts.unreadable,
            counts.stray,
            counts.repeated
        ));
    }
    say(&format!(
        "remote batch {batch_id} {}{}{}",
        status_name(&batch.status),
        if notes.is_empty() { "" } else { ": " },
        notes.join("; ")
    ));
    eprintln!(
        "{} ok, {} failed, 0 skipped in {:.1} s",
        counts.ok,
        counts.failed,
        started.elapsed().as_secs_f64()
    );
    if counts.failed > 0 {
        let _ = held_failures(held_failed);
        return Err(Failure::Reported);
    }
    held_failures(held_failed)
}

/// Exit 1 (saying so) when lines failed in an earlier run, else 0.
fn held_failures(n: u64) -> Result<(), Failure> {
    if n > 0 {
        eprintln!("{n} line(s) failed in an earlier run (their results are in the output)");
        return Err(Failure::Reported);
    }
    Ok(())
}

/// The input can run as a remote batch: no bad line, and the same input as the recorded
/// batch's when there is one.
fn check(s: &Scan, input: &Path, st: Option<&State>, state_shown: &str) -> Result<(), Failure> {
    if s.problem_count > 0 {
        let more = if s.problem_count > s.problems.len() as u64 {
            "; ..."
        } else {
            ""
        };
        return Err(Failure::usage(format!(
            "{} has {} problem(s), and a remote batch fails whole on one: {}{more}; nothing was uploaded",
            input.display(),
            s.problem_count,
            s.problems.join("; ")
        )));
    }
    if let Some(st) = st {
        if st.input != s.fingerprint() {
            return Err(Failure::usage(format!(
                "{} is not the input of remote batch {} (recorded in {state_shown}): rerun with that input, or use another -o",
                input.display(),
                st.batch_id.as_deref().unwrap_or("(not created yet)")
            )));
        }
    }
    Ok(())
}

/// The input as the scan saw it.
struct Source<'a> {
    path: &'a Path,
    /// A regular file, which can be read again.
    regular: bool,
    /// When it was last changed before the scan.
    modified: Option<SystemTime>,
}

/// Uploads the lines to run, from the input itself when it is a regular file sent as it is,
/// else from the spool (written by the scan for a pipe, or now by a second pass over a
/// regular file). Returns the file's id.
fn upload(
    client: &Client,
    s: &Scan,
    source: &Source<'_>,
    spool_path: &Path,
    held: &super::keys::Table,
    keys: &Keys,
) -> Result<String, Failure> {
    let (input, regular, modified) = (source.path, source.regular, source.modified);
    let path = if regular && s.as_is {
        unchanged(input, s.bytes, modified)?;
        input.to_owned()
    } else {
        if regular {
            let file = File::open(input)
                .map_err(|e| Failure::error(format!("{}: {e}", input.display())))?;
            let mut w = create(spool_path)?;
            let again = scan::scan(file, held, keys, Some(&mut w))
                .and_then(|again| w.flush().map(|()| again));
            let same = matches!(&again, Ok(a) if a.fingerprint() == s.fingerprint());
            if !same {
                let _ = fs::remove_file(spool_path);
                return Err(match again {
                    Err(e) => Failure::error(format!("{}: {e}", input.display())),
                    Ok(_) => Failure::error(format!(
                        "{} changed while it was read; nothing was uploaded",
                        input.display()
                    )),
                });
            }
        }
        spool_path.to_owned()
    };
    let name = match input.file_name() {
        Some(n) if input != Path::new("-") => n.to_string_lossy().into_owned(),
        _ => "stdin.jsonl".to_owned(),
    };
    let sent = client
        .files()
        .create(Upload::path(&path).filename(name), FilePurpose::Batch);
    let _ = fs::remove_file(spool_path);
    let file = sent
        .map_err(|e| Failure::error(format!("uploading the input: {e}; nothing was paid for")))?;
    if file.id.trim().is_empty() {
        return Err(Failure::error(
            "uploading the input: the server's answer names no file id; nothing was paid for (rerun to try again)",
        ));
    }
    say(&format!(
        "uploaded {} line(s) as file {}",
        s.ids.len(),
        file.id
    ));
    Ok(file.id)
}

/// The regular input about to be uploaded by path is still what the scan read: as long
/// (the library then refuses it if it grows while it is sent) and changed no later.
fn unchanged(input: &Path, bytes: u64, modified: Option<SystemTime>) -> Result<(), Failure> {
    let m = fs::metadata(input).map_err(|e| Failure::error(format!("{}: {e}", input.display())))?;
    let now = m.modified().ok();
    if m.len() != bytes || (modified.is_some() && now != modified) {
        return Err(Failure::error(format!(
            "{} changed after it was read ({} bytes then, {} now); nothing was uploaded: rerun once it is complete",
            input.display(),
            bytes,
            m.len()
        )));
    }
    Ok(())
}

/// Creates the batch of `file_id`, unless one was made from it already (a run killed before
/// it recorded the batch's id). The creation is never retried blindly: an attempt whose
/// answer was lost may have created the batch, so before each retry the newest batches are
/// looked through for one made from this file (a second batch would be paid twice).
fn create_batch(
    client: &Client,
    file_id: &str,
    endpoint: &str,
    look_first: bool,
    since: Option<i64>,
    retries: u32,
) -> Result<String, Failure> {
    let req = BatchRequest::new(file_id, endpoint).metadata("created_by", "oai batch --remote");
    let once = client
        .batches()
        .with_options(RequestOptions::new().max_retries(0));
    let mut attempt = 0;
    loop {
        if look_first || attempt > 0 {
            if let Some(id) = made_from(client, file_id, since)? {
                say(&format!(
                    "found remote batch {id} made from file {file_id} by an earlier attempt; resuming it"
                ));
                return Ok(id);
            }
        }
        let e = match once.create(&req) {
            Ok(b) if !b.id.trim().is_empty() => {
                say(&format!(
                    "remote batch {} created ({endpoint}); rerunning this command resumes it",
                    b.id
                ));
                return Ok(b.id);
            }
            // An answer without an id cannot be resumed: a failed creation, which may still
            // have made the batch (looked for before trying again).
            Ok(_) => None,
            Err(e) => Some(e),
        };
        let delay = match &e {
            Some(e) => e.retry_delay(attempt),
            None => Some(std::time::Duration::from_millis(500)),
        };
        match delay.filter(|_| attempt < retries) {
            Some(wait) => {
                attempt += 1;
                let now = Instant::now();
                if !super::sleep_until(now.checked_add(wait).unwrap_or(now), interrupt::requested) {
                    return Err(Failure::Interrupted);
                }
            }
            None => {
                let e = e.map_or_else(
                    || "the server's answer names no batch id".to_owned(),
                    |e| e.to_string(),
                );
                return Err(Failure::error(format!(
                    "creating the batch of file {file_id}: {e}; rerun the same command to try again (the file is not uploaded again)"
                )));
            }
        }
    }
}

/// The batch made from `file_id`: the server's list is paged through, newest first, down to
/// the batches made before `since` (when this run's first creation attempt was, less a margin
/// for the clocks), at most [`MAX_PAGES`] pages. `None` when there is none, or the server has
/// no list (404, 405); any other failure stops the run, since creating a batch that may exist
/// already would pay twice.
fn made_from(
    client: &Client,
    file_id: &str,
    since: Option<i64>,
) -> Result<Option<String>, Failure> {
    let cannot = |why: String| {
        Failure::error(format!(
            "could not check whether a batch was already created from file {file_id}: {why}; rerun later (nothing new was created)"
        ))
    };
    let oldest = since.map(|t| t.saturating_sub(CLOCK_MARGIN_SECS));
    let mut params = BatchListParams::new().limit(FIND_AMONG);
    for _ in 0..MAX_PAGES {
        let page = match client.batches().list(&params) {
            Ok(p) => p,
            Err(e) if matches!(e.status(), Some(404 | 405)) => return Ok(None),
            Err(e) => return Err(cannot(e.to_string())),
        };
        if let Some(b) = page
            .data
            .iter()
            .find(|b| b.input_file_id.as_deref() == Some(file_id) && !b.id.trim().is_empty())
        {
            return Ok(Some(b.id.clone()));
        }
        // Newest first: once a page reaches batches made before ours, ours is not further on.
        let older = oldest.is_some_and(|o| {
            page.data
                .iter()
                .any(|b| b.created_at.is_some_and(|c| c < o))
        });
        match page.next_params(&params) {
            Some(next) if !older => params = next,
            _ => return Ok(None),
        }
    }
    Err(cannot(format!(
        "no batch made from it among the newest {} pages of batches",
        MAX_PAGES
    )))
}

/// `--cancel`: cancels the batch recorded for this output.
fn cancel(client: &Client, st: Option<&State>, state_shown: &str) -> Result<(), Failure> {
    let Some(id) = st.and_then(|s| s.batch_id.as_deref()) else {
        return Err(Failure::usage(format!(
            "no remote batch is recorded in {state_shown}: nothing to cancel"
        )));
    };
    let b = client.batches().cancel(id)?;
    say(&format!(
        "remote batch {id}: {}; rerun without --cancel to collect the lines it finished",
        status_name(&b.status)
    ));
    Ok(())
}

/// Downloads the batch's files beside the output, then rewrites the output whole with its
/// earlier lines and the batch's results (see `collect`).
fn collect_into(
    client: &Client,
    batch: &Batch,
    real: &Path,
    shown: &str,
    mut wanted: Wanted<'_>,
    retried: &HashSet<Key>,
    mut next_id: u64,
) -> Result<Counts, Failure> {
    let keys = wanted.keys();
    let parts = [
        (
            batch.output_file_id.as_deref(),
            hidden(real, "remote-output"),
        ),
        (
            batch.error_file_id.as_deref(),
            hidden(real, "remote-errors"),
        ),
    ];
    let result = (|| {
        for (id, part) in &parts {
            if let Some(id) = id.filter(|id| !id.is_empty()) {
                download(client, id, part)?;
            }
        }
        // The output exists (a rewrite keeps its mode), created as a run creates it.
        Output::File {
            shown: shown.into(),
            real: real.to_owned(),
        }
        .open()?;
        let mut counts = Counts::default();
        let (code, why) = lost_reason(batch);
        // The output as it is now (not as it was when the run began): how many lines each id
        // has there, so that only its last is kept (as a local run's compaction does), and an
        // id it came to hold is not written twice.
        let mut lines_of: HashMap<Key, u32> = HashMap::new();
        resume::each_line(real, |buf| {
            if let Some((k, _, _)) = resume::parse(buf, keys) {
                *lines_of.entry(k).or_default() += 1;
            }
            Ok(())
        })
        .map_err(|e| Failure::error(format!("reading {shown}: {e}")))?;
        let mut held = HashSet::new();
        output::rewrite(real, |f| {
            let mut w = BufWriter::with_capacity(256 * 1024, f);
            resume::each_line(real, |buf| {
                if let Some((k, _, _)) = resume::parse(buf, keys) {
                    // A failed line sent again (--retry-failed): the new result replaces it.
                    if retried.contains(&k) && wanted.sent(&k) {
                        return Ok(());
                    }
                    if let Some(n) = lines_of.get_mut(&k) {
                        *n = n.saturating_sub(1);
                        if *n > 0 {
                            counts.compacted += 1;
                            return Ok(());
                        }
                    }
                    if wanted.hold(&k) {
                        held.insert(k);
                    }
                }
                w.write_all(buf)?;
                w.write_all(b"\n")
            })?;
            for (id, part) in &parts {
                if id.is_some_and(|id| !id.is_empty()) {
                    let r = BufReader::with_capacity(256 * 1024, File::open(part)?);
                    collect::copy_results(
                        r,
                        &mut w,
                        &mut wanted,
                        &held,
                        &mut next_id,
                        &mut counts,
                    )?;
                }
            }
            collect::write_lost(&mut w, &wanted, &mut next_id, code, &why, &mut counts)?;
            w.flush()
        })
        .map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => Failure::error(format!(
                "{e}; {shown} is left as it was: rerun the same command to download it again"
            )),
            _ => Failure::error(format!(
                "writing {shown}: {e} (rerun the same command to try again)"
            )),
        })?;
        Ok(counts)
    })();
    for (_, part) in &parts {
        let _ = fs::remove_file(part);
    }
    result
}

/// How a line the batch did not run is run again, said in its error line.
const AGAIN: &str = "; rerun with --retry-failed to send it in a new batch";

/// The code and message of the error line of a custom_id the batch has no result for.
fn lost_reason(b: &Batch) -> (&'static str, String) {
    let id = &b.id;
    match &b.status {
        BatchStatus::Completed => (
            "missing_result",
            format!("remote batch {id} completed without a result for this line{AGAIN}"),
        ),
        BatchStatus::Expired => (
            "batch_expired",
            format!("remote batch {id} expired before this line ran{AGAIN}"),
        ),
        BatchStatus::Cancelled => (
            "batch_cancelled",
            format!("remote batch {id} was cancelled before this line ran{AGAIN}"),
        ),
        BatchStatus::Failed => (
            "batch_failed",
            format!("remote batch {id} failed{}{AGAIN}", batch_errors(b)),
        ),
        other => (
            "missing_result",
            format!(
                "remote batch {id} ended {} without a result for this line{AGAIN}",
                status_name(other)
            ),
        ),
    }
}

/// `: <message>; <message>` of a failed batch's errors, if it names any.
fn batch_errors(b: &Batch) -> String {
    let msgs: Vec<String> = b
        .errors
        .iter()
        .flat_map(|e| e.data.iter())
        .filter_map(|e| {
            let m = e.message.as_deref().or(e.code.as_deref())?;
            Some(match e.line {
                Some(l) => format!("line {l}: {m}"),
                None => m.to_owned(),
            })
        })
        .take(5)
        .collect();
    if msgs.is_empty() {
        String::new()
    } else {
        format!(": {}", crate::fail::one_line(&msgs.join("; ")))
    }
}

/// Seconds since the Unix epoch (0 on a clock before it).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A batch's status as the API spells it.
pub fn status_name(s: &BatchStatus) -> String {
    s.as_str().to_owned()
}

/// Downloads file `id` into `to` (replacing it), stopping at Ctrl-C.
fn download(client: &Client, id: &str, to: &Path) -> Result<(), Failure> {
    let fail = |e: oai_compat::Error| {
        if interrupt::requested() {
            Failure::Interrupted
        } else {
            Failure::error(format!(
                "downloading the batch's file {id}: {e}; rerun the same command to try again"
            ))
        }
    };
    let mut body = client.files().content(id).map_err(fail)?;
    let file = create(to)?;
    let mut w = StopAware(BufWriter::with_capacity(256 * 1024, file));
    let got = body.write_to(&mut w).map_err(fail)?;
    w.flush()
        .map_err(|e| Failure::error(format!("{}: {e}", to.display())))?;
    // A body cut short without an error from the transport is a failed download (the length
    // is the one sent only when the body is not decoded on the way).
    let encoded = body
        .meta()
        .headers
        .get("content-encoding")
        .is_some_and(|e| !e.trim().eq_ignore_ascii_case("identity"));
    match body.content_length().filter(|_| !encoded) {
        Some(n) if n != got => Err(Failure::error(format!(
            "downloading the batch's file {id}: got {got} of its {n} bytes; rerun the same command to try again"
        ))),
        _ => Ok(()),
    }
}

/// A hidden file beside the output for this run's own use.
fn hidden(real: &Path, what: &str) -> PathBuf {
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    real.with_file_name(format!(".{name}.{what}.part"))
}

/// A new file for this user only, replacing any leftover: the name is removed first and the
/// file made with `create_new`, so a symlink planted under the name is never followed.
fn create(path: &Path) -> Result<BufWriter<File>, Failure> {
    let _ = fs::remove_file(path);
    owner_only(OpenOptions::new().write(true).create_new(true))
        .open(path)
        .map(|f| BufWriter::with_capacity(256 * 1024, f))
        .map_err(|e| Failure::error(format!("{}: {e}", path.display())))
}

/// A writer that fails once Ctrl-C was pressed, so a download stops there.
struct StopAware<W>(W);

impl<W: Write> Write for StopAware<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if interrupt::requested() {
            return Err(io::Error::other("interrupted"));
        }
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_that_changed_after_the_scan_is_not_uploaded_by_path() {
        let d = crate::testing::dir("unchanged");
        let p = d.join("in.jsonl");
        fs::write(&p, "{}\n").unwrap();
        let m = fs::metadata(&p).unwrap().modified().ok();
        assert!(unchanged(&p, 3, m).is_ok());
        // Grown since.
        fs::write(&p, "{}\n{}\n").unwrap();
        let e = unchanged(&p, 3, m).err().unwrap();
        assert!(
            e.message().unwrap().contains("changed after it was read"),
            "{e:?}"
        );
        // As long, but written again later.
        fs::write(&p, "[]\n").unwrap();
        let later = m.map(|t| t - std::time::Duration::from_secs(10));
        assert!(unchanged(&p, 3, later).is_err());
        let _ = fs::remove_dir_all(&d);
    }
}
