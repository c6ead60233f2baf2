//! Inputs are checked before anything is sent: settings at `build()`, ids before they go into
//! a path, request bodies before they are serialised. Whatever would fail every call, or send
//! the key somewhere it must not go, fails early with an error that says what to fix.

mod support;

use oai_compat::Error;
use support::{client, server};

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_model_id_never_leaves_its_path_segment() {
    let srv = server();
    srv.set_models(["a/../../../admin"]);
    let c = client(&srv);
    // The route answers 404 (the mock has no /models/{id}), so the list is asked next.
    let m = c.models().retrieve("a/../../../admin").await.unwrap();
    assert_eq!(m.id, "a/../../../admin");
    let reqs = srv.requests();
    assert_eq!(reqs[0].path, "/v1/models/a%2F..%2F..%2F..%2Fadmin");
    assert_eq!(reqs[1].path, "/v1/models");
    // Reserved characters cannot start a query or a fragment either.
    let _ = c.models().retrieve("x?y=1#z").await;
    assert_eq!(srv.requests()[2].path, "/v1/models/x%3Fy%3D1%23z");
    // `.`, `..` and an empty id cannot be kept in their segment: refused, nothing sent.
    let sent = srv.request_count();
    for bad in ["..", ".", ""] {
        let err = c.models().retrieve(bad).await.unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{bad:?}: {err:?}");
        assert!(err.to_string().contains("model id"), "{err}");
    }
    assert_eq!(srv.request_count(), sent, "a refused id was sent");
}

fn build_error(b: oai_compat::ClientBuilder) -> String {
    match b.build() {
        Ok(c) => panic!("built: {c:?}"),
        Err(e) => {
            assert!(matches!(e, Error::Config(_)), "{e:?}");
            format!("{e} {e:?}")
        }
    }
}

fn bare() -> oai_compat::ClientBuilder {
    oai_compat::Client::builder().use_env(false).no_proxy()
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_base_url_that_no_request_can_use_fails_at_build() {
    // An out-of-range port used to be dropped silently: every request (and the key) went to
    // port 80.
    for (url, says) in [
        ("http://127.0.0.1:99999/v1", "port"),
        ("http://127.0.0.1:0/v1", "port"),
        ("http://127.0.0.1:/v1", "port"),
        ("http://bad..host/v1", "host"),
        ("http://[::zz]/v1", "IPv6"),
        ("gopher://h/v1", "http://"),
    ] {
        let e = build_error(bare().base_url(url).api_key("sk-x"));
        assert!(e.contains(says), "{url}: {e}");
    }
    // The same check applies to OPENAI_BASE_URL-style input given through the builder.
    let srv = server();
    let ok = bare().base_url(srv.url()).build().unwrap();
    let listed = ok.models().list().await;
    assert!(listed.is_ok(), "{listed:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_bad_base_url_never_repeats_a_password_or_a_query() {
    for url in [
        "http://user:pass-hunter2@host/v1",
        "http://user:pass-hunter2@host:99999/v1",
        "http://host/v1?api-key=pass-hunter2",
    ] {
        let b = bare().base_url(url);
        let shown = format!("{b:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        let e = build_error(b);
        assert!(!e.contains("hunter2"), "{url}: {e}");
    }
}
