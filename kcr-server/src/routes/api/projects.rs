//! Projects and their members.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use kcr_core::access::{Action, ProjectRole, UserId};
use kcr_core::store::{Membership, ProjectRecord};
use kcr_core::ProjectId;
use serde::{Deserialize, Serialize};

use super::context::{bad_request, denied, json, not_found, parse, ApiCaller, ApiJson};
use crate::error::ApiError;

#[derive(Serialize)]
struct ProjectView {
    id: String,
    org: String,
    repository_count: u64,
    created: String,
}

impl From<&ProjectRecord> for ProjectView {
    fn from(p: &ProjectRecord) -> Self {
        ProjectView {
            id: p.id.to_string(),
            org: p.org.to_string(),
            repository_count: p.repository_count,
            created: p.created.to_rfc3339(),
        }
    }
}

/// `GET /projects`: the caller's projects (all of the organization's for its administrators).
pub async fn list(caller: ApiCaller) -> Result<Response, ApiError> {
    let meta = caller.state.registry.meta();
    let all = meta.list_projects().await?;
    let (user, org) = caller.user()?;
    let org_admin = caller.is_org_admin(&org).await?;
    let mine: Vec<ProjectId> = meta
        .user_projects(&user)
        .await?
        .into_iter()
        .map(|m| m.project)
        .collect();
    let views: Vec<ProjectView> = all
        .iter()
        .filter(|p| caller.open || (org_admin && p.org == org) || mine.contains(&p.id))
        .map(ProjectView::from)
        .collect();
    Ok(json(StatusCode::OK, &views))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    id: String,
}

/// `POST /projects`: organization administrators create projects in their organization and
/// become their project admins.
pub async fn create(
    caller: ApiCaller,
    ApiJson(body): ApiJson<NewProject>,
) -> Result<Response, ApiError> {
    let id: ProjectId = parse("project id", &body.id)?;
    let (user, org) = caller.user()?;
    if !caller.is_org_admin(&org).await? {
        return Err(denied("only organization administrators create projects"));
    }
    let meta = caller.state.registry.meta();
    let now = kcr_core::Timestamp::from_system_time(std::time::SystemTime::now());
    let record = meta.create_project(&id, &org, now).await?;
    if meta.user(&user).await?.is_some() {
        meta.set_membership(Membership {
            project: id,
            user,
            role: ProjectRole::Admin,
        })
        .await?;
    }
    Ok(json(StatusCode::CREATED, &ProjectView::from(&record)))
}

/// `GET /projects/{project}`.
pub async fn show(caller: ApiCaller, Path(project): Path<String>) -> Result<Response, ApiError> {
    let id: ProjectId = parse("project id", &project)?;
    caller
        .require(Action::ManageRepositories, &id, None)
        .await?;
    let record = caller
        .state
        .registry
        .meta()
        .project(&id)
        .await?
        .ok_or_else(|| not_found("project", &id))?;
    Ok(json(StatusCode::OK, &ProjectView::from(&record)))
}

/// `GET /projects/{project}/members`.
pub async fn list_members(
    caller: ApiCaller,
    Path(project): Path<String>,
) -> Result<Response, ApiError> {
    let id: ProjectId = parse("project id", &project)?;
    caller
        .require(Action::ManageRepositories, &id, None)
        .await?;
    let members = caller.state.registry.meta().list_memberships(&id).await?;
    let views: Vec<serde_json::Value> = members
        .iter()
        .map(|m| serde_json::json!({ "user": m.user.to_string(), "role": m.role }))
        .collect();
    Ok(json(StatusCode::OK, &views))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: String,
}

/// `PUT /projects/{project}/members/{user}` with `{"role":"admin"|"member"}`.
pub async fn set_member(
    caller: ApiCaller,
    Path((project, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Response, ApiError> {
    let project: ProjectId = parse("project id", &project)?;
    let user: UserId = parse("user name", &user)?;
    let role: ProjectRole = body.role.parse().map_err(bad_request)?;
    caller
        .require(Action::ManageMembers, &project, None)
        .await?;
    caller.org_user_for_project(&project, &user).await?;
    let meta = caller.state.registry.meta();
    meta.set_membership(Membership {
        project,
        user: user.clone(),
        role,
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "user": user.to_string(), "role": role }),
    ))
}

/// `DELETE /projects/{project}/members/{user}`.
pub async fn remove_member(
    caller: ApiCaller,
    Path((project, user)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let project: ProjectId = parse("project id", &project)?;
    let user: UserId = parse("user name", &user)?;
    caller
        .require(Action::ManageMembers, &project, None)
        .await?;
    if !caller
        .state
        .registry
        .meta()
        .remove_membership(&project, &user)
        .await?
    {
        return Err(not_found("member", &user));
    }
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "removed": user.to_string() }),
    ))
}
