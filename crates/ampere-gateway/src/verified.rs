//! Passwords that passed argon2 before, so a charger that reconnects (a network blip, a
//! modem restart, a whole network after a router outage) is admitted without paying the full
//! argon2 price again. argon2 is deliberately slow: tens of milliseconds of CPU and 19 MiB
//! per check, so ten thousand chargers reconnecting at once would wait over a minute.
//!
//! Only successes are remembered, and only in memory. An entry is keyed by the stored hash
//! (a PHC string with its own random salt), so a changed password invalidates it by itself,
//! and it holds a keyed SHA-256 of the password under a random per-process key, never the
//! password. A wrong password is still checked with argon2 every time (and the gateway's
//! lockout limits how often).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Enough for every charger of a large network; beyond it the memory is started afresh
/// rather than grown without bound (the cost is one argon2 check per charger, once).
const MAX_ENTRIES: usize = 500_000;

#[derive(Clone)]
pub(crate) struct VerifiedPasswords {
    key: Arc<[u8; 32]>,
    entries: Arc<Mutex<HashMap<String, [u8; 32]>>>,
}

impl Default for VerifiedPasswords {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self {
            key: Arc::new(key),
            entries: Arc::default(),
        }
    }
}

impl VerifiedPasswords {
    fn digest(&self, phc_hash: &str, password: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(*self.key);
        hasher.update((phc_hash.len() as u64).to_be_bytes());
        hasher.update(phc_hash.as_bytes());
        hasher.update(password);
        hasher.finalize().into()
    }

    /// Whether this password was verified against this stored hash before.
    pub(crate) fn holds(&self, phc_hash: &str, password: &[u8]) -> bool {
        let digest = self.digest(phc_hash, password);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(phc_hash) == Some(&digest)
    }

    /// Remembers a password that argon2 just verified against `phc_hash`.
    pub(crate) fn remember(&self, phc_hash: &str, password: &[u8]) {
        let digest = self.digest(phc_hash, password);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(phc_hash.to_owned(), digest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_verified_password_for_the_same_stored_hash_is_remembered() {
        let verified = VerifiedPasswords::default();
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
        assert!(!verified.holds(hash, b"secret-1"));
        verified.remember(hash, b"secret-1");
        assert!(verified.holds(hash, b"secret-1"));
        assert!(!verified.holds(hash, b"secret-2"), "another password");
        let new_hash = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$aGFzaA";
        assert!(
            !verified.holds(new_hash, b"secret-1"),
            "the password was changed"
        );
    }

    #[test]
    fn processes_do_not_share_keys() {
        let (a, b) = (VerifiedPasswords::default(), VerifiedPasswords::default());
        assert_ne!(a.digest("h", b"p"), b.digest("h", b"p"));
    }
}
