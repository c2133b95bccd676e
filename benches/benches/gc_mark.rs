//! Garbage collection over a large synthetic graph: 100 images x 100 manifests (a config and 3
//! layers each, so 40,000 blob links), a tenth of the manifests deleted so there is garbage to
//! find. Measured: the pure mark over the manifests' references, and a whole dry-run collection
//! (scan every manifest and link, mark, plan) over the in-memory engine and over sled.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use futures_util::future::join_all;
use kcr_benches::commit_synthetic_image;
use kcr_core::gc::{GcOptions, MarkSet};
use kcr_core::store::kv::{KvEngine, KvMetadataStore};
use kcr_core::store::{ManifestReferences, MetadataStore};
use kcr_core::testing::{MemoryBlobStore, MemoryKvEngine};
use kcr_core::{ImagePath, Registry, RegistryConfig, Stores, Timestamp};
use kcr_storage::SledKvEngine;

const IMAGES: usize = 100;
const MANIFESTS_PER_IMAGE: usize = 100;

/// A registry over `engine` holding the synthetic graph.
fn fixture<E: KvEngine>(engine: E, rt: &tokio::runtime::Runtime) -> Registry {
    let blobs = Arc::new(MemoryBlobStore::new());
    let meta: Arc<dyn MetadataStore> = Arc::new(KvMetadataStore::new(Arc::new(engine)));
    rt.block_on(async {
        // Concurrent pushes share the engine's syncs (group commit), as a busy server's do.
        for image in 0..IMAGES {
            let path = ImagePath::from_full_path(&format!("bench/r/app-{image:03}")).unwrap();
            join_all((0..MANIFESTS_PER_IMAGE).map(|m| push(meta.as_ref(), &path, m))).await;
        }
    });
    Registry::new(
        Stores {
            blobs: blobs.clone(),
            uploads: blobs,
            meta,
        },
        RegistryConfig::default(),
    )
}

async fn push(meta: &dyn MetadataStore, image: &ImagePath, m: usize) {
    let tags = vec![format!("v{m}").parse().unwrap()];
    let digest = commit_synthetic_image(meta, image, m, tags).await.unwrap();
    if m % 10 == 0 {
        meta.delete_manifest(image, &digest, Timestamp(3))
            .await
            .unwrap();
    }
}

/// Every manifest's references, read once (input of the pure mark).
async fn all_references(meta: &dyn MetadataStore) -> Vec<ManifestReferences> {
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = meta
            .scan_manifest_references(cursor.as_ref(), 1024)
            .await
            .unwrap();
        all.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return all,
        }
    }
}

fn dry_run() -> GcOptions {
    GcOptions {
        dry_run: true,
        grace: Duration::ZERO,
    }
}

fn gc(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let memory = fixture(MemoryKvEngine::new(), &rt);
    let references = rt.block_on(all_references(memory.meta().as_ref()));
    let expected = (IMAGES * MANIFESTS_PER_IMAGE * 9 / 10) as u64;
    assert_eq!(references.len() as u64, expected);

    let mut group = c.benchmark_group("gc");
    group.bench_function("mark/9000_manifests", |b| {
        b.iter(|| {
            let mut mark = MarkSet::new();
            references.iter().for_each(|m| mark.mark(m));
            assert_eq!(mark.manifests(), expected);
            mark
        })
    });
    let check = |report: kcr_core::gc::GcReport| {
        assert_eq!(report.manifests_scanned, expected);
        assert_eq!(
            report.links_removed,
            (IMAGES * MANIFESTS_PER_IMAGE * 4 / 10) as u64
        );
        report
    };
    group.bench_function("dry_run_collection/memory", |b| {
        b.iter(|| check(rt.block_on(memory.collect_garbage(dry_run())).unwrap()))
    });
    let sled = fixture(SledKvEngine::temporary().unwrap(), &rt);
    group.bench_function("dry_run_collection/sled", |b| {
        b.iter(|| check(rt.block_on(sled.collect_garbage(dry_run())).unwrap()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10);
    targets = gc
}
criterion_main!(benches);
