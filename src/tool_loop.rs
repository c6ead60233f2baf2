//! The tool loop: `client.chat().run_tools(..)` and `client.responses().run_tools(..)` send
//! a request, run the tool calls the model asks for with the caller's [`ToolHandler`], send
//! the results back, and repeat until the model answers without tool calls or the round limit
//! is reached. One source for both modes: the handler is plain synchronous code (the user's
//! own tools), so no async closure is needed.

use crate::error::{Error, Result};
use crate::resources::Chat;
use crate::resources::Responses;
use crate::tool_loop_error::{ToolConversation, ToolLoopError};
use crate::types::{
    ChatCompletion, ChatCompletionRequest, InputItem, Message, ResponseInput, ResponseObject,
    ResponseRequest, ToolCall,
};

/// Runs the tool calls of a tool loop: maps a call (name and JSON arguments) to its result
/// text, or to an error text. Both are sent back to the model as the tool's result (an
/// error lets the model correct its call), so a failing tool never ends the loop.
///
/// Any `FnMut(&ToolCall) -> Result<String, String>` is a handler.
///
/// ```
/// use oai_compat::{ToolHandler, types::ToolCall};
/// #[derive(serde::Deserialize)]
/// struct Weather { city: String }
/// let mut tools = |call: &ToolCall| match call.function.name.as_str() {
///     "get_weather" => {
///         let args: Weather = call.parse_arguments().map_err(|e| e.to_string())?;
///         Ok(format!(r#"{{"city":"{}","celsius":21}}"#, args.city))
///     }
///     other => Err(format!("unknown tool {other}")),
/// };
/// let call = ToolCall::function("c1", "get_weather", r#"{"city":"Paris"}"#);
/// assert_eq!(tools.call(&call).unwrap(), r#"{"city":"Paris","celsius":21}"#);
/// ```
pub trait ToolHandler {
    /// Runs one call.
    fn call(&mut self, call: &ToolCall) -> std::result::Result<String, String>;
}

impl<F: FnMut(&ToolCall) -> std::result::Result<String, String>> ToolHandler for F {
    fn call(&mut self, call: &ToolCall) -> std::result::Result<String, String> {
        self(call)
    }
}

/// The outcome of a chat tool loop.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolRun {
    /// The final completion: the model's answer without tool calls.
    pub completion: ChatCompletion,
    /// The whole conversation: the request's messages, every assistant turn and tool result,
    /// and the final answer.
    pub messages: Vec<Message>,
    /// How many requests were sent.
    pub rounds: u32,
}

/// The outcome of a Responses API tool loop.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResponseToolRun {
    /// The final response: the model's answer without function calls.
    pub response: ResponseObject,
    /// The input of the last request: the request's input, then every function call and its
    /// output.
    pub input: Vec<InputItem>,
    /// How many requests were sent.
    pub rounds: u32,
}

fn check_rounds(max_rounds: u32) -> Result<()> {
    if max_rounds == 0 {
        return Err(Error::config(
            "run_tools needs max_rounds >= 1 (the number of requests it may send)",
        ));
    }
    Ok(())
}

/// The result text of one call: the handler's result, or its error.
fn run(handler: &mut impl ToolHandler, call: &ToolCall) -> String {
    handler.call(call).unwrap_or_else(|e| e)
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Chat<'_> {
    /// The tool loop: sends `req`, runs every tool call of the reply with `handler`,
    /// appends the assistant turn and one `tool` message per call, and sends again, until
    /// the model answers without tool calls (at most `max_rounds` requests).
    ///
    /// # Errors
    ///
    /// The calls' errors; [`Error::ToolLoop`] when the model still asks for tools after
    /// `max_rounds` requests (it keeps the conversation and the pending calls);
    /// [`Error::Config`] for `max_rounds == 0`.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, types::{ChatCompletionRequest, Message, Tool, ToolCall}};
    /// let client = Client::builder().base_url("http://localhost:8000/v1").build()?;
    /// let mut req = ChatCompletionRequest::new("my-model", [Message::user("Time in Paris?")]);
    /// req.tools = Some(vec![Tool::function("get_time", "The time in a city", serde_json::json!({
    ///     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]
    /// }))]);
    /// let run = client.chat().run_tools(&req, |call: &ToolCall| match call.function.name.as_str() {
    ///     "get_time" => Ok("12:00".to_owned()),
    ///     other => Err(format!("no tool named {other}")),
    /// }, 4)?;
    /// println!("{} ({} rounds)", run.completion.text().unwrap_or_default(), run.rounds);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn run_tools<H: ToolHandler>(
        &self,
        req: &ChatCompletionRequest,
        mut handler: H,
        max_rounds: u32,
    ) -> Result<ToolRun> {
        check_rounds(max_rounds)?;
        let mut req = req.clone();
        let mut rounds = 0;
        loop {
            let completion = self.create(&req).await?;
            rounds += 1;
            let calls = completion.tool_calls().to_vec();
            let Some(choice) = completion.choices.first() else {
                // No choice at all: nothing to continue with; hand it back as the answer.
                return Ok(ToolRun {
                    completion,
                    messages: req.messages,
                    rounds,
                });
            };
            req.messages.push(Message::from(choice.message.clone()));
            if calls.is_empty() {
                return Ok(ToolRun {
                    completion,
                    messages: req.messages,
                    rounds,
                });
            }
            if rounds >= max_rounds {
                let e = Error::ToolLoop(Box::new(ToolLoopError {
                    max_rounds,
                    pending: calls,
                    conversation: ToolConversation::Chat {
                        messages: req.messages,
                        last: completion,
                    },
                }));
                return Err(self.engine.config.redact(e));
            }
            for call in &calls {
                let result = run(&mut handler, call);
                req.messages.push(Message::tool(&call.id, result));
            }
        }
    }
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Responses<'_> {
    /// The tool loop of the Responses API: sends `req`, runs every `function_call` output
    /// item with `handler` (given as a [`ToolCall`] whose `id` is the `call_id`), appends the
    /// output items and one `function_call_output` per call to the input, and sends again,
    /// until a response has no function calls (at most `max_rounds` requests). The
    /// conversation is carried in the input, so no server-side storage is needed.
    ///
    /// # Errors
    ///
    /// As [`Chat::run_tools`].
    pub async fn run_tools<H: ToolHandler>(
        &self,
        req: &ResponseRequest,
        mut handler: H,
        max_rounds: u32,
    ) -> Result<ResponseToolRun> {
        check_rounds(max_rounds)?;
        let mut req = req.clone();
        let mut input: Vec<InputItem> = match std::mem::take(&mut req.input) {
            ResponseInput::Text(text) => vec![InputItem::user(text)],
            ResponseInput::Items(items) => items,
        };
        let mut rounds = 0;
        loop {
            req.input = ResponseInput::Items(std::mem::take(&mut input));
            let response = self.create(&req).await;
            // Take the input back (it was moved into the request to avoid a copy).
            if let ResponseInput::Items(items) = std::mem::take(&mut req.input) {
                input = items;
            }
            let response = response?;
            rounds += 1;
            let calls: Vec<ToolCall> = response
                .function_calls()
                .map(|c| ToolCall::function(&c.call_id, &c.name, &c.arguments))
                .collect();
            if calls.is_empty() {
                return Ok(ResponseToolRun {
                    response,
                    input,
                    rounds,
                });
            }
            // The model's own turn goes back as input (its calls, and any reasoning).
            input.extend(response.output.iter().cloned().map(InputItem::from));
            if rounds >= max_rounds {
                let e = Error::ToolLoop(Box::new(ToolLoopError {
                    max_rounds,
                    pending: calls,
                    conversation: ToolConversation::Responses {
                        input,
                        last: response,
                    },
                }));
                return Err(self.engine.config.redact(e));
            }
            for call in &calls {
                let result = run(&mut handler, call);
                input.push(InputItem::function_call_output(&call.id, result));
            }
        }
    }
}
