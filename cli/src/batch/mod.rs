//! `oai batch`: runs a JSONL file of requests (OpenAI's Batch format) with N requests in
//! flight, over one server or a fleet (through the library's `Router`), resumably.
//!
//! The input is read as a stream: one thread reads and checks lines and hands them to N
//! worker threads through a bounded queue; the workers send them and pass the finished
//! lines to one writer thread, which appends them to the output in completion order. So
//! memory holds N requests and the `custom_id` keys (16 bytes each), whatever the file size.
//! Ctrl-C stops the reading, lets the requests in flight finish and be written, and exits
//! 130; a rerun with the same output resumes.

mod keys;
mod lines;
mod progress;
mod request;
mod result;
mod resume;
mod target;

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::{BatchArgs, Global};
use crate::fail::Failure;
use crate::interrupt;

use self::keys::Keys;
use self::lines::Lines;
use self::progress::Progress;
use self::request::Job;
use self::target::Target;

/// The longest input line accepted (the mock server's and a common proxy's body limit).
pub const MAX_LINE: usize = 64 * 1024 * 1024;
/// How long finished lines may sit in the writer's buffer before they are flushed.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// A message on stderr (before the progress bar exists).
fn say(msg: &str) {
    eprintln!("{msg}");
}

/// A finished line for the writer.
struct Done {
    line: Vec<u8>,
    ok: bool,
}

/// What the writer wrote.
#[derive(Default)]
struct Written {
    ok: u64,
    failed: u64,
}

pub fn run(g: &Global, a: &BatchArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let input = open_input(&a.input, &a.output)?;
    let concurrency = a.concurrency as usize;
    let target = Target::new(g, &a.backends, concurrency)?;
    let keys = Keys::new();
    let prev = resume::load(&a.output, &a.input, &keys, a.retry_failed)?;
    if prev.kept > 0 || prev.removed > 0 {
        let mut msg = format!(
            "resuming: {} result(s) already in {}",
            prev.kept,
            a.output.display()
        );
        if prev.kept_failed > 0 {
            msg.push_str(&format!(
                " ({} failed; --retry-failed runs them again)",
                prev.kept_failed
            ));
        }
        if prev.removed > 0 {
            msg.push_str(&format!("; running {} failed one(s) again", prev.removed));
        }
        say(&msg);
    }
    let output = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&a.output)
        .map_err(|e| Failure::error(format!("{}: {e}", a.output.display())))?;
    let total = if Progress::wanted() && a.input != Path::new("-") {
        count_lines(&a.input).map(|n| n.saturating_sub(prev.kept))
    } else {
        None
    };
    let progress = Progress::new(total);
    interrupt::graceful();

    let stop = Arc::new(AtomicBool::new(false));
    let next_id = Arc::new(AtomicU64::new(prev.next_id));
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(concurrency);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    let writer = {
        let (progress, stop) = (progress.clone(), Arc::clone(&stop));
        thread::Builder::new()
            .name("oai-batch-writer".into())
            .spawn(move || write_results(output, &done_rx, &progress, &stop))
            .map_err(|e| Failure::error(format!("cannot start a thread: {e}")))?
    };
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (rx, tx, target, next_id, stop) = (
            Arc::clone(&job_rx),
            done_tx.clone(),
            target.clone(),
            Arc::clone(&next_id),
            Arc::clone(&stop),
        );
        let spawned = thread::Builder::new()
            .name("oai-batch-worker".into())
            .spawn(move || work(&rx, &tx, &target, &next_id, &stop));
        match spawned {
            Ok(h) => workers.push(h),
            // Fewer workers than asked still finish the job.
            Err(e) if !workers.is_empty() => {
                progress.say(&format!(
                    "only {} workers could be started: {e}",
                    workers.len()
                ));
                break;
            }
            Err(e) => return Err(Failure::error(format!("cannot start a thread: {e}"))),
        }
    }
    drop(done_tx);

    let fed = feed(input, &keys, prev, &job_tx, &progress, &stop);
    drop(job_tx);
    for w in workers {
        let _ = w.join();
    }
    let written = writer.join();
    progress.finish();
    let fed = fed?;
    let written = match written {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => {
            return Err(Failure::error(format!(
                "writing {}: {e} (rerun to resume)",
                a.output.display()
            )));
        }
        Err(_) => return Err(Failure::error("the output writer stopped unexpectedly")),
    };
    eprintln!(
        "{} ok, {} failed, {} skipped in {:.1} s",
        written.ok,
        written.failed,
        fed.skipped,
        started.elapsed().as_secs_f64()
    );
    if interrupt::requested() {
        eprintln!("interrupted: rerun the same command to resume");
        return Err(Failure::Interrupted);
    }
    if written.failed > 0 || fed.skipped > 0 || fed.still_failed > 0 {
        if fed.still_failed > 0 {
            eprintln!(
                "{} line(s) failed in an earlier run; --retry-failed runs them again",
                fed.still_failed
            );
        }
        return Err(Failure::Reported);
    }
    Ok(())
}

/// The input (a file, or stdin for `-`), refusing to read the output file itself.
fn open_input(input: &Path, output: &Path) -> Result<Box<dyn Read + Send>, Failure> {
    if input == Path::new("-") {
        return Ok(Box::new(io::stdin()));
    }
    let file =
        File::open(input).map_err(|e| Failure::error(format!("{}: {e}", input.display())))?;
    if let (Ok(i), Ok(o)) = (input.canonicalize(), output.canonicalize()) {
        if i == o {
            return Err(Failure::usage(format!(
                "the input and the output are the same file ({}): choose another -o",
                input.display()
            )));
        }
    }
    Ok(Box::new(file))
}

/// The number of lines of a file (for the progress bar's total), read in blocks.
fn count_lines(path: &Path) -> Option<u64> {
    let mut f = File::open(path).ok()?;
    let mut buf = vec![0u8; 256 * 1024];
    let (mut n, mut last) = (0u64, b'\n');
    loop {
        let got = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        };
        n += buf[..got].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[got - 1];
    }
    Some(n + u64::from(last != b'\n'))
}

/// What the reader saw.
struct Fed {
    /// Bad lines, reported and not run.
    skipped: u64,
    /// Lines whose earlier failed result was kept (no `--retry-failed`).
    still_failed: u64,
}

/// Reads and checks the input lines and queues those to run, until the end or Ctrl-C.
fn feed(
    input: Box<dyn Read + Send>,
    keys: &Keys,
    prev: resume::Previous,
    jobs: &mpsc::SyncSender<Job>,
    progress: &Progress,
    stop: &AtomicBool,
) -> Result<Fed, Failure> {
    let mut seen = prev.results;
    let mut fed = Fed {
        skipped: 0,
        still_failed: 0,
    };
    let mut lines = Lines::new(BufReader::with_capacity(256 * 1024, input), MAX_LINE);
    let mut buf = Vec::new();
    let mut bad = |n: u64, why: &str| {
        progress.say(&format!("line {n}: {why}"));
        fed.skipped += 1;
    };
    let mut still_failed = 0;
    loop {
        if interrupt::requested() || stop.load(Ordering::SeqCst) {
            break;
        }
        let end = match lines.next_into(&mut buf) {
            Ok(Some(end)) => end,
            Ok(None) => break,
            Err(e) => return Err(Failure::error(format!("reading the input: {e}"))),
        };
        let n = lines.number;
        if end.too_long {
            bad(n, &format!("longer than {} MiB", MAX_LINE / (1024 * 1024)));
            continue;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let job = match request::parse(&buf) {
            Ok(job) => job,
            Err(why) => {
                bad(n, &why);
                continue;
            }
        };
        let entry = seen.entry(keys.of(&job.custom_id)).or_default();
        if entry.line() != 0 {
            let first = entry.line();
            bad(
                n,
                &format!(
                    "duplicate custom_id {:?} (first on line {first})",
                    job.custom_id
                ),
            );
            continue;
        }
        entry.set_line(n);
        match entry.result() {
            Some(false) => continue,
            Some(true) => {
                still_failed += 1;
                continue;
            }
            None => {}
        }
        if jobs.send(job).is_err() {
            break;
        }
    }
    fed.still_failed = still_failed;
    Ok(fed)
}

/// A worker: sends queued lines and passes the results on. After Ctrl-C (or a write error)
/// queued lines are dropped unsent: only requests already in flight are finished.
fn work(
    jobs: &Mutex<mpsc::Receiver<Job>>,
    done: &mpsc::Sender<Done>,
    target: &Target,
    next_id: &AtomicU64,
    stop: &AtomicBool,
) {
    loop {
        let job = {
            let rx = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            rx.recv()
        };
        let Ok(job) = job else { return };
        if interrupt::requested() || stop.load(Ordering::SeqCst) {
            continue;
        }
        let outcome = target.send(&job);
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        let (line, ok) = result::line(id, &job.custom_id, outcome);
        if done.send(Done { line, ok }).is_err() {
            return;
        }
    }
}

/// The writer: appends finished lines in completion order, flushing at least every
/// [`FLUSH_EVERY`] and at the end. A write error stops the run.
fn write_results(
    file: File,
    done: &mpsc::Receiver<Done>,
    progress: &Progress,
    stop: &AtomicBool,
) -> io::Result<Written> {
    let mut w = BufWriter::with_capacity(256 * 1024, file);
    let mut written = Written::default();
    let mut last_flush = Instant::now();
    let result = (|| -> io::Result<()> {
        loop {
            match done.recv_timeout(FLUSH_EVERY) {
                Ok(d) => {
                    w.write_all(&d.line)?;
                    if d.ok {
                        written.ok += 1;
                    } else {
                        written.failed += 1;
                    }
                    progress.done(written.failed, d.ok);
                    if last_flush.elapsed() >= FLUSH_EVERY {
                        w.flush()?;
                        last_flush = Instant::now();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    w.flush()?;
                    last_flush = Instant::now();
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        w.flush()?;
        w.get_ref().sync_data()
    })();
    if let Err(e) = result {
        // Stop the readers and workers; lines not written run again on the next run.
        stop.store(true, Ordering::SeqCst);
        return Err(e);
    }
    Ok(written)
}
