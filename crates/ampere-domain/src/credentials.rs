//! Changing how a charger authenticates while it runs: password rotation and the
//! security-profile upgrade. Both follow the same rule: the new credential is *pending*
//! beside the current one, and becomes current only when the charger has proved it uses it
//! (it connected with it). Until then the current one keeps working, so a charger that lost
//! the change (or never applied it) is not locked out.
//!
//! - Password: pending from the moment the API pushes it; offered to the gateway as a
//!   second valid password once the charger confirmed the change (`Accepted`); promoted,
//!   and the old one dropped, at the first login with it. A refusal drops it.
//! - Profile: pending once the charger accepted the change; promoted at the first login
//!   that meets it (TLS for 2, TLS with its client certificate for 3). From then on the
//!   gateway refuses the lower profile.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::Rng;
use rand::rngs::OsRng;

use crate::charger::SecurityProfile;
use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::password::hash_password;
use crate::ports::StoreResult;

/// 64 symbols (6 bits each), all allowed in a 2.0.1 `passwordString` and in an HTTP Basic
/// password: letters, digits, `-` and `_`.
const PASSWORD_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Length of a generated password: 20 characters = 120 random bits. 20 is the most both
/// versions take: the 1.6 security whitepaper limits the password to 16–20 bytes (sent
/// hex-encoded, 40 characters, in `AuthorizationKey`); 2.0.1 `BasicAuthPassword` to 16–40
/// characters.
pub const GENERATED_PASSWORD_LEN: usize = 20;
/// Shortest password accepted (both versions).
pub const MIN_PASSWORD_LEN: usize = 16;
/// Longest password 2.x `BasicAuthPassword` takes.
pub const MAX_PASSWORD_LEN_2X: usize = 40;
/// Longest password 1.6 `AuthorizationKey` takes (in bytes, before hex encoding).
pub const MAX_PASSWORD_LEN_16: usize = 20;

/// A strong random password from the OS random source.
pub fn generate_password() -> String {
    let mut rng = OsRng;
    (0..GENERATED_PASSWORD_LEN)
        .map(|_| char::from(PASSWORD_ALPHABET[rng.gen_range(0..PASSWORD_ALPHABET.len())]))
        .collect()
}

/// Checks a password for a charger that speaks a version whose limit is `max_len` bytes:
/// length, and only printable ASCII without spaces or `:` (it travels in HTTP Basic auth,
/// whose user/password separator is `:`; 2.0.1 allows only a few punctuation characters).
pub fn check_password(password: &str, max_len: usize) -> Result<(), String> {
    let len = password.len();
    if !(MIN_PASSWORD_LEN..=max_len).contains(&len) {
        return Err(format!(
            "the password must be {MIN_PASSWORD_LEN} to {max_len} characters, not {len}"
        ));
    }
    if !password
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"*-_=+|@.".contains(&b))
    {
        return Err(
            "the password may contain letters, digits and the characters *-_=+|@. only".into(),
        );
    }
    Ok(())
}

/// Hex encoding of a password for 1.6 `AuthorizationKey` (the whitepaper sends it so).
pub fn authorization_key(password: &str) -> String {
    password.bytes().map(|b| format!("{b:02X}")).collect()
}

/// What is pending for a charger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingCredentials {
    /// Argon2 PHC string of the pushed password.
    pub password_hash: Option<String>,
    /// The charger accepted the new password.
    pub password_confirmed: bool,
    pub password_requested_at: Option<DateTime<Utc>>,
    /// The profile the charger accepted and has not connected with yet.
    pub security_profile: Option<SecurityProfile>,
    pub security_profile_requested_at: Option<DateTime<Utc>>,
}

/// Storage of pending credentials. The promotions change the charger's own record in the
/// same statement that clears the pending value.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    async fn pending_credentials(&self, id: &ChargerId) -> StoreResult<Option<PendingCredentials>>;
    /// Sets the pending password (unconfirmed); false when the charger is unknown.
    async fn set_pending_password(
        &self,
        id: &ChargerId,
        hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Marks the pending password confirmed, if it is still `hash`.
    async fn confirm_pending_password(&self, id: &ChargerId, hash: &str) -> StoreResult<bool>;
    /// Drops the pending password, if it is still `hash`.
    async fn drop_pending_password(&self, id: &ChargerId, hash: &str) -> StoreResult<bool>;
    /// Makes the confirmed pending password the charger's password.
    async fn promote_pending_password(&self, id: &ChargerId) -> StoreResult<bool>;
    async fn set_pending_security_profile(
        &self,
        id: &ChargerId,
        profile: SecurityProfile,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn drop_pending_security_profile(&self, id: &ChargerId) -> StoreResult<bool>;
    /// Makes the pending profile the charger's profile.
    async fn promote_pending_security_profile(&self, id: &ChargerId) -> StoreResult<bool>;
}

/// How a charger just proved who it is (told by the gateway after a successful login while
/// something was pending).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admission {
    /// It connected over TLS.
    pub tls: bool,
    /// With a client certificate the TLS layer verified and whose CN is its identity.
    pub client_certificate: bool,
    /// Its Basic auth password matched the pending password (not the current one).
    pub pending_password: bool,
}

/// What changed at an admission.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Promoted {
    pub password: bool,
    pub security_profile: Option<SecurityProfile>,
}

/// What the gateway should accept besides the current credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlsoAccepted {
    /// A second valid password hash: only once the charger confirmed it.
    pub password_hash: Option<String>,
    /// A profile the charger is moving to (its client certificate admits it for 3).
    pub security_profile: Option<SecurityProfile>,
}

/// Rotation of passwords and upgrades of profiles.
#[derive(Clone)]
pub struct CredentialService {
    store: Arc<dyn CredentialStore>,
    clock: Arc<dyn Clock>,
}

impl CredentialService {
    pub fn new(store: Arc<dyn CredentialStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn pending(&self, id: &ChargerId) -> Result<PendingCredentials, DomainError> {
        Ok(self
            .store
            .pending_credentials(id)
            .await?
            .unwrap_or_default())
    }

    /// What the gateway may accept besides the current credentials of `id`.
    pub async fn also_accepted(&self, id: &ChargerId) -> Result<AlsoAccepted, DomainError> {
        let pending = self.pending(id).await?;
        Ok(AlsoAccepted {
            password_hash: pending.password_hash.filter(|_| pending.password_confirmed),
            security_profile: pending.security_profile,
        })
    }

    /// Starts a rotation: hashes `password` and keeps it pending. Returns the hash, which
    /// names this rotation in [`Self::password_confirmed`] and [`Self::password_refused`].
    pub async fn begin_password_rotation(
        &self,
        id: &ChargerId,
        password: &str,
    ) -> Result<String, DomainError> {
        let hash = hash_password(password)?;
        if !self
            .store
            .set_pending_password(id, &hash, self.clock.now())
            .await?
        {
            return Err(DomainError::UnknownCharger(id.clone()));
        }
        Ok(hash)
    }

    /// The charger accepted the new password: it becomes valid beside the old one.
    pub async fn password_confirmed(&self, id: &ChargerId, hash: &str) -> Result<(), DomainError> {
        self.store.confirm_pending_password(id, hash).await?;
        Ok(())
    }

    /// The charger refused the new password, or never answered: the old one stays alone.
    pub async fn password_refused(&self, id: &ChargerId, hash: &str) -> Result<(), DomainError> {
        self.store.drop_pending_password(id, hash).await?;
        Ok(())
    }

    /// The charger accepted the change to `profile`.
    pub async fn profile_accepted(
        &self,
        id: &ChargerId,
        profile: SecurityProfile,
    ) -> Result<(), DomainError> {
        if !self
            .store
            .set_pending_security_profile(id, profile, self.clock.now())
            .await?
        {
            return Err(DomainError::UnknownCharger(id.clone()));
        }
        Ok(())
    }

    /// Gives up a pending profile change (operator's decision).
    pub async fn cancel_profile_change(&self, id: &ChargerId) -> Result<bool, DomainError> {
        Ok(self.store.drop_pending_security_profile(id).await?)
    }

    /// A charger with something pending logged in: promotes what the login proved.
    pub async fn admitted(
        &self,
        id: &ChargerId,
        admission: Admission,
    ) -> Result<Promoted, DomainError> {
        let pending = self.pending(id).await?;
        let store = &self.store;
        let mut promoted = Promoted::default();
        if admission.pending_password
            && pending.password_confirmed
            && store.promote_pending_password(id).await?
        {
            promoted.password = true;
        }
        if let Some(profile) = pending.security_profile {
            let met = match profile.get() {
                3 => admission.tls && admission.client_certificate,
                2 => admission.tls,
                _ => true,
            };
            if met && store.promote_pending_security_profile(id).await? {
                promoted.security_profile = Some(profile);
            }
        }
        Ok(promoted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_fit_both_versions() {
        let a = generate_password();
        assert_eq!(a.len(), GENERATED_PASSWORD_LEN);
        assert_eq!(check_password(&a, MAX_PASSWORD_LEN_16), Ok(()));
        assert_eq!(check_password(&a, MAX_PASSWORD_LEN_2X), Ok(()));
        assert_ne!(a, generate_password());
    }

    #[test]
    fn passwords_are_checked() {
        assert!(check_password("short", MAX_PASSWORD_LEN_2X).is_err());
        assert!(check_password(&"a".repeat(21), MAX_PASSWORD_LEN_16).is_err());
        assert!(check_password(&"a".repeat(40), MAX_PASSWORD_LEN_2X).is_ok());
        assert!(check_password("has:colon-and-more-chars", MAX_PASSWORD_LEN_2X).is_err());
        assert!(check_password("with space and more chars", MAX_PASSWORD_LEN_2X).is_err());
    }

    #[test]
    fn authorization_key_is_upper_hex() {
        assert_eq!(
            authorization_key("OCA_OCTT_admin_test"),
            "4F43415F4F4354545F61646D696E5F74657374"
        );
    }
}
