//! `FsBlobStore`: content-addressed blobs and resumable uploads in one directory tree.
//!
//! ```text
//! <root>/
//!   blobs/sha256/ab/abcdef...     finished blobs, named by digest (sha512 alike)
//!   uploads/<id>/data             bytes of an upload session so far
//!   uploads/<id>/state            JSON {"owner", "started" (unix millis)}, not fsynced
//!   tmp/                          staging area; leftovers are ignored
//! ```
//!
//! (The full diagram and its reasons are in the `layout` module.)
//!
//! One type implements both [`BlobStore`](kcr_core::store::BlobStore) and
//! [`UploadStore`](kcr_core::store::UploadStore), so finishing an upload is a same-filesystem
//! `rename` of its data file, never a copy.
//!
//! How bytes flow: an append queues the request's chunks (a few MiB at most) for a blocking task
//! that hashes them (SHA-256, incrementally) and writes them to the session's data file, while the
//! next chunks are still arriving from the network, so receiving and hashing use both cores; the
//! task ends whenever the queue runs dry, so no thread waits for a slow client. Small appends
//! are written through the page cache. Past 16 MiB, an append's bytes are copied into aligned
//! 4 MiB buffers as they arrive and written with `O_DIRECT` on another thread while the next
//! buffer is hashed (the `writer` and `direct` modules; filesystems without `O_DIRECT` get
//! buffered writes). Nothing is fsynced per chunk; `finish` fsyncs the data file once, checks
//! the digest, renames the file into `blobs/` and fsyncs the directory. Upload sessions survive a
//! restart: the next process finds them on disk, takes the size from the data file and rebuilds
//! the hasher by re-reading it when next needed.

mod atomic;
pub(crate) use atomic::sync_dir;
mod blob;
mod direct;
mod layout;
mod session;
mod upload;
mod writer;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kcr_core::store::{StorageError, StoreResult};

use self::layout::Layout;
use self::session::Sessions;
use self::writer::{DirectSlots, Tuning};

/// A blob and upload store on a local filesystem. See the [module docs](self) for the layout.
pub struct FsBlobStore {
    layout: Layout,
    sessions: Arc<Sessions>,
    tuning: Tuning,
    /// Appends writing directly right now (at most `tuning.direct_appends`).
    direct_slots: Arc<DirectSlots>,
}

impl std::fmt::Debug for FsBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsBlobStore")
            .field("root", &self.layout.root())
            .finish_non_exhaustive()
    }
}

impl FsBlobStore {
    /// Opens (creating when missing) a store rooted at `root`. Upload sessions left by an earlier
    /// process are found on demand; unknown files anywhere under `root` are ignored.
    pub fn open(root: impl Into<PathBuf>) -> StoreResult<Self> {
        let layout = Layout::new(root.into());
        for dir in layout.skeleton() {
            fs::create_dir_all(&dir).map_err(StorageError::Io)?;
        }
        create_fanout(&layout).map_err(StorageError::Io)?;
        Ok(FsBlobStore {
            layout,
            sessions: Arc::new(Sessions::default()),
            tuning: Tuning::default(),
            direct_slots: Arc::default(),
        })
    }

    /// The same store with other append tuning (tests: direct writes after a few KiB).
    #[cfg(test)]
    pub(crate) fn with_tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        self.layout.root()
    }
}

/// Creates the 256 fan-out directories of each algorithm up front, durably, so that storing a blob
/// never has to create (and fsync) a directory on the hot path.
fn create_fanout(layout: &Layout) -> std::io::Result<()> {
    for algorithm in layout::ALGORITHMS {
        let dir = layout.algorithm_dir(algorithm);
        let mut created = false;
        for byte in 0..=u8::MAX {
            let fanout = dir.join(hex::encode([byte]));
            if !fanout.is_dir() {
                match fs::create_dir(&fanout) {
                    Ok(()) => created = true,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if created {
            atomic::sync_dir(&dir)?;
        }
    }
    Ok(())
}

/// Runs blocking filesystem work on tokio's blocking pool.
async fn blocking<T, F>(work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(join_error)?
}

/// A blocking task panicked or was cancelled.
fn join_error(e: tokio::task::JoinError) -> StorageError {
    StorageError::Backend(Box::new(e))
}

/// Compile-time proof that the store implements both seams.
const _: () = {
    fn assert_impl<T: kcr_core::store::BlobStore + kcr_core::store::UploadStore>() {}
    fn check() {
        assert_impl::<FsBlobStore>();
    }
    let _ = check;
};
