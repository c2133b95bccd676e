//! The `/v2` API in process under authentication: challenges, Basic access keys, revocation, pushes to missing repositories without existence leaks, refused pushes leaving nothing, mounts, the catalog, repository roles, public repositories and other organizations.

use axum::http::Method;
use serde_json::{json, Value};

use crate::app::{Auth, TestImage};
use crate::support::in_process::Resp;
use crate::support::sha256;
use crate::world::{create_key, World};

const PRIVATE: &str = "team/private/app";
const PUBLIC: &str = "team/public/app";
const SHARED: &str = "team/shared/app";

fn scope(name: &str, actions: &str) -> String {
    format!("repository:{name}:{actions}")
}

/// Status, code, message and challenge of a refusal: what a client can learn from it.
fn refusal(r: &Resp) -> (u16, String, String) {
    (r.status.as_u16(), r.code(), r.message())
}

#[tokio::test]
async fn anonymous_base_request_is_challenged_towards_the_token_endpoint() {
    let world = World::new().await;
    let app = &world.app;
    let r = app.get("/v2/", &Auth::None).await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="http://127.0.0.1:5000/v2/token",service="kcr""#)
    );
    assert_eq!(
        r.header("docker-distribution-api-version"),
        Some("registry/2.0")
    );
    // Behind a TLS proxy the realm follows X-Forwarded-Proto.
    let r = app
        .send(
            Method::GET,
            "/v2/",
            &Auth::None,
            &[("x-forwarded-proto", "https")],
            None,
            Vec::new(),
            None,
        )
        .await;
    assert_eq!(
        r.header("www-authenticate"),
        Some(r#"Bearer realm="https://127.0.0.1:5000/v2/token",service="kcr""#)
    );
    // Anonymous requests on a private repository name the scope to ask for.
    let r = app.get_manifest(PRIVATE, "v1", &Auth::None).await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            r#"Bearer realm="http://127.0.0.1:5000/v2/token",service="kcr",scope="repository:team/private/app:pull""#
        )
    );
    // The catalog too needs at least an (anonymous) token.
    app.get("/v2/_catalog", &Auth::None)
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    // A bad access key is challenged the same way.
    let r = app
        .get("/v2/", &Auth::basic(&world.alice.key.id, "bad"))
        .await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer realm=")));
}

#[tokio::test]
async fn basic_access_key_auth_works_straight_on_v2() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("basic");
    let alice = world.alice.key();
    app.get("/v2/", &alice).await.assert_status(200);
    app.push_image(PRIVATE, "v1", &alice, &image)
        .await
        .assert_status(201);
    app.assert_pull(PRIVATE, "v1", &alice, &image).await;
    let tags = app.get(&format!("/v2/{PRIVATE}/tags/list"), &alice).await;
    tags.assert_status(200);
    assert_eq!(tags.json()["tags"], json!(["v1"]));
    // A viewer pulls with Basic too.
    app.assert_pull(PRIVATE, "v1", &world.victor.key(), &image)
        .await;
    // A password is no registry credential.
    let r = app.get_manifest(PRIVATE, "v1", &world.alice.pw()).await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert!(r.message().contains("access key"), "{}", r.message());
}

#[tokio::test]
async fn a_revoked_key_stops_working_at_once_for_basic_and_for_its_tokens() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("revoke");
    app.push_image(PRIVATE, "v1", &world.alice.key(), &image)
        .await
        .assert_status(201);
    let second = create_key(app, "alice", &world.alice.password).await;
    let token = app
        .token(&second.auth(), &[&scope(PRIVATE, "pull,push")])
        .await;
    // Both work, repeatedly (the verified-credential cache is warm).
    for _ in 0..3 {
        app.assert_pull(PRIVATE, "v1", &second.auth(), &image).await;
        app.assert_pull(PRIVATE, "v1", &Auth::Bearer(token.clone()), &image)
            .await;
    }
    app.delete(
        &format!("/api/v1/users/alice/access-keys/{}", second.id),
        &world.alice.pw(),
    )
    .await
    .assert_status(200);
    app.get_manifest(PRIVATE, "v1", &second.auth())
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    app.get("/v2/", &second.auth())
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    let r = app
        .get_manifest(PRIVATE, "v1", &Auth::Bearer(token.clone()))
        .await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert!(r.message().contains("revoked"), "{}", r.message());
    app.push_blob(PRIVATE, &Auth::Bearer(token), b"after revocation")
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    app.token_response(&second.auth(), &[&scope(PRIVATE, "pull")])
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    // The user's other key is untouched.
    app.assert_pull(PRIVATE, "v1", &world.alice.key(), &image)
        .await;
    // An administrator revokes too.
    app.delete(
        &format!("/api/v1/users/alice/access-keys/{}", world.alice.key.id),
        &world.admin.pw(),
    )
    .await
    .assert_status(200);
    app.get("/v2/", &world.alice.key())
        .await
        .assert_error_code(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn pushing_to_a_missing_repository_reveals_nothing_to_those_who_could_not_create_it() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("missing");
    let missing = "team/missing/app";

    // A project member is told how to create it, at every step of a push.
    let r = app
        .push_blob(missing, &world.alice.key(), &image.layer)
        .await;
    r.assert_error_code(404, "NAME_UNKNOWN");
    let m = r.message();
    assert!(m.contains("missing") && m.contains("team"), "{m}");
    assert!(m.contains("create the repository"), "{m}");
    assert!(
        m.contains("/api/v1/projects/team/repositories"),
        "the message says how: {m}"
    );
    let r = app
        .call(
            Method::POST,
            &format!("/v2/{missing}/blobs/uploads/"),
            &world.alice.key(),
            None,
        )
        .await;
    r.assert_error_code(404, "NAME_UNKNOWN");
    assert!(
        r.message().contains("/api/v1/projects/team/repositories"),
        "{}",
        r.text()
    );
    let r = app
        .put_manifest(missing, "v1", &world.alice.key(), &image)
        .await;
    r.assert_error_code(404, "NAME_UNKNOWN");
    assert!(
        r.message().contains("create the repository"),
        "{}",
        r.text()
    );
    // ... and through a token as docker does.
    let t = app
        .token(&world.alice.key(), &[&scope(missing, "pull,push")])
        .await;
    app.push_blob(missing, &Auth::Bearer(t), &image.layer)
        .await
        .assert_error_code(404, "NAME_UNKNOWN");

    // Anyone else gets the same answer for an existing private repository, a missing one, and a
    // missing project.
    let existing = "vault/secrets/app";
    let targets = [existing, "vault/missing/app", "nothere/missing/app"];
    for (who, auth) in [
        ("nora", world.nora.key()),
        ("victor", world.victor.key()),
        ("rita", world.rita.key()),
        ("olga", world.olga.key()),
        ("alice", world.alice.key()),
    ] {
        let mut seen = Vec::new();
        for name in targets {
            let blob = app.push_blob(name, &auth, &image.layer).await;
            let start = app
                .call(
                    Method::POST,
                    &format!("/v2/{name}/blobs/uploads/"),
                    &auth,
                    None,
                )
                .await;
            let manifest = app.put_manifest(name, "v1", &auth, &image).await;
            let pull = app.get_manifest(name, "v1", &auth).await;
            for r in [&blob, &start, &manifest, &pull] {
                r.assert_error_code(403, "DENIED");
            }
            seen.push([
                refusal(&blob),
                refusal(&start),
                refusal(&manifest),
                refusal(&pull),
            ]);
            // Through tokens: nothing is granted either way.
            let t = app.token(&auth, &[&scope(name, "pull,push")]).await;
            assert!(crate::app::granted(&t, name).is_empty(), "{who} on {name}");
        }
        assert!(seen.iter().all(|s| *s == seen[0]), "{who}: {seen:#?}");
    }

    // Anonymous callers are asked to authenticate, in both cases.
    let mut seen = Vec::new();
    for name in [existing, "vault/missing/app", "team/missing/app"] {
        let r = app.push_blob(name, &Auth::None, &image.layer).await;
        r.assert_error_code(401, "UNAUTHORIZED");
        let challenge = r
            .header("www-authenticate")
            .expect("challenge")
            .replace(name, "NAME");
        let pull = app.get_manifest(name, "v1", &Auth::None).await;
        pull.assert_error_code(401, "UNAUTHORIZED");
        seen.push((refusal(&r), challenge, refusal(&pull)));
    }
    assert!(seen.iter().all(|s| *s == seen[0]), "{seen:#?}");
}

#[tokio::test]
async fn a_refused_push_leaves_nothing_behind() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("refused");
    let count = |v: Value| v["repository_count"].as_u64().expect("count");
    let before_team = count(
        app.get("/api/v1/projects/team", &world.admin.pw())
            .await
            .json(),
    );
    let before_vault = count(
        app.get("/api/v1/projects/vault", &world.admin.pw())
            .await
            .json(),
    );

    let attempts: [(&Auth, &str); 7] = [
        (&Auth::None, PRIVATE),
        (&world.nora.key(), PRIVATE),
        (&world.victor.key(), PRIVATE),
        (&world.olga.key(), PUBLIC),
        (&world.rita.key(), PRIVATE),
        (&world.alice.key(), "team/missing/app"),
        (&world.alice.key(), "vault/secrets/app"),
    ];
    for (auth, name) in attempts {
        let r = app.push_image(name, "v1", auth, &image).await;
        assert!(
            [401, 403, 404].contains(&r.status.as_u16()),
            "{auth:?} {name}: {}",
            r.text()
        );
        // Chunked: session start, then a PATCH and PUT on a guessed session id.
        let start = app
            .call(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/"),
                auth,
                None,
            )
            .await;
        assert!(
            [401, 403, 404].contains(&start.status.as_u16()),
            "{}",
            start.text()
        );
        let guessed = format!("/v2/{name}/blobs/uploads/00000000-0000-4000-8000-000000000000");
        let patch = app
            .send(
                Method::PATCH,
                &guessed,
                auth,
                &[],
                Some("application/octet-stream"),
                image.layer.clone(),
                None,
            )
            .await;
        assert!(
            [401, 403, 404].contains(&patch.status.as_u16()),
            "{}",
            patch.text()
        );
        // A mount into the target.
        let mount = app
            .send(
                Method::POST,
                &format!(
                    "/v2/{name}/blobs/uploads/?mount={}&from={PUBLIC}",
                    sha256(&image.layer)
                ),
                auth,
                &[],
                None,
                Vec::new(),
                None,
            )
            .await;
        assert!(
            [401, 403, 404].contains(&mount.status.as_u16()),
            "{}",
            mount.text()
        );
    }
    assert_eq!(app.upload_sessions().await, 0, "no upload session is left");
    assert_eq!(app.stored_blobs().await, 0, "no blob is stored");
    let meta = app.registry.meta();
    for name in [PRIVATE, PUBLIC, "team/missing/app", "vault/secrets/app"] {
        let path = kcr_core::ImagePath::from_full_path(name).expect("path");
        assert!(
            meta.image(&path).await.expect("image").is_none(),
            "no image {name}"
        );
    }
    let missing: kcr_core::RepositoryName = "missing".parse().expect("name");
    let team: kcr_core::ProjectId = "team".parse().expect("id");
    assert!(meta
        .repository(&team, &missing)
        .await
        .expect("repo")
        .is_none());
    assert_eq!(
        count(
            app.get("/api/v1/projects/team", &world.admin.pw())
                .await
                .json()
        ),
        before_team
    );
    assert_eq!(
        count(
            app.get("/api/v1/projects/vault", &world.admin.pw())
                .await
                .json()
        ),
        before_vault
    );
    let repos = app
        .get("/api/v1/projects/team/repositories", &world.admin.pw())
        .await
        .json();
    for r in repos.as_array().into_iter().flatten() {
        assert_eq!(r["image_count"], 0, "{r}");
    }
    let catalog = app.get("/v2/_catalog", &world.admin.key()).await;
    assert_eq!(catalog.json()["repositories"], json!([]));
}

#[tokio::test]
async fn cancelling_ones_own_upload_needs_push_not_delete() {
    let world = World::new().await;
    let app = &world.app;
    let rita = world.rita.key();
    let start = app
        .call(
            Method::POST,
            &format!("/v2/{SHARED}/blobs/uploads/"),
            &rita,
            None,
        )
        .await;
    start.assert_status(202);
    let location = start.header("location").expect("location").to_owned();
    assert_eq!(app.upload_sessions().await, 1);
    // Someone who may not push cannot touch it.
    app.delete(&location, &world.victor.key())
        .await
        .assert_error_code(403, "DENIED");
    app.delete(&location, &Auth::None)
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    assert_eq!(app.upload_sessions().await, 1);
    app.delete(&location, &rita).await.assert_status(204);
    assert_eq!(app.upload_sessions().await, 0);
    // Deleting content does need delete.
    let image = TestImage::new("rita");
    app.push_image(SHARED, "v1", &rita, &image)
        .await
        .assert_status(201);
    app.delete(&format!("/v2/{SHARED}/manifests/{}", image.digest()), &rita)
        .await
        .assert_error_code(403, "DENIED");
    app.delete(
        &format!("/v2/{SHARED}/manifests/{}", image.digest()),
        &world.alice.key(),
    )
    .await
    .assert_status(202);
}

#[tokio::test]
async fn cross_repository_mount_from_a_repository_the_caller_cannot_pull_falls_back_to_202() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("mount");
    app.push_image(PRIVATE, "v1", &world.alice.key(), &image)
        .await
        .assert_status(201);
    let digest = sha256(&image.layer);
    let mount = |from: &str, auth: Auth| {
        let uri = format!("/v2/{SHARED}/blobs/uploads/?mount={digest}&from={from}");
        async move { app.call(Method::POST, &uri, &auth, None).await }
    };

    // rita may push to shared but not pull from private: an upload session, as if the blob or
    // the source did not exist.
    let refused = mount(PRIVATE, world.rita.key()).await;
    refused.assert_status(202);
    assert!(refused
        .header("location")
        .is_some_and(|l| l.starts_with(&format!("/v2/{SHARED}/blobs/uploads/"))));
    assert!(refused.header("docker-content-digest").is_none());
    let absent_source = mount("vault/secrets/app", world.rita.key()).await;
    absent_source.assert_status(202);
    let absent_repo = mount("team/nothing/app", world.rita.key()).await;
    absent_repo.assert_status(202);
    let head = app
        .call(
            Method::HEAD,
            &format!("/v2/{SHARED}/blobs/{digest}"),
            &world.rita.key(),
            None,
        )
        .await;
    head.assert_status(404);

    // Through tokens as docker asks (push on the target, pull on the source): the same.
    let t = app
        .token(
            &world.rita.key(),
            &[&scope(SHARED, "pull,push"), &scope(PRIVATE, "pull")],
        )
        .await;
    mount(PRIVATE, Auth::Bearer(t)).await.assert_status(202);

    // alice may pull the source: mounted.
    let done = mount(PRIVATE, world.alice.key()).await;
    done.assert_status(201);
    assert_eq!(done.header("docker-content-digest"), Some(digest.as_str()));
    // A mount from a public repository works for rita.
    app.push_image(
        PUBLIC,
        "v1",
        &world.alice.key(),
        &TestImage::new("public-mount"),
    )
    .await
    .assert_status(201);
    let public_layer = sha256(&TestImage::new("public-mount").layer);
    let uri = format!("/v2/{SHARED}/blobs/uploads/?mount={public_layer}&from={PUBLIC}");
    app.call(Method::POST, &uri, &world.rita.key(), None)
        .await
        .assert_status(201);
}

#[tokio::test]
async fn the_catalog_lists_only_what_the_caller_may_pull() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("catalog");
    for name in [PRIVATE, PUBLIC, SHARED, "vault/secrets/app"] {
        app.push_image(name, "v1", &world.admin.key(), &image)
            .await
            .assert_status(201);
    }
    let catalog = |auth: Auth| async move {
        let r = app.get("/v2/_catalog", &auth).await;
        r.assert_status(200);
        let mut names: Vec<String> = r.json()["repositories"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        names.sort();
        names
    };
    let all = [PRIVATE, PUBLIC, SHARED, "vault/secrets/app"];
    assert_eq!(catalog(world.admin.key()).await, all);
    assert_eq!(catalog(world.alice.key()).await, [PRIVATE, PUBLIC, SHARED]);
    assert_eq!(catalog(world.victor.key()).await, [PRIVATE, PUBLIC]);
    assert_eq!(catalog(world.rita.key()).await, [PUBLIC, SHARED]);
    assert_eq!(catalog(world.nora.key()).await, [PUBLIC]);
    assert_eq!(catalog(world.olga.key()).await, [PUBLIC]);
    let anonymous = app.token(&Auth::None, &["registry:catalog:*"]).await;
    assert_eq!(catalog(Auth::Bearer(anonymous)).await, [PUBLIC]);
    let victor = app
        .token(&world.victor.key(), &["registry:catalog:*"])
        .await;
    assert_eq!(catalog(Auth::Bearer(victor)).await, [PRIVATE, PUBLIC]);
    // Pagination counts only visible names.
    let r = app.get("/v2/_catalog?n=1", &world.victor.key()).await;
    r.assert_status(200);
    assert_eq!(r.json()["repositories"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_repository_member_outside_the_project_uses_access_keys_only() {
    let world = World::new().await;
    let app = &world.app;
    let rita = world.rita.key();
    let image = TestImage::new("rita");
    // Push and pull with an access key, Basic and token.
    app.push_image(SHARED, "v1", &rita, &image)
        .await
        .assert_status(201);
    app.assert_pull(SHARED, "v1", &rita, &image).await;
    let t = app.token(&rita, &[&scope(SHARED, "pull,push")]).await;
    app.push_image(SHARED, "v2", &Auth::Bearer(t.clone()), &image)
        .await
        .assert_status(201);
    app.assert_pull(SHARED, "v2", &Auth::Bearer(t), &image)
        .await;
    // Only that repository.
    app.push_image(PRIVATE, "v1", &rita, &image)
        .await
        .assert_error_code(403, "DENIED");
    app.get_manifest(PRIVATE, "v1", &rita)
        .await
        .assert_error_code(403, "DENIED");

    // The management API with a password on that project is refused with a clear message.
    let expected = "repository roles can be used only with access credentials from CLI tools";
    for uri in [
        "/api/v1/projects/team",
        "/api/v1/projects/team/repositories/shared",
        "/api/v1/projects/team/repositories/shared/permissions",
        "/api/v1/projects/team/members",
    ] {
        let r = app.get(uri, &world.rita.pw()).await;
        r.assert_error_code(403, "DENIED");
        assert!(r.message().contains(expected), "{uri}: {}", r.message());
    }
    let r = app
        .post(
            "/api/v1/projects/team/repositories",
            &world.rita.pw(),
            json!({ "name": "rogue" }),
        )
        .await;
    r.assert_error_code(403, "DENIED");
    assert!(r.message().contains(expected), "{}", r.message());
    // Listing repositories with a password shows only the public one.
    let r = app
        .get("/api/v1/projects/team/repositories", &world.rita.pw())
        .await;
    r.assert_status(200);
    let listed: Vec<String> = r
        .json()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(listed, ["public"], "only what anyone may pull");
    // Their own account is theirs to manage with the password.
    app.get("/api/v1/me", &world.rita.pw())
        .await
        .assert_status(200);
    // With an access key, the API shows the repository they may pull.
    app.get("/api/v1/projects/team/repositories/shared", &rita)
        .await
        .assert_status(200);
    // A repository viewer is in the same situation.
    let r = app
        .get(
            "/api/v1/projects/team/repositories/private",
            &world.victor.pw(),
        )
        .await;
    r.assert_error_code(403, "DENIED");
    assert!(r.message().contains(expected), "{}", r.message());
}

#[tokio::test]
async fn a_public_repository_is_pulled_by_anyone_and_pushed_by_members_only() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("public");
    app.push_image(PUBLIC, "v1", &world.alice.key(), &image)
        .await
        .assert_status(201);
    // Anonymous pull with no token at all, and with an anonymous token.
    app.assert_pull(PUBLIC, "v1", &Auth::None, &image).await;
    let t = app.token(&Auth::None, &[&scope(PUBLIC, "pull")]).await;
    app.assert_pull(PUBLIC, "v1", &Auth::Bearer(t), &image)
        .await;
    let tags = app
        .get(&format!("/v2/{PUBLIC}/tags/list"), &Auth::None)
        .await;
    tags.assert_status(200);
    assert_eq!(tags.json()["tags"], json!(["v1"]));
    // Any user may pull.
    for u in [&world.nora, &world.olga, &world.victor, &world.rita] {
        app.assert_pull(PUBLIC, "v1", &u.key(), &image).await;
    }
    // Pushing and deleting still need a role.
    let other = TestImage::new("intruder");
    let r = app.push_image(PUBLIC, "v2", &Auth::None, &other).await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.contains("pull,push")));
    app.push_image(PUBLIC, "v2", &world.nora.key(), &other)
        .await
        .assert_error_code(403, "DENIED");
    app.push_image(PUBLIC, "v2", &world.victor.key(), &other)
        .await
        .assert_error_code(403, "DENIED");
    app.put_manifest(PUBLIC, "v1", &world.nora.key(), &image)
        .await
        .assert_error_code(403, "DENIED");
    app.delete(
        &format!("/v2/{PUBLIC}/manifests/{}", image.digest()),
        &Auth::None,
    )
    .await
    .assert_error_code(401, "UNAUTHORIZED");
    app.delete(
        &format!("/v2/{PUBLIC}/manifests/{}", image.digest()),
        &world.nora.key(),
    )
    .await
    .assert_error_code(403, "DENIED");
    // Making it private closes it at once.
    app.call(
        Method::PATCH,
        "/api/v1/projects/team/repositories/public",
        &world.alice.pw(),
        Some(json!({ "visibility": "private" })),
    )
    .await
    .assert_status(200);
    app.get_manifest(PUBLIC, "v1", &Auth::None)
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    app.get_manifest(PUBLIC, "v1", &world.nora.key())
        .await
        .assert_error_code(403, "DENIED");
}

#[tokio::test]
async fn users_of_another_organization_get_no_more_than_public_pull() {
    let world = World::new().await;
    let app = &world.app;
    let olga = world.olga.key();
    let image = TestImage::new("orgs");
    for name in [PRIVATE, PUBLIC] {
        app.push_image(name, "v1", &world.alice.key(), &image)
            .await
            .assert_status(201);
    }
    app.get("/v2/", &olga).await.assert_status(200);
    app.assert_pull(PUBLIC, "v1", &olga, &image).await;
    app.get_manifest(PRIVATE, "v1", &olga)
        .await
        .assert_error_code(403, "DENIED");
    app.push_image(PUBLIC, "v2", &olga, &image)
        .await
        .assert_error_code(403, "DENIED");
    app.push_image(PRIVATE, "v2", &olga, &image)
        .await
        .assert_error_code(403, "DENIED");
    let t = app
        .token(&olga, &[&scope(PUBLIC, "*"), &scope(PRIVATE, "*")])
        .await;
    assert_eq!(crate::app::granted(&t, PUBLIC), ["pull"]);
    assert!(crate::app::granted(&t, PRIVATE).is_empty());
    // They cannot be given a role in the project.
    let r = app
        .put(
            "/api/v1/projects/team/members/olga",
            &world.admin.pw(),
            json!({ "role": "admin" }),
        )
        .await;
    r.assert_error_code(400, "INVALID_REQUEST");
    app.put(
        "/api/v1/projects/team/repositories/private/permissions/olga",
        &world.admin.pw(),
        json!({ "role": "viewer" }),
    )
    .await
    .assert_error_code(400, "INVALID_REQUEST");
    app.get_manifest(PRIVATE, "v1", &olga)
        .await
        .assert_error_code(403, "DENIED");
    // The management API shows them nothing of the project.
    let projects = app.get("/api/v1/projects", &world.olga.pw()).await;
    projects.assert_status(200);
    assert_eq!(projects.json(), json!([]));
    app.get("/api/v1/projects/team", &world.olga.pw())
        .await
        .assert_error_code(403, "DENIED");
    app.post(
        "/api/v1/projects/team/repositories",
        &world.olga.pw(),
        json!({ "name": "x" }),
    )
    .await
    .assert_error_code(403, "DENIED");
    // Nor may they create users or organizations.
    app.post("/api/v1/orgs", &world.olga.pw(), json!({ "id": "third" }))
        .await
        .assert_error_code(403, "DENIED");
    app.post(
        "/api/v1/orgs/default/users",
        &world.olga.pw(),
        json!({ "name": "spy", "password": "spy-password-123" }),
    )
    .await
    .assert_error_code(403, "DENIED");
}

#[tokio::test]
async fn taking_a_role_away_takes_effect_at_once_even_for_issued_tokens() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("roles");
    app.push_image(PRIVATE, "v1", &world.alice.key(), &image)
        .await
        .assert_status(201);
    let victor = app
        .token(&world.victor.key(), &[&scope(PRIVATE, "pull")])
        .await;
    let alice = app
        .token(&world.alice.key(), &[&scope(PRIVATE, "pull,push")])
        .await;
    app.assert_pull(PRIVATE, "v1", &Auth::Bearer(victor.clone()), &image)
        .await;
    app.push_image(PRIVATE, "v2", &Auth::Bearer(alice.clone()), &image)
        .await
        .assert_status(201);

    app.delete(
        "/api/v1/projects/team/repositories/private/permissions/victor",
        &world.admin.pw(),
    )
    .await
    .assert_status(200);
    app.delete("/api/v1/projects/team/members/alice", &world.admin.pw())
        .await
        .assert_status(200);
    for (token, basic) in [(&victor, world.victor.key()), (&alice, world.alice.key())] {
        app.get_manifest(PRIVATE, "v1", &Auth::Bearer(token.clone()))
            .await
            .assert_error_code(403, "DENIED");
        app.get_manifest(PRIVATE, "v1", &basic)
            .await
            .assert_error_code(403, "DENIED");
    }
    app.push_image(PRIVATE, "v3", &Auth::Bearer(alice), &image)
        .await
        .assert_error_code(403, "DENIED");
    // A new token grants nothing any more.
    let t = app
        .token(&world.alice.key(), &[&scope(PRIVATE, "pull,push")])
        .await;
    assert!(crate::app::granted(&t, PRIVATE).is_empty());
}
