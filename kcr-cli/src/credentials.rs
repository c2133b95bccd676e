//! The stored sign-in: server URL, user name or access-key id, and secret, in
//! `$KCR_CONFIG_DIR/credentials.json` (default `~/.config/kcr`), readable only by its owner.
//! `KCR_SERVER`, `KCR_USER` and `KCR_SECRET` override the file.

use std::io::Write;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// A sign-in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credentials {
    /// Server base URL, e.g. `http://127.0.0.1:5000`.
    pub server: String,
    /// User name or access-key id.
    pub user: String,
    /// Password or access-key secret.
    pub secret: String,
}

fn dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KCR_CONFIG_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".config").join("kcr")
}

fn path() -> PathBuf {
    dir().join("credentials.json")
}

fn io_err(source: std::io::Error) -> CliError {
    CliError::Credentials {
        path: path().display().to_string(),
        source,
    }
}

/// The sign-in in force: environment first, then the file.
pub fn load() -> Result<Credentials, CliError> {
    let env = |k| std::env::var(k).ok().filter(|v: &String| !v.is_empty());
    let file: Option<Credentials> = match std::fs::read(path()) {
        Ok(bytes) => serde_json::from_slice(&bytes).ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_err(e)),
    };
    let server = env("KCR_SERVER").or_else(|| file.as_ref().map(|f| f.server.clone()));
    let user = env("KCR_USER").or_else(|| file.as_ref().map(|f| f.user.clone()));
    let secret = env("KCR_SECRET").or_else(|| file.as_ref().map(|f| f.secret.clone()));
    match (server, user, secret) {
        (Some(server), Some(user), Some(secret)) => Ok(Credentials {
            server,
            user,
            secret,
        }),
        _ => Err(CliError::NotSignedIn),
    }
}

/// Saves a sign-in (mode 0600, written atomically).
pub fn save(c: &Credentials) -> Result<PathBuf, CliError> {
    let dir = dir();
    std::fs::create_dir_all(&dir).map_err(io_err)?;
    let tmp = dir.join("credentials.json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp).map_err(io_err)?;
    f.write_all(&serde_json::to_vec_pretty(c).unwrap_or_default())
        .map_err(io_err)?;
    f.sync_all().map_err(io_err)?;
    std::fs::rename(&tmp, path()).map_err(io_err)?;
    Ok(path())
}

/// Forgets the stored sign-in.
pub fn remove() -> Result<bool, CliError> {
    match std::fs::remove_file(path()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err(e)),
    }
}
