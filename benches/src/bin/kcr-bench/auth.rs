//! Client-side authentication of registry requests, done the way a Docker client does it.
//!
//! - **Token**: a request goes out with the cached bearer token of its scope, if any. A `401`
//!   carrying `WWW-Authenticate: Bearer realm=...,service=...,scope=...` makes the client `GET` the
//!   realm with the access key as Basic credentials and the challenged scope, cache the token
//!   under that scope and send the request again. A token is reused until 90% of its lifetime
//!   (`expires_in`) has passed, then fetched anew. Like Docker, the client learns the realm from
//!   the challenge of `GET /v2/` first, and asks for the token of a request that carries a body
//!   before sending it (a server answering 401 does not read the body, so the request could not
//!   be sent again).
//! - **Basic**: the access key as Basic credentials on every request.
//!
//! This module holds the logic (scopes, challenges, the cache); `client.rs` does the I/O.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use http::{HeaderValue, Method};

use crate::Result;

/// An access key: what registry clients sign in with.
#[derive(Debug, Clone)]
pub struct AccessKey {
    /// Its id (`KCR...`).
    pub id: String,
    /// Its secret, shown once when it was created.
    pub secret: String,
}

/// How a client authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// The Docker token flow.
    Token,
    /// Basic credentials on every request.
    Basic,
}

/// A `Bearer` challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The token endpoint.
    pub realm: String,
    /// The service to name in the token request.
    pub service: Option<String>,
    /// The scope the request needed.
    pub scope: Option<String>,
}

/// Parses `Bearer realm="...",service="...",scope="..."` (quoted values may hold commas).
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, mut rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = HashMap::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if rest.is_empty() {
            break;
        }
        let (key, after) = rest.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let value;
        if let Some(quoted) = after.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            v.push(escaped);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => v.push(c),
                }
            }
            value = v;
            rest = &quoted[end?..];
        } else {
            let end = after.find(',').unwrap_or(after.len());
            value = after[..end].trim().to_owned();
            rest = &after[end..];
        }
        params.insert(key, value);
    }
    Some(Challenge {
        realm: params.remove("realm")?,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

/// What a scope asks for on a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actions {
    /// `pull`.
    Pull,
    /// `pull,push`.
    PullPush,
    /// `delete`.
    Delete,
}

impl Actions {
    /// As in a scope.
    pub fn as_str(self) -> &'static str {
        match self {
            Actions::Pull => "pull",
            Actions::PullPush => "pull,push",
            Actions::Delete => "delete",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// A repository scope, borrowed from a request URL (no allocation on the request path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    /// The repository name.
    pub name: &'a str,
    /// What is asked.
    pub actions: Actions,
}

impl std::fmt::Display for Scope<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "repository:{}:{}", self.name, self.actions.as_str())
    }
}

/// The token scope a registry request needs, as the registry words it in its challenges:
/// `repository:<name>:pull` for reads, `repository:<name>:pull,push` for writes and uploads;
/// `None` for `/v2/` and the catalog.
pub fn scope_of<'a>(method: &Method, url: &'a str) -> Option<Scope<'a>> {
    let path = match url.find("://") {
        Some(i) => &url[i + 3..][url[i + 3..].find('/')?..],
        None => url,
    };
    let path = path.split('?').next()?;
    let rest = path.strip_prefix("/v2/")?;
    let (name, upload) = if let Some(n) = rest.strip_suffix("/tags/list") {
        (n, false)
    } else if let Some((n, _)) = rest.rsplit_once("/blobs/uploads") {
        (n, true)
    } else if let Some((n, _)) = rest.rsplit_once("/manifests/") {
        (n, false)
    } else if let Some((n, _)) = rest
        .rsplit_once("/blobs/")
        .or_else(|| rest.rsplit_once("/referrers/"))
    {
        (n, false)
    } else {
        return None;
    };
    let actions = if upload {
        Actions::PullPush
    } else if *method == Method::GET || *method == Method::HEAD {
        Actions::Pull
    } else if *method == Method::DELETE {
        Actions::Delete
    } else {
        Actions::PullPush
    };
    Some(Scope { name, actions })
}

/// Standard base64 with padding (RFC 4648), for Basic credentials.
pub fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes a query value (everything but RFC 3986 unreserved characters).
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `Basic <base64(user:secret)>`.
pub fn basic_header(user: &str, secret: &str) -> Result<HeaderValue> {
    Ok(HeaderValue::from_str(&format!(
        "Basic {}",
        base64(format!("{user}:{secret}").as_bytes())
    ))?)
}

/// The URL of a token request for `challenge`.
pub fn token_url(challenge: &Challenge) -> String {
    let mut params = Vec::new();
    if let Some(s) = &challenge.service {
        params.push(format!("service={}", query_escape(s)));
    }
    if let Some(s) = &challenge.scope {
        params.push(format!("scope={}", query_escape(s)));
    }
    if params.is_empty() {
        return challenge.realm.clone();
    }
    let sep = if challenge.realm.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{}{sep}{}", challenge.realm, params.join("&"))
}

/// A token answer: the `Authorization` value to send and the token's lifetime.
pub fn parse_token_response(body: &[u8]) -> Result<(HeaderValue, Duration)> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("token endpoint answered something other than JSON: {e}"))?;
    let token = v["token"]
        .as_str()
        .or_else(|| v["access_token"].as_str())
        .filter(|t| !t.is_empty())
        .ok_or("token endpoint answered without a token")?;
    // The token spec's default lifetime when `expires_in` is missing.
    let secs = v["expires_in"].as_u64().unwrap_or(60);
    Ok((
        HeaderValue::from_str(&format!("Bearer {token}"))?,
        Duration::from_secs(secs),
    ))
}

struct Cached {
    header: HeaderValue,
    refresh_at: Instant,
}

/// Tokens of one repository, per [`Actions`].
type Slots = [Option<Cached>; 3];

/// Bearer tokens per scope, shared by every worker of a client, and the token endpoint.
pub struct TokenCache {
    /// By repository name (`""`: requests without a scope).
    tokens: RwLock<HashMap<String, Slots>>,
    fetches: AtomicU64,
    endpoint: RwLock<Option<Challenge>>,
}

fn slot_of(scope: Option<Scope<'_>>) -> (&str, usize) {
    scope.map_or(("", 0), |s| (s.name, s.actions.slot()))
}

impl TokenCache {
    fn new() -> Self {
        TokenCache {
            tokens: RwLock::new(HashMap::new()),
            fetches: AtomicU64::new(0),
            endpoint: RwLock::new(None),
        }
    }

    /// Remembers the realm and service of a challenge.
    pub fn learn(&self, challenge: &Challenge) {
        *self.endpoint.write().unwrap_or_else(|p| p.into_inner()) = Some(Challenge {
            scope: None,
            ..challenge.clone()
        });
    }

    /// The token request for `scope`, once a challenge has named the realm.
    pub fn challenge_for(&self, scope: Option<Scope<'_>>) -> Option<Challenge> {
        let endpoint = self.endpoint.read().unwrap_or_else(|p| p.into_inner());
        endpoint.as_ref().map(|e| Challenge {
            scope: scope.map(|s| s.to_string()),
            ..e.clone()
        })
    }

    /// The token cached for `scope`, unless it is due for a refresh at `now`.
    pub fn get(&self, scope: Option<Scope<'_>>, now: Instant) -> Option<HeaderValue> {
        let (name, slot) = slot_of(scope);
        let tokens = self.tokens.read().unwrap_or_else(|p| p.into_inner());
        tokens.get(name)?[slot]
            .as_ref()
            .filter(|c| now < c.refresh_at)
            .map(|c| c.header.clone())
    }

    /// Caches a token fetched at `fetched` (before its request went out) that lives `ttl`.
    pub fn put(
        &self,
        scope: Option<Scope<'_>>,
        header: HeaderValue,
        fetched: Instant,
        ttl: Duration,
    ) {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let refresh_at = fetched + ttl.mul_f64(0.9);
        let (name, slot) = slot_of(scope);
        let mut tokens = self.tokens.write().unwrap_or_else(|p| p.into_inner());
        tokens.entry(name.to_owned()).or_default()[slot] = Some(Cached { header, refresh_at });
    }

    fn clear(&self) {
        self.tokens
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        self.fetches.store(0, Ordering::Relaxed);
    }
}

/// A client's credentials.
pub enum ClientAuth {
    /// None (an open registry).
    Anonymous,
    /// Basic credentials on every request.
    Basic(HeaderValue),
    /// The token flow: the access key's Basic credentials for the token endpoint, and the cache.
    Token {
        /// `Basic ...` of the access key.
        basic: HeaderValue,
        /// Tokens per scope.
        cache: TokenCache,
    },
}

impl ClientAuth {
    /// Credentials for `key` used with `scheme`.
    pub fn new(scheme: Scheme, key: &AccessKey) -> Result<ClientAuth> {
        let basic = basic_header(&key.id, &key.secret)?;
        Ok(match scheme {
            Scheme::Basic => ClientAuth::Basic(basic),
            Scheme::Token => ClientAuth::Token {
                basic,
                cache: TokenCache::new(),
            },
        })
    }

    /// The credentials every request carries without a token: Basic, or none.
    pub fn fixed_header(&self) -> Option<HeaderValue> {
        match self {
            ClientAuth::Basic(h) => Some(h.clone()),
            ClientAuth::Anonymous | ClientAuth::Token { .. } => None,
        }
    }

    /// Forgets every token and resets the fetch count (a fresh client).
    pub fn reset(&self) {
        if let ClientAuth::Token { cache, .. } = self {
            cache.clear();
        }
    }

    /// Tokens fetched since the last reset.
    pub fn token_fetches(&self) -> u64 {
        match self {
            ClientAuth::Token { cache, .. } => cache.fetches.load(Ordering::Relaxed),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = parse_challenge(
            "Bearer realm=\"http://127.0.0.1:5000/v2/token\",service=\"kcr\",scope=\"repository:p/r/i:pull,push\"",
        )
        .unwrap();
        assert_eq!(c.realm, "http://127.0.0.1:5000/v2/token");
        assert_eq!(c.service.as_deref(), Some("kcr"));
        assert_eq!(c.scope.as_deref(), Some("repository:p/r/i:pull,push"));
        let c = parse_challenge("bearer realm=r, service=\"a\\\"b\"").unwrap();
        assert_eq!(
            (c.realm.as_str(), c.service.as_deref()),
            ("r", Some("a\"b"))
        );
        assert_eq!(c.scope, None);
        assert!(parse_challenge("Basic realm=\"kcr\"").is_none());
        assert!(parse_challenge("Bearer service=\"kcr\"").is_none());
        assert!(parse_challenge("Bearer realm=\"unterminated").is_none());
    }

    #[test]
    fn scopes_match_what_the_registry_challenges_with() {
        let s = |m: Method, u: &str| scope_of(&m, u).map(|s| s.to_string());
        assert_eq!(
            s(Method::GET, "http://h:1/v2/p/r/i/manifests/v1").as_deref(),
            Some("repository:p/r/i:pull")
        );
        assert_eq!(
            s(Method::HEAD, "/v2/p/r/i/blobs/sha256:00").as_deref(),
            Some("repository:p/r/i:pull")
        );
        assert_eq!(
            s(Method::GET, "/v2/p/r/i/tags/list?n=10").as_deref(),
            Some("repository:p/r/i:pull")
        );
        assert_eq!(
            s(Method::POST, "/v2/p/blob/blobs/uploads/?digest=x").as_deref(),
            Some("repository:p/blob:pull,push")
        );
        assert_eq!(
            s(Method::PATCH, "http://h/v2/p/r/i/blobs/uploads/abc").as_deref(),
            Some("repository:p/r/i:pull,push")
        );
        assert_eq!(
            s(Method::PUT, "/v2/p/r/i/manifests/v1").as_deref(),
            Some("repository:p/r/i:pull,push")
        );
        assert_eq!(
            s(Method::DELETE, "/v2/p/r/i/manifests/v1").as_deref(),
            Some("repository:p/r/i:delete")
        );
        assert_eq!(s(Method::GET, "/v2/"), None);
        assert_eq!(s(Method::GET, "/v2/_catalog"), None);
    }

    #[test]
    fn encodings() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"KCRX:s3cret!"), "S0NSWDpzM2NyZXQh");
        assert_eq!(
            query_escape("repository:p/r/i:pull,push"),
            "repository%3Ap%2Fr%2Fi%3Apull%2Cpush"
        );
        let c = Challenge {
            realm: "http://h/v2/token".into(),
            service: Some("kcr".into()),
            scope: Some("repository:a/b/c:pull".into()),
        };
        assert_eq!(
            token_url(&c),
            "http://h/v2/token?service=kcr&scope=repository%3Aa%2Fb%2Fc%3Apull"
        );
    }

    #[test]
    fn tokens_are_reused_until_due_then_refreshed() {
        let (h, ttl) =
            parse_token_response(br#"{"token":"t1","access_token":"t1","expires_in":300}"#)
                .unwrap();
        assert_eq!(h, "Bearer t1");
        assert_eq!(ttl, Duration::from_secs(300));
        assert!(parse_token_response(br#"{"expires_in":300}"#).is_err());
        let cache = TokenCache::new();
        let t0 = Instant::now();
        let pull = scope_of(&Method::GET, "/v2/a/b/c/manifests/v1");
        let push = scope_of(&Method::PUT, "/v2/a/b/c/manifests/v1");
        let other = scope_of(&Method::GET, "/v2/a/b/d/manifests/v1");
        assert!(cache.get(pull, t0).is_none());
        cache.put(pull, h, t0, ttl);
        assert_eq!(
            cache.get(pull, t0 + Duration::from_secs(269)).unwrap(),
            "Bearer t1"
        );
        assert!(cache.get(pull, t0 + Duration::from_secs(270)).is_none());
        assert!(cache.get(push, t0).is_none());
        assert!(cache.get(other, t0).is_none());
        assert!(cache.get(None, t0).is_none());
        assert_eq!(cache.fetches.load(Ordering::Relaxed), 1);
        cache.clear();
        assert!(cache.get(pull, t0).is_none());
        assert!(cache.challenge_for(pull).is_none());
        cache.learn(&parse_challenge("Bearer realm=\"r\",service=\"kcr\",scope=\"x\"").unwrap());
        let c = cache.challenge_for(pull).unwrap();
        assert_eq!(
            (c.realm.as_str(), c.service.as_deref(), c.scope.as_deref()),
            ("r", Some("kcr"), Some("repository:a/b/c:pull"))
        );
        assert_eq!(cache.challenge_for(None).unwrap().scope, None);
    }
}
