//! Tools from Rust types, typed tool calls and the tool loop, against the mock. Both modes.

use crate::support;

use std::cell::RefCell;

use oai_compat::types::{
    ChatCompletionRequest, FinishReason, InputItem, Message, ResponseRequest, ResponseTool, Role,
    Tool, ToolCall, ToolChoice,
};
use oai_compat::{Error, ParseErrorKind, ToolConversation};
use serde::Deserialize;
use serde_json::{Value, json};
use support::{MODEL, client, server};

#[derive(Debug, Deserialize, PartialEq, schemars::JsonSchema)]
struct WeatherArgs {
    city: String,
}

fn weather() -> Tool {
    Tool::function(
        "get_weather",
        "Current weather in a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

fn time() -> Tool {
    Tool::function(
        "get_time",
        "The time in a time zone",
        json!({"type": "object", "properties": {"tz": {"type": "string", "enum": ["UTC"]}},
               "required": ["tz"]}),
    )
}

/// The two tools: results are JSON text; any other name is an error for the model.
fn handler(log: &RefCell<Vec<String>>) -> impl FnMut(&ToolCall) -> Result<String, String> + '_ {
    move |call: &ToolCall| {
        log.borrow_mut().push(call.function.name.clone());
        match call.function.name.as_str() {
            "get_weather" => {
                let args: WeatherArgs = call.parse_arguments().map_err(|e| e.to_string())?;
                Ok(format!("sunny_in_{}", args.city))
            }
            "get_time" => Ok("noon".to_owned()),
            other => Err(format!("no tool named {other}")),
        }
    }
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn tool_calls_are_typed_and_arguments_parse() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("weather please")]);
    req.tools = Some(vec![weather()]);
    req.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    let out = client(&srv).chat().create(&req).await.unwrap();
    let calls = out.tool_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].function.name, "get_weather");
    let args: WeatherArgs = calls[0].parse_arguments().unwrap();
    assert_eq!(args.city, "mock");
    // No calls: an empty slice, never a panic.
    req.tools = None;
    req.tool_choice = None;
    let plain = client(&srv).chat().create(&req).await.unwrap();
    assert!(plain.tool_calls().is_empty());
    // Bad arguments: a typed error with the text.
    let bad = ToolCall::function("c", "get_weather", r#"{"town":"x"}"#);
    let e = bad.parse_arguments::<WeatherArgs>().unwrap_err();
    let Error::Parse(p) = &e else { panic!("{e:?}") };
    assert_eq!(p.kind, ParseErrorKind::Invalid);
    assert_eq!(p.text, r#"{"town":"x"}"#);
    assert!(p.message.contains("get_weather"), "{}", p.message);
    // No arguments at all read as `{}`.
    #[derive(Deserialize)]
    struct NoArgs {}
    ToolCall::function("c", "f", "")
        .parse_arguments::<NoArgs>()
        .unwrap();
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn run_tools_runs_two_tools_then_returns_the_answer() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(
        MODEL,
        [
            Message::system("You use tools."),
            Message::user("use get_weather and get_time"),
        ],
    );
    req.tools = Some(vec![weather(), time()]);
    let log = RefCell::new(Vec::new());
    let run = client(&srv)
        .chat()
        .run_tools(&req, handler(&log), 4)
        .await
        .unwrap();
    assert_eq!(run.rounds, 2);
    assert_eq!(*log.borrow(), ["get_weather", "get_time"]);
    assert_eq!(
        run.completion.text(),
        Some("Mock reply to: sunny_in_mock noon")
    );
    assert_eq!(
        run.completion.choices[0].finish_reason,
        Some(FinishReason::Stop)
    );
    let roles: Vec<&Role> = run.messages.iter().map(|m| &m.role).collect();
    assert_eq!(
        roles,
        [
            &Role::System,
            &Role::User,
            &Role::Assistant,
            &Role::Tool,
            &Role::Tool,
            &Role::Assistant
        ]
    );
    // The second request carried the assistant's calls and one tool message per call.
    let second = srv.requests()[1].json().unwrap();
    let msgs = second["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 5);
    let call_ids: Vec<&Value> = msgs[2]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(msgs[3]["tool_call_id"], *call_ids[0]);
    assert_eq!(msgs[3]["content"], "sunny_in_mock");
    assert_eq!(msgs[4]["tool_call_id"], *call_ids[1]);
    assert_eq!(msgs[4]["content"], "noon");
    assert_eq!(srv.request_count(), 2);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn a_failing_tool_is_reported_to_the_model() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("use get_stock")]);
    req.tools = Some(vec![Tool::function("get_stock", "Stock", json!({}))]);
    let log = RefCell::new(Vec::new());
    let run = client(&srv)
        .chat()
        .run_tools(&req, handler(&log), 2)
        .await
        .unwrap();
    let second = srv.requests()[1].json().unwrap();
    assert_eq!(second["messages"][2]["content"], "no tool named get_stock");
    assert_eq!(
        run.completion.text(),
        Some("Mock reply to: no tool named get_stock")
    );
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn the_round_limit_is_a_typed_error_keeping_the_conversation() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("weather")]);
    req.tools = Some(vec![weather()]);
    // A forced call: the model asks for it on every turn.
    req.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    let log = RefCell::new(Vec::new());
    let e = client(&srv)
        .chat()
        .run_tools(&req, handler(&log), 3)
        .await
        .unwrap_err();
    assert_eq!(srv.request_count(), 3);
    // The calls of the last turn are pending, not run.
    assert_eq!(log.borrow().len(), 2);
    assert!(e.to_string().contains("after 3 round(s)"), "{e}");
    let Error::ToolLoop(t) = e else {
        panic!("{e:?}")
    };
    assert_eq!(t.max_rounds, 3);
    assert_eq!(t.pending.len(), 1);
    assert_eq!(t.pending[0].function.name, "get_weather");
    let ToolConversation::Chat { messages, last } = &t.conversation else {
        panic!("{:?}", t.conversation)
    };
    // user, then (assistant, tool) twice, then the last assistant turn.
    assert_eq!(messages.len(), 6);
    assert_eq!(messages[5].role, Role::Assistant);
    assert_eq!(last.tool_calls()[0].id, t.pending[0].id);
    // Zero rounds is refused before any request.
    let e = client(&srv)
        .chat()
        .run_tools(&req, handler(&log), 0)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e:?}");
    assert_eq!(srv.request_count(), 3);
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn responses_run_tools_carries_the_conversation_in_the_input() {
    let srv = server();
    let mut req = ResponseRequest::new(MODEL, "use get_time and get_weather");
    req.tools = Some(vec![weather().into(), ResponseTool::from(time())]);
    let log = RefCell::new(Vec::new());
    let run = client(&srv)
        .responses()
        .run_tools(&req, handler(&log), 3)
        .await
        .unwrap();
    assert_eq!(run.rounds, 2);
    assert_eq!(*log.borrow(), ["get_weather", "get_time"]);
    assert_eq!(
        run.response.output_text(),
        "Mock reply to: sunny_in_mock noon"
    );
    // user, two function calls, two outputs.
    assert_eq!(run.input.len(), 5);
    assert!(matches!(run.input[0], InputItem::Message(_)));
    let second = srv.requests()[1].json().unwrap();
    let input = second["input"].as_array().unwrap();
    assert_eq!(input[1]["type"], "function_call");
    assert_eq!(input[3]["type"], "function_call_output");
    assert_eq!(input[3]["call_id"], input[1]["call_id"]);
    assert_eq!(input[3]["output"], "sunny_in_mock");
    assert_eq!(second["tools"][0]["name"], "get_weather");
}

#[cfg(not(feature = "blocking"))]
#[test]
fn the_tool_loop_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    let c = oai_compat::Client::builder()
        .use_env(false)
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let req = ChatCompletionRequest::new(MODEL, [Message::user("x")]);
    let handler = |_: &ToolCall| Ok::<_, String>(String::new());
    send(&c.chat().run_tools(&req, handler, 1));
    let r = ResponseRequest::new(MODEL, "x");
    send(&c.responses().run_tools(&r, handler, 1));
}

#[cfg(feature = "schemars")]
#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
async fn tools_from_types() {
    let srv = server();
    let mut req = ChatCompletionRequest::new(MODEL, [Message::user("use get_weather")]);
    req.tools = Some(vec![Tool::function_for::<WeatherArgs>(
        "get_weather",
        "Current weather in a city",
    )]);
    let out = client(&srv).chat().create(&req).await.unwrap();
    let args: WeatherArgs = out.tool_calls()[0].parse_arguments().unwrap();
    assert_eq!(args.city, "mock");
    let body = srv.requests()[0].json().unwrap();
    let f = &body["tools"][0]["function"];
    assert_eq!(f["strict"], true);
    assert_eq!(f["parameters"]["additionalProperties"], false);
    assert_eq!(f["parameters"]["required"], json!(["city"]));
    let rt = ResponseTool::function_for::<WeatherArgs>("get_weather", "w");
    let v = serde_json::to_value(&rt).unwrap();
    assert_eq!(v["type"], "function");
    assert_eq!(v["strict"], true);
    assert_eq!(v["parameters"]["required"], json!(["city"]));
}
