//! Upload sessions: begin, streamed appends with an offset check, finish (verify, fsync, rename into
//! `blobs/`), abort and the stale-session listing.

use std::collections::VecDeque;
use std::fs;
use std::io;
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
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

use super::atomic::sync_dir;
use super::layout::Layout;
use super::session::{digest_reader, Guard, Session, Sessions};
use super::writer::{DirectSlots, Piece, Stager, Tuning};
use super::{blocking, join_error, FsBlobStore};

/// Bytes of one request queued for the blocking task that hashes and writes them, in KiB
/// (back-pressure: beyond this, the request is not read until the queue drains).
const QUEUE_KIB: u32 = 2 << 10;

/// Pieces a burst hands to the session at once.
const BATCH_PIECES: usize = 8;

/// A queued piece, with its share of the queue's budget (given back once the piece is written).
type Queued = (Piece, OwnedSemaphorePermit);

/// A burst: a blocking task that hashes and writes the queued pieces of an append until the queue
/// is empty, then hands back the session lock and the queue.
type Burst = JoinHandle<(Guard, mpsc::UnboundedReceiver<Queued>, io::Result<()>)>;

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

/// Starts a burst with the session lock and the queue.
fn spawn_burst(
    session: &Arc<Session>,
    guard: Guard,
    queue: mpsc::UnboundedReceiver<Queued>,
) -> Burst {
    let session = session.clone();
    tokio::task::spawn_blocking(move || {
        let (mut guard, mut queue) = (guard, queue);
        let result = drain(&mut guard, &session, &mut queue);
        (guard, queue, result)
    })
}

/// Hashes and writes queued pieces until the queue is empty or closed (blocking).
fn drain(
    guard: &mut Guard,
    session: &Arc<Session>,
    queue: &mut mpsc::UnboundedReceiver<Queued>,
) -> io::Result<()> {
    while let Ok(first) = queue.try_recv() {
        let mut batch = Vec::with_capacity(BATCH_PIECES);
        let mut permits = Vec::with_capacity(BATCH_PIECES);
        for (piece, permit) in std::iter::once(first)
            .chain(std::iter::from_fn(|| queue.try_recv().ok()))
            .take(BATCH_PIECES)
        {
            batch.push(piece);
            permits.push(permit);
        }
        guard.write(session, batch)?;
        drop(permits);
    }
    Ok(())
}

/// Ends an append left half-way by a dropped request, and rebuilds a session's hasher (and size)
/// from its data file when unknown, off the async threads.
async fn ensure_hasher(session: &Arc<Session>, guard: Guard) -> StoreResult<Guard> {
    if guard.sha256.is_some() && guard.pipeline.is_none() {
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

/// Where one append stands while its request streams in.
struct Pump {
    /// Turns received chunks into pieces.
    stager: Stager,
    /// The queue's sending side; dropped once the request has ended and every piece is queued.
    tx: Option<mpsc::UnboundedSender<Queued>>,
    /// The queue's budget, in KiB.
    budget: Arc<Semaphore>,
    /// The lock and the queue's receiving side, while no burst runs.
    home: Option<(Guard, mpsc::UnboundedReceiver<Queued>)>,
    burst: Option<Burst>,
    /// Pieces made from the request that did not fit in the queue yet.
    pending: VecDeque<Piece>,
    /// The request has ended (or failed: `error`).
    ended: bool,
    error: Option<io::Error>,
}

impl Pump {
    fn take(&mut self, item: Option<io::Result<Bytes>>) {
        match item {
            Some(Ok(chunk)) if chunk.is_empty() => {}
            Some(Ok(chunk)) => self.stager.push(chunk, &mut self.pending),
            Some(Err(e)) => {
                self.error = Some(e);
                self.end();
            }
            None => self.end(),
        }
    }

    fn end(&mut self) {
        self.ended = true;
        self.stager.finish(&mut self.pending);
    }

    /// A burst ended: the lock comes home, unless its writes failed.
    fn landed(
        &mut self,
        done: Result<
            (Guard, mpsc::UnboundedReceiver<Queued>, io::Result<()>),
            tokio::task::JoinError,
        >,
    ) -> StoreResult<Option<(Guard, io::Result<()>)>> {
        self.burst = None;
        let (guard, queue, written) = done.map_err(join_error)?;
        if written.is_err() {
            return Ok(Some((guard, written)));
        }
        self.home = Some((guard, queue));
        Ok(None)
    }
}

/// A piece's share of the queue's budget: its size in KiB, rounded up, at most the whole budget.
fn kib(piece: &Piece) -> u32 {
    let bytes = match piece {
        Piece::Chunk(c) => c.len(),
        Piece::Full(b) | Piece::Tail(b) => b.len(),
    };
    u32::try_from(bytes.div_ceil(1024)).map_or(QUEUE_KIB, |k| k.clamp(1, QUEUE_KIB))
}

/// Streams `data` into the session. Chunks go into a queue; a burst (a blocking task) hashes and
/// writes them while the next ones are read from the request, and ends when the queue runs dry,
/// so no thread waits for a slow client. Returns the lock and the first write error; a request
/// error is left in `error`.
async fn pump(
    session: &Arc<Session>,
    guard: Guard,
    data: &mut ByteStream,
    tuning: Tuning,
    slots: Arc<DirectSlots>,
    error: &mut Option<io::Error>,
) -> StoreResult<(Guard, io::Result<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let mut p = Pump {
        stager: Stager::new(guard.size, tuning, slots),
        tx: Some(tx),
        budget: Arc::new(Semaphore::new(QUEUE_KIB as usize)),
        home: Some((guard, rx)),
        burst: None,
        pending: VecDeque::new(),
        ended: false,
        error: None,
    };
    loop {
        while let (Some(piece), Some(tx)) = (p.pending.front(), &p.tx) {
            let Ok(permit) = p.budget.clone().try_acquire_many_owned(kib(piece)) else {
                break;
            };
            if let Some(piece) = p.pending.pop_front() {
                if tx.send((piece, permit)).is_err() {
                    return Err(StorageError::Conflict("upload queue closed".into()));
                }
            }
        }
        if p.ended && p.pending.is_empty() {
            // A burst that finds the queue closed ends without waiting.
            p.tx = None;
        }
        if p.burst.is_none() {
            let Some((guard, queue)) = p.home.take() else {
                return Err(StorageError::Conflict("upload writer lost its lock".into()));
            };
            if !queue.is_empty() {
                p.burst = Some(spawn_burst(session, guard, queue));
            } else if p.tx.is_none() {
                *error = p.error.take();
                return Ok((guard, Ok(())));
            } else {
                p.home = Some((guard, queue));
            }
        }
        let landed = match (&mut p.burst, &p.tx) {
            (Some(burst), Some(tx)) if !p.pending.is_empty() => {
                let units = p.pending.front().map_or(1, kib);
                let room = p.budget.clone().acquire_many_owned(units);
                match select(burst, std::pin::pin!(room)).await {
                    Either::Left((done, _)) => Some(done),
                    Either::Right((permit, _)) => {
                        if let (Ok(permit), Some(piece)) = (permit, p.pending.pop_front()) {
                            if tx.send((piece, permit)).is_err() {
                                return Err(StorageError::Conflict("upload queue closed".into()));
                            }
                        }
                        None
                    }
                }
            }
            (Some(burst), _) if !p.ended => match select(burst, data.next()).await {
                Either::Left((done, _)) => Some(done),
                Either::Right((item, _)) => {
                    p.take(item);
                    None
                }
            },
            (Some(burst), _) => Some(burst.await),
            (None, _) if !p.ended => {
                let item = data.next().await;
                p.take(item);
                None
            }
            // Ended with nothing queued returned above; anything queued started a burst.
            (None, _) => return Err(StorageError::Conflict("upload writer stalled".into())),
        };
        if let Some(done) = landed {
            if let Some(failed) = p.landed(done)? {
                return Ok(failed);
            }
        }
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
        let mut received = None;
        let (guard, written) = pump(
            &session,
            guard,
            &mut data,
            self.tuning,
            self.direct_slots.clone(),
            &mut received,
        )
        .await?;
        // Wait for the write in flight, then release the lock; this runs to completion even if
        // the request is dropped meanwhile. Without a write in flight (every small append),
        // nothing blocks, so no hop to the blocking pool.
        let settle = {
            let session = session.clone();
            move |mut guard: Guard| {
                let settled = guard.settle(&session);
                // Do not keep a descriptor open for sessions that may never come back.
                guard.file = None;
                settled
            }
        };
        let settled = if guard.pipeline.as_ref().is_none_or(|p| p.is_idle()) {
            settle(guard)
        } else {
            tokio::task::spawn_blocking(move || settle(guard))
                .await
                .map_err(join_error)?
        };
        written.and(settled).map_err(StorageError::Io)?;
        match received {
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
            // An append left half-way by a dropped request: its bytes count. If its writes
            // failed, the hasher is unknown and `commit` re-reads the file.
            if let Err(e) = guard.settle(&session) {
                tracing::debug!(upload = %session.id, error = %e, "an interrupted append had failed");
            }
            guard.gone = true;
            guard.file = None;
            let result = commit(&layout, &session, &mut guard, &expected);
            // The session ends either way; after a successful rename only the state file is left.
            if let Err(e) = fs::remove_dir_all(&session.dir) {
                if result.is_ok() && e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(upload = %session.id, error = %e, "could not remove finished upload");
                }
            }
            // Only once the data file is renamed or removed: until then a request that missed the
            // session in memory would load a second copy of it from disk, with a lock of its own,
            // and append to the file being verified and renamed into `blobs/`.
            sessions.remove(&session.id);
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
                // A write still in flight lands in a file about to be removed: harmless.
                guard.pipeline = None;
            }
            let removed = match fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound && known.is_some() => Ok(()),
                Err(e) => Err(e.into()),
            };
            // After the directory is gone, for the same reason as in `finish`.
            sessions.remove(&owned);
            removed
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::atomic::{AtomicBool, Ordering};

    use futures_util::stream;
    use kcr_core::store::BlobStore;
    use tokio::io::AsyncReadExt;

    use super::*;
    use crate::fs::direct::ALIGN;

    /// Direct writes after 64 KiB, in 16 KiB buffers: every path of a large append, in a test
    /// that stays small.
    fn store() -> (tempfile::TempDir, FsBlobStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap().with_tuning(Tuning {
            direct_after: Some(64 << 10),
            direct_chunk: 4 * ALIGN,
            direct_appends: usize::MAX,
        });
        (dir, store)
    }

    fn bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// `data` as a stream of chunks of the given sizes, cycling.
    fn chunked(data: &[u8], sizes: &[usize]) -> ByteStream {
        let mut chunks = Vec::new();
        let (mut at, mut i) = (0, 0);
        while at < data.len() {
            let n = sizes[i % sizes.len()].min(data.len() - at);
            chunks.push(Ok(Bytes::copy_from_slice(&data[at..at + n])));
            at += n;
            i += 1;
        }
        Box::pin(stream::iter(chunks))
    }

    async fn read_blob(store: &FsBlobStore, digest: &Digest) -> Vec<u8> {
        let mut reader = store.open(digest, None).await.unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_appends_at_odd_offsets_store_every_byte() {
        let (_dir, store) = store();
        let data = bytes(700_001, 1);
        let upload = store.begin("p/r/i").await.unwrap();
        // An unaligned first append, then appends that go direct from unaligned offsets.
        let cuts = [3, 70_000, 70_000 + 2 * ALIGN + 5, 500_000, data.len()];
        let mut at = 0;
        for (i, &cut) in cuts.iter().enumerate() {
            let sizes: &[usize] = if i % 2 == 0 {
                &[1000, 7, 65_536]
            } else {
                &[ALIGN + 1]
            };
            let state = store
                .append(&upload.id, at as u64, chunked(&data[at..cut], sizes))
                .await
                .unwrap();
            assert_eq!(state.size, cut as u64);
            at = cut;
        }
        let digest = Digest::sha256_of(&data);
        let info = store.finish(&upload.id, &digest).await.unwrap();
        assert_eq!(info.size, data.len() as u64);
        assert!(read_blob(&store, &digest).await == data);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_append_survives_a_restart() {
        let (dir, store) = store();
        let data = bytes(300_000, 2);
        let upload = store.begin("p/r/i").await.unwrap();
        let half = 150_001;
        store
            .append(&upload.id, 0, chunked(&data[..half], &[9_999]))
            .await
            .unwrap();
        drop(store);
        let store = FsBlobStore::open(dir.path()).unwrap().with_tuning(Tuning {
            direct_after: Some(0),
            direct_chunk: 4 * ALIGN,
            direct_appends: usize::MAX,
        });
        assert_eq!(store.state(&upload.id).await.unwrap().size, half as u64);
        store
            .append(&upload.id, half as u64, chunked(&data[half..], &[40_000]))
            .await
            .unwrap();
        let digest = Digest::sha256_of(&data);
        store.finish(&upload.id, &digest).await.unwrap();
        assert!(read_blob(&store, &digest).await == data);
    }

    /// A request dropped half-way (the client went away) leaves the session consistent: the
    /// size it reports is what the file holds, and the upload resumes from there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn append_dropped_half_way_resumes_from_what_was_written() {
        for round in 0..8u64 {
            let (_dir, store) = store();
            let data = bytes(400_000, 3 + round);
            let upload = store.begin("p/r/i").await.unwrap();
            let sent = Arc::new(AtomicBool::new(false));
            let first = 250_000 + round as usize * 1_001;
            let chunks: Vec<io::Result<Bytes>> = data[..first]
                .chunks(30_000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let flag = sent.clone();
            // The chunks, then a request that never ends.
            let body: ByteStream =
                Box::pin(stream::iter(chunks).chain(stream::poll_fn(move |_| {
                    flag.store(true, Ordering::Release);
                    std::task::Poll::Pending
                })));
            let mut append = store.append(&upload.id, 0, body);
            // Drop the append at some point after the last chunk was read.
            let mut polls = 0;
            std::future::poll_fn(|cx| {
                let _ = append.as_mut().poll(cx);
                polls += 1;
                if sent.load(Ordering::Acquire) && polls > round as usize {
                    std::task::Poll::Ready(())
                } else {
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            })
            .await;
            drop(append);
            // The next append settles what the dropped one left and reports the file's size.
            let size = match store.append(&upload.id, 0, Box::pin(stream::empty())).await {
                Err(StorageError::OffsetMismatch { actual, .. }) => actual,
                Ok(state) => state.size,
                Err(e) => panic!("{e}"),
            };
            let on_disk = fs::metadata(store.layout.upload_data(&upload.id))
                .unwrap()
                .len();
            assert_eq!(size, on_disk, "round {round}");
            assert!(size <= first as u64);
            let at = usize::try_from(size).unwrap();
            store
                .append(&upload.id, size, chunked(&data[at..], &[12_345]))
                .await
                .unwrap();
            let digest = Digest::sha256_of(&data);
            store.finish(&upload.id, &digest).await.unwrap();
            assert!(read_blob(&store, &digest).await == data, "round {round}");
        }
    }

    /// Appends racing `finish` never change what it acknowledges: either an append lands first
    /// (and `finish` fails, the digest no longer matches) or it finds no session; a blob stored
    /// under a digest always holds that digest's bytes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appends_racing_finish_never_change_the_acknowledged_blob() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        for round in 0..60u64 {
            let data = bytes(64 << 10, 100 + round);
            let digest = Digest::sha256_of(&data);
            let upload = store.begin("p/r/i").await.unwrap();
            store
                .append(&upload.id, 0, chunked(&data, &[16 << 10]))
                .await
                .unwrap();
            let done = Arc::new(AtomicBool::new(false));
            let end = data.len() as u64;
            let racers: Vec<_> = (0..3)
                .map(|_| {
                    let (store, id, done) = (store.clone(), upload.id.clone(), done.clone());
                    tokio::spawn(async move {
                        while !done.load(Ordering::Acquire) {
                            let extra: ByteStream =
                                Box::pin(stream::iter([Ok(Bytes::from_static(b"EVIL"))]));
                            let _ = store.append(&id, end, extra).await;
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            tokio::task::yield_now().await;
            let finished = store.finish(&upload.id, &digest).await;
            done.store(true, Ordering::Release);
            for racer in racers {
                racer.await.unwrap();
            }
            if finished.is_ok() {
                assert!(read_blob(&store, &digest).await == data, "round {round}");
            }
        }
    }
}
