//! How a command ends when it does not succeed: the message (one line on stderr) and the exit
//! code (1 for errors, 2 for usage errors, 130 when interrupted).

use std::fmt;

/// Exit code of a run that failed.
pub const EXIT_ERROR: i32 = 1;
/// Exit code of a usage error (a bad argument or input given by the user).
pub const EXIT_USAGE: i32 = 2;
/// Exit code after Ctrl-C (128 + SIGINT), as shells report it.
pub const EXIT_INTERRUPTED: i32 = 130;

/// A command's failure.
#[derive(Debug)]
pub enum Failure {
    /// An error: `error: <message>` on stderr, exit 1.
    Error(String),
    /// Writing the answer to stdout failed (a closed pipe): `error: <message>`, exit 1.
    Output(String),
    /// A usage error: `error: <message>` on stderr, exit 2.
    Usage(String),
    /// The work ended with failures that were already reported (a batch summary): exit 1
    /// with nothing more printed.
    Reported,
    /// Ctrl-C: exit 130 (what there is to say was said).
    Interrupted,
}

impl Failure {
    pub fn error(msg: impl fmt::Display) -> Self {
        Failure::Error(one_line(&msg.to_string()))
    }

    pub fn usage(msg: impl fmt::Display) -> Self {
        Failure::Usage(one_line(&msg.to_string()))
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Error(_) | Failure::Output(_) | Failure::Reported => EXIT_ERROR,
            Failure::Usage(_) => EXIT_USAGE,
            Failure::Interrupted => EXIT_INTERRUPTED,
        }
    }

    /// The line printed on stderr, if any.
    pub fn message(&self) -> Option<&str> {
        match self {
            Failure::Error(m) | Failure::Output(m) | Failure::Usage(m) => Some(m),
            Failure::Reported | Failure::Interrupted => None,
        }
    }
}

/// The library's errors: a bad configuration (base URL, header) or a request that cannot be
/// sent is a usage error, anything else an error. Display never shows the key.
impl From<oai_compat::Error> for Failure {
    fn from(e: oai_compat::Error) -> Self {
        match e {
            oai_compat::Error::Config(_) | oai_compat::Error::InvalidRequest(_) => {
                Failure::usage(e)
            }
            e => Failure::error(e),
        }
    }
}

/// Messages may quote a server's text: keep them to one line, whatever it sent.
pub fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        if c == '\n' || c == '\r' || c == '\t' {
            if !out.ends_with(' ') {
                out.push(' ');
            }
        } else if c.is_control() {
            out.push_str(&c.escape_default().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_without_control_characters() {
        assert_eq!(one_line(" a\r\nb\tc\u{1b}[31m \n"), "a b c\\u{1b}[31m");
        assert_eq!(Failure::error("x\ny").message(), Some("x y"));
        assert_eq!(Failure::usage("u").exit_code(), 2);
        assert_eq!(Failure::Interrupted.exit_code(), 130);
        assert_eq!(Failure::Reported.message(), None);
    }
}
