//! Gathers the facts the access policy needs and asks it: the glue between requests and
//! `kcr_core::access::authorize`.

use kcr_core::access::{authorize, Action, Decision, DenyReason, Principal, ResourceFacts};
use kcr_core::store::MetadataStore;
use kcr_core::{ProjectId, RepositoryName, Result};

/// The policy's decision for `principal` doing `action` in `project` (on `repository` when the
/// action concerns one). An unknown project is a refusal like any other, so that answers never
/// reveal what exists.
pub async fn decide(
    meta: &dyn MetadataStore,
    principal: &Principal,
    action: Action,
    project: &ProjectId,
    repository: Option<&RepositoryName>,
) -> Result<Decision> {
    let Some(project_record) = meta.project(project).await? else {
        return Ok(Decision::Deny(match principal {
            Principal::Anonymous => DenyReason::AuthenticationRequired,
            Principal::User { .. } => DenyReason::NoRole,
        }));
    };
    let (project_role, repo_role) = match principal {
        Principal::Anonymous => (None, None),
        Principal::User { id, .. } => {
            let project_role = meta.membership(project, id).await?;
            let repo_role = match (project_role, repository) {
                (None, Some(repo)) => meta.repo_grant(project, repo, id).await?,
                _ => None,
            };
            (project_role, repo_role)
        }
    };
    let visibility = match repository {
        Some(repo) => meta.repository(project, repo).await?.map(|r| r.visibility),
        None => None,
    };
    let facts = ResourceFacts {
        project_org: project_record.org,
        project_role,
        repo_role,
        visibility,
    };
    Ok(authorize(principal, action, &facts))
}
