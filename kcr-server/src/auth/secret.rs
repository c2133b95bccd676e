//! Secrets: argon2id hashing of passwords and access-key secrets, and random generation.
//!
//! Every hash runs on one of a few reused memory areas (argon2id's default needs 19 MiB). Left
//! to the allocator, each blocking thread that ever hashed keeps its 19 MiB in its own malloc
//! arena: a server that had verified a handful of keys and passwords held 60-90 MiB more than one
//! that never hashed. Here at most one area per CPU exists, hashes beyond that wait for one (they
//! would only share the CPUs anyway), and an area is zeroed after each use.

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::Rng;

/// The reusable argon2 memory areas: the idle ones, and how many exist.
struct Areas {
    idle: Mutex<(Vec<Vec<Block>>, usize)>,
    freed: Condvar,
    max: usize,
}

fn areas() -> &'static Areas {
    static AREAS: OnceLock<Areas> = OnceLock::new();
    AREAS.get_or_init(|| Areas {
        idle: Mutex::new((Vec::new(), 0)),
        freed: Condvar::new(),
        max: std::thread::available_parallelism().map_or(2, |n| n.get()),
    })
}

impl Areas {
    fn lock(&self) -> MutexGuard<'_, (Vec<Vec<Block>>, usize)> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on an area of at least `blocks` blocks (waiting for one when all are in use).
    fn with<R>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
        let mut area = {
            let mut state = self.lock();
            loop {
                if let Some(a) = state.0.pop() {
                    break a;
                }
                if state.1 < self.max {
                    state.1 += 1;
                    break Vec::new();
                }
                state = self.freed.wait(state).unwrap_or_else(|p| p.into_inner());
            }
        };
        if area.len() < blocks {
            area.resize(blocks, Block::default());
        }
        let result = f(&mut area);
        area.fill(Block::default());
        self.lock().0.push(area);
        self.freed.notify_one();
        result
    }
}

/// Hashes a secret with argon2id (default parameters) into a PHC string.
pub fn hash_secret(secret: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    areas().with(params.block_count(), |blocks| {
        argon.hash_password_into_with_memory(secret.as_bytes(), salt_bytes, &mut out, blocks)
    })?;
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out)?),
    }
    .to_string())
}

/// Whether `secret` matches the PHC string `hash` (compared in constant time).
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    let check = || -> Result<bool, argon2::password_hash::Error> {
        let parsed = PasswordHash::new(hash)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Ok(false);
        };
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let params = Params::try_from(&parsed)?;
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let argon = Argon2::new(algorithm, version, params.clone());
        let computed = Output::init_with(expected.len(), |out| {
            areas().with(params.block_count(), |blocks| {
                argon.hash_password_into_with_memory(secret.as_bytes(), salt_bytes, out, blocks)
            })?;
            Ok(())
        })?;
        Ok(computed == expected)
    };
    check().unwrap_or(false)
}

fn random_string(len: usize, alphabet: &[u8]) -> String {
    let mut rng = rand::rngs::OsRng;
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

/// A new access-key id: `KCR` and 17 uppercase letters or digits.
pub fn new_key_id() -> String {
    format!(
        "KCR{}",
        random_string(17, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    )
}

/// A new secret: 40 characters from a 62-letter alphabet (about 238 bits).
pub fn new_secret() -> String {
    random_string(
        40,
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_secret("s3cret").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("s3cret"));
        assert!(verify_secret("s3cret", &h));
        assert!(!verify_secret("s3cret!", &h));
        assert!(!verify_secret("s3cret", "not a hash"));
        // Hashes made by the argon2 crate's own hasher (the format stored so far) still verify.
        use argon2::password_hash::PasswordHasher;
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = Argon2::default()
            .hash_password(b"s3cret", &salt)
            .unwrap()
            .to_string();
        assert!(verify_secret("s3cret", &theirs));
        assert!(!verify_secret("s3cret?", &theirs));
        let p = PasswordHash::new(&h).unwrap();
        assert_eq!(
            (p.algorithm, p.version),
            (Algorithm::Argon2id.ident(), Some(19))
        );
        let params = Params::try_from(&p).unwrap();
        let default = Params::default();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (default.m_cost(), default.t_cost(), default.p_cost())
        );
        assert_eq!(new_key_id().len(), 20);
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn more_hashes_than_memory_areas_wait_their_turn() {
        let h = hash_secret("s3cret").unwrap();
        let n = areas().max * 2 + 1;
        let ok = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .map(|_| s.spawn(|| verify_secret("s3cret", &h)))
                .collect();
            handles.into_iter().all(|t| t.join().unwrap())
        });
        assert!(ok);
        let state = areas().lock();
        assert!(state.1 <= areas().max);
    }
}
