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
    /// A second password that is valid while the charger moves to it (a rotation the
    /// charger confirmed); a login with it is reported through
    /// [`ChargerDirectory::admitted`].
    pub pending_password_hash: Option<String>,
    /// A profile the charger is moving to: with 3, a TLS login with the charger's client
    /// certificate is admitted (without a password) although the current profile is lower.
    pub pending_security_profile: Option<u8>,
}

/// How a charger with something pending proved who it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Admission {
    /// Over TLS.
    pub tls: bool,
    /// With a verified client certificate naming it.
    pub client_certificate: bool,
    /// Its password matched the pending password, not the current one.
    pub pending_password: bool,
}

impl std::fmt::Debug for ChargerAuth {
    // The hash is not a secret in itself, but it has no business in logs either.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChargerAuth")
            .field("has_password", &self.password_hash.is_some())
            .field("security_profile", &self.security_profile)
            .field(
                "has_pending_password",
                &self.pending_password_hash.is_some(),
            )
            .field("pending_security_profile", &self.pending_security_profile)
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

    /// A charger whose [`ChargerAuth`] had something pending was admitted, as `admission`
    /// says (the directory may now make the pending credential the current one). Called
    /// before the upgrade is answered; failures are the directory's to log.
    async fn admitted(&self, _id: &ChargerId, _admission: Admission) {}
}
