//! API tokens (who may use the operator API, with which role) and the audit log of what they
//! did. The HTTP side (headers, status codes) lives in `ampere-api`; this module holds the
//! rules: how a token is made, how it is stored (hashed), which role outranks which, and the
//! first-start bootstrap.
//!
//! # Why SHA-256 and not Argon2
//! A token is 256 bits from the operating system's CSPRNG, so it cannot be guessed or brute
//! forced whatever the hash costs; a slow, salted password hash protects *low*-entropy
//! secrets and would only add latency to every API request. An unsalted SHA-256 of such a
//! token is the usual choice (it also makes the lookup a single indexed equality). Tokens an
//! operator supplies (`AMPERE_API_TOKEN`) must therefore be long: see
//! [`MIN_SUPPLIED_TOKEN_LEN`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ports::StoreResult;

/// Every generated token starts with this, so a leaked one is recognisable (secret scanners,
/// logs) and cannot be confused with a charger password.
pub const TOKEN_PREFIX: &str = "amp_";

/// The shortest token an operator may supply through `AMPERE_API_TOKEN`. 43 characters is
/// what 256 random bits take in base64; shorter secrets are probably human-made and too weak
/// for an unsalted hash.
pub const MIN_SUPPLIED_TOKEN_LEN: usize = 43;

/// What a token may do; each role may do everything the roles below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiRole {
    /// Reads everything except API tokens and the audit log.
    Viewer,
    /// Also changes chargers and id tokens and sends commands to chargers.
    Operator,
    /// Also manages API tokens and reads the audit log.
    Admin,
}

impl ApiRole {
    pub const ALL: [Self; 3] = [Self::Viewer, Self::Operator, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// True when this role may do what `required` may.
    pub fn allows(self, required: Self) -> bool {
        self >= required
    }
}

impl FromStr for ApiRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            other => Err(format!(
                "unknown role {other:?} (expected admin, operator or viewer)"
            )),
        }
    }
}

impl fmt::Display for ApiRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored API token: everything but the secret, which is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub role: ApiRole,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiToken {
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// A token to store: its hash, never the secret.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiToken {
    pub name: String,
    pub role: ApiRole,
    /// [`hash_token`] of the secret.
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
}

/// A secret token, shown to its owner once. `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// A fresh token: the prefix and 256 random bits from the OS, base64url.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token an operator chose (e.g. `AMPERE_API_TOKEN`); refused when too short to be
    /// safe under an unsalted hash.
    pub fn supplied(text: &str) -> Result<Self, DomainError> {
        let text = text.trim();
        if text.len() < MIN_SUPPLIED_TOKEN_LEN {
            return Err(DomainError::Invalid(format!(
                "an API token must be at least {MIN_SUPPLIED_TOKEN_LEN} characters \
                 (e.g. 32 random bytes in base64); this one has {}",
                text.len()
            )));
        }
        Ok(Self(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> String {
        hash_token(&self.0)
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(***)")
    }
}

/// Lower-case hex SHA-256 of a presented token (see the module doc for why this is enough).
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// One thing done through the API that changed something or reached a charger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// The API token that did it; `None` for the command line.
    pub token_id: Option<i64>,
    /// The token's name at the time (kept when the token is later revoked).
    pub actor: String,
    /// What was done, e.g. `command reset`, `ocpp Reset`, `api-token create`.
    pub action: String,
    pub charger_id: Option<String>,
    /// The request as the API received it (secrets left out).
    pub request: serde_json::Value,
    /// The outcome: the charger's answer, or the error.
    pub outcome: serde_json::Value,
}

/// An [`AuditEntry`] as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub id: i64,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

/// Storage of API tokens and the audit log. Each call is its own unit of work, committed
/// before it returns.
#[async_trait]
pub trait ApiTokenStore: Send + Sync + 'static {
    /// Stores a token and returns it with its id. Fails with `StoreError::Conflict` when a
    /// token with the same hash exists.
    async fn insert_api_token(&self, token: &NewApiToken) -> StoreResult<ApiToken>;
    /// The token with this hash, revoked or not.
    async fn api_token_by_hash(&self, token_hash: &str) -> StoreResult<Option<ApiToken>>;
    async fn api_token(&self, id: i64) -> StoreResult<Option<ApiToken>>;
    /// Ordered by id, after `after`, at most `limit`; revoked ones included.
    async fn list_api_tokens(&self, after: Option<i64>, limit: u32) -> StoreResult<Vec<ApiToken>>;
    /// Marks the token revoked at `at`; `false` when there is no such token or it was
    /// already revoked.
    async fn revoke_api_token(&self, id: i64, at: DateTime<Utc>) -> StoreResult<bool>;
    /// How many tokens are not revoked.
    async fn count_active_api_tokens(&self) -> StoreResult<u64>;
    /// Appends to the audit log; returns the entry's id.
    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<i64>;
    /// Newest first, before id `before`, at most `limit`.
    async fn audit_log(&self, before: Option<i64>, limit: u32) -> StoreResult<Vec<AuditRecord>>;
}

/// What happened at start about the bootstrap token.
#[derive(Debug, Clone, PartialEq)]
pub enum Bootstrap {
    /// `AMPERE_API_TOKEN` was given and is now a stored admin token (or already was).
    FromEnvironment { id: i64, created: bool },
    /// `AMPERE_API_TOKEN` was given but that token was revoked; it stays revoked.
    EnvironmentTokenRevoked { id: i64 },
    /// No token existed: this admin token was made; print it once, it is not stored.
    Generated { id: i64, secret: TokenSecret },
    /// Active tokens exist and none was given: nothing to do.
    Existing { active: u64 },
}

/// The name given to the token made at first start.
pub const BOOTSTRAP_TOKEN_NAME: &str = "bootstrap";
/// The name given to the token taken from `AMPERE_API_TOKEN`.
pub const ENVIRONMENT_TOKEN_NAME: &str = "AMPERE_API_TOKEN";

/// API tokens: create, authenticate, list, revoke; and the audit log.
#[derive(Clone)]
pub struct ApiTokenService {
    store: Arc<dyn ApiTokenStore>,
    clock: Arc<dyn Clock>,
}

impl ApiTokenService {
    pub fn new(store: Arc<dyn ApiTokenStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// Makes a token; the secret is returned this once and never stored.
    pub async fn create(
        &self,
        name: &str,
        role: ApiRole,
    ) -> Result<(ApiToken, TokenSecret), DomainError> {
        let secret = TokenSecret::generate();
        let token = self.store_secret(name, role, &secret).await?;
        Ok((token, secret))
    }

    async fn store_secret(
        &self,
        name: &str,
        role: ApiRole,
        secret: &TokenSecret,
    ) -> Result<ApiToken, DomainError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(DomainError::Invalid(
                "a token name must have 1 to 100 characters".into(),
            ));
        }
        Ok(self
            .store
            .insert_api_token(&NewApiToken {
                name: name.to_owned(),
                role,
                token_hash: secret.hash(),
                created_at: self.clock.now(),
            })
            .await?)
    }

    /// The token a request presented, when it is known and not revoked.
    pub async fn authenticate(&self, presented: &str) -> Result<Option<ApiToken>, DomainError> {
        let token = self.store.api_token_by_hash(&hash_token(presented)).await?;
        Ok(token.filter(|t| !t.is_revoked()))
    }

    pub async fn get(&self, id: i64) -> Result<Option<ApiToken>, DomainError> {
        Ok(self.store.api_token(id).await?)
    }

    pub async fn list(&self, after: Option<i64>, limit: u32) -> Result<Vec<ApiToken>, DomainError> {
        Ok(self.store.list_api_tokens(after, limit).await?)
    }

    /// Revokes a token; `false` when there is no such active token.
    pub async fn revoke(&self, id: i64) -> Result<bool, DomainError> {
        Ok(self.store.revoke_api_token(id, self.clock.now()).await?)
    }

    /// At start: adopts `AMPERE_API_TOKEN` as an admin token, or makes one when no active
    /// token exists, so a fresh installation is never locked out.
    pub async fn bootstrap(&self, supplied: Option<&str>) -> Result<Bootstrap, DomainError> {
        if let Some(text) = supplied {
            let secret = TokenSecret::supplied(text)?;
            if let Some(existing) = self.store.api_token_by_hash(&secret.hash()).await? {
                // A revoked token stays revoked: revoking is how an operator answers a leak,
                // and a restart with the old environment must not undo it.
                return Ok(if existing.is_revoked() {
                    Bootstrap::EnvironmentTokenRevoked { id: existing.id }
                } else {
                    Bootstrap::FromEnvironment {
                        id: existing.id,
                        created: false,
                    }
                });
            }
            let token = self
                .store_secret(ENVIRONMENT_TOKEN_NAME, ApiRole::Admin, &secret)
                .await?;
            return Ok(Bootstrap::FromEnvironment {
                id: token.id,
                created: true,
            });
        }
        let active = self.store.count_active_api_tokens().await?;
        if active > 0 {
            return Ok(Bootstrap::Existing { active });
        }
        let (token, secret) = self.create(BOOTSTRAP_TOKEN_NAME, ApiRole::Admin).await?;
        Ok(Bootstrap::Generated {
            id: token.id,
            secret,
        })
    }

    pub async fn audit(&self, entry: &AuditEntry) -> Result<i64, DomainError> {
        Ok(self.store.insert_audit(entry).await?)
    }

    pub async fn audit_log(
        &self,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, DomainError> {
        Ok(self.store.audit_log(before, limit).await?)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(ApiRole::Admin.allows(ApiRole::Operator));
        assert!(ApiRole::Operator.allows(ApiRole::Viewer));
        assert!(ApiRole::Viewer.allows(ApiRole::Viewer));
        assert!(!ApiRole::Viewer.allows(ApiRole::Operator));
        assert!(!ApiRole::Operator.allows(ApiRole::Admin));
        for role in ApiRole::ALL {
            assert_eq!(role.as_str().parse::<ApiRole>(), Ok(role));
        }
        assert!("root".parse::<ApiRole>().is_err());
    }

    #[test]
    fn generated_tokens_are_long_random_and_prefixed() {
        let a = TokenSecret::generate();
        let b = TokenSecret::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(a.expose().len(), TOKEN_PREFIX.len() + 43);
        assert!(TokenSecret::supplied(a.expose()).is_ok());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn short_supplied_tokens_are_refused() {
        assert!(TokenSecret::supplied("changeme").is_err());
        assert!(TokenSecret::supplied(&"x".repeat(MIN_SUPPLIED_TOKEN_LEN)).is_ok());
    }

    #[test]
    fn hash_is_hex_sha256() {
        // SHA-256("abc"), the FIPS 180-2 test vector.
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
