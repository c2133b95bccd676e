//! Registry bearer tokens: short-lived HS256 JWTs naming the access key they were issued for,
//! so that revoking the key revokes its tokens.
//!
//! A client sends the same token on every request until it expires, and checking one (base64,
//! HMAC, three JSON parses) costs more than a manifest lookup. [`VerifiedTokens`] therefore
//! remembers tokens that passed [`TokenIssuer::verify`], by their SHA-256, with what they say;
//! a remembered token is still checked against the clock on every use (same rule and leeway as
//! the full check) and its key against revocation by the caller.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kcr_core::access::Principal;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::scope::ResourceActions;

/// Token issuer name.
pub const ISSUER: &str = "kcr";

/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY: u64 = 5;

/// The claims kcr puts in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user name, or empty for anonymous tokens.
    pub sub: String,
    /// Audience: the service.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Not before.
    pub nbf: u64,
    /// Issued at.
    pub iat: u64,
    /// Unique id.
    pub jti: String,
    /// The access key it was issued for (`None` for anonymous tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The user's organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Granted access.
    pub access: Vec<ResourceActions>,
}

/// Signs and verifies tokens with a server secret.
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Lifetime of issued tokens.
    pub ttl: Duration,
    /// The service name (`aud`).
    pub service: String,
}

impl TokenIssuer {
    /// An issuer with a 32+ byte secret.
    pub fn new(
        secret: &[u8],
        ttl: Duration,
        service: impl Into<String>,
    ) -> Result<Self, jsonwebtoken::errors::Error> {
        Ok(TokenIssuer {
            encoding: EncodingKey::from_secret(secret)?,
            decoding: DecodingKey::from_secret(secret)?,
            ttl,
            service: service.into(),
        })
    }

    /// Signs claims.
    pub fn sign(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
    }

    /// Verifies signature, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[&self.service]);
        v.leeway = LEEWAY;
        v.validate_nbf = true;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map(|d| d.claims)
    }
}

/// What a verified token says, ready for use on a request.
#[derive(Debug)]
pub struct VerifiedToken {
    /// Who it was issued to (anonymous for anonymous tokens).
    pub principal: Principal,
    /// The access key it was issued for.
    pub kid: Option<String>,
    /// What it grants.
    pub access: Arc<Vec<ResourceActions>>,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Not before.
    pub nbf: u64,
}

impl VerifiedToken {
    /// Whether it may be used at `now` (seconds since the epoch): the rule the full check
    /// applies, with the same leeway.
    pub fn in_date(&self, now: u64) -> bool {
        self.exp >= now.saturating_sub(LEEWAY) && self.nbf <= now + LEEWAY
    }
}

/// How many verified tokens are remembered at most; when full, expired ones are dropped, and if
/// that is not enough, all of them (a forgotten token is simply verified again).
const MAX_VERIFIED: usize = 16_384;

/// Tokens that passed the full check, by the SHA-256 of their text.
#[derive(Default)]
pub struct VerifiedTokens {
    map: RwLock<HashMap<[u8; 32], Arc<VerifiedToken>>>,
}

impl VerifiedTokens {
    /// The key of a token.
    pub fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The remembered token with this key, if any (in date or not: the caller checks).
    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<VerifiedToken>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// Remembers a verified token.
    pub fn insert(&self, key: [u8; 32], token: Arc<VerifiedToken>, now: u64) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_VERIFIED {
            map.retain(|_, t| t.in_date(now));
            if map.len() >= MAX_VERIFIED {
                map.clear();
            }
        }
        map.insert(key, token);
    }

    /// Forgets every token issued for access key `kid`.
    pub fn forget_key(&self, kid: &str) {
        self.map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, t| t.kid.as_deref() != Some(kid));
    }

    /// How many tokens are remembered.
    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            iss: ISSUER.into(),
            sub: "alice".into(),
            aud: "kcr".into(),
            exp,
            nbf: 0,
            iat: 0,
            jti: "x".into(),
            kid: Some("KCRKEY".into()),
            org: Some("acme".into()),
            access: vec![],
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    #[test]
    fn sign_verify_expiry_and_tamper() {
        let t = TokenIssuer::new(&[7u8; 32], Duration::from_secs(300), "kcr").unwrap();
        let token = t.sign(&claims(now() + 60)).unwrap();
        assert_eq!(t.verify(&token).unwrap().sub, "alice");
        let expired = t.sign(&claims(now() - 60)).unwrap();
        assert!(t.verify(&expired).is_err());
        let other = TokenIssuer::new(&[8u8; 32], Duration::from_secs(300), "kcr").unwrap();
        assert!(other.verify(&token).is_err());
        let wrong_aud = TokenIssuer::new(&[7u8; 32], Duration::from_secs(300), "other").unwrap();
        assert!(wrong_aud.verify(&token).is_err());
    }

    fn verified(exp: u64, kid: &str) -> Arc<VerifiedToken> {
        Arc::new(VerifiedToken {
            principal: Principal::Anonymous,
            kid: Some(kid.into()),
            access: Arc::new(Vec::new()),
            exp,
            nbf: exp.saturating_sub(300),
        })
    }

    #[test]
    fn remembered_tokens_follow_the_same_clock_rule() {
        let t = verified(1_000, "K1");
        assert!(t.in_date(1_000));
        assert!(t.in_date(1_000 + LEEWAY));
        assert!(!t.in_date(1_001 + LEEWAY));
        assert!(t.in_date(700 - LEEWAY));
        assert!(!t.in_date(699 - LEEWAY));
    }

    #[test]
    fn remembered_tokens_are_bounded_and_forgotten_per_key() {
        let v = VerifiedTokens::default();
        let a = VerifiedTokens::key("a");
        assert_ne!(a, VerifiedTokens::key("b"));
        v.insert(a, verified(1_000, "K1"), 0);
        v.insert(VerifiedTokens::key("b"), verified(1_000, "K2"), 0);
        assert!(v.get(&a).is_some());
        v.forget_key("K1");
        assert!(v.get(&a).is_none());
        assert_eq!(v.len(), 1);
        for i in 0..MAX_VERIFIED + 10 {
            v.insert(VerifiedTokens::key(&i.to_string()), verified(10, "K3"), 0);
        }
        assert!(v.len() <= MAX_VERIFIED);
        // Once they are all expired, the next insert drops them.
        v.insert(a, verified(100_000, "K1"), 1_000);
        assert!(v.len() <= MAX_VERIFIED);
    }
}
