//! Which tools a built-in answer calls, for chat completions and the Responses API alike.

use serde_json::{Map, Value};

use super::Reply;
use super::defaults::{bad_request, param};
use super::schema::instance;

/// A function call of an answer: the function name and its arguments as JSON text.
pub(super) struct Call {
    pub(super) name: String,
    pub(super) arguments: String,
}

/// A tool's name and parameter schema, from chat's `{"type":"function","function":{..}}` or
/// the Responses API's flat `{"type":"function","name":..}`.
fn tool_parts(tool: &Value) -> Option<(&str, Option<&Value>)> {
    let f = tool.get("function").unwrap_or(tool);
    let name = f.get("name").and_then(Value::as_str)?;
    Some((name, f.get("parameters")))
}

/// The calls an answer makes (see the crate docs, "Tools"):
///
/// * `tool_choice` naming a function: that function, always;
/// * `"none"`: none;
/// * `"required"`: the tools the prompt names, else the first tool;
/// * `"auto"` or absent, with tools: the tools whose names appear in `prompt` (the last user
///   message), in the order of `tools`; none once the conversation ends with a tool result.
///
/// Arguments are a value of the tool's parameter schema (its required properties).
pub(super) fn calls(
    body: &Map<String, Value>,
    prompt: &str,
    after_tool_result: bool,
) -> Result<Vec<Call>, Reply> {
    let tools: Vec<(&str, Option<&Value>)> = param(body, "tools")
        .and_then(Value::as_array)
        .map(|t| t.iter().filter_map(tool_parts).collect())
        .unwrap_or_default();
    let call = |name: &str| Call {
        name: name.to_owned(),
        arguments: tools
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, p)| *p)
            .map(|p| instance(p, false))
            // Arguments are always an object, whatever the schema says.
            .filter(Value::is_object)
            .map_or_else(|| "{}".to_owned(), |v| v.to_string()),
    };
    let named: Vec<Call> = tools
        .iter()
        .filter(|(n, _)| !n.is_empty() && prompt.contains(n))
        .map(|(n, _)| call(n))
        .collect();
    match param(body, "tool_choice") {
        Some(Value::Object(choice)) => {
            let name = choice
                .get("name")
                .or_else(|| choice.get("function").and_then(|f| f.get("name")))
                .and_then(Value::as_str);
            match name {
                Some(name) => Ok(vec![call(name)]),
                None => Err(bad_request(
                    "'tool_choice' must name a function: {\"type\":\"function\",\"function\":{\"name\":..}}.",
                    Some("tool_choice"),
                )),
            }
        }
        Some(Value::String(mode)) if mode == "none" => Ok(Vec::new()),
        Some(Value::String(mode)) if mode == "required" => match tools.first() {
            None => Err(bad_request(
                "'tool_choice' is 'required' but no tools were given.",
                Some("tool_choice"),
            )),
            Some(_) if !named.is_empty() => Ok(named),
            Some((first, _)) => Ok(vec![call(first)]),
        },
        _ if after_tool_result => Ok(Vec::new()),
        _ => Ok(named),
    }
}
