//! `oai batch` against the same requests made directly through the library.
//!
//! Runs 10,000 chat lines at `-c 64` with the release `oai` binary against an in-process mock
//! server, and the same 10,000 requests through one `Client` from 64 threads; each side five
//! times, alternating, and prints the wall times, the CPU time each side spent (this process,
//! which runs the mock, plus the `oai` child; Linux only), and the ratios of the medians. On a
//! busy machine the CPU times are the steadier figure. Run with
//! `cargo bench -p oai-compat-cli --bench batch` (set `OAI_BENCH_LINES` for another size).

use std::io::{BufWriter, Write};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat_mock::MockServer;

const THREADS: usize = 64;
const ROUNDS: usize = 5;

fn prompt(i: usize) -> String {
    format!("line {i} of the benchmark, a short prompt")
}

/// CPU time (user + system) of this process and of its waited-for children, from
/// /proc/self/stat (zero where there is no /proc).
fn cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces): state is field 3; utime, stime,
    // cutime and cstime are fields 14 to 17, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split(' ')
        .skip(11)
        .take(4)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Wall and CPU time of `f`.
fn timed(f: impl FnOnce()) -> (Duration, Duration) {
    let (c0, t0) = (cpu(), Instant::now());
    f();
    (t0.elapsed(), cpu().saturating_sub(c0))
}

fn library(client: &Client, n: usize) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return;
                    }
                    let req = ChatCompletionRequest::new("mock-model", [Message::user(prompt(i))]);
                    let reply = client.chat().create(&req).expect("library call");
                    assert!(reply.text().is_some());
                }
            });
        }
    });
}

fn cli(url: &str, input: &std::path::Path, output: &std::path::Path) {
    let _ = std::fs::remove_file(output);
    let out = Command::new(env!("CARGO_BIN_EXE_oai"))
        .env("OPENAI_BASE_URL", url)
        .env_remove("OPENAI_API_KEY")
        .arg("batch")
        .arg(input)
        .arg("-o")
        .arg(output)
        .args(["-c", &THREADS.to_string()])
        .output()
        .expect("run oai");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this once, tiny.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n: usize = std::env::var("OAI_BENCH_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 200 } else { 10_000 });
    let server = MockServer::start().expect("mock server");
    let dir = std::env::temp_dir().join(format!("oai-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let input = dir.join("in.jsonl");
    let output = dir.join("out.jsonl");
    let mut w = BufWriter::new(std::fs::File::create(&input).expect("input"));
    for i in 0..n {
        let line = serde_json::json!({
            "custom_id": format!("req-{i}"), "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "mock-model", "messages": [{"role": "user", "content": prompt(i)}]},
        });
        writeln!(w, "{line}").expect("write input");
    }
    w.flush().expect("flush input");
    drop(w);
    let client = Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(server.url())
        .build()
        .expect("client");
    // Warm up both (connections, page cache).
    library(&client, n.min(500));
    cli(&server.url(), &input, &output);
    let rounds = if quick { 1 } else { ROUNDS };
    let (mut lib, mut bin) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        lib.push(timed(|| library(&client, n)));
        bin.push(timed(|| cli(&server.url(), &input, &output)));
    }
    let wall = |v: &[(Duration, Duration)]| median(v.iter().map(|x| x.0).collect());
    let cpu = |v: &[(Duration, Duration)]| median(v.iter().map(|x| x.1).collect());
    let show = |v: &[(Duration, Duration)]| {
        v.iter()
            .map(|(w, c)| format!("{w:.2?} ({c:.2?} CPU)"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (lw, bw, lc, bc) = (wall(&lib), wall(&bin), cpu(&lib), cpu(&bin));
    println!(
        "{n} chat requests, {THREADS} at a time, against the built-in mock ({rounds} rounds):"
    );
    println!("  library, {THREADS} threads: {}", show(&lib));
    println!("  oai batch -c {THREADS}:      {}", show(&bin));
    println!(
        "  medians: library {lw:.2?} ({:.0} req/s), oai batch {bw:.2?} ({:.0} req/s)",
        n as f64 / lw.as_secs_f64(),
        n as f64 / bw.as_secs_f64()
    );
    println!(
        "  oai batch / library: wall {:.3}, CPU {:.3}",
        bw.as_secs_f64() / lw.as_secs_f64(),
        bc.as_secs_f64() / lc.as_secs_f64().max(1e-9)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
