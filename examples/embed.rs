//! `embed`: embeddings from the command line, on the blocking API.
//!
//! Embeds each TEXT argument (one batch request) and prints one line per input, in input
//! order: the vector's dimension and its L2 norm (`384 1.000000`). The server comes from
//! `OPENAI_BASE_URL` / `OPENAI_API_KEY`; it must serve an embedding model (with vLLM, a
//! server started with an embedding model, e.g. `vllm serve sentence-transformers/all-MiniLM-L6-v2`).
//!
//! ```text
//! OPENAI_BASE_URL=http://localhost:8001/v1 cargo run --example embed -- "a cat" "a dog"
//! ```
//!
//! Exit status: 0 success, 1 failure (message on stderr), 2 bad usage.

#[path = "support/common.rs"]
mod common;

use std::error::Error;
use std::process::ExitCode;

use oai_compat::Client;
use oai_compat::types::EmbeddingRequest;

const USAGE: &str = "\
usage: embed [--model M] [--] TEXT...

Embeds each TEXT and prints one line per TEXT, in order: `<dimension> <L2 norm>`.

options:
  --model M      the embedding model (default: the first model the server lists)
  -h, --help     print this help

environment:
  OPENAI_BASE_URL    the server, e.g. http://localhost:8001/v1 (default: OpenAI)
  OPENAI_API_KEY     the API key (vLLM needs one only when started with --api-key)

exit status: 0 success, 1 failure (message on stderr), 2 bad usage
";

struct EmbedArgs {
    model: Option<String>,
    texts: Vec<String>,
}

fn parse_args(mut args: common::Args) -> Result<Option<EmbedArgs>, String> {
    let mut model = None;
    while let Some(option) = args.next_option() {
        match option.as_str() {
            "-h" | "--help" => return Ok(None),
            "--model" => model = Some(args.value(&option)?),
            _ => return Err(format!("unknown option {option}")),
        }
    }
    let texts = args.operands();
    if texts.is_empty() {
        return Err("no text given".to_owned());
    }
    Ok(Some(EmbedArgs { model, texts }))
}

fn main() -> ExitCode {
    let args = match common::command_line(USAGE, parse_args) {
        Ok(args) => args,
        Err(code) => return code,
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => common::failure(&e),
    }
}

fn run(args: EmbedArgs) -> Result<(), Box<dyn Error>> {
    let client = Client::builder().build()?;
    let model = common::choose_model(&client, args.model.as_deref())?;
    let count = args.texts.len();
    let response = client
        .embeddings()
        .create(EmbeddingRequest::new(model, args.texts))?;

    // Each embedding says which input it belongs to; order by that rather than trusting the
    // order of the list, and make sure every input got exactly one.
    let mut data = response.data;
    data.sort_by_key(|e| e.index);
    let complete =
        data.len() == count && data.iter().enumerate().all(|(i, e)| e.index as usize == i);
    if !complete {
        return Err(format!(
            "the server returned {} embedding(s) for {count} input(s), indices {:?}",
            data.len(),
            data.iter().map(|e| e.index).collect::<Vec<_>>()
        )
        .into());
    }
    for embedding in &data {
        let v = &embedding.embedding;
        // Summed in f64 so the printed norm does not carry f32 rounding noise.
        let norm = v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        println!("{} {norm:.6}", v.len());
    }
    Ok(())
}
