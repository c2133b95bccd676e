//! Server configuration: defaults, then a TOML file (`--config`), then `KCR_*` environment
//! variables, then flags; later sources win.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything the server binary needs to start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Directory for metadata (sled) and blobs (filesystem).
    pub data_dir: PathBuf,
    /// Registry domain for `{project}.{region}.{domain}` hosts.
    pub domain: String,
    /// Run without authentication (test harnesses); projects and repositories are created by
    /// the first push into them.
    pub insecure_open: bool,
    /// Log as JSON lines.
    pub log_json: bool,
    /// Lifetime of registry tokens, in seconds.
    pub token_ttl_seconds: u64,
    /// The URL clients reach the server at, when the Host header is not it.
    pub public_url: Option<String>,
    /// Hours between automatic garbage collections; 0 turns them off.
    pub gc_interval_hours: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data_dir: PathBuf::from("./kcr-data"),
            domain: "kcr.dev".into(),
            insecure_open: false,
            log_json: false,
            token_ttl_seconds: 300,
            public_url: None,
            gc_interval_hours: 24,
        }
    }
}

/// The TOML file's shape: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `listen = "127.0.0.1:5000"`.
    pub listen: Option<SocketAddr>,
    /// `data_dir = "./kcr-data"`.
    pub data_dir: Option<PathBuf>,
    /// `domain = "kcr.dev"`.
    pub domain: Option<String>,
    /// `insecure_open = true`.
    pub insecure_open: Option<bool>,
    /// `log_json = true`.
    pub log_json: Option<bool>,
    /// `token_ttl_seconds = 300`.
    pub token_ttl_seconds: Option<u64>,
    /// `public_url = "https://registry.example.com"`.
    pub public_url: Option<String>,
    /// `gc_interval_hours = 24` (0: no automatic garbage collection).
    pub gc_interval_hours: Option<u64>,
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("invalid config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why.
        source: toml::de::Error,
    },
    /// A value is unusable.
    #[error("invalid setting {key}: {reason}")]
    Invalid {
        /// Which setting.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

impl ServerConfig {
    /// Applies a TOML file on top of this configuration.
    pub fn with_file(mut self, path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: ConfigFile = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if let Some(v) = file.listen {
            self.listen = v;
        }
        if let Some(v) = file.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = file.domain {
            self.domain = v;
        }
        if let Some(v) = file.insecure_open {
            self.insecure_open = v;
        }
        if let Some(v) = file.log_json {
            self.log_json = v;
        }
        if let Some(v) = file.token_ttl_seconds {
            self.token_ttl_seconds = v;
        }
        if file.public_url.is_some() {
            self.public_url = file.public_url;
        }
        if let Some(v) = file.gc_interval_hours {
            self.gc_interval_hours = v;
        }
        Ok(self)
    }

    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(10..=86_400).contains(&self.token_ttl_seconds) {
            return Err(ConfigError::Invalid {
                key: "token_ttl_seconds",
                reason: "must be between 10 and 86400 seconds".into(),
            });
        }
        if self.gc_interval_hours > 24 * 365 {
            return Err(ConfigError::Invalid {
                key: "gc_interval_hours",
                reason: "must be at most 8760 hours (a year); 0 turns automatic collection off"
                    .into(),
            });
        }
        let labels: Vec<&str> = self.domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.parse::<kcr_core::RegionId>().is_err())
        {
            return Err(ConfigError::Invalid {
                key: "domain",
                reason: format!(
                    "{:?} is not a DNS domain of two or more labels",
                    self.domain
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_rejects_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kcr.toml");
        std::fs::write(
            &path,
            "listen = \"0.0.0.0:6000\"\ndomain = \"example.com\"\n",
        )
        .unwrap();
        let c = ServerConfig::default().with_file(&path).unwrap();
        assert_eq!(c.listen.port(), 6000);
        assert_eq!(c.domain, "example.com");
        assert!(c.validate().is_ok());
        std::fs::write(&path, "lsten = 1\n").unwrap();
        assert!(ServerConfig::default().with_file(&path).is_err());
        let bad = ServerConfig {
            domain: "localhost".into(),
            ..ServerConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}
