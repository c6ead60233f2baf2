//! The two input shapes shared by several requests: [`Prompt`] (text or token ids, one or a
//! batch) and [`Texts`] (one string or several).

use serde::{Deserialize, Serialize};

/// What a model reads: text or token ids, one or a batch. The `prompt` of a
/// [`CompletionRequest`](super::CompletionRequest), the `input` of an
/// [`EmbeddingRequest`](super::EmbeddingRequest) and of a
/// [`PoolingRequest`](super::PoolingRequest).
///
/// It converts from what you have: `&str`, `String`, `&String`, a batch of strings
/// (`Vec<String>`, `Vec<&str>`, `&[String]`, `&Vec<String>`, `&[&str]`, arrays, or any
/// iterator with [`Prompt::texts`] or `collect()`), and token ids (`Vec<u32>`, `&[u32]`,
/// `Vec<Vec<u32>>`). A batch gets one answer per input, in order: one embedding each, or one
/// choice (or `n`) per prompt with choice `index` counting across the batch.
///
/// Sent untagged: a JSON string, an array of strings, an array of integers or an array of
/// arrays of integers.
///
/// ```
/// use oai_compat::types::{CompletionRequest, EmbeddingRequest, Prompt};
/// let docs: Vec<String> = vec!["a".into(), "b".into()];
/// let emb = EmbeddingRequest::new("m", &docs);
/// let cmp = CompletionRequest::new("m", vec![151644u32, 872]);
/// assert_eq!(emb.input, Prompt::Texts(docs.clone()));
/// assert_eq!(emb.input.len(), 2);
/// assert_eq!(cmp.prompt, Prompt::Tokens(vec![151644, 872]));
/// assert_eq!(cmp.prompt.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Prompt {
    /// One text.
    Text(String),
    /// Several texts; one answer each, in order.
    Texts(Vec<String>),
    /// One input as token ids (vLLM, llama.cpp; OpenAI accepts it too).
    Tokens(Vec<u32>),
    /// Several inputs as token ids.
    TokenBatches(Vec<Vec<u32>>),
}

impl Prompt {
    /// The number of inputs: of prompts in a completion batch, of embeddings the server
    /// returns.
    pub fn len(&self) -> usize {
        match self {
            Prompt::Text(_) | Prompt::Tokens(_) => 1,
            Prompt::Texts(v) => v.len(),
            Prompt::TokenBatches(v) => v.len(),
        }
    }

    /// Whether there is no input at all (an empty batch).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A batch of texts from any iterator of strings: `Prompt::texts(docs.iter())`,
    /// `Prompt::texts(lines.map(str::trim))`, ... (`&Vec<String>`, `&[String]`, `&[&str]` and
    /// arrays convert directly too).
    ///
    /// ```
    /// use oai_compat::types::{EmbeddingRequest, Prompt};
    /// let docs: Vec<String> = vec!["a".into(), "b".into()];
    /// let by_ref = EmbeddingRequest::new("m", &docs);
    /// let slice = EmbeddingRequest::new("m", &docs[..]);
    /// let strs = EmbeddingRequest::new("m", &["a", "b"][..]);
    /// let iter = EmbeddingRequest::new("m", Prompt::texts(docs.iter().map(|d| d.to_uppercase())));
    /// let collected: Prompt = docs.iter().map(String::as_str).collect();
    /// assert_eq!(by_ref.input, slice.input);
    /// assert_eq!(strs.input, collected);
    /// assert_eq!(iter.input.len(), 2);
    /// ```
    pub fn texts<S: Into<String>>(texts: impl IntoIterator<Item = S>) -> Self {
        Prompt::Texts(texts.into_iter().map(Into::into).collect())
    }
}

impl Default for Prompt {
    /// An empty text prompt (`""`).
    fn default() -> Self {
        Prompt::Text(String::new())
    }
}

impl From<Vec<u32>> for Prompt {
    fn from(v: Vec<u32>) -> Self {
        Prompt::Tokens(v)
    }
}

impl From<&[u32]> for Prompt {
    fn from(v: &[u32]) -> Self {
        Prompt::Tokens(v.to_vec())
    }
}

impl From<Vec<Vec<u32>>> for Prompt {
    fn from(v: Vec<Vec<u32>>) -> Self {
        Prompt::TokenBatches(v)
    }
}

/// One string or several: the stop sequences of a request (`stop`), and the texts of vLLM's
/// [`ScoreRequest`](super::ScoreRequest) and [`ClassifyRequest`](super::ClassifyRequest).
///
/// As a `stop` field the server stops generating when one of the strings appears (OpenAI
/// allows up to 4; vLLM has no limit); it is not included in the output unless vLLM's
/// `include_stop_str_in_output` is set.
///
/// It converts from `&str`, `String`, `&String`, a batch of strings (`Vec<String>`,
/// `Vec<&str>`, `&[String]`, `&Vec<String>`, `&[&str]`, arrays), or any iterator of strings
/// with `collect()`. Sent untagged: [`One`](Texts::One) as a JSON string,
/// [`Many`](Texts::Many) as an array, exactly as given (a one-element array stays an array).
///
/// ```
/// use oai_compat::types::{ChatCompletionRequest, Message, ScoreRequest, Texts};
/// let mut chat = ChatCompletionRequest::new("m", [Message::user("Count to 3")]);
/// chat.stop = Some("\n\n".into());
/// let score = ScoreRequest::new("m", "a cat", ["a feline", "a car"]);
/// assert_eq!(chat.stop, Some(Texts::One("\n\n".into())));
/// assert_eq!(score.text_2.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Texts {
    /// One string, sent as a JSON string.
    One(String),
    /// Several strings, sent as a JSON array.
    Many(Vec<String>),
}

impl Texts {
    /// The number of strings.
    pub fn len(&self) -> usize {
        match self {
            Texts::One(_) => 1,
            Texts::Many(v) => v.len(),
        }
    }

    /// Whether there is no string at all (an empty array).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `From` impls for one string or a batch of strings, shared by [`Prompt`] (`Text`/`Texts`)
/// and [`Texts`] (`One`/`Many`) so that both accept exactly the same string inputs.
macro_rules! from_strings {
    ($ty:ident, $one:ident, $many:ident) => {
        impl From<&str> for $ty {
            fn from(s: &str) -> Self {
                $ty::$one(s.to_owned())
            }
        }

        impl From<String> for $ty {
            fn from(s: String) -> Self {
                $ty::$one(s)
            }
        }

        impl From<&String> for $ty {
            fn from(s: &String) -> Self {
                $ty::$one(s.clone())
            }
        }

        impl From<Vec<String>> for $ty {
            fn from(v: Vec<String>) -> Self {
                $ty::$many(v)
            }
        }

        impl From<&Vec<String>> for $ty {
            fn from(v: &Vec<String>) -> Self {
                $ty::$many(v.clone())
            }
        }

        impl From<&[String]> for $ty {
            fn from(v: &[String]) -> Self {
                $ty::$many(v.to_vec())
            }
        }

        impl<const N: usize> From<[String; N]> for $ty {
            fn from(v: [String; N]) -> Self {
                $ty::$many(v.into())
            }
        }

        impl From<Vec<&str>> for $ty {
            fn from(v: Vec<&str>) -> Self {
                v.into_iter().collect()
            }
        }

        impl From<&Vec<&str>> for $ty {
            fn from(v: &Vec<&str>) -> Self {
                v.iter().copied().collect()
            }
        }

        impl From<&[&str]> for $ty {
            fn from(v: &[&str]) -> Self {
                v.iter().copied().collect()
            }
        }

        impl<const N: usize> From<[&str; N]> for $ty {
            fn from(v: [&str; N]) -> Self {
                v.into_iter().collect()
            }
        }

        impl<const N: usize> From<&[&str; N]> for $ty {
            fn from(v: &[&str; N]) -> Self {
                v.iter().copied().collect()
            }
        }

        impl FromIterator<String> for $ty {
            fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
                $ty::$many(iter.into_iter().collect())
            }
        }

        impl<'a> FromIterator<&'a str> for $ty {
            fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
                $ty::$many(iter.into_iter().map(str::to_owned).collect())
            }
        }
    };
}

from_strings!(Prompt, Text, Texts);
from_strings!(Texts, One, Many);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Every shape sends exactly `wire`, reads back equal, and counts `len` inputs.
    fn assert_prompt_wire(cases: Vec<(Prompt, Value, usize)>) {
        for (prompt, wire, len) in cases {
            assert_eq!(serde_json::to_value(&prompt).unwrap(), wire, "{prompt:?}");
            assert_eq!(
                serde_json::to_string(&prompt).unwrap(),
                wire.to_string(),
                "byte-identical"
            );
            assert_eq!(serde_json::from_value::<Prompt>(wire).unwrap(), prompt);
            assert_eq!(prompt.len(), len, "{prompt:?}");
            assert_eq!(prompt.is_empty(), len == 0, "{prompt:?}");
        }
    }

    #[test]
    fn prompt_shapes_on_the_wire() {
        let docs: Vec<String> = vec!["a".into(), "b".into()];
        let strs: Vec<&str> = vec!["a", "b"];
        assert_prompt_wire(vec![
            (Prompt::from("a"), json!("a"), 1),
            (Prompt::from(String::from("a")), json!("a"), 1),
            (Prompt::from(&docs[0]), json!("a"), 1),
            (Prompt::from(vec!["a", "b"]), json!(["a", "b"]), 2),
            (Prompt::from(vec![String::from("a")]), json!(["a"]), 1),
            (Prompt::from(["a", "b", "c"]), json!(["a", "b", "c"]), 3),
            (Prompt::from(&["a", "b"]), json!(["a", "b"]), 2),
            (Prompt::from(&docs), json!(["a", "b"]), 2),
            (Prompt::from(&docs[..]), json!(["a", "b"]), 2),
            (Prompt::from(&strs), json!(["a", "b"]), 2),
            (Prompt::from(&strs[..]), json!(["a", "b"]), 2),
            (
                Prompt::from(["a".to_owned(), "b".to_owned()]),
                json!(["a", "b"]),
                2,
            ),
            (Prompt::texts(docs.iter()), json!(["a", "b"]), 2),
            (docs.iter().cloned().collect(), json!(["a", "b"]), 2),
            (strs.iter().copied().collect(), json!(["a", "b"]), 2),
            (Prompt::from(Vec::<String>::new()), json!([]), 0),
            (Prompt::from(vec![1u32, 2, 3]), json!([1, 2, 3]), 1),
            (Prompt::from(&[1u32, 2][..]), json!([1, 2]), 1),
            (
                Prompt::from(vec![vec![1u32], vec![2, 3]]),
                json!([[1], [2, 3]]),
                2,
            ),
            (Prompt::default(), json!(""), 1),
        ]);
        assert_eq!(Prompt::default(), Prompt::Text(String::new()));
        assert_eq!(docs.len(), 2, "the caller keeps its batch");
    }

    #[test]
    fn prompt_reads_every_shape_a_server_echoes() {
        // Untagged: the first variant that fits wins, so an empty array is read as texts
        // and an array of integers as one tokenised input.
        let p: Prompt = serde_json::from_str("[]").unwrap();
        assert_eq!(p, Prompt::Texts(Vec::new()));
        let p: Prompt = serde_json::from_str("[[]]").unwrap();
        assert_eq!(p, Prompt::TokenBatches(vec![Vec::new()]));
        assert!(serde_json::from_str::<Prompt>("[1, \"a\"]").is_err());
        assert!(serde_json::from_str::<Prompt>("[-1]").is_err());
        assert!(serde_json::from_str::<Prompt>("{}").is_err());
    }

    #[test]
    fn texts_one_and_many_on_the_wire() {
        let docs: Vec<String> = vec!["x".into(), "y".into()];
        let strs: Vec<&str> = vec!["x", "y"];
        let cases: Vec<(Texts, Value)> = vec![
            (Texts::from("\n"), json!("\n")),
            (Texts::from(String::from("END")), json!("END")),
            (Texts::from(&docs[0]), json!("x")),
            (Texts::from(["a", "b"]), json!(["a", "b"])),
            (Texts::from(&["a", "b"]), json!(["a", "b"])),
            (Texts::from(vec!["a"]), json!(["a"])),
            (Texts::from(vec![String::from("x")]), json!(["x"])),
            (Texts::from(&docs), json!(["x", "y"])),
            (Texts::from(&docs[..]), json!(["x", "y"])),
            (Texts::from(&strs), json!(["x", "y"])),
            (Texts::from(&strs[..]), json!(["x", "y"])),
            (
                Texts::from(["x".to_owned(), "y".to_owned()]),
                json!(["x", "y"]),
            ),
            (docs.iter().cloned().collect(), json!(["x", "y"])),
            (strs.iter().copied().collect(), json!(["x", "y"])),
            (Texts::from(Vec::<String>::new()), json!([])),
        ];
        for (texts, wire) in cases {
            assert_eq!(
                serde_json::to_string(&texts).unwrap(),
                wire.to_string(),
                "{texts:?}"
            );
            assert_eq!(
                serde_json::from_value::<Texts>(wire.clone()).unwrap(),
                texts
            );
            let n = wire.as_array().map_or(1, Vec::len);
            assert_eq!((texts.len(), texts.is_empty()), (n, n == 0), "{texts:?}");
        }
        let s: Texts = serde_json::from_str(r#"["x","y"]"#).unwrap();
        assert_eq!(s, Texts::Many(vec!["x".into(), "y".into()]));
        let s: Texts = serde_json::from_str(r#""x""#).unwrap();
        assert_eq!(s, Texts::One("x".into()));
        assert!(serde_json::from_str::<Texts>("[1]").is_err());
    }

    #[test]
    #[allow(deprecated)]
    fn old_names_still_build_the_same_values() {
        use crate::types::{EmbeddingInput, Stop, TextInput};
        assert_eq!(EmbeddingInput::from(["a", "b"]), Prompt::texts(["a", "b"]));
        assert_eq!(EmbeddingInput::texts(["a"]).len(), 1);
        assert_eq!(Stop::One("\n".into()), Texts::from("\n"));
        assert_eq!(TextInput::from(vec!["q"]), Texts::Many(vec!["q".into()]));
        let many = |t: &Stop| matches!(t, Stop::Many(_));
        assert!(many(&TextInput::from(["x"])));
    }
}
