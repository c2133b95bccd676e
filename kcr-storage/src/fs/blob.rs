//! Reading, stating, deleting and listing finished blobs.
//!
//! A blob GET costs one hop to the blocking pool: `open` opens the file, checks its size, seeks
//! to the range and reads the first chunk in one blocking call, and the returned reader keeps
//! one chunk read ahead of its consumer (two buffers per reader, reused). A blob that fits in one
//! chunk is served straight from memory. `stat` runs on the calling thread: a `stat` of a blob
//! path whose directories are cached takes microseconds, less than the thread hop it would cost.

use std::fs;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use async_trait::async_trait;
use kcr_core::store::{BlobInfo, BlobReader, BlobStore, ByteRange, StorageError, StoreResult};
use kcr_core::{Algorithm, Digest};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::task::JoinHandle;

use super::layout::{Layout, ALGORITHMS};
use super::{blocking, join_error, FsBlobStore};

/// Bytes per blocking read of a blob reader. Two such buffers per open reader: sixteen
/// concurrent pulls hold 16 MiB.
const CHUNK: u64 = 512 * 1024;

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn stat(&self, digest: &Digest) -> StoreResult<Option<BlobInfo>> {
        match fs::metadata(self.layout.blob(digest)) {
            Ok(meta) if meta.is_file() => Ok(Some(BlobInfo {
                digest: digest.clone(),
                size: meta.len(),
                modified: meta.modified().map_err(StorageError::Io)?,
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::Io(e)),
        }
    }

    async fn open(&self, digest: &Digest, range: Option<ByteRange>) -> StoreResult<BlobReader> {
        let path = self.layout.blob(digest);
        let reader = blocking(move || ChunkReader::open(&path, range)).await?;
        Ok(Box::pin(reader))
    }

    async fn delete(&self, digest: &Digest) -> StoreResult<bool> {
        match tokio::fs::remove_file(self.layout.blob(digest)).await {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StorageError::Io(e)),
        }
    }

    async fn inventory(&self) -> StoreResult<Vec<BlobInfo>> {
        let layout = self.layout.clone();
        blocking(move || inventory(&layout).map_err(StorageError::Io)).await
    }
}

/// Walks `blobs/<algorithm>/<xx>/<hex>`, skipping anything that is not a well-placed blob.
fn inventory(layout: &Layout) -> io::Result<Vec<BlobInfo>> {
    let mut out = Vec::new();
    for algorithm in ALGORITHMS {
        let Some(fanout) = read_dir_if_exists(&layout.algorithm_dir(algorithm))? else {
            continue;
        };
        for prefix in fanout {
            let prefix = prefix?;
            if !prefix.file_type()?.is_dir() {
                continue;
            }
            let Some(entries) = read_dir_if_exists(&prefix.path())? else {
                continue;
            };
            for entry in entries {
                if let Some(info) = blob_entry(algorithm, &prefix.file_name(), &entry?)? {
                    out.push(info);
                }
            }
        }
    }
    Ok(out)
}

/// The blob an entry of `blobs/<algorithm>/<prefix>/` holds, if it is one.
fn blob_entry(
    algorithm: Algorithm,
    prefix: &std::ffi::OsStr,
    entry: &fs::DirEntry,
) -> io::Result<Option<BlobInfo>> {
    let name = entry.file_name();
    let (Some(name), Some(prefix)) = (name.to_str(), prefix.to_str()) else {
        return Ok(None);
    };
    let Ok(digest) = Digest::new(algorithm, name) else {
        return Ok(None);
    };
    if !name.starts_with(prefix) || prefix.len() != 2 {
        return Ok(None);
    }
    let meta = match entry.metadata() {
        Ok(m) => m,
        // Deleted between listing and stat (a concurrent delete): not part of the inventory.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return Ok(None);
    }
    Ok(Some(BlobInfo {
        digest,
        size: meta.len(),
        modified: meta.modified()?,
    }))
}

fn read_dir_if_exists(dir: &Path) -> io::Result<Option<fs::ReadDir>> {
    match fs::read_dir(dir) {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A blob's bytes, read on the blocking pool one chunk ahead of the consumer.
struct ChunkReader {
    /// The chunk being handed out, and how much of it is gone.
    ready: Vec<u8>,
    pos: usize,
    /// The file, while no read is in flight.
    file: Option<fs::File>,
    /// A spare buffer, while no read is in flight.
    spare: Vec<u8>,
    /// The read in flight: it hands back the file, the filled buffer and the outcome.
    next: Option<JoinHandle<ChunkRead>>,
    /// Bytes of the range not yet requested from the file.
    unread: u64,
}

type ChunkRead = (fs::File, Vec<u8>, io::Result<()>);

impl ChunkReader {
    /// Opens `path` at `range` and reads the first chunk (blocking).
    fn open(path: &Path, range: Option<ByteRange>) -> StoreResult<ChunkReader> {
        // `From<io::Error>` maps a missing file to `NotFound`.
        let mut file = fs::File::open(path)?;
        let size = file.metadata().map_err(StorageError::Io)?.len();
        let (start, len) = match range {
            None => (0, size),
            Some(r) => {
                if r.start >= size || r.end < r.start {
                    return Err(StorageError::RangeNotSatisfiable);
                }
                let end = r.end.min(size - 1);
                (r.start, end - r.start + 1)
            }
        };
        if start > 0 {
            file.seek(SeekFrom::Start(start))
                .map_err(StorageError::Io)?;
        }
        let first = len.min(CHUNK);
        let (file, ready, read) = read_chunk(file, Vec::new(), first);
        read.map_err(StorageError::Io)?;
        Ok(ChunkReader {
            ready,
            pos: 0,
            file: Some(file),
            spare: Vec::new(),
            next: None,
            unread: len - first,
        })
    }

    /// Starts reading the next chunk, if any is left and none is in flight.
    fn read_ahead(&mut self) {
        if self.next.is_some() || self.unread == 0 {
            return;
        }
        let Some(file) = self.file.take() else {
            return;
        };
        let n = self.unread.min(CHUNK);
        self.unread -= n;
        let buf = std::mem::take(&mut self.spare);
        self.next = Some(tokio::task::spawn_blocking(move || {
            read_chunk(file, buf, n)
        }));
    }
}

/// Reads exactly `n` bytes from `file` into `buf` (blocking); a file shorter than its stat said
/// is an `UnexpectedEof` error.
fn read_chunk(mut file: fs::File, mut buf: Vec<u8>, n: u64) -> ChunkRead {
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    buf.resize(n, 0);
    let result = file.read_exact(&mut buf);
    (file, buf, result)
}

impl AsyncRead for ChunkReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.pos < this.ready.len() {
                // Keep the disk busy while the consumer drains this chunk.
                this.read_ahead();
                let n = out.remaining().min(this.ready.len() - this.pos);
                out.put_slice(&this.ready[this.pos..this.pos + n]);
                this.pos += n;
                return Poll::Ready(Ok(()));
            }
            let Some(job) = this.next.as_mut() else {
                if this.unread == 0 {
                    // End of the range.
                    return Poll::Ready(Ok(()));
                }
                this.read_ahead();
                continue;
            };
            let (file, filled, result) =
                ready!(Pin::new(job).poll(cx)).map_err(|e| io::Error::other(join_error(e)))?;
            this.next = None;
            this.file = Some(file);
            // The drained chunk becomes the spare for the next read.
            this.spare = std::mem::replace(&mut this.ready, filled);
            this.pos = 0;
            result?;
        }
    }
}
