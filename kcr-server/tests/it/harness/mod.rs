//! TestApp: the kcr router over in-memory stores, driven in process, plus OCI client helpers.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use axum::Router;
use bytes::Bytes;
use kcr_core::{Registry, RegistryConfig};
use kcr_server::AppState;
use rand::{Rng, RngCore};
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::support::http::with_query;
use crate::support::in_process::{self, Resp, HOST};
use crate::support::sha256;

/// `application/vnd.oci.image.manifest.v1+json`.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.index.v1+json`.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.oci.image.config.v1+json`.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `application/vnd.oci.image.layer.v1.tar+gzip`.
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// `application/vnd.docker.distribution.manifest.v2+json`.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// `application/vnd.docker.distribution.manifest.list.v2+json`.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// `application/vnd.docker.container.image.v1+json`.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// `application/vnd.docker.image.rootfs.diff.tar.gzip`.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// `sha512:<hex>` of `bytes`.
pub fn sha512(bytes: &[u8]) -> String {
    format!("sha512:{}", hex::encode(sha2::Sha512::digest(bytes)))
}

/// `len` random bytes.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

/// The kcr HTTP application over fresh in-memory stores.
#[derive(Clone)]
pub struct TestApp {
    router: Router,
}

impl Default for TestApp {
    fn default() -> Self {
        TestApp::new()
    }
}

impl TestApp {
    /// An app with the default registry configuration (open mode: pushes create projects and
    /// repositories).
    pub fn new() -> Self {
        TestApp::with_config(RegistryConfig::default())
    }

    /// An app over a registry with `config`.
    pub fn with_config(config: RegistryConfig) -> Self {
        let state = AppState::new(Registry::in_memory(config));
        TestApp {
            router: kcr_server::router(state),
        }
    }

    /// Starts a request; `uri` is a path with optional query.
    pub fn request(&self, method: Method, uri: &str) -> Call<'_> {
        Call {
            app: self,
            method,
            uri: uri.to_owned(),
            headers: vec![(header::HOST.as_str().to_owned(), HOST.to_owned())],
            body: Body::empty(),
        }
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str) -> Resp {
        self.request(Method::GET, uri).send().await
    }

    /// `HEAD uri`.
    pub async fn head(&self, uri: &str) -> Resp {
        self.request(Method::HEAD, uri).send().await
    }

    /// `DELETE uri`.
    pub async fn delete(&self, uri: &str) -> Resp {
        self.request(Method::DELETE, uri).send().await
    }

    /// Sends a prepared request.
    pub async fn send(&self, request: Request<Body>) -> Resp {
        in_process::send(&self.router, request).await
    }

    /// `PATCH location` with `Content-Range: range` and `data`; no assertions.
    pub async fn patch_range(&self, location: &str, range: &str, data: Vec<u8>) -> Resp {
        self.request(Method::PATCH, location)
            .header("content-range", range)
            .body(data)
            .send()
            .await
    }

    /// Opens an upload session (`POST /v2/<name>/blobs/uploads/`), asserting 202; returns the
    /// session Location.
    pub async fn start_upload(&self, name: &str) -> String {
        let resp = self
            .request(Method::POST, &format!("/v2/{name}/blobs/uploads/"))
            .send()
            .await;
        resp.assert_status(StatusCode::ACCEPTED);
        resp.location().to_owned()
    }

    /// Pushes a blob monolithically (`POST ...?digest=`), asserting 201; returns its digest.
    pub async fn push_blob(&self, name: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let resp = self
            .request(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/?digest={digest}"),
            )
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
        assert_eq!(resp.location(), format!("/v2/{name}/blobs/{digest}"));
        assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
        digest
    }

    /// Pushes a blob in `chunk`-byte PATCHes with `Content-Range`, then a PUT without body,
    /// asserting every step; returns its digest.
    pub async fn push_blob_chunked(&self, name: &str, data: &[u8], chunk: usize) -> String {
        let digest = sha256(data);
        let mut location = self.start_upload(name).await;
        let mut offset = 0usize;
        for part in data.chunks(chunk.max(1)) {
            let end = offset + part.len() - 1;
            let resp = self
                .request(Method::PATCH, &location)
                .header("content-type", "application/octet-stream")
                .header("content-range", &format!("{offset}-{end}"))
                .body(part.to_vec())
                .send()
                .await;
            resp.assert_status(StatusCode::ACCEPTED);
            assert_eq!(resp.header("range"), Some(format!("0-{end}").as_str()));
            location = resp.location().to_owned();
            offset = end + 1;
        }
        let resp = self
            .request(Method::PUT, &with_query(&location, "digest", &digest))
            .send()
            .await;
        resp.assert_status(StatusCode::CREATED);
        assert_eq!(resp.location(), format!("/v2/{name}/blobs/{digest}"));
        assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
        digest
    }

    /// PUTs a manifest under `reference` with its media type as Content-Type; no assertions.
    pub async fn put_manifest(&self, name: &str, reference: &str, m: &TestManifest) -> Resp {
        self.request(Method::PUT, &format!("/v2/{name}/manifests/{reference}"))
            .header("content-type", &m.media_type)
            .body(m.body.clone())
            .send()
            .await
    }

    /// Pushes an image's blobs (monolithic) and its manifest under `reference`, asserting 201 and
    /// the digest headers.
    pub async fn push_image(&self, name: &str, image: &TestImage, reference: &str) {
        self.push_blob(name, &image.config).await;
        for layer in &image.layers {
            self.push_blob(name, layer).await;
        }
        self.push_manifest(name, reference, &image.manifest).await;
    }

    /// PUTs a manifest whose blobs are present, asserting 201, Location and
    /// `Docker-Content-Digest`.
    pub async fn push_manifest(&self, name: &str, reference: &str, m: &TestManifest) -> Resp {
        let resp = self.put_manifest(name, reference, m).await;
        resp.assert_status(StatusCode::CREATED);
        assert_eq!(
            resp.location(),
            format!("/v2/{name}/manifests/{}", m.digest)
        );
        assert_eq!(
            resp.header("docker-content-digest"),
            Some(m.digest.as_str())
        );
        resp
    }

    /// GETs a manifest and asserts it is exactly `m`: body bytes, Content-Type, Content-Length and
    /// `Docker-Content-Digest`.
    pub async fn assert_manifest(&self, name: &str, reference: &str, m: &TestManifest) {
        let resp = self.get(&format!("/v2/{name}/manifests/{reference}")).await;
        resp.assert_status(StatusCode::OK);
        assert_eq!(resp.body, m.body, "manifest bytes of {name}:{reference}");
        assert_eq!(sha256(&resp.body), m.digest);
        assert_eq!(resp.header("content-type"), Some(m.media_type.as_str()));
        assert_eq!(
            resp.header("content-length"),
            Some(m.body.len().to_string().as_str())
        );
        assert_eq!(
            resp.header("docker-content-digest"),
            Some(m.digest.as_str())
        );
    }

    /// GETs a blob and asserts its bytes and digest.
    pub async fn assert_blob(&self, name: &str, data: &[u8]) {
        let digest = sha256(data);
        let resp = self.get(&format!("/v2/{name}/blobs/{digest}")).await;
        resp.assert_status(StatusCode::OK);
        assert_eq!(sha256(&resp.body), digest, "blob bytes of {name}@{digest}");
        assert_eq!(resp.body.as_ref(), data);
        assert_eq!(resp.header("docker-content-digest"), Some(digest.as_str()));
        assert_eq!(
            resp.header("content-length"),
            Some(data.len().to_string().as_str())
        );
    }

    /// Pulls an image by `reference` and checks the manifest and every blob byte for byte.
    pub async fn assert_image(&self, name: &str, reference: &str, image: &TestImage) {
        self.assert_manifest(name, reference, &image.manifest).await;
        self.assert_blob(name, &image.config).await;
        for layer in &image.layers {
            self.assert_blob(name, layer).await;
        }
    }

    /// The tags list of `name`, asserting 200.
    pub async fn tags(&self, name: &str) -> Vec<String> {
        let resp = self.get(&format!("/v2/{name}/tags/list")).await;
        resp.assert_status(StatusCode::OK);
        string_list(&resp.json()["tags"])
    }
}

/// A JSON array of strings as a `Vec` (`null` is empty).
pub fn string_list(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("string item").to_owned())
            .collect(),
        other => panic!("expected an array of strings, got {other}"),
    }
}

/// A request being built.
pub struct Call<'a> {
    app: &'a TestApp,
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Call<'_> {
    /// Adds a header (replacing the default Host when `name` is `host`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if name.eq_ignore_ascii_case("host") {
            self.headers
                .retain(|(k, _)| !k.eq_ignore_ascii_case("host"));
        }
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends the body as a stream of `chunks` (no exact size known up front, like a
    /// chunked-transfer request).
    pub fn streamed(mut self, chunks: Vec<Vec<u8>>) -> Self {
        let stream = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
        );
        self.body = Body::from_stream(stream);
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Resp {
        let mut builder = Request::builder().method(self.method).uri(&self.uri);
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), HeaderValue::from_str(v).expect("header value"));
        }
        let request = builder.body(self.body).expect("valid request");
        self.app.send(request).await
    }
}

/// A manifest as pushed: exact bytes, digest and media type.
#[derive(Debug, Clone)]
pub struct TestManifest {
    /// The exact bytes.
    pub body: Vec<u8>,
    /// `sha256:` of the bytes.
    pub digest: String,
    /// Media type (the Content-Type it is pushed with).
    pub media_type: String,
}

impl TestManifest {
    /// A manifest from a JSON value, pretty-printed (as real clients do).
    pub fn from_json(value: &Value, media_type: &str) -> Self {
        TestManifest::from_bytes(serde_json::to_vec_pretty(value).expect("json"), media_type)
    }

    /// A manifest from raw bytes.
    pub fn from_bytes(body: Vec<u8>, media_type: &str) -> Self {
        TestManifest {
            digest: sha256(&body),
            body,
            media_type: media_type.to_owned(),
        }
    }

    /// A descriptor of this manifest, for an index or a `subject`.
    pub fn descriptor(&self) -> Value {
        json!({ "mediaType": self.media_type, "digest": self.digest, "size": self.body.len() })
    }
}

/// Which manifest format an image uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// OCI image manifest and index.
    Oci,
    /// Docker schema 2 manifest and manifest list.
    Docker,
}

impl Flavor {
    fn manifest_type(self) -> &'static str {
        match self {
            Flavor::Oci => OCI_MANIFEST,
            Flavor::Docker => DOCKER_MANIFEST,
        }
    }

    fn index_type(self) -> &'static str {
        match self {
            Flavor::Oci => OCI_INDEX,
            Flavor::Docker => DOCKER_LIST,
        }
    }

    fn config_type(self) -> &'static str {
        match self {
            Flavor::Oci => OCI_CONFIG,
            Flavor::Docker => DOCKER_CONFIG,
        }
    }

    fn layer_type(self) -> &'static str {
        match self {
            Flavor::Oci => OCI_LAYER,
            Flavor::Docker => DOCKER_LAYER,
        }
    }
}

/// A random image: config, layers and a manifest naming them with correct digests and sizes.
#[derive(Debug, Clone)]
pub struct TestImage {
    /// Config blob.
    pub config: Vec<u8>,
    /// Layer blobs.
    pub layers: Vec<Vec<u8>>,
    /// The manifest.
    pub manifest: TestManifest,
}

fn blob_descriptor(media_type: &str, data: &[u8]) -> Value {
    json!({ "mediaType": media_type, "digest": sha256(data), "size": data.len() })
}

/// A random image of `layers` layers (1 byte to 8 KiB each).
pub fn random_image(flavor: Flavor, layers: usize) -> TestImage {
    let mut rng = rand::thread_rng();
    let layer_blobs: Vec<Vec<u8>> = (0..layers)
        .map(|_| random_bytes(rng.gen_range(1..8192)))
        .collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {
            "type": "layers",
            "diff_ids": layer_blobs.iter().map(|l| sha256(l)).collect::<Vec<_>>(),
        },
        "config": { "Labels": { "nonce": hex::encode(random_bytes(8)) } },
    }))
    .expect("json");
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": flavor.manifest_type(),
        "config": blob_descriptor(flavor.config_type(), &config),
        "layers": layer_blobs
            .iter()
            .map(|l| blob_descriptor(flavor.layer_type(), l))
            .collect::<Vec<_>>(),
    });
    if flavor == Flavor::Oci {
        manifest["annotations"] = json!({ "org.opencontainers.image.title": "kcr test image" });
    }
    TestImage {
        manifest: TestManifest::from_json(&manifest, flavor.manifest_type()),
        config,
        layers: layer_blobs,
    }
}

/// An index (OCI) or manifest list (Docker) over `children`, one platform each.
pub fn index_of(flavor: Flavor, children: &[&TestManifest]) -> TestManifest {
    let archs = ["amd64", "arm64", "ppc64le", "s390x", "riscv64"];
    let manifests: Vec<Value> = children
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut d = c.descriptor();
            d["platform"] = json!({ "os": "linux", "architecture": archs[i % archs.len()] });
            d
        })
        .collect();
    let value = json!({
        "schemaVersion": 2,
        "mediaType": flavor.index_type(),
        "manifests": manifests,
    });
    TestManifest::from_json(&value, flavor.index_type())
}
