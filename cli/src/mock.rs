//! `oai mock`: the built-in mock server, for tests in any language. Prints its base URL as
//! the first stdout line and serves until interrupted (exit 130).

use std::io::Write;
use std::time::Duration;

use oai_compat_mock::MockServer;

use crate::args::MockArgs;
use crate::fail::Failure;
use crate::{interrupt, out};

pub fn run(a: &MockArgs) -> Result<(), Failure> {
    interrupt::graceful(None);
    let server = MockServer::start_on(a.host, a.port)
        .map_err(|e| Failure::error(format!("cannot listen on {}:{}: {e}", a.host, a.port)))?;
    if let Some(path) = &a.replay {
        server
            .replay(path, a.replay_timing)
            .map_err(|e| Failure::usage(format!("--replay {}: {e}", path.display())))?;
    }
    if let Some(n) = a.max_in_flight {
        server.set_max_in_flight(n as usize);
    }
    server.set_latency(Duration::from_millis(a.latency));
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", server.url())
        .and_then(|()| stdout.flush())
        .map_err(out::write_failed)?;
    drop(stdout);
    while !interrupt::requested() {
        std::thread::sleep(Duration::from_millis(50));
    }
    if a.max_in_flight.is_some() {
        // For a measurement: how often the cap was hit.
        eprintln!(
            "{} request(s) answered 429 over --max-in-flight",
            server.rejected()
        );
    }
    // Dropping the server closes its socket and every connection.
    drop(server);
    Err(Failure::Interrupted)
}
