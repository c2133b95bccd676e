//! The OCI Distribution API. One entry point parses the path into an [`OciEndpoint`], takes the
//! authorization decision once, and hands the request to the endpoint's handler.

mod blobs;
pub mod endpoint;
mod listing;
mod manifests;
mod uploads;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kcr_core::ImagePath;

use crate::error::ApiError;
use crate::state::AppState;
pub use endpoint::OciEndpoint;

/// What an endpoint does to an image, for the authorization decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read manifests, blobs, tags, referrers.
    Pull,
    /// Upload blobs, push manifests and tags, cancel one's uploads.
    Push,
    /// Delete manifests, tags, blobs.
    Delete,
}

/// A parsed request on its way to a handler.
pub struct OciRequest {
    /// Shared state.
    pub state: AppState,
    /// Method.
    pub method: Method,
    /// Request headers.
    pub headers: HeaderMap,
    /// Decoded query pairs, in order (repeated keys kept).
    pub query: Vec<(String, String)>,
    /// Body.
    pub body: Body,
}

impl OciRequest {
    /// The Host header.
    pub fn host(&self) -> Option<&str> {
        self.header("host")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of a query parameter.
    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The image a `<name>` designates under this request's addressing.
    pub fn image(&self, name: &str) -> Result<ImagePath, ApiError> {
        self.state.addressing.image_path(self.host(), name)
    }
}

/// Entry point of every `/v2` request.
pub async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = match parts.uri.query() {
        None => Vec::new(),
        Some(q) => match serde_urlencoded::from_str::<Vec<(String, String)>>(q) {
            Ok(pairs) => pairs,
            Err(e) => {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "UNSUPPORTED",
                    format!("malformed query string: {e}"),
                )
                .into_response()
            }
        },
    };
    let req = OciRequest {
        state,
        method: parts.method,
        headers: parts.headers,
        query,
        body,
    };
    let Some(endpoint) = endpoint::parse(parts.uri.path()) else {
        return ApiError::no_such_endpoint().into_response();
    };
    match route(req, endpoint).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

/// The action an endpoint needs, or `None` when the method is not allowed there.
fn required_action(method: &Method, endpoint: &OciEndpoint) -> Option<Action> {
    use OciEndpoint as E;
    let read = *method == Method::GET || *method == Method::HEAD;
    match endpoint {
        E::Base | E::Catalog | E::Tags { .. } | E::Referrers { .. } => read.then_some(Action::Pull),
        E::Manifest { .. } | E::Blob { .. } if read => Some(Action::Pull),
        E::Manifest { .. } if *method == Method::PUT => Some(Action::Push),
        E::Manifest { .. } | E::Blob { .. } if *method == Method::DELETE => Some(Action::Delete),
        E::UploadStart { .. } => (*method == Method::POST).then_some(Action::Push),
        E::Upload { .. } => matches!(
            *method,
            Method::GET | Method::PATCH | Method::PUT | Method::DELETE
        )
        .then_some(Action::Push),
        _ => None,
    }
}

/// The one authorization decision for every OCI operation. The server currently runs only in
/// open mode, where every caller may do everything.
// TODO(issue-4): principals, roles and the kcr-core access policy decide here.
fn authorize(_req: &OciRequest, _action: Action, _image: Option<&ImagePath>) -> Result<(), ApiError> {
    Ok(())
}

async fn route(req: OciRequest, endpoint: OciEndpoint) -> Result<Response, ApiError> {
    use OciEndpoint as E;
    let action = required_action(&req.method, &endpoint).ok_or_else(ApiError::method_not_allowed)?;
    let image = match &endpoint {
        E::Base | E::Catalog => None,
        E::Tags { name }
        | E::Manifest { name, .. }
        | E::Blob { name, .. }
        | E::UploadStart { name }
        | E::Upload { name, .. }
        | E::Referrers { name, .. } => Some(req.image(name)?),
    };
    authorize(&req, action, image.as_ref())?;
    let method = req.method.clone();
    match (endpoint, image) {
        (E::Base, _) => Ok((StatusCode::OK, [("content-type", "application/json")], "{}").into_response()),
        (E::Catalog, _) => listing::catalog(req).await,
        (E::Tags { name }, Some(image)) => listing::tags(req, &name, &image).await,
        (E::Referrers { digest, .. }, Some(image)) => listing::referrers(req, &image, &digest).await,
        (E::Manifest { name, reference }, Some(image)) => match method {
            Method::PUT => manifests::put(req, &name, &image, &reference).await,
            Method::DELETE => manifests::delete(req, &image, &reference).await,
            _ => manifests::get(req, &image, &reference).await,
        },
        (E::Blob { digest, .. }, Some(image)) => match method {
            Method::DELETE => blobs::delete(req, &image, &digest).await,
            _ => blobs::get(req, &image, &digest).await,
        },
        (E::UploadStart { name }, Some(image)) => uploads::start(req, &name, &image).await,
        (E::Upload { name, id }, Some(image)) => match method {
            Method::GET => uploads::status(req, &name, &image, &id).await,
            Method::PATCH => uploads::patch(req, &name, &image, &id).await,
            Method::PUT => uploads::finish(req, &name, &image, &id).await,
            _ => uploads::cancel(req, &image, &id).await,
        },
        _ => Err(ApiError::no_such_endpoint()),
    }
}

/// Parses a digest from a path or query, as `DIGEST_INVALID`.
fn parse_digest(text: &str) -> Result<kcr_core::Digest, ApiError> {
    text.parse()
        .map_err(|e: kcr_core::digest::DigestError| ApiError::digest_invalid(e.to_string()))
}
