//! `oai batch`: runs a JSONL file of requests (OpenAI's Batch format) with N requests in
//! flight, over one server or a fleet (through the library's `Router`), resumably.
//!
//! The input is read as a stream: each of N worker threads takes a place in flight from the
//! gate (`limit`: N is its ceiling, and it keeps below what the server accepts), and the
//! start allowed by `--rpm`/`--tpm` (`pace`), then the next line from the shared reader (which
//! checks it), sends it, and appends its result to the shared output buffer, so lines are
//! written in completion order with no hand-off between threads. A line the server refuses
//! for being full (429, 503) is sent again by the same worker once the gate lets it, so it is
//! written once, when it ends. Memory holds N requests and a small table of `custom_id` keys,
//! whatever the file size; a flusher thread writes the buffer out at least every 200 ms.
//! Ctrl-C stops the reading, lets the requests in flight finish and be written, and exits
//! 130; a rerun with the same output resumes.

mod breaker;
mod check;
mod input;
mod keys;
mod limit;
mod line_id;
mod lines;
mod lock;
mod merge;
mod output;
mod pace;
mod progress;
mod remote;
mod request;
mod result;
mod resume;
mod shard;
mod signals;
mod stable_hash;
mod target;

use std::collections::HashSet;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use oai_compat::Response;
use serde_json::value::RawValue;

use crate::args::{BatchAction, BatchArgs, Global};
use crate::fail::Failure;
use crate::interrupt;

use self::breaker::Breaker;
use self::keys::{Key, Keys, Table};
use self::limit::{Gate, Permit, Verdict};
use self::lines::Lines;
use self::output::{Output, Writer};
use self::pace::Pace;
use self::progress::Progress;
use self::request::Job;
use self::result::{Failed, Outcome};
use self::resume::Previous;
use self::shard::Shard;
use self::target::Target;

pub use self::output::owner_only;

/// The longest input line accepted (the mock server's and a common proxy's body limit).
pub const MAX_LINE: usize = 64 * 1024 * 1024;
/// How long finished lines may sit in the writer's buffer before they are flushed.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Refusals for being full (429, 503) a line may get before it is written as failed: each
/// one halved the requests in flight (or came in the same window as one that did) and waited
/// the server's Retry-After, so a line refused this often finds no room at all.
const MAX_REFUSALS: u32 = 10;
/// A worker's stack. A debug build overflows 64 KiB on any line and fits in 128 KiB with a
/// line and an answer nested 120 deep (serde_json's limit is 128; the test
/// `deeply_nested_lines_and_answers_fit_a_workers_stack`); release builds need less. 512 KiB
/// keeps four times that for what the test does not reach (a TLS handshake). std's 2 MiB
/// default is address space that thousands of workers need not reserve.
const WORKER_STACK: usize = 512 * 1024;
/// How long a stop-aware wait sleeps before it looks at Ctrl-C again.
const STOP_POLL: Duration = Duration::from_millis(100);

/// A message on stderr (before the progress bar exists).
fn say(msg: &str) {
    eprintln!("{msg}");
}

pub fn run(g: &Global, a: &BatchArgs) -> Result<(), Failure> {
    match &a.action {
        Some(BatchAction::Check(c)) => return check::run(c),
        Some(BatchAction::Merge(m)) => return merge::run(m),
        None => {}
    }
    // clap requires both without a subcommand.
    let (Some(input_path), Some(output_path)) = (&a.input, &a.output) else {
        return Err(Failure::usage("give INPUT.jsonl and -o OUTPUT.jsonl"));
    };
    if a.remote {
        return remote::run(g, a, input_path, output_path);
    }
    let started = Instant::now();
    let shard = match &a.shard {
        Some(spec) => Some(Shard::parse(spec, |name| std::env::var(name).ok())?),
        None => None,
    };
    let output = Output::resolve(output_path, a.retry_failed)?;
    // One run per output: a second one would write the same lines again.
    let _lock = match output.file() {
        Some(real) => Some(lock::take(real, &output.shown())?),
        None => None,
    };
    // Opened once, before Ctrl-C turns graceful: a FIFO with no writer yet can still be
    // given up on with Ctrl-C or SIGTERM.
    let input = input::open(input_path, &output)?;
    if let Some(s) = shard {
        say(&format!(
            "shard {} of {}: the lines whose custom_id falls in it",
            s.index, s.count
        ));
    }
    let concurrency = a.concurrency as usize;
    let target = Target::new(g, &a.backends, concurrency)?;
    let retries = if target.retried_by_runner() {
        g.max_retries.unwrap_or(oai_compat::DEFAULT_MAX_RETRIES)
    } else {
        0
    };
    // From here on Ctrl-C lets the run end cleanly: requests in flight are written, and the
    // output is compacted.
    interrupt::graceful(Some(
        "interrupted: finishing the requests in flight and writing them (Ctrl-C again quits at once)",
    ));
    let keys = Keys::new();
    let shown = output.shown();
    let prev = match output.file() {
        Some(real) => resume::load(real, &shown, &keys)?,
        None => Previous {
            next_id: 1,
            ..Previous::default()
        },
    };
    if prev.kept > 0 {
        let mut msg = format!("resuming: {} result(s) already in {shown}", prev.kept);
        if prev.kept_failed > 0 {
            msg.push_str(&format!(
                " ({} failed; {})",
                prev.kept_failed,
                if a.retry_failed {
                    "they run again as their lines come"
                } else {
                    "--retry-failed runs them again"
                }
            ));
        }
        say(&msg);
    }
    let writer = output.open()?;
    let progress = Progress::new(input.size);

    let run = Run {
        feeder: Mutex::new(Feeder {
            lines: Lines::new(BufReader::with_capacity(256 * 1024, input.reader), MAX_LINE),
            buf: Vec::new(),
            seen: prev.results,
            keys,
            retry_failed: a.retry_failed,
            shard,
            other_shards: 0,
            rerun: prev.repeated,
            skipped: 0,
            still_failed: 0,
            error: None,
        }),
        sink: Mutex::new(Sink {
            out: BufWriter::with_capacity(256 * 1024, writer),
            dirty: false,
            ok: 0,
            failed: 0,
            breaker: Breaker::new(Breaker::limit(concurrency)),
            last_unanswered: None,
            error: None,
        }),
        target,
        gate: Gate::new(concurrency),
        pace: Pace::new(a.rpm, a.tpm),
        retries,
        refused: AtomicU64::new(0),
        ceiling: concurrency,
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
                .stack_size(WORKER_STACK)
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
    let left = sink.finish();
    if let Some(e) = sink.error {
        return Err(Failure::error(format!(
            "writing {shown}: {e} (rerun to resume)"
        )));
    }
    // Each custom_id keeps one line: its latest (a rerun failure appended its new result).
    if let Some(real) = output.file() {
        let replaced = resume::compact(real, &shown, &feeder.keys, &feeder.rerun)?;
        if replaced > 0 {
            say(&format!(
                "{shown}: {replaced} earlier result(s) replaced by their new one"
            ));
        }
    }
    if let Some(f) = feeder.error {
        return Err(f);
    }
    eprintln!(
        "{} ok, {} failed, {} skipped in {:.1} s{}",
        sink.ok,
        sink.failed,
        feeder.skipped,
        started.elapsed().as_secs_f64(),
        match feeder.shard {
            Some(_) => format!(
                " ({} line(s) left to the other shards)",
                feeder.other_shards
            ),
            None => String::new(),
        }
    );
    let refused = run.refused.load(Ordering::Relaxed);
    if refused > 0 {
        eprintln!(
            "the server refused {refused} request(s) for being full: requests in flight cut {} time(s), {} at the end (-c {concurrency})",
            run.gate.cuts(),
            run.gate.limit(),
        );
    }
    if sink.breaker.tripped() {
        return Err(Failure::error(format!(
            "stopped: {} line(s) in a row got no answer (last: {}); the server looks down. Those {left} line(s) and the rest of the input were not written: rerun the same command to resume",
            Breaker::limit(concurrency),
            sink.last_unanswered.as_deref().unwrap_or("no answer"),
        )));
    }
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
    /// Places in flight.
    gate: Gate,
    /// `--rpm`, `--tpm`.
    pace: Pace,
    /// Retries of a line that failed other than by a refusal (0 when the router retries).
    retries: u32,
    /// Answers that refused a line for being full.
    refused: AtomicU64,
    /// `-c`.
    ceiling: usize,
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
    retry_failed: bool,
    /// Only this shard's lines run (`--shard`).
    shard: Option<Shard>,
    /// Lines left to the other shards.
    other_shards: u64,
    /// Ids that may have more than one line in the output (run again, or found repeated on
    /// load): the compaction at the end keeps their last line.
    rerun: HashSet<Key>,
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
            let bytes = end.len + u64::from(end.newline);
            if end.too_long {
                self.bad(
                    progress,
                    n,
                    bytes,
                    &format!("longer than {} MiB", MAX_LINE >> 20),
                );
                continue;
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                progress.passed(bytes);
                continue;
            }
            let mut job = match request::parse(&self.buf) {
                Ok(job) => job,
                Err(why) => {
                    self.bad(progress, n, bytes, &why);
                    continue;
                }
            };
            job.bytes = bytes;
            // Before the duplicate check: another shard's lines are not this run's business.
            if self.shard.is_some_and(|s| !s.contains(&job.custom_id)) {
                self.other_shards += 1;
                progress.passed(bytes);
                continue;
            }
            let key = self.keys.of(&job.custom_id);
            let entry = self.seen.entry(key).or_default();
            let first = entry.line();
            if first != 0 {
                let why = format!(
                    "duplicate custom_id {:?} (first on line {first})",
                    job.custom_id
                );
                self.bad(progress, n, bytes, &why);
                continue;
            }
            entry.set_line(n);
            match entry.result() {
                None => return Some(job),
                Some(true) if self.retry_failed => {
                    self.rerun.insert(key);
                    return Some(job);
                }
                Some(true) => self.still_failed += 1,
                Some(false) => {}
            }
            progress.passed(bytes);
        }
    }

    fn bad(&mut self, progress: &Progress, n: u64, bytes: u64, why: &str) {
        progress.say(&format!("line {n}: {why}"));
        progress.passed(bytes);
        self.skipped += 1;
    }
}

/// The output side: finished lines appended in completion order.
struct Sink {
    out: BufWriter<Writer>,
    /// Lines were written since the last flush.
    dirty: bool,
    ok: u64,
    failed: u64,
    /// Lines that got no answer, held back while they come in a row.
    breaker: Breaker,
    /// The error of the last line that got no answer, for the message when the run stops.
    last_unanswered: Option<String>,
    error: Option<io::Error>,
}

impl Sink {
    /// Records a finished line; true when the run must stop taking lines (the fleet looks
    /// down, or the output cannot be written).
    fn record(&mut self, line: Vec<u8>, how: Outcome) -> bool {
        if let Outcome::Unanswered(why) = how {
            self.last_unanswered = Some(why);
            return self.breaker.unanswered(line);
        }
        for held in self.breaker.answered() {
            if self.write(&held, false) {
                return true;
            }
        }
        self.write(&line, how == Outcome::Ok)
    }

    /// Writes one line; true on a write error (kept in `error`).
    fn write(&mut self, line: &[u8], ok: bool) -> bool {
        if self.error.is_some() {
            return true;
        }
        if let Err(e) = self.out.write_all(line) {
            self.error = Some(e);
            return true;
        }
        self.dirty = true;
        if ok {
            self.ok += 1;
        } else {
            self.failed += 1;
        }
        false
    }

    fn flush(&mut self) {
        if self.dirty && self.error.is_none() {
            self.dirty = false;
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
    }

    /// Writes the lines still held (unless the fleet was found down: those stay for the
    /// rerun), then everything reaches the disk; returns how many lines were left unwritten.
    fn finish(&mut self) -> usize {
        let (held, left) = self.breaker.finish();
        for line in held {
            if self.write(&line, false) {
                break;
            }
        }
        self.flush();
        if self.error.is_none() {
            if let Err(e) = self.out.get_mut().sync() {
                self.error = Some(e);
            }
        }
        left
    }
}

/// A worker: takes a place in flight and the next line, sends it, writes its result, until the
/// input ends or the run stops. After Ctrl-C no new line is taken; the request in flight is
/// finished.
fn work(run: &Run) {
    loop {
        let Some(permit) = run.gate.acquire(|| run.stopping()) else {
            return;
        };
        let Some(job) = lock(&run.feeder).next_job(&run.progress) else {
            run.gate.done(permit, Verdict::Unknown);
            return;
        };
        // `None`: the run stopped while the line waited to be sent again. It stays out of the
        // output, so the rerun sends it (as it does the lines not read yet).
        let Some(outcome) = send(run, &job, permit) else {
            return;
        };
        let id = run.next_id.fetch_add(1, Ordering::Relaxed);
        let (line, how) = result::line(id, &job, outcome);
        let mut sink = lock(&run.sink);
        if sink.record(line, how) {
            run.stop.store(true, Ordering::SeqCst);
        }
        let (done, failed) = (sink.ok + sink.failed, sink.failed);
        drop(sink);
        let below = match run.progress.visible() {
            true => Some(run.gate.limit())
                .filter(|&l| l < run.ceiling)
                .map(|l| (l, run.ceiling)),
            false => None,
        };
        run.progress.done(done, failed, job.bytes, below);
    }
}

/// Sends a line until it ends: answered, or failed for good. A refusal for being full sends
/// it again once the gate lets it (up to [`MAX_REFUSALS`], not counted as retries); another
/// retryable failure is retried up to `--max-retries` times with openai-python's backoff.
/// Between two sends the line holds no place in flight.
fn send(
    run: &Run,
    job: &Job,
    mut permit: Permit,
) -> Option<Result<Response<Box<RawValue>>, Failed>> {
    let tokens = pace::estimate(job.body.get().len(), job.max_tokens);
    let (mut refusals, mut retries) = (0, 0);
    loop {
        if !run.pace.wait(tokens, || run.stopping()) {
            run.gate.done(permit, Verdict::Unknown);
            return None;
        }
        let outcome = run.target.send(job);
        let verdict = signals::verdict(&outcome);
        run.gate.done(permit, verdict);
        let wait = match (&outcome, verdict) {
            (Err(Failed::Client(e)), Verdict::Full(pause)) => {
                run.refused.fetch_add(1, Ordering::Relaxed);
                // The client's own policy decides whether it may go again (not after
                // `x-should-retry: false` or a wait over 120 s: a spent quota) and how long
                // it backs off.
                let own = e.retry_delay(refusals).filter(|_| refusals < MAX_REFUSALS);
                let Some(own) = own else {
                    return Some(outcome);
                };
                refusals += 1;
                // A wait the server asked for holds every new send at the gate; without one,
                // this line backs off on its own.
                if pause.is_some() { Duration::ZERO } else { own }
            }
            (Err(Failed::Client(e)), _) if retries < run.retries => match e.retry_delay(retries) {
                Some(d) => {
                    retries += 1;
                    d
                }
                None => return Some(outcome),
            },
            _ => return Some(outcome),
        };
        let now = Instant::now();
        if !sleep_until(now.checked_add(wait).unwrap_or(now), || run.stopping()) {
            return None;
        }
        permit = run.gate.acquire(|| run.stopping())?;
    }
}

/// Sleeps until `at` or until `stopping` says so (looked at every [`STOP_POLL`]); true if the
/// whole time passed.
fn sleep_until(at: Instant, stopping: impl Fn() -> bool) -> bool {
    loop {
        if stopping() {
            return false;
        }
        let now = Instant::now();
        if now >= at {
            return true;
        }
        thread::sleep((at - now).min(STOP_POLL));
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
