//! The storage seams: content ([`BlobStore`]), resumable uploads ([`UploadStore`]) and metadata
//! ([`MetadataStore`], split into role traits).
//!
//! Metadata semantics are written once, in [`kv::KvMetadataStore`], over a tiny ordered key-value
//! engine ([`kv::KvEngine`]): sled in production, a `BTreeMap` for tests and embedders. Both backends
//! therefore share one key layout and one implementation of every atomic mutation (quota checks, tag
//! moves, history events), and differ only in how bytes reach the disk.

mod access;
mod blob;
mod error;
pub mod kv;
mod meta;
mod upload;

use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;

pub use access::{
    AccessKeyRecord, GrantStore, IdentityStore, Membership, OrgRecord, RepoGrant, UserRecord,
};
pub use blob::{BlobInfo, BlobStore, ByteRange};
pub use error::StorageError;
pub use meta::{
    BlobLink, GcIndex, ImageBlobLink, ImageRecord, ManifestIndex, ManifestRecord,
    ManifestReferences, MetadataStore, NewRepository, ProjectRecord, PutManifest, PutOutcome,
    ReferrerRecord, RepoCatalog, RepositoryRecord, ScanCursor, ScanPage, TagChange, TagEvent,
    TagEventKind, TagLog, Visibility, DEFAULT_ORG,
};
pub use upload::{UploadId, UploadState, UploadStore};

/// A stream of body chunks flowing into a store.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// A reader over stored blob bytes.
pub type BlobReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// Result alias for storage operations.
pub type StoreResult<T> = std::result::Result<T, StorageError>;
