//! `oai files`: the server's stored files (/files). `upload` streams the file from disk (stdin
//! is read once), `content` streams the body to stdout or into a file written beside its name
//! and moved into place, so neither ever holds a file in memory and a cut download never
//! leaves a file that looks whole.

use std::io::{self, Write};
use std::path::Path;

use oai_compat::types::{FileListParams, FilePurpose};
use oai_compat::{Client, Upload};

use crate::args::{
    FilesAction, FilesArgs, FilesContentArgs, FilesListArgs, FilesUploadArgs, Global,
};
use crate::fail::Failure;
use crate::{connect, out, save};

/// The most pages `--all` follows: a server that always says "more" cannot keep it going.
const MAX_PAGES: u32 = 100_000;

pub fn run(g: &Global, a: &FilesArgs) -> Result<(), Failure> {
    let client = connect::client(g, 1)?;
    let mut stdout = io::stdout().lock();
    match &a.action {
        FilesAction::Upload(u) => {
            let (source, _spool) = upload(u)?;
            let file = client.files().create(source, purpose(&u.purpose))?;
            out::json_line(&mut stdout, &file)
        }
        FilesAction::List(l) => list(&client, l, &mut stdout),
        FilesAction::Get(f) => {
            let file = client.files().retrieve(checked_id(&f.id)?)?;
            out::json_line(&mut stdout, &file)
        }
        FilesAction::Content(c) => content(&client, c, stdout),
        FilesAction::Delete(f) => {
            let gone = client.files().delete(checked_id(&f.id)?)?;
            out::json_line(&mut stdout, &gone)
        }
    }
}

/// A purpose as the API spells it; any other word is sent as given.
pub fn purpose(p: &str) -> FilePurpose {
    match p.trim() {
        "fine_tune" => FilePurpose::FineTune,
        other => FilePurpose::from(other),
    }
}

/// An id as given, refused when empty (it would name the collection, not a file).
fn checked_id(id: &str) -> Result<&str, Failure> {
    let id = id.trim();
    if id.is_empty() {
        return Err(Failure::usage("the file id is empty"));
    }
    Ok(id)
}

fn upload(u: &FilesUploadArgs) -> Result<(Upload, Option<Spool>), Failure> {
    let (path, default_name, spool) = source(&u.path, "stdin")?;
    let name = u.filename.clone().unwrap_or(default_name);
    Ok((Upload::path(path).filename(name), spool))
}

/// The path to send, the file name to send with it, and the spool to keep until it is sent.
/// `-` is stdin, read once: a pipe is sent from `/dev/stdin` as it comes; anything else (a
/// socket, which cannot be opened again, or a file redirected in, read from where it stands)
/// is first copied to a temporary file in the temporary directory (`TMPDIR`).
pub fn source(
    path: &Path,
    stdin_name: &str,
) -> Result<(std::path::PathBuf, String, Option<Spool>), Failure> {
    if path == Path::new("-") {
        if stdin_is_pipe() {
            return Ok(("/dev/stdin".into(), stdin_name.to_owned(), None));
        }
        let spool = Spool::of_stdin()?;
        return Ok((spool.path.clone(), stdin_name.to_owned(), Some(spool)));
    }
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {
            return Err(Failure::usage(format!(
                "{} is a directory: give a file",
                path.display()
            )));
        }
        Ok(_) => {}
        Err(e) => return Err(Failure::error(format!("{}: {e}", path.display()))),
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| stdin_name.to_owned());
    Ok((path.to_owned(), name, None))
}

/// Whether stdin is a pipe (which `/dev/stdin` opens again on Linux).
#[cfg(target_os = "linux")]
fn stdin_is_pipe() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::FileTypeExt;
    io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .ok()
        .and_then(|fd| std::fs::File::from(fd).metadata().ok())
        .is_some_and(|m| m.file_type().is_fifo())
}

#[cfg(not(target_os = "linux"))]
fn stdin_is_pipe() -> bool {
    false
}

/// Stdin copied to a temporary file. On Linux the file's name is removed right after it is
/// made (before stdin is read) and the upload reopens it through `/proc/self/fd`, so Ctrl-C
/// or `kill -9` while stdin is copied or sent leaves nothing in `TMPDIR`; elsewhere (or
/// without `/proc`) the name is removed when the spool is dropped.
pub struct Spool {
    path: std::path::PathBuf,
    /// The open file, which keeps an unlinked spool alive.
    file: std::fs::File,
    /// Whether `path` is still a name in `TMPDIR` to remove on drop.
    named: bool,
}

impl Spool {
    fn of_stdin() -> Result<Spool, Failure> {
        use std::fs::OpenOptions;
        let dir = std::env::temp_dir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = dir.join(format!(".oai-stdin-{}-{nanos}", std::process::id()));
        // `create_new`: never a file (or symlink) already there.
        let file = crate::batch::owner_only(OpenOptions::new().write(true).create_new(true))
            .open(&name)
            .map_err(|e| Failure::error(format!("{}: {e}", name.display())))?;
        let spool = match reopenable(&file) {
            Some(path) if std::fs::remove_file(&name).is_ok() => Spool {
                path,
                file,
                named: false,
            },
            _ => Spool {
                path: name,
                file,
                named: true,
            },
        };
        let mut w = io::BufWriter::with_capacity(256 * 1024, &spool.file);
        let copied = io::copy(&mut io::stdin().lock(), &mut w).and_then(|_| w.flush());
        drop(w);
        copied.map_err(|e| {
            Failure::error(format!(
                "copying stdin to a temporary file in {}: {e} (set TMPDIR to a directory with room)",
                dir.display()
            ))
        })?;
        Ok(spool)
    }
}

/// The `/proc/self/fd` path that opens `file` again from its first byte, if this system has
/// one (checked by opening it, as the upload will).
#[cfg(target_os = "linux")]
fn reopenable(file: &std::fs::File) -> Option<std::path::PathBuf> {
    use std::os::fd::AsRawFd;
    let path = std::path::PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    std::fs::File::open(&path).ok().map(|_| path)
}

#[cfg(not(target_os = "linux"))]
fn reopenable(_: &std::fs::File) -> Option<std::path::PathBuf> {
    None
}

impl Drop for Spool {
    fn drop(&mut self) {
        if self.named {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn list(client: &Client, l: &FilesListArgs, w: &mut impl Write) -> Result<(), Failure> {
    let mut params = FileListParams::new();
    if let Some(p) = &l.purpose {
        params = params.purpose(purpose(p));
    }
    if let Some(n) = l.limit {
        params = params.limit(n);
    }
    if !l.all {
        return print_files(w, &client.files().list(&params)?, l.json);
    }
    // `pages` stops a server whose pages never end (the same page again, or a circle) with an
    // error before the repeated page; MAX_PAGES bounds one that makes up new pages for ever.
    let mut pages = client.files().pages(params);
    for _ in 0..MAX_PAGES {
        let Some(page) = pages.try_next()? else {
            return Ok(());
        };
        print_files(w, &page, l.json)?;
    }
    Err(Failure::error(format!(
        "stopped after {MAX_PAGES} pages of files"
    )))
}

/// A page of files: one JSON line each, or `id  purpose  bytes  filename` separated by tabs.
fn print_files(
    w: &mut impl Write,
    page: &oai_compat::types::FileList,
    json: bool,
) -> Result<(), Failure> {
    for f in &page.data {
        if json {
            out::json_line(w, f)?;
        } else {
            writeln!(
                w,
                "{}\t{}\t{}\t{}",
                crate::fail::one_line(&f.id),
                f.purpose
                    .as_deref()
                    .map(crate::fail::one_line)
                    .unwrap_or_default(),
                f.bytes.map(|b| b.to_string()).unwrap_or_default(),
                f.filename
                    .as_deref()
                    .map(crate::fail::one_line)
                    .unwrap_or_default(),
            )
            .map_err(out::write_failed)?;
        }
    }
    w.flush().map_err(out::write_failed)
}

fn content(
    client: &Client,
    c: &FilesContentArgs,
    mut stdout: io::StdoutLock<'_>,
) -> Result<(), Failure> {
    let id = checked_id(&c.id)?;
    match c.output.as_deref() {
        None => {
            let mut body = client.files().content(id)?;
            body.write_to(&mut stdout)?;
            stdout.flush().map_err(out::write_failed)
        }
        Some(p) if p == Path::new("-") => {
            let mut body = client.files().content(id)?;
            body.write_to(&mut stdout)?;
            stdout.flush().map_err(out::write_failed)
        }
        Some(path) => {
            // Asked before the temporary file exists: a 404 leaves nothing behind.
            let mut body = client.files().content(id)?;
            save::atomically(
                path,
                |f| {
                    let mut w = io::BufWriter::with_capacity(256 * 1024, f);
                    body.write_to(&mut w)?;
                    w.flush()
                        .map_err(|e| Failure::error(format!("{}: {e}", path.display())))
                },
                |e| Failure::error(format!("{}: {e}", path.display())),
            )
        }
    }
}
