//! The identity and grant role traits over the key-value engine.

use async_trait::async_trait;

use super::metadata::{abort, get, put};
use super::{layout, KvEngine, KvMetadataStore};
use crate::access::{OrgId, ProjectRole, RepoRole, UserId};
use crate::clock::Timestamp;
use crate::error::{CoreError, Result};
use crate::names::{ProjectId, RepositoryName};
use crate::store::access::*;

/// Fails with `NameUnknown` when `key` (the record of `what` named `name`) is absent.
fn require(
    tx: &dyn super::KvTxn,
    key: &[u8],
    what: &'static str,
    name: String,
) -> Result<(), super::TxnError> {
    if tx.get(key)?.is_none() {
        return Err(abort(CoreError::NameUnknown {
            what,
            name,
            hint: None,
        }));
    }
    Ok(())
}

fn conflict(what: String) -> super::TxnError {
    abort(CoreError::Conflict(what))
}

#[async_trait]
impl<E: KvEngine> IdentityStore for KvMetadataStore<E> {
    async fn create_org(&self, org: OrgRecord) -> Result<()> {
        let key = layout::org(&org.id);
        self.mutate(|tx| {
            if tx.get(&key)?.is_some() {
                return Err(conflict(format!("organization {} already exists", org.id)));
            }
            put(tx, &key, &org)
        })
        .await
    }

    async fn org(&self, id: &OrgId) -> Result<Option<OrgRecord>> {
        self.read("organization", &layout::org(id))
    }

    async fn create_user(&self, user: UserRecord) -> Result<()> {
        let key = layout::user(&user.id);
        self.mutate(|tx| {
            require(
                tx,
                &layout::org(&user.org),
                "organization",
                user.org.to_string(),
            )?;
            if tx.get(&key)?.is_some() {
                return Err(conflict(format!("user {} already exists", user.id)));
            }
            put(tx, &key, &user)
        })
        .await
    }

    async fn update_user(&self, user: UserRecord) -> Result<()> {
        let key = layout::user(&user.id);
        self.mutate(|tx| {
            require(tx, &key, "user", user.id.to_string())?;
            put(tx, &key, &user)
        })
        .await
    }

    async fn user(&self, id: &UserId) -> Result<Option<UserRecord>> {
        self.read("user", &layout::user(id))
    }

    async fn list_users(&self, org: &OrgId) -> Result<Vec<UserRecord>> {
        let all: Vec<UserRecord> = self.scan_records("user", &layout::users())?;
        Ok(all.into_iter().filter(|u| &u.org == org).collect())
    }

    async fn create_access_key(&self, key: AccessKeyRecord) -> Result<()> {
        let k = layout::access_key(&key.id);
        let uk = layout::user_key(&key.user, &key.id);
        self.mutate(|tx| {
            if tx.get(&k)?.is_some() {
                return Err(conflict(format!("access key {} already exists", key.id)));
            }
            put(tx, &k, &key)?;
            tx.put(&uk, b"")
        })
        .await
    }

    async fn access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>> {
        self.read("access key", &layout::access_key(id))
    }

    async fn list_access_keys(&self, user: &UserId) -> Result<Vec<AccessKeyRecord>> {
        let prefix = layout::user_keys(user);
        let mut out = Vec::new();
        for (k, _) in self.engine.scan(&prefix, None, usize::MAX)? {
            if let Ok(id) = std::str::from_utf8(&k[prefix.len()..]) {
                if let Some(rec) = self.access_key(id).await? {
                    out.push(rec);
                }
            }
        }
        Ok(out)
    }

    async fn delete_access_key(&self, id: &str) -> Result<bool> {
        let k = layout::access_key(id);
        self.mutate(|tx| {
            let Some(rec) = get::<AccessKeyRecord>(tx, "access key", &k)? else {
                return Ok(false);
            };
            tx.delete(&k)?;
            tx.delete(&layout::user_key(&rec.user, id))?;
            Ok(true)
        })
        .await
    }

    async fn touch_access_key(&self, id: &str, at: Timestamp) -> Result<()> {
        let k = layout::access_key(id);
        // Last-use times are advisory: committed without waiting for a sync.
        self.engine.transact(|tx| {
            if let Some(mut rec) = get::<AccessKeyRecord>(tx, "access key", &k)? {
                rec.last_used = Some(at);
                put(tx, &k, &rec)?;
            }
            Ok(())
        })
    }
}

#[async_trait]
impl<E: KvEngine> GrantStore for KvMetadataStore<E> {
    async fn set_membership(&self, m: Membership) -> Result<()> {
        let key = layout::membership(&m.project, &m.user);
        let reverse = layout::user_membership(&m.user, &m.project);
        self.mutate_access(|tx| {
            require(
                tx,
                &layout::project(&m.project),
                "project",
                m.project.to_string(),
            )?;
            require(tx, &layout::user(&m.user), "user", m.user.to_string())?;
            put(tx, &key, &m)?;
            tx.put(&reverse, b"")
        })
        .await
    }

    async fn remove_membership(&self, project: &ProjectId, user: &UserId) -> Result<bool> {
        let key = layout::membership(project, user);
        let reverse = layout::user_membership(user, project);
        self.mutate_access(|tx| {
            let existed = tx.get(&key)?.is_some();
            tx.delete(&key)?;
            tx.delete(&reverse)?;
            Ok(existed)
        })
        .await
    }

    async fn membership(&self, project: &ProjectId, user: &UserId) -> Result<Option<ProjectRole>> {
        Ok(self
            .read::<Membership>("membership", &layout::membership(project, user))?
            .map(|m| m.role))
    }

    async fn list_memberships(&self, project: &ProjectId) -> Result<Vec<Membership>> {
        self.scan_records("membership", &layout::memberships_of(project))
    }

    async fn user_projects(&self, user: &UserId) -> Result<Vec<Membership>> {
        let prefix = layout::user_memberships(user);
        let mut out = Vec::new();
        for (k, _) in self.engine.scan(&prefix, None, usize::MAX)? {
            let Some(project) = std::str::from_utf8(&k[prefix.len()..])
                .ok()
                .and_then(|p| p.parse::<ProjectId>().ok())
            else {
                continue;
            };
            if let Some(m) =
                self.read::<Membership>("membership", &layout::membership(&project, user))?
            {
                out.push(m);
            }
        }
        Ok(out)
    }

    async fn set_repo_grant(&self, g: RepoGrant) -> Result<()> {
        let key = layout::repo_grant(&g.project, &g.repository, &g.user);
        let reverse = layout::user_grant(&g.user, &g.project, &g.repository);
        self.mutate_access(|tx| {
            require(
                tx,
                &layout::repository(&g.project, &g.repository),
                "repository",
                format!("{}/{}", g.project, g.repository),
            )?;
            require(tx, &layout::user(&g.user), "user", g.user.to_string())?;
            put(tx, &key, &g)?;
            tx.put(&reverse, b"")
        })
        .await
    }

    async fn remove_repo_grant(
        &self,
        project: &ProjectId,
        repository: &RepositoryName,
        user: &UserId,
    ) -> Result<bool> {
        let key = layout::repo_grant(project, repository, user);
        let reverse = layout::user_grant(user, project, repository);
        self.mutate_access(|tx| {
            let existed = tx.get(&key)?.is_some();
            tx.delete(&key)?;
            tx.delete(&reverse)?;
            Ok(existed)
        })
        .await
    }

    async fn repo_grant(
        &self,
        project: &ProjectId,
        repository: &RepositoryName,
        user: &UserId,
    ) -> Result<Option<RepoRole>> {
        Ok(self
            .read::<RepoGrant>("grant", &layout::repo_grant(project, repository, user))?
            .map(|g| g.role))
    }

    async fn list_repo_grants(
        &self,
        project: &ProjectId,
        repository: &RepositoryName,
    ) -> Result<Vec<RepoGrant>> {
        self.scan_records("grant", &layout::repo_grants_of(project, repository))
    }

    fn access_generation(&self) -> u64 {
        self.current_access_generation()
    }

    async fn user_repo_grants(&self, user: &UserId) -> Result<Vec<RepoGrant>> {
        let prefix = layout::user_grants(user);
        let mut out = Vec::new();
        for (k, _) in self.engine.scan(&prefix, None, usize::MAX)? {
            let Some((project, repo)) = std::str::from_utf8(&k[prefix.len()..])
                .ok()
                .and_then(|s| s.split_once('/'))
                .and_then(|(p, r)| {
                    Some((
                        p.parse::<ProjectId>().ok()?,
                        r.parse::<RepositoryName>().ok()?,
                    ))
                })
            else {
                continue;
            };
            if let Some(g) =
                self.read::<RepoGrant>("grant", &layout::repo_grant(&project, &repo, user))?
            {
                out.push(g);
            }
        }
        Ok(out)
    }
}
