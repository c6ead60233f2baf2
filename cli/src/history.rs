//! The history: every exchange of `oai chat`, `complete` and `respond` is kept in an SQLite
//! database in the user's data directory, with the model, the server, token counts and the
//! time it took, as `llm` keeps its logs. `oai logs` reads it; `oai chat -c` / `--cid`
//! continue a conversation from it; templates (`--save`, `-t`) live in it too.
//!
//! What is never stored: the API key and any header (only the prompt, the reply, the model,
//! the server's base URL and the request fields given with `-o`). The database is created
//! readable by its owner only. A history that cannot be opened or written never fails the
//! command: it is said once on stderr and the answer is printed all the same.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value};

/// The schema; `PRAGMA user_version` says which one a file has.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS exchanges (
    id INTEGER PRIMARY KEY,
    conversation TEXT NOT NULL,
    datetime_utc TEXT NOT NULL,
    command TEXT NOT NULL,
    server TEXT NOT NULL,
    model TEXT NOT NULL,
    system TEXT,
    prompt TEXT NOT NULL,
    response TEXT NOT NULL,
    options TEXT NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    duration_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS exchanges_conversation ON exchanges (conversation, id);
CREATE TABLE IF NOT EXISTS templates (
    name TEXT PRIMARY KEY,
    model TEXT,
    system TEXT,
    prompt TEXT,
    options TEXT NOT NULL
);
PRAGMA user_version = 1;
";

/// The history database.
pub struct History {
    db: Connection,
}

/// One exchange to record.
pub struct Exchange<'a> {
    pub conversation: &'a str,
    pub command: &'static str,
    pub server: &'a str,
    pub model: &'a str,
    pub system: Option<&'a str>,
    pub prompt: &'a str,
    pub response: &'a str,
    pub options: &'a Map<String, Value>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub duration_ms: u64,
}

/// A reply as logged: its text and token counts.
#[derive(Default)]
pub struct Reply {
    pub text: String,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
}

impl Reply {
    /// With the counts of a typed `usage`, when there is one.
    pub fn counted(mut self, usage: Option<&oai_compat::types::Usage>) -> Reply {
        if let Some(u) = usage {
            self.input_tokens = Some(u64::from(u.prompt_tokens));
            self.output_tokens = u.completion_tokens.map(u64::from);
        }
        self
    }

    /// Takes the counts of a JSON `usage` object (chat and completions, or the Responses
    /// API's names), when it has them.
    pub fn count_json(&mut self, usage: &Value) {
        let n = |key: &str| usage[key].as_u64();
        if let Some(x) = n("prompt_tokens").or_else(|| n("input_tokens")) {
            self.input_tokens = Some(x);
        }
        if let Some(x) = n("completion_tokens").or_else(|| n("output_tokens")) {
            self.output_tokens = Some(x);
        }
    }
}

/// Prints a stream's text as it arrives (see [`crate::out::stream_text`]) and returns it with
/// the token counts of the chunk that carries them (the last one, when the stream was asked
/// for its usage).
pub fn streamed<T>(
    w: &mut impl std::io::Write,
    stream: impl IntoIterator<Item = oai_compat::Result<T>>,
    text_of: impl Fn(&T) -> &str,
    usage_of: impl Fn(&T) -> Option<&oai_compat::types::Usage>,
) -> Result<Reply, crate::fail::Failure> {
    let usage = std::cell::Cell::new(None);
    let text = crate::out::stream_text(w, stream, |item| {
        if let Some(u) = usage_of(item) {
            usage.set(Some(u.clone()));
        }
        text_of(item)
    })?;
    Ok(Reply {
        text,
        ..Reply::default()
    }
    .counted(usage.take().as_ref()))
}

/// A recorded exchange, as `oai logs` shows it.
#[derive(Debug, Serialize)]
pub struct Logged {
    pub id: i64,
    pub conversation: String,
    pub datetime_utc: String,
    pub command: String,
    pub server: String,
    pub model: String,
    pub system: Option<String>,
    pub prompt: String,
    pub response: String,
    pub options: Value,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub duration_ms: u64,
}

/// A saved template: what `-t NAME` puts into a chat.
#[derive(Debug, Default)]
pub struct Template {
    pub model: Option<String>,
    pub system: Option<String>,
    /// Text put before the prompt's words.
    pub prompt: Option<String>,
    pub options: Map<String, Value>,
}

/// Where the history lives: `$OAI_DATA_DIR`, else the platform's data directory
/// (`$XDG_DATA_HOME/oai` or `~/.local/share/oai` on Linux).
pub fn dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(d) = env("OAI_DATA_DIR") {
        return Some(PathBuf::from(d));
    }
    if cfg!(windows) {
        return env("APPDATA").map(|d| PathBuf::from(d).join("oai"));
    }
    if cfg!(target_os = "macos") {
        return env("HOME").map(|h| PathBuf::from(h).join("Library/Application Support/oai"));
    }
    env("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .map(|d| d.join("oai"))
}

/// The database file in [`dir`].
pub fn path() -> Option<PathBuf> {
    dir().map(|d| d.join("logs.db"))
}

impl History {
    /// The user's history, or `None` (said once on stderr) when it cannot be opened.
    pub fn open_default() -> Option<History> {
        let Some(path) = path() else {
            eprintln!("note: no data directory (set OAI_DATA_DIR): this exchange is not logged");
            return None;
        };
        match History::open(&path) {
            Ok(h) => Some(h),
            Err(e) => {
                eprintln!(
                    "note: the history at {} cannot be opened ({e}): this exchange is not logged",
                    path.display()
                );
                None
            }
        }
    }

    /// Opens (creating) the database at `path`, its folder readable by its owner only.
    pub fn open(path: &Path) -> Result<History, String> {
        if let Some(d) = path.parent() {
            create_private_dir(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let new = !path.exists();
        let db = Connection::open(path).map_err(|e| e.to_string())?;
        if new {
            restrict(path);
        }
        // Two commands at once (a shell loop in the background) wait for each other. WAL
        // with `synchronous=NORMAL` commits without an fsync each time (a crash of the
        // machine may lose the last exchanges, never the file): a logged chat stays fast.
        db.busy_timeout(std::time::Duration::from_secs(5))
            .and_then(|()| {
                db.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            })
            .map_err(|e| e.to_string())?;
        let version: i64 = db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| e.to_string())?;
        if version < 1 {
            db.execute_batch(SCHEMA).map_err(|e| e.to_string())?;
        }
        Ok(History { db })
    }

    /// Records one exchange.
    pub fn record(&self, e: &Exchange) -> Result<(), String> {
        let options = Value::Object(e.options.clone()).to_string();
        self.db
            .execute(
                "INSERT INTO exchanges (conversation, datetime_utc, command, server, model,
                 system, prompt, response, options, input_tokens, output_tokens, duration_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    e.conversation,
                    now_utc(),
                    e.command,
                    e.server,
                    e.model,
                    e.system,
                    e.prompt,
                    e.response,
                    options,
                    e.input_tokens.map(clamp),
                    e.output_tokens.map(clamp),
                    clamp(e.duration_ms),
                ],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Records one exchange; a failure is said on stderr and changes nothing else (the answer
    /// was printed).
    pub fn keep(&self, e: &Exchange) {
        if let Err(err) = self.record(e) {
            eprintln!("note: this exchange was not logged: {err}");
        }
    }

    /// The conversation of the newest chat exchange.
    pub fn last_conversation(&self) -> Result<Option<String>, String> {
        self.db
            .query_row(
                "SELECT conversation FROM exchanges WHERE command = 'chat' ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())
    }

    /// The exchanges of `conversation`, oldest first (at most `n` of the newest; 0: all), or
    /// of every conversation; with `query`, only those whose prompt, reply or system prompt
    /// contain it.
    pub fn logged(
        &self,
        n: u32,
        conversation: Option<&str>,
        query: Option<&str>,
    ) -> Result<Vec<Logged>, String> {
        let like = query.map(|q| format!("%{}%", escape_like(q)));
        let limit = if n == 0 { -1 } else { i64::from(n) };
        let mut stmt = self
            .db
            .prepare(
                "SELECT id, conversation, datetime_utc, command, server, model, system, prompt,
                        response, options, input_tokens, output_tokens, duration_ms
                 FROM exchanges
                 WHERE (?1 IS NULL OR conversation = ?1)
                   AND (?2 IS NULL OR prompt LIKE ?2 ESCAPE '\\' OR response LIKE ?2 ESCAPE '\\'
                        OR system LIKE ?2 ESCAPE '\\')
                 ORDER BY id DESC LIMIT ?3",
            )
            .map_err(|e| e.to_string())?;
        let rows = stmt
            .query_map(params![conversation, like, limit], |r| {
                let options: String = r.get(9)?;
                Ok(Logged {
                    id: r.get(0)?,
                    conversation: r.get(1)?,
                    datetime_utc: r.get(2)?,
                    command: r.get(3)?,
                    server: r.get(4)?,
                    model: r.get(5)?,
                    system: r.get(6)?,
                    prompt: r.get(7)?,
                    response: r.get(8)?,
                    options: serde_json::from_str(&options).unwrap_or(Value::Null),
                    input_tokens: r.get::<_, Option<i64>>(10)?.map(unsigned),
                    output_tokens: r.get::<_, Option<i64>>(11)?.map(unsigned),
                    duration_ms: unsigned(r.get(12)?),
                })
            })
            .map_err(|e| e.to_string())?;
        let mut all = rows
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        all.reverse();
        Ok(all)
    }

    /// Saves `t` as `name` (replacing one of that name).
    pub fn save_template(&self, name: &str, t: &Template) -> Result<(), String> {
        self.db
            .execute(
                "INSERT OR REPLACE INTO templates (name, model, system, prompt, options)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    name,
                    t.model,
                    t.system,
                    t.prompt,
                    Value::Object(t.options.clone()).to_string()
                ],
            )
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// The template `name`, if saved.
    pub fn template(&self, name: &str) -> Result<Option<Template>, String> {
        self.db
            .query_row(
                "SELECT model, system, prompt, options FROM templates WHERE name = ?1",
                [name],
                |r| {
                    let options: String = r.get(3)?;
                    Ok(Template {
                        model: r.get(0)?,
                        system: r.get(1)?,
                        prompt: r.get(2)?,
                        options: match serde_json::from_str(&options) {
                            Ok(Value::Object(m)) => m,
                            _ => Map::new(),
                        },
                    })
                },
            )
            .optional()
            .map_err(|e| e.to_string())
    }
}

/// The history for a command given `--no-log` or not (see [`History::open_default`]).
pub fn for_logging(no_log: bool) -> Option<History> {
    if no_log {
        None
    } else {
        History::open_default()
    }
}

/// Milliseconds since `started`, for [`Exchange::duration_ms`].
pub fn millis_since(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A new conversation id: the time in milliseconds and 64 random bits, in hex (ids sort by
/// time, as `llm`'s ULIDs do).
pub fn new_conversation_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let random = RandomState::new().hash_one(std::process::id());
    format!("{millis:012x}{random:016x}")
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `%`, `_` and `\` of a search taken literally by `LIKE ... ESCAPE '\'`.
fn escape_like(q: &str) -> String {
    let mut s = String::with_capacity(q.len());
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn create_private_dir(d: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(d)
}

/// A new database file is readable by its owner only (it holds prompts and replies).
fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn like_escapes() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }

    #[test]
    fn record_search_and_templates() {
        let d = std::env::temp_dir().join(format!("oai-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let h = History::open(&d.join("sub").join("logs.db")).unwrap();
        let options = Map::new();
        for (conv, prompt) in [("c1", "first 50%"), ("c2", "other"), ("c1", "second")] {
            h.record(&Exchange {
                conversation: conv,
                command: "chat",
                server: "http://s/v1",
                model: "m",
                system: Some("sys"),
                prompt,
                response: "reply",
                options: &options,
                input_tokens: Some(3),
                output_tokens: None,
                duration_ms: u64::MAX,
            })
            .unwrap();
        }
        assert_eq!(h.last_conversation().unwrap().as_deref(), Some("c1"));
        let c1: Vec<String> = h
            .logged(0, Some("c1"), None)
            .unwrap()
            .into_iter()
            .map(|l| l.prompt)
            .collect();
        assert_eq!(c1, ["first 50%", "second"], "oldest first");
        let newest = h.logged(1, None, None).unwrap();
        assert_eq!((newest.len(), newest[0].prompt.as_str()), (1, "second"));
        assert_eq!(newest[0].duration_ms, i64::MAX as u64);
        let found = h.logged(0, None, Some("50%")).unwrap();
        assert_eq!(found.len(), 1, "% is literal");
        assert!(h.logged(0, None, Some("5_%")).unwrap().is_empty());
        assert!(h.template("t").unwrap().is_none());
        let mut t = Template {
            model: Some("m".into()),
            ..Template::default()
        };
        t.options.insert("top_p".into(), Value::from(0.5));
        h.save_template("t", &t).unwrap();
        let got = h.template("t").unwrap().unwrap();
        assert_eq!(
            (got.model.as_deref(), got.options["top_p"].as_f64()),
            (Some("m"), Some(0.5))
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
