//! The id a client sends with each call, so that one id leads from the caller's log to the
//! server's: `X-Request-Id` (read by vLLM, which builds its own ids from it, and by
//! vllm-router) and `X-Client-Request-Id` (read by OpenAI). One id per call, kept across its
//! retries and redirects: vLLM makes each request's internal id unique itself, and a retry
//! under the same id shows in the server's log as what it is.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest id sent: OpenAI refuses an `X-Client-Request-Id` over 512 characters.
pub(crate) const MAX_LEN: usize = 512;

/// A new id, unique to this process and call: `oai-` then 24 hex digits (a random number
/// drawn once per process, then a counter).
pub(crate) fn generate() -> String {
    static PROCESS: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let process = *PROCESS.get_or_init(|| {
        // std's hasher keys are random per process; the pid and the clock only add to them.
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            h.write_u128(t.as_nanos());
        }
        h.finish()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("oai-{process:016x}{:08x}", n & 0xffff_ffff)
}

/// Whether `id` can be sent as it is: 1 to 512 visible ASCII characters (what every one of
/// those servers accepts; no space, no control character, so nothing can start a header).
pub(crate) fn check(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("the request id is empty: give 1 to 512 visible ASCII characters".into());
    }
    if id.len() > MAX_LEN {
        return Err(format!(
            "the request id is {} bytes long: OpenAI takes at most {MAX_LEN}",
            id.len()
        ));
    }
    if let Some(c) = id.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "the request id has the character {c:?}: use visible ASCII only (letters, digits, punctuation; no spaces)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_distinct_and_sendable() {
        let a = generate();
        let b = generate();
        assert_ne!(a, b);
        assert!(a.starts_with("oai-") && a.len() == 28, "{a}");
        assert_eq!(a[..20], b[..20], "one process prefix");
        check(&a).unwrap();
    }

    #[test]
    fn ids_that_could_break_a_header_are_refused_by_name() {
        assert!(check("").unwrap_err().contains("empty"));
        assert!(check("a\r\nx-evil: 1").unwrap_err().contains("'\\r'"));
        assert!(check("a b").unwrap_err().contains("' '"));
        assert!(check("caf\u{e9}").unwrap_err().contains("visible ASCII"));
        assert!(check(&"x".repeat(513)).unwrap_err().contains("513 bytes"));
        check(&"x".repeat(512)).unwrap();
        check("batch-line_7:a/b.c").unwrap();
    }
}
