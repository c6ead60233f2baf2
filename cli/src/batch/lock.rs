//! One run per output at a time: a run that writes an output (a local `oai batch` or
//! `--remote`) holds the lock file `.OUTPUT.lock` beside it for its whole run. The file is
//! created with `create_new` and holds the run's pid; a second run finds it and stops at once.
//! A lock whose pid no longer runs (a run killed with `kill -9`), or is this run's own (an
//! earlier process that had it: `oai` as pid 1 of a restarted container), is stale and taken
//! over (where the system shows its processes in /proc; elsewhere the message says to remove
//! it). Pids are this machine's: runs on two machines sharing a file system are not told apart.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::output::owner_only;
use crate::fail::Failure;

/// A held lock: the file is removed when it is dropped.
pub struct Lock {
    path: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The lock file of the output `real`.
pub fn path_of(real: &Path) -> PathBuf {
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    real.with_file_name(format!(".{name}.lock"))
}

/// Takes the lock of the output `real` (`shown` names it), or says which run holds it.
pub fn take(real: &Path, shown: &str) -> Result<Lock, Failure> {
    let path = path_of(real);
    // Twice at most: once, and once more after taking over a stale lock.
    for _ in 0..2 {
        match owner_only(OpenOptions::new().write(true).create_new(true)).open(&path) {
            Ok(mut f) => {
                let lock = Lock { path };
                f.write_all(format!("{}\n", std::process::id()).as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| Failure::error(format!("{}: {e}", lock.path.display())))?;
                return Ok(lock);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(&path).unwrap_or_default();
                let pid = text.trim().parse::<u32>().ok();
                match pid {
                    Some(pid) if !alive(pid) => {
                        // Stale: its run is gone. Removed and taken (a run that takes it over
                        // at the same moment loses the `create_new` race and stops).
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    _ => return Err(busy(shown, pid, &path)),
                }
            }
            Err(e) => return Err(Failure::error(format!("{}: {e}", path.display()))),
        }
    }
    let text = fs::read_to_string(&path).unwrap_or_default();
    Err(busy(shown, text.trim().parse().ok(), &path))
}

fn busy(shown: &str, pid: Option<u32>, path: &Path) -> Failure {
    let who = pid.map_or_else(|| "pid unknown".to_owned(), |p| format!("pid {p}"));
    Failure::usage(format!(
        "another oai batch is using {shown} ({who}); wait for it to end, or, if no such run is going on, remove {}",
        path.display()
    ))
}

/// Whether process `pid` runs (taken as yes where it cannot be known). Our own pid is a
/// leftover of an earlier process that had it (a run takes its lock once): in a container
/// `oai` is often pid 1 every time, and a restarted one must not wait for itself.
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc_root = Path::new("/proc/self");
    if !proc_root.exists() {
        return true;
    }
    Path::new("/proc").join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_is_refused_and_a_stale_lock_is_taken_over() {
        let d = crate::testing::dir("lock");
        let out = d.join("out.jsonl");
        let lock = take(&out, "out.jsonl").unwrap();
        assert_eq!(
            fs::read_to_string(path_of(&out)).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(lock);
        assert!(!path_of(&out).exists());
        // Held by a process that runs (this one's parent).
        #[cfg(unix)]
        {
            let parent = std::os::unix::process::parent_id();
            fs::write(path_of(&out), format!("{parent}\n")).unwrap();
            let again = take(&out, "out.jsonl").err().unwrap();
            let msg = again.message().unwrap().to_owned();
            assert!(
                msg.contains(&format!(
                    "another oai batch is using out.jsonl (pid {parent})"
                )),
                "{msg}"
            );
            assert!(msg.contains("remove"), "{msg}");
            assert_eq!(again.exit_code(), 2);
            fs::remove_file(path_of(&out)).unwrap();
            // A leftover with this very pid (an earlier process that had it) is stale.
            fs::write(path_of(&out), format!("{}\n", std::process::id())).unwrap();
            drop(take(&out, "out.jsonl").unwrap());
        }
        if Path::new("/proc/self").exists() {
            // A pid that cannot run (above Linux's pid_max limit).
            fs::write(path_of(&out), "4294967295\n").unwrap();
            let taken = take(&out, "out.jsonl").unwrap();
            assert_eq!(
                fs::read_to_string(path_of(&out)).unwrap().trim(),
                std::process::id().to_string()
            );
            drop(taken);
        }
        let _ = fs::remove_dir_all(&d);
    }
}
