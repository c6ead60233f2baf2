//! [`Response`] and [`ResponseMeta`]: a decoded answer with its status, headers and the
//! retries it took.

use crate::headers::Headers;

/// Status, headers and retry count of a response, for any call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResponseMeta {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: Headers,
    /// How many retries were made before this response.
    pub retries_taken: u32,
    /// The id this client sent the call under (`X-Request-Id` and `X-Client-Request-Id`; see
    /// [`ClientBuilder::request_ids`](crate::ClientBuilder::request_ids)), `None` when it
    /// sent none. The server's own is [`request_id`](Self::request_id).
    pub client_request_id: Option<String>,
}

impl ResponseMeta {
    /// The server's request id (`x-request-id`).
    ///
    /// ```
    /// let meta = oai_compat::ResponseMeta::new(200, oai_compat::Headers::from_pairs([("x-request-id", "r-1")]));
    /// assert_eq!(meta.request_id(), Some("r-1"));
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.headers.request_id()
    }

    /// The meta of a response with this status and these headers, taken without retries (for
    /// tests of code that reads it).
    pub fn new(status: u16, headers: Headers) -> ResponseMeta {
        ResponseMeta {
            status,
            headers,
            retries_taken: 0,
            client_request_id: None,
        }
    }
}

/// A decoded response together with its [`ResponseMeta`]; derefs to the data.
///
/// ```
/// use oai_compat::{Headers, Response, ResponseMeta};
/// let r = Response::new(vec![1, 2], ResponseMeta::new(200, Headers::default()));
/// assert_eq!(r.len(), 2); // through Deref
/// assert_eq!(r.meta.status, 200);
/// assert_eq!(r.into_value(), vec![1, 2]);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response<T> {
    /// The decoded body (named `value` so it never shadows a `data` field of `T` through
    /// `Deref`, as in `ModelList::data`).
    pub value: T,
    /// Status, headers, request id and retries taken.
    pub meta: ResponseMeta,
}

impl<T> Response<T> {
    /// A response of `value` with `meta` (for tests of code that takes one).
    pub fn new(value: T, meta: ResponseMeta) -> Response<T> {
        Response { value, meta }
    }

    /// The decoded body.
    pub fn into_value(self) -> T {
        self.value
    }
}

impl<T> std::ops::Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}
