//! Cassettes: real answers recorded once, then replayed offline, in both modes, to equal typed
//! values (VCR's idea, as vcrpy, Ruby's VCR and Polly.js have it).
//!
//! [`ClientBuilder::cassette`](crate::ClientBuilder::cassette) puts a cassette file under
//! one place of the call pipeline, where each request (the first or a redirect hop, each
//! retry) would go to the network, so every endpoint is covered, streams included. What is
//! kept, and how a file looks, is in the guide's testing chapter; in short:
//! - a request is matched by method, path and JSON body (see [`Matcher`]); each recorded
//!   answer plays once, in order, so retries replay as they happened;
//! - the answer keeps its status, the headers callers read (request id, rate limits,
//!   `retry-after`), and its body; a stream keeps its pieces with their timing, replayed at
//!   full speed unless [`ClientBuilder::cassette_timing`](crate::ClientBuilder::cassette_timing)
//!   asks for it;
//! - the key is never written: no request header is kept, and the key is redacted from every
//!   body and header value (escaped forms too).

pub(crate) mod format;
mod matcher;
pub(crate) mod recorder;
pub(crate) mod store;
pub(crate) mod tape;

pub use matcher::Matcher;

/// When a cassette records and when it replays (VCR's record modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RecordMode {
    /// Record when the file does not exist, replay only when it does. The default.
    #[default]
    Once,
    /// Replay only: a request without a recorded answer fails with
    /// [`Error::Cassette`](crate::Error::Cassette), and nothing is ever sent. The mode for CI.
    None,
    /// Replay what matches, send and record what does not (appended to the file).
    NewEpisodes,
    /// Send and record everything again (the file is started afresh).
    All,
}

impl RecordMode {
    /// The mode named `once`, `none`, `new_episodes` (or `new-episodes`) or `all`.
    ///
    /// ```
    /// use oai_compat::cassette::RecordMode;
    /// assert_eq!(RecordMode::parse("new_episodes"), Some(RecordMode::NewEpisodes));
    /// assert_eq!(RecordMode::parse("sometimes"), None);
    /// ```
    pub fn parse(name: &str) -> Option<RecordMode> {
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "once" => Some(RecordMode::Once),
            "none" => Some(RecordMode::None),
            "new_episodes" => Some(RecordMode::NewEpisodes),
            "all" => Some(RecordMode::All),
            _ => None,
        }
    }
}
