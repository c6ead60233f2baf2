//! `-v`: the client library's log lines on stderr. Only the library's own targets are shown
//! (the library never logs the key; the HTTP stack's lower-level logs are left out because
//! they are not under our control).

use std::io::Write;

use log::{Level, Log, Metadata, Record};

struct Stderr {
    level: Level,
}

impl Log for Stderr {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= self.level && m.target().starts_with("oai_compat")
    }

    fn log(&self, r: &Record<'_>) {
        if self.enabled(r.metadata()) {
            let line = crate::fail::one_line(&r.args().to_string());
            let _ = writeln!(
                std::io::stderr().lock(),
                "oai: {} {}: {line}",
                r.level(),
                r.target()
            );
        }
    }

    fn flush(&self) {}
}

/// `-v` shows debug lines (each request, each retry), `-vv` trace lines too.
pub fn init(verbose: u8) {
    let level = match verbose {
        0 => return,
        1 => Level::Debug,
        _ => Level::Trace,
    };
    // Leaked once: the logger lives as long as the process (no `std` feature of `log` needed).
    if log::set_logger(Box::leak(Box::new(Stderr { level }))).is_ok() {
        log::set_max_level(level.to_level_filter());
    }
}
