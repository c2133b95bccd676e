//! podman (rootful, vfs storage in a temporary directory) imports a busybox root filesystem, pushes
//! it to kcr, removes it, pulls it back: same image id, same manifest digest.

use std::path::Path;
use std::process::Command;

use crate::fixtures::rootfs_tar;
use crate::harness::{http, require_tool, run, KcrServer};

/// `podman` on private storage under `dir`, with no host registries or policy configuration.
fn podman(dir: &Path) -> Command {
    let conf = dir.join("registries.conf");
    let policy = dir.join("policy.json");
    if !conf.exists() {
        std::fs::write(&conf, "").expect("write registries.conf");
        std::fs::write(
            &policy,
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .expect("write policy.json");
        std::fs::write(dir.join("auth.json"), "{}").expect("write auth.json");
    }
    let mut cmd = Command::new("podman");
    cmd.env("CONTAINERS_REGISTRIES_CONF", &conf)
        .env("REGISTRY_AUTH_FILE", dir.join("auth.json"))
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("runroot"))
        .args(["--storage-driver", "vfs", "--events-backend", "none"])
        .args(["--cgroup-manager", "cgroupfs"]);
    cmd
}

fn image_field(dir: &Path, image: &str, field: &str) -> String {
    run(podman(dir).args(["image", "inspect", "--format", field, image]))
        .trim()
        .to_owned()
}

#[test]
fn import_push_rmi_pull() {
    if !require_tool("podman") || !require_tool("busybox") {
        return;
    }
    let server = KcrServer::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path();
    let policy = dir.join("policy.json");
    let rootfs = rootfs_tar(dir);
    let image = format!("{}/p/r/busybox:v1", server.host());

    run(podman(dir).arg("import").arg(&rootfs).arg(&image));
    let id = image_field(dir, &image, "{{.Id}}");
    let digest_file = dir.join("pushed.digest");
    run(podman(dir)
        .args(["push", "--tls-verify=false"])
        .arg("--signature-policy")
        .arg(&policy)
        .arg("--digestfile")
        .arg(&digest_file)
        .arg(&image));
    let pushed = std::fs::read_to_string(&digest_file).expect("digest file");
    let pushed = pushed.trim();
    assert!(pushed.starts_with("sha256:"), "{pushed:?}");

    let head = http(
        server.addr(),
        "HEAD",
        "/v2/p/r/busybox/manifests/v1",
        &[("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")],
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

    run(podman(dir)
        .args(["pull", "--tls-verify=false"])
        .arg("--signature-policy")
        .arg(&policy)
        .arg(&image));
    assert_eq!(
        image_field(dir, &image, "{{.Id}}"),
        id,
        "image id (config digest)"
    );
    assert_eq!(
        image_field(dir, &image, "{{.Digest}}"),
        pushed,
        "manifest digest"
    );
    run(podman(dir).args(["rmi", "--all", "--force"]));
}
