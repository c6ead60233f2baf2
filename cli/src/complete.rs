//! `oai complete`: the /completions endpoint, with `oai chat`'s conventions; each exchange goes
//! to the history unless `--no-log`.

use std::time::Instant;

use oai_compat::types::{CompletionRequest, StreamOptions};

use crate::args::{CompleteArgs, Global};
use crate::connect::Explain;
use crate::fail::Failure;
use crate::history::{self, Exchange, Reply};
use crate::{connect, options, out, prompt};

const ROUTE: &str = "/completions";

pub fn run(g: &Global, a: &CompleteArgs) -> Result<(), Failure> {
    if a.sampling.list_options {
        return out::flush_text(&mut std::io::stdout().lock(), &options::list());
    }
    let fields = options::fields(&a.sampling.options)?;
    let client = connect::client(g, 1)?;
    let prompt = prompt::read(&a.prompt)?;
    let model = connect::model(&client, a.model.model.as_deref())?;
    let log = history::for_logging(a.log.no_log);
    let mut req = CompletionRequest::new(model.as_str(), prompt.as_str());
    req.temperature = a.sampling.temperature;
    req.max_tokens = a.sampling.max_tokens;
    req.extra.extend(fields);
    let streamed = !a.sampling.no_stream;
    if streamed && log.is_some() {
        // The last chunk then carries the token counts for the history.
        req.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            ..StreamOptions::default()
        });
    }
    let started = Instant::now();
    let reply = answer(&client, a, &req)?;
    if let Some(log) = log {
        log.keep(&Exchange {
            conversation: &history::new_conversation_id(),
            command: "complete",
            server: client.base_url(),
            model: &model,
            system: None,
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

/// Prints the completion as the options ask, and returns it for the history.
fn answer(
    client: &oai_compat::Client,
    a: &CompleteArgs,
    req: &CompletionRequest,
) -> Result<Reply, Failure> {
    let mut stdout = std::io::stdout().lock();
    if a.sampling.json {
        let body = serde_json::to_value(req).map_err(Failure::error)?;
        let mut reply = Reply::default();
        if !a.sampling.no_stream {
            // Each of the server's stream events, as it arrives.
            let stream = client
                .raw()
                .post_stream(ROUTE, &body)
                .explained(client, ROUTE)?;
            let events = stream.into_iter().inspect(|e| {
                if let Ok(e) = e {
                    reply
                        .text
                        .push_str(e["choices"][0]["text"].as_str().unwrap_or_default());
                    reply.count_json(&e["usage"]);
                }
            });
            out::json_lines(&mut stdout, events, |_| false)?;
            return Ok(reply);
        }
        // The server's own object, every field as it sent it.
        let whole = client.raw().post(ROUTE, &body).explained(client, ROUTE)?;
        out::json_line(&mut stdout, &whole.value)?;
        reply.text = whole.value["choices"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        reply.count_json(&whole.value["usage"]);
        return Ok(reply);
    }
    if a.sampling.no_stream {
        let whole = client.completions().create(req).explained(client, ROUTE)?;
        out::flush_text(&mut stdout, &format!("{}\n", whole.text()))?;
        return Ok(Reply {
            text: whole.text().to_owned(),
            ..Reply::default()
        }
        .counted(whole.usage.as_ref()));
    }
    let stream = client
        .completions()
        .create_stream(req)
        .explained(client, ROUTE)?;
    history::streamed(&mut stdout, stream, |c| c.text(), |c| c.usage.as_ref())
}
