//! The services the protocol adapters (and later the API) call. Each call is one unit of
//! work: its effects are committed before it returns, so an adapter answers the charger only
//! after what the charger said is durable.

mod authorization;
mod charger;
mod meter;
mod report;
mod transaction;

use std::sync::Arc;

pub use authorization::AuthorizationService;
pub use charger::{ChargerConfig, ChargerService};
pub use meter::{MeterService, MeterValuesReport};
pub use report::ReportService;
pub use transaction::TransactionService;

use chrono::{DateTime, Utc};

use crate::certificates::{CertificateService, CertificateStore};
use crate::charging_profile::{ChargingProfileService, ChargingProfileStore};
use crate::clock::Clock;
use crate::credentials::{CredentialService, CredentialStore};
use crate::device_model::{DeviceModelService, DeviceModelStore};
use crate::error::DomainError;
use crate::file_transfer::{FileTransferService, FileTransferStore};
use crate::ids::ChargerId;
use crate::local_list::{LocalListService, LocalListStore};
use crate::ports::{Storage, StoreTx};
use crate::reservation::{ReservationService, ReservationStore};
use crate::security_log::{SecurityLogService, SecurityLogStore};

/// All services over one store and clock; what the binary builds once and shares.
#[derive(Clone)]
pub struct Services {
    pub chargers: ChargerService,
    pub authorization: AuthorizationService,
    pub transactions: TransactionService,
    pub meter: MeterService,
    pub reports: ReportService,
    pub device_model: DeviceModelService,
    pub reservations: ReservationService,
    pub charging_profiles: ChargingProfileService,
    pub local_lists: LocalListService,
    pub certificates: CertificateService,
    pub credentials: CredentialService,
    pub file_transfers: FileTransferService,
    pub security_log: SecurityLogService,
    clock: Arc<dyn Clock>,
}

impl Services {
    /// `storage` is one store that implements every port the services use.
    pub fn new<
        S: Storage
            + DeviceModelStore
            + ReservationStore
            + ChargingProfileStore
            + LocalListStore
            + CertificateStore
            + CredentialStore
            + FileTransferStore
            + SecurityLogStore,
    >(
        storage: Arc<S>,
        clock: Arc<dyn Clock>,
        config: ChargerConfig,
    ) -> Self {
        let device_model = DeviceModelService::new(storage.clone(), clock.clone());
        let reservations = ReservationService::new(storage.clone(), clock.clone());
        let charging_profiles = ChargingProfileService::new(storage.clone(), clock.clone());
        let local_lists = LocalListService::new(storage.clone(), clock.clone());
        let certificates = CertificateService::new(storage.clone(), clock.clone());
        let credentials = CredentialService::new(storage.clone(), clock.clone());
        let file_transfers = FileTransferService::new(storage.clone(), clock.clone());
        let security_log = SecurityLogService::new(storage.clone(), clock.clone());
        let storage: Arc<dyn Storage> = storage;
        Self {
            chargers: ChargerService::new(storage.clone(), clock.clone(), config),
            authorization: AuthorizationService::new(storage.clone(), clock.clone()),
            transactions: TransactionService::new(storage.clone(), clock.clone()),
            meter: MeterService::new(storage.clone(), clock.clone()),
            reports: ReportService::new(storage, clock.clone()),
            device_model,
            reservations,
            charging_profiles,
            local_lists,
            certificates,
            credentials,
            file_transfers,
            security_log,
            clock,
        }
    }

    /// The clock every service reads "now" from; adapters that need the time (e.g. for a
    /// message that carries none) take it from here, so there is one notion of now.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }
}

/// Marks the charger as seen now, and fails when it is not registered. Every message a
/// charger sends goes through here first: one statement that is both the existence check and
/// the `last_seen` update.
async fn touch(
    tx: &mut dyn StoreTx,
    id: &ChargerId,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    if tx.touch_charger(id, now, None).await? {
        Ok(())
    } else {
        Err(DomainError::UnknownCharger(id.clone()))
    }
}
