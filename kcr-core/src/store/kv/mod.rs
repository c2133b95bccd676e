//! Metadata over an ordered key-value engine: the one implementation of the metadata role traits.

mod access;
mod codec;
#[cfg(test)]
mod deletion_race_tests;
mod engine;
mod gc_index;
pub mod layout;
mod metadata;

pub use engine::{KvEngine, KvPair, KvTxn, TxnError};
pub use metadata::KvMetadataStore;
