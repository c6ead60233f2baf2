//! A request's headers in the two forms it needs: the checked list the rest of the crate
//! reads (redirects, errors, tests), and the HTTP library's own header map, built once from
//! it. The client's headers for each kind of call are built when the client is, so a call
//! without headers of its own hands the transport a ready map to clone instead of having
//! every name and value parsed, checked and copied again on every request.

use std::ops::Deref;

#[cfg(not(feature = "blocking"))]
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
#[cfg(feature = "blocking")]
use ureq::http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::headers::{Headers, is_sensitive};

/// The headers of a request (see the module's documentation). Reads as its [`Headers`].
#[derive(Clone)]
pub(crate) struct RequestHeaders {
    list: Headers,
    wire: HeaderMap,
}

impl RequestHeaders {
    /// Both forms of `list`, whose names and values have been checked already
    /// ([`Headers::validate`]); a pair the HTTP library still refuses is an error that names
    /// the header, never its value (it may be the key).
    pub(crate) fn new(list: Headers) -> Result<Self, String> {
        let mut wire = HeaderMap::with_capacity(list.len());
        for (name, value) in list.iter() {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("the header name {name:?} is not a valid HTTP header name"))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| format!("the value of the header {name:?} is not valid in HTTP"))?;
            // Kept out of the HTTP library's `Debug` output too.
            value.set_sensitive(is_sensitive(name));
            wire.append(header, value);
        }
        Ok(RequestHeaders { list, wire })
    }

    /// The HTTP library's form, for one request, with the call's id under both names unless
    /// a header of that name is set already.
    pub(crate) fn wire(&self, request_id: Option<&str>) -> HeaderMap {
        let mut wire = self.wire.clone();
        if let Some(id) = request_id {
            // Checked by `request_id::check` (visible ASCII), so it is a valid value.
            if let Ok(value) = HeaderValue::from_str(id) {
                for name in ["x-request-id", "x-client-request-id"] {
                    if !wire.contains_key(name) {
                        wire.insert(HeaderName::from_static(name), value.clone());
                    }
                }
            }
        }
        wire
    }
}

/// As its [`Headers`]: secret values redacted.
impl std::fmt::Debug for RequestHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.list.fmt(f)
    }
}

impl Deref for RequestHeaders {
    type Target = Headers;

    fn deref(&self) -> &Headers {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_hold_the_same_pairs_in_order() {
        let list = Headers::from_pairs([
            ("accept", "application/json"),
            ("authorization", "Bearer sk-secret"),
            ("X-Trace", "a"),
            ("x-trace", "b"),
            ("x-latin", "caf\u{e9}"),
        ]);
        let h = RequestHeaders::new(list.clone()).unwrap();
        assert_eq!(*h, list);
        let wire = h.wire(None);
        assert_eq!(wire.len(), 5);
        assert_eq!(
            wire.get_all("x-trace").iter().collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(wire["x-latin"].as_bytes(), "caf\u{e9}".as_bytes());
        assert!(wire["authorization"].is_sensitive());
        assert!(!wire["accept"].is_sensitive());
        assert!(!format!("{wire:?}").contains("sk-secret"));
    }

    #[test]
    fn the_call_id_goes_under_both_names_unless_one_is_set() {
        let h = RequestHeaders::new(Headers::from_pairs([("accept", "a")])).unwrap();
        let wire = h.wire(Some("id-1"));
        assert_eq!(wire["x-request-id"], "id-1");
        assert_eq!(wire["x-client-request-id"], "id-1");
        let own = RequestHeaders::new(Headers::from_pairs([("X-Request-Id", "mine")])).unwrap();
        let wire = own.wire(Some("mine"));
        assert_eq!(wire.get_all("x-request-id").iter().count(), 1);
        assert_eq!(wire["x-request-id"], "mine");
        assert_eq!(wire["x-client-request-id"], "mine");
        assert_eq!(h.wire(None).len(), 1);
    }

    #[test]
    fn a_pair_http_refuses_is_an_error_without_its_value() {
        let e = RequestHeaders::new(Headers::from_pairs([("x-key", "sk-1\r\nx: y")]))
            .err()
            .unwrap();
        assert!(e.contains("x-key") && !e.contains("sk-1"), "{e}");
        let e = RequestHeaders::new(Headers::from_pairs([("bad name", "v")]))
            .err()
            .unwrap();
        assert!(e.contains("\"bad name\""), "{e}");
    }
}
