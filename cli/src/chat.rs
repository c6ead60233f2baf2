//! `oai chat`: one reply (streamed, whole, as JSON, or as structured output), or a chat loop
//! with `-i`. Every exchange goes to the history (`oai logs`) unless `--no-log`; `-c` and
//! `--cid` continue a logged conversation, `-t` applies a saved template, `--save` saves one.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Instant;

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, Message, ResponseFormat, StreamOptions};
use serde_json::{Map, Value};

use crate::args::{ChatArgs, Global};
use crate::connect::Explain;
use crate::fail::Failure;
use crate::history::{self, Exchange, History, Reply, Template};
use crate::schema::{self, Schema};
use crate::{connect, options, out, prompt};

/// What a command's options and history make of one chat: the settings that a template and
/// a continued conversation fill in where the command line is silent.
struct Setup {
    model: Option<String>,
    system: Option<String>,
    /// Text put before the prompt (a template's).
    prompt_prefix: Option<String>,
    fields: Map<String, Value>,
    /// The flags', else the template's.
    temperature: Option<f32>,
    max_tokens: Option<u32>,
    /// The conversation's id, and its earlier messages (system prompt first).
    conversation: String,
    earlier: Vec<Message>,
    /// Where exchanges are logged (none with --no-log).
    log: Option<History>,
}

pub fn run(g: &Global, a: &ChatArgs) -> Result<(), Failure> {
    if a.sampling.list_options {
        return out::flush_text(&mut std::io::stdout().lock(), &options::list());
    }
    let fields = options::fields(&a.sampling.options)?;
    if let Some(name) = &a.history.save {
        return save_template(name, a, fields);
    }
    let setup = setup(a, fields)?;
    let client = connect::client(g, 1)?;
    let schema = a.schema.as_deref().map(Schema::load).transpose()?;
    if a.interactive {
        let model = connect::model(&client, setup.model.as_deref())?;
        return interactive(&client, &model, a, &setup);
    }
    let mut prompt = prompt::read_or_empty(&a.prompt, setup.prompt_prefix.is_some())?;
    if let Some(prefix) = &setup.prompt_prefix {
        prompt = join_prompt(prefix, &prompt);
    }
    let model = connect::model(&client, setup.model.as_deref())?;
    let mut messages = setup.earlier.clone();
    push_system(&mut messages, setup.system.as_deref());
    messages.push(Message::user(prompt.as_str()));
    let mut req = request(&model, &setup, messages, schema.as_ref());
    let started = Instant::now();
    let reply = answer(&client, a, &mut req, schema.as_ref(), setup.log.is_some())?;
    if let Some(log) = &setup.log {
        record(log, &client, &setup, &model, &prompt, &reply, started);
    }
    Ok(())
}

/// Prints the reply to `req` as the options ask, and returns it for the history.
fn answer(
    client: &Client,
    a: &ChatArgs,
    req: &mut ChatCompletionRequest,
    schema: Option<&Schema>,
    logging: bool,
) -> Result<Reply, Failure> {
    const ROUTE: &str = "/chat/completions";
    let mut stdout = std::io::stdout().lock();
    let streamed = !a.sampling.no_stream && schema.is_none();
    if streamed && logging {
        // The last chunk then carries the token counts for the history.
        req.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            ..StreamOptions::default()
        });
    }
    if a.sampling.json {
        let body = serde_json::to_value(&*req).map_err(Failure::error)?;
        if streamed {
            // Each of the server's stream events, as it arrives.
            let stream = client
                .raw()
                .post_stream(ROUTE, &body)
                .explained(client, ROUTE)?;
            let mut reply = Reply::default();
            let events = stream.into_iter().inspect(|e| {
                if let Ok(e) = e {
                    if let Some(t) = e["choices"][0]["delta"]["content"].as_str() {
                        reply.text.push_str(t);
                    }
                    reply.count_json(&e["usage"]);
                }
            });
            out::json_lines(&mut stdout, events, |_| false)?;
            return Ok(reply);
        }
        // The server's own object, every field as it sent it.
        let whole = client.raw().post(ROUTE, &body).explained(client, ROUTE)?;
        let choice = &whole.value["choices"][0];
        if schema.is_some() {
            schema::reply_line(
                choice["message"]["content"].as_str(),
                choice["finish_reason"].as_str(),
            )?;
        }
        out::json_line(&mut stdout, &whole.value)?;
        let mut reply = Reply {
            text: choice["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            ..Reply::default()
        };
        reply.count_json(&whole.value["usage"]);
        return Ok(reply);
    }
    if !streamed {
        let whole = client.chat().create(req).explained(client, ROUTE)?;
        let choice = whole.choices.first();
        let text = if schema.is_some() {
            if let Some(refusal) = choice.and_then(|c| c.message.refusal.as_deref()) {
                return Err(Failure::error(format!("the model refused: {refusal}")));
            }
            let finish = choice
                .and_then(|c| c.finish_reason.as_ref())
                .map(|f| f.as_str());
            schema::reply_line(whole.text(), finish)?
        } else {
            whole.text().unwrap_or_default().to_owned()
        };
        out::flush_text(&mut stdout, &format!("{text}\n"))?;
        return Ok(Reply {
            text,
            ..Reply::default()
        }
        .counted(whole.usage.as_ref()));
    }
    let stream = client.chat().create_stream(req).explained(client, ROUTE)?;
    history::streamed(&mut stdout, stream, |c| c.text(), |c| c.usage.as_ref())
}

fn request(
    model: &str,
    setup: &Setup,
    messages: Vec<Message>,
    schema: Option<&Schema>,
) -> ChatCompletionRequest {
    let mut req = ChatCompletionRequest::new(model, messages);
    req.extra.extend(setup.fields.clone());
    req.temperature = setup.temperature;
    req.max_tokens = setup.max_tokens;
    if let Some(s) = schema {
        let mut format = ResponseFormat::json_schema(&s.name, s.schema.clone());
        if let ResponseFormat::JsonSchema { json_schema } = &mut format {
            json_schema.strict = Some(true);
        }
        req.response_format = Some(format);
    }
    req
}

/// The system prompt first, unless the conversation already has one.
fn push_system(messages: &mut Vec<Message>, system: Option<&str>) {
    if let Some(s) = system {
        if messages.is_empty() {
            messages.push(Message::system(s));
        }
    }
}

/// A template's prompt text, then the prompt's own (either may be empty).
fn join_prompt(prefix: &str, prompt: &str) -> String {
    match (prefix.is_empty(), prompt.is_empty()) {
        (_, true) => prefix.to_owned(),
        (true, false) => prompt.to_owned(),
        (false, false) => format!("{prefix} {prompt}"),
    }
}

/// The template, the conversation and the history this chat uses.
fn setup(a: &ChatArgs, fields: Map<String, Value>) -> Result<Setup, Failure> {
    let h = &a.history;
    let needs_history = h.template.is_some() || h.continue_last || h.cid.is_some();
    let log = if needs_history {
        let path = history::path()
            .ok_or_else(|| Failure::error("no data directory for the history: set OAI_DATA_DIR"))?;
        Some(
            History::open(&path)
                .map_err(|e| Failure::error(format!("the history at {}: {e}", path.display())))?,
        )
    } else {
        history::for_logging(a.log.no_log)
    };
    let template = match (&h.template, &log) {
        (Some(name), Some(db)) => {
            Some(db.template(name).map_err(Failure::error)?.ok_or_else(|| {
                Failure::usage(format!(
                    "no template {name:?}: `oai chat --save {name} ...` saves one"
                ))
            })?)
        }
        _ => None,
    };
    let template = template.unwrap_or_default();
    let (conversation, earlier) = match &log {
        Some(db) if h.continue_last || h.cid.is_some() => {
            let id = match &h.cid {
                Some(id) => id.clone(),
                None => db
                    .last_conversation()
                    .map_err(Failure::error)?
                    .ok_or_else(|| {
                        Failure::usage("-c: there is no conversation to continue yet")
                    })?,
            };
            let turns = db.logged(0, Some(&id), None).map_err(Failure::error)?;
            if turns.is_empty() {
                return Err(Failure::usage(format!(
                    "--cid {id}: no such conversation (`oai logs` shows their ids)"
                )));
            }
            let mut messages = Vec::with_capacity(turns.len() * 2 + 1);
            push_system(&mut messages, turns[0].system.as_deref());
            for t in &turns {
                messages.push(Message::user(t.prompt.as_str()));
                messages.push(Message::assistant(t.response.as_str()));
            }
            let model = turns.last().map(|t| t.model.clone());
            (id, (messages, model))
        }
        _ => (history::new_conversation_id(), (Vec::new(), None)),
    };
    let (earlier, conversation_model) = earlier;
    let mut all_fields = template.options;
    // The template keeps the sampling flags among its fields; the request has typed fields
    // for them, and a flag given now wins.
    let saved_temperature = all_fields.remove("temperature").and_then(|v| v.as_f64());
    let saved_max_tokens = all_fields.remove("max_tokens").and_then(|v| v.as_u64());
    all_fields.extend(fields);
    // Whoever is most specific wins: the command line, the template, the conversation.
    let model = a
        .model
        .model
        .clone()
        .filter(|m| !m.trim().is_empty())
        .or(template.model)
        .or(conversation_model);
    Ok(Setup {
        model,
        system: a.system.clone().or(template.system),
        prompt_prefix: template.prompt,
        fields: all_fields,
        temperature: a
            .sampling
            .temperature
            .or(saved_temperature.map(|t| t as f32)),
        max_tokens: a
            .sampling
            .max_tokens
            .or(saved_max_tokens.and_then(|n| u32::try_from(n).ok())),
        conversation,
        earlier,
        // With --no-log the history is read (to continue, or for a template) but not written.
        log: log.filter(|_| !a.log.no_log),
    })
}

/// `--save NAME`: the command's model, system prompt, sampling flags, fields and prompt words
/// as a template (the flags are kept among the fields, under their request names).
fn save_template(name: &str, a: &ChatArgs, mut options: Map<String, Value>) -> Result<(), Failure> {
    if let Some(t) = a.sampling.temperature {
        options.insert("temperature".into(), Value::from(t));
    }
    if let Some(n) = a.sampling.max_tokens {
        options.insert("max_tokens".into(), Value::from(n));
    }
    let path = history::path()
        .ok_or_else(|| Failure::error("no data directory for templates: set OAI_DATA_DIR"))?;
    let db = History::open(&path)
        .map_err(|e| Failure::error(format!("the history at {}: {e}", path.display())))?;
    let prompt = a.prompt.join(" ");
    db.save_template(
        name,
        &Template {
            model: a.model.model.clone(),
            system: a.system.clone(),
            prompt: (!prompt.is_empty()).then_some(prompt),
            options,
        },
    )
    .map_err(Failure::error)?;
    eprintln!("saved template {name:?}: use it with `oai chat -t {name} ...`");
    Ok(())
}

/// Logs one exchange; a failure is said on stderr and changes nothing else.
fn record(
    log: &History,
    client: &Client,
    setup: &Setup,
    model: &str,
    prompt: &str,
    reply: &Reply,
    started: Instant,
) {
    let exchange = Exchange {
        conversation: &setup.conversation,
        command: "chat",
        server: client.base_url(),
        model,
        system: setup.system.as_deref(),
        prompt,
        response: &reply.text,
        options: &setup.fields,
        input_tokens: reply.input_tokens,
        output_tokens: reply.output_tokens,
        duration_ms: history::millis_since(started),
    };
    log.keep(&exchange);
}

/// The chat loop: each line of input is a user turn; the conversation is kept (and logged,
/// turn by turn, as one conversation). An error is reported and the turn dropped, so the
/// loop goes on.
fn interactive(client: &Client, model: &str, a: &ChatArgs, setup: &Setup) -> Result<(), Failure> {
    let mut messages = setup.earlier.clone();
    push_system(&mut messages, setup.system.as_deref());
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
        messages.push(Message::user(turn.as_str()));
        let mut req = request(model, setup, messages.clone(), None);
        let started = Instant::now();
        match answer(client, a, &mut req, None, setup.log.is_some()) {
            Ok(reply) => {
                if let Some(log) = &setup.log {
                    record(log, client, setup, model, &turn, &reply, started);
                }
                messages.push(Message::assistant(reply.text));
            }
            Err(f @ Failure::Output(_)) => return Err(f),
            Err(f) => {
                messages.pop();
                let _ = std::io::stdout().flush();
                eprintln!("error: {}", f.message().unwrap_or("the turn failed"));
            }
        }
    }
}
