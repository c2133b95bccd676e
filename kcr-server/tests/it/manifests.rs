//! Manifest push and pull: tags, digests, media types, Accept negotiation, deletes and tag moves.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{
    index_of, random_image, Flavor, TestApp, TestManifest, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX,
    OCI_MANIFEST,
};

const NAME: &str = "acme/web/frontend/nginx";

#[tokio::test]
async fn put_by_tag_then_get_and_head_with_exact_headers() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 2);
    app.push_image(NAME, &image, "v1").await;
    let m = &image.manifest;
    for reference in ["v1", m.digest.as_str()] {
        app.assert_manifest(NAME, reference, m).await;
        let resp = app.head(&format!("/v2/{NAME}/manifests/{reference}")).await;
        resp.assert_status(StatusCode::OK);
        assert!(resp.body.is_empty(), "HEAD must not send a body");
        assert_eq!(resp.header("content-type"), Some(OCI_MANIFEST));
        assert_eq!(
            resp.header("content-length"),
            Some(m.body.len().to_string().as_str())
        );
        assert_eq!(
            resp.header("docker-content-digest"),
            Some(m.digest.as_str())
        );
    }
}

#[tokio::test]
async fn put_by_digest_stores_an_untagged_version() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &image, &image.manifest.digest).await;
    app.assert_manifest(NAME, &image.manifest.digest, &image.manifest)
        .await;
    assert!(app.tags(NAME).await.is_empty());
}

#[tokio::test]
async fn one_push_may_set_several_tags() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_blob(NAME, &image.config).await;
    app.push_blob(NAME, &image.layers[0]).await;
    let m = &image.manifest;
    let resp = app
        .request(
            Method::PUT,
            &format!("/v2/{NAME}/manifests/{}?tag=a&tag=b", m.digest),
        )
        .header("content-type", &m.media_type)
        .body(m.body.clone())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(
        resp.header("docker-content-digest"),
        Some(m.digest.as_str())
    );
    app.assert_manifest(NAME, "a", m).await;
    app.assert_manifest(NAME, "b", m).await;
    assert_eq!(app.tags(NAME).await, vec!["a", "b"]);
    // A tag in the path and more in the query.
    let resp = app
        .request(Method::PUT, &format!("/v2/{NAME}/manifests/c?tag=d"))
        .header("content-type", &m.media_type)
        .body(m.body.clone())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(app.tags(NAME).await, vec!["a", "b", "c", "d"]);
}

#[tokio::test]
async fn accept_header_negotiates_the_manifest_type() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &image, "v1").await;
    let uri = format!("/v2/{NAME}/manifests/v1");
    let accepted = [
        "*/*".to_owned(),
        OCI_MANIFEST.to_owned(),
        format!("{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.9"),
        format!("{OCI_INDEX}, application/*"),
    ];
    for accept in &accepted {
        let resp = app
            .request(Method::GET, &uri)
            .header("accept", accept)
            .send()
            .await;
        resp.assert_status(StatusCode::OK);
        assert_eq!(resp.header("content-type"), Some(OCI_MANIFEST), "{accept}");
        assert_eq!(resp.body, image.manifest.body);
    }
    // Several Accept headers are read together.
    let resp = app
        .request(Method::GET, &uri)
        .header("accept", DOCKER_MANIFEST)
        .header("accept", OCI_MANIFEST)
        .send()
        .await;
    resp.assert_status(StatusCode::OK);
    // Only a different manifest type: not found in a form the client can use.
    for accept in [DOCKER_MANIFEST, OCI_INDEX] {
        let resp = app
            .request(Method::GET, &uri)
            .header("accept", accept)
            .send()
            .await;
        resp.assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
        let resp = app
            .request(Method::HEAD, &uri)
            .header("accept", accept)
            .send()
            .await;
        resp.assert_status(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn docker_manifest_list_over_schema2_images() {
    let app = TestApp::new();
    let amd64 = random_image(Flavor::Docker, 2);
    let arm64 = random_image(Flavor::Docker, 1);
    app.push_image(NAME, &amd64, &amd64.manifest.digest).await;
    app.push_image(NAME, &arm64, &arm64.manifest.digest).await;
    let list = index_of(Flavor::Docker, &[&amd64.manifest, &arm64.manifest]);
    app.push_manifest(NAME, "multi", &list).await;
    app.assert_manifest(NAME, "multi", &list).await;
    let resp = app.get(&format!("/v2/{NAME}/manifests/multi")).await;
    assert_eq!(resp.header("content-type"), Some(DOCKER_LIST));
    app.assert_image(NAME, &amd64.manifest.digest, &amd64).await;
    app.assert_image(NAME, &arm64.manifest.digest, &arm64).await;
}

#[tokio::test]
async fn oci_index_whose_children_were_pushed_first() {
    let app = TestApp::new();
    let children: Vec<_> = (0..3).map(|_| random_image(Flavor::Oci, 2)).collect();
    for child in &children {
        app.push_image(NAME, child, &child.manifest.digest).await;
    }
    let refs: Vec<&TestManifest> = children.iter().map(|c| &c.manifest).collect();
    let index = index_of(Flavor::Oci, &refs);
    app.push_manifest(NAME, "v1", &index).await;
    app.assert_manifest(NAME, "v1", &index).await;
    app.assert_manifest(NAME, &index.digest, &index).await;
    for child in &children {
        app.assert_image(NAME, &child.manifest.digest, child).await;
    }
    // An index of indexes is fine too.
    let nested = index_of(Flavor::Oci, &[&index]);
    app.push_manifest(NAME, "nested", &nested).await;
    app.assert_manifest(NAME, "nested", &nested).await;
}

#[tokio::test]
async fn delete_by_tag_removes_only_the_tag() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &image, "v1").await;
    let resp = app.delete(&format!("/v2/{NAME}/manifests/v1")).await;
    resp.assert_status(StatusCode::ACCEPTED);
    app.get(&format!("/v2/{NAME}/manifests/v1"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    assert!(app.tags(NAME).await.is_empty());
    app.assert_image(NAME, &image.manifest.digest, &image).await;
}

#[tokio::test]
async fn delete_by_digest_removes_the_version_and_its_tags() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    let keep = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &image, "v1").await;
    app.push_manifest(NAME, "v1-alias", &image.manifest).await;
    app.push_image(NAME, &keep, "stable").await;
    let resp = app
        .delete(&format!("/v2/{NAME}/manifests/{}", image.manifest.digest))
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    for reference in ["v1", "v1-alias", image.manifest.digest.as_str()] {
        app.get(&format!("/v2/{NAME}/manifests/{reference}"))
            .await
            .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    }
    assert_eq!(app.tags(NAME).await, vec!["stable"]);
    app.assert_image(NAME, "stable", &keep).await;
    // The tag can be pushed again afterwards.
    app.push_manifest(NAME, "v1", &keep.manifest).await;
    app.assert_manifest(NAME, "v1", &keep.manifest).await;
}

#[tokio::test]
async fn pushing_the_same_manifest_again_is_idempotent() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 2);
    app.push_image(NAME, &image, "v1").await;
    app.push_image(NAME, &image, "v1").await;
    app.push_manifest(NAME, &image.manifest.digest, &image.manifest)
        .await;
    app.assert_image(NAME, "v1", &image).await;
    assert_eq!(app.tags(NAME).await, vec!["v1"]);
}

#[tokio::test]
async fn pushing_a_tag_onto_another_version_moves_it() {
    let app = TestApp::new();
    let old = random_image(Flavor::Oci, 1);
    let new = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &old, "latest").await;
    app.push_image(NAME, &new, "latest").await;
    app.assert_manifest(NAME, "latest", &new.manifest).await;
    app.assert_image(NAME, &old.manifest.digest, &old).await;
    assert_eq!(app.tags(NAME).await, vec!["latest"]);
    // Deleting the old version now leaves the moved tag alone.
    let resp = app
        .delete(&format!("/v2/{NAME}/manifests/{}", old.manifest.digest))
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    app.assert_manifest(NAME, "latest", &new.manifest).await;
}

#[tokio::test]
async fn manifest_media_type_may_come_from_the_body_alone() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_blob(NAME, &image.config).await;
    app.push_blob(NAME, &image.layers[0]).await;
    for content_type in [None, Some("application/json")] {
        let mut call = app
            .request(Method::PUT, &format!("/v2/{NAME}/manifests/v1"))
            .body(image.manifest.body.clone());
        if let Some(ct) = content_type {
            call = call.header("content-type", ct);
        }
        call.send().await.assert_status(StatusCode::CREATED);
        app.assert_manifest(NAME, "v1", &image.manifest).await;
    }
    // A Content-Type with parameters is the same type.
    let resp = app
        .request(Method::PUT, &format!("/v2/{NAME}/manifests/v2"))
        .header("content-type", &format!("{OCI_MANIFEST}; charset=utf-8"))
        .body(image.manifest.body.clone())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn non_distributable_layers_need_not_be_uploaded() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_blob(NAME, &image.config).await;
    app.push_blob(NAME, &image.layers[0]).await;
    let foreign = "sha256:".to_owned() + &"ab".repeat(32);
    let value = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": crate::support::sha256(&image.config), "size": image.config.len() },
        "layers": [
            { "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
              "digest": crate::support::sha256(&image.layers[0]), "size": image.layers[0].len() },
            { "mediaType": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
              "digest": foreign, "size": 12345, "urls": ["https://example.invalid/layer"] },
        ],
    });
    let m = TestManifest::from_json(&value, OCI_MANIFEST);
    app.push_manifest(NAME, "windows", &m).await;
    app.assert_manifest(NAME, "windows", &m).await;
}
