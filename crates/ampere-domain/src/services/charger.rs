use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::charger::{
    BootInfo, BootOutcome, Charger, ChargerAuth, ChargerUpdate, ConnectionEvent,
    ConnectionEventKind, NewCharger, RegistrationStatus, UnknownChargerPolicy,
};
use crate::clock::Clock;
use crate::error::{DomainError, StoreError};
use crate::ids::ChargerId;
use crate::password::hash_password;
use crate::ports::Storage;
use crate::report::ReportKind;
use crate::status::{StatusReport, supersedes};

/// Intervals and policy of the charger service.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargerConfig {
    /// Heartbeat interval given to accepted chargers without one of their own.
    pub heartbeat_interval: Duration,
    /// When a `Pending` charger should send BootNotification again.
    pub pending_retry: Duration,
    /// When a `Rejected` charger may send BootNotification again.
    pub rejected_retry: Duration,
    /// What a BootNotification from an unregistered charger does (the gateway normally
    /// registers it first with [`ChargerService::ensure_registered`]).
    pub unknown_chargers: UnknownChargerPolicy,
}

impl Default for ChargerConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(300),
            pending_retry: Duration::from_secs(60),
            rejected_retry: Duration::from_secs(600),
            unknown_chargers: UnknownChargerPolicy::Pending,
        }
    }
}

/// Chargers: registration, boot, heartbeat, status and connections.
#[derive(Clone)]
pub struct ChargerService {
    storage: Arc<dyn Storage>,
    clock: Arc<dyn Clock>,
    config: ChargerConfig,
}

impl ChargerService {
    pub fn new(storage: Arc<dyn Storage>, clock: Arc<dyn Clock>, config: ChargerConfig) -> Self {
        Self {
            storage,
            clock,
            config,
        }
    }

    pub fn config(&self) -> &ChargerConfig {
        &self.config
    }

    /// A BootNotification. Keeps what the charger says about itself (also as a
    /// `BootNotification` report, the boot history), closes the transactions it never ended
    /// (reason [`crate::STOP_REASON_CHARGER_REBOOTED`], energy from the latest reading), and
    /// answers with its registration status. An unregistered charger is handled as
    /// [`ChargerConfig::unknown_chargers`] says: `Reject` answers `Rejected` and stores
    /// nothing.
    pub async fn boot(&self, id: &ChargerId, info: BootInfo) -> Result<BootOutcome, DomainError> {
        let now = self.clock.now();
        let mut tx = self.storage.begin().await?;
        let mut charger = match tx.charger(id).await? {
            Some(c) => c,
            None => match initial_status(self.config.unknown_chargers) {
                Some(status) => {
                    let c = Charger::new(id.clone(), status, now);
                    tx.insert_charger(&c).await?;
                    c
                }
                None => {
                    return Ok(BootOutcome {
                        status: RegistrationStatus::Rejected,
                        interval: self.config.rejected_retry,
                        current_time: now,
                        closed_transactions: Vec::new(),
                    });
                }
            },
        };
        charger.apply_boot_info(&info, now);
        tx.update_charger(&charger).await?;
        let payload = serde_json::to_value(&info).map_err(|e| StoreError::Other(e.to_string()))?;
        tx.insert_report(
            id,
            &ReportKind::known(ReportKind::BOOT_NOTIFICATION),
            now,
            &payload,
        )
        .await?;
        let mut closed = tx.active_transactions(id).await?;
        for t in &mut closed {
            t.close_on_reboot(now);
            t.updated_at = now;
            tx.update_transaction(t).await?;
        }
        tx.commit().await?;
        let interval = match charger.registration_status {
            RegistrationStatus::Accepted => charger
                .heartbeat_interval_s
                .map(|s| Duration::from_secs(s.into()))
                .unwrap_or(self.config.heartbeat_interval),
            RegistrationStatus::Pending => self.config.pending_retry,
            RegistrationStatus::Rejected => self.config.rejected_retry,
        };
        Ok(BootOutcome {
            status: charger.registration_status,
            interval,
            current_time: now,
            closed_transactions: closed,
        })
    }

    /// A Heartbeat: marks the charger as seen and returns the current time. An unregistered
    /// charger still gets the time (nothing is stored for it).
    pub async fn heartbeat(&self, id: &ChargerId) -> Result<DateTime<Utc>, DomainError> {
        let now = self.clock.now();
        let mut tx = self.storage.begin().await?;
        tx.touch_charger(id, now, None).await?;
        tx.commit().await?;
        Ok(now)
    }

    /// A StatusNotification: always appended to the history (an identical retried report
    /// only once); it becomes the current status of its place unless a newer report already
    /// is (late replays must not roll the state back).
    pub async fn status_notification(
        &self,
        id: &ChargerId,
        report: &StatusReport,
    ) -> Result<(), DomainError> {
        let now = self.clock.now();
        let mut tx = self.storage.begin().await?;
        super::touch(&mut *tx, id, now).await?;
        let current = tx.current_status(id, report.place).await?;
        if supersedes(report, current.as_ref()) {
            tx.set_current_status(id, report).await?;
        }
        tx.insert_status_history(id, report, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a connection event; a connect also notes the protocol and `last_seen`.
    /// Events of unregistered chargers are not stored (there is no charger to attach them
    /// to); that is not an error.
    pub async fn record_connection_event(
        &self,
        event: &ConnectionEvent,
    ) -> Result<(), DomainError> {
        let mut tx = self.storage.begin().await?;
        let protocol = match event.kind {
            ConnectionEventKind::Connected => event.protocol.as_deref(),
            _ => None,
        };
        if tx.touch_charger(&event.charger, event.at, protocol).await? {
            tx.insert_connection_event(event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Makes sure a connecting charger is registered: a registered one is returned as it is;
    /// an unknown one is created `Pending` or `Accepted` as the policy says, or refused
    /// (`None`) under `Reject`.
    pub async fn ensure_registered(
        &self,
        id: &ChargerId,
        policy: UnknownChargerPolicy,
    ) -> Result<Option<Charger>, DomainError> {
        let mut tx = self.storage.begin().await?;
        if let Some(c) = tx.charger(id).await? {
            return Ok(Some(c));
        }
        let Some(status) = initial_status(policy) else {
            return Ok(None);
        };
        let charger = Charger::new(id.clone(), status, self.clock.now());
        match tx.insert_charger(&charger).await {
            Ok(()) => {}
            // Two connections raced to create it; the other one won, which is just as good.
            Err(StoreError::Conflict(_)) => {
                drop(tx);
                let mut read = self.storage.read().await?;
                return Ok(read.charger(id).await?);
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(Some(charger))
    }

    /// What the gateway needs to admit a charger; `None` when it is not registered.
    pub async fn auth(&self, id: &ChargerId) -> Result<Option<ChargerAuth>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.charger(id).await?.map(|c| ChargerAuth {
            password_hash: c.password_hash,
            security_profile: c.security_profile,
            registration_status: c.registration_status,
        }))
    }

    /// Registers a charger (operator or CLI); its password is hashed with Argon2id.
    pub async fn register(&self, new: NewCharger) -> Result<Charger, DomainError> {
        let mut charger = Charger::new(new.id.clone(), new.registration_status, self.clock.now());
        charger.security_profile = new.security_profile;
        charger.password_hash = new.password.as_deref().map(hash_password).transpose()?;
        let mut tx = self.storage.begin().await?;
        match tx.insert_charger(&charger).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(DomainError::ChargerExists(new.id)),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(charger)
    }

    /// Changes a charger (approve, rotate password, change profile or heartbeat interval).
    pub async fn update(
        &self,
        id: &ChargerId,
        update: ChargerUpdate,
    ) -> Result<Charger, DomainError> {
        // Hash before the database transaction: it is slow and needs no lock.
        let password_hash = match &update.password {
            Some(Some(p)) => Some(Some(hash_password(p)?)),
            Some(None) => Some(None),
            None => None,
        };
        let mut tx = self.storage.begin().await?;
        let mut charger = tx
            .charger(id)
            .await?
            .ok_or_else(|| DomainError::UnknownCharger(id.clone()))?;
        if let Some(status) = update.registration_status {
            charger.registration_status = status;
        }
        if let Some(hash) = password_hash {
            charger.password_hash = hash;
        }
        if let Some(profile) = update.security_profile {
            charger.security_profile = profile;
        }
        if let Some(interval) = update.heartbeat_interval_s {
            charger.heartbeat_interval_s = interval;
        }
        tx.update_charger(&charger).await?;
        tx.commit().await?;
        Ok(charger)
    }

    /// Deletes a charger and everything stored about it.
    pub async fn delete(&self, id: &ChargerId) -> Result<bool, DomainError> {
        let mut tx = self.storage.begin().await?;
        let deleted = tx.delete_charger(id).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    pub async fn get(&self, id: &ChargerId) -> Result<Option<Charger>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.charger(id).await?)
    }

    /// Chargers ordered by id, after `after`, at most `limit`.
    pub async fn list(
        &self,
        after: Option<&ChargerId>,
        limit: u32,
    ) -> Result<Vec<Charger>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.list_chargers(after, limit).await?)
    }

    /// Current status of every place of a charger.
    pub async fn statuses(&self, id: &ChargerId) -> Result<Vec<StatusReport>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.current_statuses(id).await?)
    }

    /// Status history, newest first.
    pub async fn status_history(
        &self,
        id: &ChargerId,
        limit: u32,
    ) -> Result<Vec<StatusReport>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.status_history(id, limit).await?)
    }

    /// Connection events, newest first.
    pub async fn connection_events(
        &self,
        id: &ChargerId,
        limit: u32,
    ) -> Result<Vec<ConnectionEvent>, DomainError> {
        let mut tx = self.storage.read().await?;
        Ok(tx.connection_events(id, limit).await?)
    }
}

/// The status a charger unknown until now gets, if it is let in at all.
fn initial_status(policy: UnknownChargerPolicy) -> Option<RegistrationStatus> {
    match policy {
        UnknownChargerPolicy::Reject => None,
        UnknownChargerPolicy::Pending => Some(RegistrationStatus::Pending),
        UnknownChargerPolicy::Accept => Some(RegistrationStatus::Accepted),
    }
}
