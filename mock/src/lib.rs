//! # oai-compat-mock
//!
//! An OpenAI-compatible mock server for tests, in any language: `std` threads, no async runtime.
//! It is the test server of the `oai-compat` client (re-exported there as `oai_compat_mock`
//! with the `mock` feature) and of the `oai mock` command.
//!
//! [`MockServer::start`] binds `127.0.0.1` on a free port and answers
//! HTTP/1.1 like a small vLLM server: `/v1/models`, `/v1/chat/completions`,
//! `/v1/completions`, `/v1/embeddings`, `/v1/responses` (streaming included),
//! `/v1/audio/transcriptions` and `/v1/audio/translations`, and vLLM's
//! `/health`, `/version`, `/tokenize` and `/detokenize`. The answers are
//! deterministic functions of the request, so tests can assert on them.
//!
//! It runs on plain `std` threads: no async runtime is needed or started, so
//! the same test can drive the blocking client from `#[test]` or the async
//! client from `#[tokio::test]`. Dropping the server stops it, ending every
//! connection (hanging replies included) at once.
//!
//! # Scripting replies
//!
//! Replies queued with [`MockServer::enqueue`] answer the next requests, in
//! order, whatever their path; once the queue is empty the built-in answers
//! take over. A [`Reply`] can be an ordinary JSON answer or error, an SSE
//! stream written event by event, or a fault: a slow or never-answering
//! server, a connection closed before the headers or in the middle of a
//! body, a body trickled byte by byte. Every request is recorded
//! ([`MockServer::requests`]) and every accepted connection counted
//! ([`MockServer::connections`]).
//!
//! | to test | script |
//! | --- | --- |
//! | an API error, a retry hint | `Reply::error(429, "slow down").header("retry-after", "1")` |
//! | a retry that then succeeds | `enqueue_all([Reply::error(503, "busy"), Reply::default_answer()])` |
//! | a server that never answers (request timeout) | `Reply::hang()` |
//! | slow headers | `Reply::default_answer().delay(Duration::from_secs(3))` |
//! | a connection closed before any header | `Reply::reset()` |
//! | a body or stream cut in the middle | `Reply::json(200, body).cut()`, `Reply::sse().event(..).cut()` |
//! | a stale pooled connection | `Reply::json(200, body).disconnect()` |
//! | a slow body, chunk timing | `.trickle(d)`, `.pause(d)` between events |
//! | odd SSE framing (CRLF, comments, split UTF-8) | `Reply::sse().raw(bytes)` |
//!
//! The mock speaks plain HTTP, so any client works. With the `oai-compat` client see
//! `oai_compat_mock` (the library re-exports this crate under its `mock` feature); with only `std`:
//!
//! ```
//! use std::io::{Read, Write};
//! use oai_compat_mock::MockServer;
//!
//! # fn main() -> std::io::Result<()> {
//! let server = MockServer::start()?;
//! let mut stream = std::net::TcpStream::connect(server.addr())?;
//! stream.write_all(b"GET /v1/models HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")?;
//! let mut response = String::new();
//! stream.read_to_string(&mut response)?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.contains(r#""id":"mock-model""#));
//! assert_eq!(server.request_count(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # The built-in answers
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /v1/models` | a model list with the ids of [`MockServer::set_models`] (default `["mock-model"]`), vLLM fields included (`owned_by: "vllm"`, `root`, `max_model_len: 2048`) |
//! | `POST /v1/chat/completions` | a `chat.completion` whose content is `"Mock reply to: "` followed by the words of the last user message |
//! | `POST /v1/completions` | a `text_completion` whose text is `"Mock reply to: "` followed by the words of the prompt |
//! | `POST /v1/embeddings` | one vector per input, 8 dimensions (or `dimensions`), L2-normalised, a function of the input text |
//! | `POST /v1/responses` | a Responses API `response` whose output message says `"Mock reply to: "` followed by the words of the input (a string, or the last user message of a list) |
//! | `GET /v1/responses/{id}`, `POST /v1/responses/{id}/cancel` | vLLM's 404 ``{"error":{"message":"Response with id '<id>' not found.",...,"param":"response_id","code":404}}``, as vLLM answers without a response store (its default); `DELETE /v1/responses/{id}` gets `405` and `/input_items` `404`, as vLLM has no such routes |
//! | `POST /v1/files` (multipart: `purpose`, `file`), `GET /v1/files` (`purpose`, `limit`, `after`, `order`), `GET /v1/files/{id}`, `GET /v1/files/{id}/content`, `DELETE /v1/files/{id}` | OpenAI's Files API; files (`file-mock-N`) are kept in memory, at most 10,000 and 1 GiB together; an unknown id gets `404` ``{"error":{"message":"No such File object: <id>","type":"invalid_request_error",...}}`` |
//! | `POST /v1/batches`, `GET /v1/batches` (`after`, `limit`), `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel` | OpenAI's Batch API. A batch (`batch_mock_N`) runs when it is created: each line of its input file (purpose `batch`) is answered by the built-in answer for its `url`, the answers written to an output file (`{"id":"batch_req_..","custom_id":..,"response":{"status_code":200,"request_id":..,"body":{..}},"error":null}`) and the failures to an error file (an error answer in `response`, a line that could not be sent with `response: null` and an `error` code: `invalid_json_line`, `invalid_url`, `duplicate_custom_id`, ...); it is `completed` at once, or `in_progress` for a few polls with [`MockServer::set_batch_polls`]; an empty input file makes it `failed` |
//! | `POST /v1/audio/transcriptions`, `POST /v1/audio/translations` | a multipart form with a `file` part and a `model`; the transcript is `"Mock transcription of <filename>, <size> bytes."` (`translation` for translations), the audio lasting `size / 32000` seconds; see *Audio* below |
//! | `GET /health` | `200` with an empty body |
//! | `GET /version` | `{"version":"0.0.0-mock"}` |
//! | `POST /tokenize`, `POST /detokenize` | vLLM's shapes; one token per whitespace-separated word |
//! | anything else | `404 {"detail":"Not Found"}` (FastAPI's answer; `GET /v1/models/{id}` included, as in vLLM); a known path with another method gets `405 {"detail":"Method Not Allowed"}` |
//!
//! Details of the generation endpoints:
//!
//! * **Words are tokens.** Text is split on whitespace; the reply is the
//!   words of `"Mock reply to: <text>"` joined by single spaces. Usage counts
//!   words: `prompt_tokens` is the number of words in all messages' text
//!   (or in the prompt; the number of ids for a token-id prompt),
//!   `completion_tokens` the number of words generated, summed over choices.
//! * **Limits.** `max_completion_tokens` (else `max_tokens`) cuts the reply
//!   to that many words, with `finish_reason: "length"`; otherwise
//!   `"stop"`. The context is 2048 words, as `max_model_len` says: a prompt
//!   of 2048 words or more, or a prompt plus `max_tokens` over 2048, gets
//!   vLLM's 400 "maximum context length" error; the reply is also cut to fit.
//! * **Choices.** `n` choices (1 to 128), indices `0..n`, all with the same
//!   content. For `/v1/completions`, a list of prompts gives `n` choices per
//!   prompt, choice `i * n + j` for prompt `i`.
//! * **Tools.** With `tools`, the answer calls functions instead of
//!   answering with text (`content: null`, `finish_reason: "tool_calls"`;
//!   `function_call` output items for `/v1/responses`) when:
//!   - `tool_choice` names a function (`{"type":"function","function":{"name":..}}`,
//!     or the Responses API's `{"type":"function","name":..}`): that
//!     function, on every turn;
//!   - `tool_choice` is `"required"`: the tools named in the prompt, else the
//!     first tool;
//!   - `tool_choice` is `"auto"` or absent: every tool whose name appears in
//!     the last user message (the prompt *asks* for it, e.g. "use
//!     get_weather"), in the order of `tools`, as parallel calls. Once the
//!     conversation ends with tool results (`role: "tool"` messages, or
//!     `function_call_output` items), the answer is text again:
//!     `"Mock reply to: "` followed by the words of those results.
//!
//!   `"none"` never calls. The arguments are a JSON object of the tool's
//!   `parameters` schema with its *required* properties (see JSON below),
//!   `{}` when there are none.
//! * **JSON schema.** A `response_format` of type `json_schema` (chat) or a
//!   `text.format` of type `json_schema` (Responses API) makes the content
//!   compact JSON matching the schema, every property filled: strings
//!   `"mock"` (or the first `enum` value, or the `const`), integers and
//!   numbers their `minimum` (else 0 within the bounds), booleans `true`,
//!   arrays `minItems` items (at least one), `anyOf`/`oneOf` their first
//!   non-null choice, local `$ref`s followed. Tokens are runs of 4
//!   characters, so `max_tokens` / `max_output_tokens` cut the JSON (with
//!   `finish_reason: "length"` / `status: "incomplete"`), as a real model's
//!   cut-off JSON.
//! * **Logprobs.** Chat with `logprobs: true` gets `logprobs.content` with one
//!   entry per token and `top_logprobs` alternatives; completions with
//!   `logprobs: N` get `tokens`, `token_logprobs`, `top_logprobs` and
//!   `text_offset`. A token is a word with the whitespace after it, so the
//!   tokens concatenate to the text.
//! * **Completions.** `prompt` may be a string, a list of strings, a list of
//!   token ids or a list of such lists (ids are turned back into words as by
//!   `/detokenize`); `echo: true` puts the prompt (and a space) before the
//!   generated text.
//! * **Streaming.** With `"stream": true` the answer is an SSE stream as vLLM
//!   sends it: for chat, a first chunk per choice with `delta:
//!   {"role":"assistant","content":""}`, one chunk per token (`"word "`),
//!   then a chunk with `finish_reason` and an empty `delta`; with
//!   `stream_options: {"include_usage": true}`, a last chunk with `choices:
//!   []` and `usage`; then `data: [DONE]`. Tool calls stream as `tool_calls`
//!   deltas: `index`, `id`, `type` and `function.name` first, then the
//!   `arguments` in fragments. Concatenating the streamed `content` (or
//!   `text`) gives exactly the non-streamed one.
//! * **Responses API streaming.** With `"stream": true`, `/v1/responses`
//!   sends named events (`event: response.output_text.delta` with the same
//!   `type` in the data and a growing `sequence_number`) in vLLM's order:
//!   `response.created`, `response.in_progress`, `response.output_item.added`,
//!   `response.content_part.added`, one `response.output_text.delta` per
//!   token, `response.output_text.done`, `response.content_part.done`,
//!   `response.output_item.done`, `response.completed`; function calls
//!   stream as `response.function_call_arguments.delta`/`.done`. No
//!   `[DONE]`. Like vLLM (and unlike OpenAI, which sends
//!   `response.incomplete`), a response cut by `max_output_tokens` ends with
//!   `response.completed` carrying `status: "incomplete"` and
//!   `incomplete_details.reason: "max_output_tokens"`.
//! * **Audio.** `response_format` `json` (the default) answers `{"text", "usage":
//!   {"type": "duration", "seconds"}}` (no usage for translations), and so does `text`, as
//!   vLLM does; `srt` and `vtt` (which vLLM refuses) plain-text subtitles of segments of 4
//!   words, the duration shared out by words; `verbose_json` vLLM's shape (`duration`,
//!   `language`: the request's or `"en"`, `text`, `segments` with `tokens`,
//!   `avg_logprob`, ..., `words: null`), with timed `words` for
//!   `timestamp_granularities[]=word` (which vLLM ignores). Any other format gets `400`. With `stream=true`, vLLM's chunks (one per word, `object`
//!   `transcription.chunk` or `translation.chunk`, then one of no text with
//!   `finish_reason: "stop"`), a usage chunk with `stream_include_usage=true` (and running
//!   usage on every chunk with `stream_continuous_usage_stats=true` too), then `[DONE]`; or OpenAI's events (see
//!   [`MockServer::set_openai_transcription_stream`]). As vLLM: `verbose_json` with
//!   `stream`, and stream options without it, get `400`. A missing `file` or `model`, a
//!   `file` sent as a text field, or a body that is not multipart gets `400`.
//! * **Ids and headers.** `id` is `chatcmpl-mock-N`, `cmpl-mock-N` or
//!   `embd-mock-N` with a per-server counter; `model` is echoed. Every
//!   built-in answer has an `x-request-id` header: the request's own
//!   `x-request-id` echoed, or a generated `mock-req-N`.
//! * **Errors.** A model not in the list gets vLLM's `404`
//!   ``{"error":{"message":"The model `x` does not exist.","type":"NotFoundError","param":"model","code":404}}``;
//!   a body that is not a JSON object gets `400` with `"type":"BadRequestError"`;
//!   a missing `model`, `messages`, `prompt` or `input`, or an invalid
//!   parameter, gets `400` with `param` naming it. With
//!   [`MockServer::set_api_key`], `/v1/*` requests without
//!   `authorization: Bearer <key>` get vLLM's `401 {"error":"Unauthorized"}`.
//!
//! # Protocol
//!
//! HTTP/1.1 with keep-alive: a connection serves requests until the client
//! or the reply asks to close it, or it has been idle for 10 seconds.
//! Request bodies may be sent with `content-length` or chunked; `Expect:
//! 100-continue` is answered with `100 Continue` before the body is read.
//! Heads over 64 KiB get `431`, bodies over 64 MiB get `413`, malformed
//! requests get `400`; each of these closes the connection and uses no
//! scripted reply (a `413` request is still recorded, with an empty body).
//! `HEAD` requests get a body like `GET`, so are not supported.
//!
//! Everything is bounded: at most 512 connections are served at once (more
//! are closed on accept), 100,000 requests per connection (the last answer
//! says `connection: close`), and a built-in answer refuses with `400`
//! more than 10,000 completion choices, 4 Mi embedding values or 1 Mi
//! token ids. Only a loopback address (`127.0.0.1` unless
//! [`MockServer::start_on`] says otherwise) is ever bound.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod audio;
mod batches;
mod cassette;
mod common;
mod conn;
mod defaults;
mod files;
mod http;
mod limit;
mod multipart;
mod reply;
mod request;
mod responses;
mod schema;
#[cfg(test)]
mod tests;
mod text;
mod tools;

pub use multipart::FormPart;
pub use reply::Reply;
pub use request::RecordedRequest;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How long [`MockServer`]'s drop waits for its threads to end.
const STOP_WAIT: Duration = Duration::from_secs(2);
/// At most this many connections are served at once; more are closed at once.
const MAX_LIVE_CONNECTIONS: usize = 512;

/// An OpenAI-compatible HTTP/1.1 server on `127.0.0.1`, for tests.
///
/// See the [module docs](self) for what it answers. It is `Send + Sync`:
/// share it by reference (or in an `Arc`) with the code under test.
/// Dropping it stops it: the listening socket and every connection are
/// closed, and all its threads end promptly.
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

/// State shared by the server handle, the accept thread and the connection threads.
struct Shared {
    /// Mirror of `Live::stopped` for lock-free checks.
    stopped: AtomicBool,
    /// Live connections and threads; with `wake`, also the stop-aware sleeps.
    live: Mutex<Live>,
    /// Notified on stop and whenever a thread ends.
    wake: Condvar,
    script: Mutex<Script>,
    connections: AtomicUsize,
    models: Mutex<Vec<String>>,
    api_key: Mutex<Option<String>>,
    counter: AtomicU64,
    /// Words seen by the tokenizer, by id, so `/detokenize` can turn ids back into words.
    vocab: Mutex<HashMap<u32, String>>,
    /// How many requests may be answered at once ([`MockServer::set_max_in_flight`]).
    limit: limit::Limit,
    /// How long each answer waits before its head ([`MockServer::set_latency`]).
    latency: Mutex<Duration>,
    /// The uploaded files (`/v1/files`), batch output files included.
    files: Mutex<files::Store>,
    /// The batches (`/v1/batches`) and [`MockServer::set_batch_polls`].
    batches: Mutex<batches::Store>,
    /// Stream transcriptions as OpenAI does
    /// ([`MockServer::set_openai_transcription_stream`]).
    openai_transcription_stream: AtomicBool,
}

/// Connections being served and threads running.
struct Live {
    stopped: bool,
    next_id: u64,
    /// A clone of each connection's socket, to shut it down on stop.
    streams: HashMap<u64, TcpStream>,
    threads: usize,
}

/// The scripted replies and the record of requests, under one lock so the
/// n-th request recorded is the one that took the n-th reply.
struct Script {
    queue: VecDeque<Reply>,
    requests: Vec<RecordedRequest>,
    /// Answers every request the queue does not, when set ([`MockServer::replay`]).
    cassette: Option<cassette::Cassette>,
}

/// The time now, Unix seconds (`0` on a clock before 1970).
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Locks a mutex, ignoring poisoning (the data stays consistent: every
/// critical section is a few plain assignments).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn new() -> Shared {
        Shared {
            stopped: AtomicBool::new(false),
            live: Mutex::new(Live {
                stopped: false,
                next_id: 0,
                streams: HashMap::new(),
                threads: 0,
            }),
            wake: Condvar::new(),
            script: Mutex::new(Script {
                queue: VecDeque::new(),
                requests: Vec::new(),
                cassette: None,
            }),
            connections: AtomicUsize::new(0),
            models: Mutex::new(vec!["mock-model".to_owned()]),
            api_key: Mutex::new(None),
            counter: AtomicU64::new(0),
            vocab: Mutex::new(HashMap::new()),
            limit: limit::Limit::default(),
            latency: Mutex::new(Duration::ZERO),
            files: Mutex::new(files::Store::default()),
            batches: Mutex::new(batches::Store::default()),
            openai_transcription_stream: AtomicBool::new(false),
        }
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Sleeps `d`, or less if the server stops: `true` if the whole time passed. A `d` too
    /// long for a deadline (`Duration::MAX`) waits until the server stops.
    fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now().checked_add(d);
        let mut live = lock(&self.live);
        loop {
            if live.stopped {
                return false;
            }
            let now = Instant::now();
            let wait = match deadline {
                Some(deadline) if now >= deadline => return true,
                Some(deadline) => deadline - now,
                // Woken on stop; the hour only bounds a spurious wake-up's cost.
                None => Duration::from_secs(3600),
            };
            live = self
                .wake
                .wait_timeout(live, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Counts a new thread, and registers its connection's socket (if any)
    /// for shutdown on stop. `None` when the server is stopping or full.
    fn enter(self: &Arc<Self>, stream: Option<&TcpStream>) -> Option<ThreadGuard> {
        let mut live = lock(&self.live);
        if live.stopped {
            return None;
        }
        let mut id = None;
        if let Some(stream) = stream {
            if live.streams.len() >= MAX_LIVE_CONNECTIONS {
                return None;
            }
            let clone = stream.try_clone().ok()?;
            live.next_id += 1;
            let next = live.next_id;
            live.streams.insert(next, clone);
            id = Some(next);
        }
        live.threads += 1;
        Some(ThreadGuard {
            shared: Arc::clone(self),
            stream: id,
        })
    }

    /// Records a request and takes the next scripted reply, if any. Returns
    /// a copy of the request when the built-in answer is needed.
    fn record(&self, request: RecordedRequest) -> (Option<Reply>, Option<RecordedRequest>) {
        let mut script = lock(&self.script);
        let mut reply = script.queue.pop_front();
        if reply.is_none() {
            reply = script.cassette.as_mut().map(|c| c.answer(&request));
        }
        let needs_request = reply.as_ref().is_none_or(Reply::is_default);
        let copy = needs_request.then(|| request.clone());
        script.requests.push(request);
        (reply, copy)
    }

    /// The next value of the per-server counter (ids), from 1.
    fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Held by each server thread: on drop (thread end, panic included) it
/// unregisters the thread and its socket and wakes a waiting drop.
struct ThreadGuard {
    shared: Arc<Shared>,
    stream: Option<u64>,
}

impl Drop for ThreadGuard {
    fn drop(&mut self) {
        let mut live = lock(&self.shared.live);
        if let Some(id) = self.stream {
            live.streams.remove(&id);
        }
        live.threads = live.threads.saturating_sub(1);
        self.shared.wake.notify_all();
    }
}

impl MockServer {
    /// Binds `127.0.0.1` on a free port and starts serving on a background thread.
    ///
    /// ```
    /// use oai_compat_mock::MockServer;
    ///
    /// let server = MockServer::start()?;
    /// assert!(server.url().starts_with("http://127.0.0.1:"));
    /// assert!(server.url().ends_with("/v1"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the socket cannot be bound or the thread cannot be spawned.
    pub fn start() -> std::io::Result<MockServer> {
        MockServer::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
    }

    /// Binds `ip:port` and starts serving, like [`MockServer::start`]; port `0` picks a
    /// free port. For a server at a known address (the `oai mock --port P` command).
    ///
    /// ```
    /// use std::net::{IpAddr, Ipv4Addr};
    /// use oai_compat_mock::MockServer;
    ///
    /// let server = MockServer::start_on(IpAddr::V4(Ipv4Addr::LOCALHOST), 0)?;
    /// assert!(server.url().starts_with("http://127.0.0.1:"));
    /// // Only loopback addresses are served: the mock has no authentication.
    /// assert!(MockServer::start_on(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0).is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When `ip` is not a loopback address (`InvalidInput`), the socket cannot be bound
    /// (e.g. the port is taken) or the thread cannot be spawned.
    pub fn start_on(ip: IpAddr, port: u16) -> std::io::Result<MockServer> {
        if !ip.is_loopback() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "the mock server only listens on a loopback address (e.g. 127.0.0.1), not {ip}"
                ),
            ));
        }
        let listener = TcpListener::bind((ip, port))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new());
        let guard = shared
            .enter(None)
            .ok_or_else(|| std::io::Error::other("mock server stopped"))?;
        let accept_shared = Arc::clone(&shared);
        thread::Builder::new()
            .name("oai-mock-accept".to_owned())
            .spawn(move || {
                let _guard = guard;
                conn::accept_loop(&listener, &accept_shared);
            })?;
        Ok(MockServer { shared, addr })
    }

    /// The OpenAI-style base URL, `http://127.0.0.1:PORT/v1`: give it to a
    /// client as its base URL.
    pub fn url(&self) -> String {
        format!("{}/v1", self.root_url())
    }

    /// The server's root, `http://127.0.0.1:PORT` (vLLM serves `/health`,
    /// `/version`, `/tokenize` and `/detokenize` there).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers requests from a cassette file (JSON Lines as `oai_compat`'s
    /// `ClientBuilder::cassette` records them) instead of the built-in answers: each request
    /// gets the first recorded answer not played yet with the same method, path and JSON body
    /// (without `user` and `stream_options`), or for an upload the same form fields and files
    /// (names and sizes, parts in any order, content types not compared); one with none gets
    /// a 404 (`cassette_miss`) that names the closest recorded request. Streams are sent piece by piece, at once, or with
    /// the recorded pauses when `timing`. Enqueued replies still come first.
    ///
    /// ```no_run
    /// let server = oai_compat_mock::MockServer::start()?;
    /// server.replay(std::path::Path::new("tests/cassettes/chat.jsonl"), false)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn replay(&self, path: &std::path::Path, timing: bool) -> std::io::Result<()> {
        let cassette = cassette::Cassette::load(path, timing)?;
        lock(&self.shared.script).cassette = Some(cassette);
        Ok(())
    }

    /// Queues a scripted reply: the next request without one (on any path,
    /// any connection) gets it. Replies are used first in, first out; when
    /// none is left, the built-in answers are given.
    pub fn enqueue(&self, reply: Reply) {
        lock(&self.shared.script).queue.push_back(reply);
    }

    /// Queues several scripted replies, in order.
    ///
    /// ```
    /// use oai_compat_mock::{MockServer, Reply};
    ///
    /// let server = MockServer::start()?;
    /// // Two failures, then the built-in answer, then the built-in answers go on.
    /// server.enqueue_all([Reply::error(503, "busy"), Reply::reset(), Reply::default_answer()]);
    /// assert_eq!(server.pending(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn enqueue_all(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.shared.script).queue.extend(replies);
    }

    /// The number of scripted replies not used yet.
    pub fn pending(&self) -> usize {
        lock(&self.shared.script).queue.len()
    }

    /// Every request received so far, in the order they were read.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.script).requests.clone()
    }

    /// The number of requests received so far.
    pub fn request_count(&self) -> usize {
        lock(&self.shared.script).requests.len()
    }

    /// The number of TCP connections accepted so far (e.g. `1` after several
    /// requests proves that the client reused a pooled connection).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Sets the model ids the built-in answers know (default `["mock-model"]`):
    /// `GET /v1/models` lists them, and the generation endpoints answer `404`
    /// for any other model.
    pub fn set_models(&self, ids: impl IntoIterator<Item = impl Into<String>>) {
        *lock(&self.shared.models) = ids.into_iter().map(Into::into).collect();
    }

    /// Makes every answer (built-in and scripted) wait `d` before its head, on top of any
    /// [`Reply::delay`], like a server that takes this long per request. Each request waits
    /// on its own, so concurrent requests overlap, and holds its
    /// [`set_max_in_flight`](MockServer::set_max_in_flight) slot meanwhile (a refusal does
    /// not wait). Dropping the server ends the wait at once; `Duration::MAX` waits until
    /// then. Default zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = oai_compat_mock::MockServer::start()?;
    /// server.set_latency(Duration::from_millis(20));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_latency(&self, d: Duration) {
        *lock(&self.shared.latency) = d;
    }

    /// Stores a file as if it had been uploaded to `POST /v1/files`, and returns its id:
    /// for tests that need a file (a batch's input) without uploading it.
    ///
    /// ```
    /// let server = oai_compat_mock::MockServer::start()?;
    /// let id = server.add_file("requests.jsonl", "batch", b"{}\n".to_vec())?;
    /// assert!(id.starts_with("file-"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// When the server already keeps 10,000 files, or 1 GiB with this one.
    pub fn add_file(
        &self,
        filename: &str,
        purpose: &str,
        data: Vec<u8>,
    ) -> std::io::Result<String> {
        match lock(&self.shared.files).add(filename, purpose, data) {
            Ok(object) => Ok(object["id"].as_str().unwrap_or_default().to_owned()),
            Err(_) => Err(std::io::Error::other(
                "the mock server keeps at most 10,000 files and 1 GiB",
            )),
        }
    }

    /// Makes each batch created from now on look `in_progress` (no output file yet, request
    /// counts at zero) to its creation and to its first `n` retrieves, so that polling code
    /// can be tested; the next retrieve sees it `completed`. While it looks in progress it
    /// can be cancelled (`cancelling`, then `cancelled` on the next retrieve). Default `0`:
    /// a batch is `completed` as soon as it is created.
    ///
    /// ```
    /// let server = oai_compat_mock::MockServer::start()?;
    /// server.set_batch_polls(2);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_batch_polls(&self, n: u32) {
        lock(&self.shared.batches).polls = n;
    }

    /// Requires `authorization: Bearer <key>` on `/v1/*` requests answered by
    /// the built-in answers, like vLLM's `--api-key`; others get
    /// `401 {"error":"Unauthorized"}`. `None` (the default) accepts any request.
    pub fn set_api_key(&self, key: Option<&str>) {
        *lock(&self.shared.api_key) = key.map(str::to_owned);
    }

    /// Answers at most `n` requests at once, like a server with `n` slots: a request that
    /// arrives while `n` are being answered gets `429` with `retry-after: 1` and an
    /// OpenAI-shaped error body (`"type":"rate_limit_error"`, `"code":"rate_limit_exceeded"`)
    /// at once, uses no scripted reply, and is counted by [`MockServer::rejected`]. A request
    /// is being answered from when its body has been read until its reply is written
    /// ([`MockServer::set_latency`] included). `0` (the default) means no limit.
    ///
    /// ```
    /// use oai_compat_mock::MockServer;
    ///
    /// let server = MockServer::start()?;
    /// server.set_max_in_flight(20);
    /// server.set_latency(std::time::Duration::from_millis(20));
    /// assert_eq!(server.rejected(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_max_in_flight(&self, n: usize) {
        self.shared.limit.set_max(n);
    }

    /// Streams transcriptions and translations as OpenAI does when `on`: a
    /// `transcript.text.delta` event per word, then `transcript.text.done` with the text and
    /// a token `usage`, and no `[DONE]`. Off (the default), they stream as vLLM does:
    /// `transcription.chunk` / `translation.chunk` chunks shaped like chat completion chunks,
    /// then `[DONE]`.
    ///
    /// ```
    /// let server = oai_compat_mock::MockServer::start()?;
    /// server.set_openai_transcription_stream(true);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_openai_transcription_stream(&self, on: bool) {
        self.shared
            .openai_transcription_stream
            .store(on, Ordering::Relaxed);
    }

    /// How many requests were answered `429` for going over [`MockServer::set_max_in_flight`].
    pub fn rejected(&self) -> u64 {
        self.shared.limit.rejected()
    }
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("requests", &self.request_count())
            .field("connections", &self.connections())
            .finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        {
            let mut live = lock(&self.shared.live);
            live.stopped = true;
            self.shared.stopped.store(true, Ordering::SeqCst);
            for stream in live.streams.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            self.shared.wake.notify_all();
        }
        // Unblock the accept thread: it sees the flag and ends.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        let deadline = Instant::now() + STOP_WAIT;
        let mut live = lock(&self.shared.live);
        while live.threads > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            live = self
                .shared
                .wake
                .wait_timeout(live, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}
