//! The access policy: `(principal, action, facts) -> Decision`, pure.

use std::fmt;

use super::{Action, CredentialKind, OrgId, Principal, ProjectRole, RepoRole};
use crate::store::Visibility;

/// What the caller of [`authorize`] knows about the target and the principal's roles on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceFacts {
    /// The organization owning the project.
    pub project_org: OrgId,
    /// The principal's IAM role in the project.
    pub project_role: Option<ProjectRole>,
    /// The principal's role on the repository (organization users outside the project).
    pub repo_role: Option<RepoRole>,
    /// The repository's visibility; `None` when it does not exist or the action is not about one.
    pub visibility: Option<Visibility>,
}

/// Why access was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyReason {
    /// The caller must sign in.
    AuthenticationRequired,
    /// Users of another organization get no more than public pull.
    OutsideOrganization,
    /// Repository roles work only with access keys from CLI tools, not console passwords.
    RepositoryRoleNeedsAccessKey,
    /// The caller's role does not allow the action.
    InsufficientRole {
        /// What was attempted.
        action: Action,
        /// The role held.
        role: String,
    },
    /// The caller has no role on the project or repository.
    NoRole,
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DenyReason::AuthenticationRequired => f.write_str("authentication required"),
            DenyReason::OutsideOrganization => f.write_str(
                "users outside the project's organization may only pull public repositories",
            ),
            DenyReason::RepositoryRoleNeedsAccessKey => f.write_str(
                "repository roles can be used only with access credentials from CLI tools \
                 (docker, podman, skopeo, kcr), not with a console password",
            ),
            DenyReason::InsufficientRole { action, role } => {
                write!(f, "a {role} may not {action}")
            }
            DenyReason::NoRole => f.write_str("no role grants access to this resource"),
        }
    }
}

/// The outcome of [`authorize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refused, with the reason.
    Deny(DenyReason),
}

impl Decision {
    /// Whether access is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Decides whether `principal` may perform `action` on the resource described by `facts`.
///
/// 1. Anyone may pull from a public repository.
/// 2. Otherwise the caller must be a user of the project's organization.
/// 3. Project admins and members are registry admins of every repository of the project; only
///    admins manage members.
/// 4. Repository members push and pull, viewers pull, and only with access keys.
pub fn authorize(principal: &Principal, action: Action, facts: &ResourceFacts) -> Decision {
    use Decision::{Allow, Deny};
    if action == Action::Pull && facts.visibility == Some(Visibility::Public) {
        return Allow;
    }
    let Principal::User {
        org, credential, ..
    } = principal
    else {
        return Deny(DenyReason::AuthenticationRequired);
    };
    if *org != facts.project_org {
        return Deny(DenyReason::OutsideOrganization);
    }
    if let Some(role) = facts.project_role {
        return match (role, action) {
            (ProjectRole::Member, Action::ManageMembers) => Deny(DenyReason::InsufficientRole {
                action,
                role: role.to_string(),
            }),
            _ => Allow,
        };
    }
    let Some(role) = facts.repo_role else {
        return Deny(DenyReason::NoRole);
    };
    if *credential != CredentialKind::AccessKey {
        return Deny(DenyReason::RepositoryRoleNeedsAccessKey);
    }
    let allowed = match role {
        RepoRole::Member => matches!(action, Action::Pull | Action::Push),
        RepoRole::Viewer => action == Action::Pull,
    };
    if allowed {
        Allow
    } else {
        Deny(DenyReason::InsufficientRole {
            action,
            role: role.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Who {
        Anonymous,
        ProjectAdmin,
        ProjectMember,
        RepoMember,
        RepoViewer,
        NoRole,
    }

    const WHO: [Who; 6] = [
        Who::Anonymous,
        Who::ProjectAdmin,
        Who::ProjectMember,
        Who::RepoMember,
        Who::RepoViewer,
        Who::NoRole,
    ];

    /// The product's rules written as a plain table, independently of the implementation.
    fn expected(
        who: Who,
        same_org: bool,
        cred: CredentialKind,
        action: Action,
        vis: Option<Visibility>,
    ) -> bool {
        use Action::*;
        let public_pull = action == Pull && vis == Some(Visibility::Public);
        if public_pull {
            return true;
        }
        if who == Who::Anonymous || !same_org {
            return false;
        }
        match who {
            Who::ProjectAdmin => true,
            Who::ProjectMember => action != ManageMembers,
            Who::RepoMember => cred == CredentialKind::AccessKey && [Pull, Push].contains(&action),
            Who::RepoViewer => cred == CredentialKind::AccessKey && action == Pull,
            Who::NoRole | Who::Anonymous => false,
        }
    }

    fn principal(who: Who, org: &str, cred: CredentialKind) -> Principal {
        match who {
            Who::Anonymous => Principal::Anonymous,
            _ => Principal::User {
                id: "alice".parse().unwrap(),
                org: org.parse().unwrap(),
                credential: cred,
            },
        }
    }

    fn facts(who: Who, vis: Option<Visibility>) -> ResourceFacts {
        ResourceFacts {
            project_org: "acme".parse().unwrap(),
            project_role: match who {
                Who::ProjectAdmin => Some(ProjectRole::Admin),
                Who::ProjectMember => Some(ProjectRole::Member),
                _ => None,
            },
            repo_role: match who {
                Who::RepoMember => Some(RepoRole::Member),
                Who::RepoViewer => Some(RepoRole::Viewer),
                _ => None,
            },
            visibility: vis,
        }
    }

    #[test]
    fn full_matrix() {
        let mut checked = 0;
        for who in WHO {
            for same_org in [true, false] {
                for cred in [CredentialKind::Password, CredentialKind::AccessKey] {
                    for action in Action::ALL {
                        for vis in [None, Some(Visibility::Private), Some(Visibility::Public)] {
                            let p = principal(who, if same_org { "acme" } else { "other" }, cred);
                            let got = authorize(&p, action, &facts(who, vis)).is_allowed();
                            let want = expected(who, same_org, cred, action, vis);
                            assert_eq!(
                                got, want,
                                "{who:?} same_org={same_org} {cred:?} {action:?} {vis:?}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 2 * 2 * 5 * 3);
    }

    #[test]
    fn reasons_are_specific() {
        let viewer = principal(Who::RepoViewer, "acme", CredentialKind::AccessKey);
        let d = authorize(
            &viewer,
            Action::Push,
            &facts(Who::RepoViewer, Some(Visibility::Private)),
        );
        assert_eq!(
            d,
            Decision::Deny(DenyReason::InsufficientRole {
                action: Action::Push,
                role: "repository viewer".into()
            })
        );
        let console = principal(Who::RepoMember, "acme", CredentialKind::Password);
        let d = authorize(
            &console,
            Action::Pull,
            &facts(Who::RepoMember, Some(Visibility::Private)),
        );
        assert_eq!(d, Decision::Deny(DenyReason::RepositoryRoleNeedsAccessKey));
        let d = authorize(
            &Principal::Anonymous,
            Action::Pull,
            &facts(Who::Anonymous, Some(Visibility::Private)),
        );
        assert_eq!(d, Decision::Deny(DenyReason::AuthenticationRequired));
    }

    fn any_facts() -> impl Strategy<Value = ResourceFacts> {
        (
            prop_oneof![Just("acme"), Just("other")],
            proptest::option::of(prop_oneof![
                Just(ProjectRole::Admin),
                Just(ProjectRole::Member)
            ]),
            proptest::option::of(prop_oneof![Just(RepoRole::Member), Just(RepoRole::Viewer)]),
            proptest::option::of(prop_oneof![
                Just(Visibility::Private),
                Just(Visibility::Public)
            ]),
        )
            .prop_map(|(org, project_role, repo_role, visibility)| ResourceFacts {
                project_org: org.parse().unwrap(),
                project_role,
                repo_role,
                visibility,
            })
    }

    fn any_principal() -> impl Strategy<Value = Principal> {
        prop_oneof![
            Just(Principal::Anonymous),
            (
                prop_oneof![Just("acme"), Just("other")],
                prop_oneof![
                    Just(CredentialKind::Password),
                    Just(CredentialKind::AccessKey)
                ]
            )
                .prop_map(|(org, credential)| Principal::User {
                    id: "u".parse().unwrap(),
                    org: org.parse().unwrap(),
                    credential
                })
        ]
    }

    proptest! {
        #[test]
        fn invariants_over_random_grants(p in any_principal(), f in any_facts(), a in prop::sample::select(Action::ALL.to_vec())) {
            let allowed = authorize(&p, a, &f).is_allowed();
            let public_pull = a == Action::Pull && f.visibility == Some(Visibility::Public);
            let outsider = match &p {
                Principal::Anonymous => true,
                Principal::User { org, .. } => *org != f.project_org,
            };
            // Anonymous callers and other organizations never get more than public pull.
            if outsider { prop_assert_eq!(allowed, public_pull); }
            // Public pull is always allowed.
            if public_pull { prop_assert!(allowed); }
            // Whoever may push may pull.
            if a == Action::Push && allowed { prop_assert!(authorize(&p, Action::Pull, &f).is_allowed()); }
            // Only project admins manage members.
            if a == Action::ManageMembers && allowed { prop_assert_eq!(f.project_role, Some(ProjectRole::Admin)); }
            // Without a project role, only access keys unlock anything beyond public pull.
            if f.project_role.is_none() && !public_pull && allowed {
                let by_key = matches!(p, Principal::User { credential: CredentialKind::AccessKey, .. });
                prop_assert!(by_key);
            }
            // Deleting and managing always need a project role.
            if matches!(a, Action::Delete | Action::ManageRepositories) && allowed {
                prop_assert!(f.project_role.is_some());
            }
        }
    }
}
