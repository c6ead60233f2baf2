//! Structured outputs parsed into Rust types, against the mock. Both modes; the tests of the
//! `schemars` feature run with `--features schemars`.

use crate::support;

use oai_compat::types::{
    ChatCompletionRequest, FinishReason, Message, ResponseFormat, ResponseRequest, ResponseStatus,
    TextFormat,
};
use oai_compat::{Error, ParseErrorKind};
use oai_compat_mock::Reply;
use serde::Deserialize;
use serde_json::json;
use support::{MODEL, client, server};

#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Color {
    Red,
    Green,
}

#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
struct Paint {
    color: Color,
    /// Litres.
    litres: u8,
    note: Option<String>,
}

fn paint_schema() -> serde_json::Value {
    json!({
        "type": "object",
        "properties": {
            "color": {"type": "string", "enum": ["red", "green"]},
            "litres": {"type": "integer", "minimum": 1, "maximum": 9},
            "note": {"type": ["string", "null"]}
        }
    })
}

fn parse_kind(e: &Error) -> ParseErrorKind {
    match e {
        Error::Parse(p) => p.kind,
        other => panic!("not a parse error: {other:?}"),
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn chat_parse_with_a_user_schema() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("some paint")]);
    req.response_format = Some(ResponseFormat::json_schema("paint", paint_schema()).strict());
    let out = client(&srv).chat().parse::<Paint>(&req).await.unwrap();
    assert_eq!(
        out.parsed,
        Some(Paint {
            color: Color::Red,
            litres: 1,
            note: Some("mock".into())
        })
    );
    assert_eq!(out.refusal, None);
    assert_eq!(out.finish_reason, Some(FinishReason::Stop));
    assert!(out.completion.id.starts_with("chatcmpl-"));
    let body = srv.requests()[0].json().unwrap();
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["strict"], true);
    assert_eq!(
        format["json_schema"]["schema"]["required"],
        json!(["color", "litres", "note"])
    );
    assert_eq!(
        format["json_schema"]["schema"]["additionalProperties"],
        false
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn chat_parse_errors_are_typed() {
    let srv = server();
    let c = client(&srv);
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("some paint")]);
    req.response_format = Some(ResponseFormat::json_schema("paint", paint_schema()).strict());
    // Cut by max_tokens: the JSON is incomplete.
    req.max_tokens = Some(3);
    let e = c.chat().parse::<Paint>(&req).await.unwrap_err();
    assert_eq!(parse_kind(&e), ParseErrorKind::Truncated);
    assert!(e.to_string().contains("token limit"), "{e}");
    req.max_tokens = None;
    // Not the type: the text and serde's message are kept.
    let reply = |content: serde_json::Value, refusal: serde_json::Value| {
        Reply::json(
            200,
            json!({"id": "x", "object": "chat.completion", "choices": [{"index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": "stop"}]})
            .to_string(),
        )
    };
    srv.enqueue_all([
        reply(json!("{\"color\":\"blue\",\"litres\":2}"), json!(null)),
        reply(json!("Sure! Here is your paint"), json!(null)),
        reply(json!(null), json!("I can't help with that.")),
        reply(json!(null), json!(null)),
    ]);
    let e = c.chat().parse::<Paint>(&req).await.unwrap_err();
    assert_eq!(parse_kind(&e), ParseErrorKind::Invalid);
    let Error::Parse(p) = &e else { unreachable!() };
    assert_eq!(p.text, "{\"color\":\"blue\",\"litres\":2}");
    assert!(
        p.message.contains("unknown variant `blue`"),
        "{}",
        p.message
    );
    assert!(p.target.ends_with("Paint"), "{}", p.target);
    let e = c.chat().parse::<Paint>(&req).await.unwrap_err();
    assert_eq!(parse_kind(&e), ParseErrorKind::Invalid);
    let refused = c.chat().parse::<Paint>(&req).await.unwrap();
    assert_eq!(refused.parsed, None);
    assert_eq!(refused.refusal.as_deref(), Some("I can't help with that."));
    let e = c.chat().parse::<Paint>(&req).await.unwrap_err();
    assert_eq!(parse_kind(&e), ParseErrorKind::Empty);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn responses_parse_with_a_text_format() {
    let srv = server();
    let c = client(&srv);
    let mut req = ResponseRequest::new(MODEL, "some paint");
    req.text = Some(
        TextFormat::json_schema("paint", paint_schema())
            .strict()
            .into(),
    );
    let out = c.responses().parse::<Paint>(&req).await.unwrap();
    assert_eq!(out.parsed.unwrap().litres, 1);
    assert_eq!(out.status, Some(ResponseStatus::Completed));
    let body = srv.requests()[0].json().unwrap();
    assert_eq!(body["text"]["format"]["type"], "json_schema");
    assert_eq!(body["text"]["format"]["name"], "paint");
    assert_eq!(body["text"]["format"]["strict"], true);
    req.max_output_tokens = Some(2);
    let e = c.responses().parse::<Paint>(&req).await.unwrap_err();
    assert_eq!(parse_kind(&e), ParseErrorKind::Truncated);
    let Error::Parse(p) = &e else { unreachable!() };
    assert_eq!(
        p.finish_reason.as_deref(),
        Some("incomplete (max_output_tokens)")
    );
}

#[cfg(feature = "schemars")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn parse_schema_derives_the_format_from_the_type() {
    let srv = server();
    let c = client(&srv);
    let req = ChatCompletionRequest::new(MODEL, [Message::user("some paint")]);
    let out = c.chat().parse_schema::<Paint>(&req).await.unwrap();
    assert_eq!(
        out.parsed,
        Some(Paint {
            color: Color::Red,
            litres: 0,
            note: Some("mock".into())
        })
    );
    let body = srv.requests()[0].json().unwrap();
    let js = &body["response_format"]["json_schema"];
    assert_eq!(js["name"], "Paint");
    assert_eq!(js["strict"], true);
    assert_eq!(js["schema"]["required"], json!(["color", "litres", "note"]));
    assert_eq!(js["schema"]["additionalProperties"], false);
    // u8 carries its bounds; schemars' `format: uint8` is dropped for strict mode.
    assert_eq!(js["schema"]["properties"]["litres"]["maximum"], 255);
    assert!(js["schema"]["properties"]["litres"].get("format").is_none());
    assert_eq!(
        js["schema"]["properties"]["litres"]["description"],
        "Litres."
    );
    // A request with its own format keeps it.
    let mut own = req.clone();
    own.response_format = Some(ResponseFormat::json_schema("mine", paint_schema()));
    c.chat().parse_schema::<Paint>(&own).await.unwrap();
    let body = srv.requests()[1].json().unwrap();
    assert_eq!(body["response_format"]["json_schema"]["name"], "mine");
    // The Responses API: text.format from the type.
    let out = c
        .responses()
        .parse_schema::<Paint>(&ResponseRequest::new(MODEL, "paint"))
        .await
        .unwrap();
    assert_eq!(out.parsed.unwrap().color, Color::Red);
    let body = srv.requests()[2].json().unwrap();
    assert_eq!(body["text"]["format"]["name"], "Paint");
    assert_eq!(body["text"]["format"]["strict"], true);
}
