//! `KvMetadataStore`: every metadata role trait implemented once over a [`KvEngine`].
//!
//! Each mutation is one engine transaction (pure: it only reads and writes keys, so an engine may
//! re-run it on conflict) followed by one `sync`, so a mutation that returned is durable.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{codec, layout, KvEngine, KvTxn, TxnError};
use crate::clock::Timestamp;
use crate::digest::Digest;
use crate::error::{CoreError, QuotaKind, Result};
use crate::names::{ImagePath, ProjectId, RepositoryName, Tag};
use crate::quota::QuotaLimits;
use crate::store::meta::*;

/// The metadata store over an ordered key-value engine.
pub struct KvMetadataStore<E> {
    pub(super) engine: Arc<E>,
    /// See [`GrantStore::access_generation`](crate::store::GrantStore::access_generation).
    access_generation: AtomicU64,
}

impl<E: KvEngine> KvMetadataStore<E> {
    /// Wraps an engine.
    pub fn new(engine: Arc<E>) -> Self {
        KvMetadataStore {
            engine,
            access_generation: AtomicU64::new(0),
        }
    }

    /// The current access generation.
    pub(super) fn current_access_generation(&self) -> u64 {
        self.access_generation.load(Ordering::SeqCst)
    }

    /// Moves the access generation on. Called after a write that may change an access decision
    /// committed and before it is acknowledged, so that anyone who learns of the write reads a
    /// newer generation than any reader who could have missed it.
    pub(super) fn bump_access_generation(&self) {
        self.access_generation.fetch_add(1, Ordering::SeqCst);
    }

    /// [`mutate`](Self::mutate) for a write that may change an access decision (projects,
    /// repositories, memberships, repository roles). The generation moves on whatever the
    /// outcome: a failed sync may still have applied the transaction.
    pub(super) async fn mutate_access<T>(
        &self,
        body: impl Fn(&dyn KvTxn) -> Result<T, TxnError>,
    ) -> Result<T> {
        let outcome = self.mutate(body).await;
        self.bump_access_generation();
        outcome
    }

    pub(super) fn read<T: DeserializeOwned>(&self, what: &str, key: &[u8]) -> Result<Option<T>> {
        match self.engine.get(key)? {
            Some(v) => Ok(Some(codec::decode(what, &v)?)),
            None => Ok(None),
        }
    }

    /// Decodes every record under `prefix`.
    pub(super) fn scan_records<T: DeserializeOwned>(
        &self,
        what: &str,
        prefix: &[u8],
    ) -> Result<Vec<T>> {
        self.engine
            .scan(prefix, None, usize::MAX)?
            .iter()
            .map(|(_, v)| codec::decode(what, v).map_err(CoreError::from))
            .collect()
    }

    /// The tag names ending the keys under `prefix`, strictly after the text `after`.
    fn scan_tag_names(&self, prefix: &[u8], after: Option<&str>, limit: usize) -> Result<Vec<Tag>> {
        let after = after.map(|t| [prefix, t.as_bytes()].concat());
        Ok(self
            .engine
            .scan_keys(prefix, after.as_deref(), limit)?
            .iter()
            .filter_map(|k| std::str::from_utf8(&k[prefix.len()..]).ok()?.parse().ok())
            .collect())
    }

    /// Every key of every image of a repository (records, manifests, tags, history, referrers,
    /// links).
    fn repository_image_keys(
        &self,
        project: &ProjectId,
        name: &RepositoryName,
    ) -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        for (k, _) in self.engine.scan(
            &layout::images_of_repository(project, name),
            None,
            usize::MAX,
        )? {
            if let Some(path) = layout::image_path_from_key(&k) {
                for prefix in layout::image_prefixes(&path) {
                    keys.extend(self.engine.scan_keys(&prefix, None, usize::MAX)?);
                }
            }
            keys.push(k);
        }
        Ok(keys)
    }

    /// The keys of every grant on a repository: each grant's own key and (when its record
    /// decodes) its per-user mirror.
    fn repository_grant_keys(
        &self,
        project: &ProjectId,
        name: &RepositoryName,
    ) -> Result<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        for (k, v) in self
            .engine
            .scan(&layout::repo_grants_of(project, name), None, usize::MAX)?
        {
            if let Ok(grant) = codec::decode::<crate::store::RepoGrant>("grant", &v) {
                keys.push(layout::user_grant(&grant.user, project, name));
            }
            keys.push(k);
        }
        Ok(keys)
    }

    /// After a repository's deletion, removes grants that a racing `set_repo_grant` committed
    /// between the deletion's scan and its transaction, unless the repository exists again. (No
    /// grant can be committed after the deletion: granting requires the repository.)
    async fn remove_leftover_grants(
        &self,
        project: &ProjectId,
        name: &RepositoryName,
    ) -> Result<()> {
        let leftovers = self.repository_grant_keys(project, name)?;
        if leftovers.is_empty() {
            return Ok(());
        }
        let rkey = layout::repository(project, name);
        self.mutate_access(|tx| {
            if tx.get(&rkey)?.is_none() {
                for k in &leftovers {
                    tx.delete(k)?;
                }
            }
            Ok(())
        })
        .await
    }

    /// After a repository's deletion, removes images a racing push committed into it meanwhile,
    /// unless the repository exists again (an open-mode push may recreate it).
    async fn remove_leftover_images(
        &self,
        project: &ProjectId,
        name: &RepositoryName,
    ) -> Result<()> {
        let rkey = layout::repository(project, name);
        for _ in 0..3 {
            let leftovers = self.repository_image_keys(project, name)?;
            if leftovers.is_empty() {
                return Ok(());
            }
            let removed = self
                .mutate(|tx| {
                    if tx.get(&rkey)?.is_some() {
                        return Ok(false);
                    }
                    for k in &leftovers {
                        tx.delete(k)?;
                    }
                    Ok(true)
                })
                .await?;
            if !removed {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Runs a transaction, then makes it durable.
    pub(super) async fn mutate<T>(
        &self,
        body: impl Fn(&dyn KvTxn) -> Result<T, TxnError>,
    ) -> Result<T> {
        let value = self.engine.transact(body)?;
        self.engine.sync().await?;
        Ok(value)
    }
}

pub(super) fn get<T: DeserializeOwned>(
    tx: &dyn KvTxn,
    what: &str,
    key: &[u8],
) -> Result<Option<T>, TxnError> {
    match tx.get(key)? {
        Some(v) => codec::decode(what, &v).map(Some).map_err(TxnError::Storage),
        None => Ok(None),
    }
}

pub(super) fn put<T: Serialize>(tx: &dyn KvTxn, key: &[u8], value: &T) -> Result<(), TxnError> {
    tx.put(key, &codec::encode(value))
}

pub(super) fn abort(e: CoreError) -> TxnError {
    TxnError::Abort(e)
}

/// Appends an event to a tag's timeline.
fn append_event(
    tx: &dyn KvTxn,
    image: &ImagePath,
    tag: &Tag,
    at: Timestamp,
    kind: TagEventKind,
) -> Result<(), TxnError> {
    let seq_key = layout::tag_sequence(image, tag);
    let seq = next_sequence(tx, &seq_key)?;
    put(
        tx,
        &layout::tag_event(image, tag, seq),
        &TagEvent { at, kind },
    )?;
    tx.put(&seq_key, &(seq + 1).to_be_bytes())
}

fn next_sequence(tx: &dyn KvTxn, seq_key: &[u8]) -> Result<u64, TxnError> {
    Ok(match tx.get(seq_key)? {
        Some(b) => {
            let arr: [u8; 8] = b.as_slice().try_into().map_err(|_| {
                TxnError::Storage(crate::store::StorageError::Corrupt {
                    what: "tag sequence".into(),
                })
            })?;
            u64::from_be_bytes(arr)
        }
        None => 0,
    })
}

/// Loads the repository of `image`, creating it (and its project) when allowed; says whether it
/// was created.
fn load_or_create_repository(
    tx: &dyn KvTxn,
    image: &ImagePath,
    create_missing: bool,
    limits: &QuotaLimits,
    at: Timestamp,
) -> Result<(RepositoryRecord, bool), TxnError> {
    let key = layout::repository(image.project(), image.repository());
    if let Some(r) = get::<RepositoryRecord>(tx, "repository", &key)? {
        return Ok((r, false));
    }
    if !create_missing {
        return Err(abort(CoreError::repository_missing(image)));
    }
    let new = NewRepository {
        project: image.project().clone(),
        name: image.repository().clone(),
        visibility: Visibility::Private,
        description: String::new(),
    };
    Ok((insert_repository(tx, &new, true, limits, at)?, true))
}

fn insert_repository(
    tx: &dyn KvTxn,
    new: &NewRepository,
    create_project: bool,
    limits: &QuotaLimits,
    at: Timestamp,
) -> Result<RepositoryRecord, TxnError> {
    let pkey = layout::project(&new.project);
    let mut project = match get::<ProjectRecord>(tx, "project", &pkey)? {
        Some(p) => p,
        None if create_project => ProjectRecord {
            id: new.project.clone(),
            org: crate::store::DEFAULT_ORG
                .parse()
                .map_err(|e| abort(CoreError::NameInvalid(e)))?,
            created: at,
            repository_count: 0,
        },
        None => {
            return Err(abort(CoreError::NameUnknown {
                what: "project",
                name: new.project.to_string(),
                hint: None,
            }))
        }
    };
    let rkey = layout::repository(&new.project, &new.name);
    if tx.get(&rkey)?.is_some() {
        return Err(abort(CoreError::Conflict(format!(
            "repository {}/{} already exists",
            new.project, new.name
        ))));
    }
    limits
        .check(
            QuotaKind::RepositoriesPerProject,
            project.repository_count,
            1,
        )
        .map_err(abort)?;
    project.repository_count += 1;
    let record = RepositoryRecord {
        project: new.project.clone(),
        name: new.name.clone(),
        visibility: new.visibility,
        description: new.description.clone(),
        created: at,
        image_count: 0,
    };
    put(tx, &pkey, &project)?;
    put(tx, &rkey, &record)?;
    Ok(record)
}

/// Points `tag` at `digest`, recording the event; `record` is the target's manifest record.
#[allow(clippy::too_many_arguments)]
fn point_tag(
    tx: &dyn KvTxn,
    image_path: &ImagePath,
    image: &mut ImageRecord,
    record: &mut ManifestRecord,
    tag: &Tag,
    limits: &QuotaLimits,
    at: Timestamp,
    restoring: bool,
) -> Result<Option<TagChange>, TxnError> {
    let tkey = layout::tag(image_path, tag);
    let kind = match get::<Digest>(tx, "tag", &tkey)? {
        Some(old) if old == record.digest => return Ok(None),
        Some(old) => {
            let okey = layout::manifest(image_path, &old);
            if let Some(mut old_record) = get::<ManifestRecord>(tx, "manifest", &okey)? {
                old_record.tags.remove(tag);
                put(tx, &okey, &old_record)?;
            }
            TagEventKind::Moved {
                from: old,
                to: record.digest.clone(),
            }
        }
        None => {
            limits
                .check(QuotaKind::TagsPerImage, image.tag_count, 1)
                .map_err(abort)?;
            image.tag_count += 1;
            let digest = record.digest.clone();
            if restoring {
                TagEventKind::Restored { digest }
            } else {
                TagEventKind::Created { digest }
            }
        }
    };
    put(tx, &tkey, &record.digest)?;
    record.tags.insert(tag.clone());
    append_event(tx, image_path, tag, at, kind.clone())?;
    Ok(Some(TagChange {
        tag: tag.clone(),
        kind,
    }))
}

fn commit_manifest_txn(tx: &dyn KvTxn, put_req: &PutManifest) -> Result<PutOutcome, TxnError> {
    let path = &put_req.image;
    let at = put_req.at;
    let (mut repo, created_repository) =
        load_or_create_repository(tx, path, put_req.create_missing, &put_req.limits, at)?;
    let ikey = layout::image(path);
    let (mut image, created_image) = match get::<ImageRecord>(tx, "image", &ikey)? {
        Some(i) => (i, false),
        None => {
            put_req
                .limits
                .check(QuotaKind::ImagesPerRepository, repo.image_count, 1)
                .map_err(abort)?;
            repo.image_count += 1;
            put(
                tx,
                &layout::repository(path.project(), path.repository()),
                &repo,
            )?;
            let image = ImageRecord {
                path: path.clone(),
                created: at,
                tag_count: 0,
                manifest_count: 0,
            };
            (image, true)
        }
    };
    for digest in &put_req.required_blobs {
        if tx.get(&layout::blob_link(path, digest))?.is_none() {
            return Err(abort(CoreError::ManifestBlobUnknown {
                digest: digest.clone(),
            }));
        }
    }
    for digest in &put_req.required_manifests {
        if tx.get(&layout::manifest(path, digest))?.is_none() {
            return Err(abort(CoreError::ManifestBlobUnknown {
                digest: digest.clone(),
            }));
        }
    }
    let mkey = layout::manifest(path, &put_req.digest);
    let (mut record, created_manifest) = match get::<ManifestRecord>(tx, "manifest", &mkey)? {
        Some(r) => (r, false),
        None => {
            image.manifest_count += 1;
            tx.put(&layout::manifest_body(path, &put_req.digest), &put_req.body)?;
            if let Some(subject) = &put_req.subject {
                let referrer = ReferrerRecord {
                    digest: put_req.digest.clone(),
                    media_type: put_req.media_type.clone(),
                    size: put_req.body.len() as u64,
                    artifact_type: put_req.artifact_type.clone(),
                    annotations: put_req.annotations.clone(),
                };
                put(
                    tx,
                    &layout::referrer(path, subject, &put_req.digest),
                    &referrer,
                )?;
            }
            let mut references = put_req.required_blobs.clone();
            references.extend(put_req.optional_blobs.iter().cloned());
            references.extend(put_req.required_manifests.iter().cloned());
            let record = ManifestRecord {
                digest: put_req.digest.clone(),
                media_type: put_req.media_type.clone(),
                size: put_req.body.len() as u64,
                artifact_type: put_req.artifact_type.clone(),
                subject: put_req.subject.clone(),
                references,
                tags: BTreeSet::new(),
                created: at,
            };
            (record, true)
        }
    };
    let mut tag_changes = Vec::new();
    for tag in &put_req.tags {
        let change = point_tag(
            tx,
            path,
            &mut image,
            &mut record,
            tag,
            &put_req.limits,
            at,
            false,
        )?;
        tag_changes.extend(change);
    }
    put(tx, &ikey, &image)?;
    put(tx, &mkey, &record)?;
    Ok(PutOutcome {
        created_repository,
        created_image,
        created_manifest,
        tag_changes,
    })
}

fn repository_unknown(project: &ProjectId, name: &RepositoryName) -> CoreError {
    CoreError::NameUnknown {
        what: "repository",
        name: format!("{project}/{name}"),
        hint: None,
    }
}

fn unknown_manifest(reference: impl ToString) -> TxnError {
    abort(CoreError::ManifestUnknown {
        reference: reference.to_string(),
    })
}

#[async_trait]
impl<E: KvEngine> RepoCatalog for KvMetadataStore<E> {
    async fn create_project(
        &self,
        id: &ProjectId,
        org: &crate::access::OrgId,
        at: Timestamp,
    ) -> Result<ProjectRecord> {
        self.mutate_access(|tx| {
            let key = layout::project(id);
            if tx.get(&key)?.is_some() {
                return Err(abort(CoreError::Conflict(format!(
                    "project {id} already exists"
                ))));
            }
            let record = ProjectRecord {
                id: id.clone(),
                org: org.clone(),
                created: at,
                repository_count: 0,
            };
            put(tx, &key, &record)?;
            Ok(record)
        })
        .await
    }

    async fn project(&self, id: &ProjectId) -> Result<Option<ProjectRecord>> {
        self.read("project", &layout::project(id))
    }

    async fn list_projects(&self) -> Result<Vec<ProjectRecord>> {
        self.scan_records("project", &layout::project_prefix())
    }

    async fn update_repository(&self, record: RepositoryRecord) -> Result<()> {
        let key = layout::repository(&record.project, &record.name);
        self.mutate_access(|tx| {
            if tx.get(&key)?.is_none() {
                return Err(abort(repository_unknown(&record.project, &record.name)));
            }
            put(tx, &key, &record)
        })
        .await
    }

    async fn delete_repository(&self, project: &ProjectId, name: &RepositoryName) -> Result<()> {
        // Transactions cannot scan, so collect the repository's keys first. A push racing with
        // the deletion either fails its own transaction on the missing repository record, or
        // commits between the scan and the deletion; what it left is removed below.
        let doomed = self.repository_image_keys(project, name)?;
        let grants = self.repository_grant_keys(project, name)?;
        self.mutate_access(|tx| {
            let rkey = layout::repository(project, name);
            if tx.get(&rkey)?.is_none() {
                return Err(abort(repository_unknown(project, name)));
            }
            tx.delete(&rkey)?;
            for k in doomed.iter().chain(&grants) {
                tx.delete(k)?;
            }
            let pkey = layout::project(project);
            if let Some(mut p) = get::<ProjectRecord>(tx, "project", &pkey)? {
                p.repository_count = p.repository_count.saturating_sub(1);
                put(tx, &pkey, &p)?;
            }
            Ok(())
        })
        .await?;
        self.remove_leftover_grants(project, name).await?;
        self.remove_leftover_images(project, name).await
    }

    async fn create_repository(
        &self,
        new: NewRepository,
        create_project: bool,
        limits: QuotaLimits,
        at: Timestamp,
    ) -> Result<RepositoryRecord> {
        self.mutate_access(|tx| insert_repository(tx, &new, create_project, &limits, at))
            .await
    }

    async fn repository(
        &self,
        project: &ProjectId,
        name: &RepositoryName,
    ) -> Result<Option<RepositoryRecord>> {
        self.read("repository", &layout::repository(project, name))
    }

    async fn list_repositories(
        &self,
        project: &ProjectId,
        after: Option<&RepositoryName>,
        limit: usize,
    ) -> Result<Vec<RepositoryRecord>> {
        let after = after.map(|a| layout::repository(project, a));
        self.engine
            .scan(&layout::repositories_of(project), after.as_deref(), limit)?
            .iter()
            .map(|(_, v)| codec::decode("repository", v).map_err(CoreError::from))
            .collect()
    }

    async fn image(&self, path: &ImagePath) -> Result<Option<ImageRecord>> {
        self.read("image", &layout::image(path))
    }

    async fn list_images(
        &self,
        project: Option<&ProjectId>,
        after: Option<&ImagePath>,
        limit: usize,
    ) -> Result<Vec<ImagePath>> {
        let after = after.map(layout::image);
        Ok(self
            .engine
            .scan(&layout::images_of(project), after.as_deref(), limit)?
            .iter()
            .filter_map(|(k, _)| layout::image_path_from_key(k))
            .collect())
    }
}

#[async_trait]
impl<E: KvEngine> ManifestIndex for KvMetadataStore<E> {
    async fn commit_manifest(&self, put_req: PutManifest) -> Result<PutOutcome> {
        let outcome = self.mutate(|tx| commit_manifest_txn(tx, &put_req)).await;
        if outcome.as_ref().map_or(true, |o| o.created_repository) {
            // A new repository (and maybe project) changes what access decisions read.
            self.bump_access_generation();
        }
        outcome
    }

    async fn manifest(&self, image: &ImagePath, digest: &Digest) -> Result<Option<ManifestRecord>> {
        self.read("manifest", &layout::manifest(image, digest))
    }

    async fn manifest_body(&self, image: &ImagePath, digest: &Digest) -> Result<Option<Bytes>> {
        Ok(self
            .engine
            .get(&layout::manifest_body(image, digest))?
            .map(Bytes::from))
    }

    async fn delete_manifest(
        &self,
        image: &ImagePath,
        digest: &Digest,
        at: Timestamp,
    ) -> Result<Vec<Tag>> {
        self.mutate(|tx| {
            let mkey = layout::manifest(image, digest);
            let record: ManifestRecord =
                get(tx, "manifest", &mkey)?.ok_or_else(|| unknown_manifest(digest))?;
            let ikey = layout::image(image);
            let mut image_record: ImageRecord =
                get(tx, "image", &ikey)?.ok_or_else(|| unknown_manifest(digest))?;
            for tag in &record.tags {
                tx.delete(&layout::tag(image, tag))?;
                image_record.tag_count = image_record.tag_count.saturating_sub(1);
                let kind = TagEventKind::Deleted {
                    digest: digest.clone(),
                };
                append_event(tx, image, tag, at, kind)?;
            }
            tx.delete(&mkey)?;
            tx.delete(&layout::manifest_body(image, digest))?;
            if let Some(subject) = &record.subject {
                tx.delete(&layout::referrer(image, subject, digest))?;
            }
            image_record.manifest_count = image_record.manifest_count.saturating_sub(1);
            put(tx, &ikey, &image_record)?;
            Ok(record.tags.iter().cloned().collect())
        })
        .await
    }

    async fn referrers(&self, image: &ImagePath, subject: &Digest) -> Result<Vec<ReferrerRecord>> {
        self.engine
            .scan(&layout::referrers_of(image, subject), None, usize::MAX)?
            .iter()
            .map(|(_, v)| codec::decode("referrer", v).map_err(CoreError::from))
            .collect()
    }

    async fn link_blob(&self, image: &ImagePath, link: BlobLink) -> Result<()> {
        // Always rewritten: a fresh `linked` time restarts the garbage collector's grace period
        // for a blob a client has just uploaded or mounted again.
        let key = layout::blob_link(image, &link.digest);
        self.mutate(|tx| put(tx, &key, &link)).await
    }

    async fn blob_link(&self, image: &ImagePath, digest: &Digest) -> Result<Option<BlobLink>> {
        self.read("blob link", &layout::blob_link(image, digest))
    }

    async fn unlink_blob(&self, image: &ImagePath, digest: &Digest) -> Result<bool> {
        let key = layout::blob_link(image, digest);
        self.mutate(|tx| {
            let existed = tx.get(&key)?.is_some();
            tx.delete(&key)?;
            Ok(existed)
        })
        .await
    }
}

#[async_trait]
impl<E: KvEngine> TagLog for KvMetadataStore<E> {
    async fn resolve_tag(&self, image: &ImagePath, tag: &Tag) -> Result<Option<Digest>> {
        self.read("tag", &layout::tag(image, tag))
    }

    async fn list_tags(
        &self,
        image: &ImagePath,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tag>> {
        self.scan_tag_names(&layout::tags_of(image), after, limit)
    }

    async fn tags_ever(
        &self,
        image: &ImagePath,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Tag>> {
        self.scan_tag_names(&layout::tag_sequences_of(image), after, limit)
    }

    async fn delete_tag(
        &self,
        image: &ImagePath,
        tag: &Tag,
        at: Timestamp,
    ) -> Result<Option<Digest>> {
        self.mutate(|tx| {
            let tkey = layout::tag(image, tag);
            let Some(digest) = get::<Digest>(tx, "tag", &tkey)? else {
                return Ok(None);
            };
            tx.delete(&tkey)?;
            let mkey = layout::manifest(image, &digest);
            if let Some(mut record) = get::<ManifestRecord>(tx, "manifest", &mkey)? {
                record.tags.remove(tag);
                put(tx, &mkey, &record)?;
            }
            let ikey = layout::image(image);
            if let Some(mut image_record) = get::<ImageRecord>(tx, "image", &ikey)? {
                image_record.tag_count = image_record.tag_count.saturating_sub(1);
                put(tx, &ikey, &image_record)?;
            }
            let kind = TagEventKind::Deleted {
                digest: digest.clone(),
            };
            append_event(tx, image, tag, at, kind)?;
            Ok(Some(digest))
        })
        .await
    }

    async fn tag_history(&self, image: &ImagePath, tag: &Tag) -> Result<Vec<TagEvent>> {
        self.engine
            .scan(&layout::tag_events_of(image, tag), None, usize::MAX)?
            .iter()
            .map(|(_, v)| codec::decode("tag event", v).map_err(CoreError::from))
            .collect()
    }

    async fn restore_tag(
        &self,
        image: &ImagePath,
        tag: &Tag,
        digest: &Digest,
        limits: QuotaLimits,
        at: Timestamp,
    ) -> Result<()> {
        self.mutate(|tx| {
            if tx.get(&layout::tag(image, tag))?.is_some() {
                return Err(abort(CoreError::Conflict(format!(
                    "tag {tag} exists; only a deleted tag can be restored"
                ))));
            }
            let seq = next_sequence(tx, &layout::tag_sequence(image, tag))?;
            let last: Option<TagEvent> = match seq {
                0 => None,
                n => get(tx, "tag event", &layout::tag_event(image, tag, n - 1))?,
            };
            if !matches!(
                last,
                Some(TagEvent {
                    kind: TagEventKind::Deleted { .. },
                    ..
                })
            ) {
                return Err(abort(CoreError::Conflict(format!(
                    "tag {tag} was never deleted, so there is nothing to restore"
                ))));
            }
            let mkey = layout::manifest(image, digest);
            let mut record: ManifestRecord =
                get(tx, "manifest", &mkey)?.ok_or_else(|| unknown_manifest(digest))?;
            let ikey = layout::image(image);
            let mut image_record: ImageRecord =
                get(tx, "image", &ikey)?.ok_or_else(|| unknown_manifest(digest))?;
            point_tag(
                tx,
                image,
                &mut image_record,
                &mut record,
                tag,
                &limits,
                at,
                true,
            )?;
            put(tx, &ikey, &image_record)?;
            put(tx, &mkey, &record)?;
            Ok(())
        })
        .await
    }
}
