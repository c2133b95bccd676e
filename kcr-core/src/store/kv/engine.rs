//! The ordered key-value engine the metadata store runs on.

use async_trait::async_trait;

use crate::error::CoreError;
use crate::store::StorageError;

/// A key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// Why a transaction body stopped.
#[derive(Debug)]
pub enum TxnError {
    /// A domain rule refused the change (quota, unknown blob...): abort, do not retry.
    Abort(CoreError),
    /// A concurrent transaction conflicted: the engine re-runs the body.
    Conflict,
    /// The engine failed.
    Storage(StorageError),
}

impl From<CoreError> for TxnError {
    fn from(e: CoreError) -> Self {
        TxnError::Abort(e)
    }
}

/// Reads and writes inside one transaction. Reads see the transaction's own writes.
pub trait KvTxn {
    /// Reads a key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxnError>;
    /// Writes a key.
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), TxnError>;
    /// Removes a key.
    fn delete(&self, key: &[u8]) -> Result<(), TxnError>;
}

/// An ordered byte-keyed store with serialisable transactions over single keys and range scans
/// outside transactions (sled's model).
#[async_trait]
pub trait KvEngine: Send + Sync + 'static {
    /// Reads a committed key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Keys starting with `prefix`, in byte order, strictly after `after` when given, at most
    /// `limit` pairs.
    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KvPair>, StorageError>;
    /// The keys of [`scan`](Self::scan), without copying the values (listings that only need
    /// names, such as the tags of an image).
    fn scan_keys(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(self
            .scan(prefix, after, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
    /// Runs `body` atomically. The body may run more than once (on conflict), so it must have no
    /// side effects beyond the transaction. An `Abort` error is returned as is; the engine maps
    /// its own failures into `CoreError::Storage`.
    fn transact<T>(&self, body: impl Fn(&dyn KvTxn) -> Result<T, TxnError>) -> Result<T, CoreError>
    where
        Self: Sized;
    /// Makes every transaction committed so far durable. Concurrent calls may share one sync.
    async fn sync(&self) -> Result<(), StorageError>;
}
