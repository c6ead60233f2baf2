//! Helpers of the unit tests.

use std::path::PathBuf;

/// A fresh, empty directory for one test's files (named after the test and this process).
pub fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oai-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("a test directory");
    d
}
