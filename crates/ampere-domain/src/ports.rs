//! The ports the domain needs from the outside: storage and time (see [`crate::clock`]).
//!
//! Storage is a *unit of work*: a service calls [`Storage::begin`], reads and writes through
//! the returned [`StoreTx`], applies its rules in between, and calls [`StoreTx::commit`]
//! before it returns. So every domain call is one database transaction, its effects are
//! durable when the call returns (the handler answers the charger only then), and a failure
//! half-way leaves nothing behind (dropping a `StoreTx` without commit rolls it back).
//!
//! The methods are plain reads and writes; the rules live in the services. The one exception
//! is identity assignment ([`StoreTx::insert_transaction`]), which only the store can do
//! atomically.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::charger::{Charger, ConnectionEvent};
use crate::error::StoreError;
use crate::ids::{ChargerId, ConnectorRef, TransactionId};
use crate::meter::MeterValue;
use crate::report::{ChargerReport, ReportKind};
use crate::status::StatusReport;
use crate::token::IdTokenRecord;
use crate::transaction::{Transaction, TransactionEventRecord, TransactionStatus};

pub type StoreResult<T> = Result<T, StoreError>;

/// A database the domain can open units of work on.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// A unit of work that may write; it commits with [`StoreTx::commit`].
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>>;
    /// A unit of work for reading only (a consistent snapshot). It may run on other
    /// connections than writes, so it never waits behind them; writing through it fails.
    async fn read(&self) -> StoreResult<Box<dyn StoreTx>>;
}

/// Filter and page of a transaction list; newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransactionFilter {
    pub charger: Option<ChargerId>,
    /// Case-insensitive token key (see [`crate::IdToken::key`]).
    pub id_token_key: Option<String>,
    pub status: Option<TransactionStatus>,
    /// Only transactions started at or after this time.
    pub started_after: Option<DateTime<Utc>>,
    /// Only transactions started strictly before this time.
    pub started_before: Option<DateTime<Utc>>,
    /// Cursor: only transactions with a smaller serial.
    pub before_serial: Option<i64>,
    pub limit: u32,
}

/// Meter values as stored, with what they were attached to.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMeterValues {
    pub charger: ChargerId,
    pub place: Option<ConnectorRef>,
    /// The transaction they were linked to, when it was known.
    pub transaction_serial: Option<i64>,
    /// The transaction id the charger named, known or not.
    pub transaction_id: Option<TransactionId>,
    pub value: MeterValue,
}

/// Reads and writes inside one database transaction.
#[async_trait]
pub trait StoreTx: Send {
    /// Makes everything done through this unit of work durable.
    async fn commit(self: Box<Self>) -> StoreResult<()>;

    // --- chargers ---
    async fn charger(&mut self, id: &ChargerId) -> StoreResult<Option<Charger>>;
    /// Fails with [`StoreError::Conflict`] when the id is taken.
    async fn insert_charger(&mut self, charger: &Charger) -> StoreResult<()>;
    /// Replaces every field; `false` when there is no such charger.
    async fn update_charger(&mut self, charger: &Charger) -> StoreResult<bool>;
    /// Deletes a charger and everything stored about it; `false` when there was none.
    async fn delete_charger(&mut self, id: &ChargerId) -> StoreResult<bool>;
    /// Chargers ordered by id, after `after`, at most `limit`.
    async fn list_chargers(
        &mut self,
        after: Option<&ChargerId>,
        limit: u32,
    ) -> StoreResult<Vec<Charger>>;
    /// Sets `last_seen` (and the protocol when given) without reading the row; `false` when
    /// there is no such charger. The lean path for heartbeats.
    async fn touch_charger(
        &mut self,
        id: &ChargerId,
        at: DateTime<Utc>,
        protocol: Option<&str>,
    ) -> StoreResult<bool>;

    // --- connector status ---
    async fn current_status(
        &mut self,
        charger: &ChargerId,
        place: ConnectorRef,
    ) -> StoreResult<Option<StatusReport>>;
    async fn set_current_status(
        &mut self,
        charger: &ChargerId,
        report: &StatusReport,
    ) -> StoreResult<()>;
    /// Appends to the history; `false` when an identical report (same place, time and
    /// status) is already there, e.g. a retried message.
    async fn insert_status_history(
        &mut self,
        charger: &ChargerId,
        report: &StatusReport,
        received_at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Current status of every place of a charger, by EVSE then connector.
    async fn current_statuses(&mut self, charger: &ChargerId) -> StoreResult<Vec<StatusReport>>;
    /// History, newest first.
    async fn status_history(
        &mut self,
        charger: &ChargerId,
        limit: u32,
    ) -> StoreResult<Vec<StatusReport>>;

    // --- id tokens ---
    /// By case-insensitive key.
    async fn id_token(&mut self, key: &str) -> StoreResult<Option<IdTokenRecord>>;
    /// Inserts or replaces (by key).
    async fn upsert_id_token(&mut self, record: &IdTokenRecord) -> StoreResult<()>;
    async fn delete_id_token(&mut self, key: &str) -> StoreResult<bool>;
    /// Ordered by key, after `after_key`, at most `limit`.
    async fn list_id_tokens(
        &mut self,
        after_key: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<IdTokenRecord>>;

    // --- transactions ---
    async fn transaction(
        &mut self,
        charger: &ChargerId,
        id: &TransactionId,
    ) -> StoreResult<Option<Transaction>>;
    async fn transaction_by_serial(&mut self, serial: i64) -> StoreResult<Option<Transaction>>;
    /// Transactions of a charger at a place that started at exactly `started_at` (the
    /// candidates for a retried CSMS-numbered start).
    async fn transactions_started_at(
        &mut self,
        charger: &ChargerId,
        place: ConnectorRef,
        started_at: DateTime<Utc>,
    ) -> StoreResult<Vec<Transaction>>;
    async fn active_transactions(&mut self, charger: &ChargerId) -> StoreResult<Vec<Transaction>>;
    /// Stores a new transaction and sets `tx.serial`. With `assign_id`, `tx.id` is ignored
    /// and set to the serial in decimal (a CSMS-numbered transaction); the store guarantees
    /// that id is not already used on that charger.
    async fn insert_transaction(
        &mut self,
        tx: &mut Transaction,
        assign_id: bool,
    ) -> StoreResult<()>;
    /// Replaces every field of the transaction with this serial.
    async fn update_transaction(&mut self, tx: &Transaction) -> StoreResult<()>;
    async fn list_transactions(
        &mut self,
        filter: &TransactionFilter,
    ) -> StoreResult<Vec<Transaction>>;
    /// Whether an event with this (charger, transaction id, seq_no) was stored.
    async fn transaction_event_seen(
        &mut self,
        charger: &ChargerId,
        id: &TransactionId,
        seq_no: i64,
    ) -> StoreResult<bool>;
    /// Appends an event; `false` when one with the same (charger, id, seq_no) exists.
    async fn insert_transaction_event(
        &mut self,
        event: &TransactionEventRecord,
    ) -> StoreResult<bool>;
    /// Events of a transaction in the order they were received.
    async fn transaction_events(&mut self, serial: i64)
    -> StoreResult<Vec<TransactionEventRecord>>;

    // --- meter values ---
    /// Stores every sampled value of `values` in one batch.
    async fn insert_meter_values(
        &mut self,
        charger: &ChargerId,
        place: Option<ConnectorRef>,
        transaction_serial: Option<i64>,
        transaction_id: Option<&TransactionId>,
        values: &[MeterValue],
        received_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Meter values of a transaction, oldest first.
    async fn transaction_meter_values(&mut self, serial: i64) -> StoreResult<Vec<MeterValue>>;
    /// Meter values of a charger taken at exactly `at`, in insertion order.
    async fn meter_values_at(
        &mut self,
        charger: &ChargerId,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<StoredMeterValues>>;
    /// Meter values of a charger, newest (by sample time) first, at most `limit` sampled
    /// values' worth.
    async fn charger_meter_values(
        &mut self,
        charger: &ChargerId,
        limit: u32,
    ) -> StoreResult<Vec<StoredMeterValues>>;

    // --- reports and connection events ---
    /// Stores a report and returns its id.
    async fn insert_report(
        &mut self,
        charger: &ChargerId,
        kind: &ReportKind,
        received_at: DateTime<Utc>,
        payload: &serde_json::Value,
    ) -> StoreResult<i64>;
    /// Newest first, optionally of one kind.
    async fn reports(
        &mut self,
        charger: &ChargerId,
        kind: Option<&ReportKind>,
        limit: u32,
    ) -> StoreResult<Vec<ChargerReport>>;
    async fn insert_connection_event(&mut self, event: &ConnectionEvent) -> StoreResult<()>;
    /// Newest first.
    async fn connection_events(
        &mut self,
        charger: &ChargerId,
        limit: u32,
    ) -> StoreResult<Vec<ConnectionEvent>>;
}
