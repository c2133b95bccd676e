//! Where every file of the filesystem blob store lives. Paths are built here and nowhere else.
//!
//! ```text
//! <root>/
//!   blobs/
//!     sha256/
//!       ab/                       first two hex characters of the digest (fan-out; all 256
//!                                 are created when the store opens)
//!         abcdef0123...           the blob's bytes, named by its full hex digest
//!     sha512/
//!       12/1234...
//!   uploads/
//!     <upload id>/                32 lowercase hex characters (UploadId)
//!       data                      bytes received so far, appended in order
//!       state                     JSON {"owner": "...", "started": <unix millis>}
//!   tmp/                          temporary files of atomic writes (junk here is ignored)
//! ```
//!
//! Why this shape: a finished upload becomes a blob by one `rename` of `uploads/<id>/data`, which is
//! atomic because everything sits on one filesystem under one root. The two-character fan-out keeps
//! directories small (256 per algorithm), as CNCF Distribution does. Names that do not parse (a
//! digest, an upload id) are someone else's files and are skipped, never deleted.

use std::path::{Path, PathBuf};

use kcr_core::store::UploadId;
use kcr_core::{Algorithm, Digest};

/// Name of the data file inside an upload directory.
const DATA: &str = "data";
/// Name of the state file inside an upload directory.
const STATE: &str = "state";

/// The paths of one store root.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The layout rooted at `root`.
    pub(crate) fn new(root: PathBuf) -> Self {
        Layout { root }
    }

    /// The store root.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Every algorithm directory lives here.
    pub(crate) fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// `blobs/<algorithm>`.
    pub(crate) fn algorithm_dir(&self, algorithm: Algorithm) -> PathBuf {
        self.blobs().join(algorithm.as_str())
    }

    /// `blobs/<algorithm>/<first two hex>/<hex>`.
    pub(crate) fn blob(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.algorithm_dir(digest.algorithm())
            .join(&hex[..2])
            .join(hex)
    }

    /// `uploads/`.
    pub(crate) fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }

    /// `uploads/<id>/`.
    pub(crate) fn upload_dir(&self, id: &UploadId) -> PathBuf {
        self.uploads().join(id.as_str())
    }

    /// `uploads/<id>/data`.
    pub(crate) fn upload_data(&self, id: &UploadId) -> PathBuf {
        self.upload_dir(id).join(DATA)
    }

    /// `uploads/<id>/state`.
    pub(crate) fn upload_state(&self, id: &UploadId) -> PathBuf {
        self.upload_dir(id).join(STATE)
    }

    /// `tmp/`.
    pub(crate) fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Every directory the store needs before it can serve.
    pub(crate) fn skeleton(&self) -> Vec<PathBuf> {
        vec![
            self.algorithm_dir(Algorithm::Sha256),
            self.algorithm_dir(Algorithm::Sha512),
            self.uploads(),
            self.tmp(),
        ]
    }
}

/// The two algorithms a blob directory may hold.
pub(crate) const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_fan_out_by_two_hex_characters() {
        let layout = Layout::new(PathBuf::from("/r"));
        let d = Digest::sha256_of(b"");
        let p = layout.blob(&d);
        assert_eq!(p, PathBuf::from(format!("/r/blobs/sha256/e3/{}", d.hex())));
    }
}
