//! The request id a line is sent under (`X-Request-Id`, `X-Client-Request-Id`), derived from
//! its `custom_id`, so one id leads from the output file to the server's log and stays the
//! same on every rerun: `batch-<custom_id>` when the custom_id can be sent as it is (visible
//! ASCII, at most 200 bytes), else `batch-h<16 hex>`, a hash of its bytes (a custom_id with
//! spaces, non-ASCII or CR/LF must not reach a header).

use super::stable_hash::fnv1a;

/// The longest custom_id sent as it is; a longer one is hashed (vLLM puts the id in every
/// log line about the request).
const MAX_PLAIN: usize = 200;

/// The id for `custom_id`.
pub fn of(custom_id: &str) -> String {
    if !custom_id.is_empty()
        && custom_id.len() <= MAX_PLAIN
        && custom_id.bytes().all(|b| b.is_ascii_graphic())
    {
        return format!("batch-{custom_id}");
    }
    format!("batch-h{:016x}", fnv1a(custom_id.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_custom_id_is_kept_and_anything_else_is_hashed_stably() {
        assert_eq!(of("request-1"), "batch-request-1");
        assert_eq!(of("a/b:c.d_e"), "batch-a/b:c.d_e");
        // FNV-1a's published value for the empty input, and a fixed one: stable forever.
        assert_eq!(of(""), "batch-hcbf29ce484222325");
        assert_eq!(of("a b"), of("a b"));
        assert_ne!(of("a b"), of("a c"));
        for hostile in ["a\r\nx-evil: 1", "caf\u{e9}", "two words", &"x".repeat(201)] {
            let id = of(hostile);
            assert!(id.starts_with("batch-h") && id.len() == 23, "{id}");
        }
        assert_eq!(of(&"x".repeat(200)).len(), 206);
    }
}
