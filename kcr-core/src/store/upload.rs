//! Resumable upload sessions: bytes are appended in order, hashed as they arrive, and moved into
//! the blob store when the client states the digest.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use async_trait::async_trait;
use rand::Rng;

use super::{BlobInfo, ByteStream, StorageError, StoreResult};
use crate::digest::Digest;

/// An upload session id: 32 lowercase hex characters, random.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId(String);

impl UploadId {
    /// A fresh random id.
    pub fn random() -> Self {
        let bytes: [u8; 16] = rand::thread_rng().gen();
        UploadId(hex::encode(bytes))
    }

    /// The id as text (safe to use as a file name).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UploadId {
    type Err = StorageError;
    fn from_str(s: &str) -> Result<Self, StorageError> {
        if s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            Ok(UploadId(s.to_owned()))
        } else {
            Err(StorageError::NotFound)
        }
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where an upload session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    /// The session id.
    pub id: UploadId,
    /// Who owns it: the image path the session was opened on (sessions are not shared).
    pub owner: String,
    /// Bytes received so far.
    pub size: u64,
    /// When the session was opened.
    pub started: SystemTime,
}

/// Resumable upload sessions, kept so that a chunked upload survives a restart where the backend
/// is persistent.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Opens a session owned by `owner`.
    async fn begin(&self, owner: &str) -> StoreResult<UploadState>;
    /// Appends a chunk that must start at `offset` (the session's size), or fails with
    /// `OffsetMismatch` and appends nothing. Bytes received before a stream error are kept.
    async fn append(
        &self,
        id: &UploadId,
        offset: u64,
        data: ByteStream,
    ) -> StoreResult<UploadState>;
    /// The session's state; `NotFound` when unknown.
    async fn state(&self, id: &UploadId) -> StoreResult<UploadState>;
    /// Verifies the content against `expected` and moves it into the blob store durably.
    /// The session ends either way; a wrong digest fails with `DigestMismatch`.
    async fn finish(&self, id: &UploadId, expected: &Digest) -> StoreResult<BlobInfo>;
    /// Cancels a session and discards its bytes.
    async fn abort(&self, id: &UploadId) -> StoreResult<()>;
    /// Sessions opened before `older_than`, for cleanup.
    async fn stale(&self, older_than: SystemTime) -> StoreResult<Vec<UploadId>>;
}
