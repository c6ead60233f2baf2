//! `/files`: uploaded files.

use crate::call::Path;
use crate::error::Result;
use crate::response::Response;
use crate::transport::Method;
use crate::types::{FileDeleted, FileList, FileListParams, FileObject};

super::handle!(
    /// Files. Get one with [`Client::files`](crate::Client::files).
    Files
);

/// The path of file `id` (plus `tail`), its id sent as one path segment.
fn file_path(id: &str, tail: &str) -> Result<String> {
    Ok(format!(
        "/files/{}{tail}",
        crate::url::path_segment("file id", id)?
    ))
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Files<'_> {
    /// Lists files (`GET /files?purpose=..&limit=..&after=..&order=..`); page on with
    /// [`FileList::next_params`].
    pub async fn list(&self, params: &FileListParams) -> Result<FileList> {
        Ok(self.list_with_meta(params).await?.value)
    }

    /// [`Files::list`], with the response's status, headers and retry count.
    pub async fn list_with_meta(&self, params: &FileListParams) -> Result<Response<FileList>> {
        let mut options = self.options.clone().into_owned();
        options.query.extend(params.query());
        self.engine
            .get_json(Path::Api("/files"), &options, "file list")
            .await
    }

    /// Retrieves a file's description (`GET /files/{id}`).
    ///
    /// The id is sent as exactly one path segment (reserved characters percent-encoded); an
    /// empty id, `.` or `..` fails with
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) before anything is sent.
    pub async fn retrieve(&self, id: &str) -> Result<FileObject> {
        Ok(self.retrieve_with_meta(id).await?.value)
    }

    /// [`Files::retrieve`], with the response's status, headers and retry count.
    pub async fn retrieve_with_meta(&self, id: &str) -> Result<Response<FileObject>> {
        let path = file_path(id, "")?;
        self.engine
            .get_json(Path::Api(&path), &self.options, "file")
            .await
    }

    /// Deletes a file (`DELETE /files/{id}`).
    pub async fn delete(&self, id: &str) -> Result<FileDeleted> {
        Ok(self.delete_with_meta(id).await?.value)
    }

    /// [`Files::delete`], with the response's status, headers and retry count.
    pub async fn delete_with_meta(&self, id: &str) -> Result<Response<FileDeleted>> {
        let path = file_path(id, "")?;
        self.engine
            .send_json(
                Method::Delete,
                Path::Api(&path),
                &self.options,
                "file deletion",
            )
            .await
    }
}
