//! Against LiteLLM's proxy (the real one, from PyPI) routing to the real vLLM servers, as
//! fleets deploy it (see `scripts/servers.sh` and `scripts/litellm/config.yaml`). Ignored
//! unless run with `--ignored`; then the proxy and both vLLM servers must answer.
//!
//! What differs from talking to vLLM directly is asserted here exactly as LiteLLM 1.108.7
//! sends it (the guide's vLLM chapter, docs/guide/vllm.md, lists it under LiteLLM).

use crate::live;

use std::time::{Duration, Instant};

use live::{CHAT_MODEL, EMBED_MODEL};
use oai_compat::types::{
    ChatCompletionRequest, CompletionRequest, EmbeddingRequest, EncodingFormat, FinishReason,
    Message, StopReason, StreamOptions, Usage,
};
use oai_compat::{
    ApiError, ChatCompletionAccumulator, Client, CompletionAccumulator, Error, ErrorCode,
    RequestOptions,
};

/// A model that LiteLLM always fails with its mock rate-limit error.
const ALWAYS_429: &str = "always-429";
/// A model whose upstream is a closed port on 127.0.0.1.
const UPSTREAM_DOWN: &str = "upstream-down";
/// A model that LiteLLM always fails with a provider's 529 ("overloaded").
const ALWAYS_529: &str = "always-529";

/// A client for the proxy with its master key and `retries` retries.
fn proxy(retries: u32) -> Client {
    Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(live::litellm_url())
        .api_key(live::litellm_key())
        .timeout(Duration::from_secs(120))
        .max_retries(retries)
        .build()
        .unwrap()
}

fn chat_req(model: &str, text: &str, max_tokens: u32) -> ChatCompletionRequest {
    let mut r = ChatCompletionRequest::new(model, [Message::user(text)]);
    r.max_tokens = Some(max_tokens);
    r.temperature = Some(0.0);
    // The tiny model is random and rebuilt per machine: an early EOS must not change counts.
    // LiteLLM passes vLLM's own parameters through to `hosted_vllm`.
    r.vllm.ignore_eos = Some(true);
    r
}

/// The typed API error, or a panic naming what came instead.
fn api(err: &Error) -> &ApiError {
    match err {
        Error::Api(api) => api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The API error in LiteLLM's shape: `status`, its `type`, the status again as a string
/// `code`, and no `param`.
fn litellm_error<'a>(err: &'a Error, status: u16, error_type: &str) -> &'a ApiError {
    let e = api(err);
    assert_eq!(e.status, status, "{err:?}");
    assert_eq!(e.error_type.as_deref(), Some(error_type), "{err:?}");
    assert_eq!(e.code, Some(ErrorCode::Text(status.to_string())), "{err:?}");
    assert_eq!(e.param, None, "{err:?}");
    e
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn chat_is_routed_to_vllm_under_the_same_model_name() {
    let req = chat_req(CHAT_MODEL, "Tell me about the sea", 8);
    let out = proxy(0).chat().create_with_meta(&req).await.unwrap();
    // Greedy decoding: vLLM behind the proxy gives exactly what it gives directly.
    let direct = live::live(&live::vllm_chat_url())
        .chat()
        .create(&req)
        .await
        .unwrap();
    assert_eq!(out.text(), direct.text());
    assert!(!out.text().unwrap().is_empty());
    assert_eq!(out.model, CHAT_MODEL);
    assert_eq!(out.choices[0].finish_reason, Some(FinishReason::Length));
    let usage = out.usage.as_ref().unwrap();
    assert_eq!(usage.completion_tokens, Some(8));
    assert_eq!(
        usage.prompt_tokens,
        direct.usage.as_ref().unwrap().prompt_tokens
    );
    // LiteLLM moves vLLM's per-choice extras into `provider_specific_fields`, so the typed
    // fields are empty behind the proxy.
    // Stop at a character the (greedy) answer above contains, so vLLM sets `stop_reason`.
    // A letter or digit if the random model wrote one, else any visible character.
    let answer = direct.text().unwrap();
    let stop = answer
        .chars()
        .find(char::is_ascii_alphanumeric)
        .or_else(|| {
            answer
                .chars()
                .find(|c| !c.is_whitespace() && *c != char::REPLACEMENT_CHARACTER)
        })
        .expect("a visible character in eight tokens")
        .to_string();
    let mut stopped = req.clone();
    stopped.stop = Some(vec![stop.as_str()].into());
    let direct_stop = live::live(&live::vllm_chat_url())
        .chat()
        .create(&stopped)
        .await
        .unwrap();
    let choice = &direct_stop.choices[0];
    assert_eq!(choice.finish_reason, Some(FinishReason::Stop), "{choice:?}");
    assert_eq!(choice.stop_reason, Some(StopReason::Text(stop.clone())));
    let via = proxy(0).chat().create(&stopped).await.unwrap();
    let choice = &via.choices[0];
    assert_eq!(via.text(), direct_stop.text());
    assert_eq!(choice.finish_reason, Some(FinishReason::Stop));
    assert_eq!(choice.stop_reason, None);
    assert_eq!(
        choice.extra["provider_specific_fields"]["stop_reason"],
        stop.as_str()
    );
    // The headers say which deployment answered; there is no x-request-id, LiteLLM's
    // correlation id is x-litellm-call-id.
    let h = &out.meta.headers;
    assert_eq!(h.get("x-litellm-model-group"), Some(CHAT_MODEL));
    assert_eq!(
        h.get("x-litellm-model-name"),
        Some("hosted_vllm/tiny-llama")
    );
    assert_eq!(
        h.get("x-litellm-model-api-base"),
        Some(live::vllm_chat_url().as_str())
    );
    assert_eq!(h.get("x-litellm-attempted-retries"), Some("0"));
    assert!(h.get("x-litellm-call-id").is_some_and(|v| v.len() == 36));
    assert_eq!(out.meta.request_id(), None);
    assert_eq!(out.meta.retries_taken, 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn models_are_the_proxys_model_names() {
    let list = proxy(0).models().list().await.unwrap();
    let ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
    for want in [
        CHAT_MODEL,
        EMBED_MODEL,
        ALWAYS_429,
        UPSTREAM_DOWN,
        ALWAYS_529,
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    let chat = list.data.iter().find(|m| m.id == CHAT_MODEL).unwrap();
    // vLLM's `max_model_len` becomes LiteLLM's `max_input_tokens`/`max_output_tokens`.
    assert_eq!(chat.max_model_len, None);
    assert_eq!(chat.extra["max_input_tokens"], 512);
    assert_eq!(chat.extra["max_output_tokens"], 512);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn stream_accumulates_what_arrived_and_ends_with_done() {
    let c = proxy(0);
    let mut req = chat_req(CHAT_MODEL, "Tell me a story about a robot", 12);
    req.stream_options = Some(StreamOptions {
        include_usage: Some(true),
        ..Default::default()
    });
    let full = c.chat().create(&req).await.unwrap();
    let mut s = c.chat().create_stream(&req).await.unwrap();
    assert_eq!(s.status(), 200);
    assert_eq!(s.headers().get("x-litellm-model-group"), Some(CHAT_MODEL));
    let mut acc = ChatCompletionAccumulator::new();
    let mut arrived = String::new();
    let mut chunks = Vec::new();
    while let Some(chunk) = s.try_next().await.unwrap() {
        arrived.push_str(chunk.text());
        acc.push(&chunk);
        chunks.push(chunk);
    }
    // Ok(None) only after `data: [DONE]` (a body ending without it is an error), and the
    // stream stays ended.
    assert!(s.is_finished());
    let after_end = s.try_next().await.unwrap();
    assert!(after_end.is_none());
    let got = acc.finish();
    assert_eq!(got.text(), Some(arrived.as_str()));
    assert_eq!(got.text(), full.text());
    assert_eq!(got.model, CHAT_MODEL);
    assert_eq!(got.choices.len(), 1);
    assert_eq!(got.choices[0].finish_reason, Some(FinishReason::Length));
    let usage = got.usage.as_ref().unwrap();
    assert_eq!(usage.completion_tokens, Some(12));
    assert_eq!(
        usage.prompt_tokens,
        full.usage.as_ref().unwrap().prompt_tokens
    );
    // LiteLLM's own framing: the finish reason in a chunk of its own with an empty delta,
    // then the usage chunk, which carries one empty choice (vLLM sends `choices: []`).
    let n = chunks.len();
    // Streamed token by token, not relayed as one blob.
    let with_text = chunks.iter().filter(|c| !c.text().is_empty()).count();
    assert!(with_text > 1, "{chunks:?}");
    let (finish, last) = (&chunks[n - 2], &chunks[n - 1]);
    assert_eq!(finish.choices[0].finish_reason, Some(FinishReason::Length));
    assert_eq!(finish.text(), "");
    assert!(last.usage.is_some(), "{last:?}");
    assert_eq!(last.choices.len(), 1);
    assert_eq!(last.choices[0].finish_reason, None);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn completion_stream_usage_is_zero_unless_asked_for() {
    let c = proxy(0);
    let mut req = CompletionRequest::new(CHAT_MODEL, "The quick brown fox");
    req.max_tokens = Some(6);
    req.temperature = Some(0.0);
    req.vllm.ignore_eos = Some(true);
    let full = c.completions().create(&req).await.unwrap();
    let direct = live::live(&live::vllm_chat_url())
        .completions()
        .create(&req)
        .await
        .unwrap();
    assert_eq!(full.text(), direct.text());
    let zero = Usage {
        prompt_tokens: 0,
        completion_tokens: Some(0),
        total_tokens: 0,
        ..Default::default()
    };
    for include_usage in [false, true] {
        let mut req = req.clone();
        if include_usage {
            req.stream_options = Some(StreamOptions {
                include_usage: Some(true),
                ..Default::default()
            });
        }
        let mut s = c.completions().create_stream(&req).await.unwrap();
        let mut acc = CompletionAccumulator::new();
        let mut zero_usages = 0;
        while let Some(chunk) = s.try_next().await.unwrap() {
            zero_usages += usize::from(chunk.usage.as_ref() == Some(&zero));
            acc.push(&chunk);
        }
        let got = acc.finish();
        assert_eq!(got.text(), full.text(), "include_usage {include_usage}");
        assert_eq!(got.choices[0].finish_reason, Some(FinishReason::Length));
        let usage = got.usage.expect("usage");
        if include_usage {
            // The real counts, in the last chunk only.
            assert_eq!(zero_usages, 0);
            assert_eq!(usage.completion_tokens, Some(6));
            assert_eq!(
                usage.prompt_tokens,
                full.usage.as_ref().unwrap().prompt_tokens
            );
        } else {
            // vLLM sends no usage here; LiteLLM puts a zero one on every chunk, so the
            // accumulated usage is zero rather than absent.
            assert!(zero_usages >= 2, "{zero_usages}");
            assert_eq!(usage, zero);
        }
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn embeddings_are_vllms_384_d_vectors_one_per_input() {
    let texts = [
        "The cat sits on the mat.",
        "A feline rests on a rug.",
        "Quarterly revenue grew 5%.",
    ];
    // The client asks for base64 unless told otherwise; LiteLLM passes it through.
    let b64 = proxy(0)
        .embeddings()
        .create_with_meta(EmbeddingRequest::new(EMBED_MODEL, texts))
        .await
        .unwrap();
    let mut req = EmbeddingRequest::new(EMBED_MODEL, texts);
    req.encoding_format = Some(EncodingFormat::Float);
    let float = proxy(0).embeddings().create(&req).await.unwrap();
    let direct = live::live(&live::vllm_embed_url())
        .embeddings()
        .create(&req)
        .await
        .unwrap();
    assert_eq!(b64.model, EMBED_MODEL);
    assert_eq!(
        b64.meta.headers.get("x-litellm-model-group"),
        Some(EMBED_MODEL)
    );
    for out in [&b64.value, &float] {
        assert_eq!(out.data.len(), texts.len());
        for (i, (got, want)) in out.data.iter().zip(&direct.data).enumerate() {
            assert_eq!(got.index as usize, i);
            assert_eq!(got.embedding.len(), 384);
            let max = live::max_abs_diff(&got.embedding, &want.embedding);
            assert!(max < 1e-6, "input {i} differs from vLLM's by {max}");
        }
    }
    assert!(b64.usage.as_ref().unwrap().prompt_tokens > 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn unknown_model_is_litellms_400_with_a_string_code() {
    let err = proxy(2)
        .chat()
        .create(chat_req("nope", "x", 2))
        .await
        .unwrap_err();
    // vLLM answers 404 NotFoundError with code 404 (an int); LiteLLM, 400 with code "400".
    let e = litellm_error(&err, 400, "invalid_request_error");
    assert_eq!(
        e.message,
        "/chat/completions: Invalid model name passed in model=nope. \
         Call `/v1/models` to view available models for your key."
    );
    assert!(e.headers.get("x-litellm-call-id").is_some());
    assert!(!err.is_not_found());
    assert!(!err.is_retryable());
    assert_eq!(err.retries_taken(), 0);
    let err = proxy(2)
        .embeddings()
        .create(EmbeddingRequest::new("nope", "x"))
        .await
        .unwrap_err();
    let e = litellm_error(&err, 400, "invalid_request_error");
    assert!(
        e.message
            .starts_with("/embeddings: Invalid model name passed in model=nope."),
        "{err}"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn vllms_own_400_arrives_wrapped_in_litellms_message() {
    let req = chat_req(CHAT_MODEL, "x", 100_000);
    let direct = live::live(&live::vllm_chat_url())
        .chat()
        .create(&req)
        .await
        .unwrap_err();
    let direct = api(&direct);
    assert_eq!(direct.param.as_deref(), Some("max_tokens"));
    let err = proxy(2).chat().create(&req).await.unwrap_err();
    // Same status, but LiteLLM's type and string code; vLLM's whole error body becomes text
    // inside LiteLLM's message, and its `param` is lost.
    let e = litellm_error(&err, 400, "invalid_request_error");
    assert!(
        e.message
            .starts_with("litellm.BadRequestError: Hosted_vllmException - {\"error\":"),
        "{}",
        e.message
    );
    assert!(e.message.contains(&direct.message), "{}", e.message);
    assert!(
        e.message.contains(r#""param":"max_tokens""#),
        "{}",
        e.message
    );
    assert!(!err.is_retryable());
    assert_eq!(err.retries_taken(), 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn rate_limit_429_is_typed_and_retried_as_configured() {
    let started = Instant::now();
    let err = proxy(2)
        .chat()
        .create(chat_req(ALWAYS_429, "x", 2))
        .await
        .unwrap_err();
    // Two backoffs of 0.5 s and 1 s, minus at most 25 % jitter each: LiteLLM sends no
    // retry-after, so the client's own schedule applies.
    assert!(
        started.elapsed() >= Duration::from_millis(1100),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_rate_limited(), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.retries_taken(), 2);
    let e = litellm_error(&err, 429, "throttling_error");
    assert!(
        e.message
            .starts_with("litellm.RateLimitError: this is a mock rate limit error"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("model group 'always-429'"),
        "{}",
        e.message
    );
    assert_eq!(e.headers.get("retry-after"), None);
    assert_eq!(e.retries_taken, 2);

    // The per-call setting wins, and a stream that fails before its first event is
    // retried the same way.
    let err = proxy(2)
        .chat()
        .with_options(RequestOptions::new().max_retries(1))
        .create_stream(chat_req(ALWAYS_429, "x", 2))
        .await
        .unwrap_err();
    assert!(err.is_rate_limited(), "{err:?}");
    assert_eq!(err.retries_taken(), 1);
    let err = proxy(0)
        .chat()
        .create(chat_req(ALWAYS_429, "x", 2))
        .await
        .unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retries_taken(), 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn upstream_down_is_litellms_500_and_retried_as_configured() {
    let err = proxy(2)
        .chat()
        .create(chat_req(UPSTREAM_DOWN, "x", 2))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert!(err.is_retryable());
    assert!(!err.is_overloaded() && !err.is_rate_limited() && !err.is_connection());
    assert_eq!(err.retries_taken(), 2);
    let e = litellm_error(&err, 500, "internal_server_error");
    // LiteLLM names the provider and the failure, and redacts the upstream's host.
    assert!(
        e.message.starts_with(
            "litellm.InternalServerError: InternalServerError: Hosted_vllmException - \
             Cannot connect to host REDACTED:9"
        ),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("model group 'upstream-down'"),
        "{}",
        e.message
    );
    assert!(!e.body.contains("127.0.0.1"), "{}", e.body);
    let err = proxy(1)
        .chat()
        .create_stream(chat_req(UPSTREAM_DOWN, "x", 2))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.retries_taken(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn a_providers_529_passes_through_and_is_retried() {
    // A status outside the usual set with an empty reason phrase ("HTTP/1.1 529 "): still a
    // typed 5xx, retried, and not `is_overloaded()` (that is vLLM's 503).
    let req = chat_req(ALWAYS_529, "x", 2);
    let err = proxy(1).chat().create(&req).await.unwrap_err();
    assert_eq!(err.status(), Some(529));
    assert!(err.is_retryable() && !err.is_overloaded());
    assert_eq!(err.retries_taken(), 1);
    let e = litellm_error(&err, 529, "internal_server_error");
    assert!(e.message.contains("litellm.MockException"), "{}", e.message);
    let shown = err.to_string();
    assert!(
        shown.contains("529") && shown.contains(&e.message),
        "{shown}"
    );
    // A stream fails the same way, before its first event: no in-band error.
    let err = proxy(1).chat().create_stream(&req).await.unwrap_err();
    assert_eq!(err.status(), Some(529));
    assert_eq!(err.retries_taken(), 1);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs LiteLLM and the vLLM servers: bash scripts/servers.sh start all"]
async fn the_master_key_is_required() {
    // With the key: fine.
    proxy(0).models().list().await.unwrap();
    // Without a database LiteLLM cannot say 401 (shared/servers/README.md section 3): no key
    // at all is a plain-text 500 (its auth path imports the absent `prisma` module) ...
    let keyless = Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(live::litellm_url())
        .max_retries(1)
        .build()
        .unwrap();
    let err = keyless.models().list().await.unwrap_err();
    let e = api(&err);
    assert_eq!(e.status, 500);
    assert_eq!(e.message, "Internal Server Error");
    assert_eq!(e.body, "Internal Server Error");
    assert_eq!(e.error_type, None);
    assert_eq!(e.code, None);
    assert!(!err.is_auth());
    // ... which is a 5xx, so the client retries it like any other.
    assert_eq!(err.retries_taken(), 1);
    // ... and a wrong key is a 400 that does not name the key.
    const WRONG: &str = "sk-wrong-key-oai-compat";
    let wrong = Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(live::litellm_url())
        .api_key(WRONG)
        .max_retries(1)
        .build()
        .unwrap();
    let err = wrong
        .chat()
        .create(chat_req(CHAT_MODEL, "x", 2))
        .await
        .unwrap_err();
    let e = litellm_error(&err, 400, "no_db_connection");
    assert_eq!(e.message, "No connected db.");
    assert!(!err.is_auth() && !err.is_retryable());
    assert_eq!(err.retries_taken(), 0);
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(WRONG), "the key leaked: {shown}");
    }
}
