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
        "" => Err(Error::invalid_request(format!(
            "the {what} is empty; pass the id the server returned"
        ))),
        "." | ".." => Err(Error::invalid_request(format!(
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

/// The base URL as the client keeps it: `scheme://host[:port][/path]`, lower-case scheme, no
/// trailing slash; an empty path becomes `/v1` unless `exact`.
///
/// Parsed with `http::Uri`, then checked further, since that parser accepts what no request
/// can use: a port must be 1-65535 (an out-of-range port was silently dropped, so every
/// request went to port 80), a host must be a DNS name or an IP literal, the scheme `http`
/// or `https`. Credentials, a query and a fragment are refused. No error message repeats
/// credentials or a query (either may hold a secret): messages show [`redacted`].
pub(crate) fn parse_base_url(raw: &str, exact: bool) -> Result<String> {
    let url = raw.trim();
    let bad = |why: &str| {
        Error::config(format!(
            "base_url {:?} {why}; expected something like http://localhost:8000/v1 or https://api.openai.com/v1",
            redacted(url)
        ))
    };
    if url.is_empty() {
        return Err(bad("is empty"));
    }
    let authority_text = url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or(rest));
    if authority_text.is_some_and(|a| a.contains('@')) {
        return Err(bad(
            "must not contain credentials (user:password@); set the key with api_key()",
        ));
    }
    if !url.is_ascii() {
        return Err(bad(
            "contains non-ASCII characters: write the host in its punycode form (xn--...) and percent-encode the path",
        ));
    }
    if url.contains(['?', '#']) {
        return Err(bad(
            "must not have a query or fragment (use RequestOptions::query for query parameters)",
        ));
    }
    let uri: http::Uri = url.parse().map_err(|_| bad("is not a valid URL"))?;
    let scheme = uri.scheme_str().ok_or_else(|| bad("has no scheme"))?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Err(bad("must start with http:// or https://"));
    }
    let authority = uri.authority().ok_or_else(|| bad("has no host"))?.as_str();
    let (host, port) = split_authority(authority).map_err(|why| bad(&why))?;
    if scheme.eq_ignore_ascii_case("https")
        && !cfg!(any(feature = "rustls", feature = "native-tls"))
    {
        return Err(Error::config(format!(
            "base_url {:?} uses https, but oai-compat was built without TLS: enable the `rustls` (or `native-tls`) feature",
            redacted(url)
        )));
    }
    let path = uri.path().trim_end_matches('/');
    check_escapes(path).map_err(|why| bad(&why))?;
    let path = if path.is_empty() && !exact {
        "/v1"
    } else {
        path
    };
    let mut out = format!("{}://{host}", scheme.to_ascii_lowercase());
    if let Some(p) = port {
        out.push(':');
        out.push_str(&p.to_string());
    }
    out.push_str(path);
    Ok(out)
}

/// A host and an optional port, both checked; the error says what is wrong.
fn split_authority(authority: &str) -> std::result::Result<(&str, Option<u16>), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or("has an IPv6 host without its closing `]`")?;
        let ip = &rest[..end];
        if ip.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(format!("has an invalid IPv6 address [{ip}]"));
        }
        (&authority[..end + 2], &rest[end + 1..])
    } else {
        match authority.find(':') {
            Some(i) => (&authority[..i], &authority[i..]),
            None => (authority, ""),
        }
    };
    let port = match port.strip_prefix(':') {
        None if port.is_empty() => None,
        None => return Err("has text after its host; expected host[:port]".into()),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                return Err(format!(
                    "has an invalid port {p:?}: a port is a number from 1 to 65535"
                ));
            }
        },
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    if !host.starts_with('[') {
        let name = host.strip_suffix('.').unwrap_or(host);
        let label_ok = |l: &str| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if !name.split('.').all(label_ok) {
            return Err(format!(
                "has an invalid host {host:?}: use a DNS name (letters, digits, `-`, dots) or an IP address"
            ));
        }
    }
    Ok((host, port))
}

/// Every `%` starts a two-digit hex escape.
fn check_escapes(path: &str) -> std::result::Result<(), String> {
    let b = path.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return Err("has a `%` in its path that is not a %XX escape".into());
        }
    }
    Ok(())
}

/// `url` as it may be shown in errors and logs: credentials replaced by `***`, query and
/// fragment replaced by `?…` (either may hold a secret, e.g. an `api-key` query parameter).
/// Works on any text, parsed or not.
pub(crate) fn redacted(url: &str) -> String {
    let (main, cut) = match url.find(['?', '#']) {
        Some(i) => (&url[..i], true),
        None => (url, false),
    };
    let mut out = match main.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            let host = authority.rsplit_once('@').map(|(_, h)| h);
            match host {
                Some(h) => format!("{scheme}://***@{h}{path}"),
                None => main.to_owned(),
            }
        }
        None => match main.rsplit_once('@') {
            Some((_, h)) => format!("***@{h}"),
            None => main.to_owned(),
        },
    };
    if cut {
        out.push_str("?…");
    }
    out
}

/// `base + path`, then the query parameters, percent-encoded.
pub(crate) fn join(base: &str, path: &str, query: &[(String, String)]) -> String {
    let mut url = String::with_capacity(base.len() + path.len());
    url.push_str(base);
    url.push_str(path);
    for (i, (k, v)) in query.iter().enumerate() {
        url.push(if i == 0 && !path.contains('?') {
            '?'
        } else {
            '&'
        });
        percent_encode(k, &mut url);
        url.push('=');
        percent_encode(v, &mut url);
    }
    url
}

/// The scheme and the whole authority (userinfo included) of an absolute URL.
fn scheme_and_authority(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    Some((scheme, rest.split(['/', '?', '#']).next().unwrap_or(rest)))
}

/// `host[:port]` of a URL, never with userinfo: what an error or a span may show of it. A
/// string that is not an absolute URL is returned as it is, minus any userinfo.
pub(crate) fn authority(url: &str) -> &str {
    let authority = scheme_and_authority(url).map_or(url, |(_, a)| a);
    authority.rsplit('@').next().unwrap_or(authority)
}

/// True when the URL's host needs no name lookup: an IP literal or `localhost`. On the
/// request path (blocking mode): it allocates nothing.
#[cfg(any(feature = "blocking", test))]
pub(crate) fn host_is_literal(url: &str) -> bool {
    let (host, _) = host_and_written_port(url);
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok()
}

/// Host and port of a URL (the scheme's default port when none is written), IPv6 brackets
/// removed: OpenTelemetry's `server.address` and `server.port`.
#[cfg(any(feature = "tracing", test))]
pub(crate) fn host_port(url: &str) -> (&str, Option<u16>) {
    let scheme = scheme_and_authority(url).map_or("http", |(s, _)| s);
    let (host, port) = host_and_written_port(url);
    let port = port.and_then(|p| p.parse().ok()).or_else(|| {
        if scheme.eq_ignore_ascii_case("https") {
            Some(443)
        } else if scheme.eq_ignore_ascii_case("http") {
            Some(80)
        } else {
            None
        }
    });
    (host, port)
}

/// The host of a URL, IPv6 brackets removed, and the port as written (if any).
#[cfg(any(feature = "blocking", feature = "tracing", test))]
fn host_and_written_port(url: &str) -> (&str, Option<&str>) {
    let authority = authority(url);
    match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => (v6, None),
        },
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    }
}

/// `scheme://authority`, lower-cased: two URLs with the same origin may share credentials.
pub(crate) fn origin(url: &str) -> Option<String> {
    let (scheme, authority) = scheme_and_authority(url)?;
    Some(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_ascii_lowercase()
    ))
}

/// A redirect's `location` resolved against the URL it answered: absolute URLs,
/// scheme-relative (`//host/..`), absolute paths and relative paths. `None` for a location
/// that is not a usable `http(s)` URL: bad port or host, or credentials in it.
pub(crate) fn resolve(from: &str, location: &str) -> Option<String> {
    if location.is_empty() || !location.is_ascii() {
        return None;
    }
    let to = if location.contains("://") {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        let scheme = from.split_once("://")?.0;
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{}{location}", origin(from)?)
    } else {
        let path_end = from.find(['?', '#']).unwrap_or(from.len());
        let base = &from[..path_end];
        let dir = &base[..base.rfind('/')? + 1];
        format!("{dir}{location}")
    };
    let uri: http::Uri = to.parse().ok()?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return None;
    }
    let authority = uri.authority()?.as_str();
    if authority.contains('@') {
        return None;
    }
    split_authority(authority).ok()?;
    Some(to)
}

#[cfg(test)]
mod tests {

    #[test]
    fn literal_hosts_need_no_lookup() {
        for url in [
            "http://127.0.0.1:8000/v1",
            "http://[::1]:8000/v1",
            "http://LOCALHOST/v1",
            "https://10.0.0.2/x",
        ] {
            assert!(host_is_literal(url), "{url}");
        }
        for url in [
            "http://vllm:8000/v1",
            "https://api.openai.com/v1",
            "http://localhost.example/v1",
        ] {
            assert!(!host_is_literal(url), "{url}");
        }
    }

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
    fn base_url_normalisation() {
        let n = |s| parse_base_url(s, false).unwrap();
        assert_eq!(n("http://localhost:8000"), "http://localhost:8000/v1");
        assert_eq!(n("http://localhost:8000/"), "http://localhost:8000/v1");
        assert_eq!(n("http://localhost:8000/v1/"), "http://localhost:8000/v1");
        // (A build without TLS refuses https: see https_without_tls_names_the_feature.)
        if cfg!(any(feature = "rustls", feature = "native-tls")) {
            assert_eq!(
                n("  https://api.openai.com/v1//  "),
                "https://api.openai.com/v1"
            );
        }
        assert_eq!(n("  http://h/openai/v1//  "), "http://h/openai/v1");
        assert_eq!(n("HTTP://h:1/x"), "http://h:1/x");
        assert_eq!(n("http://h:65535/x%20y"), "http://h:65535/x%20y");
        assert_eq!(n("http://my_svc.local./v1"), "http://my_svc.local./v1");
        assert_eq!(
            parse_base_url("http://127.0.0.1:4010/", true).unwrap(),
            "http://127.0.0.1:4010"
        );
        assert_eq!(n("http://[::1]:8000"), "http://[::1]:8000/v1");
    }

    #[test]
    fn bad_base_urls_say_what_to_fix() {
        for (bad, says) in [
            ("localhost:8000", "http://"),
            ("ftp://h/v1", "http://"),
            ("http://", "host"),
            ("", "empty"),
            ("not a url", "valid URL"),
            ("http://h/v1?x=1", "query"),
            ("http://user:pw@h/v1", "credentials"),
            ("http://127.0.0.1:99999/v1", "port"),
            ("http://h:0/v1", "port"),
            ("http://h:/v1", "port"),
            ("http://h:65536/v1", "port"),
            ("http://h:+80/v1", "port"),
            ("http://a..b/v1", "host"),
            ("http://-x-/v1", "host"),
            ("http://[zz]/v1", "IPv6"),
            ("http://[::1/v1", "valid URL"),
            ("http://bücher.de/v1", "punycode"),
            ("http://h/v1%zz", "escape"),
        ] {
            let e = parse_base_url(bad, false).unwrap_err().to_string();
            assert!(e.contains("base_url") && e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn no_error_repeats_a_password_or_a_query() {
        for bad in [
            "http://user:hunter2-pass@h/v1",
            "http://user:hunter2-pass@h:99999/v1",
            "ftp://user:hunter2-pass@h/v1",
            "http://h/v1?api-key=hunter2-pass",
            "http://h:99999/v1?api-key=hunter2-pass",
            "user:hunter2-pass@h/v1",
            "http://us er:hunter2-pass@h/v1",
        ] {
            let e = parse_base_url(bad, false).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{bad}: {e}");
        }
        assert_eq!(redacted("http://u:p@h:1/v1?k=s#f"), "http://***@h:1/v1?…");
        assert_eq!(redacted("http://h/v1"), "http://h/v1");
        assert_eq!(redacted("u:p@h/x"), "***@h/x");
    }

    #[test]
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    fn https_without_tls_names_the_feature() {
        let e = parse_base_url("https://api.openai.com/v1", false).unwrap_err();
        assert!(e.to_string().contains("`rustls`"), "{e}");
        assert!(parse_base_url("http://localhost:8000", false).is_ok());
    }

    #[test]
    fn joining_and_redirect_locations() {
        let q = vec![
            ("a b".to_owned(), "c&d".to_owned()),
            ("x".into(), "1".into()),
        ];
        assert_eq!(
            join("http://h:1/v1", "/models", &q),
            "http://h:1/v1/models?a%20b=c%26d&x=1"
        );
        assert_eq!(
            resolve("http://a/v1/models?x=1", "other").as_deref(),
            Some("http://a/v1/other")
        );
        assert_eq!(
            resolve("https://a/v1/models", "//b/v1").as_deref(),
            Some("https://b/v1")
        );
        assert_eq!(
            resolve("http://a:1/v1", "/v2").as_deref(),
            Some("http://a:1/v2")
        );
        assert_eq!(resolve("http://a/v1", "ftp://b/x"), None);
        assert_eq!(resolve("http://a/v1", ""), None);
        assert_eq!(resolve("http://a/v1", "http://b:99999/v1"), None);
        assert_eq!(resolve("http://a/v1", "http://u:p@b/v1"), None);
        assert_eq!(origin("HTTP://A:1/x?y"), Some("http://a:1".into()));
    }

    #[test]
    fn authority_and_host_port_never_show_credentials() {
        assert_eq!(authority("http://u:secret@h:1/v1?key=s"), "h:1");
        assert_eq!(authority("not a url"), "not a url");
        assert_eq!(
            host_port("http://127.0.0.1:8000/v1/chat/completions?key=s"),
            ("127.0.0.1", Some(8000))
        );
        assert_eq!(
            host_port("https://api.openai.com/v1"),
            ("api.openai.com", Some(443))
        );
        assert_eq!(host_port("HTTP://[::1]:9/v1"), ("::1", Some(9)));
        assert_eq!(host_port("http://u:secret@h/v1"), ("h", Some(80)));
    }

    #[test]
    fn percent_encoding() {
        let mut s = String::new();
        percent_encode("a b/é&=~", &mut s);
        assert_eq!(s, "a%20b%2F%C3%A9%26%3D~");
    }
}
