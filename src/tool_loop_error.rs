//! [`ToolLoopError`]: a tool loop that reached its round limit, with the conversation so far.

use std::fmt;

use crate::types::{ChatCompletion, InputItem, Message, ResponseObject, ToolCall};

/// The conversation of a tool loop when it stopped.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ToolConversation {
    /// A chat tool loop (`client.chat().run_tools`).
    Chat {
        /// The request's messages, then every assistant turn and tool result, ending with
        /// the last assistant turn (whose calls are in [`ToolLoopError::pending`]).
        messages: Vec<Message>,
        /// The last completion.
        last: ChatCompletion,
    },
    /// A Responses API tool loop (`client.responses().run_tools`).
    Responses {
        /// The request's input items, then every function call and its output, ending with
        /// the last response's output items.
        input: Vec<InputItem>,
        /// The last response.
        last: ResponseObject,
    },
}

/// The model still asked for tools after `max_rounds` requests:
/// [`Error::ToolLoop`](crate::Error::ToolLoop). Nothing is lost: continue from
/// [`conversation`](Self::conversation) (answer the [`pending`](Self::pending) calls and send
/// it again), or give up.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolLoopError {
    /// The round limit that was reached (requests sent).
    pub max_rounds: u32,
    /// The calls of the last turn, not executed.
    pub pending: Vec<ToolCall>,
    /// The conversation so far.
    pub conversation: ToolConversation,
}

/// At most this many pending calls are named by `Display`, each in at most [`NAME_SHOWN`]
/// characters: the names are the server's text, as many and as long as it likes.
const NAMES_SHOWN: usize = 8;
const NAME_SHOWN: usize = 64;

impl fmt::Display for ToolLoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the model still asked for tools after {} round(s) (the limit):",
            self.max_rounds
        )?;
        for (i, call) in self.pending.iter().take(NAMES_SHOWN).enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            let name = &call.function.name;
            // Escaped, so that a name cannot break the error's one line.
            let shown: String = name.chars().take(NAME_SHOWN).collect();
            write!(f, "{sep}{}", shown.escape_debug())?;
            if shown.len() < name.len() {
                f.write_str("...")?;
            }
        }
        if let Some(more) = self
            .pending
            .len()
            .checked_sub(NAMES_SHOWN)
            .filter(|n| *n > 0)
        {
            write!(f, " and {more} more")?;
        }
        f.write_str("; raise max_rounds or check the tool results")
    }
}

impl std::error::Error for ToolLoopError {}
