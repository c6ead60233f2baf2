//! [`Form`]: a `multipart/form-data` body, as the upload endpoints take it.

use crate::upload::Upload;

/// A `multipart/form-data` body: text fields and files, sent in the order they were added.
///
/// The typed calls build their forms themselves (`client.files().create`,
/// `client.audio().transcriptions`); a form of your own goes to any endpoint with
/// [`Raw::post_form`](crate::resources::Raw::post_form). Cloning a form is cheap: files are
/// read when the call is sent, not before.
///
/// Field names, file names and values are sent as browsers send them (quotes and line
/// breaks in names escaped), behind a random boundary, so nothing in them can start a part
/// of its own. A call's `extra_body` keys
/// ([`RequestOptions::extra_body`](crate::RequestOptions::extra_body)) are added as text
/// fields after the form's own: strings as they are, other values as JSON.
///
/// ```
/// use oai_compat::{Form, Upload};
/// let form = Form::new()
///     .text("purpose", "batch")
///     .file("file", Upload::bytes("in.jsonl", b"{}\n".to_vec()));
/// assert_eq!(form.len(), 2);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub(crate) parts: Vec<Part>,
}

/// One field of a form.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    pub(crate) name: String,
    pub(crate) value: Value,
}

/// A field's value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    Text(String),
    File(Upload),
}

impl Form {
    /// An empty form.
    pub fn new() -> Form {
        Form::default()
    }

    /// Adds a text field. A name may repeat (`timestamp_granularities[]` is sent once per
    /// value).
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Form {
        self.parts.push(Part {
            name: name.into(),
            value: Value::Text(value.into()),
        });
        self
    }

    /// Adds a file field.
    pub fn file(mut self, name: impl Into<String>, upload: Upload) -> Form {
        self.parts.push(Part {
            name: name.into(),
            value: Value::File(upload),
        });
        self
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// True when the form has no field.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Whether a field named `name` is in the form.
    pub fn has(&self, name: &str) -> bool {
        self.parts.iter().any(|p| p.name == name)
    }
}
