//! Batches (`/v1/batches`): requests run from an uploaded JSONL file, and their state.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::common::{Extra, lenient_opt_timestamp, lenient_timestamp, null_default};
use super::files::lenient_unix;

/// A batch to create (`POST /batches`): the id of a JSONL file uploaded with purpose
/// [`batch`](super::FilePurpose::Batch), whose every line is one request
/// (`{"custom_id":..,"method":"POST","url":"/v1/chat/completions","body":{..}}`), and the
/// endpoint all its lines call.
///
/// ```
/// use oai_compat::types::BatchRequest;
/// let req = BatchRequest::new("file-abc", "/v1/chat/completions").metadata("job", "nightly");
/// let json = serde_json::to_value(&req)?;
/// assert_eq!(json["completion_window"], "24h");
/// assert_eq!(json["metadata"]["job"], "nightly");
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BatchRequest {
    /// The id of the input file.
    pub input_file_id: String,
    /// The endpoint every line calls: `/v1/chat/completions`, `/v1/embeddings`,
    /// `/v1/completions`, `/v1/responses`, ...
    pub endpoint: String,
    /// The time the batch may take: `"24h"` (the only value OpenAI accepts; the default).
    pub completion_window: String,
    /// Key-value tags stored with the batch (OpenAI: at most 16; keys up to 64 characters,
    /// values up to 512).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Keys sent at the top level beside the typed fields (`output_expires_after`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl BatchRequest {
    /// A batch of the requests in file `input_file_id`, for `endpoint`, within `"24h"`.
    pub fn new(input_file_id: impl Into<String>, endpoint: impl Into<String>) -> Self {
        BatchRequest {
            input_file_id: input_file_id.into(),
            endpoint: endpoint.into(),
            completion_window: "24h".to_owned(),
            metadata: None,
            extra: Extra::new(),
        }
    }

    /// Sets `completion_window` (default `"24h"`).
    #[must_use]
    pub fn completion_window(mut self, window: impl Into<String>) -> Self {
        self.completion_window = window.into();
        self
    }

    /// Adds a key-value tag to `metadata` (default: none).
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Adds `key` to `extra`, sent at the top level of the body, for a parameter this crate
    /// has no field for.
    #[must_use]
    pub fn with_extra(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }
}

/// The state of a batch. Open: an unknown value is kept in [`BatchStatus::Other`]; a batch
/// without a status decodes as `Other("")`.
///
/// ```
/// use oai_compat::types::BatchStatus;
/// let s: BatchStatus = serde_json::from_str(r#""in_progress""#)?;
/// assert!(!s.is_terminal());
/// let s: BatchStatus = serde_json::from_str(r#""archived""#)?;
/// assert_eq!(s, BatchStatus::Other("archived".into()));
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// The input file is being checked.
    Validating,
    /// The input file failed validation: see [`Batch::errors`].
    Failed,
    /// The requests are running.
    InProgress,
    /// The requests are done; the output files are being written.
    Finalizing,
    /// Done: see [`Batch::output_file_id`] and [`Batch::error_file_id`].
    Completed,
    /// The completion window ran out; what was done is in the output files.
    Expired,
    /// Being cancelled (up to 10 minutes on OpenAI).
    Cancelling,
    /// Cancelled; what was done is in the output files.
    Cancelled,
    /// Any other status, kept as sent.
    #[serde(untagged)]
    Other(String),
}

impl BatchStatus {
    /// The status as sent on the wire, e.g. `"in_progress"`.
    pub fn as_str(&self) -> &str {
        match self {
            BatchStatus::Validating => "validating",
            BatchStatus::Failed => "failed",
            BatchStatus::InProgress => "in_progress",
            BatchStatus::Finalizing => "finalizing",
            BatchStatus::Completed => "completed",
            BatchStatus::Expired => "expired",
            BatchStatus::Cancelling => "cancelling",
            BatchStatus::Cancelled => "cancelled",
            BatchStatus::Other(s) => s,
        }
    }

    /// Whether the batch will not change any more: `completed`, `failed`, `expired` or
    /// `cancelled`. An unknown status is not terminal (keep polling, with a limit of your
    /// own).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            BatchStatus::Completed
                | BatchStatus::Failed
                | BatchStatus::Expired
                | BatchStatus::Cancelled
        )
    }
}

impl Default for BatchStatus {
    /// `Other("")`: no status sent.
    fn default() -> Self {
        BatchStatus::Other(String::new())
    }
}

impl fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many of a batch's requests are done. The counts are read leniently (`null` or a
/// negative number is 0, a float is truncated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchRequestCounts {
    /// Requests in the batch.
    #[serde(deserialize_with = "lenient_timestamp")]
    pub total: u64,
    /// Requests that got an answer (in the output file).
    #[serde(deserialize_with = "lenient_timestamp")]
    pub completed: u64,
    /// Requests that failed (in the error file).
    #[serde(deserialize_with = "lenient_timestamp")]
    pub failed: u64,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Why a batch failed validation: one entry per problem.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchErrors {
    /// Always `"list"`.
    #[serde(deserialize_with = "null_default")]
    pub object: String,
    /// The problems.
    #[serde(deserialize_with = "null_default")]
    pub data: Vec<BatchError>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One problem of a batch's input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchError {
    /// A code, e.g. `"invalid_json_line"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
    /// The line of the input file at fault (from 1).
    #[serde(
        deserialize_with = "lenient_opt_timestamp",
        skip_serializing_if = "Option::is_none"
    )]
    pub line: Option<u64>,
    /// Keys this crate has no field for.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A batch (`"object": "batch"`), as returned by `batches().create`, `retrieve`, `cancel`
/// and in lists.
///
/// Decoded leniently: a missing key or `null` gives the field's default, unknown keys go to
/// `extra`, an unknown status is [`BatchStatus::Other`].
///
/// ```
/// use oai_compat::types::{Batch, BatchStatus};
/// let b: Batch = serde_json::from_str(
///     r#"{"id":"batch_1","object":"batch","status":"completed","endpoint":"/v1/embeddings",
///         "output_file_id":"file-out","request_counts":{"total":2,"completed":2,"failed":0},
///         "usage":{"total_tokens":7}}"#,
/// )?;
/// assert_eq!(b.status, BatchStatus::Completed);
/// assert_eq!(b.request_counts.unwrap().completed, 2);
/// assert_eq!(b.extra["usage"]["total_tokens"], 7);
/// # Ok::<_, serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Batch {
    /// The batch id (`batch_...`).
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    /// Always `"batch"`.
    #[serde(deserialize_with = "null_default")]
    pub object: String,
    /// The state; see [`BatchStatus::is_terminal`].
    #[serde(deserialize_with = "null_default")]
    pub status: BatchStatus,
    /// The endpoint the lines call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The id of the input file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_file_id: Option<String>,
    /// The id of the file of answers (one JSONL line per request that got an answer);
    /// download it with `files().content`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_file_id: Option<String>,
    /// The id of the file of failed requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_file_id: Option<String>,
    /// The time the batch may take (`"24h"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_window: Option<String>,
    /// How many requests are done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_counts: Option<BatchRequestCounts>,
    /// Why the batch failed validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BatchErrors>,
    /// Creation time, Unix seconds.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<i64>,
    /// When it started running.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub in_progress_at: Option<i64>,
    /// When it expires.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<i64>,
    /// When it started finalizing.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub finalizing_at: Option<i64>,
    /// When it completed.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub completed_at: Option<i64>,
    /// When it failed.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub failed_at: Option<i64>,
    /// When it expired.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub expired_at: Option<i64>,
    /// When it started cancelling.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub cancelling_at: Option<i64>,
    /// When it was cancelled.
    #[serde(
        deserialize_with = "lenient_unix",
        skip_serializing_if = "Option::is_none"
    )]
    pub cancelled_at: Option<i64>,
    /// The key-value tags stored with the batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Extra>,
    /// Keys this crate has no field for (OpenAI: `model`, `usage`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

super::pages::page!(
    /// A page of batches (`GET /batches`), newest first. Page on with
    /// [`BatchList::next_params`] (see [`FileList`](super::FileList) for a loop).
    BatchList { data: Batch, params: BatchListParams, what: "batches" }
);

/// The query of `GET /batches`; every parameter is left out unless set.
///
/// ```
/// use oai_compat::types::BatchListParams;
/// let params = BatchListParams::new().limit(10).after("batch_abc");
/// assert_eq!(params.after.as_deref(), Some("batch_abc"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchListParams {
    /// The batches after this id (a page's `last_id`).
    pub after: Option<String>,
    /// At most this many batches (OpenAI: 1 to 100, default 20).
    pub limit: Option<u32>,
}

super::pages::cursor_params!(BatchListParams);

impl BatchListParams {
    /// The query pairs, in a fixed order.
    pub(crate) fn query(&self) -> Vec<(String, String)> {
        self.cursor_query()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_round_trip_and_only_four_are_terminal() {
        let all = [
            (BatchStatus::Validating, false),
            (BatchStatus::Failed, true),
            (BatchStatus::InProgress, false),
            (BatchStatus::Finalizing, false),
            (BatchStatus::Completed, true),
            (BatchStatus::Expired, true),
            (BatchStatus::Cancelling, false),
            (BatchStatus::Cancelled, true),
            (BatchStatus::Other("paused".into()), false),
        ];
        for (status, terminal) in all {
            let text = serde_json::to_string(&status).unwrap();
            assert_eq!(text, format!("\"{status}\""));
            assert_eq!(serde_json::from_str::<BatchStatus>(&text).unwrap(), status);
            assert_eq!(status.is_terminal(), terminal, "{status}");
        }
    }

    #[test]
    fn a_batch_is_decoded_leniently() {
        let b: Batch = serde_json::from_value(json!({
            "id": "batch_1", "status": "on_hold",
            "request_counts": {"total": 3.0, "failed": null, "completed": -1},
            "errors": {"object": "list", "data": [{"code": "invalid_json_line", "line": 2}]},
            "created_at": 1700000000.5, "metadata": null, "model": "gpt-4o-mini"
        }))
        .unwrap();
        assert_eq!(b.status, BatchStatus::Other("on_hold".into()));
        let counts = b.request_counts.unwrap();
        assert_eq!((counts.total, counts.completed, counts.failed), (3, 0, 0));
        let errors = b.errors.unwrap();
        assert_eq!(errors.data[0].code.as_deref(), Some("invalid_json_line"));
        assert_eq!(errors.data[0].line, Some(2));
        assert_eq!(b.created_at, Some(1_700_000_000));
        assert_eq!(b.extra["model"], json!("gpt-4o-mini"));
        let empty: Batch = serde_json::from_str(r#"{"status":null}"#).unwrap();
        assert_eq!(empty, Batch::default());
    }

    #[test]
    fn a_request_sends_what_is_set() {
        let req = BatchRequest::new("file-1", "/v1/embeddings");
        assert_eq!(
            serde_json::to_value(&req).unwrap(),
            json!({"input_file_id": "file-1", "endpoint": "/v1/embeddings",
                   "completion_window": "24h"})
        );
        let req = req.completion_window("48h").metadata("a", "1").with_extra(
            "output_expires_after",
            json!({"anchor": "created_at", "seconds": 3600}),
        );
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["completion_window"], "48h");
        assert_eq!(v["metadata"], json!({"a": "1"}));
        assert_eq!(v["output_expires_after"]["seconds"], 3600);
    }

    #[test]
    fn batch_pages_follow_last_id() {
        let params = BatchListParams::new().limit(1);
        let page: BatchList = serde_json::from_value(json!({
            "data": [{"id": "batch_b"}], "has_more": true, "first_id": "batch_b",
            "last_id": "batch_b"
        }))
        .unwrap();
        let next = page.next_params(&params).unwrap();
        assert_eq!(
            next.query(),
            [
                ("after".to_owned(), "batch_b".to_owned()),
                ("limit".to_owned(), "1".to_owned())
            ]
        );
        let last: BatchList = serde_json::from_str(r#"{"data":[],"has_more":false}"#).unwrap();
        assert_eq!(last.next_params(&params), None);
    }
}
