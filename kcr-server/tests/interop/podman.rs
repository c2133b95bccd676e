//! podman (rootful, vfs storage in a temporary directory) imports a busybox root filesystem, pushes
//! it to kcr, removes it, pulls it back: same image id, same manifest digest.

use crate::support::http::http;
use crate::support::images::busybox_rootfs;
use crate::support::peers::{
    ok, podman, podman_image_field, podman_pushed_digest, podman_transfer, require_tool, run,
};
use crate::support::server_process::KcrServer;

#[test]
fn import_push_rmi_pull() {
    if !require_tool("podman") || !require_tool("busybox") {
        return;
    }
    let server = KcrServer::start_open();
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let rootfs = busybox_rootfs(dir);
    let image = format!("{}/p/r/busybox:v1", server.host());

    run(podman(dir).arg("import").arg(&rootfs).arg(&image));
    let id = podman_image_field(dir, &image, "{{.Id}}");
    ok(&podman_transfer(dir, "push", &image, None));
    let pushed = podman_pushed_digest(dir);
    let pushed = pushed.as_str();
    assert!(pushed.starts_with("sha256:"), "{pushed:?}");

    let head = http(
        server.addr(),
        "HEAD",
        "/v2/p/r/busybox/manifests/v1",
        &[("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")],
        &[],
    )
    .expect("HEAD manifest");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("docker-content-digest"), Some(pushed));

    run(podman(dir).args(["rmi", &image]));
    let gone = podman(dir)
        .args(["image", "exists", &image])
        .status()
        .expect("podman image exists");
    assert!(!gone.success(), "the image was removed locally");

    ok(&podman_transfer(dir, "pull", &image, None));
    assert_eq!(
        podman_image_field(dir, &image, "{{.Id}}"),
        id,
        "image id (config digest)"
    );
    assert_eq!(
        podman_image_field(dir, &image, "{{.Digest}}"),
        pushed,
        "manifest digest"
    );
    run(podman(dir).args(["rmi", "--all", "--force"]));
}
