//! skopeo with `--creds`/`--src-creds`/`--dest-creds` against the real authenticated server: the role matrix, anonymous pulls and revocation, byte for byte.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::real_world::RealWorld;
use crate::support::images::{assert_same_blobs, layout_digest, PlatformImage};
use crate::support::peers::{ok, output, refused, require_tool, run, run_fails, skopeo};
use crate::support::sha256;

/// `skopeo copy` from the registry into a new layout `dir/out-<n>`, with optional creds.
fn copy_out(scratch: &Path, remote: &str, creds: Option<&str>, out: &str) -> (Output, PathBuf) {
    let dest = scratch.join(out);
    let mut cmd = skopeo(scratch);
    cmd.args(["copy", "--src-tls-verify=false"]);
    match creds {
        Some(c) => cmd.args(["--src-creds", c]),
        None => cmd.arg("--src-no-creds"),
    };
    cmd.arg(remote).arg(format!("oci:{}:v1", dest.display()));
    (output(&mut cmd), dest)
}

fn copy_in(scratch: &Path, layout: &Path, remote: &str, creds: &str) -> Output {
    output(
        skopeo(scratch)
            .args(["copy", "--dest-tls-verify=false", "--dest-creds", creds])
            .arg(format!("oci:{}:v1", layout.display()))
            .arg(remote),
    )
}

#[test]
fn skopeo_with_creds_per_role_anonymous_and_revoked() {
    if !require_tool("skopeo") {
        return;
    }
    let mut world = RealWorld::start();
    let host = world.server.host();
    let dir = tempfile::tempdir().expect("tempdir");
    let scratch = dir.path();
    let image = PlatformImage::new("linux", "amd64", 1, 70);
    let layout = image.write_layout(scratch, "v1");
    let digest = image.manifest.digest.clone();
    let private = format!("docker://{host}/team/private/img:v1");
    let private_v2 = format!("docker://{host}/team/private/img:v2");
    let shared = format!("docker://{host}/team/shared/img:v1");
    let public = format!("docker://{host}/team/public/img:v1");

    // Project member pushes, then pulls back the same bytes.
    ok(&copy_in(scratch, &layout, &private, &world.alice.creds()));
    assert_eq!(
        world.manifest(&world.alice, "team/private/img", "v1").0,
        digest
    );
    let (o, out) = copy_out(scratch, &private, Some(&world.alice.creds()), "out-alice");
    ok(&o);
    assert_eq!(layout_digest(&out, "v1"), digest);
    assert_same_blobs(&layout, &out);
    let raw = run(skopeo(scratch).args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &world.alice.creds(),
        &private,
    ]));
    assert_eq!(sha256(raw.as_bytes()), digest);

    // Repository viewer: pulls, cannot push.
    let (o, out) = copy_out(scratch, &private, Some(&world.victor.creds()), "out-victor");
    ok(&o);
    assert_same_blobs(&layout, &out);
    let text = refused(
        &copy_in(scratch, &layout, &private_v2, &world.victor.creds()),
        &["denied"],
    );
    assert!(text.contains("repository viewer may not push"), "{text}");

    // Repository member outside the project: push and pull its repository, nothing else.
    ok(&copy_in(scratch, &layout, &shared, &world.rita.creds()));
    let (o, out) = copy_out(scratch, &shared, Some(&world.rita.creds()), "out-rita");
    ok(&o);
    assert_same_blobs(&layout, &out);
    // (skopeo first checks whether the blobs exist there: a HEAD, refused with 403 and no body.)
    refused(
        &copy_in(scratch, &layout, &private_v2, &world.rita.creds()),
        &["denied", "403 (Forbidden)"],
    );
    let (o, _) = copy_out(
        scratch,
        &private,
        Some(&world.rita.creds()),
        "out-rita-private",
    );
    refused(&o, &["denied", "unauthorized"]);
    world.assert_repository_role_password_refused();

    // Anonymous: the public repository only.
    ok(&copy_in(scratch, &layout, &public, &world.alice.creds()));
    let (o, out) = copy_out(scratch, &public, None, "out-anonymous");
    ok(&o);
    assert_same_blobs(&layout, &out);
    let (o, _) = copy_out(scratch, &private, None, "out-anonymous-private");
    refused(&o, &["unauthorized", "authentication required", "denied"]);
    let anonymous_push = output(
        skopeo(scratch)
            .args(["copy", "--dest-tls-verify=false", "--dest-no-creds"])
            .arg(format!("oci:{}:v1", layout.display()))
            .arg(format!("docker://{host}/team/public/img:v2")),
    );
    refused(
        &anonymous_push,
        &["unauthorized", "authentication required", "denied"],
    );

    // A revoked key stops working at once.
    let key = world.new_key("alice");
    let (o, _) = copy_out(scratch, &private, Some(&key.creds()), "out-key");
    ok(&o);
    world.revoke("alice", &key);
    let (o, _) = copy_out(scratch, &private, Some(&key.creds()), "out-revoked");
    refused(&o, &["unauthorized", "invalid", "401"]);
    run_fails(skopeo(scratch).args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &key.creds(),
        &private,
    ]));

    world.server.assert_no_clear_secrets(&world.secrets);
}
