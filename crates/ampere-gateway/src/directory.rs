//! The port through which the gateway learns who may connect.

use ampere_domain::ChargerId;
use async_trait::async_trait;

/// What the gateway needs to know about a registered charger to let it connect.
#[derive(Clone, PartialEq, Eq)]
pub struct ChargerAuth {
    /// argon2 hash in PHC string form (`$argon2id$v=19$...`); `None` when the charger has
    /// no password and connects without HTTP Basic auth.
    pub password_hash: Option<String>,
    /// OCPP security profile: 1 = Basic auth over `ws://`, 2 = TLS + Basic auth,
    /// 3 = TLS client certificate. A charger may never connect below its profile, so the
    /// plain listener refuses profiles 2 and 3.
    pub security_profile: u8,
}

impl std::fmt::Debug for ChargerAuth {
    // The hash is not a secret in itself, but it has no business in logs either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChargerAuth")
            .field("has_password", &self.password_hash.is_some())
            .field("security_profile", &self.security_profile)
            .finish()
    }
}

/// A lookup failed (e.g. the database is unreachable); the handshake answers HTTP 503 so the
/// charger retries later.
#[derive(Debug, thiserror::Error)]
#[error("charger directory lookup failed: {0}")]
pub struct DirectoryError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

impl DirectoryError {
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

/// Who may connect: implemented by the binary over the domain's charger registry.
#[async_trait]
pub trait ChargerDirectory: Send + Sync + 'static {
    /// The registration of `id`, or `None` when the charger is unknown (the
    /// [`UnknownChargerPolicy`](crate::UnknownChargerPolicy) then decides).
    async fn lookup(&self, id: &ChargerId) -> Result<Option<ChargerAuth>, DirectoryError>;
}
