//! Garbage collection over the in-memory stores, end to end through the registry service.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::clock::Timestamp;
use crate::digest::Digest;
use crate::error::CoreError;
use crate::gc::GcOptions;
use crate::names::{ImagePath, Reference, Tag};
use crate::service::test_images::*;
use crate::store::{BlobInfo, ByteStream, StoreResult, UploadId, UploadState, UploadStore};
use crate::{Registry, RegistryConfig};

fn collect_now() -> GcOptions {
    GcOptions {
        dry_run: false,
        grace: Duration::ZERO,
    }
}

async fn readable(registry: &Registry, image: &ImagePath, bytes: &[u8]) -> bool {
    registry
        .stat_blob(image, &Digest::sha256_of(bytes))
        .await
        .is_ok()
}

#[tokio::test]
async fn a_deleted_image_version_frees_only_its_unshared_layers() {
    let (registry, clock) = registry();
    let (a, b) = (path("p/r/a"), path("p/r/b"));
    let version = push(&registry, &a, "v1", &[b"shared layer", b"own layer"]).await;
    push(&registry, &b, "v1", &[b"shared layer"]).await;
    registry
        .delete_manifest(&a, &Reference::Digest(version))
        .await
        .unwrap();

    a_minute_later(&clock);
    let report = registry.collect_garbage(collect_now()).await.unwrap();

    assert_eq!(report.manifests_scanned, 1);
    assert_eq!(report.blobs_removed, 2, "{report:?}"); // a's config and its own layer
    assert_eq!(
        report.bytes_freed,
        (b"own layer".len() + b"config of p/r/a:v1".len()) as u64
    );
    assert_eq!(report.links_removed, 3, "{report:?}"); // a's config, own and shared layer
    assert!(!readable(&registry, &a, b"own layer").await);
    assert!(!readable(&registry, &a, b"shared layer").await);
    assert!(readable(&registry, &b, b"shared layer").await);
    assert!(readable(&registry, &b, b"config of p/r/b:v1").await);
    let again = registry.collect_garbage(collect_now()).await.unwrap();
    assert_eq!((again.blobs_removed, again.links_removed), (0, 0));
}

#[tokio::test]
async fn a_dry_run_reports_and_removes_nothing() {
    let (registry, clock) = registry();
    let a = path("p/r/a");
    let version = push(&registry, &a, "v1", &[b"layer"]).await;
    registry
        .delete_manifest(&a, &Reference::Digest(version))
        .await
        .unwrap();
    a_minute_later(&clock);
    let dry = registry
        .collect_garbage(GcOptions {
            dry_run: true,
            ..collect_now()
        })
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!((dry.blobs_removed, dry.links_removed), (2, 2));
    assert!(readable(&registry, &a, b"layer").await);
    let real = registry.collect_garbage(collect_now()).await.unwrap();
    assert_eq!(
        (real.blobs_removed, real.links_removed, real.bytes_freed),
        (dry.blobs_removed, dry.links_removed, dry.bytes_freed)
    );
    assert!(!readable(&registry, &a, b"layer").await);
}

#[tokio::test]
async fn a_deleted_tag_stays_recoverable_through_a_collection() {
    let (registry, clock) = registry();
    let a = path("p/r/a");
    let version = push(&registry, &a, "v1", &[b"layer"]).await;
    let tag: Tag = "v1".parse().unwrap();
    registry
        .delete_manifest(&a, &Reference::Tag(tag.clone()))
        .await
        .unwrap();
    a_minute_later(&clock);
    let report = registry.collect_garbage(collect_now()).await.unwrap();
    assert_eq!((report.blobs_removed, report.links_removed), (0, 0));
    registry
        .meta()
        .restore_tag(
            &a,
            &tag,
            &version,
            registry.config().limits,
            Timestamp::from_system_time(SystemTime::now()),
        )
        .await
        .unwrap();
    assert!(readable(&registry, &a, b"layer").await);
}

#[tokio::test]
async fn the_grace_period_keeps_layers_of_a_push_in_progress() {
    let (registry, _clock) = registry();
    let a = path("p/r/a");
    upload(&registry, &a, b"layer uploaded before its manifest").await;
    let report = registry
        .collect_garbage(GcOptions::default())
        .await
        .unwrap();
    assert_eq!(report.blobs_removed, 0);
    assert_eq!(report.blobs_kept_recent, 1);
    assert!(readable(&registry, &a, b"layer uploaded before its manifest").await);
}

#[tokio::test]
async fn a_deleted_repository_leaves_its_blobs_to_the_collector() {
    let (registry, clock) = registry();
    let a = path("p/r/a");
    push(&registry, &a, "v1", &[b"layer"]).await;
    registry
        .meta()
        .delete_repository(a.project(), a.repository())
        .await
        .unwrap();
    a_minute_later(&clock);
    let report = registry.collect_garbage(collect_now()).await.unwrap();
    assert_eq!(report.blobs_removed, 2);
    assert_eq!(
        report.links_removed, 0,
        "the repository took its links along"
    );
}

/// Tries a push of one image version: `None` when a collection took its layers first (with no
/// grace period, a layer is fair game until the manifest references it), which fails the push
/// cleanly: the upload is refused, or the manifest names an unknown blob.
async fn try_push(
    registry: &Registry,
    image: &ImagePath,
    tag: &str,
    blobs: [&[u8]; 3],
) -> Option<(Digest, Vec<Digest>)> {
    let mut uploaded = Vec::new();
    for bytes in blobs {
        let digest = Digest::sha256_of(bytes);
        match registry.put_blob(image, &digest, stream(bytes)).await {
            Ok(_) => uploaded.push((digest, bytes.len() as u64)),
            Err(CoreError::UploadInvalid { .. }) => return None,
            Err(e) => panic!("upload failed: {e}"),
        }
    }
    let body = manifest_body(&uploaded[0], &uploaded[1..]);
    let reference = Reference::Tag(tag.parse().unwrap());
    match registry
        .put_manifest(image, &reference, &[], Some(OCI_MANIFEST), body)
        .await
    {
        Ok(pushed) => Some((
            pushed.digest,
            uploaded.into_iter().map(|(d, _)| d).collect(),
        )),
        Err(CoreError::ManifestBlobUnknown { .. }) => None,
        Err(e) => panic!("push failed: {e}"),
    }
}

/// Pushes race collections with no grace period at all. A push may then fail (its layers were
/// collected before its manifest arrived) but an image whose push succeeded must stay whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collections_racing_pushes_never_break_a_pushed_image() {
    let registry = Registry::in_memory(RegistryConfig::default());
    let shared: &[u8] = b"base layer every image shares";
    let pushers: Vec<_> = (0..4)
        .map(|worker| {
            let registry = registry.clone();
            tokio::spawn(async move {
                let image = path(&format!("p/r/w{worker}"));
                let mut pushed: Vec<(Digest, Vec<Digest>)> = Vec::new();
                for round in 0..40 {
                    let own = format!("layer {worker}/{round}");
                    let config = format!("config {own}");
                    let blobs = [config.as_bytes(), shared, own.as_bytes()];
                    if let Some(version) =
                        try_push(&registry, &image, &format!("t{round}"), blobs).await
                    {
                        pushed.push(version);
                    }
                    if round % 3 == 0 && pushed.len() > 1 {
                        // Retire the oldest version so collections have something to remove.
                        let (oldest, _) = pushed.remove(0);
                        registry
                            .delete_manifest(&image, &Reference::Digest(oldest))
                            .await
                            .unwrap();
                    }
                }
                pushed
                    .into_iter()
                    .map(|(_, blobs)| (image.clone(), blobs))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let collector = {
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut removed = 0;
            for _ in 0..60 {
                match registry.collect_garbage(collect_now()).await {
                    Ok(report) => removed += report.blobs_removed,
                    Err(CoreError::Conflict(_)) => {}
                    Err(e) => panic!("collection failed: {e}"),
                }
                tokio::task::yield_now().await;
            }
            removed
        })
    };
    let mut survivors = Vec::new();
    for pusher in pushers {
        survivors.extend(pusher.await.unwrap());
    }
    collector.await.unwrap();
    assert!(!survivors.is_empty());
    for (image, blobs) in &survivors {
        for digest in blobs {
            let info = registry.stat_blob(image, digest).await;
            assert!(info.is_ok(), "{image}: {digest} lost: {info:?}");
        }
    }
}

#[tokio::test]
async fn an_uploaded_non_distributable_layer_is_kept() {
    // A layer with `urls` need not be uploaded, but when it was (Docker's
    // allow-nondistributable-artifacts) it is part of the image.
    let (registry, clock) = registry();
    let a = path("p/r/a");
    let config = upload(&registry, &a, b"config").await;
    let foreign = upload(&registry, &a, b"foreign layer").await;
    let body = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"{}","size":{},"urls":["https://example.com/layer"]}}]}}"#,
        config.0, config.1, foreign.0, foreign.1
    );
    registry
        .put_manifest(
            &a,
            &Reference::Tag("v1".parse().unwrap()),
            &[],
            Some(OCI_MANIFEST),
            body.into(),
        )
        .await
        .unwrap();
    a_minute_later(&clock);
    let report = registry.collect_garbage(collect_now()).await.unwrap();
    assert_eq!((report.blobs_removed, report.links_removed), (0, 0));
    assert!(readable(&registry, &a, b"foreign layer").await);
}

/// Upload sessions whose completion waits until released, like a session still receiving a slow
/// client's body.
struct StalledFinish {
    inner: Arc<crate::testing::MemoryBlobStore>,
    release: Arc<tokio::sync::Notify>,
}

#[async_trait::async_trait]
impl UploadStore for StalledFinish {
    async fn begin(&self, owner: &str) -> StoreResult<UploadState> {
        self.inner.begin(owner).await
    }
    async fn append(
        &self,
        id: &UploadId,
        offset: u64,
        data: ByteStream,
    ) -> StoreResult<UploadState> {
        self.inner.append(id, offset, data).await
    }
    async fn state(&self, id: &UploadId) -> StoreResult<UploadState> {
        self.inner.state(id).await
    }
    async fn finish(&self, id: &UploadId, expected: &Digest) -> StoreResult<BlobInfo> {
        self.release.notified().await;
        self.inner.finish(id, expected).await
    }
    async fn abort(&self, id: &UploadId) -> StoreResult<()> {
        self.inner.abort(id).await
    }
    async fn stale(&self, older_than: SystemTime) -> StoreResult<Vec<UploadId>> {
        self.inner.stale(older_than).await
    }
}

#[tokio::test]
async fn a_stalled_upload_stalls_neither_collections_nor_other_pushes() {
    use crate::store::kv::KvMetadataStore;
    use crate::testing::{MemoryBlobStore, MemoryKvEngine};
    let blobs = Arc::new(MemoryBlobStore::new());
    let release = Arc::new(tokio::sync::Notify::new());
    let registry = Registry::new(
        crate::Stores {
            blobs: blobs.clone(),
            uploads: Arc::new(StalledFinish {
                inner: blobs,
                release: release.clone(),
            }),
            meta: Arc::new(KvMetadataStore::new(Arc::new(MemoryKvEngine::new()))),
        },
        RegistryConfig::default(),
    );
    let a = path("p/r/a");
    let stalled = {
        let registry = registry.clone();
        let a = a.clone();
        tokio::spawn(async move {
            let digest = Digest::sha256_of(b"slow");
            registry.put_blob(&a, &digest, stream(b"slow")).await
        })
    };
    tokio::task::yield_now().await;

    let within = Duration::from_secs(5);
    let report = tokio::time::timeout(within, registry.collect_garbage(collect_now()))
        .await
        .expect("a collection does not wait for a stalled upload")
        .unwrap();
    assert_eq!(report.blobs_removed, 0);
    let digest = Digest::sha256_of(b"config");
    let pushed = registry
        .stores
        .meta
        .link_blob(
            &path("p/r/b"),
            crate::store::BlobLink {
                digest: digest.clone(),
                size: 6,
                linked: Timestamp(1),
            },
        )
        .await;
    assert!(pushed.is_ok());
    let mounted = tokio::time::timeout(
        within,
        registry.mount_blob(&path("p/r/c"), &path("p/r/b"), &digest),
    )
    .await
    .expect("a mount does not wait for a stalled upload");
    assert!(mounted.unwrap().is_none(), "no bytes stored, so no mount");

    release.notify_one();
    stalled.await.unwrap().unwrap();
    assert!(readable(&registry, &a, b"slow").await);
}

#[tokio::test]
async fn asking_for_an_old_layer_keeps_it_for_the_manifest_that_follows() {
    // A client checks a layer exists (HEAD) and skips its upload; the layer's link is old and no
    // manifest references it any more. A collection before the manifest arrives must keep it.
    let (registry, clock) = registry();
    let a = path("p/r/a");
    let (layer, _) = upload(&registry, &a, b"layer of a deleted version").await;
    clock.advance(Duration::from_secs(2 * 3600));
    registry.stat_blob(&a, &layer).await.unwrap();
    let report = registry
        .collect_garbage(GcOptions::default())
        .await
        .unwrap();
    assert_eq!((report.blobs_removed, report.links_removed), (0, 0));
    assert!(readable(&registry, &a, b"layer of a deleted version").await);

    // Not asked for again, it goes once the grace period has passed.
    clock.advance(Duration::from_secs(2 * 3600));
    let report = registry
        .collect_garbage(GcOptions::default())
        .await
        .unwrap();
    assert_eq!((report.blobs_removed, report.links_removed), (1, 1));
}
