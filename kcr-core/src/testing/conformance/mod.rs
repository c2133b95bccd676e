//! Async test suites that every storage backend runs (the memory ones in kcr-core, sled and the
//! filesystem in kcr-storage).
