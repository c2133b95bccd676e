//! [`GcIndex`] over the key-value engine: registry-wide scans of manifest records and blob links,
//! and batched unlinking.

use async_trait::async_trait;

use super::metadata::KvMetadataStore;
use super::{codec, layout, KvEngine};
use crate::digest::Digest;
use crate::error::Result;
use crate::names::ImagePath;
use crate::store::meta::{
    BlobLink, GcIndex, ImageBlobLink, ManifestRecord, ManifestReferences, ScanCursor, ScanPage,
};
use crate::store::StorageError;

impl<E: KvEngine> KvMetadataStore<E> {
    /// One page of the records under `prefix` whose keys name an image and a digest.
    fn scan_image_records<T>(
        &self,
        kind: &'static [u8],
        prefix: &[u8],
        after: Option<&ScanCursor>,
        limit: usize,
        build: impl Fn(ImagePath, Digest, &[u8]) -> Result<T>,
    ) -> Result<ScanPage<T>> {
        let pairs = self
            .engine
            .scan(prefix, after.map(|c| c.0.as_slice()), limit)?;
        let next = match pairs.last() {
            Some((k, _)) if pairs.len() == limit => Some(ScanCursor(k.clone())),
            _ => None,
        };
        let items = pairs
            .iter()
            .map(|(k, v)| {
                let (image, digest) = layout::image_digest_from_key(kind, k).ok_or_else(|| {
                    StorageError::Corrupt {
                        what: format!("{} key", String::from_utf8_lossy(kind)),
                    }
                })?;
                build(image, digest, v)
            })
            .collect::<Result<_>>()?;
        Ok(ScanPage { items, next })
    }
}

#[async_trait]
impl<E: KvEngine> GcIndex for KvMetadataStore<E> {
    async fn scan_manifest_references(
        &self,
        after: Option<&ScanCursor>,
        limit: usize,
    ) -> Result<ScanPage<ManifestReferences>> {
        self.scan_image_records(
            b"man",
            &layout::all_manifests(),
            after,
            limit,
            |image, digest, value| {
                let record: ManifestRecord = codec::decode("manifest", value)?;
                Ok(ManifestReferences {
                    image,
                    digest,
                    references: record.references,
                })
            },
        )
    }

    async fn scan_blob_links(
        &self,
        after: Option<&ScanCursor>,
        limit: usize,
    ) -> Result<ScanPage<ImageBlobLink>> {
        self.scan_image_records(
            b"link",
            &layout::all_blob_links(),
            after,
            limit,
            |image, _, value| {
                let link: BlobLink = codec::decode("blob link", value)?;
                Ok(ImageBlobLink { image, link })
            },
        )
    }

    async fn unlink_blobs(&self, links: &[(ImagePath, Digest)]) -> Result<usize> {
        if links.is_empty() {
            return Ok(0);
        }
        let keys: Vec<Vec<u8>> = links
            .iter()
            .map(|(image, digest)| layout::blob_link(image, digest))
            .collect();
        self.mutate(|tx| {
            let mut existed = 0;
            for key in &keys {
                if tx.get(key)?.is_some() {
                    tx.delete(key)?;
                    existed += 1;
                }
            }
            Ok(existed)
        })
        .await
    }
}
