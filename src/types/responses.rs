//! The Responses API (`POST /v1/responses`): request, response object, output items and
//! stream events.
//!
//! Everything a server sends decodes: output items, content parts and stream events of a kind
//! this crate does not know are kept as raw JSON (`Unknown` variants), unknown keys go to
//! `extra` maps, and statuses are open enums.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::chat::{ResponseFormat, Role, Tool};
use super::common::{Extra, VllmParams, lenient_timestamp, null_default};
use super::input::Texts;

// ------------------------------------------------------------------ request

/// The body of `POST /v1/responses`.
///
/// Only `model`, `input` and the fields you set are sent. vLLM's sampling extras are in
/// [`vllm`](Self::vllm); anything else goes in [`extra`](Self::extra). `stream` is set by
/// the client, and `stream_options` is sent only with streamed calls.
///
/// ```
/// use oai_compat::types::{ResponseRequest, InputItem};
/// let one_liner = ResponseRequest::new("my-model", "Write a haiku about Rust");
/// let req = ResponseRequest {
///     instructions: Some("Answer in French.".into()),
///     max_output_tokens: Some(64),
///     ..ResponseRequest::new("my-model", vec![InputItem::user("Hello")])
/// };
/// # let _ = (one_liner, req);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseRequest {
    /// The model to use, as listed by `/v1/models`.
    pub model: String,
    /// The input: a text, or a list of items (messages, function-call outputs, ...).
    pub input: ResponseInput,
    /// A system (developer) message put before the input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Maximum tokens to generate, reasoning included. A response cut by it has
    /// `status: incomplete` and `incomplete_details.reason: "max_output_tokens"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature (0 = greedy; OpenAI allows 0 to 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling: sample from the tokens making up this much probability mass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ResponseTool>>,
    /// Whether and which tool the model must call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ResponseToolChoice>,
    /// Allow several tool calls in one turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// The output text's format: plain text, a JSON object or JSON matching a schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
    /// Reasoning settings for reasoning models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningConfig>,
    /// Continue from a stored response (the server must store responses: OpenAI does by
    /// default; vLLM only with `VLLM_ENABLE_RESPONSES_API_STORE=1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    /// Store the response so it can be retrieved and continued (OpenAI's default is `true`;
    /// vLLM ignores it unless started with `VLLM_ENABLE_RESPONSES_API_STORE=1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Run in the background (with `store`); poll it with `retrieve`, stop it with `cancel`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub background: Option<bool>,
    /// Key-value tags stored with the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Extra output data to include, e.g. `"message.output_text.logprobs"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Return this many most likely tokens at each position (with `include` of logprobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// `"auto"` or `"disabled"`: drop old input when it does not fit the context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncation: Option<String>,
    /// An id for the end user, for abuse monitoring (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// OpenAI processing tier: `"auto"`, `"default"`, `"flex"`, `"priority"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Options for streamed calls. Never serialised with the request: the client sends them
    /// only on streamed calls.
    #[serde(skip)]
    pub stream_options: Option<ResponseStreamOptions>,
    /// vLLM extra; OpenAI rejects it. Seed for sampling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// vLLM extra; OpenAI rejects it. Stop sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Texts>,
    /// vLLM extra; OpenAI rejects it. Variables passed to the chat template, e.g.
    /// `{"enable_thinking": false}` for Qwen3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template_kwargs: Option<Extra>,
    /// vLLM's sampling and control extras (`top_k`, `min_p`, `repetition_penalty`,
    /// `structured_outputs`, ...), sent as top-level keys. vLLM's Responses endpoint reads
    /// the sampling ones and ignores (with a warning) the others.
    // Keep `vllm` before `extra`: flattened fields claim keys in order on parse.
    #[serde(flatten)]
    pub vllm: VllmParams,
    /// Other keys, sent as top-level keys (openai-python's `extra_body`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponseRequest {
    /// A request for `model` with `input` (a text or a list of [`InputItem`]s); every other
    /// field unset.
    pub fn new(model: impl Into<String>, input: impl Into<ResponseInput>) -> Self {
        ResponseRequest {
            model: model.into(),
            input: input.into(),
            ..Default::default()
        }
    }
}

/// Options for streamed responses (`stream_options`), sent only with streamed calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResponseStreamOptions {
    /// OpenAI: add random padding to delta events (against side-channel attacks); set
    /// `false` to save bandwidth on trusted networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_obfuscation: Option<bool>,
    /// Other keys, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The input of a [`ResponseRequest`]: one text (a user message), or a list of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ResponseInput {
    /// A text, taken as one user message.
    Text(String),
    /// Messages, function calls and their outputs, items of earlier responses.
    Items(Vec<InputItem>),
}

impl Default for ResponseInput {
    fn default() -> Self {
        ResponseInput::Text(String::new())
    }
}

impl From<&str> for ResponseInput {
    fn from(s: &str) -> Self {
        ResponseInput::Text(s.to_owned())
    }
}

impl From<String> for ResponseInput {
    fn from(s: String) -> Self {
        ResponseInput::Text(s)
    }
}

impl From<&String> for ResponseInput {
    fn from(s: &String) -> Self {
        ResponseInput::Text(s.clone())
    }
}

impl From<Vec<InputItem>> for ResponseInput {
    fn from(items: Vec<InputItem>) -> Self {
        ResponseInput::Items(items)
    }
}

impl<const N: usize> From<[InputItem; N]> for ResponseInput {
    fn from(items: [InputItem; N]) -> Self {
        ResponseInput::Items(items.into())
    }
}

/// One item of a [`ResponseInput`] list, tagged by `type`.
///
/// Build messages with [`InputItem::user`] and friends, answer a function call with
/// [`InputItem::function_call_output`], and send a previous response's items back with
/// `InputItem::from(output_item)` to continue a conversation without server-side storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputItem {
    /// A message (`{"type":"message","role":..,"content":..}`).
    Message(InputMessage),
    /// A function call the model made earlier, sent back with its output.
    FunctionCall(FunctionCallItem),
    /// The result of a function call, tied to it by `call_id`.
    FunctionCallOutput(FunctionCallOutput),
    /// Any other item (a reasoning item, an item reference, ...), sent as this JSON.
    #[serde(untagged)]
    Other(Value),
}

impl InputItem {
    fn message(role: Role, content: impl Into<InputContent>) -> Self {
        InputItem::Message(InputMessage {
            role,
            content: content.into(),
            extra: Extra::new(),
        })
    }

    /// A user message.
    pub fn user(content: impl Into<InputContent>) -> Self {
        Self::message(Role::User, content)
    }

    /// A system message.
    pub fn system(content: impl Into<InputContent>) -> Self {
        Self::message(Role::System, content)
    }

    /// A developer message (OpenAI's name for instructions in the conversation).
    pub fn developer(content: impl Into<InputContent>) -> Self {
        Self::message(Role::Developer, content)
    }

    /// An earlier assistant message.
    pub fn assistant(content: impl Into<InputContent>) -> Self {
        Self::message(Role::Assistant, content)
    }

    /// The output of the function call `call_id` (a JSON text or plain text).
    pub fn function_call_output(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        InputItem::FunctionCallOutput(FunctionCallOutput {
            call_id: call_id.into(),
            output: output.into(),
            extra: Extra::new(),
        })
    }
}

/// An output item sent back as input: messages, function calls and other items keep their
/// JSON (ids included), so the model sees its own earlier turn.
impl From<OutputItem> for InputItem {
    fn from(item: OutputItem) -> Self {
        match item {
            OutputItem::FunctionCall(call) => InputItem::FunctionCall(call),
            other => match serde_json::to_value(&other) {
                Ok(v) => InputItem::Other(v),
                Err(_) => InputItem::Other(Value::Null),
            },
        }
    }
}

/// A message in a [`ResponseInput`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputMessage {
    /// `user`, `system`, `developer` or `assistant`.
    pub role: Role,
    /// A text or a list of parts.
    pub content: InputContent,
    /// Other keys, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The content of an [`InputMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputContent {
    /// Plain text.
    Text(String),
    /// Text, image and file parts.
    Parts(Vec<InputPart>),
}

impl From<&str> for InputContent {
    fn from(s: &str) -> Self {
        InputContent::Text(s.to_owned())
    }
}

impl From<String> for InputContent {
    fn from(s: String) -> Self {
        InputContent::Text(s)
    }
}

impl From<Vec<InputPart>> for InputContent {
    fn from(parts: Vec<InputPart>) -> Self {
        InputContent::Parts(parts)
    }
}

/// One part of an input message, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum InputPart {
    /// Text (`input_text`).
    InputText {
        /// The text.
        text: String,
    },
    /// An image by URL or data URL (`input_image`).
    InputImage {
        /// `https://...` or `data:image/png;base64,...`.
        #[serde(skip_serializing_if = "Option::is_none")]
        image_url: Option<String>,
        /// `"low"`, `"high"` or `"auto"` (OpenAI requires it; the constructor sets `auto`).
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// Any other part, sent as this JSON.
    #[serde(untagged)]
    Other(Value),
}

impl InputPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        InputPart::InputText { text: text.into() }
    }

    /// An image part from a URL or a `data:` URL, with `detail: "auto"`.
    pub fn image_url(url: impl Into<String>) -> Self {
        InputPart::InputImage {
            image_url: Some(url.into()),
            detail: Some("auto".to_owned()),
        }
    }
}

/// The output of a function call, sent back as input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCallOutput {
    /// The `call_id` of the [`FunctionCallItem`] this answers.
    pub call_id: String,
    /// The result, as text (usually JSON).
    pub output: String,
    /// Other keys, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool for the Responses API, tagged by `type`. Function tools are flat here
/// (`{"type":"function","name":..}`), unlike chat's `{"type":"function","function":{..}}`;
/// `From<Tool>` converts a chat tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseTool {
    /// A function the model may call.
    Function(FunctionTool),
    /// A built-in tool (`web_search`, `file_search`, `mcp`, ...), sent as this JSON.
    #[serde(untagged)]
    Other(Value),
}

impl ResponseTool {
    /// A function tool named `name`, whose arguments follow the JSON schema `parameters`.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        ResponseTool::Function(FunctionTool {
            name: name.into(),
            description: Some(description.into()),
            parameters: Some(parameters),
            strict: None,
        })
    }
}

impl ResponseTool {
    /// A function tool whose arguments follow `Args`' JSON schema (feature `schemars`),
    /// strict-compatible, with `strict: true`.
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub fn function_for<Args: schemars::JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Tool::function_for::<Args>(name, description).into()
    }
}

impl From<Tool> for ResponseTool {
    fn from(tool: Tool) -> Self {
        let f = tool.function;
        ResponseTool::Function(FunctionTool {
            name: f.name,
            description: f.description,
            parameters: f.parameters,
            strict: f.strict,
        })
    }
}

/// A function tool of the Responses API.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionTool {
    /// The function name the model uses to call it.
    pub name: String,
    /// What the function does; the model reads it to decide when to call it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON schema of the arguments. Always sent (`null` when `None`): OpenAI's spec
    /// requires the key.
    pub parameters: Option<Value>,
    /// Make the arguments follow the schema exactly (needs a strict-compatible schema).
    /// Always sent (`null` when `None`, the server's default): OpenAI's spec requires the key.
    pub strict: Option<bool>,
}

/// Whether and which tool the model must call (`tool_choice`): `"none"`, `"auto"`,
/// `"required"` or `{"type":"function","name":..}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResponseToolChoice {
    /// Never call a tool.
    None,
    /// The model decides (the default when tools are given).
    Auto,
    /// Call at least one tool.
    Required,
    /// Call the function with this name.
    Function(String),
}

impl Serialize for ResponseToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResponseToolChoice::None => serializer.serialize_str("none"),
            ResponseToolChoice::Auto => serializer.serialize_str("auto"),
            ResponseToolChoice::Required => serializer.serialize_str("required"),
            ResponseToolChoice::Function(name) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "function")?;
                map.serialize_entry("name", name)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ResponseToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => match s.as_str() {
                "none" => Ok(ResponseToolChoice::None),
                "auto" => Ok(ResponseToolChoice::Auto),
                "required" => Ok(ResponseToolChoice::Required),
                other => Err(de::Error::unknown_variant(
                    other,
                    &["none", "auto", "required"],
                )),
            },
            Value::Object(o) => {
                // Flat (Responses) or nested (chat) function name.
                let name = o
                    .get("name")
                    .or_else(|| o.get("function").and_then(|f| f.get("name")))
                    .and_then(Value::as_str);
                match name {
                    Some(n) => Ok(ResponseToolChoice::Function(n.to_owned())),
                    None => Err(de::Error::custom("a tool_choice object needs a `name`")),
                }
            }
            other => Err(de::Error::custom(format!(
                "expected a tool_choice string or object, got {other}"
            ))),
        }
    }
}

/// The `text` settings of a request: the output format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    /// Plain text, any JSON object, or JSON matching a schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    /// OpenAI: `"low"`, `"medium"` or `"high"` answer length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verbosity: Option<String>,
    /// Other keys, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

impl From<TextFormat> for TextConfig {
    fn from(format: TextFormat) -> Self {
        TextConfig {
            format: Some(format),
            ..Default::default()
        }
    }
}

/// The output format of the Responses API (`text.format`), tagged by `type`. Unlike chat's
/// [`ResponseFormat`], the schema's fields are flat here; `From<ResponseFormat>` converts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TextFormat {
    /// Plain text (the default).
    Text,
    /// Some JSON object.
    JsonObject,
    /// JSON matching a schema.
    JsonSchema {
        /// The schema name (`a-z`, `A-Z`, `0-9`, `_`, `-`; at most 64 characters on OpenAI).
        name: String,
        /// The JSON schema.
        schema: Value,
        /// What the format is for; the model may read it.
        #[serde(skip_serializing_if = "Option::is_none")]
        description: Option<String>,
        /// Follow the schema exactly (needs `additionalProperties: false` and every property
        /// required).
        #[serde(skip_serializing_if = "Option::is_none")]
        strict: Option<bool>,
    },
}

impl TextFormat {
    /// JSON matching `schema`, under the name `name` (`strict` left unset; see
    /// [`strict`](Self::strict)).
    pub fn json_schema(name: impl Into<String>, schema: Value) -> Self {
        TextFormat::JsonSchema {
            name: name.into(),
            schema,
            description: None,
            strict: None,
        }
    }

    /// JSON matching `T`'s schema (feature `schemars`): named after the type,
    /// strict-compatible, with `strict: true`.
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub fn json_schema_for<T: schemars::JsonSchema>() -> Self {
        let (name, schema) = crate::schema::schema_for::<T>();
        TextFormat::json_schema(name, schema).strict()
    }

    /// OpenAI's strict mode: the schema rewritten to be strict-compatible
    /// ([`schema::strict`](crate::schema::strict)) and `strict: true`. Other formats are
    /// returned unchanged.
    pub fn strict(mut self) -> Self {
        if let TextFormat::JsonSchema { schema, strict, .. } = &mut self {
            crate::schema::strict(schema);
            *strict = Some(true);
        }
        self
    }
}

impl From<ResponseFormat> for TextFormat {
    fn from(f: ResponseFormat) -> Self {
        match f {
            ResponseFormat::Text => TextFormat::Text,
            ResponseFormat::JsonObject => TextFormat::JsonObject,
            ResponseFormat::JsonSchema { json_schema } => TextFormat::JsonSchema {
                name: json_schema.name,
                schema: json_schema
                    .schema
                    .unwrap_or_else(|| Value::Object(Extra::new())),
                description: json_schema.description,
                strict: json_schema.strict,
            },
        }
    }
}

/// Reasoning settings (`reasoning`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningConfig {
    /// `"minimal"`, `"low"`, `"medium"` or `"high"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `"auto"`, `"concise"` or `"detailed"` reasoning summaries (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Other keys, sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

// ----------------------------------------------------------------- response

/// The state of a response. Open: an unknown value is kept in [`ResponseStatus::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseStatus {
    /// Done.
    Completed,
    /// Stopped early: see [`ResponseObject::incomplete_details`] (e.g. `max_output_tokens`).
    Incomplete,
    /// Failed: see [`ResponseObject::error`].
    Failed,
    /// Still generating.
    InProgress,
    /// Waiting to start (background responses).
    Queued,
    /// Cancelled.
    Cancelled,
    /// Any other status, kept as sent.
    #[serde(untagged)]
    Other(String),
}

impl ResponseStatus {
    /// The status as sent on the wire, e.g. `"completed"`.
    pub fn as_str(&self) -> &str {
        match self {
            ResponseStatus::Completed => "completed",
            ResponseStatus::Incomplete => "incomplete",
            ResponseStatus::Failed => "failed",
            ResponseStatus::InProgress => "in_progress",
            ResponseStatus::Queued => "queued",
            ResponseStatus::Cancelled => "cancelled",
            ResponseStatus::Other(s) => s,
        }
    }
}

impl fmt::Display for ResponseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response of the Responses API (`"object": "response"`), as returned by `create`,
/// `retrieve` and `cancel` and carried by the lifecycle stream events.
///
/// Named `ResponseObject` so it does not clash with the crate's [`Response`](crate::Response)
/// wrapper (a decoded body with its HTTP metadata).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponseObject {
    /// The response id (`resp_...`).
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Always `"response"`.
    #[serde(deserialize_with = "null_default")]
    pub object: String,
    /// Creation time, Unix seconds.
    #[serde(deserialize_with = "lenient_timestamp")]
    pub created_at: u64,
    /// The model that answered.
    #[serde(deserialize_with = "null_default")]
    pub model: String,
    /// The state; `None` if the server did not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// Why the response is `incomplete`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_details: Option<IncompleteDetails>,
    /// Why the response `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ResponseError>,
    /// The generated items: messages, function calls, reasoning, ...
    #[serde(deserialize_with = "null_default")]
    pub output: Vec<OutputItem>,
    /// Token counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ResponseUsage>,
    /// The instructions used (a text, or a list of items on OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<Value>,
    /// The response this one continues.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    /// The output limit used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// The temperature used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// The top-p used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// The key-value tags stored with the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Keys this crate has no field for (`tools`, `text`, `tool_choice`, ...; vLLM:
    /// `kv_transfer_params`, `input_messages`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponseObject {
    /// The text of every `output_text` part of every message item, concatenated in order
    /// (openai-python's `output_text`). Empty if there is none.
    pub fn output_text(&self) -> String {
        let mut out = String::new();
        for item in &self.output {
            if let OutputItem::Message(m) = item {
                for part in &m.content {
                    if let OutputContent::OutputText(t) = part {
                        out.push_str(&t.text);
                    }
                }
            }
        }
        out
    }

    /// The function calls the model asked for, in order.
    pub fn function_calls(&self) -> impl Iterator<Item = &FunctionCallItem> {
        self.output.iter().filter_map(|item| match item {
            OutputItem::FunctionCall(c) => Some(c),
            _ => None,
        })
    }

    /// The model's refusal text, if a message refused.
    pub fn refusal(&self) -> Option<&str> {
        self.output.iter().find_map(|item| match item {
            OutputItem::Message(m) => m.content.iter().find_map(|p| match p {
                OutputContent::Refusal { refusal } => Some(refusal.as_str()),
                _ => None,
            }),
            _ => None,
        })
    }

    /// The reason of an `incomplete` response (`"max_output_tokens"`, `"content_filter"`).
    pub fn incomplete_reason(&self) -> Option<&str> {
        self.incomplete_details.as_ref()?.reason.as_deref()
    }
}

/// Why a response is incomplete.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IncompleteDetails {
    /// `"max_output_tokens"` or `"content_filter"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why a response failed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponseError {
    /// The error code, e.g. `"server_error"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Value>,
    /// What went wrong.
    #[serde(deserialize_with = "null_default")]
    pub message: String,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Token counts of a response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponseUsage {
    /// Tokens in the input (instructions, input items, tool definitions).
    #[serde(deserialize_with = "null_default")]
    pub input_tokens: u64,
    /// Tokens generated, reasoning included.
    #[serde(deserialize_with = "null_default")]
    pub output_tokens: u64,
    /// `input_tokens + output_tokens`.
    #[serde(deserialize_with = "null_default")]
    pub total_tokens: u64,
    /// Breakdown of the input tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens_details: Option<InputTokensDetails>,
    /// Breakdown of the output tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens_details: Option<OutputTokensDetails>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Breakdown of a response's input tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InputTokensDetails {
    /// Tokens served from the prompt cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Keys this crate has no field for (vLLM: `input_tokens_per_turn`,
    /// `cached_tokens_per_turn`, `cache_write_tokens`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// Breakdown of a response's output tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputTokensDetails {
    /// Tokens spent on reasoning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Keys this crate has no field for (vLLM: `tool_output_tokens`,
    /// `output_tokens_per_turn`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One item of a response's `output`, by `type`. Open: an item of another type is kept as
/// its JSON in [`OutputItem::Unknown`].
#[derive(Debug, Clone, PartialEq)]
pub enum OutputItem {
    /// A message (`"type": "message"`).
    Message(OutputMessage),
    /// A function call the model asks for (`"type": "function_call"`).
    FunctionCall(FunctionCallItem),
    /// Reasoning (`"type": "reasoning"`).
    Reasoning(ReasoningItem),
    /// Any other item (built-in tool calls, ...), as sent.
    Unknown(Value),
}

impl OutputItem {
    /// The item's `type`, e.g. `"message"`.
    pub fn kind(&self) -> &str {
        match self {
            OutputItem::Message(_) => "message",
            OutputItem::FunctionCall(_) => "function_call",
            OutputItem::Reasoning(_) => "reasoning",
            OutputItem::Unknown(v) => v.get("type").and_then(Value::as_str).unwrap_or(""),
        }
    }

    /// The item's `id`, if it has one.
    pub fn id(&self) -> Option<&str> {
        match self {
            OutputItem::Message(m) => Some(&m.id),
            OutputItem::FunctionCall(c) => c.id.as_deref(),
            OutputItem::Reasoning(r) => Some(&r.id),
            OutputItem::Unknown(v) => v.get("id").and_then(Value::as_str),
        }
    }
}

/// Decodes a tagged object: its `type` picks the variant, an unknown type keeps the JSON.
fn tagged<T: DeserializeOwned, E: de::Error>(v: Value) -> Result<T, E> {
    serde_json::from_value(v).map_err(E::custom)
}

/// Serialises `inner` (an object) with `"type": kind` in front.
fn with_type<S: Serializer, T: Serialize>(
    serializer: S,
    kind: &str,
    inner: &T,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Tagged<'a, T> {
        #[serde(rename = "type")]
        kind: &'a str,
        #[serde(flatten)]
        inner: &'a T,
    }
    Tagged { kind, inner }.serialize(serializer)
}

impl<'de> Deserialize<'de> for OutputItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(deserializer)?;
        Ok(match v.get("type").and_then(Value::as_str) {
            Some("message") => OutputItem::Message(tagged(v)?),
            Some("function_call") => OutputItem::FunctionCall(tagged(v)?),
            Some("reasoning") => OutputItem::Reasoning(tagged(v)?),
            _ => OutputItem::Unknown(v),
        })
    }
}

impl Serialize for OutputItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OutputItem::Message(m) => with_type(serializer, "message", m),
            OutputItem::FunctionCall(c) => with_type(serializer, "function_call", c),
            OutputItem::Reasoning(r) => with_type(serializer, "reasoning", r),
            OutputItem::Unknown(v) => v.serialize(serializer),
        }
    }
}

/// A message item of a response's output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputMessage {
    /// The item id (`msg_...`).
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Always `assistant`.
    #[serde(deserialize_with = "null_default")]
    pub role: Role,
    /// `"in_progress"`, `"completed"` or `"incomplete"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// Text and refusal parts.
    #[serde(deserialize_with = "null_default")]
    pub content: Vec<OutputContent>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

impl OutputMessage {
    /// The text of the message's `output_text` parts, concatenated.
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|p| match p {
                OutputContent::OutputText(t) => Some(t.text.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// One part of an output message, by `type`. Open: another type is kept as its JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum OutputContent {
    /// Generated text (`"type": "output_text"`).
    OutputText(OutputText),
    /// The model refused (`"type": "refusal"`).
    Refusal {
        /// The refusal text.
        refusal: String,
    },
    /// Any other part, as sent.
    Unknown(Value),
}

impl<'de> Deserialize<'de> for OutputContent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Refusal {
            #[serde(default, deserialize_with = "null_default")]
            refusal: String,
        }
        let v = Value::deserialize(deserializer)?;
        Ok(match v.get("type").and_then(Value::as_str) {
            Some("output_text") => OutputContent::OutputText(tagged(v)?),
            Some("refusal") => OutputContent::Refusal {
                refusal: tagged::<Refusal, D::Error>(v)?.refusal,
            },
            _ => OutputContent::Unknown(v),
        })
    }
}

impl Serialize for OutputContent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            OutputContent::OutputText(t) => with_type(serializer, "output_text", t),
            OutputContent::Refusal { refusal } => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "refusal")?;
                map.serialize_entry("refusal", refusal)?;
                map.end()
            }
            OutputContent::Unknown(v) => v.serialize(serializer),
        }
    }
}

/// An `output_text` part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OutputText {
    /// The text.
    #[serde(deserialize_with = "null_default")]
    pub text: String,
    /// Citations and other annotations, as sent.
    #[serde(deserialize_with = "null_default")]
    pub annotations: Vec<Value>,
    /// Token log-probabilities (with `include: ["message.output_text.logprobs"]`), as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Value>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A function call the model asks for (an output item), or sends back as input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionCallItem {
    /// The item id (`fc_...`), when the server gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call id: answer it with [`InputItem::function_call_output`] using this id.
    #[serde(deserialize_with = "null_default")]
    pub call_id: String,
    /// The function name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// The arguments as JSON text, as generated: parse and validate before use.
    #[serde(deserialize_with = "null_default")]
    pub arguments: String,
    /// `"in_progress"`, `"completed"` or `"incomplete"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reasoning item of a response's output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReasoningItem {
    /// The item id (`rs_...`).
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Summary parts (`{"type":"summary_text","text":..}`).
    #[serde(deserialize_with = "null_default")]
    pub summary: Vec<ReasoningPart>,
    /// The reasoning text parts (`{"type":"reasoning_text","text":..}`; vLLM sends them,
    /// OpenAI mostly does not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<ReasoningPart>>,
    /// OpenAI: the encrypted reasoning, to send back in stateless conversations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// `"in_progress"`, `"completed"` or `"incomplete"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<ResponseStatus>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ReasoningItem {
    /// The reasoning text (the `content` parts, else the summary), concatenated.
    pub fn text(&self) -> String {
        let parts = match &self.content {
            Some(c) if !c.is_empty() => c,
            _ => &self.summary,
        };
        parts.iter().map(|p| p.text.as_str()).collect()
    }
}

/// A text part of a reasoning item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReasoningPart {
    /// `"reasoning_text"` or `"summary_text"`.
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    /// The text.
    #[serde(deserialize_with = "null_default")]
    pub text: String,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A response in the Responses API's `input_items` list (`GET /responses/{id}/input_items`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InputItemList {
    /// Always `"list"`.
    #[serde(deserialize_with = "null_default")]
    pub object: String,
    /// The input items, as sent by the server (each has a `type` and an `id`).
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<Value>,
    /// The id of the first item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_id: Option<String>,
    /// The id of the last item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_id: Option<String>,
    /// Whether more items follow (page with `after`).
    #[serde(deserialize_with = "null_default")]
    pub has_more: bool,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

// ------------------------------------------------------------------- stream

/// One event of a streamed response (`event: response.output_text.delta` ... with the same
/// `type` in the data), by `type`. Open: an event of another type is kept as its JSON in
/// [`ResponseStreamEvent::Unknown`].
///
/// A stream ends after `response.completed` or `response.incomplete`; `response.failed`
/// and `error` end it with [`Error::Stream`](crate::Error::Stream) instead of an item, and a
/// body that ends before any of them is a truncated stream (an error too).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResponseStreamEvent {
    /// `response.created`: the response, still empty.
    Created(ResponseEvent),
    /// `response.in_progress`.
    InProgress(ResponseEvent),
    /// `response.queued` (background responses).
    Queued(ResponseEvent),
    /// `response.completed`: the final response. The last event.
    Completed(ResponseEvent),
    /// `response.incomplete`: the final response, cut short (OpenAI; vLLM sends
    /// `response.completed` with `status: incomplete`). The last event.
    Incomplete(ResponseEvent),
    /// `response.failed`. The stream yields it as an [`Error::Stream`](crate::Error::Stream);
    /// this variant is only seen when decoding events yourself.
    Failed(ResponseEvent),
    /// `response.output_item.added`: a new output item starts.
    OutputItemAdded(OutputItemEvent),
    /// `response.output_item.done`: an output item is complete.
    OutputItemDone(OutputItemEvent),
    /// `response.content_part.added`: a new part of a message starts.
    ContentPartAdded(ContentPartEvent),
    /// `response.content_part.done`: a part of a message is complete.
    ContentPartDone(ContentPartEvent),
    /// `response.output_text.delta`: more output text.
    OutputTextDelta(DeltaEvent),
    /// `response.output_text.done`: the whole text of one part.
    OutputTextDone(DoneEvent),
    /// `response.refusal.delta`: more refusal text.
    RefusalDelta(DeltaEvent),
    /// `response.refusal.done`: the whole refusal (in `text`).
    RefusalDone(DoneEvent),
    /// `response.function_call_arguments.delta`: more arguments text of a function call.
    FunctionCallArgumentsDelta(DeltaEvent),
    /// `response.function_call_arguments.done`: the whole arguments (in `text`).
    FunctionCallArgumentsDone(DoneEvent),
    /// `response.reasoning_text.delta`: more reasoning text.
    ReasoningTextDelta(DeltaEvent),
    /// `response.reasoning_text.done`: the whole reasoning text of one part.
    ReasoningTextDone(DoneEvent),
    /// `response.reasoning_summary_text.delta`: more reasoning summary.
    ReasoningSummaryTextDelta(DeltaEvent),
    /// `response.reasoning_summary_text.done`: the whole summary of one part.
    ReasoningSummaryTextDone(DoneEvent),
    /// `error`: the stream yields it as an [`Error::Stream`](crate::Error::Stream); this
    /// variant is only seen when decoding events yourself.
    Error(ErrorEvent),
    /// Any other event, as sent.
    Unknown(Value),
}

/// The wire `type` of each known event, and its variant.
macro_rules! stream_events {
    ($($name:literal => $variant:ident),* $(,)?) => {
        impl ResponseStreamEvent {
            /// The event's `type`, e.g. `"response.output_text.delta"`.
            pub fn kind(&self) -> &str {
                match self {
                    $(ResponseStreamEvent::$variant(_) => $name,)*
                    ResponseStreamEvent::Unknown(v) => {
                        v.get("type").and_then(Value::as_str).unwrap_or("")
                    }
                }
            }
        }

        impl<'de> Deserialize<'de> for ResponseStreamEvent {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let v = Value::deserialize(deserializer)?;
                Ok(match v.get("type").and_then(Value::as_str) {
                    $(Some($name) => ResponseStreamEvent::$variant(tagged(v)?),)*
                    _ => ResponseStreamEvent::Unknown(v),
                })
            }
        }

        impl Serialize for ResponseStreamEvent {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(ResponseStreamEvent::$variant(e) => with_type(serializer, $name, e),)*
                    ResponseStreamEvent::Unknown(v) => v.serialize(serializer),
                }
            }
        }
    };
}

stream_events! {
    "response.created" => Created,
    "response.in_progress" => InProgress,
    "response.queued" => Queued,
    "response.completed" => Completed,
    "response.incomplete" => Incomplete,
    "response.failed" => Failed,
    "response.output_item.added" => OutputItemAdded,
    "response.output_item.done" => OutputItemDone,
    "response.content_part.added" => ContentPartAdded,
    "response.content_part.done" => ContentPartDone,
    "response.output_text.delta" => OutputTextDelta,
    "response.output_text.done" => OutputTextDone,
    "response.refusal.delta" => RefusalDelta,
    "response.refusal.done" => RefusalDone,
    "response.function_call_arguments.delta" => FunctionCallArgumentsDelta,
    "response.function_call_arguments.done" => FunctionCallArgumentsDone,
    "response.reasoning_text.delta" => ReasoningTextDelta,
    "response.reasoning_text.done" => ReasoningTextDone,
    "response.reasoning_summary_text.delta" => ReasoningSummaryTextDelta,
    "response.reasoning_summary_text.done" => ReasoningSummaryTextDone,
    "error" => Error,
}

impl ResponseStreamEvent {
    /// The output text this event adds (`response.output_text.delta`), else `None`.
    pub fn text_delta(&self) -> Option<&str> {
        match self {
            ResponseStreamEvent::OutputTextDelta(d) => Some(&d.delta),
            _ => None,
        }
    }

    /// The event's `sequence_number`, if the server sent one.
    pub fn sequence_number(&self) -> Option<i64> {
        use ResponseStreamEvent as E;
        match self {
            E::Created(e)
            | E::InProgress(e)
            | E::Queued(e)
            | E::Completed(e)
            | E::Incomplete(e)
            | E::Failed(e) => e.sequence_number,
            E::OutputItemAdded(e) | E::OutputItemDone(e) => e.sequence_number,
            E::ContentPartAdded(e) | E::ContentPartDone(e) => e.sequence_number,
            E::OutputTextDelta(e)
            | E::RefusalDelta(e)
            | E::FunctionCallArgumentsDelta(e)
            | E::ReasoningTextDelta(e)
            | E::ReasoningSummaryTextDelta(e) => e.sequence_number,
            E::OutputTextDone(e)
            | E::RefusalDone(e)
            | E::FunctionCallArgumentsDone(e)
            | E::ReasoningTextDone(e)
            | E::ReasoningSummaryTextDone(e) => e.sequence_number,
            E::Error(e) => e.sequence_number,
            E::Unknown(v) => v.get("sequence_number").and_then(Value::as_i64),
        }
    }

    /// The response carried by a lifecycle event (`created`, `in_progress`, `queued`,
    /// `completed`, `incomplete`, `failed`).
    pub fn response(&self) -> Option<&ResponseObject> {
        use ResponseStreamEvent as E;
        match self {
            E::Created(e)
            | E::InProgress(e)
            | E::Queued(e)
            | E::Completed(e)
            | E::Incomplete(e)
            | E::Failed(e) => Some(&e.response),
            _ => None,
        }
    }
}

/// A lifecycle event: the response as it stands.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResponseEvent {
    /// The response.
    #[serde(deserialize_with = "null_default")]
    pub response: ResponseObject,
    /// The event's position in the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An output item starting or complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputItemEvent {
    /// The item's index in `output`.
    #[serde(default, deserialize_with = "null_default")]
    pub output_index: usize,
    /// The item.
    pub item: OutputItem,
    /// The event's position in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A content part of a message starting or complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentPartEvent {
    /// The message item's id.
    #[serde(default, deserialize_with = "null_default")]
    pub item_id: String,
    /// The message item's index in `output`.
    #[serde(default, deserialize_with = "null_default")]
    pub output_index: usize,
    /// The part's index in the message's `content`.
    #[serde(default, deserialize_with = "null_default")]
    pub content_index: usize,
    /// The part.
    pub part: OutputContent,
    /// The event's position in the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// More text for one part of one item (output text, refusal, function-call arguments,
/// reasoning).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeltaEvent {
    /// The item's id.
    #[serde(deserialize_with = "null_default")]
    pub item_id: String,
    /// The item's index in `output`.
    #[serde(deserialize_with = "null_default")]
    pub output_index: usize,
    /// The part's index in the item (`summary_index` for reasoning summaries; 0 for
    /// function-call arguments).
    #[serde(alias = "summary_index", deserialize_with = "null_default")]
    pub content_index: usize,
    /// The new text.
    #[serde(deserialize_with = "null_default")]
    pub delta: String,
    /// The event's position in the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    /// Keys this crate has no field for (`logprobs`, `obfuscation`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The whole text of one part of one item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DoneEvent {
    /// The item's id.
    #[serde(deserialize_with = "null_default")]
    pub item_id: String,
    /// The item's index in `output`.
    #[serde(deserialize_with = "null_default")]
    pub output_index: usize,
    /// The part's index in the item (`summary_index` for reasoning summaries).
    #[serde(alias = "summary_index", deserialize_with = "null_default")]
    pub content_index: usize,
    /// The whole text (sent as `text`, `refusal` or `arguments`).
    #[serde(
        alias = "refusal",
        alias = "arguments",
        deserialize_with = "null_default"
    )]
    pub text: String,
    /// The event's position in the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    /// Keys this crate has no field for (`name` of a function call, `logprobs`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An `error` event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorEvent {
    /// The error code, as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Value>,
    /// What went wrong.
    #[serde(deserialize_with = "null_default")]
    pub message: String,
    /// The parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The event's position in the stream.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<i64>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_shapes() {
        let mut req = ResponseRequest::new("m", "hi");
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"model": "m", "input": "hi"})
        );
        req.input = vec![
            InputItem::system("be brief"),
            InputItem::user(vec![
                InputPart::text("what is this"),
                InputPart::image_url("data:image/png;base64,AA=="),
            ]),
            InputItem::FunctionCall(FunctionCallItem {
                call_id: "c1".into(),
                name: "f".into(),
                arguments: "{}".into(),
                ..Default::default()
            }),
            InputItem::function_call_output("c1", "42"),
            InputItem::Other(json!({"type": "item_reference", "id": "x"})),
        ]
        .into();
        req.tools = Some(vec![ResponseTool::function("f", "does f", json!({}))]);
        req.tool_choice = Some(ResponseToolChoice::Function("f".into()));
        req.text = Some(TextFormat::json_schema("s", json!({"type": "object"})).into());
        req.stream_options = Some(ResponseStreamOptions::default());
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v["input"][0],
            json!({"type": "message", "role": "system", "content": "be brief"})
        );
        assert_eq!(v["input"][1]["content"][0]["type"], "input_text");
        assert_eq!(v["input"][1]["content"][1]["detail"], "auto");
        assert_eq!(
            v["input"][2],
            json!({"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"})
        );
        assert_eq!(
            v["input"][3],
            json!({"type": "function_call_output", "call_id": "c1", "output": "42"})
        );
        assert_eq!(v["input"][4], json!({"type": "item_reference", "id": "x"}));
        assert_eq!(
            v["tools"][0],
            json!({"type": "function", "name": "f", "description": "does f", "parameters": {},
                   "strict": null})
        );
        assert_eq!(v["tool_choice"], json!({"type": "function", "name": "f"}));
        assert_eq!(
            v["text"],
            json!({"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}})
        );
        assert!(v.get("stream_options").is_none());
        // Round trip, unknown items included.
        let back: ResponseRequest = serde_json::from_value(v).unwrap();
        assert_eq!(back.input, req.input);
        assert_eq!(back.tool_choice, req.tool_choice);
    }

    #[test]
    fn response_decodes_leniently_and_keeps_unknowns() {
        let v = json!({
            "id": "resp_1", "object": "response", "created_at": 1.5, "model": "m",
            "status": "paused_for_lunch",
            "incomplete_details": null,
            "output": [
                {"type": "reasoning", "id": "rs", "summary": [],
                 "content": [{"type": "reasoning_text", "text": "hmm"}]},
                {"type": "message", "id": "msg", "role": "assistant", "status": "completed",
                 "content": [{"type": "output_text", "text": "Hel", "annotations": []},
                             {"type": "output_text", "text": "lo", "annotations": null},
                             {"type": "output_audio", "data": "..."}]},
                {"type": "function_call", "id": "fc", "call_id": "c", "name": "f",
                 "arguments": "{\"a\":1}", "status": "completed"},
                {"type": "web_search_call", "id": "ws", "status": "completed"},
                {"no_type": true}
            ],
            "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5,
                      "input_tokens_details": {"cached_tokens": 0, "input_tokens_per_turn": [3]},
                      "output_tokens_details": {"reasoning_tokens": 1, "tool_output_tokens": 0}},
            "kv_transfer_params": null,
            "tools": []
        });
        let r: ResponseObject = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(
            r.status,
            Some(ResponseStatus::Other("paused_for_lunch".into()))
        );
        assert_eq!(r.created_at, 1);
        assert_eq!(r.output_text(), "Hello");
        assert_eq!(r.output.len(), 5);
        assert_eq!(r.output[3].kind(), "web_search_call");
        assert_eq!(r.output[3].id(), Some("ws"));
        assert!(matches!(r.output[4], OutputItem::Unknown(_)));
        match &r.output[0] {
            OutputItem::Reasoning(rs) => assert_eq!(rs.text(), "hmm"),
            other => panic!("{other:?}"),
        }
        assert_eq!(r.function_calls().next().unwrap().arguments, "{\"a\":1}");
        let usage = r.usage.as_ref().unwrap();
        assert_eq!(
            usage.input_tokens_details.as_ref().unwrap().extra["input_tokens_per_turn"],
            json!([3])
        );
        assert!(r.extra.contains_key("kv_transfer_params"));
        // Serialising gives back the items, unknown ones unchanged.
        let again = serde_json::to_value(&r).unwrap();
        assert_eq!(again["output"][3], v["output"][3]);
        assert_eq!(
            again["output"][1]["content"][2],
            v["output"][1]["content"][2]
        );
        assert_eq!(again["output"][2]["type"], "function_call");
        let r2: ResponseObject = serde_json::from_value(again).unwrap();
        assert_eq!(r2.output, r.output);
        // A null or missing body field never fails the response.
        let empty: ResponseObject = serde_json::from_value(json!({"output": null})).unwrap();
        assert_eq!(empty.output_text(), "");
    }

    #[test]
    fn stream_events_by_type() {
        let delta: ResponseStreamEvent = serde_json::from_value(json!({
            "type": "response.output_text.delta", "item_id": "m", "output_index": 0,
            "content_index": 0, "delta": "Hi", "sequence_number": 4, "logprobs": []
        }))
        .unwrap();
        assert_eq!(delta.text_delta(), Some("Hi"));
        assert_eq!(delta.kind(), "response.output_text.delta");
        assert_eq!(delta.sequence_number(), Some(4));
        let done: ResponseStreamEvent = serde_json::from_value(json!({
            "type": "response.function_call_arguments.done", "item_id": "fc",
            "output_index": 1, "arguments": "{}", "sequence_number": 9
        }))
        .unwrap();
        match &done {
            ResponseStreamEvent::FunctionCallArgumentsDone(d) => assert_eq!(d.text, "{}"),
            other => panic!("{other:?}"),
        }
        let unknown: ResponseStreamEvent =
            serde_json::from_value(json!({"type": "response.audio.delta", "delta": "AA"})).unwrap();
        assert_eq!(unknown.kind(), "response.audio.delta");
        assert_eq!(unknown.text_delta(), None);
        let back = serde_json::to_value(&delta).unwrap();
        assert_eq!(back["type"], "response.output_text.delta");
        assert_eq!(back["delta"], "Hi");
        let completed: ResponseStreamEvent = serde_json::from_value(json!({
            "type": "response.completed", "sequence_number": 9,
            "response": {"id": "r", "status": "completed", "output": []}
        }))
        .unwrap();
        assert_eq!(completed.response().unwrap().id, "r");
    }
}
