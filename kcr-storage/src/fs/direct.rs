//! Direct (`O_DIRECT`) writes: bytes go from an aligned buffer to the disk without passing through
//! the page cache.
//!
//! Why: a buffered write copies every byte into a freshly allocated page-cache page (which on a VM
//! whose guest hands free memory back to the host costs several times the copy itself), and
//! writeback later walks those dirty pages again. For a large upload that nobody reads right away,
//! a direct write skips both; what it costs instead is one copy into an aligned buffer.
//!
//! Direct writes need the buffer address, the file offset and the length aligned to the device's
//! logical block size; [`ALIGN`] (4096) satisfies 512- and 4096-byte devices. A filesystem that
//! refuses `O_DIRECT` (at `open`, or with `EINVAL` at the first write) is written through the
//! page cache instead: [`open`] and [`is_refusal`] tell the caller when to fall back.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Alignment of a direct write's buffer address, file offset and length.
pub(crate) const ALIGN: usize = 4096;

/// Address space reserved for every buffer, of which only the buffer's own bytes are ever touched
/// (untouched pages cost no memory). Why: glibc's malloc maps a large block on its own, and when
/// one of up to 32 MiB is freed it raises its mmap threshold to that size and its trim threshold
/// to twice that, after which every thread's arena keeps up to 8 MiB of freed memory: measured,
/// 40 MiB more resident memory for the rest of the process after one large push. Blocks larger
/// than 32 MiB leave those thresholds alone.
const RESERVE: usize = 33 << 20;

/// A fixed-capacity byte buffer whose contents start at an [`ALIGN`]-aligned address.
///
/// Safe code cannot ask the allocator for an alignment, so the buffer over-allocates by one
/// alignment unit and starts at the first aligned address inside the allocation (the `Vec` is
/// never resized, so its address never changes).
pub(crate) struct AlignedBuf {
    raw: Vec<u8>,
    start: usize,
    len: usize,
    cap: usize,
}

impl AlignedBuf {
    /// An empty buffer of `cap` bytes, rounded up to a multiple of [`ALIGN`].
    pub(crate) fn new(cap: usize) -> AlignedBuf {
        let cap = cap.max(ALIGN).next_multiple_of(ALIGN);
        let mut raw = Vec::with_capacity((cap + ALIGN).max(RESERVE));
        raw.resize(cap + ALIGN, 0);
        let addr = raw.as_ptr() as usize;
        let start = (ALIGN - addr % ALIGN) % ALIGN;
        AlignedBuf {
            raw,
            start,
            len: 0,
            cap,
        }
    }

    /// How many bytes it holds when full.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Bytes held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.cap
    }

    /// Copies as much of `data` as fits; returns how much that was.
    pub(crate) fn fill(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.cap - self.len);
        let at = self.start + self.len;
        self.raw[at..at + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    /// The bytes held; starts at an aligned address.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.raw[self.start..self.start + self.len]
    }

    /// Keeps only the first `len` bytes.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    pub(crate) fn clear(&mut self) {
        self.len = 0;
    }
}

/// Buffers kept for reuse while large uploads run, in bytes: a 1 GiB upload goes through 256 of
/// 4 MiB, and allocating (and faulting in) each afresh would cost about as much as filling it.
/// When the last large upload ends, the pool is emptied, so an idle server holds none.
const POOL_BYTES: usize = 24 << 20;

static POOL: Mutex<Vec<AlignedBuf>> = Mutex::new(Vec::new());

/// How many [`PoolUse`]s are alive.
static USERS: AtomicUsize = AtomicUsize::new(0);

/// Keeps the buffer pool filled while alive (one per upload that writes directly).
pub(crate) struct PoolUse(());

impl PoolUse {
    pub(crate) fn new() -> PoolUse {
        USERS.fetch_add(1, Ordering::AcqRel);
        PoolUse(())
    }
}

impl Drop for PoolUse {
    fn drop(&mut self) {
        let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
        if USERS.fetch_sub(1, Ordering::AcqRel) == 1 {
            pool.clear();
        }
    }
}

/// An empty buffer of `cap` bytes, from the pool when one of that size is there.
pub(crate) fn take_buffer(cap: usize) -> AlignedBuf {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    match pool.iter().rposition(|b| b.capacity() == cap) {
        Some(i) => {
            let mut buf = pool.swap_remove(i);
            buf.clear();
            buf
        }
        None => {
            drop(pool);
            AlignedBuf::new(cap)
        }
    }
}

/// Hands a buffer back for reuse, or frees it when no upload needs the pool or it is full.
pub(crate) fn give_buffer(buf: AlignedBuf) {
    let mut pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
    let held: usize = pool.iter().map(AlignedBuf::capacity).sum();
    if USERS.load(Ordering::Acquire) > 0 && held + buf.capacity() <= POOL_BYTES {
        pool.push(buf);
    }
}

/// Opens `path` (which must exist) for direct writes. An error means "write through the page cache
/// instead": the filesystem does not support `O_DIRECT`, or this platform has no such flag.
#[cfg(target_os = "linux")]
pub(crate) fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    #[cfg(test)]
    if REFUSE_OPEN.with(std::cell::Cell::get) {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
}

#[cfg(test)]
thread_local! {
    /// Test switch: `open` on this thread fails as on a filesystem without `O_DIRECT`.
    static REFUSE_OPEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Test switch: makes `open` on the calling thread fail as on a filesystem without `O_DIRECT`.
#[cfg(test)]
pub(crate) fn refuse_open_on_this_thread(refuse: bool) {
    REFUSE_OPEN.with(|r| r.set(refuse));
}

/// No `O_DIRECT` on this platform: every write goes through the page cache.
#[cfg(not(target_os = "linux"))]
pub(crate) fn open(_path: &Path) -> io::Result<File> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// Whether a direct write failed because the file or filesystem does not take direct writes of
/// this alignment (nothing was written; the same bytes can be written through the page cache).
pub(crate) fn is_refusal(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidInput || e.kind() == io::ErrorKind::Unsupported
}

/// Writes all of `data` at `offset` through a direct descriptor (blocking). Fails with the
/// refusal error only when nothing was written, so the caller can write the same bytes through
/// the page cache.
#[cfg(unix)]
pub(crate) fn write_all_at(file: &File, mut data: &[u8], mut offset: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut first = true;
    while !data.is_empty() {
        match file.write_at(data, offset) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => {
                data = &data[n..];
                offset += n as u64;
                first = false;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // A refusal after a partial write cannot be retried elsewhere: report it as an error.
            Err(e) if is_refusal(&e) && !first => return Err(io::Error::other(e)),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// No positional writes here: report a refusal so the caller writes through the page cache.
#[cfg(not(unix))]
pub(crate) fn write_all_at(_file: &File, _data: &[u8], _offset: u64) -> io::Result<()> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_start_aligned_and_fill_to_capacity() {
        for cap in [1, ALIGN, 3 * ALIGN + 5] {
            let mut buf = AlignedBuf::new(cap);
            assert_eq!(buf.capacity() % ALIGN, 0);
            assert!(buf.capacity() >= cap);
            assert_eq!(buf.bytes().as_ptr() as usize % ALIGN, 0);
            let data = vec![7u8; buf.capacity() + 10];
            let n = buf.fill(&data[..100]);
            assert_eq!((n, buf.len()), (100, 100));
            let n = buf.fill(&data);
            assert_eq!(n, buf.capacity() - 100);
            assert!(buf.is_full());
            assert_eq!(buf.fill(&data), 0);
            buf.truncate(ALIGN);
            assert_eq!(buf.len(), ALIGN);
            buf.clear();
            assert_eq!(buf.len(), 0);
        }
    }

    #[test]
    fn pooled_buffers_come_back_empty() {
        let _user = PoolUse::new();
        let cap = 5 * ALIGN;
        let mut buf = take_buffer(cap);
        buf.fill(&[1, 2, 3]);
        give_buffer(buf);
        let again = take_buffer(cap);
        assert_eq!(again.len(), 0);
        assert_eq!(again.capacity(), cap);
    }

    #[test]
    fn pool_keeps_nothing_without_users() {
        // A size no other test uses, so parallel tests cannot interfere.
        let cap = 7 * ALIGN;
        {
            let _user = PoolUse::new();
            give_buffer(AlignedBuf::new(cap));
        }
        let kept = |cap| {
            let pool = POOL.lock().unwrap_or_else(|p| p.into_inner());
            pool.iter().any(|b| b.capacity() == cap)
        };
        if USERS.load(Ordering::Acquire) == 0 {
            assert!(!kept(cap));
        }
    }

    /// A direct write the filesystem refuses (here: a length that is not block-aligned) writes
    /// nothing and says so, so the caller can fall back to the page cache.
    #[cfg(target_os = "linux")]
    #[test]
    fn refused_direct_write_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        File::create(&path).expect("create");
        let Ok(file) = open(&path) else {
            // No O_DIRECT on the test's filesystem: the fallback is all there is.
            return;
        };
        let mut buf = AlignedBuf::new(2 * ALIGN);
        buf.fill(&[9u8; 2 * ALIGN]);
        let err = write_all_at(&file, &buf.bytes()[..ALIGN + 1], 0).expect_err("unaligned");
        assert!(is_refusal(&err), "{err:?}");
        assert_eq!(std::fs::metadata(&path).expect("stat").len(), 0);
        write_all_at(&file, buf.bytes(), 0).expect("aligned write");
        assert_eq!(std::fs::read(&path).expect("read"), vec![9u8; 2 * ALIGN]);
    }
}
