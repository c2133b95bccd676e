//! In-process integration tests of the kcr OCI Distribution API: the router over in-memory stores,
//! driven request by request with `tower::ServiceExt::oneshot`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// TestApp, OCI client helpers (blob pushes, random images, indexes).
mod harness;
// Buffered responses and their assertions, sha256, query strings (shared with the other tests).
#[path = "../support/mod.rs"]
mod support;

// Unsupported inputs: one test per error path, each asserting status and OCI error code.
mod errors;
// Tags list and catalog: lexical order, `n`/`last` pagination and `Link` headers.
mod listing;
// Manifest push and pull: tags, digests, media types, Accept negotiation, deletes.
mod manifests;
// End-to-end pushes and pulls of blobs and images, blob headers and ranges, addressing.
mod push_pull;
// The referrers API: subjects, artifact types, filters and the fallback tag index.
mod referrers;
// Random requests never produce a 5xx and never wedge the app.
mod robustness;
// Upload sessions: monolithic, streamed, chunked, status, cancel, cross-repository mount.
mod uploads;
