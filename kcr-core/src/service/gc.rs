//! Garbage collection: mark from the manifests, plan, sweep links then bytes (see [`crate::gc`]).

use std::time::Instant;

use futures_util::future::BoxFuture;

use super::Registry;
use crate::clock::Timestamp;
use crate::error::{CoreError, Result};
use crate::gc::{plan, GcOptions, GcPlan, GcReport, MarkSet};
use crate::store::{ImageBlobLink, ScanCursor, ScanPage};

/// Records read per page of a registry-wide scan.
const SCAN_PAGE: usize = 1024;
/// Links removed per transaction, and blobs deleted per hold of the barrier.
const SWEEP_BATCH: usize = 256;

impl Registry {
    /// Runs one garbage collection: removes blob links their image no longer references and
    /// blob bytes nothing references, both older than the grace period. `Conflict` when a
    /// collection is already running. Pushes may continue meanwhile.
    pub async fn collect_garbage(&self, options: GcOptions) -> Result<GcReport> {
        let started = Instant::now();
        let collection =
            self.barrier.begin().await.ok_or_else(|| {
                CoreError::Conflict("a garbage collection is already running".into())
            })?;
        let grace_ms = u64::try_from(options.grace.as_millis()).unwrap_or(u64::MAX);
        let cutoff = Timestamp(self.clock.now().0.saturating_sub(grace_ms));

        let mark = self.mark().await?;
        let links = self.all_blob_links().await?;
        let inventory = self.stores.blobs.inventory().await?;
        let plan = plan(&mark, &links, &inventory, cutoff);

        let mut report = GcReport {
            dry_run: options.dry_run,
            grace_seconds: options.grace.as_secs(),
            manifests_scanned: mark.manifests(),
            links_scanned: links.len() as u64,
            blobs_scanned: inventory.len() as u64,
            referenced_digests: mark.referenced(),
            blobs_kept_recent: plan.blobs_kept_recent,
            ..GcReport::default()
        };
        if options.dry_run {
            report.links_removed = plan.links.len() as u64;
            report.blobs_removed = plan.blobs.len() as u64;
            report.bytes_freed = plan.blobs.iter().map(|b| b.size).sum();
        } else {
            self.sweep(&collection, plan, cutoff, &mut report).await?;
        }
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        tracing::info!(?report, "garbage collection finished");
        Ok(report)
    }

    /// Marks the references of every stored manifest.
    async fn mark(&self) -> Result<MarkSet> {
        let mut mark = MarkSet::new();
        let meta = &self.stores.meta;
        for_each_page(
            |cursor| {
                Box::pin(async move {
                    meta.scan_manifest_references(cursor.as_ref(), SCAN_PAGE)
                        .await
                })
            },
            |manifests| manifests.iter().for_each(|m| mark.mark(m)),
        )
        .await?;
        Ok(mark)
    }

    async fn all_blob_links(&self) -> Result<Vec<ImageBlobLink>> {
        let mut links = Vec::new();
        let meta = &self.stores.meta;
        for_each_page(
            |cursor| {
                Box::pin(async move { meta.scan_blob_links(cursor.as_ref(), SCAN_PAGE).await })
            },
            |page| links.extend(page),
        )
        .await?;
        Ok(links)
    }

    /// Removes what the plan names, links first, each batch while pushes wait at the barrier,
    /// sparing whatever a push used since the collection began and bytes rewritten since.
    async fn sweep(
        &self,
        collection: &crate::gc::barrier::Collection<'_>,
        plan: GcPlan,
        cutoff: Timestamp,
        report: &mut GcReport,
    ) -> Result<()> {
        for batch in plan.links.chunks(SWEEP_BATCH) {
            let _pushes_wait = collection.exclusive().await;
            let (spared, doomed): (Vec<_>, Vec<_>) = batch
                .iter()
                .cloned()
                .partition(|(_, digest)| collection.touched(digest));
            report.kept_in_use += spared.len() as u64;
            report.links_removed += self.stores.meta.unlink_blobs(&doomed).await? as u64;
        }
        for batch in plan.blobs.chunks(SWEEP_BATCH) {
            let _pushes_wait = collection.exclusive().await;
            for blob in batch {
                // Uploads complete outside the barrier: bytes written again since the inventory
                // (a fresh modification time) are spared too.
                let rewritten = match self.stores.blobs.stat(&blob.digest).await? {
                    Some(now) => Timestamp::from_system_time(now.modified) >= cutoff,
                    None => continue,
                };
                if rewritten || collection.touched(&blob.digest) {
                    report.kept_in_use += 1;
                } else if self.stores.blobs.delete(&blob.digest).await? {
                    report.blobs_removed += 1;
                    report.bytes_freed += blob.size;
                }
            }
        }
        Ok(())
    }
}

/// Reads a registry-wide scan to its end, handing each page's items to `visit`.
async fn for_each_page<'a, T>(
    fetch: impl Fn(Option<ScanCursor>) -> BoxFuture<'a, Result<ScanPage<T>>>,
    mut visit: impl FnMut(Vec<T>),
) -> Result<()> {
    let mut cursor = None;
    loop {
        let page = fetch(cursor.take()).await?;
        visit(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "gc_tests.rs"]
mod tests;
