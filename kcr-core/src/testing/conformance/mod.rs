//! Async test suites that every storage backend runs (the memory ones in kcr-core, sled and the
//! filesystem in kcr-storage).
//!
//! Each suite is a set of `pub async fn` cases taking the store under test, plus a `run_all` that
//! runs them in order on one store. Cases share the store, so they only assert about what they
//! created themselves (fresh upload ids, fresh content, their own key prefixes). Every storage bug
//! found becomes a case here.
//!
//! ```text
//! let store = MyBlobStore::new();
//! kcr_core::testing::conformance::upload::run_all(&store).await;
//! kcr_core::testing::conformance::blob::run_all(&store).await;
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod blob;
pub mod kv;
pub mod upload;

use bytes::Bytes;
use tokio::io::AsyncReadExt;

use crate::digest::Digest;
use crate::store::{BlobInfo, BlobReader, ByteStream, StoreResult, UploadStore};

/// A body stream yielding `chunks` in order.
pub fn stream_of(chunks: Vec<Vec<u8>>) -> ByteStream {
    let items: Vec<std::io::Result<Bytes>> =
        chunks.into_iter().map(|c| Ok(Bytes::from(c))).collect();
    Box::pin(futures_util::stream::iter(items))
}

/// `len` deterministic pseudo-random bytes; different seeds give different content.
pub fn content(len: usize, seed: u64) -> Vec<u8> {
    // xorshift64*: cheap, and no two seeds of a suite collide.
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}

/// Uploads `bytes` in one append and finishes with their SHA-256.
pub async fn push<S: UploadStore + ?Sized>(store: &S, bytes: &[u8]) -> BlobInfo {
    let state = store.begin("conformance/push").await.unwrap();
    store
        .append(&state.id, 0, stream_of(vec![bytes.to_vec()]))
        .await
        .unwrap();
    store
        .finish(&state.id, &Digest::sha256_of(bytes))
        .await
        .unwrap()
}

/// Everything a reader yields.
pub async fn read_all(mut reader: BlobReader) -> Vec<u8> {
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.unwrap();
    out
}

/// The error of a result that must have failed (for values that are not `Debug`).
pub fn expect_err<T>(result: StoreResult<T>, what: &str) -> crate::store::StorageError {
    match result {
        Ok(_) => panic!("{what}: expected an error, got success"),
        Err(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::{MemoryBlobStore, MemoryKvEngine};

    #[tokio::test]
    async fn memory_blob_store_passes_blob_suite() {
        super::blob::run_all(&MemoryBlobStore::new()).await;
    }

    #[tokio::test]
    async fn memory_blob_store_passes_upload_suite() {
        super::upload::run_all(&MemoryBlobStore::new()).await;
    }

    #[tokio::test]
    async fn memory_kv_engine_passes_kv_suite() {
        super::kv::run_all(&MemoryKvEngine::new()).await;
    }
}
