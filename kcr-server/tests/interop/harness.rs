//! The real `kcr-server` binary as a child process on a free loopback port and a temporary data
//! directory (kill -9 and restart on the same directory), HTTP clients for it, and finding and
//! running peer tools.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to answer `GET /v2/` after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `kcr-server --insecure-open` process; killed when dropped.
pub struct KcrServer {
    child: Option<Child>,
    addr: SocketAddr,
    data_dir: PathBuf,
    log: PathBuf,
    // Last: the directory goes away after the process is dead.
    _dir: tempfile::TempDir,
}

impl KcrServer {
    /// Starts the binary on a free port with a fresh data directory and waits until it serves.
    pub fn start() -> KcrServer {
        let dir = tempfile::Builder::new()
            .prefix("kcr-interop-")
            .tempdir()
            .expect("temporary directory");
        let mut server = KcrServer {
            child: None,
            addr: free_port(),
            data_dir: dir.path().join("data"),
            log: dir.path().join("server.log"),
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

    /// What the server logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Spawns the process and waits for `GET /v2/` to answer 200; false when it exited first.
    fn spawn_and_wait(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("server log file");
        let child = Command::new(env!("CARGO_BIN_EXE_kcr-server"))
            .arg("--insecure-open")
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("KCR_CONFIG")
            .env("RUST_LOG", "warn")
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
            if matches!(http(self.addr, "GET", "/v2/", &[]), Ok(r) if r.status == 200) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "kcr-server did not answer GET /v2/ within {STARTUP_TIMEOUT:?}:\n{}",
            self.log_text()
        )
    }
}

impl Drop for KcrServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
}

/// An async HTTP client without connection reuse: the servers it talks to get killed.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("reqwest client")
}

/// `url` with `pair` (`key=value`) appended to its query.
pub fn with_query(url: &str, pair: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{pair}")
}

/// A response of [`http`]: status and headers (names lowercased).
#[derive(Debug)]
pub struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Headers in order, names in lowercase.
    pub headers: Vec<(String, String)>,
}

impl RawResponse {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A tiny blocking HTTP/1.1 request with `Connection: close`, for readiness probes and `HEAD`s
/// from the synchronous tests.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<RawResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of HTTP head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(RawResponse { status, headers })
}

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

/// Runs a command to completion; panics with its output when it fails. Returns stdout.
pub fn run(cmd: &mut Command) -> String {
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        panic!(
            "{shown} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    stdout
}

/// The workspace's sibling `shared/` directory: `$KCR_SHARED_DIR`, else `<workspace>/../shared`.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("KCR_SHARED_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}
