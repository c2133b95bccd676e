//! Listings: `GET /v2/<name>/tags/list`, `GET /v2/_catalog`, `GET /v2/<name>/referrers/<digest>`.

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::Response;
use std::collections::HashMap;

use kcr_core::access::Action;
use kcr_core::ImagePath;
use serde::Serialize;

use super::{parse_digest, OciRequest};
use crate::error::ApiError;
use crate::http::headers::OCI_FILTERS_APPLIED;
use crate::http::pagination::{next_link, PageQuery};

fn json(body: Vec<u8>, content_type: &str, link: Option<String>) -> Response {
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len());
    if let Some(link) = link {
        b = b.header(header::LINK, link);
    }
    b.body(Body::from(body)).unwrap_or_default()
}

fn page_query(req: &OciRequest) -> Result<PageQuery, ApiError> {
    PageQuery::from_pairs(&req.query)
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, "UNSUPPORTED", m))
}

#[derive(Serialize)]
struct TagList<'a> {
    name: &'a str,
    tags: Vec<&'a str>,
}

pub async fn tags(req: OciRequest, name: &str, image: &ImagePath) -> Result<Response, ApiError> {
    let q = page_query(&req)?;
    let page = req
        .state
        .registry
        .list_tags(image, q.last.as_deref(), q.n)
        .await?;
    let link = match (page.more, page.items.last()) {
        (true, Some(last)) => Some(next_link(
            &format!("/v2/{name}/tags/list"),
            q.n,
            last.as_str(),
        )),
        _ => None,
    };
    let body = TagList {
        name,
        tags: page.items.iter().map(|t| t.as_str()).collect(),
    };
    Ok(json(
        serde_json::to_vec(&body).unwrap_or_default(),
        "application/json",
        link,
    ))
}

#[derive(Serialize)]
struct Catalog {
    repositories: Vec<String>,
}

pub async fn catalog(req: OciRequest) -> Result<Response, ApiError> {
    let q = page_query(&req)?;
    let addressing = req.state.addressing.clone();
    let host = req.host();
    let project = addressing.project_from_host(host);
    // `last` is a name as this client sees it; an unparsable one starts from the beginning.
    let mut last = q
        .last
        .as_deref()
        .and_then(|l| addressing.image_path(host, l).ok());
    let want = q.n.unwrap_or(kcr_core::service::MAX_PAGE);
    let mut visible: Vec<ImagePath> = Vec::new();
    let mut allowed: HashMap<(String, String), bool> = HashMap::new();
    let mut more = false;
    // Only repositories the caller may pull are listed; keep reading pages until `n` visible
    // names are found or the catalog ends.
    while visible.len() < want {
        let page = req
            .state
            .registry
            .catalog(project.as_ref(), last.as_ref(), Some(want - visible.len()))
            .await?;
        for image in &page.items {
            let key = (image.project().to_string(), image.repository().to_string());
            let may = match allowed.get(&key) {
                Some(v) => *v,
                None => {
                    let v = req.may(Action::Pull, image).await?;
                    allowed.insert(key, v);
                    v
                }
            };
            if may {
                visible.push(image.clone());
            }
        }
        more = page.more;
        last = page.items.last().cloned();
        if !page.more || last.is_none() {
            break;
        }
    }
    let names: Vec<String> = visible
        .iter()
        .map(|i| addressing.oci_name(host, i))
        .collect();
    let link = match (more, names.last()) {
        (true, Some(last)) => Some(next_link("/v2/_catalog", q.n, last)),
        _ => None,
    };
    let body = Catalog {
        repositories: names,
    };
    Ok(json(
        serde_json::to_vec(&body).unwrap_or_default(),
        "application/json",
        link,
    ))
}

pub async fn referrers(
    req: OciRequest,
    image: &ImagePath,
    digest: &str,
) -> Result<Response, ApiError> {
    let subject = parse_digest(digest)?;
    let filter = req.query("artifactType").filter(|f| !f.is_empty());
    let index = req
        .state
        .registry
        .referrers(image, &subject, filter)
        .await?;
    let mut resp = json(index.body, kcr_core::manifest::OCI_INDEX, None);
    if index.filtered {
        resp.headers_mut().insert(
            OCI_FILTERS_APPLIED,
            header::HeaderValue::from_static("artifactType"),
        );
    }
    Ok(resp)
}
