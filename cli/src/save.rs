//! Writing a file whole or not at all: the bytes go to a hidden temporary file beside it
//! (same file system), which is synced and then renamed over the name. A failure, Ctrl-C or
//! `kill -9` leaves at most the temporary `.NAME.oai-part`, never a partial file under the
//! name itself. An existing file keeps its mode; a new one is readable by its owner only.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::batch::owner_only;

/// The temporary file beside `path`.
pub fn part_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".to_owned());
    path.with_file_name(format!(".{name}.oai-part"))
}

/// Writes `path` with what `fill` writes, atomically (see the module's text). `fill`'s own
/// error is returned as it is, after the temporary file is removed.
pub fn atomically<E>(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
    io_error: impl Fn(io::Error) -> E,
) -> Result<(), E> {
    if path.is_dir() {
        return Err(io_error(io::Error::other("is a directory")));
    }
    // Through a symlink: the file it points to is replaced, not the link.
    let real = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mode = fs::metadata(&real).ok().map(|m| m.permissions());
    let tmp = part_path(&real);
    // A leftover from a killed run: nothing else writes this name.
    let _ = fs::remove_file(&tmp);
    let mut f = owner_only(OpenOptions::new().write(true).create_new(true))
        .open(&tmp)
        .map_err(&io_error)?;
    let result = fill(&mut f).and_then(|()| {
        (|| -> io::Result<()> {
            f.flush()?;
            if let Some(p) = mode {
                #[cfg(unix)]
                f.set_permissions(fs::Permissions::from_mode(p.mode() & 0o7777))?;
                #[cfg(not(unix))]
                f.set_permissions(p)?;
            }
            f.sync_all()?;
            fs::rename(&tmp, &real)
        })()
        .map_err(&io_error)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_part() {
        let d = crate::testing::dir("save");
        let p = d.join("out.txt");
        fs::write(&p, "old").unwrap();
        let r: Result<(), String> = atomically(
            &p,
            |f| {
                f.write_all(b"half").unwrap();
                Err("cut".to_owned())
            },
            |e| e.to_string(),
        );
        assert_eq!(r, Err("cut".to_owned()));
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert!(!part_path(&p).exists());
        let r: Result<(), String> = atomically(
            &p,
            |f| f.write_all(b"new").map_err(|e| e.to_string()),
            |e| e.to_string(),
        );
        assert_eq!(r, Ok(()));
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        let _ = fs::remove_dir_all(&d);
    }
}
