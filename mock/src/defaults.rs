//! The built-in answers: what a small vLLM server would say to each request.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::common::check_model;
pub(super) use super::common::{bad_request, missing};
use super::request::route_path;
use super::responses::pieces;
use super::schema::instance;
use super::text::{
    EMBEDDING_DIM, MAX_MODEL_LEN, detokenize, embedding, logprob, mock_reply, tokenize, tokens,
    word_count,
};
use super::tools::{Call, calls};
use super::{RecordedRequest, Reply, Shared, lock, now};

/// A built-in handler.
pub(super) type Handler = fn(&Shared, &RecordedRequest) -> Result<Reply, Reply>;

/// Upper bound of `n`.
const MAX_N: u64 = 128;
/// Upper bound of `top_logprobs` and completions' `logprobs`.
const MAX_LOGPROBS: u64 = 20;
/// Upper bound of the embeddings' `dimensions`.
const MAX_DIMENSIONS: u64 = 4096;
/// Upper bound of the choices of one completions answer (prompts times `n`).
const MAX_CHOICES: usize = 10_000;
/// Upper bound of the numbers in one embeddings answer (inputs times dimensions).
const MAX_EMBEDDING_VALUES: usize = 4 << 20;
/// Upper bound of the token ids in one `/tokenize` answer or `/detokenize` request.
const MAX_TOKEN_LIST: usize = 1 << 20;

/// The 400 answer for a request whose answer would be over one of the bounds above.
fn too_big(what: &str, limit: usize) -> Reply {
    bad_request(
        &format!("The mock server answers at most {limit} {what} per request."),
        None,
    )
}

/// The built-in answer to a request, with its `x-request-id` header.
pub(super) fn answer(shared: &Shared, req: &RecordedRequest) -> Reply {
    let request_id = match req.header("x-request-id") {
        Some(id) => id.to_owned(),
        None => format!("mock-req-{}", shared.next_id()),
    };
    // Like vLLM, the key is checked before routing.
    let reply = match (unauthorized(shared, req), route(req)) {
        (Some(denied), _) => denied,
        (None, Ok(handler)) => handler(shared, req).unwrap_or_else(|error| error),
        (None, Err(reply)) => reply,
    };
    reply.header("x-request-id", &request_id)
}

/// The handler for the request's path and method, or the 404/405 answer.
fn route(req: &RecordedRequest) -> Result<Handler, Reply> {
    let (method, handler): (&str, Handler) = match route_path(&req.path) {
        "/v1/models" => ("GET", models),
        "/v1/chat/completions" => ("POST", chat),
        "/v1/completions" => ("POST", completions),
        "/v1/embeddings" => ("POST", embeddings),
        "/health" => ("GET", health),
        "/version" => ("GET", version),
        "/tokenize" => ("POST", tokenize_route),
        "/detokenize" => ("POST", detokenize_route),
        "/v1/responses" => ("POST", super::responses::create),
        "/v1/audio/transcriptions" => ("POST", super::audio::transcriptions),
        "/v1/audio/translations" => ("POST", super::audio::translations),
        "/v1/batches" if req.method == "POST" => ("POST", create_batch),
        _ => {
            return super::files::route(req)
                .or_else(|| super::batches::route(req))
                .unwrap_or_else(|| super::responses::route_by_id(req));
        }
    };
    if req.method == method {
        Ok(handler)
    } else {
        Err(Reply::json(405, r#"{"detail":"Method Not Allowed"}"#).header("allow", method))
    }
}

/// `POST /v1/batches`: runs the batch's lines with the built-in answers.
fn create_batch(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    super::batches::create(shared, req, answer)
}

/// vLLM's `--api-key` check: `/v1` paths need `authorization: Bearer <key>`.
fn unauthorized(shared: &Shared, req: &RecordedRequest) -> Option<Reply> {
    let key = lock(&shared.api_key).clone()?;
    if !route_path(&req.path).starts_with("/v1") {
        return None;
    }
    let expected = format!("Bearer {key}");
    if req.header("authorization") == Some(expected.as_str()) {
        None
    } else {
        Some(Reply::json(401, r#"{"error":"Unauthorized"}"#))
    }
}

// ------------------------------------------------------------ parameters

/// The body as a JSON object.
pub(super) fn body_object(req: &RecordedRequest) -> Result<Map<String, Value>, Reply> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request("The request body must be a JSON object.", None)),
        Err(e) => Err(bad_request(&format!("Invalid JSON body: {e}"), None)),
    }
}

/// A parameter, `None` when absent or `null`.
pub(super) fn param<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.get(name).filter(|v| !v.is_null())
}

/// The required `model`, which must be one the server knows.
pub(super) fn known_model(shared: &Shared, body: &Map<String, Value>) -> Result<String, Reply> {
    match param(body, "model") {
        None => Err(missing("model")),
        Some(Value::String(model)) => check_model(shared, model).map(|()| model.clone()),
        Some(_) => Err(bad_request("'model' must be a string.", Some("model"))),
    }
}

/// An optional integer parameter within `min..=max`.
pub(super) fn int_param(
    body: &Map<String, Value>,
    name: &str,
    min: u64,
    max: u64,
) -> Result<Option<usize>, Reply> {
    let Some(value) = param(body, name) else {
        return Ok(None);
    };
    match value.as_u64() {
        Some(n) if (min..=max).contains(&n) => Ok(usize::try_from(n).ok()),
        _ => Err(bad_request(
            &format!("'{name}' must be an integer from {min} to {max}, got {value}."),
            Some(name),
        )),
    }
}

/// An optional boolean parameter.
pub(super) fn flag(body: &Map<String, Value>, name: &str) -> Result<bool, Reply> {
    match param(body, name) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(bad_request(
            &format!("'{name}' must be a boolean, got {other}."),
            Some(name),
        )),
    }
}

/// `max_completion_tokens`, else `max_tokens`.
fn max_tokens(body: &Map<String, Value>) -> Result<Option<usize>, Reply> {
    let limit = u64::from(u32::MAX);
    match int_param(body, "max_completion_tokens", 1, limit)? {
        Some(n) => Ok(Some(n)),
        None => int_param(body, "max_tokens", 1, limit),
    }
}

/// Whether the client asked for a usage chunk at the end of a stream.
fn include_usage(body: &Map<String, Value>) -> bool {
    body.get("stream_options")
        .and_then(|o| o.get("include_usage"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// How many words may be generated after a prompt of `prompt_tokens` words:
/// vLLM's context-length check.
pub(super) fn generation_limit(
    prompt_tokens: usize,
    max_tokens: Option<usize>,
) -> Result<usize, Reply> {
    if prompt_tokens >= MAX_MODEL_LEN {
        return Err(bad_request(
            &format!(
                "This model's maximum context length is {MAX_MODEL_LEN} tokens. However, your \
                 request has {prompt_tokens} input tokens. Please reduce the length of the \
                 input messages."
            ),
            None,
        ));
    }
    match max_tokens {
        Some(m) if prompt_tokens.saturating_add(m) > MAX_MODEL_LEN => Err(bad_request(
            &format!(
                "This model's maximum context length is {MAX_MODEL_LEN} tokens. However, you \
                 requested {} tokens ({prompt_tokens} in the messages, {m} in the completion). \
                 Please reduce the length of the messages or completion.",
                prompt_tokens.saturating_add(m)
            ),
            None,
        )),
        Some(m) => Ok(m),
        None => Ok(MAX_MODEL_LEN - prompt_tokens),
    }
}

fn usage(prompt_tokens: usize, completion_tokens: usize) -> Value {
    json!({
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens": completion_tokens,
        "prompt_tokens_details": null,
    })
}

/// An SSE reply of these chunks, then `[DONE]`.
fn sse(chunks: Vec<Value>) -> Reply {
    chunks
        .into_iter()
        .fold(Reply::sse(), |reply, chunk| reply.event(chunk.to_string()))
        .done()
}

/// Interleaves per-choice event lists step by step, as a server generating
/// all choices at once would send them.
fn interleave(per_choice: Vec<Vec<Value>>) -> Vec<Value> {
    let steps = per_choice.iter().map(Vec::len).max().unwrap_or(0);
    let mut iters: Vec<_> = per_choice.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::new();
    for _ in 0..steps {
        for it in &mut iters {
            out.extend(it.next());
        }
    }
    out
}

// ---------------------------------------------------------------- models

fn models(shared: &Shared, _req: &RecordedRequest) -> Result<Reply, Reply> {
    let created = now();
    let data: Vec<Value> = lock(&shared.models)
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "object": "model",
                "created": created,
                "owned_by": "vllm",
                "root": id,
                "parent": null,
                "max_model_len": MAX_MODEL_LEN,
                "permission": [],
            })
        })
        .collect();
    Ok(Reply::json(
        200,
        json!({"object": "list", "data": data}).to_string(),
    ))
}

fn health(_shared: &Shared, _req: &RecordedRequest) -> Result<Reply, Reply> {
    Ok(Reply::empty(200))
}

fn version(_shared: &Shared, _req: &RecordedRequest) -> Result<Reply, Reply> {
    Ok(Reply::json(
        200,
        json!({"version": "0.0.0-mock"}).to_string(),
    ))
}

// ------------------------------------------------------------------ chat

/// The text of a message: its string content, or its text parts joined by spaces.
pub(super) fn message_text(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The logprob entry of a chat token, with `top` alternatives.
fn chat_logprob(token: &str, top: usize) -> Value {
    let lp = logprob(token);
    let alternatives: Vec<Value> = (0..top)
        .map(|k| {
            let alt = if k == 0 {
                token.to_owned()
            } else {
                format!("alt{k}")
            };
            json!({"token": alt, "logprob": lp - k as f64, "bytes": alt.as_bytes()})
        })
        .collect();
    json!({"token": token, "logprob": lp, "bytes": token.as_bytes(), "top_logprobs": alternatives})
}

/// What a chat answer says.
enum ChatOutput {
    Content {
        text: String,
        finish: &'static str,
        /// JSON content: streamed and counted in runs of 4 characters.
        json: bool,
    },
    Tools(Vec<Call>),
}

/// The prompt of a conversation: the last user message; or, when it ends with tool results,
/// those results (then the second value is `true`).
fn chat_prompt(messages: &[Value]) -> (String, bool) {
    let role = |m: &Value| m.get("role").and_then(Value::as_str).map(str::to_owned);
    let mut results: Vec<String> = messages
        .iter()
        .rev()
        .take_while(|m| role(m).as_deref() == Some("tool"))
        .map(message_text)
        .collect();
    if !results.is_empty() {
        results.reverse();
        return (results.join(" "), true);
    }
    let last_user = messages
        .iter()
        .rev()
        .find(|m| role(m).as_deref() == Some("user"))
        .map(message_text)
        .unwrap_or_default();
    (last_user, false)
}

/// The JSON schema of a `json_schema` `response_format`, if the request has one.
fn response_schema(body: &Map<String, Value>) -> Option<&Value> {
    let format = param(body, "response_format")?;
    (format.get("type").and_then(Value::as_str) == Some("json_schema"))
        .then(|| format.get("json_schema")?.get("schema"))
        .flatten()
}

fn chat(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let body = body_object(req)?;
    let model = known_model(shared, &body)?;
    let messages = match param(&body, "messages") {
        None => return Err(missing("messages")),
        Some(Value::Array(m)) if !m.is_empty() => m,
        Some(_) => {
            return Err(bad_request(
                "'messages' must be a non-empty array of messages.",
                Some("messages"),
            ));
        }
    };
    if !messages
        .iter()
        .all(|m| m.get("role").is_some_and(Value::is_string))
    {
        return Err(bad_request(
            "Each message must be an object with a string 'role'.",
            Some("messages"),
        ));
    }
    let n = int_param(&body, "n", 1, MAX_N)?.unwrap_or(1);
    let max = max_tokens(&body)?;
    let want_logprobs = flag(&body, "logprobs")?;
    let top = int_param(&body, "top_logprobs", 0, MAX_LOGPROBS)?.unwrap_or(0);
    let stream = flag(&body, "stream")?;
    let (prompt, after_tool) = chat_prompt(messages);
    let tool_calls = calls(&body, &prompt, after_tool)?;
    let prompt_tokens: usize = messages.iter().map(|m| word_count(&message_text(m))).sum();
    let limit = generation_limit(prompt_tokens, max)?;

    let output = if !tool_calls.is_empty() {
        ChatOutput::Tools(tool_calls)
    } else if let Some(schema) = response_schema(&body) {
        let all = pieces(&instance(schema, true).to_string(), true);
        let cut = all.len() > limit;
        ChatOutput::Content {
            text: all[..all.len().min(limit)].concat(),
            finish: if cut { "length" } else { "stop" },
            json: true,
        }
    } else {
        let (text, cut) = mock_reply(&prompt, limit);
        let finish = if cut { "length" } else { "stop" };
        ChatOutput::Content {
            text,
            finish,
            json: false,
        }
    };
    let completion_tokens = n * match &output {
        ChatOutput::Content { text, json, .. } => pieces(text, *json).len(),
        ChatOutput::Tools(calls) => calls.iter().map(|c| pieces(&c.arguments, true).len()).sum(),
    };
    let usage = usage(prompt_tokens, completion_tokens);
    let id = format!("chatcmpl-mock-{}", shared.next_id());
    let calls_per_choice = match &output {
        ChatOutput::Tools(calls) => calls.len(),
        ChatOutput::Content { .. } => 0,
    };
    // One id per call of each choice.
    let call_ids: Vec<Vec<String>> = (0..n)
        .map(|_| {
            (0..calls_per_choice)
                .map(|_| format!("chatcmpl-tool-mock-{}", shared.next_id()))
                .collect()
        })
        .collect();
    let created = now();

    if !stream {
        let choices: Vec<Value> = (0..n)
            .map(|i| match &output {
                ChatOutput::Content { text, finish, json } => {
                    let logprobs = if want_logprobs {
                        let content: Vec<Value> = pieces(text, *json)
                            .iter()
                            .map(|t| chat_logprob(t, top))
                            .collect();
                        json!({ "content": content })
                    } else {
                        Value::Null
                    };
                    json!({
                        "index": i,
                        "message": {
                            "role": "assistant",
                            "reasoning_content": null,
                            "content": text,
                            "tool_calls": [],
                        },
                        "logprobs": logprobs,
                        "finish_reason": finish,
                        "stop_reason": null,
                    })
                }
                ChatOutput::Tools(calls) => json!({
                    "index": i,
                    "message": {
                        "role": "assistant",
                        "reasoning_content": null,
                        "content": null,
                        "tool_calls": calls.iter().zip(&call_ids[i]).map(|(c, id)| json!({
                            "id": id,
                            "type": "function",
                            "function": {"name": c.name, "arguments": c.arguments},
                        })).collect::<Vec<Value>>(),
                    },
                    "logprobs": null,
                    "finish_reason": "tool_calls",
                    "stop_reason": null,
                }),
            })
            .collect();
        let body = json!({
            "id": id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage,
            "prompt_logprobs": null,
        });
        return Ok(Reply::json(200, body.to_string()));
    }

    let chunk = |choice: Value| {
        json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [choice],
        })
    };
    let per_choice: Vec<Vec<Value>> = (0..n)
        .map(|i| {
            let mut events = vec![chunk(json!({
                "index": i,
                "delta": {"role": "assistant", "content": ""},
                "logprobs": null,
                "finish_reason": null,
            }))];
            let finish = match &output {
                ChatOutput::Content { text, finish, json } => {
                    for token in pieces(text, *json) {
                        let logprobs = if want_logprobs {
                            json!({ "content": [chat_logprob(&token, top)] })
                        } else {
                            Value::Null
                        };
                        events.push(chunk(json!({
                            "index": i,
                            "delta": {"content": token},
                            "logprobs": logprobs,
                            "finish_reason": null,
                        })));
                    }
                    *finish
                }
                ChatOutput::Tools(calls) => {
                    for (k, (c, call_id)) in calls.iter().zip(&call_ids[i]).enumerate() {
                        events.push(chunk(json!({
                            "index": i,
                            "delta": {"tool_calls": [{
                                "index": k,
                                "id": call_id,
                                "type": "function",
                                "function": {"name": c.name, "arguments": ""},
                            }]},
                            "logprobs": null,
                            "finish_reason": null,
                        })));
                        for fragment in pieces(&c.arguments, true) {
                            events.push(chunk(json!({
                                "index": i,
                                "delta": {"tool_calls": [{
                                    "index": k,
                                    "function": {"arguments": fragment},
                                }]},
                                "logprobs": null,
                                "finish_reason": null,
                            })));
                        }
                    }
                    "tool_calls"
                }
            };
            events.push(chunk(json!({
                "index": i,
                "delta": {},
                "logprobs": null,
                "finish_reason": finish,
                "stop_reason": null,
            })));
            events
        })
        .collect();
    let mut events = interleave(per_choice);
    if include_usage(&body) {
        events.push(json!({
            "id": id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }));
    }
    Ok(sse(events))
}

// ----------------------------------------------------------- completions

/// A prompt: its text and its length in tokens.
struct Prompt {
    text: String,
    tokens: usize,
}

/// A list of token ids, if `value` is one.
fn token_ids(value: &Value) -> Option<Vec<u32>> {
    ids_of(value.as_array()?)
}

/// The token ids of a list, if all its items are ids.
fn ids_of(items: &[Value]) -> Option<Vec<u32>> {
    items
        .iter()
        .map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok()))
        .collect()
}

/// The texts of a `prompt` or `input`: a string, a list of strings, a list
/// of token ids or a list of lists of token ids.
fn texts(shared: &Shared, value: Option<&Value>, name: &str) -> Result<Vec<Prompt>, Reply> {
    let invalid = || {
        bad_request(
            &format!(
                "'{name}' must be a string, a list of strings, a list of token ids or a list \
                 of lists of token ids."
            ),
            Some(name),
        )
    };
    let from_ids = |ids: Vec<u32>| Prompt {
        text: detokenize(&lock(&shared.vocab), &ids),
        tokens: ids.len(),
    };
    let from_text = |text: &str| Prompt {
        text: text.to_owned(),
        tokens: word_count(text),
    };
    match value {
        None => Err(missing(name)),
        Some(Value::String(s)) => Ok(vec![from_text(s)]),
        Some(Value::Array(items)) if items.is_empty() => Err(bad_request(
            &format!("'{name}' must not be empty."),
            Some(name),
        )),
        Some(Value::Array(items)) => {
            if items.iter().all(Value::is_string) {
                Ok(items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(from_text)
                    .collect())
            } else if items.iter().all(Value::is_number) {
                let ids = ids_of(items).ok_or_else(invalid)?;
                Ok(vec![from_ids(ids)])
            } else {
                items
                    .iter()
                    .map(|item| token_ids(item).map(from_ids).ok_or_else(invalid))
                    .collect()
            }
        }
        Some(_) => Err(invalid()),
    }
}

/// The logprobs object of a completion piece: `tokens` starting at char
/// offset `offset`; the first token of an echoed prompt has no logprob.
fn completion_logprobs(tokens: &[&str], mut offset: usize, top: usize, no_first: bool) -> Value {
    let mut token_logprobs = Vec::new();
    let mut top_logprobs = Vec::new();
    let mut text_offset = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        text_offset.push(offset);
        offset += token.chars().count();
        if i == 0 && no_first {
            token_logprobs.push(Value::Null);
            top_logprobs.push(Value::Null);
            continue;
        }
        let lp = logprob(token);
        token_logprobs.push(json!(lp));
        let mut alternatives = Map::new();
        alternatives.insert((*token).to_owned(), json!(lp));
        for k in 1..top.max(1) {
            alternatives.insert(format!("alt{k}"), json!(lp - k as f64));
        }
        top_logprobs.push(Value::Object(alternatives));
    }
    json!({
        "tokens": tokens,
        "token_logprobs": token_logprobs,
        "top_logprobs": top_logprobs,
        "text_offset": text_offset,
    })
}

/// One completion choice: the echoed prompt (maybe empty) and the generated text.
struct Completion {
    echo: String,
    text: String,
    finish: &'static str,
}

fn completions(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let body = body_object(req)?;
    let model = known_model(shared, &body)?;
    let prompts = texts(shared, param(&body, "prompt"), "prompt")?;
    let n = int_param(&body, "n", 1, MAX_N)?.unwrap_or(1);
    let max = max_tokens(&body)?;
    let echo = flag(&body, "echo")?;
    let want_logprobs = int_param(&body, "logprobs", 0, MAX_LOGPROBS)?;
    let stream = flag(&body, "stream")?;
    if prompts.len().saturating_mul(n) > MAX_CHOICES {
        return Err(too_big("choices", MAX_CHOICES));
    }

    let mut outputs = Vec::new();
    for prompt in &prompts {
        let limit = generation_limit(prompt.tokens, max)?;
        let (text, cut) = mock_reply(&prompt.text, limit);
        let echo = match echo {
            false => String::new(),
            true if prompt.text.is_empty() || prompt.text.ends_with(char::is_whitespace) => {
                prompt.text.clone()
            }
            true => format!("{} ", prompt.text),
        };
        let finish = if cut { "length" } else { "stop" };
        outputs.push(Completion { echo, text, finish });
    }
    let prompt_tokens: usize = prompts.iter().map(|p| p.tokens).sum();
    let completion_tokens: usize = outputs.iter().map(|o| n * word_count(&o.text)).sum();
    let usage = usage(prompt_tokens, completion_tokens);
    let id = format!("cmpl-mock-{}", shared.next_id());
    let created = now();
    // Choice `p * n + j` for prompt `p`.
    let choices = outputs
        .iter()
        .flat_map(|o| std::iter::repeat_n(o, n))
        .enumerate();

    if !stream {
        let choices: Vec<Value> = choices
            .map(|(index, o)| {
                let logprobs = match want_logprobs {
                    Some(top) => {
                        let mut all = tokens(&o.echo);
                        all.extend(tokens(&o.text));
                        completion_logprobs(&all, 0, top, !o.echo.is_empty())
                    }
                    None => Value::Null,
                };
                json!({
                    "index": index,
                    "text": format!("{}{}", o.echo, o.text),
                    "logprobs": logprobs,
                    "finish_reason": o.finish,
                    "stop_reason": null,
                    "prompt_logprobs": null,
                })
            })
            .collect();
        let body = json!({
            "id": id,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": choices,
            "usage": usage,
        });
        return Ok(Reply::json(200, body.to_string()));
    }

    let chunk = |index: usize, text: &str, logprobs: Value, finish: Option<&str>| {
        json!({
            "id": id,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [{
                "index": index,
                "text": text,
                "logprobs": logprobs,
                "finish_reason": finish,
                "stop_reason": null,
            }],
        })
    };
    let per_choice: Vec<Vec<Value>> = choices
        .map(|(index, o)| {
            let mut events = Vec::new();
            let mut offset = 0;
            if !o.echo.is_empty() {
                let logprobs = match want_logprobs {
                    Some(top) => completion_logprobs(&tokens(&o.echo), 0, top, true),
                    None => Value::Null,
                };
                events.push(chunk(index, &o.echo, logprobs, None));
                offset = o.echo.chars().count();
            }
            for token in tokens(&o.text) {
                let logprobs = match want_logprobs {
                    Some(top) => completion_logprobs(&[token], offset, top, false),
                    None => Value::Null,
                };
                events.push(chunk(index, token, logprobs, None));
                offset += token.chars().count();
            }
            events.push(chunk(index, "", Value::Null, Some(o.finish)));
            events
        })
        .collect();
    let mut events = interleave(per_choice);
    if include_usage(&body) {
        events.push(json!({
            "id": id,
            "object": "text_completion",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }));
    }
    Ok(sse(events))
}

// ------------------------------------------------------------ embeddings

fn embeddings(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let body = body_object(req)?;
    let model = known_model(shared, &body)?;
    let inputs = texts(shared, param(&body, "input"), "input")?;
    let dim = int_param(&body, "dimensions", 1, MAX_DIMENSIONS)?.unwrap_or(EMBEDDING_DIM);
    let base64 = match param(&body, "encoding_format") {
        None => false,
        Some(Value::String(f)) if f == "float" => false,
        Some(Value::String(f)) if f == "base64" => true,
        Some(other) => {
            return Err(bad_request(
                &format!("'encoding_format' must be \"float\" or \"base64\", got {other}."),
                Some("encoding_format"),
            ));
        }
    };
    if inputs.len().saturating_mul(dim) > MAX_EMBEDDING_VALUES {
        return Err(too_big("embedding values", MAX_EMBEDDING_VALUES));
    }
    if let Some(long) = inputs.iter().find(|p| p.tokens > MAX_MODEL_LEN) {
        return Err(bad_request(
            &format!(
                "This model's maximum context length is {MAX_MODEL_LEN} tokens. However, you \
                 requested {} tokens in the input for embedding generation. Please reduce the \
                 length of the input.",
                long.tokens
            ),
            None,
        ));
    }
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            let vector = embedding(&input.text, dim);
            let encoded = if base64 {
                let bytes: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(vector)
            };
            json!({"index": index, "object": "embedding", "embedding": encoded})
        })
        .collect();
    let prompt_tokens: usize = inputs.iter().map(|p| p.tokens).sum();
    let body = json!({
        "id": format!("embd-mock-{}", shared.next_id()),
        "object": "list",
        "created": now(),
        "model": model,
        "data": data,
        "usage": usage(prompt_tokens, 0),
    });
    Ok(Reply::json(200, body.to_string()))
}

// -------------------------------------------------------------- tokenize

fn tokenize_route(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let body = body_object(req)?;
    match param(&body, "model") {
        None => {}
        Some(Value::String(model)) => check_model(shared, model)?,
        Some(_) => return Err(bad_request("'model' must be a string.", Some("model"))),
    }
    let text = match (param(&body, "prompt"), param(&body, "messages")) {
        (Some(Value::String(prompt)), _) => prompt.clone(),
        (None, Some(Value::Array(messages))) => messages
            .iter()
            .map(message_text)
            .collect::<Vec<_>>()
            .join(" "),
        (None, None) => return Err(missing("prompt")),
        _ => {
            return Err(bad_request(
                "'prompt' must be a string (or 'messages' a list of messages).",
                Some("prompt"),
            ));
        }
    };
    if word_count(&text) > MAX_TOKEN_LIST {
        return Err(too_big("tokens", MAX_TOKEN_LIST));
    }
    let ids = tokenize(&mut lock(&shared.vocab), &text);
    let body = json!({
        "count": ids.len(),
        "max_model_len": MAX_MODEL_LEN,
        "tokens": ids,
        "token_strs": null,
    });
    Ok(Reply::json(200, body.to_string()))
}

fn detokenize_route(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let body = body_object(req)?;
    match param(&body, "model") {
        None => {}
        Some(Value::String(model)) => check_model(shared, model)?,
        Some(_) => return Err(bad_request("'model' must be a string.", Some("model"))),
    }
    let ids = match param(&body, "tokens") {
        None => return Err(missing("tokens")),
        Some(value) => token_ids(value)
            .ok_or_else(|| bad_request("'tokens' must be a list of token ids.", Some("tokens")))?,
    };
    if ids.len() > MAX_TOKEN_LIST {
        return Err(too_big("tokens", MAX_TOKEN_LIST));
    }
    let text = detokenize(&lock(&shared.vocab), &ids);
    Ok(Reply::json(200, json!({ "prompt": text }).to_string()))
}
