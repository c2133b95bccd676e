//! The real `kcr-server` binary as a child process on a free loopback port and a temporary data
//! directory, open (`--insecure-open`) or with authentication: kill -9 and restart on the same
//! directory, its log, its peak memory, blocking requests and management API calls.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;

use crate::support::http::{http, HttpResponse};

/// How long the server may take to answer `GET /v2/` after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// The `Accept` header of [`KcrServer::request`]: manifests of both formats, and JSON.
const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
                      application/vnd.oci.image.manifest.v1+json, application/json";

/// A running `kcr-server` process; killed when dropped.
pub struct KcrServer {
    child: Option<Child>,
    addr: SocketAddr,
    data_dir: PathBuf,
    log: PathBuf,
    /// `None`: open (`--insecure-open`); else the bootstrap administrator's password.
    admin_password: Option<String>,
    // Last: the directory goes away after the process is dead.
    _dir: tempfile::TempDir,
}

impl KcrServer {
    /// Starts the binary with `--insecure-open` (no authentication, pushes create repositories).
    pub fn start_open() -> KcrServer {
        KcrServer::start(None)
    }

    /// Starts the binary secure by default, the administrator bootstrapped with `admin_password`
    /// (`KCR_ADMIN_PASSWORD`), logging at debug level so that a secret scan of the log covers
    /// every request line.
    pub fn start_with_auth(admin_password: &str) -> KcrServer {
        KcrServer::start(Some(admin_password.to_owned()))
    }

    /// Starts the binary on a free port with a fresh data directory and waits until it serves.
    fn start(admin_password: Option<String>) -> KcrServer {
        let dir = tempfile::Builder::new()
            .prefix("kcr-server-test-")
            .tempdir()
            .expect("temporary directory");
        let mut server = KcrServer {
            child: None,
            addr: free_port(),
            data_dir: dir.path().join("data"),
            log: dir.path().join("server.log"),
            admin_password,
            _dir: dir,
        };
        // A port picked by `free_port` can be taken by someone else before the server binds it.
        for _ in 0..5 {
            if server.spawn_and_wait() {
                return server;
            }
            server.addr = free_port();
        }
        panic!("kcr-server did not start:\n{}", server.log_text())
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// `127.0.0.1:PORT`, as clients name the registry.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The absolute URL of a `Location` header value (kcr answers with paths).
    pub fn location_url(&self, location: &str) -> String {
        if location.starts_with("http://") {
            location.to_owned()
        } else {
            self.url(location)
        }
    }

    /// The server process id.
    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(Child::id)
            .expect("server is running")
    }

    /// Kills the process with SIGKILL (no graceful shutdown, no flush) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the binary again on the same port and data directory.
    pub fn restart(&mut self) {
        self.kill9();
        assert!(
            self.spawn_and_wait(),
            "kcr-server did not restart on {}:\n{}",
            self.addr,
            self.log_text()
        );
    }

    /// The server's peak resident set size (`VmHWM` of `/proc/<pid>/status`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status");
        kib * 1024
    }

    /// What the server printed and logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Spawns the process and waits for `GET /v2/` to answer (200 when open, a 401 challenge
    /// otherwise); false when it exited first.
    fn spawn_and_wait(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log file");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kcr-server"));
        cmd.arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("KCR_CONFIG")
            .env_remove("KCR_INSECURE_OPEN");
        let ready = match &self.admin_password {
            None => {
                cmd.arg("--insecure-open").env("RUST_LOG", "warn");
                200
            }
            Some(password) => {
                cmd.env("KCR_ADMIN_PASSWORD", password)
                    .env("RUST_LOG", "debug");
                // Secure by default: the base endpoint challenges anonymous callers.
                401
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file handle"))
            .stderr(log)
            .spawn()
            .expect("spawn kcr-server");
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            if matches!(http(self.addr, "GET", "/v2/", &[], &[]), Ok(r) if r.status == ready) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "kcr-server did not answer GET /v2/ within {STARTUP_TIMEOUT:?}:\n{}",
            self.log_text()
        )
    }

    /// A blocking request with optional Basic credentials and JSON body, accepting manifests of
    /// both formats and JSON.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        basic: Option<(&str, &str)>,
        body: Option<&Value>,
    ) -> std::io::Result<HttpResponse> {
        let authorization = basic.map(|(user, secret)| {
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
            format!("Basic {b}")
        });
        let body = body
            .map(|b| serde_json::to_vec(b).expect("json"))
            .unwrap_or_default();
        let mut headers = vec![("Accept", ACCEPT)];
        if let Some(a) = &authorization {
            headers.push(("Authorization", a));
        }
        if !body.is_empty() {
            headers.push(("Content-Type", "application/json"));
        }
        http(self.addr, method, path, &headers, &body)
    }

    /// A management API call (`/api/v1{path}`) asserting `status`; returns the JSON body.
    #[track_caller]
    pub fn api(
        &self,
        method: &str,
        path: &str,
        basic: (&str, &str),
        body: Option<Value>,
        status: u16,
    ) -> Value {
        let r = self
            .request(
                method,
                &format!("/api/v1{path}"),
                Some(basic),
                body.as_ref(),
            )
            .expect("API request");
        assert_eq!(r.status, status, "{method} {path}: {}", r.text());
        serde_json::from_slice(&r.body).unwrap_or(Value::Null)
    }

    /// Asserts that no secret appears in clear in any file of the data directory or the log.
    #[track_caller]
    pub fn assert_no_clear_secrets(&self, secrets: &[String]) {
        let mut files = vec![self.log.clone()];
        collect_files(&self.data_dir, &mut files);
        assert!(files.len() > 2, "the data directory holds files: {files:?}");
        for f in &files {
            let bytes = std::fs::read(f).unwrap_or_default();
            for s in secrets {
                let needle = s.as_bytes();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "a secret or password appears in clear in {}",
                    f.display()
                );
            }
        }
    }
}

impl Drop for KcrServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Every file below `dir`, recursively.
fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A loopback port nobody listens on right now.
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
}
