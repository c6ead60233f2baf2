//! Where results go: a regular file, which a rerun reads back to resume, or stdout (`-o -`),
//! which nothing reads back. Anything else (a device, a FIFO, a directory, `/dev/stdout` when
//! it is a pipe) is refused before anything is sent: reading it back would block, spin or
//! read garbage, and a resume could not work.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Stdout, Write};
#[cfg(unix)]
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::fail::Failure;

/// The output, checked.
pub enum Output {
    /// A regular file (or none yet): `shown` as the user wrote it, `real` with every symlink
    /// resolved, which is what is read back and rewritten (a rewrite replaces the file a
    /// symlink points to, never the symlink).
    File { shown: PathBuf, real: PathBuf },
    /// Standard output: results are written there and never read back (no resume).
    Stdout,
}

impl Output {
    /// Checks `path` (`-` is stdout); `retry_failed` needs a file to read back.
    pub fn resolve(path: &Path, retry_failed: bool) -> Result<Output, Failure> {
        if path == Path::new("-") {
            if retry_failed {
                return Err(Failure::usage(
                    "--retry-failed reads the earlier results back, which `-o -` (stdout) cannot: write to a file",
                ));
            }
            return Ok(Output::Stdout);
        }
        // The kernel's view first: it follows every link, /proc's `/dev/stdout` included.
        let real = match fs::metadata(path) {
            Ok(m) if m.is_file() => fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()),
            Ok(m) => {
                return Err(Failure::usage(format!(
                    "-o {} is {}, not a regular file: results must go to a file that a rerun can read back to resume; use `-o -` to write them to stdout without resuming",
                    path.display(),
                    kind(&m)
                )));
            }
            // Not there yet: a dangling symlink is followed to where it points.
            Err(e) if e.kind() == io::ErrorKind::NotFound => dangling_target(path),
            Err(e) => return Err(Failure::error(format!("{}: {e}", path.display()))),
        };
        Ok(Output::File {
            shown: path.to_owned(),
            real,
        })
    }

    /// The name to show in messages.
    pub fn shown(&self) -> String {
        match self {
            Output::File { shown, .. } => shown.display().to_string(),
            Output::Stdout => "stdout".to_owned(),
        }
    }

    /// The file to read back, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Output::File { real, .. } => Some(real),
            Output::Stdout => None,
        }
    }

    /// Opens the output for appending (a new file is readable by its owner only, like the
    /// results it holds may need to be; an existing file keeps its mode).
    pub fn open(&self) -> Result<Writer, Failure> {
        match self {
            Output::Stdout => Ok(Writer::Stdout(io::stdout())),
            Output::File { shown, real } => {
                owner_only(OpenOptions::new().create(true).append(true))
                    .open(real)
                    .map(Writer::File)
                    .map_err(|e| Failure::error(format!("{}: {e}", shown.display())))
            }
        }
    }
}

/// Files this creates are readable by their owner only (where the platform has modes).
pub fn owner_only(o: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    o.mode(0o600);
    o
}

/// Where a symlink that points to nothing (yet) would lead; the path itself otherwise.
fn dangling_target(path: &Path) -> PathBuf {
    let mut p = path.to_owned();
    // A chain of symlinks is followed a bounded number of times (a loop ends here too).
    for _ in 0..40 {
        match fs::read_link(&p) {
            Ok(to) => p = p.parent().map_or(to.clone(), |dir| dir.join(&to)),
            Err(_) => break,
        }
    }
    p
}

/// What a non-regular file is, for the message.
fn kind(m: &fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a pipe (FIFO)";
        } else if t.is_char_device() {
            return "a character device";
        } else if t.is_block_device() {
            return "a block device";
        } else if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

/// The opened output.
pub enum Writer {
    File(File),
    Stdout(Stdout),
}

impl Writer {
    /// Everything written reaches the disk (a file) or the reader (stdout).
    pub fn sync(&mut self) -> io::Result<()> {
        match self {
            Writer::File(f) => f.sync_data(),
            Writer::Stdout(s) => s.flush(),
        }
    }
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Writer::File(f) => f.write(buf),
            Writer::Stdout(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Writer::File(f) => f.flush(),
            Writer::Stdout(s) => s.flush(),
        }
    }
}

/// Replaces `real` by what `fill` writes, atomically: a temporary file beside it (same file
/// system) with the same mode (and owner, where allowed), synced, then renamed over it. A
/// failure removes the temporary file and leaves `real` as it was.
pub fn rewrite(real: &Path, fill: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    let meta = fs::metadata(real)?;
    let tmp = temp_path(real);
    // A leftover from a run killed mid-rewrite is stale: nothing else writes this name.
    let _ = fs::remove_file(&tmp);
    let result = (|| -> io::Result<()> {
        // Created for the owner only, then given the original's mode: the results are never
        // readable by more people than the original allowed, not even for a moment.
        let mut f = owner_only(OpenOptions::new().write(true).create_new(true)).open(&tmp)?;
        fill(&mut f)?;
        #[cfg(unix)]
        {
            // Best effort: only root may give a file away.
            let _ = std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()));
            f.set_permissions(fs::Permissions::from_mode(meta.mode() & 0o7777))?;
        }
        #[cfg(not(unix))]
        f.set_permissions(meta.permissions())?;
        f.sync_all()?;
        fs::rename(&tmp, real)?;
        if let Some(dir) = real.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable (best effort: not every platform allows it).
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The temporary file beside `real` for a rewrite.
fn temp_path(real: &Path) -> PathBuf {
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    real.with_file_name(format!(".{name}.oai-rewrite"))
}
