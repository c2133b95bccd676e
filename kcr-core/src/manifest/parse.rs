//! Strict manifest parsing and validation of its own structure (not of what it references).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1, OCI_INDEX, OCI_MANIFEST};
use crate::digest::Digest;
use crate::error::CoreError;

/// Largest manifest accepted, 4 MiB (OCI distribution spec: registries SHOULD accept at least this).
pub const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;

/// Which kind of manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// OCI image manifest.
    OciImage,
    /// OCI image index.
    OciIndex,
    /// Docker schema 2 manifest.
    DockerImage,
    /// Docker manifest list.
    DockerList,
}

impl ManifestKind {
    /// The kind's media type.
    pub fn media_type(self) -> &'static str {
        match self {
            ManifestKind::OciImage => OCI_MANIFEST,
            ManifestKind::OciIndex => OCI_INDEX,
            ManifestKind::DockerImage => DOCKER_MANIFEST,
            ManifestKind::DockerList => DOCKER_LIST,
        }
    }

    fn from_media_type(mt: &str) -> Option<Self> {
        match mt {
            OCI_MANIFEST => Some(ManifestKind::OciImage),
            OCI_INDEX => Some(ManifestKind::OciIndex),
            DOCKER_MANIFEST => Some(ManifestKind::DockerImage),
            DOCKER_LIST => Some(ManifestKind::DockerList),
            _ => None,
        }
    }

    /// Whether it lists other manifests rather than layers.
    pub fn is_index(self) -> bool {
        matches!(self, ManifestKind::OciIndex | ManifestKind::DockerList)
    }
}

/// A content descriptor inside a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    #[serde(default)]
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Where non-distributable content lives instead of this registry.
    #[serde(default)]
    pub urls: Vec<String>,
    /// Artifact type of the referenced content.
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawManifest {
    schema_version: Option<i64>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// A manifest that passed structural validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    /// Its kind.
    pub kind: ManifestKind,
    /// Config descriptor (image manifests).
    pub config: Option<Descriptor>,
    /// Layers (image manifests).
    pub layers: Vec<Descriptor>,
    /// Child manifests (indexes).
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    pub subject: Option<Descriptor>,
    /// Declared artifact type.
    pub artifact_type: Option<String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
}

impl ParsedManifest {
    /// The media type to store and serve it under.
    pub fn media_type(&self) -> &'static str {
        self.kind.media_type()
    }

    /// Blobs that must be present in the repository: the config and every layer this registry
    /// hosts (layers with `urls` are non-distributable and may live elsewhere).
    pub fn required_blobs(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = self.config.iter().map(|c| c.digest.clone()).collect();
        out.extend(
            self.layers
                .iter()
                .filter(|l| l.urls.is_empty())
                .map(|l| l.digest.clone()),
        );
        out.sort();
        out.dedup();
        out
    }

    /// Layers with `urls` (non-distributable): not required here, but when a client uploaded
    /// them anyway (e.g. Docker's `allow-nondistributable-artifacts`) they are part of the image
    /// and garbage collection must keep them.
    pub fn optional_blobs(&self) -> Vec<Digest> {
        let required = self.required_blobs();
        let mut out: Vec<Digest> = self
            .layers
            .iter()
            .filter(|l| !l.urls.is_empty() && !required.contains(&l.digest))
            .map(|l| l.digest.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Manifests that must be present in the repository (an index's children).
    pub fn required_manifests(&self) -> Vec<Digest> {
        let mut out: Vec<Digest> = self.manifests.iter().map(|m| m.digest.clone()).collect();
        out.sort();
        out.dedup();
        out
    }

    /// The artifact type the referrers API reports: `artifactType`, or for an image manifest
    /// without one, its config's media type (OCI distribution spec, "Listing Referrers").
    pub fn effective_artifact_type(&self) -> Option<String> {
        self.artifact_type.clone().or_else(|| match self.kind {
            ManifestKind::OciImage => self.config.as_ref().map(|c| c.media_type.clone()),
            _ => None,
        })
    }
}

/// Strips parameters (`; charset=utf-8`) and whitespace from a Content-Type.
fn base_media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

fn invalid(reason: impl Into<String>) -> CoreError {
    CoreError::manifest_invalid(reason)
}

/// Parses and validates a manifest body pushed with `content_type`.
///
/// The media type comes from the Content-Type header when it names a manifest type; the body's
/// `mediaType`, when present, must agree with it. Without a usable header the body's `mediaType`
/// (or, failing that, its shape) decides.
pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<ParsedManifest, CoreError> {
    if body.len() > MAX_MANIFEST_SIZE {
        return Err(CoreError::SizeInvalid(format!(
            "manifest is {} bytes; the limit is {MAX_MANIFEST_SIZE}",
            body.len()
        )));
    }
    let header = content_type.map(base_media_type).filter(|t| !t.is_empty());
    if let Some(h) = header {
        if DOCKER_SCHEMA1.contains(&h) {
            return Err(schema1());
        }
    }
    let raw: RawManifest = serde_json::from_slice(body)
        .map_err(|e| invalid(format!("manifest is not valid JSON of a known shape: {e}")))?;
    if raw.schema_version == Some(1) {
        return Err(schema1());
    }
    if raw.schema_version != Some(2) {
        return Err(invalid("schemaVersion must be 2"));
    }
    let header_kind = match header {
        None | Some("application/json") | Some("application/octet-stream") => None,
        Some(h) => Some(ManifestKind::from_media_type(h).ok_or_else(|| {
            CoreError::manifest_invalid(format!(
                "unsupported manifest media type {h:?}; use an OCI image manifest or index, or a \
                 Docker schema 2 manifest or list"
            ))
        })?),
    };
    let body_kind = match raw.media_type.as_deref() {
        None => None,
        Some(mt) if DOCKER_SCHEMA1.contains(&mt) => return Err(schema1()),
        Some(mt) => Some(
            ManifestKind::from_media_type(mt)
                .ok_or_else(|| invalid(format!("unsupported mediaType {mt:?} in manifest body")))?,
        ),
    };
    let kind = match (header_kind, body_kind) {
        (Some(h), Some(b)) if h != b => {
            return Err(invalid(format!(
                "Content-Type {} does not match the body's mediaType {}",
                h.media_type(),
                b.media_type()
            )))
        }
        (Some(h), _) => h,
        (None, Some(b)) => b,
        (None, None) if raw.manifests.is_some() => ManifestKind::OciIndex,
        (None, None) => ManifestKind::OciImage,
    };
    build(kind, raw)
}

fn schema1() -> CoreError {
    invalid(
        "Docker schema 1 manifests are not supported (deprecated); push with a current client, \
         which sends schema 2 or OCI manifests",
    )
}

fn build(kind: ManifestKind, raw: RawManifest) -> Result<ParsedManifest, CoreError> {
    let (config, layers, manifests) = if kind.is_index() {
        if raw.config.is_some() || raw.layers.is_some() {
            return Err(invalid("an index must not have config or layers"));
        }
        let manifests = raw
            .manifests
            .ok_or_else(|| invalid("an index must have a manifests array"))?;
        (None, Vec::new(), manifests)
    } else {
        if raw.manifests.is_some() {
            return Err(invalid("an image manifest must not have a manifests array"));
        }
        let config = raw
            .config
            .ok_or_else(|| invalid("an image manifest must have a config descriptor"))?;
        let layers = raw
            .layers
            .ok_or_else(|| invalid("an image manifest must have a layers array"))?;
        (Some(config), layers, Vec::new())
    };
    if matches!(kind, ManifestKind::DockerImage | ManifestKind::DockerList)
        && (raw.subject.is_some() || raw.artifact_type.is_some())
    {
        return Err(invalid(
            "subject and artifactType are OCI fields; Docker manifests cannot carry them",
        ));
    }
    Ok(ParsedManifest {
        kind,
        config,
        layers,
        manifests,
        subject: raw.subject,
        artifact_type: raw.artifact_type,
        annotations: raw.annotations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(n: u8) -> String {
        Digest::sha256_of(&[n]).to_string()
    }

    fn image_manifest(media_type: Option<&str>) -> Vec<u8> {
        let mt = media_type.map_or(String::new(), |m| format!(r#""mediaType":"{m}","#));
        format!(
            r#"{{"schemaVersion":2,{mt}"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":3}}]}}"#,
            d(1),
            d(2)
        )
        .into_bytes()
    }

    #[test]
    fn header_decides_and_body_must_agree() {
        let m = parse(Some(OCI_MANIFEST), &image_manifest(Some(OCI_MANIFEST))).unwrap();
        assert_eq!(m.kind, ManifestKind::OciImage);
        assert_eq!(m.required_blobs().len(), 2);
        let err = parse(Some(DOCKER_MANIFEST), &image_manifest(Some(OCI_MANIFEST))).unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
        let m = parse(Some(DOCKER_MANIFEST), &image_manifest(None)).unwrap();
        assert_eq!(m.kind, ManifestKind::DockerImage);
        let m = parse(None, &image_manifest(None)).unwrap();
        assert_eq!(m.kind, ManifestKind::OciImage);
        assert_eq!(
            m.effective_artifact_type().as_deref(),
            Some("application/vnd.oci.image.config.v1+json")
        );
    }

    #[test]
    fn schema1_and_garbage_are_refused() {
        let s1 = br#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#;
        assert!(parse(None, s1)
            .unwrap_err()
            .to_string()
            .contains("schema 1"));
        assert!(parse(Some(DOCKER_SCHEMA1[1]), b"{}")
            .unwrap_err()
            .to_string()
            .contains("schema 1"));
        assert!(parse(Some(OCI_MANIFEST), b"not json").is_err());
        assert!(parse(Some("text/plain"), &image_manifest(None)).is_err());
        let big = vec![b' '; MAX_MANIFEST_SIZE + 1];
        assert!(matches!(parse(None, &big), Err(CoreError::SizeInvalid(_))));
    }

    #[test]
    fn index_children_and_subject() {
        let body = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":10,"platform":{{"os":"linux","architecture":"amd64"}}}}],"subject":{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":5}},"artifactType":"application/x-sig"}}"#,
            d(3),
            d(4)
        );
        let m = parse(Some(OCI_INDEX), body.as_bytes()).unwrap();
        assert_eq!(m.required_manifests(), vec![Digest::sha256_of(&[3])]);
        assert!(m.required_blobs().is_empty());
        assert_eq!(m.subject.unwrap().digest, Digest::sha256_of(&[4]));
        assert_eq!(m.artifact_type.as_deref(), Some("application/x-sig"));
    }

    proptest! {
        #[test]
        fn never_panics(ct in proptest::option::of(".{0,40}"), body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse(ct.as_deref(), &body);
        }
    }
}
