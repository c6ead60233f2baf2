//! The progress bar, drawn on stderr only when stderr is a terminal; messages printed while it
//! is drawn go above it. Over a regular file it measures the bytes of input done against the
//! file's size (percent and ETA) rather than lines, so the input is never read ahead to count
//! them (that would drain a pipe); over a pipe it is a spinner with the count done.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar over an input of `size` bytes (a spinner when unknown) if stderr is a terminal,
    /// else nothing.
    pub fn new(size: Option<u64>) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr());
        let template = if size.is_some() {
            "{wide_bar} {percent:>3}% {msg} ETA {eta}"
        } else {
            "{spinner} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.set_message("0 done, 0 failed");
        Progress { bar: Some(bar) }
    }

    /// One more line done (its result written), `bytes` long in the input; `below` is the
    /// requests allowed in flight and `-c` when the server holds them under it.
    pub fn done(&self, done: u64, failed: u64, bytes: u64, below: Option<(usize, usize)>) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
            b.set_message(match below {
                Some((limit, ceiling)) => {
                    format!("{done} done, {failed} failed, {limit} of {ceiling} in flight")
                }
                None => format!("{done} done, {failed} failed"),
            });
        }
    }

    /// Whether anything is drawn (so the figures for it are worth gathering).
    pub fn visible(&self) -> bool {
        self.bar.is_some()
    }

    /// One more line passed over (a bad line, or one whose result the output holds).
    pub fn passed(&self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.inc(bytes);
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
