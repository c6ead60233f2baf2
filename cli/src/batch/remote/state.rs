//! `OUTPUT.remote.json`: which remote batch an output belongs to, kept beside it so that a
//! rerun of the same command resumes that batch (and never uploads or pays again). It holds
//! the batch and input file ids, the endpoint, the server's host (a rerun against another
//! server is refused) and the input's fingerprint (a rerun with another input is refused);
//! never the key. Written whole or not at all, readable by its owner only.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fail::Failure;
use crate::save;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    /// The server's host (and port), from the base URL; never the key or a query.
    pub host: String,
    /// The uploaded input's file id (set once the upload succeeded).
    pub input_file_id: Option<String>,
    /// The batch's id (set once it was created).
    pub batch_id: Option<String>,
    pub endpoint: String,
    /// How many lines were uploaded.
    pub lines: u64,
    /// The input's fingerprint (`fnv1a64:<hash>:<bytes>`).
    pub input: String,
    /// The batch's results are in the output.
    #[serde(default)]
    pub collected: bool,
    /// When the first attempt to create the batch began (Unix seconds): a batch made from the
    /// file is looked for among the batches made since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating_since: Option<i64>,
    /// The batch runs the lines that had failed (`--retry-failed`), not the missing ones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retrying: bool,
}

/// Where the state of the output `real` is kept.
pub fn path_of(real: &Path) -> PathBuf {
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    real.with_file_name(format!("{name}.remote.json"))
}

/// The state at `path`, `None` when there is none.
pub fn load(path: &Path) -> Result<Option<State>, Failure> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Failure::error(format!("{}: {e}", path.display()))),
    };
    serde_json::from_slice(&text).map(Some).map_err(|e| {
        Failure::error(format!(
            "{}: not a remote batch's state ({e}); move it away to start a new batch",
            path.display()
        ))
    })
}

/// Writes `state` to `path`, atomically.
pub fn store(path: &Path, state: &State) -> Result<(), Failure> {
    let text = serde_json::to_vec_pretty(state).map_err(|e| Failure::error(e.to_string()))?;
    save::atomically(
        path,
        |f| {
            f.write_all(&text)?;
            f.write_all(b"\n")
        },
        |e| e,
    )
    .map_err(|e| Failure::error(format!("{}: {e}", path.display())))
}

/// The host (and port) of a base URL, without any user info.
pub fn host_of(base_url: &str) -> String {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_never_carries_user_info() {
        assert_eq!(host_of("http://127.0.0.1:8000/v1"), "127.0.0.1:8000");
        assert_eq!(
            host_of("https://user:sk-secret@API.example.com/v1?k=1"),
            "api.example.com"
        );
        assert_eq!(host_of("https://api.openai.com"), "api.openai.com");
    }
}
