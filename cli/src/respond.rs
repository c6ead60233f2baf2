//! `oai respond`: the Responses API (`client.responses()`), with `oai chat`'s conventions:
//! streamed text, `--no-stream`, `--json` (the final response object), `--schema`.

use std::cell::Cell;
use std::time::Instant;

use oai_compat::Client;
use oai_compat::types::{
    ResponseObject, ResponseRequest, ResponseStatus, ResponseUsage, TextFormat,
};

use crate::args::{Global, RespondArgs};
use crate::connect::Explain;
use crate::fail::Failure;
use crate::history::{self, Exchange, Reply};
use crate::schema::{self, Schema};
use crate::{connect, options, out, prompt};

pub fn run(g: &Global, a: &RespondArgs) -> Result<(), Failure> {
    if a.sampling.list_options {
        return out::flush_text(&mut std::io::stdout().lock(), &options::list());
    }
    let fields = options::fields(&a.sampling.options)?;
    let client = connect::client(g, 1)?;
    let schema = a.schema.as_deref().map(Schema::load).transpose()?;
    let prompt = prompt::read(&a.prompt)?;
    let model = connect::model(&client, a.model.model.as_deref())?;
    let log = history::for_logging(a.log.no_log);
    let mut req = request(&model, prompt.clone(), a, schema.as_ref());
    req.extra.extend(fields);
    let started = Instant::now();
    let reply = answer(&client, a, &req, schema.as_ref())?;
    if let Some(log) = log {
        log.keep(&Exchange {
            conversation: &history::new_conversation_id(),
            command: "respond",
            server: client.base_url(),
            model: &model,
            system: a.system.as_deref(),
            prompt: &prompt,
            response: &reply.text,
            options: &req.extra,
            input_tokens: reply.input_tokens,
            output_tokens: reply.output_tokens,
            duration_ms: history::millis_since(started),
        });
    }
    Ok(())
}

/// Prints the response as the options ask, and returns it for the history.
fn answer(
    client: &Client,
    a: &RespondArgs,
    req: &ResponseRequest,
    schema: Option<&Schema>,
) -> Result<Reply, Failure> {
    const ROUTE: &str = "/responses";
    let mut stdout = std::io::stdout().lock();
    if a.sampling.json {
        let body = serde_json::to_value(req).map_err(Failure::error)?;
        if !a.sampling.no_stream && schema.is_none() {
            // Each of the server's stream events, as it arrives, up to the final one.
            let stream = client
                .raw()
                .post_stream(ROUTE, &body)
                .explained(client, ROUTE)?;
            let mut reply = Reply::default();
            let events = stream.into_iter().inspect(|e| {
                if let Ok(e) = e {
                    if e["type"] == "response.output_text.delta" {
                        reply.text.push_str(e["delta"].as_str().unwrap_or_default());
                    }
                    reply.count_json(&e["response"]["usage"]);
                }
            });
            let last = out::json_lines(&mut stdout, events, |e| {
                matches!(
                    e["type"].as_str(),
                    Some("response.completed" | "response.incomplete" | "response.failed")
                )
            })?;
            return match last {
                Some(e) if e["type"] == "response.failed" => Err(Failure::error(format!(
                    "the response failed: {}",
                    e["response"]["error"]["message"]
                        .as_str()
                        .unwrap_or("no message")
                ))),
                _ => Ok(reply),
            };
        }
        // The server's own object, every field as it sent it.
        let whole = client.raw().post(ROUTE, &body).explained(client, ROUTE)?;
        let typed: Option<ResponseObject> = serde_json::from_value(whole.value.clone()).ok();
        if schema.is_some() {
            let typed = typed
                .as_ref()
                .ok_or_else(|| Failure::error("the response is not a response object"))?;
            json_reply(typed)?;
        }
        out::json_line(&mut stdout, &whole.value)?;
        let mut reply = Reply {
            text: typed.map(|t| t.output_text()).unwrap_or_default(),
            ..Reply::default()
        };
        reply.count_json(&whole.value["usage"]);
        return Ok(reply);
    }
    if schema.is_some() || a.sampling.no_stream {
        let whole = client.responses().create(req).explained(client, ROUTE)?;
        let line = if schema.is_some() {
            json_reply(&whole)?
        } else {
            text_of(&whole)?
        };
        out::flush_text(&mut stdout, &format!("{line}\n"))?;
        return Ok(counted(line, whole.usage.as_ref()));
    }
    // The stream ends after `response.completed`/`response.incomplete`; `response.failed`,
    // an `error` event or a cut body end it with an error.
    let stream = client
        .responses()
        .create_stream(req)
        .explained(client, ROUTE)?;
    let usage = Cell::new(None);
    let text = out::stream_text(&mut stdout, stream, |e| {
        if let Some(u) = e.response().and_then(|r| r.usage.as_ref()) {
            usage.set(Some((u.input_tokens, u.output_tokens)));
        }
        e.text_delta().unwrap_or("")
    })?;
    let mut reply = Reply {
        text,
        ..Reply::default()
    };
    if let Some((i, o)) = usage.get() {
        (reply.input_tokens, reply.output_tokens) = (Some(i), Some(o));
    }
    Ok(reply)
}

/// A reply with the Responses API's token counts.
fn counted(text: String, usage: Option<&ResponseUsage>) -> Reply {
    Reply {
        text,
        input_tokens: usage.map(|u| u.input_tokens),
        output_tokens: usage.map(|u| u.output_tokens),
    }
}

/// The request: `input` is the prompt, `-s` the instructions, `--max-tokens` goes as
/// `max_output_tokens`, a schema as a strict `text.format`.
fn request(
    model: &str,
    prompt: String,
    a: &RespondArgs,
    schema: Option<&Schema>,
) -> ResponseRequest {
    let mut req = ResponseRequest::new(model, prompt);
    req.instructions.clone_from(&a.system);
    req.temperature = a.sampling.temperature;
    req.max_output_tokens = a.sampling.max_tokens;
    if let Some(s) = schema {
        let mut format = TextFormat::json_schema(&s.name, s.schema.clone());
        if let TextFormat::JsonSchema { strict, .. } = &mut format {
            *strict = Some(true);
        }
        req.text = Some(format.into());
    }
    req
}

/// The output text of a final response; a failed or refused one is an error.
fn text_of(r: &ResponseObject) -> Result<String, Failure> {
    if r.status == Some(ResponseStatus::Failed) {
        let msg = r
            .error
            .as_ref()
            .map_or("no message", |e| e.message.as_str());
        return Err(Failure::error(format!("the response failed: {msg}")));
    }
    if let Some(why) = r.refusal() {
        return Err(Failure::error(format!("the model refused: {why}")));
    }
    Ok(r.output_text())
}

/// The output text of a final response as one JSON line (`--schema`).
fn json_reply(r: &ResponseObject) -> Result<String, Failure> {
    let text = text_of(r)?;
    // A response cut by `max_output_tokens` gets the same hint as a chat reply cut by length.
    let finish = match r.incomplete_reason() {
        Some("max_output_tokens") => Some("length"),
        other => other,
    };
    schema::reply_line(Some(&text), finish)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(v: serde_json::Value) -> ResponseObject {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn final_text_status_and_failures() {
        let r = object(json!({"id": "r", "status": "completed", "output": [
            {"type": "message", "id": "m", "role": "assistant", "content": [
                {"type": "output_text", "text": "{\"a\":"}, {"type": "output_text", "text": " 1}"}]},
        ]}));
        assert_eq!(text_of(&r).unwrap(), "{\"a\": 1}");
        assert_eq!(json_reply(&r).unwrap(), "{\"a\":1}");
        let r = object(json!({"id": "r", "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "message", "id": "m", "role": "assistant",
                        "content": [{"type": "output_text", "text": "{\"a\":"}]}]}));
        let e = json_reply(&r).unwrap_err();
        assert!(e.message().unwrap().contains("raise --max-tokens"), "{e:?}");
        let r = object(
            json!({"id": "r", "status": "failed", "error": {"code": "server_error", "message": "overloaded"}, "output": []}),
        );
        assert!(
            text_of(&r)
                .unwrap_err()
                .message()
                .unwrap()
                .contains("overloaded")
        );
        let r = object(json!({"id": "r", "status": "completed", "output": [
            {"type": "message", "id": "m", "role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]}));
        assert!(
            text_of(&r)
                .unwrap_err()
                .message()
                .unwrap()
                .contains("refused: no")
        );
    }
}
