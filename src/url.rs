//! URLs, all in one place: the one encoding of an id into a path segment, percent-encoding,
//! the base URL (parsed and checked once, at `build()`), joining a call's path and query onto
//! it, and resolving a redirect's `Location`. Plain sync code, shared by both modes.

use crate::error::{Error, Result};

/// `id` as exactly one path segment, for every resource that puts an id into a path
/// (`/models/{id}`, `/responses/{id}`, `/files/{id}` ...).
///
/// Everything but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`) is
/// percent-encoded, `/` and every other reserved character included, so an id can never add
/// a path step, a query or a fragment. An empty id, `.` and `..` are refused: the HTTP stack,
/// servers and proxies resolve `.` and `..` (also when sent as `%2E`) as steps up the path,
/// so no encoding keeps them inside their segment. `what` names the id in the error
/// (`"model id"`).
pub(crate) fn path_segment(what: &str, id: &str) -> Result<String> {
    match id {
        "" => Err(Error::config(format!(
            "the {what} is empty; pass the id the server returned"
        ))),
        "." | ".." => Err(Error::config(format!(
            "the {what} {id:?} cannot be sent: servers and proxies read `.` and `..` as path steps, so it would reach another route"
        ))),
        _ => {
            let mut out = String::with_capacity(id.len());
            percent_encode(id, &mut out);
            Ok(out)
        }
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
pub(crate) fn percent_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_exactly_one_segment() {
        let seg = |id| path_segment("model id", id).unwrap();
        assert_eq!(seg("gpt-4o"), "gpt-4o");
        assert_eq!(seg("meta-llama/Llama-3.1-8B"), "meta-llama%2FLlama-3.1-8B");
        assert_eq!(seg("a/../../../admin"), "a%2F..%2F..%2F..%2Fadmin");
        assert_eq!(
            seg("ft:gpt-4o:org::x?y#z"),
            "ft%3Agpt-4o%3Aorg%3A%3Ax%3Fy%23z"
        );
        assert_eq!(seg("%2E%2E"), "%252E%252E");
        assert_eq!(
            seg("a b@é;=&+,!$'()*[]"),
            "a%20b%40%C3%A9%3B%3D%26%2B%2C%21%24%27%28%29%2A%5B%5D"
        );
        assert_eq!(seg("..."), "...");
        for bad in ["", ".", ".."] {
            let e = path_segment("model id", bad).unwrap_err().to_string();
            assert!(e.contains("model id"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn percent_encoding() {
        let mut s = String::new();
        percent_encode("a b/é&=~", &mut s);
        assert_eq!(s, "a%20b%2F%C3%A9%26%3D~");
    }
}
