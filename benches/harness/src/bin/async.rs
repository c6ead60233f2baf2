//! oai-compat's async client in the shared harness. Concurrency C = C tokio tasks sharing one
//! `Client` on `#[tokio::main]`'s multi-thread runtime, as the harness's `raw-reqwest` and
//! `async-openai` clients do.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use oai_compat_bench_harness::common::{cpu_seconds, die, parse_args, One, Report, Scenario};
use oai_compat::types::ChatCompletionChunk;
use oai_compat_bench_harness::{chat_sum, chunk_sum, embed_sum, library, models_sum, Ctx};

/// One request of the scenario, its response decoded; returns the checksum.
async fn one(ctx: &Ctx) -> Result<f64, String> {
    let e = |e: oai_compat::Error| e.to_string();
    let c = &ctx.client;
    Ok(match ctx.args.scenario {
        Scenario::Chat => chat_sum(&c.chat().create(&ctx.chat).await.map_err(e)?),
        Scenario::ChatStream => {
            let mut stream = c.chat().create_stream(&ctx.chat).await.map_err(e)?;
            let mut sum = 0;
            if ctx.next_into {
                let mut chunk = ChatCompletionChunk::default();
                while stream.next_into(&mut chunk).await.map_err(e)? {
                    sum += chunk_sum(&chunk);
                }
            } else {
                while let Some(chunk) = stream.try_next().await.map_err(e)? {
                    sum += chunk_sum(&chunk);
                }
            }
            sum as f64
        }
        Scenario::Embed | Scenario::EmbedB64 => {
            embed_sum(&c.embeddings().create(&ctx.embed).await.map_err(e)?)
        }
        Scenario::Models => models_sum(&c.models().list().await.map_err(e)?),
    })
}

/// `total` requests over `concurrency` tasks; the results and the first error.
async fn run(ctx: Arc<Ctx>, total: usize) -> (Vec<One>, Option<String>) {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..ctx.args.concurrency.min(total))
        .map(|_| {
            let ctx = ctx.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut v = Vec::new();
                let mut err = None;
                while next.fetch_add(1, Ordering::Relaxed) < total {
                    let t0 = Instant::now();
                    let r = one(&ctx).await;
                    let lat = t0.elapsed();
                    // The typed API does not show body sizes (`bytes` is null).
                    match r {
                        Ok(c) => v.push(One {
                            lat,
                            bytes: None,
                            checksum: c,
                            ok: true,
                        }),
                        Err(e) => {
                            err.get_or_insert(e);
                            v.push(One {
                                lat,
                                bytes: None,
                                checksum: 0.0,
                                ok: false,
                            })
                        }
                    }
                }
                (v, err)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    let mut first_err = None;
    for t in tasks {
        let (v, e) = t.await.unwrap_or_else(|_| die("a client task panicked"));
        all.extend(v);
        if first_err.is_none() {
            first_err = e;
        }
    }
    (all, first_err)
}

#[tokio::main]
async fn main() {
    let ctx = Arc::new(Ctx::new(parse_args()));
    if ctx.args.warmup > 0 {
        if let (_, Some(e)) = run(ctx.clone(), ctx.args.warmup).await {
            die(&format!("warmup failed: {e}"));
        }
    }
    let c0 = cpu_seconds();
    let t0 = Instant::now();
    let (results, error_sample) = run(ctx.clone(), ctx.args.requests).await;
    let total = t0.elapsed();
    let cpu_s = cpu_seconds() - c0;
    Report {
        client: "oai-compat-async".into(),
        library: library("async, reqwest 0.13 + tokio"),
        total,
        cpu_s,
        results,
        error_sample,
    }
    .print(&ctx.args);
}
