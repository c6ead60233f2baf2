//! The progress bar (done/total, rate, failures, ETA), drawn on stderr only when stderr is a
//! terminal; messages printed while it is drawn go above it.

use std::io::IsTerminal;

use std::fmt::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Whether a bar will be drawn (so whether a total is worth counting).
    pub fn wanted() -> bool {
        std::io::stderr().is_terminal()
    }

    /// A bar over `total` lines when [`Progress::wanted`], else nothing.
    pub fn new(total: Option<u64>) -> Progress {
        if !Progress::wanted() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
        let template = if total.is_some() {
            "{wide_bar} {pos}/{len} {rate} {msg} ETA {eta}"
        } else {
            "{spinner} {pos} done {rate} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(
                style.with_key("rate", |s: &ProgressState, w: &mut dyn Write| {
                    let _ = write!(w, "{:.0}/s", s.per_sec());
                }),
            );
        }
        bar.set_message("0 failed");
        Progress { bar: Some(bar) }
    }

    /// One more line done.
    pub fn done(&self, failed_so_far: u64, ok: bool) {
        if let Some(b) = &self.bar {
            if b.length().is_some_and(|l| b.position() >= l) {
                b.inc_length(1);
            }
            b.inc(1);
            if !ok {
                b.set_message(format!("{failed_so_far} failed"));
            }
        }
    }

    /// One more line skipped (a bad line).
    pub fn skipped(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    /// A message line on stderr, above the bar when there is one.
    pub fn say(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{msg}")),
            None => eprintln!("{msg}"),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
