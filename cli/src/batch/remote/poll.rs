//! Waiting for a remote batch: its status every `--poll-interval`, shown as a bar of its
//! request counts on a terminal's stderr (elsewhere one line per change of status). A failed
//! look that may pass (a timeout, a 5xx, a dropped connection) is tried again; Ctrl-C ends
//! the wait at once and leaves the batch running.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oai_compat::Client;
use oai_compat::types::Batch;

use super::status_name;
use crate::fail::Failure;
use crate::interrupt;

/// Failed looks in a row after which the wait gives up (the batch goes on).
const MAX_FAILED_LOOKS: u32 = 10;

/// Polls batch `id` until it ends (completed, failed, expired, cancelled); `state` names the
/// state file in messages.
pub fn wait(client: &Client, id: &str, every: Duration, state: &str) -> Result<Batch, Failure> {
    let bar = Bar::new();
    let mut failed_looks = 0;
    let mut last = String::new();
    loop {
        match client.batches().retrieve(id) {
            Ok(b) => {
                failed_looks = 0;
                let status = status_name(&b.status);
                bar.show(&b, &status, status != last);
                last = status;
                if b.status.is_terminal() {
                    bar.finish();
                    return Ok(b);
                }
            }
            Err(e) if e.is_retryable() && failed_looks < MAX_FAILED_LOOKS => {
                failed_looks += 1;
                bar.say(&format!(
                    "looking at remote batch {id} failed ({}); trying again",
                    crate::fail::one_line(&e.to_string())
                ));
            }
            Err(e) if e.is_not_found() => {
                bar.finish();
                return Err(Failure::error(format!(
                    "remote batch {id} is not there ({e}): move {state} away to start a new batch"
                )));
            }
            Err(e) => {
                bar.finish();
                return Err(Failure::error(format!(
                    "looking at remote batch {id}: {e}; the batch goes on: rerun the same command to resume"
                )));
            }
        }
        let now = Instant::now();
        if !super::super::sleep_until(now.checked_add(every).unwrap_or(now), interrupt::requested) {
            bar.finish();
            return Err(Failure::Interrupted);
        }
    }
}

/// The batch's progress: a bar on a terminal, else a line per change of status.
struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    fn new() -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{wide_bar} {pos}/{len} {msg} {elapsed}") {
            bar.set_style(style);
        }
        Bar { bar: Some(bar) }
    }

    fn show(&self, b: &Batch, status: &str, changed: bool) {
        let (total, completed, failed) = b
            .request_counts
            .as_ref()
            .map_or((0, 0, 0), |c| (c.total, c.completed, c.failed));
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(completed.saturating_add(failed).min(total));
                bar.set_message(format!("{status}, {failed} failed"));
            }
            None if changed => eprintln!(
                "remote batch {}: {status} ({completed} of {total} done, {failed} failed)",
                b.id
            ),
            None => {}
        }
    }

    fn say(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{msg}")),
            None => eprintln!("{msg}"),
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
