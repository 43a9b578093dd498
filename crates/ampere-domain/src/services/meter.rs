use std::sync::Arc;

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::{ChargerId, ConnectorRef, TransactionId};
use crate::meter::{MeterValue, SampledValue, energy_readings};
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
    ///
    /// A retried message (the charger lost our answer and sends it again) is recognised by
    /// its content: a meter value whose every sampled value is already stored for the same
    /// place and time is skipped. Returns how many meter values were new.
    pub async fn record(&self, report: &MeterValuesReport) -> Result<usize, DomainError> {
        let now = self.clock.now();
        let mut tx = self.storage.begin().await?;
        super::touch(&mut *tx, &report.charger, now).await?;
        let mut fresh = Vec::with_capacity(report.values.len());
        for value in &report.values {
            let stored = tx.meter_values_at(&report.charger, value.timestamp).await?;
            if !already_stored(value, report.place, &stored) {
                fresh.push(value.clone());
            }
        }
        if fresh.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let mut serial = None;
        if let Some(id) = &report.transaction_id
            && let Some(mut transaction) = tx.transaction(&report.charger, id).await?
        {
            let readings = energy_readings(&fresh);
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
            &fresh,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(fresh.len())
    }

    /// Meter values of a charger, newest (by sample time) first.
    pub async fn of_charger(
        &self,
        charger: &ChargerId,
        limit: u32,
    ) -> Result<Vec<StoredMeterValues>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.charger_meter_values(charger, limit).await?)
    }
}

/// Whether every sampled value of `value` is already stored for the same place and time.
fn already_stored(
    value: &MeterValue,
    place: Option<ConnectorRef>,
    stored: &[StoredMeterValues],
) -> bool {
    let same_place: Vec<&SampledValue> = stored
        .iter()
        .filter(|s| s.place == place && s.value.timestamp == value.timestamp)
        .flat_map(|s| &s.value.sampled)
        .collect();
    !same_place.is_empty() && value.sampled.iter().all(|v| same_place.contains(&v))
}
