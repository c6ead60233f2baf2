//! Ctrl-C (SIGINT, and SIGTERM): by default the process exits at once with 130; a command
//! that must clean up first (a batch writing what is in flight, the mock server) asks for a
//! graceful stop and polls [`requested`]. A second Ctrl-C during a graceful stop exits at once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::fail::{EXIT_INTERRUPTED, Failure};

static GRACEFUL: AtomicBool = AtomicBool::new(false);
static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Said on stderr at the first Ctrl-C of a graceful stop.
static SAY: OnceLock<&'static str> = OnceLock::new();

/// Installs the handler. Call once, before any work.
pub fn install() -> Result<(), Failure> {
    ctrlc::set_handler(|| {
        if GRACEFUL.load(Ordering::SeqCst) && !REQUESTED.swap(true, Ordering::SeqCst) {
            if let Some(msg) = SAY.get() {
                eprintln!("\n{msg}");
            }
            return;
        }
        // Nothing to clean up (or asked twice): stop now. Output was flushed as it was written.
        std::process::exit(EXIT_INTERRUPTED);
    })
    .map_err(|e| Failure::error(format!("cannot install the Ctrl-C handler: {e}")))
}

/// From now on Ctrl-C only sets the flag that [`requested`] reads (and prints `say`, if any).
pub fn graceful(say: Option<&'static str>) {
    if let Some(msg) = say {
        let _ = SAY.set(msg);
    }
    GRACEFUL.store(true, Ordering::SeqCst);
}

/// Whether Ctrl-C was pressed since [`graceful`].
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
