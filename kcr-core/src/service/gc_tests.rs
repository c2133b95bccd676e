//! Garbage collection over the in-memory stores, end to end through the registry service.

use std::time::{Duration, SystemTime};

use crate::clock::Timestamp;
use crate::digest::Digest;
use crate::error::CoreError;
use crate::gc::GcOptions;
use crate::names::{ImagePath, Reference, Tag};
use crate::service::test_images::*;
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
                let mut pushed = Vec::new();
                for round in 0..40 {
                    let image = path(&format!("p/r/w{worker}"));
                    let own = format!("layer {worker}/{round}");
                    let config =
                        upload(&registry, &image, format!("config {own}").as_bytes()).await;
                    let layers = [
                        upload(&registry, &image, shared).await,
                        upload(&registry, &image, own.as_bytes()).await,
                    ];
                    let tag = format!("t{round}");
                    let reference = Reference::Tag(tag.parse().unwrap());
                    match registry
                        .put_manifest(
                            &image,
                            &reference,
                            &[],
                            Some(OCI_MANIFEST),
                            manifest_body(&config, &layers),
                        )
                        .await
                    {
                        Ok(_) => pushed.push((image, config, layers)),
                        Err(CoreError::ManifestBlobUnknown { .. }) => {}
                        Err(e) => panic!("push failed: {e}"),
                    }
                    if round % 3 == 0 {
                        // Retire an older version so collections have something to remove.
                        if let Some((image, ..)) = pushed.first() {
                            let old: Tag = "t0".parse().unwrap();
                            if let Ok(d) = registry.resolve(image, &Reference::Tag(old)).await {
                                let _ =
                                    registry.delete_manifest(image, &Reference::Digest(d)).await;
                                pushed.remove(0);
                            }
                        }
                    }
                }
                pushed
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
    for (image, config, layers) in &survivors {
        for (digest, _) in std::iter::once(config).chain(layers) {
            let info = registry.stat_blob(image, digest).await;
            assert!(info.is_ok(), "{image}: {digest} lost: {info:?}");
        }
    }
}
