//! The domain error of kcr-core. Variants carry meaning only; HTTP statuses and wire codes are
//! chosen once, at the server's edge.

use crate::digest::Digest;
use crate::names::NameError;
use crate::store::StorageError;

/// Result alias for kcr-core operations.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Which quota a request would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaKind {
    /// Repositories per project.
    RepositoriesPerProject,
    /// Images per repository.
    ImagesPerRepository,
    /// Tags per image.
    TagsPerImage,
}

impl std::fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QuotaKind::RepositoriesPerProject => "repositories per project",
            QuotaKind::ImagesPerRepository => "images per repository",
            QuotaKind::TagsPerImage => "tags per image",
        })
    }
}

/// Everything that can go wrong in a registry operation, by meaning.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A project, repository or image name breaks the naming rules.
    #[error("invalid name: {0}")]
    NameInvalid(#[from] NameError),
    /// A tag breaks the tag grammar.
    #[error("invalid tag {tag:?}: {reason}")]
    TagInvalid {
        /// The rejected tag text.
        tag: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A digest is malformed or uses an unsupported algorithm.
    #[error("invalid digest: {0}")]
    DigestInvalid(String),
    /// Content did not hash to the digest the client promised.
    #[error("digest mismatch: expected {expected}, content hashes to {actual}")]
    DigestMismatch {
        /// What the client said.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// A length or size is wrong (Content-Length disagreeing with the body, descriptor sizes).
    #[error("invalid size: {0}")]
    SizeInvalid(String),
    /// A manifest failed validation.
    #[error("invalid manifest: {reason}")]
    ManifestInvalid {
        /// Human explanation.
        reason: String,
    },
    /// No manifest under that reference.
    #[error("manifest unknown: {reference}")]
    ManifestUnknown {
        /// The tag or digest asked for.
        reference: String,
    },
    /// A manifest references a blob or child manifest that is not in the repository.
    #[error("manifest references unknown blob {digest}")]
    ManifestBlobUnknown {
        /// The missing digest.
        digest: Digest,
    },
    /// No such blob in this repository.
    #[error("blob unknown: {digest}")]
    BlobUnknown {
        /// The digest asked for.
        digest: Digest,
    },
    /// No such upload session (or it belongs to another repository).
    #[error("upload unknown")]
    UploadUnknown,
    /// An upload request is inconsistent (missing digest, bad chunk).
    #[error("upload invalid: {reason}")]
    UploadInvalid {
        /// Human explanation.
        reason: String,
    },
    /// A chunk does not continue where the upload stands, or a byte range cannot be served.
    #[error("range invalid: {reason}")]
    RangeInvalid {
        /// Human explanation.
        reason: String,
        /// Bytes the upload holds so far, when known.
        current_size: Option<u64>,
    },
    /// The repository (or image, or project) does not exist.
    #[error("{what} unknown: {name}")]
    NameUnknown {
        /// "repository", "image" or "project".
        what: &'static str,
        /// The name asked for.
        name: String,
        /// A hint for callers who may create it.
        hint: Option<String>,
    },
    /// The caller is not authenticated.
    #[error("authentication required")]
    Unauthenticated,
    /// The caller is authenticated but not allowed.
    #[error("access denied: {reason}")]
    Denied {
        /// Why.
        reason: String,
    },
    /// A quota would be exceeded.
    #[error("quota exceeded: at most {limit} {kind}")]
    QuotaExceeded {
        /// Which quota.
        kind: QuotaKind,
        /// The limit in force.
        limit: u64,
    },
    /// A conflicting concurrent change or a state that forbids the operation.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The operation is not supported.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The storage layer failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl CoreError {
    /// `NameUnknown` for a push into a repository that does not exist, with how to create it.
    pub fn repository_missing(image: &crate::names::ImagePath) -> Self {
        let (project, repo) = (image.project().as_str(), image.repository().as_str());
        CoreError::NameUnknown {
            what: "repository",
            name: format!("{project}/{repo}"),
            hint: Some(format!(
                "create the repository before pushing: `kcr repo create {project} {repo}` \
                 (or POST /api/v1/projects/{project}/repositories with {{\"name\": \"{repo}\"}})"
            )),
        }
    }

    /// Shorthand for [`CoreError::ManifestInvalid`].
    pub fn manifest_invalid(reason: impl Into<String>) -> Self {
        CoreError::ManifestInvalid {
            reason: reason.into(),
        }
    }
}
