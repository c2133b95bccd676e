//! Secrets: argon2id hashing of passwords and access-key secrets, and random generation.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::Rng;

/// Hashes a secret with argon2id (default parameters) into a PHC string.
pub fn hash_secret(secret: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(Argon2::default()
        .hash_password(secret.as_bytes(), &salt)?
        .to_string())
}

/// Whether `secret` matches the PHC string `hash`.
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
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
        assert_eq!(new_key_id().len(), 20);
        assert_ne!(new_secret(), new_secret());
    }
}
