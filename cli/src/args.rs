//! The command line: global options and one struct per command (clap derive).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand};
use oai_compat::cassette::RecordMode;

/// `oai`: talk to an OpenAI-compatible server (vLLM, OpenAI, llama.cpp, SGLang, LiteLLM,
/// Ollama) from the shell, and run JSONL batches over a fleet of servers.
#[derive(Debug, Parser)]
#[command(name = "oai", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, before or after the command name.
#[derive(Debug, Args)]
pub struct Global {
    /// The server's base URL, e.g. http://127.0.0.1:8000/v1 (an empty path gets /v1)
    /// [default: https://api.openai.com/v1]
    #[arg(long, global = true, env = "OPENAI_BASE_URL", value_name = "URL")]
    pub base_url: Option<String>,
    /// Use --base-url exactly as given: no /v1 is added to an empty path (a server that
    /// serves the API at its root, such as a Prism mock of OpenAI's spec)
    #[arg(long, global = true)]
    pub exact_base_url: bool,
    /// A header sent with every request, as `Name: value` (repeatable)
    #[arg(short = 'H', long = "header", global = true, value_name = "NAME: VALUE",
          value_parser = parse_header, action = ArgAction::Append)]
    pub headers: Vec<(String, String)>,
    /// The API key, sent as `Authorization: Bearer KEY`; none means no such header
    #[arg(
        long,
        global = true,
        env = "OPENAI_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// Seconds a whole non-streamed request (or a stream's wait for its headers) may take
    /// [default: 600]
    #[arg(long, global = true, value_name = "SECS", value_parser = parse_secs)]
    pub timeout: Option<Duration>,
    /// Retries after a failed attempt (429, 5xx, connection errors, timeouts) [default: 2]
    #[arg(long, global = true, value_name = "N")]
    pub max_retries: Option<u32>,
    /// Log the client's requests and retries to stderr (-vv: more); the key is never shown
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Record the calls to this cassette (JSON Lines, one exchange per line, the key never
    /// written), or replay them from it, as --record-mode says
    #[arg(long, global = true, value_name = "FILE")]
    pub cassette: Option<PathBuf>,
    /// once: record when FILE is absent, else replay only; none: replay only (nothing is
    /// sent); new_episodes: replay what matches, record the rest; all: record afresh
    #[arg(long, global = true, value_name = "MODE", default_value = "once",
          value_parser = parse_record_mode, requires = "cassette")]
    pub record_mode: RecordMode,
}

fn parse_record_mode(s: &str) -> Result<RecordMode, String> {
    RecordMode::parse(s)
        .ok_or_else(|| format!("`{s}` is not a record mode: once, none, new_episodes or all"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the models the server serves, one id per line
    Models(ModelsArgs),
    /// Chat: the reply to PROMPT (or to all of stdin), streamed as it arrives
    Chat(ChatArgs),
    /// Text completion of PROMPT (or of all of stdin): the /completions endpoint
    Complete(CompleteArgs),
    /// Embeddings of the TEXT arguments (or of each stdin line), one JSON line per input
    Embed(EmbedArgs),
    /// The Responses API: the reply to PROMPT (or to all of stdin), streamed as it arrives
    Respond(RespondArgs),
    /// Run a JSONL file of requests (OpenAI's Batch format), resumably, over one or more servers,
    /// or on the server's own Batch API with --remote
    Batch(BatchArgs),
    /// Speech to text: the transcript (or with --translate the English translation) of an
    /// audio file, through /audio/transcriptions
    Transcribe(TranscribeArgs),
    /// The server's stored files (/files): upload, list, get, content, delete
    Files(FilesArgs),
    /// Show the history of exchanges (newest last), kept unless --no-log
    Logs(LogsArgs),
    /// Serve the built-in mock server (an OpenAI-compatible test server) until interrupted
    Mock(MockArgs),
}

#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Print the server's list object as one JSON line
    #[arg(long)]
    pub json: bool,
}

/// The model to use: `-m`, else `OAI_MODEL`, else the first model the server lists.
#[derive(Debug, Args)]
pub struct ModelArg {
    /// The model [default: the first model the server lists]
    #[arg(short, long, env = "OAI_MODEL", value_name = "MODEL")]
    pub model: Option<String>,
}

/// Whether an exchange goes to the history (`oai logs`).
#[derive(Debug, Args)]
pub struct LogArg {
    /// Keep this exchange out of the history (also OAI_NO_LOG=1)
    #[arg(long, env = "OAI_NO_LOG", action = ArgAction::SetTrue,
          value_parser = clap::builder::FalseyValueParser::new())]
    pub no_log: bool,
}

/// A chat's use of the history: continuing a conversation, templates.
#[derive(Debug, Args)]
pub struct ChatHistory {
    /// Continue the newest conversation: its messages are sent again before the prompt, and
    /// its model is the default
    #[arg(short = 'c', long = "continue", conflicts_with = "cid")]
    pub continue_last: bool,
    /// Continue the conversation with this id (`oai logs` shows them)
    #[arg(long, value_name = "ID")]
    pub cid: Option<String>,
    /// Use a saved template: its model, system prompt, -o fields, and its prompt text before
    /// the prompt
    #[arg(short = 't', long = "template", value_name = "NAME")]
    pub template: Option<String>,
    /// Save this command's -m, -s, -o and prompt words as the template NAME, send nothing,
    /// and exit
    #[arg(long, value_name = "NAME",
          conflicts_with_all = ["template", "continue_last", "cid", "interactive"])]
    pub save: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// How many exchanges to show, the newest last (0: all)
    #[arg(short = 'n', long = "count", value_name = "N", default_value_t = 3)]
    pub count: u32,
    /// One JSON object per exchange, one a line
    #[arg(long)]
    pub json: bool,
    /// Only the exchanges whose prompt, reply or system prompt contain TEXT
    #[arg(short = 'q', long = "query", value_name = "TEXT")]
    pub query: Option<String>,
    /// Only the exchanges of this conversation
    #[arg(long, value_name = "ID")]
    pub cid: Option<String>,
    /// Print where the history is kept, and exit
    #[arg(long)]
    pub path: bool,
}

/// Sampling options shared by the generation commands.
#[derive(Debug, Args)]
pub struct Sampling {
    /// Sampling temperature
    #[arg(long, value_name = "T", value_parser = parse_temperature)]
    pub temperature: Option<f32>,
    /// The most tokens to generate
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// Wait for the whole reply instead of streaming it
    #[arg(long)]
    pub no_stream: bool,
    /// Print the server's objects as JSON lines instead of the text: each stream event as it
    /// arrives, or with --no-stream (or --schema) the whole response as one line
    #[arg(long)]
    pub json: bool,
    /// A request field, typed where known (top_p, stop, seed, n, logit_bias, vLLM's top_k,
    /// min_p, repetition_penalty ...: --options lists them); any other key is sent as JSON
    /// if it parses, else as text. Repeatable
    #[arg(short = 'o', long = "option", value_names = ["KEY", "VALUE"], num_args = 2,
          action = ArgAction::Append, allow_hyphen_values = true)]
    pub options: Vec<String>,
    /// List the request fields -o knows, and exit
    #[arg(long = "options")]
    pub list_options: bool,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub model: ModelArg,
    /// A system prompt
    #[arg(short, long, value_name = "SYSTEM")]
    pub system: Option<String>,
    #[command(flatten)]
    pub sampling: Sampling,
    /// Structured output: the reply must match this JSON schema (sent strict); it is printed
    /// as one JSON line, and anything that is not JSON fails
    #[arg(long, value_name = "FILE.json")]
    pub schema: Option<PathBuf>,
    /// A chat loop that keeps the conversation; `/exit` or end of input ends it
    #[arg(short, long, conflicts_with_all = ["json", "schema"])]
    pub interactive: bool,
    #[command(flatten)]
    pub history: ChatHistory,
    #[command(flatten)]
    pub log: LogArg,
    /// The prompt (several words are joined with spaces), after what is piped on stdin, as
    /// `llm` does [default: all of stdin]
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompleteArgs {
    #[command(flatten)]
    pub model: ModelArg,
    #[command(flatten)]
    pub sampling: Sampling,
    #[command(flatten)]
    pub log: LogArg,
    /// The prompt (several words are joined with spaces), after what is piped on stdin, as
    /// `llm` does [default: all of stdin]
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EmbedArgs {
    #[command(flatten)]
    pub model: ModelArg,
    /// Ask for vectors of this many dimensions (models that support it)
    #[arg(long, value_name = "N")]
    pub dimensions: Option<u32>,
    /// The most inputs sent in one request
    #[arg(long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch_size: u32,
    /// The texts to embed [default: one per stdin line]
    #[arg(value_name = "TEXT")]
    pub texts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RespondArgs {
    #[command(flatten)]
    pub model: ModelArg,
    /// Instructions (the Responses API's system prompt)
    #[arg(short, long, value_name = "INSTRUCTIONS")]
    pub system: Option<String>,
    #[command(flatten)]
    pub sampling: Sampling,
    /// Structured output: the reply must match this JSON schema (sent strict); it is printed
    /// as one JSON line, and anything that is not JSON fails
    #[arg(long, value_name = "FILE.json")]
    pub schema: Option<PathBuf>,
    #[command(flatten)]
    pub log: LogArg,
    /// The prompt (several words are joined with spaces), after what is piped on stdin, as
    /// `llm` does [default: all of stdin]
    #[arg(value_name = "PROMPT")]
    pub prompt: Vec<String>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct BatchArgs {
    /// `check` or `merge` the outputs of a run's shards (instead of running INPUT)
    #[command(subcommand)]
    pub action: Option<BatchAction>,
    /// The requests: one JSON object per line, {"custom_id", "method": "POST", "url", "body"};
    /// `-` reads stdin
    #[arg(value_name = "INPUT.jsonl", required = true)]
    pub input: Option<PathBuf>,
    /// The results, one JSON line per request in completion order; rerunning with the same
    /// file skips what it already holds and appends. It must be a regular file (`-`: stdout,
    /// without resume); one run at a time writes it (a second stops at once)
    #[arg(short, long, value_name = "OUTPUT.jsonl", required = true)]
    pub output: Option<PathBuf>,
    /// Run only this shard's lines: K/N (K from 1 to N), a stable split by custom_id, so a
    /// shard is the same on every rerun and resumes on its own output. `auto` takes K and N
    /// from a Slurm job array (SLURM_ARRAY_TASK_ID, _MIN, _COUNT); `auto/N` takes K from
    /// Kubernetes' JOB_COMPLETION_INDEX (or Slurm's) and N as given
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// The most requests in flight at once. Below it the runner finds what the server
    /// accepts: it starts at 8, halves on 429/503 (waiting the server's Retry-After) and grows
    /// back while answers are good
    #[arg(short, long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Start at most N requests a minute, evenly spread (a server's published request limit)
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub rpm: Option<u64>,
    /// Start at most N tokens' worth of requests a minute, evenly spread; a line counts its
    /// max_completion_tokens (or max_tokens, max_output_tokens) plus its body's bytes / 4
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=10_000_000_000))]
    pub tpm: Option<u64>,
    /// Spread the lines over these servers by model, with failover (repeatable or
    /// comma-separated) [default: every line goes to --base-url]
    #[arg(
        long = "backend",
        value_name = "URL",
        env = "OAI_COMPAT_BACKENDS",
        value_delimiter = ','
    )]
    pub backends: Vec<String>,
    /// Run again the lines whose result in the output file is a failure (the file is
    /// rewritten so that each custom_id keeps only its latest result); with --remote, in a
    /// new remote batch once the recorded one was collected
    #[arg(long)]
    pub retry_failed: bool,
    /// Run INPUT on the server's Batch API instead of sending its lines: upload it (/files),
    /// create a batch (/batches), wait for it, and write its results to OUTPUT in the same
    /// format as a local run (every custom_id once; one the batch lost gets an error line).
    /// The batch id is kept in OUTPUT.remote.json, so rerunning the same command resumes the
    /// same batch rather than paying for a new one; with --retry-failed, once it was
    /// collected, a new batch runs the lines that failed or are missing
    #[arg(long, conflicts_with_all = ["shard", "rpm", "tpm"])]
    pub remote: bool,
    /// With --remote: seconds between two looks at the batch's status (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = parse_secs,
          requires = "remote")]
    pub poll_interval: Duration,
    /// With --remote: cancel the remote batch this OUTPUT belongs to (its finished lines can
    /// still be collected by rerunning without --cancel)
    #[arg(long, requires = "remote")]
    pub cancel: bool,
}

/// What `oai batch` does with the outputs of a sharded run.
#[derive(Debug, Subcommand)]
pub enum BatchAction {
    /// Say, per custom_id of INPUT, whether the outputs hold it done once, failed, missing or
    /// duplicated; exits 0 only when every line is done once
    Check(BatchCheckArgs),
    /// Join outputs into one file, one line per custom_id (a success wins over a failure; of
    /// two alike, the later file's)
    Merge(BatchMergeArgs),
}

#[derive(Debug, Args)]
pub struct BatchCheckArgs {
    /// The requests the outputs answer (`-` reads stdin)
    #[arg(value_name = "INPUT.jsonl")]
    pub input: PathBuf,
    /// The outputs of the shards (or of one run)
    #[arg(value_name = "OUTPUT.jsonl", required = true)]
    pub outputs: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BatchMergeArgs {
    /// The outputs to join, in order
    #[arg(value_name = "OUTPUT.jsonl", required = true)]
    pub outputs: Vec<PathBuf>,
    /// The merged file (`-`: stdout); written whole, then moved into place
    #[arg(short, long, value_name = "MERGED.jsonl")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct TranscribeArgs {
    /// The audio file (mp3, wav, flac, m4a, ogg, webm ...); `-` reads stdin
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The model (whisper-1, gpt-4o-transcribe, a vLLM Whisper ...) [default: the first
    /// model the server lists]
    #[arg(short, long, value_name = "MODEL")]
    pub model: Option<String>,
    /// The audio's language (ISO-639-1, e.g. en), which helps accuracy and speed (with
    /// --translate: the language translated from, which vLLM reads and OpenAI does not take)
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
    /// Text to guide the model's style, or to continue a previous segment
    #[arg(long, value_name = "TEXT")]
    pub prompt: Option<String>,
    /// What to print: the text, JSON, SubRip or WebVTT subtitles, or JSON with segments
    #[arg(long, value_name = "FORMAT", default_value = "text",
          value_parser = ["text", "json", "verbose_json", "srt", "vtt"])]
    pub format: String,
    /// Sampling temperature (0 to 1)
    #[arg(long, value_name = "T", value_parser = parse_temperature)]
    pub temperature: Option<f32>,
    /// Translate the speech into English (/audio/translations) instead of transcribing it
    #[arg(long, conflicts_with = "stream")]
    pub translate: bool,
    /// Print the text as the server sends it (text or json format only; with json, each
    /// event as one JSON line)
    #[arg(long)]
    pub stream: bool,
    /// The file name sent with the audio, whose extension tells the server its format
    /// [default: FILE's name; `audio.wav` for stdin]
    #[arg(long, value_name = "NAME")]
    pub filename: Option<String>,
    /// Write the answer to this file instead of stdout (written beside it, then moved into
    /// place: a failure never leaves half of it)
    #[arg(short, long, value_name = "OUT", conflicts_with = "stream")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    #[command(subcommand)]
    pub action: FilesAction,
}

#[derive(Debug, Subcommand)]
pub enum FilesAction {
    /// Upload PATH (streamed from disk; `-` reads stdin) and print the file object as JSON
    Upload(FilesUploadArgs),
    /// List the stored files: `ID PURPOSE BYTES FILENAME` per line (--json: one object a line)
    List(FilesListArgs),
    /// Print one file's object as JSON
    Get(FileIdArg),
    /// Write a file's content to stdout, or to -o FILE (streamed, never held whole)
    Content(FilesContentArgs),
    /// Delete a file and print the server's answer as JSON
    Delete(FileIdArg),
}

#[derive(Debug, Args)]
pub struct FilesUploadArgs {
    /// The file to upload (`-`: stdin)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// What the file is for: batch, fine-tune, assistants, vision, user_data, evals (or any
    /// other word the server knows)
    #[arg(long, value_name = "PURPOSE", default_value = "batch")]
    pub purpose: String,
    /// The file name sent [default: PATH's name; `stdin` for stdin]
    #[arg(long, value_name = "NAME")]
    pub filename: Option<String>,
}

#[derive(Debug, Args)]
pub struct FilesListArgs {
    /// Only the files with this purpose
    #[arg(long, value_name = "PURPOSE")]
    pub purpose: Option<String>,
    /// The most files in one page (the server's default when not given)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: Option<u32>,
    /// Follow the pages to the end (else only the first page)
    #[arg(long)]
    pub all: bool,
    /// One file object a line, as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct FileIdArg {
    /// The file's id (file-...)
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct FilesContentArgs {
    /// The file's id (file-...)
    #[arg(value_name = "ID")]
    pub id: String,
    /// Write it to this file (written beside it, then moved into place: a failure never
    /// leaves a partial file under this name) [default: stdout]
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MockArgs {
    /// The port to listen on (0: any free port)
    #[arg(long, value_name = "P", default_value_t = 0)]
    pub port: u16,
    /// The loopback address to listen on (the mock has no authentication)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1", value_parser = parse_loopback)]
    pub host: IpAddr,
    /// Answer from this cassette (recorded with --cassette or ClientBuilder::cassette) instead
    /// of the built-in answers: each request gets its recorded answer, streams included; one
    /// with none gets a 404 naming the closest recorded request
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// With --replay: keep a stream's recorded pauses between its pieces [default: at once]
    #[arg(long, requires = "replay")]
    pub replay_timing: bool,
    /// Answer at most N requests at once; more get 429 with `retry-after: 1` (their count is
    /// printed on stderr at exit) [default: no limit]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: Option<u32>,
    /// Wait this many milliseconds before each answer (a server's service time)
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,
}

/// Seconds as a positive, finite number (fractions allowed) that a `Duration` can hold.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if v.is_nan() || v <= 0.0 {
        return Err(format!("`{s}` must be more than 0 seconds"));
    }
    Duration::try_from_secs_f64(v).map_err(|_| format!("`{s}` seconds is too long"))
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("`{s}` is not a header: write it as `Name: value`")),
    }
}

fn parse_temperature(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(t) if t.is_finite() && t >= 0.0 => Ok(t),
        _ => Err(format!(
            "`{s}` is not a temperature (a number of 0 or more)"
        )),
    }
}

fn parse_loopback(s: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = if s.eq_ignore_ascii_case("localhost") {
        IpAddr::from([127, 0, 0, 1])
    } else {
        s.parse()
            .map_err(|_| format!("`{s}` is not an IP address (e.g. 127.0.0.1)"))?
    };
    if !ip.is_loopback() {
        return Err(format!(
            "`{s}` is not a loopback address: the mock server has no authentication, so it only listens on 127.0.0.1, ::1 or another loopback address"
        ));
    }
    Ok(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seconds_are_checked() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-1", "nan", "inf", "1e300", "x", ""] {
            assert!(parse_secs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn temperatures_are_checked() {
        assert_eq!(parse_temperature("0.7"), Ok(0.7));
        for bad in ["-0.1", "NaN", "inf", "warm"] {
            assert!(parse_temperature(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_mock_only_listens_on_loopback() {
        assert_eq!(
            parse_loopback("localhost"),
            Ok(IpAddr::from([127, 0, 0, 1]))
        );
        assert!(parse_loopback("::1").is_ok());
        assert!(parse_loopback("0.0.0.0").unwrap_err().contains("loopback"));
        assert!(parse_loopback("example.com").is_err());
    }
}
