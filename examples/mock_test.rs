//! `mock_test`: how to unit-test your own code with the built-in mock server.
//!
//! `summarize` below is "your code": it asks a model for a one-line summary. Its tests (at the
//! end of this file) run it against `oai_compat_mock::MockServer`, on a real socket on
//! 127.0.0.1, with scripted answers: a canned reply, an overloaded server that recovers, and an
//! error your code must report. They run with `cargo test --example mock_test`, and with
//! plain `cargo test` (this example is built with `test = true`).
//!
//! ```text
//! cargo test --example mock_test
//! OPENAI_BASE_URL=http://localhost:8000/v1 cargo run --example mock_test -- "some long text"
//! ```

use oai_compat::Client;
use oai_compat::types::{ChatCompletionRequest, Message};

/// Your code: a one-line summary of `text` by `model`.
fn summarize(client: &Client, model: &str, text: &str) -> Result<String, oai_compat::Error> {
    let mut req = ChatCompletionRequest::new(
        model,
        [
            Message::system("Summarize the user's text in one line."),
            Message::user(text),
        ],
    );
    req.max_tokens = Some(60);
    req.temperature = Some(0.0);
    let reply = client.chat().create(&req)?;
    Ok(reply.text().unwrap_or_default().trim().to_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::env::args().nth(1).ok_or("usage: mock_test TEXT")?;
    let client = Client::from_env()?;
    let models = client.models().list()?;
    let model = &models.data.first().ok_or("the server lists no models")?.id;
    println!("{}", summarize(&client, model, &text)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oai_compat_mock::{MockServer, Reply};

    /// A client for the mock: no environment, no proxy, no waiting between retries.
    fn client_for(server: &MockServer) -> Client {
        Client::builder()
            .use_env(false)
            .no_proxy()
            .base_url(server.url())
            .build()
            .unwrap()
    }

    const REPLY: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"m",
        "choices":[{"index":0,"message":{"role":"assistant","content":"  A short summary.\n"},
        "finish_reason":"stop"}]}"#;

    #[test]
    fn trims_the_reply_and_sends_what_we_expect() {
        let server = MockServer::start().unwrap();
        server.enqueue(Reply::json(200, REPLY));
        let summary = summarize(&client_for(&server), "m", "a long text").unwrap();
        assert_eq!(summary, "A short summary.");
        // The mock records every request: check what your code sent.
        let body = server.requests()[0].json().unwrap();
        assert_eq!(body["messages"][1]["content"], "a long text");
        assert_eq!(body["max_tokens"], 60);
        assert_eq!(body["temperature"], 0.0);
    }

    #[test]
    fn an_overloaded_server_is_retried() {
        let server = MockServer::start().unwrap();
        server.enqueue_all([
            Reply::error(503, "overloaded").header("retry-after-ms", "10"),
            Reply::json(200, REPLY),
        ]);
        assert_eq!(
            summarize(&client_for(&server), "m", "text").unwrap(),
            "A short summary."
        );
        assert_eq!(server.request_count(), 2);
    }

    #[test]
    fn an_unknown_model_is_reported() {
        // Without a script, the mock answers like vLLM: here, 404 for a model it does not serve.
        let server = MockServer::start().unwrap();
        let err = summarize(&client_for(&server), "no-such-model", "text").unwrap_err();
        assert!(err.is_not_found(), "{err}");
        assert!(err.to_string().contains("no-such-model"), "{err}");
    }
}
