//! Test support shared by the `it`, `interop` and `auth` test binaries. Each includes it with
//! `#[path = "../support/mod.rs"] mod support;` (Cargo makes no test target of a directory without
//! a `main.rs`).

// Each binary uses only part of it: `it` none of the real-binary or peer helpers, `interop` none of
// the authentication ones.
#![allow(dead_code)]

// The Docker engine started by `shared/tools/start-dockerd`, and what `docker push` prints.
pub mod docker_engine;
// A blocking HTTP/1.1 client, an async `reqwest` client, query strings.
pub mod http;
// Test images: tarballs, a busybox root filesystem, OCI layouts (umoci, hand-written),
// deterministic bytes.
pub mod images;
// The router driven in process: the Host it sees, buffered responses and their assertions.
pub mod in_process;
// Peer tools: finding them, skipping or failing when missing (`KCR_REQUIRE_PEERS`), running
// them; podman and skopeo on private configuration.
pub mod peers;
// The real `kcr-server` binary as a child process.
pub mod server_process;

use sha2::Digest as _;

/// `sha256:<hex>` of `data`, computed independently of kcr.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}
