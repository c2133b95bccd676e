//! Runs the `kcr` binary against a real kcr server (in-process, authenticated, memory storage).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use kcr_core::{Registry, RegistryConfig};
use kcr_server::auth::{AuthSettings, Authenticator};
use kcr_server::{bootstrap, AppState, Server};

const ADMIN_PASSWORD: &str = "admin-password-123";

/// A server on a background runtime, alive as long as the value.
struct TestServer {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn start_server() -> TestServer {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let addr = runtime.block_on(async {
        let config = RegistryConfig {
            create_on_push: false,
            ..RegistryConfig::default()
        };
        let registry = Registry::in_memory(config);
        let meta = registry.meta().clone();
        bootstrap::ensure_admin(meta.as_ref(), Some(ADMIN_PASSWORD))
            .await
            .unwrap();
        let auth = Authenticator::new(meta, &[9u8; 32], AuthSettings::default()).unwrap();
        let state = AppState::new(registry).with_auth(Arc::new(auth));
        let server = Server::bind("127.0.0.1:0".parse().unwrap(), state)
            .await
            .unwrap();
        let running = server.spawn().unwrap();
        let addr = running.addr;
        std::mem::forget(running);
        addr
    });
    TestServer {
        addr,
        _runtime: runtime,
    }
}

/// Runs `kcr` with its own config directory, feeding `stdin`.
fn kcr(config: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kcr"))
        .args(args)
        .env("KCR_CONFIG_DIR", config)
        .env_remove("KCR_SERVER")
        .env_remove("KCR_USER")
        .env_remove("KCR_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "kcr failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn manages_projects_repositories_users_and_keys() {
    let server = start_server();
    let url = format!("http://{}", server.addr);
    let admin = tempfile::tempdir().unwrap();
    let a = admin.path();

    let out = ok(&kcr(
        a,
        &["login", "--server", &url, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    ));
    assert!(out.contains("Signed in"), "{out}");
    let creds = std::fs::read_to_string(a.join("credentials.json")).unwrap();
    assert!(creds.contains("admin"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(a.join("credentials.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    ok(&kcr(a, &["project", "create", "team-a"], ""));
    ok(&kcr(
        a,
        &[
            "repo",
            "create",
            "team-a",
            "web",
            "--description",
            "frontend",
        ],
        "",
    ));
    ok(&kcr(
        a,
        &["repo", "create", "team-a", "pub", "--public"],
        "",
    ));
    let list = ok(&kcr(a, &["repo", "list", "team-a"], ""));
    assert!(
        list.contains("web") && list.contains("frontend") && list.contains("public"),
        "{list}"
    );

    ok(&kcr(a, &["user", "create", "bob"], "bob-password-123\n"));
    ok(&kcr(
        a,
        &["permission", "set", "team-a", "web", "bob", "viewer"],
        "",
    ));
    let perms = ok(&kcr(
        a,
        &["--json", "permission", "list", "team-a", "web"],
        "",
    ));
    let perms: serde_json::Value = serde_json::from_str(&perms).unwrap();
    assert_eq!(perms[0]["user"], "bob");
    assert_eq!(perms[0]["role"], "viewer");

    // Bob signs in with his password: his repository role needs an access key on the project.
    let bob = tempfile::tempdir().unwrap();
    let b = bob.path();
    ok(&kcr(
        b,
        &["login", "--server", &url, "-u", "bob", "--password-stdin"],
        "bob-password-123\n",
    ));
    let denied = kcr(b, &["repo", "show", "team-a", "web"], "");
    assert!(!denied.status.success());
    assert!(String::from_utf8_lossy(&denied.stderr).contains("access credentials from CLI tools"));

    // With an access key the same request works.
    let key = ok(&kcr(
        b,
        &["--json", "key", "create", "--description", "laptop"],
        "",
    ));
    let key: serde_json::Value = serde_json::from_str(&key).unwrap();
    let (id, secret) = (key["id"].as_str().unwrap(), key["secret"].as_str().unwrap());
    ok(&kcr(
        b,
        &["login", "--server", &url, "-u", id, "--password-stdin"],
        &format!("{secret}\n"),
    ));
    let shown = ok(&kcr(b, &["repo", "show", "team-a", "web"], ""));
    assert!(shown.contains("frontend"), "{shown}");
    let keys = ok(&kcr(b, &["key", "list"], ""));
    assert!(keys.contains(id) && !keys.contains(secret), "{keys}");

    // Revoking the key signs the CLI out at once.
    ok(&kcr(b, &["key", "revoke", id], ""));
    let after = kcr(b, &["whoami"], "");
    assert!(!after.status.success());
    assert!(String::from_utf8_lossy(&after.stderr).contains("UNAUTHORIZED"));
}

#[test]
fn clear_errors_for_bad_credentials_and_usage() {
    let server = start_server();
    let url = format!("http://{}", server.addr);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wrong = kcr(
        d,
        &["login", "--server", &url, "-u", "admin", "--password-stdin"],
        "nope\n",
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("invalid user name or password"));
    assert!(
        !d.join("credentials.json").exists(),
        "failed logins are not saved"
    );

    let signed_out = kcr(d, &["project", "list"], "");
    assert_eq!(signed_out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&signed_out.stderr).contains("not signed in"));

    ok(&kcr(
        d,
        &["login", "--server", &url, "-u", "admin", "--password-stdin"],
        &format!("{ADMIN_PASSWORD}\n"),
    ));
    let bad_name = kcr(d, &["repo", "show", "team a", "web"], "");
    assert_eq!(bad_name.status.code(), Some(2));
    let unreachable = kcr(d, &["project", "list"], "");
    assert!(unreachable.status.success());
    drop(server);
    let gone = kcr(d, &["project", "list"], "");
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("cannot reach"));
}

/// A server with project `team` and repository `team/web`, the administrator signed in to the CLI
/// and holding an access key for registry requests.
struct Team {
    url: String,
    admin: tempfile::TempDir,
    key: (String, String),
    _server: TestServer,
}

impl Team {
    fn start() -> Team {
        let server = start_server();
        let url = format!("http://{}", server.addr);
        let admin = tempfile::tempdir().unwrap();
        let a = admin.path();
        ok(&kcr(
            a,
            &["login", "--server", &url, "-u", "admin", "--password-stdin"],
            &format!("{ADMIN_PASSWORD}\n"),
        ));
        ok(&kcr(a, &["project", "create", "team"], ""));
        ok(&kcr(a, &["repo", "create", "team", "web"], ""));
        let key = ok(&kcr(a, &["--json", "key", "create"], ""));
        let key: serde_json::Value = serde_json::from_str(&key).unwrap();
        let key = (
            key["id"].as_str().unwrap().to_owned(),
            key["secret"].as_str().unwrap().to_owned(),
        );
        Team {
            url,
            admin,
            key,
            _server: server,
        }
    }

    fn key(&self) -> (&str, &str) {
        (&self.key.0, &self.key.1)
    }
}

#[test]
fn garbage_collection_is_for_registry_administrators() {
    let team = Team::start();
    let (url, a, key) = (&team.url, team.admin.path(), team.key());

    // A layer pushed with an access key, never referenced by a manifest.
    let digest = push_blob(
        url,
        key,
        "team/web/app",
        "a layer whose manifest never came",
    );
    std::thread::sleep(std::time::Duration::from_millis(20));

    let recent = ok(&kcr(a, &["gc", "--dry-run"], ""));
    assert!(recent.contains("would remove 0 blob(s)"), "{recent}");
    assert!(recent.contains("kept 1 recent"), "{recent}");
    let dry = ok(&kcr(a, &["gc", "--dry-run", "--grace", "0"], ""));
    assert!(dry.contains("would remove 1 blob(s), 33 B"), "{dry}");
    let bad = kcr(a, &["gc", "--grace", "soon"], "");
    assert_eq!(bad.status.code(), Some(2));

    // Another user of the organization may not collect the registry's garbage.
    ok(&kcr(
        a,
        &["user", "create", "carol"],
        "carol-password-123\n",
    ));
    let carol = tempfile::tempdir().unwrap();
    ok(&kcr(
        carol.path(),
        &["login", "--server", url, "-u", "carol", "--password-stdin"],
        "carol-password-123\n",
    ));
    let refused = kcr(carol.path(), &["gc"], "");
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("administrators of the default"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let done = ok(&kcr(a, &["--json", "gc", "--grace", "0"], ""));
    let done: serde_json::Value = serde_json::from_str(&done).unwrap();
    assert_eq!(done["blobs_removed"], 1, "{done}");
    assert_eq!(done["links_removed"], 1, "{done}");
    let gone = reqwest::blocking::Client::new()
        .head(format!("{url}/v2/team/web/app/blobs/{digest}"))
        .basic_auth(key.0, Some(key.1))
        .send()
        .unwrap();
    assert_eq!(gone.status(), 404);
}

/// Uploads a blob to `image` in one request with an access key; returns its digest.
fn push_blob(url: &str, key: (&str, &str), image: &str, bytes: &str) -> String {
    let digest = kcr_core::Digest::sha256_of(bytes.as_bytes()).to_string();
    let r = reqwest::blocking::Client::new()
        .post(format!("{url}/v2/{image}/blobs/uploads/?digest={digest}"))
        .basic_auth(key.0, Some(key.1))
        .header("Content-Type", "application/octet-stream")
        .body(bytes.to_owned())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    digest
}

/// Pushes a one-layer image under `tag` over the registry API with an access key; returns the
/// manifest digest.
fn push_image(url: &str, key: (&str, &str), image: &str, tag: &str) -> String {
    let client = reqwest::blocking::Client::new();
    let mut descriptors = Vec::new();
    for (media_type, bytes) in [
        (
            "application/vnd.oci.image.config.v1+json",
            format!("{{\"tag\":\"{tag}\"}}"),
        ),
        (
            "application/vnd.oci.image.layer.v1.tar",
            format!("layer of {tag}"),
        ),
    ] {
        let digest = push_blob(url, key, image, &bytes);
        descriptors.push(serde_json::json!({
            "mediaType": media_type, "digest": digest, "size": bytes.len()
        }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptors[0],
        "layers": [descriptors[1]],
    })
    .to_string();
    let r = client
        .put(format!("{url}/v2/{image}/manifests/{tag}"))
        .basic_auth(key.0, Some(key.1))
        .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    kcr_core::Digest::sha256_of(manifest.as_bytes()).to_string()
}

#[test]
fn deleted_tags_are_listed_explained_and_restored() {
    let team = Team::start();
    let (url, a, key) = (&team.url, team.admin.path(), team.key());
    let v1 = push_image(url, key, "team/web/app/api", "v1");
    push_image(url, key, "team/web/app/api", "v2");

    let listed = ok(&kcr(a, &["tag", "list", "team/web/app/api"], ""));
    assert!(listed.contains("v1") && listed.contains(&v1), "{listed}");
    assert!(!listed.contains("Deleted tags"), "{listed}");

    ok(&kcr(a, &["tag", "delete", "team/web/app/api:v1"], ""));
    let listed = ok(&kcr(a, &["tag", "list", "team/web/app/api"], ""));
    let deleted_section = listed.split("Deleted tags").nth(1).unwrap_or_default();
    assert!(
        deleted_section.contains("v1") && deleted_section.contains(&v1),
        "{listed}"
    );

    let history = ok(&kcr(a, &["tag", "history", "team/web/app/api:v1"], ""));
    assert!(
        history.contains("created") && history.contains("deleted"),
        "{history}"
    );

    let restored = ok(&kcr(
        a,
        &["--json", "tag", "restore", "team/web/app/api:v1"],
        "",
    ));
    let restored: serde_json::Value = serde_json::from_str(&restored).unwrap();
    assert_eq!(restored["digest"], v1.as_str());
    let pulled = reqwest::blocking::Client::new()
        .get(format!("{url}/v2/team/web/app/api/manifests/v1"))
        .basic_auth(key.0, Some(key.1))
        .header("Accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .unwrap();
    assert_eq!(pulled.status(), 200);
    assert_eq!(
        pulled.headers()["docker-content-digest"].to_str().unwrap(),
        v1
    );

    let again = kcr(a, &["tag", "restore", "team/web/app/api:v1"], "");
    assert_eq!(again.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("only a deleted tag can be restored"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let never = kcr(a, &["tag", "history", "team/web/app/api:never"], "");
    assert_eq!(never.status.code(), Some(1));
    let usage = kcr(a, &["tag", "restore", "team/web"], "");
    assert_eq!(usage.status.code(), Some(2));
}
