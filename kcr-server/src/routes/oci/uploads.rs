//! Upload sessions: `POST` (session, monolithic, or cross-repository mount), `PATCH` (streamed or
//! chunked), `PUT` (complete), `GET` (status) and `DELETE` (cancel).

use axum::body::{Body, HttpBody};
use axum::http::{header, StatusCode};
use axum::response::Response;
use kcr_core::store::{UploadId, UploadState};
use kcr_core::{CoreError, Digest, ImagePath};

use super::{parse_digest, OciRequest};
use crate::error::ApiError;
use crate::http::body::stream;
use crate::http::headers::{
    parse_content_range, DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID, OCI_CHUNK_MIN_LENGTH,
};

/// Smallest chunk we ask clients for; anything works, this only avoids tiny PATCHes.
const CHUNK_MIN_LENGTH: u64 = 1024 * 1024;

fn upload_id(text: &str) -> Result<UploadId, ApiError> {
    text.parse().map_err(|_| CoreError::UploadUnknown.into())
}

fn created(name: &str, digest: &Digest) -> Response {
    Response::builder()
        .status(StatusCode::CREATED)
        .header(header::LOCATION, format!("/v2/{name}/blobs/{digest}"))
        .header(DOCKER_CONTENT_DIGEST, digest.to_string())
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default()
}

fn session(status: StatusCode, name: &str, state: &UploadState) -> Response {
    Response::builder()
        .status(status)
        .header(
            header::LOCATION,
            format!("/v2/{name}/blobs/uploads/{}", state.id),
        )
        .header(header::RANGE, format!("0-{}", state.size.saturating_sub(1)))
        .header(DOCKER_UPLOAD_UUID, state.id.to_string())
        .header(OCI_CHUNK_MIN_LENGTH, CHUNK_MIN_LENGTH)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default()
}

/// Where a chunk starts, from `Content-Range`; a malformed header, or one that names another
/// length than `Content-Length`, is `BLOB_UPLOAD_INVALID`... except that the spec answers an
/// out-of-order chunk with 416, which the store decides.
fn chunk_start(req: &OciRequest) -> Result<Option<u64>, ApiError> {
    let Some(v) = req.header("content-range") else {
        return Ok(None);
    };
    let (start, end) = parse_content_range(v)
        .ok_or_else(|| ApiError::upload_invalid(format!("malformed Content-Range {v:?}")))?;
    let named = end - start + 1;
    match req.header("content-length").map(str::parse::<u64>) {
        Some(Ok(length)) if length != named => Err(ApiError::upload_invalid(format!(
            "Content-Range {v:?} names {named} bytes but the body has {length} (Content-Length)"
        ))),
        _ => Ok(Some(start)),
    }
}

pub async fn start(req: OciRequest, name: &str, image: &ImagePath) -> Result<Response, ApiError> {
    let registry = req.state.registry.clone();
    if let (Some(mount), Some(from)) = (req.query("mount"), req.query("from")) {
        let digest = parse_digest(mount)?;
        // A source that cannot be named, that the caller may not pull from, or that does not
        // hold the blob falls back to an upload, so a mount never reveals a private blob.
        if let Ok(source) = req.image(from) {
            if req.may(kcr_core::access::Action::Pull, &source).await? {
                if let Some(info) = registry.mount_blob(image, &source, &digest).await? {
                    return Ok(created(name, &info.digest));
                }
            }
        }
    } else if let Some(d) = req.query("digest") {
        let digest = parse_digest(d)?;
        let info = registry
            .put_blob(image, &digest, stream(req.take_body()))
            .await?;
        return Ok(created(name, &info.digest));
    }
    let state = registry.start_upload(image).await?;
    Ok(session(StatusCode::ACCEPTED, name, &state))
}

pub async fn status(
    req: OciRequest,
    name: &str,
    image: &ImagePath,
    id: &str,
) -> Result<Response, ApiError> {
    let state = req
        .state
        .registry
        .upload_status(image, &upload_id(id)?)
        .await?;
    Ok(session(StatusCode::NO_CONTENT, name, &state))
}

pub async fn patch(
    req: OciRequest,
    name: &str,
    image: &ImagePath,
    id: &str,
) -> Result<Response, ApiError> {
    let id = upload_id(id)?;
    let start = chunk_start(&req)?;
    let registry = req.state.registry.clone();
    let state = registry
        .append_upload(image, &id, start, stream(req.take_body()))
        .await?;
    Ok(session(StatusCode::ACCEPTED, name, &state))
}

pub async fn finish(
    req: OciRequest,
    name: &str,
    image: &ImagePath,
    id: &str,
) -> Result<Response, ApiError> {
    let id = upload_id(id)?;
    let digest = req
        .query("digest")
        .ok_or_else(|| {
            ApiError::digest_invalid("the digest query parameter is required to complete an upload")
        })
        .and_then(parse_digest)?;
    let start = chunk_start(&req)?;
    let registry = req.state.registry.clone();
    let body = req.take_body();
    let last_chunk = if body.size_hint().exact() == Some(0) {
        None
    } else {
        Some((start, stream(body)))
    };
    let info = registry
        .finish_upload(image, &id, &digest, last_chunk)
        .await?;
    Ok(created(name, &info.digest))
}

pub async fn cancel(req: OciRequest, image: &ImagePath, id: &str) -> Result<Response, ApiError> {
    let id = upload_id(id)?;
    req.state.registry.cancel_upload(image, &id).await?;
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(Body::empty())
        .unwrap_or_default())
}
