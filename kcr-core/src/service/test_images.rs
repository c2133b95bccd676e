//! Test images for the service's unit tests: a registry on a manual clock, uploads, and image
//! pushes over the in-memory stores.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::clock::{ManualClock, Timestamp};
use crate::digest::Digest;
use crate::names::{ImagePath, Reference};
use crate::store::ByteStream;
use crate::{Registry, RegistryConfig};

pub(super) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A registry on a manual clock that starts at the wall clock's time (blob bytes carry
/// wall-clock times).
pub(super) fn registry() -> (Registry, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(Timestamp::from_system_time(
        SystemTime::now(),
    )));
    let registry = Registry::in_memory(RegistryConfig::default()).with_clock(clock.clone());
    (registry, clock)
}

/// Lets a minute pass: everything stored so far is older than a zero grace period.
pub(super) fn a_minute_later(clock: &ManualClock) {
    clock.advance(Duration::from_secs(60));
}

pub(super) fn path(s: &str) -> ImagePath {
    ImagePath::from_full_path(s).unwrap()
}

pub(super) fn stream(bytes: &[u8]) -> ByteStream {
    let chunk: std::io::Result<Bytes> = Ok(Bytes::copy_from_slice(bytes));
    Box::pin(futures_util::stream::iter([chunk]))
}

pub(super) async fn upload(registry: &Registry, image: &ImagePath, bytes: &[u8]) -> (Digest, u64) {
    let digest = Digest::sha256_of(bytes);
    registry
        .put_blob(image, &digest, stream(bytes))
        .await
        .unwrap();
    (digest, bytes.len() as u64)
}

pub(super) fn manifest_body(config: &(Digest, u64), layers: &[(Digest, u64)]) -> Bytes {
    let layers: Vec<String> = layers
        .iter()
        .map(|(d, s)| {
            format!(r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{d}","size":{s}}}"#)
        })
        .collect();
    Bytes::from(format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":{}}},"layers":[{}]}}"#,
        config.0,
        config.1,
        layers.join(",")
    ))
}

/// Pushes an image made of `layers` (uploaded, plus a config) under `tag`; returns its digest.
pub(super) async fn push(
    registry: &Registry,
    image: &ImagePath,
    tag: &str,
    layers: &[&[u8]],
) -> Digest {
    let config = upload(
        registry,
        image,
        format!("config of {image}:{tag}").as_bytes(),
    )
    .await;
    let mut uploaded = Vec::new();
    for layer in layers {
        uploaded.push(upload(registry, image, layer).await);
    }
    let reference = Reference::Tag(tag.parse().unwrap());
    registry
        .put_manifest(
            image,
            &reference,
            &[],
            Some(OCI_MANIFEST),
            manifest_body(&config, &uploaded),
        )
        .await
        .unwrap()
        .digest
}
