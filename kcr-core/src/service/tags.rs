//! Listing: tags of an image and the catalog of images, both paginated with `n`/`last`.

use super::Registry;
use crate::error::{CoreError, Result};
use crate::names::{ImagePath, ProjectId, Tag};

/// Default and largest page of a listing.
pub const MAX_PAGE: usize = 10_000;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in lexical order.
    pub items: Vec<T>,
    /// Whether more items follow the last one.
    pub more: bool,
}

impl Registry {
    /// Tags of `image` in lexical order after `last`, at most `n`.
    pub async fn list_tags(
        &self,
        image: &ImagePath,
        last: Option<&str>,
        n: Option<usize>,
    ) -> Result<Page<Tag>> {
        if self.stores.meta.image(image).await?.is_none() {
            return Err(CoreError::NameUnknown {
                what: "image",
                name: image.to_string(),
                hint: None,
            });
        }
        let limit = n.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        let mut items = self
            .stores
            .meta
            .list_tags(image, last, limit.saturating_add(1))
            .await?;
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Page { items, more })
    }

    /// Images (all projects, or one) in lexical order after `last`, at most `n`.
    pub async fn catalog(
        &self,
        project: Option<&ProjectId>,
        last: Option<&ImagePath>,
        n: Option<usize>,
    ) -> Result<Page<ImagePath>> {
        let limit = n.unwrap_or(MAX_PAGE).min(MAX_PAGE);
        let mut items = self
            .stores
            .meta
            .list_images(project, last, limit.saturating_add(1))
            .await?;
        let more = items.len() > limit;
        items.truncate(limit);
        Ok(Page { items, more })
    }
}
