//! Real in-memory backends and the conformance suites every backend must pass.

pub mod conformance;
mod memory_blob;
mod memory_kv;

pub use memory_blob::MemoryBlobStore;
pub use memory_kv::MemoryKvEngine;
