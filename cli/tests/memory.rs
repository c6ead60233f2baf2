//! `oai batch` keeps its memory flat for a 1,000,000-line input: both the input and the output
//! (read back on resume) are streamed, never loaded whole. Bounded so it runs in a normal test
//! run: every line's result is already in the output, so the run reads 2,000,000 lines and
//! sends nothing; the peak resident memory of the process is sampled from /proc.
#![cfg(target_os = "linux")]

mod support;

use std::io::{BufWriter, Write};
use std::process::Stdio;
use std::time::Duration;

use support::*;

const LINES: u64 = 1_000_000;

/// The peak resident set (VmHWM) of a running process, in bytes.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn a_million_line_resume_streams_both_files() {
    let d = dir("batch-memory");
    let input = d.join("in.jsonl");
    let output = d.join("out.jsonl");
    // ~150 bytes per input line, ~90 per output line: ~240 MB together.
    let pad = "x".repeat(60);
    let mut w = BufWriter::new(std::fs::File::create(&input).unwrap());
    for i in 0..LINES {
        writeln!(
            w,
            r#"{{"custom_id":"request-{i}","method":"POST","url":"/v1/embeddings","body":{{"model":"mock-model","input":"{pad}"}}}}"#
        )
        .unwrap();
    }
    w.into_inner().unwrap().sync_all().unwrap();
    let mut w = BufWriter::new(std::fs::File::create(&output).unwrap());
    for i in 0..LINES {
        writeln!(
            w,
            r#"{{"id":"batch_req_{}","custom_id":"request-{i}","response":{{"status_code":200,"request_id":null,"body":{{}}}},"error":null}}"#,
            i + 1
        )
        .unwrap();
    }
    w.into_inner().unwrap().sync_all().unwrap();
    let files =
        std::fs::metadata(&input).unwrap().len() + std::fs::metadata(&output).unwrap().len();
    assert!(files > 200_000_000, "{files}");

    let srv = MockServer::start().unwrap();
    let mut child = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .arg("batch")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut peak = 0;
    let status = loop {
        if let Some(p) = peak_rss(pid) {
            peak = peak.max(p);
        }
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(
        err.contains("resuming: 1000000 result(s) already in"),
        "{err}"
    );
    assert!(err.contains("0 ok, 0 failed, 0 skipped in"), "{err}");
    assert_eq!(
        srv.request_count(),
        1,
        "only the reachability check: nothing was sent"
    );
    // The per-id table takes ~50 bytes per custom_id (64 MB for a million ids in the worst
    // case of the hash table's growth); the files' 240 MB are never held.
    eprintln!("peak RSS {} MB for {} MB of files", peak >> 20, files >> 20);
    assert!(peak > 0, "no sample of the process");
    assert!(peak < 110 << 20, "peak RSS {} MB", peak >> 20);
    let _ = std::fs::remove_dir_all(&d);
}
