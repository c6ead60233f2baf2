//! `oai respond`: the Responses API (`client.responses()`), with `oai chat`'s conventions:
//! streamed text, `--no-stream`, `--json` (the final response object), `--schema`.

use oai_compat::types::{ResponseObject, ResponseRequest, ResponseStatus, TextFormat};

use crate::args::{Global, RespondArgs};
use crate::connect::Explain;
use crate::fail::Failure;
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
    let mut req = request(&model, prompt, a, schema.as_ref());
    req.extra.extend(fields);
    let mut stdout = std::io::stdout().lock();
    if a.sampling.json {
        // The server's own object, every field as it sent it.
        let body = serde_json::to_value(&req).map_err(Failure::error)?;
        if !a.sampling.no_stream && schema.is_none() {
            // Each of the server's stream events, as it arrives.
            let stream = client
                .raw()
                .post_stream("/responses", &body)
                .explained(&client, "/responses")?;
            let last = out::json_lines(&mut stdout, stream, |e| {
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
                _ => Ok(()),
            };
        }
        // The server's own object, every field as it sent it.
        let reply = client
            .raw()
            .post("/responses", &body)
            .explained(&client, "/responses")?;
        if schema.is_some() {
            let typed: ResponseObject =
                serde_json::from_value(reply.value.clone()).map_err(|e| {
                    Failure::error(format!("the response is not a response object: {e}"))
                })?;
            json_reply(&typed)?;
        }
        return out::json_line(&mut stdout, &reply.value);
    }
    if schema.is_some() || a.sampling.no_stream {
        let reply = client
            .responses()
            .create(&req)
            .explained(&client, "/responses")?;
        let line = if schema.is_some() {
            json_reply(&reply)?
        } else {
            text_of(&reply)?
        };
        return out::flush_text(&mut stdout, &(line + "\n"));
    }
    // The stream ends after `response.completed`/`response.incomplete`; `response.failed`,
    // an `error` event or a cut body end it with an error.
    let stream = client
        .responses()
        .create_stream(&req)
        .explained(&client, "/responses")?;
    out::stream_text(&mut stdout, stream, |e| e.text_delta().unwrap_or("")).map(drop)
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
