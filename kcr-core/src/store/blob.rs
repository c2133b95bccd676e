//! Content-addressed blob bytes, global to the registry. Which repository may see a blob is a
//! metadata fact (a blob link), not a property of the bytes.

use std::time::SystemTime;

use async_trait::async_trait;

use super::{BlobReader, StoreResult};
use crate::digest::Digest;

/// Size and age of a stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// The blob's digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// When the bytes were last written (GC's grace period counts from here).
    pub modified: SystemTime,
}

/// An inclusive byte range `start..=end` within a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte, inclusive.
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Always false: a range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Global content-addressed blob storage.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Size and age of a blob, or `None` when absent.
    async fn stat(&self, digest: &Digest) -> StoreResult<Option<BlobInfo>>;
    /// Reads a blob, whole or a range of it. `NotFound` when absent, `RangeNotSatisfiable` when
    /// the range starts past the end.
    async fn open(&self, digest: &Digest, range: Option<ByteRange>) -> StoreResult<BlobReader>;
    /// Removes a blob's bytes; returns whether they existed.
    async fn delete(&self, digest: &Digest) -> StoreResult<bool>;
    /// Every stored blob, for garbage collection.
    async fn inventory(&self) -> StoreResult<Vec<BlobInfo>>;
}
