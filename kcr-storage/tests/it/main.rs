//! Integration tests of kcr-storage (one binary).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// kcr-core's backend conformance suites on sled and the filesystem store.
mod conformance;
/// Upload sessions and stray files across a restart of the filesystem store.
mod restart;
