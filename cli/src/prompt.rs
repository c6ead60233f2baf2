//! The prompt of a one-shot command: the arguments joined with spaces, after what is piped
//! on stdin (as `llm` does: `echo CONTEXT | oai chat summarize` sends `CONTEXT\n summarize`),
//! else all of stdin.

use std::io::{IsTerminal, Read};

use crate::fail::Failure;

/// The prompt: what stdin holds when it is not a terminal, then `words` joined with spaces,
/// the two joined with one space (`llm`'s order and rule; stdin is kept as it is, indented
/// code included). With no words, all of stdin (typed at a terminal too). An empty prompt is
/// a usage error (a server would only answer 400).
pub fn read(words: &[String]) -> Result<String, Failure> {
    read_or_empty(words, false)
}

/// [`read`], where an empty prompt is fine when `may_be_empty` (a template gives the text).
pub fn read_or_empty(words: &[String], may_be_empty: bool) -> Result<String, Failure> {
    let piped = !std::io::stdin().is_terminal();
    let text = if words.is_empty() {
        hint_when_typing();
        stdin_text()?
    } else if piped {
        let context = stdin_text()?;
        if context.is_empty() {
            words.join(" ")
        } else {
            format!("{context} {}", words.join(" "))
        }
    } else {
        words.join(" ")
    };
    if text.trim().is_empty() && !may_be_empty {
        return Err(Failure::usage(
            "the prompt is empty: give it as an argument or on stdin",
        ));
    }
    Ok(text)
}

/// All of stdin, as UTF-8 text.
fn stdin_text() -> Result<String, Failure> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::error(format!("reading the prompt from stdin: {e}")))?;
    utf8(bytes, "the prompt on stdin")
}

/// `bytes` as text; `what` names them in the usage error when they are not UTF-8 (which byte,
/// where, and how to convert it), since a server takes only UTF-8 JSON.
pub fn utf8(bytes: Vec<u8>, what: &str) -> Result<String, Failure> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let byte = e.as_bytes()[at];
        Failure::usage(format!(
            "{what} is not UTF-8 text (byte 0x{byte:02X} at offset {at}): convert it first, e.g. with `iconv -f latin1 -t utf-8`"
        ))
    })
}

/// Someone typing at a terminal gets told how the input ends (nothing is printed for a pipe).
pub fn hint_when_typing() {
    if std::io::stdin().is_terminal() {
        eprintln!("(reading stdin: end with Ctrl-D)");
    }
}
