//! Streams in both modes: decoding, [DONE], in-band errors, truncation, timeouts, retries.

use crate::support;

use std::time::{Duration, Instant};

use oai_compat::types::{
    ChatCompletionChunk, ChatCompletionRequest, CompletionRequest, Message, StreamOptions,
};
use oai_compat::{Error, ErrorCode, StreamErrorKind, TimeoutPhase};
use oai_compat_mock::Reply;
use support::{MODEL, builder, client, server};

fn chat(text: &str) -> ChatCompletionRequest {
    ChatCompletionRequest::new(MODEL, [Message::user(text)])
}

/// A chat request whose stream ends with a usage chunk (`include_usage`).
fn chat_with_usage(text: &str) -> ChatCompletionRequest {
    ChatCompletionRequest {
        stream_options: Some(StreamOptions {
            include_usage: Some(true),
            ..Default::default()
        }),
        ..chat(text)
    }
}

fn chunk_json(content: &str) -> String {
    serde_json::json!({
        "id": "c1", "object": "chat.completion.chunk", "created": 1, "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": null}]
    })
    .to_string()
}

/// An SSE reply of one chunk per text, each followed by `gap`.
fn paced<'a>(texts: impl IntoIterator<Item = &'a str>, gap: Duration) -> Reply {
    texts.into_iter().fold(Reply::sse(), |reply, text| {
        reply.event(chunk_json(text)).pause(gap)
    })
}

/// Reads `s` on; the read must fail with the event-idle timeout. Returns how long it took.
#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn idle_timeout_of(s: &mut oai_compat::ChatCompletionStream) -> Duration {
    let t = Instant::now();
    let err = s.try_next().await.unwrap_err();
    let took = t.elapsed();
    assert!(
        matches!(&err, Error::Timeout(e) if e.phase == TimeoutPhase::StreamIdle),
        "{err:?}"
    );
    took
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn streamed_chat_concatenates_to_the_non_streamed_content() {
    let srv = server();
    let c = client(&srv);
    let req = chat_with_usage("tell me about streams please");
    let full = c.chat().create(&req).await.unwrap();
    let mut stream = c.chat().create_stream(&req).await.unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.request_id().is_some());
    let mut text = String::new();
    let mut usage = None;
    let mut first_role = None;
    let mut chunks = 0;
    while let Some(chunk) = stream.try_next().await.unwrap() {
        if chunks == 0 {
            first_role = chunk.choices.first().and_then(|c| c.delta.role.clone());
        }
        chunks += 1;
        text.push_str(chunk.text());
        if chunk.usage.is_some() {
            usage = chunk.usage.clone();
        }
    }
    assert!(stream.is_finished());
    let again = stream.try_next().await.unwrap();
    assert!(again.is_none(), "a finished stream stays finished");
    assert!(chunks > 3);
    assert_eq!(first_role, Some(oai_compat::types::Role::Assistant));
    assert_eq!(text, full.text().unwrap());
    assert_eq!(usage, full.usage);
    let bodies: Vec<_> = srv.requests().iter().map(|r| r.json().unwrap()).collect();
    assert!(bodies[0].get("stream").is_none() && bodies[0].get("stream_options").is_none());
    assert_eq!(bodies[1]["stream"], true);
    assert_eq!(bodies[1]["stream_options"]["include_usage"], true);
    assert_eq!(
        srv.requests()[1].header("accept"),
        Some("text/event-stream")
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn streamed_completion_matches_too() {
    let srv = server();
    let c = client(&srv);
    let req = CompletionRequest::new(MODEL, "a prompt of words");
    let full = c.completions().create(&req).await.unwrap();
    let mut s = c.completions().create_stream(&req).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = s.try_next().await.unwrap() {
        text.push_str(chunk.text());
    }
    assert_eq!(text, full.text());
    // And with `next_into`, every event decoded into one `Completion`.
    let mut s = c.completions().create_stream(&req).await.unwrap();
    let mut chunk = oai_compat::types::Completion::default();
    let mut reused = String::new();
    while s.next_into(&mut chunk).await.unwrap() {
        reused.push_str(chunk.text());
    }
    assert_eq!(reused, full.text());
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn in_band_error_after_three_chunks() {
    // Read with `try_next`, then with `next_into` (one value for every event).
    for reuse in [false, true] {
        let srv = server();
        srv.enqueue(
            Reply::sse()
                .event(chunk_json("a"))
                .event(chunk_json("b"))
                .event(chunk_json("c"))
                .event(r#"{"error":{"message":"engine died","type":"InternalServerError","param":null,"code":500}}"#)
                .done(),
        );
        let mut s = client(&srv).chat().create_stream(chat("x")).await.unwrap();
        let mut chunk = ChatCompletionChunk::default();
        let mut got = Vec::new();
        let err = loop {
            let read = if reuse {
                s.next_into(&mut chunk)
                    .await
                    .map(|more| more.then(|| chunk.text().to_owned()))
            } else {
                s.try_next().await.map(|c| c.map(|c| c.text().to_owned()))
            };
            match read {
                Ok(Some(text)) => got.push(text),
                Ok(None) => panic!("the stream ended without the error"),
                Err(e) => break e,
            }
        };
        assert_eq!(got, ["a", "b", "c"], "reuse: {reuse}");
        let Error::Stream(se) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(se.kind, StreamErrorKind::InBand);
        assert_eq!(se.message, "engine died");
        assert_eq!(se.error_type.as_deref(), Some("InternalServerError"));
        assert_eq!(se.code, Some(ErrorCode::Int(500)));
        let after = s.try_next().await.unwrap();
        assert!(after.is_none(), "fused after an error");
        let after = s.next_into(&mut chunk).await.unwrap();
        assert!(!after, "fused after an error");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn in_band_string_and_flat_errors() {
    for payload in [
        r#"{"error":"Unauthorized"}"#,
        r#"{"object":"error","message":"flat one","code":400}"#,
    ] {
        let srv = server();
        srv.enqueue(Reply::sse().event(payload).done());
        let mut s = client(&srv).chat().create_stream(chat("x")).await.unwrap();
        let err = s.try_next().await.unwrap_err();
        assert!(
            matches!(&err, Error::Stream(e) if e.kind == StreamErrorKind::InBand),
            "{err:?}"
        );
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn cut_mid_stream_yields_events_then_an_error_and_is_not_retried() {
    let srv = server();
    srv.enqueue(
        Reply::sse()
            .event(chunk_json("one"))
            .event(chunk_json("two"))
            .cut(),
    );
    let mut s = client(&srv).chat().create_stream(chat("x")).await.unwrap();
    let a = s.try_next().await.unwrap().unwrap();
    let b = s.try_next().await.unwrap().unwrap();
    assert_eq!((a.text(), b.text()), ("one", "two"));
    let err = s.try_next().await.unwrap_err();
    assert!(
        matches!(&err, Error::Stream(e) if e.kind == StreamErrorKind::Truncated),
        "{err:?}"
    );
    assert_eq!(
        srv.request_count(),
        1,
        "a started stream must never be retried"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn body_without_done_is_truncated_not_success() {
    let srv = server();
    srv.enqueue(Reply::sse().event(chunk_json("only")));
    let mut s = client(&srv).chat().create_stream(chat("x")).await.unwrap();
    let only = s.try_next().await.unwrap().unwrap();
    assert_eq!(only.text(), "only");
    let err = s.try_next().await.unwrap_err();
    assert!(
        matches!(&err, Error::Stream(e) if e.kind == StreamErrorKind::Truncated),
        "{err:?}"
    );
    assert!(err.to_string().contains("[DONE]"), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn crlf_comments_and_split_utf8_decode() {
    let srv = server();
    let json = chunk_json("héllo");
    let bytes = format!(": keep-alive\r\n\r\ndata: {json}\r\n\r\n").into_bytes();
    // Split inside the two-byte 'é'.
    let at = bytes.iter().position(|&b| b == 0xC3).unwrap() + 1;
    srv.enqueue(
        Reply::sse()
            .raw(bytes[..at].to_vec())
            .pause(Duration::from_millis(20))
            .raw(bytes[at..].to_vec())
            .raw("data: [DONE]\r\n\r\n"),
    );
    let mut s = client(&srv).chat().create_stream(chat("x")).await.unwrap();
    let first = s.try_next().await.unwrap().unwrap();
    assert_eq!(first.text(), "héllo");
    let end = s.try_next().await.unwrap();
    assert!(end.is_none());
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn keep_alives_do_not_reset_the_event_idle_timeout() {
    let srv = server();
    let mut reply = Reply::sse().event(chunk_json("first"));
    for _ in 0..40 {
        reply = reply
            .pause(Duration::from_millis(100))
            .raw(": keep-alive\n\n");
    }
    srv.enqueue(reply.done());
    let c = builder(&srv)
        .stream_idle_timeout(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    let mut s = c.chat().create_stream(chat("x")).await.unwrap();
    let first = s.try_next().await.unwrap().unwrap();
    assert_eq!(first.text(), "first");
    let took = idle_timeout_of(&mut s).await;
    assert!(took >= Duration::from_millis(850), "{took:?}");
    assert!(took < Duration::from_millis(1600), "{took:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn steady_events_outlive_the_idle_limit_and_a_later_silence_still_trips_it() {
    // Events every 100 ms for 1.2 s under a 400 ms idle limit: the limit is measured from
    // the wait after the last event (the timer set at the first one must not fire the
    // stream), and the silence after them trips it about 400 ms after the last one.
    let srv = server();
    let texts: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
    let reply = paced(texts.iter().map(String::as_str), Duration::from_millis(100));
    srv.enqueue(reply.pause(Duration::from_secs(3)).done());
    let c = builder(&srv)
        .stream_idle_timeout(Some(Duration::from_millis(400)))
        .build()
        .unwrap();
    let mut s = c.chat().create_stream(chat("x")).await.unwrap();
    for text in &texts {
        let chunk = s.try_next().await.unwrap().unwrap();
        assert_eq!(chunk.text(), text);
    }
    let took = idle_timeout_of(&mut s).await;
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

/// The caller busy with something else for `d` between two reads (a slow consumer).
#[cfg(feature = "blocking")]
fn busy_for(d: Duration) {
    std::thread::sleep(d);
}

/// The caller busy with something else for `d` between two reads (a slow consumer).
#[cfg(not(feature = "blocking"))]
async fn busy_for(d: Duration) {
    tokio::time::sleep(d).await;
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_slow_consumer_does_not_trip_the_idle_timeout() {
    // The server sends an event every 100 ms, well within the limit; the caller spends twice
    // the limit on each. The limit is on the server's silence while the client waits, not on
    // the caller's own time between reads: nothing times out, and every event arrives.
    let srv = server();
    let texts = ["a", "b", "c", "d"];
    srv.enqueue(paced(texts, Duration::from_millis(100)).done());
    let c = builder(&srv)
        .stream_idle_timeout(Some(Duration::from_millis(200)))
        .build()
        .unwrap();
    let mut s = c.chat().create_stream(chat("x")).await.unwrap();
    busy_for(Duration::from_millis(400)).await;
    let mut got = Vec::new();
    while let Some(chunk) = s.try_next().await.unwrap() {
        got.push(chunk.text().to_owned());
        busy_for(Duration::from_millis(400)).await;
    }
    assert_eq!(got, texts);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_silent_connection_trips_the_idle_timeout() {
    let srv = server();
    srv.enqueue(
        Reply::sse()
            .event(chunk_json("first"))
            .pause(Duration::from_secs(5))
            .done(),
    );
    let c = builder(&srv)
        .stream_idle_timeout(Some(Duration::from_millis(800)))
        .build()
        .unwrap();
    let mut s = c.chat().create_stream(chat("x")).await.unwrap();
    s.try_next().await.unwrap().unwrap();
    let took = idle_timeout_of(&mut s).await;
    assert!(took < Duration::from_millis(2000), "{took:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn the_total_stream_deadline_holds() {
    let srv = server();
    let texts: Vec<String> = (0..30).map(|i| i.to_string()).collect();
    srv.enqueue(paced(texts.iter().map(String::as_str), Duration::from_millis(100)).done());
    let c = builder(&srv)
        .stream_timeout(Some(Duration::from_millis(700)))
        .build()
        .unwrap();
    let t = Instant::now();
    let mut s = c.chat().create_stream(chat("x")).await.unwrap();
    let err = loop {
        match s.try_next().await {
            Ok(Some(_)) => {}
            Ok(None) => panic!("finished despite the deadline"),
            Err(e) => break e,
        }
    };
    assert!(
        matches!(&err, Error::Timeout(e) if e.phase == TimeoutPhase::StreamTotal),
        "{err:?}"
    );
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn slow_headers_time_out_as_request_and_are_retried() {
    let srv = server();
    srv.enqueue(
        Reply::sse()
            .delay(Duration::from_secs(3))
            .event(chunk_json("late"))
            .done(),
    );
    let c = builder(&srv)
        .timeout(Duration::from_millis(500))
        .max_retries(1)
        .build()
        .unwrap();
    let mut s = c.chat().create_stream(chat("x")).await.unwrap();
    assert_eq!(s.meta().retries_taken, 1);
    let mut n = 0;
    while s.try_next().await.unwrap().is_some() {
        n += 1;
    }
    assert!(n > 0);
    let c = builder(&srv)
        .timeout(Duration::from_millis(500))
        .max_retries(0)
        .build()
        .unwrap();
    srv.enqueue(Reply::sse().delay(Duration::from_secs(3)).done());
    let err = c.chat().create_stream(chat("x")).await.unwrap_err();
    assert!(
        matches!(&err, Error::Timeout(e) if e.phase == TimeoutPhase::Request),
        "{err:?}"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn errors_before_the_stream_are_retried() {
    let srv = server();
    srv.enqueue(Reply::error(503, "busy").header("retry-after-ms", "10"));
    let mut s = client(&srv).chat().create_stream(chat("hi")).await.unwrap();
    assert_eq!(s.meta().retries_taken, 1);
    while s.try_next().await.unwrap().is_some() {}
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn an_oversized_event_is_rejected() {
    let srv = server();
    let huge = format!("data: {}\n\n", "x".repeat(5 * 1024 * 1024));
    srv.enqueue(Reply::sse().raw(huge).done());
    let mut s = client(&srv).chat().create_stream(chat("x")).await.unwrap();
    let err = s.try_next().await.unwrap_err();
    assert!(
        matches!(&err, Error::Stream(e) if e.kind == StreamErrorKind::TooLarge),
        "{err:?}"
    );
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_stream_is_an_iterator() {
    let srv = server();
    let s = client(&srv).chat().create_stream(chat("a b c")).unwrap();
    let texts: Vec<String> = s.map(|c| c.unwrap().text().to_owned()).collect();
    assert_eq!(texts.concat(), "Mock reply to: a b c");
}

#[cfg(not(feature = "blocking"))]
#[tokio::test]
async fn async_stream_is_a_futures_stream_and_send() {
    use futures_core::Stream;
    use std::pin::Pin;
    let srv = server();
    let c = client(&srv);
    fn assert_send<T: Send>(_: &T) {}
    fn assert_stream<S: Stream + Send + Unpin>(_: &S) {}
    let req = chat("a b c");
    let chat_handle = c.chat();
    let fut = chat_handle.create_stream(&req);
    assert_send(&fut);
    let mut s = fut.await.unwrap();
    assert_stream(&s);
    let mut text = String::new();
    while let Some(item) = std::future::poll_fn(|cx| Pin::new(&mut s).poll_next(cx)).await {
        text.push_str(item.unwrap().text());
    }
    assert_eq!(text, "Mock reply to: a b c");
    // Streams can move to another task.
    let mut s = c.chat().create_stream(&req).await.unwrap();
    let handle = tokio::spawn(async move { s.try_next().await.map(|c| c.is_some()) });
    assert!(handle.await.unwrap().unwrap());
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn accumulated_stream_equals_the_non_streamed_response() {
    let srv = server();
    let c = client(&srv);
    let mut req = chat_with_usage("two choices please");
    req.n = Some(2);
    let full = c.chat().create(&req).await.unwrap();
    let mut acc = oai_compat::ChatCompletionAccumulator::new();
    let mut s = c.chat().create_stream(&req).await.unwrap();
    while let Some(chunk) = s.try_next().await.unwrap() {
        acc.push(&chunk);
    }
    let got = acc.finish();
    assert_eq!(got.choices.len(), 2);
    for (a, b) in got.choices.iter().zip(&full.choices) {
        assert_eq!(a.index, b.index);
        assert_eq!(a.message.content, b.message.content);
        assert_eq!(a.message.role, b.message.role);
        assert_eq!(a.finish_reason, b.finish_reason);
    }
    assert_eq!(got.usage, full.usage);

    // A named tool call streams as fragments and accumulates to the same call.
    let mut req = chat("weather?");
    req.tools = Some(vec![oai_compat::types::Tool::function(
        "get_weather",
        "weather",
        serde_json::json!({"type": "object"}),
    )]);
    req.tool_choice = Some(oai_compat::types::ToolChoice::Function(
        "get_weather".into(),
    ));
    let full = c.chat().create(&req).await.unwrap();
    let mut acc = oai_compat::ChatCompletionAccumulator::new();
    let mut s = c.chat().create_stream(&req).await.unwrap();
    while let Some(chunk) = s.try_next().await.unwrap() {
        acc.push(&chunk);
    }
    let got = acc.finish();
    let a = got.choices[0].message.tool_calls.as_ref().unwrap();
    let b = full.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(a.len(), b.len());
    assert_eq!(a[0].function, b[0].function);
    assert!(!a[0].id.is_empty());
    assert_eq!(got.choices[0].finish_reason, full.choices[0].finish_reason);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn streams_read_to_their_end_reuse_one_connection() {
    let srv = server();
    let c = client(&srv);
    let req = chat("reuse the connection");
    for _ in 0..5 {
        let mut stream = c.chat().create_stream(&req).await.unwrap();
        let mut n = 0;
        while stream.try_next().await.unwrap().is_some() {
            n += 1;
        }
        assert!(n > 0);
    }
    // The rest of each body (the chunked encoding's end) is read after `[DONE]`, so the
    // connection goes back to the pool instead of being closed.
    assert_eq!(srv.connections(), 1, "one connection for five streams");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_body_left_open_after_done_does_not_hold_the_stream() {
    let srv = server();
    srv.enqueue(
        Reply::sse()
            .event(chunk_json("a"))
            .done()
            .pause(Duration::from_secs(5))
            .event(chunk_json("never read")),
    );
    let c = client(&srv);
    let started = Instant::now();
    let mut stream = c.chat().create_stream(chat("hi")).await.unwrap();
    let mut text = String::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        text.push_str(chunk.text());
    }
    assert_eq!(text, "a");
    // The drain after `[DONE]` is bounded (50 ms); the server's 5 s pause is not waited for.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn next_into_gives_the_iterator_s_items_and_reuses_the_value() {
    let srv = server();
    let c = client(&srv);
    let req = chat_with_usage("tell me about streams please, in many words");
    let mut expected = Vec::new();
    let mut s = c.chat().create_stream(&req).await.unwrap();
    while let Some(chunk) = s.try_next().await.unwrap() {
        expected.push(chunk);
    }
    assert!(expected.len() > 3);

    let mut s = c.chat().create_stream(&req).await.unwrap();
    // An earlier value in the place: every field of it must be replaced or reset.
    let mut chunk: ChatCompletionChunk = serde_json::from_value(serde_json::json!({
        "id": "an-earlier-id-that-is-long-enough", "object": "x", "created": 9,
        "model": "an-earlier-model", "system_fingerprint": "fp", "service_tier": "flex",
        "usage": {"prompt_tokens": 1, "total_tokens": 1}, "obfuscation": "k",
        "choices": [
            {"index": 0, "delta": {"role": "tool", "content": "old", "reasoning": "r"},
             "finish_reason": "length", "matched_stop": 1},
            {"index": 1, "delta": {"content": "second"}}
        ]
    }))
    .unwrap();
    let id_buffer = chunk.id.as_ptr();
    let mut got = Vec::new();
    while s.next_into(&mut chunk).await.unwrap() {
        got.push(chunk.clone());
    }
    // Each request has its own completion id; everything else is the same.
    assert!(
        got.iter()
            .all(|g| g.id == got[0].id && g.id != expected[0].id)
    );
    for chunk in got.iter_mut().chain(&mut expected) {
        chunk.id.clear();
    }
    assert_eq!(got, expected);
    // The id was read into the string the value already had (the mock's id is shorter).
    assert_eq!(chunk.id.as_ptr(), id_buffer);
    assert!(s.is_finished());
    let again = s.next_into(&mut chunk).await.unwrap();
    assert!(!again, "a finished stream stays finished");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn next_into_reports_an_event_that_does_not_decode() {
    let srv = server();
    srv.enqueue(
        Reply::sse()
            .event(chunk_json("a"))
            .event(r#"{"choices":[{"index":"zero"}]}"#)
            .event(chunk_json("never read"))
            .done(),
    );
    let mut s = client(&srv).chat().create_stream(chat("x")).await.unwrap();
    let mut chunk = ChatCompletionChunk::default();
    let read = s.next_into(&mut chunk).await.unwrap();
    assert!(read);
    assert_eq!(chunk.text(), "a");
    let err = s.next_into(&mut chunk).await.unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    let after = s.next_into(&mut chunk).await.unwrap();
    assert!(!after, "fused after an error");
}
