//! Charger passwords (HTTP Basic auth, security profiles 1 and 2), hashed with Argon2id into
//! PHC strings. Pure computation, but slow on purpose: callers on an async runtime should run
//! [`verify_password`] in `spawn_blocking`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::rngs::OsRng;

use crate::error::DomainError;

/// Hashes a password with Argon2id (default parameters) and a random salt.
pub fn hash_password(password: &str) -> Result<String, DomainError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DomainError::Password(e.to_string()))
}

/// True when `password` matches the PHC string `hash`. A malformed hash never matches.
pub fn verify_password(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_verifies_only_the_same_password() {
        let hash = hash_password("s3cret-pass").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "s3cret-pass"));
        assert!(!verify_password(&hash, "s3cret-pasS"));
        assert!(!verify_password("not a phc string", "s3cret-pass"));
        assert_ne!(hash, hash_password("s3cret-pass").unwrap(), "salted");
    }
}
