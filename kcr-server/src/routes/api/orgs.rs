//! Organizations, users, and `GET /me`.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use kcr_core::access::OrgId;
use kcr_core::store::{OrgRecord, UserRecord, DEFAULT_ORG};
use serde::{Deserialize, Serialize};

use super::context::{bad_request, denied, json, parse, ApiCaller, ApiJson};
use crate::auth::secret::hash_secret;
use crate::error::ApiError;

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

/// A user as the API shows it (never the hash).
#[derive(Serialize)]
pub struct UserView {
    name: String,
    org: String,
    org_admin: bool,
    created: String,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        UserView {
            name: u.id.to_string(),
            org: u.org.to_string(),
            org_admin: u.org_admin,
            created: u.created.to_rfc3339(),
        }
    }
}

fn now() -> kcr_core::Timestamp {
    kcr_core::Timestamp::from_system_time(std::time::SystemTime::now())
}

/// Hashes a new password after checking its length.
pub fn new_password_hash(password: &str) -> Result<String, ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(bad_request(format!(
            "passwords need at least {MIN_PASSWORD_LEN} characters"
        )));
    }
    hash_secret(password).map_err(|e| {
        let mut err = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "could not hash the password",
        );
        err.internal = Some(e.to_string());
        err
    })
}

#[derive(Serialize)]
struct Me {
    user: UserView,
    projects: Vec<serde_json::Value>,
    repository_roles: Vec<serde_json::Value>,
}

/// `GET /me`.
pub async fn me(caller: ApiCaller) -> Result<Response, ApiError> {
    let (id, _) = caller.user()?;
    let meta = caller.state.registry.meta();
    let user = meta
        .user(&id)
        .await?
        .ok_or_else(|| denied("no such user"))?;
    let projects = meta
        .user_projects(&id)
        .await?
        .iter()
        .map(|m| serde_json::json!({ "project": m.project.to_string(), "role": m.role }))
        .collect();
    let repository_roles = meta
        .user_repo_grants(&id)
        .await?
        .iter()
        .map(|g| {
            serde_json::json!({
                "project": g.project.to_string(),
                "repository": g.repository.to_string(),
                "role": g.role,
            })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &Me {
            user: (&user).into(),
            projects,
            repository_roles,
        },
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrg {
    id: String,
}

/// `POST /orgs`: administrators of the bootstrap organization create organizations.
pub async fn create_org(
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewOrg>,
) -> Result<Response, ApiError> {
    let root: OrgId = parse("organization", DEFAULT_ORG)?;
    if !caller.is_org_admin(&root).await? {
        return Err(denied(
            "only administrators of the default organization create organizations",
        ));
    }
    let id: OrgId = parse("organization", &body.id)?;
    let record = OrgRecord {
        id: id.clone(),
        created: now(),
    };
    caller.state.registry.meta().create_org(record).await?;
    Ok(json(
        StatusCode::CREATED,
        &serde_json::json!({ "id": id.to_string() }),
    ))
}

/// `GET /orgs/{org}/users`.
pub async fn list_users(caller: ApiCaller, Path(org): Path<String>) -> Result<Response, ApiError> {
    let org: OrgId = parse("organization", &org)?;
    if !caller.is_org_admin(&org).await? {
        return Err(denied("only organization administrators list its users"));
    }
    let users = caller.state.registry.meta().list_users(&org).await?;
    let views: Vec<UserView> = users.iter().map(UserView::from).collect();
    Ok(json(StatusCode::OK, &views))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    name: String,
    password: String,
    #[serde(default)]
    org_admin: bool,
}

/// `POST /orgs/{org}/users`.
pub async fn create_user(
    caller: ApiCaller,
    Path(org): Path<String>,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<Response, ApiError> {
    let org: OrgId = parse("organization", &org)?;
    if !caller.is_org_admin(&org).await? {
        return Err(denied("only organization administrators create users"));
    }
    let record = UserRecord {
        id: parse("user name", &body.name)?,
        org,
        password_hash: new_password_hash(&body.password)?,
        org_admin: body.org_admin,
        created: now(),
    };
    caller
        .state
        .registry
        .meta()
        .create_user(record.clone())
        .await?;
    Ok(json(StatusCode::CREATED, &UserView::from(&record)))
}
