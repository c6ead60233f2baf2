//! OpenAI's cursor pages (`GET /files`, `GET /batches`): a page type with `data`, `has_more`,
//! `first_id` and `last_id`, and the `after` / `limit` parameters of its query. One macro
//! each, so the lists of files and batches are the same code.

/// Declares a page of a list endpoint, decoded leniently, and its `next_params`.
macro_rules! page {
    ($(#[$doc:meta])* $name:ident { data: $item:ty, params: $params:ident, what: $what:literal }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(default)]
        pub struct $name {
            /// Always `"list"`.
            #[serde(deserialize_with = "crate::types::common::null_default")]
            pub object: String,
            #[doc = concat!("The ", $what, " of this page.")]
            #[serde(deserialize_with = "crate::types::common::null_default")]
            pub data: Vec<$item>,
            #[doc = concat!("Whether more ", $what, " follow (absent on servers that do not page).")]
            #[serde(skip_serializing_if = "Option::is_none")]
            pub has_more: Option<bool>,
            /// The id of the first element of the page.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub first_id: Option<String>,
            /// The id of the last element of the page: the `after` of the next page.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub last_id: Option<String>,
            /// Keys this crate has no field for.
            #[serde(flatten)]
            pub extra: crate::types::Extra,
        }

        impl $name {
            #[doc = concat!(
                "The parameters of the next page: `params` with `after` set to this page's ",
                "last id, or `None` when the server says no more ", $what, " follow (or the ",
                "page is empty, or ends where `params` started: a server answering the same page again)."
            )]
            pub fn next_params(&self, params: &$params) -> Option<$params> {
                if self.has_more != Some(true) {
                    return None;
                }
                let last = self
                    .last_id
                    .as_deref()
                    .or_else(|| self.data.last().map(|e| e.id.as_str()))
                    .filter(|id| !id.is_empty())
                    // A server that answers the same page again must not loop a caller forever.
                    .filter(|id| Some(*id) != params.after.as_deref())?;
                Some(params.clone().after(last))
            }
        }
    };
}
pub(super) use page;

/// Declares `new`, `after` and `limit` on a list's parameters (a struct with `after:
/// Option<String>` and `limit: Option<u32>`), and `cursor_query`, their query pairs.
macro_rules! cursor_params {
    ($params:ident) => {
        impl $params {
            /// No parameters: the server's defaults.
            pub fn new() -> Self {
                Self::default()
            }

            /// Sets `after` (default: unset, the first page).
            #[must_use]
            pub fn after(mut self, id: impl Into<String>) -> Self {
                self.after = Some(id.into());
                self
            }

            /// Sets `limit` (default: unset, the server's own).
            #[must_use]
            pub fn limit(mut self, limit: u32) -> Self {
                self.limit = Some(limit);
                self
            }

            /// The `after` and `limit` query pairs, when set.
            fn cursor_query(&self) -> Vec<(String, String)> {
                let mut q = Vec::new();
                if let Some(a) = &self.after {
                    q.push(("after".to_owned(), a.clone()));
                }
                if let Some(n) = self.limit {
                    q.push(("limit".to_owned(), n.to_string()));
                }
                q
            }
        }
    };
}
pub(super) use cursor_params;

#[cfg(test)]
mod tests {
    use crate::types::{FileList, FileListParams};

    #[test]
    fn a_page_answered_again_ends_the_paging() {
        let page: FileList = serde_json::from_str(
            r#"{"object":"list","data":[{"id":"file-2"}],"has_more":true,"last_id":"file-2"}"#,
        )
        .unwrap();
        let first = FileListParams::new().limit(1);
        let next = page.next_params(&first).unwrap();
        assert_eq!(next, FileListParams::new().limit(1).after("file-2"));
        assert_eq!(
            page.next_params(&next),
            None,
            "the same page again: no next"
        );
    }
}
