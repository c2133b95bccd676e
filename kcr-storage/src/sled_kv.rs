//! `SledKvEngine`: the metadata key-value engine on sled 0.34, in one tree (sled's default tree).
//!
//! Transactions are sled's serialisable single-tree transactions: a body that meets a conflict is
//! re-run by sled, which is why [`KvEngine::transact`] bodies must be free of side effects.
//! Committed transactions reach the disk on sled's flush timer, or when [`KvEngine::sync`] asks for
//! a flush.
//!
//! ## Group commit, and why not `flush_async`
//!
//! [`KvEngine::sync`] goes through one [`GroupCommit`] per database: at most one `Db::flush` runs
//! at a time, on a blocking thread, and every caller waits for the first flush that *starts* after
//! it asked, so callers arriving during a flush share the next one (one fsync per batch, never
//! skipped). sled's own `flush_async` is not used: it runs each flush on sled's small internal
//! thread pool, where it holds sled's global concurrency-control read lock while it waits for a
//! log write that must run on that same pool. With a transaction queued for the write lock, other
//! flushes queue behind it and occupy every pool thread, the log write never runs, and the whole
//! process deadlocks (seen with 16 concurrent pushes). Flushing from one thread of our own leaves
//! sled's pool free for its log writes.
//!
//! ## Durable means fsynced
//!
//! On Linux, sled 0.34 makes its log writes "stable" with `sync_file_range`, which neither
//! flushes the device's write cache nor journals the file's growing size, so a committed and
//! flushed transaction can still be lost to a power cut or a kernel crash. Each group flush is
//! therefore followed by an `fdatasync` of sled's log file (`<dir>/db`), and of any value file
//! sled wrote since the last flush (values over about 128 KiB, such as big manifests, live in
//! `<dir>/blobs/<lsn>`, which sled never syncs). Only then is a mutation acknowledged: the same
//! promise as CNCF Distribution's filesystem driver, which fsyncs every file it writes.
//!
//! A transaction waits for sled's global write lock, which a running flush holds shared for its
//! whole fsync. On a multi-threaded tokio runtime the transaction therefore runs inside
//! `block_in_place`, so the runtime keeps serving other requests meanwhile.
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use kcr_core::store::kv::{KvEngine, KvTxn, TxnError};
use kcr_core::store::StorageError;
use kcr_core::CoreError;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

/// An ordered key-value engine backed by sled.
#[derive(Clone)]
pub struct SledKvEngine {
    db: sled::Db,
    commits: Arc<GroupCommit>,
}

impl std::fmt::Debug for SledKvEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledKvEngine").finish_non_exhaustive()
    }
}

impl SledKvEngine {
    /// Opens (creating when missing) a database in the directory `path`.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let db = sled::Config::new().path(path).open().map_err(sled_error)?;
        let files = SledFiles::open(path).map_err(StorageError::Io)?;
        Ok(Self::with_db(db, Some(files)))
    }

    /// A throwaway database, removed when the engine is dropped (for tests).
    pub fn temporary() -> Result<Self, StorageError> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(sled_error)?;
        // Nothing to make durable: the database is deleted when dropped.
        Ok(Self::with_db(db, None))
    }

    fn with_db(db: sled::Db, files: Option<SledFiles>) -> Self {
        SledKvEngine {
            commits: GroupCommit::new(db.clone(), files),
            db,
        }
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
        self.db.flush().map_err(sled_error)?;
        match &self.commits.files {
            Some(files) => files.sync().map_err(StorageError::Io),
            None => Ok(()),
        }
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

    fn scan_keys(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StorageError> {
        let start = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        for key in self
            .db
            .range::<Vec<u8>, _>((start, Bound::Unbounded))
            .keys()
        {
            let key = key.map_err(sled_error)?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push(key.to_vec());
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
        off_the_runtime(|| self.transact_here(&body))
    }

    async fn sync(&self) -> Result<(), StorageError> {
        self.commits.sync().await
    }
}

impl SledKvEngine {
    fn transact_here<T>(
        &self,
        body: &impl Fn(&dyn KvTxn) -> Result<T, TxnError>,
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
}

/// Runs `work`, which may block on sled's global lock, without stalling a tokio worker: inside
/// `block_in_place` on a multi-threaded runtime, directly anywhere else.
fn off_the_runtime<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// The files of an on-disk sled database that a flush must fsync (see the [module docs](self)).
struct SledFiles {
    /// sled's log, `<dir>/db`.
    log: std::fs::File,
    /// `<dir>/blobs`: values too big for the log.
    blobs: std::path::PathBuf,
    /// Highest value file (named by its log sequence number) already synced.
    synced_blob: Mutex<i64>,
}

impl SledFiles {
    fn open(dir: &Path) -> std::io::Result<SledFiles> {
        let log = std::fs::File::open(dir.join("db"))?;
        // sled created the directory and its files: make their entries durable once.
        crate::fs::sync_dir(dir)?;
        let blobs = dir.join("blobs");
        if blobs.is_dir() {
            crate::fs::sync_dir(&blobs)?;
        }
        let files = SledFiles {
            log,
            blobs,
            synced_blob: Mutex::new(i64::MIN),
        };
        files.sync()?;
        Ok(files)
    }

    /// fsyncs value files written since the last call, then the log.
    fn sync(&self) -> std::io::Result<()> {
        let mut synced = self.synced_blob.lock().unwrap_or_else(|p| p.into_inner());
        let mut newest = *synced;
        match std::fs::read_dir(&self.blobs) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry?;
                    let Some(lsn) = entry
                        .file_name()
                        .to_str()
                        .and_then(|n| n.parse::<i64>().ok())
                    else {
                        continue;
                    };
                    if lsn > *synced {
                        match std::fs::File::open(entry.path()) {
                            Ok(f) => f.sync_data()?,
                            // Already collected by sled.
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                            Err(e) => return Err(e),
                        }
                        newest = newest.max(lsn);
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        if newest > *synced {
            crate::fs::sync_dir(&self.blobs)?;
            *synced = newest;
        }
        self.log.sync_data()
    }
}

/// Group commit of sled flushes (see the [module docs](self)).
struct GroupCommit {
    db: sled::Db,
    files: Option<SledFiles>,
    state: Mutex<CommitState>,
    /// Shared with the flusher, which releases its handle on the database before it tells the
    /// waiters, so that a caller who saw its sync finish and dropped the engine really closed it.
    progress: Arc<tokio::sync::watch::Sender<Progress>>,
}

#[derive(Default)]
struct CommitState {
    /// Tickets handed out: caller `n` is durable once a flush that started after ticket `n` was
    /// taken has succeeded.
    requested: u64,
    /// Highest ticket covered by a finished or running flush.
    covered: u64,
    /// Whether a flusher is running.
    running: bool,
}

#[derive(Debug, Clone, Default)]
struct Progress {
    /// Every ticket up to this one is durable.
    durable: u64,
    /// A flush failed: sled is unusable from here on, and every waiter not yet durable fails.
    failed: Option<Arc<str>>,
}

impl GroupCommit {
    fn new(db: sled::Db, files: Option<SledFiles>) -> Arc<Self> {
        Arc::new(GroupCommit {
            db,
            files,
            state: Mutex::new(CommitState::default()),
            progress: Arc::new(tokio::sync::watch::Sender::new(Progress::default())),
        })
    }

    fn state(&self) -> MutexGuard<'_, CommitState> {
        // The state is a few counters changed in single statements: consistent after a panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until everything committed before the call is on disk.
    async fn sync(self: &Arc<Self>) -> Result<(), StorageError> {
        let mut progress = self.progress.subscribe();
        let ticket = {
            let mut state = self.state();
            state.requested += 1;
            if !state.running {
                state.running = true;
                self.start_flusher();
            }
            state.requested
        };
        let seen = progress
            .wait_for(|p| p.durable >= ticket || p.failed.is_some())
            .await
            .map_err(|_| StorageError::Backend("sled flusher stopped".into()))?;
        if seen.durable >= ticket {
            return Ok(());
        }
        let reason = seen.failed.as_deref().unwrap_or("unknown").to_owned();
        Err(StorageError::Io(std::io::Error::other(format!(
            "metadata flush failed: {reason}"
        ))))
    }

    /// Runs [`Self::flush_while_asked`] on a blocking thread. It finishes even if every waiter
    /// goes away, so the state never claims a flusher that does not exist.
    fn start_flusher(self: &Arc<Self>) {
        let me = self.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(move || Self::flush_while_asked(me));
            }
            Err(_) => {
                std::thread::spawn(move || Self::flush_while_asked(me));
            }
        }
    }

    /// Flushes until no caller waits for a flush that has not started yet. The last round drops
    /// this thread's handle on the database before announcing its result.
    fn flush_while_asked(me: Arc<Self>) {
        let progress = me.progress.clone();
        let mut upto = match me.next_round() {
            Some(upto) => upto,
            None => return,
        };
        loop {
            let flushed = me
                .db
                .flush()
                .map(|_| ())
                .map_err(|e| e.to_string())
                .and_then(|()| match &me.files {
                    Some(files) => files.sync().map_err(|e| e.to_string()),
                    None => Ok(()),
                });
            let Some(next) = me.next_round() else {
                drop(me);
                Self::announce(&progress, upto, flushed);
                return;
            };
            Self::announce(&progress, upto, flushed);
            upto = next;
        }
    }

    /// Claims the requests not yet covered by a flush, or marks the flusher stopped.
    fn next_round(&self) -> Option<u64> {
        let mut state = self.state();
        if state.covered >= state.requested {
            state.running = false;
            return None;
        }
        state.covered = state.requested;
        Some(state.requested)
    }

    /// Tells the waiters up to ticket `upto` how their flush went.
    fn announce(
        progress: &tokio::sync::watch::Sender<Progress>,
        upto: u64,
        flushed: Result<(), String>,
    ) {
        match flushed {
            Ok(()) => progress.send_modify(|p| p.durable = p.durable.max(upto)),
            Err(e) => {
                tracing::error!(error = %e, "sled flush failed");
                // Later callers get the failure too rather than hanging.
                progress.send_modify(|p| p.failed = Some(e.into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_keys_matches_scan() {
        let engine = SledKvEngine::temporary().unwrap();
        engine
            .transact(|t| {
                for k in ["a\0x", "b\0a", "b\0b", "b\0c", "c\0a"] {
                    t.put(k.as_bytes(), b"value")?;
                }
                Ok(())
            })
            .unwrap();
        for (after, limit) in [
            (None, 10),
            (Some(&b"b\0a"[..]), 10),
            (None, 2),
            (Some(&b"a"[..]), 1),
        ] {
            let keys: Vec<Vec<u8>> = engine
                .scan(b"b\0", after, limit)
                .unwrap()
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            assert_eq!(engine.scan_keys(b"b\0", after, limit).unwrap(), keys);
        }
        assert!(engine.scan_keys(b"b\0", None, 0).unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_syncs_share_flushes_and_all_return() {
        let dir = tempfile::tempdir().unwrap();
        let engine = SledKvEngine::open(dir.path()).unwrap();
        let tasks: Vec<_> = (0..64u32)
            .map(|i| {
                let engine = engine.clone();
                tokio::spawn(async move {
                    engine.transact(|t| t.put(&i.to_be_bytes(), b"v")).unwrap();
                    engine.sync().await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        drop(engine);
        let engine = SledKvEngine::open(dir.path()).unwrap();
        assert_eq!(engine.scan(b"", None, usize::MAX).unwrap().len(), 64);
    }
}
