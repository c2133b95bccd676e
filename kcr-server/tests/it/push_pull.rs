//! End-to-end pushes and pulls of blobs and images, blob headers and ranges, project addressing.

use axum::http::{Method, StatusCode};

use crate::harness::{random_bytes, random_image, string_list, Flavor, TestApp};
use crate::support::sha256;

const NAME: &str = "acme/web/app";

#[tokio::test]
async fn base_endpoint_answers_with_the_api_version() {
    let app = TestApp::new();
    for path in ["/v2/", "/v2"] {
        let resp = app.get(path).await;
        resp.assert_status(StatusCode::OK);
        assert_eq!(
            resp.header("docker-distribution-api-version"),
            Some("registry/2.0")
        );
    }
    // Every answer carries the version header, errors included.
    let resp = app.get("/v2/acme/web/app/manifests/missing").await;
    assert_eq!(
        resp.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
}

#[tokio::test]
async fn monolithic_post_with_digest_stores_the_blob() {
    let app = TestApp::new();
    let data = random_bytes(5000);
    let digest = app.push_blob(NAME, &data).await;
    assert_eq!(digest, sha256(&data));
    app.assert_blob(NAME, &data).await;
}

#[tokio::test]
async fn blob_head_reports_length_and_digest_without_a_body() {
    let app = TestApp::new();
    let data = random_bytes(1234);
    let digest = app.push_blob(NAME, &data).await;
    let resp = app.head(&format!("/v2/{NAME}/blobs/{digest}")).await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(resp.header("content-length"), Some("1234"));
    assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
    assert!(resp.body.is_empty(), "HEAD must not send a body");
}

#[tokio::test]
async fn blob_range_requests_return_206_with_content_range() {
    let app = TestApp::new();
    let data = random_bytes(1000);
    let digest = app.push_blob(NAME, &data).await;
    let uri = format!("/v2/{NAME}/blobs/{digest}");
    let cases: [(&str, usize, usize); 4] = [
        ("bytes=0-99", 0, 99),
        ("bytes=900-", 900, 999),
        ("bytes=-10", 990, 999),
        ("bytes=500-5000", 500, 999),
    ];
    for (range, start, end) in cases {
        let resp = app
            .request(Method::GET, &uri)
            .header("range", range)
            .send()
            .await;
        resp.assert_status(StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            resp.header("content-range"),
            Some(format!("bytes {start}-{end}/1000").as_str()),
            "{range}"
        );
        assert_eq!(
            resp.header("content-length"),
            Some((end - start + 1).to_string().as_str())
        );
        assert_eq!(resp.body.as_ref(), &data[start..=end], "{range}");
        assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
    }
    // A Range header the server does not understand is ignored: the whole blob.
    let resp = app
        .request(Method::GET, &uri)
        .header("range", "items=0-1")
        .send()
        .await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(resp.body.as_ref(), &data[..]);
}

#[tokio::test]
async fn blob_delete_answers_202_then_the_blob_is_unknown() {
    let app = TestApp::new();
    let data = random_bytes(64);
    let digest = app.push_blob(NAME, &data).await;
    let uri = format!("/v2/{NAME}/blobs/{digest}");
    let resp = app.delete(&uri).await;
    resp.assert_status(StatusCode::ACCEPTED);
    app.get(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    let resp = app.head(&uri).await;
    resp.assert_status(StatusCode::NOT_FOUND);
    app.delete(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn blobs_are_visible_only_in_the_image_they_were_pushed_to() {
    let app = TestApp::new();
    let data = random_bytes(100);
    let digest = app.push_blob(NAME, &data).await;
    app.get(&format!("/v2/acme/web/other/blobs/{digest}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn oci_image_round_trips_byte_for_byte() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 3);
    app.push_image(NAME, &image, "v1").await;
    app.assert_image(NAME, "v1", &image).await;
    app.assert_image(NAME, &image.manifest.digest, &image).await;
    assert_eq!(app.tags(NAME).await, vec!["v1"]);
}

#[tokio::test]
async fn docker_schema2_image_round_trips_byte_for_byte() {
    let app = TestApp::new();
    let image = random_image(Flavor::Docker, 2);
    app.push_image(NAME, &image, "latest").await;
    app.assert_image(NAME, "latest", &image).await;
    let resp = app.get(&format!("/v2/{NAME}/manifests/latest")).await;
    assert_eq!(
        resp.header("content-type"),
        Some("application/vnd.docker.distribution.manifest.v2+json")
    );
}

#[tokio::test]
async fn image_with_no_layers_is_accepted() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 0);
    app.push_image(NAME, &image, "empty").await;
    app.assert_image(NAME, "empty", &image).await;
}

#[tokio::test]
async fn project_host_addresses_the_same_image_as_the_project_path() {
    let app = TestApp::new();
    let project_host = "team-a.kr-central-2.kcr.dev";
    let image = random_image(Flavor::Oci, 2);
    // Push through the project host, `{repository}/{image}` only.
    for blob in std::iter::once(&image.config).chain(&image.layers) {
        let digest = sha256(blob);
        let resp = app
            .request(
                Method::POST,
                &format!("/v2/web/nginx/blobs/uploads/?digest={digest}"),
            )
            .header("host", project_host)
            .body(blob.clone())
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
        // Locations name the image the way this client addressed it.
        assert_eq!(resp.location(), format!("/v2/web/nginx/blobs/{digest}"));
    }
    let resp = app
        .request(Method::PUT, "/v2/web/nginx/manifests/v1")
        .header("host", project_host)
        .header("content-type", &image.manifest.media_type)
        .body(image.manifest.body.clone())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(
        resp.location(),
        format!("/v2/web/nginx/manifests/{}", image.manifest.digest)
    );

    // Pull it back through path addressing on a plain host.
    app.assert_image("team-a/web/nginx", "v1", &image).await;

    // And through the project host, with the port and in upper case.
    for host in [project_host, "TEAM-A.kr-central-2.kcr.dev:443"] {
        let resp = app
            .request(Method::GET, "/v2/web/nginx/manifests/v1")
            .header("host", host)
            .send()
            .await;
        resp.assert_status(StatusCode::OK);
        assert_eq!(resp.body, image.manifest.body);
        let resp = app
            .request(Method::GET, "/v2/web/nginx/tags/list")
            .header("host", host)
            .send()
            .await;
        resp.assert_status(StatusCode::OK);
        assert_eq!(resp.json()["name"], "web/nginx");
        assert_eq!(string_list(&resp.json()["tags"]), vec!["v1"]);
    }

    // Another project's host does not see it.
    let resp = app
        .request(Method::GET, "/v2/web/nginx/manifests/v1")
        .header("host", "team-b.kr-central-2.kcr.dev")
        .send()
        .await;
    resp.assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn catalog_names_images_the_way_the_host_addresses_them() {
    let app = TestApp::new();
    let image = random_image(Flavor::Oci, 1);
    app.push_image("team-a/web/nginx", &image, "v1").await;
    app.push_image("team-b/db/postgres", &image, "v1").await;

    let resp = app.get("/v2/_catalog").await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(
        string_list(&resp.json()["repositories"]),
        vec!["team-a/web/nginx", "team-b/db/postgres"]
    );

    let resp = app
        .request(Method::GET, "/v2/_catalog")
        .header("host", "team-a.kr-central-2.kcr.dev")
        .send()
        .await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(string_list(&resp.json()["repositories"]), vec!["web/nginx"]);
}
