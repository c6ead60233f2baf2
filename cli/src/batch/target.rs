//! Where the lines go: the `--base-url` server as written, or a fleet of `--backend`s through
//! the library's `Router` (by the body's `model`, with failover).

use oai_compat::{Client, Error, RequestOptions, Response, Router};
use serde_json::value::RawValue;

use super::request::Job;
use super::result::Failed;
use super::say;
use crate::args::Global;
use crate::connect;
use crate::fail::Failure;

#[derive(Clone)]
pub enum Target {
    One(Client),
    Fleet(Router),
}

impl Target {
    /// The target, checked before anything is sent: a server that cannot be reached at all
    /// (or a fleet where no backend answers) stops the run instead of failing every line.
    pub fn new(g: &Global, backends: &[String], concurrency: usize) -> Result<Target, Failure> {
        let backends: Vec<String> = backends
            .iter()
            .map(|b| b.trim().to_owned())
            .filter(|b| !b.is_empty())
            .collect();
        if backends.is_empty() {
            let client = connect::client(g, concurrency)?;
            let probe = client
                .raw()
                .with_options(RequestOptions::new().max_retries(0))
                .get("/models");
            if let Err(e @ Error::Connection(_)) = probe {
                return Err(Failure::error(format!(
                    "cannot reach {}: {e}; nothing was sent",
                    client.base_url()
                )));
            }
            return Ok(Target::One(client));
        }
        let router = connect::router(g, &backends, concurrency)?;
        let served = router.refresh().map_err(|e| {
            Failure::error(format!(
                "no backend answered /models ({e}); nothing was sent"
            ))
        })?;
        for b in router.backends() {
            if !served
                .values()
                .any(|urls| urls.iter().any(|u| u == b.base_url()))
            {
                say(&format!(
                    "backend {} serves no model (it did not answer /models?): lines go to the others",
                    b.base_url()
                ));
            }
        }
        Ok(Target::Fleet(router))
    }

    /// Whether the runner retries a failed line itself (one server: each send is one
    /// attempt, see `send`), rather than the router (a fleet: it retries and fails over
    /// between backends within `--max-retries`).
    pub fn retried_by_runner(&self) -> bool {
        matches!(self, Target::One(_))
    }

    /// Sends one line; the answer stays JSON text.
    ///
    /// To one server it is one attempt: the runner retries, so that a 429 or 503 reaches the
    /// concurrency gate at once (which halves the requests in flight and pauses new sends for
    /// the server's Retry-After) instead of being retried by the client inside a permit,
    /// unseen by the gate and unpaced by it.
    pub fn send(&self, job: &Job) -> Result<Response<Box<RawValue>>, Failed> {
        match self {
            Target::One(c) => c
                .raw()
                .with_options(
                    RequestOptions::new()
                        .request_id(&job.request_id)
                        .max_retries(0),
                )
                .post_text(job.path, &job.body)
                .map_err(Failed::Client),
            Target::Fleet(r) => match &job.model {
                Some(m) => r
                    .raw_post_text_with_options(
                        m,
                        job.path,
                        &job.body,
                        &RequestOptions::new().request_id(&job.request_id),
                    )
                    .map_err(Failed::Client),
                None => Err(Failed::NoModel),
            },
        }
    }
}
