//! Manifest use cases: push (validate, quota, tags and history in one commit), pull, delete.

use bytes::Bytes;

use super::Registry;
use crate::digest::Digest;
use crate::error::{CoreError, Result};
use crate::manifest;
use crate::names::{ImagePath, Reference, Tag};
use crate::store::{ManifestRecord, PutManifest, PutOutcome};

/// What a manifest push stored.
#[derive(Debug, Clone)]
pub struct PushedManifest {
    /// The manifest's digest.
    pub digest: Digest,
    /// Its `subject`, when it has one (the server answers with `OCI-Subject`).
    pub subject: Option<Digest>,
    /// What changed.
    pub outcome: PutOutcome,
}

/// A stored manifest with its body.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    /// The record.
    pub record: ManifestRecord,
    /// The exact bytes pushed.
    pub body: Bytes,
}

impl Registry {
    /// Pushes a manifest under `reference` (a tag, or the body's digest) plus `extra_tags`.
    pub async fn put_manifest(
        &self,
        image: &ImagePath,
        reference: &Reference,
        extra_tags: &[Tag],
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<PushedManifest> {
        let parsed = manifest::parse(content_type, &body)?;
        let (digest, mut tags) = match reference {
            Reference::Digest(expected) => {
                let actual = expected.of_same_algorithm(&body);
                if &actual != expected {
                    return Err(CoreError::DigestMismatch {
                        expected: expected.clone(),
                        actual,
                    });
                }
                (actual, Vec::new())
            }
            Reference::Tag(tag) => (Digest::sha256_of(&body), vec![tag.clone()]),
        };
        tags.extend(extra_tags.iter().cloned());
        let subject = parsed.subject.as_ref().map(|s| s.digest.clone());
        let put = PutManifest {
            image: image.clone(),
            digest: digest.clone(),
            media_type: parsed.media_type().to_owned(),
            body,
            tags,
            required_blobs: parsed.required_blobs(),
            optional_blobs: parsed.optional_blobs(),
            required_manifests: parsed.required_manifests(),
            subject: subject.clone(),
            artifact_type: parsed.effective_artifact_type(),
            annotations: parsed.annotations.clone(),
            create_missing: self.config.create_on_push,
            limits: self.config.limits,
            at: self.clock.now(),
        };
        let _gc_waits = self
            .barrier
            .enter(
                put.required_blobs
                    .iter()
                    .chain(&put.optional_blobs)
                    .chain(&put.required_manifests)
                    .chain([&put.digest]),
            )
            .await;
        let outcome = self.stores.meta.commit_manifest(put).await?;
        Ok(PushedManifest {
            digest,
            subject,
            outcome,
        })
    }

    /// Resolves a reference to a digest in `image`.
    pub async fn resolve(&self, image: &ImagePath, reference: &Reference) -> Result<Digest> {
        match reference {
            Reference::Digest(d) => Ok(d.clone()),
            Reference::Tag(t) => self
                .stores
                .meta
                .resolve_tag(image, t)
                .await?
                .ok_or_else(|| CoreError::ManifestUnknown {
                    reference: t.to_string(),
                }),
        }
    }

    /// Pulls a manifest by tag or digest.
    pub async fn get_manifest(
        &self,
        image: &ImagePath,
        reference: &Reference,
    ) -> Result<StoredManifest> {
        let digest = self.resolve(image, reference).await?;
        let unknown = || CoreError::ManifestUnknown {
            reference: reference.to_string(),
        };
        let record = self
            .stores
            .meta
            .manifest(image, &digest)
            .await?
            .ok_or_else(unknown)?;
        let body = self
            .stores
            .meta
            .manifest_body(image, &digest)
            .await?
            .ok_or_else(unknown)?;
        Ok(StoredManifest { record, body })
    }

    /// Deletes by digest (the image version and every tag on it) or by tag (only the tag).
    pub async fn delete_manifest(&self, image: &ImagePath, reference: &Reference) -> Result<()> {
        let now = self.clock.now();
        match reference {
            Reference::Digest(d) => {
                self.stores.meta.delete_manifest(image, d, now).await?;
                Ok(())
            }
            Reference::Tag(t) => match self.stores.meta.delete_tag(image, t, now).await? {
                Some(_) => Ok(()),
                None => Err(CoreError::ManifestUnknown {
                    reference: t.to_string(),
                }),
            },
        }
    }
}
