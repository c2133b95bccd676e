//! The kcr router driven in process with tower `oneshot`: the Host every request carries, and
//! buffered responses with their assertions.

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The Host every request carries unless a test says otherwise: path addressing
/// (`/v2/{project}/{repository}/{image}/...`).
pub const HOST: &str = "127.0.0.1:5000";

/// Sends `request` through `router` and collects the whole response.
pub async fn send(router: &Router, request: Request<Body>) -> Resp {
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("the router is infallible");
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .expect("response body must be readable")
        .to_bytes();
    Resp {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// A buffered response.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Resp {
    /// A header as text (`None` when absent or not visible ASCII).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The Location header, which must be present.
    pub fn location(&self) -> &str {
        self.header("location")
            .unwrap_or_else(|| panic!("no Location header in {self:?}"))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, which it must be.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    /// The first error of an error envelope `{"errors":[{"code":...,"message":...}]}`, which the
    /// body must be.
    pub fn error(&self) -> Value {
        let body = self.json();
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("no errors array in {body}"));
        assert!(!errors.is_empty(), "empty errors array");
        errors[0].clone()
    }

    /// The first error code of an error envelope; empty when the body is none.
    pub fn code(&self) -> String {
        self.envelope_field("code")
    }

    /// The first error message of an error envelope; empty when the body is none.
    pub fn message(&self) -> String {
        self.envelope_field("message")
    }

    fn envelope_field(&self, field: &str) -> String {
        let body: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
        body["errors"][0][field].as_str().unwrap_or("").to_owned()
    }

    /// Asserts the status (a `StatusCode` or its number), showing the body otherwise.
    #[track_caller]
    pub fn assert_status<S>(&self, status: S) -> &Self
    where
        S: TryInto<StatusCode>,
        S::Error: std::fmt::Debug,
    {
        assert_eq!(
            self.status,
            status.try_into().expect("a status code"),
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// Asserts status and first error code, nothing more of the body (see
    /// [`Resp::assert_error`]).
    #[track_caller]
    pub fn assert_error_code<S>(&self, status: S, code: &str) -> &Self
    where
        S: TryInto<StatusCode>,
        S::Error: std::fmt::Debug,
    {
        self.assert_status(status);
        assert_eq!(self.code(), code, "body: {}", self.text());
        self
    }

    /// Asserts an OCI error response: status, JSON Content-Type, and a first error with `code` and
    /// a message. Returns the error entry for further checks.
    #[track_caller]
    pub fn assert_error<S>(&self, status: S, code: &str) -> Value
    where
        S: TryInto<StatusCode>,
        S::Error: std::fmt::Debug,
    {
        self.assert_status(status);
        assert_eq!(self.header("content-type"), Some("application/json"));
        let error = self.error();
        assert_eq!(error["code"], code, "error body: {error}");
        assert!(
            error["message"].is_string(),
            "error without message: {error}"
        );
        error
    }
}
