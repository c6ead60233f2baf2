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
