//! Opening a kcr data directory: the sled metadata engine and the filesystem blob store side by
//! side, with a schema-version check so later releases can migrate the metadata.
//!
//! ```text
//! <data_dir>/
//!   meta/      sled database (SledKvEngine); key "\0schema" holds the schema version ("1")
//!   blobs/     FsBlobStore root (blobs/, uploads/, tmp/ inside)
//! ```
//!
//! The version key starts with `\0`, which no metadata key does (they start with a record kind
//! such as `proj` or `tag`), so it never shows up in the metadata layer's prefix scans.

use std::path::Path;
use std::sync::Arc;

use kcr_core::store::kv::KvEngine;
use kcr_core::store::StorageError;

use crate::fs::FsBlobStore;
use crate::sled_kv::SledKvEngine;

/// Key of the metadata schema version, in the engine's key space.
pub const SCHEMA_KEY: &[u8] = b"\0schema";

/// The metadata schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// The persistent stores of one data directory.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Metadata engine (sled).
    pub kv: Arc<SledKvEngine>,
    /// Blob contents and upload sessions (filesystem).
    pub blobs: Arc<FsBlobStore>,
}

/// Why a data directory's metadata cannot be used by this build.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The directory was written by a newer kcr.
    #[error("metadata schema version {found} is newer than the {supported} this kcr supports")]
    TooNew {
        /// Version on disk.
        found: u32,
        /// Version of this build.
        supported: u32,
    },
    /// The version key holds something that is not a version number.
    #[error("metadata schema version key holds {0:?}")]
    Unreadable(Vec<u8>),
}

/// Opens (creating when missing) the stores of `data_dir`: `data_dir/meta` for sled and
/// `data_dir/blobs` for blobs. Fails with `StorageError::Backend` (source [`SchemaError`]) when the
/// metadata was written by an incompatible version.
pub fn open(data_dir: &Path) -> Result<Stores, StorageError> {
    std::fs::create_dir_all(data_dir).map_err(StorageError::Io)?;
    let kv = SledKvEngine::open(&data_dir.join("meta"))?;
    check_schema(&kv)?;
    let blobs = FsBlobStore::open(data_dir.join("blobs"))?;
    Ok(Stores {
        kv: Arc::new(kv),
        blobs: Arc::new(blobs),
    })
}

/// Stamps a new database with [`SCHEMA_VERSION`], accepts a current one, refuses a newer one.
/// (Older versions will be migrated here once there are any.)
fn check_schema(kv: &SledKvEngine) -> Result<(), StorageError> {
    match kv.get(SCHEMA_KEY)? {
        None => {
            if !kv.is_empty() {
                // Written before the version key existed: that layout is version 1.
                tracing::info!("stamping metadata with schema version {SCHEMA_VERSION}");
            }
            kv.put_raw(SCHEMA_KEY, SCHEMA_VERSION.to_string().as_bytes())?;
            kv.flush_blocking()
        }
        Some(raw) => {
            let found = std::str::from_utf8(&raw)
                .ok()
                .and_then(|s| s.parse::<u32>().ok())
                .ok_or_else(|| {
                    StorageError::Backend(Box::new(SchemaError::Unreadable(raw.clone())))
                })?;
            if found > SCHEMA_VERSION {
                return Err(StorageError::Backend(Box::new(SchemaError::TooNew {
                    found,
                    supported: SCHEMA_VERSION,
                })));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_then_accepts_then_refuses_newer() {
        let dir = tempfile::tempdir().unwrap();
        let stores = open(dir.path()).unwrap();
        assert_eq!(stores.kv.get(SCHEMA_KEY).unwrap().unwrap(), b"1");
        stores.kv.put_raw(SCHEMA_KEY, b"2").unwrap();
        stores.kv.flush_blocking().unwrap();
        drop(stores);
        let err = open(dir.path()).unwrap_err();
        let StorageError::Backend(source) = err else {
            panic!("expected a backend error, got {err:?}");
        };
        assert!(matches!(
            source.downcast_ref::<SchemaError>(),
            Some(SchemaError::TooNew {
                found: 2,
                supported: 1
            })
        ));
    }

    #[test]
    fn creates_both_stores() {
        let dir = tempfile::tempdir().unwrap();
        let stores = open(dir.path()).unwrap();
        assert!(dir.path().join("meta").is_dir());
        assert!(dir.path().join("blobs").join("uploads").is_dir());
        assert_eq!(stores.blobs.root(), dir.path().join("blobs"));
    }
}
