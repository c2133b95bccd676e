//! `MemoryKvEngine`: the metadata engine held in a `BTreeMap`, with serialisable transactions by
//! holding one lock for the transaction's length.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::CoreError;
use crate::store::kv::{KvEngine, KvPair, KvTxn, TxnError};
use crate::store::StorageError;

/// An in-memory ordered key-value engine.
#[derive(Debug, Default)]
pub struct MemoryKvEngine {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryKvEngine {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // A poisoned lock only means another thread panicked mid-read; the map itself is only
        // changed after a transaction body succeeded, so it is consistent.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Overlay<'a> {
    base: &'a BTreeMap<Vec<u8>, Vec<u8>>,
    writes: RefCell<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl KvTxn for Overlay<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TxnError> {
        if let Some(w) = self.writes.borrow().get(key) {
            return Ok(w.clone());
        }
        Ok(self.base.get(key).cloned())
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), TxnError> {
        self.writes
            .borrow_mut()
            .insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<(), TxnError> {
        self.writes.borrow_mut().insert(key.to_vec(), None);
        Ok(())
    }
}

#[async_trait]
impl KvEngine for MemoryKvEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.lock().get(key).cloned())
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KvPair>, StorageError> {
        let map = self.lock();
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        Ok(map
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn transact<T>(
        &self,
        body: impl Fn(&dyn KvTxn) -> Result<T, TxnError>,
    ) -> Result<T, CoreError> {
        let mut map = self.lock();
        let overlay = Overlay {
            base: &map,
            writes: RefCell::new(BTreeMap::new()),
        };
        let value = match body(&overlay) {
            Ok(v) => v,
            Err(TxnError::Abort(e)) => return Err(e),
            Err(TxnError::Storage(e)) => return Err(CoreError::Storage(e)),
            Err(TxnError::Conflict) => {
                return Err(CoreError::Storage(StorageError::Conflict(
                    "unexpected conflict in memory engine".into(),
                )))
            }
        };
        let writes = overlay.writes.into_inner();
        for (k, v) in writes {
            match v {
                Some(v) => {
                    map.insert(k, v);
                }
                None => {
                    map.remove(&k);
                }
            }
        }
        Ok(value)
    }

    async fn sync(&self) -> Result<(), StorageError> {
        Ok(())
    }
}
