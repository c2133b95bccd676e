//! Gathers the facts the access policy needs and asks it: the glue between requests and
//! `kcr_core::access::authorize`.
//!
//! This runs on every authenticated request. The facts (the project's organization, the caller's
//! roles, the repository's visibility) live in an in-memory cache tagged with the metadata
//! store's access generation, which moves on with every write those facts come from, before the
//! write is acknowledged: a role taken away takes effect at the next request, also for tokens
//! already issued, and a hit costs one atomic load and a hash lookup instead of two or three
//! metadata reads.
//!
//! A miss reads no more than the decision needs: the project, then the caller's roles, and the
//! repository's visibility only when the policy has not allowed the action without it. Knowing
//! the visibility can only add an allowance (public pull), never take one away: the test below
//! checks that property of the policy exhaustively.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::RwLock;

use kcr_core::access::{authorize, Action, Decision, DenyReason, Principal, ResourceFacts, UserId};
use kcr_core::store::MetadataStore;
use kcr_core::{ProjectId, RepositoryName, Result};

/// Beyond this many entries the cache starts over (a bound on memory, not a tuning knob: one
/// entry per caller, project and repository in use).
const MAX_ENTRIES: usize = 16_384;

/// What the policy read about one caller, project and repository, under one access generation.
struct Entry {
    generation: u64,
    user: Option<UserId>,
    project: ProjectId,
    repository: Option<RepositoryName>,
    /// `None`: the project does not exist.
    facts: Option<ResourceFacts>,
    /// Whether `facts.visibility` was read (it is read only when it can matter).
    visibility_read: bool,
}

impl Entry {
    fn is_for(
        &self,
        generation: u64,
        user: Option<&UserId>,
        project: &ProjectId,
        repository: Option<&RepositoryName>,
    ) -> bool {
        self.generation == generation
            && self.user.as_ref() == user
            && &self.project == project
            && self.repository.as_ref() == repository
    }

    /// The decision these facts give, when they suffice for it.
    fn decision(&self, principal: &Principal, action: Action) -> Option<Decision> {
        let Some(facts) = &self.facts else {
            return Some(unknown_project(principal));
        };
        let decision = authorize(principal, action, facts);
        let complete = decision.is_allowed() || self.visibility_read || self.repository.is_none();
        complete.then_some(decision)
    }
}

/// Access decisions over a metadata store, with their facts cached per access generation.
#[derive(Default)]
pub struct DecisionCache {
    entries: RwLock<HashMap<u64, Entry>>,
    hasher: RandomState,
}

impl DecisionCache {
    /// The policy's decision for `principal` doing `action` in `project` (on `repository` when
    /// the action concerns one). An unknown project is a refusal like any other, so that answers
    /// never reveal what exists.
    pub async fn decide(
        &self,
        meta: &dyn MetadataStore,
        principal: &Principal,
        action: Action,
        project: &ProjectId,
        repository: Option<&RepositoryName>,
    ) -> Result<Decision> {
        // Read before any fact: facts read after it are current while it stays the same.
        let generation = meta.access_generation();
        let user = match principal {
            Principal::Anonymous => None,
            Principal::User { id, .. } => Some(id),
        };
        let key = self.hasher.hash_one((user, project, repository));
        let cached = {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            match entries.get(&key) {
                Some(e) if e.is_for(generation, user, project, repository) => {
                    match e.decision(principal, action) {
                        Some(decision) => return Ok(decision),
                        // Only the visibility is missing.
                        None => Some(e.facts.clone()),
                    }
                }
                _ => None,
            }
        };
        let mut entry = match cached {
            Some(facts) => Entry {
                generation,
                user: user.cloned(),
                project: project.clone(),
                repository: repository.cloned(),
                facts,
                visibility_read: false,
            },
            None => read_facts(meta, generation, user, project, repository).await?,
        };
        let decision = match entry.decision(principal, action) {
            Some(decision) => decision,
            None => {
                let (facts, repo) = (entry.facts.as_mut(), repository);
                if let (Some(facts), Some(repo)) = (facts, repo) {
                    facts.visibility = meta.repository(project, repo).await?.map(|r| r.visibility);
                }
                entry.visibility_read = true;
                entry
                    .decision(principal, action)
                    .unwrap_or_else(|| unknown_project(principal))
            }
        };
        self.remember(key, entry);
        Ok(decision)
    }

    /// Keeps `entry` unless a newer generation's entry took its place meanwhile.
    fn remember(&self, key: u64, entry: Entry) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries
            .get(&key)
            .is_some_and(|e| e.generation > entry.generation)
        {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, entry);
    }
}

/// The project, the caller's roles in it, and no visibility yet.
async fn read_facts(
    meta: &dyn MetadataStore,
    generation: u64,
    user: Option<&UserId>,
    project: &ProjectId,
    repository: Option<&RepositoryName>,
) -> Result<Entry> {
    let mut entry = Entry {
        generation,
        user: user.cloned(),
        project: project.clone(),
        repository: repository.cloned(),
        facts: None,
        visibility_read: false,
    };
    let Some(project_record) = meta.project(project).await? else {
        return Ok(entry);
    };
    let (project_role, repo_role) = match user {
        None => (None, None),
        Some(id) => {
            let project_role = meta.membership(project, id).await?;
            let repo_role = match (project_role, repository) {
                (None, Some(repo)) => meta.repo_grant(project, repo, id).await?,
                _ => None,
            };
            (project_role, repo_role)
        }
    };
    entry.facts = Some(ResourceFacts {
        project_org: project_record.org,
        project_role,
        repo_role,
        visibility: None,
    });
    Ok(entry)
}

/// The refusal for a project that does not exist, worded as for any refusal.
fn unknown_project(principal: &Principal) -> Decision {
    Decision::Deny(match principal {
        Principal::Anonymous => DenyReason::AuthenticationRequired,
        Principal::User { .. } => DenyReason::NoRole,
    })
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

    /// Whatever sequence of access writes happens, a long-lived cache decides exactly as a
    /// fresh one (which reads every fact from the store).
    #[tokio::test]
    async fn the_cache_decides_as_the_store_says_after_every_access_write() {
        use kcr_core::quota::QuotaLimits;
        use kcr_core::store::{Membership, NewRepository, OrgRecord, RepoGrant, UserRecord};
        use kcr_core::{Registry, RegistryConfig, Timestamp};
        use rand::{rngs::StdRng, Rng, SeedableRng};

        let registry = Registry::in_memory(RegistryConfig::default());
        let meta = registry.meta().as_ref();
        let at = Timestamp::from_system_time(std::time::SystemTime::now());
        let org: OrgId = "acme".parse().unwrap();
        let project: ProjectId = "shop".parse().unwrap();
        let repos: Vec<RepositoryName> = vec!["web".parse().unwrap(), "api".parse().unwrap()];
        let users: Vec<UserId> = vec!["bob".parse().unwrap(), "carol".parse().unwrap()];
        meta.create_org(OrgRecord {
            id: org.clone(),
            created: at,
        })
        .await
        .unwrap();
        for id in &users {
            let user = UserRecord {
                id: id.clone(),
                org: org.clone(),
                password_hash: "x".into(),
                org_admin: false,
                created: at,
            };
            meta.create_user(user).await.unwrap();
        }
        meta.create_project(&project, &org, at).await.unwrap();
        let mut principals = vec![Principal::Anonymous];
        for id in &users {
            for credential in [CredentialKind::Password, CredentialKind::AccessKey] {
                principals.push(Principal::User {
                    id: id.clone(),
                    org: org.clone(),
                    credential,
                });
            }
        }

        let cache = DecisionCache::default();
        let mut rng = StdRng::seed_from_u64(7);
        let mut allowed = 0;
        for step in 0..150 {
            let user = &users[rng.gen_range(0..users.len())];
            let repo = &repos[rng.gen_range(0..repos.len())];
            match rng.gen_range(0..6) {
                0 => {
                    let role = [ProjectRole::Admin, ProjectRole::Member][rng.gen_range(0..2)];
                    let m = Membership {
                        project: project.clone(),
                        user: user.clone(),
                        role,
                    };
                    meta.set_membership(m).await.unwrap();
                }
                1 => {
                    meta.remove_membership(&project, user).await.unwrap();
                }
                2 => {
                    let role = [RepoRole::Member, RepoRole::Viewer][rng.gen_range(0..2)];
                    let g = RepoGrant {
                        project: project.clone(),
                        repository: repo.clone(),
                        user: user.clone(),
                        role,
                    };
                    // Fails while the repository does not exist; the cache must follow anyway.
                    let _ = meta.set_repo_grant(g).await;
                }
                3 => {
                    meta.remove_repo_grant(&project, repo, user).await.unwrap();
                }
                4 => match meta.repository(&project, repo).await.unwrap() {
                    Some(mut record) => {
                        record.visibility = match record.visibility {
                            Visibility::Public => Visibility::Private,
                            Visibility::Private => Visibility::Public,
                        };
                        meta.update_repository(record).await.unwrap();
                    }
                    None => {
                        let new = NewRepository {
                            project: project.clone(),
                            name: repo.clone(),
                            visibility: Visibility::Public,
                            description: String::new(),
                        };
                        let limits = QuotaLimits::default();
                        meta.create_repository(new, false, limits, at)
                            .await
                            .unwrap();
                    }
                },
                _ => {
                    let _ = meta.delete_repository(&project, repo).await;
                }
            }
            for principal in &principals {
                for action in Action::ALL {
                    for repo in repos.iter().map(Some).chain([None]) {
                        let cached = cache
                            .decide(meta, principal, action, &project, repo)
                            .await
                            .unwrap();
                        let fresh = DecisionCache::default()
                            .decide(meta, principal, action, &project, repo)
                            .await
                            .unwrap();
                        assert_eq!(
                            cached, fresh,
                            "step {step}: {principal:?} {action:?} {repo:?}"
                        );
                        allowed += usize::from(fresh.is_allowed());
                    }
                }
            }
        }
        assert!(allowed > 0, "some decisions allow");
    }
}
