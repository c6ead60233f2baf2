//! Redirects, followed by the shared code so both modes behave alike (ureq would not re-send
//! a POST body on 307/308; reqwest would). Pure functions: where the next hop goes and with
//! which headers.
//!
//! - 307 and 308 re-send the same method and body to `Location`.
//! - 301, 302 and 303 are followed for `GET` only; a `POST` answered with one of them fails
//!   with an error that names the new location (turning it into a `GET`, as browsers do,
//!   would only fail later and less clearly).
//! - Credentials (`Authorization`, `api-key`, cookies ...) never go to another origin.

use crate::error::{ApiError, Error, Result};
use crate::headers::{Headers, is_sensitive};
use crate::transport::Method;
use crate::url::{origin, resolve};

/// Hops followed before giving up.
pub(crate) const MAX_REDIRECTS: usize = 5;

/// The URLs one attempt went through. Past [`MAX_REDIRECTS`] hops the attempt fails with a
/// final error: an [`Error::Api`] with the redirect's status, which the retry policy never
/// retries (sending again would meet the same redirects). A chain that came back to a URL it
/// had visited is named a loop. One redirect back to the same URL is followed (a server may
/// answer that way once); a real loop runs into the hop limit.
pub(crate) struct Trail {
    urls: Vec<String>,
}

impl Trail {
    pub(crate) fn new(start: &str) -> Trail {
        Trail {
            urls: vec![start.to_owned()],
        }
    }

    /// Records the next hop, or fails once there are too many.
    pub(crate) fn push(&mut self, status: u16, response_headers: &Headers, to: &str) -> Result<()> {
        if self.urls.len() <= MAX_REDIRECTS {
            self.urls.push(to.to_owned());
            return Ok(());
        }
        let what = if self.urls.iter().any(|u| u == to) {
            "redirect loop"
        } else {
            "too many redirects"
        };
        let why = format!(
            "{what}: more than {MAX_REDIRECTS} redirects, the last one (HTTP {status}) to {}; check base_url and the server's or proxy's redirects",
            crate::url::redacted(to)
        );
        Err(Error::Api(Box::new(
            ApiError::new(status, why).with_headers(response_headers.clone()),
        )))
    }
}

/// True for the statuses that carry a `Location` to follow.
pub(crate) fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The next hop's URL and headers, or the error to return instead.
pub(crate) fn next_hop(
    method: Method,
    status: u16,
    from: &str,
    response_headers: &Headers,
    headers: &Headers,
) -> Result<(String, Headers)> {
    let refuse = |why: String| {
        Error::Api(Box::new(
            ApiError::new(status, why).with_headers(response_headers.clone()),
        ))
    };
    let Some(location) = response_headers.get("location").map(str::trim) else {
        return Err(refuse(format!(
            "HTTP {status} redirect without a Location header"
        )));
    };
    let to = resolve(from, location).ok_or_else(|| {
        refuse(format!(
            "HTTP {status} redirect to an invalid location {:?}",
            crate::url::redacted(location)
        ))
    })?;
    if !matches!(status, 307 | 308) && method != Method::Get {
        return Err(refuse(format!(
            "the server redirected this {} with HTTP {status} to {}; only 307 and 308 re-send a request body: set base_url to the new location",
            method.as_str(),
            crate::url::redacted(&to)
        )));
    }
    let same_origin = origin(from) == origin(&to);
    let mut headers = headers.clone();
    if !same_origin {
        headers.retain_names(|n| !is_sensitive(n));
    }
    Ok((to, headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Headers {
        Headers::from_pairs(pairs.iter().copied())
    }

    fn sent() -> Headers {
        h(&[
            ("authorization", "Bearer sk-x"),
            ("content-type", "application/json"),
        ])
    }

    #[test]
    fn cross_origin_drops_credentials_same_origin_keeps_them() {
        let (to, hs) = next_hop(
            Method::Post,
            307,
            "http://a:1/v1/chat/completions",
            &h(&[("location", "http://b:2/v1/chat/completions")]),
            &sent(),
        )
        .unwrap();
        assert_eq!(to, "http://b:2/v1/chat/completions");
        assert!(hs.get("authorization").is_none());
        assert!(hs.get("content-type").is_some());
        let (to, hs) = next_hop(
            Method::Post,
            308,
            "http://a:1/v1/chat/completions",
            &h(&[("location", "/v2/chat/completions")]),
            &sent(),
        )
        .unwrap();
        assert_eq!(to, "http://a:1/v2/chat/completions");
        assert!(hs.get("authorization").is_some());
        // Another port is another origin.
        let (_, hs) = next_hop(
            Method::Get,
            302,
            "http://a:1/v1/models",
            &h(&[("location", "http://a:2/v1/models")]),
            &sent(),
        )
        .unwrap();
        assert!(hs.get("authorization").is_none());
    }

    #[test]
    fn post_is_not_turned_into_get() {
        let e = next_hop(
            Method::Post,
            301,
            "http://a/v1/chat/completions",
            &h(&[("location", "https://b/v1/chat/completions")]),
            &sent(),
        )
        .unwrap_err();
        assert_eq!(e.status(), Some(301));
        assert!(
            e.to_string().contains("https://b/v1/chat/completions"),
            "{e}"
        );
    }

    #[test]
    fn missing_location() {
        let e = next_hop(Method::Get, 302, "http://a/v1", &h(&[]), &sent()).unwrap_err();
        assert!(e.to_string().contains("without a Location"), "{e}");
    }
}
