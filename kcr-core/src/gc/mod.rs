//! Garbage collection of unreferenced blob data, by mark and sweep.
//!
//! - **Mark** ([`MarkSet`]): every stored manifest keeps alive what it references (config,
//!   layers, index children), registry-wide for the bytes and per image for the blob links.
//!   Manifests stay until they are deleted by digest, so a deleted tag's image stays recoverable.
//! - **Plan** ([`plan`], pure): a link its image no longer references, and older than the grace
//!   period, goes; blob bytes go when nothing references them, no link survives and they are
//!   older than the grace period. The grace period protects a push in progress: layers are
//!   uploaded (and linked) before the manifest that references them.
//! - **Sweep** ([`crate::Registry::collect_garbage`]): metadata first (links), bytes later, so a
//!   crash can leave an orphan blob but never a link to missing bytes. Pushes that run while a
//!   collection is under way are recorded by a write barrier, and what they touched is spared.

pub(crate) mod barrier;
mod mark;
mod plan;

use std::time::Duration;

use serde::Serialize;

pub(crate) use barrier::WriteBarrier;
pub use mark::MarkSet;
pub use plan::{plan, GcPlan};

/// How a collection runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GcOptions {
    /// Report what would be removed, remove nothing.
    pub dry_run: bool,
    /// Data written or linked more recently than this is never removed.
    pub grace: Duration,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            dry_run: false,
            grace: DEFAULT_GRACE,
        }
    }
}

/// The default grace period: one hour, far longer than the gap between a layer upload and the
/// manifest push that follows it.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(3600);

/// What a collection found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Nothing was removed: the figures say what would have been.
    pub dry_run: bool,
    /// The grace period used, in seconds.
    pub grace_seconds: u64,
    /// Manifests marked.
    pub manifests_scanned: u64,
    /// Blob links examined.
    pub links_scanned: u64,
    /// Stored blobs examined.
    pub blobs_scanned: u64,
    /// Distinct digests some manifest references.
    pub referenced_digests: u64,
    /// Blob links removed (or to remove, in a dry run).
    pub links_removed: u64,
    /// Blobs whose bytes were removed (or would be).
    pub blobs_removed: u64,
    /// Bytes freed (or that would be).
    pub bytes_freed: u64,
    /// Unreferenced blobs kept because they, or a link to them, are within the grace period.
    pub blobs_kept_recent: u64,
    /// Candidates kept because a push used them while the collection ran.
    pub kept_in_use: u64,
    /// Wall time of the collection in milliseconds.
    pub duration_ms: u64,
}
