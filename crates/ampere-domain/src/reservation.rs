//! Reservations: an EVSE (or any EVSE of a charger) held for one token (or its group) until a
//! time. The charger holds the reservation and enforces it (OCPP 1.6 §5.13, 2.0.1 H01): it
//! lets only the reserved token, or a token whose group the CSMS names in its Authorize
//! answer, start there. Ampere keeps its own record of what it asked and what the charger
//! answered or later reported.
//!
//! Life cycle: `pending` (stored, ReserveNow on its way) → `active` (the charger accepted) or
//! `refused` (Faulted, Occupied, Rejected, Unavailable) or `failed` (no answer, a CALLERROR);
//! an active one becomes `cancelled` (CancelReservation), `used` (a transaction started with
//! it), `removed` (2.x ReservationStatusUpdate `Removed`) or `expired` (2.x
//! ReservationStatusUpdate `Expired`, or simply its `expires_at` passing).
//!
//! Expiry is computed on read (see [`Reservation::effective_status`]): an `active` reservation
//! whose `expires_at` has passed *is* `expired`, for every reader and every filter, without a
//! background sweep that could lag behind; the store applies the same rule in its queries.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::ports::StoreResult;

/// Where a reservation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationStatus {
    Pending,
    Active,
    Refused,
    Failed,
    Cancelled,
    Expired,
    Removed,
    Used,
}

impl ReservationStatus {
    pub const ALL: [Self; 8] = [
        Self::Pending,
        Self::Active,
        Self::Refused,
        Self::Failed,
        Self::Cancelled,
        Self::Expired,
        Self::Removed,
        Self::Used,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
            Self::Removed => "removed",
            Self::Used => "used",
        }
    }

    /// Still held on the charger as far as Ampere knows.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Active)
    }
}

impl FromStr for ReservationStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown reservation status {s:?}"))
    }
}

impl fmt::Display for ReservationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reservation to make.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReservation {
    pub charger: ChargerId,
    /// Absent: any EVSE of the charger (1.6 connector 0).
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    /// 2.x `connectorType` (e.g. `cType2`).
    pub connector_type: Option<String>,
    pub id_token: String,
    /// 2.x token type (`ISO14443`, `eMAID`, …).
    pub id_token_type: String,
    /// The group whose tokens may also use it (1.6 `parentIdTag`, 2.x `groupIdToken`).
    pub group_id_token: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// A stored reservation; its `id` is the OCPP `reservationId`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub id: i64,
    pub charger: ChargerId,
    pub evse_id: Option<u32>,
    pub connector_id: Option<u32>,
    pub connector_type: Option<String>,
    pub id_token: String,
    pub id_token_type: String,
    pub group_id_token: Option<String>,
    pub expires_at: DateTime<Utc>,
    /// As stored; read [`Self::effective_status`] for what it is now.
    pub status: ReservationStatus,
    /// The charger's last word on it: its ReserveNow or CancelReservation status, or the
    /// status of a 2.x ReservationStatusUpdate, or the error of a failed call.
    pub charger_status: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Reservation {
    /// The status at `now`: an active reservation past its `expires_at` is expired.
    pub fn effective_status(&self, now: DateTime<Utc>) -> ReservationStatus {
        if self.status == ReservationStatus::Active && self.expires_at <= now {
            ReservationStatus::Expired
        } else {
            self.status
        }
    }
}

/// Which reservations to list: newest first, ids below `before_id`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReservationFilter {
    pub charger: Option<ChargerId>,
    /// Matched against the effective status at the `now` the store is given.
    pub status: Option<ReservationStatus>,
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Storage of reservations. Each call is its own unit of work.
#[async_trait]
pub trait ReservationStore: Send + Sync + 'static {
    /// Stores a `pending` reservation and returns it with its id.
    async fn insert_reservation(
        &self,
        new: &NewReservation,
        at: DateTime<Utc>,
    ) -> StoreResult<Reservation>;
    /// The reservation with its status as stored.
    async fn reservation(&self, id: i64) -> StoreResult<Option<Reservation>>;
    /// Newest first; `status` is matched as [`Reservation::effective_status`] at `now`.
    async fn list_reservations(
        &self,
        filter: &ReservationFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Reservation>>;
    /// Sets the status (and the charger's word, when given); `false` when there is no such
    /// reservation.
    async fn set_reservation_status(
        &self,
        id: i64,
        status: ReservationStatus,
        charger_status: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

/// The rules around reservations; the API sends the OCPP calls and reports their answers
/// here, the OCPP handlers report what chargers say about them.
#[derive(Clone)]
pub struct ReservationService {
    store: Arc<dyn ReservationStore>,
    clock: Arc<dyn Clock>,
}

impl ReservationService {
    pub fn new(store: Arc<dyn ReservationStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Checks and stores a new reservation as `pending`.
    pub async fn create(&self, new: &NewReservation) -> Result<Reservation, DomainError> {
        let now = self.clock.now();
        if new.expires_at <= now {
            return Err(DomainError::Invalid(
                "expires_at must be in the future".into(),
            ));
        }
        if new.id_token.is_empty() || new.id_token.chars().count() > 36 {
            return Err(DomainError::Invalid(
                "id_token must have 1 to 36 characters".into(),
            ));
        }
        if new.evse_id.is_none() && new.connector_id.is_some() {
            return Err(DomainError::Invalid("connector_id needs an evse_id".into()));
        }
        Ok(self.store.insert_reservation(new, now).await?)
    }

    /// The reservation as it is now (expiry applied).
    pub async fn get(&self, id: i64) -> Result<Option<Reservation>, DomainError> {
        let now = self.clock.now();
        Ok(self.store.reservation(id).await?.map(|r| effective(r, now)))
    }

    pub async fn list(&self, filter: &ReservationFilter) -> Result<Vec<Reservation>, DomainError> {
        let now = self.clock.now();
        Ok(self
            .store
            .list_reservations(filter, now)
            .await?
            .into_iter()
            .map(|r| effective(r, now))
            .collect())
    }

    /// Records what happened to a reservation (the charger's answer to ReserveNow or
    /// CancelReservation, or a failed call) and returns it as it is now.
    pub async fn record(
        &self,
        id: i64,
        status: ReservationStatus,
        charger_status: Option<&str>,
    ) -> Result<Option<Reservation>, DomainError> {
        self.store
            .set_reservation_status(id, status, charger_status, self.clock.now())
            .await?;
        self.get(id).await
    }

    /// A charger says one of its reservations ended (2.x ReservationStatusUpdate:
    /// `Expired` or `Removed`). Reservations of other chargers, unknown ids and ones already
    /// closed are left alone (the charger is still acknowledged: it cannot do anything about
    /// it). Returns the reservation when it changed.
    pub async fn charger_ended(
        &self,
        charger: &ChargerId,
        id: i64,
        charger_status: &str,
    ) -> Result<Option<Reservation>, DomainError> {
        let status = match charger_status {
            "Expired" => ReservationStatus::Expired,
            "Removed" => ReservationStatus::Removed,
            // 2.1 adds `NoTransaction`: the reservation ended without a transaction.
            _ => ReservationStatus::Expired,
        };
        self.close_for_charger(charger, id, status, charger_status)
            .await
    }

    /// A transaction started with this reservation (1.6 StartTransaction `reservationId`,
    /// 2.x TransactionEvent `reservationId`): it is used up.
    pub async fn used(
        &self,
        charger: &ChargerId,
        id: i64,
    ) -> Result<Option<Reservation>, DomainError> {
        self.close_for_charger(charger, id, ReservationStatus::Used, "TransactionStarted")
            .await
    }

    async fn close_for_charger(
        &self,
        charger: &ChargerId,
        id: i64,
        status: ReservationStatus,
        charger_status: &str,
    ) -> Result<Option<Reservation>, DomainError> {
        let Some(reservation) = self.store.reservation(id).await? else {
            return Ok(None);
        };
        // A charger may report an expiry after Ampere already computed it: record its word.
        let closable = reservation.status.is_open()
            || (status == ReservationStatus::Used
                && reservation.status == ReservationStatus::Expired);
        if &reservation.charger != charger || !closable {
            return Ok(None);
        }
        self.record(id, status, Some(charger_status)).await
    }
}

fn effective(mut reservation: Reservation, now: DateTime<Utc>) -> Reservation {
    reservation.status = reservation.effective_status(now);
    reservation
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in ReservationStatus::ALL {
            assert_eq!(status.as_str().parse::<ReservationStatus>(), Ok(status));
        }
        assert!("gone".parse::<ReservationStatus>().is_err());
    }

    #[test]
    fn an_active_reservation_past_its_time_is_expired() {
        let at = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let reservation = Reservation {
            id: 1,
            charger: ChargerId::new("CP").unwrap(),
            evse_id: None,
            connector_id: None,
            connector_type: None,
            id_token: "T".into(),
            id_token_type: "ISO14443".into(),
            group_id_token: None,
            expires_at: at,
            status: ReservationStatus::Active,
            charger_status: None,
            created_at: at,
            updated_at: at,
        };
        let before = at - chrono::Duration::seconds(1);
        assert_eq!(
            reservation.effective_status(before),
            ReservationStatus::Active
        );
        assert_eq!(reservation.effective_status(at), ReservationStatus::Expired);
        let cancelled = Reservation {
            status: ReservationStatus::Cancelled,
            ..reservation
        };
        assert_eq!(cancelled.effective_status(at), ReservationStatus::Cancelled);
    }
}
