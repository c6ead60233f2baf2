//! The client (or router) the global options describe, and the model a command uses.

use oai_compat::{Client, ClientBuilder, RequestOptions, Router};

use crate::args::Global;
use crate::fail::Failure;

/// A builder with the global options applied (base URL, key, timeout, retries).
fn builder(g: &Global) -> ClientBuilder {
    let mut b = Client::builder();
    if let Some(url) = &g.base_url {
        b = match g.exact_base_url {
            true => b.base_url_exact(url),
            false => b.base_url(url),
        };
    }
    for (name, value) in &g.headers {
        b = b.header(name, value);
    }
    // clap already read OPENAI_API_KEY; an empty or absent key means no header at all.
    b = match g.api_key.as_deref() {
        Some(k) if !k.is_empty() => b.api_key(k),
        _ => b.no_api_key(),
    };
    if let Some(t) = g.timeout {
        b = b.timeout(t);
    }
    if let Some(n) = g.max_retries {
        b = b.max_retries(n);
    }
    if let Some(path) = &g.cassette {
        b = b.cassette(path, g.record_mode);
    }
    b
}

/// Each connection's read and write buffer when a command keeps many (`oai batch`): a
/// batch line's request and answer pass through it in pieces, and 8 KiB each way costs
/// 16 KiB a connection where the default 128 KiB cost 256 KiB (most of the memory of
/// `-c 2048`). A response head must fit in it: servers send well under 2 KiB.
const MANY_IO_BUFFER: usize = 8 * 1024;

/// `b` set up for `pool` connections at once: kept for reuse, with small buffers when many.
fn for_pool(mut b: ClientBuilder, pool: usize) -> ClientBuilder {
    if pool > 64 {
        b = b.pool_max_idle_per_host(pool);
    }
    if pool > 1 {
        b = b.io_buffer_size(MANY_IO_BUFFER);
    }
    b
}

/// The client for `--base-url`, keeping at least `pool` idle connections per host.
pub fn client(g: &Global, pool: usize) -> Result<Client, Failure> {
    for_pool(builder(g), pool)
        .build()
        // A bad setting (base URL, timeout): the library's message names it.
        .map_err(Failure::usage)
}

/// A router over `urls` (each configured like [`client`] apart from its base URL), retrying
/// and failing over within `--max-retries`.
pub fn router(g: &Global, urls: &[String], pool: usize) -> Result<Router, Failure> {
    if g.cassette.is_some() {
        return Err(Failure::usage(
            "--cassette records the calls to one server: use --base-url, not --backend",
        ));
    }
    let mut r = Router::builder();
    for url in urls {
        let b = builder(g);
        let b = match g.exact_base_url {
            true => b.base_url_exact(url.trim()),
            false => b.base_url(url.trim()),
        };
        let c = for_pool(b, pool)
            .build()
            .map_err(|e| Failure::usage(format!("--backend {url}: {e}")))?;
        r = r.backend(c);
    }
    if let Some(n) = g.max_retries {
        r = r.max_retries(n);
    }
    Ok(r.build())
}

/// `-m`/`OAI_MODEL` when given, else the first model the server lists.
pub fn model(client: &Client, given: Option<&str>) -> Result<String, Failure> {
    if let Some(m) = given.map(str::trim).filter(|m| !m.is_empty()) {
        return Ok(m.to_owned());
    }
    let list = client.models().list().map_err(|e| {
        Failure::error(format!(
            "listing the models to pick one (or pass -m MODEL): {e}"
        ))
    })?;
    match list.data.into_iter().next() {
        Some(m) => Ok(m.id),
        None => Err(Failure::error(format!(
            "{} lists no models: pass -m MODEL",
            client.base_url()
        ))),
    }
}

/// A failed call as the user reads it. On a 404 (a route or a model that this server does not
/// have: `oai embed` against a chat server, a mistyped `-m`) the message also says which
/// models the server serves, from one `/models` call made on that path only.
pub trait Explain<T> {
    fn explained(self, client: &Client, route: &str) -> Result<T, Failure>;
}

impl<T> Explain<T> for Result<T, oai_compat::Error> {
    fn explained(self, client: &Client, route: &str) -> Result<T, Failure> {
        self.map_err(|e| {
            if e.status() != Some(404) {
                return Failure::from(e);
            }
            let models = client
                .models()
                .with_options(RequestOptions::new().max_retries(0))
                .list();
            let served = match models {
                Ok(list) if list.data.is_empty() => "it lists no models".to_owned(),
                Ok(list) => {
                    let ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
                    format!(
                        "it serves {}: pass -m with one of them, or the --base-url of a server that serves {route}",
                        ids.join(", ")
                    )
                }
                Err(l) => format!("listing its models failed too ({l}): check --base-url"),
            };
            Failure::error(format!(
                "{route} at {}: {e}; {served}",
                client.base_url()
            ))
        })
    }
}
