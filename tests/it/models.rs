//! Models: list, and retrieve with vLLM's missing route.

use crate::support;

use oai_compat_mock::Reply;
use support::{client, server};

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn list_has_vllm_fields() {
    let srv = server();
    srv.set_models(["tiny-llama", "lora-a"]);
    let list = client(&srv).models().list().await.unwrap();
    let ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["tiny-llama", "lora-a"]);
    assert_eq!(list.data[0].max_model_len, Some(2048));
    assert_eq!(list.data[0].owned_by.as_deref(), Some("vllm"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retrieve_falls_back_to_the_list_on_404() {
    let srv = server();
    srv.set_models(["org/model-a", "b"]);
    let c = client(&srv);
    let m = c.models().retrieve("org/model-a").await.unwrap();
    assert_eq!(m.id, "org/model-a");
    let reqs = srv.requests();
    assert_eq!(reqs[0].path, "/v1/models/org%2Fmodel-a");
    assert_eq!(reqs[1].path, "/v1/models");
    let err = c.models().retrieve("zzz").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("`zzz`") && msg.contains("org/model-a, b"),
        "{msg}"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retrieve_uses_the_route_when_the_server_has_it() {
    let srv = server();
    srv.enqueue(Reply::json(
        200,
        r#"{"id":"gpt-4o","object":"model","created":1,"owned_by":"openai"}"#,
    ));
    let m = client(&srv).models().retrieve("gpt-4o").await.unwrap();
    assert_eq!(m.owned_by.as_deref(), Some("openai"));
    assert_eq!(srv.request_count(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn retrieve_passes_other_errors_through() {
    let srv = server();
    srv.enqueue(Reply::error(401, "bad key"));
    let err = client(&srv).models().retrieve("x").await.unwrap_err();
    assert!(err.is_auth());
    assert_eq!(srv.request_count(), 1);
}
