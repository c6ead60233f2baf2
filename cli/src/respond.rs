//! `oai respond`: the Responses API (`POST /responses`), with `oai chat`'s conventions:
//! streamed text, `--no-stream`, `--json` (the final response object), `--schema`.
//!
//! The requests and replies are handled as JSON through the client's raw calls
//! (`client.raw()`); everything that knows the Responses API's wire format is in [`wire`], so it
//! can move to the library's typed Responses API without touching the command.

use crate::args::{Global, RespondArgs};
use crate::fail::Failure;
use crate::schema::{self, Schema};
use crate::{connect, out, prompt};

pub fn run(g: &Global, a: &RespondArgs) -> Result<(), Failure> {
    let client = connect::client(g, 1)?;
    let schema = a.schema.as_deref().map(Schema::load).transpose()?;
    let prompt = prompt::read(&a.prompt)?;
    let model = connect::model(&client, a.model.model.as_deref())?;
    let body = wire::request(&model, &prompt, a, schema.as_ref());
    let mut stdout = std::io::stdout().lock();
    if a.sampling.json || schema.is_some() || a.sampling.no_stream {
        let reply = client.raw().post("/responses", &body)?.value;
        let done = wire::Final::of(&reply)?;
        if schema.is_some() {
            let line = schema::reply_line(Some(&done.text), done.incomplete.as_deref())?;
            if !a.sampling.json {
                return out::flush_text(&mut stdout, &(line + "\n"));
            }
        }
        if a.sampling.json {
            return out::json_line(&mut stdout, &reply);
        }
        return out::flush_text(&mut stdout, &format!("{}\n", done.text));
    }
    let events = client.raw().post_stream("/responses", &body)?;
    wire::stream_text(&mut stdout, events)
}

/// The Responses API on the wire: the request body, the text of a final response, and the
/// streamed events (`response.output_text.delta` ... `response.completed`).
mod wire {
    use std::io::Write;

    use oai_compat::EventStream;
    use serde_json::{Value, json};

    use crate::args::RespondArgs;
    use crate::fail::Failure;
    use crate::out;
    use crate::schema::Schema;

    /// The request: `input` is the prompt, `instructions` the system prompt, `--max-tokens`
    /// goes as `max_output_tokens`, a schema as a strict `text.format`.
    pub fn request(model: &str, prompt: &str, a: &RespondArgs, schema: Option<&Schema>) -> Value {
        let mut body = json!({"model": model, "input": prompt});
        if let Some(s) = &a.system {
            body["instructions"] = json!(s);
        }
        if let Some(t) = a.sampling.temperature {
            body["temperature"] = json!(t);
        }
        if let Some(n) = a.sampling.max_tokens {
            body["max_output_tokens"] = json!(n);
        }
        if let Some(s) = schema {
            body["text"] = json!({"format": {
                "type": "json_schema", "name": s.name, "schema": s.schema, "strict": true,
            }});
        }
        body
    }

    /// What a final response object says.
    #[derive(Debug)]
    pub struct Final {
        /// Its output text: every `output_text` part of its `message` items.
        pub text: String,
        /// Why it is incomplete (`max_output_tokens` ...), if it is.
        pub incomplete: Option<String>,
    }

    impl Final {
        /// Reads a final response object; a failed response is an error with its message.
        pub fn of(response: &Value) -> Result<Final, Failure> {
            let status = response["status"].as_str().unwrap_or_default();
            if status == "failed" {
                let msg = response["error"]["message"]
                    .as_str()
                    .unwrap_or("no message");
                return Err(Failure::error(format!("the response failed: {msg}")));
            }
            let mut text = String::new();
            let items = response["output"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default();
            for item in items.iter().filter(|i| i["type"] == "message") {
                let parts = item["content"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for part in parts {
                    match part["type"].as_str() {
                        Some("output_text") => text.push_str(part["text"].as_str().unwrap_or("")),
                        Some("refusal") => {
                            let why = part["refusal"].as_str().unwrap_or("");
                            return Err(Failure::error(format!("the model refused: {why}")));
                        }
                        _ => {}
                    }
                }
            }
            let incomplete = (status == "incomplete").then(|| {
                response["incomplete_details"]["reason"]
                    .as_str()
                    .map_or_else(
                        || "incomplete".to_owned(),
                        |r| {
                            // Chat calls running out of tokens `length`: one hint for both.
                            if r == "max_output_tokens" {
                                "length".to_owned()
                            } else {
                                r.to_owned()
                            }
                        },
                    )
            });
            Ok(Final { text, incomplete })
        }
    }

    /// Prints the streamed text as it arrives, up to the final event. A stream that ends
    /// before `response.completed` / `response.incomplete`, a `response.failed` or an `error`
    /// event keeps what was printed, ends the line and fails.
    pub fn stream_text(w: &mut impl Write, events: EventStream<Value>) -> Result<(), Failure> {
        let mut printed = false;
        let end_line = |w: &mut _, printed: bool| {
            if printed {
                out::flush_text(w, "\n")
            } else {
                Ok(())
            }
        };
        for event in events {
            let event = match event {
                Ok(e) => e,
                Err(e) => {
                    end_line(w, printed)?;
                    // The library expects `[DONE]`: before a final event it is a cut stream.
                    let msg = e.to_string();
                    return Err(Failure::error(if msg.contains("[DONE]") {
                        "the stream ended before its final event (response.completed)".to_owned()
                    } else {
                        msg
                    }));
                }
            };
            match event["type"].as_str().unwrap_or_default() {
                "response.output_text.delta" => {
                    if let Some(d) = event["delta"].as_str().filter(|d| !d.is_empty()) {
                        out::flush_text(w, d)?;
                        printed = true;
                    }
                }
                "response.completed" | "response.incomplete" => {
                    return out::flush_text(w, "\n");
                }
                "response.failed" => {
                    end_line(w, printed)?;
                    let msg = event["response"]["error"]["message"]
                        .as_str()
                        .unwrap_or("no message");
                    return Err(Failure::error(format!("the response failed: {msg}")));
                }
                "error" => {
                    end_line(w, printed)?;
                    let msg = event["message"].as_str().unwrap_or("no message");
                    return Err(Failure::error(format!("the server sent an error: {msg}")));
                }
                _ => {}
            }
        }
        // `[DONE]` without a final event (some servers end the stream that way).
        out::flush_text(w, "\n")
    }
}

#[cfg(test)]
mod tests {
    use super::wire::Final;
    use serde_json::json;

    #[test]
    fn final_text_status_and_failures() {
        let r = json!({"status": "completed", "output": [
            {"type": "reasoning", "content": [{"type": "reasoning_text", "text": "hmm"}]},
            {"type": "message", "content": [{"type": "output_text", "text": "Hel"}, {"type": "output_text", "text": "lo"}]},
        ]});
        let f = Final::of(&r).unwrap();
        assert_eq!((f.text.as_str(), f.incomplete), ("Hello", None));
        let r = json!({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "output": []});
        assert_eq!(Final::of(&r).unwrap().incomplete.as_deref(), Some("length"));
        let r = json!({"status": "failed", "error": {"message": "overloaded"}});
        assert!(
            Final::of(&r)
                .unwrap_err()
                .message()
                .unwrap()
                .contains("overloaded")
        );
        let r = json!({"status": "completed", "output": [{"type": "message", "content": [{"type": "refusal", "refusal": "no"}]}]});
        assert!(
            Final::of(&r)
                .unwrap_err()
                .message()
                .unwrap()
                .contains("refused")
        );
    }
}
