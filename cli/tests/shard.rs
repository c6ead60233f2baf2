//! `oai batch --shard K/N` with `oai batch check` and `oai batch merge`: four shard processes
//! against the mock cover the input once, one of them killed (`kill -9`) and rerun; the
//! scheduler's variables pick the shard; check names what is failed, missing or duplicated.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::*;

fn lines(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            json!({"custom_id": format!("q-{i}"), "method": "POST", "url": "/v1/chat/completions",
                   "body": {"model": "mock-model", "messages": [{"role": "user", "content": format!("n{i}")}]}})
            .to_string()
        })
        .collect()
}

fn shard(srv: &MockServer, input: &Path, out: &Path, spec: &str, extra: &[&str]) -> Child {
    oai()
        .env("OPENAI_BASE_URL", srv.url())
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args(["--shard", spec])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn oai_batch(args: &[&str]) -> Output {
    oai().arg("batch").args(args).output().unwrap()
}

fn ids(path: &Path) -> Vec<String> {
    json_lines(path)
        .iter()
        .map(|l| l["custom_id"].as_str().unwrap().to_owned())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn four_shards_cover_the_input_once_and_a_killed_one_resumes() {
    let d = dir("shards");
    let input = d.join("in.jsonl");
    write_lines(&input, &lines(400));
    let outs: Vec<PathBuf> = (1..=4).map(|k| d.join(format!("out.{k}.jsonl"))).collect();
    let fast = MockServer::start().unwrap();
    // Shard 3 talks to a slow server, so that it is still running when it is killed.
    let slow = MockServer::start().unwrap();
    slow.enqueue_all((0..200).map(|_| Reply::default_answer().delay(Duration::from_millis(20))));
    let mut killed = shard(&slow, &input, &outs[2], "3/4", &["-c", "1"]);
    let others: Vec<Child> = [0, 1, 3]
        .iter()
        .map(|&i| {
            shard(
                &fast,
                &input,
                &outs[i],
                &format!("{}/4", i + 1),
                &["-c", "4"],
            )
        })
        .collect();
    wait_for("shard 3 to write 5 results", || {
        std::fs::read_to_string(&outs[2]).is_ok_and(|t| t.lines().count() >= 5)
    });
    killed.kill().unwrap(); // SIGKILL: no chance to compact or flush
    killed.wait().unwrap();
    for c in others {
        let o = c.wait_with_output().unwrap();
        assert_exit(&o, 0);
        assert!(
            stderr(&o).contains("left to the other shards"),
            "{}",
            stderr(&o)
        );
    }
    // Check: shard 3's lines that did not finish are missing, by name, and it exits 1.
    let mut args = vec!["check", s(&input)];
    args.extend(outs.iter().map(|p| s(p)));
    let o = oai_batch(&args);
    assert_exit(&o, 1);
    let report = stdout(&o);
    assert!(report.contains("400 custom_id(s)"), "{report}");
    assert!(report.contains(" missing: q-"), "{report}");
    // The rerun of shard 3 resumes on its own output and finishes it.
    let o = shard(&fast, &input, &outs[2], "3/4", &[])
        .wait_with_output()
        .unwrap();
    assert_exit(&o, 0);
    assert!(stderr(&o).contains("resuming:"), "{}", stderr(&o));
    let o = oai_batch(&args);
    assert_exit(&o, 0);
    assert!(stdout(&o).contains("400 done once"), "{}", stdout(&o));
    // The shards are disjoint, and together they are the input.
    let mut all = BTreeSet::new();
    for p in &outs {
        for id in ids(p) {
            assert!(all.insert(id.clone()), "{id} is in two shards");
        }
    }
    assert_eq!(all.len(), 400);
    // Each shard got about a quarter.
    for p in &outs {
        let n = ids(p).len();
        assert!((60..140).contains(&n), "{}: {n}", p.display());
    }
    // A rerun of a finished shard sends nothing.
    let before = fast.request_count();
    let o = shard(&fast, &input, &outs[0], "1/4", &[])
        .wait_with_output()
        .unwrap();
    assert_exit(&o, 0);
    assert_eq!(
        fast.request_count() - before,
        1,
        "only the reachability check"
    );
    // Merge: one file, one line per custom_id.
    let merged = d.join("merged.jsonl");
    let mut margs = vec!["merge"];
    margs.extend(outs.iter().map(|p| s(p)));
    margs.extend(["-o", s(&merged)]);
    let o = oai_batch(&margs);
    assert_exit(&o, 0);
    let got: BTreeSet<String> = ids(&merged).into_iter().collect();
    assert_eq!(got, all);
    assert_eq!(ids(&merged).len(), 400);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&merged).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "a new merged file is the owner's only");
    }
    let o = oai_batch(&["check", s(&input), s(&merged)]);
    assert_exit(&o, 0);
}

#[test]
fn the_scheduler_picks_the_shard() {
    let d = dir("shard-env");
    let input = d.join("in.jsonl");
    write_lines(&input, &lines(60));
    let srv = MockServer::start().unwrap();
    let run = |out: &str, spec: &str, env: &[(&str, &str)]| -> BTreeSet<String> {
        let out = d.join(out);
        let mut c = oai();
        c.env("OPENAI_BASE_URL", srv.url()).args([
            "batch",
            s(&input),
            "-o",
            s(&out),
            "--shard",
            spec,
        ]);
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().unwrap();
        assert_exit(&o, 0);
        ids(&out).into_iter().collect()
    };
    let explicit = run("a.jsonl", "2/3", &[]);
    assert!(!explicit.is_empty() && explicit.len() < 60);
    // Slurm: --array=5-7, this is task 6 of 3: the second shard.
    let slurm = run(
        "b.jsonl",
        "auto",
        &[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ],
    );
    assert_eq!(slurm, explicit);
    // Kubernetes Indexed Job: index 1 (from 0) of completions 3.
    let k8s = run("c.jsonl", "auto/3", &[("JOB_COMPLETION_INDEX", "1")]);
    assert_eq!(k8s, explicit);
    // Bad values: exit 2 naming the flag, nothing sent.
    let before = srv.request_count();
    for (spec, says) in [
        ("0/3", "numbered from 1"),
        ("auto", "neither"),
        ("2", "give K/N"),
    ] {
        let o = oai()
            .env("OPENAI_BASE_URL", srv.url())
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env_remove("JOB_COMPLETION_INDEX")
            .args([
                "batch",
                s(&input),
                "-o",
                s(&d.join("x.jsonl")),
                "--shard",
                spec,
            ])
            .output()
            .unwrap();
        assert_exit(&o, 2);
        assert!(
            stderr(&o).contains("--shard") && stderr(&o).contains(says),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(srv.request_count(), before);
}

fn result(id: &str, ok: bool) -> String {
    let error = if ok {
        Value::Null
    } else {
        json!({"code": "http_500", "message": "x"})
    };
    json!({"id": "batch_req_1", "custom_id": id, "response": null, "error": error}).to_string()
}

#[test]
fn check_names_what_is_wrong_and_merge_keeps_one_line_per_id() {
    let d = dir("shard-check");
    let input = d.join("in.jsonl");
    write_lines(&input, &lines(6));
    let (a, b) = (d.join("a.jsonl"), d.join("b.jsonl"));
    // q-0 done; q-1 failed; q-2 done twice (in both files); q-3 failed then done; q-4 missing;
    // q-5 done; "stray" is no input's; and a torn last line.
    write_lines(
        &a,
        &[
            result("q-0", true),
            result("q-1", false),
            result("q-2", true),
            result("q-3", false),
            result("stray", true),
        ],
    );
    std::fs::write(
        &b,
        [
            result("q-2", true),
            result("q-3", true),
            result("q-5", true),
        ]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect::<String>()
            + r#"{"id": "batch_req_9", "custom_"#,
    )
    .unwrap();
    let o = oai_batch(&["check", s(&input), s(&a), s(&b)]);
    assert_exit(&o, 1);
    let r = stdout(&o);
    for expected in [
        "6 custom_id(s)",
        "  2 done once",
        "1 failed: q-1 ",
        "1 missing: q-4 ",
        "2 duplicated (more than one result): q-2, q-3 ",
        "1 result(s) whose custom_id is not in the input",
        "1 output line(s) that are not results",
    ] {
        assert!(r.contains(expected), "{expected:?} not in:\n{r}");
    }
    let merged = d.join("m.jsonl");
    let o = oai_batch(&["merge", s(&a), s(&b), "-o", s(&merged)]);
    assert_exit(&o, 0);
    let by_id: HashMap<String, Value> = json_lines(&merged)
        .into_iter()
        .map(|l| (l["custom_id"].as_str().unwrap().to_owned(), l))
        .collect();
    assert_eq!(
        json_lines(&merged).len(),
        6,
        "q-0, q-1, q-2, q-3, q-5, stray"
    );
    assert_eq!(
        by_id["q-3"]["error"],
        Value::Null,
        "a success wins over a failure"
    );
    assert_ne!(
        by_id["q-1"]["error"],
        Value::Null,
        "a failure alone is kept"
    );
    assert!(
        stderr(&o).contains("2 repeated result(s) left out"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("1 line(s) that are not results"),
        "{}",
        stderr(&o)
    );
    // Merging into one of its own inputs is safe: it is replaced at the end.
    let o = oai_batch(&["merge", s(&a), s(&b), "-o", s(&a)]);
    assert_exit(&o, 0);
    assert_eq!(json_lines(&a).len(), 6);
    // A directory is not an output.
    let o = oai_batch(&["merge", s(&a), "-o", s(&d)]);
    assert_exit(&o, 2);
}
