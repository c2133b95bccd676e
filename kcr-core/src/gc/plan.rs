//! The plan: from the mark set, the links and the stored blobs, what to remove. Pure.

use std::collections::HashSet;

use super::MarkSet;
use crate::clock::Timestamp;
use crate::digest::Digest;
use crate::names::ImagePath;
use crate::store::{BlobInfo, ImageBlobLink};

/// What a collection removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcPlan {
    /// Links no manifest of their image references, older than the cutoff.
    pub links: Vec<(ImagePath, Digest)>,
    /// Blobs nothing references, with no surviving link, older than the cutoff.
    pub blobs: Vec<BlobInfo>,
    /// Unreferenced blobs kept because they, or a link to them, are newer than the cutoff.
    pub blobs_kept_recent: u64,
}

/// Plans a collection: data written or linked at or after `cutoff` is never removed.
pub fn plan(
    mark: &MarkSet,
    links: &[ImageBlobLink],
    inventory: &[BlobInfo],
    cutoff: Timestamp,
) -> GcPlan {
    let mut plan = GcPlan::default();
    let mut surviving_links: HashSet<&Digest> = HashSet::new();
    for ImageBlobLink { image, link } in links {
        if mark.is_live_in(image, &link.digest) || link.linked >= cutoff {
            surviving_links.insert(&link.digest);
        } else {
            plan.links.push((image.clone(), link.digest.clone()));
        }
    }
    for blob in inventory {
        if mark.is_live(&blob.digest) {
            continue;
        }
        if surviving_links.contains(&blob.digest)
            || Timestamp::from_system_time(blob.modified) >= cutoff
        {
            plan.blobs_kept_recent += 1;
        } else {
            plan.blobs.push(blob.clone());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BlobLink, ManifestReferences};

    const HOUR: u64 = 3_600_000;
    const NOW: u64 = 100 * HOUR;

    fn d(s: &str) -> Digest {
        Digest::sha256_of(s.as_bytes())
    }

    fn image(s: &str) -> ImagePath {
        ImagePath::from_full_path(s).unwrap()
    }

    fn link(path: &str, digest: &str, hours_ago: u64) -> ImageBlobLink {
        ImageBlobLink {
            image: image(path),
            link: BlobLink {
                digest: d(digest),
                size: 1,
                linked: Timestamp(NOW - hours_ago * HOUR),
            },
        }
    }

    fn blob(digest: &str, hours_ago: u64) -> BlobInfo {
        BlobInfo {
            digest: d(digest),
            size: 10,
            modified: Timestamp(NOW - hours_ago * HOUR).to_system_time(),
        }
    }

    fn marked(manifests: &[(&str, &str, &[&str])]) -> MarkSet {
        let mut mark = MarkSet::new();
        for (path, digest, refs) in manifests {
            mark.mark(&ManifestReferences {
                image: image(path),
                digest: d(digest),
                references: refs.iter().map(|r| d(r)).collect(),
            });
        }
        mark
    }

    fn cutoff() -> Timestamp {
        Timestamp(NOW - HOUR)
    }

    fn removed_blobs(plan: &GcPlan) -> Vec<Digest> {
        plan.blobs.iter().map(|b| b.digest.clone()).collect()
    }

    #[test]
    fn referenced_blobs_and_their_links_stay() {
        let mark = marked(&[("p/r/a", "m", &["config", "layer"])]);
        let links = [link("p/r/a", "config", 5), link("p/r/a", "layer", 5)];
        let plan = plan(
            &mark,
            &links,
            &[blob("config", 5), blob("layer", 5)],
            cutoff(),
        );
        assert_eq!(plan, GcPlan::default());
    }

    #[test]
    fn an_unreferenced_old_blob_goes_with_its_links() {
        let mark = marked(&[("p/r/a", "m", &["kept"])]);
        let links = [link("p/r/a", "kept", 5), link("p/r/a", "orphan", 5)];
        let plan = plan(
            &mark,
            &links,
            &[blob("kept", 5), blob("orphan", 5)],
            cutoff(),
        );
        assert_eq!(plan.links, vec![(image("p/r/a"), d("orphan"))]);
        assert_eq!(removed_blobs(&plan), vec![d("orphan")]);
    }

    #[test]
    fn a_blob_referenced_elsewhere_loses_only_the_unreferencing_link() {
        let mark = marked(&[("p/r/b", "m", &["shared"])]);
        let links = [link("p/r/a", "shared", 5), link("p/r/b", "shared", 5)];
        let plan = plan(&mark, &links, &[blob("shared", 5)], cutoff());
        assert_eq!(plan.links, vec![(image("p/r/a"), d("shared"))]);
        assert!(plan.blobs.is_empty());
    }

    #[test]
    fn index_children_and_referrer_layers_are_marked() {
        // An index references its child manifests; a referrer (signature) references its own
        // layers; both are manifests of the image, so everything they name is marked.
        let mark = marked(&[
            ("p/r/a", "index", &["child"]),
            ("p/r/a", "child", &["child-config", "child-layer"]),
            ("p/r/a", "signature", &["sig-config", "sig-layer"]),
        ]);
        let inventory: Vec<BlobInfo> = ["child-config", "child-layer", "sig-config", "sig-layer"]
            .iter()
            .map(|n| blob(n, 5))
            .collect();
        assert!(plan(&mark, &[], &inventory, cutoff()).blobs.is_empty());
    }

    #[test]
    fn the_grace_period_protects_recent_bytes_and_recent_links() {
        let mark = MarkSet::new();
        let links = [link("p/r/a", "linked-recently", 0)];
        let inventory = [
            blob("written-recently", 0),
            blob("linked-recently", 5),
            blob("old", 5),
        ];
        let plan = plan(&mark, &links, &inventory, cutoff());
        assert!(plan.links.is_empty());
        assert_eq!(removed_blobs(&plan), vec![d("old")]);
        assert_eq!(plan.blobs_kept_recent, 2);
    }

    #[test]
    fn links_to_bytes_that_are_gone_are_removed() {
        let plan = plan(&MarkSet::new(), &[link("p/r/a", "gone", 5)], &[], cutoff());
        assert_eq!(plan.links, vec![(image("p/r/a"), d("gone"))]);
    }
}
