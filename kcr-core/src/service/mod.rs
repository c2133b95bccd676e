//! The registry service: every OCI Distribution operation as one method over the storage seams.
//! The HTTP server parses a request, calls one method here, and renders the result.

#[cfg(test)]
mod access_generation_tests;
mod blobs;
mod gc;
mod history;
mod manifests;
mod referrers;
mod tags;
#[cfg(test)]
mod test_images;
mod uploads;

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::error::{CoreError, Result};
use crate::gc::WriteBarrier;
use crate::names::ImagePath;
use crate::quota::QuotaLimits;
use crate::store::{BlobStore, MetadataStore, StorageError, UploadStore};

pub use history::DeletedTag;
pub use manifests::{PushedManifest, StoredManifest};
pub use referrers::ReferrersIndex;
pub use tags::{Page, MAX_PAGE};

/// Service-wide settings.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Quotas.
    pub limits: QuotaLimits,
    /// Create projects and repositories on first push (open mode for test harnesses) instead of
    /// answering `NameUnknown`.
    pub create_on_push: bool,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            limits: QuotaLimits::default(),
            create_on_push: true,
        }
    }
}

/// The storage seams a registry runs on.
#[derive(Clone)]
pub struct Stores {
    /// Blob bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Upload sessions.
    pub uploads: Arc<dyn UploadStore>,
    /// Metadata.
    pub meta: Arc<dyn MetadataStore>,
}

/// The registry façade embedders and the server call.
#[derive(Clone)]
pub struct Registry {
    stores: Stores,
    clock: Arc<dyn Clock>,
    config: RegistryConfig,
    /// Shared by clones: pushes and the garbage collector coordinate through it.
    barrier: Arc<WriteBarrier>,
}

impl Registry {
    /// A registry over `stores`, on the system clock.
    pub fn new(stores: Stores, config: RegistryConfig) -> Self {
        Registry {
            stores,
            clock: Arc::new(SystemClock),
            config,
            barrier: Arc::new(WriteBarrier::default()),
        }
    }

    /// Replaces the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A registry on fresh in-memory stores (tests and embedding harnesses).
    #[cfg(any(test, feature = "testing"))]
    pub fn in_memory(config: RegistryConfig) -> Self {
        use crate::store::kv::KvMetadataStore;
        use crate::testing::{MemoryBlobStore, MemoryKvEngine};
        let blobs = Arc::new(MemoryBlobStore::new());
        let meta = Arc::new(KvMetadataStore::new(Arc::new(MemoryKvEngine::new())));
        Registry::new(
            Stores {
                blobs: blobs.clone(),
                uploads: blobs,
                meta,
            },
            config,
        )
    }

    /// The settings.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// The metadata store (management operations not wrapped here).
    pub fn meta(&self) -> &Arc<dyn MetadataStore> {
        &self.stores.meta
    }

    /// Fails with `NameUnknown` when pushes may not create the image's repository and it is missing.
    async fn require_repository(&self, image: &ImagePath) -> Result<()> {
        if self.config.create_on_push {
            return Ok(());
        }
        match self
            .stores
            .meta
            .repository(image.project(), image.repository())
            .await?
        {
            Some(_) => Ok(()),
            None => Err(CoreError::repository_missing(image)),
        }
    }
}

/// Maps upload-store failures to their domain meaning.
fn upload_error(e: StorageError) -> CoreError {
    match e {
        StorageError::NotFound => CoreError::UploadUnknown,
        StorageError::OffsetMismatch { expected, actual } => CoreError::RangeInvalid {
            reason: format!("chunk starts at {expected} but the upload holds {actual} bytes"),
            current_size: Some(actual),
        },
        StorageError::DigestMismatch { expected, actual } => {
            CoreError::DigestMismatch { expected, actual }
        }
        StorageError::Conflict(reason) => CoreError::UploadInvalid { reason },
        // The request body broke off (the client went away): the bytes received so far stay in
        // the session, and it is the client's failure, not the server's.
        StorageError::Io(e) if e.kind() == std::io::ErrorKind::ConnectionAborted => {
            CoreError::UploadInvalid {
                reason: format!("the request body was cut off: {e}"),
            }
        }
        other => CoreError::Storage(other),
    }
}
