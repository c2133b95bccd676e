//! podman (root, vfs storage in temporary directories) with `--creds` against the real authenticated server: the role matrix, anonymous pulls and revocation.

use std::path::Path;
use std::process::{Command, Output};

use crate::images::busybox_rootfs;
use crate::server::{both, output, require_tool, run, RealWorld};

/// `podman` on private storage under `dir`, no host registries, no stored credentials.
fn podman(dir: &Path) -> Command {
    let conf = dir.join("registries.conf");
    if !conf.exists() {
        std::fs::write(&conf, "").expect("registries.conf");
        std::fs::write(
            dir.join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .expect("policy.json");
        std::fs::write(dir.join("auth.json"), "{}").expect("auth.json");
    }
    let mut cmd = Command::new("podman");
    cmd.env("CONTAINERS_REGISTRIES_CONF", &conf)
        .env("REGISTRY_AUTH_FILE", dir.join("auth.json"))
        .env_remove("DOCKER_CONFIG")
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("runroot"))
        .args([
            "--storage-driver",
            "vfs",
            "--events-backend",
            "none",
            "--cgroup-manager",
            "cgroupfs",
        ]);
    cmd
}

/// `podman pull|push --tls-verify=false [--creds c] image` (+ digest file for pushes).
fn transfer(dir: &Path, verb: &str, image: &str, creds: Option<&str>) -> Output {
    let mut cmd = podman(dir);
    cmd.args([verb, "--tls-verify=false"])
        .arg("--signature-policy")
        .arg(dir.join("policy.json"));
    if let Some(c) = creds {
        cmd.args(["--creds", c]);
    }
    if verb == "push" {
        cmd.arg("--digestfile").arg(dir.join("pushed.digest"));
    }
    cmd.arg(image);
    output(&mut cmd)
}

fn digest_of(dir: &Path, image: &str) -> String {
    run(podman(dir).args(["image", "inspect", "--format", "{{.Digest}}", image]))
        .trim()
        .to_owned()
}

fn forget(dir: &Path) {
    let _ = output(podman(dir).args(["rmi", "--all", "--force"]));
}

#[track_caller]
fn ok(o: &Output) {
    assert!(o.status.success(), "{}", both(o));
}

#[track_caller]
fn refused(o: &Output, any_of: &[&str]) -> String {
    let text = both(o);
    assert!(!o.status.success(), "must fail: {text}");
    assert!(
        any_of.iter().any(|w| text.contains(w)),
        "expected one of {any_of:?} in: {text}"
    );
    text
}

#[test]
fn podman_with_creds_per_role_anonymous_and_revoked() {
    if !require_tool("podman") || !require_tool("busybox") {
        return;
    }
    let mut world = RealWorld::start();
    let host = world.server.host();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let rootfs = busybox_rootfs(dir);
    let private = format!("{host}/team/private/busybox:v1");
    let private_v2 = format!("{host}/team/private/busybox:v2");
    let shared = format!("{host}/team/shared/busybox:v1");
    let public = format!("{host}/team/public/busybox:v1");

    // Project member: push, remove, pull back the same digest.
    run(podman(dir).arg("import").arg(&rootfs).arg(&private));
    ok(&transfer(dir, "push", &private, Some(&world.alice.creds())));
    let pushed = std::fs::read_to_string(dir.join("pushed.digest")).expect("digest file");
    let pushed = pushed.trim().to_owned();
    let (served, body) = world.manifest(&world.alice, "team/private/busybox", "v1");
    assert_eq!(served, pushed);
    assert_eq!(crate::app::sha256(&body), pushed, "byte for byte");
    // The member also publishes the image in the public repository.
    run(podman(dir).args(["tag", &private, &public]));
    ok(&transfer(dir, "push", &public, Some(&world.alice.creds())));
    forget(dir);
    ok(&transfer(dir, "pull", &private, Some(&world.alice.creds())));
    assert_eq!(digest_of(dir, &private), pushed);

    // Repository viewer: pull works, push is denied.
    forget(dir);
    ok(&transfer(
        dir,
        "pull",
        &private,
        Some(&world.victor.creds()),
    ));
    assert_eq!(digest_of(dir, &private), pushed);
    run(podman(dir).args(["tag", &private, &private_v2]));
    let text = refused(
        &transfer(dir, "push", &private_v2, Some(&world.victor.creds())),
        &["denied"],
    );
    assert!(text.contains("repository viewer may not push"), "{text}");

    // Repository member outside the project.
    run(podman(dir).args(["tag", &private, &shared]));
    ok(&transfer(dir, "push", &shared, Some(&world.rita.creds())));
    forget(dir);
    ok(&transfer(dir, "pull", &shared, Some(&world.rita.creds())));
    assert_eq!(digest_of(dir, &shared), pushed);
    refused(
        &transfer(dir, "pull", &private, Some(&world.rita.creds())),
        &["denied", "unauthorized"],
    );
    world.assert_repository_role_password_refused();

    // Anonymous: the public repository only.
    forget(dir);
    ok(&transfer(dir, "pull", &public, None));
    assert_eq!(digest_of(dir, &public), pushed);
    refused(
        &transfer(dir, "pull", &private, None),
        &["unauthorized", "authentication required", "denied"],
    );

    // A revoked key stops working at once.
    let key = world.new_key("alice");
    forget(dir);
    ok(&transfer(dir, "pull", &private, Some(&key.creds())));
    world.revoke("alice", &key);
    forget(dir);
    refused(
        &transfer(dir, "pull", &private, Some(&key.creds())),
        &["unauthorized", "invalid", "401"],
    );

    forget(dir);
    world.server.assert_no_clear_secrets(&world.secrets);
}
