//! The management API's caller, body and response helpers.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use kcr_core::access::{Action, CredentialKind, Decision, DenyReason, OrgId, Principal, UserId};
use kcr_core::store::DEFAULT_ORG;
use kcr_core::{ProjectId, RepositoryName};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a management request.
pub struct ApiCaller {
    /// Who.
    pub principal: Principal,
    /// The server runs open: every check passes.
    pub open: bool,
    /// Shared state.
    pub state: AppState,
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(auth) = &state.auth else {
            return Ok(ApiCaller {
                principal: Principal::Anonymous,
                open: true,
                state: state.clone(),
            });
        };
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        let basic_challenge = || HeaderValue::from_static("Basic realm=\"kcr\"");
        let caller = auth
            .caller(&parts.headers, client, true)
            .await
            .map_err(|e| {
                // Every 401 carries a challenge (RFC 9110), not only the one for missing credentials.
                if e.status == StatusCode::UNAUTHORIZED {
                    e.with_header(header::WWW_AUTHENTICATE, basic_challenge())
                } else {
                    e
                }
            })?;
        if caller.principal == Principal::Anonymous || caller.token_access.is_some() {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "sign in with Basic credentials: your user name and password, or an access key",
            )
            .with_header(header::WWW_AUTHENTICATE, basic_challenge()));
        }
        Ok(ApiCaller {
            principal: caller.principal,
            open: false,
            state: state.clone(),
        })
    }
}

/// `403 DENIED` with a message.
pub fn denied(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "DENIED", message)
}

/// `400` for a request the API cannot accept.
pub fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

/// `404 NAME_UNKNOWN`.
pub fn not_found(what: &str, name: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NAME_UNKNOWN",
        format!("{what} {name} not found"),
    )
}

impl ApiCaller {
    /// The signed-in user and organization (the bootstrap admin in open mode).
    pub fn user(&self) -> Result<(UserId, OrgId), ApiError> {
        match &self.principal {
            Principal::User { id, org, .. } => Ok((id.clone(), org.clone())),
            Principal::Anonymous => Ok((
                "admin".parse().map_err(|_| denied("no user"))?,
                DEFAULT_ORG.parse().map_err(|_| denied("no organization"))?,
            )),
        }
    }

    /// Whether the caller administers `org` (creates users and projects in it).
    pub async fn is_org_admin(&self, org: &OrgId) -> Result<bool, ApiError> {
        if self.open {
            return Ok(true);
        }
        let (id, own_org) = self.user()?;
        // Administrators of the default organization create organizations (`POST /orgs`), so
        // they administer them too: otherwise nobody could create a new organization's users.
        if &own_org != org && own_org.as_str() != DEFAULT_ORG {
            return Ok(false);
        }
        Ok(self
            .state
            .registry
            .meta()
            .user(&id)
            .await?
            .is_some_and(|u| u.org_admin))
    }

    /// Requires the policy to allow `action` in `project` (on `repository` when given). Unknown
    /// projects and repositories are refused like forbidden ones, so nothing is revealed.
    pub async fn require(
        &self,
        action: Action,
        project: &ProjectId,
        repository: Option<&RepositoryName>,
    ) -> Result<(), ApiError> {
        let Some(auth) = self.state.auth.as_ref().filter(|_| !self.open) else {
            return Ok(());
        };
        match auth
            .decide(&self.principal, action, project, repository)
            .await?
        {
            Decision::Allow => Ok(()),
            Decision::Deny(reason) => Err(self.explain_denial(action, project, reason).await?),
        }
    }

    /// The user `user`, who must belong to the organization owning `project` (roles are only
    /// granted inside an organization).
    pub async fn org_user_for_project(
        &self,
        project: &ProjectId,
        user: &UserId,
    ) -> Result<kcr_core::store::UserRecord, ApiError> {
        let meta = self.state.registry.meta();
        let record = meta
            .project(project)
            .await?
            .ok_or_else(|| not_found("project", project))?;
        let member = meta
            .user(user)
            .await?
            .ok_or_else(|| not_found("user", user))?;
        if member.org != record.org {
            return Err(bad_request(format!(
                "roles in project {project} are for users of its organization {}; {user} belongs to {}",
                record.org, member.org
            )));
        }
        Ok(member)
    }

    /// A refusal; users holding repository roles in the project who signed in with a password
    /// are told that those roles work only with access keys from CLI tools.
    async fn explain_denial(
        &self,
        action: Action,
        project: &ProjectId,
        reason: DenyReason,
    ) -> Result<ApiError, ApiError> {
        if let Principal::User {
            id,
            credential: CredentialKind::Password,
            ..
        } = &self.principal
        {
            let grants = self.state.registry.meta().user_repo_grants(id).await?;
            if grants.iter().any(|g| &g.project == project) {
                return Ok(denied(DenyReason::RepositoryRoleNeedsAccessKey.to_string()));
            }
        }
        Ok(match reason {
            DenyReason::InsufficientRole { .. } | DenyReason::RepositoryRoleNeedsAccessKey => {
                denied(format!("{reason}"))
            }
            _ => denied(format!(
                "you may not {action} in project {project}, or it does not exist"
            )),
        })
    }
}

/// A JSON request body whose rejection is an API error.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(bad_request(format!("invalid JSON body: {}", e.body_text()))),
        }
    }
}

/// Parses an optional JSON body: empty (or only whitespace) means the defaults. For endpoints
/// whose every field is optional, so a bare `POST` works; read it after the authorization check
/// so that a refusal never depends on the body.
pub fn optional_json<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

/// A JSON response with a status.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(value).unwrap_or_default(),
    )
        .into_response()
}

/// Parses a path segment into a validated name as `NAME_INVALID`.
pub fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, ApiError>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e: T::Err| ApiError::name_invalid(format!("invalid {what} {s:?}: {e}")))
}
