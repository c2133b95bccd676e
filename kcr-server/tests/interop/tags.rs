//! Tag recovery end to end: skopeo pushes two versions of an image, a registry client deletes a
//! tag (OCI `DELETE /manifests/<tag>`), garbage collection keeps the version, the management API
//! lists the deleted tag and restores it, and skopeo copies it out byte for byte.

use serde_json::json;

use crate::support::http::http;
use crate::support::images::{assert_same_blobs, layout_digest, PlatformImage};
use crate::support::peers::{require_tool, run, skopeo};
use crate::support::server_process::KcrServer;

#[test]
fn a_deleted_tag_survives_collection_and_is_restored() {
    if !require_tool("skopeo") {
        return;
    }
    let server = KcrServer::start_open();
    let scratch = tempfile::tempdir().expect("tempdir");
    let v1 = PlatformImage::new("linux", "amd64", 2, 601);
    let v2 = PlatformImage::new("linux", "amd64", 2, 602);
    let v1_layout = v1.write_layout(&scratch.path().join("v1"), "v1");
    let v2_layout = v2.write_layout(&scratch.path().join("v2"), "v2");
    let remote = |tag: &str| format!("docker://{}/p/r/app:{tag}", server.host());
    for (layout, tag) in [(&v1_layout, "v1"), (&v2_layout, "v2")] {
        run(skopeo(scratch.path())
            .args(["copy", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(remote(tag)));
    }
    let v1_digest = layout_digest(&v1_layout, "v1");

    let deleted = http(
        server.addr(),
        "DELETE",
        "/v2/p/r/app/manifests/v1",
        &[],
        &[],
    )
    .expect("DELETE tag");
    assert_eq!(deleted.status, 202, "{}", deleted.text());
    let gone = http(server.addr(), "HEAD", "/v2/p/r/app/manifests/v1", &[], &[]).expect("HEAD");
    assert_eq!(gone.status, 404);

    std::thread::sleep(std::time::Duration::from_millis(20));
    let gc = server.api(
        "POST",
        "/gc",
        ("", ""),
        Some(json!({ "grace_seconds": 0 })),
        200,
    );
    assert_eq!(
        gc["blobs_removed"], 0,
        "a deleted tag's version stays: {gc}"
    );

    let tags = server.api(
        "GET",
        "/projects/p/repositories/r/images/app/tags",
        ("", ""),
        None,
        200,
    );
    assert_eq!(tags["tags"][0]["tag"], "v2", "{tags}");
    assert_eq!(tags["deleted"][0]["tag"], "v1", "{tags}");
    assert_eq!(tags["deleted"][0]["digest"], v1_digest.as_str(), "{tags}");
    assert_eq!(tags["deleted"][0]["restorable"], true, "{tags}");

    let restored = server.api(
        "POST",
        "/projects/p/repositories/r/images/app/tags/v1/restore",
        ("", ""),
        None,
        200,
    );
    assert_eq!(restored["digest"], v1_digest.as_str());
    let history = server.api(
        "GET",
        "/projects/p/repositories/r/images/app/tags/v1/history",
        ("", ""),
        None,
        200,
    );
    let events: Vec<&str> = history
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(events, ["created", "deleted", "restored"], "{history}");

    let out = scratch.path().join("out");
    run(skopeo(scratch.path())
        .args(["copy", "--src-tls-verify=false", &remote("v1")])
        .arg(format!("oci:{}:v1", out.display())));
    assert_eq!(layout_digest(&out, "v1"), v1_digest);
    assert_same_blobs(&v1_layout, &out);
}
