//! The input, opened exactly once and read once as a stream: stdin, pipes (`<(cat ...)`) and
//! FIFOs work with every option, since nothing ever opens or reads the input a second time
//! (the progress bar measures a regular file by its size instead of counting its lines).

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::Path;

use super::output::Output;
use crate::fail::Failure;

/// The opened input.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    /// Its size in bytes when it is a regular file (for the progress bar).
    pub size: Option<u64>,
}

/// Opens `path` (`-`: stdin), refusing the output file itself as input (appending to the file
/// being read would feed the run its own results).
pub fn open(path: &Path, output: &Output) -> Result<Input, Failure> {
    let fail = |e: io::Error| Failure::error(format!("{}: {e}", path.display()));
    let (reader, meta): (Box<dyn Read + Send>, Option<Metadata>) = if path == Path::new("-") {
        (Box::new(io::stdin()), stdin_metadata())
    } else {
        // A FIFO blocks here until a writer opens it; Ctrl-C still ends the wait, since the
        // graceful stop starts only after the input is open.
        let file = File::open(path).map_err(fail)?;
        let meta = file.metadata().map_err(fail)?;
        if meta.is_dir() {
            return Err(Failure::usage(format!(
                "{} is a directory: give a JSONL file, or `-` for stdin",
                path.display()
            )));
        }
        (Box::new(file), Some(meta))
    };
    if let (Some(m), Some(out)) = (&meta, output.file()) {
        if let Ok(o) = std::fs::metadata(out) {
            if same_file(m, &o) {
                return Err(Failure::usage(format!(
                    "the input and the output are the same file ({}): choose another -o",
                    output.shown()
                )));
            }
        }
    }
    let size = meta.filter(Metadata::is_file).map(|m| m.len());
    Ok(Input { reader, size })
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &Metadata, _: &Metadata) -> bool {
    false
}

/// What stdin is (a file redirected in, a pipe, a terminal), without reading from it.
#[cfg(unix)]
fn stdin_metadata() -> Option<Metadata> {
    use std::os::fd::AsFd;
    let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
    File::from(fd).metadata().ok()
}

#[cfg(not(unix))]
fn stdin_metadata() -> Option<Metadata> {
    None
}
