//! Metadata records and the role traits of the metadata store. Every mutation is one atomic unit
//! of work and is durable when it returns.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::access::OrgId;
use crate::clock::Timestamp;
use crate::digest::Digest;
use crate::error::Result;
use crate::names::{ImagePath, ProjectId, RepositoryName, Tag};
use crate::quota::QuotaLimits;

/// Whether anonymous callers may pull from a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Only callers with a role.
    #[default]
    Private,
    /// Anyone who knows the URI may pull.
    Public,
}

/// The organization that owns projects created without one (open mode, first push).
pub const DEFAULT_ORG: &str = "default";

fn default_org() -> OrgId {
    OrgId::try_from(DEFAULT_ORG.to_owned()).unwrap_or_else(|_| unreachable_org())
}

#[allow(clippy::panic)]
fn unreachable_org() -> OrgId {
    // DEFAULT_ORG is a valid id; this is checked by a unit test.
    panic!("DEFAULT_ORG must be a valid organization id")
}

/// A project (tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRecord {
    /// Its id.
    pub id: ProjectId,
    /// The organization owning it.
    #[serde(default = "default_org")]
    pub org: OrgId,
    /// Creation time.
    pub created: Timestamp,
    /// Repositories it holds (quota counter).
    pub repository_count: u64,
}

/// A repository inside a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryRecord {
    /// Owning project.
    pub project: ProjectId,
    /// Its name.
    pub name: RepositoryName,
    /// Public or private.
    pub visibility: Visibility,
    /// Free text.
    pub description: String,
    /// Creation time.
    pub created: Timestamp,
    /// Images it holds (quota counter).
    pub image_count: u64,
}

/// What creating a repository needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRepository {
    /// Owning project (created if missing when `create_project` is set).
    pub project: ProjectId,
    /// The new repository's name.
    pub name: RepositoryName,
    /// Public or private.
    pub visibility: Visibility,
    /// Free text.
    pub description: String,
}

/// An image (an OCI repository) inside a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Where it lives.
    pub path: ImagePath,
    /// Creation time (its first push).
    pub created: Timestamp,
    /// Live tags (quota counter).
    pub tag_count: u64,
    /// Image versions (manifests) it holds.
    pub manifest_count: u64,
}

/// One stored image version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRecord {
    /// Its digest.
    pub digest: Digest,
    /// Its media type, as negotiated at push.
    pub media_type: String,
    /// Size of the body in bytes.
    pub size: u64,
    /// The OCI 1.1 artifact type (or the config media type of an artifact manifest).
    pub artifact_type: Option<String>,
    /// The manifest this one refers to (`subject`).
    pub subject: Option<Digest>,
    /// Blobs and child manifests it references (GC roots follow these).
    pub references: Vec<Digest>,
    /// Tags currently pointing at it.
    pub tags: BTreeSet<Tag>,
    /// First push time.
    pub created: Timestamp,
}

/// A manifest that names another as its `subject`, as listed by the referrers API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferrerRecord {
    /// The referrer's digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its size.
    pub size: u64,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
}

/// A blob made visible to one image (uploaded to it, mounted into it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobLink {
    /// The blob.
    pub digest: Digest,
    /// Its size.
    pub size: u64,
    /// When it was linked.
    pub linked: Timestamp,
}

/// What happened to a tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TagEventKind {
    /// The tag was created pointing at `digest`.
    Created {
        /// Target.
        digest: Digest,
    },
    /// The tag moved.
    Moved {
        /// Previous target.
        from: Digest,
        /// New target.
        to: Digest,
    },
    /// The tag was deleted while pointing at `digest`.
    Deleted {
        /// Target at deletion.
        digest: Digest,
    },
    /// A deleted tag was restored to `digest`.
    Restored {
        /// Target.
        digest: Digest,
    },
}

/// One entry of a tag's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagEvent {
    /// When.
    pub at: Timestamp,
    /// What.
    #[serde(flatten)]
    pub kind: TagEventKind,
}

/// A tag change made by a mutation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChange {
    /// The tag.
    pub tag: Tag,
    /// What happened.
    pub kind: TagEventKind,
}

/// One manifest push, committed atomically: record, body, tags, history, referrer entry, counters.
#[derive(Debug, Clone)]
pub struct PutManifest {
    /// Target image.
    pub image: ImagePath,
    /// The body's digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// The body.
    pub body: Bytes,
    /// Tags to point at it (may be empty: push by digest).
    pub tags: Vec<Tag>,
    /// Blobs that must be linked to the image (config, layers).
    pub required_blobs: Vec<Digest>,
    /// Blobs it names without requiring them here (layers with `urls`); referenced for garbage
    /// collection all the same.
    pub optional_blobs: Vec<Digest>,
    /// Manifests that must exist in the image (index children).
    pub required_manifests: Vec<Digest>,
    /// `subject`, if any.
    pub subject: Option<Digest>,
    /// Artifact type for the referrers API.
    pub artifact_type: Option<String>,
    /// Annotations for the referrers API.
    pub annotations: BTreeMap<String, String>,
    /// Create the project and repository when missing (open mode), instead of `NameUnknown`.
    pub create_missing: bool,
    /// Quotas to enforce.
    pub limits: QuotaLimits,
    /// Commit time.
    pub at: Timestamp,
}

/// What a manifest push changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// Whether the push created the repository (and its project, when that was missing too).
    pub created_repository: bool,
    /// Whether the image was created by this push.
    pub created_image: bool,
    /// Whether this digest was new to the image.
    pub created_manifest: bool,
    /// Tag changes, in order.
    pub tag_changes: Vec<TagChange>,
}

/// Projects, repositories and images.
#[async_trait]
pub trait RepoCatalog: Send + Sync {
    /// Creates a project owned by `org`; `Conflict` if it exists.
    async fn create_project(
        &self,
        id: &ProjectId,
        org: &OrgId,
        at: Timestamp,
    ) -> Result<ProjectRecord>;
    /// A project.
    async fn project(&self, id: &ProjectId) -> Result<Option<ProjectRecord>>;
    /// Every project, by id.
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>>;
    /// Replaces a repository's settings (visibility, description); `NameUnknown` if missing.
    async fn update_repository(&self, record: RepositoryRecord) -> Result<()>;
    /// Deletes a repository with all its images, tags, history and blob links.
    /// `NameUnknown` if missing. Blob bytes are left to garbage collection.
    async fn delete_repository(&self, project: &ProjectId, name: &RepositoryName) -> Result<()>;
    /// Creates a repository (and its project when `create_project`), enforcing the per-project quota.
    async fn create_repository(
        &self,
        new: NewRepository,
        create_project: bool,
        limits: QuotaLimits,
        at: Timestamp,
    ) -> Result<RepositoryRecord>;
    /// A repository.
    async fn repository(
        &self,
        project: &ProjectId,
        name: &RepositoryName,
    ) -> Result<Option<RepositoryRecord>>;
    /// Repositories of a project in name order, after `after`, at most `limit`.
    async fn list_repositories(
        &self,
        project: &ProjectId,
        after: Option<&RepositoryName>,
        limit: usize,
    ) -> Result<Vec<RepositoryRecord>>;
    /// An image.
    async fn image(&self, path: &ImagePath) -> Result<Option<ImageRecord>>;
    /// Images in `project/repository/image` lexical order (all projects when `project` is
    /// `None`), after `after`, at most `limit`.
    async fn list_images(
        &self,
        project: Option<&ProjectId>,
        after: Option<&ImagePath>,
        limit: usize,
    ) -> Result<Vec<ImagePath>>;
}

/// Manifests, referrers and blob links of images.
#[async_trait]
pub trait ManifestIndex: Send + Sync {
    /// Commits a push atomically (see [`PutManifest`]); checks links, children and quotas inside
    /// the same transaction.
    async fn commit_manifest(&self, put: PutManifest) -> Result<PutOutcome>;
    /// A manifest's record.
    async fn manifest(&self, image: &ImagePath, digest: &Digest) -> Result<Option<ManifestRecord>>;
    /// A manifest's body.
    async fn manifest_body(&self, image: &ImagePath, digest: &Digest) -> Result<Option<Bytes>>;
    /// Deletes a manifest and the tags pointing at it (recorded in their history).
    /// `ManifestUnknown` when absent. Returns the tags removed.
    async fn delete_manifest(
        &self,
        image: &ImagePath,
        digest: &Digest,
        at: Timestamp,
    ) -> Result<Vec<Tag>>;
    /// Manifests of `image` whose subject is `subject`.
    async fn referrers(&self, image: &ImagePath, subject: &Digest) -> Result<Vec<ReferrerRecord>>;
    /// Makes a blob visible in an image (idempotent).
    async fn link_blob(&self, image: &ImagePath, link: BlobLink) -> Result<()>;
    /// A blob link.
    async fn blob_link(&self, image: &ImagePath, digest: &Digest) -> Result<Option<BlobLink>>;
    /// Removes a blob link; returns whether it existed.
    async fn unlink_blob(&self, image: &ImagePath, digest: &Digest) -> Result<bool>;
}

/// Tags and their timelines.
#[async_trait]
pub trait TagLog: Send + Sync {
    /// Where a tag points.
    async fn resolve_tag(&self, image: &ImagePath, tag: &Tag) -> Result<Option<Digest>>;
    /// Live tags in lexical order, strictly after the text `after` (which need not be a tag),
    /// at most `limit`.
    async fn list_tags(
        &self,
        image: &ImagePath,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tag>>;
    /// Every tag that ever existed in `image` (live or deleted), in lexical order, strictly after
    /// `after`, at most `limit`.
    async fn tags_ever(
        &self,
        image: &ImagePath,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tag>>;
    /// Deletes a tag; returns the digest it pointed at, `None` if it did not exist.
    async fn delete_tag(
        &self,
        image: &ImagePath,
        tag: &Tag,
        at: Timestamp,
    ) -> Result<Option<Digest>>;
    /// A tag's timeline, oldest first.
    async fn tag_history(&self, image: &ImagePath, tag: &Tag) -> Result<Vec<TagEvent>>;
    /// Restores a deleted tag to `digest` (which must still exist in the image); `Conflict` when
    /// the tag is live.
    async fn restore_tag(
        &self,
        image: &ImagePath,
        tag: &Tag,
        digest: &Digest,
        limits: QuotaLimits,
        at: Timestamp,
    ) -> Result<()>;
}

/// A position in a registry-wide scan: pass back the `next` of the previous page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanCursor(pub(crate) Vec<u8>);

/// One page of a registry-wide scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPage<T> {
    /// The items, in storage order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<ScanCursor>,
}

/// What one stored manifest keeps alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestReferences {
    /// The image holding the manifest.
    pub image: ImagePath,
    /// The manifest's digest.
    pub digest: Digest,
    /// Blobs (config, layers) and child manifests it references.
    pub references: Vec<Digest>,
}

/// A blob link and the image it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageBlobLink {
    /// The image.
    pub image: ImagePath,
    /// The link.
    pub link: BlobLink,
}

/// The registry-wide reads and removals of garbage collection.
#[async_trait]
pub trait GcIndex: Send + Sync {
    /// The references of every stored manifest of every image, `limit` at a time.
    async fn scan_manifest_references(
        &self,
        after: Option<&ScanCursor>,
        limit: usize,
    ) -> Result<ScanPage<ManifestReferences>>;
    /// Every blob link of every image, `limit` at a time.
    async fn scan_blob_links(
        &self,
        after: Option<&ScanCursor>,
        limit: usize,
    ) -> Result<ScanPage<ImageBlobLink>>;
    /// Removes blob links in one atomic, durable unit; returns how many existed.
    async fn unlink_blobs(&self, links: &[(ImagePath, Digest)]) -> Result<usize>;
}

/// The whole metadata store.
pub trait MetadataStore:
    RepoCatalog
    + ManifestIndex
    + TagLog
    + GcIndex
    + super::access::IdentityStore
    + super::access::GrantStore
{
}

impl<T> MetadataStore for T where
    T: RepoCatalog
        + ManifestIndex
        + TagLog
        + GcIndex
        + super::access::IdentityStore
        + super::access::GrantStore
{
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_org_is_valid() {
        assert_eq!(super::default_org().as_str(), super::DEFAULT_ORG);
    }
}
