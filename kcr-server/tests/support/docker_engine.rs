//! The Docker engine for real-client tests, and what the CLI prints.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::peers::{output, run, shared_dir};

/// A Docker engine started by `shared/tools/start-dockerd`; stopped on drop when this test
/// started it (an engine that was already running is left alone).
pub struct DockerEngine {
    host: String,
    script: PathBuf,
    state: PathBuf,
    started_here: bool,
    /// A client configuration of no one: no logins, nothing from the host's `~/.docker`.
    config: tempfile::TempDir,
}

impl DockerEngine {
    /// Starts the engine (or finds it running) and learns its `DOCKER_HOST`.
    pub fn start() -> DockerEngine {
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

    /// `docker` on this engine, logged in nowhere.
    pub fn docker(&self) -> Command {
        self.docker_as(self.config.path())
    }

    /// `docker` on this engine with the client configuration (logins) in `config`.
    pub fn docker_as(&self, config: &Path) -> Command {
        let mut cmd = Command::new("docker");
        cmd.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", config);
        cmd
    }

    /// Whether the engine holds `image`.
    pub fn has_image(&self, image: &str) -> bool {
        self.docker()
            .args(["image", "inspect", image])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    /// Removes the tags from the engine (ignoring ones it does not have).
    pub fn forget(&self, images: &[&str]) {
        for image in images {
            let _ = output(self.docker().args(["rmi", "--force", image]));
        }
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
pub fn pushed_digest(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.split_once("digest: ").map(|(_, rest)| rest))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest in docker push output:\n{output}"))
        .to_owned()
}
