//! Files (`/v1/files`): uploaded files, their lists and the list's query parameters.

use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use super::common::{Extra, lenient_opt_timestamp, null_default};

/// What an uploaded file is for (`purpose` on the wire). Open: a purpose this crate does not
/// know is kept in [`FilePurpose::Other`] and sent as given.
///
/// ```
/// use oai_compat::types::FilePurpose;
/// assert_eq!(FilePurpose::FineTune.as_str(), "fine-tune");
/// assert_eq!("batch".parse::<FilePurpose>(), Ok(FilePurpose::Batch));
/// assert_eq!(FilePurpose::from("mine"), FilePurpose::Other("mine".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FilePurpose {
    /// `"batch"`: the input of a batch ([`Batches`](crate::resources::Batches)).
    #[serde(rename = "batch")]
    Batch,
    /// `"fine-tune"`: training data.
    #[serde(rename = "fine-tune")]
    FineTune,
    /// `"assistants"`: files for the Assistants API.
    #[serde(rename = "assistants")]
    Assistants,
    /// `"vision"`: images for vision fine-tuning.
    #[serde(rename = "vision")]
    Vision,
    /// `"user_data"`: files of any kind, as model input.
    #[serde(rename = "user_data")]
    UserData,
    /// `"evals"`: evaluation data sets.
    #[serde(rename = "evals")]
    Evals,
    /// Any other purpose, kept as sent (OpenAI's outputs: `"batch_output"`,
    /// `"fine-tune-results"`, ...).
    #[serde(untagged)]
    Other(String),
}

impl FilePurpose {
    /// The purpose as sent on the wire, e.g. `"fine-tune"`.
    pub fn as_str(&self) -> &str {
        match self {
            FilePurpose::Batch => "batch",
            FilePurpose::FineTune => "fine-tune",
            FilePurpose::Assistants => "assistants",
            FilePurpose::Vision => "vision",
            FilePurpose::UserData => "user_data",
            FilePurpose::Evals => "evals",
            FilePurpose::Other(s) => s,
        }
    }
}

impl fmt::Display for FilePurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for FilePurpose {
    /// The known purpose of that wire value, else [`FilePurpose::Other`].
    fn from(s: &str) -> Self {
        match s {
            "batch" => FilePurpose::Batch,
            "fine-tune" => FilePurpose::FineTune,
            "assistants" => FilePurpose::Assistants,
            "vision" => FilePurpose::Vision,
            "user_data" => FilePurpose::UserData,
            "evals" => FilePurpose::Evals,
            other => FilePurpose::Other(other.to_owned()),
        }
    }
}

impl From<String> for FilePurpose {
    fn from(s: String) -> Self {
        match FilePurpose::from(s.as_str()) {
            FilePurpose::Other(_) => FilePurpose::Other(s),
            known => known,
        }
    }
}

impl FromStr for FilePurpose {
    type Err = Infallible;

    /// Never fails: an unknown value is [`FilePurpose::Other`].
    fn from_str(s: &str) -> Result<Self, Infallible> {
        Ok(FilePurpose::from(s))
    }
}

/// Reads a Unix time leniently: an integer, a float (truncated), or `null` (`None`).
pub(super) fn lenient_unix<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<serde_json::Number>::deserialize(d)?
        // `as` saturates: a float out of range gives the nearest end.
        .and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))))
}

/// An uploaded file (`"object": "file"`), as returned by `files().create`, `retrieve` and in
/// lists.
///
/// Decoded leniently: a missing key or `null` gives the field's default, unknown keys go to
/// `extra`.
///
/// ```
/// use oai_compat::types::FileObject;
/// let f: FileObject = serde_json::from_str(
///     r#"{"id":"file-abc","object":"file","bytes":120,"created_at":1700000000,
///         "filename":"batch.jsonl","purpose":"batch","status":"processed","x":1}"#,
/// )?;
/// assert_eq!((f.id.as_str(), f.bytes), ("file-abc", Some(120)));
/// assert_eq!(f.extra["x"], 1);
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileObject {
    /// The file id (`file-...`), used in other calls.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Always `"file"`.
    #[serde(deserialize_with = "null_default")]
    pub object: String,
    /// The size in bytes (read leniently, as the timestamps are: a float is truncated, a
    /// negative number is 0).
    #[serde(
        deserialize_with = "lenient_opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub bytes: Option<u64>,
    /// Upload time, Unix seconds.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<i64>,
    /// The file's name as uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// What the file is for (`"batch"`, `"batch_output"`, `"fine-tune"`, ...); see
    /// [`FilePurpose`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Deprecated by OpenAI: `"uploaded"`, `"processed"` or `"error"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// When the file is deleted by the server, Unix seconds.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<i64>,
    /// Deprecated by OpenAI: why a fine-tuning file failed validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<String>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

super::pages::page!(
    /// A page of files (`GET /files`). Page on with [`FileList::next_params`]:
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::types::{FileListParams, FilePurpose};
    /// let client = oai_compat::Client::new()?;
    /// let mut params = FileListParams::new().purpose(FilePurpose::Batch).limit(100);
    /// loop {
    ///     let page = client.files().list(&params)?;
    ///     for f in &page.data {
    ///         println!("{} {:?}", f.id, f.filename);
    ///     }
    ///     match page.next_params(&params) {
    ///         Some(next) => params = next,
    ///         None => break,
    ///     }
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    FileList { data: FileObject, params: FileListParams, what: "files" }
);

/// The order of a list by creation time (`order` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// Oldest first.
    Asc,
    /// Newest first (OpenAI's default).
    Desc,
}

impl ListOrder {
    /// The value as sent on the wire: `"asc"` or `"desc"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ListOrder::Asc => "asc",
            ListOrder::Desc => "desc",
        }
    }
}

/// The query of `GET /files`; every parameter is left out unless set.
///
/// ```
/// use oai_compat::types::{FileListParams, FilePurpose, ListOrder};
/// let params = FileListParams::new()
///     .purpose(FilePurpose::Batch)
///     .limit(50)
///     .order(ListOrder::Asc)
///     .after("file-abc");
/// assert_eq!(params.limit, Some(50));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileListParams {
    /// Only files of this purpose.
    pub purpose: Option<FilePurpose>,
    /// At most this many files (OpenAI: 1 to 10,000, default 10,000).
    pub limit: Option<u32>,
    /// The files after this id (a page's `last_id`), in the list's order.
    pub after: Option<String>,
    /// The order by creation time (OpenAI's default: newest first).
    pub order: Option<ListOrder>,
}

super::pages::cursor_params!(FileListParams);

impl FileListParams {
    /// Sets `purpose` (default: unset, every purpose).
    #[must_use]
    pub fn purpose(mut self, purpose: impl Into<FilePurpose>) -> Self {
        self.purpose = Some(purpose.into());
        self
    }

    /// Sets `order` (default: unset, the server's own).
    #[must_use]
    pub fn order(mut self, order: ListOrder) -> Self {
        self.order = Some(order);
        self
    }

    /// The query pairs, in a fixed order.
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        let mut q = self.cursor_query();
        if let Some(p) = &self.purpose {
            q.push(("purpose".to_owned(), p.as_str().to_owned()));
        }
        if let Some(o) = self.order {
            q.push(("order".to_owned(), o.as_str().to_owned()));
        }
        q
    }
}

/// The answer of `DELETE /files/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileDeleted {
    /// The id of the file.
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Always `"file"`.
    #[serde(deserialize_with = "null_default")]
    pub object: String,
    /// Whether the file was deleted.
    #[serde(deserialize_with = "null_default")]
    pub deleted: bool,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn purposes_round_trip_and_keep_unknown_values() {
        for p in [
            FilePurpose::Batch,
            FilePurpose::FineTune,
            FilePurpose::Assistants,
            FilePurpose::Vision,
            FilePurpose::UserData,
            FilePurpose::Evals,
            FilePurpose::Other("batch_output".into()),
        ] {
            let text = serde_json::to_string(&p).unwrap();
            assert_eq!(text, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<FilePurpose>(&text).unwrap(), p);
            assert_eq!(FilePurpose::from(p.as_str()), p);
            assert_eq!(FilePurpose::from(p.to_string()), p);
        }
    }

    #[test]
    fn a_file_is_decoded_leniently() {
        let f: FileObject = serde_json::from_value(json!({
            "id": "file-1", "object": null, "bytes": -3, "created_at": 1.9e9,
            "expires_at": null, "status_details": null, "new_field": [1]
        }))
        .unwrap();
        assert_eq!(f.id, "file-1");
        assert_eq!(f.object, "");
        assert_eq!(f.created_at, Some(1_900_000_000));
        assert_eq!(f.bytes, Some(0));
        assert_eq!(f.expires_at, None);
        assert_eq!(f.extra["new_field"], json!([1]));
        assert_eq!(
            serde_json::from_str::<FileObject>("{}").unwrap(),
            FileObject::default()
        );
        let d: FileDeleted = serde_json::from_str(r#"{"id":"file-1","deleted":null}"#).unwrap();
        assert!(!d.deleted);
    }

    #[test]
    fn the_next_page_starts_after_the_last_id_while_more_follow() {
        let params = FileListParams::new().limit(2).purpose("batch");
        let mut page: FileList = serde_json::from_value(json!({
            "object": "list", "data": [{"id": "a"}, {"id": "b"}], "has_more": true,
            "last_id": "b"
        }))
        .unwrap();
        let next = page.next_params(&params).unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        assert_eq!(next.limit, Some(2));
        assert_eq!(next.purpose, Some(FilePurpose::Batch));
        page.last_id = None;
        assert_eq!(
            page.next_params(&params).unwrap().after.as_deref(),
            Some("b")
        );
        page.has_more = Some(false);
        assert_eq!(page.next_params(&params), None);
        page.has_more = None;
        assert_eq!(page.next_params(&params), None);
        assert_eq!(
            next.query(),
            [
                ("after".to_owned(), "b".to_owned()),
                ("limit".to_owned(), "2".to_owned()),
                ("purpose".to_owned(), "batch".to_owned()),
            ]
        );
    }
}
