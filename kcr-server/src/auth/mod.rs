//! Authentication: who is calling, from an `Authorization` header.
//!
//! Registry clients present an access key (Basic `key-id:secret`) or a bearer token issued for
//! one by `/v2/token`; console and management-API callers may also sign in with a user password.
//! Secrets are verified with argon2id once, then remembered by a salted SHA-256 fingerprint in
//! a per-process cache, so the hot path never hashes a password. Bearer tokens are fully checked
//! once, then remembered by their SHA-256 (see [`token::VerifiedTokens`]); every use still checks
//! their dates and whether their key is alive. Revoking a key empties its cache entry and
//! invalidates its tokens at once, because every token names its key.

pub mod cache;
pub mod challenge;
pub mod facts;
pub mod limiter;
pub mod scope;
pub mod secret;
pub mod token;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use base64::Engine;
use kcr_core::access::{Action, CredentialKind, Decision, Principal, UserId};
use kcr_core::store::MetadataStore;
use kcr_core::{ProjectId, RepositoryName, Timestamp};

use crate::error::ApiError;
use cache::{Holder, SecretCache};
use facts::DecisionCache;
use limiter::LoginLimiter;
use scope::ResourceActions;
use token::{Claims, TokenIssuer, VerifiedToken, VerifiedTokens};

/// The caller of a request, once authenticated.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// When the request carried a bearer token: what the token grants.
    pub token_access: Option<Arc<Vec<ResourceActions>>>,
}

impl Caller {
    /// An anonymous caller without a token.
    pub fn anonymous() -> Self {
        Caller {
            principal: Principal::Anonymous,
            token_access: None,
        }
    }
}

/// Settings of the authenticator.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Lifetime of registry tokens.
    pub token_ttl: Duration,
    /// Service name in challenges and tokens.
    pub service: String,
    /// Base URL clients use, when the Host header is not it (behind a proxy).
    pub public_url: Option<String>,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            token_ttl: Duration::from_secs(300),
            service: "kcr".into(),
            public_url: None,
        }
    }
}

/// Verifies credentials and issues tokens.
pub struct Authenticator {
    meta: Arc<dyn MetadataStore>,
    tokens: TokenIssuer,
    settings: AuthSettings,
    secrets: SecretCache,
    verified: VerifiedTokens,
    limiter: LoginLimiter,
    decisions: DecisionCache,
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message)
}

fn now() -> Timestamp {
    Timestamp::from_system_time(std::time::SystemTime::now())
}

/// Access-key ids are `KCR` + 17 uppercase letters or digits; user names are lowercase.
fn looks_like_key_id(s: &str) -> bool {
    s.len() == 20
        && s.starts_with("KCR")
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

impl Authenticator {
    /// An authenticator signing tokens with `token_secret` (at least 32 bytes).
    pub fn new(
        meta: Arc<dyn MetadataStore>,
        token_secret: &[u8],
        settings: AuthSettings,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(Authenticator {
            meta,
            tokens: TokenIssuer::new(token_secret, settings.token_ttl, settings.service.clone())?,
            settings,
            secrets: SecretCache::default(),
            verified: VerifiedTokens::default(),
            limiter: LoginLimiter::new(10, Duration::from_secs(60)),
            decisions: DecisionCache::default(),
        })
    }

    /// The settings.
    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    /// The access policy's decision for `principal` doing `action` in `project` (on
    /// `repository` when the action concerns one), from the current facts.
    pub async fn decide(
        &self,
        principal: &Principal,
        action: Action,
        project: &ProjectId,
        repository: Option<&RepositoryName>,
    ) -> kcr_core::Result<Decision> {
        self.decisions
            .decide(self.meta.as_ref(), principal, action, project, repository)
            .await
    }

    fn blocked(&self, client: IpAddr) -> Result<(), ApiError> {
        match self.limiter.retry_after(client) {
            None => Ok(()),
            Some(secs) => {
                let mut e = ApiError::too_many_requests(
                    "too many failed sign-in attempts from this address; try again later",
                );
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    e = e.with_header(axum::http::header::RETRY_AFTER, v);
                }
                Err(e)
            }
        }
    }

    /// Verifies an access key.
    pub async fn verify_access_key(
        &self,
        id: &str,
        secret: &str,
        client: IpAddr,
    ) -> Result<Principal, ApiError> {
        // Blocked clients are refused before the cache is consulted: otherwise a blocked client
        // could keep guessing, a cache hit (200) telling a right guess from a wrong one (429).
        self.blocked(client)?;
        let key_principal = |user, org| Principal::User {
            id: user,
            org,
            credential: CredentialKind::AccessKey,
        };
        if let Some(hit) = self.secrets.lookup(Holder::Key, id, secret, now()) {
            if hit.touch_due {
                let _ = self.meta.touch_access_key(id, now()).await;
            }
            return Ok(key_principal(hit.user, hit.org));
        }
        let _turn = self.secrets.verifying(Holder::Key, id).await;
        // A verification of the same key that was in flight may have just succeeded.
        if let Some(hit) = self.secrets.lookup(Holder::Key, id, secret, now()) {
            return Ok(key_principal(hit.user, hit.org));
        }
        let epoch = self.secrets.epoch();
        let invalid = || unauthorized("invalid access key id or secret");
        let Some(key) = self.meta.access_key(id).await? else {
            self.limiter.failed(client);
            return Err(invalid());
        };
        let hash = key.secret_hash.clone();
        let secret_owned = secret.to_owned();
        let matches =
            tokio::task::spawn_blocking(move || secret::verify_secret(&secret_owned, &hash))
                .await
                .unwrap_or(false);
        if !matches {
            self.limiter.failed(client);
            return Err(invalid());
        }
        if key.expires.is_some_and(|e| e <= now()) {
            return Err(unauthorized(
                "this access key has expired; create a new one",
            ));
        }
        let Some(user) = self.meta.user(&key.user).await? else {
            return Err(invalid());
        };
        self.limiter.succeeded(client);
        self.secrets.remember(
            Holder::Key,
            id,
            secret,
            (user.id.clone(), user.org.clone()),
            key.expires,
            epoch,
        );
        let _ = self.meta.touch_access_key(id, now()).await;
        Ok(key_principal(user.id, user.org))
    }

    /// Verifies a user's console password.
    pub async fn verify_password(
        &self,
        user: &str,
        password: &str,
        client: IpAddr,
    ) -> Result<Principal, ApiError> {
        self.blocked(client)?;
        let password_principal = |id, org| Principal::User {
            id,
            org,
            credential: CredentialKind::Password,
        };
        if let Some(hit) = self.secrets.lookup(Holder::User, user, password, now()) {
            return Ok(password_principal(hit.user, hit.org));
        }
        let _turn = self.secrets.verifying(Holder::User, user).await;
        if let Some(hit) = self.secrets.lookup(Holder::User, user, password, now()) {
            return Ok(password_principal(hit.user, hit.org));
        }
        let epoch = self.secrets.epoch();
        let invalid = || unauthorized("invalid user name or password");
        let record = match user.parse::<UserId>() {
            Ok(id) => self.meta.user(&id).await?,
            Err(_) => None,
        };
        let Some(record) = record else {
            // Spend the same argon2 work as for a real user, so that response times do not
            // tell which user names exist.
            let pw = password.to_owned();
            let _ =
                tokio::task::spawn_blocking(move || secret::verify_secret(&pw, dummy_hash())).await;
            self.limiter.failed(client);
            return Err(invalid());
        };
        let hash = record.password_hash.clone();
        let pw = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || secret::verify_secret(&pw, &hash))
            .await
            .unwrap_or(false);
        if !matches {
            self.limiter.failed(client);
            return Err(invalid());
        }
        self.limiter.succeeded(client);
        self.secrets.remember(
            Holder::User,
            user,
            password,
            (record.id.clone(), record.org.clone()),
            None,
            epoch,
        );
        Ok(password_principal(record.id, record.org))
    }

    /// Forgets a revoked key: its cached verification and, through the key lookup on every token
    /// use, its tokens.
    pub fn revoke_key(&self, id: &str) {
        self.secrets.forget(Holder::Key, id);
        self.verified.forget_key(id);
    }

    /// Forgets a user's cached password (after a change).
    pub fn forget_password(&self, user: &UserId) {
        self.secrets.forget(Holder::User, user.as_str());
    }

    /// Whether an access key still exists and has not expired.
    async fn key_alive(&self, id: &str) -> Result<bool, ApiError> {
        if let Some(alive) = self.secrets.key_alive(id, now()) {
            return Ok(alive);
        }
        Ok(self
            .meta
            .access_key(id)
            .await?
            .is_some_and(|k| k.expires.is_none_or(|x| x > now())))
    }

    /// Authenticates a request. Registry endpoints pass `allow_password = false`: passwords are
    /// for the console and the management API, access keys for registry clients.
    pub async fn caller(
        &self,
        headers: &HeaderMap,
        client: IpAddr,
        allow_password: bool,
    ) -> Result<Caller, ApiError> {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller::anonymous());
        };
        let value = value
            .to_str()
            .map_err(|_| unauthorized("malformed Authorization header"))?;
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return self.bearer(rest.trim()).await;
        }
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(unauthorized(
                "unsupported Authorization scheme; use Basic or Bearer",
            ));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| unauthorized("malformed Basic credentials"))?;
        let (user, secret) = decoded
            .split_once(':')
            .ok_or_else(|| unauthorized("malformed Basic credentials"))?;
        let principal = if looks_like_key_id(user) {
            self.verify_access_key(user, secret, client).await?
        } else if allow_password {
            self.verify_password(user, secret, client).await?
        } else {
            return Err(unauthorized(
                "registry clients sign in with an access key (id and secret), not a user password; \
                 create one with POST /api/v1/users/<you>/access-keys or `kcr key create`",
            ));
        };
        Ok(Caller {
            principal,
            token_access: None,
        })
    }

    async fn bearer(&self, token: &str) -> Result<Caller, ApiError> {
        let now = unix_now();
        let key = VerifiedTokens::key(token);
        let verified = match self.verified.get(&key) {
            Some(v) => v,
            None => {
                let v = Arc::new(self.verify_token(token)?);
                self.verified.insert(key, v.clone(), now);
                v
            }
        };
        if !verified.in_date(now) {
            return Err(unauthorized("invalid or expired token"));
        }
        if let Some(kid) = &verified.kid {
            if !self.key_alive(kid).await? {
                return Err(unauthorized(
                    "the access key this token was issued for has been revoked or has expired",
                ));
            }
        }
        Ok(Caller {
            principal: verified.principal.clone(),
            token_access: Some(verified.access.clone()),
        })
    }

    /// The full check of a token: signature, issuer, audience, dates, and its subject.
    fn verify_token(&self, token: &str) -> Result<VerifiedToken, ApiError> {
        let claims = self
            .tokens
            .verify(token)
            .map_err(|_| unauthorized("invalid or expired token"))?;
        let (principal, kid) = match (claims.kid, claims.org.as_deref()) {
            (Some(kid), Some(org)) => {
                let id = claims
                    .sub
                    .parse()
                    .map_err(|_| unauthorized("invalid token subject"))?;
                let org = org
                    .parse()
                    .map_err(|_| unauthorized("invalid token organization"))?;
                let principal = Principal::User {
                    id,
                    org,
                    credential: CredentialKind::AccessKey,
                };
                (principal, Some(kid))
            }
            _ => (Principal::Anonymous, None),
        };
        Ok(VerifiedToken {
            principal,
            kid,
            access: Arc::new(claims.access),
            exp: claims.exp,
            nbf: claims.nbf,
        })
    }

    /// Issues a token for `principal` granting `access`. Returns the token, its lifetime in
    /// seconds and the issue time (RFC 3339).
    pub fn issue(
        &self,
        principal: &Principal,
        key_id: Option<String>,
        access: Vec<ResourceActions>,
    ) -> Result<(String, u64, String), ApiError> {
        let iat = unix_now();
        let ttl = self.settings.token_ttl.as_secs();
        let (sub, org) = match principal {
            Principal::Anonymous => (String::new(), None),
            Principal::User { id, org, .. } => (id.to_string(), Some(org.to_string())),
        };
        let claims = Claims {
            iss: token::ISSUER.into(),
            sub,
            aud: self.settings.service.clone(),
            exp: iat + ttl,
            nbf: iat.saturating_sub(1),
            iat,
            jti: secret::new_secret(),
            kid: key_id,
            org,
            access,
        };
        let token = self.tokens.sign(&claims).map_err(|e| {
            let mut err = ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNKNOWN",
                "could not issue a token",
            );
            err.internal = Some(e.to_string());
            err
        })?;
        Ok((token, ttl, rfc3339(iat)))
    }
}

/// Seconds since the epoch.
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// An argon2id hash of a random secret, verified against when a user does not exist.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| secret::hash_secret(&secret::new_secret()).unwrap_or_default())
}

/// Seconds since the epoch as an RFC 3339 UTC timestamp.
pub fn rfc3339(secs: u64) -> String {
    Timestamp(secs.saturating_mul(1000)).to_rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_300_000), "2026-12-03T12:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn key_ids_are_recognised() {
        assert!(looks_like_key_id(&secret::new_key_id()));
        assert!(!looks_like_key_id("alice"));
    }
}
