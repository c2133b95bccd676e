//! # kcr-storage
//!
//! Persistent backends for kcr: [`SledKvEngine`], the ordered key-value engine the metadata store
//! of kcr-core runs on, and [`FsBlobStore`], content-addressed blobs and resumable uploads in a
//! directory tree. [`open`] opens both from one data directory.
//!
//! The main design decision: this crate holds no registry rules. Metadata semantics live once in
//! kcr-core over the [`KvEngine`](kcr_core::store::kv::KvEngine) trait, so this crate only has to
//! get bytes onto the disk safely and fast: serialisable sled transactions with group-committed
//! flushes, and blob files written by streaming, verified while hashing, fsynced once and renamed
//! into place.
#![deny(missing_docs)]

pub mod fs;
mod open;
pub mod sled_kv;

pub use fs::FsBlobStore;
pub use open::{open, SchemaError, Stores, SCHEMA_KEY, SCHEMA_VERSION};
pub use sled_kv::SledKvEngine;
