//! Tags of an image: live and deleted ones, a tag's history, restoring a deleted tag, deleting.
//!
//! Image names may contain `/`, so the routes take the rest of the path after
//! `/projects/{project}/repositories/{repo}/images/` and read it from the end:
//! `{image}/tags`, `{image}/tags/{tag}`, `{image}/tags/{tag}/history`,
//! `{image}/tags/{tag}/restore`.

use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use kcr_core::access::Action;
use kcr_core::store::{TagEvent, TagEventKind};
use kcr_core::{Digest, ImagePath, Reference, RepositoryName, Tag};
use serde::{Deserialize, Serialize};

use super::context::{bad_request, json, optional_json, parse, ApiCaller};
use crate::error::ApiError;

/// What the path after `images/` names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// `{image}/tags`.
    Tags,
    /// `{image}/tags/{tag}`.
    Tag(String),
    /// `{image}/tags/{tag}/history`.
    History(String),
    /// `{image}/tags/{tag}/restore`.
    Restore(String),
}

/// Splits `rest` into the image name and what it addresses.
fn split(rest: &str) -> Option<(&str, Target)> {
    let segments: Vec<&str> = rest.split('/').collect();
    let n = segments.len();
    let (image_len, target) = match segments.as_slice() {
        [.., "tags"] => (n - 1, Target::Tags),
        [.., "tags", tag, "history"] => (n - 3, Target::History((*tag).to_owned())),
        [.., "tags", tag, "restore"] => (n - 3, Target::Restore((*tag).to_owned())),
        [.., "tags", tag] => (n - 2, Target::Tag((*tag).to_owned())),
        _ => return None,
    };
    if image_len == 0 {
        return None;
    }
    let end = segments[..image_len]
        .iter()
        .map(|s| s.len() + 1)
        .sum::<usize>()
        - 1;
    Some((&rest[..end], target))
}

struct Addressed {
    image: ImagePath,
    target: Target,
}

fn address(project: &str, repo: &str, rest: &str) -> Result<Addressed, ApiError> {
    let (image, target) = split(rest).ok_or_else(|| {
        bad_request(format!(
            "no such endpoint: images/{rest} (expected images/<image>/tags, \
             images/<image>/tags/<tag>, .../<tag>/history or .../<tag>/restore)"
        ))
    })?;
    let image = ImagePath::from_full_path(&format!("{project}/{repo}/{image}"))
        .map_err(|e| ApiError::name_invalid(format!("invalid image name {image:?}: {e}")))?;
    Ok(Addressed { image, target })
}

async fn allow(caller: &ApiCaller, action: Action, image: &ImagePath) -> Result<(), ApiError> {
    let repo: &RepositoryName = image.repository();
    caller.require(action, image.project(), Some(repo)).await
}

fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "UNSUPPORTED",
        "this method is not allowed on this endpoint",
    )
}

#[derive(Serialize)]
struct LiveTag {
    tag: String,
    digest: String,
}

#[derive(Serialize)]
struct DeletedTagView {
    tag: String,
    digest: String,
    deleted: String,
    restorable: bool,
}

#[derive(Serialize)]
struct TagsView {
    tags: Vec<LiveTag>,
    deleted: Vec<DeletedTagView>,
}

#[derive(Serialize)]
struct EventView {
    at: String,
    #[serde(flatten)]
    kind: TagEventKind,
}

impl From<TagEvent> for EventView {
    fn from(e: TagEvent) -> Self {
        EventView {
            at: e.at.to_rfc3339(),
            kind: e.kind,
        }
    }
}

/// `GET .../images/{image}/tags` and `GET .../images/{image}/tags/{tag}/history`.
pub async fn get(
    caller: ApiCaller,
    Path((project, repo, rest)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let Addressed { image, target } = address(&project, &repo, &rest)?;
    allow(&caller, Action::Pull, &image).await?;
    let registry = &caller.state.registry;
    match target {
        Target::Tags => {
            let page = registry.list_tags(&image, None, None).await?;
            let mut tags = Vec::with_capacity(page.items.len());
            for tag in page.items {
                if let Ok(digest) = registry.resolve(&image, &Reference::Tag(tag.clone())).await {
                    tags.push(LiveTag {
                        tag: tag.to_string(),
                        digest: digest.to_string(),
                    });
                }
            }
            let deleted = registry
                .deleted_tags(&image)
                .await?
                .into_iter()
                .map(|d| DeletedTagView {
                    tag: d.tag.to_string(),
                    digest: d.digest.to_string(),
                    deleted: d.deleted.to_rfc3339(),
                    restorable: d.restorable,
                })
                .collect();
            Ok(json(StatusCode::OK, &TagsView { tags, deleted }))
        }
        Target::History(tag) => {
            let tag: Tag = parse("tag", &tag)?;
            let events: Vec<EventView> = registry
                .tag_history(&image, &tag)
                .await?
                .into_iter()
                .map(EventView::from)
                .collect();
            Ok(json(StatusCode::OK, &events))
        }
        Target::Tag(_) | Target::Restore(_) => Err(method_not_allowed()),
    }
}

/// `POST .../restore` body; optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestoreRequest {
    /// A version the tag pointed at before [default: the one it pointed at when deleted].
    digest: Option<String>,
}

/// `POST .../images/{image}/tags/{tag}/restore`: brings a deleted tag back.
pub async fn post(
    caller: ApiCaller,
    Path((project, repo, rest)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Addressed { image, target } = address(&project, &repo, &rest)?;
    let Target::Restore(tag) = target else {
        return Err(method_not_allowed());
    };
    allow(&caller, Action::Push, &image).await?;
    let request: RestoreRequest = optional_json(&body)?;
    let tag: Tag = parse("tag", &tag)?;
    let digest: Option<Digest> = request
        .digest
        .as_deref()
        .map(|d| {
            d.parse()
                .map_err(|e| bad_request(format!("invalid digest {d:?}: {e}")))
        })
        .transpose()?;
    let restored = caller
        .state
        .registry
        .restore_tag(&image, &tag, digest.as_ref())
        .await?;
    Ok(json(
        StatusCode::OK,
        &LiveTag {
            tag: tag.to_string(),
            digest: restored.to_string(),
        },
    ))
}

/// `DELETE .../images/{image}/tags/{tag}`: deletes the tag only; it stays restorable.
pub async fn delete(
    caller: ApiCaller,
    Path((project, repo, rest)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let Addressed { image, target } = address(&project, &repo, &rest)?;
    let Target::Tag(tag) = target else {
        return Err(method_not_allowed());
    };
    allow(&caller, Action::Delete, &image).await?;
    let tag: Tag = parse("tag", &tag)?;
    caller
        .state
        .registry
        .delete_manifest(&image, &Reference::Tag(tag.clone()))
        .await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "deleted": tag.to_string() }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_from_the_end() {
        assert_eq!(split("app/tags"), Some(("app", Target::Tags)));
        assert_eq!(
            split("a/b/tags/v1"),
            Some(("a/b", Target::Tag("v1".into())))
        );
        assert_eq!(
            split("tags/tags/v1/history"),
            Some(("tags", Target::History("v1".into())))
        );
        assert_eq!(
            split("x/tags/restore/restore"),
            Some(("x", Target::Restore("restore".into())))
        );
        assert_eq!(
            split("app/tags/history"),
            Some(("app", Target::Tag("history".into())))
        );
        assert_eq!(split("tags"), None);
        assert_eq!(split("tags/v1"), None);
        assert_eq!(split("app"), None);
        assert_eq!(split("app/manifests"), None);
    }
}
