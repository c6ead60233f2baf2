//! Chat completions (`POST /v1/chat/completions`): request, response and stream chunk types.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{
    Extra, FinishReason, StopReason, StreamOptions, Usage, VllmParams, null_default,
};
use super::input::Texts;

// `Deserialize` of the stream chunk types; its field helpers also serve `completions`.
pub(super) mod chunk_decode;
// `Deserialize` of the response of a chat completion that is not streamed.
mod completion_decode;

/// The author of a chat message. Open: an unknown role is kept in [`Role::Other`].
///
/// The default is [`Role::Assistant`], the role of a generated message whose `role` is missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions for the model (`"system"`).
    System,
    /// Instructions for the model on OpenAI's newer models (`"developer"`); most other servers
    /// only know `system`.
    Developer,
    /// The end user (`"user"`).
    User,
    /// The model (`"assistant"`).
    #[default]
    Assistant,
    /// The result of a tool call (`"tool"`), tied to it by `tool_call_id`.
    Tool,
    /// The result of a function call (OpenAI's deprecated `functions` API).
    Function,
    /// Any other role, kept as sent.
    #[serde(untagged)]
    Other(String),
}

impl Role {
    /// The role as sent on the wire, e.g. `"assistant"`.
    pub fn as_str(&self) -> &str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            Role::Function => "function",
            Role::Other(s) => s,
        }
    }
}

crate::types::decode::open_enum_decoder! {
    Role {
        "system" => System,
        "developer" => Developer,
        "user" => User,
        "assistant" => Assistant,
        "tool" => Tool,
        "function" => Function,
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message of the conversation sent in a [`ChatCompletionRequest`].
///
/// Build one with [`Message::system`], [`Message::user`], [`Message::assistant`],
/// [`Message::tool`] and friends, or continue a conversation with `Message::from(reply)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote the message.
    pub role: Role,
    /// The text, or a list of parts (text, images, audio). May be left out on an assistant
    /// message that only calls tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// An optional name for the participant; the chat template may use it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tool calls made by an assistant message (send back the ones the model made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// On a `tool` message: the id of the tool call this message answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// vLLM extra; OpenAI rejects it. The reasoning of an earlier assistant turn, which some
    /// chat templates (e.g. gpt-oss, interleaved thinking) put back into the prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// Other keys of the message, sent as they are.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Message {
    fn with_content(role: Role, content: Content) -> Self {
        Message {
            role,
            content: Some(content),
            ..Default::default()
        }
    }

    /// A `system` message.
    pub fn system(text: impl Into<Content>) -> Self {
        Self::with_content(Role::System, text.into())
    }

    /// A `developer` message (OpenAI's newer name for `system`; other servers may not know it).
    pub fn developer(text: impl Into<Content>) -> Self {
        Self::with_content(Role::Developer, text.into())
    }

    /// A `user` message.
    pub fn user(text: impl Into<Content>) -> Self {
        Self::with_content(Role::User, text.into())
    }

    /// A `user` message made of parts, e.g. text and images.
    pub fn user_parts(parts: Vec<ContentPart>) -> Self {
        Self::with_content(Role::User, Content::Parts(parts))
    }

    /// An `assistant` message (an earlier reply of the model, or a few-shot example).
    pub fn assistant(text: impl Into<Content>) -> Self {
        Self::with_content(Role::Assistant, text.into())
    }

    /// An `assistant` message that only calls tools.
    pub fn assistant_tool_calls(tool_calls: Vec<ToolCall>) -> Self {
        Message {
            role: Role::Assistant,
            tool_calls: Some(tool_calls),
            ..Default::default()
        }
    }

    /// A `tool` message: the result of the tool call `tool_call_id`.
    pub fn tool(tool_call_id: impl Into<String>, content: impl Into<Content>) -> Self {
        Message {
            role: Role::Tool,
            content: Some(content.into()),
            tool_call_id: Some(tool_call_id.into()),
            ..Default::default()
        }
    }
}

/// Turns a reply into a message to send back, to continue the conversation.
///
/// Keeps the role, the content and the tool calls (an empty `tool_calls` list, which vLLM
/// sends and OpenAI refuses, is dropped). Drops `reasoning`, `refusal` and the reply's extra
/// keys: OpenAI rejects unknown message keys. Set `reasoning` yourself for vLLM models whose
/// template wants it back. A reply with neither content nor tool calls gets an empty content.
/// A borrowed message, cloned: so that `ChatCompletionRequest::new(model, &messages)` keeps
/// the caller's list.
impl From<&Message> for Message {
    fn from(m: &Message) -> Message {
        m.clone()
    }
}

impl From<ChatCompletionMessage> for Message {
    fn from(m: ChatCompletionMessage) -> Self {
        let tool_calls = m.tool_calls.filter(|calls| !calls.is_empty());
        let content = match (m.content, &tool_calls) {
            (Some(text), _) => Some(Content::Text(text)),
            (None, Some(_)) => None,
            (None, None) => Some(Content::Text(String::new())),
        };
        Message {
            role: m.role,
            content,
            tool_calls,
            ..Default::default()
        }
    }
}

/// The content of a request message: plain text or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text, sent as a JSON string.
    Text(String),
    /// Parts (text, images, audio), sent as a JSON array.
    Parts(Vec<ContentPart>),
}

impl From<&str> for Content {
    fn from(s: &str) -> Self {
        Content::Text(s.to_owned())
    }
}

impl From<String> for Content {
    fn from(s: String) -> Self {
        Content::Text(s)
    }
}

impl From<Vec<ContentPart>> for Content {
    fn from(parts: Vec<ContentPart>) -> Self {
        Content::Parts(parts)
    }
}

/// One part of a multi-part message, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentPart {
    /// `{"type": "text", "text": ...}`.
    Text {
        /// The text.
        text: String,
    },
    /// `{"type": "image_url", "image_url": {...}}`: an image by URL or `data:` URL.
    ImageUrl {
        /// The image.
        image_url: ImageUrl,
    },
    /// `{"type": "input_audio", "input_audio": {...}}`: base64 audio.
    InputAudio {
        /// The audio.
        input_audio: InputAudio,
    },
    /// Any other part, sent and received as it is; it must carry its own `"type"` (e.g. vLLM's
    /// `{"type": "video_url", "video_url": {"url": ...}}`).
    #[serde(untagged)]
    Other(Value),
}

impl ContentPart {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        ContentPart::Text { text: text.into() }
    }

    /// An image part from a URL (`https://...` or `data:image/png;base64,...`).
    pub fn image_url(url: impl Into<String>) -> Self {
        ContentPart::ImageUrl {
            image_url: ImageUrl {
                url: url.into(),
                detail: None,
            },
        }
    }
}

/// An image given by URL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageUrl {
    /// `https://...` or a `data:image/...;base64,...` URL; the server fetches or decodes it.
    pub url: String,
    /// OpenAI's resolution hint: `"low"`, `"high"` or `"auto"`; vLLM ignores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// Audio given inline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InputAudio {
    /// The audio file, base64-encoded.
    pub data: String,
    /// Its format, e.g. `"wav"` or `"mp3"`.
    pub format: String,
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// The tool type; always `"function"` for chat completions.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function the model may call.
    pub function: FunctionDefinition,
}

impl Default for Tool {
    fn default() -> Self {
        Tool {
            kind: "function".to_owned(),
            function: FunctionDefinition::default(),
        }
    }
}

impl Tool {
    /// A function tool named `name`, whose arguments follow `Args`' JSON schema (feature
    /// `schemars`), made strict-compatible, with `strict: true`. Decode a call's arguments
    /// with [`ToolCall::parse_arguments`].
    ///
    /// ```
    /// # #[cfg(feature = "schemars")] {
    /// use oai_compat::types::Tool;
    /// #[derive(schemars::JsonSchema, serde::Deserialize)]
    /// struct Weather { city: String }
    /// let tool = Tool::function_for::<Weather>("get_weather", "Current weather in a city");
    /// assert_eq!(tool.function.parameters.unwrap()["required"], serde_json::json!(["city"]));
    /// # }
    /// ```
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub fn function_for<Args: schemars::JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        let (_, parameters) = crate::schema::schema_for::<Args>();
        let mut tool = Tool::function(name, description, parameters);
        tool.function.strict = Some(true);
        tool
    }

    /// The same tool in OpenAI's strict mode: its parameter schema rewritten to be
    /// strict-compatible ([`schema::strict`](crate::schema::strict)) and `strict: true`.
    pub fn strict(mut self) -> Self {
        if let Some(p) = &mut self.function.parameters {
            crate::schema::strict(p);
        }
        self.function.strict = Some(true);
        self
    }

    /// A function tool named `name`, whose arguments follow the JSON schema `parameters`.
    pub fn function(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
    ) -> Self {
        Tool {
            kind: "function".to_owned(),
            function: FunctionDefinition {
                name: name.into(),
                description: Some(description.into()),
                parameters: Some(parameters),
                strict: None,
            },
        }
    }
}

/// The definition of a function tool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// The function name the model uses to call it.
    pub name: String,
    /// What the function does; the model reads it to decide when to call it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A JSON schema of the arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// OpenAI: make the arguments follow the schema exactly (structured outputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// Whether and which tool the model must call (`tool_choice`).
///
/// Sent as `"none"`, `"auto"`, `"required"` or `{"type": "function", "function": {"name": ...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ToolChoice {
    /// Never call a tool.
    None,
    /// The model decides (the default when tools are given).
    Auto,
    /// Call at least one tool (vLLM: constrained by structured outputs).
    Required,
    /// Call the function with this name.
    Function(String),
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Name<'a>(&'a str);
        impl Serialize for Name<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("name", self.0)?;
                map.end()
            }
        }
        match self {
            ToolChoice::None => serializer.serialize_str("none"),
            ToolChoice::Auto => serializer.serialize_str("auto"),
            ToolChoice::Required => serializer.serialize_str("required"),
            ToolChoice::Function(name) => {
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", "function")?;
                map.serialize_entry("function", &Name(name))?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Named {
            function: NamedFunction,
        }
        #[derive(Deserialize)]
        struct NamedFunction {
            name: String,
        }

        struct ToolChoiceVisitor;

        impl<'de> Visitor<'de> for ToolChoiceVisitor {
            type Value = ToolChoice;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    r#""none", "auto", "required" or {"type":"function","function":{"name":...}}"#,
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ToolChoice, E> {
                match v {
                    "none" => Ok(ToolChoice::None),
                    "auto" => Ok(ToolChoice::Auto),
                    "required" => Ok(ToolChoice::Required),
                    other => Err(E::unknown_variant(other, &["none", "auto", "required"])),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ToolChoice, A::Error> {
                let named = Named::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ToolChoice::Function(named.function.name))
            }
        }

        deserializer.deserialize_any(ToolChoiceVisitor)
    }
}

/// A tool call made by the model, or sent back in an assistant [`Message`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolCall {
    /// The call id; answer it with [`Message::tool`] using the same id.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// The call type; always `"function"` (the default when a server leaves it out).
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    /// The function called and its arguments.
    #[serde(deserialize_with = "null_default")]
    pub function: FunctionCall,
}

impl Default for ToolCall {
    fn default() -> Self {
        ToolCall {
            id: String::new(),
            kind: "function".to_owned(),
            function: FunctionCall::default(),
        }
    }
}

impl ToolCall {
    /// A function call with id `id`, calling `name` with the JSON text `arguments`.
    pub fn function(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall {
            id: id.into(),
            kind: "function".to_owned(),
            function: FunctionCall {
                name: name.into(),
                arguments: arguments.into(),
            },
        }
    }
}

/// The function of a [`ToolCall`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionCall {
    /// The function name.
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    /// The arguments as JSON text, as generated: parse and validate it before use. A server
    /// that sends a JSON object instead of text gets it turned back into text.
    #[serde(deserialize_with = "arguments_text")]
    pub arguments: String,
}

/// Reads tool-call arguments: JSON text as is; `null` as empty; any other JSON value (a
/// non-conforming server sending an object) as its JSON text.
fn arguments_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(opt_arguments_text(deserializer)?.unwrap_or_default())
}

/// Like [`arguments_text`], keeping `null` as `None`.
fn opt_arguments_text<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// The format the model must answer in (`response_format`), tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResponseFormat {
    /// Plain text (the default).
    Text,
    /// Some JSON object ("JSON mode"). OpenAI requires the word "JSON" in the messages.
    JsonObject,
    /// JSON matching a schema (OpenAI structured outputs; vLLM constrains decoding to it).
    JsonSchema {
        /// The schema and its name.
        json_schema: JsonSchemaFormat,
    },
}

impl ResponseFormat {
    /// JSON matching `schema`, under the name `name` (`strict` is left unset; call
    /// [`strict`](Self::strict) for OpenAI's strict mode).
    pub fn json_schema(name: impl Into<String>, schema: Value) -> Self {
        ResponseFormat::JsonSchema {
            json_schema: JsonSchemaFormat {
                name: name.into(),
                description: None,
                schema: Some(schema),
                strict: None,
            },
        }
    }

    /// JSON matching `T`'s schema (feature `schemars`): named after the type, made
    /// strict-compatible ([`schema::strict`](crate::schema::strict)) and with `strict: true`.
    ///
    /// ```
    /// # #[cfg(feature = "schemars")] {
    /// use oai_compat::types::ResponseFormat;
    /// #[derive(schemars::JsonSchema, serde::Deserialize)]
    /// struct City { name: String, population: u32 }
    /// let format = ResponseFormat::json_schema_for::<City>();
    /// let json = serde_json::to_value(&format).unwrap();
    /// assert_eq!(json["json_schema"]["name"], "City");
    /// assert_eq!(json["json_schema"]["strict"], true);
    /// # }
    /// ```
    #[cfg(feature = "schemars")]
    #[cfg_attr(docsrs, doc(cfg(feature = "schemars")))]
    pub fn json_schema_for<T: schemars::JsonSchema>() -> Self {
        let (name, schema) = crate::schema::schema_for::<T>();
        ResponseFormat::json_schema(name, schema).strict()
    }

    /// OpenAI's strict mode: the schema rewritten to be strict-compatible
    /// ([`schema::strict`](crate::schema::strict)) and `strict: true`. Other formats are
    /// returned unchanged.
    ///
    /// ```
    /// use oai_compat::types::ResponseFormat;
    /// let f = ResponseFormat::json_schema("point", serde_json::json!({
    ///     "type": "object", "properties": {"x": {"type": "number"}}
    /// }))
    /// .strict();
    /// let json = serde_json::to_value(&f).unwrap();
    /// assert_eq!(json["json_schema"]["schema"]["required"], serde_json::json!(["x"]));
    /// assert_eq!(json["json_schema"]["strict"], true);
    /// ```
    pub fn strict(mut self) -> Self {
        if let ResponseFormat::JsonSchema { json_schema } = &mut self {
            if let Some(schema) = &mut json_schema.schema {
                crate::schema::strict(schema);
            }
            json_schema.strict = Some(true);
        }
        self
    }
}

/// A named JSON schema for [`ResponseFormat::JsonSchema`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    /// The schema name (`a-z`, `A-Z`, `0-9`, `_`, `-`; at most 64 characters on OpenAI).
    pub name: String,
    /// What the format is for; the model may read it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The JSON schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// OpenAI: follow the schema exactly (needs `additionalProperties: false` and every
    /// property required).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
}

/// The body of `POST /v1/chat/completions`.
///
/// Only `model`, `messages` and the fields you set are sent. vLLM's sampling extras are in
/// [`vllm`](Self::vllm); anything else goes in [`extra`](Self::extra). `stream` and
/// `stream_options` are set by the client.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatCompletionRequest {
    /// The model to use, as listed by `/v1/models` (vLLM: the served model name).
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Penalise tokens by how often they already appeared (-2.0 to 2.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    /// Bias added to the logits of token ids (keys are token ids as strings; -100 to 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<BTreeMap<String, f32>>,
    /// Return the log-probability of each generated token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// With `logprobs`: also return this many most likely tokens at each position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Maximum tokens to generate (deprecated by OpenAI for `max_completion_tokens`, still
    /// the one every compatible server reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Maximum tokens to generate, reasoning included (OpenAI's current name; vLLM reads it
    /// too). Required instead of `max_tokens` by OpenAI's reasoning models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Number of choices to generate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Penalise tokens that already appeared at all (-2.0 to 2.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    /// Force text, a JSON object or JSON matching a schema.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Seed for sampling, for reproducible output (best effort).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Stop sequences.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Texts>,
    /// Sampling temperature (0 = greedy; OpenAI allows 0 to 2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling: sample from the tokens making up this much probability mass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Tools the model may call (vLLM needs `--enable-auto-tool-choice` and a tool parser for
    /// `auto`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// Whether and which tool the model must call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Allow several tool calls in one turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// An id for the end user, for abuse monitoring (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Reasoning effort for reasoning models: `"minimal"`, `"low"`, `"medium"`, `"high"`
    /// (OpenAI; vLLM passes it to templates such as gpt-oss).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    /// OpenAI processing tier: `"auto"`, `"default"`, `"flex"`, `"priority"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// OpenAI: store the completion for distillation and evals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// OpenAI: key-value tags stored with the completion (with `store`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Options for streamed calls. Never serialised with the request: the client sends them
    /// only on streamed calls (vLLM rejects them otherwise).
    #[serde(skip)]
    pub stream_options: Option<StreamOptions>,
    /// vLLM extra; OpenAI rejects it. With `continue_final_message` or an assistant last
    /// message: prepend that message to the returned content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Add the template's generation prompt (the opening of
    /// the assistant turn); server default `true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_generation_prompt: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Leave the last message open so the model continues it
    /// (use with `add_generation_prompt: false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continue_final_message: Option<bool>,
    /// vLLM extra; OpenAI rejects it. A Jinja chat template used instead of the model's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    /// vLLM extra; OpenAI rejects it. Variables passed to the chat template, e.g.
    /// `{"enable_thinking": false}` for Qwen3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template_kwargs: Option<Extra>,
    /// vLLM extra; OpenAI rejects it. Documents for RAG templates, each a map such as
    /// `{"title": ..., "text": ...}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<Extra>>,
    /// vLLM's sampling and control extras, sent as top-level keys.
    // Keep `vllm` before `extra`: on parse, flattened fields claim keys in order, and a map
    // placed first would take the vLLM keys too.
    #[serde(flatten)]
    pub vllm: VllmParams,
    /// Other keys, sent as top-level keys (openai-python's `extra_body`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatCompletionRequest {
    /// A request for `model` with `messages`; every other field unset. `messages` is any
    /// collection of messages, owned or borrowed (`[Message::user("hi")]`, `vec`, `&vec`, a
    /// conversation's replies turned into messages); a borrowed message is cloned.
    ///
    /// Set fields by chaining (`.temperature(0.2).max_tokens(64)`, one setter per field)
    /// or with struct update (`ChatCompletionRequest { temperature: Some(0.2),
    /// ..ChatCompletionRequest::new(model, messages) }`).
    pub fn new(
        model: impl Into<String>,
        messages: impl IntoIterator<Item = impl Into<Message>>,
    ) -> Self {
        ChatCompletionRequest {
            model: model.into(),
            messages: messages.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }
}

/// The response of a chat completion that is not streamed.
///
/// Decoded leniently (a missing key or `null` gives the field's default; unknown keys go to
/// `extra`) by a hand-written decoder rather than a derived one, so that a response does not
/// pay for the `extra` catch-alls of the response, each choice and each message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatCompletion {
    /// The completion id (vLLM: `chatcmpl-` followed by the request id).
    pub id: String,
    /// Always `"chat.completion"`.
    pub object: String,
    /// Creation time, Unix seconds (a float is truncated).
    pub created: u64,
    /// The model that answered.
    pub model: String,
    /// The generated choices (`n` of them).
    pub choices: Vec<ChatChoice>,
    /// Token counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint (OpenAI; llama.cpp sends its build).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The tier that processed the request (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// vLLM: log-probabilities of the prompt tokens (with the `prompt_logprobs` request
    /// extra): a list with `null` for the first token, then maps of token id to
    /// `{logprob, rank, decoded_token}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_logprobs: Option<Value>,
    /// vLLM: the prompt's token ids (with the `return_token_ids` request extra).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_token_ids: Option<Vec<u32>>,
    /// Keys this crate has no field for (vLLM: `kv_transfer_params`; llama.cpp: `timings`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatCompletion {
    /// The content of the first choice, if any.
    ///
    /// `Option` because a complete message may have no content at all (`null`: a reply made
    /// only of tool calls, or a refusal), which is not the same as an empty answer. A
    /// chunk's [`ChatCompletionChunk::text`] is `&str` instead: a chunk without a content
    /// delta adds nothing, so `""` is exact there and keeps `print!("{}", chunk.text())`
    /// simple.
    pub fn text(&self) -> Option<&str> {
        self.choices.first()?.message.content.as_deref()
    }

    /// The tool calls of the first choice; empty if there are none.
    ///
    /// ```
    /// # let completion = oai_compat::types::ChatCompletion::default();
    /// for call in completion.tool_calls() {
    ///     println!("{}({})", call.function.name, call.function.arguments);
    /// }
    /// ```
    pub fn tool_calls(&self) -> &[ToolCall] {
        self.choices
            .first()
            .and_then(|c| c.message.tool_calls.as_deref())
            .unwrap_or_default()
    }
}

/// One generated choice of a [`ChatCompletion`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatChoice {
    /// The position of this choice among the `n`.
    pub index: u32,
    /// The generated message.
    pub message: ChatCompletionMessage,
    /// Why generation stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Token log-probabilities (with `logprobs: true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<ChatLogprobs>,
    /// vLLM: the stop token id or stop string that ended the choice (`None` for EOS or
    /// length).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopReason>,
    /// vLLM: the generated token ids (with the `return_token_ids` request extra).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_ids: Option<Vec<u32>>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A message generated by the model.
///
/// `reasoning` is read from `reasoning` (vLLM 0.11+, Ollama, OpenRouter) or, when that is
/// absent, from `reasoning_content` (older vLLM, llama.cpp, DeepSeek); it is written back as
/// `reasoning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatCompletionMessage {
    /// The author; `assistant` when the server leaves it out.
    pub role: Role,
    /// The text; `None` when the model only called tools.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The reasoning ("thinking") text of a reasoning model, when the server separates it
    /// (vLLM with `--reasoning-parser`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// A refusal message (OpenAI structured outputs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// The tool calls the model made (vLLM sends an empty list when there are none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Notes on parts of the content: the sources OpenAI's web search cites. OpenAI sends an
    /// empty list when there are none, vLLM `null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<Annotation>>,
    /// Keys this crate has no field for (OpenAI: `audio`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A note the model attached to part of its message: OpenAI's web search cites each source
/// it used with a `url_citation` annotation.
///
/// ```
/// use oai_compat::types::ChatCompletionMessage;
///
/// let m: ChatCompletionMessage = serde_json::from_str(
///     r#"{"content": "See example.com.", "annotations": [{"type": "url_citation",
///         "url_citation": {"start_index": 4, "end_index": 15,
///                          "url": "https://example.com/", "title": "Example"}}]}"#,
/// )?;
/// let cited = m.annotations.unwrap_or_default();
/// let source = cited[0].url_citation.as_ref().unwrap();
/// assert_eq!((source.url.as_str(), source.start_index), ("https://example.com/", 4));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Annotation {
    /// The kind of note: `"url_citation"`.
    #[serde(rename = "type", deserialize_with = "null_default")]
    pub kind: String,
    /// The cited page, on a `url_citation`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_citation: Option<UrlCitation>,
    /// Keys this crate has no field for (those of other kinds of note).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A web page cited in a message, and where the message cites it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct UrlCitation {
    /// Where the citation starts in the message's content (a character index).
    #[serde(deserialize_with = "null_default")]
    pub start_index: u64,
    /// Where it ends (exclusive).
    #[serde(deserialize_with = "null_default")]
    pub end_index: u64,
    /// The page's URL.
    #[serde(deserialize_with = "null_default")]
    pub url: String,
    /// The page's title.
    #[serde(deserialize_with = "null_default")]
    pub title: String,
}

/// Token log-probabilities of a chat choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatLogprobs {
    /// One entry per generated content token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<Vec<TokenLogprob>>,
    /// One entry per refusal token (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Vec<TokenLogprob>>,
}

/// The log-probability of one generated token, with the most likely alternatives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenLogprob {
    /// The token text (vLLM with `return_tokens_as_token_ids`: `"token_id:<id>"`).
    #[serde(deserialize_with = "null_default")]
    pub token: String,
    /// Its log-probability (vLLM clamps `-inf` to `-9999.0`).
    #[serde(deserialize_with = "null_default")]
    pub logprob: f64,
    /// The UTF-8 bytes of the token, when the server sends them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
    /// The `top_logprobs` most likely tokens at this position.
    #[serde(deserialize_with = "null_default")]
    pub top_logprobs: Vec<TopLogprob>,
}

/// One of the most likely tokens at a position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopLogprob {
    /// The token text.
    #[serde(deserialize_with = "null_default")]
    pub token: String,
    /// Its log-probability.
    #[serde(deserialize_with = "null_default")]
    pub logprob: f64,
    /// The UTF-8 bytes of the token, when the server sends them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
}

/// One server-sent event of a streamed chat completion.
///
/// The last chunk of a stream with `include_usage` has `choices: []` and the `usage`.
///
/// Decoded leniently, like the other response types (a missing key or `null` gives the field's
/// default; unknown keys go to `extra`), but by a hand-written decoder rather than a derived
/// one, so that a stream does not pay for the `extra` catch-alls on every chunk.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatCompletionChunk {
    /// The completion id, the same on every chunk.
    pub id: String,
    /// Always `"chat.completion.chunk"`.
    pub object: String,
    /// Creation time, Unix seconds (a float is truncated).
    pub created: u64,
    /// The model that answers.
    pub model: String,
    /// The deltas of this chunk, one per choice that advanced (empty on the usage chunk).
    pub choices: Vec<ChunkChoice>,
    /// Token counts: on the last chunk with `include_usage` (on every chunk with vLLM's
    /// `continuous_usage_stats`); `null` or absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Backend configuration fingerprint (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_fingerprint: Option<String>,
    /// The processing tier that served the request (OpenAI: `"default"`, `"flex"`,
    /// `"priority"`, ...), as on [`ChatCompletion::service_tier`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<String>,
    /// Keys this crate has no field for (OpenAI: `obfuscation`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatCompletionChunk {
    /// The content delta of the first choice, or `""` (a chunk that adds no content: the
    /// role, a tool-call piece, the finish reason). See [`ChatCompletion::text`] for why
    /// that one is an `Option`.
    pub fn text(&self) -> &str {
        self.choices
            .first()
            .and_then(|c| c.delta.content.as_deref())
            .unwrap_or("")
    }
}

/// The delta of one choice in a [`ChatCompletionChunk`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChunkChoice {
    /// Which choice this delta extends.
    pub index: u32,
    /// What this chunk adds to the message.
    pub delta: ChatDelta,
    /// Set on the choice's last chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<FinishReason>,
    /// Log-probabilities of the tokens in this chunk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<ChatLogprobs>,
    /// vLLM: the stop token id or stop string that ended the choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<StopReason>,
    /// vLLM: the token ids of this chunk (with `return_token_ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_ids: Option<Vec<u32>>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What one chunk adds to a message. Every field is absent unless this chunk carries it
/// (vLLM leaves unset fields out; OpenAI may send `null`).
///
/// `reasoning` follows the same rule as [`ChatCompletionMessage`]: read from `reasoning` or,
/// when absent, `reasoning_content`; written as `reasoning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ChatDelta {
    /// The role, on the first chunk of a choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// More content text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// More reasoning text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// More refusal text (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Pieces of tool calls, merged by their `index`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A piece of a tool call in a stream. The first piece of a call carries `id`, `type` and the
/// function name; later pieces carry more `arguments` text for the same `index`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ToolCallDelta {
    /// Which tool call of the message this piece extends.
    #[serde(deserialize_with = "null_default")]
    pub index: u32,
    /// The call id, on the first piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The call type (`"function"`), on the first piece.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The function name and/or more argument text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionCallDelta>,
}

/// A piece of a function call in a stream.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionCallDelta {
    /// The function name, on the first piece.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// More argument text, to append to what came before.
    #[serde(
        deserialize_with = "opt_arguments_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub arguments: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::common::StructuredOutputs;
    use serde_json::json;

    fn parse(text: &str) -> ChatCompletion {
        serde_json::from_str(text).unwrap()
    }

    fn parse_chunk(text: &str) -> ChatCompletionChunk {
        serde_json::from_str(text).unwrap()
    }

    fn round_trip<T>(value: &T)
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
    {
        let text = serde_json::to_string(value).unwrap();
        let back: T = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, value, "round trip through {text}");
    }

    // ---- requests ----

    #[test]
    fn minimal_request_sends_model_and_messages_only() {
        let req = ChatCompletionRequest::new("m", [Message::user("hi")]);
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        );
    }

    #[test]
    fn stream_options_are_never_serialised() {
        let req = ChatCompletionRequest {
            stream_options: Some(StreamOptions {
                include_usage: Some(true),
                continuous_usage_stats: Some(true),
            }),
            ..ChatCompletionRequest::new("m", Vec::<Message>::new())
        };
        let text = serde_json::to_string(&req).unwrap();
        assert!(!text.contains("stream"), "{text}");
    }

    #[test]
    fn vllm_and_extra_keys_are_top_level() {
        let mut req = ChatCompletionRequest::new("Qwen/Qwen3-8B", [Message::user("hi")]);
        req.temperature = Some(0.5);
        req.chat_template_kwargs = Some(
            json!({"enable_thinking": false})
                .as_object()
                .unwrap()
                .clone(),
        );
        req.vllm.top_k = Some(20);
        req.vllm.repetition_penalty = Some(1.5);
        req.vllm.structured_outputs = Some(StructuredOutputs::choice(["yes", "no"]));
        req.extra.insert("session_id".into(), json!("abc"));
        req.extra.insert("vllm_xargs".into(), json!({"k": 1}));
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            json!({
                "model": "Qwen/Qwen3-8B",
                "messages": [{"role": "user", "content": "hi"}],
                "temperature": 0.5,
                "chat_template_kwargs": {"enable_thinking": false},
                "top_k": 20,
                "repetition_penalty": 1.5,
                "structured_outputs": {"choice": ["yes", "no"]},
                "session_id": "abc",
                "vllm_xargs": {"k": 1}
            })
        );
        assert!(!v.to_string().contains("guided_"));
    }

    #[test]
    fn nested_flatten_routes_keys_on_parse() {
        let req: ChatCompletionRequest = serde_json::from_value(json!({
            "model": "m",
            "messages": [],
            "top_k": -1,
            "min_p": 0.05,
            "stop_token_ids": [1, 2],
            "structured_outputs": {"regex": "a+", "backend_hint": 3},
            "echo": true,
            "mystery": [1, 2, 3],
            "session_id": "s"
        }))
        .unwrap();
        assert_eq!(req.vllm.top_k, Some(-1));
        assert_eq!(req.vllm.min_p, Some(0.05));
        assert_eq!(req.vllm.stop_token_ids, Some(vec![1, 2]));
        let so = req.vllm.structured_outputs.as_ref().unwrap();
        assert_eq!(so.regex.as_deref(), Some("a+"));
        assert_eq!(so.extra["backend_hint"], json!(3));
        assert_eq!(req.echo, Some(true));
        // Only the unknown keys land in `extra`, none of the vLLM ones.
        assert_eq!(req.extra.len(), 2, "{:?}", req.extra);
        assert_eq!(req.extra["mystery"], json!([1, 2, 3]));
        assert_eq!(req.extra["session_id"], json!("s"));
        round_trip(&req);
    }

    #[test]
    fn message_constructors() {
        let msgs = vec![
            Message::system("s"),
            Message::developer("d"),
            Message::user(String::from("u")),
            Message::user_parts(vec![
                ContentPart::text("what is this?"),
                ContentPart::image_url("data:image/png;base64,AAAA"),
            ]),
            Message::assistant("a"),
            Message::assistant_tool_calls(vec![ToolCall::function(
                "call_1",
                "get_weather",
                r#"{"city":"Paris"}"#,
            )]),
            Message::tool("call_1", "18C"),
        ];
        let v = serde_json::to_value(&msgs).unwrap();
        assert_eq!(
            v,
            json!([
                {"role": "system", "content": "s"},
                {"role": "developer", "content": "d"},
                {"role": "user", "content": "u"},
                {"role": "user", "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
                ]},
                {"role": "assistant", "content": "a"},
                {"role": "assistant", "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
                ]},
                {"role": "tool", "content": "18C", "tool_call_id": "call_1"}
            ])
        );
        let back: Vec<Message> = serde_json::from_value(v).unwrap();
        assert_eq!(back, msgs);
    }

    #[test]
    fn content_parts_all_shapes() {
        let parts = vec![
            ContentPart::Text { text: "t".into() },
            ContentPart::ImageUrl {
                image_url: ImageUrl {
                    url: "https://x/y.png".into(),
                    detail: Some("high".into()),
                },
            },
            ContentPart::InputAudio {
                input_audio: InputAudio {
                    data: "UklGRg==".into(),
                    format: "wav".into(),
                },
            },
            ContentPart::Other(json!({"type": "video_url", "video_url": {"url": "https://v"}})),
        ];
        let v = serde_json::to_value(&parts).unwrap();
        assert_eq!(
            v,
            json!([
                {"type": "text", "text": "t"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "high"}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                {"type": "video_url", "video_url": {"url": "https://v"}}
            ])
        );
        let back: Vec<ContentPart> = serde_json::from_value(v).unwrap();
        assert_eq!(back, parts);
    }

    #[test]
    fn tool_choice_both_shapes() {
        let cases = [
            (ToolChoice::None, json!("none")),
            (ToolChoice::Auto, json!("auto")),
            (ToolChoice::Required, json!("required")),
            (
                ToolChoice::Function("get_weather".into()),
                json!({"type": "function", "function": {"name": "get_weather"}}),
            ),
        ];
        for (choice, wire) in cases {
            assert_eq!(serde_json::to_value(&choice).unwrap(), wire);
            assert_eq!(serde_json::from_value::<ToolChoice>(wire).unwrap(), choice);
        }
        assert!(serde_json::from_value::<ToolChoice>(json!("sometimes")).is_err());
        assert!(serde_json::from_value::<ToolChoice>(json!({"type": "function"})).is_err());
    }

    #[test]
    fn tools_and_response_format() {
        let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}});
        let mut req = ChatCompletionRequest::new("m", [Message::user("x")]);
        req.tools = Some(vec![Tool::function(
            "get_weather",
            "Weather",
            schema.clone(),
        )]);
        req.tool_choice = Some(ToolChoice::Auto);
        req.response_format = Some(ResponseFormat::json_schema("answer", schema.clone()));
        req.stop = Some(Texts::from(["\n\n", "END"]));
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v["tools"],
            json!([{"type": "function", "function": {
                "name": "get_weather", "description": "Weather", "parameters": schema}}])
        );
        assert_eq!(v["tool_choice"], json!("auto"));
        assert_eq!(
            v["response_format"],
            json!({"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}})
        );
        assert_eq!(v["stop"], json!(["\n\n", "END"]));
        round_trip(&req);

        assert_eq!(
            serde_json::to_value(ResponseFormat::JsonObject).unwrap(),
            json!({"type": "json_object"})
        );
        assert_eq!(
            serde_json::to_value(ResponseFormat::Text).unwrap(),
            json!({"type": "text"})
        );
        req.stop = Some("x".into());
        assert_eq!(serde_json::to_value(&req).unwrap()["stop"], json!("x"));
    }

    #[test]
    fn role_open_enum() {
        let roles: Vec<Role> = serde_json::from_str(
            r#"["system","developer","user","assistant","tool","function","ipython"]"#,
        )
        .unwrap();
        assert_eq!(roles[6], Role::Other("ipython".into()));
        for r in &roles {
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
        }
        assert_eq!(Role::Tool.to_string(), "tool");
        assert_eq!(Role::default(), Role::Assistant);
    }

    // ---- responses ----

    #[test]
    fn openai_chat() {
        let c = parse(include_str!("../../tests/fixtures/openai_chat.json"));
        assert_eq!(c.id, "chatcmpl-BcQ3yO2pX5fD0b1sKx7e9RnT4uVwA");
        assert_eq!(c.object, "chat.completion");
        assert_eq!(c.created, 1748531234);
        assert_eq!(c.text(), Some("Hello! How can I help you today?"));
        let choice = &c.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::Stop));
        assert_eq!(choice.message.role, Role::Assistant);
        assert_eq!(choice.message.refusal, None);
        assert_eq!(choice.message.annotations, Some(vec![]));
        let usage = c.usage.as_ref().unwrap();
        assert_eq!((usage.prompt_tokens, usage.total_tokens), (19, 29));
        assert_eq!(usage.completion_tokens, Some(10));
        assert_eq!(
            usage.prompt_tokens_details.as_ref().unwrap().cached_tokens,
            Some(0)
        );
        assert_eq!(
            usage
                .completion_tokens_details
                .as_ref()
                .unwrap()
                .reasoning_tokens,
            Some(0)
        );
        assert_eq!(c.service_tier.as_deref(), Some("default"));
        assert_eq!(c.system_fingerprint.as_deref(), Some("fp_a1102cf978"));
        assert!(c.extra.is_empty());
        round_trip(&c);
    }

    #[test]
    fn openai_chat_logprobs_n2() {
        let c = parse(include_str!(
            "../../tests/fixtures/openai_chat_logprobs.json"
        ));
        assert_eq!(c.choices.len(), 2);
        assert_eq!(c.choices[1].index, 1);
        let lp = c.choices[0].logprobs.as_ref().unwrap();
        let content = lp.content.as_ref().unwrap();
        assert_eq!(content[0].token, "Yes");
        assert_eq!(content[0].bytes.as_deref(), Some(&b"Yes"[..]));
        assert_eq!(content[0].top_logprobs.len(), 2);
        assert_eq!(content[0].top_logprobs[1].token, "No");
        assert!((content[0].top_logprobs[1].logprob - -3.0482).abs() < 1e-12);
        assert_eq!(lp.refusal, None);
        round_trip(&c);
    }

    #[test]
    fn openai_chat_tool_call() {
        let c = parse(include_str!(
            "../../tests/fixtures/openai_chat_tool_call.json"
        ));
        let choice = &c.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(choice.message.content, None);
        assert_eq!(c.text(), None);
        let calls = choice.message.tool_calls.as_ref().unwrap();
        assert_eq!(
            calls[0],
            ToolCall::function(
                "call_9pXkR2mYbT4sLq7ZcV1wN3hD",
                "get_weather",
                r#"{"location":"Paris, France"}"#
            )
        );
        round_trip(&c);

        // Continue the conversation with it.
        let msg = Message::from(choice.message.clone());
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"role": "assistant", "tool_calls": [{
                "id": "call_9pXkR2mYbT4sLq7ZcV1wN3hD", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris, France\"}"}}]})
        );
    }

    #[test]
    fn vllm_chat() {
        let c = parse(include_str!("../../tests/fixtures/vllm_chat.json"));
        assert_eq!(c.model, "Qwen/Qwen3-8B");
        let choice = &c.choices[0];
        assert_eq!(c.text(), Some("The capital of France is Paris."));
        assert_eq!(
            choice.message.reasoning.as_deref(),
            Some("The user asks for the capital of France. That is Paris.")
        );
        assert_eq!(choice.stop_reason, Some(StopReason::Token(151643)));
        assert_eq!(
            choice.token_ids.as_deref(),
            Some(&[785, 6722, 315, 9625, 374, 12095, 13][..])
        );
        assert_eq!(choice.message.tool_calls, Some(vec![]));
        assert_eq!(choice.message.extra["function_call"], json!(null));
        assert_eq!(c.prompt_logprobs, None);
        assert_eq!(c.prompt_token_ids.as_ref().map(Vec::len), Some(5));
        assert_eq!(c.extra["kv_transfer_params"], json!(null));
        let details = c
            .usage
            .as_ref()
            .unwrap()
            .prompt_tokens_details
            .as_ref()
            .unwrap();
        assert_eq!(details.cached_tokens, Some(0));
        assert_eq!(details.extra["multimodal_tokens"], json!(0));
        round_trip(&c);

        // The reply can be sent back: empty tool_calls and reasoning are dropped.
        let msg = Message::from(choice.message.clone());
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"role": "assistant", "content": "The capital of France is Paris."})
        );
    }

    #[test]
    fn vllm_chat_reasoning_content_alone() {
        let c = parse(include_str!(
            "../../tests/fixtures/vllm_chat_reasoning_content.json"
        ));
        let m = &c.choices[0].message;
        assert_eq!(m.reasoning.as_deref(), Some("Okay, 2 + 2 is 4."));
        assert!(!m.extra.contains_key("reasoning_content"));
        assert_eq!(c.choices[0].stop_reason, None);
        // Written back under the new name.
        let v = serde_json::to_value(m).unwrap();
        assert_eq!(v["reasoning"], json!("Okay, 2 + 2 is 4."));
        assert!(v.get("reasoning_content").is_none());
        round_trip(&c);
    }

    #[test]
    fn reasoning_both_names_prefers_reasoning() {
        let m: ChatCompletionMessage = serde_json::from_value(json!({
            "role": "assistant", "content": "4",
            "reasoning_content": "old", "reasoning": "new"
        }))
        .unwrap();
        assert_eq!(m.reasoning.as_deref(), Some("new"));
        assert!(m.extra.is_empty());
        let m: ChatCompletionMessage = serde_json::from_value(json!({
            "role": "assistant", "content": "4",
            "reasoning_content": "old", "reasoning": null
        }))
        .unwrap();
        assert_eq!(m.reasoning.as_deref(), Some("old"));
        let m: ChatCompletionMessage =
            serde_json::from_value(json!({"reasoning": "only"})).unwrap();
        assert_eq!(m.reasoning.as_deref(), Some("only"));
        assert_eq!(m.role, Role::Assistant);
        let d: ChatDelta = serde_json::from_value(json!({
            "reasoning_content": "a", "reasoning": "b"
        }))
        .unwrap();
        assert_eq!(d.reasoning.as_deref(), Some("b"));
        let d: ChatDelta = serde_json::from_value(json!({"reasoning_content": "a"})).unwrap();
        assert_eq!(d.reasoning.as_deref(), Some("a"));
    }

    #[test]
    fn vllm_chat_tool_call() {
        let c = parse(include_str!(
            "../../tests/fixtures/vllm_chat_tool_call.json"
        ));
        let choice = &c.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(choice.message.content, None);
        let calls = choice.message.tool_calls.as_ref().unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].kind, "function");
        assert_eq!(calls[1].function.name, "get_time");
        let args: Value = serde_json::from_str(&calls[0].function.arguments).unwrap();
        assert_eq!(args, json!({"city": "Paris", "unit": "celsius"}));
        round_trip(&c);
    }

    #[test]
    fn llamacpp_and_ollama_chat() {
        let c = parse(include_str!("../../tests/fixtures/llamacpp_chat.json"));
        assert_eq!(c.text(), Some("Hello! How can I help?"));
        assert_eq!(
            c.choices[0].message.reasoning.as_deref(),
            Some("The user greets me.")
        );
        assert_eq!(c.extra["timings"]["predicted_n"], json!(12));
        round_trip(&c);

        let c = parse(include_str!("../../tests/fixtures/ollama_chat.json"));
        assert_eq!(c.text(), Some("Hi there! How can I help you today?"));
        assert_eq!(c.system_fingerprint.as_deref(), Some("fp_ollama"));
        assert_eq!(c.usage.as_ref().unwrap().total_tokens, 38);
        round_trip(&c);
    }

    #[test]
    fn lenient_missing_null_and_unknown() {
        let c = parse(r#"{}"#);
        assert_eq!(c, ChatCompletion::default());
        assert_eq!(c.text(), None);

        let c = parse(
            r#"{"id": null, "object": null, "created": 1.7e9, "model": null,
                "choices": [{"index": null, "message": {"role": null, "content": null},
                             "finish_reason": "end_turn", "logprobs": {"content": null},
                             "future_field": {"a": 1}}],
                "usage": null, "brand_new": 7}"#,
        );
        assert_eq!(c.created, 1_700_000_000);
        let choice = &c.choices[0];
        assert_eq!(choice.message.role, Role::Assistant);
        assert_eq!(choice.message.content, None);
        assert_eq!(
            choice.finish_reason,
            Some(FinishReason::Other("end_turn".into()))
        );
        assert_eq!(choice.extra["future_field"], json!({"a": 1}));
        assert_eq!(c.extra["brand_new"], json!(7));
        round_trip(&c);

        // A tool call with missing parts, and arguments sent as an object.
        let call: ToolCall =
            serde_json::from_value(json!({"function": {"name": "f", "arguments": {"x": 1}}}))
                .unwrap();
        assert_eq!(call.kind, "function");
        assert_eq!(call.id, "");
        assert_eq!(call.function.arguments, r#"{"x":1}"#);
        let call: ToolCall =
            serde_json::from_value(json!({"id": "c", "type": "function", "function": null}))
                .unwrap();
        assert_eq!(call.function, FunctionCall::default());
    }

    #[test]
    fn message_from_reply_without_content_or_calls() {
        let m = ChatCompletionMessage {
            refusal: Some("no".into()),
            ..Default::default()
        };
        let msg = Message::from(m);
        assert_eq!(msg.content, Some(Content::Text(String::new())));
        assert_eq!(msg.tool_calls, None);
    }

    // ---- stream chunks ----

    #[test]
    fn openai_chunks() {
        let first = parse_chunk(include_str!(
            "../../tests/fixtures/openai_chat_chunk_first.json"
        ));
        assert_eq!(first.object, "chat.completion.chunk");
        assert_eq!(first.choices[0].delta.role, Some(Role::Assistant));
        assert_eq!(first.text(), "");
        assert_eq!(first.usage, None);
        assert_eq!(first.extra["obfuscation"], json!("k7Hq2"));
        round_trip(&first);

        let c = parse_chunk(include_str!(
            "../../tests/fixtures/openai_chat_chunk_content.json"
        ));
        assert_eq!(c.text(), "Hello");
        assert_eq!(c.choices[0].delta.role, None);
        round_trip(&c);

        let c = parse_chunk(include_str!(
            "../../tests/fixtures/openai_chat_chunk_tool_call.json"
        ));
        let tc = &c.choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!(tc.index, 0);
        assert_eq!(tc.id.as_deref(), Some("call_DdmO9pD3xa9XTPNJ32zg2hcA"));
        assert_eq!(tc.kind.as_deref(), Some("function"));
        let f = tc.function.as_ref().unwrap();
        assert_eq!(f.name.as_deref(), Some("get_weather"));
        assert_eq!(f.arguments.as_deref(), Some(""));
        round_trip(&c);

        let c = parse_chunk(include_str!(
            "../../tests/fixtures/openai_chat_chunk_finish.json"
        ));
        assert_eq!(c.choices[0].finish_reason, Some(FinishReason::Stop));
        assert_eq!(c.choices[0].delta, ChatDelta::default());
        round_trip(&c);

        let c = parse_chunk(include_str!(
            "../../tests/fixtures/openai_chat_chunk_usage.json"
        ));
        assert!(c.choices.is_empty());
        assert_eq!(c.text(), "");
        assert_eq!(c.usage.as_ref().unwrap().total_tokens, 31);
        round_trip(&c);
    }

    #[test]
    fn vllm_chunks() {
        let c = parse_chunk(include_str!("../../tests/fixtures/vllm_chunk_first.json"));
        assert_eq!(c.choices[0].delta.role, Some(Role::Assistant));
        assert_eq!(c.choices[0].delta.content.as_deref(), Some(""));
        assert_eq!(c.system_fingerprint, None);
        round_trip(&c);

        let c = parse_chunk(include_str!(
            "../../tests/fixtures/vllm_chunk_reasoning.json"
        ));
        assert_eq!(c.choices[0].delta.reasoning.as_deref(), Some("Okay"));
        assert_eq!(c.choices[0].delta.content, None);
        assert_eq!(c.text(), "");
        round_trip(&c);

        let c = parse_chunk(include_str!(
            "../../tests/fixtures/vllm_chunk_reasoning_content.json"
        ));
        assert_eq!(c.choices[0].delta.reasoning.as_deref(), Some(", the user"));
        round_trip(&c);

        let c = parse_chunk(include_str!(
            "../../tests/fixtures/vllm_chunk_tool_call.json"
        ));
        let tc = &c.choices[0].delta.tool_calls.as_ref().unwrap()[0];
        assert_eq!(
            tc.function.as_ref().unwrap().name.as_deref(),
            Some("get_weather")
        );
        assert_eq!(tc.function.as_ref().unwrap().arguments, None);
        round_trip(&c);

        let c = parse_chunk(include_str!("../../tests/fixtures/vllm_chunk_finish.json"));
        let choice = &c.choices[0];
        assert_eq!(choice.finish_reason, Some(FinishReason::Stop));
        assert_eq!(
            choice.stop_reason,
            Some(StopReason::Text("</answer>".into()))
        );
        assert_eq!(choice.token_ids.as_deref(), Some(&[522, 9217, 29][..]));
        round_trip(&c);

        let c = parse_chunk(include_str!("../../tests/fixtures/vllm_chunk_usage.json"));
        assert!(c.choices.is_empty());
        let usage = c.usage.as_ref().unwrap();
        assert_eq!(
            (
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.total_tokens
            ),
            (15, Some(27), 42)
        );
        round_trip(&c);
    }

    #[test]
    fn chunk_delta_leniency() {
        let c = parse_chunk(
            r#"{"choices":[{"delta":{"content":null,"role":"assistant",
                 "tool_calls":[{"index":1,"function":{"arguments":"{\"a\""}}]},
                 "finish_reason":null}], "usage": null}"#,
        );
        let d = &c.choices[0].delta;
        assert_eq!(d.content, None);
        let tc = &d.tool_calls.as_ref().unwrap()[0];
        assert_eq!(tc.index, 1);
        assert_eq!(tc.id, None);
        assert_eq!(
            tc.function.as_ref().unwrap().arguments.as_deref(),
            Some("{\"a\"")
        );
        round_trip(&c);
    }

    #[test]
    fn chat_template_kwargs_from_anything_serialize() {
        #[derive(Serialize)]
        struct Kw {
            enable_thinking: bool,
        }
        let mut req = ChatCompletionRequest::new("m", [Message::user("hi")]);
        req.set_chat_template_kwargs(Kw {
            enable_thinking: false,
        })
        .unwrap();
        let body = serde_json::to_value(&req).unwrap();
        assert_eq!(
            body["chat_template_kwargs"],
            json!({"enable_thinking": false})
        );
        let mut map = std::collections::HashMap::new();
        map.insert("a", 1);
        req.set_chat_template_kwargs(&map).unwrap();
        assert_eq!(req.chat_template_kwargs.as_ref().unwrap()["a"], 1);
        for bad in [json!([1]), json!("x"), json!(null)] {
            let e = req.set_chat_template_kwargs(bad).unwrap_err();
            assert!(e.to_string().contains("must be a JSON object"), "{e}");
        }
        // A failed set leaves the previous value.
        assert_eq!(req.chat_template_kwargs.as_ref().unwrap()["a"], 1);
    }
}
