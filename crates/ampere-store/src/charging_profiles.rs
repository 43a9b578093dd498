//! [`ChargingProfileStore`] on the store's pools: a profile's version-neutral fields are kept
//! as one JSON text (they are read and written whole, never queried), its installations one
//! row per charger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::ports::StoreResult;
use ampere_domain::{
    ChargerId, ChargingProfile, ChargingProfileStore, Installation, ProfileSpec, StoreError,
};

use crate::Store;
use crate::codec::{parse_ts, ts};
use crate::error::map_sqlx;

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn profile_row(row: &AnyRow) -> StoreResult<ChargingProfile> {
    let spec: String = get(row, "spec")?;
    Ok(ChargingProfile {
        id: get(row, "id")?,
        description: get(row, "description")?,
        spec: serde_json::from_str::<ProfileSpec>(&spec)
            .map_err(|e| StoreError::Corrupt(format!("charging profile spec: {e}")))?,
        created_at: parse_ts(&get::<String>(row, "created_at")?)?,
        installations: Vec::new(),
    })
}

fn installation_row(row: &AnyRow) -> StoreResult<(i64, Installation)> {
    let evse: i64 = get(row, "evse_id")?;
    Ok((
        get(row, "profile_id")?,
        Installation {
            charger: ChargerId::new(get::<String>(row, "charger_id")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            evse_id: u32::try_from(evse)
                .map_err(|_| StoreError::Corrupt(format!("evse_id = {evse}")))?,
            status: get(row, "status")?,
            charger_status: get(row, "charger_status")?,
            updated_at: parse_ts(&get::<String>(row, "updated_at")?)?,
        },
    ))
}

impl Store {
    /// Fills in the installations of `profiles` (ids from `first` to `last`).
    async fn with_installations(
        &self,
        mut profiles: Vec<ChargingProfile>,
    ) -> StoreResult<Vec<ChargingProfile>> {
        let (Some(first), Some(last)) = (
            profiles.iter().map(|p| p.id).min(),
            profiles.iter().map(|p| p.id).max(),
        ) else {
            return Ok(profiles);
        };
        let rows = sqlx::query(
            "SELECT profile_id, charger_id, evse_id, status, charger_status, updated_at \
             FROM charging_profile_installations WHERE profile_id >= $1 AND profile_id <= $2 \
             ORDER BY profile_id, charger_id",
        )
        .bind(first)
        .bind(last)
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?;
        for row in &rows {
            let (profile_id, installation) = installation_row(row)?;
            if let Some(profile) = profiles.iter_mut().find(|p| p.id == profile_id) {
                profile.installations.push(installation);
            }
        }
        Ok(profiles)
    }
}

#[async_trait]
impl ChargingProfileStore for Store {
    async fn insert_charging_profile(
        &self,
        description: &str,
        spec: &ProfileSpec,
        at: DateTime<Utc>,
    ) -> StoreResult<ChargingProfile> {
        let spec = serde_json::to_string(spec).map_err(|e| StoreError::Other(e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO charging_profiles (description, spec, created_at) VALUES ($1, $2, $3) \
             RETURNING id, description, spec, created_at",
        )
        .bind(description)
        .bind(spec)
        .bind(ts(at))
        .fetch_one(&self.writer)
        .await
        .map_err(map_sqlx)?;
        profile_row(&row)
    }

    async fn charging_profile(&self, id: i64) -> StoreResult<Option<ChargingProfile>> {
        let row = sqlx::query(
            "SELECT id, description, spec, created_at FROM charging_profiles WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await
        .map_err(map_sqlx)?;
        let Some(row) = row else { return Ok(None) };
        let profiles = self.with_installations(vec![profile_row(&row)?]).await?;
        Ok(profiles.into_iter().next())
    }

    async fn list_charging_profiles(
        &self,
        charger: Option<&ChargerId>,
        after: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<ChargingProfile>> {
        let rows = sqlx::query(
            "SELECT id, description, spec, created_at FROM charging_profiles p \
             WHERE id > $1 AND ($2 IS NULL OR EXISTS (SELECT 1 FROM \
             charging_profile_installations i WHERE i.profile_id = p.id AND i.charger_id = $2)) \
             ORDER BY id LIMIT $3",
        )
        .bind(after.unwrap_or(0))
        .bind(charger.map(|c| c.as_str().to_owned()))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?;
        let profiles = rows.iter().map(profile_row).collect::<StoreResult<_>>()?;
        self.with_installations(profiles).await
    }

    async fn delete_charging_profile(&self, id: i64) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM charging_profiles WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(map_sqlx)?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_installation(
        &self,
        profile_id: i64,
        installation: &Installation,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO charging_profile_installations \
             (profile_id, charger_id, evse_id, status, charger_status, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (profile_id, charger_id) DO UPDATE \
             SET evse_id = excluded.evse_id, status = excluded.status, \
             charger_status = excluded.charger_status, updated_at = excluded.updated_at",
        )
        .bind(profile_id)
        .bind(installation.charger.as_str())
        .bind(i64::from(installation.evse_id))
        .bind(installation.status.as_str())
        .bind(installation.charger_status.as_deref())
        .bind(ts(installation.updated_at))
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(())
    }
}
