//! `multipart/form-data` bodies, as the upload endpoints receive them: parsed whole (the mock
//! keeps every body in memory anyway), strictly enough that a client's framing mistake (a
//! wrong boundary, a missing end, an unquoted name) is an error rather than a guess.

/// One part of a `multipart/form-data` body, as [`RecordedRequest::form`](crate::RecordedRequest::form)
/// returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormPart {
    /// The `name` of its `Content-Disposition`, unescaped as servers read it (a
    /// backslash-quoted character is the character; `%22` stays as it is).
    pub name: String,
    /// The `filename`, for a file part.
    pub filename: Option<String>,
    /// Its own `Content-Type`, if it has one.
    pub content_type: Option<String>,
    /// Its bytes.
    pub data: Vec<u8>,
}

impl FormPart {
    /// The bytes as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// The parts of `body`, sent with the request's `content_type`; an error that says what is
/// wrong with the framing.
pub(crate) fn parse(content_type: &str, body: &[u8]) -> Result<Vec<FormPart>, String> {
    let (kind, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(format!(
            "expected a multipart/form-data body, got content type {content_type:?}"
        ));
    }
    let boundary = params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or("the multipart content type has no usable boundary parameter")?;
    let first = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    let mut rest = body
        .strip_prefix(first.as_bytes())
        .ok_or("the body does not start with its boundary")?;
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or("a boundary line is not followed by CRLF")?;
        let end =
            find(rest, delimiter.as_bytes()).ok_or("the body ends without its closing boundary")?;
        parts.push(part(&rest[..end])?);
        rest = &rest[end + delimiter.len()..];
    }
}

fn part(raw: &[u8]) -> Result<FormPart, String> {
    let split = find(raw, b"\r\n\r\n").ok_or("a part has no blank line after its headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| "a part's headers are not UTF-8")?;
    let mut disposition = None;
    let mut content_type = None;
    for line in head.split("\r\n") {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("a part's header line has no colon: {line:?}"))?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => disposition = Some(value.trim()),
            "content-type" => content_type = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let disposition = disposition.ok_or("a part has no Content-Disposition")?;
    let params = disposition
        .strip_prefix("form-data")
        .ok_or_else(|| format!("a part's Content-Disposition is not form-data: {disposition:?}"))?;
    let params = parameters(params)?;
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    Ok(FormPart {
        name: get("name").ok_or("a part has no name")?,
        filename: get("filename"),
        content_type,
        data: raw[split + 4..].to_vec(),
    })
}

/// `; name="value"; filename="x"`: quoted strings with backslash escapes, as RFC 7578 and
/// the servers' parsers read them.
fn parameters(mut s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Ok(out);
        }
        s = s
            .strip_prefix(';')
            .ok_or_else(|| format!("expected `;` in Content-Disposition at {s:?}"))?
            .trim_start();
        let (key, after) = s
            .split_once('=')
            .ok_or_else(|| format!("a Content-Disposition parameter has no value: {s:?}"))?;
        let after = after
            .strip_prefix('"')
            .ok_or_else(|| format!("the parameter `{key}` is not a quoted string"))?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, c)) => value.push(c),
                    None => return Err(format!("the parameter `{key}` ends inside an escape")),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => return Err(format!("the parameter `{key}` has no closing quote")),
            }
        };
        out.push((key.trim().to_ascii_lowercase(), value));
        s = &after[end + 1..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_names_and_escapes() {
        let body = b"--xy\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--xy\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a%22b\\\\c.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n{}\r\n\r\n--xy--\r\n";
        let parts = parse("multipart/form-data; boundary=\"xy\"", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].name.as_str(), parts[0].text().as_str()),
            ("purpose", "batch")
        );
        assert_eq!(parts[1].filename.as_deref(), Some("a%22b\\c.jsonl"));
        assert_eq!(parts[1].content_type.as_deref(), Some("application/jsonl"));
        assert_eq!(parts[1].data, b"{}\r\n");
    }

    #[test]
    fn framing_mistakes_are_errors() {
        let ct = "multipart/form-data; boundary=xy";
        for (body, why) in [
            (&b"--xz\r\n"[..], "start"),
            (
                b"--xy\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nv",
                "closing",
            ),
            (
                b"--xy\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--xy--",
                "quoted",
            ),
            (
                b"--xy\r\nContent-Type: x\r\n\r\nv\r\n--xy--",
                "Content-Disposition",
            ),
        ] {
            let err = parse(ct, body).unwrap_err();
            assert!(err.contains(why), "{err}");
        }
        assert!(
            parse("application/json", b"{}")
                .unwrap_err()
                .contains("multipart")
        );
        assert!(
            parse("multipart/form-data", b"")
                .unwrap_err()
                .contains("boundary")
        );
    }
}
