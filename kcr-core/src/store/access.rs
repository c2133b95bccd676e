//! Identity and grants: organizations, users, hashed credentials, project memberships and
//! repository roles. Secrets are stored only as hashes (PHC strings); hashing happens at the edge.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::access::{OrgId, ProjectRole, RepoRole, UserId};
use crate::clock::Timestamp;
use crate::error::Result;
use crate::names::{ProjectId, RepositoryName};

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRecord {
    /// Its id.
    pub id: OrgId,
    /// Creation time.
    pub created: Timestamp,
}

/// A user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// User name.
    pub id: UserId,
    /// Organization.
    pub org: OrgId,
    /// Hash of the console password (argon2id PHC string).
    pub password_hash: String,
    /// Whether the user administers the organization (creates projects and users).
    pub org_admin: bool,
    /// Creation time.
    pub created: Timestamp,
}

/// An access key for registry clients. The secret is stored only as a hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    /// Public key id (the user name given to `docker login`).
    pub id: String,
    /// Owner.
    pub user: UserId,
    /// Hash of the secret (argon2id PHC string).
    pub secret_hash: String,
    /// Free text.
    pub description: String,
    /// Creation time.
    pub created: Timestamp,
    /// Expiry, if any.
    pub expires: Option<Timestamp>,
    /// Last successful use (updated at most about once a minute).
    pub last_used: Option<Timestamp>,
}

/// A project membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// Project.
    pub project: ProjectId,
    /// User.
    pub user: UserId,
    /// Role.
    pub role: ProjectRole,
}

/// A repository role grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoGrant {
    /// Project.
    pub project: ProjectId,
    /// Repository.
    pub repository: RepositoryName,
    /// User.
    pub user: UserId,
    /// Role.
    pub role: RepoRole,
}

/// Organizations, users and credentials.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// Creates an organization; `Conflict` if it exists.
    async fn create_org(&self, org: OrgRecord) -> Result<()>;
    /// An organization.
    async fn org(&self, id: &OrgId) -> Result<Option<OrgRecord>>;
    /// Creates a user; `Conflict` if the name is taken, `NameUnknown` if the org is missing.
    async fn create_user(&self, user: UserRecord) -> Result<()>;
    /// Replaces a user's record (password change, admin flag).
    async fn update_user(&self, user: UserRecord) -> Result<()>;
    /// A user.
    async fn user(&self, id: &UserId) -> Result<Option<UserRecord>>;
    /// Users of an organization, by name.
    async fn list_users(&self, org: &OrgId) -> Result<Vec<UserRecord>>;
    /// Stores a new access key.
    async fn create_access_key(&self, key: AccessKeyRecord) -> Result<()>;
    /// An access key.
    async fn access_key(&self, id: &str) -> Result<Option<AccessKeyRecord>>;
    /// A user's access keys.
    async fn list_access_keys(&self, user: &UserId) -> Result<Vec<AccessKeyRecord>>;
    /// Deletes (revokes) an access key; returns whether it existed.
    async fn delete_access_key(&self, id: &str) -> Result<bool>;
    /// Records a key's last use.
    async fn touch_access_key(&self, id: &str, at: Timestamp) -> Result<()>;
}

/// Project memberships and repository roles.
#[async_trait]
pub trait GrantStore: Send + Sync {
    /// Sets (or replaces) a user's role in a project.
    async fn set_membership(&self, m: Membership) -> Result<()>;
    /// Removes a user from a project; returns whether they were in it.
    async fn remove_membership(&self, project: &ProjectId, user: &UserId) -> Result<bool>;
    /// A user's role in a project.
    async fn membership(&self, project: &ProjectId, user: &UserId) -> Result<Option<ProjectRole>>;
    /// Members of a project.
    async fn list_memberships(&self, project: &ProjectId) -> Result<Vec<Membership>>;
    /// Projects a user belongs to.
    async fn user_projects(&self, user: &UserId) -> Result<Vec<Membership>>;
    /// Sets (or replaces) a user's role on a repository.
    async fn set_repo_grant(&self, g: RepoGrant) -> Result<()>;
    /// Removes a repository role; returns whether it existed.
    async fn remove_repo_grant(
        &self,
        project: &ProjectId,
        repository: &RepositoryName,
        user: &UserId,
    ) -> Result<bool>;
    /// A user's role on a repository.
    async fn repo_grant(
        &self,
        project: &ProjectId,
        repository: &RepositoryName,
        user: &UserId,
    ) -> Result<Option<RepoRole>>;
    /// Role grants on a repository.
    async fn list_repo_grants(
        &self,
        project: &ProjectId,
        repository: &RepositoryName,
    ) -> Result<Vec<RepoGrant>>;
    /// Every repository role a user holds.
    async fn user_repo_grants(&self, user: &UserId) -> Result<Vec<RepoGrant>>;

    /// A counter that moves on after every write that may change an access decision: projects,
    /// repositories (existence, visibility), memberships and repository roles. It moves on after
    /// the write is durable and before the write is acknowledged, so facts read after observing
    /// the value `g` stay current for as long as the counter still reads `g`. Lets callers cache
    /// decision facts in memory without missing a role taken away.
    fn access_generation(&self) -> u64;
}
