//! The OpenAI-compatible mock server for offline tests: the `oai-compat-mock` crate,
//! re-exported under the `mock` feature.
//!
//! The server lives in its own crate (std threads, no client mode) so that it is built once and
//! can serve tests in any language (`oai mock`); this module only makes it reachable through
//! this one dependency. Depending on `oai-compat-mock` as a dev-dependency works the same.
//!
#![cfg_attr(feature = "blocking", doc = "```")]
#![cfg_attr(not(feature = "blocking"), doc = "```ignore")]
//! use oai_compat::mock::{MockServer, Reply};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start()?;
//! // The next request gets a 503, whatever it is.
//! server.enqueue(Reply::error(503, "busy"));
//!
//! let client = oai_compat::Client::builder().base_url(server.url()).build()?;
//! // The client retries the 503; the script is used up, so the retry gets
//! // the built-in answer.
//! let models = client.models().list()?;
//! assert_eq!(models.data.first().map(|m| m.id.as_str()), Some("mock-model"));
//!
//! let requests = server.requests();
//! assert_eq!(requests.len(), 2);
//! assert_eq!(requests[0].method, "GET");
//! assert_eq!(requests[0].path, "/v1/models");
//! # Ok(())
//! # }
//! ```

pub use oai_compat_mock::*;
