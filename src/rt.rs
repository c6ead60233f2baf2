//! `sleep()`: the one runtime primitive the shared retry loop needs, per mode.

use std::time::Duration;

/// Blocks the current thread (blocking mode).
#[cfg(feature = "blocking")]
pub(crate) fn sleep(d: Duration) {
    std::thread::sleep(d)
}

/// Yields to the tokio timer (async mode); dropping the future cancels the wait.
#[cfg(not(feature = "blocking"))]
pub(crate) async fn sleep(d: Duration) {
    tokio::time::sleep(d).await
}
