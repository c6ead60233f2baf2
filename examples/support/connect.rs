//! Connecting an example to a server: `OPENAI_BASE_URL` when it is set, else a freshly
//! started built-in mock server (which stops when dropped, so keep it as long as the client).

use std::error::Error;

use oai_compat::Client;
use oai_compat_mock::MockServer;

/// A client for `OPENAI_BASE_URL`, or for a freshly started mock server when it is unset.
pub fn connect() -> Result<(Client, Option<MockServer>), Box<dyn Error>> {
    if std::env::var("OPENAI_BASE_URL").is_ok_and(|url| !url.trim().is_empty()) {
        return Ok((Client::from_env()?, None));
    }
    let mock = MockServer::start()?;
    eprintln!(
        "OPENAI_BASE_URL is not set: using the built-in mock server at {}",
        mock.url()
    );
    // use_env(false): no OPENAI_API_KEY from the environment is sent to the mock.
    let client = Client::builder()
        .use_env(false)
        .base_url(mock.url())
        .build()?;
    Ok((client, Some(mock)))
}
