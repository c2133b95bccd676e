//! Verified secrets, remembered so that the hot path never hashes a password.
//!
//! A secret (access-key secret or user password) that passed argon2id is remembered by a salted
//! SHA-256 fingerprint (never in clear), with whom it identifies. Two things keep this cheap and
//! correct under load:
//!
//! - **One verification at a time per key or user.** Sixteen clients starting together with the
//!   same new key would otherwise run sixteen argon2id hashes (about 19 MiB of memory each) at
//!   once; the others wait for the first and then find its result here.
//! - **Revocations win over verifications in flight.** Forgetting a key or a password bumps an
//!   epoch; a verification that started before (its key read from the store before the
//!   revocation) answers its own request but is not remembered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use kcr_core::access::{OrgId, UserId};
use kcr_core::Timestamp;
use rand::RngCore;
use sha2::{Digest as _, Sha256};

/// What a secret belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    /// An access key, by id.
    Key,
    /// A user's password, by user name.
    User,
}

/// A remembered verification that matched.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The user.
    pub user: UserId,
    /// Their organization.
    pub org: OrgId,
    /// Whether the key's last-use time is due for an update (at most once a minute).
    pub touch_due: bool,
}

struct Entry {
    fingerprint: [u8; 32],
    user: UserId,
    org: OrgId,
    expires: Option<Timestamp>,
    touched: Instant,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, Entry>,
    users: HashMap<String, Entry>,
    epoch: u64,
}

impl State {
    fn map(&mut self, holder: Holder) -> &mut HashMap<String, Entry> {
        match holder {
            Holder::Key => &mut self.keys,
            Holder::User => &mut self.users,
        }
    }
}

/// One lock per key or user being verified, held while its secret is hashed.
type InFlight = HashMap<(Holder, String), Weak<tokio::sync::Mutex<()>>>;

/// How often a key's last-use time is written.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Verified secrets and the verifications in flight.
pub struct SecretCache {
    salt: [u8; 32],
    state: Mutex<State>,
    inflight: Mutex<InFlight>,
}

impl Default for SecretCache {
    fn default() -> Self {
        let mut salt = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        SecretCache {
            salt,
            state: Mutex::new(State::default()),
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

impl SecretCache {
    fn fingerprint(&self, secret: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(secret.as_bytes());
        h.finalize().into()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The identity `secret` was verified for, if it was and has not expired at `now`.
    pub fn lookup(&self, holder: Holder, name: &str, secret: &str, now: Timestamp) -> Option<Hit> {
        let fp = self.fingerprint(secret);
        let mut state = self.state();
        let entry = state.map(holder).get_mut(name)?;
        let fresh = entry.expires.is_none_or(|e| e > now);
        if entry.fingerprint != fp || !fresh {
            return None;
        }
        let touch_due = holder == Holder::Key && entry.touched.elapsed() > TOUCH_EVERY;
        if touch_due {
            entry.touched = Instant::now();
        }
        Some(Hit {
            user: entry.user.clone(),
            org: entry.org.clone(),
            touch_due,
        })
    }

    /// The current epoch: read it before reading the credential from the store, and pass it to
    /// [`SecretCache::remember`].
    pub fn epoch(&self) -> u64 {
        self.state().epoch
    }

    /// Remembers a verified secret, unless something was forgotten since `epoch`.
    pub fn remember(
        &self,
        holder: Holder,
        name: &str,
        secret: &str,
        identity: (UserId, OrgId),
        expires: Option<Timestamp>,
        epoch: u64,
    ) {
        let entry = Entry {
            fingerprint: self.fingerprint(secret),
            user: identity.0,
            org: identity.1,
            expires,
            touched: Instant::now(),
        };
        let mut state = self.state();
        if state.epoch == epoch {
            state.map(holder).insert(name.to_owned(), entry);
        }
    }

    /// Forgets a key or a password, also for verifications in flight.
    pub fn forget(&self, holder: Holder, name: &str) {
        let mut state = self.state();
        state.epoch += 1;
        state.map(holder).remove(name);
    }

    /// Whether a remembered key is still in date at `now` (`None`: not remembered).
    pub fn key_alive(&self, id: &str, now: Timestamp) -> Option<bool> {
        self.state()
            .keys
            .get(id)
            .map(|e| e.expires.is_none_or(|x| x > now))
    }

    /// Waits for the verifications of the same key or user that are in flight; hold the guard
    /// while verifying.
    pub async fn verifying(&self, holder: Holder, name: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
            if inflight.len() >= 1024 {
                inflight.retain(|_, w| w.strong_count() > 0);
            }
            let key = (holder, name.to_owned());
            match inflight.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    inflight.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> (UserId, OrgId) {
        ("alice".parse().unwrap(), "acme".parse().unwrap())
    }

    #[test]
    fn remembers_by_fingerprint_and_forgets() {
        let c = SecretCache::default();
        let now = Timestamp(1_000);
        let e = c.epoch();
        c.remember(Holder::Key, "K1", "s3cret", who(), None, e);
        assert!(c.lookup(Holder::Key, "K1", "s3cret", now).is_some());
        assert!(c.lookup(Holder::Key, "K1", "wrong", now).is_none());
        assert!(c.lookup(Holder::User, "K1", "s3cret", now).is_none());
        assert_eq!(c.key_alive("K1", now), Some(true));
        c.forget(Holder::Key, "K1");
        assert!(c.lookup(Holder::Key, "K1", "s3cret", now).is_none());
        assert_eq!(c.key_alive("K1", now), None);
    }

    #[test]
    fn expired_keys_are_not_hits() {
        let c = SecretCache::default();
        let e = c.epoch();
        c.remember(Holder::Key, "K1", "s", who(), Some(Timestamp(2_000)), e);
        assert!(c.lookup(Holder::Key, "K1", "s", Timestamp(1_999)).is_some());
        assert!(c.lookup(Holder::Key, "K1", "s", Timestamp(2_000)).is_none());
        assert_eq!(c.key_alive("K1", Timestamp(2_000)), Some(false));
    }

    #[test]
    fn a_verification_that_raced_a_revocation_is_not_remembered() {
        let c = SecretCache::default();
        let before = c.epoch();
        // The key is revoked while its verification (started at `before`) is hashing.
        c.forget(Holder::Key, "K1");
        c.remember(Holder::Key, "K1", "s", who(), None, before);
        assert!(c.lookup(Holder::Key, "K1", "s", Timestamp(0)).is_none());
    }

    #[tokio::test]
    async fn verifications_of_one_key_take_turns() {
        let c = Arc::new(SecretCache::default());
        let first = c.verifying(Holder::Key, "K1").await;
        let c2 = c.clone();
        let waiting = tokio::spawn(async move {
            let _g = c2.verifying(Holder::Key, "K1").await;
        });
        // Another key is not held up.
        let _other = c.verifying(Holder::Key, "K2").await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(first);
        waiting.await.unwrap();
    }
}
