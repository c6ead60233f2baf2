//! `/files`: uploaded files.

use crate::call::Path;
use crate::download::Download;
use crate::error::Result;
use crate::form::Form;
use crate::response::Response;
use crate::transport::Method;
use crate::types::{FileDeleted, FileList, FileListParams, FileObject, FilePurpose};
use crate::upload::Upload;

super::handle!(
    /// Files: upload, list, describe, download and delete. Get one with
    /// [`Client::files`](crate::Client::files).
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::{Client, Upload};
    /// use oai_compat::types::FilePurpose;
    ///
    /// let client = Client::new()?;
    /// let file = client.files().create(Upload::path("requests.jsonl"), FilePurpose::Batch)?;
    /// println!("{} ({:?} bytes)", file.id, file.bytes);
    /// let mut copy = Vec::new();
    /// client.files().content(&file.id)?.write_to(&mut copy)?;
    /// assert!(client.files().delete(&file.id)?.deleted);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    Files
);

super::pager::pager!(
    /// The pages of a file listing, one `GET /files` each: made by [`Files::pages`], read with
    /// `try_next` until it gives `Ok(None)`.
    ///
    #[cfg_attr(feature = "blocking", doc = "```")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// use oai_compat::Upload;
    /// use oai_compat::types::FileListParams;
    /// # let server = oai_compat_mock::MockServer::start().map_err(|e| oai_compat::Error::Config(e.to_string()))?;
    /// # let client = oai_compat::Client::builder().base_url(server.url()).use_env(false).build()?;
    /// for name in ["a.jsonl", "b.jsonl", "c.jsonl"] {
    ///     client.files().create(Upload::bytes(name, b"{}\n".to_vec()), "batch")?;
    /// }
    /// let mut pages = client.files().pages(FileListParams::new().limit(2));
    /// let mut names = Vec::new();
    /// while let Some(page) = pages.try_next()? {
    ///     names.extend(page.data.into_iter().filter_map(|f| f.filename));
    /// }
    /// names.sort();
    /// assert_eq!(names, ["a.jsonl", "b.jsonl", "c.jsonl"]);
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    FilePages { handle: Files, page: FileList, params: FileListParams, what: "file list" }
);

impl<'c> Files<'c> {
    /// Pages through the files (`GET /files`, then again `after` each page's last file, as
    /// long as the server says more follow), starting at `params`; see [`FilePages`].
    pub fn pages(&self, params: FileListParams) -> FilePages<'c> {
        FilePages::new(self.clone(), params)
    }
}

/// The path of file `id` (plus `tail`), its id sent as one path segment.
fn file_path(id: &str, tail: &str) -> Result<String> {
    Ok(format!(
        "/files/{}{tail}",
        crate::url::path_segment("file id", id)?
    ))
}

#[cfg_attr(feature = "blocking", maybe_async::must_be_sync)]
impl Files<'_> {
    /// Uploads a file (`POST /files`, a multipart form of `purpose` then `file`).
    ///
    /// An [`Upload::path`] is streamed from disk, never read whole, and read again from the
    /// start if the call is retried; the name sent is the path's last component unless
    /// [`Upload::filename`] says otherwise. OpenAI takes files up to 512 MB (a batch's input
    /// up to 200 MB and 50,000 lines).
    pub async fn create(
        &self,
        upload: Upload,
        purpose: impl Into<FilePurpose>,
    ) -> Result<FileObject> {
        Ok(self.create_with_meta(upload, purpose).await?.value)
    }

    /// [`Files::create`], with the response's status, headers and retry count.
    pub async fn create_with_meta(
        &self,
        upload: Upload,
        purpose: impl Into<FilePurpose>,
    ) -> Result<Response<FileObject>> {
        let form = Form::new()
            .text("purpose", purpose.into().as_str())
            .file("file", upload);
        self.engine
            .post_form(Path::Api("/files"), &form, &self.options, "file")
            .await
    }

    /// Lists files (`GET /files?purpose=..&limit=..&after=..&order=..`); page on with
    /// [`FileList::next_params`], or let [`Files::pages`] do it.
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

    /// Downloads a file's content (`GET /files/{id}/content`), piece by piece: a batch's
    /// output or error file, or a file you uploaded (OpenAI does not let `user_data`,
    /// `assistants` and some other purposes be downloaded). Not bounded by
    /// `max_response_bytes`; see [`Download`] for its timeouts, and [`Download::meta`] for
    /// the response's status and headers.
    ///
    #[cfg_attr(feature = "blocking", doc = "```no_run")]
    // Written for the blocking signatures; in async mode every call here is `.await`ed.
    #[cfg_attr(not(feature = "blocking"), doc = "```ignore")]
    /// let client = oai_compat::Client::new()?;
    /// let mut content = client.files().content("file-abc")?;
    /// while let Some(piece) = content.next_chunk()? {
    ///     print!("{}", String::from_utf8_lossy(piece));
    /// }
    /// # Ok::<_, oai_compat::Error>(())
    /// ```
    pub async fn content(&self, id: &str) -> Result<Download> {
        let path = file_path(id, "/content")?;
        self.engine.download(Path::Api(&path), &self.options).await
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
