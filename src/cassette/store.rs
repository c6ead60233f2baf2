//! A cassette file opened by a client: the exchanges it holds (each plays once, in order), and
//! the file new ones are appended to. Shared by every copy of the client.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use super::format::{Exchange, Request};
use super::tape::Tape;
use super::{Matcher, RecordMode};
use crate::error::{Error, Result, redact_text};
use crate::secret::Secret;

pub(crate) struct Store {
    path: PathBuf,
    mode: RecordMode,
    /// Nothing is ever sent: `None`, or `Once` with a file that existed.
    replay_only: bool,
    matcher: Matcher,
    timing: bool,
    key: Option<Secret>,
    state: Mutex<State>,
}

struct State {
    recorded: Vec<Entry>,
    /// Where new exchanges go (absent when replaying only).
    file: Option<File>,
}

struct Entry {
    exchange: Exchange,
    /// Its line in the file, for messages.
    line: usize,
    played: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cassette")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .field("matcher", &self.matcher)
            .field("timing", &self.timing)
            .finish_non_exhaustive()
    }
}

fn failed(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Cassette(format!("cassette {}: {e}", path.display()))
}

impl Store {
    /// Opens (or starts) the cassette at `path` as `mode` says.
    pub(crate) fn open(
        path: PathBuf,
        mode: RecordMode,
        matcher: Matcher,
        timing: bool,
        key: Option<Secret>,
    ) -> Result<Store> {
        let exists = match fs::metadata(&path) {
            Ok(m) if m.is_file() => true,
            Ok(_) => {
                return Err(failed(
                    &path,
                    "is not a regular file (a directory, FIFO or device): give a .jsonl file",
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(failed(&path, e)),
        };
        let replay_only = mode == RecordMode::None || (mode == RecordMode::Once && exists);
        if mode == RecordMode::None && !exists {
            return Err(failed(
                &path,
                "does not exist, and RecordMode::None only replays: record it first (RecordMode::Once)",
            ));
        }
        let recorded = if exists && mode != RecordMode::All {
            load(&path)?
        } else {
            Vec::new()
        };
        let file = if replay_only {
            None
        } else {
            let mut o = OpenOptions::new();
            o.create(true);
            if mode == RecordMode::All {
                o.write(true).truncate(true);
            } else {
                o.append(true);
            }
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            Some(o.open(&path).map_err(|e| failed(&path, e))?)
        };
        Ok(Store {
            path,
            mode,
            replay_only,
            matcher,
            timing,
            key,
            state: Mutex::new(State { recorded, file }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What of a request is kept: the body as JSON (else as a JSON string), the key redacted.
    pub(crate) fn request(&self, method: &str, url: &str, body: Option<&[u8]>) -> Request {
        let body = body.map(|b| {
            let mut text = String::from_utf8_lossy(b).into_owned();
            self.redact(&mut text);
            serde_json::from_str::<Value>(&text).unwrap_or(Value::String(text))
        });
        // A key can ride in the query too (`?api-key=`, as Azure takes it).
        let mut path = path_of(url).to_owned();
        self.redact(&mut path);
        Request {
            method: method.to_owned(),
            path,
            body,
        }
    }

    fn redact(&self, text: &mut String) {
        if let Some(k) = &self.key {
            redact_text(text, k.expose());
        }
    }

    /// The recorded answer for `req` (each plays once); `Ok(None)` when there is none and the
    /// request should go out and be recorded; an error when this cassette only replays.
    pub(crate) fn replay(&self, req: &Request) -> Result<Option<Tape>> {
        let mut state = self.state();
        if self.mode != RecordMode::All {
            let found = state
                .recorded
                .iter_mut()
                .find(|e| !e.played && self.matcher.matches(&e.exchange.request, req));
            if let Some(e) = found {
                e.played = true;
                return Ok(Some(Tape::new(&e.exchange.response, self.timing)));
            }
        }
        if !self.replay_only {
            return Ok(None);
        }
        Err(Error::Cassette(self.miss(&state.recorded, req)))
    }

    /// Why nothing answers `req`, naming the closest recorded request.
    fn miss(&self, recorded: &[Entry], req: &Request) -> String {
        let mode = match self.mode {
            RecordMode::Once => "RecordMode::Once with a recorded file",
            _ => "RecordMode::None",
        };
        let mut msg = format!(
            "cassette {}: no recorded answer for {} {} ({mode} replays only; record it with RecordMode::NewEpisodes, or again with RecordMode::All)",
            self.path.display(),
            req.method,
            req.path
        );
        let same_route = recorded.iter().filter(|e| {
            e.exchange.request.method == req.method && e.exchange.request.path == req.path
        });
        let closest = same_route.min_by_key(|e| {
            (
                self.matcher.differences(&e.exchange.request, req).len(),
                e.played,
            )
        });
        match closest {
            Some(e) => {
                let diff = self.matcher.differences(&e.exchange.request, req);
                if diff.is_empty() {
                    msg.push_str(&format!(
                        "; line {} matches, but its answer was played already (each plays once)",
                        e.line
                    ));
                } else {
                    msg.push_str(&format!(
                        "; closest: line {}, which differs in {}",
                        e.line,
                        diff.join(", ")
                    ));
                }
            }
            None => msg.push_str(&format!(
                "; it holds {} exchange(s), none for {} {}",
                recorded.len(),
                req.method,
                req.path
            )),
        }
        msg
    }

    /// Appends an exchange (redacted), and keeps it for replay in this run too.
    pub(crate) fn save(&self, mut ex: Exchange) {
        if let Some(k) = &self.key {
            let key = k.expose();
            for v in ex.response.headers.values_mut() {
                redact_text(v, key);
            }
            if let Some(t) = &mut ex.response.text {
                redact_text(t, key);
            }
            for p in ex.response.events.iter_mut().flatten() {
                redact_text(&mut p.text, key);
            }
            if let Some(body) = ex.response.body.take() {
                let mut text = body.to_string();
                redact_text(&mut text, key);
                ex.response.body = serde_json::from_str(&text)
                    .ok()
                    .or(Some(Value::String(text)));
            }
        }
        let mut line = match serde_json::to_string(&ex) {
            Ok(l) => l,
            Err(e) => {
                log::warn!(
                    "cassette {}: an exchange could not be written: {e}",
                    self.path.display()
                );
                return;
            }
        };
        line.push('\n');
        let mut state = self.state();
        let n = state.recorded.len() + 1;
        if let Some(f) = &mut state.file {
            // One write per line, in append mode: a crash leaves whole lines.
            if let Err(e) = f.write_all(line.as_bytes()) {
                log::warn!(
                    "cassette {}: writing an exchange failed: {e}",
                    self.path.display()
                );
            }
        }
        state.recorded.push(Entry {
            exchange: ex,
            line: n,
            played: true,
        });
    }
}

/// The exchanges of a cassette file; a line that is not one is an error naming it.
fn load(path: &Path) -> Result<Vec<Entry>> {
    let file = File::open(path).map_err(|e| failed(path, e))?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| failed(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let exchange = serde_json::from_str::<Exchange>(&line)
            .map_err(|e| failed(path, format!("line {} is not an exchange: {e}", i + 1)))?;
        out.push(Entry {
            exchange,
            line: i + 1,
            played: false,
        });
    }
    Ok(out)
}

/// The path and query of a URL (what is matched: the server's address is not).
pub(crate) fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_without_the_server() {
        assert_eq!(path_of("http://h:8000/v1/chat?x=1"), "/v1/chat?x=1");
        assert_eq!(path_of("https://h"), "/");
        assert_eq!(path_of("/v1/x"), "/v1/x");
    }
}
