//! Atomic, durable small-file writes: write a temporary file, fsync it, rename it over the target,
//! fsync the target's directory. A reader (or a restarted process) sees the old content or the new
//! one, never a torn mix.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Distinguishes temporary files written by this process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `dest` atomically and durably, staging them in `tmp_dir` (which must be on the
/// same filesystem as `dest`). On failure the temporary file is removed and `dest` is unchanged.
pub(crate) fn write(tmp_dir: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let name = format!(
        "{}-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    let tmp = tmp_dir.join(name);
    let result = stage_and_rename(&tmp, dest, bytes);
    if result.is_err() {
        // Best effort: a leftover in tmp/ is ignored by the store anyway.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn stage_and_rename(tmp: &Path, dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, dest)?;
    match dest.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).unwrap();
        let dest = dir.path().join("state");
        write(&tmp, &dest, b"one").unwrap();
        write(&tmp, &dest, b"two").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"two");
        assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0);
    }

    #[test]
    fn failure_leaves_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("state");
        fs::write(&dest, b"old").unwrap();
        let missing_tmp = dir.path().join("no-such-dir");
        assert!(write(&missing_tmp, &dest, b"new").is_err());
        assert_eq!(fs::read(&dest).unwrap(), b"old");
    }
}
