//! `GET /v2/token`: the Docker token endpoint. Grants the intersection of the requested scopes
//! and what the policy allows the caller, in a short-lived signed token.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kcr_core::access::{Action, Principal};
use serde::Serialize;

use crate::auth::scope::{parse_scope, ResourceActions};
use crate::auth::Authenticator;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize)]
struct TokenResponse {
    token: String,
    access_token: String,
    expires_in: u64,
    issued_at: String,
}

/// Handles `GET /v2/token?service=...&scope=...`.
pub async fn token(State(state): State<AppState>, request: Request) -> Response {
    match issue(state, request).await {
        Ok(r) => r,
        Err(mut e) => {
            if e.status == StatusCode::UNAUTHORIZED {
                e = e.with_header(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"kcr\""),
                );
            }
            e.into_response()
        }
    }
}

async fn issue(state: AppState, request: Request) -> Result<Response, ApiError> {
    let Some(auth) = state.auth.clone() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "UNSUPPORTED",
            "this registry runs without authentication; no token is needed",
        ));
    };
    let (parts, _) = request.into_parts();
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
    let caller = auth.caller(&parts.headers, client, false).await?;
    if caller.token_access.is_some() {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "present access-key credentials (Basic), not a token, to obtain a token",
        ));
    }
    let pairs: Vec<(String, String)> = parts
        .uri
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let host = parts.headers.get("host").and_then(|v| v.to_str().ok());
    let mut granted = Vec::new();
    for (_, scope) in pairs.iter().filter(|(k, _)| k == "scope") {
        // One `scope` parameter may hold several space-separated scopes.
        for one in scope.split(' ') {
            if let Some(requested) = parse_scope(one) {
                if let Some(g) = grant(&state, &auth, &caller.principal, host, requested).await? {
                    granted.push(g);
                }
            }
        }
    }
    let key_id = basic_user(&parts.headers).filter(|_| caller.principal != Principal::Anonymous);
    let (token, expires_in, issued_at) = auth.issue(&caller.principal, key_id, granted)?;
    let body = TokenResponse {
        access_token: token.clone(),
        token,
        expires_in,
        issued_at,
    };
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response())
}

/// The access-key id of Basic credentials.
fn basic_user(headers: &axum::http::HeaderMap) -> Option<String> {
    use base64::Engine;
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    Some(text.split_once(':')?.0.to_owned())
}

/// What of `requested` the caller may have.
async fn grant(
    state: &AppState,
    auth: &Authenticator,
    principal: &Principal,
    host: Option<&str>,
    requested: ResourceActions,
) -> Result<Option<ResourceActions>, ApiError> {
    match requested.kind.as_str() {
        "registry" if requested.name == "catalog" => {
            // The catalog is filtered per repository, so anyone may ask for it.
            Ok(Some(ResourceActions {
                actions: vec!["*".into()],
                ..requested
            }))
        }
        "repository" => {
            let Ok(image) = state.addressing.image_path(host, &requested.name) else {
                return Ok(None);
            };
            let mut actions = Vec::new();
            for word in &requested.actions {
                let Some(wanted) = Action::from_scope_word(word) else {
                    continue;
                };
                for action in wanted {
                    let decision = auth
                        .decide(principal, action, image.project(), Some(image.repository()))
                        .await?;
                    let word = action.scope_word().filter(|_| decision.is_allowed());
                    if let Some(w) = word {
                        if !actions.iter().any(|a: &String| a == w) {
                            actions.push(w.to_owned());
                        }
                    }
                }
            }
            Ok(Some(ResourceActions {
                actions,
                ..requested
            }))
        }
        _ => Ok(None),
    }
}
