//! The real `kcr-server` binary with authentication on a loopback port, a blocking HTTP client for its management API, peer-tool helpers, and the users every real-client test starts from.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The administrator password given through `KCR_ADMIN_PASSWORD`.
pub const ADMIN_PASSWORD: &str = "real-admin-password-42";

/// A running authenticated `kcr-server`; killed when dropped.
pub struct KcrServer {
    child: Option<Child>,
    addr: SocketAddr,
    /// The data directory.
    pub data_dir: PathBuf,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl KcrServer {
    /// Starts the binary on a free port with a fresh data directory and waits until it answers.
    pub fn start() -> KcrServer {
        let dir = tempfile::Builder::new()
            .prefix("kcr-auth-")
            .tempdir()
            .expect("tempdir");
        let mut server = KcrServer {
            child: None,
            addr: free_port(),
            data_dir: dir.path().join("data"),
            log: dir.path().join("server.log"),
            _dir: dir,
        };
        for _ in 0..5 {
            if server.spawn_and_wait() {
                return server;
            }
            server.addr = free_port();
        }
        panic!("kcr-server did not start:\n{}", server.log_text())
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// What the server printed and logged.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn spawn_and_wait(&mut self) -> bool {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_kcr-server"))
            .arg("--listen")
            .arg(self.addr.to_string())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("KCR_CONFIG")
            .env_remove("KCR_INSECURE_OPEN")
            .env("KCR_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // Debug logging: the secret scan below then covers every request line.
            .env("RUST_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn kcr-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(_)) = c.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            // Secure by default: the base endpoint challenges anonymous callers.
            if matches!(self.request("GET", "/v2/", None, None), Ok(r) if r.status == 401) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("kcr-server did not answer within 30s:\n{}", self.log_text())
    }

    /// A blocking HTTP/1.1 request with optional Basic credentials and JSON body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        basic: Option<(&str, &str)>,
        body: Option<&Value>,
    ) -> std::io::Result<HttpResponse> {
        let mut headers = Vec::new();
        if let Some((u, p)) = basic {
            let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            headers.push(("Authorization".to_owned(), format!("Basic {b}")));
        }
        headers.push((
            "Accept".to_owned(),
            "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/json".to_owned(),
        ));
        let body = body
            .map(|b| serde_json::to_vec(b).expect("json"))
            .unwrap_or_default();
        if !body.is_empty() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
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

impl Drop for KcrServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
}

/// A response of [`http`].
#[derive(Debug)]
pub struct HttpResponse {
    /// Status.
    pub status: u16,
    /// Headers, names lowercased.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A blocking HTTP/1.1 request with `Connection: close` (`HEAD` responses have no body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    stream.write_all(body)?;
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
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    if chunked && method != "HEAD" {
        body = dechunk(&body);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || data.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
    out
}

/// Whether the peer tool is installed. Missing: a skip notice, or a panic under
/// `KCR_REQUIRE_PEERS=1`.
pub fn require_tool(name: &str) -> bool {
    if find_tool(name).is_some() {
        return true;
    }
    if std::env::var("KCR_REQUIRE_PEERS").is_ok_and(|v| v == "1") {
        panic!("{name} is required (KCR_REQUIRE_PEERS=1) but is not installed");
    }
    eprintln!("SKIPPED: {name} is not installed; set KCR_REQUIRE_PEERS=1 to make this a failure");
    false
}

/// An executable on `PATH`, `/usr/sbin` or `/sbin`.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs a command, returning its output whatever the exit status.
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
        "{shown} failed ({}):\n{}",
        o.status,
        both(&o)
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

/// The workspace's sibling `shared/` directory.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("KCR_SHARED_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

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
        let server = KcrServer::start();
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
            crate::app::sha256(&r.body),
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
