//! `oai files` against the built-in mock's /v1/files: upload (a file and stdin), list (text,
//! JSON, a purpose, every page), get, content (stdout and -o, a failure leaving no file) and
//! delete.

mod support;

use serde_json::Value;
use support::*;

#[test]
fn upload_list_get_content_and_delete() {
    let d = dir("files-cmds");
    let srv = MockServer::start().unwrap();
    let data = "{\"custom_id\":\"a\"}\n{\"custom_id\":\"b\"}\n";
    let path = d.join("requests.jsonl");
    std::fs::write(&path, data).unwrap();

    let o = run(&srv, &["files", "upload", path.to_str().unwrap()]);
    assert_exit(&o, 0);
    let file: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(stdout(&o).lines().count(), 1, "one JSON line");
    let id = file["id"].as_str().unwrap().to_owned();
    assert_eq!(file["purpose"], "batch", "the default purpose");
    assert_eq!(file["filename"], "requests.jsonl");
    assert_eq!(file["bytes"], data.len());

    // stdin, another purpose and name.
    let o = run_in(
        &srv,
        &[
            "files",
            "upload",
            "-",
            "--purpose",
            "user_data",
            "--filename",
            "notes.txt",
        ],
        "hello",
    );
    assert_exit(&o, 0);
    let second: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(second["purpose"], "user_data");
    assert_eq!(second["filename"], "notes.txt");
    assert_eq!(second["bytes"], 5);

    let o = run(&srv, &["files", "list"]);
    assert_exit(&o, 0);
    let rows: Vec<Vec<String>> = stdout(&o)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect();
    assert_eq!(rows.len(), 2, "{}", stdout(&o));
    assert!(
        rows.iter().any(|r| r
            == &[
                id.clone(),
                "batch".into(),
                data.len().to_string(),
                "requests.jsonl".into()
            ]),
        "{rows:?}"
    );
    let o = run(&srv, &["files", "list", "--purpose", "batch", "--json"]);
    assert_exit(&o, 0);
    let listed: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(listed.len(), 1, "{}", stdout(&o));
    assert_eq!(listed[0]["id"], id.as_str());
    // Pages of one, followed to the end.
    let o = run(&srv, &["files", "list", "--limit", "1", "--all"]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    let o = run(&srv, &["files", "list", "--limit", "1"]);
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));

    let o = run(&srv, &["files", "get", &id]);
    assert_exit(&o, 0);
    let got: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(got["id"], id.as_str());

    let o = run(&srv, &["files", "content", &id]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), data, "the bytes as uploaded, nothing added");
    let saved = d.join("copy.jsonl");
    let o = run(
        &srv,
        &["files", "content", &id, "-o", saved.to_str().unwrap()],
    );
    assert_exit(&o, 0);
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), data);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a new file is its owner's only");
    }

    let o = run(&srv, &["files", "delete", &id]);
    assert_exit(&o, 0);
    let gone: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(gone["deleted"], true);
    assert_eq!(gone["id"], id.as_str());

    // A file that is not there: one line on stderr, exit 1, and no file written.
    let o = run(&srv, &["files", "get", &id]);
    assert_exit(&o, 1);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("404"), "{}", stderr(&o));
    let missing = d.join("missing.jsonl");
    let o = run(
        &srv,
        &["files", "content", &id, "-o", missing.to_str().unwrap()],
    );
    assert_exit(&o, 1);
    assert!(!missing.exists());
    assert_no_partial_file(&d);
}

#[test]
fn a_download_cut_short_leaves_the_old_file_and_no_partial_one() {
    let d = dir("files-cut");
    let srv = MockServer::start().unwrap();
    let path = d.join("big.bin");
    std::fs::write(&path, vec![b'x'; 100_000]).unwrap();
    let o = run(
        &srv,
        &[
            "files",
            "upload",
            path.to_str().unwrap(),
            "--purpose",
            "user_data",
        ],
    );
    assert_exit(&o, 0);
    let id = serde_json::from_str::<Value>(stdout(&o).trim()).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let saved = d.join("saved.bin");
    std::fs::write(&saved, "old").unwrap();
    // The content's answer promises 100,000 bytes and is cut after a few.
    srv.enqueue(Reply::text(200, "application/octet-stream", vec![b'x'; 100_000]).cut());
    let o = run(
        &srv,
        &[
            "--max-retries",
            "0",
            "files",
            "content",
            &id,
            "-o",
            saved.to_str().unwrap(),
        ],
    );
    assert_exit(&o, 1);
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "old");
    assert_no_partial_file(&d);
}

/// `oai files upload -` with a socket on stdin (not a pipe, so it cannot be opened again):
/// stdin is spooled to `TMPDIR` under no name, so the bytes arrive whole and a `kill -9`
/// while stdin is read leaves nothing behind.
#[test]
#[cfg(target_os = "linux")]
fn stdin_that_is_not_a_pipe_is_spooled_under_no_name() {
    use std::io::Write;
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;
    use std::process::Stdio;

    let d = dir("files-spool");
    let tmp = d.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let srv = MockServer::start().unwrap();
    let spawn = |stdin: UnixStream| {
        oai()
            .env("OPENAI_BASE_URL", srv.url())
            .env("TMPDIR", &tmp)
            .args(["files", "upload", "-", "--filename", "s.jsonl"])
            .stdin(Stdio::from(OwnedFd::from(stdin)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let left = || std::fs::read_dir(&tmp).unwrap().count();

    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let child = spawn(theirs);
    ours.write_all(b"{\"custom_id\":\"s\"}\n").unwrap();
    drop(ours);
    let o = child.wait_with_output().unwrap();
    assert_exit(&o, 0);
    let file: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(file["filename"], "s.jsonl");
    assert_eq!(file["bytes"], 18);
    let o = run(&srv, &["files", "content", file["id"].as_str().unwrap()]);
    assert_eq!(stdout(&o), "{\"custom_id\":\"s\"}\n");
    assert_eq!(left(), 0, "the spool stays in TMPDIR");

    // Killed while it reads stdin: the spool is open, yet has no name to leave behind.
    let (mut ours, theirs) = UnixStream::pair().unwrap();
    let mut child = spawn(theirs);
    ours.write_all(b"{\"custom_id\":").unwrap();
    let fds = format!("/proc/{}/fd", child.id());
    wait_for("the spool to be open", || {
        std::fs::read_dir(&fds).is_ok_and(|entries| {
            entries.flatten().any(|e| {
                // Open and already unlinked: the spool's name is gone once it reads so.
                std::fs::read_link(e.path()).is_ok_and(|t| {
                    let t = t.to_string_lossy();
                    t.contains(".oai-stdin-") && t.ends_with(" (deleted)")
                })
            })
        })
    });
    assert_eq!(left(), 0, "the spool has a name while stdin is read");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(left(), 0);
}

/// `oai files list --all` against a server whose pages go round (A, B, A...): it lists each
/// page once, then stops with an error before the page it listed already, instead of printing
/// the same files 100,000 times.
#[test]
fn pages_that_go_round_in_a_circle_stop_the_listing() {
    let srv = MockServer::start().unwrap();
    let page = |id: &str| {
        Reply::json(
            200,
            format!(
                r#"{{"object":"list","data":[{{"id":"{id}","object":"file","bytes":1,"filename":"{id}.txt","purpose":"batch"}}],"has_more":true,"last_id":"{id}"}}"#
            ),
        )
    };
    srv.enqueue_all([
        page("file-a"),
        page("file-b"),
        page("file-a"),
        page("file-b"),
    ]);
    let o = run(&srv, &["files", "list", "--all"]);
    assert_exit(&o, 1);
    let listed = stdout(&o);
    let ids: Vec<&str> = listed
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(ids, ["file-a", "file-b"], "{listed}");
    assert!(
        stderr(&o).contains("go round in a circle"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let afters: Vec<Option<String>> = srv.requests().iter().map(|r| r.query("after")).collect();
    assert_eq!(afters, [None, Some("file-a".into()), Some("file-b".into())]);
}

/// No partial download (`*oai-part*`) is left in `d`.
#[track_caller]
fn assert_no_partial_file(d: &std::path::Path) {
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("oai-part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
