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
//!    or the complete new one, never half of the results.

mod collect;
mod poll;
mod scan;
mod state;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use oai_compat::types::{Batch, BatchListParams, BatchRequest, BatchStatus, FilePurpose};
use oai_compat::{Client, RequestOptions, Upload};

use self::collect::{Counts, Wanted};
use self::scan::Scan;
use self::state::State;
use super::input;
use super::keys::Keys;
use super::output::{self, Output, owner_only};
use super::resume;
use super::say;
use crate::args::{BatchArgs, Global};
use crate::connect;
use crate::fail::Failure;
use crate::interrupt;

/// How many of the newest batches are looked through for one made from our file.
const FIND_AMONG: u32 = 100;

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
    let output = Output::resolve(output_path, false)?;
    let Some(real) = output.file().map(Path::to_owned) else {
        return Err(Failure::usage(
            "--remote keeps the batch's id beside the output so that a rerun resumes it: give -o a file, not -",
        ));
    };
    let shown = output.shown();
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

    // 1. The input, read once.
    let input = input::open(input_path, &output)?;
    let keys = Keys::new();
    let prev = resume::load(&real, &shown, &keys)?;
    // A regular file can be read again to upload it; stdin, `/dev/stdin` or `/proc/self/fd/N`
    // (even when a file is redirected to them) are read once, through the spool.
    let regular = input.size.is_some()
        && input_path != Path::new("-")
        && !input_path.starts_with("/dev")
        && !input_path.starts_with("/proc");
    let needs_upload = st.as_ref().is_none_or(|s| s.input_file_id.is_none());
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
    if prev.kept > 0 {
        say(&format!(
            "{} line(s) already have a result in {shown}; the other {} go to the remote batch",
            prev.kept,
            scanned.ids.len()
        ));
    }
    let resumed = st.as_ref().is_some_and(|s| s.input_file_id.is_some());
    let mut st = match st {
        Some(s) if s.input_file_id.is_some() => s,
        _ => {
            let file_id = upload(
                &client,
                &scanned,
                input_path,
                regular,
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
            let b = create_batch(&client, &file_id, &st.endpoint, resumed, retries)?;
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

    // 4. Collect.
    let held_failed = scanned.held_failed;
    let counts = collect_into(
        &client,
        &batch,
        &real,
        &shown,
        scanned.ids,
        &keys,
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

/// Uploads the lines to run, from the input itself when it is a regular file sent as it is,
/// else from the spool (written by the scan for a pipe, or now by a second pass over a
/// regular file). Returns the file's id.
fn upload(
    client: &Client,
    s: &Scan,
    input: &Path,
    regular: bool,
    spool_path: &Path,
    held: &super::keys::Table,
    keys: &Keys,
) -> Result<String, Failure> {
    let path = if regular && s.as_is {
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
    say(&format!(
        "uploaded {} line(s) as file {}",
        s.ids.len(),
        file.id
    ));
    Ok(file.id)
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
    retries: u32,
) -> Result<String, Failure> {
    let req = BatchRequest::new(file_id, endpoint).metadata("created_by", "oai batch --remote");
    let once = client
        .batches()
        .with_options(RequestOptions::new().max_retries(0));
    let mut attempt = 0;
    loop {
        if look_first || attempt > 0 {
            if let Some(id) = made_from(client, file_id) {
                say(&format!(
                    "found remote batch {id} made from file {file_id} by an earlier attempt; resuming it"
                ));
                return Ok(id);
            }
        }
        let e = match once.create(&req) {
            Ok(b) => {
                say(&format!(
                    "remote batch {} created ({endpoint}); rerunning this command resumes it",
                    b.id
                ));
                return Ok(b.id);
            }
            Err(e) => e,
        };
        match e.retry_delay(attempt).filter(|_| attempt < retries) {
            Some(wait) => {
                attempt += 1;
                let now = Instant::now();
                if !super::sleep_until(now.checked_add(wait).unwrap_or(now), interrupt::requested) {
                    return Err(Failure::Interrupted);
                }
            }
            None => {
                return Err(Failure::error(format!(
                    "creating the batch of file {file_id}: {e}; rerun the same command to try again (the file is not uploaded again)"
                )));
            }
        }
    }
}

/// The batch made from `file_id`, among the newest [`FIND_AMONG`] (`None` when the list
/// cannot be had: a server without it).
fn made_from(client: &Client, file_id: &str) -> Option<String> {
    client
        .batches()
        .list(&BatchListParams::new().limit(FIND_AMONG))
        .ok()?
        .data
        .into_iter()
        .find(|b| b.input_file_id.as_deref() == Some(file_id))
        .map(|b| b.id)
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
    ids: Vec<String>,
    keys: &Keys,
    mut next_id: u64,
) -> Result<Counts, Failure> {
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
        let mut wanted = Wanted::new(keys, ids);
        let mut counts = Counts::default();
        let (code, why) = lost_reason(batch);
        output::rewrite(real, |f| {
            let mut w = BufWriter::with_capacity(256 * 1024, f);
            io::copy(&mut File::open(real)?, &mut w)?;
            for (id, part) in &parts {
                if id.is_some_and(|id| !id.is_empty()) {
                    let r = BufReader::with_capacity(256 * 1024, File::open(part)?);
                    collect::copy_results(r, &mut w, &mut wanted, &mut next_id, &mut counts)?;
                }
            }
            collect::write_lost(&mut w, &wanted, &mut next_id, code, &why, &mut counts)?;
            w.flush()
        })
        .map_err(|e| {
            Failure::error(format!(
                "writing {shown}: {e} (rerun the same command to try again)"
            ))
        })?;
        Ok(counts)
    })();
    for (_, part) in &parts {
        let _ = fs::remove_file(part);
    }
    result
}

/// The code and message of the error line of a custom_id the batch has no result for.
fn lost_reason(b: &Batch) -> (&'static str, String) {
    let id = &b.id;
    match &b.status {
        BatchStatus::Completed => (
            "missing_result",
            format!("remote batch {id} completed without a result for this line"),
        ),
        BatchStatus::Expired => (
            "batch_expired",
            format!("remote batch {id} expired before this line ran"),
        ),
        BatchStatus::Cancelled => (
            "batch_cancelled",
            format!("remote batch {id} was cancelled before this line ran"),
        ),
        BatchStatus::Failed => (
            "batch_failed",
            format!("remote batch {id} failed{}", batch_errors(b)),
        ),
        other => (
            "missing_result",
            format!(
                "remote batch {id} ended {} without a result for this line",
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
    body.write_to(&mut w).map_err(fail)?;
    w.flush()
        .map_err(|e| Failure::error(format!("{}: {e}", to.display())))
}

/// A hidden file beside the output for this run's own use.
fn hidden(real: &Path, what: &str) -> PathBuf {
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    real.with_file_name(format!(".{name}.{what}.part"))
}

/// A new file for this user only, replacing any leftover.
fn create(path: &Path) -> Result<BufWriter<File>, Failure> {
    owner_only(OpenOptions::new().write(true).create(true).truncate(true))
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
