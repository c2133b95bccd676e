//! A populated in-process registry: projects, public and private repositories, and one user per role, all made through the management API.

use serde_json::json;

use crate::app::{App, Auth, ADMIN_PASSWORD};

/// An access key as created: id and the secret shown once.
#[derive(Debug, Clone)]
pub struct Key {
    /// Key id (`KCR...`).
    pub id: String,
    /// Its secret.
    pub secret: String,
}

impl Key {
    /// Basic credentials of the key.
    pub fn auth(&self) -> Auth {
        Auth::basic(&self.id, &self.secret)
    }
}

/// A user with a password and one access key.
#[derive(Debug, Clone)]
pub struct User {
    /// User name.
    pub name: String,
    /// Console password.
    pub password: String,
    /// An access key.
    pub key: Key,
}

impl User {
    /// Basic credentials with the password (console and management API).
    pub fn pw(&self) -> Auth {
        Auth::basic(&self.name, &self.password)
    }

    /// Basic credentials with the access key (registry clients).
    pub fn key(&self) -> Auth {
        self.key.auth()
    }
}

/// The registry every in-process test starts from:
///
/// - organization `default`: `admin` (organization admin, project admin of `team` and `vault`),
///   `alice` (project member of `team`), `victor` (repository viewer of `team/private`),
///   `rita` (repository member of `team/shared`), `nora` (no role anywhere);
/// - organization `other`: `olga`;
/// - project `team`: repositories `private` (private), `public` (public), `shared` (private);
/// - project `vault`: repository `secrets` (private).
pub struct World {
    /// The app.
    pub app: App,
    /// Bootstrap administrator.
    pub admin: User,
    /// Project member of `team`.
    pub alice: User,
    /// Repository viewer of `team/private`.
    pub victor: User,
    /// Repository member of `team/shared`, outside the project.
    pub rita: User,
    /// Same organization, no role.
    pub nora: User,
    /// Another organization.
    pub olga: User,
}

/// Creates an access key for `name` signed in with `password`; returns it.
pub async fn create_key(app: &App, name: &str, password: &str) -> Key {
    let r = app
        .post(
            &format!("/api/v1/users/{name}/access-keys"),
            &Auth::basic(name, password),
            json!({ "description": format!("key of {name}") }),
        )
        .await;
    r.assert_status(201);
    let v = r.json();
    Key {
        id: v["id"].as_str().expect("id").to_owned(),
        secret: v["secret"].as_str().expect("secret").to_owned(),
    }
}

async fn create_user(app: &App, admin: &Auth, org: &str, name: &str) -> (String, String) {
    let password = format!("{name}-secret-password-1");
    app.post(
        &format!("/api/v1/orgs/{org}/users"),
        admin,
        json!({ "name": name, "password": password }),
    )
    .await
    .assert_status(201);
    (name.to_owned(), password)
}

impl World {
    /// Builds the world through the management API.
    pub async fn new() -> World {
        World::on(App::new().await).await
    }

    /// Builds the world on `app`.
    pub async fn on(app: App) -> World {
        let admin = Auth::basic("admin", ADMIN_PASSWORD);
        for project in ["team", "vault"] {
            app.post("/api/v1/projects", &admin, json!({ "id": project }))
                .await
                .assert_status(201);
        }
        for (project, repo, visibility) in [
            ("team", "private", "private"),
            ("team", "public", "public"),
            ("team", "shared", "private"),
            ("vault", "secrets", "private"),
        ] {
            let r = app
                .post(
                    &format!("/api/v1/projects/{project}/repositories"),
                    &admin,
                    json!({ "name": repo, "visibility": visibility }),
                )
                .await;
            r.assert_status(201);
            assert_eq!(r.json()["visibility"], visibility);
        }
        app.post("/api/v1/orgs", &admin, json!({ "id": "other" }))
            .await
            .assert_status(201);
        let mut users = Vec::new();
        for (org, name) in [
            ("default", "alice"),
            ("default", "victor"),
            ("default", "rita"),
            ("default", "nora"),
            ("other", "olga"),
        ] {
            users.push(create_user(&app, &admin, org, name).await);
        }
        app.put(
            "/api/v1/projects/team/members/alice",
            &admin,
            json!({ "role": "member" }),
        )
        .await
        .assert_status(200);
        app.put(
            "/api/v1/projects/team/repositories/private/permissions/victor",
            &admin,
            json!({ "role": "viewer" }),
        )
        .await
        .assert_status(200);
        app.put(
            "/api/v1/projects/team/repositories/shared/permissions/rita",
            &admin,
            json!({ "role": "member" }),
        )
        .await
        .assert_status(200);
        let mut done = Vec::new();
        users.insert(0, ("admin".to_owned(), ADMIN_PASSWORD.to_owned()));
        for (name, password) in users {
            let key = create_key(&app, &name, &password).await;
            done.push(User {
                name,
                password,
                key,
            });
        }
        let mut it = done.into_iter();
        let mut next = || it.next().expect("user");
        World {
            admin: next(),
            alice: next(),
            victor: next(),
            rita: next(),
            nora: next(),
            olga: next(),
            app,
        }
    }

    /// Every password and access-key secret of the world.
    pub fn secrets(&self) -> Vec<String> {
        [
            &self.admin,
            &self.alice,
            &self.victor,
            &self.rita,
            &self.nora,
            &self.olga,
        ]
        .iter()
        .flat_map(|u| [u.password.clone(), u.key.secret.clone()])
        .collect()
    }
}
