//! The real `kcr-server` binary with authentication, set up through its management API: the users
//! every real-client test starts from, their access keys, and the checks those tests share.

use serde_json::json;

use crate::support::server_process::KcrServer;
use crate::support::sha256;

/// The administrator password given through `KCR_ADMIN_PASSWORD`.
pub const ADMIN_PASSWORD: &str = "real-admin-password-42";

/// An access key.
#[derive(Debug, Clone)]
pub struct RealKey {
    /// Id.
    pub id: String,
    /// Secret.
    pub secret: String,
}

impl RealKey {
    /// `id:secret`, as `--creds` takes it.
    pub fn creds(&self) -> String {
        format!("{}:{}", self.id, self.secret)
    }
}

/// Users of the real server: `alice` (project member of `team`), `victor` (viewer of
/// `team/private`), `rita` (repository member of `team/shared`, outside the project), and
/// their keys; repositories `team/private`, `team/shared` (private) and `team/public` (public).
pub struct RealWorld {
    /// The server.
    pub server: KcrServer,
    /// alice's key.
    pub alice: RealKey,
    /// victor's key.
    pub victor: RealKey,
    /// rita's key.
    pub rita: RealKey,
    /// Every password and secret handed out.
    pub secrets: Vec<String>,
}

/// Password of a real-world user.
pub fn password(user: &str) -> String {
    format!("{user}-real-password-7")
}

impl RealWorld {
    /// Starts a server and sets it up through the management API.
    pub fn start() -> RealWorld {
        let server = KcrServer::start_with_auth(ADMIN_PASSWORD);
        let admin = ("admin", ADMIN_PASSWORD);
        server.api(
            "POST",
            "/projects",
            admin,
            Some(json!({ "id": "team" })),
            201,
        );
        for (repo, visibility) in [
            ("private", "private"),
            ("shared", "private"),
            ("public", "public"),
        ] {
            server.api(
                "POST",
                "/projects/team/repositories",
                admin,
                Some(json!({ "name": repo, "visibility": visibility })),
                201,
            );
        }
        for user in ["alice", "victor", "rita"] {
            server.api(
                "POST",
                "/orgs/default/users",
                admin,
                Some(json!({ "name": user, "password": password(user) })),
                201,
            );
        }
        server.api(
            "PUT",
            "/projects/team/members/alice",
            admin,
            Some(json!({ "role": "member" })),
            200,
        );
        server.api(
            "PUT",
            "/projects/team/repositories/private/permissions/victor",
            admin,
            Some(json!({ "role": "viewer" })),
            200,
        );
        server.api(
            "PUT",
            "/projects/team/repositories/shared/permissions/rita",
            admin,
            Some(json!({ "role": "member" })),
            200,
        );
        let mut secrets = vec![ADMIN_PASSWORD.to_owned()];
        let mut keys = Vec::new();
        for user in ["alice", "victor", "rita"] {
            let k = new_key(&server, user);
            secrets.extend([password(user), k.secret.clone()]);
            keys.push(k);
        }
        let mut keys = keys.into_iter();
        let mut next = || keys.next().expect("key");
        RealWorld {
            alice: next(),
            victor: next(),
            rita: next(),
            server,
            secrets,
        }
    }

    /// A new key for `user`, recorded among the secrets.
    pub fn new_key(&mut self, user: &str) -> RealKey {
        let k = new_key(&self.server, user);
        self.secrets.push(k.secret.clone());
        k
    }

    /// Revokes a key of `user`.
    pub fn revoke(&self, user: &str, key: &RealKey) {
        let pw = password(user);
        self.server.api(
            "DELETE",
            &format!("/users/{user}/access-keys/{}", key.id),
            (user, &pw),
            None,
            200,
        );
    }

    /// The manifest digest kcr serves for `name:reference`, and its bytes, read with `key`.
    pub fn manifest(&self, key: &RealKey, name: &str, reference: &str) -> (String, Vec<u8>) {
        let r = self
            .server
            .request(
                "GET",
                &format!("/v2/{name}/manifests/{reference}"),
                Some((&key.id, &key.secret)),
                None,
            )
            .expect("GET manifest");
        assert_eq!(r.status, 200, "GET {name}:{reference}: {}", r.text());
        let digest = r
            .header("docker-content-digest")
            .expect("digest")
            .to_owned();
        assert_eq!(
            sha256(&r.body),
            digest,
            "the served bytes hash to the digest"
        );
        (digest, r.body)
    }

    /// The password of rita on the management API for the project she holds a repository role in:
    /// refused with the clear message.
    pub fn assert_repository_role_password_refused(&self) {
        let pw = password("rita");
        let r = self
            .server
            .request(
                "GET",
                "/api/v1/projects/team/repositories/shared",
                Some(("rita", &pw)),
                None,
            )
            .expect("request");
        assert_eq!(r.status, 403, "{}", r.text());
        assert!(
            r.text().contains(
                "repository roles can be used only with access credentials from CLI tools"
            ),
            "{}",
            r.text()
        );
    }
}

fn new_key(server: &KcrServer, user: &str) -> RealKey {
    let pw = password(user);
    let pw = if user == "admin" {
        ADMIN_PASSWORD.to_owned()
    } else {
        pw
    };
    let v = server.api(
        "POST",
        &format!("/users/{user}/access-keys"),
        (user, &pw),
        Some(json!({ "description": "real client tests" })),
        201,
    );
    RealKey {
        id: v["id"].as_str().expect("id").to_owned(),
        secret: v["secret"].as_str().expect("secret").to_owned(),
    }
}
