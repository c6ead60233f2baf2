//! In blocking mode ureq hex-dumps every request head, the key included, at TRACE under
//! `ureq_proto::util`, and nothing in ureq turns that off: the client warns once, at the
//! first request that finds TRACE on there. Alone in its binary: the logger and the warning
//! are per process.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use oai_compat::types::{ChatCompletionRequest, Message};
use support::{MODEL, builder, server};

const KEY: &str = "sk-live-0123456789abcdef";

/// Whether the logger lets `ureq_proto` through at TRACE.
static UREQ_TRACE: AtomicBool = AtomicBool::new(false);

/// The WARN lines of every target (target, text).
fn warnings() -> &'static Mutex<Vec<(String, String)>> {
    static LINES: OnceLock<Mutex<Vec<(String, String)>>> = OnceLock::new();
    LINES.get_or_init(|| Mutex::new(Vec::new()))
}

/// A logger at TRACE for everything, with `ureq_proto` filtered as [`UREQ_TRACE`] says.
struct Filtered;

impl log::Log for Filtered {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        !m.target().starts_with("ureq_proto")
            || m.level() <= log::Level::Debug
            || UREQ_TRACE.load(Ordering::SeqCst)
    }
    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) && record.level() == log::Level::Warn {
            warnings()
                .lock()
                .unwrap()
                .push((record.target().to_owned(), record.args().to_string()));
        }
    }
    fn flush(&self) {}
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn trace_on_for_ureq_warns_once_and_never_shows_the_key() {
    static LOGGER: Filtered = Filtered;
    log::set_logger(&LOGGER).unwrap();
    log::set_max_level(log::LevelFilter::Trace);
    let srv = server();
    let c = builder(&srv).api_key(KEY).build().unwrap();
    let req = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    let ours = || {
        warnings()
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == "oai_compat")
            .map(|(_, text)| text.clone())
            .collect::<Vec<_>>()
    };
    // The filter the README gives (`ureq_proto` at DEBUG): nothing to warn about.
    for _ in 0..2 {
        c.chat().create(&req).await.unwrap();
    }
    assert_eq!(ours(), Vec::<String>::new());
    // TRACE on for it: one warning, however many requests (and clients) follow.
    UREQ_TRACE.store(true, Ordering::SeqCst);
    for _ in 0..3 {
        c.chat().create(&req).await.unwrap();
    }
    let other = builder(&srv).api_key(KEY).build().unwrap();
    other.chat().create(&req).await.unwrap();
    let warned = ours();
    if cfg!(feature = "blocking") {
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].contains("ureq_proto=debug"), "{}", warned[0]);
    } else {
        // reqwest writes no header values to the log: nothing to warn about.
        assert_eq!(warned, Vec::<String>::new());
    }
    let all = warnings().lock().unwrap();
    assert!(all.iter().all(|(_, text)| !text.contains(KEY)), "{all:?}");
}
