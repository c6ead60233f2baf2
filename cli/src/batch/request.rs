//! One input line: `{"custom_id": ..., "method": "POST", "url": "/v1/...", "body": {...}}`
//! (OpenAI's Batch file format), checked and turned into a request to send.
//!
//! The body is kept as the JSON text of the line, never as a tree of values: a tree of a
//! long array of numbers takes about 18 times its text, so a 60 MiB line would cost a
//! gigabyte. Only the body's `model` is read out of it (to route the line).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The endpoints a line may call, and their paths under the client's base URL.
const ENDPOINTS: [(&str, &str); 4] = [
    ("/v1/chat/completions", "/chat/completions"),
    ("/v1/completions", "/completions"),
    ("/v1/embeddings", "/embeddings"),
    ("/v1/responses", "/responses"),
];

/// A checked line, ready to send.
#[derive(Debug)]
pub struct Job {
    pub custom_id: String,
    /// The id the line is sent under (see `line_id`).
    pub request_id: String,
    /// The path under the base URL (`/chat/completions`).
    pub path: &'static str,
    /// The line's `url` (`/v1/chat/completions`): a remote batch's endpoint.
    pub endpoint: &'static str,
    /// The body's JSON text, as written in the line.
    pub body: Box<RawValue>,
    /// The body's `model`, which picks the backends when there are several.
    pub model: Option<String>,
    /// The most tokens the body asks to generate (`max_completion_tokens`, else
    /// `max_tokens`, else `max_output_tokens`), for `--tpm`.
    pub max_tokens: Option<u64>,
    /// The line's length in the input, in bytes (the progress bar counts bytes).
    pub bytes: u64,
}

/// Checks a line; `Err` says what is wrong with it, for `line N: <why>`.
pub fn parse(bytes: &[u8]) -> Result<Job, String> {
    let line: Line = match serde_json::from_slice(bytes) {
        Ok(l) => l,
        // An array, a string ... where the object should be.
        Err(e) if e.is_data() && e.to_string().starts_with("invalid type") => {
            return Err("not a JSON object".to_owned());
        }
        // Our own message ("duplicate key ...") without serde's position suffix; a syntax
        // error keeps it (it says where to look).
        Err(e) if e.is_data() => return Err(without_position(&e)),
        Err(e) => return Err(format!("not JSON ({e})")),
    };
    let custom_id = match line.custom_id {
        None | Some(Field::Null) => return Err("no custom_id".to_owned()),
        Some(Field::Text(s)) if !s.is_empty() => s.into_owned(),
        Some(Field::Text(_)) => return Err("custom_id is empty".to_owned()),
        Some(_) => return Err("custom_id is not a string".to_owned()),
    };
    match &line.method {
        Some(Field::Text(m)) if m.eq_ignore_ascii_case("POST") => {}
        Some(Field::Text(m)) => return Err(format!("method {m:?} is not POST")),
        None | Some(Field::Null) => return Err("no method (it must be \"POST\")".to_owned()),
        Some(_) => return Err("method is not a string (it must be \"POST\")".to_owned()),
    }
    let url = match line.url {
        Some(Field::Text(u)) => u,
        None | Some(Field::Null) => return Err("no url".to_owned()),
        Some(_) => return Err("url is not a string".to_owned()),
    };
    let Some(&(endpoint, path)) = ENDPOINTS.iter().find(|(u, _)| *u == url) else {
        let known: Vec<&str> = ENDPOINTS.iter().map(|(u, _)| *u).collect();
        return Err(format!("unknown url {url:?} (one of {})", known.join(", ")));
    };
    let body = match line.body {
        None => return Err("no body".to_owned()),
        Some(b) => b,
    };
    match body.get().as_bytes().first() {
        Some(b'{') => {}
        Some(b'n') => return Err("no body".to_owned()),
        _ => return Err("body is not a JSON object".to_owned()),
    }
    let facts = serde_json::from_str::<Facts>(body.get())
        .map_err(|e| format!("body: {}", without_position(&e)))?;
    Ok(Job {
        request_id: super::line_id::of(&custom_id),
        custom_id,
        path,
        endpoint,
        body: body.to_owned(),
        model: facts.model,
        max_tokens: facts
            .max_completion_tokens
            .or(facts.max_tokens)
            .or(facts.max_output_tokens),
        bytes: bytes.len() as u64,
    })
}

/// serde_json's message without its " at line L column C" (always line 1 here).
fn without_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg,
    }
}

/// The line's own keys. Each may appear once: `custom_id` twice would leave it open which
/// result is which line's.
struct Line<'a> {
    custom_id: Option<Field<'a>>,
    method: Option<Field<'a>>,
    url: Option<Field<'a>>,
    body: Option<&'a RawValue>,
}

/// A key's value, as far as a check needs it.
enum Field<'a> {
    Text(Cow<'a, str>),
    Null,
    Other,
}

impl<'de> Deserialize<'de> for Line<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(LineVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = Line<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Line<'de>, A::Error> {
        let mut line = Line {
            custom_id: None,
            method: None,
            url: None,
            body: None,
        };
        while let Some(Name(key)) = a.next_key()? {
            fn once<T, E: de::Error>(slot: &Option<T>, key: &str) -> Result<(), E> {
                match slot {
                    Some(_) => Err(E::custom(format_args!("duplicate key {key}"))),
                    None => Ok(()),
                }
            }
            match &*key {
                "custom_id" => {
                    once(&line.custom_id, &key)?;
                    line.custom_id = Some(a.next_value()?);
                }
                "method" => {
                    once(&line.method, &key)?;
                    line.method = Some(a.next_value()?);
                }
                "url" => {
                    once(&line.url, &key)?;
                    line.url = Some(a.next_value()?);
                }
                "body" => {
                    once(&line.body, &key)?;
                    line.body = Some(a.next_value()?);
                }
                _ => {
                    a.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(line)
    }
}

impl<'de> Deserialize<'de> for Field<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Field<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Field<'de>, E> {
                Ok(Field::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Field<'de>, E> {
                Ok(Field::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_unit<E>(self) -> Result<Field<'de>, E> {
                Ok(Field::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Field<'de>, E> {
                Ok(Field::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Field<'de>, E> {
                Ok(Field::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Field<'de>, E> {
                Ok(Field::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Field<'de>, E> {
                Ok(Field::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Field<'de>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Field<'de>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// A key, borrowed from the line unless it has escapes.
struct Name<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Field::deserialize(d)? {
            Field::Text(t) => Ok(Name(t)),
            _ => Err(de::Error::custom("a key is not a string")),
        }
    }
}

/// What the runner reads of a body: its `model` (the last one, as a server reading the JSON
/// would take it) if it is a string, and its token limits if they are whole numbers; every
/// other member is skipped without being kept.
#[derive(Default)]
struct Facts {
    model: Option<String>,
    max_completion_tokens: Option<u64>,
    max_tokens: Option<u64>,
    max_output_tokens: Option<u64>,
}

impl<'de> Deserialize<'de> for Facts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Facts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Facts, A::Error> {
                let mut facts = Facts::default();
                while let Some(Name(key)) = a.next_key()? {
                    match &*key {
                        "model" => {
                            facts.model = match a.next_value()? {
                                Field::Text(m) => Some(m.into_owned()),
                                _ => None,
                            };
                        }
                        "max_completion_tokens" => {
                            facts.max_completion_tokens = a.next_value::<Count>()?.0;
                        }
                        "max_tokens" => facts.max_tokens = a.next_value::<Count>()?.0,
                        "max_output_tokens" => facts.max_output_tokens = a.next_value::<Count>()?.0,
                        _ => {
                            a.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(facts)
            }
        }
        d.deserialize_map(V)
    }
}

/// A whole number of tokens; anything else (the server will judge it) is `None`.
struct Count(Option<u64>);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E>(self, v: u64) -> Result<Count, E> {
                Ok(Count(Some(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Count, E> {
                Ok(Count(u64::try_from(v).ok()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_unit<E>(self) -> Result<Count, E> {
                Ok(Count(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut a: A) -> Result<Count, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Count(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Count, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Count(None))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines() {
        let j = parse(br#"{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x"}}"#).unwrap();
        assert_eq!(
            (j.custom_id.as_str(), j.path, j.model.as_deref()),
            ("a", "/embeddings", Some("m"))
        );
        assert_eq!(j.body.get(), r#"{"model":"m","input":"x"}"#);
        let j = parse(
            br#"{"custom_id":"b","x":[1,{"y":2}],"method":"post","url":"/v1/responses","body":{ "model" : 3 }}"#,
        )
        .unwrap();
        assert_eq!((j.path, j.model), ("/responses", None));
        assert_eq!(
            j.body.get(),
            r#"{ "model" : 3 }"#,
            "the body's text as written"
        );
        // Escaped keys and ids are read like any others.
        let j = parse(
            br#"{"custom\u005fid":"\u00e9","method":"POST","url":"\/v1\/completions","body":{"m\u006fdel":"a\nb"}}"#,
        )
        .unwrap();
        assert_eq!(
            (j.custom_id.as_str(), j.path, j.model.as_deref()),
            ("é", "/completions", Some("a\nb"))
        );
    }

    #[test]
    fn token_limits_are_read_when_whole_numbers() {
        let max = |body: &str| {
            let line = format!(
                r#"{{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{body}}}"#
            );
            parse(line.as_bytes()).unwrap().max_tokens
        };
        assert_eq!(max(r#"{"max_tokens":16}"#), Some(16));
        assert_eq!(
            max(r#"{"max_tokens":16,"max_completion_tokens":8}"#),
            Some(8)
        );
        assert_eq!(max(r#"{"max_output_tokens":5}"#), Some(5));
        for odd in ["-1", "1.5", "\"7\"", "null", "[1]", "{\"a\":1}"] {
            assert_eq!(max(&format!(r#"{{"max_tokens":{odd}}}"#)), None, "{odd}");
        }
    }

    #[test]
    fn bad_lines_say_why() {
        for (line, why) in [
            (&b"{not json"[..], "not JSON"),
            (b"[1,2]", "not a JSON object"),
            (b"\"x\"", "a JSON object"),
            (b"{\"custom_id\":\"a\"} trailing", "not JSON"),
            (
                br#"{"method":"POST","url":"/v1/completions","body":{}}"#,
                "no custom_id",
            ),
            (
                br#"{"custom_id":7,"method":"POST","url":"/v1/completions","body":{}}"#,
                "not a string",
            ),
            (
                br#"{"custom_id":"","method":"POST","url":"/v1/completions","body":{}}"#,
                "empty",
            ),
            (
                br#"{"custom_id":"a","method":"GET","url":"/v1/completions","body":{}}"#,
                "\"GET\" is not POST",
            ),
            (
                br#"{"custom_id":"a","url":"/v1/completions","body":{}}"#,
                "no method",
            ),
            (
                br#"{"custom_id":"a","method":1,"url":"/v1/completions","body":{}}"#,
                "method is not a string",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/v1/models","body":{}}"#,
                "unknown url \"/v1/models\"",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/chat/completions","body":{}}"#,
                "unknown url",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/v1/completions"}"#,
                "no body",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/v1/completions","body":null}"#,
                "no body",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/v1/completions","body":"x"}"#,
                "not a JSON object",
            ),
            (
                br#"{"custom_id":"a","method":"POST","url":"/v1/completions","body":[{}]}"#,
                "not a JSON object",
            ),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains(why), "{}: {e}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn a_key_twice_is_named() {
        for key in ["custom_id", "method", "url", "body"] {
            let line = format!(
                r#"{{"custom_id":"a","method":"POST","url":"/v1/completions","body":{{}},"{key}":"b"}}"#
            );
            assert_eq!(
                parse(line.as_bytes()).unwrap_err(),
                format!("duplicate key {key}")
            );
        }
        // Escaped spelling of the same key is the same key.
        let e = parse(br#"{"custom_id":"a","custom\u005fid":"b","method":"POST","url":"/v1/completions","body":{}}"#)
            .unwrap_err();
        assert_eq!(e, "duplicate key custom_id");
        // Other keys may repeat (they are not read).
        assert!(parse(br#"{"x":1,"x":2,"custom_id":"a","method":"POST","url":"/v1/completions","body":{}}"#).is_ok());
    }
}
