//! [`RecordedRequest`]: what the mock server saw of one request.

/// One request received by the [`MockServer`](super::MockServer), as
/// returned by [`MockServer::requests`](super::MockServer::requests).
///
/// A request is recorded as soon as its head and body are read, before any
/// reply is sent, so requests answered by [`Reply::hang`](super::Reply::hang)
/// or [`Reply::reset`](super::Reply::reset) are recorded too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, e.g. `"POST"`.
    pub method: String,
    /// The request target as sent: the path and query, e.g. `"/v1/models?limit=2"`.
    pub path: String,
    /// The headers in the order received, names as the client spelled them.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked when the client sent it chunked.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The value of the first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body parsed as `multipart/form-data` (by its `Content-Type`'s boundary), `None`
    /// when it is not a well-formed one.
    pub fn form(&self) -> Option<Vec<super::FormPart>> {
        super::multipart::parse(self.header("content-type")?, &self.body).ok()
    }

    /// The path without its query string, e.g. `"/v1/models"`.
    pub fn path_only(&self) -> &str {
        route_path(&self.path)
    }

    /// The value of the first query parameter named `name`, percent-decoded (`+` is a
    /// space), e.g. `Some("2")` for `limit` in `/v1/files?limit=2`.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.path.split('#').next()?.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key, true) == name).then(|| percent_decode(value, true))
        })
    }
}

/// `text` with `%XX` escapes decoded (and `+` as a space in a query, `plus_is_space`); bytes
/// that do not form UTF-8 are replaced (U+FFFD), a `%` not followed by two hex digits is kept.
pub(super) fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                // Two hex digits are at most 0xFF.
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path of a request target, without query and, for an absolute-form
/// target (`http://host/path`), without scheme and authority.
pub(super) fn route_path(target: &str) -> &str {
    let without_query = target.split(['?', '#']).next().unwrap_or_default();
    match without_query.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => without_query,
    }
}
