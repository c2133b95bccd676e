//! Metadata lookups on `KvMetadataStore`, over the in-memory engine and over sled: a manifest by
//! tag (resolve the tag, then the record and the body), by digest (record and body), and the tag
//! list of an image with 1,000 tags (whole, and one page of 100). GC mark is in `gc_mark.rs`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use kcr_benches::{commit_synthetic_image, ready};
use kcr_core::store::kv::{KvEngine, KvMetadataStore};
use kcr_core::store::{ManifestIndex, TagLog};
use kcr_core::testing::MemoryKvEngine;
use kcr_core::{Digest, ImagePath, Tag};
use kcr_storage::SledKvEngine;

const MANIFESTS: usize = 100;
const TAGS: usize = 1000;

struct Fixture<E> {
    store: KvMetadataStore<E>,
    image: ImagePath,
    tag: Tag,
    digest: Digest,
}

/// One image holding 100 manifests (3 layers each) and 1,000 tags spread over them, plus 99
/// neighbouring images with one manifest and tag each.
fn fixture<E: KvEngine>(engine: E, rt: &tokio::runtime::Runtime) -> Fixture<E> {
    let store = KvMetadataStore::new(Arc::new(engine));
    let image = ImagePath::from_full_path("bench/r/app").unwrap();
    let mut digests = Vec::new();
    rt.block_on(async {
        for m in 0..MANIFESTS {
            digests.push(push(&store, &image, m, (0..TAGS).filter(|t| t % MANIFESTS == m)).await);
        }
        for i in 1..MANIFESTS {
            let other = ImagePath::from_full_path(&format!("bench/r/app-{i:03}")).unwrap();
            push(&store, &other, i, [0]).await;
        }
    });
    let tag: Tag = "t0500".parse().unwrap();
    let digest = digests[500 % MANIFESTS].clone();
    Fixture {
        store,
        image,
        tag,
        digest,
    }
}

async fn push<E: KvEngine>(
    store: &KvMetadataStore<E>,
    image: &ImagePath,
    m: usize,
    tags: impl IntoIterator<Item = usize>,
) -> Digest {
    let tags = tags
        .into_iter()
        .map(|t| format!("t{t:04}").parse().unwrap())
        .collect();
    commit_synthetic_image(store, image, m, tags).await.unwrap()
}

fn lookups<E: KvEngine>(c: &mut Criterion, name: &str, f: &Fixture<E>) {
    let mut group = c.benchmark_group(format!("metadata/{name}"));
    group.bench_function("resolve_tag", |b| {
        b.iter(|| {
            ready(f.store.resolve_tag(&f.image, &f.tag))
                .unwrap()
                .unwrap()
        })
    });
    group.bench_function("manifest_by_tag", |b| {
        b.iter(|| {
            let d = ready(f.store.resolve_tag(&f.image, &f.tag))
                .unwrap()
                .unwrap();
            let record = ready(f.store.manifest(&f.image, &d)).unwrap().unwrap();
            let body = ready(f.store.manifest_body(&f.image, &d)).unwrap().unwrap();
            (record, body)
        })
    });
    group.bench_function("manifest_by_digest", |b| {
        b.iter(|| {
            let record = ready(f.store.manifest(&f.image, &f.digest))
                .unwrap()
                .unwrap();
            let body = ready(f.store.manifest_body(&f.image, &f.digest))
                .unwrap()
                .unwrap();
            (record, body)
        })
    });
    group.bench_function("blob_link", |b| {
        let link = ready(f.store.manifest(&f.image, &f.digest))
            .unwrap()
            .unwrap();
        let blob = link.references[0].clone();
        b.iter(|| ready(f.store.blob_link(&f.image, &blob)).unwrap().unwrap())
    });
    group.bench_function("list_tags/1000", |b| {
        b.iter(|| {
            let tags = ready(f.store.list_tags(&f.image, None, usize::MAX)).unwrap();
            assert_eq!(tags.len(), TAGS);
            tags
        })
    });
    group.bench_function("list_tags/page_100", |b| {
        b.iter(|| ready(f.store.list_tags(&f.image, Some("t0499"), 100)).unwrap())
    });
    group.finish();
}

fn metadata(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let memory = fixture(MemoryKvEngine::new(), &rt);
    lookups(c, "memory", &memory);
    let sled = fixture(SledKvEngine::temporary().unwrap(), &rt);
    lookups(c, "sled", &sled);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = metadata
}
criterion_main!(benches);
