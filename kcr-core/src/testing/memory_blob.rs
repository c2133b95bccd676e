//! `MemoryBlobStore`: blobs and upload sessions held in memory (one type implements both seams,
//! as the filesystem backend does, so `finish` moves bytes without copying).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::digest::{Digest, DigestHasher};
use crate::store::{
    BlobInfo, BlobReader, BlobStore, ByteRange, ByteStream, StorageError, StoreResult, UploadId,
    UploadState, UploadStore,
};

struct Session {
    state: UploadState,
    data: BytesMut,
    /// Hashers per algorithm are cheap; keep sha256 running and recompute sha512 on demand.
    sha256: DigestHasher,
    busy: bool,
}

/// In-memory blob and upload store.
#[derive(Default)]
pub struct MemoryBlobStore {
    blobs: Mutex<HashMap<Digest, (Bytes, SystemTime)>>,
    uploads: Mutex<HashMap<UploadId, Session>>,
}

impl MemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn blobs(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, (Bytes, SystemTime)>> {
        self.blobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn uploads(&self) -> std::sync::MutexGuard<'_, HashMap<UploadId, Session>> {
        self.uploads.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn stat(&self, digest: &Digest) -> StoreResult<Option<BlobInfo>> {
        Ok(self.blobs().get(digest).map(|(b, t)| BlobInfo {
            digest: digest.clone(),
            size: b.len() as u64,
            modified: *t,
        }))
    }

    async fn open(&self, digest: &Digest, range: Option<ByteRange>) -> StoreResult<BlobReader> {
        let bytes = self
            .blobs()
            .get(digest)
            .map(|(b, _)| b.clone())
            .ok_or(StorageError::NotFound)?;
        let slice = match range {
            None => bytes,
            Some(r) => {
                let len = bytes.len() as u64;
                if r.start >= len || r.end < r.start {
                    return Err(StorageError::RangeNotSatisfiable);
                }
                let end = r.end.min(len - 1);
                bytes.slice(r.start as usize..=end as usize)
            }
        };
        Ok(Box::pin(std::io::Cursor::new(slice)))
    }

    async fn delete(&self, digest: &Digest) -> StoreResult<bool> {
        Ok(self.blobs().remove(digest).is_some())
    }

    async fn inventory(&self) -> StoreResult<Vec<BlobInfo>> {
        Ok(self
            .blobs()
            .iter()
            .map(|(d, (b, t))| BlobInfo {
                digest: d.clone(),
                size: b.len() as u64,
                modified: *t,
            })
            .collect())
    }
}

struct BusyGuard<'a> {
    store: &'a MemoryBlobStore,
    id: &'a UploadId,
}

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.store.uploads().get_mut(self.id) {
            s.busy = false;
        }
    }
}

#[async_trait]
impl UploadStore for MemoryBlobStore {
    async fn begin(&self, owner: &str) -> StoreResult<UploadState> {
        let state = UploadState {
            id: UploadId::random(),
            owner: owner.to_owned(),
            size: 0,
            started: SystemTime::now(),
        };
        self.uploads().insert(
            state.id.clone(),
            Session {
                state: state.clone(),
                data: BytesMut::new(),
                sha256: DigestHasher::new(crate::digest::Algorithm::Sha256),
                busy: false,
            },
        );
        Ok(state)
    }

    async fn append(
        &self,
        id: &UploadId,
        offset: u64,
        mut data: ByteStream,
    ) -> StoreResult<UploadState> {
        {
            let mut uploads = self.uploads();
            let s = uploads.get_mut(id).ok_or(StorageError::NotFound)?;
            if s.busy {
                return Err(StorageError::Conflict(
                    "another chunk is being written".into(),
                ));
            }
            if s.state.size != offset {
                return Err(StorageError::OffsetMismatch {
                    expected: offset,
                    actual: s.state.size,
                });
            }
            s.busy = true;
        }
        // Clears the busy flag however this future ends (a dropped request included).
        let _guard = BusyGuard { store: self, id };
        let mut failure = None;
        while let Some(chunk) = data.next().await {
            match chunk {
                Ok(chunk) => {
                    let mut uploads = self.uploads();
                    let s = uploads.get_mut(id).ok_or(StorageError::NotFound)?;
                    s.sha256.update(&chunk);
                    s.data.extend_from_slice(&chunk);
                    s.state.size += chunk.len() as u64;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let uploads = self.uploads();
        let s = uploads.get(id).ok_or(StorageError::NotFound)?;
        match failure {
            Some(e) => Err(StorageError::Io(e)),
            None => Ok(s.state.clone()),
        }
    }

    async fn state(&self, id: &UploadId) -> StoreResult<UploadState> {
        self.uploads()
            .get(id)
            .map(|s| s.state.clone())
            .ok_or(StorageError::NotFound)
    }

    async fn finish(&self, id: &UploadId, expected: &Digest) -> StoreResult<BlobInfo> {
        let session = self.uploads().remove(id).ok_or(StorageError::NotFound)?;
        let data = session.data.freeze();
        let actual = match expected.algorithm() {
            crate::digest::Algorithm::Sha256 => session.sha256.finish(),
            _ => expected.of_same_algorithm(&data),
        };
        if &actual != expected {
            return Err(StorageError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        let now = SystemTime::now();
        let size = data.len() as u64;
        self.blobs().insert(actual.clone(), (data, now));
        Ok(BlobInfo {
            digest: actual,
            size,
            modified: now,
        })
    }

    async fn abort(&self, id: &UploadId) -> StoreResult<()> {
        self.uploads()
            .remove(id)
            .map(|_| ())
            .ok_or(StorageError::NotFound)
    }

    async fn stale(&self, older_than: SystemTime) -> StoreResult<Vec<UploadId>> {
        Ok(self
            .uploads()
            .values()
            .filter(|s| s.state.started < older_than)
            .map(|s| s.state.id.clone())
            .collect())
    }
}
