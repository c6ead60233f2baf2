//! `oai batch`: runs a JSONL file of requests (OpenAI's Batch format) with N requests in
//! flight, over one server or a fleet (through the library's `Router`), resumably.
//!
//! The input is read as a stream: each of N worker threads takes the next line from the shared
//! reader (which checks it), sends it, and appends its result to the shared output buffer, so
//! lines are written in completion order with no hand-off between threads. Memory holds N
//! requests and a small table of `custom_id` keys, whatever the file size; a flusher thread
//! writes the buffer out at least every 200 ms.
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
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::{BatchArgs, Global};
use crate::fail::Failure;
use crate::interrupt;

use self::keys::{Keys, Table};
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

pub fn run(g: &Global, a: &BatchArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let input = open_input(&a.input, &a.output)?;
    let concurrency = a.concurrency as usize;
    let target = Target::new(g, &a.backends, concurrency)?;
    // From here on Ctrl-C lets the run end cleanly: a --retry-failed rewrite completes (no
    // temporary file is left behind), requests in flight are written.
    interrupt::graceful(Some(
        "interrupted: finishing the requests in flight and writing them (Ctrl-C again quits at once)",
    ));
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

    let run = Run {
        feeder: Mutex::new(Feeder {
            lines: Lines::new(BufReader::with_capacity(256 * 1024, input), MAX_LINE),
            buf: Vec::new(),
            seen: prev.results,
            keys,
            skipped: 0,
            still_failed: 0,
            error: None,
        }),
        sink: Mutex::new(Sink {
            out: BufWriter::with_capacity(256 * 1024, output),
            dirty: false,
            ok: 0,
            failed: 0,
            error: None,
        }),
        target,
        next_id: AtomicU64::new(prev.next_id),
        stop: AtomicBool::new(false),
        progress,
    };
    let (quit_flusher, flusher_rx) = mpsc::channel::<()>();
    thread::scope(|s| -> Result<(), Failure> {
        let run = &run;
        let flusher = thread::Builder::new()
            .name("oai-batch-flush".into())
            .spawn_scoped(s, move || flush_periodically(run, &flusher_rx))
            .map_err(|e| Failure::error(format!("cannot start a thread: {e}")))?;
        let mut workers = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            match thread::Builder::new()
                .name("oai-batch-worker".into())
                .spawn_scoped(s, move || work(run))
            {
                Ok(h) => workers.push(h),
                // Fewer workers than asked still finish the job.
                Err(e) if !workers.is_empty() => {
                    run.progress.say(&format!(
                        "only {} workers could be started: {e}",
                        workers.len()
                    ));
                    break;
                }
                Err(e) => {
                    run.stop.store(true, Ordering::SeqCst);
                    drop(quit_flusher);
                    let _ = flusher.join();
                    return Err(Failure::error(format!("cannot start a thread: {e}")));
                }
            }
        }
        for w in workers {
            let _ = w.join();
        }
        drop(quit_flusher);
        let _ = flusher.join();
        Ok(())
    })?;
    run.progress.finish();
    let feeder = run
        .feeder
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let mut sink = run
        .sink
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    sink.finish();
    if let Some(e) = sink.error {
        return Err(Failure::error(format!(
            "writing {}: {e} (rerun to resume)",
            a.output.display()
        )));
    }
    if let Some(f) = feeder.error {
        return Err(f);
    }
    eprintln!(
        "{} ok, {} failed, {} skipped in {:.1} s",
        sink.ok,
        sink.failed,
        feeder.skipped,
        started.elapsed().as_secs_f64()
    );
    if interrupt::requested() {
        eprintln!("interrupted: rerun the same command to resume");
        return Err(Failure::Interrupted);
    }
    if feeder.still_failed > 0 {
        eprintln!(
            "{} line(s) failed in an earlier run; --retry-failed runs them again",
            feeder.still_failed
        );
    }
    if sink.failed > 0 || feeder.skipped > 0 || feeder.still_failed > 0 {
        return Err(Failure::Reported);
    }
    Ok(())
}

/// What the threads of a run share.
struct Run {
    feeder: Mutex<Feeder>,
    sink: Mutex<Sink>,
    target: Target,
    next_id: AtomicU64,
    /// Set when the output cannot be written or the input read: no more lines are taken.
    stop: AtomicBool,
    progress: Progress,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Run {
    /// Whether to take no more lines (Ctrl-C, or a write or read error).
    fn stopping(&self) -> bool {
        interrupt::requested() || self.stop.load(Ordering::SeqCst)
    }
}

/// The input side: reads and checks lines, and knows every `custom_id` seen.
struct Feeder {
    lines: Lines<BufReader<Box<dyn Read + Send>>>,
    buf: Vec<u8>,
    seen: Table,
    keys: Keys,
    /// Bad lines, reported and not run.
    skipped: u64,
    /// Lines whose earlier failed result was kept (no `--retry-failed`).
    still_failed: u64,
    error: Option<Failure>,
}

impl Feeder {
    /// The next line to send, or `None` at the end of the input (or on a read error).
    fn next_job(&mut self, progress: &Progress) -> Option<Job> {
        loop {
            let end = match self.lines.next_into(&mut self.buf) {
                Ok(Some(end)) => end,
                Ok(None) => return None,
                Err(e) => {
                    self.error = Some(Failure::error(format!("reading the input: {e}")));
                    return None;
                }
            };
            let n = self.lines.number;
            if end.too_long {
                self.bad(progress, n, &format!("longer than {} MiB", MAX_LINE >> 20));
                continue;
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let job = match request::parse(&self.buf) {
                Ok(job) => job,
                Err(why) => {
                    self.bad(progress, n, &why);
                    continue;
                }
            };
            let entry = self.seen.entry(self.keys.of(&job.custom_id)).or_default();
            let first = entry.line();
            if first != 0 {
                let why = format!(
                    "duplicate custom_id {:?} (first on line {first})",
                    job.custom_id
                );
                self.bad(progress, n, &why);
                continue;
            }
            entry.set_line(n);
            match entry.result() {
                Some(false) => {}
                Some(true) => self.still_failed += 1,
                None => return Some(job),
            }
        }
    }

    fn bad(&mut self, progress: &Progress, n: u64, why: &str) {
        progress.say(&format!("line {n}: {why}"));
        progress.skipped();
        self.skipped += 1;
    }
}

/// The output side: finished lines appended in completion order.
struct Sink {
    out: BufWriter<File>,
    /// Lines were written since the last flush.
    dirty: bool,
    ok: u64,
    failed: u64,
    error: Option<io::Error>,
}

impl Sink {
    fn write(&mut self, line: &[u8], ok: bool) -> io::Result<()> {
        self.out.write_all(line)?;
        self.dirty = true;
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
        Ok(())
    }

    fn flush(&mut self) {
        if self.dirty && self.error.is_none() {
            self.dirty = false;
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
    }

    /// Everything written and on disk.
    fn finish(&mut self) {
        self.flush();
        if self.error.is_none() {
            if let Err(e) = self.out.get_ref().sync_data() {
                self.error = Some(e);
            }
        }
    }
}

/// A worker: takes the next line, sends it, writes its result, until the input ends or the
/// run stops. After Ctrl-C no new line is taken; the request in flight is finished.
fn work(run: &Run) {
    loop {
        if run.stopping() {
            return;
        }
        let Some(job) = lock(&run.feeder).next_job(&run.progress) else {
            return;
        };
        let outcome = run.target.send(&job);
        let id = run.next_id.fetch_add(1, Ordering::Relaxed);
        let (line, ok) = result::line(id, &job.custom_id, outcome);
        let mut sink = lock(&run.sink);
        if let Err(e) = sink.write(&line, ok) {
            sink.error.get_or_insert(e);
            run.stop.store(true, Ordering::SeqCst);
            return;
        }
        let failed = sink.failed;
        drop(sink);
        run.progress.done(failed, ok);
    }
}

/// Flushes the output at least every [`FLUSH_EVERY`] while lines come in, so a crash loses
/// little (and what it loses runs again); ends when `quit` is dropped.
fn flush_periodically(run: &Run, quit: &mpsc::Receiver<()>) {
    while let Err(RecvTimeoutError::Timeout) = quit.recv_timeout(FLUSH_EVERY) {
        let mut sink = lock(&run.sink);
        sink.flush();
        if sink.error.is_some() {
            run.stop.store(true, Ordering::SeqCst);
        }
    }
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
