use std::sync::Arc;

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::ports::Storage;
use crate::report::{ChargerReport, ReportKind};

/// Keeps what chargers report for later features (see [`crate::report`]).
#[derive(Clone)]
pub struct ReportService {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl ReportService {
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Stores a report durably and returns its id.
    pub async fn record(
        &self,
        charger: &ChargerId,
        kind: &ReportKind,
        payload: &serde_json::Value,
    ) -> Result<i64, DomainError> {
        let now = self.clock.now();
        let mut tx = self.storage.begin().await?;
        super::touch(&mut *tx, charger, now).await?;
        let id = tx.insert_report(charger, kind, now, payload).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reports of a charger, newest first, optionally of one kind.
    pub async fn list(
        &self,
        charger: &ChargerId,
        kind: Option<&ReportKind>,
        limit: u32,
    ) -> Result<Vec<ChargerReport>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.reports(charger, kind, limit).await?)
    }
}
