//! Request bodies: what the client sends as JSON. Every request type says where its `extra`
//! keys are ([`RequestBody`]) and, when it can be streamed, its `stream_options`
//! ([`StreamRequest`]); [`plain`] and [`streamed`] serialise it once per call, with the
//! call's own body keys on top.

use std::borrow::Cow;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::request::RequestOptions;
use crate::transport::Body;
use crate::types::{
    BatchRequest, ChatCompletionRequest, ClassifyRequest, CompletionRequest, DetokenizeRequest,
    EmbeddingRequest, PoolingRequest, RerankRequest, ResponseRequest, ResponseStreamOptions,
    ScoreRequest, StreamOptions, TokenizeRequest,
};

/// A JSON request body.
pub(crate) trait RequestBody: Serialize {
    /// The keys sent beyond the typed fields. A `stream` or `stream_options` key here never
    /// decides how the answer is read: the client owns both.
    fn extra(&self) -> &Map<String, Value>;
}

/// A request body that can be streamed.
pub(crate) trait StreamRequest: RequestBody {
    /// The type of its `stream_options`.
    type StreamOptions: Serialize;
    /// The `stream_options` to send with `stream: true` (never serialised with the request).
    fn stream_options(&self) -> Option<&Self::StreamOptions>;
}

macro_rules! extra_field {
    ($($t:ty),* $(,)?) => {$(
        impl RequestBody for $t {
            fn extra(&self) -> &Map<String, Value> {
                &self.extra
            }
        }
    )*};
}

extra_field!(
    BatchRequest,
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    ResponseRequest,
    TokenizeRequest,
    DetokenizeRequest,
    ScoreRequest,
    RerankRequest,
    PoolingRequest,
    ClassifyRequest,
);

impl StreamRequest for ChatCompletionRequest {
    type StreamOptions = StreamOptions;
    fn stream_options(&self) -> Option<&StreamOptions> {
        self.stream_options.as_ref()
    }
}

impl StreamRequest for CompletionRequest {
    type StreamOptions = StreamOptions;
    fn stream_options(&self) -> Option<&StreamOptions> {
        self.stream_options.as_ref()
    }
}

impl StreamRequest for ResponseRequest {
    type StreamOptions = ResponseStreamOptions;
    fn stream_options(&self) -> Option<&ResponseStreamOptions> {
        self.stream_options.as_ref()
    }
}

/// A raw JSON object (`client.raw()`): every key is its own, so a `stream` key in it is
/// dropped like a typed request's extra one, and its `stream_options` are kept for streams.
impl RequestBody for Map<String, Value> {
    fn extra(&self) -> &Map<String, Value> {
        self
    }
}

impl StreamRequest for Map<String, Value> {
    type StreamOptions = Value;
    fn stream_options(&self) -> Option<&Value> {
        self.get("stream_options")
    }
}

/// A JSON object given as text (`client.raw().post_text`), sent member by member as written:
/// no tree of values is built, and no list of its members either (a body of a million tiny
/// members would cost several times its text), since each member goes from the text
/// straight to the request's bytes. Its `stream` and `stream_options` members are left out:
/// this body is for answers read whole.
pub(crate) struct TextObject<'a> {
    text: &'a RawValue,
    /// Always empty: every member is the body's own.
    none: Map<String, Value>,
}

impl<'a> TextObject<'a> {
    /// `text`, which must be a JSON object.
    pub(crate) fn parse(text: &'a RawValue) -> Result<TextObject<'a>> {
        let kind = match text.get().trim_start().as_bytes().first() {
            Some(b'{') => None,
            Some(b'[') => Some("an array"),
            Some(b'"') => Some("a string"),
            Some(b'n') => Some("null"),
            Some(b't' | b'f') => Some("a boolean"),
            _ => Some("a number"),
        };
        match kind {
            None => Ok(TextObject {
                text,
                none: Map::new(),
            }),
            Some(kind) => Err(Error::invalid_request(format!(
                "the body of a raw POST must be a JSON object, not {kind}"
            ))),
        }
    }
}

impl Serialize for TextObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap};
        let mut map = s.serialize_map(None)?;
        let mut failed = None;
        let copier = Copier {
            map: &mut map,
            failed: &mut failed,
        };
        let read = serde_json::Deserializer::from_str(self.text.get()).deserialize_map(copier);
        if let Some(e) = failed {
            return Err(e);
        }
        // The text is valid JSON (a `RawValue`) and an object (checked by `parse`).
        read.map_err(S::Error::custom)?;
        map.end()
    }
}

impl RequestBody for TextObject<'_> {
    fn extra(&self) -> &Map<String, Value> {
        &self.none
    }
}

/// Copies each member of the object it visits into `map`, except the stream keys; an error
/// of `map` is kept in `failed` (the visit then stops).
struct Copier<'m, M: serde::ser::SerializeMap> {
    map: &'m mut M,
    failed: &'m mut Option<M::Error>,
}

impl<'de, M: serde::ser::SerializeMap> Visitor<'de> for Copier<'_, M> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> std::result::Result<(), A::Error> {
        while let Some(Key(k)) = a.next_key()? {
            let v: &RawValue = a.next_value()?;
            if k == "stream" || k == "stream_options" {
                continue;
            }
            if let Err(e) = self.map.serialize_entry(&k, v) {
                *self.failed = Some(e);
                return Err(serde::de::Error::custom("the request could not be written"));
            }
        }
        Ok(())
    }
}

/// A member's name, borrowed from the text unless it has escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// `req` as the body of a call whose answer is read whole.
pub(crate) fn plain<B: RequestBody + ?Sized>(req: &B, opts: &RequestOptions) -> Result<Body> {
    serialise::<B, ()>(req, None, opts)
}

/// `req` as the body of a streamed call: `stream: true` and the request's `stream_options`.
pub(crate) fn streamed<B: StreamRequest + ?Sized>(req: &B, opts: &RequestOptions) -> Result<Body> {
    serialise(req, Some(Stream(req.stream_options())), opts)
}

/// The stream fields of a streamed body: `stream: true` and these options.
struct Stream<'a, S>(Option<&'a S>);

/// Serialises a request body once: the stream fields set by the client, the call's extra
/// body keys merged on top (they win, as openai-python's `extra_body`).
fn serialise<B: RequestBody + ?Sized, S: Serialize>(
    req: &B,
    stream: Option<Stream<'_, S>>,
    opts: &RequestOptions,
) -> Result<Body> {
    // serde_json would write a NaN or an infinity as `null` (the server's default): refuse it,
    // naming the field. Extra body keys are JSON values, which cannot hold one.
    crate::finite::check(req)?;
    let extra = req.extra();
    // The common cases serialise straight to bytes; only extra body keys (which must win over
    // typed fields) or a user-set `stream` key need the JSON tree.
    let direct = opts.body.is_empty()
        && !extra.contains_key("stream")
        && !extra.contains_key("stream_options");
    let failed = |e: serde_json::Error| {
        Error::invalid_request(format!("the request does not serialise to JSON: {e}"))
    };
    let bytes = if direct {
        match stream {
            None => serde_json::to_vec(req),
            Some(Stream(stream_options)) => serde_json::to_vec(&Streamed {
                req,
                stream: true,
                stream_options,
            }),
        }
        .map_err(failed)?
    } else {
        let mut v = match serde_json::to_value(req).map_err(failed)? {
            Value::Object(m) => m,
            _ => return Err(Error::invalid_request("a request must be a JSON object")),
        };
        v.remove("stream");
        v.remove("stream_options");
        if let Some(Stream(so)) = stream {
            v.insert("stream".into(), Value::Bool(true));
            if let Some(so) = so {
                v.insert(
                    "stream_options".into(),
                    serde_json::to_value(so).map_err(failed)?,
                );
            }
        }
        for (k, val) in &opts.body {
            v.insert(k.clone(), val.clone());
        }
        serde_json::to_vec(&v).map_err(failed)?
    };
    Ok(Body::from(bytes))
}

/// A request with the client's `stream` fields added, serialised in one pass.
#[derive(Serialize)]
struct Streamed<'a, T: ?Sized, S> {
    #[serde(flatten)]
    req: &'a T,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<&'a S>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Message;

    fn parse(b: Body) -> Value {
        serde_json::from_slice::<Value>(&b).unwrap()
    }

    #[test]
    fn the_client_owns_the_stream_fields() {
        let mut req = ChatCompletionRequest::new("m", [Message::user("hi")]);
        req.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            ..Default::default()
        });
        let none = RequestOptions::new();
        let plain_body = parse(plain(&req, &none).unwrap());
        assert!(plain_body.get("stream").is_none());
        assert!(plain_body.get("stream_options").is_none());
        let streamed_body = parse(streamed(&req, &none).unwrap());
        assert_eq!(streamed_body["stream"], true);
        assert_eq!(streamed_body["stream_options"]["include_usage"], true);
        assert_eq!(streamed_body["messages"][0]["content"], "hi");
        // A `stream` key set by hand never decides how the answer is read.
        req.extra.insert("stream".into(), Value::Bool(true));
        let plain_body = parse(plain(&req, &none).unwrap());
        assert!(plain_body.get("stream").is_none(), "{plain_body}");
        // The call's body keys win over typed fields.
        let opts = RequestOptions::new().extra_body("temperature", 0.5);
        req.extra.clear();
        req.temperature = Some(1.0);
        req.stream_options = None;
        let merged = parse(streamed(&req, &opts).unwrap());
        assert_eq!(merged["temperature"], 0.5);
        assert_eq!(merged["stream"], true);
        assert!(merged.get("stream_options").is_none());
    }

    #[test]
    fn a_raw_object_keeps_its_stream_options_and_loses_its_stream_key() {
        let body = serde_json::json!({"model": "m", "stream": false, "stream_options": {"x": 1}});
        let Value::Object(map) = body else {
            unreachable!()
        };
        let none = RequestOptions::new();
        let p = parse(plain(&map, &none).unwrap());
        assert!(
            p.get("stream").is_none() && p.get("stream_options").is_none(),
            "{p}"
        );
        let s = parse(streamed(&map, &none).unwrap());
        assert_eq!(s["stream"], true);
        assert_eq!(s["stream_options"]["x"], 1);
        // The call's own stream_options win.
        let opts = RequestOptions::new().extra_body("stream_options", serde_json::json!({"y": 2}));
        let s = parse(streamed(&map, &opts).unwrap());
        assert_eq!(s["stream_options"], serde_json::json!({"y": 2}));
    }

    #[test]
    fn non_finite_numbers_are_an_invalid_request() {
        let mut req = ChatCompletionRequest::new("m", [Message::user("hi")]);
        req.temperature = Some(f32::NAN);
        let e = plain(&req, &RequestOptions::new()).unwrap_err();
        assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
        assert!(e.to_string().contains("temperature"), "{e}");
    }
}
