//! Opens the embedded default storage (sled metadata + filesystem blobs) as a registry.

use std::path::Path;
use std::sync::Arc;

use kcr_core::store::kv::KvMetadataStore;
use kcr_core::store::StorageError;
use kcr_core::{Registry, RegistryConfig, Stores};

/// A registry on the persistent stores under `data_dir`.
pub fn open_registry(data_dir: &Path, config: RegistryConfig) -> Result<Registry, StorageError> {
    let opened = kcr_storage::open(data_dir)?;
    let stores = Stores {
        blobs: opened.blobs.clone(),
        uploads: opened.blobs,
        meta: Arc::new(KvMetadataStore::new(opened.kv)),
    };
    Ok(Registry::new(stores, config))
}
