//! Deleting a repository takes every grant on it along, also one committed between the scan that
//! collects its keys and the transaction that deletes them (scans cannot run in a transaction).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;

use crate::access::{OrgId, RepoRole, UserId};
use crate::clock::Timestamp;
use crate::error::CoreError;
use crate::names::{ProjectId, RepositoryName};
use crate::quota::QuotaLimits;
use crate::store::{GrantStore, NewRepository, RepoCatalog, RepoGrant, StorageError, Visibility};
use crate::testing::{org_with_user, MemoryKvEngine};

use super::{codec, layout, KvEngine, KvMetadataStore, KvPair, KvTxn, TxnError};

/// A memory engine that, armed with a grant, commits it right after the first scan of that
/// repository's grants: what a `set_repo_grant` on another thread can do at that moment.
struct GrantAfterScan {
    inner: MemoryKvEngine,
    grant: std::sync::Mutex<Option<RepoGrant>>,
    fired: AtomicBool,
}

#[async_trait]
impl KvEngine for GrantAfterScan {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(key)
    }

    fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KvPair>, StorageError> {
        let found = self.inner.scan(prefix, after, limit)?;
        let mut armed = self.grant.lock().unwrap();
        let hits = armed
            .as_ref()
            .is_some_and(|g| prefix == layout::repo_grants_of(&g.project, &g.repository));
        if let Some(g) = armed.take_if(|_| hits) {
            self.inner
                .transact(|tx| {
                    tx.put(
                        &layout::repo_grant(&g.project, &g.repository, &g.user),
                        &codec::encode(&g),
                    )?;
                    tx.put(&layout::user_grant(&g.user, &g.project, &g.repository), b"")
                })
                .map_err(|e| StorageError::Backend(e.to_string().into()))?;
            self.fired.store(true, Ordering::Release);
        }
        Ok(found)
    }

    fn transact<T>(
        &self,
        body: impl Fn(&dyn KvTxn) -> Result<T, TxnError>,
    ) -> Result<T, CoreError> {
        self.inner.transact(body)
    }

    async fn sync(&self) -> Result<(), StorageError> {
        self.inner.sync().await
    }
}

#[tokio::test]
async fn a_grant_committed_while_its_repository_is_deleted_does_not_outlive_it() {
    let engine = Arc::new(GrantAfterScan {
        inner: MemoryKvEngine::new(),
        grant: std::sync::Mutex::new(None),
        fired: AtomicBool::new(false),
    });
    let meta = KvMetadataStore::new(engine.clone());
    let at = Timestamp::from_system_time(std::time::SystemTime::now());
    let org: OrgId = "acme".parse().unwrap();
    let project: ProjectId = "shop".parse().unwrap();
    let repo: RepositoryName = "web".parse().unwrap();
    let bob: UserId = "bob".parse().unwrap();
    org_with_user(&meta, &org, &bob, at).await.unwrap();
    meta.create_project(&project, &org, at).await.unwrap();
    let new = NewRepository {
        project: project.clone(),
        name: repo.clone(),
        visibility: Visibility::Private,
        description: String::new(),
    };
    meta.create_repository(new, false, QuotaLimits::default(), at)
        .await
        .unwrap();
    *engine.grant.lock().unwrap() = Some(RepoGrant {
        project: project.clone(),
        repository: repo.clone(),
        user: bob.clone(),
        role: RepoRole::Viewer,
    });

    meta.delete_repository(&project, &repo).await.unwrap();

    assert!(engine.fired.load(Ordering::Acquire), "the race was staged");
    assert_eq!(meta.repo_grant(&project, &repo, &bob).await.unwrap(), None);
    assert!(engine
        .inner
        .scan(&layout::user_grants(&bob), None, usize::MAX)
        .unwrap()
        .is_empty());
}
