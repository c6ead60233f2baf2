//! Structured outputs parsed into Rust types: [`ParsedChatCompletion`] and
//! [`ParsedResponse`], made by `client.chat().parse::<T>()` and
//! `client.responses().parse::<T>()`; and [`ToolCall::parse_arguments`], a tool call's
//! arguments parsed the same way.

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::parse_error::{ParseError, ParseErrorKind};
use crate::types::{ChatCompletion, FinishReason, ResponseObject, ResponseStatus, ToolCall};

/// A chat completion whose first choice was parsed as a `T`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParsedChatCompletion<T> {
    /// The first choice's content as a `T`; `None` when the model refused.
    pub parsed: Option<T>,
    /// The model's refusal (`message.refusal`), if it refused.
    pub refusal: Option<String>,
    /// Why generation stopped.
    pub finish_reason: Option<FinishReason>,
    /// The completion as received.
    pub completion: ChatCompletion,
}

impl<T: DeserializeOwned> ParsedChatCompletion<T> {
    /// Parses the first choice of `completion`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`]: the content is not a `T` ([`ParseErrorKind::Invalid`]), was cut at
    /// the token limit (`finish_reason: length`, [`ParseErrorKind::Truncated`]), or there is
    /// no content and no refusal ([`ParseErrorKind::Empty`]).
    ///
    /// ```
    /// use oai_compat::ParsedChatCompletion;
    /// use oai_compat::types::ChatCompletion;
    /// #[derive(serde::Deserialize)]
    /// struct Answer { n: i32 }
    /// let c: ChatCompletion = serde_json::from_str(r#"{"choices":[{"message":
    ///     {"role":"assistant","content":"{\"n\":4}"},"finish_reason":"stop"}]}"#)?;
    /// let parsed = ParsedChatCompletion::<Answer>::from_completion(c)?;
    /// assert_eq!(parsed.parsed.unwrap().n, 4);
    /// # Ok::<_, Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_completion(completion: ChatCompletion) -> Result<Self> {
        let Some(choice) = completion.choices.first() else {
            return Err(parse_error::<T>(
                ParseErrorKind::Empty,
                "",
                "the completion has no choices".to_owned(),
                None,
            ));
        };
        let finish_reason = choice.finish_reason.clone();
        let refusal = choice.message.refusal.clone().filter(|r| !r.is_empty());
        let content = choice.message.content.as_deref().unwrap_or_default();
        let cut = finish_reason == Some(FinishReason::Length);
        let parsed = if content.trim().is_empty() && refusal.is_some() {
            None
        } else {
            Some(decode::<T>(
                content,
                cut,
                finish_reason.as_ref().map(|f| f.as_str().to_owned()),
            )?)
        };
        Ok(ParsedChatCompletion {
            parsed,
            refusal,
            finish_reason,
            completion,
        })
    }
}

/// A Responses API response whose output text was parsed as a `T`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ParsedResponse<T> {
    /// The output text as a `T`; `None` when the model refused.
    pub parsed: Option<T>,
    /// The model's refusal, if it refused.
    pub refusal: Option<String>,
    /// The response's status.
    pub status: Option<ResponseStatus>,
    /// The response as received.
    pub response: ResponseObject,
}

impl<T: DeserializeOwned> ParsedResponse<T> {
    /// Parses the output text of `response` ([`ResponseObject::output_text`]).
    ///
    /// # Errors
    ///
    /// [`Error::Parse`], as for [`ParsedChatCompletion::from_completion`]; an `incomplete`
    /// response cut by `max_output_tokens` is [`ParseErrorKind::Truncated`].
    pub fn from_response(response: ResponseObject) -> Result<Self> {
        let text = response.output_text();
        let refusal = response.refusal().map(str::to_owned);
        let status = response.status.clone();
        let cut = status == Some(ResponseStatus::Incomplete)
            && response.incomplete_reason() == Some("max_output_tokens");
        let parsed = if text.trim().is_empty() && refusal.is_some() {
            None
        } else {
            let state = status.as_ref().map(|s| match response.incomplete_reason() {
                Some(r) => format!("{s} ({r})"),
                None => s.to_string(),
            });
            Some(decode::<T>(&text, cut, state)?)
        };
        Ok(ParsedResponse {
            parsed,
            refusal,
            status,
            response,
        })
    }
}

/// Decodes `text` as a `T`; `cut` says the text was stopped by the token limit.
fn decode<T: DeserializeOwned>(text: &str, cut: bool, finish: Option<String>) -> Result<T> {
    if text.trim().is_empty() {
        let kind = if cut {
            ParseErrorKind::Truncated
        } else {
            ParseErrorKind::Empty
        };
        let why = match &finish {
            Some(f) => format!("the reply ended with `{f}` and no content"),
            None => "the reply has no content".to_owned(),
        };
        return Err(parse_error::<T>(kind, text, why, finish));
    }
    // Bounded like a reply (the default multiple: the reply itself was decoded already).
    match crate::bounded::from_str::<T>(text, crate::bounded::DEFAULT_MULTIPLE) {
        Ok(v) => Ok(v),
        Err(e) => {
            let kind = if cut {
                ParseErrorKind::Truncated
            } else {
                ParseErrorKind::Invalid
            };
            Err(parse_error::<T>(kind, text, e.to_string(), finish))
        }
    }
}

fn parse_error<T>(
    kind: ParseErrorKind,
    text: &str,
    message: String,
    finish_reason: Option<String>,
) -> Error {
    Error::Parse(Box::new(ParseError::new::<T>(
        kind,
        text,
        message,
        finish_reason,
    )))
}

impl ToolCall {
    /// The call's arguments decoded as a `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Parse`](crate::Error::Parse) (kind `Invalid`, with the arguments text and
    /// serde's message) when they are not JSON of type `T`; empty arguments are read as `{}`.
    ///
    /// ```
    /// use oai_compat::types::ToolCall;
    /// #[derive(serde::Deserialize)]
    /// struct Weather { city: String }
    /// let call = ToolCall::function("call_1", "get_weather", r#"{"city":"Paris"}"#);
    /// assert_eq!(call.parse_arguments::<Weather>()?.city, "Paris");
    /// assert!(ToolCall::function("c", "get_weather", "{").parse_arguments::<Weather>().is_err());
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub fn parse_arguments<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        // Some servers send no arguments for a function without parameters.
        let text = match self.function.arguments.trim() {
            "" => "{}",
            t => t,
        };
        crate::bounded::from_str(text, crate::bounded::DEFAULT_MULTIPLE).map_err(|e| {
            Error::Parse(Box::new(ParseError::new::<T>(
                ParseErrorKind::Invalid,
                &self.function.arguments,
                format!("arguments of `{}`: {e}", self.function.name),
                None,
            )))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct P {
        n: i32,
    }

    fn completion(
        content: serde_json::Value,
        refusal: Option<&str>,
        finish: &str,
    ) -> ChatCompletion {
        serde_json::from_value(json!({"choices": [{"message": {"role": "assistant",
            "content": content, "refusal": refusal}, "finish_reason": finish}]}))
        .unwrap()
    }

    fn kind(e: Error) -> ParseErrorKind {
        match e {
            Error::Parse(p) => p.kind,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn chat_outcomes() {
        let ok = ParsedChatCompletion::<P>::from_completion(completion(
            json!("{\"n\":1}"),
            None,
            "stop",
        ))
        .unwrap();
        assert_eq!(ok.parsed, Some(P { n: 1 }));
        let refused =
            ParsedChatCompletion::<P>::from_completion(completion(json!(null), Some("no"), "stop"))
                .unwrap();
        assert_eq!(refused.parsed, None);
        assert_eq!(refused.refusal.as_deref(), Some("no"));
        let cut = ParsedChatCompletion::<P>::from_completion(completion(
            json!("{\"n\":"),
            None,
            "length",
        ));
        assert_eq!(kind(cut.unwrap_err()), ParseErrorKind::Truncated);
        let bad = ParsedChatCompletion::<P>::from_completion(completion(
            json!("{\"m\":1}"),
            None,
            "stop",
        ))
        .unwrap_err();
        let text = bad.to_string();
        assert!(text.contains("missing field `n`"), "{text}");
        assert!(text.contains("{\\\"m\\\":1}"), "{text}");
        assert_eq!(kind(bad), ParseErrorKind::Invalid);
        let empty =
            ParsedChatCompletion::<P>::from_completion(completion(json!(null), None, "tool_calls"));
        assert_eq!(kind(empty.unwrap_err()), ParseErrorKind::Empty);
        let none = ParsedChatCompletion::<P>::from_completion(ChatCompletion::default());
        assert_eq!(kind(none.unwrap_err()), ParseErrorKind::Empty);
    }

    #[test]
    fn long_replies_are_shown_in_part() {
        let long = format!("{{\"x\":\"{}\"}}", "é".repeat(10_000));
        let e = ParsedChatCompletion::<P>::from_completion(completion(json!(long), None, "stop"))
            .unwrap_err();
        assert!(e.to_string().len() < 1000);
        let Error::Parse(p) = e else { panic!() };
        assert_eq!(p.text, long);
    }

    #[test]
    fn response_outcomes() {
        let r: ResponseObject = serde_json::from_value(json!({"status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "{\"n\""}]}]}))
        .unwrap();
        let e = ParsedResponse::<P>::from_response(r).unwrap_err();
        let Error::Parse(p) = &e else { panic!() };
        assert_eq!(p.kind, ParseErrorKind::Truncated);
        assert_eq!(
            p.finish_reason.as_deref(),
            Some("incomplete (max_output_tokens)")
        );
        let r: ResponseObject = serde_json::from_value(json!({"status": "completed",
            "output": [{"type": "message", "content": [{"type": "output_text", "text": "{\"n\":3}"}]}]}))
        .unwrap();
        assert_eq!(
            ParsedResponse::<P>::from_response(r).unwrap().parsed,
            Some(P { n: 3 })
        );
    }
}
