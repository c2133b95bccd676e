//! skopeo copies OCI layouts (a multi-layer umoci image, and a multi-arch index with `--all`) into
//! kcr and back out, byte for byte.

use crate::support::http::http;
use crate::support::images::{
    assert_same_blobs, layout_blobs, layout_ref, umoci_layout, MultiArch,
};
use crate::support::peers::{require_tool, run, skopeo};
use crate::support::server_process::KcrServer;
use crate::support::sha256;

/// The digest kcr reports for a manifest (`HEAD`, `Docker-Content-Digest`).
fn head_digest(server: &KcrServer, name: &str, reference: &str) -> String {
    let accept =
        "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";
    let r = http(
        server.addr(),
        "HEAD",
        &format!("/v2/{name}/manifests/{reference}"),
        &[("Accept", accept)],
        &[],
    )
    .expect("HEAD manifest");
    assert_eq!(r.status, 200, "HEAD {name}:{reference}");
    r.header("docker-content-digest")
        .expect("Docker-Content-Digest")
        .to_owned()
}

#[test]
fn copy_multi_layer_layout_in_and_out() {
    if !require_tool("skopeo") || !require_tool("umoci") || !require_tool("busybox") {
        return;
    }
    let server = KcrServer::start_open();
    let scratch = tempfile::tempdir().expect("tempdir");
    let layout = umoci_layout(scratch.path());
    let source = layout_ref(&layout, "v1");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            layout.join("blobs/sha256").join(
                source["digest"]
                    .as_str()
                    .expect("digest")
                    .trim_start_matches("sha256:"),
            ),
        )
        .expect("read manifest"),
    )
    .expect("manifest JSON");
    assert_eq!(
        manifest["layers"].as_array().map(Vec::len),
        Some(3),
        "{manifest}"
    );

    let remote = format!("docker://{}/p/r/img:v1", server.host());
    run(skopeo(scratch.path())
        .args(["copy", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(&remote));
    let out = scratch.path().join("out");
    run(skopeo(scratch.path())
        .args(["copy", "--src-tls-verify=false", &remote])
        .arg(format!("oci:{}:v1", out.display())));

    assert_eq!(
        layout_ref(&out, "v1")["digest"],
        source["digest"],
        "manifest digest"
    );
    assert_same_blobs(&layout, &out);

    let raw = run(skopeo(scratch.path()).args(["inspect", "--raw", "--tls-verify=false", &remote]));
    assert_eq!(
        sha256(raw.as_bytes()),
        source["digest"].as_str().expect("digest")
    );
    assert_eq!(
        head_digest(&server, "p/r/img", "v1"),
        source["digest"].as_str().expect("digest")
    );
}

#[test]
fn copy_all_multi_arch_index_in_and_out() {
    if !require_tool("skopeo") {
        return;
    }
    let server = KcrServer::start_open();
    let scratch = tempfile::tempdir().expect("tempdir");
    let multi = MultiArch::new(40);
    let layout = multi.write_layout(scratch.path(), "multi");

    let remote = format!("docker://{}/p/r/multi:v1", server.host());
    run(skopeo(scratch.path())
        .args(["copy", "--all", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:multi", layout.display()))
        .arg(&remote));
    assert_eq!(head_digest(&server, "p/r/multi", "v1"), multi.index.digest);
    let raw = run(skopeo(scratch.path()).args(["inspect", "--raw", "--tls-verify=false", &remote]));
    assert_eq!(raw.as_bytes(), multi.index.data.as_slice(), "index bytes");
    for image in &multi.images {
        let by_digest = format!(
            "docker://{}/p/r/multi@{}",
            server.host(),
            image.manifest.digest
        );
        let raw = run(skopeo(scratch.path()).args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &by_digest,
        ]));
        assert_eq!(
            raw.as_bytes(),
            image.manifest.data.as_slice(),
            "{:?}",
            image.platform
        );
    }

    let out = scratch.path().join("out");
    run(skopeo(scratch.path())
        .args(["copy", "--all", "--src-tls-verify=false", &remote])
        .arg(format!("oci:{}:multi", out.display())));
    assert_eq!(
        layout_ref(&out, "multi")["digest"].as_str(),
        Some(multi.index.digest.as_str()),
        "index digest"
    );
    let (sent, got) = (layout_blobs(&layout), layout_blobs(&out));
    assert_eq!(sent.len(), got.len(), "the same number of blobs");
    for ((d1, a), (d2, b)) in sent.iter().zip(&got) {
        assert_eq!(d1, d2);
        assert!(a == b, "{d1} differs after the round trip");
    }
}
