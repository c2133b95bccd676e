//! The write side of an append: how received bytes reach the session's data file, in order,
//! overlapped with hashing, and direct (`O_DIRECT`) for large appends.
//!
//! Two halves:
//!
//! - A [`Stager`] on the request's side (async, as chunks arrive) decides what each chunk
//!   becomes. Until an append has received [`Tuning::direct_after`] bytes, chunks pass through
//!   ([`Piece::Chunk`]; tiny ones joined first). After that, they are copied into aligned buffers
//!   of [`Tuning::direct_chunk`] bytes ([`Piece::Full`], and [`Piece::Tail`] for the last, partly
//!   filled one) and the received chunk is dropped at once: the HTTP server can then reuse its
//!   read buffer instead of allocating (and page-faulting in) a new one for every read, which on
//!   a 1 GiB push cost more CPU than the copy. Bytes up to the first aligned file offset pass
//!   through as chunks.
//! - A [`Pipeline`] on the session's side (blocking, in the order the pieces were queued) turns
//!   pieces into writes ([`Job`]s): chunks are appended through the page cache right away; full
//!   buffers are written directly (see [`direct`](super::direct)) on another blocking task, so
//!   the disk writes one buffer while the next one is hashed. At most one write is in flight: the
//!   next one waits for it. A tail buffer's aligned part goes direct, the rest through the page
//!   cache. Where the filesystem refuses direct writes, buffers go through the page cache.
//!
//! No thread waits for the network: between pieces the pipeline (a write in flight) stays in the
//! session. The hasher runs ahead of the file by the write in flight; [`Pipeline::finish`] waits
//! for it, so that size and hash agree again. It runs at the end of every append, and, after an
//! append whose request was dropped half-way, when the next holder of the session lock takes
//! over.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};

use super::direct::{self, AlignedBuf, ALIGN};
use super::session::{Session, Writeback};

/// When an append's bytes start going direct, and in what size of writes.
///
/// Defaults (measured in docs/benchmarks.md, "Profiles and what each change bought", item 8):
/// direct after 16 MiB, so layers of a few MiB stay in the page cache, where pulls that follow
/// right away find them; 4 MiB per direct write, because at most one write is in flight and the
/// disk should not wait between them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tuning {
    /// Bytes an append receives before its bytes go direct; `None`: never.
    pub(crate) direct_after: Option<u64>,
    /// Bytes per direct buffer (a multiple of [`ALIGN`]).
    pub(crate) direct_chunk: usize,
    /// Appends of one store writing directly at once; the others stay buffered. Bounds the
    /// memory that stalled or abandoned large uploads hold: each direct append keeps a staging
    /// buffer, and up to one queued and one in-flight buffer.
    pub(crate) direct_appends: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            direct_after: Some(16 << 20),
            direct_chunk: 4 << 20,
            direct_appends: 4,
        }
    }
}

/// How many appends of a store write directly; see [`Tuning::direct_appends`].
#[derive(Debug, Default)]
pub(crate) struct DirectSlots {
    in_use: AtomicUsize,
}

impl DirectSlots {
    /// A slot, unless `max` appends hold one already.
    fn try_take(self: &Arc<Self>, max: usize) -> Option<DirectSlot> {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| DirectSlot(self.clone()))
    }
}

/// One append's leave to write directly, given back when the append ends.
struct DirectSlot(Arc<DirectSlots>);

impl Drop for DirectSlot {
    fn drop(&mut self) {
        self.0.in_use.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Received chunks smaller than this are joined before they are queued.
const SMALL_CHUNK: usize = 4 << 10;

/// Joined small chunks are queued once they reach this many bytes (or the request ends).
const JOINED_MAX: usize = 64 << 10;

/// What the request's side queues for the session's side, in file order.
pub(crate) enum Piece {
    /// Received bytes, to append through the page cache.
    Chunk(Bytes),
    /// A full aligned buffer, for the aligned offset where the previous piece ends.
    Full(AlignedBuf),
    /// The last buffer of an append, maybe partly filled.
    Tail(AlignedBuf),
}

/// The request's half: turns received chunks into [`Piece`]s; see the [module docs](self).
pub(crate) struct Stager {
    tuning: Tuning,
    /// File offset of the next byte received.
    position: u64,
    /// Bytes received by this append.
    received: u64,
    /// The buffer being filled: bytes for an aligned offset onwards.
    staging: Option<AlignedBuf>,
    /// Small chunks being joined before they go through the page cache (see [`Stager::pass`]).
    small: BytesMut,
    /// The store's direct slots, and this append's (with the buffer pool) once it has one.
    slots: Arc<DirectSlots>,
    slot: Option<(DirectSlot, direct::PoolUse)>,
}

impl Stager {
    /// For an append that starts at file offset `position`.
    pub(crate) fn new(position: u64, tuning: Tuning, slots: Arc<DirectSlots>) -> Stager {
        Stager {
            tuning,
            position,
            received: 0,
            staging: None,
            small: BytesMut::new(),
            slots,
            slot: None,
        }
    }

    /// Whether this append may write directly now (taking a slot if it has none yet).
    fn may_go_direct(&mut self) -> bool {
        if self.tuning.direct_after.is_none_or(|n| self.received <= n) {
            return false;
        }
        if self.slot.is_none() {
            let Some(slot) = self.slots.try_take(self.tuning.direct_appends) else {
                return false;
            };
            self.slot = Some((slot, direct::PoolUse::new()));
        }
        true
    }

    /// Turns a received chunk into pieces, appended to `out`.
    pub(crate) fn push(&mut self, chunk: Bytes, out: &mut VecDeque<Piece>) {
        self.received += chunk.len() as u64;
        if !self.may_go_direct() {
            self.position += chunk.len() as u64;
            self.pass(chunk, out);
            return;
        }
        self.flush_small(out);
        let mut rest = chunk;
        let misaligned = (self.position % ALIGN as u64) as usize;
        if self.staging.is_none() && misaligned != 0 {
            // Up to the next aligned offset as it is.
            let head = rest.split_to(rest.len().min(ALIGN - misaligned));
            self.position += head.len() as u64;
            out.push_back(Piece::Chunk(head));
        }
        while !rest.is_empty() {
            let staging = self
                .staging
                .get_or_insert_with(|| direct::take_buffer(self.tuning.direct_chunk));
            let n = staging.fill(&rest);
            rest.advance(n);
            self.position += n as u64;
            if staging.is_full() {
                if let Some(full) = self.staging.take() {
                    out.push_back(Piece::Full(full));
                }
            }
        }
    }

    /// Passes a chunk through the page cache; chunks under [`SMALL_CHUNK`] are joined first, up
    /// to [`JOINED_MAX`], so that a body sent in tiny pieces costs one queue entry and one write
    /// per [`JOINED_MAX`] rather than per piece.
    fn pass(&mut self, chunk: Bytes, out: &mut VecDeque<Piece>) {
        if chunk.len() < SMALL_CHUNK {
            self.small.extend_from_slice(&chunk);
            if self.small.len() >= JOINED_MAX {
                self.flush_small(out);
            }
            return;
        }
        self.flush_small(out);
        out.push_back(Piece::Chunk(chunk));
    }

    /// Joined small chunks, if any, as one piece.
    fn flush_small(&mut self, out: &mut VecDeque<Piece>) {
        if !self.small.is_empty() {
            out.push_back(Piece::Chunk(self.small.split().freeze()));
        }
    }

    /// The request ended: the partly filled buffer, if any, as the tail.
    pub(crate) fn finish(&mut self, out: &mut VecDeque<Piece>) {
        self.flush_small(out);
        if let Some(tail) = self.staging.take() {
            out.push_back(Piece::Tail(tail));
        }
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        if let Some(buf) = self.staging.take() {
            direct::give_buffer(buf);
        }
    }
}

/// One write, in file order.
enum Job {
    /// Append through the page cache.
    Buffered(Vec<Bytes>),
    /// Write a buffer (a multiple of [`ALIGN`]) directly at `offset`, the end of the file once
    /// earlier jobs ran.
    Direct(AlignedBuf, u64),
    /// A direct write that ran; its buffer went back to the pool (its length).
    Done(u64),
}

impl Job {
    fn len(&self) -> u64 {
        match self {
            Job::Buffered(chunks) => chunks.iter().map(|c| c.len() as u64).sum(),
            Job::Direct(buf, _) => buf.len() as u64,
            Job::Done(len) => *len,
        }
    }
}

/// A job that ran elsewhere: the files, the job (for its buffer) and the outcome.
type Done = (Files, Job, io::Result<()>);

/// The data file's descriptors and what a job updates; travels with the job in flight.
pub(crate) struct Files {
    /// Opened for appending.
    pub(crate) buffered: File,
    /// Opened with `O_DIRECT`; `None` when direct writes are off or were refused.
    direct: Option<File>,
    /// Bytes in the file.
    pub(crate) size: u64,
    /// Of those, bytes this append wrote directly.
    pub(crate) direct_bytes: u64,
    pub(crate) writeback: Writeback,
    session: Arc<Session>,
}

impl Files {
    pub(crate) fn new(
        session: Arc<Session>,
        buffered: File,
        size: u64,
        writeback: Writeback,
    ) -> Files {
        Files {
            buffered,
            direct: None,
            size,
            direct_bytes: 0,
            writeback,
            session,
        }
    }

    /// Runs one job (blocking).
    fn run(&mut self, job: &Job) -> io::Result<()> {
        match job {
            Job::Buffered(chunks) => chunks.iter().try_for_each(|c| self.write_buffered(c)),
            Job::Direct(buf, offset) => {
                if *offset != self.size {
                    return Err(io::Error::other("direct write out of order"));
                }
                self.write_direct(buf.bytes(), *offset)
            }
            Job::Done(..) => Ok(()),
        }
    }

    fn write_buffered(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buffered.write_all(bytes)?;
        self.grew(bytes.len());
        self.writeback.appended(&self.buffered, bytes.len() as u64);
        Ok(())
    }

    fn write_direct(&mut self, bytes: &[u8], offset: u64) -> io::Result<()> {
        if let Some(file) = &self.direct {
            match direct::write_all_at(file, bytes, offset) {
                Ok(()) => {
                    self.grew(bytes.len());
                    self.direct_bytes += bytes.len() as u64;
                    return Ok(());
                }
                Err(e) if direct::is_refusal(&e) => {
                    tracing::debug!(error = %e, "direct write refused; writing through the page cache");
                    self.direct = None;
                }
                Err(e) => return Err(e),
            }
        }
        // Nothing was written directly, so the file still ends at `offset`.
        self.write_buffered(bytes)
    }

    fn grew(&mut self, n: usize) {
        self.size += n as u64;
        self.session.publish_size(self.size);
    }
}

/// The session's half: the writes of one append; see the [module docs](self).
pub(crate) struct Pipeline {
    /// The data file, for opening its direct descriptor.
    data: PathBuf,
    /// The files, while no job is in flight.
    files: Option<Files>,
    /// The job in flight.
    in_flight: Option<Receiver<Done>>,
    /// A job failed: nothing more is written.
    failed: bool,
    /// File offset right after every submitted job.
    end: u64,
    /// Whether the direct descriptor was opened (or refused) yet.
    direct_tried: bool,
}

impl Pipeline {
    pub(crate) fn new(files: Files) -> Pipeline {
        Pipeline {
            data: files.session.data.clone(),
            end: files.size,
            files: Some(files),
            in_flight: None,
            failed: false,
            direct_tried: false,
        }
    }

    /// Appends chunks through the page cache (blocking; after the write in flight).
    pub(crate) fn push_chunks(&mut self, chunks: Vec<Bytes>) -> io::Result<()> {
        self.submit(Job::Buffered(chunks))
    }

    /// Writes a buffer: its aligned part directly (on another thread; this returns once the
    /// previous direct write is done), the rest, which only a tail has, through the page cache.
    pub(crate) fn push_buffer(&mut self, mut buf: AlignedBuf) -> io::Result<()> {
        let aligned = buf.len() - buf.len() % ALIGN;
        let rest = Bytes::copy_from_slice(&buf.bytes()[aligned..]);
        buf.truncate(aligned);
        if aligned == 0 {
            direct::give_buffer(buf);
        } else {
            let offset = self.end;
            self.submit(Job::Direct(buf, offset))?;
        }
        if !rest.is_empty() {
            self.submit(Job::Buffered(vec![rest]))?;
        }
        Ok(())
    }

    /// Whether no write is in flight (then [`finish`](Self::finish) does not block).
    pub(crate) fn is_idle(&self) -> bool {
        self.in_flight.is_none()
    }

    /// Waits for every job (blocking). Returns the files (unless a job panicked) and the first
    /// error.
    pub(crate) fn finish(mut self) -> (Option<Files>, io::Result<()>) {
        let mut result = self.wait();
        if result.is_ok() && self.failed {
            result = Err(io::Error::other("an earlier write of this upload failed"));
        }
        (self.files.take(), result)
    }

    /// Runs `job` after the one in flight: a direct write on another blocking thread, anything
    /// else here.
    fn submit(&mut self, job: Job) -> io::Result<()> {
        self.wait()?;
        if self.failed {
            return Err(io::Error::other("an earlier write of this upload failed"));
        }
        let Some(mut files) = self.files.take() else {
            return Err(io::Error::other("upload writer lost its files"));
        };
        self.end += job.len();
        if !matches!(job, Job::Direct(..)) {
            let result = files.run(&job);
            self.files = Some(files);
            return self.done(job, result);
        }
        if !self.direct_tried {
            self.direct_tried = true;
            match direct::open(&self.data) {
                Ok(file) => files.direct = Some(file),
                Err(e) => tracing::debug!(error = %e, "no direct writes on this filesystem"),
            }
        }
        let (tx, rx) = sync_channel(1);
        let work = move || {
            let result = files.run(&job);
            // Hand the buffer back now: an append whose request was dropped leaves this
            // message unread until the session is next locked, possibly for a day.
            let job = match job {
                Job::Direct(buf, _) => {
                    let len = buf.len() as u64;
                    direct::give_buffer(buf);
                    Job::Done(len)
                }
                other => other,
            };
            // The receiver is gone only when the session was aborted.
            let _ = tx.send((files, job, result));
        };
        // Not on tokio's blocking pool: the caller (itself on that pool) blocks until this
        // job is done, so with every pool thread a caller waiting for a queued job, nothing runs.
        if let Err(e) = std::thread::Builder::new()
            .name("kcr-direct-write".into())
            .spawn(work)
        {
            self.failed = true;
            return Err(e);
        }
        self.in_flight = Some(rx);
        Ok(())
    }

    /// Waits for the job in flight, if any (blocking).
    fn wait(&mut self) -> io::Result<()> {
        let Some(rx) = self.in_flight.take() else {
            return Ok(());
        };
        match rx.recv() {
            Ok((files, job, result)) => {
                self.files = Some(files);
                self.done(job, result)
            }
            Err(_) => {
                self.failed = true;
                Err(io::Error::other("upload writer panicked"))
            }
        }
    }

    /// Hands a finished job's buffer back to the pool and notes its failure.
    fn done(&mut self, job: Job, result: io::Result<()>) -> io::Result<()> {
        if let Job::Direct(buf, _) = job {
            direct::give_buffer(buf);
        }
        if result.is_err() {
            self.failed = true;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fs::{self, OpenOptions};

    use super::*;
    use crate::fs::layout::Layout;

    /// A session directory whose data file already holds `prefix`, and its appending descriptor.
    fn session_with(prefix: &[u8]) -> (tempfile::TempDir, Arc<Session>, File) {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path().to_path_buf());
        fs::create_dir_all(layout.uploads()).unwrap();
        let session = Arc::new(Session::create(&layout, "p/r/i").unwrap());
        fs::write(&session.data, prefix).unwrap();
        session.publish_size(prefix.len() as u64);
        let file = OpenOptions::new().append(true).open(&session.data).unwrap();
        (dir, session, file)
    }

    /// `n` bytes that differ from their neighbours, so a misplaced chunk shows.
    fn pattern(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| {
                (i as u8)
                    .wrapping_mul(31)
                    .wrapping_add(seed ^ (i >> 8) as u8)
            })
            .collect()
    }

    /// Hands queued pieces to the pipeline as a burst would, three at a time.
    fn drain(queue: &mut VecDeque<Piece>, pipeline: &mut Pipeline) -> io::Result<()> {
        while !queue.is_empty() {
            let mut chunks = Vec::new();
            for piece in queue.drain(..queue.len().min(3)) {
                match piece {
                    Piece::Chunk(c) => chunks.push(c),
                    Piece::Full(buf) | Piece::Tail(buf) => {
                        if !chunks.is_empty() {
                            pipeline.push_chunks(std::mem::take(&mut chunks))?;
                        }
                        pipeline.push_buffer(buf)?;
                    }
                }
            }
            if !chunks.is_empty() {
                pipeline.push_chunks(chunks)?;
            }
        }
        Ok(())
    }

    /// Sends `chunks` through a `Stager` and a `Pipeline` and checks that the file ends up
    /// holding the prefix and then every chunk, in order. Returns how many bytes went direct.
    fn check(tuning: Tuning, prefix: &[u8], chunks: &[usize]) -> u64 {
        let (_dir, session, file) = session_with(prefix);
        let files = Files::new(
            session.clone(),
            file,
            prefix.len() as u64,
            Writeback::default(),
        );
        let mut stager = Stager::new(prefix.len() as u64, tuning, Arc::default());
        let mut pipeline = Pipeline::new(files);
        let mut queue = VecDeque::new();
        let mut expected = prefix.to_vec();
        for (i, &n) in chunks.iter().enumerate() {
            let chunk = pattern(n, i as u8);
            expected.extend_from_slice(&chunk);
            stager.push(Bytes::from(chunk), &mut queue);
            if i % 2 == 1 {
                drain(&mut queue, &mut pipeline).unwrap();
            }
        }
        stager.finish(&mut queue);
        drain(&mut queue, &mut pipeline).unwrap();
        let (files, result) = pipeline.finish();
        result.unwrap();
        let files = files.expect("files back");
        assert_eq!(files.size, expected.len() as u64, "{tuning:?} {chunks:?}");
        assert_eq!(session.state().size, expected.len() as u64);
        let appended: usize = chunks.iter().sum();
        let direct_possible = direct::open(&session.data).is_ok();
        if direct_possible && tuning.direct_after == Some(0) && appended >= 2 * SMALL_DIRECT {
            assert!(
                files.direct_bytes > 0,
                "{tuning:?} {chunks:?}: nothing went direct"
            );
        }
        if tuning.direct_after.is_none() {
            assert_eq!(files.direct_bytes, 0);
        }
        let direct_bytes = files.direct_bytes;
        drop(files);
        let actual = fs::read(&session.data).unwrap();
        assert!(
            actual == expected,
            "{tuning:?} prefix {} chunks {chunks:?}: file differs",
            prefix.len()
        );
        direct_bytes
    }

    const SMALL_DIRECT: usize = 2 * ALIGN;

    fn tunings() -> Vec<Tuning> {
        let t = |direct_after| Tuning {
            direct_after,
            direct_chunk: SMALL_DIRECT,
            direct_appends: usize::MAX,
        };
        vec![
            // Everything through the page cache (small appends).
            t(None),
            // Direct from the first byte.
            t(Some(0)),
            // Direct from the middle of the append.
            t(Some(10_000)),
        ]
    }

    #[test]
    fn every_path_writes_every_byte_in_order() {
        let shapes: [&[usize]; 6] = [
            &[],
            &[1],
            &[ALIGN - 1, 2, ALIGN],
            &[5 * ALIGN + 17, 3, 9000, 1, SMALL_DIRECT, SMALL_DIRECT - 1],
            &[SMALL_DIRECT; 7],
            &[100_000, 3, 65_536, 4097, 123_457],
        ];
        for tuning in tunings() {
            for prefix in [0, 3, ALIGN, ALIGN + 100] {
                for chunks in shapes {
                    check(tuning, &pattern(prefix, 99), chunks);
                }
            }
        }
    }

    /// A body in tiny pieces is queued as a few joined chunks, every byte in order.
    #[test]
    fn tiny_chunks_are_joined_before_they_are_queued() {
        let tuning = Tuning {
            direct_after: None,
            ..Tuning::default()
        };
        let data = pattern(3 * JOINED_MAX + 5, 3);
        let mut stager = Stager::new(0, tuning, Arc::default());
        let mut out = VecDeque::new();
        for (i, byte) in data.iter().enumerate() {
            stager.push(Bytes::copy_from_slice(&[*byte]), &mut out);
            if i == 10 {
                // A large chunk in between flushes what was joined so far, first.
                let big = Bytes::from(vec![0u8; SMALL_CHUNK]);
                stager.push(big, &mut out);
            }
        }
        stager.finish(&mut out);
        let mut expected = data[..11].to_vec();
        expected.extend_from_slice(&[0u8; SMALL_CHUNK]);
        expected.extend_from_slice(&data[11..]);
        let mut got = Vec::new();
        for piece in &out {
            match piece {
                Piece::Chunk(c) => got.extend_from_slice(c),
                _ => panic!("nothing goes direct here"),
            }
        }
        assert!(got == expected, "bytes differ");
        assert!(out.len() <= 6, "{} pieces", out.len());
    }

    /// Beyond `direct_appends`, appends stay buffered until a slot is given back.
    #[test]
    fn appends_beyond_the_direct_slots_stay_buffered() {
        let tuning = Tuning {
            direct_after: Some(0),
            direct_chunk: SMALL_DIRECT,
            direct_appends: 1,
        };
        let slots: Arc<DirectSlots> = Arc::default();
        let direct = |out: &VecDeque<Piece>| out.iter().any(|p| !matches!(p, Piece::Chunk(_)));
        let chunk = || Bytes::from(pattern(2 * SMALL_DIRECT, 7));
        let mut first = Stager::new(0, tuning, slots.clone());
        let mut second = Stager::new(0, tuning, slots.clone());
        let (mut a, mut b) = (VecDeque::new(), VecDeque::new());
        first.push(chunk(), &mut a);
        second.push(chunk(), &mut b);
        assert!(direct(&a), "the first append takes the slot");
        assert!(!direct(&b), "the second finds none and stays buffered");
        drop(first);
        b.clear();
        second.push(chunk(), &mut b);
        assert!(direct(&b), "the slot, given back, goes to the next append");
    }

    /// Where `O_DIRECT` cannot be opened (tmpfs before Linux 6.6, other platforms), an append
    /// that would go direct is written through the page cache instead.
    #[test]
    fn refused_direct_open_falls_back_to_the_page_cache() {
        direct::refuse_open_on_this_thread(true);
        for tuning in tunings() {
            let direct_bytes = check(tuning, &pattern(5, 1), &[3 * ALIGN + 1, 70_000, 2]);
            assert_eq!(direct_bytes, 0, "{tuning:?}");
        }
        direct::refuse_open_on_this_thread(false);
    }

    /// A direct write the filesystem refuses writes nothing, so the same bytes go through the page
    /// cache, and later direct buffers follow them there.
    #[cfg(target_os = "linux")]
    #[test]
    fn refused_direct_write_falls_back_to_the_page_cache() {
        let (_dir, session, file) = session_with(b"");
        let Ok(direct_file) = direct::open(&session.data) else {
            return;
        };
        let mut files = Files::new(session.clone(), file, 0, Writeback::default());
        files.direct = Some(direct_file);
        let data = pattern(3 * ALIGN, 7);
        // An unaligned length: refused by every filesystem that does direct I/O.
        let mut odd = AlignedBuf::new(2 * ALIGN);
        odd.fill(&data[..ALIGN + 1]);
        files.run(&Job::Direct(odd, 0)).unwrap();
        assert!(files.direct.is_none(), "gave up on direct writes");
        let mut rest = AlignedBuf::new(2 * ALIGN);
        rest.fill(&data[ALIGN + 1..]);
        files.run(&Job::Direct(rest, ALIGN as u64 + 1)).unwrap();
        assert_eq!(files.size, data.len() as u64);
        assert_eq!(fs::read(&session.data).unwrap(), data);
    }

    /// A direct job whose offset is not the end of the file is an error, never a misplaced write.
    #[test]
    fn out_of_order_direct_job_is_an_error() {
        let (_dir, session, file) = session_with(b"abc");
        let mut files = Files::new(session.clone(), file, 3, Writeback::default());
        let mut buf = AlignedBuf::new(ALIGN);
        buf.fill(&[1u8; ALIGN]);
        assert!(files.run(&Job::Direct(buf, 0)).is_err());
        assert_eq!(fs::read(&session.data).unwrap(), b"abc");
    }

    /// A page-cache write that fails stops the append with its own error.
    #[test]
    fn failed_write_reaches_the_caller() {
        let (_dir, session, file) = session_with(b"");
        // Appending through a read-only descriptor fails at the first write.
        drop(file);
        let read_only = File::open(&session.data).unwrap();
        let files = Files::new(session.clone(), read_only, 0, Writeback::default());
        let mut pipeline = Pipeline::new(files);
        let err = pipeline
            .push_chunks(vec![Bytes::from(vec![1u8; 1000])])
            .expect_err("read-only");
        assert_eq!(err.raw_os_error(), Some(9), "EBADF expected, got {err}");
        assert!(pipeline
            .push_chunks(vec![Bytes::from_static(b"x")])
            .is_err());
        let (_files, result) = pipeline.finish();
        assert!(result.is_err());
        assert_eq!(fs::metadata(&session.data).unwrap().len(), 0);
    }

    /// A direct write that fails on the other thread reaches the caller at its next write, or
    /// at `finish`, and nothing is written after it.
    #[test]
    fn failed_write_in_flight_reaches_the_caller() {
        let (_dir, session, file) = session_with(b"");
        let mut files = Files::new(session.clone(), file, 0, Writeback::default());
        // A descriptor that cannot write: every direct write fails with EBADF (not a refusal).
        files.direct = Some(File::open(&session.data).unwrap());
        let mut pipeline = Pipeline::new(files);
        pipeline.direct_tried = true;
        let mut buf = AlignedBuf::new(ALIGN);
        buf.fill(&[5u8; ALIGN]);
        pipeline.push_buffer(buf).expect("handed over");
        let next = pipeline.push_chunks(vec![Bytes::from_static(b"later")]);
        let (_files, finished) = pipeline.finish();
        let err = next.err().or(finished.err()).expect("an error");
        assert_eq!(err.raw_os_error(), Some(9), "EBADF expected, got {err}");
        assert_eq!(fs::metadata(&session.data).unwrap().len(), 0);
    }
}
