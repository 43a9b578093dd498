use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::{ChargerId, TransactionId};
use crate::meter::{MeterValue, energy_readings};
use crate::ports::{Storage, StoreTx, TransactionFilter};
use crate::token::authorize;
use crate::transaction::{
    EventOutcome, Transaction, TransactionEvent, TransactionEventKind, TransactionEventRecord,
    TransactionStatus,
};

/// Transactions, fed by 1.6 Start/StopTransaction and 2.x TransactionEvent alike.
///
/// Integrity rules:
/// - a retried CSMS-numbered start (same charger, place, token, meter start and time) gets
///   the transaction it got the first time;
/// - an event with a sequence number already seen for that transaction is a duplicate:
///   acknowledged (the same answer), nothing changes; so is an end without sequence number
///   (1.6 Stop) that repeats the recorded end (same stop time and reading);
/// - an Updated/Ended event (or a 1.6 Stop) for a transaction we never saw start creates it,
///   flagged `unknown_start`; nothing a charger reports is dropped;
/// - energy readings lower than earlier ones are flagged (`meter_went_backwards`);
/// - meter values carried by events are stored and linked to the transaction;
/// - `energy_wh = meter_stop - meter_start`, the start and stop taken from the energy
///   register readings (in Wh, converted from kWh) where the charger does not state them.
#[derive(Clone)]
pub struct TransactionService {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
}

impl TransactionService {
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>) -> Self {
        Self { storage, clock }
    }

    /// Applies one transaction event and commits it; see the rules above. The outcome carries
    /// the transaction (its `serial` is the 1.6 `transactionId`), whether the event was a
    /// duplicate, and the authorization of the token the event carried.
    pub async fn record_event(
        &self,
        event: &TransactionEvent,
    ) -> Result<EventOutcome, DomainError> {
        let now = self.clock.now();
        let mut tx = self.storage.begin().await?;
        super::touch(&mut *tx, &event.charger, now).await?;
        let (transaction, duplicate) = match &event.transaction_id {
            None if event.kind == TransactionEventKind::Started => {
                start_numbered(&mut *tx, event, now).await?
            }
            None => {
                return Err(DomainError::Invalid(format!(
                    "a transaction event {} needs a transaction id",
                    event.kind.as_str()
                )));
            }
            Some(id) => apply_identified(&mut *tx, id, event, now).await?,
        };
        let authorization = match &event.id_token {
            Some(token) => Some(authorize(
                token,
                tx.id_token(&token.key()).await?.as_ref(),
                now,
            )),
            None => None,
        };
        tx.commit().await?;
        Ok(EventOutcome {
            transaction,
            duplicate,
            authorization,
        })
    }

    pub async fn get(
        &self,
        charger: &ChargerId,
        id: &TransactionId,
    ) -> Result<Option<Transaction>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.transaction(charger, id).await?)
    }

    pub async fn by_serial(&self, serial: i64) -> Result<Option<Transaction>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.transaction_by_serial(serial).await?)
    }

    /// Transactions, newest first.
    pub async fn list(&self, filter: &TransactionFilter) -> Result<Vec<Transaction>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.list_transactions(filter).await?)
    }

    /// Meter values of a transaction, oldest first.
    pub async fn meter_values(&self, serial: i64) -> Result<Vec<MeterValue>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.transaction_meter_values(serial).await?)
    }

    /// The events of a transaction, in the order received.
    pub async fn events(&self, serial: i64) -> Result<Vec<TransactionEventRecord>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.transaction_events(serial).await?)
    }
}

/// A start whose id the CSMS assigns (1.6 StartTransaction).
async fn start_numbered(
    tx: &mut dyn StoreTx,
    event: &TransactionEvent,
    now: DateTime<Utc>,
) -> Result<(Transaction, bool), DomainError> {
    let place = event
        .place
        .ok_or_else(|| DomainError::Invalid("a transaction start needs its EVSE".into()))?;
    let token_key = event.id_token.as_ref().map(|t| t.key());
    let retried = tx
        .transactions_started_at(&event.charger, place, event.timestamp)
        .await?
        .into_iter()
        .find(|t| {
            t.id_token.as_ref().map(|t| t.key()) == token_key
                && t.meter_start_wh == event.meter_start_wh
        });
    if let Some(existing) = retried {
        return Ok((existing, true));
    }
    let mut transaction = new_transaction(
        // Replaced by the store with the serial number.
        TransactionId::from_number(0),
        event,
        now,
    );
    apply(&mut transaction, event, now);
    tx.insert_transaction(&mut transaction, true).await?;
    store_event(tx, &transaction, event, now).await?;
    Ok((transaction, false))
}

/// An event naming its transaction (2.x, and 1.6 StopTransaction).
async fn apply_identified(
    tx: &mut dyn StoreTx,
    id: &TransactionId,
    event: &TransactionEvent,
    now: DateTime<Utc>,
) -> Result<(Transaction, bool), DomainError> {
    if let Some(seq_no) = event.seq_no
        && tx
            .transaction_event_seen(&event.charger, id, seq_no)
            .await?
        && let Some(existing) = tx.transaction(&event.charger, id).await?
    {
        return Ok((existing, true));
    }
    let transaction = match tx.transaction(&event.charger, id).await? {
        Some(existing) if is_retried_end(&existing, event) => return Ok((existing, true)),
        Some(mut existing) => {
            apply(&mut existing, event, now);
            tx.update_transaction(&existing).await?;
            existing
        }
        None => {
            let mut created = new_transaction(id.clone(), event, now);
            created.unknown_start = event.kind != TransactionEventKind::Started;
            apply(&mut created, event, now);
            tx.insert_transaction(&mut created, false).await?;
            created
        }
    };
    store_event(tx, &transaction, event, now).await?;
    Ok((transaction, false))
}

/// Whether an end report without a sequence number (1.6 StopTransaction) repeats the end
/// already recorded: same stop time and, when stated, same stop reading. A charger that lost
/// our answer sends its stop again; it must not store its meter values and event twice.
fn is_retried_end(t: &Transaction, event: &TransactionEvent) -> bool {
    event.seq_no.is_none()
        && event.kind == TransactionEventKind::Ended
        && t.status == TransactionStatus::Completed
        && !t.closed_by_reboot
        && t.stopped_at == Some(event.timestamp)
        && (event.meter_stop_wh.is_none() || event.meter_stop_wh == t.meter_stop_wh)
}

fn new_transaction(id: TransactionId, event: &TransactionEvent, now: DateTime<Utc>) -> Transaction {
    Transaction {
        serial: 0,
        id,
        charger: event.charger.clone(),
        place: None,
        id_token: None,
        started_at: event.timestamp,
        stopped_at: None,
        meter_start_wh: None,
        meter_start_at: None,
        meter_stop_wh: None,
        energy_wh: None,
        last_meter_wh: None,
        last_meter_at: None,
        stop_reason: None,
        status: TransactionStatus::Active,
        last_seq_no: None,
        offline: false,
        last_trigger_reason: None,
        charging_state: None,
        remote_start_id: None,
        reservation_id: None,
        meter_went_backwards: false,
        closed_by_reboot: false,
        unknown_start: false,
        updated_at: now,
    }
}

/// Folds an event into its transaction.
fn apply(t: &mut Transaction, event: &TransactionEvent, now: DateTime<Utc>) {
    if event.kind == TransactionEventKind::Started && t.unknown_start {
        // The start arrived after a later event (offline replay out of order).
        t.unknown_start = false;
        t.started_at = t.started_at.min(event.timestamp);
    }
    if t.place.is_none() {
        t.place = event.place;
    }
    if t.id_token.is_none() {
        t.id_token = event.id_token.clone();
    }
    if t.meter_start_wh.is_none() {
        t.meter_start_wh = event.meter_start_wh;
    }
    t.offline |= event.offline;
    if let Some(seq) = event.seq_no {
        t.last_seq_no = Some(t.last_seq_no.map_or(seq, |last| last.max(seq)));
    }
    if event.trigger_reason.is_some() {
        t.last_trigger_reason = event.trigger_reason.clone();
    }
    if event.charging_state.is_some() {
        t.charging_state = event.charging_state.clone();
    }
    if event.remote_start_id.is_some() {
        t.remote_start_id = event.remote_start_id;
    }
    if event.reservation_id.is_some() {
        t.reservation_id = event.reservation_id;
    }
    t.apply_readings(&energy_readings(&event.meter_values));
    // A second end of a completed transaction (other seq_no) changes nothing but is kept in
    // the event trail.
    if event.kind == TransactionEventKind::Ended && t.accepts_end() {
        t.end(
            event.timestamp,
            event.stop_reason.clone(),
            event.meter_stop_wh,
        );
    }
    t.updated_at = now;
}

/// The audit trail and the meter values of an event.
async fn store_event(
    tx: &mut dyn StoreTx,
    t: &Transaction,
    event: &TransactionEvent,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    tx.insert_transaction_event(&TransactionEventRecord {
        transaction_serial: t.serial,
        charger: t.charger.clone(),
        transaction_id: t.id.clone(),
        seq_no: event.seq_no,
        kind: event.kind,
        timestamp: event.timestamp,
        trigger_reason: event.trigger_reason.clone(),
        stop_reason: event.stop_reason.clone(),
        offline: event.offline,
        received_at: now,
    })
    .await?;
    if !event.meter_values.is_empty() {
        tx.insert_meter_values(
            &t.charger,
            t.place.or(event.place),
            Some(t.serial),
            Some(&t.id),
            &event.meter_values,
            now,
        )
        .await?;
    }
    Ok(())
}
