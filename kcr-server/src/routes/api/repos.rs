//! Repositories of a project and their permissions.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use kcr_core::access::{Action, RepoRole, UserId};
use kcr_core::store::{NewRepository, RepoGrant, RepositoryRecord, Visibility};
use kcr_core::{ProjectId, RepositoryName};
use serde::{Deserialize, Serialize};

use super::context::{bad_request, json, not_found, parse, ApiCaller, ApiJson};
use crate::error::ApiError;

#[derive(Serialize)]
struct RepositoryView {
    project: String,
    name: String,
    visibility: Visibility,
    description: String,
    image_count: u64,
    created: String,
}

impl From<&RepositoryRecord> for RepositoryView {
    fn from(r: &RepositoryRecord) -> Self {
        RepositoryView {
            project: r.project.to_string(),
            name: r.name.to_string(),
            visibility: r.visibility,
            description: r.description.clone(),
            image_count: r.image_count,
            created: r.created.to_rfc3339(),
        }
    }
}

fn names(project: &str, repo: &str) -> Result<(ProjectId, RepositoryName), ApiError> {
    Ok((
        parse("project id", project)?,
        parse("repository name", repo)?,
    ))
}

/// `GET /projects/{project}/repositories`: every repository for project members; for others
/// those they may pull.
pub async fn list(caller: ApiCaller, Path(project): Path<String>) -> Result<Response, ApiError> {
    let project: ProjectId = parse("project id", &project)?;
    let meta = caller.state.registry.meta();
    let all = meta.list_repositories(&project, None, usize::MAX).await?;
    let mut views = Vec::new();
    for r in &all {
        if caller
            .require(Action::Pull, &project, Some(&r.name))
            .await
            .is_ok()
        {
            views.push(RepositoryView::from(r));
        }
    }
    Ok(json(StatusCode::OK, &views))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRepositoryBody {
    name: String,
    #[serde(default)]
    visibility: Visibility,
    #[serde(default)]
    description: String,
}

/// `POST /projects/{project}/repositories`.
pub async fn create(
    caller: ApiCaller,
    Path(project): Path<String>,
    ApiJson(body): ApiJson<NewRepositoryBody>,
) -> Result<Response, ApiError> {
    let (project, name) = names(&project, &body.name)?;
    caller
        .require(Action::ManageRepositories, &project, None)
        .await?;
    let registry = &caller.state.registry;
    let new = NewRepository {
        project,
        name,
        visibility: body.visibility,
        description: body.description,
    };
    let now = kcr_core::Timestamp::from_system_time(std::time::SystemTime::now());
    let record = registry
        .meta()
        .create_repository(new, caller.open, registry.config().limits, now)
        .await?;
    Ok(json(StatusCode::CREATED, &RepositoryView::from(&record)))
}

/// `GET /projects/{project}/repositories/{repo}`.
pub async fn show(
    caller: ApiCaller,
    Path((project, repo)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (project, repo) = names(&project, &repo)?;
    caller.require(Action::Pull, &project, Some(&repo)).await?;
    let record = caller
        .state
        .registry
        .meta()
        .repository(&project, &repo)
        .await?
        .ok_or_else(|| not_found("repository", &repo))?;
    Ok(json(StatusCode::OK, &RepositoryView::from(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryPatch {
    visibility: Option<Visibility>,
    description: Option<String>,
}

/// `PATCH /projects/{project}/repositories/{repo}`: visibility and description.
pub async fn update(
    caller: ApiCaller,
    Path((project, repo)): Path<(String, String)>,
    ApiJson(patch): ApiJson<RepositoryPatch>,
) -> Result<Response, ApiError> {
    let (project, repo) = names(&project, &repo)?;
    caller
        .require(Action::ManageRepositories, &project, Some(&repo))
        .await?;
    let meta = caller.state.registry.meta();
    let mut record = meta
        .repository(&project, &repo)
        .await?
        .ok_or_else(|| not_found("repository", &repo))?;
    if let Some(v) = patch.visibility {
        record.visibility = v;
    }
    if let Some(d) = patch.description {
        record.description = d;
    }
    meta.update_repository(record.clone()).await?;
    Ok(json(StatusCode::OK, &RepositoryView::from(&record)))
}

/// `DELETE /projects/{project}/repositories/{repo}`: the repository and all its images.
pub async fn delete(
    caller: ApiCaller,
    Path((project, repo)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (project, repo) = names(&project, &repo)?;
    caller
        .require(Action::ManageRepositories, &project, Some(&repo))
        .await?;
    caller
        .state
        .registry
        .meta()
        .delete_repository(&project, &repo)
        .await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "deleted": format!("{project}/{repo}") }),
    ))
}

/// `GET /projects/{project}/repositories/{repo}/permissions`.
pub async fn list_permissions(
    caller: ApiCaller,
    Path((project, repo)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (project, repo) = names(&project, &repo)?;
    caller
        .require(Action::ManageRepositories, &project, Some(&repo))
        .await?;
    let grants = caller
        .state
        .registry
        .meta()
        .list_repo_grants(&project, &repo)
        .await?;
    let views: Vec<serde_json::Value> = grants
        .iter()
        .map(|g| serde_json::json!({ "user": g.user.to_string(), "role": g.role }))
        .collect();
    Ok(json(StatusCode::OK, &views))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: String,
}

/// `PUT /projects/{project}/repositories/{repo}/permissions/{user}` with
/// `{"role":"member"|"viewer"}`: grants an organization user outside the project a role.
pub async fn set_permission(
    caller: ApiCaller,
    Path((project, repo, user)): Path<(String, String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Response, ApiError> {
    let (project, repo) = names(&project, &repo)?;
    let user: UserId = parse("user name", &user)?;
    let role: RepoRole = body.role.parse().map_err(bad_request)?;
    caller
        .require(Action::ManageRepositories, &project, Some(&repo))
        .await?;
    caller.org_user_for_project(&project, &user).await?;
    let meta = caller.state.registry.meta();
    meta.set_repo_grant(RepoGrant {
        project,
        repository: repo,
        user: user.clone(),
        role,
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "user": user.to_string(), "role": role }),
    ))
}

/// `DELETE /projects/{project}/repositories/{repo}/permissions/{user}`.
pub async fn remove_permission(
    caller: ApiCaller,
    Path((project, repo, user)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let (project, repo) = names(&project, &repo)?;
    let user: UserId = parse("user name", &user)?;
    caller
        .require(Action::ManageRepositories, &project, Some(&repo))
        .await?;
    if !caller
        .state
        .registry
        .meta()
        .remove_repo_grant(&project, &repo, &user)
        .await?
    {
        return Err(not_found("permission of", &user));
    }
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "removed": user.to_string() }),
    ))
}
