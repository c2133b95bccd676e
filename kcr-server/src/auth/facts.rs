//! Gathers the facts the access policy needs and asks it: the glue between requests and
//! `kcr_core::access::authorize`.
//!
//! This runs on every authenticated request, so it reads no more than the decision needs: the
//! project, then the caller's roles, and the repository's visibility only when the policy has
//! not allowed the action without it. Knowing the visibility can only add an allowance (public
//! pull), never take one away: the test below checks that property of the policy exhaustively.

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
    let mut facts = ResourceFacts {
        project_org: project_record.org,
        project_role,
        repo_role,
        visibility: None,
    };
    let without_visibility = authorize(principal, action, &facts);
    let Some(repo) = repository else {
        return Ok(without_visibility);
    };
    if without_visibility.is_allowed() {
        return Ok(without_visibility);
    }
    facts.visibility = meta.repository(project, repo).await?.map(|r| r.visibility);
    Ok(authorize(principal, action, &facts))
}

#[cfg(test)]
mod tests {
    use kcr_core::access::{CredentialKind, OrgId, ProjectRole, RepoRole};
    use kcr_core::store::Visibility;

    use super::*;

    /// What `decide` relies on to skip the repository read: whatever the principal, action and
    /// roles, a decision that allows without the visibility allows with any visibility.
    #[test]
    fn visibility_never_takes_an_allowance_away() {
        let org: OrgId = "acme".parse().unwrap();
        let other: OrgId = "other".parse().unwrap();
        let mut principals = vec![Principal::Anonymous];
        for o in [&org, &other] {
            for credential in [CredentialKind::Password, CredentialKind::AccessKey] {
                principals.push(Principal::User {
                    id: "alice".parse().unwrap(),
                    org: o.clone(),
                    credential,
                });
            }
        }
        let mut checked = 0;
        for principal in &principals {
            for action in Action::ALL {
                for project_role in [None, Some(ProjectRole::Admin), Some(ProjectRole::Member)] {
                    for repo_role in [None, Some(RepoRole::Member), Some(RepoRole::Viewer)] {
                        let mut facts = ResourceFacts {
                            project_org: org.clone(),
                            project_role,
                            repo_role,
                            visibility: None,
                        };
                        if !authorize(principal, action, &facts).is_allowed() {
                            continue;
                        }
                        for v in [Visibility::Private, Visibility::Public] {
                            facts.visibility = Some(v);
                            assert!(
                                authorize(principal, action, &facts).is_allowed(),
                                "{principal:?} {action:?} {facts:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 0);
    }
}
