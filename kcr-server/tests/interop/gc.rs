//! Garbage collection end to end: skopeo pushes two images that share nothing, then deletes one;
//! a collection (the management API) removes exactly that image's blobs from the disk, the other
//! image still copies out byte for byte, also after a kill -9, and the deleted one can be pushed
//! again.

use std::path::Path;

use serde_json::json;

use crate::support::http::http;
use crate::support::images::{assert_same_blobs, PlatformImage};
use crate::support::peers::{require_tool, run, skopeo};
use crate::support::server_process::KcrServer;

/// Blob files under the data directory, as `sha256:<hex>` digests.
fn stored_blobs(data_dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let root = data_dir.join("blobs").join("blobs").join("sha256");
    for fanout in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for file in std::fs::read_dir(fanout.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            out.push(format!("sha256:{}", file.file_name().to_string_lossy()));
        }
    }
    out.sort();
    out
}

fn blob_status(server: &KcrServer, name: &str, digest: &str) -> u16 {
    http(
        server.addr(),
        "HEAD",
        &format!("/v2/{name}/blobs/{digest}"),
        &[],
        &[],
    )
    .expect("HEAD blob")
    .status
}

#[test]
fn collection_after_skopeo_delete_frees_only_the_deleted_image() {
    if !require_tool("skopeo") {
        return;
    }
    let mut server = KcrServer::start_open();
    let scratch = tempfile::tempdir().expect("tempdir");
    let doomed = PlatformImage::new("linux", "amd64", 3, 501);
    let kept = PlatformImage::new("linux", "amd64", 2, 502);
    let doomed_layout = doomed.write_layout(&scratch.path().join("doomed"), "v1");
    let kept_layout = kept.write_layout(&scratch.path().join("kept"), "v1");
    // The port survives a restart.
    let host = server.host();
    let remote = |name: &str| format!("docker://{host}/p/r/{name}:v1");
    for (layout, name) in [(&doomed_layout, "doomed"), (&kept_layout, "kept")] {
        run(skopeo(scratch.path())
            .args(["copy", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:v1", layout.display()))
            .arg(remote(name)));
    }
    let before = stored_blobs(server.data_dir());
    for blob in doomed.layers.iter().chain([&doomed.config]) {
        assert!(before.contains(&blob.digest), "{} stored", blob.digest);
    }

    run(skopeo(scratch.path()).args(["delete", "--tls-verify=false", &remote("doomed")]));
    // The default grace period (an hour) protects everything just pushed.
    let report = server.api("POST", "/gc", ("", ""), Some(json!({})), 200);
    assert_eq!(report["blobs_removed"], 0, "{report}");
    assert_eq!(stored_blobs(server.data_dir()), before);
    let dry = server.api(
        "POST",
        "/gc",
        ("", ""),
        Some(json!({ "dry_run": true, "grace_seconds": 0 })),
        200,
    );
    assert_eq!(dry["blobs_removed"], 4, "config and 3 layers: {dry}");
    assert_eq!(stored_blobs(server.data_dir()), before);

    std::thread::sleep(std::time::Duration::from_millis(20));
    let report = server.api(
        "POST",
        "/gc",
        ("", ""),
        Some(json!({ "grace_seconds": 0 })),
        200,
    );
    assert_eq!(report["blobs_removed"], 4, "{report}");
    let freed: usize = doomed
        .layers
        .iter()
        .chain([&doomed.config])
        .map(|b| b.data.len())
        .sum();
    assert_eq!(report["bytes_freed"], freed as u64, "{report}");
    let after = stored_blobs(server.data_dir());
    for blob in doomed.layers.iter().chain([&doomed.config]) {
        assert!(!after.contains(&blob.digest), "{} removed", blob.digest);
        assert_eq!(blob_status(&server, "p/r/doomed", &blob.digest), 404);
    }
    for blob in kept.layers.iter().chain([&kept.config]) {
        assert!(after.contains(&blob.digest), "{} kept", blob.digest);
    }

    // The survivor is whole, also after a crash; the deleted image can be pushed again.
    server.kill9();
    server.restart();
    let out = scratch.path().join("out");
    run(skopeo(scratch.path())
        .args(["copy", "--src-tls-verify=false", &remote("kept")])
        .arg(format!("oci:{}:v1", out.display())));
    assert_same_blobs(&kept_layout, &out);
    run(skopeo(scratch.path())
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", doomed_layout.display()))
        .arg(remote("doomed")));
    for blob in doomed.layers.iter().chain([&doomed.config]) {
        assert_eq!(blob_status(&server, "p/r/doomed", &blob.digest), 200);
    }
}
