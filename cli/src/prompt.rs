//! The prompt of a one-shot command: the arguments joined with spaces, else all of stdin.

use std::io::{IsTerminal, Read};

use crate::fail::Failure;

/// The prompt from `words`, or from stdin when there are none. An empty prompt is a usage
/// error (a server would only answer 400).
pub fn read(words: &[String]) -> Result<String, Failure> {
    let text = if words.is_empty() {
        hint_when_typing();
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure::error(format!("reading the prompt from stdin: {e}")))?;
        s
    } else {
        words.join(" ")
    };
    if text.trim().is_empty() {
        return Err(Failure::usage(
            "the prompt is empty: give it as an argument or on stdin",
        ));
    }
    Ok(text)
}

/// Someone typing at a terminal gets told how the input ends (nothing is printed for a pipe).
pub fn hint_when_typing() {
    if std::io::stdin().is_terminal() {
        eprintln!("(reading stdin: end with Ctrl-D)");
    }
}
