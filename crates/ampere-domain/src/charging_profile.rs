//! Charging profiles as Ampere stores them: a description, the OCPP profile fields in one
//! version-neutral shape, and where each profile is installed. This is plain transport: the
//! profile goes to a charger as written (SetChargingProfile) and is taken off again
//! (ClearChargingProfile); no schedules are computed here.
//!
//! A profile's `id` is its OCPP `chargingProfileId` on every charger it is installed on.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::DomainError;
use crate::ids::ChargerId;
use crate::ports::StoreResult;

/// The OCPP fields of a profile, named once for 1.6 and 2.x (the adapters map the names:
/// 1.6 has one schedule and says `ChargePointMaxProfile` where 2.x says
/// `ChargingStationMaxProfile`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSpec {
    pub stack_level: u32,
    /// `ChargingStationMaxProfile`, `TxDefaultProfile`, `TxProfile` (2.x also others).
    pub purpose: String,
    /// `Absolute`, `Recurring`, `Relative`.
    pub kind: String,
    /// `Daily` or `Weekly`, for recurring profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<DateTime<Utc>>,
    /// For `TxProfile`: the charger's transaction id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// One schedule (1.6 takes exactly one; 2.x up to three).
    pub schedules: Vec<Schedule>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_schedule: Option<DateTime<Utc>>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    /// `W` or `A`.
    pub charging_rate_unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_charging_rate: Option<f64>,
    pub periods: Vec<SchedulePeriod>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchedulePeriod {
    /// Seconds from the start of the schedule.
    pub start_period: i64,
    /// In the schedule's unit.
    pub limit: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_phases: Option<u32>,
    /// 2.x only: the phase a single-phase limit applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase_to_use: Option<u32>,
}

impl ProfileSpec {
    /// The rules the OCPP schemas cannot say.
    pub fn check(&self) -> Result<(), DomainError> {
        let invalid = |m: &str| Err(DomainError::Invalid(m.to_owned()));
        if self.schedules.is_empty() || self.schedules.len() > 3 {
            return invalid("a profile has 1 to 3 schedules");
        }
        for schedule in &self.schedules {
            if schedule.periods.is_empty() {
                return invalid("a schedule needs at least one period");
            }
            if schedule.periods[0].start_period != 0 {
                return invalid("the first period of a schedule starts at 0");
            }
            if schedule
                .periods
                .windows(2)
                .any(|w| w[1].start_period <= w[0].start_period)
            {
                return invalid("periods must be in increasing start_period order");
            }
        }
        if let (Some(from), Some(to)) = (self.valid_from, self.valid_to)
            && to <= from
        {
            return invalid("valid_to must be after valid_from");
        }
        Ok(())
    }
}

/// What became of a profile on one charger.
#[derive(Debug, Clone, PartialEq)]
pub struct Installation {
    pub charger: ChargerId,
    /// 0: the whole charger.
    pub evse_id: u32,
    /// `installed` (the charger accepted), `refused` (it answered otherwise), `failed` (no
    /// answer or a CALLERROR), `cleared` (ClearChargingProfile accepted).
    pub status: String,
    /// The charger's own status word, or the error.
    pub charger_status: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A stored profile with its installations.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargingProfile {
    pub id: i64,
    pub description: String,
    pub spec: ProfileSpec,
    pub created_at: DateTime<Utc>,
    pub installations: Vec<Installation>,
}

/// Storage of charging profiles. Each call is its own unit of work.
#[async_trait]
pub trait ChargingProfileStore: Send + Sync + 'static {
    async fn insert_charging_profile(
        &self,
        description: &str,
        spec: &ProfileSpec,
        at: DateTime<Utc>,
    ) -> StoreResult<ChargingProfile>;
    async fn charging_profile(&self, id: i64) -> StoreResult<Option<ChargingProfile>>;
    /// Ordered by id, after `after`; with `charger`, only profiles with an installation
    /// record on that charger.
    async fn list_charging_profiles(
        &self,
        charger: Option<&ChargerId>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<ChargingProfile>>;
    /// Deletes the profile and its installation records; `false` when there is none.
    async fn delete_charging_profile(&self, id: i64) -> StoreResult<bool>;
    /// Records (or replaces) the profile's installation on a charger.
    async fn put_installation(
        &self,
        profile_id: i64,
        installation: &Installation,
    ) -> StoreResult<()>;
}

#[derive(Clone)]
pub struct ChargingProfileService {
    store: Arc<dyn ChargingProfileStore>,
    clock: Arc<dyn Clock>,
}

impl ChargingProfileService {
    pub fn new(store: Arc<dyn ChargingProfileStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    pub async fn create(
        &self,
        description: &str,
        spec: &ProfileSpec,
    ) -> Result<ChargingProfile, DomainError> {
        if description.chars().count() > 500 {
            return Err(DomainError::Invalid(
                "a description has at most 500 characters".into(),
            ));
        }
        spec.check()?;
        Ok(self
            .store
            .insert_charging_profile(description, spec, self.clock.now())
            .await?)
    }

    pub async fn get(&self, id: i64) -> Result<Option<ChargingProfile>, DomainError> {
        Ok(self.store.charging_profile(id).await?)
    }

    pub async fn list(
        &self,
        charger: Option<&ChargerId>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<ChargingProfile>, DomainError> {
        Ok(self
            .store
            .list_charging_profiles(charger, after, limit)
            .await?)
    }

    pub async fn delete(&self, id: i64) -> Result<bool, DomainError> {
        Ok(self.store.delete_charging_profile(id).await?)
    }

    /// Records what a charger answered about the profile; returns the profile as it is now.
    pub async fn record_installation(
        &self,
        profile_id: i64,
        charger: &ChargerId,
        evse_id: u32,
        status: &str,
        charger_status: Option<&str>,
    ) -> Result<Option<ChargingProfile>, DomainError> {
        let installation = Installation {
            charger: charger.clone(),
            evse_id,
            status: status.to_owned(),
            charger_status: charger_status.map(str::to_owned),
            updated_at: self.clock.now(),
        };
        self.store
            .put_installation(profile_id, &installation)
            .await?;
        self.get(profile_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(periods: &[i64]) -> ProfileSpec {
        ProfileSpec {
            stack_level: 0,
            purpose: "TxDefaultProfile".into(),
            kind: "Absolute".into(),
            recurrency: None,
            valid_from: None,
            valid_to: None,
            transaction_id: None,
            schedules: vec![Schedule {
                start_schedule: None,
                duration: None,
                charging_rate_unit: "A".into(),
                min_charging_rate: None,
                periods: periods
                    .iter()
                    .map(|&start_period| SchedulePeriod {
                        start_period,
                        limit: 16.0,
                        number_phases: None,
                        phase_to_use: None,
                    })
                    .collect(),
            }],
        }
    }

    #[test]
    fn schedules_start_at_zero_and_go_forward() {
        assert!(spec(&[0, 600]).check().is_ok());
        assert!(spec(&[]).check().is_err());
        assert!(spec(&[60]).check().is_err());
        assert!(spec(&[0, 600, 600]).check().is_err());
    }
}
