//! Blob hashing: SHA-256 of a 4 MiB layer, whole and streamed in the chunk sizes a push delivers.
//! Compare with `openssl speed -evp sha256 -bytes 16384` (the target is >= 80% of it).
#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kcr_core::{Algorithm, Digest, DigestHasher};
use rand::{RngCore, SeedableRng};

const LAYER: usize = 4 << 20;

fn hashing(c: &mut Criterion) {
    let mut data = vec![0u8; LAYER];
    rand::rngs::StdRng::seed_from_u64(1).fill_bytes(&mut data);
    let mut group = c.benchmark_group("digest");
    group.throughput(Throughput::Bytes(LAYER as u64));
    group.bench_function("sha256_of/4MiB", |b| b.iter(|| Digest::sha256_of(&data)));
    for chunk in [16 << 10, 1 << 20] {
        group.bench_with_input(
            BenchmarkId::new("hasher_4MiB_in_chunks", chunk),
            &chunk,
            |b, &chunk| {
                b.iter(|| {
                    let mut h = DigestHasher::new(Algorithm::Sha256);
                    for part in data.chunks(chunk) {
                        h.update(part);
                    }
                    h.finish()
                })
            },
        );
    }
    group.finish();

    let text = Digest::sha256_of(b"kcr").to_string();
    c.bench_function("digest/parse", |b| b.iter(|| text.parse::<Digest>()));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = hashing
}
criterion_main!(benches);
