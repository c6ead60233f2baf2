//! `oai chat`: one reply (streamed, whole, as JSON, or as structured output), or a chat loop
//! with `-i`.

use std::io::{BufRead, IsTerminal, Write};

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, Message, ResponseFormat};
use serde_json::{Map, Value};

use crate::args::{ChatArgs, Global};
use crate::connect::Explain;
use crate::fail::Failure;
use crate::schema::{self, Schema};
use crate::{connect, options, out, prompt};

pub fn run(g: &Global, a: &ChatArgs) -> Result<(), Failure> {
    if a.sampling.list_options {
        return out::flush_text(&mut std::io::stdout().lock(), &options::list());
    }
    let fields = options::fields(&a.sampling.options)?;
    let client = connect::client(g, 1)?;
    let schema = a.schema.as_deref().map(Schema::load).transpose()?;
    if a.interactive {
        let model = connect::model(&client, a.model.model.as_deref())?;
        return interactive(&client, &model, a, &fields);
    }
    let prompt = prompt::read(&a.prompt)?;
    let model = connect::model(&client, a.model.model.as_deref())?;
    let mut messages = Vec::with_capacity(2);
    if let Some(s) = &a.system {
        messages.push(Message::system(s.as_str()));
    }
    messages.push(Message::user(prompt));
    let req = request(&model, a, messages, schema.as_ref(), &fields);
    let mut stdout = std::io::stdout().lock();
    if a.sampling.json {
        // The server's own object, every field as it sent it.
        let body = serde_json::to_value(&req).map_err(Failure::error)?;
        if !a.sampling.no_stream && schema.is_none() {
            // Each of the server's stream events, as it arrives.
            let stream = client
                .raw()
                .post_stream("/chat/completions", &body)
                .explained(&client, "/chat/completions")?;
            return out::json_lines(&mut stdout, stream, |_| false).map(drop);
        }
        // The server's own object, every field as it sent it.
        let reply = client
            .raw()
            .post("/chat/completions", &body)
            .explained(&client, "/chat/completions")?;
        if schema.is_some() {
            let choice = &reply.value["choices"][0];
            schema::reply_line(
                choice["message"]["content"].as_str(),
                choice["finish_reason"].as_str(),
            )?;
        }
        return out::json_line(&mut stdout, &reply.value);
    }
    if schema.is_some() {
        let reply = client
            .chat()
            .create(&req)
            .explained(&client, "/chat/completions")?;
        let choice = reply.choices.first();
        if let Some(refusal) = choice.and_then(|c| c.message.refusal.as_deref()) {
            return Err(Failure::error(format!("the model refused: {refusal}")));
        }
        let finish = choice
            .and_then(|c| c.finish_reason.as_ref())
            .map(|f| f.as_str());
        let line = schema::reply_line(reply.text(), finish)?;
        return out::flush_text(&mut stdout, &(line + "\n"));
    }
    if a.sampling.no_stream {
        let reply = client
            .chat()
            .create(&req)
            .explained(&client, "/chat/completions")?;
        return out::flush_text(
            &mut stdout,
            &format!("{}\n", reply.text().unwrap_or_default()),
        );
    }
    let stream = client
        .chat()
        .create_stream(&req)
        .explained(&client, "/chat/completions")?;
    out::stream_text(&mut stdout, stream, |c| c.text()).map(drop)
}

fn request(
    model: &str,
    a: &ChatArgs,
    messages: Vec<Message>,
    schema: Option<&Schema>,
    fields: &Map<String, Value>,
) -> ChatCompletionRequest {
    let mut req = ChatCompletionRequest::new(model, messages);
    req.extra.extend(fields.clone());
    req.temperature = a.sampling.temperature;
    req.max_tokens = a.sampling.max_tokens;
    if let Some(s) = schema {
        let mut format = ResponseFormat::json_schema(&s.name, s.schema.clone());
        if let ResponseFormat::JsonSchema { json_schema } = &mut format {
            json_schema.strict = Some(true);
        }
        req.response_format = Some(format);
    }
    req
}

/// The chat loop: each line of input is a user turn; the conversation is kept. An error
/// is reported and the turn dropped, so the loop goes on.
fn interactive(
    client: &Client,
    model: &str,
    a: &ChatArgs,
    fields: &Map<String, Value>,
) -> Result<(), Failure> {
    let mut messages = Vec::new();
    if let Some(s) = &a.system {
        messages.push(Message::system(s.as_str()));
    }
    let stdin = std::io::stdin();
    let prompt_shown = stdin.is_terminal() && std::io::stderr().is_terminal();
    if prompt_shown {
        eprintln!("Chatting with {model}. /exit or Ctrl-D ends.");
    }
    let mut first = (!a.prompt.is_empty()).then(|| a.prompt.join(" "));
    let mut line = String::new();
    loop {
        let turn = match first.take() {
            Some(p) => p,
            None => {
                if prompt_shown {
                    eprint!("> ");
                }
                line.clear();
                let n = stdin.lock().read_line(&mut line).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        Failure::usage("a line on stdin is not UTF-8 text: convert it first, e.g. with `iconv -f latin1 -t utf-8`")
                    } else {
                        Failure::error(format!("reading stdin: {e}"))
                    }
                })?;
                if n == 0 {
                    if prompt_shown {
                        eprintln!();
                    }
                    return Ok(());
                }
                line.trim_end_matches(['\n', '\r']).to_owned()
            }
        };
        match turn.trim() {
            "/exit" | "/quit" => return Ok(()),
            "" => continue,
            _ => {}
        }
        messages.push(Message::user(turn));
        let req = request(model, a, messages.clone(), None, fields);
        let mut stdout = std::io::stdout().lock();
        let reply = if a.sampling.no_stream {
            client
                .chat()
                .create(&req)
                .map_err(Failure::from)
                .and_then(|r| {
                    let text = r.text().unwrap_or_default().to_owned();
                    out::flush_text(&mut stdout, &format!("{text}\n")).map(|()| text)
                })
        } else {
            client
                .chat()
                .create_stream(&req)
                .map_err(Failure::from)
                .and_then(|s| out::stream_text(&mut stdout, s, |c| c.text()))
        };
        match reply {
            Ok(text) => messages.push(Message::assistant(text)),
            Err(f @ Failure::Output(_)) => return Err(f),
            Err(f) => {
                messages.pop();
                let _ = stdout.flush();
                eprintln!("error: {}", f.message().unwrap_or("the turn failed"));
            }
        }
    }
}
