//! Charging transactions and the integrity rules that keep them right when chargers retry,
//! replay, reboot or miss messages.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{ChargerId, ConnectorRef, IdToken, TransactionId};
use crate::meter::{EnergyReading, MeterValue};
use crate::token::AuthorizationInfo;

/// The stop reason given to transactions closed because their charger booted again.
pub const STOP_REASON_CHARGER_REBOOTED: &str = "ChargerRebooted";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionStatus {
    Active,
    Completed,
}

impl TransactionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Completed => "completed",
        }
    }
}

impl FromStr for TransactionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(Self::Active),
            "completed" => Ok(Self::Completed),
            other => Err(format!("unknown transaction status {other:?}")),
        }
    }
}

impl fmt::Display for TransactionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A charging transaction as the CSMS knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transaction {
    /// The store's number for it: positive, unique across all chargers, at most `i32::MAX`.
    /// It is the id a 1.6 charger is given.
    pub serial: i64,
    pub id: TransactionId,
    pub charger: ChargerId,
    /// Where it runs; unknown when the charger never said (e.g. only a 1.6 Stop arrived).
    pub place: Option<ConnectorRef>,
    pub id_token: Option<IdToken>,
    /// When it started; for a transaction whose start we never saw, the time of the first
    /// event we did see (see `unknown_start`).
    pub started_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub meter_start_wh: Option<Decimal>,
    /// When the reading that gave `meter_start_wh` was taken; `None` when the charger stated
    /// the start (then no reading replaces it).
    pub meter_start_at: Option<DateTime<Utc>>,
    pub meter_stop_wh: Option<Decimal>,
    /// `meter_stop_wh - meter_start_wh`; `None` while active, when either is unknown, or when
    /// the difference would be negative (then `meter_went_backwards` is set).
    pub energy_wh: Option<Decimal>,
    /// The latest energy-register reading and when it was taken.
    pub last_meter_wh: Option<Decimal>,
    pub last_meter_at: Option<DateTime<Utc>>,
    pub stop_reason: Option<String>,
    pub status: TransactionStatus,
    /// Highest event sequence number seen (2.x `seqNo`).
    pub last_seq_no: Option<i64>,
    /// Some event of it was sent while the charger was offline.
    pub offline: bool,
    pub last_trigger_reason: Option<String>,
    /// 2.x charging state (`Charging`, `SuspendedEV`, ...), latest.
    pub charging_state: Option<String>,
    pub remote_start_id: Option<i64>,
    pub reservation_id: Option<i64>,
    /// An energy reading was lower than an earlier one (or the stop lower than the start).
    pub meter_went_backwards: bool,
    /// Closed by the CSMS because the charger booted while it was active.
    pub closed_by_reboot: bool,
    /// We never saw its start: the first event we got was an Updated/Ended/Stop.
    pub unknown_start: bool,
    pub updated_at: DateTime<Utc>,
}

impl Transaction {
    /// Folds energy-register readings in: the earliest reading gives the start when the
    /// charger did not state one; a reading lower than a reading taken earlier, or lower than the
    /// start, flags the meter as having gone backwards. Readings may arrive out of order
    /// (offline replay), so they are compared by their timestamps, not by arrival.
    pub fn apply_readings(&mut self, readings: &[EnergyReading]) {
        for r in readings {
            let earlier_than_start = self.meter_start_at.is_some_and(|at| r.timestamp < at);
            if self.meter_start_wh.is_none() || earlier_than_start {
                self.meter_start_wh = Some(r.wh);
                self.meter_start_at = Some(r.timestamp);
            }
            if self.meter_start_wh.is_some_and(|start| r.wh < start) {
                self.meter_went_backwards = true;
            }
            match (self.last_meter_wh, self.last_meter_at) {
                (Some(last), Some(last_at)) if r.timestamp >= last_at => {
                    if r.wh < last {
                        self.meter_went_backwards = true;
                    }
                    self.last_meter_wh = Some(r.wh);
                    self.last_meter_at = Some(r.timestamp);
                }
                (Some(last), Some(_)) => {
                    // An older reading arriving late must not be above the newer one.
                    if r.wh > last {
                        self.meter_went_backwards = true;
                    }
                }
                _ => {
                    self.last_meter_wh = Some(r.wh);
                    self.last_meter_at = Some(r.timestamp);
                }
            }
        }
    }

    /// Ends the transaction as the charger reported: stop time, reason and meter stop (the
    /// stated one, else the latest reading), and the energy. A stop value below the latest
    /// reading flags the meter.
    pub fn end(
        &mut self,
        at: DateTime<Utc>,
        reason: Option<String>,
        meter_stop_wh: Option<Decimal>,
    ) {
        if let (Some(stop), Some(last)) = (meter_stop_wh, self.last_meter_wh)
            && stop < last
        {
            self.meter_went_backwards = true;
        }
        self.status = TransactionStatus::Completed;
        self.stopped_at = Some(at);
        self.stop_reason = reason.or(self.stop_reason.take());
        self.meter_stop_wh = meter_stop_wh.or(self.last_meter_wh).or(self.meter_stop_wh);
        self.closed_by_reboot = false;
        self.compute_energy();
    }

    /// Closes a transaction the charger never ended because it booted again: stopped at the
    /// latest reading's time (the last moment we know it ran), or `now` without one, with the
    /// latest reading as meter stop.
    pub fn close_on_reboot(&mut self, now: DateTime<Utc>) {
        self.status = TransactionStatus::Completed;
        self.stopped_at = Some(self.last_meter_at.unwrap_or(now));
        self.stop_reason = Some(STOP_REASON_CHARGER_REBOOTED.to_owned());
        self.meter_stop_wh = self.last_meter_wh;
        self.closed_by_reboot = true;
        self.compute_energy();
    }

    fn compute_energy(&mut self) {
        self.energy_wh = match (self.meter_start_wh, self.meter_stop_wh) {
            (Some(start), Some(stop)) if stop >= start => Some((stop - start).normalize()),
            (Some(_), Some(_)) => {
                self.meter_went_backwards = true;
                None
            }
            _ => None,
        };
    }

    /// Whether an end report may still change it: active, or closed by us on reboot (the
    /// charger's own late Ended/Stop is better information than our guess).
    pub fn accepts_end(&self) -> bool {
        self.status == TransactionStatus::Active || self.closed_by_reboot
    }
}

/// What kind of transaction event a charger sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransactionEventKind {
    Started,
    Updated,
    Ended,
}

impl TransactionEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "Started",
            Self::Updated => "Updated",
            Self::Ended => "Ended",
        }
    }
}

impl FromStr for TransactionEventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Started" => Ok(Self::Started),
            "Updated" => Ok(Self::Updated),
            "Ended" => Ok(Self::Ended),
            other => Err(format!("unknown transaction event {other:?}")),
        }
    }
}

/// A transaction event, the version-neutral shape of 1.6 StartTransaction (`Started`, no id,
/// no sequence number), 1.6 StopTransaction (`Ended` with the numeric id) and 2.x
/// TransactionEvent (everything).
#[derive(Debug, Clone, PartialEq)]
pub struct TransactionEvent {
    pub charger: ChargerId,
    pub kind: TransactionEventKind,
    /// `None` only for `Started`: the CSMS assigns the id (1.6).
    pub transaction_id: Option<TransactionId>,
    /// 2.x `seqNo`; events are deduplicated by (charger, transaction id, seq_no).
    pub seq_no: Option<i64>,
    pub timestamp: DateTime<Utc>,
    pub place: Option<ConnectorRef>,
    pub id_token: Option<IdToken>,
    pub trigger_reason: Option<String>,
    pub charging_state: Option<String>,
    pub stop_reason: Option<String>,
    pub offline: bool,
    pub remote_start_id: Option<i64>,
    pub reservation_id: Option<i64>,
    /// Stated start reading (1.6 `meterStart`).
    pub meter_start_wh: Option<Decimal>,
    /// Stated stop reading (1.6 `meterStop`).
    pub meter_stop_wh: Option<Decimal>,
    /// Meter values carried by the event (2.x `meterValue`, 1.6 `transactionData`).
    pub meter_values: Vec<MeterValue>,
}

impl TransactionEvent {
    /// An event with only the required parts; fill the rest with struct update syntax.
    pub fn new(charger: ChargerId, kind: TransactionEventKind, timestamp: DateTime<Utc>) -> Self {
        Self {
            charger,
            kind,
            transaction_id: None,
            seq_no: None,
            timestamp,
            place: None,
            id_token: None,
            trigger_reason: None,
            charging_state: None,
            stop_reason: None,
            offline: false,
            remote_start_id: None,
            reservation_id: None,
            meter_start_wh: None,
            meter_stop_wh: None,
            meter_values: Vec::new(),
        }
    }
}

/// One stored transaction event (the audit trail, and the key for deduplication).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransactionEventRecord {
    pub transaction_serial: i64,
    pub charger: ChargerId,
    pub transaction_id: TransactionId,
    pub seq_no: Option<i64>,
    pub kind: TransactionEventKind,
    pub timestamp: DateTime<Utc>,
    pub trigger_reason: Option<String>,
    pub stop_reason: Option<String>,
    pub offline: bool,
    pub received_at: DateTime<Utc>,
}

/// The result of a transaction event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventOutcome {
    pub transaction: Transaction,
    /// The event was seen before (same transaction and seq_no, or a retried start); nothing
    /// changed.
    pub duplicate: bool,
    /// The token's authorization, when the event carried one.
    pub authorization: Option<AuthorizationInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn dec(n: i64) -> Decimal {
        Decimal::from(n)
    }

    fn reading(ts: &str, wh: i64, context: Option<&str>) -> EnergyReading {
        EnergyReading {
            timestamp: at(ts),
            wh: dec(wh),
            context: context.map(str::to_owned),
        }
    }

    fn active() -> Transaction {
        Transaction {
            serial: 1,
            id: TransactionId::new("T1").unwrap(),
            charger: ChargerId::new("CP1").unwrap(),
            place: None,
            id_token: None,
            started_at: at("2026-01-01T10:00:00Z"),
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
            updated_at: at("2026-01-01T10:00:00Z"),
        }
    }

    #[test]
    fn first_reading_is_the_start_and_last_reading_the_stop() {
        let mut tx = active();
        tx.apply_readings(&[
            reading("2026-01-01T10:00:00Z", 1000, None),
            reading("2026-01-01T10:30:00Z", 4000, None),
        ]);
        tx.end(
            at("2026-01-01T11:00:00Z"),
            Some("EVDisconnected".into()),
            None,
        );
        assert_eq!(tx.meter_start_wh, Some(dec(1000)));
        assert_eq!(tx.meter_stop_wh, Some(dec(4000)));
        assert_eq!(tx.energy_wh, Some(dec(3000)));
        assert_eq!(tx.status, TransactionStatus::Completed);
        assert!(!tx.meter_went_backwards);
    }

    #[test]
    fn stated_meter_start_wins_over_readings() {
        let mut tx = active();
        tx.meter_start_wh = Some(dec(500));
        tx.apply_readings(&[reading("2026-01-01T10:10:00Z", 900, None)]);
        tx.end(at("2026-01-01T11:00:00Z"), None, Some(dec(1500)));
        assert_eq!(tx.meter_start_wh, Some(dec(500)));
        assert_eq!(tx.energy_wh, Some(dec(1000)));
    }

    #[test]
    fn readings_going_backwards_are_flagged() {
        let mut tx = active();
        tx.apply_readings(&[
            reading("2026-01-01T10:00:00Z", 1000, None),
            reading("2026-01-01T10:10:00Z", 900, None),
        ]);
        assert!(tx.meter_went_backwards);
        assert_eq!(
            tx.last_meter_wh,
            Some(dec(900)),
            "latest reading is still kept"
        );
    }

    #[test]
    fn late_readings_are_compared_by_time_not_arrival() {
        let mut tx = active();
        tx.apply_readings(&[
            reading("2026-01-01T10:20:00Z", 3000, None),
            reading("2026-01-01T10:10:00Z", 2000, None),
        ]);
        assert!(
            !tx.meter_went_backwards,
            "an older, lower reading is consistent"
        );
        assert_eq!(tx.last_meter_wh, Some(dec(3000)));
        tx.apply_readings(&[reading("2026-01-01T10:15:00Z", 3500, None)]);
        assert!(
            tx.meter_went_backwards,
            "an older reading above a newer one is not"
        );
    }

    #[test]
    fn stop_below_start_gives_no_energy_and_a_flag() {
        let mut tx = active();
        tx.meter_start_wh = Some(dec(5000));
        tx.end(at("2026-01-01T11:00:00Z"), None, Some(dec(4000)));
        assert_eq!(tx.energy_wh, None);
        assert!(tx.meter_went_backwards);
    }

    #[test]
    fn reboot_close_uses_the_last_reading() {
        let mut tx = active();
        tx.meter_start_wh = Some(dec(100));
        tx.apply_readings(&[reading("2026-01-01T10:40:00Z", 2100, None)]);
        tx.close_on_reboot(at("2026-01-01T12:00:00Z"));
        assert_eq!(tx.stopped_at, Some(at("2026-01-01T10:40:00Z")));
        assert_eq!(
            tx.stop_reason.as_deref(),
            Some(STOP_REASON_CHARGER_REBOOTED)
        );
        assert_eq!(tx.energy_wh, Some(dec(2000)));
        assert!(tx.closed_by_reboot && tx.accepts_end());

        // The charger's own late end report replaces the guess.
        tx.end(
            at("2026-01-01T10:45:00Z"),
            Some("PowerLoss".into()),
            Some(dec(2200)),
        );
        assert!(!tx.closed_by_reboot);
        assert_eq!(tx.energy_wh, Some(dec(2100)));
        assert!(!tx.accepts_end());
    }
}
