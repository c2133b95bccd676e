//! Real in-memory backends and the conformance suites every backend must pass.

pub mod conformance;
mod memory_blob;
mod memory_kv;

pub use memory_blob::MemoryBlobStore;
pub use memory_kv::MemoryKvEngine;

use crate::access::{OrgId, UserId};
use crate::clock::Timestamp;
use crate::store::{IdentityStore, OrgRecord, UserRecord};

/// Creates organization `org` and a user `user` in it (not an organization admin; a placeholder
/// password hash that no password matches): the identity most access tests start from.
pub async fn org_with_user(
    meta: &dyn IdentityStore,
    org: &OrgId,
    user: &UserId,
    at: Timestamp,
) -> crate::Result<()> {
    meta.create_org(OrgRecord {
        id: org.clone(),
        created: at,
    })
    .await?;
    meta.create_user(UserRecord {
        id: user.clone(),
        org: org.clone(),
        password_hash: "x".into(),
        org_admin: false,
        created: at,
    })
    .await
}
