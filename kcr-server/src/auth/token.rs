//! Registry bearer tokens: short-lived HS256 JWTs naming the access key they were issued for,
//! so that revoking the key revokes its tokens.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::scope::ResourceActions;

/// Token issuer name.
pub const ISSUER: &str = "kcr";

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
        v.leeway = 5;
        v.validate_nbf = true;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v).map(|d| d.claims)
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
}
