//! Reading, stating, deleting and listing finished blobs.

use std::fs;
use std::io::{self, SeekFrom};
use std::path::Path;

use async_trait::async_trait;
use kcr_core::store::{BlobInfo, BlobReader, BlobStore, ByteRange, StorageError, StoreResult};
use kcr_core::{Algorithm, Digest};
use tokio::io::{AsyncReadExt, AsyncSeekExt, BufReader};

use super::layout::{Layout, ALGORITHMS};
use super::{blocking, FsBlobStore};

/// Read-ahead of a blob reader: each blocking read fetches this much, so a caller reading in small
/// pieces does not pay one thread hop per piece.
const READ_BUFFER: u64 = 1 << 20;

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn stat(&self, digest: &Digest) -> StoreResult<Option<BlobInfo>> {
        match tokio::fs::metadata(self.layout.blob(digest)).await {
            Ok(meta) if meta.is_file() => Ok(Some(BlobInfo {
                digest: digest.clone(),
                size: meta.len(),
                modified: meta.modified().map_err(StorageError::Io)?,
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::Io(e)),
        }
    }

    async fn open(&self, digest: &Digest, range: Option<ByteRange>) -> StoreResult<BlobReader> {
        // `From<io::Error>` maps a missing file to `NotFound`.
        let mut file = tokio::fs::File::open(self.layout.blob(digest)).await?;
        let size = file.metadata().await.map_err(StorageError::Io)?.len();
        let (start, len) = match range {
            None => (0, size),
            Some(r) => {
                if r.start >= size || r.end < r.start {
                    return Err(StorageError::RangeNotSatisfiable);
                }
                let end = r.end.min(size - 1);
                (r.start, end - r.start + 1)
            }
        };
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .await
                .map_err(StorageError::Io)?;
        }
        let capacity = usize::try_from(len.clamp(1, READ_BUFFER)).unwrap_or(1 << 20);
        Ok(Box::pin(BufReader::with_capacity(capacity, file.take(len))))
    }

    async fn delete(&self, digest: &Digest) -> StoreResult<bool> {
        match tokio::fs::remove_file(self.layout.blob(digest)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StorageError::Io(e)),
        }
    }

    async fn inventory(&self) -> StoreResult<Vec<BlobInfo>> {
        let layout = self.layout.clone();
        blocking(move || inventory(&layout).map_err(StorageError::Io)).await
    }
}

/// Walks `blobs/<algorithm>/<xx>/<hex>`, skipping anything that is not a well-placed blob.
fn inventory(layout: &Layout) -> io::Result<Vec<BlobInfo>> {
    let mut out = Vec::new();
    for algorithm in ALGORITHMS {
        let Some(fanout) = read_dir_if_exists(&layout.algorithm_dir(algorithm))? else {
            continue;
        };
        for prefix in fanout {
            let prefix = prefix?;
            if !prefix.file_type()?.is_dir() {
                continue;
            }
            let Some(entries) = read_dir_if_exists(&prefix.path())? else {
                continue;
            };
            for entry in entries {
                if let Some(info) = blob_entry(algorithm, &prefix.file_name(), &entry?)? {
                    out.push(info);
                }
            }
        }
    }
    Ok(out)
}

/// The blob an entry of `blobs/<algorithm>/<prefix>/` holds, if it is one.
fn blob_entry(
    algorithm: Algorithm,
    prefix: &std::ffi::OsStr,
    entry: &fs::DirEntry,
) -> io::Result<Option<BlobInfo>> {
    let name = entry.file_name();
    let (Some(name), Some(prefix)) = (name.to_str(), prefix.to_str()) else {
        return Ok(None);
    };
    let Ok(digest) = Digest::new(algorithm, name) else {
        return Ok(None);
    };
    if !name.starts_with(prefix) || prefix.len() != 2 {
        return Ok(None);
    }
    let meta = match entry.metadata() {
        Ok(m) => m,
        // Deleted between listing and stat (a concurrent delete): not part of the inventory.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Ok(None);
    }
    Ok(Some(BlobInfo {
        digest,
        size: meta.len(),
        modified: meta.modified()?,
    }))
}

fn read_dir_if_exists(dir: &Path) -> io::Result<Option<fs::ReadDir>> {
    match fs::read_dir(dir) {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}
