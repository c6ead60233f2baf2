//! `oai embed`: one JSON line `{"index": i, "embedding": [...]}` per input, in input order.
//! Inputs are sent in requests of up to `--batch-size`, read from stdin as they come, so a
//! long input never sits in memory whole.

use std::io::{BufRead, Write};

use oai_compat::Client;
use oai_compat::types::EmbeddingRequest;
use serde::Serialize;

use crate::args::{EmbedArgs, Global};
use crate::connect::Explain;
use crate::fail::Failure;
use crate::{connect, out};

#[derive(Serialize)]
struct Line<'a> {
    index: u64,
    embedding: &'a [f32],
}

pub fn run(g: &Global, a: &EmbedArgs) -> Result<(), Failure> {
    let client = connect::client(g, 1)?;
    let model = connect::model(&client, a.model.model.as_deref())?;
    let size = a.batch_size as usize;
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut next = 0u64;
    let mut batch = Vec::with_capacity(size.min(1024));
    if !a.texts.is_empty() {
        for chunk in a.texts.chunks(size) {
            send(&client, &model, a, chunk.to_vec(), &mut next, &mut stdout)?;
        }
        return stdout.flush().map_err(out::write_failed);
    }
    crate::prompt::hint_when_typing();
    for (n, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let mut line = line.map_err(|e| Failure::error(format!("reading stdin: {e}")))?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        batch.push(crate::prompt::utf8(line, &format!("stdin line {}", n + 1))?);
        if batch.len() == size {
            send(
                &client,
                &model,
                a,
                std::mem::take(&mut batch),
                &mut next,
                &mut stdout,
            )?;
        }
    }
    if !batch.is_empty() {
        send(&client, &model, a, batch, &mut next, &mut stdout)?;
    }
    if next == 0 {
        return Err(Failure::usage(
            "nothing to embed: give texts as arguments or one per stdin line",
        ));
    }
    stdout.flush().map_err(out::write_failed)
}

/// Embeds one batch and prints its lines, numbered from `next`.
fn send(
    client: &Client,
    model: &str,
    a: &EmbedArgs,
    texts: Vec<String>,
    next: &mut u64,
    w: &mut impl Write,
) -> Result<(), Failure> {
    let n = texts.len();
    let mut req = EmbeddingRequest::new(model, texts);
    req.dimensions = a.dimensions;
    let mut reply = client
        .embeddings()
        .create(&req)
        .explained(client, "/embeddings")?;
    // Servers may answer out of order: `index` says which input each vector belongs to.
    reply.data.sort_by_key(|e| e.index);
    let in_order = reply.data.len() == n
        && reply
            .data
            .iter()
            .enumerate()
            .all(|(i, e)| e.index as usize == i);
    if !in_order {
        return Err(Failure::error(format!(
            "the server returned {} embeddings for {n} inputs (or indices that do not match them)",
            reply.data.len()
        )));
    }
    for e in &reply.data {
        out::json_line(
            w,
            &Line {
                index: *next,
                embedding: &e.embedding,
            },
        )?;
        *next += 1;
    }
    // Each batch's lines go out as soon as they are known.
    w.flush().map_err(out::write_failed)
}
