//! The Docker token endpoint in process: granted scopes are the intersection of requested and allowed, and invalid, expired, tampered or misdirected tokens are refused.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use kcr_server::auth::scope::ResourceActions;
use kcr_server::auth::token::{Claims, TokenIssuer, ISSUER};
use serde_json::json;

use crate::app::{claims, granted, Auth, TestImage, TOKEN_SECRET};
use crate::world::World;

const PRIVATE: &str = "team/private/app";
const PUBLIC: &str = "team/public/app";
const SHARED: &str = "team/shared/app";

fn scope(name: &str, actions: &str) -> String {
    format!("repository:{name}:{actions}")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[tokio::test]
async fn token_responses_follow_the_docker_token_spec() {
    let world = World::new().await;
    let r = world
        .app
        .token_response(&world.alice.key(), &[&scope(PRIVATE, "pull,push")])
        .await;
    r.assert_status(200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body = r.json();
    assert_eq!(body["token"], body["access_token"], "{body}");
    assert_eq!(body["expires_in"], 300);
    let issued = body["issued_at"].as_str().expect("issued_at");
    assert!(
        issued.len() == 20 && issued.ends_with('Z') && issued.contains('T'),
        "{issued}"
    );
    let token = body["token"].as_str().expect("token");
    let c = claims(token);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["aud"], "kcr");
    assert_eq!(c["kid"], world.alice.key.id.as_str());
    let exp = c["exp"].as_u64().expect("exp");
    assert!(exp > now() && exp <= now() + 301, "short-lived: {c}");
    assert!(
        !token.contains(&world.alice.key.secret),
        "the secret is not in the token"
    );
}

#[tokio::test]
async fn anonymous_token_for_a_public_repository_grants_pull_only() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("public");
    app.push_image(PUBLIC, "v1", &world.alice.key(), &image)
        .await
        .assert_status(201);

    let t = app.token(&Auth::None, &[&scope(PUBLIC, "pull,push")]).await;
    assert_eq!(granted(&t, PUBLIC), ["pull"]);
    assert_eq!(claims(&t)["sub"], "");
    app.assert_pull(PUBLIC, "v1", &Auth::Bearer(t.clone()), &image)
        .await;
    let push = app
        .push_blob(PUBLIC, &Auth::Bearer(t.clone()), b"anonymous layer")
        .await;
    push.assert_error_code(401, "UNAUTHORIZED");

    // Nothing for a private repository, nor for `*`.
    let t = app
        .token(
            &Auth::None,
            &[&scope(PRIVATE, "pull,push"), &scope(PUBLIC, "*")],
        )
        .await;
    assert!(granted(&t, PRIVATE).is_empty(), "{}", claims(&t));
    assert_eq!(granted(&t, PUBLIC), ["pull"]);
    app.get_manifest(PRIVATE, "v1", &Auth::Bearer(t))
        .await
        .assert_error_code(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn granted_actions_are_the_intersection_of_requested_and_allowed() {
    let world = World::new().await;
    let app = &world.app;
    let cases: [(&Auth, &str, &str, &[&str]); 16] = [
        // A repository viewer asking for pull and push gets pull.
        (&world.victor.key(), PRIVATE, "pull,push", &["pull"]),
        (&world.victor.key(), PRIVATE, "push", &[]),
        (&world.victor.key(), SHARED, "pull,push", &[]),
        // A project member gets both, and delete when asked.
        (&world.alice.key(), PRIVATE, "pull,push", &["pull", "push"]),
        (&world.alice.key(), PRIVATE, "pull", &["pull"]),
        (
            &world.alice.key(),
            PRIVATE,
            "*",
            &["delete", "pull", "push"],
        ),
        (&world.alice.key(), "vault/secrets/app", "pull,push", &[]),
        // A repository member outside the project: push and pull, no delete.
        (
            &world.rita.key(),
            SHARED,
            "pull,push,delete",
            &["pull", "push"],
        ),
        (&world.rita.key(), PRIVATE, "pull", &[]),
        // No role: public pull only.
        (&world.nora.key(), PRIVATE, "pull,push", &[]),
        (&world.nora.key(), PUBLIC, "pull,push", &["pull"]),
        // Another organization: public pull only.
        (&world.olga.key(), PRIVATE, "pull,push", &[]),
        (&world.olga.key(), PUBLIC, "pull,push", &["pull"]),
        // Project admin.
        (
            &world.admin.key(),
            "vault/secrets/app",
            "pull,push,delete",
            &["delete", "pull", "push"],
        ),
        // Repositories and projects that do not exist: nothing is granted... except to those who
        // could create them.
        (&world.nora.key(), "team/missing/app", "pull,push", &[]),
        (
            &world.alice.key(),
            "team/missing/app",
            "pull,push",
            &["pull", "push"],
        ),
    ];
    for (auth, name, actions, want) in cases {
        let t = app.token(auth, &[&scope(name, actions)]).await;
        assert_eq!(
            granted(&t, name),
            want,
            "{auth:?} asking {actions} on {name}"
        );
    }
    // Several scopes in one request, as docker asks for a cross-repository mount.
    let t = app
        .token(
            &world.rita.key(),
            &[&scope(SHARED, "pull,push"), &scope(PRIVATE, "pull")],
        )
        .await;
    assert_eq!(granted(&t, SHARED), ["pull", "push"]);
    assert!(granted(&t, PRIVATE).is_empty());
    // Garbage scopes are ignored, not fatal.
    let t = app
        .token(
            &world.alice.key(),
            &["nonsense", &scope("NOT/valid", "pull")],
        )
        .await;
    assert_eq!(claims(&t)["access"], json!([]));
}

#[tokio::test]
async fn invalid_credentials_on_the_token_endpoint_are_401() {
    let world = World::new().await;
    let app = &world.app;
    let s = scope(PRIVATE, "pull");
    for auth in [
        Auth::basic(&world.alice.key.id, "wrong-secret"),
        Auth::basic("KCRAAAAAAAAAAAAAAAAA", &world.alice.key.secret),
        Auth::basic(&world.alice.key.id, &world.victor.key.secret),
    ] {
        let r = app.token_response(&auth, &[&s]).await;
        r.assert_error_code(401, "UNAUTHORIZED");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Basic")),
            "{:?}",
            r.headers
        );
    }
    let r = app
        .send(
            axum::http::Method::GET,
            "/v2/token?service=kcr",
            &Auth::None,
            &[("authorization", "Basic !!!not-base64")],
            None,
            Vec::new(),
            None,
        )
        .await;
    r.assert_error_code(401, "UNAUTHORIZED");
    // A token is not a credential for getting tokens.
    let t = app.token(&world.alice.key(), &[&s]).await;
    app.token_response(&Auth::Bearer(t), &[&s])
        .await
        .assert_error_code(401, "UNAUTHORIZED");
}

#[tokio::test]
async fn a_password_on_the_token_endpoint_is_refused_with_advice_to_use_an_access_key() {
    let world = World::new().await;
    let r = world
        .app
        .token_response(&world.alice.pw(), &[&scope(PRIVATE, "pull,push")])
        .await;
    r.assert_error_code(401, "UNAUTHORIZED");
    let m = r.message();
    assert!(m.contains("access key"), "{m}");
    assert!(m.contains("not a user password"), "{m}");
    // The admin's password neither.
    world
        .app
        .token_response(&world.admin.pw(), &[&scope(PRIVATE, "pull")])
        .await
        .assert_error_code(401, "UNAUTHORIZED");
}

fn forge(secret: &[u8], kid: &str, exp: u64, access: Vec<ResourceActions>) -> String {
    let issuer = TokenIssuer::new(secret, Duration::from_secs(300), "kcr").expect("issuer");
    issuer
        .sign(&Claims {
            iss: ISSUER.into(),
            sub: "alice".into(),
            aud: "kcr".into(),
            exp,
            nbf: exp.saturating_sub(600),
            iat: exp.saturating_sub(600),
            jti: "forged".into(),
            kid: Some(kid.to_owned()),
            org: Some("default".into()),
            access,
        })
        .expect("sign")
}

fn full_access(name: &str) -> Vec<ResourceActions> {
    vec![ResourceActions {
        kind: "repository".into(),
        name: name.into(),
        actions: vec!["pull".into(), "push".into()],
    }]
}

#[tokio::test]
async fn expired_tampered_and_foreign_tokens_are_401() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("tokens");
    app.push_image(PRIVATE, "v1", &world.alice.key(), &image)
        .await
        .assert_status(201);
    let kid = &world.alice.key.id;

    // A well-signed token that is still valid works: the forging helper is right.
    let good = forge(&TOKEN_SECRET, kid, now() + 60, full_access(PRIVATE));
    app.get_manifest(PRIVATE, "v1", &Auth::Bearer(good))
        .await
        .assert_status(200);

    // Expired a minute ago (beyond any leeway).
    let expired = forge(&TOKEN_SECRET, kid, now() - 60, full_access(PRIVATE));
    let r = app
        .get_manifest(PRIVATE, "v1", &Auth::Bearer(expired))
        .await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer realm=")));

    // Signed with another secret.
    let foreign = forge(&[1u8; 32], kid, now() + 60, full_access(PRIVATE));
    app.get_manifest(PRIVATE, "v1", &Auth::Bearer(foreign))
        .await
        .assert_error_code(401, "UNAUTHORIZED");

    // A real token for victor (pull) whose payload is rewritten to grant push, keeping the
    // signature.
    let real = app
        .token(&world.victor.key(), &[&scope(PRIVATE, "pull,push")])
        .await;
    assert_eq!(granted(&real, PRIVATE), ["pull"]);
    let mut c = claims(&real);
    c["access"][0]["actions"] = json!(["pull", "push"]);
    c["sub"] = json!("alice");
    let parts: Vec<&str> = real.split('.').collect();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(serde_json::to_vec(&c).expect("json"));
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    app.get_manifest(PRIVATE, "v1", &Auth::Bearer(tampered.clone()))
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    app.push_blob(PRIVATE, &Auth::Bearer(tampered), b"x")
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    // `alg: none`.
    let header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{header}.{payload}.");
    app.get_manifest(PRIVATE, "v1", &Auth::Bearer(unsigned))
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    // Garbage.
    app.get("/v2/", &Auth::Bearer("not.a.token".into()))
        .await
        .assert_error_code(401, "UNAUTHORIZED");
    // The untouched real token still works for what it grants.
    app.assert_pull(PRIVATE, "v1", &Auth::Bearer(real), &image)
        .await;
}

#[tokio::test]
async fn tokens_expire_after_their_ttl() {
    let settings = kcr_server::auth::AuthSettings {
        token_ttl: Duration::from_secs(1),
        ..Default::default()
    };
    let world = World::on(crate::app::App::with_settings(settings).await).await;
    let app = &world.app;
    let r = app
        .token_response(&world.alice.key(), &[&scope(PRIVATE, "pull")])
        .await;
    r.assert_status(200);
    assert_eq!(r.json()["expires_in"], 1);
    let t = r.json()["token"].as_str().expect("token").to_owned();
    app.get("/v2/", &Auth::Bearer(t.clone()))
        .await
        .assert_status(200);
    // The verifier allows a few seconds of clock skew; wait past it.
    let exp = claims(&t)["exp"].as_u64().expect("exp");
    while now() <= exp + 6 {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let r = app.get("/v2/", &Auth::Bearer(t)).await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert!(r.message().contains("expired"), "{}", r.message());
}

#[tokio::test]
async fn a_token_for_one_repository_does_not_open_another() {
    let world = World::new().await;
    let app = &world.app;
    let image = TestImage::new("a-to-b");
    let other = "team/private/other";
    for name in [PRIVATE, other] {
        app.push_image(name, "v1", &world.alice.key(), &image)
            .await
            .assert_status(201);
    }
    let pull_a = app
        .token(&world.alice.key(), &[&scope(PRIVATE, "pull")])
        .await;
    app.get_manifest(PRIVATE, "v1", &Auth::Bearer(pull_a.clone()))
        .await
        .assert_status(200);

    // Allowed by role, not by the token: 401 with the scope to ask for.
    let r = app
        .get_manifest(other, "v1", &Auth::Bearer(pull_a.clone()))
        .await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert_eq!(
        r.header("www-authenticate"),
        Some(
            r#"Bearer realm="http://127.0.0.1:5000/v2/token",service="kcr",scope="repository:team/private/other:pull""#
        )
    );
    // Pushing with a pull token: 401 asking for pull,push.
    let r = app
        .push_blob(PRIVATE, &Auth::Bearer(pull_a), b"layer")
        .await;
    r.assert_error_code(401, "UNAUTHORIZED");
    assert!(
        r.header("www-authenticate")
            .is_some_and(|h| h.ends_with(r#"scope="repository:team/private/app:pull,push""#)),
        "{:?}",
        r.headers
    );

    // Not allowed by role either: 403, as for any other request of that user.
    let victor = app
        .token(&world.victor.key(), &[&scope(PRIVATE, "pull")])
        .await;
    app.get_manifest(PRIVATE, "v1", &Auth::Bearer(victor.clone()))
        .await
        .assert_status(200);
    let r = app
        .get_manifest("team/shared/app", "v1", &Auth::Bearer(victor.clone()))
        .await;
    r.assert_error_code(403, "DENIED");
    let r2 = app
        .get_manifest("team/shared/app", "v1", &world.victor.key())
        .await;
    assert_eq!((r.status, r.code()), (r2.status, r2.code()));
    // Tokens are not accepted by the management API.
    app.get("/api/v1/me", &Auth::Bearer(victor))
        .await
        .assert_error_code(401, "UNAUTHORIZED");
}
