//! [`ParseError`]: a model's reply that does not decode into the requested Rust type.

use std::fmt;

/// Why a reply could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text is not JSON of the requested type ([`ParseError::message`] is serde's error).
    Invalid,
    /// Generation stopped at the token limit (`finish_reason: length`, or an `incomplete`
    /// response cut by `max_output_tokens`): the JSON is cut off. Raise the limit.
    Truncated,
    /// The reply has no text to parse (e.g. only tool calls).
    Empty,
}

/// A model's reply that does not decode into the requested type, with the text and what
/// went wrong: [`Error::Parse`](crate::Error::Parse).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// The Rust type the reply was parsed into.
    pub target: &'static str,
    /// The reply's text, complete.
    pub text: String,
    /// serde's error for [`ParseErrorKind::Invalid`]; what is missing otherwise.
    pub message: String,
    /// The finish reason (chat) or status (Responses API) of the reply, if the server said.
    pub finish_reason: Option<String>,
}

impl ParseError {
    /// The error of parsing `text` as a `T`.
    pub(crate) fn new<T>(
        kind: ParseErrorKind,
        text: &str,
        message: String,
        finish_reason: Option<String>,
    ) -> ParseError {
        ParseError {
            kind,
            target: std::any::type_name::<T>(),
            text: text.to_owned(),
            message,
            finish_reason,
        }
    }
}

/// At most this many characters of the text are shown by `Display`.
const SHOWN: usize = 200;

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ParseErrorKind::Invalid => write!(
                f,
                "the model's reply is not a valid `{}`: {}",
                self.target, self.message
            )?,
            ParseErrorKind::Truncated => write!(
                f,
                "the model's reply was cut off at the token limit before it was a complete `{}` (raise max_tokens / max_output_tokens)",
                self.target
            )?,
            ParseErrorKind::Empty => {
                write!(
                    f,
                    "the model's reply has no text to parse as `{}`",
                    self.target
                )?;
                if !self.message.is_empty() {
                    write!(f, ": {}", self.message)?;
                }
            }
        }
        if !self.text.is_empty() {
            let shown: String = self.text.chars().take(SHOWN).collect();
            let more = if shown.len() < self.text.len() {
                "..."
            } else {
                ""
            };
            write!(f, "; reply: {shown:?}{more}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}
