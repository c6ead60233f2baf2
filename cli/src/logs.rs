//! `oai logs`: the history of exchanges, newest last, as Markdown (the prompt and the reply
//! under headings, as `llm logs` shows them) or as JSON lines.

use std::io::Write;

use crate::args::LogsArgs;
use crate::fail::Failure;
use crate::history::{self, History};
use crate::out;

pub fn run(a: &LogsArgs) -> Result<(), Failure> {
    let path = history::path()
        .ok_or_else(|| Failure::error("no data directory for the history: set OAI_DATA_DIR"))?;
    let mut stdout = std::io::stdout().lock();
    if a.path {
        return out::flush_text(&mut stdout, &format!("{}\n", path.display()));
    }
    if !path.exists() {
        // Nothing logged yet is not an error; opening would create the file.
        return Ok(());
    }
    let db = History::open(&path)
        .map_err(|e| Failure::error(format!("the history at {}: {e}", path.display())))?;
    let logged = db
        .logged(a.count, a.cid.as_deref(), a.query.as_deref())
        .map_err(Failure::error)?;
    for l in &logged {
        if a.json {
            out::json_line(&mut stdout, l)?;
            continue;
        }
        let mut s = format!(
            "# {}    conversation: {}\n\n`oai {}` with **{}** at {} ({} ms",
            l.datetime_utc, l.conversation, l.command, l.model, l.server, l.duration_ms
        );
        if let (Some(i), Some(o)) = (l.input_tokens, l.output_tokens) {
            s.push_str(&format!(", {i} -> {o} tokens"));
        }
        s.push_str(")\n\n");
        if let Some(system) = &l.system {
            s.push_str(&format!("## System\n\n{system}\n\n"));
        }
        s.push_str(&format!(
            "## Prompt\n\n{}\n\n## Response\n\n{}\n\n",
            l.prompt, l.response
        ));
        out::flush_text(&mut stdout, &s)?;
    }
    stdout.flush().map_err(out::write_failed)
}
