//! oai-compat's blocking client in the shared harness. Concurrency C = C OS threads sharing
//! one `Client` (its connection pool), as the harness's `raw-ureq` client does.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use oai_compat_bench_harness::common::{die, measure, parse_args, One, Report, Scenario};
use oai_compat::types::ChatCompletionChunk;
use oai_compat_bench_harness::{chat_sum, chunk_sum, embed_sum, library, models_sum, Ctx};

/// One request of the scenario, its response decoded; returns the checksum.
fn one(ctx: &Ctx) -> Result<f64, String> {
    let e = |e: oai_compat::Error| e.to_string();
    let c = &ctx.client;
    Ok(match ctx.args.scenario {
        Scenario::Chat => chat_sum(&c.chat().create(&ctx.chat).map_err(e)?),
        Scenario::ChatStream => {
            let mut sum = 0;
            let mut stream = c.chat().create_stream(&ctx.chat).map_err(e)?;
            if ctx.next_into {
                let mut chunk = ChatCompletionChunk::default();
                while stream.next_into(&mut chunk).map_err(e)? {
                    sum += chunk_sum(&chunk);
                }
            } else {
                for chunk in stream {
                    sum += chunk_sum(&chunk.map_err(e)?);
                }
            }
            sum as f64
        }
        Scenario::Embed | Scenario::EmbedB64 => {
            embed_sum(&c.embeddings().create(&ctx.embed).map_err(e)?)
        }
        Scenario::Models => models_sum(&c.models().list().map_err(e)?),
    })
}

/// `total` requests over `concurrency` threads; the results and the first error.
fn run(ctx: &Ctx, total: usize) -> (Vec<One>, Option<String>) {
    let next = AtomicUsize::new(0);
    let threads = ctx.args.concurrency.min(total);
    let mut all = Vec::with_capacity(total);
    let mut first_err = None;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut v = Vec::new();
                    let mut err = None;
                    while next.fetch_add(1, Ordering::Relaxed) < total {
                        let t0 = Instant::now();
                        let r = one(ctx);
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
        for h in handles {
            let (v, e) = h.join().unwrap_or_else(|_| die("a client thread panicked"));
            all.extend(v);
            if first_err.is_none() {
                first_err = e;
            }
        }
    });
    (all, first_err)
}

fn main() {
    let ctx = Ctx::new(parse_args());
    if ctx.args.warmup > 0 {
        if let (_, Some(e)) = run(&ctx, ctx.args.warmup) {
            die(&format!("warmup failed: {e}"));
        }
    }
    let ((results, error_sample), total, cpu_s) = measure(|| run(&ctx, ctx.args.requests));
    Report {
        client: "oai-compat".into(),
        library: library("blocking, ureq 3"),
        total,
        cpu_s,
        results,
        error_sample,
    }
    .print(&ctx.args);
}
