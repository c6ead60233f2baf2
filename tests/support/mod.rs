//! Shared helpers for the integration tests: a client pointed at the built-in mock server.
//! The same test sources run in both modes (`maybe_async::test`).
#![allow(dead_code)]

use std::time::Duration;

use oai_compat::{Client, ClientBuilder};
use oai_compat_mock::MockServer;

/// A builder pointed at `server`, isolated from the environment (no env vars, no proxy).
pub fn builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(server.url())
}

/// A client with fast settings for tests.
pub fn client(server: &MockServer) -> Client {
    builder(server)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// A started mock server.
pub fn server() -> MockServer {
    MockServer::start().expect("mock server")
}

/// The model the mock serves by default.
pub const MODEL: &str = "mock-model";
