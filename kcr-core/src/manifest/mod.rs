//! Manifests: media-type negotiation, strict parsing, and the references a manifest makes.
//!
//! Four kinds are accepted: the OCI image manifest and image index, and Docker's schema 2 manifest
//! and manifest list. Docker schema 1 is refused with an explanation.

mod parse;

pub use parse::{parse, Descriptor, ManifestKind, ParsedManifest, MAX_MANIFEST_SIZE};

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json`.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.docker.distribution.manifest.v2+json`.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// `application/vnd.docker.distribution.manifest.list.v2+json`.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema 1 media types (refused).
pub const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
