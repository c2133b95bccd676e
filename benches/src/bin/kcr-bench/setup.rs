//! Untimed setup of a kcr-server running with authentication, through its management API
//! (`/api/v1`, as `kcr` the CLI calls it): signed in as the bootstrap administrator, create the
//! projects and repositories the workload pushes to (with authentication on, a push to a missing
//! repository is refused), then an access key for the registry clients.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

use crate::auth::{basic_header, AccessKey};
use crate::Result;

/// The bootstrap administrator kcr-server creates on first start (in organization `default`).
pub const ADMIN_USER: &str = "admin";

/// The management API of one server, signed in with a user's password.
struct Api {
    client: HyperClient<HttpConnector, Full<Bytes>>,
    base: String,
    authorization: HeaderValue,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Value,
        expect: StatusCode,
    ) -> Result<Value> {
        let url = format!("{}/api/v1{path}", self.base);
        let req = Request::builder()
            .method(method.clone())
            .uri(&url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?;
        let resp = self.client.request(req).await?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .map_err(|e| e.to_string())
            .collect()
            .await?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        if status != expect {
            let message = value["errors"][0]["message"]
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            return Err(
                format!("{method} {url}: expected {expect}, got {status}: {message}").into(),
            );
        }
        Ok(value)
    }
}

/// The `(project, repository)` pairs that OCI names `project/repository/image...` live in.
pub fn repositories<'a>(
    names: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeSet<(String, String)>> {
    names
        .into_iter()
        .map(|n| {
            let mut parts = n.splitn(3, '/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(p), Some(r), Some(_)) => Ok((p.to_owned(), r.to_owned())),
                _ => Err(format!("image name {n:?} is not project/repository/image").into()),
            }
        })
        .collect()
}

/// Creates every project and repository of `repos` (private) and an access key of the
/// administrator, whose password is `password`; returns the key.
pub async fn provision(
    addr: SocketAddr,
    password: &str,
    repos: &BTreeSet<(String, String)>,
) -> Result<AccessKey> {
    let api = Api {
        client: HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new()),
        base: format!("http://{addr}"),
        authorization: basic_header(ADMIN_USER, password)?,
    };
    let projects: BTreeSet<&str> = repos.iter().map(|(p, _)| p.as_str()).collect();
    for p in projects {
        api.call(
            Method::POST,
            "/projects",
            json!({ "id": p }),
            StatusCode::CREATED,
        )
        .await
        .map_err(|e| format!("creating project {p}: {e}"))?;
    }
    for (p, r) in repos {
        api.call(
            Method::POST,
            &format!("/projects/{p}/repositories"),
            json!({ "name": r }),
            StatusCode::CREATED,
        )
        .await
        .map_err(|e| format!("creating repository {p}/{r}: {e}"))?;
    }
    let key = api
        .call(
            Method::POST,
            &format!("/users/{ADMIN_USER}/access-keys"),
            json!({ "description": "kcr-bench" }),
            StatusCode::CREATED,
        )
        .await
        .map_err(|e| format!("creating an access key: {e}"))?;
    let field = |f: &str| {
        key[f]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("access key answer without {f:?}: {key}"))
    };
    Ok(AccessKey {
        id: field("id")?,
        secret: field("secret")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_of_image_names() {
        let r = repositories([
            "bench/small/img-0001",
            "bench/small/img-0002",
            "bench/big/blob",
        ])
        .unwrap();
        let v: Vec<_> = r.iter().map(|(p, r)| format!("{p}/{r}")).collect();
        assert_eq!(v, ["bench/big", "bench/small"]);
        assert!(repositories(["bench/img"]).is_err());
    }
}
