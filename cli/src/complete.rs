//! `oai complete`: the /completions endpoint, with `oai chat`'s conventions.

use oai_compat::types::CompletionRequest;

use crate::args::{CompleteArgs, Global};
use crate::connect::Explain;
use crate::fail::Failure;
use crate::{connect, options, out, prompt};

pub fn run(g: &Global, a: &CompleteArgs) -> Result<(), Failure> {
    if a.sampling.list_options {
        return out::flush_text(&mut std::io::stdout().lock(), &options::list());
    }
    let fields = options::fields(&a.sampling.options)?;
    let client = connect::client(g, 1)?;
    let prompt = prompt::read(&a.prompt)?;
    let model = connect::model(&client, a.model.model.as_deref())?;
    let mut req = CompletionRequest::new(model, prompt);
    req.temperature = a.sampling.temperature;
    req.max_tokens = a.sampling.max_tokens;
    req.extra.extend(fields);
    let mut stdout = std::io::stdout().lock();
    if a.sampling.json {
        let body = serde_json::to_value(&req).map_err(Failure::error)?;
        if !a.sampling.no_stream {
            // Each of the server's stream events, as it arrives.
            let stream = client
                .raw()
                .post_stream("/completions", &body)
                .explained(&client, "/completions")?;
            return out::json_lines(&mut stdout, stream, |_| false).map(drop);
        }
        // The server's own object, every field as it sent it.
        let reply = client
            .raw()
            .post("/completions", &body)
            .explained(&client, "/completions")?;
        return out::json_line(&mut stdout, &reply.value);
    }
    if a.sampling.no_stream {
        let reply = client
            .completions()
            .create(&req)
            .explained(&client, "/completions")?;
        return out::flush_text(&mut stdout, &format!("{}\n", reply.text()));
    }
    let stream = client
        .completions()
        .create_stream(&req)
        .explained(&client, "/completions")?;
    out::stream_text(&mut stdout, stream, |c| c.text()).map(drop)
}
