//! # kcr-core
//!
//! The domain model of kcr, an OCI container registry: validated names and digests, image URIs,
//! manifest parsing and validation, access policy, quotas, tag history, and the [`Registry`]
//! service that expresses every OCI Distribution operation over storage traits.
//!
//! The main design decision: kcr-core knows no HTTP and no storage engine. Content, uploads and
//! metadata sit behind the traits in [`store`]; metadata semantics are implemented once over an
//! ordered key-value engine ([`store::kv`]), so the sled backend and the in-memory backend share
//! every rule and differ only in durability.
#![deny(missing_docs)]

pub mod access;
pub mod clock;
pub mod digest;
pub mod error;
pub mod gc;
pub mod manifest;
pub mod names;
pub mod quota;
pub mod service;
pub mod store;
pub mod uri;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use clock::{Clock, SystemClock, Timestamp};
pub use digest::{Algorithm, Digest, DigestHasher};
pub use error::{CoreError, QuotaKind, Result};
pub use names::{
    ImageName, ImagePath, NameError, ProjectId, Reference, RegionId, RepositoryName, Tag,
};
pub use quota::QuotaLimits;
pub use service::{Registry, RegistryConfig, Stores};
pub use uri::{ImageUri, UriHost, UriParseError};
