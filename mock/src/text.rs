//! The mock's "model": whitespace words as tokens, stable token ids,
//! deterministic log-probabilities and embeddings.

use std::collections::HashMap;

/// The context length the mock models claim (`max_model_len`).
pub(super) const MAX_MODEL_LEN: usize = 2048;
/// The default embedding dimension.
pub(super) const EMBEDDING_DIM: usize = 8;
/// Words remembered for `/detokenize`, at most.
const MAX_VOCAB: usize = 1 << 20;

/// 64-bit FNV-1a.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(0xcbf2_9ce4_8422_2325, bytes)
}

/// 64-bit FNV-1a continued from state `h` (hashing `a` then `b` equals hashing `a ++ b`).
fn fnv1a_from(h: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(h, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The number of whitespace-separated words.
pub(super) fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Splits text into tokens that concatenate back to it exactly: each token
/// is a run of non-whitespace with the whitespace after it (whitespace at
/// the very start goes with the first token).
pub(super) fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut seen_word = false;
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            in_space = true;
        } else {
            if in_space && seen_word {
                out.push(&text[start..i]);
                start = i;
            }
            in_space = false;
            seen_word = true;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The mock reply to `text`: `"Mock reply to: "` and its words, single-spaced,
/// cut to `limit` words. Returns the reply and whether it was cut.
pub(super) fn mock_reply(text: &str, limit: usize) -> (String, bool) {
    let words: Vec<&str> = ["Mock", "reply", "to:"]
        .into_iter()
        .chain(text.split_whitespace())
        .collect();
    let cut = words.len() > limit;
    (words[..words.len().min(limit)].join(" "), cut)
}

/// The id of a word: stable across servers and runs.
pub(super) fn token_id(word: &str) -> u32 {
    // 31 bits keep ids positive in every language's int type.
    u32::try_from(fnv1a(word.as_bytes()) % (1 << 31)).unwrap_or_default()
}

/// Tokenizes `text` (one id per word) and remembers the words for `detokenize`.
pub(super) fn tokenize(vocab: &mut HashMap<u32, String>, text: &str) -> Vec<u32> {
    text.split_whitespace()
        .map(|word| {
            let id = token_id(word);
            if vocab.len() < MAX_VOCAB {
                vocab.entry(id).or_insert_with(|| word.to_owned());
            }
            id
        })
        .collect()
}

/// Turns ids back into words joined by spaces; an id never tokenized by
/// this server reads `<|id|>`.
pub(super) fn detokenize(vocab: &HashMap<u32, String>, ids: &[u32]) -> String {
    ids.iter()
        .map(|id| match vocab.get(id) {
            Some(word) => word.clone(),
            None => format!("<|{id}|>"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A deterministic log-probability for a token: one of -0.125, -0.25, ... -1.0
/// (exact in binary, so they print short).
pub(super) fn logprob(token: &str) -> f64 {
    let step = fnv1a(token.as_bytes()) % 8;
    // `step` < 8, so the conversion is exact.
    -0.125 * (step as f64 + 1.0)
}

/// A deterministic unit vector of `dim` dimensions for `text`.
pub(super) fn embedding(text: &str, dim: usize) -> Vec<f32> {
    let text_hash = fnv1a(text.as_bytes());
    let mut values: Vec<f64> = (0..dim)
        .map(|i| {
            let h = fnv1a_from(text_hash, &(i as u64).to_le_bytes());
            // The top 53 bits, as a fraction in [0, 1), then in [-1, 1).
            let unit = (h >> 11) as f64 / (1u64 << 53) as f64;
            unit * 2.0 - 1.0
        })
        .collect();
    let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
    if norm > 0.0 {
        for v in &mut values {
            *v /= norm;
        }
    } else if let Some(first) = values.first_mut() {
        *first = 1.0;
    }
    values.into_iter().map(|v| v as f32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_concatenate_to_the_text() {
        for text in ["", "a", "a b", "  a  b\n", "Mock reply to: hi", "é ü\tx "] {
            assert_eq!(tokens(text).concat(), text, "{text:?}");
        }
        assert_eq!(tokens("a b  c"), ["a ", "b  ", "c"]);
        assert_eq!(tokens(" a"), [" a"]);
    }

    #[test]
    fn mock_reply_is_cut_by_words() {
        assert_eq!(
            mock_reply(" hello\n world ", usize::MAX),
            ("Mock reply to: hello world".to_owned(), false)
        );
        assert_eq!(
            mock_reply("hello world", 4),
            ("Mock reply to: hello".to_owned(), true)
        );
        assert_eq!(mock_reply("x", 0), (String::new(), true));
    }

    #[test]
    fn embeddings_are_unit_and_deterministic() {
        let a = embedding("hello", 8);
        assert_eq!(a, embedding("hello", 8));
        assert_ne!(a, embedding("hellp", 8));
        let norm: f32 = a.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
    }

    #[test]
    fn detokenize_inverts_tokenize() {
        let mut vocab = HashMap::new();
        let ids = tokenize(&mut vocab, "the cat  sat");
        assert_eq!(ids.len(), 3);
        assert_eq!(detokenize(&vocab, &ids), "the cat sat");
        assert_eq!(detokenize(&vocab, &[7]), "<|7|>");
    }
}
