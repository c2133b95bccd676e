//! Upload use cases: sessions (chunked, resumable), monolithic pushes, and completion.

use super::{upload_error, Registry};
use crate::digest::Digest;
use crate::error::{CoreError, Result};
use crate::names::ImagePath;
use crate::store::{BlobInfo, ByteStream, UploadId, UploadState};

impl Registry {
    /// Opens an upload session on `image`.
    pub async fn start_upload(&self, image: &ImagePath) -> Result<UploadState> {
        self.require_repository(image).await?;
        self.stores
            .uploads
            .begin(&image.to_string())
            .await
            .map_err(upload_error)
    }

    /// A session's state; sessions of other images are unknown here.
    pub async fn upload_status(&self, image: &ImagePath, id: &UploadId) -> Result<UploadState> {
        let state = self.stores.uploads.state(id).await.map_err(upload_error)?;
        if state.owner != image.to_string() {
            return Err(CoreError::UploadUnknown);
        }
        Ok(state)
    }

    /// Appends a chunk. `start` is where the client says it begins (from `Content-Range`);
    /// without it the chunk continues the upload.
    pub async fn append_upload(
        &self,
        image: &ImagePath,
        id: &UploadId,
        start: Option<u64>,
        data: ByteStream,
    ) -> Result<UploadState> {
        let state = self.upload_status(image, id).await?;
        let offset = start.unwrap_or(state.size);
        self.stores
            .uploads
            .append(id, offset, data)
            .await
            .map_err(upload_error)
    }

    /// Completes an upload, with an optional last chunk, verifying the digest; the blob is then
    /// linked to `image`.
    pub async fn finish_upload(
        &self,
        image: &ImagePath,
        id: &UploadId,
        digest: &Digest,
        last_chunk: Option<(Option<u64>, ByteStream)>,
    ) -> Result<BlobInfo> {
        self.upload_status(image, id).await?;
        if let Some((start, data)) = last_chunk {
            self.append_upload(image, id, start, data).await?;
        }
        let info = self
            .stores
            .uploads
            .finish(id, digest)
            .await
            .map_err(upload_error)?;
        // The bytes are in place; a collection that removes them before they are linked (they
        // were an old, unreferenced copy of the same blob) makes the client upload them again.
        self.link_stored(image, &info.digest)
            .await?
            .ok_or_else(|| CoreError::UploadInvalid {
                reason: "the blob was garbage-collected as the upload completed; upload it again"
                    .into(),
            })
    }

    /// Cancels a session.
    pub async fn cancel_upload(&self, image: &ImagePath, id: &UploadId) -> Result<()> {
        self.upload_status(image, id).await?;
        self.stores.uploads.abort(id).await.map_err(upload_error)
    }

    /// Uploads a whole blob in one request (`POST ...?digest=`).
    pub async fn put_blob(
        &self,
        image: &ImagePath,
        digest: &Digest,
        data: ByteStream,
    ) -> Result<BlobInfo> {
        let state = self.start_upload(image).await?;
        let result = self
            .finish_upload(image, &state.id, digest, Some((Some(0), data)))
            .await;
        if result.is_err() {
            // The session may already be gone (digest mismatch ends it); nothing else to undo.
            let _ = self.stores.uploads.abort(&state.id).await;
        }
        result
    }

    /// Cancels upload sessions opened more than `max_age` ago; returns how many.
    pub async fn purge_stale_uploads(&self, max_age: std::time::Duration) -> Result<usize> {
        let cutoff = std::time::SystemTime::now()
            .checked_sub(max_age)
            .unwrap_or(std::time::UNIX_EPOCH);
        let stale = self.stores.uploads.stale(cutoff).await?;
        let mut purged = 0;
        for id in &stale {
            if self.stores.uploads.abort(id).await.is_ok() {
                purged += 1;
            }
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RegistryConfig;

    #[tokio::test]
    async fn purges_only_stale_sessions() {
        let registry = Registry::in_memory(RegistryConfig::default());
        let image = ImagePath::from_full_path("p/r/i").unwrap();
        let old = registry.start_upload(&image).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let purged = registry
            .purge_stale_uploads(std::time::Duration::from_millis(10))
            .await
            .unwrap();
        assert_eq!(purged, 1);
        assert!(matches!(
            registry.upload_status(&image, &old.id).await,
            Err(CoreError::UploadUnknown)
        ));
        let fresh = registry.start_upload(&image).await.unwrap();
        let purged = registry
            .purge_stale_uploads(std::time::Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(purged, 0);
        assert!(registry.upload_status(&image, &fresh.id).await.is_ok());
    }
}
