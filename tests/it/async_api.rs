//! The guide's async chapter lists every `pub async fn` of the crate with its signature, as
//! the async build has it (docs.rs renders the blocking build only). The list is read from the
//! source here and compared with the chapter, so it cannot drift: when a method changes, this
//! test fails and says how to write the list again (`OAI_COMPAT_BLESS=1`).

use std::fmt::Write;

/// The files with public async methods, in the chapter's order.
const SOURCES: [&str; 16] = [
    "src/resources/models.rs",
    "src/resources/chat.rs",
    "src/tool_loop.rs",
    "src/resources/completions.rs",
    "src/resources/embeddings.rs",
    "src/resources/responses.rs",
    "src/accumulate_responses.rs",
    "src/resources/files.rs",
    "src/resources/batches.rs",
    "src/resources/pager.rs",
    "src/resources/audio.rs",
    "src/download.rs",
    "src/resources/vllm.rs",
    "src/resources/raw.rs",
    "src/router.rs",
    "src/stream.rs",
];

/// The types a macro declares (`pager!`, in `src/resources/pager.rs`): its `$name` and `$page`
/// stand for each of these in turn.
const GENERATED: [(&str, &str); 2] = [("FilePages", "FileList"), ("BatchPages", "BatchList")];

const CHAPTER: &str = "docs/guide/async.md";
const START: &str = "<!-- async-api:start -->";
const END: &str = "<!-- async-api:end -->";

/// Each `pub async fn` of `src` with the type of its `impl` block: (`Chat`, `async fn ...`).
fn async_methods(src: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut owner = String::new();
    let mut lines = src.lines();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("impl") {
            // `impl Chat<'_> {`, `impl<T: X> EventStream<T> {`: the type's name.
            let rest = rest.trim_start();
            let rest = match rest.strip_prefix('<') {
                Some(r) => r.split_once("> ").map_or(r, |(_, t)| t),
                None => rest,
            };
            owner = rest
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .next()
                .unwrap_or_default()
                .to_owned();
            continue;
        }
        let Some(start) = line.trim_start().strip_prefix("pub async fn ") else {
            continue;
        };
        let mut sig = format!("async fn {start}");
        while !sig.trim_end().ends_with('{') {
            let next = lines.next().expect("a signature ends with `{`");
            sig.push(' ');
            sig.push_str(next.trim());
        }
        let sig = sig.trim_end().trim_end_matches('{').trim_end();
        // One line, as written on one line: no spaces inside parentheses, no trailing comma.
        let sig = sig
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .replace("( ", "(")
            .replace(", )", ")")
            .replace(",)", ")");
        out.push((owner.clone(), sig));
    }
    out
}

/// The chapter's list, as the source says it should be.
fn expected(root: &str) -> String {
    let mut s = String::new();
    let mut last = String::new();
    for file in SOURCES {
        let src = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        let methods = async_methods(&src);
        // A macro's methods (indented in its body, so with no owner read) name `$page`.
        let generated = methods.iter().any(|(_, sig)| sig.contains("$page"));
        let instances: Vec<(String, String)> = if generated {
            GENERATED
                .iter()
                .flat_map(|(name, page)| {
                    methods.iter().map(move |(_, sig)| {
                        let sig = sig.replace("$page", page).replace("crate::error::", "");
                        ((*name).to_owned(), sig)
                    })
                })
                .collect()
        } else {
            methods
        };
        for (owner, sig) in instances {
            if owner != last {
                let _ = write!(s, "\n**`{owner}`** (`{file}`)\n\n");
                last = owner;
            }
            let _ = writeln!(s, "- `{sig}`");
        }
    }
    s
}

#[test]
fn the_async_chapter_lists_every_async_method() {
    let root = env!("CARGO_MANIFEST_DIR");
    let path = format!("{root}/{CHAPTER}");
    let doc = std::fs::read_to_string(&path).unwrap();
    let (Some(a), Some(b)) = (doc.find(START), doc.find(END)) else {
        panic!("{CHAPTER} has no {START} ... {END} section");
    };
    let want = expected(root);
    let have = &doc[a + START.len()..b];
    if have.trim() == want.trim() {
        assert!(want.matches("- `async fn").count() >= 40, "{want}");
        return;
    }
    if std::env::var_os("OAI_COMPAT_BLESS").is_some() {
        let new = format!("{}{START}\n{}\n{}", &doc[..a], want.trim(), &doc[b..]);
        std::fs::write(&path, new).unwrap();
        return;
    }
    panic!(
        "{CHAPTER} does not list the async methods as the source has them; write the list again \
         with `OAI_COMPAT_BLESS=1 cargo test --test it -- async_api::`. Expected:\n{want}"
    );
}
