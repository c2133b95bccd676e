//! `ApiError`: the one place where domain errors become HTTP statuses and OCI error codes.

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kcr_core::CoreError;
use serde::Serialize;
use serde_json::Value;

/// An error as the client sees it: status, OCI code, message, detail and extra headers.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// OCI error code (`BLOB_UNKNOWN`...).
    pub code: &'static str,
    /// Human message.
    pub message: String,
    /// Structured detail.
    pub detail: Value,
    /// Extra response headers (`Range` on 416, `WWW-Authenticate` on 401).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The internal cause, logged once by the telemetry layer and never sent.
    pub internal: Option<String>,
}

impl ApiError {
    /// An error with no detail.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            detail: Value::Null,
            headers: Vec::new(),
            internal: None,
        }
    }

    /// Adds detail.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// `NAME_INVALID` 400.
    pub fn name_invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "NAME_INVALID", message)
    }

    /// `DIGEST_INVALID` 400.
    pub fn digest_invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", message)
    }

    /// `BLOB_UPLOAD_INVALID` 400.
    pub fn upload_invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID", message)
    }

    /// `UNSUPPORTED` 405 for a method the endpoint does not have.
    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "the method is not supported on this endpoint",
        )
    }

    /// 404 for a path that is no endpoint of the API.
    pub fn no_such_endpoint() -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "UNSUPPORTED", "no such endpoint")
    }

    /// `TOOMANYREQUESTS` 429.
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TOOMANYREQUESTS", message)
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        use StatusCode as S;
        let message = e.to_string();
        // One exhaustive match: a new domain variant fails to compile until it is mapped.
        match e {
            CoreError::NameInvalid(_) => ApiError::new(S::BAD_REQUEST, "NAME_INVALID", message),
            CoreError::TagInvalid { tag, .. } => {
                ApiError::new(S::BAD_REQUEST, "MANIFEST_INVALID", message)
                    .with_detail(serde_json::json!({ "tag": tag }))
            }
            CoreError::DigestInvalid(_) => ApiError::new(S::BAD_REQUEST, "DIGEST_INVALID", message),
            CoreError::DigestMismatch { expected, actual } => {
                ApiError::new(S::BAD_REQUEST, "DIGEST_INVALID", message).with_detail(
                    serde_json::json!({ "expected": expected.to_string(), "actual": actual.to_string() }),
                )
            }
            CoreError::SizeInvalid(_) => ApiError::new(S::BAD_REQUEST, "SIZE_INVALID", message),
            CoreError::ManifestInvalid { .. } => {
                ApiError::new(S::BAD_REQUEST, "MANIFEST_INVALID", message)
            }
            CoreError::ManifestUnknown { .. } => {
                ApiError::new(S::NOT_FOUND, "MANIFEST_UNKNOWN", message)
            }
            CoreError::ManifestBlobUnknown { digest } => {
                ApiError::new(S::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN", message)
                    .with_detail(serde_json::json!({ "digest": digest.to_string() }))
            }
            CoreError::BlobUnknown { digest } => ApiError::new(S::NOT_FOUND, "BLOB_UNKNOWN", message)
                .with_detail(serde_json::json!({ "digest": digest.to_string() })),
            CoreError::UploadUnknown => ApiError::new(S::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", message),
            CoreError::UploadInvalid { .. } => {
                ApiError::new(S::BAD_REQUEST, "BLOB_UPLOAD_INVALID", message)
            }
            CoreError::RangeInvalid { current_size, .. } => {
                let mut err =
                    ApiError::new(S::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID", message);
                if let Some(size) = current_size {
                    let range = format!("0-{}", size.saturating_sub(1));
                    if let Ok(v) = HeaderValue::from_str(&range) {
                        err = err.with_header(axum::http::header::RANGE, v);
                    }
                }
                err
            }
            CoreError::NameUnknown { hint, .. } => {
                let msg = match hint {
                    Some(h) => format!("{message}; {h}"),
                    None => message,
                };
                ApiError::new(S::NOT_FOUND, "NAME_UNKNOWN", msg)
            }
            CoreError::Unauthenticated => ApiError::new(S::UNAUTHORIZED, "UNAUTHORIZED", message),
            CoreError::Denied { .. } => ApiError::new(S::FORBIDDEN, "DENIED", message),
            CoreError::QuotaExceeded { kind, limit } => {
                ApiError::new(S::FORBIDDEN, "DENIED", message).with_detail(
                    serde_json::json!({ "quota": kind.to_string(), "limit": limit }),
                )
            }
            CoreError::Conflict(_) => ApiError::new(S::CONFLICT, "CONFLICT", message),
            CoreError::Unsupported(_) => {
                ApiError::new(S::METHOD_NOT_ALLOWED, "UNSUPPORTED", message)
            }
            CoreError::Storage(source) => {
                let mut err = ApiError::new(
                    S::INTERNAL_SERVER_ERROR,
                    "UNKNOWN",
                    "internal storage error; the request was not completed",
                );
                err.internal = Some(format!("{source}: {:?}", std::error::Error::source(&source)));
                err
            }
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    errors: [ErrorEntry<'a>; 1],
}

#[derive(Serialize)]
struct ErrorEntry<'a> {
    code: &'a str,
    message: &'a str,
    detail: &'a Value,
}

/// The internal cause of a 5xx, attached to the response for the telemetry layer to log.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody {
            errors: [ErrorEntry {
                code: self.code,
                message: &self.message,
                detail: &self.detail,
            }],
        })
        .unwrap_or_default();
        let mut resp = (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        for (k, v) in self.headers {
            resp.headers_mut().append(k, v);
        }
        if let Some(cause) = self.internal {
            resp.extensions_mut().insert(InternalCause(cause));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kcr_core::{Digest, QuotaKind};

    #[test]
    fn every_domain_error_has_its_code_and_status() {
        let d = Digest::sha256_of(b"x");
        let cases: Vec<(CoreError, u16, &str)> = vec![
            (
                CoreError::NameInvalid(kcr_core::NameError::Empty { what: "x" }),
                400,
                "NAME_INVALID",
            ),
            (
                CoreError::TagInvalid {
                    tag: "-".into(),
                    reason: "r".into(),
                },
                400,
                "MANIFEST_INVALID",
            ),
            (CoreError::DigestInvalid("x".into()), 400, "DIGEST_INVALID"),
            (
                CoreError::DigestMismatch {
                    expected: d.clone(),
                    actual: d.clone(),
                },
                400,
                "DIGEST_INVALID",
            ),
            (CoreError::SizeInvalid("x".into()), 400, "SIZE_INVALID"),
            (CoreError::manifest_invalid("x"), 400, "MANIFEST_INVALID"),
            (
                CoreError::ManifestUnknown {
                    reference: "x".into(),
                },
                404,
                "MANIFEST_UNKNOWN",
            ),
            (
                CoreError::ManifestBlobUnknown { digest: d.clone() },
                400,
                "MANIFEST_BLOB_UNKNOWN",
            ),
            (
                CoreError::BlobUnknown { digest: d.clone() },
                404,
                "BLOB_UNKNOWN",
            ),
            (CoreError::UploadUnknown, 404, "BLOB_UPLOAD_UNKNOWN"),
            (
                CoreError::UploadInvalid { reason: "x".into() },
                400,
                "BLOB_UPLOAD_INVALID",
            ),
            (
                CoreError::RangeInvalid {
                    reason: "x".into(),
                    current_size: Some(3),
                },
                416,
                "BLOB_UPLOAD_INVALID",
            ),
            (
                CoreError::NameUnknown {
                    what: "repository",
                    name: "x".into(),
                    hint: None,
                },
                404,
                "NAME_UNKNOWN",
            ),
            (CoreError::Unauthenticated, 401, "UNAUTHORIZED"),
            (CoreError::Denied { reason: "x".into() }, 403, "DENIED"),
            (
                CoreError::QuotaExceeded {
                    kind: QuotaKind::TagsPerImage,
                    limit: 1,
                },
                403,
                "DENIED",
            ),
            (CoreError::Conflict("x".into()), 409, "CONFLICT"),
            (CoreError::Unsupported("x".into()), 405, "UNSUPPORTED"),
            (
                CoreError::Storage(kcr_core::store::StorageError::NotFound),
                500,
                "UNKNOWN",
            ),
        ];
        for (err, status, code) in cases {
            let api = ApiError::from(err);
            assert_eq!(api.status.as_u16(), status, "{code}");
            assert_eq!(api.code, code);
        }
    }
}
