//! The write barrier between pushes and a running collection.
//!
//! Operations that make a blob reachable (finishing an upload, mounting, linking, committing a
//! manifest) enter the barrier's gate shared and record the digests they use while a collection
//! is running. The sweep holds the gate exclusively while it removes a batch and spares whatever
//! was recorded, so a blob a push has just referenced is never removed under it. Starting a
//! collection also takes the gate exclusively once, so no push that began before recording was
//! switched on is still in flight when the mark begins.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::digest::Digest;

/// Coordinates pushes with the garbage collector (one per registry).
#[derive(Debug, Default)]
pub(crate) struct WriteBarrier {
    gate: RwLock<()>,
    /// Digests used since the running collection began; `None` when none runs.
    touched: Mutex<Option<HashSet<Digest>>>,
}

/// A running collection; recording stops when it is dropped.
pub(crate) struct Collection<'a> {
    barrier: &'a WriteBarrier,
}

impl WriteBarrier {
    /// Enters the gate for a push that makes `digests` reachable. Hold the guard until the push's
    /// effect is stored. Never call this while already holding a guard of the same barrier.
    pub(crate) async fn enter<'a>(
        &self,
        digests: impl IntoIterator<Item = &'a Digest>,
    ) -> RwLockReadGuard<'_, ()> {
        let guard = self.gate.read().await;
        if let Some(touched) = self.lock_touched().as_mut() {
            touched.extend(digests.into_iter().cloned());
        }
        guard
    }

    /// Starts recording for a collection; `None` when another collection is running.
    pub(crate) async fn begin(&self) -> Option<Collection<'_>> {
        let _quiet = self.gate.write().await;
        let mut touched = self.lock_touched();
        if touched.is_some() {
            return None;
        }
        *touched = Some(HashSet::new());
        Some(Collection { barrier: self })
    }

    fn lock_touched(&self) -> std::sync::MutexGuard<'_, Option<HashSet<Digest>>> {
        // A panic while holding this lock cannot leave the set half-updated in a way that matters
        // (a lost digest only spares less), so a poisoned lock is used as is.
        self.touched
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Collection<'_> {
    /// Blocks pushes until the guard is dropped.
    pub(crate) async fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.barrier.gate.write().await
    }

    /// Whether a push has used `digest` since the collection began.
    pub(crate) fn touched(&self, digest: &Digest) -> bool {
        self.barrier
            .lock_touched()
            .as_ref()
            .is_some_and(|t| t.contains(digest))
    }
}

impl Drop for Collection<'_> {
    fn drop(&mut self) {
        *self.barrier.lock_touched() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_only_while_a_collection_runs() {
        let barrier = WriteBarrier::default();
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        drop(barrier.enter([&a]).await);
        let collection = barrier.begin().await.unwrap();
        assert!(barrier.begin().await.is_none(), "one collection at a time");
        drop(barrier.enter([&b]).await);
        assert!(!collection.touched(&a));
        assert!(collection.touched(&b));
        drop(collection);
        assert!(barrier.begin().await.is_some());
    }

    #[tokio::test]
    async fn the_sweep_waits_for_pushes_in_flight() {
        let barrier = std::sync::Arc::new(WriteBarrier::default());
        let collection_barrier = barrier.clone();
        let push = barrier.enter([]).await;
        let (tx, mut rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let collection = collection_barrier.begin().await.unwrap();
            let _exclusive = collection.exclusive().await;
            let _ = tx.send(());
        });
        tokio::task::yield_now().await;
        assert!(rx.try_recv().is_err(), "begin must wait for the push");
        drop(push);
        task.await.unwrap();
        assert!(rx.try_recv().is_ok());
    }
}
