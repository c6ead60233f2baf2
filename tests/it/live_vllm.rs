//! Against a real vLLM server on CPU (see `scripts/servers.sh`). Ignored unless run with
//! `--ignored`; then every server must answer.

use crate::live;

use live::{CHAT_MODEL, EMBED_MODEL, live as client};
use oai_compat::types::{
    ChatCompletionRequest, CompletionRequest, EmbeddingRequest, EncodingFormat, FinishReason,
    Message, ResponseFormat, StreamOptions, Tool, ToolChoice,
};
use oai_compat::{ChatCompletionAccumulator, Error, ErrorCode};
use serde_json::json;

fn chat_req(text: &str, max_tokens: u32) -> ChatCompletionRequest {
    let mut r = ChatCompletionRequest::new(CHAT_MODEL, [Message::user(text)]);
    r.max_tokens = Some(max_tokens);
    r.temperature = Some(0.0);
    r
}

fn weather_tool() -> (Vec<Tool>, ToolChoice) {
    (
        vec![Tool::function(
            "get_weather",
            "Current weather",
            // An enum keeps the random model's constrained output short.
            json!({"type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"]}},
                   "required": ["unit"], "additionalProperties": false}),
        )],
        ToolChoice::Function("get_weather".into()),
    )
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn models_list_has_max_model_len() {
    let list = client(&live::vllm_chat_url())
        .models()
        .list()
        .await
        .unwrap();
    let m = list
        .data
        .iter()
        .find(|m| m.id == CHAT_MODEL)
        .expect("tiny-llama listed");
    assert_eq!(m.max_model_len, Some(512));
    assert!(m.root.is_some());
    let got = client(&live::vllm_chat_url())
        .models()
        .retrieve(CHAT_MODEL)
        .await
        .unwrap();
    assert_eq!(got.id, CHAT_MODEL);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn completion_with_logprobs() {
    let mut req = CompletionRequest::new(CHAT_MODEL, "Once upon a time");
    req.max_tokens = Some(8);
    req.temperature = Some(0.0);
    req.logprobs = Some(2);
    // The tiny model is random and rebuilt per machine: an early EOS must not change counts.
    req.vllm.ignore_eos = Some(true);
    let out = client(&live::vllm_chat_url())
        .completions()
        .create(&req)
        .await
        .unwrap();
    let choice = &out.choices[0];
    let lp = choice.logprobs.as_ref().unwrap();
    assert_eq!(lp.tokens.len(), 8);
    assert_eq!(lp.tokens.concat(), choice.text);
    assert_eq!(out.usage.as_ref().unwrap().completion_tokens, Some(8));
    assert_eq!(choice.finish_reason, Some(FinishReason::Length));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn chat_n2_logprobs_seed() {
    let mut req = chat_req("Hello there", 6);
    req.n = Some(2);
    req.logprobs = Some(true);
    req.top_logprobs = Some(2);
    req.temperature = Some(1.0);
    req.seed = Some(3);
    req.vllm.ignore_eos = Some(true);
    let out = client(&live::vllm_chat_url())
        .chat()
        .create(&req)
        .await
        .unwrap();
    assert_eq!(out.choices.len(), 2);
    for (i, c) in out.choices.iter().enumerate() {
        assert_eq!(c.index as usize, i);
        let lp = c.logprobs.as_ref().unwrap().content.as_ref().unwrap();
        assert_eq!(lp.len(), 6);
        assert_eq!(lp[0].top_logprobs.len(), 2);
    }
    assert_eq!(out.usage.as_ref().unwrap().completion_tokens, Some(12));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn chat_json_schema_is_valid_json() {
    let mut req = chat_req("Give me a number", 40);
    req.response_format = Some(ResponseFormat::json_schema(
        "n",
        json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false}),
    ));
    let out = client(&live::vllm_chat_url())
        .chat()
        .create(&req)
        .await
        .unwrap();
    let text = out.text().unwrap();
    if out.choices[0].finish_reason == Some(FinishReason::Stop) {
        let v: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(v["n"].is_i64(), "{v}");
    } else {
        // The random model may run out of tokens inside the object; it still starts one.
        assert!(text.trim_start().starts_with('{'), "{text}");
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn chat_named_tool_call() {
    let mut req = chat_req("What is the weather in Paris?", 60);
    let (tools, choice) = weather_tool();
    req.tools = Some(tools);
    req.tool_choice = Some(choice);
    let out = client(&live::vllm_chat_url())
        .chat()
        .create(&req)
        .await
        .unwrap();
    let calls = out.choices[0]
        .message
        .tool_calls
        .as_ref()
        .expect("tool_calls");
    assert_eq!(calls[0].function.name, "get_weather");
    assert!(!calls[0].id.is_empty());
    let args: serde_json::Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
    assert!(args.is_object());
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn embeddings_base64_default_equals_float() {
    let c = client(&live::vllm_embed_url());
    let texts = [
        "The cat sits on the mat.",
        "A feline rests on a rug.",
        "Quarterly revenue grew 5%.",
    ];
    let b64 = c
        .embeddings()
        .create(EmbeddingRequest::new(EMBED_MODEL, texts))
        .await
        .unwrap();
    let mut req = EmbeddingRequest::new(EMBED_MODEL, texts);
    req.encoding_format = Some(EncodingFormat::Float);
    let float = c.embeddings().create(&req).await.unwrap();
    assert_eq!(b64.data.len(), 3);
    for (a, b) in b64.data.iter().zip(&float.data) {
        assert_eq!(a.embedding.len(), 384);
        let max = a
            .embedding
            .iter()
            .zip(&b.embedding)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(max < 1e-6, "base64 and float differ by {max}");
    }
    let cos = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f32>();
    let similar = cos(&b64.data[0].embedding, &b64.data[1].embedding);
    let unrelated = cos(&b64.data[0].embedding, &b64.data[2].embedding);
    assert!(similar > unrelated + 0.3, "{similar} vs {unrelated}");
    let ids = c
        .embeddings()
        .create(EmbeddingRequest::new(EMBED_MODEL, vec![101u32, 7592, 102]))
        .await
        .unwrap();
    assert_eq!(ids.data[0].embedding.len(), 384);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn unknown_model_is_404_with_vllms_message() {
    let mut req = chat_req("x", 2);
    req.model = "nope".into();
    let err = client(&live::vllm_chat_url())
        .chat()
        .create(&req)
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 404);
    // vLLM 0.32 adds "Valid aliases: ..." after the sentence.
    assert!(
        api.message.starts_with("The model `nope` does not exist."),
        "{}",
        api.message
    );
    assert_eq!(api.code, Some(ErrorCode::Int(404)));
    assert_eq!(err.retries_taken(), 0);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn max_tokens_too_large_is_400_with_param() {
    let err = client(&live::vllm_chat_url())
        .chat()
        .create(chat_req("x", 100_000))
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(api.param.as_deref(), Some("max_tokens"));
    assert!(api.message.contains("max_model_len"), "{}", api.message);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the vLLM server started with --api-key: bash scripts/servers.sh start vllm"]
async fn api_key_server_rejects_a_keyless_call_and_accepts_the_key() {
    let err = client(&live::vllm_auth_url())
        .models()
        .list()
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert_eq!(err.to_string(), "API error 401: Unauthorized");
    let keyed = oai_compat::Client::builder()
        .use_env(false)
        .no_proxy()
        .base_url(live::vllm_auth_url())
        .api_key(live::vllm_auth_key())
        .build()
        .unwrap();
    let list = keyed.models().list().await.unwrap();
    assert!(!list.data.is_empty());
}

// ---- streaming (issue: streaming) ----

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn streamed_chat_accumulates_to_the_non_streamed_one() {
    let c = client(&live::vllm_chat_url());
    let mut req = chat_req("Tell me a story about a robot", 24);
    // Enough chunks to count, whatever the random model would say.
    req.vllm.ignore_eos = Some(true);
    req.stream_options = Some(StreamOptions {
        include_usage: Some(true),
        ..Default::default()
    });
    let full = c.chat().create(&req).await.unwrap();
    // Read once with the iterator's `try_next`, once with `next_into`: one value for every
    // event, so the role chunk, the content chunks, the finish chunk and the usage chunk (no
    // choices) are each decoded into what the one before left.
    for reuse in [false, true] {
        let mut acc = ChatCompletionAccumulator::new();
        let mut s = c.chat().create_stream(&req).await.unwrap();
        let mut chunk = oai_compat::types::ChatCompletionChunk::default();
        let mut events = 0;
        loop {
            let more = if reuse {
                s.next_into(&mut chunk).await.unwrap()
            } else {
                match s.try_next().await.unwrap() {
                    Some(next) => {
                        chunk = next;
                        true
                    }
                    None => false,
                }
            };
            if !more {
                break;
            }
            acc.push(&chunk);
            events += 1;
        }
        assert!(events > 3, "{events}");
        assert!(
            chunk.choices.is_empty() && chunk.usage.is_some(),
            "{chunk:?}"
        );
        let got = acc.finish();
        assert_eq!(got.text(), full.text(), "reuse: {reuse}");
        assert_eq!(got.usage, full.usage, "reuse: {reuse}");
        assert_eq!(got.choices[0].finish_reason, full.choices[0].finish_reason);
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn streamed_tool_call_accumulates_to_the_same_call() {
    let c = client(&live::vllm_chat_url());
    let mut req = chat_req("What is the weather in Paris?", 60);
    let (tools, choice) = weather_tool();
    req.tools = Some(tools);
    req.tool_choice = Some(choice);
    let full = c.chat().create(&req).await.unwrap();
    let mut acc = ChatCompletionAccumulator::new();
    let mut s = c.chat().create_stream(&req).await.unwrap();
    while let Some(chunk) = s.try_next().await.unwrap() {
        acc.push(&chunk);
    }
    let got = acc.finish();
    let a = got.choices[0]
        .message
        .tool_calls
        .as_ref()
        .expect("streamed tool call");
    let b = full.choices[0].message.tool_calls.as_ref().unwrap();
    assert_eq!(a.len(), b.len());
    assert_eq!(a[0].function, b[0].function);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn streamed_n2_yields_two_complete_choices() {
    let c = client(&live::vllm_chat_url());
    let mut req = chat_req("Hi", 10);
    req.n = Some(2);
    req.temperature = Some(1.0);
    req.vllm.ignore_eos = Some(true);
    req.stream_options = Some(StreamOptions {
        include_usage: Some(true),
        ..Default::default()
    });
    let mut acc = ChatCompletionAccumulator::new();
    let mut s = c.chat().create_stream(&req).await.unwrap();
    while let Some(chunk) = s.try_next().await.unwrap() {
        acc.push(&chunk);
    }
    let got = acc.finish();
    assert_eq!(got.choices.len(), 2);
    for ch in &got.choices {
        assert!(ch.finish_reason.is_some(), "choice {} unfinished", ch.index);
        assert!(!ch.message.content.as_deref().unwrap_or("").is_empty());
    }
    assert_eq!(got.usage.as_ref().unwrap().completion_tokens, Some(20));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn streamed_completion_matches() {
    let c = client(&live::vllm_chat_url());
    let mut req = CompletionRequest::new(CHAT_MODEL, "The quick brown fox");
    req.max_tokens = Some(12);
    req.temperature = Some(0.0);
    let full = c.completions().create(&req).await.unwrap();
    let mut acc = oai_compat::CompletionAccumulator::new();
    let mut s = c.completions().create_stream(&req).await.unwrap();
    while let Some(chunk) = s.try_next().await.unwrap() {
        acc.push(&chunk);
    }
    assert_eq!(acc.finish().text(), full.text());
}

// ---- vLLM extras and endpoints (issue: vLLM first-class) ----

fn completion_req(max_tokens: u32) -> CompletionRequest {
    let mut r = CompletionRequest::new(CHAT_MODEL, "The meaning of life is");
    r.max_tokens = Some(max_tokens);
    r.temperature = Some(0.0);
    r
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn structured_outputs_choice_and_regex_constrain_the_output() {
    let c = client(&live::vllm_chat_url());
    let mut req = chat_req("Pick one", 10);
    req.vllm.structured_outputs = Some(oai_compat::types::StructuredOutputs::choice([
        "alpha", "beta", "gamma",
    ]));
    let out = c.chat().create(&req).await.unwrap();
    let text = out.text().unwrap();
    assert!(["alpha", "beta", "gamma"].contains(&text), "{text:?}");
    let mut req = chat_req("Three letters", 10);
    req.vllm.structured_outputs = Some(oai_compat::types::StructuredOutputs::regex("[a-z]{3}"));
    let out = c.chat().create(&req).await.unwrap();
    let text = out.text().unwrap();
    assert!(
        text.len() == 3 && text.bytes().all(|b| b.is_ascii_lowercase()),
        "{text:?}"
    );
    let body_has_no_guided = serde_json::to_value(&req)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .all(|k| !k.starts_with("guided_"));
    assert!(body_has_no_guided);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn stop_token_ids_min_tokens_and_ignore_eos_change_the_counts() {
    let c = client(&live::vllm_chat_url());
    let mut base = completion_req(8);
    base.vllm.return_token_ids = Some(true);
    // Eight ids to pick a stop token from, even if the random model would end early; stop
    // token ids still stop under ignore_eos.
    base.vllm.ignore_eos = Some(true);
    let free = c.completions().create(&base).await.unwrap();
    let ids = free.choices[0]
        .token_ids
        .clone()
        .expect("return_token_ids gives token_ids");
    assert_eq!(ids.len(), 8);
    // Stop at the third generated token (or earlier, if it also came before).
    let stop_at = ids[2];
    let first = ids.iter().position(|&t| t == stop_at).unwrap();
    let mut stopped = base.clone();
    stopped.vllm.stop_token_ids = Some(vec![stop_at]);
    let out = c.completions().create(&stopped).await.unwrap();
    let n = out.usage.as_ref().unwrap().completion_tokens.unwrap() as usize;
    assert_eq!(n, first + 1, "{out:?}");
    assert_eq!(out.choices[0].finish_reason, Some(FinishReason::Stop));
    assert_eq!(
        out.choices[0].stop_reason,
        Some(oai_compat::types::StopReason::Token(i64::from(stop_at)))
    );
    // min_tokens suppresses the stop token until that many tokens were generated.
    let mut held = stopped.clone();
    held.vllm.min_tokens = Some(6);
    let out = c.completions().create(&held).await.unwrap();
    let n = out.usage.as_ref().unwrap().completion_tokens.unwrap();
    assert!(n >= 6, "min_tokens=6 gave {n} tokens");
    // ignore_eos: exactly max_tokens tokens.
    let mut long = completion_req(20);
    long.vllm.ignore_eos = Some(true);
    let out = c.completions().create(&long).await.unwrap();
    assert_eq!(out.usage.as_ref().unwrap().completion_tokens, Some(20));
    assert_eq!(out.choices[0].finish_reason, Some(FinishReason::Length));
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn returned_token_ids_detokenize_to_the_text() {
    let c = client(&live::vllm_chat_url());
    let mut req = completion_req(10);
    req.vllm.return_token_ids = Some(true);
    req.vllm.skip_special_tokens = Some(true);
    let out = c.completions().create(&req).await.unwrap();
    let ids = out.choices[0].token_ids.clone().unwrap();
    let back = c
        .vllm()
        .detokenize(&oai_compat::types::DetokenizeRequest::new(CHAT_MODEL, ids))
        .await
        .unwrap();
    assert_eq!(back.prompt, out.choices[0].text);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_endpoints_health_version_tokenize() {
    let c = client(&live::vllm_chat_url());
    c.vllm().health().await.unwrap();
    let v = c.vllm().version().await.unwrap();
    assert!(v.version.starts_with("0."), "{}", v.version);
    let mut t = oai_compat::types::TokenizeRequest::text(CHAT_MODEL, "hello world");
    t.return_token_strs = Some(true);
    let tok = c.vllm().tokenize(&t).await.unwrap();
    assert_eq!(tok.count as usize, tok.tokens.len());
    assert_eq!(tok.max_model_len, Some(512));
    assert_eq!(
        tok.token_strs.as_ref().map(Vec::len),
        Some(tok.tokens.len())
    );
    let chat = c
        .vllm()
        .tokenize(&oai_compat::types::TokenizeRequest::chat(
            CHAT_MODEL,
            [Message::user("hi")],
        ))
        .await
        .unwrap();
    assert!(chat.count > tok.count, "the chat template adds tokens");
    let mut no_special = oai_compat::types::TokenizeRequest::text(CHAT_MODEL, "hello world");
    no_special.add_special_tokens = Some(false);
    let plain = c.vllm().tokenize(&no_special).await.unwrap();
    let back = c
        .vllm()
        .detokenize(&oai_compat::types::DetokenizeRequest::new(
            CHAT_MODEL,
            plain.tokens,
        ))
        .await
        .unwrap();
    assert_eq!(back.prompt, "hello world");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_endpoints_score_rerank_pooling_classify() {
    let c = client(&live::vllm_embed_url());
    let s = c
        .vllm()
        .score(&oai_compat::types::ScoreRequest::new(
            EMBED_MODEL,
            "a cat",
            ["a feline", "stock prices"],
        ))
        .await
        .unwrap();
    assert_eq!(s.data.len(), 2);
    assert!(s.data[0].score > s.data[1].score, "{s:?}");
    let mut rr =
        oai_compat::types::RerankRequest::new(EMBED_MODEL, "a cat", ["stock prices", "a feline"]);
    rr.top_n = Some(1);
    let r = c.vllm().rerank(&rr).await.unwrap();
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].index, 1);
    let p = c
        .vllm()
        .pooling(&oai_compat::types::PoolingRequest::new(
            EMBED_MODEL,
            "a cat",
        ))
        .await
        .unwrap();
    assert_eq!(p.data[0].data.as_array().map(Vec::len), Some(384));
    // MiniLM is no classifier: vLLM has no /classify route for it. The error is typed.
    let err = c
        .vllm()
        .classify(&oai_compat::types::ClassifyRequest::new(
            EMBED_MODEL,
            "a cat",
        ))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn router_sends_chat_and_embeddings_to_their_servers() {
    let router = oai_compat::Router::builder()
        .backend(client(&live::vllm_embed_url()))
        .backend(client(&live::vllm_chat_url()))
        .build();
    let models = router.models().await.unwrap();
    assert_eq!(models[CHAT_MODEL], [live::vllm_chat_url()]);
    assert_eq!(models[EMBED_MODEL], [live::vllm_embed_url()]);
    let out = router.chat_create(&chat_req("Hello", 4)).await.unwrap();
    assert_eq!(out.model, CHAT_MODEL);
    let emb = router
        .embeddings_create(&EmbeddingRequest::new(EMBED_MODEL, "a cat"))
        .await
        .unwrap();
    assert_eq!(emb.data[0].embedding.len(), 384);
    let err = router
        .chat_create(&{
            let mut r = chat_req("x", 2);
            r.model = "not-served".into();
            r
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains(CHAT_MODEL) && err.to_string().contains(EMBED_MODEL),
        "{err}"
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_names_its_request_after_the_client_id() {
    let c = client(&live::vllm_chat_url());
    let r = c.chat().create_with_meta(chat_req("hi", 2)).await.unwrap();
    let ours = r.meta.client_request_id.clone().expect("an id was sent");
    assert_eq!(r.id, format!("chatcmpl-{ours}"), "vLLM read X-Request-Id");
    let r = c
        .chat()
        .with_options(oai_compat::RequestOptions::new().request_id("line-7"))
        .create_with_meta(chat_req("hi", 2))
        .await
        .unwrap();
    assert_eq!(r.id, "chatcmpl-line-7");
    // vLLM sends no id back unless started with --enable-request-id-headers.
    assert_eq!(r.meta.request_id(), None);
}
