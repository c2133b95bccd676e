//! First start: the default organization, its administrator, and the token-signing secret.

use std::io::Write;
use std::path::Path;

use kcr_core::access::{OrgId, UserId};
use kcr_core::store::{MetadataStore, OrgRecord, UserRecord, DEFAULT_ORG};
use kcr_core::{CoreError, Timestamp};

use crate::auth::secret::{hash_secret, new_secret};

/// Name of the administrator created on first start.
pub const ADMIN_USER: &str = "admin";

/// Why bootstrapping failed.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// The metadata store failed.
    #[error(transparent)]
    Store(#[from] CoreError),
    /// The secret file could not be read or written.
    #[error("token secret file {path}: {source}")]
    Secret {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Hashing failed.
    #[error("could not hash the administrator password: {0}")]
    Hash(String),
}

/// Creates the default organization and its `admin` user when no admin exists yet. The
/// password is `admin_password` or, when none is given, generated and returned so the caller
/// can print it once.
pub async fn ensure_admin(
    meta: &dyn MetadataStore,
    admin_password: Option<&str>,
) -> Result<Option<String>, BootstrapError> {
    let org: OrgId = DEFAULT_ORG.parse().map_err(CoreError::NameInvalid)?;
    let admin: UserId = ADMIN_USER.parse().map_err(CoreError::NameInvalid)?;
    let now = Timestamp::from_system_time(std::time::SystemTime::now());
    if meta.org(&org).await?.is_none() {
        meta.create_org(OrgRecord {
            id: org.clone(),
            created: now,
        })
        .await?;
    }
    if meta.user(&admin).await?.is_some() {
        return Ok(None);
    }
    let (password, generated) = match admin_password {
        Some(p) => (p.to_owned(), false),
        None => (new_secret(), true),
    };
    let hash = hash_secret(&password).map_err(|e| BootstrapError::Hash(e.to_string()))?;
    meta.create_user(UserRecord {
        id: admin,
        org,
        password_hash: hash,
        org_admin: true,
        created: now,
    })
    .await?;
    Ok(generated.then_some(password))
}

/// The token-signing secret kept in `data_dir/token.key` (created with mode 0600 on first use).
pub fn token_secret(data_dir: &Path) -> Result<Vec<u8>, BootstrapError> {
    let path = data_dir.join("token.key");
    let err = |source| BootstrapError::Secret {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => return Ok(bytes),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let mut secret = vec![0u8; 64];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut secret);
    std::fs::create_dir_all(data_dir).map_err(err)?;
    let tmp = data_dir.join("token.key.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp).map_err(err)?;
    f.write_all(&secret).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(secret)
}
