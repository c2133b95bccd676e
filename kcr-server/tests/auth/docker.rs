//! The real Docker engine against the real authenticated server: `docker login` with access keys per role, push, pull, logout, anonymous pulls, and revocation.

use crate::real_world::{RealKey, RealWorld};
use crate::support::docker_engine::{pushed_digest, DockerEngine};
use crate::support::images::busybox_rootfs;
use crate::support::peers::{require_tool, run, run_fails};

/// One identity's docker client configuration, logged in with `key`.
fn login(engine: &DockerEngine, host: &str, key: &RealKey) -> tempfile::TempDir {
    let config = tempfile::tempdir().expect("tempdir");
    let out = run(engine.docker_as(config.path()).args([
        "login",
        host,
        "-u",
        &key.id,
        "-p",
        &key.secret,
    ]));
    assert!(out.contains("Login Succeeded"), "{out}");
    config
}

#[test]
fn docker_login_push_pull_per_role_logout_and_revocation() {
    if !require_tool("docker") || !require_tool("dockerd") || !require_tool("busybox") {
        return;
    }
    let mut world = RealWorld::start();
    let host = world.server.host();
    let engine = DockerEngine::start();
    let scratch = tempfile::tempdir().expect("tempdir");
    let rootfs = busybox_rootfs(scratch.path());
    let private = format!("{host}/team/private/busybox:v1");
    let private_v2 = format!("{host}/team/private/busybox:v2");
    let shared = format!("{host}/team/shared/busybox:v1");
    let public = format!("{host}/team/public/busybox:v1");
    let all = [
        private.as_str(),
        private_v2.as_str(),
        shared.as_str(),
        public.as_str(),
    ];

    // A wrong secret is refused by `docker login`.
    let out =
        run_fails(
            engine
                .docker()
                .args(["login", &host, "-u", &world.alice.id, "-p", "wrong"]),
        );
    assert!(out.contains("unauthorized") || out.contains("401"), "{out}");

    // Project member: login, push, pull.
    let alice = login(&engine, &host, &world.alice);
    let a = alice.path();
    run(engine.docker_as(a).arg("import").arg(&rootfs).arg(&private));
    let pushed = pushed_digest(&run(engine.docker_as(a).args(["push", &private])));
    let (served, _) = world.manifest(&world.alice, "team/private/busybox", "v1");
    assert_eq!(
        served, pushed,
        "kcr serves the manifest docker pushed, byte for byte"
    );
    engine.forget(&all);
    let pulled = run(engine.docker_as(a).args(["pull", &private]));
    assert!(pulled.contains(&format!("Digest: {pushed}")), "{pulled}");
    let repo_digests = run(engine.docker_as(a).args([
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &private,
    ]));
    assert!(repo_digests.contains(&pushed), "{repo_digests}");
    let hello = run(engine.docker_as(a).args([
        "run",
        "--rm",
        "--network",
        "none",
        &private,
        "/bin/busybox",
        "echo",
        "hello",
    ]));
    assert_eq!(hello.trim(), "hello");
    // The member also publishes it in the public repository.
    run(engine.docker_as(a).args(["tag", &private, &public]));
    assert_eq!(
        pushed_digest(&run(engine.docker_as(a).args(["push", &public]))),
        pushed
    );

    // Repository viewer: pull works, push is denied with a clear message.
    let victor = login(&engine, &host, &world.victor);
    let v = victor.path();
    engine.forget(&all);
    let pulled = run(engine.docker_as(v).args(["pull", &private]));
    assert!(pulled.contains(&format!("Digest: {pushed}")), "{pulled}");
    run(engine.docker_as(v).args(["tag", &private, &private_v2]));
    let denied = run_fails(engine.docker_as(v).args(["push", &private_v2]));
    assert!(denied.contains("denied"), "{denied}");
    assert!(
        denied.contains("repository viewer may not push"),
        "the reason is shown: {denied}"
    );
    let r = world
        .server
        .request(
            "GET",
            "/v2/team/private/busybox/manifests/v2",
            Some((&world.alice.id, &world.alice.secret)),
            None,
        )
        .expect("GET");
    assert_eq!(r.status, 404, "the viewer's push left no tag: {}", r.text());

    // Repository member outside the project: push and pull work in their repository only.
    let rita = login(&engine, &host, &world.rita);
    let r = rita.path();
    run(engine.docker_as(r).args(["tag", &private, &shared]));
    assert_eq!(
        pushed_digest(&run(engine.docker_as(r).args(["push", &shared]))),
        pushed
    );
    engine.forget(&all);
    let pulled = run(engine.docker_as(r).args(["pull", &shared]));
    assert!(pulled.contains(&format!("Digest: {pushed}")), "{pulled}");
    assert_eq!(
        world.manifest(&world.rita, "team/shared/busybox", "v1").0,
        pushed
    );
    run(engine.docker_as(r).args(["tag", &shared, &private_v2]));
    let denied = run_fails(engine.docker_as(r).args(["push", &private_v2]));
    assert!(denied.contains("denied"), "{denied}");
    let denied = run_fails(engine.docker_as(r).args(["pull", &private]));
    assert!(
        denied.contains("denied") || denied.contains("unauthorized"),
        "{denied}"
    );
    // ... and their console password is refused on that project.
    world.assert_repository_role_password_refused();

    // After logout: anonymous pull of the public repository works, of the private one not.
    let out = run(engine.docker_as(a).args(["logout", &host]));
    assert!(out.contains("Removing login credentials"), "{out}");
    engine.forget(&all);
    let pulled = run(engine.docker_as(a).args(["pull", &public]));
    assert!(pulled.contains(&format!("Digest: {pushed}")), "{pulled}");
    let refused = run_fails(engine.docker_as(a).args(["pull", &private]));
    assert!(
        refused.contains("denied")
            || refused.contains("unauthorized")
            || refused.contains("docker login"),
        "{refused}"
    );
    let refused = run_fails(engine.docker_as(a).args(["push", &public]));
    assert!(
        refused.contains("denied") || refused.contains("unauthorized"),
        "{refused}"
    );

    // A revoked access key stops working at once.
    let key = world.new_key("alice");
    let revokee = login(&engine, &host, &key);
    let k = revokee.path();
    engine.forget(&all);
    run(engine.docker_as(k).args(["pull", &private]));
    world.revoke("alice", &key);
    engine.forget(&all);
    let refused = run_fails(engine.docker_as(k).args(["pull", &private]));
    assert!(
        refused.contains("unauthorized") || refused.contains("denied"),
        "{refused}"
    );
    let refused =
        run_fails(
            engine
                .docker_as(k)
                .args(["login", &host, "-u", &key.id, "-p", &key.secret]),
        );
    assert!(
        refused.contains("unauthorized") || refused.contains("401"),
        "{refused}"
    );

    engine.forget(&all);
    world.server.assert_no_clear_secrets(&world.secrets);
}
