//! Tools against the real vLLM: a named `tool_choice` (vLLM forces the call through
//! structured outputs, no tool parser needed), typed arguments, and the tool loop's round
//! limit. Ignored unless run with `--ignored`.

use crate::live;

use live::{CHAT_MODEL, live as client};
use oai_compat::types::{ChatCompletionRequest, FinishReason, Message, Tool, ToolCall, ToolChoice};
use oai_compat::{Error, ToolConversation};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Unit {
    C,
    F,
}

/// `unit` is optional here only because vLLM 0.32 (with this server's tool parser) returns
/// the forced call with `arguments: "{}"`: the generated arguments are not passed through.
#[derive(Debug, Deserialize)]
struct WeatherArgs {
    #[serde(default)]
    unit: Option<Unit>,
}

pub(crate) fn forced_weather(text: &str) -> ChatCompletionRequest {
    let mut req = ChatCompletionRequest::new(CHAT_MODEL, [Message::user(text)]);
    req.max_tokens = Some(40);
    req.temperature = Some(0.0);
    // An enum keeps the random model's constrained output short. Not `.strict()`: with
    // `strict: true` vLLM 0.32 switches to its tool-call structural tag, whose free
    // whitespace the tiny model fills up to max_tokens (the call is then never parsed).
    req.tools = Some(vec![Tool::function(
        "get_weather",
        "Current weather",
        json!({"type": "object", "properties": {"unit": {"type": "string", "enum": ["c", "f"]}},
               "required": ["unit"], "additionalProperties": false}),
    )]);
    req.tool_choice = Some(ToolChoice::Function("get_weather".into()));
    req
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_named_tool_choice_gives_typed_arguments() {
    let out = client(&live::vllm_chat_url())
        .chat()
        .create(forced_weather("What is the weather in Paris?"))
        .await
        .unwrap();
    let calls = out.tool_calls();
    assert_eq!(calls.len(), 1, "{out:?}");
    assert_eq!(calls[0].function.name, "get_weather");
    assert!(!calls[0].id.is_empty());
    let args: WeatherArgs = calls[0].parse_arguments().unwrap();
    assert!(matches!(args.unit, None | Some(Unit::C | Unit::F)));
    // Arguments that do not fit the type are a typed error, not a panic.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        unit: Unit,
        city: String,
    }
    let e = calls[0].parse_arguments::<Strict>().unwrap_err();
    assert!(matches!(e, Error::Parse(_)), "{e:?}");
}

#[maybe_async::test(feature = "blocking", async(not(feature = "blocking"), tokio::test))]
#[ignore = "needs the real vLLM servers: bash scripts/servers.sh start vllm"]
async fn vllm_tool_loop_runs_the_tool_and_stops_at_the_round_limit() {
    let mut seen = Vec::new();
    let handler = |call: &ToolCall| {
        let args: WeatherArgs = call.parse_arguments().map_err(|e| e.to_string())?;
        seen.push(format!("{:?}", args.unit));
        Ok(r#"{"celsius": 21}"#.to_owned())
    };
    // The named choice makes vLLM call the tool on every turn: the loop must stop at 2.
    let e = client(&live::vllm_chat_url())
        .chat()
        .run_tools(&forced_weather("Weather in Paris?"), handler, 2)
        .await
        .unwrap_err();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let Error::ToolLoop(t) = e else {
        panic!("{e:?}")
    };
    assert_eq!(t.pending.len(), 1);
    let ToolConversation::Chat { messages, last } = &t.conversation else {
        panic!("{:?}", t.conversation)
    };
    // user, assistant (call), tool (result), assistant (call again)
    assert_eq!(messages.len(), 4);
    let first_call = &messages[1].tool_calls.as_ref().expect("the first call")[0];
    assert_eq!(messages[2].tool_call_id.as_ref(), Some(&first_call.id));
    assert!(matches!(
        last.choices[0].finish_reason,
        Some(FinishReason::ToolCalls | FinishReason::Stop)
    ));
}
