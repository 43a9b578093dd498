//! [`CertificateStore`] and [`CredentialStore`] on the store's pools: certificates Ampere
//! issued to chargers, what chargers report as installed, and credentials pending beside the
//! current ones. Each call is one statement or one transaction on the writer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use ampere_domain::certificates::{CertificateStore, InstalledCertificate, IssuedCertificate};
use ampere_domain::credentials::{CredentialStore, PendingCredentials};
use ampere_domain::ports::StoreResult;
use ampere_domain::{ChargerId, SecurityProfile, StoreError};

use crate::Store;
use crate::codec::{parse, parse_ts, parse_ts_opt, ts};
use crate::error::map_sqlx;

const ISSUED_COLS: &str = "serial, charger_id, certificate_use, not_before, not_after, issued_at, \
     certificate_pem, delivery, renewal_requested_at";
const INSTALLED_COLS: &str = "certificate_type, hash_algorithm, issuer_name_hash, \
     issuer_key_hash, serial_number, reported_at";

fn get<'r, T>(row: &'r AnyRow, col: &str) -> StoreResult<T>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col).map_err(map_sqlx)
}

fn charger(text: String) -> StoreResult<ChargerId> {
    ChargerId::new(text).map_err(|e| StoreError::Corrupt(format!("bad charger id: {e}")))
}

fn issued_row(row: &AnyRow) -> StoreResult<IssuedCertificate> {
    Ok(IssuedCertificate {
        serial: get(row, "serial")?,
        charger: charger(get(row, "charger_id")?)?,
        certificate_use: parse(&get::<String>(row, "certificate_use")?)?,
        not_before: parse_ts(&get::<String>(row, "not_before")?)?,
        not_after: parse_ts(&get::<String>(row, "not_after")?)?,
        issued_at: parse_ts(&get::<String>(row, "issued_at")?)?,
        certificate_pem: get(row, "certificate_pem")?,
        delivery: get(row, "delivery")?,
        renewal_requested_at: parse_ts_opt(get(row, "renewal_requested_at")?)?,
    })
}

fn installed_row(row: &AnyRow) -> StoreResult<InstalledCertificate> {
    Ok(InstalledCertificate {
        certificate_type: get(row, "certificate_type")?,
        hash_algorithm: get(row, "hash_algorithm")?,
        issuer_name_hash: get(row, "issuer_name_hash")?,
        issuer_key_hash: get(row, "issuer_key_hash")?,
        serial_number: get(row, "serial_number")?,
        reported_at: parse_ts(&get::<String>(row, "reported_at")?)?,
    })
}

#[async_trait]
impl CertificateStore for Store {
    async fn insert_issued_certificate(&self, c: &IssuedCertificate) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO charger_certificates ({ISSUED_COLS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(c.serial.as_str())
        .bind(c.charger.as_str())
        .bind(c.certificate_use.as_str())
        .bind(ts(c.not_before))
        .bind(ts(c.not_after))
        .bind(ts(c.issued_at))
        .bind(c.certificate_pem.as_str())
        .bind(c.delivery.as_str())
        .bind(c.renewal_requested_at.map(ts))
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(())
    }

    async fn set_certificate_delivery(&self, serial: &str, delivery: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE charger_certificates SET delivery = $2 WHERE serial = $1")
            .bind(serial)
            .bind(delivery)
            .execute(&self.writer)
            .await
            .map_err(map_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn issued_certificates(&self, id: &ChargerId) -> StoreResult<Vec<IssuedCertificate>> {
        sqlx::query(&format!(
            "SELECT {ISSUED_COLS} FROM charger_certificates WHERE charger_id = $1 \
             ORDER BY issued_at DESC, serial DESC"
        ))
        .bind(id.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(issued_row)
        .collect()
    }

    async fn certificates_due_for_renewal(
        &self,
        before: DateTime<Utc>,
    ) -> StoreResult<Vec<IssuedCertificate>> {
        // The newest delivered certificate per charger and use: an older one that a newer
        // one replaced needs no renewal.
        sqlx::query(&format!(
            "SELECT {ISSUED_COLS} FROM charger_certificates c \
             WHERE c.delivery = 'Accepted' AND c.not_after < $1 \
               AND c.renewal_requested_at IS NULL \
               AND NOT EXISTS (SELECT 1 FROM charger_certificates n \
                   WHERE n.charger_id = c.charger_id AND n.certificate_use = c.certificate_use \
                     AND n.delivery = 'Accepted' AND n.issued_at > c.issued_at) \
             ORDER BY c.not_after, c.serial"
        ))
        .bind(ts(before))
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(issued_row)
        .collect()
    }

    async fn mark_renewal_requested(&self, serial: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE charger_certificates SET renewal_requested_at = $2 \
             WHERE serial = $1 AND renewal_requested_at IS NULL",
        )
        .bind(serial)
        .bind(ts(at))
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn replace_installed_certificates(
        &self,
        id: &ChargerId,
        types: &[String],
        certificates: &[InstalledCertificate],
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        if types.is_empty() {
            sqlx::query("DELETE FROM installed_certificates WHERE charger_id = $1")
                .bind(id.as_str())
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
        } else {
            for certificate_type in types {
                sqlx::query(
                    "DELETE FROM installed_certificates \
                     WHERE charger_id = $1 AND certificate_type = $2",
                )
                .bind(id.as_str())
                .bind(certificate_type.as_str())
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx)?;
            }
        }
        for c in certificates {
            sqlx::query(&format!(
                "INSERT INTO installed_certificates (charger_id, {INSTALLED_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"
            ))
            .bind(id.as_str())
            .bind(c.certificate_type.as_str())
            .bind(c.hash_algorithm.as_str())
            .bind(c.issuer_name_hash.as_str())
            .bind(c.issuer_key_hash.as_str())
            .bind(c.serial_number.as_str())
            .bind(ts(c.reported_at))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)
    }

    async fn installed_certificates(
        &self,
        id: &ChargerId,
    ) -> StoreResult<Vec<InstalledCertificate>> {
        sqlx::query(&format!(
            "SELECT {INSTALLED_COLS} FROM installed_certificates WHERE charger_id = $1 \
             ORDER BY certificate_type, serial_number"
        ))
        .bind(id.as_str())
        .fetch_all(&self.reader)
        .await
        .map_err(map_sqlx)?
        .iter()
        .map(installed_row)
        .collect()
    }
}

fn pending_row(row: &AnyRow) -> StoreResult<PendingCredentials> {
    let profile: Option<i64> = get(row, "pending_security_profile")?;
    let security_profile = profile
        .map(|p| {
            u8::try_from(p)
                .map_err(|e| e.to_string())
                .and_then(SecurityProfile::new)
                .map_err(|e| StoreError::Corrupt(format!("bad pending security profile: {e}")))
        })
        .transpose()?;
    Ok(PendingCredentials {
        password_hash: get(row, "pending_password_hash")?,
        password_confirmed: get::<i64>(row, "pending_password_confirmed")? != 0,
        password_requested_at: parse_ts_opt(get(row, "pending_password_at")?)?,
        security_profile,
        security_profile_requested_at: parse_ts_opt(get(row, "pending_security_profile_at")?)?,
    })
}

#[async_trait]
impl CredentialStore for Store {
    async fn pending_credentials(&self, id: &ChargerId) -> StoreResult<Option<PendingCredentials>> {
        sqlx::query(
            "SELECT pending_password_hash, pending_password_confirmed, pending_password_at, \
             pending_security_profile, pending_security_profile_at \
             FROM charger_credentials WHERE charger_id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.reader)
        .await
        .map_err(map_sqlx)?
        .as_ref()
        .map(pending_row)
        .transpose()
    }

    async fn set_pending_password(
        &self,
        id: &ChargerId,
        hash: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO charger_credentials \
                 (charger_id, pending_password_hash, pending_password_confirmed, pending_password_at) \
             SELECT id, $2, 0, $3 FROM chargers WHERE id = $1 \
             ON CONFLICT (charger_id) DO UPDATE SET \
                 pending_password_hash = excluded.pending_password_hash, \
                 pending_password_confirmed = 0, \
                 pending_password_at = excluded.pending_password_at",
        )
        .bind(id.as_str())
        .bind(hash)
        .bind(ts(at))
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn confirm_pending_password(&self, id: &ChargerId, hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE charger_credentials SET pending_password_confirmed = 1 \
             WHERE charger_id = $1 AND pending_password_hash = $2",
        )
        .bind(id.as_str())
        .bind(hash)
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn drop_pending_password(&self, id: &ChargerId, hash: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE charger_credentials SET pending_password_hash = NULL, \
                 pending_password_confirmed = 0, pending_password_at = NULL \
             WHERE charger_id = $1 AND pending_password_hash = $2",
        )
        .bind(id.as_str())
        .bind(hash)
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn promote_pending_password(&self, id: &ChargerId) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        let promoted = sqlx::query(
            "UPDATE chargers SET password_hash = (SELECT pending_password_hash \
                 FROM charger_credentials WHERE charger_id = $1) \
             WHERE id = $1 AND EXISTS (SELECT 1 FROM charger_credentials \
                 WHERE charger_id = $1 AND pending_password_hash IS NOT NULL \
                   AND pending_password_confirmed = 1)",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?
        .rows_affected()
            > 0;
        if promoted {
            sqlx::query(
                "UPDATE charger_credentials SET pending_password_hash = NULL, \
                     pending_password_confirmed = 0, pending_password_at = NULL \
                 WHERE charger_id = $1",
            )
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(promoted)
    }

    async fn set_pending_security_profile(
        &self,
        id: &ChargerId,
        profile: SecurityProfile,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO charger_credentials \
                 (charger_id, pending_security_profile, pending_security_profile_at) \
             SELECT id, $2, $3 FROM chargers WHERE id = $1 \
             ON CONFLICT (charger_id) DO UPDATE SET \
                 pending_security_profile = excluded.pending_security_profile, \
                 pending_security_profile_at = excluded.pending_security_profile_at",
        )
        .bind(id.as_str())
        .bind(i64::from(profile.get()))
        .bind(ts(at))
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn drop_pending_security_profile(&self, id: &ChargerId) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE charger_credentials SET pending_security_profile = NULL, \
                 pending_security_profile_at = NULL \
             WHERE charger_id = $1 AND pending_security_profile IS NOT NULL",
        )
        .bind(id.as_str())
        .execute(&self.writer)
        .await
        .map_err(map_sqlx)?;
        Ok(done.rows_affected() > 0)
    }

    async fn promote_pending_security_profile(&self, id: &ChargerId) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_sqlx)?;
        let promoted = sqlx::query(
            "UPDATE chargers SET security_profile = (SELECT pending_security_profile \
                 FROM charger_credentials WHERE charger_id = $1) \
             WHERE id = $1 AND EXISTS (SELECT 1 FROM charger_credentials \
                 WHERE charger_id = $1 AND pending_security_profile IS NOT NULL)",
        )
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?
        .rows_affected()
            > 0;
        if promoted {
            sqlx::query(
                "UPDATE charger_credentials SET pending_security_profile = NULL, \
                     pending_security_profile_at = NULL WHERE charger_id = $1",
            )
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(promoted)
    }
}
