//! Cassettes recorded from the real vLLM (chat, a stream, embeddings, Responses, a tool loop,
//! a 404), then replayed with nothing sent, to equal typed values, in both modes. Ignored
//! unless run with `--ignored`.

use crate::live;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use live::{CHAT_MODEL, EMBED_MODEL};
use oai_compat::cassette::RecordMode;
use oai_compat::types::{
    ChatCompletionRequest, EmbeddingRequest, Message, ResponseRequest, ToolCall,
};
use oai_compat::{Client, Error};

fn file(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oai-live-cassette-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mode = if cfg!(feature = "blocking") { "b" } else { "a" };
    let path = dir.join(format!("{name}-{mode}.jsonl"));
    let _ = std::fs::remove_file(&path);
    path
}

fn with_cassette(url: &str, path: &Path, mode: RecordMode) -> Client {
    live::live_builder(url)
        .cassette(path, mode)
        .build()
        .unwrap()
}

fn chat(text: &str) -> ChatCompletionRequest {
    let mut r = ChatCompletionRequest::new(CHAT_MODEL, [Message::user(text)]);
    r.max_tokens = Some(8);
    r.temperature = Some(0.0);
    r
}

/// What one run of the calls gave, to compare the recording with its replay.
#[derive(Debug, PartialEq)]
struct Seen {
    chat: oai_compat::types::ChatCompletion,
    streamed: Vec<oai_compat::types::ChatCompletionChunk>,
    response: oai_compat::types::ResponseObject,
    tools: String,
    missing: String,
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
async fn calls(c: &Client) -> Seen {
    let chat_reply = c.chat().create(chat("Say hi")).await.unwrap();
    // A tiny random model may end at once under a busy server; ignore_eos makes the stream
    // carry its eight tokens every time, so the recording has chunks to compare.
    let mut counted = chat("Count");
    counted.vllm.ignore_eos = Some(true);
    let mut stream = c.chat().create_stream(counted).await.unwrap();
    let mut streamed = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        streamed.push(chunk);
    }
    let mut r = ResponseRequest::new(CHAT_MODEL, "Hello");
    r.max_output_tokens = Some(8);
    let response = c.responses().create(&r).await.unwrap();
    let handler = |_: &ToolCall| Ok(r#"{"celsius": 21}"#.to_owned());
    // The named choice makes vLLM call the tool every turn: the loop stops at its limit,
    // after the tool's answer went back in a second request.
    let tools = match c
        .chat()
        .run_tools(
            &crate::live_tools::forced_weather("Weather in Paris?"),
            handler,
            2,
        )
        .await
    {
        Err(Error::ToolLoop(t)) => format!("{:?}", t.conversation),
        other => panic!("{other:?}"),
    };
    let mut nope = chat("x");
    nope.model = "no-such-model".into();
    let missing = c.chat().create(&nope).await.unwrap_err();
    assert_eq!(missing.status(), Some(404));
    Seen {
        chat: chat_reply,
        streamed,
        response,
        tools,
        missing: missing.to_string(),
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_answers_recorded_replay_offline_to_equal_values() {
    let (chat_tape, embed_tape) = (file("vllm-chat"), file("vllm-embed"));
    let rec = with_cassette(&live::vllm_chat_url(), &chat_tape, RecordMode::Once);
    let recorded = calls(&rec).await;
    let emb_rec = with_cassette(&live::vllm_embed_url(), &embed_tape, RecordMode::Once);
    let emb = emb_rec
        .embeddings()
        .create(EmbeddingRequest::new(EMBED_MODEL, ["a cat", "a dog"]))
        .await
        .unwrap();
    assert!(recorded.streamed.len() > 2);

    // Replayed against a port that is bound but never accepts: nothing may connect.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    silent.set_nonblocking(true).unwrap();
    let nowhere = format!("http://{}/v1", silent.local_addr().unwrap());
    let play = with_cassette(&nowhere, &chat_tape, RecordMode::None);
    let replayed = calls(&play).await;
    assert_eq!(replayed, recorded);
    let emb_play = with_cassette(&nowhere, &embed_tape, RecordMode::None);
    let emb_again = emb_play
        .embeddings()
        .create(EmbeddingRequest::new(EMBED_MODEL, ["a cat", "a dog"]))
        .await
        .unwrap();
    assert_eq!(emb_again, emb);
    assert!(silent.accept().is_err(), "the replay connected");
}
