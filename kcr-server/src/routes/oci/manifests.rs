//! `PUT`/`GET`/`HEAD`/`DELETE /v2/<name>/manifests/<reference>`.

use axum::body::Body;
use axum::http::{header, Method, StatusCode};
use axum::response::Response;
use kcr_core::manifest::{
    DOCKER_LIST, DOCKER_MANIFEST, MAX_MANIFEST_SIZE, OCI_INDEX, OCI_MANIFEST,
};
use kcr_core::{ImagePath, Reference, Tag};

use super::OciRequest;
use crate::error::ApiError;
use crate::http::body::read_limited;
use crate::http::headers::{DOCKER_CONTENT_DIGEST, OCI_SUBJECT};

fn reference(text: &str) -> Result<Reference, ApiError> {
    Ok(text.parse::<Reference>()?)
}

pub async fn put(
    req: OciRequest,
    name: &str,
    image: &ImagePath,
    reference_text: &str,
) -> Result<Response, ApiError> {
    let reference = reference(reference_text)?;
    let extra_tags = req
        .query
        .iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| {
            v.parse::<Tag>().map_err(|e| {
                ApiError::from(kcr_core::CoreError::TagInvalid {
                    tag: v.clone(),
                    reason: e.to_string(),
                })
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let content_type = req.header("content-type").map(str::to_owned);
    let registry = req.state.registry.clone();
    let body = read_limited(req.take_body(), MAX_MANIFEST_SIZE)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "MANIFEST_INVALID",
                format!("could not read the manifest body: {e}"),
            )
        })?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "SIZE_INVALID",
                format!("manifest is larger than the {MAX_MANIFEST_SIZE}-byte limit"),
            )
        })?;
    let pushed = registry
        .put_manifest(
            image,
            &reference,
            &extra_tags,
            content_type.as_deref(),
            body,
        )
        .await?;
    let mut builder = Response::builder()
        .status(StatusCode::CREATED)
        .header(
            header::LOCATION,
            format!("/v2/{name}/manifests/{}", pushed.digest),
        )
        .header(DOCKER_CONTENT_DIGEST, pushed.digest.to_string())
        .header(header::CONTENT_LENGTH, 0);
    if let Some(subject) = &pushed.subject {
        builder = builder.header(OCI_SUBJECT, subject.to_string());
    }
    Ok(builder.body(Body::empty()).unwrap_or_default())
}

const MANIFEST_TYPES: [&str; 4] = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// Whether a client's `Accept` lets it receive `media_type`. Only a header that lists manifest
/// types and omits this one refuses; absent headers, wildcards and generic JSON accept.
fn accepts(accept_values: &[&str], media_type: &str) -> bool {
    let listed: Vec<&str> = accept_values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .filter(|t| !t.is_empty())
        .collect();
    listed.is_empty()
        || listed
            .iter()
            .any(|t| *t == media_type || t.ends_with("/*") || *t == "application/json")
        || !listed.iter().any(|t| MANIFEST_TYPES.contains(t))
}

pub async fn get(
    req: OciRequest,
    image: &ImagePath,
    reference_text: &str,
) -> Result<Response, ApiError> {
    let reference = reference(reference_text)?;
    let stored = req.state.registry.get_manifest(image, &reference).await?;
    let accept: Vec<&str> = req
        .headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !accepts(&accept, &stored.record.media_type) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
            format!(
                "{reference_text} is a {} but the request's Accept header does not allow it",
                stored.record.media_type
            ),
        ));
    }
    let builder = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, &stored.record.media_type)
        .header(header::CONTENT_LENGTH, stored.body.len())
        .header(DOCKER_CONTENT_DIGEST, stored.record.digest.to_string())
        .header(header::ETAG, format!("\"{}\"", stored.record.digest));
    let body = if req.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(stored.body)
    };
    Ok(builder.body(body).unwrap_or_default())
}

pub async fn delete(
    req: OciRequest,
    image: &ImagePath,
    reference_text: &str,
) -> Result<Response, ApiError> {
    let reference = reference(reference_text)?;
    req.state
        .registry
        .delete_manifest(image, &reference)
        .await?;
    Ok(Response::builder()
        .status(StatusCode::ACCEPTED)
        .header(header::CONTENT_LENGTH, 0)
        .body(Body::empty())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation() {
        assert!(accepts(&[], OCI_INDEX));
        assert!(accepts(&["*/*"], OCI_INDEX));
        assert!(accepts(
            &[&format!("{OCI_MANIFEST}, {OCI_INDEX}")],
            OCI_INDEX
        ));
        assert!(!accepts(&[DOCKER_MANIFEST], OCI_INDEX));
        assert!(accepts(&["text/html"], OCI_INDEX));
    }
}
