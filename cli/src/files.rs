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
            let file = client.files().create(upload(u)?, purpose(&u.purpose))?;
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

fn upload(u: &FilesUploadArgs) -> Result<Upload, Failure> {
    let (path, default_name) = source(&u.path, "stdin")?;
    let name = u.filename.clone().unwrap_or(default_name);
    Ok(Upload::path(path).filename(name))
}

/// The path to send (`-`: `/dev/stdin`, read once) and the file name to send with it.
pub fn source(path: &Path, stdin_name: &str) -> Result<(std::path::PathBuf, String), Failure> {
    if path == Path::new("-") {
        return Ok(("/dev/stdin".into(), stdin_name.to_owned()));
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
    Ok((path.to_owned(), name))
}

fn list(client: &Client, l: &FilesListArgs, w: &mut impl Write) -> Result<(), Failure> {
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut params = FileListParams::new();
        if let Some(p) = &l.purpose {
            params = params.purpose(purpose(p));
        }
        if let Some(n) = l.limit {
            params = params.limit(n);
        }
        if let Some(a) = &after {
            params = params.after(a.as_str());
        }
        let page = client.files().list(&params)?;
        for f in &page.data {
            if l.json {
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
        w.flush().map_err(out::write_failed)?;
        if !l.all || page.has_more != Some(true) {
            return Ok(());
        }
        // The next page starts after the last file of this one; a server that names no
        // last file, or the same one again, would loop for ever.
        let next = page
            .last_id
            .clone()
            .or_else(|| page.data.last().map(|f| f.id.clone()));
        match next {
            Some(n) if after.as_deref() != Some(n.as_str()) => after = Some(n),
            _ => {
                return Err(Failure::error(
                    "the server says there are more files but names no new page to ask for",
                ));
            }
        }
    }
    Err(Failure::error(format!(
        "stopped after {MAX_PAGES} pages of files"
    )))
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
