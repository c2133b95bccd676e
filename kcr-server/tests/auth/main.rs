#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Authentication and authorization tests (issue 4, [iam-auth]): the management API, the Docker
//! token flow and every `/v2` access rule in process over in-memory stores, then the real
//! `kcr-server` binary driven by Docker, skopeo and podman with access keys per role. A missing
//! peer tool skips its test unless `KCR_REQUIRE_PEERS=1`.

// The real binary as a child process, peer tools, test images, in-process responses.
#[path = "../support/mod.rs"]
mod support;

mod api;
mod app;
mod docker;
mod podman;
mod real_world;
mod registry;
mod skopeo;
mod tokens;
mod world;
