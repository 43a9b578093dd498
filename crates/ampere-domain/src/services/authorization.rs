use std::sync::Arc;

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::{IdToken, token_key};
use crate::ports::Storage;
use crate::token::{AuthorizationInfo, IdTokenRecord, authorize};

/// Id tokens: the authorization rule and their administration.
#[derive(Clone)]
pub struct AuthorizationService {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl AuthorizationService {
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Whether a token may charge: `Invalid` when unknown, `Expired` when its expiry date
    /// has passed, otherwise its stored status; with its expiry date and group.
    pub async fn authorize(&self, token: &IdToken) -> Result<AuthorizationInfo, DomainError> {
        let mut tx = self.storage.read().await?;
        let record = tx.id_token(&token.key()).await?;
        Ok(authorize(token, record.as_ref(), self.clock.now()))
    }

    /// Creates or replaces a token (identified by its value, case-insensitively).
    pub async fn upsert(&self, record: &IdTokenRecord) -> Result<(), DomainError> {
        let mut tx = self.storage.begin().await?;
        tx.upsert_id_token(record).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn get(&self, value: &str) -> Result<Option<IdTokenRecord>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.id_token(&token_key(value)).await?)
    }

    pub async fn delete(&self, value: &str) -> Result<bool, DomainError> {
        let mut tx = self.storage.begin().await?;
        let deleted = tx.delete_id_token(&token_key(value)).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Tokens ordered by their lower-case value, after `after` (a value), at most `limit`.
    pub async fn list(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<IdTokenRecord>, DomainError> {
        let mut tx = self.storage.read().await?;
        let after = after.map(token_key);
        Ok(tx.list_id_tokens(after.as_deref(), limit).await?)
    }
}
