//! The OCI Distribution API. One entry point parses the path into an [`OciEndpoint`], takes the
//! authorization decision once, and hands the request to the endpoint's handler.

mod blobs;
pub mod endpoint;
mod listing;
mod manifests;
mod uploads;

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use kcr_core::access::{Action, Decision, DenyReason, Principal};
use kcr_core::ImagePath;

use crate::auth::{challenge, Authenticator, Caller};
use crate::error::ApiError;
use crate::state::AppState;
pub use endpoint::OciEndpoint;

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
    /// Body, taken once by the handler (in a mutex only so the request is `Sync` and can be
    /// borrowed across awaits).
    body: std::sync::Mutex<Option<Body>>,
    /// Who is calling.
    pub caller: Caller,
    /// The client's address.
    pub client: IpAddr,
}

impl OciRequest {
    /// Takes the request body (empty if already taken).
    pub fn take_body(&self) -> Body {
        self.body
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(Body::empty)
    }

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
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let caller = match &state.auth {
        None => Caller::anonymous(),
        Some(auth) => match auth.caller(&parts.headers, client, false).await {
            Ok(c) => c,
            Err(e) => return with_challenge(e, &state, &parts.headers, None).into_response(),
        },
    };
    let req = OciRequest {
        state,
        method: parts.method,
        headers: parts.headers,
        query,
        body: std::sync::Mutex::new(Some(body)),
        caller,
        client,
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

/// Adds the Bearer challenge to a 401.
fn with_challenge(
    mut e: ApiError,
    state: &AppState,
    headers: &HeaderMap,
    scope: Option<&str>,
) -> ApiError {
    if e.status != StatusCode::UNAUTHORIZED {
        return e;
    }
    if let Some(auth) = &state.auth {
        let base = challenge::base_url(headers, auth.settings().public_url.as_deref());
        let value = challenge::bearer(&base, &auth.settings().service, scope, false);
        if let Ok(v) = HeaderValue::from_str(&value) {
            e = e.with_header(axum::http::header::WWW_AUTHENTICATE, v);
        }
    }
    e
}

/// The scope a client needs for `action` on `name`, as it would request it.
fn scope_for(name: &str, action: Action) -> String {
    let actions = match action {
        Action::Pull => "pull",
        Action::Delete => "delete",
        _ => "pull,push",
    };
    format!("repository:{name}:{actions}")
}

impl OciRequest {
    /// Whether the caller may do `action` on `image` (no side effects, no error detail).
    pub async fn may(&self, action: Action, image: &ImagePath) -> Result<bool, ApiError> {
        let Some(auth) = &self.state.auth else {
            return Ok(true);
        };
        Ok(self.decide(auth, action, image).await?.is_allowed())
    }

    /// The policy's decision for the caller doing `action` on `image`.
    async fn decide(
        &self,
        auth: &Authenticator,
        action: Action,
        image: &ImagePath,
    ) -> Result<Decision, ApiError> {
        Ok(auth
            .decide(
                &self.caller.principal,
                action,
                image.project(),
                Some(image.repository()),
            )
            .await?)
    }

    /// Whether the request's token (if it came with one) grants `action` on `name`.
    fn token_grants(&self, name: &str, action: Action) -> bool {
        let Some(access) = &self.caller.token_access else {
            return true;
        };
        let Some(word) = action.scope_word() else {
            return false;
        };
        access.iter().any(|a| {
            a.kind == "repository"
                && a.name == name
                && a.actions.iter().any(|x| x == word || x == "*")
        })
    }
}

/// The one authorization decision for every OCI operation: the policy's answer, and for token
/// callers the token's scope too. Refusals never reveal whether a private repository exists:
/// anonymous callers are asked to authenticate and users are denied, in both cases.
async fn authorize(
    req: &OciRequest,
    action: Action,
    target: Option<(&str, &ImagePath)>,
) -> Result<(), ApiError> {
    let Some(auth) = &req.state.auth else {
        return Ok(());
    };
    let anonymous = req.caller.principal == Principal::Anonymous;
    let Some((name, image)) = target else {
        // `/v2/` and `_catalog`: anonymous callers without a token are challenged so that
        // clients discover the token endpoint; the catalog is filtered per repository.
        if anonymous && req.caller.token_access.is_none() {
            return Err(with_challenge(
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "UNAUTHORIZED",
                    "authentication required",
                ),
                &req.state,
                &req.headers,
                None,
            ));
        }
        return Ok(());
    };
    let decision = req.decide(auth, action, image).await?;
    if decision.is_allowed() && req.token_grants(name, action) {
        return Ok(());
    }
    let scope = scope_for(name, action);
    match decision {
        Decision::Allow => Err(with_challenge(
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                format!("the token does not grant {action} on {name}; request a token with scope {scope}"),
            ),
            &req.state,
            &req.headers,
            Some(&scope),
        )),
        Decision::Deny(_) if anonymous => Err(with_challenge(
            ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "authentication required"),
            &req.state,
            &req.headers,
            Some(&scope),
        )),
        Decision::Deny(reason) => Err(denied(action, &reason)),
    }
}

/// A 403 whose message explains only what the caller already knows (their own role).
fn denied(action: Action, reason: &DenyReason) -> ApiError {
    let message = match reason {
        DenyReason::InsufficientRole { .. } | DenyReason::RepositoryRoleNeedsAccessKey => {
            format!("requested access to the resource is denied: {reason}")
        }
        _ => "requested access to the resource is denied".to_owned(),
    };
    ApiError::new(StatusCode::FORBIDDEN, "DENIED", message)
        .with_detail(serde_json::json!({ "action": action.to_string() }))
}

async fn route(req: OciRequest, endpoint: OciEndpoint) -> Result<Response, ApiError> {
    use OciEndpoint as E;
    let action =
        required_action(&req.method, &endpoint).ok_or_else(ApiError::method_not_allowed)?;
    let (name, image) = match &endpoint {
        E::Base | E::Catalog => (None, None),
        E::Tags { name }
        | E::Manifest { name, .. }
        | E::Blob { name, .. }
        | E::UploadStart { name }
        | E::Upload { name, .. }
        | E::Referrers { name, .. } => (Some(name.clone()), Some(req.image(name)?)),
    };
    let target = name.as_deref().zip(image.as_ref());
    authorize(&req, action, target).await?;
    let method = req.method.clone();
    match (endpoint, image) {
        (E::Base, _) => {
            Ok((StatusCode::OK, [("content-type", "application/json")], "{}").into_response())
        }
        (E::Catalog, _) => listing::catalog(req).await,
        (E::Tags { name }, Some(image)) => listing::tags(req, &name, &image).await,
        (E::Referrers { digest, .. }, Some(image)) => {
            listing::referrers(req, &image, &digest).await
        }
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
