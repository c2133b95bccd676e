//! Upload sessions: monolithic, streamed, chunked, status, cancel, and cross-repository mount.

use axum::http::{Method, StatusCode};

use crate::harness::{random_bytes, sha512, TestApp};
use crate::support::http::with_query;
use crate::support::sha256;

const NAME: &str = "acme/base/alpine";

/// The session id at the end of an upload Location.
fn session_id(location: &str) -> &str {
    location
        .split('?')
        .next()
        .and_then(|p| p.rsplit('/').next())
        .expect("upload id")
}

#[tokio::test]
async fn post_then_put_with_the_whole_body() {
    let app = TestApp::new();
    let data = random_bytes(10_000);
    let digest = sha256(&data);
    let location = app.start_upload(NAME).await;
    assert!(
        location.starts_with(&format!("/v2/{NAME}/blobs/uploads/")),
        "{location}"
    );
    let resp = app
        .request(Method::PUT, &with_query(&location, "digest", &digest))
        .header("content-type", "application/octet-stream")
        .header("content-length", &data.len().to_string())
        .body(data.clone())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(resp.location(), format!("/v2/{NAME}/blobs/{digest}"));
    assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
    app.assert_blob(NAME, &data).await;
}

#[tokio::test]
async fn post_then_put_with_a_streamed_body() {
    let app = TestApp::new();
    let data = random_bytes(50_000);
    let digest = sha256(&data);
    let location = app.start_upload(NAME).await;
    // No length known up front (chunked transfer encoding).
    let resp = app
        .request(Method::PUT, &with_query(&location, "digest", &digest))
        .streamed(data.chunks(7000).map(<[u8]>::to_vec).collect())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
    app.assert_blob(NAME, &data).await;
    // A streamed body that turns out empty completes what PATCHes sent.
    let location = app.start_upload(NAME).await;
    let resp = app
        .request(Method::PATCH, &location)
        .body(data.clone())
        .send()
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    let resp = app
        .request(Method::PUT, &with_query(resp.location(), "digest", &digest))
        .streamed(Vec::new())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn many_streamed_patches_then_put() {
    let app = TestApp::new();
    let data = random_bytes(64 * 1024 + 17);
    let digest = sha256(&data);
    let mut location = app.start_upload(NAME).await;
    let mut sent = 0usize;
    for part in data.chunks(4096) {
        // Each PATCH body is itself a stream of small pieces, with no Content-Range.
        let pieces: Vec<Vec<u8>> = part.chunks(1000).map(<[u8]>::to_vec).collect();
        let resp = app
            .request(Method::PATCH, &location)
            .header("content-type", "application/octet-stream")
            .streamed(pieces)
            .send()
            .await;
        resp.assert_status(StatusCode::ACCEPTED);
        sent += part.len();
        assert_eq!(
            resp.header("range"),
            Some(format!("0-{}", sent - 1).as_str())
        );
        assert_eq!(resp.header("content-length"), Some("0"));
        location = resp.location().to_owned();
    }
    let resp = app
        .request(Method::PUT, &with_query(&location, "digest", &digest))
        .header("content-length", "0")
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
    app.assert_blob(NAME, &data).await;
}

#[tokio::test]
async fn chunked_upload_with_content_range() {
    let app = TestApp::new();
    let data = random_bytes(10_000);
    let digest = app.push_blob_chunked(NAME, &data, 3000).await;
    assert_eq!(digest, sha256(&data));
    app.assert_blob(NAME, &data).await;
}

#[tokio::test]
async fn content_range_forms_clients_send_are_accepted() {
    let app = TestApp::new();
    let data = random_bytes(300);
    let digest = sha256(&data);
    let location = app.start_upload(NAME).await;
    let forms = ["0-99", "bytes 100-199/*", "bytes=200-299"];
    let mut location = location;
    for (i, form) in forms.iter().enumerate() {
        let resp = app
            .patch_range(&location, form, data[i * 100..(i + 1) * 100].to_vec())
            .await;
        resp.assert_status(StatusCode::ACCEPTED);
        assert_eq!(
            resp.header("range"),
            Some(format!("0-{}", (i + 1) * 100 - 1).as_str())
        );
        location = resp.location().to_owned();
    }
    let resp = app
        .request(Method::PUT, &with_query(&location, "digest", &digest))
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    app.assert_blob(NAME, &data).await;
}

#[tokio::test]
async fn retrying_an_accepted_chunk_is_refused_with_416() {
    let app = TestApp::new();
    let data = random_bytes(200);
    let location = app.start_upload(NAME).await;
    let first = app
        .patch_range(&location, "0-99", data[..100].to_vec())
        .await;
    first.assert_status(StatusCode::ACCEPTED);
    let retry = app
        .patch_range(&location, "0-99", data[..100].to_vec())
        .await;
    retry.assert_status(StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(retry.header("range"), Some("0-99"));
    // The session is intact: status still reports the first chunk and the upload completes.
    let status = app.get(&location).await;
    status.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), Some("0-99"));
    let resp = app
        .request(
            Method::PUT,
            &with_query(&location, "digest", &sha256(&data)),
        )
        .header("content-range", "100-199")
        .body(data[100..].to_vec())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    app.assert_blob(NAME, &data).await;
}

/// A chunk whose `Content-Range` names another length than its body is refused before any of it
/// is stored.
#[tokio::test]
async fn chunk_whose_range_disagrees_with_its_length_is_refused() {
    let app = TestApp::new();
    let data = random_bytes(150);
    let location = app.start_upload(NAME).await;
    let resp = app
        .request(Method::PATCH, &location)
        .header("content-range", "0-99")
        .header("content-length", "50")
        .body(data[..50].to_vec())
        .send()
        .await;
    resp.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    let status = app.get(&location).await;
    status.assert_status(StatusCode::NO_CONTENT);
    assert_eq!(status.header("range"), Some("0-0"));
    let resp = app
        .request(Method::PATCH, &location)
        .header("content-range", "0-149")
        .header("content-length", "150")
        .body(data.clone())
        .send()
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    let resp = app
        .request(
            Method::PUT,
            &with_query(&location, "digest", &sha256(&data)),
        )
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    app.assert_blob(NAME, &data).await;
}

#[tokio::test]
async fn put_with_the_final_chunk() {
    let app = TestApp::new();
    let data = random_bytes(5000);
    let digest = sha256(&data);
    let location = app.start_upload(NAME).await;
    let resp = app
        .request(Method::PATCH, &location)
        .header("content-type", "application/octet-stream")
        .header("content-range", "0-2999")
        .body(data[..3000].to_vec())
        .send()
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    let resp = app
        .request(Method::PUT, &with_query(resp.location(), "digest", &digest))
        .header("content-type", "application/octet-stream")
        .header("content-range", "3000-4999")
        .header("content-length", "2000")
        .body(data[3000..].to_vec())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(resp.location(), format!("/v2/{NAME}/blobs/{digest}"));
    assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
    app.assert_blob(NAME, &data).await;
}

#[tokio::test]
async fn upload_status_reports_range_location_and_uuid() {
    let app = TestApp::new();
    let location = app.start_upload(NAME).await;
    let resp = app
        .request(Method::PATCH, &location)
        .body(random_bytes(777))
        .send()
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    let resp = app.get(&location).await;
    resp.assert_status(StatusCode::NO_CONTENT);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("range"), Some("0-776"));
    assert_eq!(
        resp.header("docker-upload-uuid"),
        Some(session_id(&location))
    );
    assert!(
        resp.location()
            .starts_with(&format!("/v2/{NAME}/blobs/uploads/")),
        "{}",
        resp.location()
    );
}

#[tokio::test]
async fn cancelled_upload_is_unknown() {
    let app = TestApp::new();
    let location = app.start_upload(NAME).await;
    let resp = app.delete(&location).await;
    resp.assert_status(StatusCode::NO_CONTENT);
    app.get(&location)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    let resp = app
        .request(Method::PATCH, &location)
        .body(random_bytes(10))
        .send()
        .await;
    resp.assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn post_opens_a_session_with_chunk_min_length() {
    let app = TestApp::new();
    let resp = app
        .request(Method::POST, &format!("/v2/{NAME}/blobs/uploads/"))
        .header("content-length", "0")
        .send()
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    let min: u64 = resp
        .header("oci-chunk-min-length")
        .expect("OCI-Chunk-Min-Length")
        .parse()
        .expect("a number");
    assert!(min > 0);
    let location = resp.location();
    assert!(
        location.starts_with(&format!("/v2/{NAME}/blobs/uploads/")),
        "{location}"
    );
    assert_eq!(
        resp.header("docker-upload-uuid"),
        Some(session_id(location))
    );
    // The path without the trailing slash opens a session too.
    let resp = app
        .request(Method::POST, &format!("/v2/{NAME}/blobs/uploads"))
        .send()
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
}

#[tokio::test]
async fn empty_blob_can_be_uploaded() {
    let app = TestApp::new();
    let digest = sha256(b"");
    let location = app.start_upload(NAME).await;
    let resp = app
        .request(Method::PUT, &with_query(&location, "digest", &digest))
        .header("content-length", "0")
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    let resp = app.get(&format!("/v2/{NAME}/blobs/{digest}")).await;
    resp.assert_status(StatusCode::OK);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("content-length"), Some("0"));
}

#[tokio::test]
async fn sha512_digests_are_verified_and_served() {
    let app = TestApp::new();
    let data = random_bytes(2048);
    let digest = sha512(&data);
    let resp = app
        .request(
            Method::POST,
            &format!("/v2/{NAME}/blobs/uploads/?digest={digest}"),
        )
        .body(data.clone())
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
    let resp = app.get(&format!("/v2/{NAME}/blobs/{digest}")).await;
    resp.assert_status(StatusCode::OK);
    assert_eq!(resp.body.as_ref(), &data[..]);
    assert_eq!(sha512(&resp.body), digest);
}

#[tokio::test]
async fn mount_from_a_source_holding_the_blob_answers_201() {
    let app = TestApp::new();
    let data = random_bytes(4000);
    let digest = app.push_blob(NAME, &data).await;
    let target = "acme/base/debian";
    let resp = app
        .request(
            Method::POST,
            &format!("/v2/{target}/blobs/uploads/?mount={digest}&from={NAME}"),
        )
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    assert_eq!(resp.location(), format!("/v2/{target}/blobs/{digest}"));
    assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
    app.assert_blob(target, &data).await;
    // Mounting across projects works the same way.
    let resp = app
        .request(
            Method::POST,
            &format!("/v2/other/base/debian/blobs/uploads/?mount={digest}&from={NAME}"),
        )
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    app.assert_blob("other/base/debian", &data).await;
}

#[tokio::test]
async fn mount_without_the_blob_falls_back_to_an_upload_session() {
    let app = TestApp::new();
    let data = random_bytes(100);
    let digest = sha256(&data);
    let target = "acme/base/debian";
    for query in [
        format!("mount={digest}&from={NAME}"),
        format!("mount={digest}"),
        format!("mount={digest}&from=Not/A/Valid/Name"),
    ] {
        let resp = app
            .request(
                Method::POST,
                &format!("/v2/{target}/blobs/uploads/?{query}"),
            )
            .send()
            .await;
        resp.assert_status(StatusCode::ACCEPTED);
        let location = resp.location();
        assert!(
            location.starts_with(&format!("/v2/{target}/blobs/uploads/")),
            "{query}: {location}"
        );
        // The session works: complete it with the blob.
        let resp = app
            .request(Method::PUT, &with_query(location, "digest", &digest))
            .body(data.clone())
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
    }
    app.assert_blob(target, &data).await;
    // The source never had it.
    app.get(&format!("/v2/{NAME}/blobs/{digest}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn an_upload_can_be_resumed_from_its_status() {
    let app = TestApp::new();
    let data = random_bytes(9000);
    let location = app.start_upload(NAME).await;
    let resp = app
        .patch_range(&location, "0-4499", data[..4500].to_vec())
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    // A client that lost track asks where the upload stands and continues from there.
    let status = app.get(&location).await;
    status.assert_status(StatusCode::NO_CONTENT);
    let range = status.header("range").unwrap();
    let next: usize = range.strip_prefix("0-").unwrap().parse::<usize>().unwrap() + 1;
    assert_eq!(next, 4500);
    let resp = app
        .patch_range(
            status.location(),
            &format!("{next}-8999"),
            data[next..].to_vec(),
        )
        .await;
    resp.assert_status(StatusCode::ACCEPTED);
    let resp = app
        .request(
            Method::PUT,
            &with_query(resp.location(), "digest", &sha256(&data)),
        )
        .send()
        .await;
    resp.assert_status(StatusCode::CREATED);
    app.assert_blob(NAME, &data).await;
}
