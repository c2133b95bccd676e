//! Error paths, one test each: exact HTTP status and OCI error code from `{"errors":[{"code":...}]}`.

use axum::http::{Method, StatusCode};
use kcr_core::{QuotaLimits, RegistryConfig};
use serde_json::json;

use crate::harness::{
    index_of, random_bytes, random_image, Flavor, TestApp, TestManifest, DOCKER_MANIFEST,
    OCI_INDEX, OCI_MANIFEST,
};
use crate::support::http::with_query;
use crate::support::sha256;

const NAME: &str = "acme/errs/img";

fn unknown_digest() -> String {
    sha256(b"never uploaded")
}

// ---- BLOB_UNKNOWN ----

#[tokio::test]
async fn get_unknown_blob_is_blob_unknown() {
    let app = TestApp::new();
    let err = app
        .get(&format!("/v2/{NAME}/blobs/{}", unknown_digest()))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    assert_eq!(err["detail"]["digest"], unknown_digest());
}

#[tokio::test]
async fn head_unknown_blob_is_404_without_body() {
    let app = TestApp::new();
    let resp = app
        .head(&format!("/v2/{NAME}/blobs/{}", unknown_digest()))
        .await;
    resp.assert_status(StatusCode::NOT_FOUND);
    assert!(resp.body.is_empty());
}

#[tokio::test]
async fn delete_unknown_blob_is_blob_unknown() {
    let app = TestApp::new();
    app.delete(&format!("/v2/{NAME}/blobs/{}", unknown_digest()))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
}

// ---- BLOB_UPLOAD_INVALID ----

#[tokio::test]
async fn malformed_content_range_is_blob_upload_invalid() {
    let app = TestApp::new();
    let location = app.start_upload(NAME).await;
    for bad in ["garbage", "10-5", "a-b", "-"] {
        let resp = app.patch_range(&location, bad, random_bytes(10)).await;
        resp.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    }
    // Nothing was written by the refused chunks.
    let status = app.get(&location).await;
    status.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), Some("0-0"));
}

// ---- BLOB_UPLOAD_UNKNOWN ----

const UNKNOWN_UPLOAD: &str = "0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn get_unknown_upload_is_blob_upload_unknown() {
    let app = TestApp::new();
    for id in [UNKNOWN_UPLOAD, "not-an-upload-id"] {
        app.get(&format!("/v2/{NAME}/blobs/uploads/{id}"))
            .await
            .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    }
}

#[tokio::test]
async fn patch_unknown_upload_is_blob_upload_unknown() {
    let app = TestApp::new();
    app.request(
        Method::PATCH,
        &format!("/v2/{NAME}/blobs/uploads/{UNKNOWN_UPLOAD}"),
    )
    .body(random_bytes(10))
    .send()
    .await
    .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn put_unknown_upload_is_blob_upload_unknown() {
    let app = TestApp::new();
    let data = random_bytes(10);
    app.request(
        Method::PUT,
        &format!(
            "/v2/{NAME}/blobs/uploads/{UNKNOWN_UPLOAD}?digest={}",
            sha256(&data)
        ),
    )
    .body(data)
    .send()
    .await
    .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn delete_unknown_upload_is_blob_upload_unknown() {
    let app = TestApp::new();
    app.delete(&format!("/v2/{NAME}/blobs/uploads/{UNKNOWN_UPLOAD}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn upload_opened_on_another_image_is_unknown_here() {
    let app = TestApp::new();
    let data = random_bytes(100);
    let digest = sha256(&data);
    let location = app.start_upload("acme/errs/owner").await;
    let id = location.rsplit('/').next().unwrap();
    let foreign = format!("/v2/{NAME}/blobs/uploads/{id}");
    app.get(&foreign)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    app.request(Method::PATCH, &foreign)
        .body(data.clone())
        .send()
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    app.request(Method::PUT, &with_query(&foreign, "digest", &digest))
        .body(data.clone())
        .send()
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    app.delete(&foreign)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    // The owner's session is untouched and the blob lands only in the owner image.
    let status = app.get(&location).await;
    status.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), Some("0-0"));
    app.request(Method::PUT, &with_query(&location, "digest", &digest))
        .body(data.clone())
        .send()
        .await
        .assert_status(StatusCode::CREATED);
    app.assert_blob("acme/errs/owner", &data).await;
    app.get(&format!("/v2/{NAME}/blobs/{digest}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
}

// ---- DIGEST_INVALID ----

#[tokio::test]
async fn malformed_digest_is_digest_invalid() {
    let app = TestApp::new();
    for bad in [
        "sha256:xyz",
        "sha256",
        &format!("sha256:{}", "A".repeat(64)),
    ] {
        app.get(&format!("/v2/{NAME}/blobs/{bad}"))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    }
    app.request(
        Method::POST,
        &format!("/v2/{NAME}/blobs/uploads/?digest=sha256:short"),
    )
    .body(random_bytes(4))
    .send()
    .await
    .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
}

#[tokio::test]
async fn md5_digest_is_digest_invalid() {
    let app = TestApp::new();
    let md5 = "md5:d41d8cd98f00b204e9800998ecf8427e";
    app.request(
        Method::POST,
        &format!("/v2/{NAME}/blobs/uploads/?digest={md5}"),
    )
    .send()
    .await
    .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    app.get(&format!("/v2/{NAME}/blobs/{md5}"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
}

#[tokio::test]
async fn put_with_a_wrong_digest_is_digest_invalid() {
    let app = TestApp::new();
    let data = random_bytes(100);
    let wrong = sha256(b"something else");
    let location = app.start_upload(NAME).await;
    let err = app
        .request(Method::PUT, &with_query(&location, "digest", &wrong))
        .body(data.clone())
        .send()
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    assert_eq!(err["detail"]["expected"], wrong);
    assert_eq!(err["detail"]["actual"], sha256(&data));
    // Nothing was stored under either digest.
    for d in [&wrong, &sha256(&data)] {
        app.get(&format!("/v2/{NAME}/blobs/{d}"))
            .await
            .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    }
    // The monolithic form refuses the same way.
    app.request(
        Method::POST,
        &format!("/v2/{NAME}/blobs/uploads/?digest={wrong}"),
    )
    .body(data)
    .send()
    .await
    .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
}

#[tokio::test]
async fn put_without_a_digest_is_digest_invalid() {
    let app = TestApp::new();
    let data = random_bytes(100);
    let location = app.start_upload(NAME).await;
    app.request(Method::PUT, &location)
        .body(data.clone())
        .send()
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    // The session survives a refused completion.
    app.request(
        Method::PUT,
        &with_query(&location, "digest", &sha256(&data)),
    )
    .body(data.clone())
    .send()
    .await
    .assert_status(StatusCode::CREATED);
    app.assert_blob(NAME, &data).await;
}

#[tokio::test]
async fn manifest_put_by_a_digest_the_body_does_not_have_is_digest_invalid() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_blob(NAME, &image.config).await;
    app.push_blob(NAME, &image.layers[0]).await;
    let other = sha256(b"another manifest");
    app.put_manifest(NAME, &other, &image.manifest)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    app.get(&format!("/v2/{NAME}/manifests/{other}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    app.get(&format!("/v2/{NAME}/manifests/{}", image.manifest.digest))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    // The conformance suite's probe: a reference that only looks like a digest.
    app.put_manifest(NAME, "sha256:totallywrong", &image.manifest)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
}

// ---- MANIFEST_BLOB_UNKNOWN ----

#[tokio::test]
async fn manifest_naming_a_layer_never_uploaded_is_manifest_blob_unknown() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 2);
    app.push_blob(NAME, &image.config).await;
    app.push_blob(NAME, &image.layers[0]).await;
    let err = app
        .put_manifest(NAME, "v1", &image.manifest)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(err["detail"]["digest"], sha256(&image.layers[1]));
    // The failed push left nothing behind: no tag, no image.
    app.get(&format!("/v2/{NAME}/tags/list"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
}

#[tokio::test]
async fn index_with_a_missing_child_is_manifest_blob_unknown() {
    let app = TestApp::new();
    let present = random_image(Flavor::Oci, 1);
    let missing = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &present, &present.manifest.digest)
        .await;
    let index = index_of(Flavor::Oci, &[&present.manifest, &missing.manifest]);
    let err = app
        .put_manifest(NAME, "multi", &index)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(err["detail"]["digest"], missing.manifest.digest);
}

// ---- MANIFEST_INVALID ----

#[tokio::test]
async fn manifest_that_is_not_json_is_manifest_invalid() {
    let app = TestApp::new();
    let m = TestManifest::from_bytes(b"this is not json".to_vec(), OCI_MANIFEST);
    app.put_manifest(NAME, "v1", &m)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
}

#[tokio::test]
async fn schema1_manifest_is_manifest_invalid_and_says_so() {
    let app = TestApp::new();
    let body = json!({
        "schemaVersion": 1,
        "name": NAME,
        "tag": "v1",
        "architecture": "amd64",
        "fsLayers": [],
        "history": [],
    });
    for content_type in [
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/json",
    ] {
        let m = TestManifest::from_json(&body, content_type);
        let err = app
            .put_manifest(NAME, "v1", &m)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains("schema 1"), "{message}");
    }
}

#[tokio::test]
async fn content_type_disagreeing_with_the_body_is_manifest_invalid() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_blob(NAME, &image.config).await;
    app.push_blob(NAME, &image.layers[0]).await;
    for content_type in [DOCKER_MANIFEST, OCI_INDEX] {
        let m = TestManifest::from_bytes(image.manifest.body.clone(), content_type);
        app.put_manifest(NAME, "v1", &m)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
    }
}

#[tokio::test]
async fn unknown_content_type_is_manifest_invalid() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_blob(NAME, &image.config).await;
    app.push_blob(NAME, &image.layers[0]).await;
    let m = TestManifest::from_bytes(image.manifest.body.clone(), "text/plain");
    app.put_manifest(NAME, "v1", &m)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
}

#[tokio::test]
async fn invalid_tag_is_manifest_invalid() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_blob(NAME, &image.config).await;
    app.push_blob(NAME, &image.layers[0]).await;
    let long = "t".repeat(129);
    for tag in ["-leading-dash", ".dot", long.as_str()] {
        app.put_manifest(NAME, tag, &image.manifest)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
    }
    app.request(
        Method::PUT,
        &format!("/v2/{NAME}/manifests/{}?tag=-bad", image.manifest.digest),
    )
    .header("content-type", OCI_MANIFEST)
    .body(image.manifest.body.clone())
    .send()
    .await
    .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
}

// ---- MANIFEST_UNKNOWN ----

#[tokio::test]
async fn get_unknown_tag_is_manifest_unknown() {
    let app = TestApp::new();
    app.push_image(NAME, &random_image(Flavor::Oci, 1), "v1")
        .await;
    app.get(&format!("/v2/{NAME}/manifests/nope"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    let resp = app.head(&format!("/v2/{NAME}/manifests/nope")).await;
    resp.assert_status(StatusCode::NOT_FOUND);
    assert!(resp.body.is_empty());
}

#[tokio::test]
async fn get_unknown_digest_is_manifest_unknown() {
    let app = TestApp::new();
    app.push_image(NAME, &random_image(Flavor::Oci, 1), "v1")
        .await;
    app.get(&format!("/v2/{NAME}/manifests/{}", unknown_digest()))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn delete_unknown_tag_is_manifest_unknown() {
    let app = TestApp::new();
    app.push_image(NAME, &random_image(Flavor::Oci, 1), "v1")
        .await;
    app.delete(&format!("/v2/{NAME}/manifests/nope"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn delete_unknown_digest_is_manifest_unknown() {
    let app = TestApp::new();
    app.push_image(NAME, &random_image(Flavor::Oci, 1), "v1")
        .await;
    app.delete(&format!("/v2/{NAME}/manifests/{}", unknown_digest()))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    // Also in an image that does not exist at all.
    app.delete(&format!(
        "/v2/acme/errs/ghost/manifests/{}",
        unknown_digest()
    ))
    .await
    .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
}

// ---- NAME_INVALID ----

#[tokio::test]
async fn uppercase_name_is_name_invalid() {
    let app = TestApp::new();
    for path in [
        "/v2/Acme/web/app/tags/list",
        "/v2/acme/Web/app/manifests/v1",
        "/v2/acme/web/App/blobs/uploads/",
    ] {
        let method = if path.ends_with("uploads/") {
            Method::POST
        } else {
            Method::GET
        };
        app.request(method, path)
            .send()
            .await
            .assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    }
}

#[tokio::test]
async fn name_without_an_image_is_name_invalid() {
    let app = TestApp::new();
    app.get("/v2/acme/web/manifests/v1")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    // Under a project host the project is not part of the path, so one component is too few.
    app.request(Method::GET, "/v2/web/manifests/v1")
        .header("host", "acme.kr-central-2.kcr.dev")
        .send()
        .await
        .assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
}

// ---- NAME_UNKNOWN ----

#[tokio::test]
async fn tags_of_an_unknown_image_are_name_unknown() {
    let app = TestApp::new();
    app.get(&format!("/v2/{NAME}/tags/list"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
}

#[tokio::test]
async fn push_into_a_repository_never_created_is_name_unknown() {
    let app = TestApp::with_config(RegistryConfig {
        create_on_push: false,
        ..RegistryConfig::default()
    });
    let err = app
        .request(Method::POST, &format!("/v2/{NAME}/blobs/uploads/"))
        .send()
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
    assert!(err["message"].as_str().unwrap().contains("errs"), "{err}");
    let image = random_image(Flavor::Oci, 0);
    app.put_manifest(NAME, "v1", &image.manifest)
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
}

// ---- SIZE_INVALID ----

#[tokio::test]
async fn manifest_over_4_mib_is_size_invalid_413() {
    let app = TestApp::new();
    let mut body = b"{\"schemaVersion\":2,\"annotations\":{\"pad\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'x', 4 * 1024 * 1024));
    body.extend_from_slice(b"\"}}");
    let m = TestManifest::from_bytes(body, OCI_MANIFEST);
    app.put_manifest(NAME, "big", &m)
        .await
        .assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
}

// ---- 416 ----

#[tokio::test]
async fn out_of_order_patch_is_416_with_the_current_range() {
    let app = TestApp::new();
    let location = app.start_upload(NAME).await;
    // Nothing uploaded yet: a chunk starting at 100 is out of order.
    let resp = app
        .patch_range(&location, "100-199", random_bytes(100))
        .await;
    resp.assert_error(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID");
    assert_eq!(resp.header("range"), Some("0-0"));
    // After 50 bytes, a chunk at 60 (a gap) and one at 10 (overlap) are both refused.
    let resp = app.patch_range(&location, "0-49", random_bytes(50)).await;
    resp.assert_status(StatusCode::ACCEPTED);
    for range in ["60-69", "10-19"] {
        let resp = app.patch_range(&location, range, random_bytes(10)).await;
        resp.assert_error(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID");
        assert_eq!(resp.header("range"), Some("0-49"), "{range}");
    }
}

#[tokio::test]
async fn unsatisfiable_blob_range_is_416() {
    let app = TestApp::new();
    let data = random_bytes(100);
    let digest = app.push_blob(NAME, &data).await;
    for range in ["bytes=100-", "bytes=500-600", "bytes=-0"] {
        let resp = app
            .request(Method::GET, &format!("/v2/{NAME}/blobs/{digest}"))
            .header("range", range)
            .send()
            .await;
        resp.assert_status(StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(resp.header("content-range"), Some("bytes */100"), "{range}");
    }
}

// ---- UNSUPPORTED ----

#[tokio::test]
async fn wrong_method_is_unsupported_405() {
    let app = TestApp::new();
    let digest = unknown_digest();
    let cases = [
        (Method::POST, format!("/v2/{NAME}/manifests/v1")),
        (Method::PATCH, format!("/v2/{NAME}/manifests/v1")),
        (Method::PUT, format!("/v2/{NAME}/blobs/{digest}")),
        (Method::POST, format!("/v2/{NAME}/tags/list")),
        (Method::DELETE, "/v2/_catalog".to_owned()),
        (Method::PUT, format!("/v2/{NAME}/blobs/uploads/")),
        (Method::POST, format!("/v2/{NAME}/referrers/{digest}")),
    ];
    for (method, path) in cases {
        app.request(method.clone(), &path)
            .send()
            .await
            .assert_error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED");
    }
}

// ---- DENIED (quotas) ----

#[tokio::test]
async fn third_tag_over_a_quota_of_two_is_denied() {
    let app = TestApp::with_config(RegistryConfig {
        limits: QuotaLimits {
            tags_per_image: 2,
            ..QuotaLimits::default()
        },
        ..RegistryConfig::default()
    });
    let image = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &image, "one").await;
    app.push_manifest(NAME, "two", &image.manifest).await;
    let err = app
        .put_manifest(NAME, "three", &image.manifest)
        .await
        .assert_error(StatusCode::FORBIDDEN, "DENIED");
    assert_eq!(err["detail"]["quota"], "tags per image");
    assert_eq!(err["detail"]["limit"], 2);
    assert!(
        err["message"].as_str().unwrap().contains("tags per image"),
        "{err}"
    );
    assert_eq!(app.tags(NAME).await, vec!["one", "two"]);
    // Moving an existing tag is not a new tag, and deleting one frees a slot.
    let other = random_image(Flavor::Oci, 1);
    app.push_image(NAME, &other, "two").await;
    app.delete(&format!("/v2/{NAME}/manifests/one"))
        .await
        .assert_status(StatusCode::ACCEPTED);
    app.push_manifest(NAME, "three", &image.manifest).await;
    assert_eq!(app.tags(NAME).await, vec!["three", "two"]);
}

#[tokio::test]
async fn image_over_the_per_repository_quota_is_denied() {
    let app = TestApp::with_config(RegistryConfig {
        limits: QuotaLimits {
            images_per_repository: 2,
            ..QuotaLimits::default()
        },
        ..RegistryConfig::default()
    });
    let image = random_image(Flavor::Oci, 1);
    app.push_image("acme/errs/one", &image, "v1").await;
    app.push_image("acme/errs/two", &image, "v1").await;
    app.push_blob("acme/errs/three", &image.config).await;
    app.push_blob("acme/errs/three", &image.layers[0]).await;
    let err = app
        .put_manifest("acme/errs/three", "v1", &image.manifest)
        .await
        .assert_error(StatusCode::FORBIDDEN, "DENIED");
    assert_eq!(err["detail"]["quota"], "images per repository");
    assert_eq!(err["detail"]["limit"], 2);
    // Existing images still take pushes; another repository has its own count.
    app.push_manifest("acme/errs/one", "v2", &image.manifest)
        .await;
    app.push_image("acme/other/three", &image, "v1").await;
}
