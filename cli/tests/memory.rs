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

/// Runs `oai batch` to its end, sampling its peak resident set; returns the peak and stderr.
fn run_sampled(srv: &MockServer, args: &[&std::ffi::OsStr]) -> (u64, i32, String) {
    let mut child = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args(args)
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
    assert!(peak > 0, "no sample of the process");
    (peak, status.code().unwrap_or(-1), err)
}

/// B8 (issue 20): a line costs a small multiple of its bytes. Its body is kept as JSON text,
/// not a tree of values (which took 18 times a line of numbers: 1.09 GiB for one 60 MiB
/// line, 2.0 GiB for two at -c 2).
#[test]
fn a_huge_line_costs_a_small_multiple_of_its_bytes() {
    let d = dir("batch-memory-line");
    let input = d.join("in.jsonl");
    // Two lines of 16 MiB each: an embeddings input of 8 M token ids.
    let zeros = vec!["0"; 8 << 20].join(",");
    let mut w = BufWriter::new(std::fs::File::create(&input).unwrap());
    for id in ["big-1", "big-2"] {
        writeln!(
            w,
            r#"{{"custom_id":"{id}","method":"POST","url":"/v1/embeddings","body":{{"model":"mock-model","input":[{zeros}]}}}}"#
        )
        .unwrap();
    }
    w.into_inner().unwrap().sync_all().unwrap();
    let line = (std::fs::metadata(&input).unwrap().len() / 2) as u64;
    let srv = MockServer::start().unwrap();
    let output = d.join("out.jsonl");
    let (peak, code, err) = run_sampled(
        &srv,
        &[
            "batch".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            output.as_os_str(),
            "-c".as_ref(),
            "2".as_ref(),
        ],
    );
    // The mock refuses 8 M tokens (over its context length): the line was sent and answered.
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("0 ok, 2 failed, 0 skipped"), "{err}");
    let text = std::fs::read_to_string(&output).unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("maximum context length"))
            .count(),
        2,
        "{text}"
    );
    eprintln!(
        "peak RSS {} MB for two {} MB lines in flight together",
        peak >> 20,
        line >> 20
    );
    // Measured 91 MB, the process's own ~10 MB included: under 3x a line for each of the two
    // in flight (a tree of values took 18x each).
    assert!(peak < 4 * 2 * line, "peak RSS {} MB", peak >> 20);
    let _ = std::fs::remove_dir_all(&d);
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
    let (peak, code, err) = run_sampled(
        &srv,
        &[
            "batch".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            output.as_os_str(),
        ],
    );
    assert_eq!(code, 0, "{err}");
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
    assert!(peak < 110 << 20, "peak RSS {} MB", peak >> 20);
    let _ = std::fs::remove_dir_all(&d);
}
