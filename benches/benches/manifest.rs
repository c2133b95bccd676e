//! Manifest push parsing: `kcr_core::manifest::parse` (media-type negotiation, strict JSON,
//! structural validation) and the reference extraction a push then does.
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kcr_benches::{image_config, image_manifest, sha256_digest, BlobRef, OCI_MANIFEST};

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn layers(n: usize) -> Vec<BlobRef> {
    (0..n)
        .map(|i| BlobRef {
            digest: sha256_digest(format!("layer {i}").as_bytes()),
            size: 4 << 20,
        })
        .collect()
}

fn index(children: usize) -> Vec<u8> {
    let manifests: Vec<_> = (0..children)
        .map(|i| {
            serde_json::json!({
                "mediaType": OCI_MANIFEST,
                "digest": sha256_digest(format!("child {i}").as_bytes()),
                "size": 1024,
                "platform": {"architecture": "amd64", "os": "linux", "variant": format!("v{i}")},
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    }))
    .unwrap_or_default()
}

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("manifest_parse");
    for n in [3, 30] {
        let layers = layers(n);
        let config = BlobRef::of(&image_config(&layers));
        let body = image_manifest(&config, &layers);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("image_layers", n), &body, |b, body| {
            b.iter(|| kcr_core::manifest::parse(Some(OCI_MANIFEST), body))
        });
        group.bench_with_input(
            BenchmarkId::new("image_layers_plus_references", n),
            &body,
            |b, body| {
                b.iter(|| {
                    kcr_core::manifest::parse(Some(OCI_MANIFEST), body)
                        .map(|p| (p.required_blobs(), p.effective_artifact_type()))
                })
            },
        );
        // No Content-Type: the body's mediaType decides.
        group.bench_with_input(BenchmarkId::new("image_sniffed", n), &body, |b, body| {
            b.iter(|| kcr_core::manifest::parse(None, body))
        });
    }
    let body = index(8);
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_with_input(BenchmarkId::new("index_children", 8), &body, |b, body| {
        b.iter(|| kcr_core::manifest::parse(Some(OCI_INDEX), body))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = parsing
}
criterion_main!(benches);
