//! The mark phase: what the stored manifests keep alive.

use std::collections::{HashMap, HashSet};

use crate::digest::Digest;
use crate::names::ImagePath;
use crate::store::ManifestReferences;

/// Digests referenced by stored manifests, registry-wide and per image.
#[derive(Debug, Default, Clone)]
pub struct MarkSet {
    everywhere: HashSet<Digest>,
    by_image: HashMap<ImagePath, HashSet<Digest>>,
    manifests: u64,
}

impl MarkSet {
    /// An empty mark set.
    pub fn new() -> Self {
        MarkSet::default()
    }

    /// Marks what one manifest references, and the manifest's own digest (some clients also
    /// upload a manifest's bytes as a blob).
    pub fn mark(&mut self, manifest: &ManifestReferences) {
        self.manifests += 1;
        // Manifests arrive grouped by image: look up before cloning the path for a new entry.
        if !self.by_image.contains_key(&manifest.image) {
            self.by_image.insert(manifest.image.clone(), HashSet::new());
        }
        let Some(in_image) = self.by_image.get_mut(&manifest.image) else {
            return;
        };
        for digest in manifest
            .references
            .iter()
            .chain(std::iter::once(&manifest.digest))
        {
            if !in_image.contains(digest) {
                in_image.insert(digest.clone());
            }
            if !self.everywhere.contains(digest) {
                self.everywhere.insert(digest.clone());
            }
        }
    }

    /// Whether any manifest references `digest`.
    pub fn is_live(&self, digest: &Digest) -> bool {
        self.everywhere.contains(digest)
    }

    /// Whether a manifest of `image` references `digest`.
    pub fn is_live_in(&self, image: &ImagePath, digest: &Digest) -> bool {
        self.by_image
            .get(image)
            .is_some_and(|digests| digests.contains(digest))
    }

    /// Manifests marked.
    pub fn manifests(&self) -> u64 {
        self.manifests
    }

    /// Distinct digests referenced.
    pub fn referenced(&self) -> u64 {
        self.everywhere.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Digest {
        Digest::sha256_of(s.as_bytes())
    }

    #[test]
    fn marks_per_image_and_everywhere() {
        let a = ImagePath::from_full_path("p/r/a").unwrap();
        let b = ImagePath::from_full_path("p/r/b").unwrap();
        let mut mark = MarkSet::new();
        mark.mark(&ManifestReferences {
            image: a.clone(),
            digest: d("m1"),
            references: vec![d("config"), d("layer")],
        });
        mark.mark(&ManifestReferences {
            image: b.clone(),
            digest: d("m2"),
            references: vec![d("layer")],
        });
        assert_eq!(mark.manifests(), 2);
        assert_eq!(mark.referenced(), 4);
        assert!(mark.is_live(&d("config")) && mark.is_live(&d("m1")));
        assert!(mark.is_live_in(&b, &d("layer")));
        assert!(!mark.is_live_in(&b, &d("config")));
        assert!(!mark.is_live(&d("other")));
    }
}
