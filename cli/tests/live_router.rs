//! `oai batch` behind vllm-router and over two backends, with a worker killed mid-run
//! (`bash scripts/servers.sh start router`). Ignored unless run with `--ignored`. A server
//! that does not answer makes the test print "skipped" and return, except in CI (`CI=true`),
//! where the servers are started first and must answer.
//!
//! The drill: 2,000 one-token lines; once a fifth of them are written, the `chat2` vLLM
//! server (the router's second worker, which nothing else uses) is killed with SIGKILL,
//! its whole process group at once, so no engine process outlives it. The run must then
//! end with every line written once, successfully, in that one run: no rerun. `chat2` is
//! started again afterwards (`servers.sh start chat2`), whatever the outcome.

#[path = "../../tests/support/live.rs"]
mod live;
mod support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{assert_exit, dir, json_lines, live_up, oai, stderr};

const LINES: usize = 2000;
/// Written lines before the kill: the run is well under way, most of it still to come.
const KILL_AFTER: usize = LINES / 5;

fn up(url: &str) -> bool {
    live_up(url, "router")
}

fn hostport(url: &str) -> &str {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
}

/// `scripts/servers.sh` of this checkout.
fn servers_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/servers.sh")
}

/// Where `servers.sh` keeps its pid files and logs.
fn run_dir() -> PathBuf {
    let root = std::env::var_os("OAI_COMPAT_SERVERS_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache"));
            cache.join("oai-compat-servers")
        });
    root.join("run")
}

/// How many requests the router has logged as failed on chat2 so far (its log in
/// `servers.sh`'s run directory): each was sent again to another worker.
fn router_failures_on_chat2() -> usize {
    let base = live::vllm_chat2_url();
    let needle = format!(
        "Failed to send typed request worker_url={}",
        base.trim_end_matches("/v1")
    );
    std::fs::read_to_string(run_dir().join("router.log"))
        .unwrap_or_default()
        .matches(&needle)
        .count()
}

/// The live members of process group `pgid` (from /proc).
fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp ...": comm may hold spaces, so split after its ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2) == Some(&pgid.to_string().as_str()) && !matches!(fields[0], "Z" | "X") {
            out.push(pid);
        }
    }
    out
}

/// Starts `chat2` again when dropped (the drill's kill, or a failed test, leaves it dead).
struct Restart;

impl Drop for Restart {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg(servers_sh())
            .args(["start", "chat2"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        if !out.status.success() {
            let msg = format!("restarting chat2 failed: {}", stderr(&out));
            // A second panic while the test's own unwinds would abort the whole run.
            if std::thread::panicking() {
                eprintln!("{msg}");
            } else {
                panic!("{msg}");
            }
        }
    }
}

/// Kills the `chat2` vLLM server with SIGKILL: its whole process group (API server and
/// engine), after checking that the pid file's process is that server. Returns the group.
fn kill_chat2() -> u32 {
    let pid: u32 = std::fs::read_to_string(run_dir().join("vllm-chat2.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let port = hostport(&live::vllm_chat2_url())
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        cmdline.contains("vllm") && cmdline.contains(&format!(" --port {port} ")),
        "the pid file's process is not chat2: {cmdline}"
    );
    // servers.sh starts every server in a session of its own: pgid == pid.
    let status = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(status.success());
    pid
}

fn lines() -> Vec<String> {
    (0..LINES)
        .map(|i| {
            json!({"custom_id": format!("line-{i}"), "method": "POST", "url": "/v1/chat/completions",
                   "body": {"model": live::CHAT_MODEL, "max_tokens": 1 + i % 2,
                            "messages": [{"role": "user", "content": format!("Say {i}")}]}})
            .to_string()
        })
        .collect()
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Runs `oai batch` over the drill's lines with `target` (the base URL or backends), kills
/// chat2 once `KILL_AFTER` lines are written, and checks that every line ended once,
/// successfully, in that one run. Returns what `oai` wrote to stderr (`-v`: its retries and
/// failovers too).
fn drill(name: &str, target: &[&str]) -> String {
    let d = dir(name);
    let input = d.join("in.jsonl");
    let output = d.join("out.jsonl");
    std::fs::write(
        &input,
        lines().iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let started = Instant::now();
    let child = oai()
        .args(["-v", "--timeout", "120", "batch"])
        .args(target)
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["-c", "16"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while count_lines(&output) < KILL_AFTER {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "{KILL_AFTER} lines not written in 300 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let at = count_lines(&output);
    let pgid = kill_chat2();
    let out: Output = child.wait_with_output().unwrap();
    let took = started.elapsed();
    // Nothing of the killed server is left (SIGKILL to the group; the kernel reaps them
    // once servers.sh, their parent, has exited long ago).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !group_members(pgid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(group_members(pgid), Vec::<u32>::new(), "orphans of chat2");
    assert!(at < LINES, "the run ended before the kill");
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains(&format!("{LINES} ok, 0 failed, 0 skipped in")),
        "{}",
        stderr(&out)
    );
    let results = json_lines(&output);
    assert_eq!(
        results.len(),
        LINES,
        "one result per line, nothing duplicated"
    );
    let ids: HashSet<&str> = results
        .iter()
        .map(|l| l["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), LINES, "each custom_id once");
    for l in &results {
        assert_eq!(l["error"], Value::Null, "{l}");
        assert_eq!(l["response"]["status_code"], 200, "{l}");
        assert_eq!(l["response"]["body"]["object"], "chat.completion", "{l}");
    }
    eprintln!("{name}: {LINES} lines in {took:?}, chat2 killed after {at}");
    stderr(&out)
}

#[test]
#[ignore = "needs vllm-router and its vLLM workers: bash scripts/servers.sh start router"]
fn a_worker_killed_mid_batch_behind_the_router_and_over_two_backends() {
    let (router, chat, chat2) = (
        live::vllm_router_url(),
        live::vllm_chat_url(),
        live::vllm_chat2_url(),
    );
    if !up(&router) || !up(&chat) || !up(&chat2) {
        return;
    }
    {
        let _restart = Restart;
        // vllm-router sends a failed worker's request again to another (5 attempts by
        // default); the client's own retries are there for what still comes back.
        let before = router_failures_on_chat2();
        drill("live-router-drill", &["--base-url", &router]);
        // The kill hit requests in flight, and the router resent them.
        assert!(
            router_failures_on_chat2() > before,
            "the router saw no failure on chat2"
        );
    }
    {
        let _restart = Restart;
        // No router: the client spreads the lines over both servers and sets the dead one
        // aside.
        let log = drill(
            "live-backends-drill",
            &["--backend", &chat, "--backend", &chat2],
        );
        // The kill hit requests in flight, and the client sent them to chat.
        assert!(log.contains("failing over after"), "no failover logged");
    }
}
