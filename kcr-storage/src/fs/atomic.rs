//! Durability of directory entries: after a file is created, renamed or removed, fsyncing its
//! directory makes the change survive a crash (POSIX leaves it to the directory's own fsync).

use std::fs::File;
use std::io;
use std::path::Path;

/// Makes a directory's entries (created, renamed or removed files) durable.
#[cfg(unix)]
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Directories cannot be opened for fsync on this platform; renames are durable on their own.
#[cfg(not(unix))]
pub(crate) fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}
