//! The built-in answers of the Responses API (`/v1/responses`), as vLLM gives them.

use serde_json::{Map, Value, json};

use super::defaults::{
    Handler, bad_request, body_object, flag, generation_limit, int_param, known_model,
    message_text, missing, param,
};
use super::request::route_path;
use super::schema::instance;
use super::text::{mock_reply, tokens, word_count};
use super::tools::{Call, calls};
use super::{RecordedRequest, Reply, Shared, now};

/// The answers under `/v1/responses/{id}`: vLLM without a response store (its default)
/// knows no id; it has no `DELETE` and no `input_items` route.
pub(super) fn route_by_id(req: &RecordedRequest) -> Result<Handler, Reply> {
    let not_found = || Reply::json(404, r#"{"detail":"Not Found"}"#);
    let Some(rest) = route_path(&req.path).strip_prefix("/v1/responses/") else {
        return Err(not_found());
    };
    let unknown = |id: &str| {
        let body = json!({"error": {
            "message": format!("Response with id '{id}' not found."),
            "type": "invalid_request_error",
            "param": "response_id",
            "code": 404,
        }});
        Reply::json(404, body.to_string())
    };
    let method_not_allowed =
        |allow: &str| Reply::json(405, r#"{"detail":"Method Not Allowed"}"#).header("allow", allow);
    match rest.split_once('/') {
        None if req.method == "GET" => Err(unknown(rest)),
        None => Err(method_not_allowed("GET")),
        Some((id, "cancel")) if req.method == "POST" => Err(unknown(id)),
        Some((_, "cancel")) => Err(method_not_allowed("POST")),
        Some(_) => Err(not_found()),
    }
}

/// The text of the input: a string, or the last user message of a list; and whether the
/// list ends with function-call outputs (then their outputs are the text).
fn prompt(input: &Value) -> (String, bool) {
    let Some(items) = input.as_array() else {
        return (input.as_str().unwrap_or_default().to_owned(), false);
    };
    let outputs: Vec<&str> = items
        .iter()
        .rev()
        .take_while(|i| i.get("type").and_then(Value::as_str) == Some("function_call_output"))
        .filter_map(|i| i.get("output").and_then(Value::as_str))
        .collect();
    if !outputs.is_empty() {
        let mut outputs = outputs;
        outputs.reverse();
        return (outputs.join(" "), true);
    }
    let last_user = items
        .iter()
        .rev()
        .find(|i| i.get("role").and_then(Value::as_str) == Some("user"))
        .map(message_text)
        .unwrap_or_default();
    (last_user, false)
}

/// Words of every message text of the input, plus the instructions.
fn input_tokens(body: &Map<String, Value>, input: &Value) -> usize {
    let instructions = param(body, "instructions")
        .and_then(Value::as_str)
        .map_or(0, word_count);
    let items = match input {
        Value::String(s) => word_count(s),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.get("output")
                    .and_then(Value::as_str)
                    .map_or_else(|| word_count(&message_text(i)), word_count)
            })
            .sum(),
        _ => 0,
    };
    instructions + items
}

/// The JSON schema of `text.format`, if it asks for one.
pub(super) fn text_schema(body: &Map<String, Value>) -> Option<&Value> {
    let format = param(body, "text")?.get("format")?;
    (format.get("type").and_then(Value::as_str) == Some("json_schema"))
        .then(|| format.get("schema"))
        .flatten()
}

/// What a generated answer says.
enum Output {
    Text { text: String, cut: bool },
    Calls(Vec<Call>),
}

/// The pieces a text is streamed in (and counted as tokens): words, or for JSON without
/// spaces, runs of up to 4 characters.
pub(super) fn pieces(text: &str, json: bool) -> Vec<String> {
    if !json {
        return tokens(text).into_iter().map(str::to_owned).collect();
    }
    let chars: Vec<char> = text.chars().collect();
    chars.chunks(4).map(|c| c.iter().collect()).collect()
}

/// `POST /v1/responses`.
pub(super) fn create(shared: &Shared, req: &RecordedRequest) -> Result<Reply, Reply> {
    let body = body_object(req)?;
    let model = known_model(shared, &body)?;
    let input = match param(&body, "input") {
        None => return Err(missing("input")),
        Some(v @ (Value::String(_) | Value::Array(_))) => v,
        Some(_) => {
            return Err(bad_request(
                "'input' must be a string or a list of items.",
                Some("input"),
            ));
        }
    };
    let max = int_param(&body, "max_output_tokens", 1, u64::from(u32::MAX))?;
    let stream = flag(&body, "stream")?;
    let prompt_tokens = input_tokens(&body, input);
    let limit = generation_limit(prompt_tokens, max)?;
    let (text, after_tool) = prompt(input);
    let tool_calls = calls(&body, &text, after_tool)?;
    let schema = text_schema(&body);
    let output = if !tool_calls.is_empty() {
        Output::Calls(tool_calls)
    } else if let Some(schema) = schema {
        let all = pieces(&instance(schema, true).to_string(), true);
        let cut = all.len() > limit;
        Output::Text {
            text: all[..all.len().min(limit)].concat(),
            cut,
        }
    } else {
        let (text, cut) = mock_reply(&text, limit);
        Output::Text { text, cut }
    };
    let output_tokens = match &output {
        Output::Text { text, .. } => pieces(text, schema.is_some()).len(),
        Output::Calls(c) => c.iter().map(|c| pieces(&c.arguments, true).len()).sum(),
    };
    let n = shared.next_id();
    let id = format!("resp_mock{n}");
    let msg_id = format!("msg_mock{n}");
    let created = now();
    let incomplete = matches!(output, Output::Text { cut: true, .. });
    let items: Vec<Value> = match &output {
        Output::Text { text, .. } => vec![message(&msg_id, text, "completed")],
        Output::Calls(c) => c
            .iter()
            .enumerate()
            .map(|(i, c)| {
                function_call(
                    &format!("fc_mock{n}_{i}"),
                    &format!("call_mock{n}_{i}"),
                    c,
                    &c.arguments,
                    "completed",
                )
            })
            .collect(),
    };
    let response = |status: &str, output: Vec<Value>, usage: Value| {
        json!({
            "id": id,
            "created_at": created,
            "incomplete_details": if status == "incomplete" { json!({"reason": "max_output_tokens"}) } else { Value::Null },
            "instructions": param(&body, "instructions"),
            "metadata": param(&body, "metadata"),
            "model": model,
            "object": "response",
            "output": output,
            "parallel_tool_calls": true,
            "temperature": param(&body, "temperature").cloned().unwrap_or(json!(1.0)),
            "tool_choice": param(&body, "tool_choice").cloned().unwrap_or(json!("auto")),
            "tools": param(&body, "tools").cloned().unwrap_or(json!([])),
            "top_p": param(&body, "top_p").cloned().unwrap_or(json!(1.0)),
            "background": false,
            "max_output_tokens": max.unwrap_or(limit),
            "previous_response_id": param(&body, "previous_response_id"),
            "status": status,
            "text": param(&body, "text"),
            "usage": usage,
            "user": null,
            "kv_transfer_params": null,
        })
    };
    let usage = json!({
        "input_tokens": prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "input_tokens_per_turn": [], "cached_tokens_per_turn": []},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0, "tool_output_tokens": 0},
        "total_tokens": prompt_tokens + output_tokens,
    });
    let status = if incomplete {
        "incomplete"
    } else {
        "completed"
    };
    if !stream {
        return Ok(Reply::json(200, response(status, items, usage).to_string()));
    }

    // vLLM's event order; like vLLM, an incomplete response ends with `response.completed`.
    let mut events: Vec<Value> = Vec::new();
    let started = response("in_progress", Vec::new(), Value::Null);
    events.push(json!({"type": "response.created", "response": started}));
    events.push(json!({"type": "response.in_progress", "response": started}));
    match &output {
        Output::Text { text, .. } => {
            let ids = json!({"item_id": msg_id, "output_index": 0, "content_index": 0});
            let with = |mut v: Value| {
                if let (Some(o), Some(ids)) = (v.as_object_mut(), ids.as_object()) {
                    o.extend(ids.clone());
                }
                v
            };
            events.push(
                json!({"type": "response.output_item.added", "output_index": 0,
                               "item": message(&msg_id, "", "in_progress")}),
            );
            let empty =
                json!({"type": "output_text", "text": "", "annotations": [], "logprobs": []});
            events.push(with(
                json!({"type": "response.content_part.added", "part": empty}),
            ));
            for piece in pieces(text, schema.is_some()) {
                events.push(with(
                    json!({"type": "response.output_text.delta", "delta": piece, "logprobs": []}),
                ));
            }
            events.push(with(
                json!({"type": "response.output_text.done", "text": text, "logprobs": []}),
            ));
            let part =
                json!({"type": "output_text", "text": text, "annotations": [], "logprobs": null});
            events.push(with(
                json!({"type": "response.content_part.done", "part": part}),
            ));
            events.push(
                json!({"type": "response.output_item.done", "output_index": 0, "item": items[0]}),
            );
        }
        Output::Calls(c) => {
            for (i, call) in c.iter().enumerate() {
                let item_id = format!("fc_mock{n}_{i}");
                let call_id = format!("call_mock{n}_{i}");
                events.push(json!({"type": "response.output_item.added", "output_index": i,
                                   "item": function_call(&item_id, &call_id, call, "", "in_progress")}));
                for piece in pieces(&call.arguments, true) {
                    events.push(json!({"type": "response.function_call_arguments.delta",
                                       "item_id": item_id, "output_index": i, "delta": piece}));
                }
                events.push(json!({"type": "response.function_call_arguments.done",
                                   "item_id": item_id, "output_index": i,
                                   "arguments": call.arguments, "name": call.name}));
                events.push(json!({"type": "response.output_item.done", "output_index": i, "item": items[i]}));
            }
        }
    }
    events.push(
        json!({"type": "response.completed", "response": response(status, items.clone(), usage)}),
    );
    Ok(named_events(events))
}

/// A message output item.
fn message(id: &str, text: &str, status: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": null}])
    };
    json!({"id": id, "type": "message", "role": "assistant", "status": status, "content": content})
}

/// A function call output item.
fn function_call(id: &str, call_id: &str, call: &Call, arguments: &str, status: &str) -> Value {
    json!({"id": id, "type": "function_call", "call_id": call_id, "name": call.name,
           "arguments": arguments, "status": status})
}

/// An SSE reply of named events (`event: <type>`), numbered by `sequence_number`, with no
/// `[DONE]` (neither OpenAI nor vLLM sends one on this endpoint).
fn named_events(events: Vec<Value>) -> Reply {
    events
        .into_iter()
        .enumerate()
        .fold(Reply::sse(), |reply, (i, mut event)| {
            let kind = event
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("message")
                .to_owned();
            if let Some(o) = event.as_object_mut() {
                o.insert("sequence_number".into(), json!(i));
            }
            reply.named_event(&kind, event.to_string())
        })
}
