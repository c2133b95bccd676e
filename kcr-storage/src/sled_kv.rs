//! `SledKvEngine`: the metadata key-value engine on sled 0.34, in one tree (sled's default tree).
//!
//! Transactions are sled's serialisable single-tree transactions: a body that meets a conflict is
//! re-run by sled, which is why [`KvEngine::transact`] bodies must be free of side effects.
//! Committed transactions reach the disk on sled's flush timer, or when [`KvEngine::sync`] asks for
//! a flush; concurrent flushes share one sync (group commit), which keeps small pushes cheap.

use std::ops::Bound;
use std::path::Path;

use async_trait::async_trait;
use kcr_core::store::kv::{KvEngine, KvTxn, TxnError};
use kcr_core::store::StorageError;
use kcr_core::CoreError;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

/// An ordered key-value engine backed by sled.
#[derive(Debug, Clone)]
pub struct SledKvEngine {
    db: sled::Db,
}

impl SledKvEngine {
    /// Opens (creating when missing) a database in the directory `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let db = sled::Config::new().path(path).open().map_err(sled_error)?;
        Ok(SledKvEngine { db })
    }

    /// A throwaway database, removed when the engine is dropped (for tests).
    pub fn temporary() -> Result<Self, StorageError> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(sled_error)?;
        Ok(SledKvEngine { db })
    }

    /// Writes a key outside any transaction (crate-internal bookkeeping such as the schema
    /// version).
    pub(crate) fn put_raw(&self, key: &[u8], value: &[u8]) -> Result<(), StorageError> {
        self.db.insert(key, value).map(|_| ()).map_err(sled_error)
    }

    /// Whether the database holds no key at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.db.is_empty()
    }

    /// Flushes synchronously (used at startup, outside the async runtime).
    pub(crate) fn flush_blocking(&self) -> Result<(), StorageError> {
        self.db.flush().map(|_| ()).map_err(sled_error)
    }
}

/// Maps a sled error, keeping it (or its io error) as the source.
pub(crate) fn sled_error(e: sled::Error) -> StorageError {
    match e {
        sled::Error::Io(io) => StorageError::Io(io),
        other => StorageError::Backend(Box::new(other)),
    }
}

fn txn_error(e: UnabortableTransactionError) -> TxnError {
    match e {
        UnabortableTransactionError::Conflict => TxnError::Conflict,
        UnabortableTransactionError::Storage(e) => TxnError::Storage(sled_error(e)),
    }
}

/// A transaction body's view of the tree.
struct SledTxn<'a>(&'a TransactionalTree);

impl KvTxn for SledTxn<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxnError> {
        self.0
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(txn_error)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), TxnError> {
        self.0.insert(key, value).map(|_| ()).map_err(txn_error)
    }

    fn delete(&self, key: &[u8]) -> Result<(), TxnError> {
        self.0.remove(key).map(|_| ()).map_err(txn_error)
    }
}

#[async_trait]
impl KvEngine for SledKvEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.db
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(sled_error)
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<kcr_core::store::kv::KvPair>, StorageError> {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for item in self.db.range::<Vec<u8>, _>((start, Bound::Unbounded)) {
            let (k, v) = item.map_err(sled_error)?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    fn transact<T>(
        &self,
        body: impl Fn(&dyn KvTxn) -> Result<T, TxnError>,
    ) -> Result<T, CoreError> {
        let result = self.db.transaction(|tree| match body(&SledTxn(tree)) {
            Ok(v) => Ok(v),
            Err(TxnError::Abort(e)) => Err(ConflictableTransactionError::Abort(e)),
            // sled re-runs the body.
            Err(TxnError::Conflict) => Err(ConflictableTransactionError::Conflict),
            Err(TxnError::Storage(e)) => {
                Err(ConflictableTransactionError::Abort(CoreError::Storage(e)))
            }
        });
        match result {
            Ok(v) => Ok(v),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(CoreError::Storage(sled_error(e))),
        }
    }

    async fn sync(&self) -> Result<(), StorageError> {
        self.db.flush_async().await.map(|_| ()).map_err(sled_error)
    }
}
