//! Benchmarks of kcr: shared fixtures of the criterion micro-benchmarks (`benches/*.rs`) and of
//! the end-to-end load benchmark `kcr-bench` (`src/bin/kcr-bench`).
//!
//! Run the micro-benchmarks with `cargo bench -p kcr-benches` and the end-to-end comparison with
//! `cargo run --release -p kcr-benches --bin kcr-bench -- --out docs/benchmarks.md`
//! (see `docs/benchmarks.md`).

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use kcr_core::store::{BlobLink, ManifestIndex, PutManifest};
use kcr_core::{Digest, ImagePath, QuotaLimits, Tag, Timestamp};

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.config.v1+json`.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `application/vnd.oci.image.layer.v1.tar`.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// A blob a manifest references: `sha256:<hex>` digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Bytes.
    pub size: u64,
}

impl BlobRef {
    /// The reference of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobRef {
        BlobRef {
            digest: sha256_digest(bytes),
            size: bytes.len() as u64,
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// An OCI image manifest (compact JSON) over a config and layers.
pub fn image_manifest(config: &BlobRef, layers: &[BlobRef]) -> Vec<u8> {
    let descriptor = |media_type: &str, b: &BlobRef| serde_json::json!({"mediaType": media_type, "digest": b.digest, "size": b.size});
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": layers.iter().map(|l| descriptor(OCI_LAYER, l)).collect::<Vec<_>>(),
    });
    serde_json::to_vec(&manifest).unwrap_or_default()
}

/// A minimal image config naming the layers' digests (unique per image because the layers are).
pub fn image_config(layers: &[BlobRef]) -> Vec<u8> {
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.digest.as_str()).collect::<Vec<_>>(),
        },
    });
    serde_json::to_vec(&config).unwrap_or_default()
}

/// Commits a synthetic image version straight into a metadata store, as a push would leave it:
/// links 3 layers and a config (named after `image` and `seed`, so unique to both) at time 1,
/// then commits the manifest under `tags` at time 2. Returns the manifest's digest.
pub async fn commit_synthetic_image<M: ManifestIndex + ?Sized>(
    meta: &M,
    image: &ImagePath,
    seed: usize,
    tags: Vec<Tag>,
) -> kcr_core::Result<Digest> {
    let layers: Vec<Vec<u8>> = (0..3)
        .map(|l| format!("{image} {seed} {l}").into_bytes())
        .collect();
    let layer_refs: Vec<BlobRef> = layers.iter().map(|l| BlobRef::of(l)).collect();
    let config = image_config(&layer_refs);
    let body = image_manifest(&BlobRef::of(&config), &layer_refs);
    for blob in layers.iter().chain([&config]) {
        let link = BlobLink {
            digest: Digest::sha256_of(blob),
            size: blob.len() as u64,
            linked: Timestamp(1),
        };
        meta.link_blob(image, link).await?;
    }
    let parsed = kcr_core::manifest::parse(Some(OCI_MANIFEST), &body)?;
    let digest = Digest::sha256_of(&body);
    let put = PutManifest {
        image: image.clone(),
        digest: digest.clone(),
        media_type: OCI_MANIFEST.into(),
        body: Bytes::from(body),
        tags,
        required_blobs: parsed.required_blobs(),
        optional_blobs: Vec::new(),
        required_manifests: Vec::new(),
        subject: None,
        artifact_type: None,
        annotations: Default::default(),
        create_missing: true,
        limits: QuotaLimits::default(),
        at: Timestamp(2),
    };
    meta.commit_manifest(put).await?;
    Ok(digest)
}

/// Runs a future that completes without waiting on anything (kcr's metadata reads are
/// synchronous behind an async signature) on the current thread, without a runtime, so a
/// micro-benchmark measures the read and not an executor. Spins (yielding the thread) should it
/// ever be pending.
pub fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_in_kcr() {
        let layer = BlobRef::of(b"layer");
        let config = BlobRef::of(&image_config(std::slice::from_ref(&layer)));
        let body = image_manifest(&config, &[layer]);
        let parsed = kcr_core::manifest::parse(Some(OCI_MANIFEST), &body).unwrap();
        assert_eq!(parsed.layers.len(), 1);
        assert_eq!(parsed.required_blobs().len(), 2);
    }

    #[test]
    fn ready_runs_a_ready_future() {
        assert_eq!(ready(async { 7 }), 7);
    }
}
