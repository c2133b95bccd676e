//! Live upload sessions: what the store keeps in memory about an upload directory.
//!
//! Each session has an async mutex around its mutable part ([`Inner`]): appends, finish and abort
//! hold it, so appends to one session are serialised. The guard is an owned one and travels into
//! the blocking task that writes a batch, so a request future dropped mid-write cannot release the
//! lock while bytes are half-accounted: the blocking task finishes the batch, updates size and
//! hasher together, then releases.
//!
//! The running SHA-256 hasher lives only in memory. `sha256: None` means "unknown": after a restart,
//! after a failed write, or after a panic in a writer. Whoever next holds the lock rebuilds it by
//! re-hashing the data file, which also re-reads the size, so size and hasher always agree.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kcr_core::store::{StorageError, StoreResult, UploadId, UploadState};
use kcr_core::{Algorithm, Digest, DigestHasher};
use serde::{Deserialize, Serialize};
use tokio::sync::OwnedMutexGuard;

use super::layout::Layout;
use super::writer::{Files, Piece, Pipeline};

/// Read buffer for re-hashing a data file.
const REHASH_BUFFER: usize = 1 << 20;

/// The `state` file of an upload directory.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    /// The session's owner (the image path it was opened on).
    owner: String,
    /// When it was opened, in milliseconds since the Unix epoch.
    started: u64,
}

/// One upload session.
pub(crate) struct Session {
    pub(crate) id: UploadId,
    pub(crate) owner: String,
    pub(crate) started: SystemTime,
    /// `uploads/<id>/`.
    pub(crate) dir: PathBuf,
    /// `uploads/<id>/data`.
    pub(crate) data: PathBuf,
    /// Mirror of `Inner::size` so `state` need not wait for a running append.
    size: AtomicU64,
    inner: Arc<tokio::sync::Mutex<Inner>>,
}

/// The part of a session that appends and finish change, behind its async mutex.
pub(crate) struct Inner {
    /// Bytes in the data file (trusted only while `sha256` is `Some`).
    pub(crate) size: u64,
    /// SHA-256 of those bytes so far; `None` when it must be rebuilt from the file.
    pub(crate) sha256: Option<DigestHasher>,
    /// The data file, open for appending during an append.
    pub(crate) file: Option<File>,
    /// Set when the session was finished or aborted.
    pub(crate) gone: bool,
    /// Early writeback of a large upload's data (see [`Writeback`]).
    pub(crate) writeback: Writeback,
    /// The writes of the append in progress (`writer` module); `None` between appends, except
    /// after an append whose request was dropped half-way (see [`Inner::settle`]).
    pub(crate) pipeline: Option<Pipeline>,
}

/// Bytes appended without a writeback before one is started in the background.
const WRITEBACK_EVERY: u64 = 32 << 20;

/// Early writeback of a large upload: every [`WRITEBACK_EVERY`] bytes, an `fdatasync` of the data
/// file starts on another thread (one at a time), so the disk writes while the rest of the upload
/// is still arriving and being hashed, and the `fdatasync` that `finish` must do before answering
/// has only the tail left. Without it the kernel starts writing a freshly received gigabyte only
/// when `finish` asks, and the push takes receive time plus write time instead of the larger of
/// the two. A failure is remembered: the fd it happened on shares its error state with ours, so
/// `finish`'s own `fdatasync` might not see it, and the upload must not be reported durable.
/// Clones share the running and failed flags (the write pipeline works on a clone).
#[derive(Default, Clone)]
pub(crate) struct Writeback {
    /// Bytes appended since the last writeback started.
    pending: u64,
    /// Whether a writeback is running.
    running: Arc<AtomicBool>,
    /// Whether one failed.
    failed: Arc<AtomicBool>,
}

impl Writeback {
    /// Counts `n` appended bytes and starts a writeback of `file` when enough have accumulated.
    pub(crate) fn appended(&mut self, file: &File, n: u64) {
        self.pending += n;
        if self.pending < WRITEBACK_EVERY || self.running.load(Ordering::Acquire) {
            return;
        }
        let Ok(file) = file.try_clone() else {
            // Not fatal: `finish` syncs everything anyway.
            return;
        };
        self.pending = 0;
        self.running.store(true, Ordering::Release);
        let (running, failed) = (self.running.clone(), self.failed.clone());
        let work = move || {
            if let Err(e) = file.sync_data() {
                tracing::warn!(error = %e, "background writeback of an upload failed");
                failed.store(true, Ordering::Release);
            }
            running.store(false, Ordering::Release);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => drop(h.spawn_blocking(work)),
            Err(_) => drop(std::thread::spawn(work)),
        }
    }

    /// Fails if a background writeback failed.
    pub(crate) fn check(&self) -> io::Result<()> {
        if self.failed.load(Ordering::Acquire) {
            return Err(io::Error::other(
                "an earlier writeback of this upload failed; its data may not be on disk",
            ));
        }
        Ok(())
    }
}

/// Exclusive access to a session's mutable part, movable into blocking tasks.
pub(crate) type Guard = OwnedMutexGuard<Inner>;

impl Session {
    /// Creates the upload directory of a new session (blocking).
    pub(crate) fn create(layout: &Layout, owner: &str) -> StoreResult<Session> {
        let id = UploadId::random();
        let started = millis_to_time(time_to_millis(SystemTime::now()));
        let dir = layout.upload_dir(&id);
        fs::create_dir(&dir).map_err(StorageError::Io)?;
        let data = layout.upload_data(&id);
        let state = StateFile {
            owner: owner.to_owned(),
            started: time_to_millis(started),
        };
        // Neither file is fsynced, nor the directory: a session is not acknowledged content (its
        // PATCHed bytes are not fsynced either), so after a crash it may be gone or torn, which
        // `load` reports as an unknown upload and the client starts over. What a client is told
        // is stored (a finished blob) is fsynced in `finish`. Skipping the state file's
        // write-temp/fsync/rename/fsync-directory saves two fsyncs per blob upload.
        let written = File::create(&data)
            .and_then(|_| serde_json::to_vec(&state).map_err(io::Error::other))
            .and_then(|json| fs::write(layout.upload_state(&id), json));
        if let Err(e) = written {
            let _ = fs::remove_dir_all(&dir);
            return Err(StorageError::Io(e));
        }
        Ok(Session::new(
            id,
            owner.to_owned(),
            started,
            dir,
            data,
            0,
            true,
        ))
    }

    /// Finds a session left on disk by an earlier process (blocking). `NotFound` when there is no
    /// such upload directory or it has no readable state.
    pub(crate) fn load(layout: &Layout, id: &UploadId) -> StoreResult<Session> {
        let json = fs::read(layout.upload_state(id))?;
        // A state file torn by a crash (it is not fsynced): the upload is unknown, and `stale`
        // still finds its directory by mtime for cleanup.
        let state: StateFile = serde_json::from_slice(&json).map_err(|_| StorageError::NotFound)?;
        let data = layout.upload_data(id);
        let size = fs::metadata(&data)?.len();
        Ok(Session::new(
            id.clone(),
            state.owner,
            millis_to_time(state.started),
            layout.upload_dir(id),
            data,
            size,
            false,
        ))
    }

    /// When the session in `dir` was opened: from its state file, else the directory's mtime
    /// (a session whose state was never written is still cleaned up eventually).
    pub(crate) fn started_on_disk(layout: &Layout, id: &UploadId) -> io::Result<SystemTime> {
        let from_state = fs::read(layout.upload_state(id))
            .ok()
            .and_then(|json| serde_json::from_slice::<StateFile>(&json).ok());
        match from_state {
            Some(s) => Ok(millis_to_time(s.started)),
            None => fs::metadata(layout.upload_dir(id))?.modified(),
        }
    }

    fn new(
        id: UploadId,
        owner: String,
        started: SystemTime,
        dir: PathBuf,
        data: PathBuf,
        size: u64,
        fresh: bool,
    ) -> Session {
        let inner = Inner {
            size,
            sha256: fresh.then(|| DigestHasher::new(Algorithm::Sha256)),
            file: None,
            gone: false,
            writeback: Writeback::default(),
            pipeline: None,
        };
        Session {
            id,
            owner,
            started,
            dir,
            data,
            size: AtomicU64::new(size),
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
        }
    }

    /// Where the session stands, without waiting for a running append.
    pub(crate) fn state(&self) -> UploadState {
        UploadState {
            id: self.id.clone(),
            owner: self.owner.clone(),
            size: self.size.load(Ordering::Acquire),
            started: self.started,
        }
    }

    /// Waits for exclusive access; `NotFound` when the session ended meanwhile.
    pub(crate) async fn lock(&self) -> StoreResult<Guard> {
        let guard = self.inner.clone().lock_owned().await;
        if guard.gone {
            return Err(StorageError::NotFound);
        }
        Ok(guard)
    }

    pub(crate) fn publish_size(&self, size: u64) {
        self.size.store(size, Ordering::Release);
    }
}

impl Inner {
    /// Rebuilds the SHA-256 hasher and the size from the data file when they are unknown
    /// (blocking).
    pub(crate) fn ensure_hasher(&mut self, session: &Session) -> io::Result<()> {
        if let Err(e) = self.settle(session) {
            // That append's request is long gone; the file tells what was written.
            tracing::debug!(upload = %session.id, error = %e, "an interrupted append had failed");
        }
        if self.sha256.is_some() {
            return Ok(());
        }
        self.file = None;
        let mut file = File::open(&session.data)?;
        let (hasher, size) = hash_reader(&mut file, Algorithm::Sha256)?;
        self.size = size;
        self.sha256 = Some(hasher);
        session.publish_size(size);
        Ok(())
    }

    /// Hashes a batch of pieces and hands it to the append's write pipeline (blocking; see the
    /// `writer` module). The hasher may run ahead of the file until [`Inner::settle`]. On an
    /// error the append's writes end and the hasher is dropped, so the next holder re-reads size
    /// and hash from the file: bytes that did reach the file stay counted.
    pub(crate) fn write(&mut self, session: &Arc<Session>, pieces: Vec<Piece>) -> io::Result<()> {
        let result = self.write_inner(session, pieces);
        if result.is_err() {
            self.sha256 = None;
            let _ = self.settle(session);
        }
        result
    }

    fn write_inner(&mut self, session: &Arc<Session>, pieces: Vec<Piece>) -> io::Result<()> {
        // Taken out for the duration: a failure or panic below leaves it `None` (unknown).
        let Some(mut hasher) = self.sha256.take() else {
            return Err(io::Error::other("upload hash state lost"));
        };
        let pipeline = match &mut self.pipeline {
            Some(p) => p,
            None => {
                let file = match self.file.take() {
                    Some(f) => f,
                    // No `create`: a session removed behind our back must not come back.
                    None => OpenOptions::new().append(true).open(&session.data)?,
                };
                let files = Files::new(session.clone(), file, self.size, self.writeback.clone());
                self.pipeline.insert(Pipeline::new(files))
            }
        };
        let mut chunks = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Chunk(chunk) => {
                    hasher.update(&chunk);
                    chunks.push(chunk);
                }
                Piece::Full(buf) | Piece::Tail(buf) => {
                    if !chunks.is_empty() {
                        pipeline.push_chunks(std::mem::take(&mut chunks))?;
                    }
                    hasher.update(buf.bytes());
                    pipeline.push_buffer(buf)?;
                }
            }
        }
        if !chunks.is_empty() {
            pipeline.push_chunks(chunks)?;
        }
        self.sha256 = Some(hasher);
        Ok(())
    }

    /// Ends the append in progress, if any (blocking): writes what it staged and waits for its
    /// writes, after which size, file and hasher agree. On an error, or after a panic left the
    /// hasher unknown, size is re-read from the file and the hasher stays unknown.
    pub(crate) fn settle(&mut self, session: &Session) -> io::Result<()> {
        let Some(pipeline) = self.pipeline.take() else {
            return Ok(());
        };
        let (files, result) = pipeline.finish();
        if let Some(files) = files {
            self.size = files.size;
            self.writeback = files.writeback;
            self.file = Some(files.buffered);
        }
        if result.is_err() {
            self.sha256 = None;
            self.file = None;
            if let Ok(meta) = fs::metadata(&session.data) {
                self.size = meta.len();
                session.publish_size(meta.len());
            }
        }
        result
    }
}

/// Hashes everything `reader` yields; returns the digest state and the byte count.
pub(crate) fn hash_reader(
    reader: &mut impl Read,
    algorithm: Algorithm,
) -> io::Result<(DigestHasher, u64)> {
    let mut hasher = DigestHasher::new(algorithm);
    let mut buf = vec![0u8; REHASH_BUFFER];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hasher, total))
}

/// Hashes a whole reader and returns the digest.
pub(crate) fn digest_reader(reader: &mut impl Read, algorithm: Algorithm) -> io::Result<Digest> {
    hash_reader(reader, algorithm).map(|(h, _)| h.finish())
}

/// The sessions this process knows, by id.
#[derive(Default)]
pub(crate) struct Sessions(Mutex<HashMap<UploadId, Arc<Session>>>);

impl Sessions {
    fn map(&self) -> MutexGuard<'_, HashMap<UploadId, Arc<Session>>> {
        // The map is only ever changed by single insert/remove calls, so it is consistent even if
        // a thread panicked while holding the lock.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A known session.
    pub(crate) fn get(&self, id: &UploadId) -> Option<Arc<Session>> {
        self.map().get(id).cloned()
    }

    /// Registers a session, or returns the one registered first under the same id.
    pub(crate) fn insert(&self, session: Session) -> Arc<Session> {
        self.map()
            .entry(session.id.clone())
            .or_insert_with(|| Arc::new(session))
            .clone()
    }

    /// Forgets a session.
    pub(crate) fn remove(&self, id: &UploadId) {
        self.map().remove(id);
    }
}

fn time_to_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn millis_to_time(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}
