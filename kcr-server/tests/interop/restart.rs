//! Crash safety of the real binary: a chunked upload resumes after `kill -9` and a restart on the
//! same data directory, and an acknowledged manifest push survives `kill -9`.

use reqwest::header::{CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE};
use reqwest::StatusCode;

use crate::support::http::{client, with_query};
use crate::support::images::{media, Blob, Bytes64, PlatformImage};
use crate::support::server_process::KcrServer;
use crate::support::sha256;

const CHUNK: usize = 512 * 1024;
const CHUNKS: usize = 8;

fn header(resp: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    resp.headers()
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {resp:?}"))
        .to_owned()
}

/// Sends chunk `i` of `data` to `location`; returns the next location.
async fn patch(server: &KcrServer, location: &str, data: &[u8], i: usize) -> String {
    let (start, end) = (i * CHUNK, (i + 1) * CHUNK - 1);
    let resp = client()
        .patch(server.location_url(location))
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(CONTENT_RANGE, format!("{start}-{end}"))
        .body(data[start..=end].to_vec())
        .send()
        .await
        .expect("PATCH");
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "chunk {i}: {resp:?}");
    assert_eq!(header(&resp, RANGE), format!("0-{end}"), "chunk {i}");
    header(&resp, LOCATION)
}

#[tokio::test]
async fn chunked_upload_resumes_after_kill_9() {
    let mut server = KcrServer::start_open();
    let data = Bytes64::new(5).take(CHUNK * CHUNKS);
    let digest = sha256(&data);
    let resp = client()
        .post(server.url("/v2/p/r/big/blobs/uploads/"))
        .send()
        .await
        .expect("POST upload");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let mut location = header(&resp, LOCATION);
    for i in 0..CHUNKS / 2 {
        location = patch(&server, &location, &data, i).await;
    }

    server.kill9();
    server.restart();

    let status = client()
        .get(server.location_url(&location))
        .send()
        .await
        .expect("GET upload status");
    assert_eq!(
        status.status(),
        StatusCode::NO_CONTENT,
        "{status:?}\n{}",
        server.log_text()
    );
    let received = CHUNK * CHUNKS / 2;
    assert_eq!(header(&status, RANGE), format!("0-{}", received - 1));
    // A chunk the server already has does not start where the upload ends: 416.
    let repeat = client()
        .patch(server.location_url(&location))
        .header(CONTENT_TYPE, "application/octet-stream")
        .header(
            CONTENT_RANGE,
            format!("{}-{}", received - CHUNK, received - 1),
        )
        .body(data[received - CHUNK..received].to_vec())
        .send()
        .await
        .expect("PATCH out of order");
    assert_eq!(repeat.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    for i in CHUNKS / 2..CHUNKS {
        location = patch(&server, &location, &data, i).await;
    }
    let done = client()
        .put(with_query(
            &server.location_url(&location),
            "digest",
            &digest,
        ))
        .send()
        .await
        .expect("PUT complete");
    assert_eq!(done.status(), StatusCode::CREATED, "{done:?}");
    assert_eq!(
        header(&done, "docker-content-digest".parse().expect("name")),
        digest
    );

    let blob = client()
        .get(server.url(&format!("/v2/p/r/big/blobs/{digest}")))
        .send()
        .await
        .expect("GET blob");
    assert_eq!(blob.status(), StatusCode::OK);
    let body = blob.bytes().await.expect("blob body");
    assert_eq!(body.len(), data.len());
    assert_eq!(sha256(&body), digest);
}

/// Uploads `blob` in one request (`POST ?digest=`).
async fn push_blob(server: &KcrServer, name: &str, blob: &Blob) {
    let resp = client()
        .post(server.url(&format!("/v2/{name}/blobs/uploads/?digest={}", blob.digest)))
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(blob.data.clone())
        .send()
        .await
        .expect("POST blob");
    assert_eq!(resp.status(), StatusCode::CREATED, "{resp:?}");
}

#[tokio::test]
async fn acknowledged_manifest_survives_kill_9() {
    let mut server = KcrServer::start_open();
    let image = PlatformImage::new("linux", "amd64", 2, 60);
    for blob in image.layers.iter().chain([&image.config]) {
        push_blob(&server, "p/r/durable", blob).await;
    }
    let put = client()
        .put(server.url("/v2/p/r/durable/manifests/v1"))
        .header(CONTENT_TYPE, media::MANIFEST)
        .body(image.manifest.data.clone())
        .send()
        .await
        .expect("PUT manifest");
    assert_eq!(put.status(), StatusCode::CREATED, "{put:?}");
    // No grace: SIGKILL right after the acknowledgement.
    server.kill9();
    server.restart();

    let got = client()
        .get(server.url("/v2/p/r/durable/manifests/v1"))
        .header("accept", media::MANIFEST)
        .send()
        .await
        .expect("GET manifest");
    assert_eq!(got.status(), StatusCode::OK, "{}", server.log_text());
    assert_eq!(
        header(&got, "docker-content-digest".parse().expect("name")),
        image.manifest.digest
    );
    assert_eq!(
        got.bytes().await.expect("body").as_ref(),
        image.manifest.data.as_slice()
    );
    for blob in image.layers.iter().chain([&image.config]) {
        let resp = client()
            .get(server.url(&format!("/v2/p/r/durable/blobs/{}", blob.digest)))
            .send()
            .await
            .expect("GET blob");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.bytes().await.expect("body").as_ref(),
            blob.data.as_slice()
        );
    }
    let tags: serde_json::Value = client()
        .get(server.url("/v2/p/r/durable/tags/list"))
        .send()
        .await
        .expect("GET tags")
        .json()
        .await
        .expect("tags JSON");
    assert_eq!(tags["tags"], serde_json::json!(["v1"]));
}
