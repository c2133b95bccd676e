//! The Docker engine and CLI: import a busybox root filesystem, push to kcr, remove, pull back,
//! run it, and check the pushed digest against the one kcr serves.

use crate::support::docker_engine::{pushed_digest, DockerEngine};
use crate::support::http::http;
use crate::support::images::busybox_rootfs;
use crate::support::peers::{require_tool, run};
use crate::support::server_process::KcrServer;

#[test]
fn import_push_rmi_pull_run() {
    if !require_tool("docker") || !require_tool("dockerd") || !require_tool("busybox") {
        return;
    }
    let server = KcrServer::start_open();
    let engine = DockerEngine::start();
    let scratch = tempfile::tempdir().expect("tempdir");
    let rootfs = busybox_rootfs(scratch.path());
    let image = format!("{}/p/r/busybox:v1", server.host());

    run(engine.docker().arg("import").arg(&rootfs).arg(&image));
    let pushed = pushed_digest(&run(engine.docker().args(["push", &image])));
    let head = http(
        server.addr(),
        "HEAD",
        "/v2/p/r/busybox/manifests/v1",
        &[(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        )],
        &[],
    )
    .expect("HEAD manifest");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("docker-content-digest"), Some(pushed.as_str()));

    run(engine.docker().args(["rmi", &image]));
    assert!(
        !engine.has_image(&image),
        "the image was removed from the engine"
    );
    let pulled = run(engine.docker().args(["pull", &image]));
    assert!(pulled.contains(&format!("Digest: {pushed}")), "{pulled}");
    let repo_digests = run(engine.docker().args([
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &image,
    ]));
    assert!(repo_digests.contains(&pushed), "{repo_digests}");

    let out = run(engine.docker().args([
        "run",
        "--rm",
        "--network",
        "none",
        &image,
        "/bin/busybox",
        "echo",
        "hello",
    ]));
    assert_eq!(out.trim(), "hello");
    run(engine.docker().args(["rmi", &image]));
}
