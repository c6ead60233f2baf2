//! Inputs are checked before anything is sent: settings at `build()`, ids before they go into
//! a path, request bodies before they are serialised. Whatever would fail every call, or send
//! the key somewhere it must not go, fails early with an error that says what to fix.

use crate::support;

use std::time::Duration;

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat::{ClientBuilder, Error, RequestOptions};
use support::{MODEL, client, server};

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
        assert!(matches!(err, Error::InvalidRequest(_)), "{bad:?}: {err:?}");
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

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn call_both_ways(c: &oai_compat::Client) {
    let req = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    let out = c.chat().create(&req).await;
    assert!(out.is_ok(), "{out:?}");
    let mut s = c.chat().create_stream(&req).await.unwrap();
    let mut n = 0;
    while let Some(item) = s.try_next().await.unwrap() {
        let _ = item;
        n += 1;
    }
    assert!(n > 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn settings_at_their_extremes_never_panic_or_overflow() {
    let srv = server();
    let huge = [
        Duration::MAX,
        Duration::from_secs(u64::MAX / 2),
        Duration::from_secs(1 << 40),
    ];
    for d in huge {
        let tunes: [fn(ClientBuilder, Duration) -> ClientBuilder; 4] = [
            |b, d| b.timeout(d),
            |b, d| b.connect_timeout(d),
            |b, d| b.stream_idle_timeout(Some(d)),
            |b, d| b.stream_timeout(Some(d)),
        ];
        for tune in tunes {
            let c = tune(support::builder(&srv), d).build().unwrap();
            call_both_ways(&c).await;
        }
        let c = support::builder(&srv)
            .build()
            .unwrap()
            .with_options(RequestOptions::new().timeout(d));
        call_both_ways(&c).await;
    }
    // A body limit of usize::MAX used to overflow in blocking mode (release: every call
    // failed with "the body is empty"; debug: a panic).
    let c = support::builder(&srv)
        .max_response_bytes(usize::MAX)
        .max_decoded_multiple(usize::MAX)
        .pool_max_idle_per_host(usize::MAX)
        .max_retries(u32::MAX)
        .build()
        .unwrap();
    call_both_ways(&c).await;
    let e = build_error(support::builder(&srv).max_response_bytes(0));
    assert!(e.contains("max_response_bytes"), "{e}");
    let e = build_error(support::builder(&srv).max_decoded_multiple(0));
    assert!(e.contains("max_decoded_multiple"), "{e}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn what_would_fail_every_call_fails_when_it_is_set() {
    let srv = server();
    for (b, says) in [
        (
            support::builder(&srv).organization("org\r\nX-Evil: 1"),
            "organization",
        ),
        (support::builder(&srv).project("proj\u{7f}"), "project"),
        (support::builder(&srv).project("projé"), "project"),
        // Blocking sent nothing (a "connection error" after retries), async sent it: the
        // modes must agree, so neither accepts it.
        (support::builder(&srv).api_key("sk-clé-secrète"), "API key"),
        (
            support::builder(&srv).header("X-Name", "Zoë"),
            "printable ASCII",
        ),
        (
            support::builder(&srv).header("Content-Length", "5"),
            "Content-Length",
        ),
        (
            support::builder(&srv).header("host", "evil.example"),
            "host",
        ),
        (
            support::builder(&srv).header("Transfer-Encoding", "chunked"),
            "Transfer-Encoding",
        ),
        (
            support::builder(&srv).header("Connection", "close"),
            "Connection",
        ),
    ] {
        let e = build_error(b);
        assert!(e.contains(says), "{says}: {e}");
        assert!(!e.contains("secrète"), "the key was repeated: {e}");
    }
    // Per-call options are checked before anything is sent.
    let c = client(&srv);
    let req = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    for opts in [
        RequestOptions::new().header("Content-Length", "5"),
        RequestOptions::new().header("Host", "evil.example"),
        RequestOptions::new().header("X-Name", "Zoë"),
        RequestOptions::new().timeout(Duration::ZERO),
    ] {
        let err = c
            .chat()
            .with_options(opts.clone())
            .create(&req)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{opts:?}: {err:?}");
        let err = c
            .chat()
            .with_options(opts)
            .create_stream(&req)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
    }
    assert_eq!(srv.request_count(), 0, "an invalid call was sent");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn non_finite_numbers_are_refused_not_sent_as_null() {
    let srv = server();
    let c = client(&srv);
    let mut nan = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    nan.temperature = Some(f32::NAN);
    let mut inf = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    inf.top_p = Some(f32::INFINITY);
    let mut bias = ChatCompletionRequest::new(MODEL, [Message::user("hi")]);
    bias.logit_bias = Some([("50256".to_owned(), f32::NEG_INFINITY)].into());
    for (req, field) in [
        (&nan, "`temperature` is NaN"),
        (&inf, "`top_p` is inf"),
        (&bias, "`logit_bias.50256` is -inf"),
    ] {
        let err = c.chat().create(req).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
        assert!(err.to_string().contains(field), "{err}");
        let err = c.chat().create_stream(req).await.unwrap_err();
        assert!(err.to_string().contains(field), "{err}");
    }
    let mut comp = oai_compat::types::CompletionRequest::new(MODEL, "Once");
    comp.presence_penalty = Some(f32::NAN);
    let err = c.completions().create(&comp).await.unwrap_err();
    assert!(
        err.to_string().contains("`presence_penalty` is NaN"),
        "{err}"
    );
    assert_eq!(
        srv.request_count(),
        0,
        "a body with a non-finite number was sent"
    );
}
