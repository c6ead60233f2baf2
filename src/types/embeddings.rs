//! Embeddings (`POST /v1/embeddings`): request and response types.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::common::{Extra, Usage, null_default};
use super::input::Prompt;

/// How the server encodes each embedding in the JSON response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// A JSON array of numbers (the server default).
    Float,
    /// A base64 string of little-endian `f32`s: about 4x fewer bytes. [`Embedding`] decodes
    /// either form into `Vec<f32>`.
    Base64,
}

/// The body of `POST /v1/embeddings`.
///
/// Only `model`, `input` and the fields you set are sent; anything else goes in
/// [`extra`](Self::extra).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// The embedding model, as listed by `/v1/models`.
    pub model: String,
    /// The input(s) to embed: text or token ids, one or a batch (one embedding each, in
    /// order).
    pub input: Prompt,
    /// How the server encodes each embedding; either way the response decodes to `Vec<f32>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<EncodingFormat>,
    /// Shorten the embeddings to this many dimensions (OpenAI `text-embedding-3-*`; vLLM for
    /// Matryoshka models only, 400 otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// An id for the end user, for abuse monitoring (OpenAI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// vLLM extra; OpenAI rejects it. Keep only the last `n` tokens of each input (`-1` = the
    /// model's maximum length) instead of failing on long inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncate_prompt_tokens: Option<i32>,
    /// vLLM extra; OpenAI rejects it. Add the tokenizer's special tokens (server default
    /// `true`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub add_special_tokens: Option<bool>,
    /// vLLM extra; OpenAI rejects it. Scheduling priority with `--scheduling-policy priority`
    /// (lower runs first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// vLLM extra; OpenAI rejects it. Request id used in logs and the response `id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Other keys, sent as top-level keys (openai-python's `extra_body`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl EmbeddingRequest {
    /// A request for `model` with `input`; every other field unset.
    pub fn new(model: impl Into<String>, input: impl Into<Prompt>) -> Self {
        EmbeddingRequest {
            model: model.into(),
            input: input.into(),
            ..Default::default()
        }
    }
}

impl Default for EmbeddingRequest {
    /// No model, an empty batch of inputs (`"input": []`, not [`Prompt::default`]'s `""`), every
    /// other field unset.
    fn default() -> Self {
        EmbeddingRequest {
            model: String::new(),
            input: Prompt::Texts(Vec::new()),
            encoding_format: None,
            dimensions: None,
            user: None,
            truncate_prompt_tokens: None,
            add_special_tokens: None,
            priority: None,
            request_id: None,
            extra: Extra::new(),
        }
    }
}

/// The response of `POST /v1/embeddings`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmbeddingResponse {
    /// Always `"list"`.
    #[serde(deserialize_with = "null_default")]
    pub object: String,
    /// One embedding per input; use each one's `index` rather than its position.
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<Embedding>,
    /// The model that answered.
    #[serde(deserialize_with = "null_default")]
    pub model: String,
    /// Token counts (`completion_tokens` absent or 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Keys this crate has no field for (vLLM: `id`, `created`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One embedding vector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Embedding {
    /// The position of the input this embedding belongs to.
    #[serde(deserialize_with = "null_default")]
    pub index: u32,
    /// The vector. Read from a JSON array of numbers or from a base64 string of little-endian
    /// `f32`s (`encoding_format: "base64"`); always written as an array of numbers.
    #[serde(deserialize_with = "embedding_vector")]
    pub embedding: Vec<f32>,
    /// Always `"embedding"`.
    #[serde(deserialize_with = "null_default")]
    pub object: String,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Decodes a base64 string of little-endian `f32`s, as OpenAI and vLLM send with
/// `encoding_format: "base64"`, with or without `=` padding. The bytes are decoded straight
/// into the vector's memory; its length comes from the text's, which the body limit bounds.
fn decode_f32_base64(text: &str) -> Result<Vec<f32>, String> {
    let src = text.as_bytes();
    // The `=` padding carries no data: accepted or not, it is taken off.
    let src = src
        .strip_suffix(b"==")
        .or_else(|| src.strip_suffix(b"="))
        .unwrap_or(src);
    let b64 = base64_simd::STANDARD_NO_PAD;
    let len = b64.decoded_length(src).map_err(|_| invalid_base64(src))?;
    if len % 4 != 0 {
        // A stray symbol is the likelier fault; the count only matters for valid base64.
        if b64.check(src).is_err() {
            return Err(invalid_base64(src));
        }
        return Err(format!(
            "base64 embedding has {len} bytes, not a multiple of 4 (expected little-endian f32s)"
        ));
    }
    let mut out = vec![0f32; len / 4];
    b64.decode(
        src,
        base64_simd::Out::from_slice(bytemuck::cast_slice_mut(&mut out)),
    )
    .map_err(|_| invalid_base64(src))?;
    if cfg!(target_endian = "big") {
        for x in &mut out {
            *x = f32::from_bits(u32::from_le(x.to_bits()));
        }
    }
    Ok(out)
}

/// What is wrong with `src` (its padding taken off), for the error message: the SIMD
/// decoder only says that something is.
fn invalid_base64(src: &[u8]) -> String {
    let symbol = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    let what = match src.iter().position(|b| !symbol(b)) {
        Some(at) => {
            let b = src[at];
            let shown = if b.is_ascii_graphic() {
                format!("'{}'", char::from(b))
            } else {
                format!("byte 0x{b:02x}")
            };
            format!("{shown} at offset {at} is not in the standard base64 alphabet")
        }
        None if src.len() % 4 == 1 => format!(
            "{} characters (without padding) cannot be base64: one is left over",
            src.len()
        ),
        None => "its last character has bits set that carry no data".to_owned(),
    };
    format!("invalid base64 embedding: {what}")
}

/// Reads an embedding from a JSON array of numbers, a base64 string, or `null` (empty).
fn embedding_vector<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f32>, D::Error> {
    struct VectorVisitor;

    impl<'de> Visitor<'de> for VectorVisitor {
        type Value = Vec<f32>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of numbers or a base64 string of little-endian f32s")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<f32>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
            while let Some(x) = seq.next_element::<f32>()? {
                out.push(x);
            }
            Ok(out)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<f32>, E> {
            decode_f32_base64(v).map_err(E::custom)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Vec<f32>, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Vec<f32>, E> {
            Ok(Vec::new())
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<f32>, D::Error> {
            d.deserialize_any(self)
        }
    }

    deserializer.deserialize_any(VectorVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn encode(v: &[f32]) -> String {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        base64_simd::STANDARD.encode_to_string(bytes)
    }

    #[test]
    fn base64_helper_decodes_little_endian() {
        let v = [0.5f32, -1.25, 3.0e-7, f32::MAX, 0.0];
        assert_eq!(decode_f32_base64(&encode(&v)).unwrap(), v);
        // 1.0f32 is 00 00 80 3f in little-endian.
        assert_eq!(decode_f32_base64("AACAPw==").unwrap(), vec![1.0]);
        // Unpadded input is accepted too.
        assert_eq!(decode_f32_base64("AACAPw").unwrap(), vec![1.0]);
        assert_eq!(decode_f32_base64("").unwrap(), Vec::<f32>::new());
    }

    #[test]
    fn base64_helper_rejects_bad_input() {
        let err = decode_f32_base64("not base64!").unwrap_err();
        assert_eq!(
            err,
            "invalid base64 embedding: byte 0x20 at offset 3 is not in the standard base64 alphabet"
        );
        let err = decode_f32_base64("AACA\u{e9}w==").unwrap_err();
        assert!(
            err.ends_with("byte 0xc3 at offset 4 is not in the standard base64 alphabet"),
            "{err}"
        );
        let err = decode_f32_base64("AACAP").unwrap_err();
        assert!(
            err.contains("5 characters (without padding) cannot be base64"),
            "{err}"
        );
        // `w` is 110000: its last four bits would be a fifth byte's, and must be zero.
        let err = decode_f32_base64("AACAPx==").unwrap_err();
        assert!(err.contains("bits set that carry no data"), "{err}");
        // Padding in the middle, or too much of it.
        assert!(decode_f32_base64("AA=CAPw=").is_err());
        assert!(decode_f32_base64("AACAPw===").is_err());
        // 3 bytes.
        let err = decode_f32_base64("AAAA").unwrap_err();
        assert!(err.contains("not a multiple of 4"), "{err}");
    }

    #[test]
    fn base64_helper_agrees_with_the_reference_on_every_length() {
        // Every vector length from 0 to 40 floats (every padding case), padded and not.
        for n in 0..40u16 {
            let v: Vec<f32> = (0..n).map(|i| f32::from(i) * -0.75 + 0.1).collect();
            let padded = encode(&v);
            assert_eq!(decode_f32_base64(&padded).unwrap(), v, "{padded}");
            let bare = padded.trim_end_matches('=');
            assert_eq!(decode_f32_base64(bare).unwrap(), v, "{bare}");
        }
    }

    #[test]
    fn minimal_request_and_inputs() {
        let req = EmbeddingRequest::new("m", "hello");
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"model": "m", "input": "hello"})
        );
        let cases: [(Prompt, serde_json::Value); 4] = [
            (Prompt::from("a"), json!("a")),
            (Prompt::from(["a", "b", "c"]), json!(["a", "b", "c"])),
            (Prompt::from(vec![1u32, 2]), json!([1, 2])),
            (
                Prompt::from(vec![vec![1u32], vec![2], vec![3]]),
                json!([[1], [2], [3]]),
            ),
        ];
        for (input, wire) in cases {
            let req = EmbeddingRequest::new("m", input.clone());
            assert_eq!(
                serde_json::to_string(&req).unwrap(),
                format!(r#"{{"model":"m","input":{wire}}}"#)
            );
            assert_eq!(
                serde_json::from_value::<EmbeddingRequest>(json!({"model": "m", "input": wire}))
                    .unwrap()
                    .input,
                input
            );
        }
        // The default request keeps its empty batch on the wire.
        assert!(EmbeddingRequest::default().input.is_empty());
        assert_eq!(
            serde_json::to_string(&EmbeddingRequest::default()).unwrap(),
            r#"{"model":"","input":[]}"#
        );
    }

    #[test]
    fn request_options_and_extra() {
        let mut req = EmbeddingRequest::new("BAAI/bge-m3", ["a", "b"]);
        req.encoding_format = Some(EncodingFormat::Base64);
        req.dimensions = Some(256);
        req.truncate_prompt_tokens = Some(-1);
        req.priority = Some(1);
        req.extra.insert("embed_dtype".into(), json!("float32"));
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(
            v,
            json!({"model": "BAAI/bge-m3", "input": ["a", "b"], "encoding_format": "base64",
                   "dimensions": 256, "truncate_prompt_tokens": -1, "priority": 1,
                   "embed_dtype": "float32"})
        );
        assert_eq!(serde_json::from_value::<EmbeddingRequest>(v).unwrap(), req);
        assert_eq!(
            serde_json::to_value(EncodingFormat::Float).unwrap(),
            json!("float")
        );
    }

    #[test]
    fn float_and_base64_fixtures_agree() {
        let float: EmbeddingResponse = serde_json::from_str(include_str!(
            "../../tests/fixtures/openai_embeddings_float.json"
        ))
        .unwrap();
        let b64: EmbeddingResponse =
            serde_json::from_str(include_str!("../../tests/fixtures/embeddings_base64.json"))
                .unwrap();
        assert_eq!(float.data.len(), 2);
        assert_eq!(b64.data.len(), 2);
        for (a, b) in float.data.iter().zip(&b64.data) {
            assert_eq!(a.index, b.index);
            assert_eq!(a.embedding.len(), 8);
            assert_eq!(a.embedding, b.embedding);
        }
        assert_eq!(float.data[0].embedding[0], 0.002_306_425_5);
        assert_eq!(float.usage.as_ref().unwrap().prompt_tokens, 8);
        assert_eq!(
            b64.extra["id"],
            json!("embd-5c8e2a1f0b7d4e6a9c3b2d1e0f4a5b6c")
        );
        assert_eq!(b64.usage.as_ref().unwrap().completion_tokens, Some(0));

        // Round trip: written as floats, read back equal.
        for r in [&float, &b64] {
            let v = serde_json::to_value(r).unwrap();
            assert!(v["data"][0]["embedding"].is_array());
            let back: EmbeddingResponse = serde_json::from_value(v).unwrap();
            assert_eq!(&back, r);
        }
    }

    #[test]
    fn bad_base64_is_an_error_not_a_panic() {
        for bad in ["@@@@", "AAAA", "AACAPwA="] {
            let text = format!(r#"{{"data":[{{"index":0,"embedding":"{bad}"}}]}}"#);
            let err = serde_json::from_str::<EmbeddingResponse>(&text).unwrap_err();
            assert!(err.to_string().contains("embedding"), "{err}");
        }
        assert!(serde_json::from_str::<Embedding>(r#"{"embedding": {"a": 1}}"#).is_err());
    }

    #[test]
    fn lenient_embedding() {
        let e: Embedding =
            serde_json::from_str(r#"{"embedding": [1, -2, 0.5], "object": null, "new": true}"#)
                .unwrap();
        assert_eq!(e.embedding, vec![1.0, -2.0, 0.5]);
        assert_eq!(e.object, "");
        assert_eq!(e.extra["new"], json!(true));
        let e: Embedding = serde_json::from_str(r#"{"embedding": null}"#).unwrap();
        assert!(e.embedding.is_empty());
        let r: EmbeddingResponse = serde_json::from_str("{}").unwrap();
        assert_eq!(r, EmbeddingResponse::default());
    }

    #[test]
    fn request_from_borrowed_batches() {
        let docs: Vec<String> = vec!["a".into(), "b".into()];
        let req = EmbeddingRequest::new("m", &docs);
        assert_eq!(req.input, Prompt::Texts(docs.clone()));
        assert_eq!(req.input.len(), 2);
        assert_eq!(docs.len(), 2, "the caller keeps its batch");
        let req = EmbeddingRequest::new("m", &[1u32, 2][..]);
        assert_eq!(req.input, Prompt::Tokens(vec![1, 2]));
    }
}
