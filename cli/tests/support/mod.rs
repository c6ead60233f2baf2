//! Running the real `oai` binary against the built-in mock server.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use oai_compat_mock::{MockServer, Reply};

/// The `oai` binary cargo built for these tests.
pub fn oai() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_oai"));
    // Nothing from the developer's environment: every setting comes from the test.
    for var in [
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_ORG_ID",
        "OPENAI_PROJECT_ID",
        "OAI_MODEL",
        "OAI_COMPAT_BACKENDS",
        "OAI_DATA_DIR",
    ] {
        c.env_remove(var);
    }
    // No test writes to the developer's history; tests of the history give their own folder.
    c.env("OAI_NO_LOG", "1");
    c.env("NO_PROXY", "127.0.0.1").env("no_proxy", "127.0.0.1");
    c
}

/// `oai ARGS` against `srv`, with `stdin` (text or any bytes) as its input.
pub fn run_in(srv: &MockServer, args: &[&str], stdin: impl AsRef<[u8]>) -> Output {
    let mut child = oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oai");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_ref()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// `oai ARGS` against `srv`, with an empty stdin.
pub fn run(srv: &MockServer, args: &[&str]) -> Output {
    run_in(srv, args, "")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit code, showing stderr when it differs.
#[track_caller]
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

/// Writes `lines`, each ended by a newline, to `path`.
pub fn write_lines(path: &std::path::Path, lines: &[String]) {
    std::fs::write(
        path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
}

/// A fresh directory for one test's files.
pub fn dir(name: &str) -> PathBuf {
    let d =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Sends SIGINT (Ctrl-C) to a child.
pub fn interrupt(child: &Child) {
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -INT failed");
}

/// Waits until `cond` holds (at most 20 s).
#[track_caller]
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The JSON lines of a file.
pub fn json_lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Whether the server of `url` accepts connections; if not, says the test is skipped (or
/// fails in CI, where the servers are started first), naming the `servers.sh` target to start.
pub fn live_up(url: &str, target: &str) -> bool {
    use std::net::{TcpStream, ToSocketAddrs};
    let hostport = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    let reachable = hostport
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
    if !reachable {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{url} does not answer (CI starts the servers first)"
        );
        eprintln!("skipped: {url} does not answer (bash scripts/servers.sh start {target})");
    }
    reachable
}

/// Output lines by custom_id, checking that each appears once and every id is unique.
#[track_caller]
pub fn by_custom_id(
    output: &std::path::Path,
) -> std::collections::HashMap<String, serde_json::Value> {
    let lines = json_lines(output);
    let ids: std::collections::BTreeSet<&str> =
        lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), lines.len(), "output ids are unique");
    let mut map = std::collections::HashMap::new();
    for l in &lines {
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 4, "{l}");
        for k in ["id", "custom_id", "response", "error"] {
            assert!(l.get(k).is_some(), "{k} missing: {l}");
        }
        let prev = map.insert(l["custom_id"].as_str().unwrap().to_owned(), l.clone());
        assert!(prev.is_none(), "custom_id written twice: {l}");
    }
    map
}
