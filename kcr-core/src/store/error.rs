//! Backend-neutral storage errors.

use crate::digest::Digest;

/// What a storage backend reports. Backend detail (sled, io) stays as the error's source.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("not found")]
    NotFound,
    /// The object exists already.
    #[error("already exists")]
    AlreadyExists,
    /// A concurrent change conflicted.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Stored data could not be decoded.
    #[error("corrupt data: {what}")]
    Corrupt {
        /// What was being decoded.
        what: String,
    },
    /// An append did not start where the upload stands.
    #[error("upload is at offset {actual}, chunk starts at {expected}")]
    OffsetMismatch {
        /// Where the chunk said it starts.
        expected: u64,
        /// Bytes the upload holds.
        actual: u64,
    },
    /// Finished upload content does not match the promised digest.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The promised digest.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// A requested byte range lies outside the blob.
    #[error("range not satisfiable")]
    RangeNotSatisfiable,
    /// An I/O failure.
    #[error("i/o error")]
    Io(#[source] std::io::Error),
    /// Any other backend failure.
    #[error("storage backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::NotFound {
            StorageError::NotFound
        } else {
            StorageError::Io(e)
        }
    }
}
