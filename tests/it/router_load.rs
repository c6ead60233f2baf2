//! Router: the choice by load (calls in flight weighed by latency) and the cool-down of a
//! backend that keeps failing.

use std::time::{Duration, Instant};

use oai_compat::Router;
use oai_compat_mock::{MockServer, Reply};

use crate::router::{backend, calls, chat, serving};

const CHAT: &str = "/v1/chat/completions";

/// A router over `servers` (each serving `m`), its model table learned.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn over(servers: &[&MockServer], b: oai_compat::RouterBuilder) -> Router {
    let r = servers.iter().fold(b, |b, s| b.backend(backend(s))).build();
    r.refresh().await.unwrap();
    r
}

/// `n` chat calls for `m`, from 8 threads at once.
#[cfg(feature = "blocking")]
fn concurrently(r: &Router, n: usize) {
    std::thread::scope(|s| {
        for t in 0..8 {
            s.spawn(move || {
                for _ in (t..n).step_by(8) {
                    r.chat_create(&chat("m")).unwrap();
                }
            });
        }
    });
}

/// `n` chat calls for `m`, from 8 tasks at once.
#[cfg(not(feature = "blocking"))]
async fn concurrently(r: &Router, n: usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..8 {
        let r = r.clone();
        tasks.spawn(async move {
            for _ in (t..n).step_by(8) {
                r.chat_create(&chat("m")).await.unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_slow_server_gets_few_calls_under_load() {
    let (a, b, slow) = (serving(&["m"]), serving(&["m"]), serving(&["m"]));
    slow.set_latency(Duration::from_secs(1));
    let r = over(&[&a, &slow, &b], Router::builder()).await;
    concurrently(&r, 60).await;
    let (a_n, b_n, slow_n) = (calls(&a, CHAT), calls(&b, CHAT), calls(&slow, CHAT));
    assert_eq!(a_n + b_n + slow_n, 60);
    // Round robin would give each 20; only the calls sent before its first answer was
    // timed go to the slow one.
    assert!(
        slow_n * 4 < a_n && slow_n * 4 < b_n,
        "fast {a_n} and {b_n}, slow {slow_n}"
    );
    let stats = r.backend_stats();
    assert!(stats.iter().all(|s| s.in_flight == 0), "{stats:?}");
    assert!(stats[1].latency > stats[0].latency, "{stats:?}");
    assert!(format!("{r:?}").contains("in_flight"));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn equal_servers_all_get_calls_under_load() {
    let (a, b, c) = (serving(&["m"]), serving(&["m"]), serving(&["m"]));
    let r = over(&[&a, &b, &c], Router::builder()).await;
    concurrently(&r, 48).await;
    let counts = [calls(&a, CHAT), calls(&b, CHAT), calls(&c, CHAT)];
    assert_eq!(counts.iter().sum::<usize>(), 48);
    assert!(counts.iter().all(|&n| n > 0), "{counts:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_failing_server_is_set_aside_and_not_touched_during_its_cooldown() {
    let (x, a) = (serving(&["m"]), serving(&["m"]));
    let r = over(
        &[&x, &a],
        Router::builder()
            .cooldown_after(3)
            .cooldown(Duration::from_secs(60)),
    )
    .await;
    // Every attempt on `x` has its connection closed unanswered.
    x.enqueue_all((0..20).map(|_| Reply::reset()));
    for _ in 0..20 {
        r.chat_create(&chat("m")).await.unwrap();
    }
    // Three failures, each failed over to `a`; then `x` is left alone.
    assert_eq!(calls(&x, CHAT), 3);
    assert_eq!(calls(&a, CHAT), 20);
    let stats = r.backend_stats();
    assert_eq!(stats[0].failures, 3);
    assert!(
        stats[0].cooling_until.is_some_and(|t| t > Instant::now()),
        "{stats:?}"
    );
    assert_eq!(stats[0].latency, None, "a refusal is no latency sample");
    assert_eq!((stats[1].failures, stats[1].cooling_until), (0, None));
    assert!(stats.iter().all(|s| s.in_flight == 0), "{stats:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_server_set_aside_is_probed_back_into_use() {
    let (x, a) = (serving(&["m"]), serving(&["m"]));
    let r = over(
        &[&x, &a],
        Router::builder()
            .cooldown_after(2)
            .cooldown(Duration::from_millis(200)),
    )
    .await;
    // Two failures set `x` aside; the third reply fails its first probe.
    x.enqueue_all([Reply::reset(), Reply::reset(), Reply::reset()]);
    for _ in 0..10 {
        r.chat_create(&chat("m")).await.unwrap();
        if calls(&x, CHAT) == 2 {
            break;
        }
    }
    assert_eq!(calls(&x, CHAT), 2);
    assert!(r.backend_stats()[0].cooling_until.is_some());
    std::thread::sleep(Duration::from_millis(250));
    // The cool-down is over: the next call probes `x` first, fails, and fails over.
    let probed = Instant::now();
    r.chat_create(&chat("m")).await.unwrap();
    assert_eq!(calls(&x, CHAT), 3);
    let until = r.backend_stats()[0].cooling_until.unwrap();
    assert!(
        until >= probed + Duration::from_millis(400),
        "a failed probe doubles the cool-down"
    );
    std::thread::sleep(until.saturating_duration_since(Instant::now()) + Duration::from_millis(50));
    // `x` answers now: the probe brings it back.
    r.chat_create(&chat("m")).await.unwrap();
    assert_eq!(calls(&x, CHAT), 4);
    let back = &r.backend_stats()[0];
    assert_eq!((back.failures, back.cooling_until), (0, None), "{back:?}");
    for _ in 0..6 {
        r.chat_create(&chat("m")).await.unwrap();
    }
    assert!(calls(&x, CHAT) >= 6, "x is used again: {}", calls(&x, CHAT));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn with_every_server_set_aside_calls_still_go_out() {
    let (x, y) = (serving(&["m"]), serving(&["m"]));
    let r = over(
        &[&x, &y],
        Router::builder()
            .cooldown_after(1)
            .cooldown(Duration::from_secs(60)),
    )
    .await;
    x.enqueue(Reply::reset());
    y.enqueue(Reply::reset());
    // Both fail once and are set aside; the last retry goes to the one whose cool-down ends
    // first, which answers.
    r.chat_create(&chat("m")).await.unwrap();
    assert_eq!((calls(&x, CHAT), calls(&y, CHAT)), (2, 1));
    let stats = r.backend_stats();
    assert_eq!(stats[0].cooling_until, None, "{stats:?}");
    assert!(stats[1].cooling_until.is_some(), "{stats:?}");
    r.chat_create(&chat("m")).await.unwrap();
    assert_eq!((calls(&x, CHAT), calls(&y, CHAT)), (3, 1));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn client_errors_do_not_set_a_server_aside() {
    let (x, a) = (serving(&["m"]), serving(&["m"]));
    let r = over(&[&x, &a], Router::builder().cooldown_after(1)).await;
    x.enqueue(Reply::error(400, "bad"));
    let err = r.chat_create(&chat("m")).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    let stats = r.backend_stats();
    assert_eq!((stats[0].failures, stats[0].cooling_until), (0, None));
    assert!(stats[0].latency.is_some(), "an answer is timed");
    assert_eq!(stats[0].in_flight, 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn in_flight_counts_until_the_result_and_a_stream_until_dropped() {
    let a = serving(&["m"]);
    let r = over(&[&a], Router::builder().max_retries(0)).await;
    a.enqueue(Reply::reset());
    r.chat_create(&chat("m")).await.unwrap_err();
    assert_eq!(r.backend_stats()[0].in_flight, 0);
    let stream = r.chat_create_stream(&chat("m")).await.unwrap();
    assert_eq!(r.backend_stats()[0].in_flight, 1);
    let req = oai_compat::types::CompletionRequest::new("m", "hi");
    let other = r.completions_create_stream(&req).await.unwrap();
    assert_eq!(r.backend_stats()[0].in_flight, 2);
    drop(stream);
    drop(other);
    assert_eq!(r.backend_stats()[0].in_flight, 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn cooldown_settings_at_their_extremes() {
    // 0 failures: never set aside.
    let x = serving(&["m"]);
    let r = over(&[&x], Router::builder().cooldown_after(0).max_retries(0)).await;
    x.enqueue_all((0..5).map(|_| Reply::reset()));
    for _ in 0..5 {
        r.chat_create(&chat("m")).await.unwrap_err();
    }
    assert_eq!(r.backend_stats()[0].cooling_until, None);
    assert_eq!(r.backend_stats()[0].failures, 5);
    // Cool-downs past what an `Instant` can count: no overflow, the call still goes out.
    let y = serving(&["m"]);
    let r = over(
        &[&y],
        Router::builder()
            .cooldown_after(1)
            .cooldown(Duration::MAX)
            .max_cooldown(Duration::MAX)
            .max_retries(0),
    )
    .await;
    y.enqueue(Reply::reset());
    r.chat_create(&chat("m")).await.unwrap_err();
    let until = r.backend_stats()[0].cooling_until.unwrap();
    assert!(until > Instant::now() + Duration::from_secs(86_400 * 365));
    r.chat_create(&chat("m")).await.unwrap();
    assert_eq!(r.backend_stats()[0].cooling_until, None);
    // A zero cool-down: the next call probes at once.
    let z = serving(&["m"]);
    let r = over(
        &[&z],
        Router::builder()
            .cooldown_after(1)
            .cooldown(Duration::ZERO)
            .max_retries(0),
    )
    .await;
    z.enqueue(Reply::reset());
    r.chat_create(&chat("m")).await.unwrap_err();
    assert!(r.backend_stats()[0].cooling_until.is_some());
    r.chat_create(&chat("m")).await.unwrap();
    assert_eq!(r.backend_stats()[0].failures, 0);
}
