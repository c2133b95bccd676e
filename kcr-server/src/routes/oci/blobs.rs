//! `GET`/`HEAD`/`DELETE /v2/<name>/blobs/<digest>`, with single byte ranges.

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use kcr_core::ImagePath;
use tokio_util::io::ReaderStream;

use super::{parse_digest, OciRequest};
use crate::error::ApiError;
use crate::http::headers::{parse_range, RangeError, DOCKER_CONTENT_DIGEST};

/// Read buffer for streaming blobs out.
const READ_CHUNK: usize = 256 * 1024;

pub async fn get(req: OciRequest, image: &ImagePath, digest: &str) -> Result<Response, ApiError> {
    let digest = parse_digest(digest)?;
    let registry = &req.state.registry;
    let info = registry.stat_blob(image, &digest).await?;
    let range = match req.header("range").map(|r| parse_range(r, info.size)) {
        None | Some(Err(RangeError::Ignore)) => None,
        Some(Ok(r)) => Some(r),
        Some(Err(RangeError::Unsatisfiable)) => {
            return Ok(Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{}", info.size))
                .body(Body::empty())
                .unwrap_or_default())
        }
    };
    let builder = Response::builder()
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(DOCKER_CONTENT_DIGEST, digest.to_string())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::ETAG, format!("\"{digest}\""));
    let (status, length, builder) = match range {
        Some(r) => (
            StatusCode::PARTIAL_CONTENT,
            r.len(),
            builder.header(
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", r.start, r.end, info.size),
            ),
        ),
        None => (StatusCode::OK, info.size, builder),
    };
    let builder = builder
        .status(status)
        .header(header::CONTENT_LENGTH, length);
    if req.method == Method::HEAD {
        return Ok(builder.body(Body::empty()).unwrap_or_default());
    }
    let (_, reader) = registry.open_blob(image, &digest, range).await?;
    let body = Body::from_stream(ReaderStream::with_capacity(reader, READ_CHUNK));
    Ok(builder.body(body).unwrap_or_default())
}

pub async fn delete(
    req: OciRequest,
    image: &ImagePath,
    digest: &str,
) -> Result<Response, ApiError> {
    let digest = parse_digest(digest)?;
    req.state.registry.delete_blob(image, &digest).await?;
    Ok(Response::builder()
        .status(StatusCode::ACCEPTED)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default())
}
