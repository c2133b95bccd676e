//! podman (root, vfs storage in temporary directories) with `--creds` against the real authenticated server: the role matrix, anonymous pulls and revocation.

use crate::real_world::RealWorld;
use crate::support::images::busybox_rootfs;
use crate::support::peers::{
    ok, podman, podman_forget as forget, podman_image_field, podman_pushed_digest,
    podman_transfer as transfer, refused, require_tool, run,
};
use crate::support::sha256;

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
    let pushed = podman_pushed_digest(dir);
    let (served, body) = world.manifest(&world.alice, "team/private/busybox", "v1");
    assert_eq!(served, pushed);
    assert_eq!(sha256(&body), pushed, "byte for byte");
    // The member also publishes the image in the public repository.
    run(podman(dir).args(["tag", &private, &public]));
    ok(&transfer(dir, "push", &public, Some(&world.alice.creds())));
    forget(dir);
    ok(&transfer(dir, "pull", &private, Some(&world.alice.creds())));
    assert_eq!(podman_image_field(dir, &private, "{{.Digest}}"), pushed);

    // Repository viewer: pull works, push is denied.
    forget(dir);
    ok(&transfer(
        dir,
        "pull",
        &private,
        Some(&world.victor.creds()),
    ));
    assert_eq!(podman_image_field(dir, &private, "{{.Digest}}"), pushed);
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
    assert_eq!(podman_image_field(dir, &shared, "{{.Digest}}"), pushed);
    refused(
        &transfer(dir, "pull", &private, Some(&world.rita.creds())),
        &["denied", "unauthorized"],
    );
    world.assert_repository_role_password_refused();

    // Anonymous: the public repository only.
    forget(dir);
    ok(&transfer(dir, "pull", &public, None));
    assert_eq!(podman_image_field(dir, &public, "{{.Digest}}"), pushed);
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
