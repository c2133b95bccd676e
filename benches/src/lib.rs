//! Benchmarks of kcr.
