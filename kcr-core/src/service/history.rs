//! Tag history and recovery: a tag's timeline, the deleted tags of an image, and restoring one.

use super::Registry;
use crate::clock::Timestamp;
use crate::digest::Digest;
use crate::error::{CoreError, Result};
use crate::names::{ImagePath, Tag};
use crate::store::{TagEvent, TagEventKind};

/// A deleted tag that can be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedTag {
    /// The tag.
    pub tag: Tag,
    /// The image version it pointed at when it was deleted.
    pub digest: Digest,
    /// When it was deleted.
    pub deleted: Timestamp,
    /// Whether that image version still exists (it does unless it was deleted by digest).
    pub restorable: bool,
}

/// Tags examined per page when looking for deleted ones.
const PAGE: usize = 1000;

impl Registry {
    /// A tag's timeline, oldest first. `ManifestUnknown` when the tag never existed.
    pub async fn tag_history(&self, image: &ImagePath, tag: &Tag) -> Result<Vec<TagEvent>> {
        let events = self.stores.meta.tag_history(image, tag).await?;
        if events.is_empty() {
            return Err(CoreError::ManifestUnknown {
                reference: tag.to_string(),
            });
        }
        Ok(events)
    }

    /// The tags of `image` whose latest event is a deletion, in lexical order.
    pub async fn deleted_tags(&self, image: &ImagePath) -> Result<Vec<DeletedTag>> {
        let mut deleted = Vec::new();
        let mut after: Option<Tag> = None;
        loop {
            let page = self
                .stores
                .meta
                .tags_ever(image, after.as_ref().map(Tag::as_str), PAGE)
                .await?;
            for tag in &page {
                let events = self.stores.meta.tag_history(image, tag).await?;
                if let Some(TagEvent {
                    at,
                    kind: TagEventKind::Deleted { digest },
                }) = events.last()
                {
                    let restorable = self.stores.meta.manifest(image, digest).await?.is_some();
                    deleted.push(DeletedTag {
                        tag: tag.clone(),
                        digest: digest.clone(),
                        deleted: *at,
                        restorable,
                    });
                }
            }
            if page.len() < PAGE {
                return Ok(deleted);
            }
            after = page.last().cloned();
        }
    }

    /// Restores a deleted tag, to the image version it pointed at when deleted, or to `digest`,
    /// which must be a version the tag pointed at before. Returns the digest restored.
    /// `Conflict` when the tag is live or was never deleted; `ManifestUnknown` when the version
    /// itself was deleted since.
    pub async fn restore_tag(
        &self,
        image: &ImagePath,
        tag: &Tag,
        digest: Option<&Digest>,
    ) -> Result<Digest> {
        let events = self.tag_history(image, tag).await?;
        let target = match digest {
            Some(d) if events.iter().any(|e| targets(&e.kind).contains(&d)) => d.clone(),
            Some(d) => {
                return Err(CoreError::Conflict(format!(
                    "tag {tag} never pointed at {d}; push or tag that version instead"
                )))
            }
            None => match events.last().map(|e| &e.kind) {
                Some(TagEventKind::Deleted { digest }) => digest.clone(),
                _ => {
                    return Err(CoreError::Conflict(format!(
                        "tag {tag} exists; only a deleted tag can be restored"
                    )))
                }
            },
        };
        self.stores
            .meta
            .restore_tag(image, tag, &target, self.config.limits, self.clock.now())
            .await?;
        Ok(target)
    }
}

/// The versions an event names.
fn targets(kind: &TagEventKind) -> Vec<&Digest> {
    match kind {
        TagEventKind::Created { digest }
        | TagEventKind::Deleted { digest }
        | TagEventKind::Restored { digest } => vec![digest],
        TagEventKind::Moved { from, to } => vec![from, to],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Reference;
    use crate::service::test_images::*;

    fn tag(s: &str) -> Tag {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn a_deleted_tag_is_listed_and_restored_to_its_last_version() {
        let (registry, _clock) = registry();
        let image = path("p/r/app");
        let v1 = push(&registry, &image, "latest", &[b"one"]).await;
        let v2 = push(&registry, &image, "latest", &[b"two"]).await;
        push(&registry, &image, "stable", &[b"one"]).await;
        registry
            .delete_manifest(&image, &Reference::Tag(tag("latest")))
            .await
            .unwrap();

        let deleted = registry.deleted_tags(&image).await.unwrap();
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].tag, tag("latest"));
        assert_eq!(deleted[0].digest, v2);
        assert!(deleted[0].restorable);

        let restored = registry
            .restore_tag(&image, &tag("latest"), None)
            .await
            .unwrap();
        assert_eq!(restored, v2);
        assert_eq!(
            registry
                .resolve(&image, &Reference::Tag(tag("latest")))
                .await
                .unwrap(),
            v2
        );
        assert!(registry.deleted_tags(&image).await.unwrap().is_empty());
        let kinds: Vec<TagEventKind> = registry
            .tag_history(&image, &tag("latest"))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                TagEventKind::Created { digest: v1.clone() },
                TagEventKind::Moved {
                    from: v1,
                    to: v2.clone()
                },
                TagEventKind::Deleted { digest: v2.clone() },
                TagEventKind::Restored { digest: v2 },
            ]
        );
    }

    #[tokio::test]
    async fn restore_to_an_earlier_version_of_the_tag_only() {
        let (registry, _clock) = registry();
        let image = path("p/r/app");
        let v1 = push(&registry, &image, "latest", &[b"one"]).await;
        push(&registry, &image, "latest", &[b"two"]).await;
        let other = push(&registry, &image, "other", &[b"three"]).await;
        registry
            .delete_manifest(&image, &Reference::Tag(tag("latest")))
            .await
            .unwrap();
        let refused = registry
            .restore_tag(&image, &tag("latest"), Some(&other))
            .await;
        assert!(
            matches!(refused, Err(CoreError::Conflict(_))),
            "{refused:?}"
        );
        let restored = registry
            .restore_tag(&image, &tag("latest"), Some(&v1))
            .await
            .unwrap();
        assert_eq!(restored, v1);
    }

    #[tokio::test]
    async fn what_cannot_be_restored_says_why() {
        let (registry, _clock) = registry();
        let image = path("p/r/app");
        let v1 = push(&registry, &image, "latest", &[b"one"]).await;
        let live = registry.restore_tag(&image, &tag("latest"), None).await;
        assert!(matches!(live, Err(CoreError::Conflict(_))), "{live:?}");
        let never = registry.restore_tag(&image, &tag("never"), None).await;
        assert!(
            matches!(never, Err(CoreError::ManifestUnknown { .. })),
            "{never:?}"
        );
        // Deleting the version by digest deletes the tag with it, and nothing is left to restore.
        registry
            .delete_manifest(&image, &Reference::Digest(v1))
            .await
            .unwrap();
        let deleted = registry.deleted_tags(&image).await.unwrap();
        assert_eq!(deleted.len(), 1);
        assert!(!deleted[0].restorable);
        let gone = registry.restore_tag(&image, &tag("latest"), None).await;
        assert!(
            matches!(gone, Err(CoreError::ManifestUnknown { .. })),
            "{gone:?}"
        );
    }
}
