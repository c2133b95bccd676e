//! Upload sessions: begin, streamed appends with an offset check, finish (verify, fsync, rename into
//! `blobs/`), abort and the stale-session listing.

use std::fs;
use std::io;
use std::mem;
use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use kcr_core::store::{
    BlobInfo, ByteStream, StorageError, StoreResult, UploadId, UploadState, UploadStore,
};
use kcr_core::{Algorithm, Digest};
use tokio::task::JoinHandle;

use super::atomic::sync_dir;
use super::layout::Layout;
use super::session::{digest_reader, Guard, Session, Sessions};
use super::{blocking, join_error, FsBlobStore};

/// An append stops reading the request once this many bytes wait for the writer (back-pressure:
/// at most about two batches of one request are in memory).
const MAX_BATCH: usize = 1 << 20;

/// A batch being written and hashed on the blocking pool; it hands the session lock back.
type WriteJob = JoinHandle<(Guard, io::Result<()>)>;

impl FsBlobStore {
    /// The session `id`, from memory or, after a restart, from its directory.
    async fn session(&self, id: &UploadId) -> StoreResult<Arc<Session>> {
        if let Some(s) = self.sessions.get(id) {
            return Ok(s);
        }
        let layout = self.layout.clone();
        let owned = id.clone();
        let loaded = blocking(move || Session::load(&layout, &owned)).await?;
        Ok(self.sessions.insert(loaded))
    }
}

/// Hands a batch to the blocking pool with the session lock.
fn spawn_write(session: &Arc<Session>, mut guard: Guard, batch: Vec<Bytes>) -> WriteJob {
    let session = session.clone();
    tokio::task::spawn_blocking(move || {
        let result = guard.write(&session, &batch);
        (guard, result)
    })
}

/// Rebuilds a session's hasher (and size) from its data file when unknown, off the async threads.
async fn ensure_hasher(session: &Arc<Session>, guard: Guard) -> StoreResult<Guard> {
    if guard.sha256.is_some() {
        return Ok(guard);
    }
    let session = session.clone();
    let mut guard = guard;
    blocking(move || {
        guard.ensure_hasher(&session)?;
        Ok(guard)
    })
    .await
}

/// What one append has read from its request body so far.
#[derive(Default)]
struct Intake {
    batch: Vec<Bytes>,
    bytes: usize,
    ended: bool,
    error: Option<io::Error>,
}

impl Intake {
    fn take(&mut self, item: Option<io::Result<Bytes>>) {
        match item {
            Some(Ok(chunk)) if chunk.is_empty() => {}
            Some(Ok(chunk)) => {
                self.bytes += chunk.len();
                self.batch.push(chunk);
            }
            Some(Err(e)) => {
                self.error = Some(e);
                self.ended = true;
            }
            None => self.ended = true,
        }
    }

    fn drain(&mut self) -> Vec<Bytes> {
        self.bytes = 0;
        mem::take(&mut self.batch)
    }

    fn full(&self) -> bool {
        self.ended || self.bytes >= MAX_BATCH
    }
}

/// Streams `data` into the session: while one batch is written and hashed on the blocking pool, the
/// next one is read from the request. Returns the lock and the first write error.
async fn pump(
    session: &Arc<Session>,
    guard: Guard,
    data: &mut ByteStream,
    intake: &mut Intake,
) -> StoreResult<(Guard, io::Result<()>)> {
    let mut idle = Some(guard);
    let mut job: Option<WriteJob> = None;
    loop {
        if let Some(guard) = idle.take() {
            if !intake.batch.is_empty() {
                job = Some(spawn_write(session, guard, intake.drain()));
                continue;
            }
            if intake.ended {
                return Ok((guard, Ok(())));
            }
            idle = Some(guard);
            intake.take(data.next().await);
            continue;
        }
        let Some(running) = job.as_mut() else {
            return Err(StorageError::Conflict("upload writer lost its lock".into()));
        };
        let finished = if intake.full() {
            running.await
        } else {
            match select(running, data.next()).await {
                Either::Left((finished, _)) => finished,
                Either::Right((item, _)) => {
                    intake.take(item);
                    continue;
                }
            }
        };
        job = None;
        let (guard, written) = finished.map_err(join_error)?;
        if written.is_err() {
            return Ok((guard, written));
        }
        idle = Some(guard);
    }
}

#[async_trait]
impl UploadStore for FsBlobStore {
    async fn begin(&self, owner: &str) -> StoreResult<UploadState> {
        let layout = self.layout.clone();
        let owner = owner.to_owned();
        let session = blocking(move || Session::create(&layout, &owner)).await?;
        Ok(self.sessions.insert(session).state())
    }

    async fn append(
        &self,
        id: &UploadId,
        offset: u64,
        mut data: ByteStream,
    ) -> StoreResult<UploadState> {
        let session = self.session(id).await?;
        let guard = ensure_hasher(&session, session.lock().await?).await?;
        if guard.size != offset {
            return Err(StorageError::OffsetMismatch {
                expected: offset,
                actual: guard.size,
            });
        }
        let mut intake = Intake::default();
        let (mut guard, written) = pump(&session, guard, &mut data, &mut intake).await?;
        // Do not keep a descriptor open for sessions that may never come back.
        guard.file = None;
        drop(guard);
        written.map_err(StorageError::Io)?;
        match intake.error {
            Some(e) => Err(StorageError::Io(e)),
            None => Ok(session.state()),
        }
    }

    async fn state(&self, id: &UploadId) -> StoreResult<UploadState> {
        Ok(self.session(id).await?.state())
    }

    async fn finish(&self, id: &UploadId, expected: &Digest) -> StoreResult<BlobInfo> {
        let session = self.session(id).await?;
        let guard = session.lock().await?;
        let layout = self.layout.clone();
        let sessions = self.sessions.clone();
        let expected = expected.clone();
        // Everything from here runs to completion even if the request is dropped.
        blocking(move || {
            let mut guard = guard;
            guard.gone = true;
            guard.file = None;
            sessions.remove(&session.id);
            let result = commit(&layout, &session, &mut guard, &expected);
            // The session ends either way; after a successful rename only the state file is left.
            if let Err(e) = fs::remove_dir_all(&session.dir) {
                if result.is_ok() && e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(upload = %session.id, error = %e, "could not remove finished upload");
                }
            }
            result
        })
        .await
    }

    async fn abort(&self, id: &UploadId) -> StoreResult<()> {
        let known = match self.session(id).await {
            Ok(s) => Some(s),
            // A directory without readable state can still be cleaned up.
            Err(StorageError::NotFound | StorageError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        };
        let guard = match &known {
            Some(s) => Some(s.lock().await?),
            None => None,
        };
        let dir = self.layout.upload_dir(id);
        let sessions = self.sessions.clone();
        let owned = id.clone();
        blocking(move || {
            if let Some(mut guard) = guard {
                guard.gone = true;
                guard.file = None;
            }
            sessions.remove(&owned);
            match fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound && known.is_some() => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn stale(&self, older_than: SystemTime) -> StoreResult<Vec<UploadId>> {
        let layout = self.layout.clone();
        let sessions = self.sessions.clone();
        blocking(move || stale(&layout, &sessions, older_than).map_err(StorageError::Io)).await
    }
}

/// Verifies the data file against `expected` and renames it into `blobs/` durably (blocking).
fn commit(
    layout: &Layout,
    session: &Session,
    guard: &mut Guard,
    expected: &Digest,
) -> StoreResult<BlobInfo> {
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&session.data)?;
    file.sync_data().map_err(StorageError::Io)?;
    guard.writeback.check().map_err(StorageError::Io)?;
    let actual = match (expected.algorithm(), guard.sha256.take()) {
        (Algorithm::Sha256, Some(hasher)) => hasher.finish(),
        (algorithm, _) => digest_reader(&mut file, algorithm).map_err(StorageError::Io)?,
    };
    drop(file);
    if &actual != expected {
        return Err(StorageError::DigestMismatch {
            expected: expected.clone(),
            actual,
        });
    }
    let blob = layout.blob(expected);
    let fanout = blob.parent().ok_or(StorageError::NotFound)?;
    // Created at open; only missing if someone removed it since.
    let new_fanout = !fanout.is_dir();
    if new_fanout {
        fs::create_dir_all(fanout).map_err(StorageError::Io)?;
    }
    let now = SystemTime::now();
    if fs::metadata(&blob).is_ok() {
        // Same bytes already stored: keep them, but restart their GC grace period as a fresh write
        // would.
        if let Err(e) = fs::File::open(&blob).and_then(|f| f.set_modified(now)) {
            tracing::warn!(blob = %expected, error = %e, "could not refresh blob mtime");
        }
    } else {
        fs::rename(&session.data, &blob).map_err(StorageError::Io)?;
        sync_dir(fanout).map_err(StorageError::Io)?;
        if new_fanout {
            sync_dir(&layout.algorithm_dir(expected.algorithm())).map_err(StorageError::Io)?;
        }
    }
    let meta = fs::metadata(&blob).map_err(StorageError::Io)?;
    Ok(BlobInfo {
        digest: actual,
        size: meta.len(),
        modified: meta.modified().unwrap_or(now),
    })
}

/// Sessions on disk opened before `older_than` (blocking).
fn stale(
    layout: &Layout,
    sessions: &Sessions,
    older_than: SystemTime,
) -> io::Result<Vec<UploadId>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(layout.uploads())? {
        let entry = entry?;
        let Some(id) = entry
            .file_name()
            .to_str()
            .and_then(|n| UploadId::from_str(n).ok())
        else {
            continue;
        };
        let started = match sessions.get(&id) {
            Some(s) => s.started,
            None => match Session::started_on_disk(layout, &id) {
                Ok(t) => t,
                // Removed while listing.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            },
        };
        if started < older_than {
            out.push(id);
        }
    }
    Ok(out)
}
