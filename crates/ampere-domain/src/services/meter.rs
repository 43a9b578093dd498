use std::sync::Arc;

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::{ChargerId, ConnectorRef, TransactionId};
use crate::meter::{MeterValue, energy_readings};
use crate::ports::{Storage, StoredMeterValues};

/// Meter values sent on their own (a MeterValues message).
#[derive(Debug, Clone, PartialEq)]
pub struct MeterValuesReport {
    pub charger: ChargerId,
    /// Where they were measured; [`ConnectorRef::STATION`] for the charger's main meter.
    pub place: Option<ConnectorRef>,
    /// The transaction they belong to, as the charger named it.
    pub transaction_id: Option<TransactionId>,
    pub values: Vec<MeterValue>,
}

/// Stores meter values and folds energy readings into their transaction.
#[derive(Clone)]
pub struct MeterService {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl MeterService {
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Stores every sampled value (one batch insert), linked to the named transaction when it
    /// is known; its energy readings update the transaction (latest reading, start when
    /// unknown, backwards flag). Values naming an unknown transaction are still stored, with
    /// the id the charger gave.
    pub async fn record(&self, report: &MeterValuesReport) -> Result<(), DomainError> {
        let now = self.clock.now();
        let mut tx = self.storage.begin().await?;
        super::touch(&mut *tx, &report.charger, now).await?;
        let mut serial = None;
        if let Some(id) = &report.transaction_id
            && let Some(mut transaction) = tx.transaction(&report.charger, id).await?
        {
            let readings = energy_readings(&report.values);
            if !readings.is_empty() {
                transaction.apply_readings(&readings);
                transaction.updated_at = now;
                tx.update_transaction(&transaction).await?;
            }
            serial = Some(transaction.serial);
        }
        tx.insert_meter_values(
            &report.charger,
            report.place,
            serial,
            report.transaction_id.as_ref(),
            &report.values,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Meter values of a charger, newest first.
    pub async fn of_charger(
        &self,
        charger: &ChargerId,
        limit: u32,
    ) -> Result<Vec<StoredMeterValues>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.charger_meter_values(charger, limit).await?)
    }
}
