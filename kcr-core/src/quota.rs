//! Resource quotas: 1,000 repositories per project, 10,000 images per repository and 1,000 tags per
//! image by default. The check is a pure function over counts read in the committing transaction.

use crate::error::{CoreError, QuotaKind};

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    /// Repositories per project.
    pub repositories_per_project: u64,
    /// Images per repository.
    pub images_per_repository: u64,
    /// Tags per image.
    pub tags_per_image: u64,
}

impl Default for QuotaLimits {
    fn default() -> Self {
        QuotaLimits {
            repositories_per_project: 1_000,
            images_per_repository: 10_000,
            tags_per_image: 1_000,
        }
    }
}

impl QuotaLimits {
    /// The limit for one kind.
    pub fn limit(&self, kind: QuotaKind) -> u64 {
        match kind {
            QuotaKind::RepositoriesPerProject => self.repositories_per_project,
            QuotaKind::ImagesPerRepository => self.images_per_repository,
            QuotaKind::TagsPerImage => self.tags_per_image,
        }
    }

    /// Fails when adding `delta` to `current` would pass the limit of `kind`.
    pub fn check(&self, kind: QuotaKind, current: u64, delta: u64) -> Result<(), CoreError> {
        let limit = self.limit(kind);
        if current.saturating_add(delta) > limit {
            Err(CoreError::QuotaExceeded { kind, limit })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_and_over_each_limit() {
        let l = QuotaLimits::default();
        for (kind, limit) in [
            (QuotaKind::RepositoriesPerProject, 1_000),
            (QuotaKind::ImagesPerRepository, 10_000),
            (QuotaKind::TagsPerImage, 1_000),
        ] {
            assert!(l.check(kind, limit - 1, 1).is_ok());
            assert!(l.check(kind, 0, limit).is_ok());
            assert!(matches!(
                l.check(kind, limit, 1),
                Err(CoreError::QuotaExceeded { kind: k, limit: lim }) if k == kind && lim == limit
            ));
            assert!(l.check(kind, u64::MAX, 1).is_err());
        }
    }
}
