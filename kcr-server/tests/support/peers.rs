//! Peer tools: finding them (a missing one skips its test, or fails it under
//! `KCR_REQUIRE_PEERS=1`), running them and checking what they printed, the workspace's `shared/`
//! directory, and podman and skopeo on private configuration.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Whether the peer tool `name` is on `PATH` (or in `/usr/sbin`, `/sbin`). When it is missing
/// the test should return early: this prints a skip notice, or panics under
/// `KCR_REQUIRE_PEERS=1` (CI), so that a green CI always means the real peer ran.
pub fn require_tool(name: &str) -> bool {
    if find_tool(name).is_some() {
        return true;
    }
    if std::env::var("KCR_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
        panic!("{name} is required (KCR_REQUIRE_PEERS=1) but is not installed");
    }
    // Straight to stderr: the test harness captures `eprintln!`, and a skip should be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED ({}): {name} is not installed; KCR_REQUIRE_PEERS=1 makes this a failure",
        std::thread::current().name().unwrap_or("test")
    );
    false
}

/// The path of an executable named `name` on `PATH`, `/usr/sbin` or `/sbin`.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs a command (stdin closed), returning its output whatever the exit status.
pub fn output(cmd: &mut Command) -> Output {
    let shown = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"))
}

/// Stdout and stderr together.
pub fn both(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs a command that must succeed; returns stdout.
#[track_caller]
pub fn run(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let o = output(cmd);
    assert!(
        o.status.success(),
        "{shown} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs a command that must fail; returns stdout and stderr.
#[track_caller]
pub fn run_fails(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let o = output(cmd);
    assert!(
        !o.status.success(),
        "{shown} succeeded but must fail:\n{}",
        both(&o)
    );
    both(&o)
}

/// Asserts that a command succeeded.
#[track_caller]
pub fn ok(o: &Output) {
    assert!(o.status.success(), "{}", both(o));
}

/// Asserts that a command failed saying one of `any_of`; returns stdout and stderr.
#[track_caller]
pub fn refused(o: &Output, any_of: &[&str]) -> String {
    let text = both(o);
    assert!(!o.status.success(), "must fail: {text}");
    assert!(
        any_of.iter().any(|w| text.contains(w)),
        "expected one of {any_of:?} in: {text}"
    );
    text
}

/// The workspace's sibling `shared/` directory: `$KCR_SHARED_DIR`, else `<workspace>/../shared`.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("KCR_SHARED_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

/// `program` (skopeo, podman) on the private configuration under `dir`, written there once: no
/// host registries, no stored credentials, a policy accepting anything.
fn containers_tool(program: &str, dir: &Path) -> Command {
    let conf = dir.join("registries.conf");
    if !conf.exists() {
        std::fs::write(&conf, "").expect("write registries.conf");
        std::fs::write(
            dir.join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        )
        .expect("write policy.json");
        std::fs::write(dir.join("auth.json"), "{}").expect("write auth.json");
    }
    let mut cmd = Command::new(program);
    cmd.env("CONTAINERS_REGISTRIES_CONF", &conf)
        .env("REGISTRY_AUTH_FILE", dir.join("auth.json"))
        .env_remove("DOCKER_CONFIG");
    cmd
}

/// `skopeo` with no signature policy and no host registries or credentials configuration.
pub fn skopeo(scratch: &Path) -> Command {
    let mut cmd = containers_tool("skopeo", scratch);
    cmd.arg("--insecure-policy");
    cmd
}

/// `podman` (rootful) on private vfs storage under `dir`, with no host registries, policy or
/// credentials configuration.
pub fn podman(dir: &Path) -> Command {
    let mut cmd = containers_tool("podman", dir);
    cmd.arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("runroot"))
        .args(["--storage-driver", "vfs", "--events-backend", "none"])
        .args(["--cgroup-manager", "cgroupfs"]);
    cmd
}

/// `podman pull|push --tls-verify=false [--creds c] image` with the private policy; a push
/// writes the manifest digest for [`podman_pushed_digest`].
pub fn podman_transfer(dir: &Path, verb: &str, image: &str, creds: Option<&str>) -> Output {
    let mut cmd = podman(dir);
    cmd.args([verb, "--tls-verify=false"])
        .arg("--signature-policy")
        .arg(dir.join("policy.json"));
    if let Some(c) = creds {
        cmd.args(["--creds", c]);
    }
    if verb == "push" {
        cmd.arg("--digestfile").arg(dir.join("pushed.digest"));
    }
    cmd.arg(image);
    output(&mut cmd)
}

/// The manifest digest the last [`podman_transfer`] push wrote.
pub fn podman_pushed_digest(dir: &Path) -> String {
    let pushed = std::fs::read_to_string(dir.join("pushed.digest")).expect("digest file");
    pushed.trim().to_owned()
}

/// A field of `podman image inspect --format` (`{{.Id}}`, `{{.Digest}}`).
pub fn podman_image_field(dir: &Path, image: &str, field: &str) -> String {
    run(podman(dir).args(["image", "inspect", "--format", field, image]))
        .trim()
        .to_owned()
}

/// Removes every local image, ignoring failures.
pub fn podman_forget(dir: &Path) {
    let _ = output(podman(dir).args(["rmi", "--all", "--force"]));
}
