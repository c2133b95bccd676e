//! The Docker engine and CLI: import a busybox root filesystem, push to kcr, remove, pull back,
//! run it, and check the pushed digest against the one kcr serves.

use std::path::PathBuf;
use std::process::Command;

use crate::fixtures::rootfs_tar;
use crate::harness::{http, require_tool, run, shared_dir};

/// A Docker engine started by `shared/tools/start-dockerd`; stopped on drop when this test
/// started it (an engine that was already running is left alone).
struct DockerEngine {
    host: String,
    script: PathBuf,
    state: PathBuf,
    started_here: bool,
    config: tempfile::TempDir,
}

impl DockerEngine {
    fn start() -> DockerEngine {
        let script = shared_dir().join("tools/start-dockerd");
        assert!(
            script.is_file(),
            "{} is missing (set KCR_SHARED_DIR to the shared/ directory)",
            script.display()
        );
        let tmp = std::env::var_os("TMPDIR")
            .filter(|t| !t.is_empty())
            .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        let state = tmp.join("kcr-dockerd");
        let config = tempfile::tempdir().expect("tempdir");
        let socket = format!("unix://{}", state.join("docker.sock").display());
        let started_here = !Command::new("docker")
            .env("DOCKER_HOST", &socket)
            .env("DOCKER_CONFIG", config.path())
            .arg("info")
            .output()
            .is_ok_and(|o| o.status.success());
        // The script prints `export DOCKER_HOST=... KCR_DOCKERD_PID=...` for `eval`.
        let exports = run(Command::new("bash").arg(&script).arg(&state));
        let host = exports
            .split_whitespace()
            .find_map(|w| w.strip_prefix("DOCKER_HOST="))
            .unwrap_or_else(|| panic!("no DOCKER_HOST in {exports:?}"))
            .to_owned();
        DockerEngine {
            host,
            script,
            state,
            started_here,
            config,
        }
    }

    fn docker(&self) -> Command {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.config.path());
        cmd
    }
}

impl Drop for DockerEngine {
    fn drop(&mut self) {
        if self.started_here {
            let _ = Command::new("bash")
                .arg(&self.script)
                .arg("--stop")
                .arg(&self.state)
                .status();
        }
    }
}

/// The `sha256:...` after `digest: ` in `docker push` output.
fn pushed_digest(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.split_once("digest: ").map(|(_, rest)| rest))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest in docker push output:\n{output}"))
        .to_owned()
}

fn exists(engine: &DockerEngine, image: &str) -> bool {
    engine
        .docker()
        .args(["image", "inspect", image])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn import_push_rmi_pull_run() {
    if !require_tool("docker") || !require_tool("dockerd") || !require_tool("busybox") {
        return;
    }
    let server = crate::harness::KcrServer::start();
    let engine = DockerEngine::start();
    let scratch = tempfile::tempdir().expect("tempdir");
    let rootfs = rootfs_tar(scratch.path());
    let image = format!("{}/p/r/busybox:v1", server.host());

    run(engine.docker().arg("import").arg(&rootfs).arg(&image));
    let pushed = pushed_digest(&run(engine.docker().args(["push", &image])));
    let head = http(
        server.addr(),
        "HEAD",
        "/v2/p/r/busybox/manifests/v1",
        &[(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
        )],
    )
    .expect("HEAD manifest");
    assert_eq!(head.status, 200);
    assert_eq!(head.header("docker-content-digest"), Some(pushed.as_str()));

    run(engine.docker().args(["rmi", &image]));
    assert!(
        !exists(&engine, &image),
        "the image was removed from the engine"
    );
    let pulled = run(engine.docker().args(["pull", &image]));
    assert!(pulled.contains(&format!("Digest: {pushed}")), "{pulled}");
    let repo_digests = run(engine.docker().args([
        "image",
        "inspect",
        "--format",
        "{{json .RepoDigests}}",
        &image,
    ]));
    assert!(repo_digests.contains(&pushed), "{repo_digests}");

    let out = run(engine.docker().args([
        "run",
        "--rm",
        "--network",
        "none",
        &image,
        "/bin/busybox",
        "echo",
        "hello",
    ]));
    assert_eq!(out.trim(), "hello");
    run(engine.docker().args(["rmi", &image]));
}
