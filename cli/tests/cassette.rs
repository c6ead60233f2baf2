//! `oai --cassette FILE [--record-mode M]` records and replays; `oai mock --replay FILE`
//! serves a cassette to any client.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use support::*;

fn closed_port() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/v1")
}

/// `oai --base-url <nothing> --cassette FILE --record-mode none ARGS`.
fn replay(cassette: &str, args: &[&str]) -> std::process::Output {
    oai()
        .args(["--base-url", &closed_port(), "--cassette", cassette])
        .args(["--record-mode", "none"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn chat_records_then_replays_with_nothing_sent() {
    let d = dir("cli-cassette");
    let cassette = d.join("chat.jsonl");
    let c = cassette.to_str().unwrap();
    let srv = MockServer::start().unwrap();
    let recorded = run(
        &srv,
        &["--cassette", c, "chat", "-m", "mock-model", "hello", "tape"],
    );
    assert_exit(&recorded, 0);
    assert_eq!(stdout(&recorded), "Mock reply to: hello tape\n");
    let sent = srv.request_count();
    assert_eq!(
        std::fs::read_to_string(&cassette).unwrap().lines().count(),
        1
    );
    // Replayed from a server that does not exist.
    let replayed = replay(c, &["chat", "-m", "mock-model", "hello", "tape"]);
    assert_exit(&replayed, 0);
    assert_eq!(stdout(&replayed), stdout(&recorded));
    assert_eq!(srv.request_count(), sent);
    // A prompt never recorded: the miss names what differs, exit 1.
    let miss = replay(c, &["chat", "-m", "mock-model", "other"]);
    assert_exit(&miss, 1);
    assert!(
        stderr(&miss).contains("differs in messages"),
        "{}",
        stderr(&miss)
    );
}

#[test]
fn bad_record_modes_are_usage_errors() {
    let o = oai()
        .args([
            "--cassette",
            "x.jsonl",
            "--record-mode",
            "sometimes",
            "models",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("once, none, new_episodes or all"),
        "{}",
        stderr(&o)
    );
    let o = oai()
        .args(["--record-mode", "none", "models"])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("--cassette"), "{}", stderr(&o));
    let d = dir("cli-cassette-dir");
    let o = oai()
        .args([
            "--base-url",
            &closed_port(),
            "--cassette",
            d.to_str().unwrap(),
            "models",
        ])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
}

#[test]
fn mock_replay_serves_a_cassette() {
    let d = dir("cli-mock-replay");
    let cassette = d.join("c.jsonl");
    let c = cassette.to_str().unwrap();
    let srv = MockServer::start().unwrap();
    let recorded = run(
        &srv,
        &[
            "--cassette",
            c,
            "chat",
            "-m",
            "mock-model",
            "--json",
            "streamed",
            "reply",
        ],
    );
    assert_exit(&recorded, 0);
    let mut mock = oai()
        .args(["mock", "--replay", c])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(mock.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let url = url.trim();
    let replayed = oai()
        .args([
            "--base-url",
            url,
            "chat",
            "-m",
            "mock-model",
            "--json",
            "streamed",
            "reply",
        ])
        .output()
        .unwrap();
    let again = oai()
        .args([
            "--base-url",
            url,
            "chat",
            "-m",
            "mock-model",
            "--max-retries",
            "0",
            "streamed",
            "reply",
        ])
        .output()
        .unwrap();
    mock.kill().unwrap();
    mock.wait().unwrap();
    assert_exit(&replayed, 0);
    // The chunks' JSON lines are the recorded ones (the ids and times of the recording).
    assert_eq!(stdout(&replayed), stdout(&recorded));
    // Each answer plays once: the second asks gets the 404 that says so.
    assert_exit(&again, 1);
    assert!(
        stderr(&again).contains("played already"),
        "{}",
        stderr(&again)
    );
    let o = oai()
        .args(["mock", "--replay", d.join("absent.jsonl").to_str().unwrap()])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("--replay"), "{}", stderr(&o));
}
