//! Walking a cursor-paged list (`GET /files`, `GET /batches`) page after page, as
//! [`Files::pages`](super::Files::pages) and [`Batches::pages`](super::Batches::pages) do.
//!
//! The next page starts after this page's last id. A server that says more follow but names
//! no new page (this page's own cursor again, or none), or whose pages go round (A, B, A...),
//! would keep a caller listing for ever: that is an [`Error::Decode`](crate::Error::Decode),
//! found before the page that would repeat is handed out.

/// Declares a pager over a list endpoint: a handle with `list_with_meta(&params)`, the page
/// type (with `has_more` and `next_params`), and its parameters (with `after`).
macro_rules! pager {
    ($(#[$doc:meta])* $name:ident { handle: $handle:ident, page: $page:ty, params: $params:ty, what: $what:literal }) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<'c> {
            handle: $handle<'c>,
            /// The parameters of the next page; `None` after the last page, or an error.
            next: Option<$params>,
            /// Every cursor (`after`) asked for so far.
            asked: std::collections::HashSet<String>,
        }

        impl<'c> $name<'c> {
            pub(crate) fn new(handle: $handle<'c>, first: $params) -> Self {
                let asked = first.after.iter().cloned().collect();
                $name {
                    handle,
                    next: Some(first),
                    asked,
                }
            }
        }

        #[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
        impl $name<'_> {
            #[doc = concat!(
                "The next page of ", $what, " (one `GET`, retried as any call), or `Ok(None)` ",
                "after the last one. A server that says more follow but names no new page, or ",
                "whose pages go round in a circle, gives an `Error::Decode` instead of that page, ",
                "and the paging ends. After any other error (a timeout, a 5xx once the retries ",
                "are spent), or a call dropped before it ended, the next `try_next` asks for the ",
                "same page again."
            )]
            pub async fn try_next(&mut self) -> crate::error::Result<Option<$page>> {
                let Some(params) = self.next.as_ref() else {
                    return Ok(None);
                };
                // `next` moves on only once the page is here, so a failed or dropped call
                // leaves it where it was.
                let response = self.handle.list_with_meta(params).await?;
                let params = self.next.take().unwrap_or_default();
                let page = response.value;
                if page.has_more != Some(true) {
                    return Ok(Some(page));
                }
                let next = page.next_params(&params);
                let problem = match next.as_ref().and_then(|p| p.after.as_deref()) {
                    Some(after) if self.asked.insert(after.to_owned()) => None,
                    Some(after) => Some(format!(
                        "the page after `{}` was listed already: the server's pages go round in a circle",
                        super::pager::cut(after).escape_debug()
                    )),
                    None => Some(
                        "the server says more follow but names no new page to ask for".to_owned(),
                    ),
                };
                match problem {
                    None => {
                        self.next = next;
                        Ok(Some(page))
                    }
                    // The page as decoded stands in for the body, to show what was answered.
                    Some(message) => Err(crate::error::Error::decode(
                        $what,
                        message,
                        &serde_json::to_vec(&page).unwrap_or_default(),
                        response.meta.request_id().map(str::to_owned),
                    )),
                }
            }
        }
    };
}
pub(super) use pager;

/// At most the first 100 characters of a server's cursor, for an error message.
pub(super) fn cut(cursor: &str) -> &str {
    cursor
        .char_indices()
        .nth(100)
        .map_or(cursor, |(at, _)| &cursor[..at])
}
