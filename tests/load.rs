//! Load and pool reuse: many requests through one client over few connections, and a long
//! stream that does not grow memory. Bounded in count; loopback only.

mod support;

use oai_compat::types::{ChatCompletionRequest, Message};
use oai_compat_mock::MockServer;
use support::{MODEL, client, server};

const REQUESTS: usize = 10_000;

fn chat(i: usize) -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user(format!("request {i}"))])
}

fn check_pool(srv: &MockServer, concurrency: usize, failures: usize) {
    assert_eq!(failures, 0, "failed requests under load");
    assert_eq!(srv.request_count(), REQUESTS);
    let conns = srv.connections();
    println!("{REQUESTS} requests at concurrency {concurrency}: {conns} TCP connections");
    assert!(
        conns <= concurrency,
        "{conns} connections for {concurrency} callers: the pool is not reused"
    );
}

#[cfg(feature = "blocking")]
#[test]
fn ten_thousand_requests_from_8_threads_share_8_connections() {
    const THREADS: usize = 8;
    let srv = server();
    let c = client(&srv);
    let failures: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let c = c.clone();
                s.spawn(move || {
                    (t..REQUESTS)
                        .step_by(THREADS)
                        .filter(|&i| c.chat().create(chat(i)).is_err())
                        .count()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    check_pool(&srv, THREADS, failures);
}

// On a current-thread runtime a connection is back in the pool before the next request
// looks for one. (On a multi-thread runtime hyper races a new connect against the pool and
// may open a few extra connections, which then stay pooled: 102 for these 64 tasks on 2
// workers when measured.)
#[cfg(not(feature = "blocking"))]
#[tokio::test]
async fn ten_thousand_requests_at_concurrency_64_share_64_connections() {
    const TASKS: usize = 64;
    let srv = server();
    let c = client(&srv);
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let c = c.clone();
        handles.push(tokio::spawn(async move {
            let mut failed = 0;
            for i in (t..REQUESTS).step_by(TASKS) {
                if c.chat().create(&chat(i)).await.is_err() {
                    failed += 1;
                }
            }
            failed
        }));
    }
    let mut failures = 0;
    for h in handles {
        failures += h.await.unwrap();
    }
    check_pool(&srv, TASKS, failures);
}
