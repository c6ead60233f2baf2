//! Hand-written `Deserialize` for the streamed chat chunk: [`ChatCompletionChunk`],
//! [`ChunkChoice`] and [`ChatDelta`], the types a stream decodes once per event.
//!
//! Why not derived: a derived `#[serde(flatten)] extra` makes serde buffer the whole object
//! into its private content tree (every key and string copied, every value boxed) and then
//! pick the fields out of that tree again, on every chunk; `ChatDelta` went through a second
//! (raw) struct besides. These visitors read each known field straight from the input and put
//! only keys they do not know into `extra`, so a chunk without unknown keys builds no map at
//! all. The rules stay the derive's: a missing key or `null` gives the field's default, a known
//! key given twice is an error, the last of an unknown key given twice wins, and a delta's
//! `reasoning` is read from `reasoning` or, when that is absent or `null`,
//! `reasoning_content`.
//!
//! The field helpers (`Key`, `Timestamp`, `once`, `once_or_default`, `keep`) also serve the
//! completion decoder (`completions/decode.rs`), whose response type is its stream chunk.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::{ChatCompletionChunk, ChatDelta, ChunkChoice};
use crate::types::common::{Extra, lenient_opt_timestamp, lenient_timestamp};

/// An object key, borrowed from the input when it has no escapes (the usual case), so
/// matching it against the known names allocates nothing.
pub(in crate::types) struct Key<'de>(pub(in crate::types) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// `created`, read leniently (an integer, a float, or `null`).
pub(in crate::types) struct Timestamp(pub(in crate::types) u64);

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient_timestamp(deserializer).map(Timestamp)
    }
}

/// Reads the value of the known field `name` into `slot`; a second occurrence is an error.
pub(in crate::types) fn once<'de, A, T>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

/// Like [`once`] for a field that is not an `Option`: `null` gives its default.
pub(in crate::types) fn once_or_default<'de, A, T>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de> + Default,
{
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value::<Option<T>>()?.unwrap_or_default());
    Ok(())
}

/// A `created` that may be absent, read leniently (an integer, a float, or `null` for `None`).
pub(in crate::types) struct OptTimestamp(pub(in crate::types) Option<u64>);

impl<'de> Deserialize<'de> for OptTimestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        lenient_opt_timestamp(deserializer).map(OptTimestamp)
    }
}

/// Keeps the value of a key this crate has no field for.
pub(in crate::types) fn keep<'de, A: MapAccess<'de>>(
    map: &mut A,
    extra: &mut Extra,
    key: Key<'de>,
) -> Result<(), A::Error> {
    let value = map.next_value()?;
    extra.insert(key.0.into_owned(), value);
    Ok(())
}

/// Implements `Deserialize` for the struct `$ty` with a visitor that reads an object's keys
/// one by one: each known key (`"id" => id by once_or_default`) is read by one of the field
/// helpers above into a local `Option` named after it, any other key goes into the local map
/// named by `$extra`, and `$build` (which sees those locals) makes the value at the end. A
/// macro so that every response type shares this loop, and only its list of keys and the way
/// it turns them into fields are its own.
macro_rules! map_decoder {
    (
        $ty:ident {
            $($key:literal => $slot:ident by $read:ident),+ $(,)?
        }
        $extra:ident => $build:expr
    ) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct MapVisitor;

                impl<'de> serde::de::Visitor<'de> for MapVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("struct ", stringify!($ty)))
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$ty, A::Error> {
                        use $crate::types::chat::chunk_decode as field;
                        $(let mut $slot = None;)+
                        let mut $extra = $crate::types::common::Extra::new();
                        while let Some(key) = map.next_key::<field::Key<'de>>()? {
                            match &*key.0 {
                                $($key => field::$read(&mut map, &mut $slot, $key)?,)+
                                _ => field::keep(&mut map, &mut $extra, key)?,
                            }
                        }
                        Ok($build)
                    }
                }

                deserializer.deserialize_map(MapVisitor)
            }
        }
    };
}
pub(in crate::types) use map_decoder;

map_decoder! {
    ChatCompletionChunk {
        "id" => id by once_or_default,
        "object" => object by once_or_default,
        "created" => created by once,
        "model" => model by once_or_default,
        "choices" => choices by once_or_default,
        "usage" => usage by once,
        "system_fingerprint" => system_fingerprint by once,
    }
    extra => ChatCompletionChunk {
        id: id.unwrap_or_default(),
        object: object.unwrap_or_default(),
        created: created.map_or(0, |Timestamp(t)| t),
        model: model.unwrap_or_default(),
        choices: choices.unwrap_or_default(),
        usage: usage.flatten(),
        system_fingerprint: system_fingerprint.flatten(),
        extra,
    }
}

map_decoder! {
    ChunkChoice {
        "index" => index by once_or_default,
        "delta" => delta by once_or_default,
        "finish_reason" => finish_reason by once,
        "logprobs" => logprobs by once,
        "stop_reason" => stop_reason by once,
        "token_ids" => token_ids by once,
    }
    extra => ChunkChoice {
        index: index.unwrap_or_default(),
        delta: delta.unwrap_or_default(),
        finish_reason: finish_reason.flatten(),
        logprobs: logprobs.flatten(),
        stop_reason: stop_reason.flatten(),
        token_ids: token_ids.flatten(),
        extra,
    }
}

map_decoder! {
    ChatDelta {
        "role" => role by once,
        "content" => content by once,
        "reasoning" => reasoning by once,
        "reasoning_content" => reasoning_content by once,
        "refusal" => refusal by once,
        "tool_calls" => tool_calls by once,
    }
    extra => ChatDelta {
        role: role.flatten(),
        content: content.flatten(),
        reasoning: reasoning.flatten().or(reasoning_content.flatten()),
        refusal: refusal.flatten(),
        tool_calls: tool_calls.flatten(),
        extra,
    }
}

/// Decodes `text` as `T` (hand-written) and as `R` (the derived reference); both must fail,
/// or both succeed with the same result as JSON, which shows every field and every `extra`
/// entry. Returns the `T`.
#[cfg(test)]
pub(in crate::types) fn decoded_alike<T, R>(text: &str) -> Option<T>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
    R: serde::de::DeserializeOwned + serde::Serialize,
{
    match (
        serde_json::from_str::<T>(text),
        serde_json::from_str::<R>(text),
    ) {
        (Ok(ours), Ok(reference)) => {
            assert_eq!(
                serde_json::to_value(&ours).unwrap(),
                serde_json::to_value(&reference).unwrap(),
                "{text}"
            );
            Some(ours)
        }
        (Err(_), Err(_)) => None,
        (ours, reference) => panic!(
            "{text}: hand-written {:?}, derived {:?}",
            ours.map(|_| ()),
            reference.map(|_| ())
        ),
    }
}

/// The message of the error that decoding `text` as `T` fails with.
#[cfg(test)]
pub(in crate::types) fn decode_error<T: serde::de::DeserializeOwned>(text: &str) -> String {
    match serde_json::from_str::<T>(text) {
        Ok(_) => panic!("{text} decoded"),
        Err(e) => e.to_string(),
    }
}

/// Checks with [`decoded_alike`] that each of `fixtures` decodes (to the same value both ways)
/// and that each of its [`variants`] decodes alike, and so do documents that are not an
/// object at all or not complete JSON; returns how many variants were checked.
#[cfg(test)]
pub(in crate::types) fn variants_decoded_alike<T, R>(fixtures: &[&str]) -> usize
where
    T: serde::de::DeserializeOwned + serde::Serialize,
    R: serde::de::DeserializeOwned + serde::Serialize,
{
    for text in [
        "{}",
        "null",
        "[]",
        "[{}]",
        "\"x\"",
        "1",
        "{} trailing",
        "{\"x\":1",
    ] {
        decoded_alike::<T, R>(text);
    }
    let mut checked = 0;
    for text in fixtures {
        assert!(decoded_alike::<T, R>(text).is_some(), "{text}");
        for variant in variants(text) {
            decoded_alike::<T, R>(&variant);
            checked += 1;
        }
    }
    checked
}

/// The documents `text` (a JSON object) turns into when each of its values, one at a time, is
/// replaced by each of a set of values of other types and shapes (`null`, numbers, strings,
/// arrays, objects), and when each key is renamed to an unknown one: inputs on which a
/// hand-written decoder must agree with the derived one it replaces.
#[cfg(test)]
pub(in crate::types) fn variants(text: &str) -> Vec<String> {
    use serde_json::{Value, json};

    fn paths(v: &Value, at: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
        out.push(at.clone());
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    at.push(json!(k));
                    paths(child, at, out);
                    at.pop();
                }
            }
            Value::Array(a) => {
                for (i, child) in a.iter().enumerate() {
                    at.push(json!(i));
                    paths(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    fn at_mut<'a>(v: &'a mut Value, path: &[Value]) -> &'a mut Value {
        path.iter().fold(v, |v, step| match step {
            Value::String(k) => &mut v[k.as_str()],
            Value::Number(i) => &mut v[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        })
    }
    let replacements = [
        json!(null),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(4_294_967_296_u64),
        json!(""),
        json!("stop"),
        json!("assistant"),
        json!([]),
        json!([1, "a"]),
        json!({}),
        json!({"index": 2, "content": "x", "text": "y", "unknown": [1]}),
        json!(true),
    ];
    let doc: Value = serde_json::from_str(text).unwrap();
    let mut all = Vec::new();
    paths(&doc, &mut Vec::new(), &mut all);
    let mut out = Vec::new();
    for path in &all {
        for replacement in &replacements {
            let mut changed = doc.clone();
            *at_mut(&mut changed, path) = replacement.clone();
            out.push(changed.to_string());
        }
        if let Some((Value::String(key), parent)) = path.split_last() {
            let mut changed = doc.clone();
            let object = at_mut(&mut changed, parent).as_object_mut().unwrap();
            let value = object.remove(key).unwrap();
            object.insert(format!("x_{key}"), value);
            out.push(changed.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use serde::Serialize;
    use serde_json::json;

    use super::super::{ChatLogprobs, Role, ToolCallDelta};
    use super::*;
    use crate::types::common::{FinishReason, StopReason, Usage, null_default};

    /// The derived decoding this file replaces, kept as the reference that the hand-written
    /// one must agree with.
    mod derived {
        use super::*;

        #[derive(Serialize, Deserialize)]
        #[serde(default)]
        #[derive(Default)]
        pub struct Chunk {
            #[serde(deserialize_with = "null_default")]
            id: String,
            #[serde(deserialize_with = "null_default")]
            object: String,
            #[serde(deserialize_with = "lenient_timestamp")]
            created: u64,
            #[serde(deserialize_with = "null_default")]
            model: String,
            #[serde(deserialize_with = "null_default")]
            choices: Vec<Choice>,
            #[serde(skip_serializing_if = "Option::is_none")]
            usage: Option<Usage>,
            #[serde(skip_serializing_if = "Option::is_none")]
            system_fingerprint: Option<String>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Serialize, Deserialize)]
        #[serde(default)]
        struct Choice {
            #[serde(deserialize_with = "null_default")]
            index: u32,
            #[serde(deserialize_with = "null_default")]
            delta: Delta,
            #[serde(skip_serializing_if = "Option::is_none")]
            finish_reason: Option<FinishReason>,
            #[serde(skip_serializing_if = "Option::is_none")]
            logprobs: Option<ChatLogprobs>,
            #[serde(skip_serializing_if = "Option::is_none")]
            stop_reason: Option<StopReason>,
            #[serde(skip_serializing_if = "Option::is_none")]
            token_ids: Option<Vec<u32>>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Serialize, Deserialize)]
        #[serde(from = "RawDelta")]
        struct Delta {
            #[serde(skip_serializing_if = "Option::is_none")]
            role: Option<Role>,
            #[serde(skip_serializing_if = "Option::is_none")]
            content: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            reasoning: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            refusal: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            tool_calls: Option<Vec<ToolCallDelta>>,
            #[serde(flatten)]
            extra: Extra,
        }

        #[derive(Default, Deserialize)]
        #[serde(default)]
        struct RawDelta {
            role: Option<Role>,
            content: Option<String>,
            reasoning: Option<String>,
            reasoning_content: Option<String>,
            refusal: Option<String>,
            tool_calls: Option<Vec<ToolCallDelta>>,
            #[serde(flatten)]
            extra: Extra,
        }

        impl From<RawDelta> for Delta {
            fn from(raw: RawDelta) -> Self {
                Delta {
                    role: raw.role,
                    content: raw.content,
                    reasoning: raw.reasoning.or(raw.reasoning_content),
                    refusal: raw.refusal,
                    tool_calls: raw.tool_calls,
                    extra: raw.extra,
                }
            }
        }
    }

    fn agree(text: &str) -> Option<ChatCompletionChunk> {
        decoded_alike::<ChatCompletionChunk, derived::Chunk>(text)
    }

    const FIXTURES: [&str; 11] = [
        include_str!("../../../tests/fixtures/openai_chat_chunk_first.json"),
        include_str!("../../../tests/fixtures/openai_chat_chunk_content.json"),
        include_str!("../../../tests/fixtures/openai_chat_chunk_tool_call.json"),
        include_str!("../../../tests/fixtures/openai_chat_chunk_finish.json"),
        include_str!("../../../tests/fixtures/openai_chat_chunk_usage.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_first.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_reasoning.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_reasoning_content.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_tool_call.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_finish.json"),
        include_str!("../../../tests/fixtures/vllm_chunk_usage.json"),
    ];

    #[test]
    fn fixtures_decode_as_derived() {
        for text in FIXTURES {
            assert!(agree(text).is_some(), "{text}");
        }
    }

    /// Every value of every fixture, one at a time, replaced by each of a set of values of
    /// other types and shapes, and every key renamed to an unknown one: the two decoders must
    /// agree on each of these documents.
    #[test]
    fn every_value_replaced_decodes_as_derived() {
        let checked = variants_decoded_alike::<ChatCompletionChunk, derived::Chunk>(&FIXTURES);
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn edge_cases_decode_as_derived() {
        for text in [
            "{}",
            "null",
            "[]",
            "\"chunk\"",
            "1",
            r#"{"id":null,"object":null,"created":null,"model":null,"choices":null,"usage":null,"system_fingerprint":null}"#,
            r#"{"created":1761234567.9}"#,
            r#"{"created":-5}"#,
            r#"{"choices":[null]}"#,
            r#"{"choices":[{"delta":null,"index":null}]}"#,
            r#"{"choices":[{"delta":{"reasoning":"a","reasoning_content":"b"}}]}"#,
            r#"{"choices":[{"delta":{"reasoning_content":"b","reasoning":null}}]}"#,
            r#"{"choices":[{"delta":{"reasoning_content":"b","reasoning_content":"c"}}]}"#,
            r#"{"id":"a","id":"b"}"#,
            r#"{"choices":[{"index":0,"index":1}]}"#,
            r#"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,
            r#"{"x":1,"x":2,"choices":[{"y":1,"y":[2],"delta":{"z":{},"z":"last"}}]}"#,
            r#"{"\u0069d":"escaped key","ch\u006fices":[{"d\u0065lta":{"c\u006fntent":"é"}}]}"#,
            r#"{"extra":{"nested":true},"choices":[{"extra":1,"delta":{"extra":2}}]}"#,
            r#"{"choices":[{"finish_reason":"eos_token","stop_reason":7,"token_ids":[1,2]}]}"#,
            r#"{"choices":[{"delta":{"role":"narrator","tool_calls":null}}]}"#,
            r#"{"id":"a"} trailing"#,
            r#"{"id":"a""#,
        ] {
            agree(text);
        }
    }

    #[test]
    fn unknown_keys_kept_at_every_level() {
        let c = agree(
            r#"{"service_tier":"default","choices":[{"matched_stop":"x",
                "delta":{"audio":{"id":"a"},"c\u006fntent":"hi"}}]}"#,
        )
        .unwrap();
        assert_eq!(c.extra["service_tier"], "default");
        assert_eq!(c.choices[0].extra["matched_stop"], "x");
        assert_eq!(c.choices[0].delta.extra["audio"], json!({"id": "a"}));
        // An escaped known key is still that key, not an unknown one.
        assert_eq!(c.text(), "hi");
        assert!(!c.choices[0].delta.extra.contains_key("content"));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = serde_json::from_str::<ChatCompletionChunk>(r#"{"id":"a","id":"b"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate field `id`"), "{e}");
        let e = serde_json::from_str::<ChatCompletionChunk>("[1]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected struct ChatCompletionChunk"), "{e}");
        let e = serde_json::from_str::<ChatCompletionChunk>(r#"{"choices":[{"delta":7}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected struct ChatDelta"), "{e}");
        let e = serde_json::from_str::<ChatCompletionChunk>(r#"{"choices":[{"index":"0"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("invalid type: string \"0\", expected u32"),
            "{e}"
        );
    }

    #[test]
    fn decodes_from_a_value_too() {
        // Owned keys (`visit_string`), as from `serde_json::from_value`.
        let c: ChatCompletionChunk = serde_json::from_value(json!({
            "id": "a", "created": 3.7, "unknown": 1,
            "choices": [{"delta": {"reasoning_content": "r", "content": "c"}}]
        }))
        .unwrap();
        assert_eq!((c.id.as_str(), c.created, c.text()), ("a", 3, "c"));
        assert_eq!(c.choices[0].delta.reasoning.as_deref(), Some("r"));
        assert_eq!(c.extra["unknown"], 1);
    }
}
