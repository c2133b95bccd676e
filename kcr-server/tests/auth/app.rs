//! In-process harness: the kcr router with authentication over in-memory stores, driven with tower `oneshot`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use kcr_core::store::kv::{KvEngine, KvMetadataStore};
use kcr_core::store::{BlobStore, MetadataStore, UploadStore};
use kcr_core::testing::{MemoryBlobStore, MemoryKvEngine};
use kcr_core::{Registry, RegistryConfig, Stores};
use kcr_server::auth::{AuthSettings, Authenticator};
use kcr_server::AppState;
use serde_json::{json, Value};

use crate::support::in_process::{self, Resp, HOST};
use crate::support::sha256;

/// The token-signing secret of the in-process apps.
pub const TOKEN_SECRET: [u8; 32] = [42u8; 32];
/// The bootstrap administrator's password.
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";
/// OCI manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No `Authorization` header.
    None,
    /// `Basic user:secret` (a user name and password, or an access key id and secret).
    Basic(String, String),
    /// `Bearer <token>`.
    Bearer(String),
}

impl Auth {
    /// Basic credentials.
    pub fn basic(user: &str, secret: &str) -> Auth {
        Auth::Basic(user.to_owned(), secret.to_owned())
    }

    fn header(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::Basic(u, s) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{s}"))
            )),
            Auth::Bearer(t) => Some(format!("Bearer {t}")),
        }
    }
}

/// The router with authentication, and handles on its stores for inspection.
#[derive(Clone)]
pub struct App {
    router: Router,
    /// The registry service (same stores as the router).
    pub registry: Registry,
    /// The metadata engine, for scanning everything stored.
    pub kv: Arc<MemoryKvEngine>,
    /// Blob bytes and upload sessions.
    pub blobs: Arc<MemoryBlobStore>,
}

impl App {
    /// A registry that does not create repositories on push, with the admin bootstrapped.
    pub async fn new() -> App {
        App::with_settings(AuthSettings::default()).await
    }

    /// As [`App::new`] with authenticator settings.
    pub async fn with_settings(settings: AuthSettings) -> App {
        let kv = Arc::new(MemoryKvEngine::new());
        let blobs = Arc::new(MemoryBlobStore::new());
        let meta: Arc<dyn MetadataStore> = Arc::new(KvMetadataStore::new(kv.clone()));
        let registry = Registry::new(
            Stores {
                blobs: blobs.clone(),
                uploads: blobs.clone(),
                meta: meta.clone(),
            },
            RegistryConfig {
                create_on_push: false,
                ..Default::default()
            },
        );
        let generated = kcr_server::bootstrap::ensure_admin(meta.as_ref(), Some(ADMIN_PASSWORD))
            .await
            .expect("bootstrap");
        assert!(
            generated.is_none(),
            "the given password is used, none generated"
        );
        let auth = Authenticator::new(meta, &TOKEN_SECRET, settings).expect("authenticator");
        let state = AppState::new(registry.clone()).with_auth(Arc::new(auth));
        App {
            router: kcr_server::router(state),
            registry,
            kv,
            blobs,
        }
    }

    /// Sends a request from the default client address (127.0.0.1).
    pub async fn call(&self, method: Method, uri: &str, auth: &Auth, body: Option<Value>) -> Resp {
        let (body, ct) = match body {
            Some(v) => (
                serde_json::to_vec(&v).expect("json"),
                Some("application/json"),
            ),
            None => (Vec::new(), None),
        };
        self.send(method, uri, auth, &[], ct, body, None).await
    }

    /// `GET uri`.
    pub async fn get(&self, uri: &str, auth: &Auth) -> Resp {
        self.call(Method::GET, uri, auth, None).await
    }

    /// `POST uri` with a JSON body.
    pub async fn post(&self, uri: &str, auth: &Auth, body: Value) -> Resp {
        self.call(Method::POST, uri, auth, Some(body)).await
    }

    /// `PUT uri` with a JSON body.
    pub async fn put(&self, uri: &str, auth: &Auth, body: Value) -> Resp {
        self.call(Method::PUT, uri, auth, Some(body)).await
    }

    /// `DELETE uri`.
    pub async fn delete(&self, uri: &str, auth: &Auth) -> Resp {
        self.call(Method::DELETE, uri, auth, None).await
    }

    /// Sends any request; `client` sets the peer address the server sees.
    #[allow(clippy::too_many_arguments)]
    pub async fn send(
        &self,
        method: Method,
        uri: &str,
        auth: &Auth,
        headers: &[(&str, &str)],
        content_type: Option<&str>,
        body: Vec<u8>,
        client: Option<IpAddr>,
    ) -> Resp {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("host", HOST);
        if let Some(h) = auth.header() {
            b = b.header("authorization", h);
        }
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let mut request = b.body(Body::from(body)).expect("request");
        if let Some(ip) = client {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
        }
        in_process::send(&self.router, request).await
    }

    /// Every key and value the metadata store holds.
    pub fn stored_metadata(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.kv.scan(&[], None, usize::MAX).expect("scan")
    }

    /// Open upload sessions.
    pub async fn upload_sessions(&self) -> usize {
        let later = SystemTime::now() + Duration::from_secs(3600);
        self.blobs.stale(later).await.expect("stale").len()
    }

    /// Blobs in the blob store.
    pub async fn stored_blobs(&self) -> usize {
        self.blobs.inventory().await.expect("inventory").len()
    }

    /// A token from `/v2/token` for `scopes`, asserting 200.
    pub async fn token(&self, auth: &Auth, scopes: &[&str]) -> String {
        let r = self.token_response(auth, scopes).await;
        r.assert_status(200);
        r.json()["token"].as_str().expect("token").to_owned()
    }

    /// The raw `/v2/token` response for `scopes`.
    pub async fn token_response(&self, auth: &Auth, scopes: &[&str]) -> Resp {
        let mut uri = "/v2/token?service=kcr".to_owned();
        for s in scopes {
            uri.push_str("&scope=");
            uri.push_str(
                &s.replace(':', "%3A")
                    .replace(',', "%2C")
                    .replace('/', "%2F"),
            );
        }
        self.get(&uri, auth).await
    }

    /// Pushes a blob monolithically; returns the response.
    pub async fn push_blob(&self, name: &str, auth: &Auth, data: &[u8]) -> Resp {
        let uri = format!("/v2/{name}/blobs/uploads/?digest={}", sha256(data));
        self.send(
            Method::POST,
            &uri,
            auth,
            &[],
            Some("application/octet-stream"),
            data.to_vec(),
            None,
        )
        .await
    }

    /// PUTs a manifest.
    pub async fn put_manifest(
        &self,
        name: &str,
        reference: &str,
        auth: &Auth,
        image: &TestImage,
    ) -> Resp {
        self.send(
            Method::PUT,
            &format!("/v2/{name}/manifests/{reference}"),
            auth,
            &[],
            Some(OCI_MANIFEST),
            image.manifest.clone(),
            None,
        )
        .await
    }

    /// Pushes an image (blobs, then the manifest under `tag`); the first refused step's
    /// response, or the manifest PUT's 201.
    pub async fn push_image(&self, name: &str, tag: &str, auth: &Auth, image: &TestImage) -> Resp {
        for blob in [&image.config, &image.layer] {
            let r = self.push_blob(name, auth, blob).await;
            if r.status != StatusCode::CREATED {
                return r;
            }
        }
        self.put_manifest(name, tag, auth, image).await
    }

    /// GETs a manifest.
    pub async fn get_manifest(&self, name: &str, reference: &str, auth: &Auth) -> Resp {
        self.send(
            Method::GET,
            &format!("/v2/{name}/manifests/{reference}"),
            auth,
            &[("accept", OCI_MANIFEST)],
            None,
            Vec::new(),
            None,
        )
        .await
    }

    /// Pulls an image (manifest and both blobs), asserting the bytes match `image`.
    pub async fn assert_pull(&self, name: &str, tag: &str, auth: &Auth, image: &TestImage) {
        let m = self.get_manifest(name, tag, auth).await;
        m.assert_status(200);
        assert_eq!(m.body.as_ref(), image.manifest.as_slice(), "manifest bytes");
        assert_eq!(
            m.header("docker-content-digest"),
            Some(image.digest().as_str())
        );
        for blob in [&image.config, &image.layer] {
            let r = self
                .get(&format!("/v2/{name}/blobs/{}", sha256(blob)), auth)
                .await;
            r.assert_status(200);
            assert_eq!(r.body.as_ref(), blob.as_slice(), "blob bytes");
        }
    }
}

/// A small OCI image: a config, one layer, and the manifest over them.
pub struct TestImage {
    /// Config bytes.
    pub config: Vec<u8>,
    /// Layer bytes.
    pub layer: Vec<u8>,
    /// Manifest bytes.
    pub manifest: Vec<u8>,
}

impl TestImage {
    /// An image whose content depends on `seed`.
    pub fn new(seed: &str) -> TestImage {
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64", "os": "linux",
            "rootfs": { "type": "layers", "diff_ids": [] },
            "config": { "Labels": { "seed": seed } }
        }))
        .expect("json");
        let layer = format!("layer bytes of {seed}").repeat(50).into_bytes();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len() },
            "layers": [{ "mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256(&layer), "size": layer.len() }]
        }))
        .expect("json");
        TestImage {
            config,
            layer,
            manifest,
        }
    }

    /// The manifest digest.
    pub fn digest(&self) -> String {
        sha256(&self.manifest)
    }
}

/// The claims of a JWT, decoded without verification.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims JSON")
}

/// The actions a token grants on repository `name`, sorted.
pub fn granted(token: &str, name: &str) -> Vec<String> {
    let mut v: Vec<String> = claims(token)["access"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["type"] == "repository" && a["name"] == name)
        .flat_map(|a| a["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}
