//! Interoperability tests: the real `kcr-server` binary, started on a loopback port with a
//! temporary data directory, driven by real clients (the `oci-client` crate, skopeo, podman,
//! Docker) and by raw HTTP for crash and memory checks. A missing peer tool skips its test
//! locally and fails it under `KCR_REQUIRE_PEERS=1` (CI).

// This whole crate is test code: its helpers fail the test by panicking, exactly as the `#[test]`
// bodies may (clippy.toml allows it there, but not in helpers outside `#[test]` functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The real binary as a child process (kill -9, restart), HTTP clients, peer tools, test images.
#[path = "../support/mod.rs"]
mod support;

// Docker engine and CLI: import, push, rmi, pull and run a busybox image; digests agree.
mod docker;
// Garbage collection after skopeo deletes an image: its blobs go, a sharing image stays whole.
mod gc;
// Peak RSS of the server stays under 100 MiB while a 1 GiB blob goes in and out.
mod memory;
// The oci-client crate: image push/pull, multi-platform index, referrers of an artifact.
mod oci_client;
// podman: import, push, rmi, pull a busybox image; image id and digest agree.
mod podman;
// Crash safety: a chunked upload resumes and an acknowledged manifest survives kill -9.
mod restart;
// Tag recovery: a tag deleted by a registry client survives collection and is restored.
mod tags;
// skopeo: OCI layouts (multi-layer; multi-arch with --all) in and out, byte for byte.
mod skopeo;
