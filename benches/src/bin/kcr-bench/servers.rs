//! The servers under test, as child processes on loopback with fresh data directories:
//! kcr-server (release build) in open mode and with authentication on (its default; the client
//! then uses tokens or Basic credentials), and Debian's docker-registry (CNCF Distribution 2.8,
//! filesystem driver, no cache, no redirects, no auth). Killed when dropped.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::distributions::{Alphanumeric, DistString};

use crate::auth::Scheme;
use crate::client::Registry;
use crate::Result;

/// Which server (and, for kcr with authentication, how its client signs in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// kcr-server with `--insecure-open`.
    Kcr,
    /// kcr-server with authentication; the client uses the Docker token flow.
    KcrToken,
    /// kcr-server with authentication; the client sends Basic credentials on every request.
    KcrBasic,
    /// CNCF Distribution (`docker-registry`).
    Distribution,
}

impl Kind {
    /// Every kind, in the default order of a round.
    pub const ALL: [Kind; 4] = [
        Kind::Kcr,
        Kind::KcrToken,
        Kind::KcrBasic,
        Kind::Distribution,
    ];

    /// Its name in the report.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Kcr => "kcr",
            Kind::KcrToken => "kcr (token auth)",
            Kind::KcrBasic => "kcr (Basic auth)",
            Kind::Distribution => "Distribution",
        }
    }

    /// Its name on the command line (`--servers`).
    pub fn key(self) -> &'static str {
        match self {
            Kind::Kcr => "kcr",
            Kind::KcrToken => "kcr-token",
            Kind::KcrBasic => "kcr-basic",
            Kind::Distribution => "distribution",
        }
    }

    /// How the client authenticates (`None`: the server runs without authentication).
    pub fn scheme(self) -> Option<Scheme> {
        match self {
            Kind::KcrToken => Some(Scheme::Token),
            Kind::KcrBasic => Some(Scheme::Basic),
            Kind::Kcr | Kind::Distribution => None,
        }
    }

    /// Whether it runs kcr-server.
    pub fn is_kcr(self) -> bool {
        self != Kind::Distribution
    }
}

/// Where the server binaries are.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `target/release/kcr-server`.
    pub kcr: PathBuf,
    /// `/usr/bin/docker-registry`.
    pub distribution: PathBuf,
}

/// A running server.
pub struct ServerProcess {
    /// Which.
    pub kind: Kind,
    /// Where it listens.
    pub addr: SocketAddr,
    /// The bootstrap administrator's password, when authentication is on.
    pub admin_password: Option<String>,
    child: Child,
    dir: tempfile::TempDir,
}

fn free_port() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

fn distribution_config(root: &Path, addr: SocketAddr) -> String {
    format!(
        "version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  redirect:
    disable: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {addr}
  draintimeout: 1s
health:
  storagedriver:
    enabled: false
",
        root = root.display()
    )
}

impl ServerProcess {
    /// Starts `kind` with a fresh data directory under `work` and waits until `/v2/` answers.
    pub async fn start(kind: Kind, bins: &Binaries, work: &Path) -> Result<ServerProcess> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-", kind.key()))
            .tempdir_in(work)?;
        let data = dir.path().join("data");
        fs::create_dir(&data)?;
        let addr = free_port()?;
        let log = fs::File::create(dir.path().join("server.log"))?;
        let admin_password = kind
            .scheme()
            .map(|_| Alphanumeric.sample_string(&mut rand::thread_rng(), 32));
        let mut cmd = match kind {
            Kind::Kcr | Kind::KcrToken | Kind::KcrBasic => {
                let mut c = Command::new(&bins.kcr);
                c.arg("--listen")
                    .arg(addr.to_string())
                    .arg("--data-dir")
                    .arg(&data)
                    .env("RUST_LOG", "warn")
                    .env_remove("KCR_INSECURE_OPEN")
                    .env_remove("KCR_ADMIN_PASSWORD");
                match &admin_password {
                    None => {
                        c.arg("--insecure-open");
                    }
                    Some(p) => {
                        c.env("KCR_ADMIN_PASSWORD", p);
                    }
                }
                c
            }
            Kind::Distribution => {
                let config = dir.path().join("config.yml");
                fs::write(&config, distribution_config(&data, addr))?;
                let mut c = Command::new(&bins.distribution);
                c.arg("serve").arg(&config);
                c
            }
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", kind.label()))?;
        let mut server = ServerProcess {
            kind,
            addr,
            admin_password,
            child,
            dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let client = Registry::new(self.addr);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!(
                    "{} exited ({status}) before serving: {}",
                    self.kind.label(),
                    self.log_tail()
                )
                .into());
            }
            if client.ping().await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "{} did not answer in 30 s: {}",
            self.kind.label(),
            self.log_tail()
        )
        .into())
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn proc_file(&self, name: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/{name}", self.child.id()))
    }

    /// Resets the peak resident set size (VmHWM) so the next reading covers what follows.
    pub fn reset_peak_rss(&self) {
        // "5" resets the peak RSS (Linux >= 4.0); without it the peak is since start.
        let _ = fs::write(self.proc_file("clear_refs"), "5");
    }

    /// Peak resident set size since the last reset, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = fs::read_to_string(self.proc_file("status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// User plus system CPU time used so far, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = fs::read_to_string(self.proc_file("stat")).unwrap_or_default();
        // Fields after the command (which may contain spaces) start at the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            return 0;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 of `rest`.
        let get = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        get(11) + get(12)
    }

    /// Bytes under its data directory.
    pub fn data_bytes(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            let Ok(entries) = fs::read_dir(p) else {
                return 0;
            };
            entries
                .flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path()),
                    Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.dir.path().join("data"))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
