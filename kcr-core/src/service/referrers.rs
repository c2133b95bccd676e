//! The referrers API: manifests whose `subject` is a given digest, as an OCI image index.

use serde::Serialize;

use super::Registry;
use crate::digest::Digest;
use crate::error::Result;
use crate::manifest::{self, OCI_INDEX};
use crate::names::{ImagePath, Reference, Tag};
use crate::store::ReferrerRecord;

/// The referrers response body and whether a filter was applied.
#[derive(Debug, Clone)]
pub struct ReferrersIndex {
    /// The serialized OCI image index.
    pub body: Vec<u8>,
    /// Whether an `artifactType` filter narrowed the list (`OCI-Filters-Applied`).
    pub filtered: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexBody<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: Vec<DescriptorBody<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescriptorBody<'a> {
    media_type: &'a str,
    digest: &'a Digest,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_type: Option<&'a str>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    annotations: &'a std::collections::BTreeMap<String, String>,
}

impl Registry {
    /// Referrers of `subject` in `image`, including those that older clients recorded in the
    /// `<alg>-<hex>` fallback tag. Never fails for an unknown subject: the index is empty.
    pub async fn referrers(
        &self,
        image: &ImagePath,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ReferrersIndex> {
        let mut list = self.stores.meta.referrers(image, subject).await?;
        for extra in self.fallback_tag_referrers(image, subject).await? {
            if !list.iter().any(|r| r.digest == extra.digest) {
                list.push(extra);
            }
        }
        list.sort_by(|a, b| a.digest.cmp(&b.digest));
        if let Some(filter) = artifact_type {
            list.retain(|r| r.artifact_type.as_deref() == Some(filter));
        }
        let body = IndexBody {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests: list
                .iter()
                .map(|r| DescriptorBody {
                    media_type: &r.media_type,
                    digest: &r.digest,
                    size: r.size,
                    artifact_type: r.artifact_type.as_deref(),
                    annotations: &r.annotations,
                })
                .collect(),
        };
        Ok(ReferrersIndex {
            body: serde_json::to_vec(&body).unwrap_or_default(),
            filtered: artifact_type.is_some(),
        })
    }

    /// Entries of the index tagged `<alg>-<ref>` (the referrers tag schema of OCI 1.1 §4.3):
    /// the encoded part is truncated to 64 characters, so a sha512 subject has a tag too (its full
    /// 128 hex characters would break the 128-character tag limit).
    async fn fallback_tag_referrers(
        &self,
        image: &ImagePath,
        subject: &Digest,
    ) -> Result<Vec<ReferrerRecord>> {
        let hex = subject.hex();
        let encoded = &hex[..hex.len().min(64)];
        let Ok(tag) = format!("{}-{encoded}", subject.algorithm().as_str()).parse::<Tag>() else {
            return Ok(Vec::new());
        };
        let stored = match self.get_manifest(image, &Reference::Tag(tag)).await {
            Ok(m) => m,
            Err(crate::CoreError::ManifestUnknown { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let Ok(index) = manifest::parse(Some(&stored.record.media_type), &stored.body) else {
            return Ok(Vec::new());
        };
        Ok(index
            .manifests
            .into_iter()
            .map(|d| ReferrerRecord {
                digest: d.digest,
                media_type: d.media_type,
                size: d.size,
                artifact_type: d.artifact_type,
                annotations: d.annotations,
            })
            .collect())
    }
}
