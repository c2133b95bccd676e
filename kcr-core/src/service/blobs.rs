//! Blob use cases: stat, read, unlink, cross-repository mount.

use super::Registry;
use crate::digest::Digest;
use crate::error::{CoreError, Result};
use crate::names::ImagePath;
use crate::store::{BlobInfo, BlobLink, BlobReader, ByteRange, StorageError};

/// A link older than this is refreshed when the blob is asked for, so a client that checks a
/// layer exists (and skips uploading it) finds it still there when its manifest arrives, even if
/// a garbage collection runs in between (its default grace period is an hour).
const LINK_REFRESH_AFTER_MS: u64 = 15 * 60 * 1000;

impl Registry {
    /// A blob visible in `image`: linked to it and present in the blob store.
    pub async fn stat_blob(&self, image: &ImagePath, digest: &Digest) -> Result<BlobInfo> {
        let unknown = || CoreError::BlobUnknown {
            digest: digest.clone(),
        };
        let link = self
            .stores
            .meta
            .blob_link(image, digest)
            .await?
            .ok_or_else(unknown)?;
        let info = self.stores.blobs.stat(digest).await?.ok_or_else(unknown)?;
        if self.clock.now().0.saturating_sub(link.linked.0) > LINK_REFRESH_AFTER_MS {
            // At most one write per link per refresh period; the answer does not depend on it.
            if let Err(e) = self.link_stored(image, digest).await {
                tracing::warn!(%image, %digest, error = %e, "could not refresh a blob link");
            }
        }
        Ok(info)
    }

    /// Opens a blob of `image`, whole or a range of it.
    pub async fn open_blob(
        &self,
        image: &ImagePath,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> Result<(BlobInfo, BlobReader)> {
        let info = self.stat_blob(image, digest).await?;
        let reader = self
            .stores
            .blobs
            .open(digest, range)
            .await
            .map_err(|e| match e {
                StorageError::NotFound => CoreError::BlobUnknown {
                    digest: digest.clone(),
                },
                StorageError::RangeNotSatisfiable => CoreError::RangeInvalid {
                    reason: format!("range is outside the blob's {} bytes", info.size),
                    current_size: Some(info.size),
                },
                other => CoreError::Storage(other),
            })?;
        Ok((info, reader))
    }

    /// Removes a blob from `image`. The bytes stay until garbage collection finds them
    /// unreferenced everywhere.
    pub async fn delete_blob(&self, image: &ImagePath, digest: &Digest) -> Result<()> {
        if self.stores.meta.unlink_blob(image, digest).await? {
            Ok(())
        } else {
            Err(CoreError::BlobUnknown {
                digest: digest.clone(),
            })
        }
    }

    /// Mounts a blob of `source` into `target` without copying. `None` when the source does not
    /// have it (the caller then falls back to an upload session).
    pub async fn mount_blob(
        &self,
        target: &ImagePath,
        source: &ImagePath,
        digest: &Digest,
    ) -> Result<Option<BlobInfo>> {
        self.require_repository(target).await?;
        if self.stores.meta.blob_link(source, digest).await?.is_none() {
            return Ok(None);
        }
        self.link_stored(target, digest).await
    }

    /// Links a blob to `image` if its bytes are stored; `None` when they are not. The check and
    /// the link happen inside the garbage collector's barrier, so a collection cannot remove the
    /// bytes in between, and a collection running meanwhile spares them.
    pub(super) async fn link_stored(
        &self,
        image: &ImagePath,
        digest: &Digest,
    ) -> Result<Option<BlobInfo>> {
        let _gc_waits = self.barrier.enter([digest]).await;
        let Some(info) = self.stores.blobs.stat(digest).await? else {
            return Ok(None);
        };
        let link = BlobLink {
            digest: info.digest.clone(),
            size: info.size,
            linked: self.clock.now(),
        };
        self.stores.meta.link_blob(image, link).await?;
        Ok(Some(info))
    }
}
