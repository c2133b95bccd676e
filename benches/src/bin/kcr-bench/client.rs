//! A lean OCI distribution client over hyper-util's pooled HTTP/1.1 client: blob pushes
//! (monolithic, chunked, streamed), manifest pushes, verified pulls, metadata reads; anonymous,
//! or authenticated as a Docker client is (see `auth.rs`).

use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::stream::{self, Stream};
use http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LINK, LOCATION,
    WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use sha2::Digest as _;

use crate::auth::{self, ClientAuth};
use crate::data::{Blob, Image};
use crate::Result;

/// Request bodies: in-memory or streamed.
pub type ReqBody = BoxBody<Bytes, io::Error>;

/// What a manifest GET accepts.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.v2+json, \
application/vnd.docker.distribution.manifest.list.v2+json";

/// How a server takes a blob in "one" upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Monolithic {
    /// `POST /blobs/uploads/?digest=` with the body: one request (OCI "single POST").
    SinglePost,
    /// `POST` for a session, then `PUT <location>?digest=` with the body: two requests (what a
    /// server that ignores `?digest` on POST, such as Distribution 2.8, supports).
    PostThenPut,
}

impl Monolithic {
    /// How it reads in the report.
    pub fn describe(self) -> &'static str {
        match self {
            Monolithic::SinglePost => "single POST ?digest",
            Monolithic::PostThenPut => "POST + PUT ?digest",
        }
    }
}

/// A client of one registry.
#[derive(Clone)]
pub struct Registry {
    client: HyperClient<HttpConnector, ReqBody>,
    base: String,
    auth: Arc<ClientAuth>,
    /// The monolithic upload this server supports (probed at start).
    pub monolithic: Monolithic,
}

/// A request body. In memory ones can be sent again after a token was fetched; a streamed one
/// cannot, so its request must find a token cached (an earlier request of the same upload got
/// one).
pub enum Payload {
    /// No body.
    Empty,
    /// These bytes.
    Bytes(Bytes),
    /// A stream, sent once.
    Stream(ReqBody),
}

impl Payload {
    /// A copy to send again, when the body can be sent again.
    fn again(&self) -> Option<Payload> {
        match self {
            Payload::Empty => Some(Payload::Empty),
            Payload::Bytes(b) => Some(Payload::Bytes(b.clone())),
            Payload::Stream(_) => None,
        }
    }

    fn into_body(self) -> ReqBody {
        match self {
            Payload::Empty => Empty::new()
                .map_err(|never: Infallible| match never {})
                .boxed(),
            Payload::Bytes(b) => Full::new(b)
                .map_err(|never: Infallible| match never {})
                .boxed(),
            Payload::Stream(s) => s,
        }
    }
}

fn full(bytes: Bytes) -> Payload {
    Payload::Bytes(bytes)
}

fn empty() -> Payload {
    Payload::Empty
}

/// `url` with `digest=` added to its query.
fn with_digest(url: &str, digest: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}digest={}", digest.replace(':', "%3A"))
}

impl Registry {
    /// A client of the registry at `addr` (`127.0.0.1:port`).
    pub fn new(addr: std::net::SocketAddr) -> Registry {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_max_idle_per_host(64)
            .build(connector);
        Registry {
            client,
            base: format!("http://{addr}"),
            auth: Arc::new(ClientAuth::Anonymous),
            monolithic: Monolithic::PostThenPut,
        }
    }

    /// The same client, authenticating with `auth`.
    pub fn with_auth(mut self, auth: ClientAuth) -> Registry {
        self.auth = Arc::new(auth);
        self
    }

    /// Its credentials (for the token count and resets).
    pub fn auth(&self) -> &ClientAuth {
        &self.auth
    }

    /// An absolute URL from a path or a `Location` (which may be absolute already).
    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    async fn request(
        &self,
        method: Method,
        url: &str,
        headers: &[(http::HeaderName, String)],
        authorization: Option<HeaderValue>,
        body: Payload,
    ) -> Result<Response<Incoming>> {
        let mut req = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        if let Some(a) = authorization {
            req = req.header(AUTHORIZATION, a);
        }
        let req = req.body(body.into_body())?;
        Ok(self.client.request(req).await?)
    }

    /// Sends with the client's credentials. In token mode a request goes with the cached token
    /// of its scope; one with a body and no token cached gets its token first (the realm is
    /// known from [`Registry::login`]); a `401` with a Bearer challenge fetches a token for the
    /// challenged scope, caches it under the request's scope, and sends the request once more.
    async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(http::HeaderName, String)],
        body: Payload,
    ) -> Result<Response<Incoming>> {
        let ClientAuth::Token { basic, cache } = self.auth.as_ref() else {
            let authorization = self.auth.fixed_header();
            return self
                .request(method, url, headers, authorization, body)
                .await;
        };
        let scope = auth::scope_of(&method, url);
        let mut authorization = cache.get(scope, Instant::now());
        if authorization.is_none() && !matches!(body, Payload::Empty) {
            if let Some(challenge) = cache.challenge_for(scope) {
                authorization = Some(self.token(&challenge, basic, cache, scope).await?);
            }
        }
        let again = body.again();
        let resp = self
            .request(method.clone(), url, headers, authorization, body)
            .await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let Some(challenge) = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::parse_challenge)
        else {
            return Ok(resp);
        };
        let Some(body) = again else {
            return Err(format!(
                "{method} {url}: 401 on a streamed request, which cannot be sent again \
                 (no token endpoint known before it)"
            )
            .into());
        };
        let _ = resp.into_body().collect().await;
        cache.learn(&challenge);
        let token = self.token(&challenge, basic, cache, scope).await?;
        self.request(method, url, headers, Some(token), body).await
    }

    /// Fetches a token as `challenge` asks and caches it under `scope`.
    async fn token(
        &self,
        challenge: &auth::Challenge,
        basic: &HeaderValue,
        cache: &auth::TokenCache,
        scope: Option<auth::Scope<'_>>,
    ) -> Result<HeaderValue> {
        let fetched = Instant::now();
        let (token, ttl) = self.fetch_token(challenge, basic).await?;
        cache.put(scope, token.clone(), fetched, ttl);
        Ok(token)
    }

    /// Signs in as a Docker client does before its first request: `GET /v2/`, which with token
    /// auth answers 401 with the challenge naming the token endpoint (remembered), and with
    /// Basic credentials must answer 200 (the key works).
    pub async fn login(&self) -> Result<()> {
        let url = self.url("/v2/");
        let authorization = self.auth.fixed_header();
        let resp = self
            .request(Method::GET, &url, &[], authorization, Payload::Empty)
            .await?;
        let status = resp.status();
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(auth::parse_challenge);
        let _ = resp.into_body().collect().await;
        match (self.auth.as_ref(), status, challenge) {
            (ClientAuth::Token { cache, .. }, StatusCode::UNAUTHORIZED, Some(c)) => {
                cache.learn(&c);
                Ok(())
            }
            (ClientAuth::Token { .. }, s, _) => {
                Err(format!("GET {url}: expected 401 with a Bearer challenge, got {s}").into())
            }
            (_, StatusCode::OK, _) => Ok(()),
            (_, s, _) => Err(format!("GET {url}: expected 200, got {s}").into()),
        }
    }

    /// `GET <realm>?service=&scope=` with the access key: the token and its lifetime.
    async fn fetch_token(
        &self,
        challenge: &auth::Challenge,
        basic: &HeaderValue,
    ) -> Result<(HeaderValue, std::time::Duration)> {
        let url = auth::token_url(challenge);
        let resp = self
            .request(Method::GET, &url, &[], Some(basic.clone()), Payload::Empty)
            .await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        if status != StatusCode::OK {
            return Err(format!(
                "GET {url}: expected 200, got {status}: {}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            )
            .into());
        }
        auth::parse_token_response(&bytes)
    }

    /// Sends, reads the whole answer, and checks the status.
    async fn call(
        &self,
        method: Method,
        url: &str,
        headers: &[(http::HeaderName, String)],
        body: Payload,
        expect: StatusCode,
    ) -> Result<(HeaderMap, Bytes)> {
        let resp = self.send(method.clone(), url, headers, body).await?;
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await?.to_bytes();
        if parts.status != expect {
            return Err(format!(
                "{method} {url}: expected {expect}, got {}: {}",
                parts.status,
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            )
            .into());
        }
        Ok((parts.headers, bytes))
    }

    fn location(headers: &HeaderMap) -> Result<String> {
        Ok(headers
            .get(LOCATION)
            .ok_or("upload response without Location")?
            .to_str()?
            .to_owned())
    }

    /// `GET /v2/`: 200 (open) or 401 (authentication required) once the server is up.
    pub async fn ping(&self) -> bool {
        match self
            .send(Method::GET, &self.url("/v2/"), &[], empty())
            .await
        {
            Ok(r) => {
                let ok = r.status() == StatusCode::OK || r.status() == StatusCode::UNAUTHORIZED;
                let _ = r.into_body().collect().await;
                ok
            }
            Err(_) => false,
        }
    }

    /// Finds out whether the server completes a `POST ?digest` upload in one request.
    pub async fn probe_monolithic(&mut self, name: &str) -> Result<()> {
        let blob = Blob::new(Bytes::from_static(b"kcr-bench probe"));
        let url = with_digest(
            &self.url(&format!("/v2/{name}/blobs/uploads/")),
            &blob.digest,
        );
        let resp = self
            .send(
                Method::POST,
                &url,
                &[
                    (CONTENT_TYPE, "application/octet-stream".into()),
                    (CONTENT_LENGTH, blob.bytes.len().to_string()),
                ],
                full(blob.bytes.clone()),
            )
            .await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let _ = resp.into_body().collect().await;
        self.monolithic = match status {
            StatusCode::CREATED => Monolithic::SinglePost,
            StatusCode::ACCEPTED => {
                // The body was ignored: cancel the session it opened.
                if let Ok(loc) = Self::location(&headers) {
                    let _ = self
                        .send(Method::DELETE, &self.url(&loc), &[], empty())
                        .await;
                }
                Monolithic::PostThenPut
            }
            other => return Err(format!("probe upload answered {other}").into()),
        };
        Ok(())
    }

    async fn start_session(&self, name: &str) -> Result<String> {
        let (headers, _) = self
            .call(
                Method::POST,
                &self.url(&format!("/v2/{name}/blobs/uploads/")),
                &[(CONTENT_LENGTH, "0".into())],
                empty(),
                StatusCode::ACCEPTED,
            )
            .await?;
        Ok(self.url(&Self::location(&headers)?))
    }

    /// Pushes a blob in one upload (see [`Monolithic`]).
    pub async fn push_blob_monolithic(&self, name: &str, blob: &Blob) -> Result<()> {
        let headers = [
            (CONTENT_TYPE, "application/octet-stream".to_owned()),
            (CONTENT_LENGTH, blob.bytes.len().to_string()),
        ];
        match self.monolithic {
            Monolithic::SinglePost => {
                let url = with_digest(
                    &self.url(&format!("/v2/{name}/blobs/uploads/")),
                    &blob.digest,
                );
                self.call(
                    Method::POST,
                    &url,
                    &headers,
                    full(blob.bytes.clone()),
                    StatusCode::CREATED,
                )
                .await?;
            }
            Monolithic::PostThenPut => {
                let session = self.start_session(name).await?;
                self.call(
                    Method::PUT,
                    &with_digest(&session, &blob.digest),
                    &headers,
                    full(blob.bytes.clone()),
                    StatusCode::CREATED,
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Pushes a blob as POST, one PATCH per `chunk` bytes (with `Content-Range`), then PUT.
    pub async fn push_blob_chunked(&self, name: &str, blob: &Blob, chunk: usize) -> Result<()> {
        let mut location = self.start_session(name).await?;
        let mut start = 0usize;
        while start < blob.bytes.len() {
            let end = (start + chunk).min(blob.bytes.len());
            let (headers, _) = self
                .call(
                    Method::PATCH,
                    &location,
                    &[
                        (CONTENT_TYPE, "application/octet-stream".into()),
                        (CONTENT_LENGTH, (end - start).to_string()),
                        (CONTENT_RANGE, format!("{start}-{}", end - 1)),
                    ],
                    full(blob.bytes.slice(start..end)),
                    StatusCode::ACCEPTED,
                )
                .await?;
            location = self.url(&Self::location(&headers)?);
            start = end;
        }
        self.call(
            Method::PUT,
            &with_digest(&location, &blob.digest),
            &[(CONTENT_LENGTH, "0".into())],
            empty(),
            StatusCode::CREATED,
        )
        .await?;
        Ok(())
    }

    /// Pushes `size` bytes from `frames` as POST, one streamed PATCH, PUT (what docker does).
    pub async fn push_blob_streamed<S>(
        &self,
        name: &str,
        digest: &str,
        size: u64,
        frames: S,
    ) -> Result<()>
    where
        S: Stream<Item = Bytes> + Send + Sync + 'static,
    {
        use futures_util::StreamExt;
        let location = self.start_session(name).await?;
        let body = Payload::Stream(BodyExt::boxed(StreamBody::new(
            frames.map(|b| Ok::<_, io::Error>(Frame::data(b))),
        )));
        let (headers, _) = self
            .call(
                Method::PATCH,
                &location,
                &[
                    (CONTENT_TYPE, "application/octet-stream".into()),
                    (CONTENT_LENGTH, size.to_string()),
                ],
                body,
                StatusCode::ACCEPTED,
            )
            .await?;
        let location = self.url(&Self::location(&headers)?);
        self.call(
            Method::PUT,
            &with_digest(&location, digest),
            &[(CONTENT_LENGTH, "0".into())],
            empty(),
            StatusCode::CREATED,
        )
        .await?;
        Ok(())
    }

    /// `PUT /v2/<name>/manifests/<reference>`.
    pub async fn put_manifest(&self, name: &str, reference: &str, body: &Bytes) -> Result<()> {
        self.call(
            Method::PUT,
            &self.url(&format!("/v2/{name}/manifests/{reference}")),
            &[
                (CONTENT_TYPE, kcr_benches::OCI_MANIFEST.into()),
                (CONTENT_LENGTH, body.len().to_string()),
            ],
            full(body.clone()),
            StatusCode::CREATED,
        )
        .await?;
        Ok(())
    }

    /// Pushes an image: its layers and config (monolithic or in `chunk`-byte PATCHes), then
    /// its manifest under its tag. Returns the bytes pushed.
    pub async fn push_image(&self, image: &Image, chunk: Option<usize>) -> Result<u64> {
        let mut bytes = 0;
        for blob in image.layers.iter().chain([&image.config]) {
            match chunk {
                None => self.push_blob_monolithic(&image.name, blob).await?,
                Some(c) => self.push_blob_chunked(&image.name, blob, c).await?,
            }
            bytes += blob.bytes.len() as u64;
        }
        self.put_manifest(&image.name, &image.tag, &image.manifest)
            .await?;
        Ok(bytes + image.manifest.len() as u64)
    }

    /// `GET` or `HEAD` of a manifest; checks the digest the server names and, for GET, the body.
    pub async fn manifest(
        &self,
        method: Method,
        name: &str,
        reference: &str,
        image: &Image,
    ) -> Result<Bytes> {
        let head = method == Method::HEAD;
        let (headers, body) = self
            .call(
                method,
                &self.url(&format!("/v2/{name}/manifests/{reference}")),
                &[(ACCEPT, MANIFEST_ACCEPT.into())],
                empty(),
                StatusCode::OK,
            )
            .await?;
        let served = headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if served != image.manifest_digest {
            return Err(format!("{name}:{reference}: server named digest {served:?}").into());
        }
        if !head && body != image.manifest {
            return Err(format!("{name}:{reference}: manifest body differs").into());
        }
        Ok(body)
    }

    /// Streams a blob and checks its sha256 and size; returns its size.
    pub async fn pull_blob(&self, name: &str, digest: &str, size: u64) -> Result<u64> {
        let url = self.url(&format!("/v2/{name}/blobs/{digest}"));
        let resp = self.send(Method::GET, &url, &[], empty()).await?;
        if resp.status() != StatusCode::OK {
            return Err(format!("GET {url}: {}", resp.status()).into());
        }
        let mut body = resp.into_body();
        let mut hasher = sha2::Sha256::new();
        let mut n = 0u64;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                hasher.update(&data);
                n += data.len() as u64;
            }
        }
        let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
        if actual != digest || n != size {
            return Err(format!("{url}: got {n} bytes hashing to {actual}").into());
        }
        Ok(n)
    }

    /// Pulls an image by tag as a client would: the manifest, then each blob it lists, each
    /// verified. Returns the bytes pulled.
    pub async fn pull_image(&self, image: &Image) -> Result<u64> {
        let body = self
            .manifest(Method::GET, &image.name, &image.tag, image)
            .await?;
        let manifest: serde_json::Value = serde_json::from_slice(&body)?;
        let mut blobs = vec![&manifest["config"]];
        blobs.extend(manifest["layers"].as_array().into_iter().flatten());
        let mut total = body.len() as u64;
        for b in blobs {
            let digest = b["digest"].as_str().ok_or("descriptor without digest")?;
            let size = b["size"].as_u64().ok_or("descriptor without size")?;
            total += self.pull_blob(&image.name, digest, size).await?;
        }
        Ok(total)
    }

    /// Lists every tag of `name`, following `Link` pagination; returns how many.
    pub async fn list_tags(&self, name: &str) -> Result<usize> {
        let mut next = Some(format!("/v2/{name}/tags/list"));
        let mut count = 0;
        while let Some(path) = next.take() {
            let (headers, body) = self
                .call(Method::GET, &self.url(&path), &[], empty(), StatusCode::OK)
                .await?;
            let list: serde_json::Value = serde_json::from_slice(&body)?;
            count += list["tags"].as_array().map_or(0, |t| t.len());
            next = headers
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(|l| Some(l[l.find('<')? + 1..l.find('>')?].to_owned()));
        }
        Ok(count)
    }
}

/// `n` repetitions of `pool` as body frames.
pub fn repeat_frames(pool: Bytes, n: usize) -> impl Stream<Item = Bytes> + Send + Sync + 'static {
    stream::iter(std::iter::repeat_n(pool, n))
}
