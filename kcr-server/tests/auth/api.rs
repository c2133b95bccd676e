//! The management API in process: projects, repositories, users, memberships, repository roles, access keys, login throttling, and secrets never shown or stored in clear.

use std::net::IpAddr;

use axum::http::Method;
use serde_json::{json, Value};

use crate::app::{App, Auth, TestImage, ADMIN_PASSWORD};
use crate::support::in_process::Resp;
use crate::support::sha256;
use crate::world::{create_key, World};

fn names(v: &Value, field: &str) -> Vec<String> {
    let mut n: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x[field].as_str().map(str::to_owned))
        .collect();
    n.sort();
    n
}

/// No response of a listing may carry hashes or secrets.
#[track_caller]
fn assert_clean(r: &Resp, secrets: &[String]) {
    let text = r.text();
    for bad in ["argon2", "hash", "secret\""] {
        assert!(!text.contains(bad), "{bad:?} in {text}");
    }
    for s in secrets {
        assert!(!text.contains(s.as_str()), "a secret or password in {text}");
    }
}

#[tokio::test]
async fn management_api_creates_projects_repositories_users_roles_and_keys() {
    let app = App::new().await;
    let admin = Auth::basic("admin", ADMIN_PASSWORD);

    // The OpenAPI document is public.
    let doc = app.get("/api/v1/openapi.json", &Auth::None).await;
    doc.assert_status(200);
    assert!(
        doc.json()["paths"]["/projects/{project}/repositories"].is_object(),
        "{}",
        doc.text()
    );

    // Anonymous callers are asked to sign in; a wrong password is 401 with a Basic challenge,
    // the same as an unknown user.
    app.get("/api/v1/projects", &Auth::None)
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    let wrong = app
        .get(
            "/api/v1/projects",
            &Auth::basic("admin", "not-the-password"),
        )
        .await;
    wrong.assert_error_code(401, "UNAUTHORIZED");
    assert!(wrong
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Basic")));
    let unknown = app
        .get(
            "/api/v1/projects",
            &Auth::basic("nobody", "not-the-password"),
        )
        .await;
    unknown.assert_error_code(401, "UNAUTHORIZED");
    assert_eq!(
        wrong.message(),
        unknown.message(),
        "unknown users are not revealed"
    );

    // Projects: the creator becomes project admin.
    let p = app
        .post("/api/v1/projects", &admin, json!({ "id": "team" }))
        .await;
    p.assert_status(201);
    assert_eq!(p.json()["repository_count"], 0);
    app.post("/api/v1/projects", &admin, json!({ "id": "team" }))
        .await
        .assert_status(409);
    app.post("/api/v1/projects", &admin, json!({ "id": "Bad Name" }))
        .await
        .assert_status(400);
    let members = app.get("/api/v1/projects/team/members", &admin).await;
    members.assert_status(200);
    assert_eq!(
        members.json(),
        json!([{ "user": "admin", "role": "admin" }])
    );

    // Repositories, private by default, or public.
    let r = app
        .post(
            "/api/v1/projects/team/repositories",
            &admin,
            json!({ "name": "private", "description": "d" }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.json()["visibility"], "private");
    let r = app
        .post(
            "/api/v1/projects/team/repositories",
            &admin,
            json!({ "name": "public", "visibility": "public" }),
        )
        .await;
    r.assert_status(201);
    assert_eq!(r.json()["visibility"], "public");
    app.post(
        "/api/v1/projects/team/repositories",
        &admin,
        json!({ "name": "private" }),
    )
    .await
    .assert_status(409);
    let show = app.get("/api/v1/projects/team", &admin).await;
    show.assert_status(200);
    assert_eq!(show.json()["repository_count"], 2);
    let list = app.get("/api/v1/projects/team/repositories", &admin).await;
    list.assert_status(200);
    assert_eq!(names(&list.json(), "name"), ["private", "public"]);

    // Users: passwords are checked for length; the listing never shows hashes.
    app.post(
        "/api/v1/orgs/default/users",
        &admin,
        json!({ "name": "alice", "password": "short" }),
    )
    .await
    .assert_error_code(400, "INVALID_REQUEST");
    let alice_pw = "alice-secret-password-1";
    let created = app
        .post(
            "/api/v1/orgs/default/users",
            &admin,
            json!({ "name": "alice", "password": alice_pw }),
        )
        .await;
    created.assert_status(201);
    assert_clean(&created, &[alice_pw.to_owned()]);
    let victor_pw = "victor-secret-password-1";
    app.post(
        "/api/v1/orgs/default/users",
        &admin,
        json!({ "name": "victor", "password": victor_pw }),
    )
    .await
    .assert_status(201);
    let users = app.get("/api/v1/orgs/default/users", &admin).await;
    users.assert_status(200);
    assert_eq!(names(&users.json(), "name"), ["admin", "alice", "victor"]);
    assert_clean(
        &users,
        &[
            alice_pw.to_owned(),
            victor_pw.to_owned(),
            ADMIN_PASSWORD.to_owned(),
        ],
    );
    let alice = Auth::basic("alice", alice_pw);

    // Only organization administrators create users and projects.
    app.post(
        "/api/v1/orgs/default/users",
        &alice,
        json!({ "name": "mallory", "password": "mallory-password-1" }),
    )
    .await
    .assert_error_code(403, "DENIED");
    app.post("/api/v1/projects", &alice, json!({ "id": "mine" }))
        .await
        .assert_error_code(403, "DENIED");

    // Memberships: a project member manages repositories but not members.
    app.put(
        "/api/v1/projects/team/members/alice",
        &admin,
        json!({ "role": "owner" }),
    )
    .await
    .assert_status(400);
    app.put(
        "/api/v1/projects/team/members/alice",
        &admin,
        json!({ "role": "member" }),
    )
    .await
    .assert_status(200);
    let members = app.get("/api/v1/projects/team/members", &alice).await;
    members.assert_status(200);
    assert_eq!(names(&members.json(), "user"), ["admin", "alice"]);
    let no = app
        .put(
            "/api/v1/projects/team/members/victor",
            &alice,
            json!({ "role": "member" }),
        )
        .await;
    no.assert_error_code(403, "DENIED");
    assert!(
        no.message()
            .contains("project member may not manage members"),
        "{}",
        no.message()
    );
    app.post(
        "/api/v1/projects/team/repositories",
        &alice,
        json!({ "name": "by-alice" }),
    )
    .await
    .assert_status(201);
    app.delete("/api/v1/projects/team/repositories/by-alice", &alice)
        .await
        .assert_status(200);

    // Repository roles for organization users outside the project.
    app.put(
        "/api/v1/projects/team/repositories/private/permissions/victor",
        &alice,
        json!({ "role": "admin" }),
    )
    .await
    .assert_status(400);
    app.put(
        "/api/v1/projects/team/repositories/private/permissions/victor",
        &alice,
        json!({ "role": "viewer" }),
    )
    .await
    .assert_status(200);
    let perms = app
        .get(
            "/api/v1/projects/team/repositories/private/permissions",
            &admin,
        )
        .await;
    perms.assert_status(200);
    assert_eq!(
        perms.json(),
        json!([{ "user": "victor", "role": "viewer" }])
    );

    // Visibility can be changed.
    let patched = app
        .call(
            Method::PATCH,
            "/api/v1/projects/team/repositories/public",
            &admin,
            Some(json!({ "visibility": "private", "description": "now private" })),
        )
        .await;
    patched.assert_status(200);
    assert_eq!(patched.json()["visibility"], "private");
    assert_eq!(patched.json()["description"], "now private");

    // Access keys: the secret is in the creation response only.
    let created = app
        .post(
            "/api/v1/users/alice/access-keys",
            &alice,
            json!({ "description": "laptop" }),
        )
        .await;
    created.assert_status(201);
    let key = created.json();
    let (id, secret) = (
        key["id"].as_str().expect("id"),
        key["secret"].as_str().expect("secret"),
    );
    assert!(id.starts_with("KCR") && id.len() == 20, "{id}");
    assert!(secret.len() >= 32, "{secret}");
    assert!(!created.text().contains("argon2"), "{}", created.text());
    let expiring = app
        .post(
            "/api/v1/users/alice/access-keys",
            &alice,
            json!({ "expires_in_days": 7 }),
        )
        .await;
    expiring.assert_status(201);
    let expiring_secret = expiring.json()["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    app.post(
        "/api/v1/users/alice/access-keys",
        &alice,
        json!({ "expires_in_days": 0 }),
    )
    .await
    .assert_status(400);
    // Nobody creates keys for someone else, not even an administrator.
    app.post("/api/v1/users/alice/access-keys", &admin, json!({}))
        .await
        .assert_error_code(403, "DENIED");
    app.get(
        "/api/v1/users/alice/access-keys",
        &Auth::basic("victor", victor_pw),
    )
    .await
    .assert_error_code(403, "DENIED");
    let secrets = [
        secret.to_owned(),
        expiring_secret.clone(),
        alice_pw.to_owned(),
    ];
    for who in [&alice, &admin] {
        let listed = app.get("/api/v1/users/alice/access-keys", who).await;
        listed.assert_status(200);
        assert_clean(&listed, &secrets);
        let keys = listed.json();
        assert_eq!(keys.as_array().map(Vec::len), Some(2), "{keys}");
        for k in keys.as_array().into_iter().flatten() {
            let fields: Vec<&str> = k
                .as_object()
                .expect("object")
                .keys()
                .map(String::as_str)
                .collect();
            for f in ["id", "created", "last_used", "expires"] {
                assert!(fields.contains(&f), "{f} in {k}");
            }
            assert!(k.get("secret").is_none(), "{k}");
        }
        assert!(keys
            .as_array()
            .into_iter()
            .flatten()
            .any(|k| !k["expires"].is_null()));
    }

    // The key works with the registry and is then shown as used; the password does not.
    app.get("/v2/", &Auth::basic(id, secret))
        .await
        .assert_status(200);
    let listed = app
        .get("/api/v1/users/alice/access-keys", &alice)
        .await
        .json();
    let used = listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|k| k["id"] == id)
        .expect("key listed");
    assert!(!used["last_used"].is_null(), "{used}");
    app.get("/v2/", &Auth::basic("alice", alice_pw))
        .await
        .assert_error_code(401, "UNAUTHORIZED");

    // `GET /me`.
    let me = app.get("/api/v1/me", &alice).await;
    me.assert_status(200);
    assert_eq!(me.json()["user"]["name"], "alice");
    assert_eq!(
        me.json()["projects"],
        json!([{ "project": "team", "role": "member" }])
    );
    assert_clean(&me, &secrets);

    // Revoking: the key disappears from the listing and stops working.
    app.delete(&format!("/api/v1/users/alice/access-keys/{id}"), &alice)
        .await
        .assert_status(200);
    app.delete(&format!("/api/v1/users/alice/access-keys/{id}"), &alice)
        .await
        .assert_status(404);
    let listed = app
        .get("/api/v1/users/alice/access-keys", &alice)
        .await
        .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    app.get("/v2/", &Auth::basic(id, secret))
        .await
        .assert_error_code(401, "UNAUTHORIZED");

    // Changing a password: the old one stops working at once (it was cached).
    app.put(
        "/api/v1/users/alice/password",
        &alice,
        json!({ "password": "alice-new-password-2" }),
    )
    .await
    .assert_status(200);
    app.get("/api/v1/me", &alice)
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    app.get("/api/v1/me", &Auth::basic("alice", "alice-new-password-2"))
        .await
        .assert_status(200);

    // Removing a member.
    app.delete("/api/v1/projects/team/members/alice", &admin)
        .await
        .assert_status(200);
    app.get(
        "/api/v1/projects/team",
        &Auth::basic("alice", "alice-new-password-2"),
    )
    .await
    .assert_error_code(403, "DENIED");
}

#[tokio::test]
async fn repeated_failed_logins_from_one_client_get_429_with_retry_after() {
    let world = World::new().await;
    let app = &world.app;
    let attacker: IpAddr = "10.1.2.3".parse().expect("ip");
    let bystander: IpAddr = "10.1.2.4".parse().expect("ip");
    let try_login = |password: &'static str, ip: IpAddr| async move {
        app.send(
            Method::GET,
            "/api/v1/me",
            &Auth::basic("alice", password),
            &[],
            None,
            Vec::new(),
            Some(ip),
        )
        .await
    };
    let mut refused_at = None;
    for attempt in 1..=30 {
        let r = try_login("wrong-password-guess", attacker).await;
        if r.status == 429 {
            refused_at = Some(attempt);
            let retry: u64 = r
                .header("retry-after")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("Retry-After in {:?}", r.headers));
            assert!((1..=3600).contains(&retry), "{retry}");
            assert!(r.message().contains("too many"), "{}", r.text());
            break;
        }
        r.assert_error_code(401, "UNAUTHORIZED");
    }
    let refused_at = refused_at.expect("no 429 after 30 failed logins");
    assert!(
        refused_at > 3,
        "a few mistakes are tolerated (429 at attempt {refused_at})"
    );
    // While blocked even the right (not yet verified) password is slowed down from that address,
    // and access keys on the token endpoint too.
    let p = world.alice.password.clone();
    let r = app
        .send(
            Method::GET,
            "/api/v1/me",
            &world.alice.pw(),
            &[],
            None,
            Vec::new(),
            Some(attacker),
        )
        .await;
    r.assert_status(429);
    assert!(r.header("retry-after").is_some());
    let r = app
        .send(
            Method::GET,
            "/v2/token?service=kcr",
            &Auth::basic(&world.victor.key.id, "wrong"),
            &[],
            None,
            Vec::new(),
            Some(attacker),
        )
        .await;
    r.assert_status(429);
    // Other clients are not affected.
    let r = app
        .send(
            Method::GET,
            "/api/v1/me",
            &Auth::basic("alice", &p),
            &[],
            None,
            Vec::new(),
            Some(bystander),
        )
        .await;
    r.assert_status(200);
}

#[tokio::test]
async fn repeated_bad_access_key_secrets_on_v2_get_429() {
    let world = World::new().await;
    let app = &world.app;
    let ip: IpAddr = "10.9.9.9".parse().expect("ip");
    let bad = Auth::basic(&world.rita.key.id, "not-the-secret");
    let mut got_429 = false;
    for _ in 0..30 {
        let r = app
            .send(Method::GET, "/v2/", &bad, &[], None, Vec::new(), Some(ip))
            .await;
        if r.status == 429 {
            assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
            got_429 = true;
            break;
        }
        r.assert_error_code(401, "UNAUTHORIZED");
    }
    assert!(got_429, "guessing secrets is slowed down");
}

#[tokio::test]
async fn no_secret_or_password_is_stored_or_listed_in_clear() {
    let world = World::new().await;
    let app = &world.app;
    // Exercise the credentials: tokens, pushes, pulls, a password change.
    let image = TestImage::new("stored");
    app.push_image("team/private/app", "v1", &world.alice.key(), &image)
        .await
        .assert_status(201);
    let token = app
        .token(&world.victor.key(), &["repository:team/private/app:pull"])
        .await;
    app.assert_pull(
        "team/private/app",
        "v1",
        &Auth::Bearer(token.clone()),
        &image,
    )
    .await;
    app.get("/api/v1/me", &world.nora.pw())
        .await
        .assert_status(200);
    let new_password = "nora-changed-password-9".to_owned();
    app.put(
        "/api/v1/users/nora/password",
        &world.nora.pw(),
        json!({ "password": new_password }),
    )
    .await
    .assert_status(200);
    let extra = create_key(app, "nora", &new_password).await;

    let mut secrets = world.secrets();
    secrets.extend([new_password.clone(), extra.secret.clone(), token.clone()]);
    let stored = app.stored_metadata();
    assert!(!stored.is_empty());
    let mut hashes = 0;
    for (k, v) in &stored {
        for s in &secrets {
            let needle = s.as_bytes();
            for hay in [k, v] {
                assert!(
                    !hay.windows(needle.len()).any(|w| w == needle),
                    "a secret is stored in clear under key {:?}",
                    String::from_utf8_lossy(k)
                );
            }
        }
        hashes += v.windows(10).filter(|w| w == b"$argon2id$").count();
    }
    // Six users and seven keys, each with an argon2id hash.
    assert!(hashes >= 13, "{hashes} argon2id hashes stored");

    // Every listing the API has, read by the administrator: no hash, secret or password.
    let admin = world.admin.pw();
    for uri in [
        "/api/v1/orgs/default/users",
        "/api/v1/orgs/other/users",
        "/api/v1/projects",
        "/api/v1/projects/team",
        "/api/v1/projects/team/members",
        "/api/v1/projects/team/repositories",
        "/api/v1/projects/team/repositories/private",
        "/api/v1/projects/team/repositories/private/permissions",
        "/api/v1/projects/team/repositories/shared/permissions",
        "/api/v1/users/admin/access-keys",
        "/api/v1/users/nora/access-keys",
        "/api/v1/users/olga/access-keys",
        "/api/v1/me",
    ] {
        let r = app.get(uri, &admin).await;
        r.assert_status(200);
        assert_clean(&r, &secrets);
    }
    // Blob bytes are content, not credentials; still, the pushed image is intact.
    assert_eq!(app.stored_blobs().await, 2);
    assert_eq!(sha256(&image.manifest), image.digest());
}

#[tokio::test]
async fn credential_endpoints_do_not_reveal_which_users_exist() {
    let world = World::new().await;
    let app = &world.app;
    for who in [&world.nora, &world.olga, &world.rita] {
        let mut seen = Vec::new();
        for target in ["alice", "olga", "ghost"] {
            if target == who.name {
                continue;
            }
            let list = app
                .get(&format!("/api/v1/users/{target}/access-keys"), &who.pw())
                .await;
            list.assert_error_code(403, "DENIED");
            let create = app
                .post(
                    &format!("/api/v1/users/{target}/access-keys"),
                    &who.pw(),
                    json!({}),
                )
                .await;
            create.assert_error_code(403, "DENIED");
            let revoke = app
                .delete(
                    &format!("/api/v1/users/{target}/access-keys/{}", world.alice.key.id),
                    &who.key(),
                )
                .await;
            revoke.assert_error_code(403, "DENIED");
            seen.push([list.text(), create.text(), revoke.text()]);
        }
        assert!(
            seen.iter().all(|s| *s == seen[0]),
            "{}: {seen:#?}",
            who.name
        );
    }
    // Administrators are told.
    app.get("/api/v1/users/ghost/access-keys", &world.admin.pw())
        .await
        .assert_error_code(404, "NAME_UNKNOWN");
    // Nobody revokes someone else's key, and a key id of another user is "not found" for its
    // owner's administrator only when it is not theirs.
    app.delete(
        &format!("/api/v1/users/nora/access-keys/{}", world.alice.key.id),
        &world.nora.pw(),
    )
    .await
    .assert_status(404);
    app.get("/v2/", &world.alice.key()).await.assert_status(200);
}

/// Tag listing and history need pull; restoring a tag needs push; deleting one needs delete.
/// GC is for administrators of the default organization only.
#[tokio::test]
async fn tag_recovery_and_gc_follow_the_roles() {
    let w = World::new().await;
    let image = TestImage::new("tags");
    w.app
        .push_image("team/private/app", "v1", &w.alice.key(), &image)
        .await
        .assert_status(201);
    let base = "/api/v1/projects/team/repositories/private/images/app/tags";

    // The viewer reads tags and history with an access key; cannot delete or restore.
    let listed = w.app.get(base, &w.victor.key()).await;
    listed.assert_status(200);
    assert_eq!(listed.json()["tags"][0]["digest"], image.digest().as_str());
    w.app
        .delete(&format!("{base}/v1"), &w.victor.key())
        .await
        .assert_error_code(403, "DENIED");
    // Someone without a role learns nothing about the repository.
    w.app
        .get(base, &w.nora.pw())
        .await
        .assert_error_code(403, "DENIED");

    w.app
        .delete(&format!("{base}/v1"), &w.alice.pw())
        .await
        .assert_status(200);
    let history = w
        .app
        .get(&format!("{base}/v1/history"), &w.victor.key())
        .await;
    history.assert_status(200);
    assert_eq!(history.json()[1]["event"], "deleted", "{}", history.text());
    w.app
        .post(&format!("{base}/v1/restore"), &w.victor.key(), json!({}))
        .await
        .assert_error_code(403, "DENIED");
    w.app
        .post(
            &format!("{base}/v1/restore"),
            &w.alice.pw(),
            json!({ "digest": "sha256:nothex" }),
        )
        .await
        .assert_error_code(400, "INVALID_REQUEST");
    w.app
        .post(&format!("{base}/v1/restore"), &w.alice.pw(), json!({}))
        .await
        .assert_status(200);
    w.app
        .post(&format!("{base}/v1/restore"), &w.alice.pw(), json!({}))
        .await
        .assert_error_code(409, "CONFLICT");
    w.app
        .get(&format!("{base}/v9/history"), &w.alice.pw())
        .await
        .assert_error_code(404, "MANIFEST_UNKNOWN");
    w.app
        .get(
            "/api/v1/projects/team/repositories/private/images/app/manifests",
            &w.alice.pw(),
        )
        .await
        .assert_error_code(400, "INVALID_REQUEST");
    w.app
        .assert_pull("team/private/app", "v1", &w.alice.key(), &image)
        .await;

    // Garbage collection: the bootstrap administrator only.
    w.app
        .post("/api/v1/gc", &w.alice.pw(), json!({ "dry_run": true }))
        .await
        .assert_error_code(403, "DENIED");
    w.app
        .post("/api/v1/gc", &w.olga.pw(), json!({ "dry_run": true }))
        .await
        .assert_error_code(403, "DENIED");
    w.app
        .post("/api/v1/gc", &w.admin.pw(), json!({ "dry_run": "yes" }))
        .await
        .assert_error_code(400, "INVALID_REQUEST");
    // A refusal never depends on the body.
    w.app
        .post("/api/v1/gc", &w.alice.pw(), json!({ "dry_run": "yes" }))
        .await
        .assert_error_code(403, "DENIED");
    let report = w
        .app
        .post("/api/v1/gc", &w.admin.pw(), json!({ "dry_run": true }))
        .await;
    report.assert_status(200);
    assert_eq!(report.json()["blobs_removed"], 0, "{}", report.text());
    // Every field is optional, so a bare POST runs a collection with the defaults.
    let bare = w
        .app
        .call(Method::POST, "/api/v1/gc", &w.admin.pw(), None)
        .await;
    bare.assert_status(200);
    assert_eq!(bare.json()["grace_seconds"], 3600, "{}", bare.text());
    // Wrong methods and paths answer in the API's error envelope.
    w.app
        .get("/api/v1/gc", &w.admin.pw())
        .await
        .assert_error_code(405, "UNSUPPORTED");
    w.app
        .get("/api/v1/no-such-thing", &w.admin.pw())
        .await
        .assert_error_code(404, "UNSUPPORTED");
}
