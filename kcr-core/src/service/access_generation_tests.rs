//! The access generation moves on with every write an access decision reads, and only then.

use crate::access::{OrgId, ProjectRole, RepoRole, UserId};
use crate::clock::Timestamp;
use crate::names::{ProjectId, RepositoryName};
use crate::quota::QuotaLimits;
use crate::store::{Membership, MetadataStore, NewRepository, RepoGrant, Visibility};
use crate::testing::org_with_user;

use super::test_images::{path, push, registry};

/// Runs `write` and checks that it moved the generation on (or, with `moves: false`, left it).
async fn check<F, Fut>(meta: &dyn MetadataStore, what: &str, moves: bool, write: F)
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let before = meta.access_generation();
    write().await;
    let after = meta.access_generation();
    assert_eq!(after > before, moves, "{what}: {before} -> {after}");
}

#[tokio::test]
async fn every_access_write_moves_the_generation_on_and_image_writes_do_not() {
    let (registry, _clock) = registry();
    let meta = registry.meta().as_ref();
    let at = Timestamp::from_system_time(std::time::SystemTime::now());
    let org: OrgId = "acme".parse().unwrap();
    let project: ProjectId = "shop".parse().unwrap();
    let repo: RepositoryName = "web".parse().unwrap();
    let bob: UserId = "bob".parse().unwrap();

    check(meta, "an organization and a user", false, || async {
        org_with_user(meta, &org, &bob, at).await.unwrap();
    })
    .await;
    check(meta, "create_project", true, || async {
        meta.create_project(&project, &org, at).await.unwrap();
    })
    .await;
    let new_repo = NewRepository {
        project: project.clone(),
        name: repo.clone(),
        visibility: Visibility::Private,
        description: String::new(),
    };
    check(meta, "create_repository", true, || async {
        meta.create_repository(new_repo, false, QuotaLimits::default(), at)
            .await
            .unwrap();
    })
    .await;
    check(meta, "update_repository (visibility)", true, || async {
        let mut record = meta.repository(&project, &repo).await.unwrap().unwrap();
        record.visibility = Visibility::Public;
        meta.update_repository(record).await.unwrap();
    })
    .await;
    check(meta, "set_membership", true, || async {
        meta.set_membership(Membership {
            project: project.clone(),
            user: bob.clone(),
            role: ProjectRole::Member,
        })
        .await
        .unwrap();
    })
    .await;
    check(meta, "remove_membership", true, || async {
        assert!(meta.remove_membership(&project, &bob).await.unwrap());
    })
    .await;
    check(meta, "set_repo_grant", true, || async {
        meta.set_repo_grant(RepoGrant {
            project: project.clone(),
            repository: repo.clone(),
            user: bob.clone(),
            role: RepoRole::Viewer,
        })
        .await
        .unwrap();
    })
    .await;
    check(meta, "remove_repo_grant", true, || async {
        assert!(meta.remove_repo_grant(&project, &repo, &bob).await.unwrap());
    })
    .await;
    check(
        meta,
        "a push into an existing repository",
        false,
        || async {
            push(&registry, &path("shop/web/app"), "v1", &[b"layer"]).await;
            push(&registry, &path("shop/web/app"), "v2", &[b"other layer"]).await;
        },
    )
    .await;
    check(meta, "a push that creates a repository", true, || async {
        push(&registry, &path("shop/api/app"), "v1", &[b"layer"]).await;
    })
    .await;
    check(meta, "delete_repository", true, || async {
        meta.delete_repository(&project, &"api".parse().unwrap())
            .await
            .unwrap();
    })
    .await;
    check(meta, "a failed membership write", true, || async {
        let stranger = Membership {
            project: project.clone(),
            user: "nobody".parse().unwrap(),
            role: ProjectRole::Admin,
        };
        assert!(meta.set_membership(stranger).await.is_err());
    })
    .await;
}
